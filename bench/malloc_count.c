/* SPDX-License-Identifier: MIT
   Counts heap allocations while bench_count_allocs is set: malloc, calloc
   and realloc of the whole process (C++ operator new included) are
   interposed here and forwarded to glibc's own entry points. Used around
   every p2m call of the benchmark to show that the conversion allocates
   nothing. glibc only (the __libc_* names). */
#include "bench.h"

#include <stddef.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);

volatile int bench_count_allocs;
volatile unsigned long bench_allocs;

void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);

void *malloc(size_t n) {
    if (bench_count_allocs) bench_allocs++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t m) {
    if (bench_count_allocs) bench_allocs++;
    return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n) {
    if (bench_count_allocs) bench_allocs++;
    return __libc_realloc(p, n);
}
