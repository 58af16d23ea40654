/* SPDX-License-Identifier: MIT
   Benchmark: workloads (request files, length-prefixed streams) and our
   side of each scenario, shared by the harness (bench.c) and the callgrind
   driver (p2m_iter.c). */
#ifndef P2M_BENCH_SIDE_H
#define P2M_BENCH_SIDE_H

#include <stddef.h>
#include <stdint.h>

#include "profile2metrics.h"

/* The process filter of scenario 2 (RE2 and POSIX ERE read it alike): keeps
   the one process of "small", 15 of the 24 of "typical", most real ones. */
#define BENCH_FILTER "^[a-p]"

/* One workload: one request, or every request of a 4-byte big-endian
   length-prefixed stream (timed together, as one unit of work), or one
   pprof Profile (NAME=PATH:pprof). */
typedef struct bench_wl {
    char name[64];
    int layout;            /* 8 or 10: which generated peer code reads it */
    int pprof;             /* a pprof Profile: only the pprof scenario and
                              the protozero pprof walk apply */
    size_t n;              /* requests */
    const uint8_t **msg;
    size_t *len;
    size_t bytes;          /* sum of len */
    uint8_t *buf;
} bench_wl;

int wl_load(bench_wl *w, const char *name, const char *path, int stream, int layout);
void wl_free(bench_wl *w);

/* SC_FRAME: p2m_aggregate as SC_PARSE, with the default rules written out
   plus frame rules for the leaf's type and kind (issue 22's cost target:
   <= 1.3x the instructions of SC_PARSE on the typical workload). */
/* SC_PPROF: p2m_pprof_convert, default configuration, on a pprof workload
   (the other scenarios run on OTLP workloads only). */
enum { SC_PARSE = 0, SC_E2E = 1, SC_FUNC = 2, SC_FRAME = 3, SC_PPROF = 4, SC_COUNT = 5 };
extern const char *const bench_scenario_name[SC_COUNT];
/* Whether scenario scen runs on workload w (pprof on pprof, the rest on OTLP). */
int bench_scenario_applies(int scen, const bench_wl *w);

typedef struct p2m_side {
    int scen;
    int supported;         /* 0: p2m_engine_compile said P2M_ERR_UNSUPPORTED */
    int filter_on;         /* the process filter is compiled in */
    char note[192];        /* for the table, e.g. "filter: off (not yet supported)" */
    unsigned char *emem;
    const p2m_engine *eng;
    void *work;
    size_t work_cap;
    void *out;
    size_t out_cap;
    /* from the last run, summed over the workload's requests */
    uint64_t samples, kept, series;
    size_t work_used;      /* the largest stats.work_used */
    size_t out_bytes;
    p2m_error err;
} p2m_side;

/* Compiles the scenario's engine and sizes the buffers for w. Returns 0, or
   -1 with a message in s->err (s->supported == 0: not supported yet). */
int p2m_side_init(p2m_side *s, int scen, const bench_wl *w);
/* One run over every request of w: p2m_aggregate (SC_PARSE, SC_FRAME),
   p2m_pprof_convert (SC_PPROF) or p2m_convert. */
int p2m_side_run(p2m_side *s, const bench_wl *w);
/* Totals of the aggregated metrics of w (cross-check with the peers):
   cpu ns and memory bytes summed over all points, and point counts. */
int p2m_side_totals(p2m_side *s, const bench_wl *w, uint64_t *cpu_ns, uint64_t *mem_bytes,
                    uint64_t *cpu_points, uint64_t *mem_points);
void p2m_side_free(p2m_side *s);

#endif
