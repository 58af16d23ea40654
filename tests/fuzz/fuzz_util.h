/* SPDX-License-Identifier: MIT
   Shared helpers of the libFuzzer targets (tests/fuzz). A target holds the
   implementation itself, or with -DFZ_LINK_IMPL links the one in
   tests/c/p2m_impl.c (compiled once with the same sanitizers and coverage,
   which saves build time; fuzz_regex needs the internals and never links).
   A broken invariant prints what was wrong and aborts, so libFuzzer saves
   the input as a crash. */
#ifndef P2M_FUZZ_UTIL_H
#define P2M_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FZ_LINK_IMPL
#define P2M_IMPLEMENTATION
#endif
#include "profile2metrics.h"

#define FZ_CHECK(cond, ...)                                                  \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n  ",        \
                    __FILE__, __LINE__, #cond);                              \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* A heap block of exactly n bytes (at least 1), so ASan reports any access
   past the size the library was given. */
static inline unsigned char *fz_alloc(size_t n)
{
    unsigned char *p = (unsigned char *)malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "fuzz: out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

/* Address sanitizer's manual poisoning, when it is on. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(FZ_ASAN)
#define FZ_ASAN 1
#endif
#ifdef FZ_ASAN
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#define FZ_POISON(p, n) __asan_poison_memory_region((p), (n))
#define FZ_UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define FZ_POISON(p, n) ((void)(p), (void)(n))
#define FZ_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* A reusable block for the big working memory and state blocks (megabytes).
   A fresh malloc of that size is a fresh mmap under ASan, so every execution
   paid a page fault per 4 KiB page (and the kernel's zeroing) before the
   library even started: most of fuzz_config's time. The pool keeps one
   buffer per use and hands out its first n bytes (after `misalign` bytes):
   everything past them is poisoned, so ASan reports an access one byte past
   the block exactly as for a heap block of n bytes (the buffer's own left
   redzone guards the start); between uses the whole buffer is poisoned, so a
   pointer kept into an earlier block is reported too. Like ASan's malloc,
   the first 4 KiB are filled with 0xbe (the rest keeps old contents, which
   the library must never read before writing). A buffer over 64 MiB is
   freed after use rather than kept. */
typedef struct fz_pool {
    unsigned char *buf;
    size_t cap, used;
} fz_pool;

static inline unsigned char *fz_pool_get(fz_pool *p, size_t n, size_t misalign)
{
    size_t want = n + misalign;
    if (want == 0)
        want = 1;
    FZ_CHECK(p->used == 0, "pool block taken twice");
    if (want > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < want)
            cap *= 2;
        if (p->buf) {
            FZ_UNPOISON(p->buf, p->cap);
            free(p->buf);
        }
        p->buf = (unsigned char *)malloc(cap);
        if (!p->buf) {
            fprintf(stderr, "fuzz: out of memory (%zu bytes)\n", cap);
            abort();
        }
        p->cap = cap;
        FZ_POISON(p->buf, cap);
    }
    FZ_UNPOISON(p->buf, want);
    memset(p->buf, 0xbe, want < 4096 ? want : 4096);
    p->used = want;
    return p->buf + misalign;
}

static inline void fz_pool_put(fz_pool *p)
{
    FZ_POISON(p->buf, p->used);
    p->used = 0;
    if (p->cap > ((size_t)64 << 20)) { /* a rare giant: not kept */
        FZ_UNPOISON(p->buf, p->cap);
        free(p->buf);
        p->buf = NULL;
        p->cap = 0;
    }
}

/* A status the library may return from a call given valid arguments. */
static inline int fz_status_known(p2m_status s)
{
    return s >= P2M_OK && s <= P2M_ERR_UNSUPPORTED;
}

/* Every byte of a string view is read (ASan checks the whole span). */
static inline unsigned fz_touch(p2m_str s)
{
    unsigned h = 0;
    size_t i;
    if (s.len)
        FZ_CHECK(s.ptr != NULL, "non-empty string view with NULL pointer (len %zu)", s.len);
    for (i = 0; i < s.len; i++)
        h = h * 31u + (unsigned char)s.ptr[i];
    return h;
}

static inline unsigned fz_touch_value(const p2m_value *v)
{
    FZ_CHECK(v->type >= P2M_VALUE_NONE && v->type <= P2M_VALUE_KVLIST, "value type %d",
             (int)v->type);
    return fz_touch(v->str) + (unsigned)v->i;
}

/* The targets' symboliser: a name for some addresses, none for others
   (address % 3 == 0), reading the mapping file and build id it is given. */
