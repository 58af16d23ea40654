/* SPDX-License-Identifier: MIT
   make bench: profile2metrics against general protobuf decoders, in one
   process, interleaved rounds, medians with min and max of thread CPU time.

     bench [--rounds N] [--min-ms MS] [--instr FILE] [--json FILE] [--md FILE]
           [--header-id SHA1] NAME=PATH[:stream][:v1.8|:pprof] ...

   Scenarios (docs/performance.md has the method):
     parse     p2m_aggregate (cpu + memory, default rules: survey, dictionary
               index, sample walk, aggregation; no encoding) against each
               peer's decode + free, and the protozero full walk;
     e2e       p2m_convert (cpu + memory, process filter when the header has
               it, OTLP encoding) against each peer's decode + the same simple
               C aggregation (agg.c) + free;
     function  p2m_convert with the inclusive function metric against the
               protozero full walk (and the decode-only peers of "parse");
     frame     p2m_aggregate as "parse", with the default rules plus frame
               rules for the leaf's type and kind; its instructions are
               reported as a ratio to "parse" (as are the function
               metric's), and its cpu and memory totals are checked against
               the peers' unfiltered aggregation;
     pprof     (pprof workloads, NAME=PATH:pprof, only) p2m_pprof_convert with
               the default configuration against the protozero full walk of
               the pprof schema; the OTLP peers do not read pprof.
   --instr names a file of "workload scenario instr_per_byte" lines (from
   callgrind, bench/instr.sh) merged into the table and the JSON; scenarios
   "protozero", "protobuf_c" and "cpp_arena" there are the peers (the walk,
   the two decodes), shown on their rows and written as
   <peer>_instr_per_byte. bench/report.py adds the families, the targets and
   the split by phase to the JSON afterwards. */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"
#include "p2m_side.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { K_P2M, K_PBC, K_NPB, K_CPP, K_PZ, K_PBC_AGG, K_NPB_AGG, K_CPP_AGG, K_COUNT };

/* json key and display name of each peer library */
static const char *const peer_key[5] = {"p2m", "protobuf_c", "nanopb", "cpp_arena", "protozero"};
static const char *const peer_name[5] = {"p2m", "protobuf-c", "nanopb", "C++ arena",
                                         "protozero walk"};

typedef struct contender {
    int kind;
    int scen;        /* for K_P2M */
    int lib;         /* index into peer_key */
    int failed;
    char err[200];
    unsigned reps;
    double *ns;      /* ns per run, one per round */
    double med, lo, hi;
    unsigned long allocs, runs;
} contender;

typedef struct ctx {
    bench_wl wl;
    p2m_side side[SC_COUNT];
    int side_ok[SC_COUNT];
    bench_agg *agg;
    bench_agg *agg_all;  /* no filter: the frame scenario's cross-check */
    contender c[SC_COUNT + 7];
    size_t nc;
    uint64_t samples;
    char check[256];
    char check_frame[256];
} ctx;

/* CPU time of this thread: on a shared, busy machine the time spent waiting
   for a core is not the code's cost (on an idle machine both agree). */
static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t sink;

/* One run of a contender over every request of the workload. */
static int run_once(ctx *x, contender *c) {
    const bench_wl *w = &x->wl;
    size_t i;
    int rc = 0;
    if (c->kind == K_P2M) {
        rc = p2m_side_run(&x->side[c->scen], w);
        if (rc) {
            char m[sizeof x->side[0].err.message];
            memcpy(m, x->side[c->scen].err.message, sizeof m);
            snprintf(c->err, sizeof c->err, "p2m: %.*s", (int)sizeof m - 1, m);
        }
        return rc;
    }
    for (i = 0; i < w->n && rc == 0; i++) {
        const uint8_t *p = w->msg[i];
        size_t n = w->len[i];
        switch (c->kind) {
        case K_PBC: rc = pbc_decode(p, n, w->layout); break;
        case K_NPB: rc = npb_decode(p, n, w->layout); break;
        case K_CPP: rc = cpp_decode(p, n, w->layout); break;
        case K_PZ:
            rc = w->pprof ? pz_walk_pprof(p, n, &sink) : pz_walk(p, n, w->layout, &sink);
            break;
        case K_PBC_AGG: rc = pbc_agg(p, n, w->layout, x->agg); break;
        case K_NPB_AGG: rc = npb_agg(p, n, w->layout, x->agg); break;
        case K_CPP_AGG: rc = cpp_agg(p, n, w->layout, x->agg); break;
        default: rc = -1;
        }
    }
    if (rc) {
        const char *m = "";
        switch (c->kind) {
        case K_PBC: case K_PBC_AGG: m = pbc_error(); break;
        case K_NPB: case K_NPB_AGG: m = npb_error(); break;
        case K_CPP: case K_CPP_AGG: m = cpp_error(); break;
        case K_PZ: m = pz_error(); break;
        default: break;
        }
        snprintf(c->err, sizeof c->err, "%s", m);
    }
    return rc;
}

