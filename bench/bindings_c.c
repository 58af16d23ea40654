/* SPDX-License-Identifier: MIT
   bindings_c.c - the C side of `make bench-bindings` (bench/bindings.sh):
   one round of p2m_convert on one request with the default configuration,
   buffers sized once beforehand, as the Go and Rust bench programs do
   through their bindings (bindings/go/bench, bindings/rust/examples/bench.rs).

   Usage: bindings_c FILE MIN_MS
   Prints "cpu_ns_per_op N wall_ns_per_op W calls C bytes_out B": CPU time
   of all the process's threads (their /proc schedstat run times, in ns,
   the same measure in all three programs) and wall-clock time per call,
   over at least MIN_MS milliseconds of calls after two warm-up calls. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, opendir */
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* CPU time of every thread of the process so far, in ns. */
static double cpu_ns(void)
{
    double sum = 0;
    struct dirent *d;
    DIR *dir = opendir("/proc/self/task");
    if (dir == NULL)
        return 0;
    while ((d = readdir(dir)) != NULL) {
        char path[300];
        double run = 0;
        FILE *f;
        if (d->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", d->d_name);
        f = fopen(path, "r");
        if (f != NULL) {
            if (fscanf(f, "%lf", &run) == 1)
                sum += run;
            fclose(f);
        }
    }
    closedir(dir);
    return sum;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    p2m_config cfg;
    p2m_options opt = {0};
    p2m_error err;
    const p2m_engine *eng;
    unsigned char *in, *engine_mem, *work, *out;
    size_t in_len, work_size = 0, out_len = 0, cap;
    long size;
    double min_ns, t0, t, c0;
    unsigned long calls = 0;
    FILE *f;

    if (argc != 3) {
        fprintf(stderr, "usage: %s FILE MIN_MS\n", argv[0]);
        return 2;
    }
    min_ns = atof(argv[2]) * 1e6;
    f = fopen(argv[1], "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        perror(argv[1]);
        return 2;
    }
    in_len = (size_t)size;
    in = malloc(in_len);
    if (in == NULL || fread(in, 1, in_len, f) != in_len) {
        perror(argv[1]);
        return 2;
    }
    fclose(f);

    p2m_config_init(&cfg);
    p2m_engine_compile(&cfg, NULL, 0, &eng, &err);
    engine_mem = malloc(err.needed);
    if (p2m_engine_compile(&cfg, engine_mem, err.needed, &eng, &err) != P2M_OK ||
        p2m_work_size(eng, in, in_len, &work_size, &err) != P2M_OK) {
        fprintf(stderr, "bindings_c: %s\n", err.message);
        return 1;
    }
    opt.now_unix_nano = 1700000000000000000ull;
    work = malloc(work_size);
    p2m_convert(eng, in, in_len, &opt, work, work_size, NULL, 0, &out_len, NULL, &err);
    cap = err.needed;
    out = malloc(cap);
    for (calls = 0; calls < 2; calls++) /* warm-up */
        if (p2m_convert(eng, in, in_len, &opt, work, work_size, out, cap, &out_len, NULL,
                        &err) != P2M_OK) {
            fprintf(stderr, "bindings_c: %s\n", err.message);
            return 1;
        }
    calls = 0;
    c0 = cpu_ns();
    t0 = now_ns();
    do {
        p2m_convert(eng, in, in_len, &opt, work, work_size, out, cap, &out_len, NULL, &err);
        calls++;
        t = now_ns() - t0;
    } while (t < min_ns);
    printf("cpu_ns_per_op %.0f wall_ns_per_op %.0f calls %lu bytes_out %lu\n",
           (cpu_ns() - c0) / (double)calls, t / (double)calls, calls, (unsigned long)out_len);
    return 0;
}
