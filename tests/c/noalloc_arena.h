/* SPDX-License-Identifier: MIT
   The interposed allocator of the no-allocation tests (test_noalloc.c for
   the OTLP path, pprof_noalloc.c for the pprof path): the including program
   defines malloc, calloc, realloc, free, aligned_alloc, posix_memalign,
   memalign, valloc and pvalloc itself (a bump allocator over a static
   arena), so every allocation in the process, including those libc makes
   for the library (qsort, stdio, ...), comes here. While `armed` is set
   (arm / disarm) each call is counted, and armed_last names the last one.
   Include it once, in the program's one translation unit, after
   <stdlib.h> and <string.h> and the header's declarations;
   NOALLOC_ARENA_SIZE sets the arena. noalloc_view reads a whole result
   view, for the tests to run armed. */
#ifndef NOALLOC_ARENA_H
#define NOALLOC_ARENA_H

/* ---- the interposed allocator ------------------------------------------- */

#ifndef NOALLOC_ARENA_SIZE
#define NOALLOC_ARENA_SIZE ((size_t)96 << 20)
#endif
#define ARENA_SIZE NOALLOC_ARENA_SIZE
static unsigned char arena[ARENA_SIZE] __attribute__((aligned(64)));
static size_t arena_used;
static volatile int armed;
static volatile unsigned long armed_calls;
static const char *volatile armed_last; /* name of the last function called armed */

typedef struct hdr { size_t size; size_t pad; } hdr; /* 16 bytes before each block */

static void note(const char *fn)
{
    if (armed) {
        armed_calls++;
        armed_last = fn;
    }
}

static void *bump(size_t n, size_t align)
{
    size_t start;
    hdr *h;
    if (align < 16)
        align = 16;
    start = (arena_used + sizeof(hdr) + align - 1) & ~(align - 1);
    if (n > ARENA_SIZE || start + n > ARENA_SIZE)
        return NULL;
    arena_used = start + n;
    h = (hdr *)(void *)(arena + start - sizeof(hdr));
    h->size = n;
    return arena + start;
}

void *malloc(size_t n)
{
    note("malloc");
    return bump(n, 16);
}

void *calloc(size_t a, size_t b)
{
    void *p;
    note("calloc");
    if (b && a > (size_t)-1 / b)
        return NULL;
    p = bump(a * b, 16);
    if (p)
        memset(p, 0, a * b);
    return p;
}

void *realloc(void *old, size_t n)
{
    void *p;
    note("realloc");
    p = bump(n, 16);
    if (p && old) {
        size_t was = ((hdr *)old - 1)->size;
        memcpy(p, old, was < n ? was : n);
    }
    return p;
}

void free(void *p)
{
    if (p)
        note("free");
}

void *aligned_alloc(size_t align, size_t n)
{
    note("aligned_alloc");
    return bump(n, align);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    note("posix_memalign");
    *out = bump(n, align);
    return *out ? 0 : 12;
}

void *memalign(size_t align, size_t n);
void *memalign(size_t align, size_t n)
{
    note("memalign");
    return bump(n, align);
}

void *valloc(size_t n);
void *valloc(size_t n)
{
    note("valloc");
    return bump(n, 4096);
}

void *pvalloc(size_t n);
void *pvalloc(size_t n)
{
    note("pvalloc");
    return bump((n + 4095) & ~(size_t)4095, 4096);
}

static void arm(void)
{
    armed_calls = 0;
    armed_last = "";
    armed = 1;
}

static unsigned long disarm(void)
{
    armed = 0;
    return armed_calls;
}

/* Every call of the result view on r (each resource, metric and point);
   returns how many points r has. */
static size_t noalloc_view(const p2m_result *r)
{
    p2m_attribute attrs[16];
    size_t ri, mi, pi, points = 0;
    for (ri = 0; ri < p2m_result_resource_count(r); ri++) {
        (void)p2m_result_schema_url(r, ri);
        (void)p2m_result_resource_attributes(r, ri, attrs, 16);
        for (mi = 0; mi < p2m_result_metric_count(r, ri); mi++) {
            p2m_metric_info info;
            p2m_result_metric(r, ri, mi, &info);
            for (pi = 0; pi < info.n_points; pi++) {
                p2m_point pt;
                p2m_result_point(r, ri, mi, pi, &pt);
                (void)p2m_result_point_attributes(r, ri, mi, pi, attrs, 16);
                points++;
            }
        }
    }
    return points;
}

#endif