static void add(ctx *x, int kind, int scen, int lib) {
    contender *c = &x->c[x->nc++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->scen = scen;
    c->lib = lib;
}

static contender *find(ctx *x, int kind, int scen) {
    size_t i;
    for (i = 0; i < x->nc; i++)
        if (x->c[i].kind == kind && (kind != K_P2M || x->c[i].scen == scen)) return &x->c[i];
    return NULL;
}

/* Sums the aggregation totals of a peer over every request, aggregated by a. */
static int agg_run_totals(ctx *x, int kind, bench_agg *a, agg_totals *sum) {
    size_t i;
    memset(sum, 0, sizeof *sum);
    for (i = 0; i < x->wl.n; i++) {
        agg_totals t;
        int rc = kind == K_PBC_AGG ? pbc_agg(x->wl.msg[i], x->wl.len[i], x->wl.layout, a)
               : kind == K_NPB_AGG ? npb_agg(x->wl.msg[i], x->wl.len[i], x->wl.layout, a)
                                   : cpp_agg(x->wl.msg[i], x->wl.len[i], x->wl.layout, a);
        if (rc) return -1;
        agg_totals_get(a, &t);
        sum->cpu_ns += t.cpu_ns;
        sum->mem_bytes += t.mem_bytes;
        sum->cpu_series += t.cpu_series;
        sum->mem_series += t.mem_series;
    }
    return 0;
}

/* The peers' aggregation must agree with p2m, or the comparison is void:
   p2m's scenario scen against each peer's aggregation into agg, written to
   out. with_series: the series counts too (frame rules split series but
   change no total, so the frame scenario compares its sums only, with the
   peers' unfiltered aggregation). */
static void cross_check_one(ctx *x, int scen, bench_agg *agg, int with_series, char *out,
                            size_t cap) {
    uint64_t cpu, mem, cp, mp;
    int k;
    char *o = out;
    size_t left = cap;
    if (!x->side_ok[scen] ||
        p2m_side_totals(&x->side[scen], &x->wl, &cpu, &mem, &cp, &mp) != 0) {
        snprintf(out, cap, "not checked (p2m %s failed)", bench_scenario_name[scen]);
        return;
    }
    snprintf(o, left, "ok");
    for (k = K_PBC_AGG; k <= K_CPP_AGG; k++) {
        contender *c = find(x, k, SC_E2E);
        agg_totals t;
        int n;
        if (!c || c->failed) continue;
        if (agg_run_totals(x, k, agg, &t) != 0) continue;
        if (t.cpu_ns == cpu && t.mem_bytes == mem &&
            (!with_series || (t.cpu_series == cp && t.mem_series == mp)))
            continue;
        n = snprintf(o, left,
                     "MISMATCH %s: cpu %llu/%llu ns, mem %llu/%llu B, series %llu+%llu/%llu+%llu; ",
                     peer_name[c->lib], (unsigned long long)t.cpu_ns, (unsigned long long)cpu,
                     (unsigned long long)t.mem_bytes, (unsigned long long)mem,
                     (unsigned long long)t.cpu_series, (unsigned long long)t.mem_series,
                     (unsigned long long)cp, (unsigned long long)mp);
        if (n > 0 && (size_t)n < left) { o += n; left -= (size_t)n; }
    }
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void summarise(contender *c, unsigned rounds) {
    double *t = (double *)malloc(rounds * sizeof *t);
    if (!t) abort();
    memcpy(t, c->ns, rounds * sizeof *t);
    qsort(t, rounds, sizeof *t, cmp_d);
    c->med = rounds % 2 ? t[rounds / 2] : (t[rounds / 2 - 1] + t[rounds / 2]) / 2;
    c->lo = t[0];
    c->hi = t[rounds - 1];
    free(t);
}

static int setup(ctx *x, double min_ns) {
    size_t i;
    int s;
    for (s = 0; s < SC_COUNT; s++) {
        if (!bench_scenario_applies(s, &x->wl)) continue;
        x->side_ok[s] = p2m_side_init(&x->side[s], s, &x->wl) == 0;
        if (!x->side_ok[s] && x->side[s].supported)
            fprintf(stderr, "bench: %s %s: p2m setup failed: %s\n", x->wl.name,
                    bench_scenario_name[s], x->side[s].err.message);
    }
    x->agg = agg_new(x->side[SC_E2E].filter_on ? BENCH_FILTER : NULL);
    x->agg_all = agg_new(NULL);
    if (x->wl.pprof) { /* p2m's pprof conversion and the protozero pprof walk */
        add(x, K_P2M, SC_PPROF, 0);
        add(x, K_PZ, SC_PARSE, 4);
    } else {
        add(x, K_P2M, SC_PARSE, 0);
        add(x, K_P2M, SC_E2E, 0);
        add(x, K_P2M, SC_FUNC, 0);
        add(x, K_P2M, SC_FRAME, 0);
        add(x, K_PBC, SC_PARSE, 1);
        add(x, K_NPB, SC_PARSE, 2);
        add(x, K_CPP, SC_PARSE, 3);
        add(x, K_PZ, SC_PARSE, 4);
        add(x, K_PBC_AGG, SC_E2E, 1);
        add(x, K_NPB_AGG, SC_E2E, 2);
        add(x, K_CPP_AGG, SC_E2E, 3);
    }
    /* warm up, calibrate the repetitions of one measurement */
    for (i = 0; i < x->nc; i++) {
        contender *c = &x->c[i];
        double t0, t1;
        if (c->kind == K_P2M && !x->side_ok[c->scen]) {
            c->failed = 1;
            snprintf(c->err, sizeof c->err, "%s",
                     x->side[c->scen].supported ? x->side[c->scen].err.message
                                                : x->side[c->scen].note);
            continue;
        }
        t0 = now_ns();
        if (run_once(x, c) != 0) {
            c->failed = 1;
            continue;
        }
        t1 = now_ns();
        c->reps = (unsigned)(min_ns / (t1 - t0 > 1 ? t1 - t0 : 1)) + 1;
        if (c->reps > 100000) c->reps = 100000;
    }
    s = x->wl.pprof ? SC_PPROF : SC_PARSE;
    x->samples = x->side_ok[s] ? (p2m_side_run(&x->side[s], &x->wl), x->side[s].samples) : 0;
    if (x->wl.pprof) { /* the column sums, decoded by protozero, against p2m's totals */
        uint64_t cpu, mem, cp, mp, zc = 0, zm = 0, c1, m1;
        size_t k;
        if (!x->side_ok[SC_PPROF] ||
            p2m_side_totals(&x->side[SC_PPROF], &x->wl, &cpu, &mem, &cp, &mp) != 0) {
            snprintf(x->check, sizeof x->check, "not checked (p2m pprof failed)");
            return 0;
        }
        for (k = 0; k < x->wl.n; k++) {
            if (pz_pprof_totals(x->wl.msg[k], x->wl.len[k], &c1, &m1) != 0) {
                snprintf(x->check, sizeof x->check, "not checked (%s)", pz_error());
                return 0;
            }
            zc += c1;
            zm += m1;
        }
        if (zc == cpu && zm == mem)
            snprintf(x->check, sizeof x->check, "ok");
        else
            snprintf(x->check, sizeof x->check,
                     "MISMATCH protozero: cpu %llu/%llu ns, mem %llu/%llu B",
                     (unsigned long long)zc, (unsigned long long)cpu, (unsigned long long)zm,
                     (unsigned long long)mem);
        return 0;
    }
    cross_check_one(x, SC_E2E, x->agg, 1, x->check, sizeof x->check);
    cross_check_one(x, SC_FRAME, x->agg_all, 0, x->check_frame, sizeof x->check_frame);
    return 0;
}

static void measure(ctx *x, unsigned rounds) {
    unsigned r;
    size_t k;
    for (k = 0; k < x->nc; k++) {
        x->c[k].ns = (double *)calloc(rounds, sizeof(double));
        if (!x->c[k].ns) abort();
    }
    for (r = 0; r < rounds; r++) {
        for (k = 0; k < x->nc; k++) {
            contender *c = &x->c[(k + r) % x->nc]; /* a different order each round */
            unsigned i;
            double t0, t1;
            unsigned long a0 = bench_allocs;
            if (c->failed) continue;
            if (c->kind == K_P2M) bench_count_allocs = 1;
            t0 = now_ns();
            for (i = 0; i < c->reps; i++) {
                if (run_once(x, c) != 0) {
                    c->failed = 1;
                    break;
                }
            }
            t1 = now_ns();
            bench_count_allocs = 0;
            c->allocs += bench_allocs - a0;
            c->runs += c->reps;
            c->ns[r] = (t1 - t0) / c->reps;
        }
    }
    for (k = 0; k < x->nc; k++)
        if (!x->c[k].failed) summarise(&x->c[k], rounds);
}

/* ---- instructions per byte from callgrind (bench/instr.sh) ---- */

typedef struct instr_row {
    char wl[64], scen[16];
    double ipb;
} instr_row;
#define MAX_INSTR 1024
static instr_row instr[MAX_INSTR];
static size_t n_instr;

static void load_instr(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench: no instruction counts (%s): run through make bench\n", path);
        return;
    }
    while (n_instr < MAX_INSTR && fscanf(f, "%63s %15s %lf", instr[n_instr].wl, instr[n_instr].scen,
                                  &instr[n_instr].ipb) == 3)
        n_instr++;
    fclose(f);
}

static double instr_of_name(const char *wl, const char *scen) {
    size_t i;
    for (i = 0; i < n_instr; i++)
        if (strcmp(instr[i].wl, wl) == 0 && strcmp(instr[i].scen, scen) == 0) return instr[i].ipb;
    return -1;
}

static double instr_of(const char *wl, int scen) {
    return instr_of_name(wl, bench_scenario_name[scen]);
}

/* instructions per byte of a peer, when counted (bench/instr.sh's rows
   "protozero", "protobuf_c" and "cpp_arena", named by peer_key); -1
   otherwise, and for the "+agg" contenders (their decode is counted, not
   their aggregation) */
static double peer_instr(const char *wl, const contender *c) {
    int decode_only = c->kind == K_PBC || c->kind == K_NPB || c->kind == K_CPP || c->kind == K_PZ;
    return decode_only && c->lib > 0 ? instr_of_name(wl, peer_key[c->lib]) : -1;
}

/* ---- output ---- */

static double mbs(const ctx *x, double ns) { return (double)x->wl.bytes / ns * 1e3; }

static void cpu_model(char *out, size_t cap) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    snprintf(out, cap, "unknown");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        char *c = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && c) {
            c += 2;
            c[strcspn(c, "\n")] = 0;
            snprintf(out, cap, "%s", c);
            break;
        }
    }
    fclose(f);
}

