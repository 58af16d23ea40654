/* SPDX-License-Identifier: MIT
   Benchmark: our side. The one translation unit that compiles the header's
   implementation for the benchmark binaries. */
#define _POSIX_C_SOURCE 200809L
#define P2M_IMPLEMENTATION
#include "p2m_side.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const bench_scenario_name[SC_COUNT] = {"parse", "e2e", "function", "frame",
                                                    "pprof"};

int bench_scenario_applies(int scen, const bench_wl *w) {
    return (scen == SC_PPROF) == (w->pprof != 0);
}

/* The frame scenario's rules: the two default rules, then the leaf frame's
   type and kind (docs/spec.md section 5.2). */
static const p2m_rule frame_rules[] = {
    {"process.executable.name", P2M_RULE_ATTRIBUTE, NULL, "process.executable.name", NULL, 0,
     NULL},
    {"thread.name", P2M_RULE_ATTRIBUTE, NULL, "thread.name", NULL, 0, NULL},
    {"frame.type", P2M_RULE_FRAME, NULL, "type", NULL, 0, NULL},
    {"frame.kind", P2M_RULE_FRAME, NULL, "kind", NULL, 0, NULL},
};

int wl_load(bench_wl *w, const char *name, const char *path, int stream, int layout) {
    FILE *f = fopen(path, "rb");
    long sz;
    size_t off, cap = 4;
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", name);
    w->layout = layout;
    if (!f) return -1;
    if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return -1;
    }
    w->buf = (uint8_t *)malloc((size_t)sz + 1);
    if (!w->buf || fread(w->buf, 1, (size_t)sz, f) != (size_t)sz) {
        fclose(f);
        return -1;
    }
    fclose(f);
    w->msg = (const uint8_t **)malloc(cap * sizeof *w->msg);
    w->len = (size_t *)malloc(cap * sizeof *w->len);
    if (!w->msg || !w->len) return -1;
    if (!stream) {
        w->msg[0] = w->buf;
        w->len[0] = (size_t)sz;
        w->n = 1;
        w->bytes = (size_t)sz;
        return 0;
    }
    for (off = 0; off < (size_t)sz;) {
        size_t l;
        if ((size_t)sz - off < 4) return -1;
        l = ((size_t)w->buf[off] << 24) | ((size_t)w->buf[off + 1] << 16) |
            ((size_t)w->buf[off + 2] << 8) | (size_t)w->buf[off + 3];
        off += 4;
        if (l > (size_t)sz - off) return -1;
        if (w->n == cap) {
            cap *= 2;
            w->msg = (const uint8_t **)realloc(w->msg, cap * sizeof *w->msg);
            w->len = (size_t *)realloc(w->len, cap * sizeof *w->len);
            if (!w->msg || !w->len) return -1;
        }
        w->msg[w->n] = w->buf + off;
        w->len[w->n] = l;
        w->n++;
        w->bytes += l;
        off += l;
    }
    return w->n ? 0 : -1;
}

void wl_free(bench_wl *w) {
    free(w->buf);
    free(w->msg);
    free(w->len);
    memset(w, 0, sizeof *w);
}

/* Compiles cfg into fresh memory sized by the engine's own size query. */
static p2m_status compile(p2m_side *s, const p2m_config *cfg) {
    p2m_status st;
    free(s->emem);
    s->emem = 0;
    st = p2m_engine_compile(cfg, NULL, 0, &s->eng, &s->err);
    if (st != P2M_ERR_MEMORY) return st;
    s->emem = (unsigned char *)malloc(s->err.needed);
    if (!s->emem) return P2M_ERR_MEMORY;
    return p2m_engine_compile(cfg, s->emem, s->err.needed, &s->eng, &s->err);
}

