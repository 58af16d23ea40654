/* SPDX-License-Identifier: MIT
   p2m_shim: see p2m_shim.h. Compiled into the Go package and the Rust crate
   together with the library (P2M_IMPLEMENTATION in the including file). */
#include "p2m_shim.h"

#include <stdlib.h>
#include <string.h>

void p2mb_free(void *p) { free(p); }

/* Whether s lies inside base[0, size); its offset there in *off. */
static int p2mb_inside(const p2m_str *s, const void *base, size_t size, size_t *off)
{
    *off = (size_t)((uintptr_t)s->ptr - (uintptr_t)base);
    return s->ptr != NULL && base != NULL && (uintptr_t)s->ptr >= (uintptr_t)base &&
           *off <= size && s->len <= size - *off;
}

/* The offset and length of s in the input, or in the working memory with
   P2MB_IN_WORK (the strings of a pprof profile's sample types); 0, 0 when
   s is in neither. */
static void p2mb_span(const p2m_str *s, const void *input, size_t input_size, const void *work,
                      size_t work_size, uint64_t *at)
{
    size_t off;
    at[0] = at[1] = 0;
    if (p2mb_inside(s, input, input_size, &off)) {
        at[0] = (uint64_t)off;
        at[1] = (uint64_t)s->len;
    } else if (p2mb_inside(s, work, work_size, &off)) {
        at[0] = (uint64_t)off | P2MB_IN_WORK;
        at[1] = (uint64_t)s->len;
    }
}

static p2m_status p2mb_write(int format, const p2m_result *r, const p2m_prom_options *prom,
                             void *scratch, size_t scratch_size, void *out, size_t cap,
                             size_t *n, p2m_error *err)
{
    switch (format) {
    case P2MB_JSON:
        return p2m_write_json(r, scratch, scratch_size, out, cap, n, err);
    case P2MB_PROM:
        return p2m_write_prom(r, prom, scratch, scratch_size, out, cap, n, err);
    default:
        return p2m_encode_otlp(r, out, cap, n, err);
    }
}

p2m_status p2mb_convert(const p2m_engine *engine, const void *input, size_t input_size,
                        int input_kind, const p2m_options *options, int format,
                        const p2m_prom_options *prom,
                        void *work, size_t work_size, void *scratch, size_t scratch_size,
                        void *out, size_t cap, int want_unfed, p2mb_result *res)
{
    p2m_type_count types[P2MB_MAX_UNFED];
    p2m_options opt = *options;
    const p2m_result *r = NULL;
    void *heap_scratch = NULL, *dst = out;
    size_t n = 0, i, listed;
    p2m_status st;
    int attempt;

    memset(res, 0, sizeof *res);
    opt.unfed = want_unfed ? types : NULL;
    opt.unfed_cap = want_unfed ? P2MB_MAX_UNFED : 0;
    if (input_kind == P2MB_INPUT_PPROF)
        st = p2m_pprof_aggregate(engine, input, input_size, &opt, work, work_size, &r,
                                 &res->stats, &res->err);
    else
        st = p2m_aggregate(engine, input, input_size, &opt, work, work_size, &r, &res->stats,
                           &res->err);
    if (st != P2M_OK)
        return st;
    /* the aggregation succeeded (a cumulative state has moved): from here on
       memory comes from the heap when the caller's is short */
    for (attempt = 0; attempt < 6; attempt++) {
        st = p2mb_write(format, r, prom, scratch, scratch_size, dst, cap, &n, &res->err);
        if (st == P2M_ERR_MEMORY && res->err.needed > scratch_size) {
            free(heap_scratch);
            heap_scratch = malloc(res->err.needed);
            if (heap_scratch == NULL)
                break;
            scratch = heap_scratch;
            scratch_size = res->err.needed;
            res->scratch_needed = scratch_size;
        } else if (st == P2M_ERR_OUTPUT_TOO_SMALL && res->err.needed > cap) {
            free(res->heap_out);
            cap = res->err.needed;
            res->heap_out = dst = malloc(cap);
            if (dst == NULL) {
                st = P2M_ERR_MEMORY;
                break;
            }
        } else {
            break;
        }
    }
    free(heap_scratch);
    if (st != P2M_OK) {
        free(res->heap_out);
        res->heap_out = NULL;
        return st;
    }
    res->out_size = n;
    res->stats.bytes_out = n;
    listed = res->stats.n_unfed < P2MB_MAX_UNFED ? res->stats.n_unfed : P2MB_MAX_UNFED;
    for (i = 0; want_unfed && i < listed; i++) {
        p2mb_span(&types[i].type, input, input_size, work, work_size, &res->unfed[i * 6]);
        p2mb_span(&types[i].unit, input, input_size, work, work_size, &res->unfed[i * 6 + 2]);
        res->unfed[i * 6 + 4] = types[i].profiles;
        res->unfed[i * 6 + 5] = types[i].samples;
    }
    return P2M_OK;
}

size_t p2mb_layout(int what)
{
    switch (what) {
    case 0: return sizeof(p2m_config);
    case 1: return sizeof(p2m_error);
    case 2: return sizeof(p2m_stats);
    case 3: return sizeof(p2m_options);
    case 4: return sizeof(p2m_rule);
    case 5: return sizeof(p2m_filter);
    case 6: return sizeof(p2m_extra_metric);
    case 7: return sizeof(p2m_type_rule);
    case 8: return sizeof(p2m_metric_config);
    case 9: return offsetof(p2m_config, function_mode);
    case 10: return offsetof(p2m_config, process_filter);
    case 11: return offsetof(p2m_config, temporality);
    case 12: return offsetof(p2m_config, state_bytes);
    case 13: return offsetof(p2m_config, extra);
    case 14: return offsetof(p2m_stats, work_used);
    case 15: return offsetof(p2m_stats, layout_conflict);
    case 16: return offsetof(p2m_error, message);
    case 17: return offsetof(p2m_rule, default_value);
    case 18: return offsetof(p2m_type_rule, scale);
    case 19: return sizeof(p2m_attribute);
    case 20: return offsetof(p2m_attribute, value);
    case 21: return offsetof(p2m_options, resource_attributes);
    case 22: return sizeof(p2m_type_count);
    case 23: return offsetof(p2m_type_count, samples);
    case 24: return sizeof(p2m_prom_options);
    case 25: return offsetof(p2m_prom_options, merged_resources);
    case 26: return sizeof(p2mb_result);
    case 27: return offsetof(p2mb_result, stats);
    case 28: return offsetof(p2mb_result, err);
    case 29: return offsetof(p2mb_result, unfed);
    case 30: return offsetof(p2m_config, stack_filter);
    case 31: return offsetof(p2m_extra_metric, stack_pattern);
    case 32: return offsetof(p2m_stats, dropped_stack);
    case 33: return offsetof(p2m_config, cpu);
    case 34: return offsetof(p2m_options, now_unix_nano);
    case 35: return offsetof(p2m_prom_options, promote_all);
    }
    return 0;
}