static void json_num(FILE *f, const char *key, double v, int valid) {
    if (valid) fprintf(f, ", \"%s\": %.6g", key, v);
    else fprintf(f, ", \"%s\": null", key);
}

static void json_int(FILE *f, const char *key, unsigned long long v, int valid) {
    if (valid) fprintf(f, ", \"%s\": %llu", key, v);
    else fprintf(f, ", \"%s\": null", key);
}

static void json_str(FILE *f, const char *key, const char *s) {
    fprintf(f, ", \"%s\": \"", key);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if ((unsigned char)*s >= 0x20) fputc(*s, f);
    }
    fputc('"', f);
}

/* The peers of a scenario: what p2m is compared with. */
static void peers_of(ctx *x, int scen, contender **out, size_t *n) {
    *n = 0;
    if (scen == SC_PPROF) {
        out[(*n)++] = find(x, K_PZ, 0);
    } else if (scen == SC_E2E) {
        out[(*n)++] = find(x, K_PBC_AGG, 0);
        out[(*n)++] = find(x, K_NPB_AGG, 0);
        out[(*n)++] = find(x, K_CPP_AGG, 0);
    } else {
        out[(*n)++] = find(x, K_PBC, 0);
        out[(*n)++] = find(x, K_NPB, 0);
        out[(*n)++] = find(x, K_CPP, 0);
        out[(*n)++] = find(x, K_PZ, 0);
    }
}