int p2m_side_init(p2m_side *s, int scen, const bench_wl *w) {
    p2m_config cfg;
    p2m_status st;
    size_t i;
    memset(s, 0, sizeof *s);
    s->scen = scen;
    s->supported = 1;
    if (!bench_scenario_applies(scen, w)) {
        s->supported = 0;
        snprintf(s->note, sizeof s->note, "not for this workload");
        return -1;
    }
    p2m_config_init(&cfg);
    if (scen == SC_FUNC) {
        cfg.function.enabled = 1;
        cfg.function_mode = P2M_FUNCTION_INCLUSIVE;
    }
    if (scen == SC_FRAME) {
        cfg.attributes = frame_rules;
        cfg.n_attributes = sizeof frame_rules / sizeof frame_rules[0];
        snprintf(s->note, sizeof s->note, "rules: defaults + frame type, kind");
    }
    if (scen == SC_E2E) {
        /* The process filter needs the regex engine; until the header
           accepts it, run without and say so (switches by itself). */
        cfg.process_filter.enabled = 1;
        cfg.process_filter.pattern = BENCH_FILTER;
        st = compile(s, &cfg);
        if (st == P2M_OK) {
            s->filter_on = 1;
            snprintf(s->note, sizeof s->note, "filter: on (%s)", BENCH_FILTER);
        } else if (st == P2M_ERR_UNSUPPORTED) {
            cfg.process_filter.enabled = 0;
            cfg.process_filter.pattern = NULL;
            snprintf(s->note, sizeof s->note, "filter: off (not yet supported)");
            st = compile(s, &cfg);
        }
    } else {
        st = compile(s, &cfg);
    }
    if (st == P2M_ERR_UNSUPPORTED) {
        s->supported = 0;
        snprintf(s->note, sizeof s->note, "not yet supported (%s)", s->err.message);
        return -1;
    }
    if (st != P2M_OK) return -1;
    for (i = 0; i < w->n; i++) {
        size_t need;
        p2m_status rc = w->pprof ? p2m_pprof_work_size(s->eng, w->msg[i], w->len[i], &need, &s->err)
                                 : p2m_work_size(s->eng, w->msg[i], w->len[i], &need, &s->err);
        if (rc != P2M_OK) return -1;
        if (need > s->work_cap) {
            free(s->work);
            s->work = malloc(need);
            if (!s->work) return -1;
            s->work_cap = need;
        }
    }
    /* The output size: one aggregation per request, outside any timing. */
    for (i = 0; i < w->n; i++) {
        const p2m_result *r;
        size_t need = 0;
        p2m_status rc;
        rc = w->pprof ? p2m_pprof_aggregate(s->eng, w->msg[i], w->len[i], NULL, s->work,
                                            s->work_cap, &r, NULL, &s->err)
                      : p2m_aggregate(s->eng, w->msg[i], w->len[i], NULL, s->work, s->work_cap,
                                      &r, NULL, &s->err);
        if (rc != P2M_OK) return -1;
        rc = p2m_encode_otlp(r, NULL, 0, &need, &s->err);
        if (rc == P2M_ERR_OUTPUT_TOO_SMALL) need = s->err.needed;
        else if (rc != P2M_OK) return -1;
        if (need > s->out_cap) s->out_cap = need;
    }
    s->out = malloc(s->out_cap ? s->out_cap : 1);
    return s->out ? 0 : -1;
}

int p2m_side_run(p2m_side *s, const bench_wl *w) {
    size_t i;
    s->samples = s->kept = s->series = 0;
    s->work_used = s->out_bytes = 0;
    for (i = 0; i < w->n; i++) {
        p2m_stats st;
        p2m_status rc;
        if (s->scen == SC_PARSE || s->scen == SC_FRAME) {
            const p2m_result *r;
            rc = p2m_aggregate(s->eng, w->msg[i], w->len[i], NULL, s->work, s->work_cap, &r, &st,
                               &s->err);
        } else if (s->scen == SC_PPROF) {
            size_t n = 0;
            rc = p2m_pprof_convert(s->eng, w->msg[i], w->len[i], NULL, s->work, s->work_cap,
                                   s->out, s->out_cap, &n, &st, &s->err);
            s->out_bytes += n;
        } else {
            size_t n;
            rc = p2m_convert(s->eng, w->msg[i], w->len[i], NULL, s->work, s->work_cap, s->out,
                             s->out_cap, &n, &st, &s->err);
            s->out_bytes += n;
        }
        if (rc != P2M_OK) return -1;
        s->samples += st.samples;
        s->kept += st.samples_kept;
        s->series += st.series;
        if (st.work_used > s->work_used) s->work_used = st.work_used;
    }
    return 0;
}

int p2m_side_totals(p2m_side *s, const bench_wl *w, uint64_t *cpu_ns, uint64_t *mem_bytes,
                    uint64_t *cpu_points, uint64_t *mem_points) {
    size_t i, res, m, p;
    *cpu_ns = *mem_bytes = *cpu_points = *mem_points = 0;
    for (i = 0; i < w->n; i++) {
        const p2m_result *r;
        p2m_status rc = w->pprof ? p2m_pprof_aggregate(s->eng, w->msg[i], w->len[i], NULL,
                                                       s->work, s->work_cap, &r, NULL, &s->err)
                                 : p2m_aggregate(s->eng, w->msg[i], w->len[i], NULL, s->work,
                                                 s->work_cap, &r, NULL, &s->err);
        if (rc != P2M_OK) return -1;
        for (res = 0; res < p2m_result_resource_count(r); res++) {
            for (m = 0; m < p2m_result_metric_count(r, res); m++) {
                p2m_metric_info mi;
                p2m_result_metric(r, res, m, &mi);
                for (p = 0; p < mi.n_points; p++) {
                    p2m_point pt;
                    p2m_result_point(r, res, m, p, &pt);
                    if (mi.kind == P2M_METRIC_CPU) {
                        *cpu_ns += (uint64_t)pt.as_int;
                        (*cpu_points)++;
                    } else if (mi.kind == P2M_METRIC_MEMORY) {
                        *mem_bytes += (uint64_t)pt.as_int;
                        (*mem_points)++;
                    }
                }
            }
        }
    }
    return 0;
}

void p2m_side_free(p2m_side *s) {
    free(s->emem);
    free(s->work);
    free(s->out);
    memset(s, 0, sizeof *s);
}
