/* SPDX-License-Identifier: MIT
   The library itself, compiled by cgo with the package (CFLAGS in
   profile2metrics.go point at the repository's profile2metrics.h), and the
   one C function the package calls per conversion. */
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
#include "p2m_go.h"

/* p2m_convert, plus the sample types that fed no metric returned as offsets
   into the input instead of pointers: Go memory must not receive pointers
   from C, and these point into the input. Each entry of unfed is 6 numbers:
   type offset, type length, unit offset, unit length, profiles, samples. A
   string outside the input (none is expected) is given as empty. */
p2m_status p2mgo_convert(const p2m_engine *engine, const void *input, size_t input_size,
                         const p2m_options *options, void *work, size_t work_size,
                         void *output, size_t cap, size_t *output_size, p2m_stats *stats,
                         p2m_error *err, uint64_t *unfed, size_t unfed_cap)
{
    p2m_type_count types[P2MGO_MAX_UNFED];
    p2m_options opt = *options;
    p2m_status st;
    size_t i, n;
    const char *base = (const char *)input;
    if (unfed_cap > P2MGO_MAX_UNFED)
        unfed_cap = P2MGO_MAX_UNFED;
    opt.unfed = unfed != NULL ? types : NULL;
    opt.unfed_cap = unfed != NULL ? unfed_cap : 0;
    st = p2m_convert(engine, input, input_size, &opt, work, work_size, output, cap,
                     output_size, stats, err);
    if (st != P2M_OK || unfed == NULL || stats == NULL)
        return st;
    n = stats->n_unfed < unfed_cap ? stats->n_unfed : unfed_cap;
    for (i = 0; i < n; i++) {
        const p2m_str *s[2];
        int k;
        s[0] = &types[i].type;
        s[1] = &types[i].unit;
        for (k = 0; k < 2; k++) {
            int inside = s[k]->ptr >= base && s[k]->len <= input_size &&
                         (size_t)(s[k]->ptr - base) <= input_size - s[k]->len;
            unfed[i * 6 + (size_t)k * 2] = inside ? (uint64_t)(s[k]->ptr - base) : 0;
            unfed[i * 6 + (size_t)k * 2 + 1] = inside ? (uint64_t)s[k]->len : 0;
        }
        unfed[i * 6 + 4] = types[i].profiles;
        unfed[i * 6 + 5] = types[i].samples;
    }
    return st;
}