static char machine[192];
/* p2m cost per byte of the "typical" workload, per scenario, to state the
   flatness of the "huge" one against it (issue 8: <= 1.15x). */
static double typ_ns_per_byte[SC_COUNT], typ_ipb[SC_COUNT];
static char header_id[64] = "unknown";

static void report(ctx *x, FILE *js, int *first_js, FILE *md) {
    int s;
    size_t i;
    const p2m_side *e2e = &x->side[SC_E2E];
    if (x->wl.pprof)
        printf("\n%s: pprof profile, %.3f MB, %llu samples (a sample per sample-type column); "
               "protozero's column sums agree with p2m: %s\n",
               x->wl.name, (double)x->wl.bytes / 1e6, (unsigned long long)x->samples, x->check);
    else
        printf("\n%s: %zu request%s, %.3f MB, %llu samples, layout v1.%d%s%s\n", x->wl.name,
               x->wl.n, x->wl.n == 1 ? "" : "s", (double)x->wl.bytes / 1e6,
               (unsigned long long)x->samples, x->wl.layout,
               x->check[0] ? "; peers agree with p2m: " : "", x->check);
    printf("  %-9s %-15s %9s %19s %12s %10s %8s %8s\n", "scenario", "who", "MB/s", "[min .. max]",
           "samples/s", "ns/sample", "instr/B", "p2m is");
    if (md) {
        fprintf(md, "\n**%s** (%.3f MB, %llu samples, %zu %s%s%s)\n\n", x->wl.name,
                (double)x->wl.bytes / 1e6, (unsigned long long)x->samples, x->wl.n,
                x->wl.pprof ? "pprof profile" : x->wl.n == 1 ? "request" : "requests",
                !x->check[0] ? "" : x->wl.pprof ? "; protozero's column sums agree with p2m: "
                                                : "; peers agree with p2m: ", x->check);
        fprintf(md, "| scenario | who | MB/s | min..max | samples/s | ns/sample | instr/B "
                    "| p2m is |\n");
        fprintf(md, "|---|---|---:|---:|---:|---:|---:|---:|\n");
    }
    for (s = 0; s < SC_COUNT; s++) {
        contender *me = find(x, K_P2M, s), *peers[4];
        if (!bench_scenario_applies(s, &x->wl)) continue;
        size_t np;
        double ipb = instr_of(x->wl.name, s);
        int ok = me && !me->failed;
        const char *note = x->side[s].note;
        peers_of(x, s, peers, &np);
        if (ok) {
            char ibuf[32];
            if (ipb >= 0) snprintf(ibuf, sizeof ibuf, "%.2f", ipb);
            else snprintf(ibuf, sizeof ibuf, "-");
            printf("  %-9s %-15s %9.1f [%8.1f ..%8.1f] %12.4g %10.1f %8s %8s %s\n",
                   bench_scenario_name[s], "p2m", mbs(x, me->med), mbs(x, me->hi), mbs(x, me->lo),
                   (double)x->samples / me->med * 1e9,
                   me->med / (double)(x->samples ? x->samples : 1), ibuf, "", note);
            if (md)
                fprintf(md, "| %s | **p2m**%s%s | %.1f | %.1f..%.1f | %.4g | %.1f | %s | |\n",
                        bench_scenario_name[s], note[0] ? ", " : "", note, mbs(x, me->med),
                        mbs(x, me->hi), mbs(x, me->lo), (double)x->samples / me->med * 1e9,
                        me->med / (double)(x->samples ? x->samples : 1), ibuf);
        } else {
            printf("  %-9s %-15s %s\n", bench_scenario_name[s], "p2m", me ? me->err : "?");
            if (md)
                fprintf(md, "| %s | **p2m** | %s | | | | | |\n", bench_scenario_name[s],
                        me ? me->err : "?");
        }
        for (i = 0; i < np; i++) {
            contender *c = peers[i];
            const char *what = s == SC_E2E                      ? " +agg"
                               : s == SC_FUNC || s == SC_FRAME ? " (decode)"
                                                               : "";
            char pbuf[32];
            if (!c) continue;
            if (c->failed) {
                printf("  %-9s %-15s FAILED: %s\n", "", peer_name[c->lib], c->err);
                if (md)
                    fprintf(md, "| | %s%s | failed: %s | | | | | |\n", peer_name[c->lib], what,
                            c->err);
                continue;
            }
            {
                double pi = peer_instr(x->wl.name, c);
                if (pi >= 0) snprintf(pbuf, sizeof pbuf, "%.2f", pi);
                else pbuf[0] = 0;
            }
            printf("  %-9s %-15s %9.1f [%8.1f ..%8.1f] %12.4g %10.1f %8s", "", peer_name[c->lib],
                   mbs(x, c->med), mbs(x, c->hi), mbs(x, c->lo), (double)x->samples / c->med * 1e9,
                   c->med / (double)(x->samples ? x->samples : 1), pbuf);
            if (ok) printf(" %7.1fx", c->med / me->med);
            printf("%s\n", s == SC_E2E                      ? "  (decode + agg)"
                           : s == SC_FUNC || s == SC_FRAME ? "  (decode only)"
                           : s == SC_PPROF                 ? "  (full walk of the pprof schema)"
                                                           : "");
            if (md) {
                fprintf(md, "| | %s%s | %.1f | %.1f..%.1f | %.4g | %.1f | %s | ", peer_name[c->lib],
                        what, mbs(x, c->med), mbs(x, c->hi), mbs(x, c->lo),
                        (double)x->samples / c->med * 1e9,
                        c->med / (double)(x->samples ? x->samples : 1), pbuf);
                if (ok) fprintf(md, "%.1f× |\n", c->med / me->med);
                else fprintf(md, "|\n");
            }
        }
        if (s == SC_E2E && ok) {
            /* the targets compare end to end with decode-only */
            contender *d[4];
            size_t nd, j;
            peers_of(x, SC_PARSE, d, &nd);
            printf("  %-9s %-15s", "", "vs decode-only");
            if (md) fprintf(md, "| | *vs decode only* | | | | | |");
            for (j = 0; j < nd; j++)
                if (d[j] && !d[j]->failed) {
                    printf(" %s %.1fx", peer_name[d[j]->lib], d[j]->med / me->med);
                    if (md) fprintf(md, " %s %.1f×", peer_name[d[j]->lib], d[j]->med / me->med);
                }
            printf("\n");
            if (md) fprintf(md, " |\n");
        }
        if (ok && (s == SC_FRAME || s == SC_FUNC)) {
            /* the cost of reading stacks, against the default configuration */
            double ip = instr_of(x->wl.name, SC_PARSE);
            contender *pa = find(x, K_P2M, SC_PARSE);
            printf("  %-9s %-15s", "", "vs parse");
            if (md) fprintf(md, "| | *vs parse* | | | | | |");
            if (ipb >= 0 && ip > 0) {
                printf(" instructions %.2fx", ipb / ip);
                if (md) fprintf(md, " instructions %.2f×", ipb / ip);
            }
            if (pa && !pa->failed) {
                printf(" time %.2fx", me->med / pa->med);
                if (md) fprintf(md, " time %.2f×", me->med / pa->med);
            }
            if (s == SC_FRAME) {
                printf("; totals vs peers: %s", x->check_frame);
                if (md) fprintf(md, "; totals vs peers: %s", x->check_frame);
            }
            printf("\n");
            if (md) fprintf(md, " |\n");
        }
        if (ok && strcmp(x->wl.name, "huge") == 0 && typ_ns_per_byte[s] > 0) {
            printf("  %-9s %-15s per byte vs typical: time %.2fx", "", "",
                   me->med / (double)x->wl.bytes / typ_ns_per_byte[s]);
            if (ipb >= 0 && typ_ipb[s] > 0) printf(", instructions %.2fx", ipb / typ_ipb[s]);
            printf("\n");
            if (md) {
                fprintf(md, "| | *per byte vs typical* | | | | | | time %.2f×",
                        me->med / (double)x->wl.bytes / typ_ns_per_byte[s]);
                if (ipb >= 0 && typ_ipb[s] > 0)
                    fprintf(md, ", instructions %.2f×", ipb / typ_ipb[s]);
                fprintf(md, " |\n");
            }
        }
        if (ok && s == SC_PPROF) {
            /* the target: fewer instructions per byte than the walk */
            double pz = instr_of_name(x->wl.name, "protozero");
            if (ipb >= 0 && pz > 0) {
                printf("  %-9s %-15s instructions per byte %.2f vs %.2f: %.2fx the walk's\n", "",
                       "vs protozero", ipb, pz, ipb / pz);
                if (md)
                    fprintf(md, "| | *vs protozero walk* | | | | | | instructions %.2f× |\n",
                            ipb / pz);
            }
        }
        if (ok && (s == SC_PARSE || s == SC_PPROF) && md)
            fprintf(md,
                    "| | *p2m memory* | | | | | | work %zu B (%.2f× input), %lu heap allocations "
                    "in %lu runs |\n",
                    x->side[s].work_used, (double)x->side[s].work_used / (double)x->wl.bytes,
                    me->allocs, me->runs);
        if (ok && (s == SC_PARSE || s == SC_PPROF))
            printf(
                "  %-9s %-15s work memory %zu B (%.2f x input), heap allocations %lu in %lu runs\n",
                "", "", x->side[s].work_used, (double)x->side[s].work_used / (double)x->wl.bytes,
                me->allocs, me->runs);

        /* JSON entry */
        if (js) {
            fprintf(js, "%s\n  \"%s/%s\": {", *first_js ? "" : ",", x->wl.name,
                    bench_scenario_name[s]);
            *first_js = 0;
            fprintf(js,
                    "\"workload\": \"%s\", \"scenario\": \"%s\", \"bytes\": %zu, \"requests\": "
                    "%zu, \"samples\": %llu",
                    x->wl.name, bench_scenario_name[s], x->wl.bytes, x->wl.n,
                    (unsigned long long)x->samples);
            json_num(js, "p2m_mb_s", ok ? mbs(x, me->med) : 0, ok);
            json_num(js, "p2m_instr_per_byte", ipb, ipb >= 0);
            json_num(js, "p2m_mb_s_min", ok ? mbs(x, me->hi) : 0, ok);
            json_num(js, "p2m_mb_s_max", ok ? mbs(x, me->lo) : 0, ok);
            json_num(js, "p2m_samples_s", ok ? (double)x->samples / me->med * 1e9 : 0, ok);
            json_num(js, "p2m_ns_per_sample",
                     ok ? me->med / (double)(x->samples ? x->samples : 1) : 0, ok);
            json_int(js, "p2m_work_used", (unsigned long long)x->side[s].work_used, ok);
            json_int(js, "p2m_heap_allocs", ok ? (unsigned long long)me->allocs : 0, ok);
            json_int(js, "p2m_runs", ok ? (unsigned long long)me->runs : 0, ok);
            json_num(js, "p2m_ns_per_byte", ok ? me->med / (double)x->wl.bytes : 0, ok);
            if (ok && strcmp(x->wl.name, "typical") == 0) {
                typ_ns_per_byte[s] = me->med / (double)x->wl.bytes;
                typ_ipb[s] = ipb;
            }
            if (strcmp(x->wl.name, "huge") == 0) {
                json_num(js, "ns_per_byte_vs_typical",
                         ok && typ_ns_per_byte[s] > 0
                             ? me->med / (double)x->wl.bytes / typ_ns_per_byte[s]
                             : 0,
                         ok && typ_ns_per_byte[s] > 0);
                json_num(js, "instr_per_byte_vs_typical",
                         ipb >= 0 && typ_ipb[s] > 0 ? ipb / typ_ipb[s] : 0,
                         ipb >= 0 && typ_ipb[s] > 0);
            }
            if (s == SC_FRAME || s == SC_FUNC) {
                double ip = instr_of(x->wl.name, SC_PARSE);
                contender *pa = find(x, K_P2M, SC_PARSE);
                int tv = ok && pa && !pa->failed;
                json_num(js, "instr_vs_parse", ipb >= 0 && ip > 0 ? ipb / ip : 0,
                         ipb >= 0 && ip > 0);
                json_num(js, "time_vs_parse", tv ? me->med / pa->med : 0, tv);
            }
            if (s == SC_FRAME) json_str(js, "check", x->check_frame);
            if (s == SC_PPROF) {
                double pz = instr_of_name(x->wl.name, "protozero");
                json_str(js, "check", x->check);
                json_num(js, "instr_vs_protozero", ipb >= 0 && pz > 0 ? ipb / pz : 0,
                         ipb >= 0 && pz > 0);
                json_int(js, "p2m_bytes_out", (unsigned long long)x->side[s].out_bytes, ok);
            }
            json_str(js, "note", ok ? note : (me ? me->err : ""));
            json_str(js, "machine", machine);
            json_str(js, "header_sha1", header_id);
            for (i = 0; i < np; i++) {
                contender *c = peers[i];
                char k[64];
                int v = c && !c->failed;
                if (!c) continue;
                snprintf(k, sizeof k, "%s_mb_s", peer_key[c->lib]);
                json_num(js, k, v ? mbs(x, c->med) : 0, v);
                snprintf(k, sizeof k, "ratio_%s", peer_key[c->lib]);
                json_num(js, k, v && ok ? c->med / me->med : 0, v && ok);
                if (peer_instr(x->wl.name, c) >= 0) {
                    snprintf(k, sizeof k, "%s_instr_per_byte", peer_key[c->lib]);
                    json_num(js, k, peer_instr(x->wl.name, c), 1);
                }
                if (!v) {
                    snprintf(k, sizeof k, "%s_error", peer_key[c->lib]);
                    json_str(js, k, c->err);
                }
            }
            if (s == SC_E2E) {
                contender *d[4];
                size_t nd, j;
                peers_of(x, SC_PARSE, d, &nd);
                for (j = 0; j < nd; j++) {
                    char k[64];
                    int v = d[j] && !d[j]->failed;
                    if (!d[j]) continue;
                    snprintf(k, sizeof k, "%s_decode_mb_s", peer_key[d[j]->lib]);
                    json_num(js, k, v ? mbs(x, d[j]->med) : 0, v);
                    snprintf(k, sizeof k, "ratio_%s_decode", peer_key[d[j]->lib]);
                    json_num(js, k, v && ok ? d[j]->med / me->med : 0, v && ok);
                }
                json_str(js, "check", x->check);
                json_int(js, "p2m_bytes_out", (unsigned long long)e2e->out_bytes, ok);
            }
            fprintf(js, "}");
        }
    }
}

