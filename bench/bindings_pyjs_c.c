/* SPDX-License-Identifier: MIT
   make bench-pyjs: the C call the Python and WebAssembly bindings are
   compared with. Converts one request (default configuration) in a loop with
   reused working memory and output buffer, as the bindings do, and prints
   the best of ROUNDS rounds (each at least MIN_MS ms) in ns per call.
       bindings_c FILE [ROUNDS] [MIN_MS]                                  */
#define _POSIX_C_SOURCE 199309L
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    static unsigned char engine_mem[1 << 20];
    p2m_config cfg;
    p2m_error err;
    const p2m_engine *eng;
    p2m_options opt = {0};
    unsigned char *in, *work, *out;
    size_t len = 0, cap = 1 << 16, need = 0, n = 0;
    int rounds = argc > 2 ? atoi(argv[2]) : 7, r;
    double min_ms = argc > 3 ? atof(argv[3]) : 200, best = 1e30;
    FILE *f;
    long size;
    if (argc < 2 || (f = fopen(argv[1], "rb")) == NULL) {
        fprintf(stderr, "usage: bindings_c FILE [ROUNDS] [MIN_MS]\n");
        return 2;
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    in = size < 0 ? NULL : malloc((size_t)size + 1);
    if (in == NULL || fread(in, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "bindings_c: cannot read %s\n", argv[1]);
        fclose(f);
        return 2;
    }
    len = (size_t)size;
    fclose(f);
    p2m_config_init(&cfg);
    if (p2m_engine_compile(&cfg, engine_mem, sizeof engine_mem, &eng, &err) != P2M_OK ||
        p2m_work_size(eng, in, len, &need, &err) != P2M_OK) {
        fprintf(stderr, "bindings_c: %s\n", err.message);
        return 1;
    }
    work = malloc(need);
    out = malloc(cap);
    opt.now_unix_nano = 1700000000000000000ull;
    if (p2m_convert(eng, in, len, &opt, work, need, out, cap, &n, NULL, &err) ==
        P2M_ERR_OUTPUT_TOO_SMALL) {
        cap = err.needed;
        free(out);
        out = malloc(cap);
    }
    if (work == NULL || out == NULL) {
        fprintf(stderr, "bindings_c: out of memory\n");
        return 2;
    }
    for (r = 0; r < rounds; r++) {
        long it = 0;
        double t0 = now_ns(), per;
        do {
            if (p2m_convert(eng, in, len, &opt, work, need, out, cap, &n, NULL, &err) != P2M_OK) {
                fprintf(stderr, "bindings_c: %s\n", err.message);
                return 1;
            }
            it++;
        } while (now_ns() - t0 < min_ms * 1e6);
        per = (now_ns() - t0) / (double)it;
        if (per < best)
            best = per;
    }
    printf("%.0f\n", best);
    return 0;
}
