/* SPDX-License-Identifier: MIT
   p2m_shim: the one C function the Go and Rust bindings call per
   conversion (bindings/go/p2m_impl.c and bindings/rust/csrc/p2m_impl.c
   compile p2m_shim.c with the library). */
#ifndef P2M_SHIM_H
#define P2M_SHIM_H
#include "../../profile2metrics.h"

#define P2MB_MAX_UNFED 32 /* sample types listed, as p2m lists them */

enum { P2MB_OTLP = 0, P2MB_JSON = 1, P2MB_PROM = 2 };          /* output format */
enum { P2MB_INPUT_OTLP = 0, P2MB_INPUT_PPROF = 1 };            /* input kind */

/* In p2mb_result.unfed, an offset with this bit set is into the working
   memory (the rest of it), not into the input: the pprof calls leave the
   sample types' strings in the working memory. */
#define P2MB_IN_WORK ((uint64_t)1 << 63)

/* What one p2mb_convert call gives back. Holds no pointer into the
   caller's memory (Go must not receive C-written pointers to Go memory). */
typedef struct p2mb_result {
    size_t out_size;       /* bytes of output */
    void *heap_out;        /* non-NULL: the output is here (malloc), not in out, because
                              out was too small; copy it, then p2mb_free it */
    size_t scratch_needed; /* writer scratch this call needed (JSON, Prometheus) */
    p2m_stats stats;
    p2m_error err;
    /* the sample types that fed no metric (stats.n_unfed, at most
       P2MB_MAX_UNFED), 6 numbers each: offset and length of the type in the
       input (or, with P2MB_IN_WORK, in the working memory), offset and
       length of the unit (the same), profiles, samples */
    uint64_t unfed[P2MB_MAX_UNFED * 6];
} p2mb_result;

/* p2m_aggregate (input P2MB_INPUT_OTLP) or p2m_pprof_aggregate
   (P2MB_INPUT_PPROF, an uncompressed pprof Profile), then p2m_encode_otlp,
   p2m_write_json or p2m_write_prom (format). Working memory too small:
   P2M_ERR_MEMORY with res->err.needed, nothing changed (the cumulative
   state included); call again with that much. The writer's scratch and
   the output grow into heap memory when the caller's are short
   (res->heap_out, res->scratch_needed), so the aggregation, which moves a
   cumulative state, is never repeated. */
p2m_status p2mb_convert(const p2m_engine *engine, const void *input, size_t input_size,
                        int input_kind, const p2m_options *options, int format,
                        const p2m_prom_options *prom,
                        void *work, size_t work_size, void *scratch, size_t scratch_size,
                        void *out, size_t cap, int want_unfed, p2mb_result *res);

/* Frees res->heap_out. */
void p2mb_free(void *p);

/* sizeof / offsetof of the structs, for the Rust declarations' test. */
size_t p2mb_layout(int what);
#endif