int main(int argc, char **argv) {
    unsigned rounds = 7;
    double min_ms = 40;
    const char *json = NULL, *md_path = NULL, *instr_path = NULL;
    FILE *js = NULL, *md = NULL;
    int i, first_js = 1;
    char model[128];
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--min-ms") && i + 1 < argc) min_ms = atof(argv[++i]);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
        else if (!strcmp(argv[i], "--md") && i + 1 < argc) md_path = argv[++i];
        else if (!strcmp(argv[i], "--instr") && i + 1 < argc) instr_path = argv[++i];
        else if (!strcmp(argv[i], "--header-id") && i + 1 < argc)
            snprintf(header_id, sizeof header_id, "%s", argv[++i]);
        else {
            fprintf(stderr,
                    "usage: bench [--rounds N] [--min-ms MS] [--instr F] [--json F] [--md F] "
                    "NAME=PATH[:stream][:v1.8|:pprof] ...\n");
            return 2;
        }
    }
    if (rounds < 1) rounds = 1;
    if (i == argc) {
        fprintf(stderr, "bench: no workload\n");
        return 2;
    }
    if (instr_path) load_instr(instr_path);
    cpu_model(model, sizeof model);
    snprintf(machine, sizeof machine, "%s, %ld cores online", model, sysconf(_SC_NPROCESSORS_ONLN));
    printf("profile2metrics %s (header sha1 %s) bench: %s, %ld cores online; %u rounds, >= %.0f ms "
           "per measurement\n",
           p2m_version(), header_id, model, sysconf(_SC_NPROCESSORS_ONLN), rounds, min_ms);
    printf("MB/s = input MB (1e6 bytes) per second of thread CPU time, median over rounds; "
           "\"p2m is\" = peer time / p2m time\n");
    if (json && !(js = fopen(json, "w"))) {
        perror(json);
        return 1;
    }
    if (md_path && !(md = fopen(md_path, "w"))) {
        perror(md_path);
        return 1;
    }
    if (js) fprintf(js, "{");
    if (md)
        fprintf(md,
                "profile2metrics.h sha1 %s. Machine: %s, %ld cores online. %u rounds, each "
                "measurement >= %.0f ms of thread CPU time; MB/s is the median (min..max over "
                "rounds); \"p2m is\" = peer time / p2m time.\n",
                header_id, model, sysconf(_SC_NPROCESSORS_ONLN), rounds, min_ms);
    for (; i < argc; i++) {
        ctx *x = (ctx *)calloc(1, sizeof *x);
        char spec[512], *path, *opt;
        int stream = 0, layout = 10, pprof = 0, s;
        size_t k;
        if (!x) abort();
        snprintf(spec, sizeof spec, "%s", argv[i]);
        path = strchr(spec, '=');
        if (!path) {
            fprintf(stderr, "bench: %s: expected NAME=PATH\n", argv[i]);
            return 2;
        }
        *path++ = 0;
        while ((opt = strrchr(path, ':')) != NULL) {
            if (!strcmp(opt, ":stream")) stream = 1;
            else if (!strcmp(opt, ":v1.8")) layout = 8;
            else if (!strcmp(opt, ":pprof")) pprof = 1;
            else break;
            *opt = 0;
        }
        if (wl_load(&x->wl, spec, path, stream, layout) != 0) {
            fprintf(stderr, "bench: cannot load %s\n", path);
            return 1;
        }
        x->wl.pprof = pprof;
        setup(x, min_ms * 1e6);
        measure(x, rounds);
        report(x, js, &first_js, md);
        fflush(stdout);
        for (k = 0; k < x->nc; k++) free(x->c[k].ns);
        for (s = 0; s < SC_COUNT; s++) p2m_side_free(&x->side[s]);
        agg_free(x->agg);
        agg_free(x->agg_all);
        wl_free(&x->wl);
        free(x);
    }
    if (js) {
        fprintf(js, "\n}\n");
        fclose(js);
    }
    if (md) fclose(md);
    return 0;
}