static inline p2m_str fz_symbolize(void *user, uint64_t address, p2m_str file, p2m_str build_id)
{
    static const char names[] = "sym_a\0sym_bb\0";
    p2m_str s;
    (void)user;
    fz_touch(file);
    fz_touch(build_id);
    s.ptr = names + ((address & 1) ? 6 : 0);
    s.len = (address % 3 == 0) ? 0 : ((address & 1) ? 6 : 5);
    return s;
}

/* Reads a protobuf varint; returns bytes used or 0 when malformed. */
static inline size_t fz_varint(const unsigned char *p, size_t n, uint64_t *v)
{
    uint64_t x = 0;
    size_t i;
    for (i = 0; i < n && i < 10; i++) {
        x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

/* The library's output is protobuf: every field has a valid tag and wire
   type and no length runs past its message (top level). */
static inline int fz_wire_ok(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint64_t tag, len;
        size_t k = fz_varint(p + i, n - i, &tag);
        if (!k || (tag >> 3) == 0)
            return 0;
        i += k;
        switch (tag & 7) {
        case 0:
            k = fz_varint(p + i, n - i, &len);
            if (!k)
                return 0;
            i += k;
            break;
        case 1:
            if (n - i < 8)
                return 0;
            i += 8;
            break;
        case 5:
            if (n - i < 4)
                return 0;
            i += 4;
            break;
        case 2:
            k = fz_varint(p + i, n - i, &len);
            if (!k || len > n - i - k)
                return 0;
            i += k;
            i += (size_t)len;
            break;
        default:
            return 0;
        }
    }
    return 1;
}

/* Walks a whole result through the view functions, including indices past
   the end (which must give empty values). Returns the number of points. */
static inline size_t fz_walk_result(const p2m_result *r)
{
    p2m_attribute attrs[16];
    size_t nres = p2m_result_resource_count(r), res, points = 0;
    unsigned h = 0;
    for (res = 0; res <= nres; res++) {
        size_t na = p2m_result_resource_attributes(r, res, attrs, 16), a, nm, m;
        h += fz_touch(p2m_result_schema_url(r, res));
        if (res == nres) {
            FZ_CHECK(na == 0, "resource %zu past the end has %zu attributes", res, na);
            FZ_CHECK(p2m_result_metric_count(r, res) == 0, "metrics past the end");
        }
        for (a = 0; a < na && a < 16; a++)
            h += fz_touch(attrs[a].key) + fz_touch_value(&attrs[a].value);
        nm = p2m_result_metric_count(r, res);
        for (m = 0; m <= nm; m++) {
            p2m_metric_info mi;
            size_t pt;
            memset(&mi, 0xa5, sizeof mi);
            p2m_result_metric(r, res, m, &mi);
            if (m == nm) {
                FZ_CHECK(mi.n_points == 0, "metric %zu past the end has %zu points", m,
                         mi.n_points);
                continue;
            }
            FZ_CHECK(mi.kind >= P2M_METRIC_CPU && mi.kind <= P2M_METRIC_EXTRA,
                     "metric kind %d", (int)mi.kind);
            FZ_CHECK(mi.kind != P2M_METRIC_EXTRA || mi.extra < P2M_MAX_EXTRA,
                     "declared metric index %u", (unsigned)mi.extra);
            FZ_CHECK(mi.name.len > 0, "metric without a name");
            h += fz_touch(mi.name) + fz_touch(mi.unit) + fz_touch(mi.description);
            for (pt = 0; pt <= mi.n_points; pt++) {
                p2m_point p;
                size_t npa, j;
                memset(&p, 0xa5, sizeof p);
                p2m_result_point(r, res, m, pt, &p);
                npa = p2m_result_point_attributes(r, res, m, pt, attrs, 16);
                if (pt == mi.n_points) {
                    FZ_CHECK(npa == 0, "point past the end has %zu attributes", npa);
                    continue;
                }
                FZ_CHECK(p.is_double == mi.is_double, "point/metric is_double differ");
                for (j = 0; j < npa && j < 16; j++)
                    h += fz_touch(attrs[j].key) + fz_touch_value(&attrs[j].value);
                /* a short array: the count is still the full count */
                if (npa > 1)
                    FZ_CHECK(p2m_result_point_attributes(r, res, m, pt, attrs, 1) == npa,
                             "attribute count depends on cap");
                points++;
            }
        }
    }
    /* far out-of-range indices */
    FZ_CHECK(p2m_result_metric_count(r, (size_t)-1) == 0, "metric_count(SIZE_MAX)");
    FZ_CHECK(p2m_result_point_attributes(r, 0, (size_t)-1, 0, attrs, 16) == 0,
             "point_attributes(metric SIZE_MAX)");
    (void)h;
    return points;
}

#endif
