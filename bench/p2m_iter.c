/* SPDX-License-Identifier: MIT
   Runs one p2m scenario N times on one workload and nothing else, for
   callgrind (bench/instr.sh). Run with --instr-atstart=no --collect-atstart=no:
   instrumentation and collection are switched on around the conversions
   only, with client requests (no-ops outside valgrind).

     p2m_iter SCENARIO ITERATIONS PATH[:stream][:v1.8|:pprof]

   SCENARIO is parse, e2e, function or frame (OTLP workloads), pprof (a pprof
   workload, PATH:pprof), or a peer, counted the same way as ours:
   protozero (the full walk of bench/peer_pz.cc over every request, or over
   the pprof Profile with the pprof schema: the function and pprof
   scenarios' peer), protobuf_c or cpp_arena (decode and free of every
   request, OTLP only: the e2e targets' peers). callgrind does not replace
   the allocator: glibc's malloc and free are counted with the peers.

   Prints "bytes B samples S work W allocs A out O series N ..." (A = heap
   allocations made during the conversions, counted by malloc_count.c; O =
   output bytes of the last conversion, N = its series). */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"
#include "p2m_side.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <valgrind/callgrind.h>

int main(int argc, char **argv) {
    bench_wl w;
    p2m_side s;
    int scen, n, i, stream = 0;
    char path[512], *opt;
    int pz, peer, layout = 10, pprof = 0;
    if (argc != 4) {
        fprintf(stderr,
                "usage: p2m_iter parse|e2e|function|frame|pprof|protozero|protobuf_c|cpp_arena "
                "ITERATIONS "
                "PATH[:stream][:v1.8|:pprof]\n");
        return 2;
    }
    for (scen = 0; scen < SC_COUNT && strcmp(argv[1], bench_scenario_name[scen]) != 0; scen++) {}
    pz = strcmp(argv[1], "protozero") == 0;
    peer = strcmp(argv[1], "protobuf_c") == 0 ? 1 : strcmp(argv[1], "cpp_arena") == 0 ? 2 : 0;
    n = atoi(argv[2]);
    snprintf(path, sizeof path, "%s", argv[3]);
    while ((opt = strrchr(path, ':')) != NULL) {
        if (!strcmp(opt, ":stream")) stream = 1;
        else if (!strcmp(opt, ":v1.8")) layout = 8; /* for the protozero walk; p2m detects it */
        else if (!strcmp(opt, ":pprof")) pprof = 1;
        else break;
        *opt = 0;
    }
    if ((scen == SC_COUNT && !pz && !peer) || n < 0 ||
        wl_load(&w, path, path, stream, layout) != 0) {
        fprintf(stderr, "p2m_iter: bad arguments or unreadable %s\n", path);
        return 2;
    }
    w.pprof = pprof;
    if (peer) { /* a general decoder's decode and free, counted like ours */
        size_t k;
        bench_count_allocs = 1;
        if (w.pprof) {
            printf("unsupported: %s reads OTLP only\n", argv[1]);
            return 3;
        }
        CALLGRIND_START_INSTRUMENTATION;
        CALLGRIND_TOGGLE_COLLECT;
        for (i = 0; i < n; i++)
            for (k = 0; k < w.n; k++)
                if ((peer == 1 ? pbc_decode(w.msg[k], w.len[k], w.layout)
                               : cpp_decode(w.msg[k], w.len[k], w.layout)) != 0) {
                    fprintf(stderr, "p2m_iter: %s\n", peer == 1 ? pbc_error() : cpp_error());
                    return 1;
                }
        CALLGRIND_TOGGLE_COLLECT;
        CALLGRIND_STOP_INSTRUMENTATION;
        bench_count_allocs = 0;
        printf("bytes %zu allocs %lu\n", w.bytes, bench_allocs);
        wl_free(&w);
        return 0;
    }
    if (pz) { /* the peer's walk, counted like ours */
        uint64_t sum = 0;
        size_t k;
        bench_count_allocs = 1;
        CALLGRIND_START_INSTRUMENTATION;
        CALLGRIND_TOGGLE_COLLECT;
        for (i = 0; i < n; i++)
            for (k = 0; k < w.n; k++)
                if ((w.pprof ? pz_walk_pprof(w.msg[k], w.len[k], &sum)
                             : pz_walk(w.msg[k], w.len[k], w.layout, &sum)) != 0) {
                    bench_count_allocs = 0;
                    fprintf(stderr, "p2m_iter: %s\n", pz_error());
                    return 1;
                }
        CALLGRIND_TOGGLE_COLLECT;
        CALLGRIND_STOP_INSTRUMENTATION;
        bench_count_allocs = 0;
        printf("bytes %zu allocs %lu checksum %llu\n", w.bytes, bench_allocs,
               (unsigned long long)sum);
        wl_free(&w);
        return 0;
    }
    if (p2m_side_init(&s, scen, &w) != 0) {
        printf("unsupported %s\n", s.supported ? s.err.message : s.note);
        return s.supported ? 1 : 3;
    }
    bench_count_allocs = 1;
    CALLGRIND_START_INSTRUMENTATION;
    CALLGRIND_TOGGLE_COLLECT;
    for (i = 0; i < n; i++) {
        if (p2m_side_run(&s, &w) != 0) {
            bench_count_allocs = 0;
            fprintf(stderr, "p2m_iter: %s\n", s.err.message);
            return 1;
        }
    }
    CALLGRIND_TOGGLE_COLLECT;
    CALLGRIND_STOP_INSTRUMENTATION;
    bench_count_allocs = 0;
    printf("bytes %zu samples %llu work %zu allocs %lu out %zu series %llu note %s\n", w.bytes,
           (unsigned long long)s.samples, s.work_used, bench_allocs, s.out_bytes,
           (unsigned long long)s.series, s.note[0] ? s.note : "-");
    p2m_side_free(&s);
    wl_free(&w);
    return 0;
}
