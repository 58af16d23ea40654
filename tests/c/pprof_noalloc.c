/* SPDX-License-Identifier: MIT
   Zero heap allocations on the pprof path: this program defines the malloc
   family itself (tests/c/noalloc_arena.h, a bump allocator over a static
   arena, shared with tests/c/test_noalloc.c for the OTLP path), so every
   allocation in the process comes here, including those libc would make
   for the library (glibc's qsort takes a malloc'ed buffer for arrays over
   1 KiB). While armed each call is counted; every pprof entry
   point and the result view must run armed with zero calls. A self-check
   first proves that an allocation made while armed is seen.

   Usage: pprof_noalloc PPROF_FILE...   (prints PASS/FAIL lines; exit 1 on FAIL) */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile2metrics.h"

#define NOALLOC_ARENA_SIZE ((size_t)64 << 20)
#include "noalloc_arena.h"

static uint64_t engine_mem[3][1 << 14];
static uint64_t state_mem[1 << 17];
static uint64_t work_mem[1 << 20];
static unsigned char out_buf[1 << 20];
static unsigned char in_buf[1 << 22];
static int fails;

static p2m_str symbolize(void *user, uint64_t address, p2m_str file, p2m_str build_id)
{
    static const char name[] = "sym";
    p2m_str s;
    (void)user;
    (void)file;
    (void)build_id;
    s.ptr = name;
    s.len = (address & 1) ? 3 : 0;
    return s;
}

/* Every entry point on one input, armed; returns the status of convert. */
static p2m_status run_all(const p2m_engine *eng, p2m_state *state, const unsigned char *in,
                          size_t n, size_t *points)
{
    size_t need = 0, got = 0;
    p2m_error err;
    p2m_stats st;
    p2m_options opt;
    const p2m_result *r = NULL;
    p2m_status s;
    memset(&opt, 0, sizeof opt);
    opt.now_unix_nano = 1;
    opt.state = state;
    opt.symbolize = symbolize;
    *points = 0;
    if (p2m_pprof_work_size(eng, in, n, &need, &err) != P2M_OK || need > sizeof work_mem)
        need = sizeof work_mem;
    (void)p2m_pprof_convert(eng, in, n, &opt, work_mem, need, NULL, 0, &got, &st, &err);
    s = p2m_pprof_convert(eng, in, n, &opt, work_mem, need, out_buf, sizeof out_buf, &got, &st,
                          &err);
    if (p2m_pprof_aggregate(eng, in, n, &opt, work_mem, need, &r, &st, &err) == P2M_OK && r) {
        *points = noalloc_view(r);
        (void)p2m_encode_otlp(r, out_buf, sizeof out_buf, &got, &err);
    }
    return s;
}

int main(int argc, char **argv)
{
    static const char *const names[] = {"defaults", "function_inclusive_strict", "cumulative"};
    const p2m_engine *eng[3];
    p2m_state *state = NULL;
    p2m_config cfg[3];
    p2m_error err;
    unsigned long calls;
    int i, c;
    void *(*volatile m)(size_t) = malloc;

    /* self-check: an allocation while armed is counted */
    arm();
    free(m(100));
    calls = disarm();
    if (calls != 2) {
        printf("FAIL pprof.noalloc.selfcheck: %lu calls counted, expected 2\n", calls);
        return 1;
    }
    printf("PASS pprof.noalloc.selfcheck\n");

    for (c = 0; c < 3; c++)
        p2m_config_init(&cfg[c]);
    cfg[1].function.enabled = 1;
    cfg[1].function_mode = P2M_FUNCTION_INCLUSIVE;
    cfg[1].strict = 1;
    cfg[2].temporality = P2M_TEMPORALITY_CUMULATIVE;
    cfg[2].state_max_series = 1024;
    cfg[2].state_bytes = 1 << 18;
    for (c = 0; c < 3; c++)
        if (p2m_engine_compile(&cfg[c], engine_mem[c], sizeof engine_mem[c], &eng[c], &err) !=
            P2M_OK) {
            printf("FAIL pprof.noalloc.compile.%s: %s\n", names[c], err.message);
            return 1;
        }
    if (p2m_state_size(eng[2]) > sizeof state_mem ||
        p2m_state_init(eng[2], state_mem, sizeof state_mem, &state, &err) != P2M_OK) {
        printf("FAIL pprof.noalloc.state: %zu bytes needed\n", p2m_state_size(eng[2]));
        return 1;
    }

    for (i = 1; i < argc; i++) {
        const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
        FILE *f = fopen(argv[i], "rb");
        size_t n;
        if (!f) {
            printf("FAIL pprof.noalloc.%s: cannot open %s\n", base, argv[i]);
            fails++;
            continue;
        }
        n = fread(in_buf, 1, sizeof in_buf, f);
        fclose(f);
        for (c = 0; c < 3; c++) {
            size_t points = 0;
            p2m_status s;
            arm();
            s = run_all(eng[c], c == 2 ? state : NULL, in_buf, n, &points);
            calls = disarm();
            if (calls)
                printf("FAIL pprof.noalloc.%s.%s: %lu allocator calls (last: %s)\n", base,
                       names[c], calls, armed_last);
            else if (s != P2M_OK)
                printf("FAIL pprof.noalloc.%s.%s: convert gave %d\n", base, names[c], (int)s);
            else if (points == 0)
                printf("FAIL pprof.noalloc.%s.%s: no data point (nothing exercised)\n", base,
                       names[c]);
            else
                printf("PASS pprof.noalloc.%s.%s (%zu points, no allocation)\n", base,
                       names[c], points);
            fails += calls || s != P2M_OK || points == 0;
        }
    }
    return fails ? 1 : 0;
}
