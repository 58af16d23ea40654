/* SPDX-License-Identifier: MIT
   Benchmark (make bench): what the harness (bench.c, C) shares with the peers
   (peer_*.c, peer_*.cc). Every peer decodes the same request bytes with a
   general protobuf library, generated from our proto/ files; the "agg"
   functions are the one simple aggregation they all feed in scenario 2. */
#ifndef P2M_BENCH_H
#define P2M_BENCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the shared aggregation ---------------------------------------------
   What a user of a general decoder writes: cpu and memory totals summed by
   (resource, process name, thread name), the process filter applied through
   POSIX regex with one verdict per attribute-table entry, profiles
   classified as in docs/spec.md section 3 (cpu time, samples/count with a cpu
   period, alloc_*_space|bytes). Strings arrive as pointer and length. */

typedef struct bench_agg bench_agg;

/* filter: NULL = no process filter; else an extended regex (POSIX). */
bench_agg *agg_new(const char *filter);
void agg_free(bench_agg *a);
/* Forgets everything of the previous request. */
void agg_begin(bench_agg *a, size_t n_strings, size_t n_attrs);
/* The string table (only strings referenced by index are read through it). */
void agg_string(bench_agg *a, size_t idx, const char *s, size_t len);
/* Attribute-table entry idx: its key (a string-table index) and value; val is
   NULL when the value is not a string. */
void agg_attr(bench_agg *a, size_t idx, int32_t key_strindex, const char *val, size_t len);
/* A resource begins; then its string-valued attributes. */
void agg_resource(bench_agg *a);
void agg_resource_attr(bench_agg *a, const char *key, size_t klen, const char *val, size_t vlen);
/* A profile begins: type/unit and period type/unit as string-table indices.
   Returns 0 when the profile feeds no metric (its samples may be skipped). */
int agg_profile(bench_agg *a, int32_t type, int32_t unit, int32_t ptype, int32_t punit, int64_t period);
void agg_profile_attr(bench_agg *a, int32_t attr_idx);
/* One sample of the current profile: its attribute indices and its value
   (sum of values, else the number of timestamps; n_values+n_ts == 0: empty). */
void agg_sample(bench_agg *a, const int32_t *attrs, size_t n_attrs, int64_t value, int empty);

/* Totals of the last request, for the cross-check against p2m. */
typedef struct agg_totals {
    uint64_t cpu_ns, mem_bytes, cpu_series, mem_series, samples, kept;
} agg_totals;
void agg_totals_get(const bench_agg *a, agg_totals *t);

/* ---- peers ---------------------------------------------------------------
   layout: 8 (proto v1.8, the real captures) or 10 (v1.10, generated).
   *_decode: decode the whole request into the library's objects and free
   them. *_agg: the same, feeding the objects to the aggregation in between.
   Return 0 on success, else -1 with a message from *_error(). */
int pbc_decode(const uint8_t *p, size_t n, int layout);
int pbc_agg(const uint8_t *p, size_t n, int layout, bench_agg *a);
const char *pbc_error(void);

int npb_decode(const uint8_t *p, size_t n, int layout);
int npb_agg(const uint8_t *p, size_t n, int layout, bench_agg *a);
const char *npb_error(void);

int cpp_decode(const uint8_t *p, size_t n, int layout);
int cpp_agg(const uint8_t *p, size_t n, int layout, bench_agg *a);
const char *cpp_error(void);

/* protozero: a walk of the full schema that decodes every field (every
   varint, fixed, packed element; strings and bytes as views) and folds the
   values into *sum so that nothing can be optimised away. */
int pz_walk(const uint8_t *p, size_t n, int layout, uint64_t *sum);
/* The same over a pprof Profile (profile.proto) for the pprof workloads. */
int pz_walk_pprof(const uint8_t *p, size_t n, uint64_t *sum);
/* The cpu/nanoseconds and alloc_space/bytes column sums of a pprof Profile
   (the pprof scenario's cross-check; not timed). */
int pz_pprof_totals(const uint8_t *p, size_t n, uint64_t *cpu_ns, uint64_t *alloc_bytes);
const char *pz_error(void);

/* ---- heap allocation counter (malloc_count.c) ---------------------------- */
extern volatile int bench_count_allocs;   /* count while non-zero */
extern volatile unsigned long bench_allocs; /* malloc/calloc/realloc calls counted */

#ifdef __cplusplus
}
#endif

#endif
