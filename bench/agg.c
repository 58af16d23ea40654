/* SPDX-License-Identifier: MIT
   The simple aggregation every peer feeds in scenario 2 (see bench.h): what
   a careful user of a general protobuf decoder would write. Attribute-table
   entries are judged once (slot, value hash, filter verdict); samples then
   do integer work plus one hash-table probe. Deliberately leaves out what
   p2m also does (times, overflow, duplicate-entry folding, the double
   counting rule): that only flatters the peers. */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT_NONE = 0, SLOT_PROC = 1, SLOT_THREAD = 2 };
enum { M_NONE = 0, M_CPU = 1, M_MEM = 2 };

typedef struct sv {
    const char *p;
    size_t n;
    uint64_t h;
    int verdict; /* filter: -1 not judged yet, 0 drop, 1 keep */
} sv;

typedef struct aent {
    int slot;
    sv v;
} aent;

typedef struct series {
    uint64_t h;
    uint32_t metric, res, used;
    const char *pp, *tp;
    size_t pn, tn;
    uint64_t sum;
} series;

struct bench_agg {
    int filter_on;
    regex_t re;
    sv *strs;
    size_t n_strs, cap_strs;
    aent *attrs;
    size_t n_attrs, cap_attrs;
    size_t *used;       /* occupied series slots, to clear them quickly */
    size_t n_used;
    series *tab;
    size_t tab_cap;     /* power of two */
    uint32_t res;       /* current resource index */
    sv res_proc, res_thread, prof_proc, prof_thread;
    int metric;
    int64_t mult;
    agg_totals t;
};

static uint64_t fnv(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static int streq(const char *p, size_t n, const char *lit) {
    size_t l = strlen(lit);
    return n == l && memcmp(p, lit, l) == 0;
}

static void *grow(void *p, size_t *cap, size_t need, size_t elem) {
    size_t c = *cap ? *cap : 64;
    if (need <= *cap) return p;
    while (c < need) c *= 2;
    p = realloc(p, c * elem);
    if (!p) abort();
    *cap = c;
    return p;
}

bench_agg *agg_new(const char *filter) {
    bench_agg *a = (bench_agg *)calloc(1, sizeof *a);
    if (!a) abort();
    if (filter) {
        if (regcomp(&a->re, filter, REG_EXTENDED | REG_NOSUB) != 0) abort();
        a->filter_on = 1;
    }
    a->tab_cap = 1024;
    a->tab = (series *)calloc(a->tab_cap, sizeof *a->tab);
    a->used = (size_t *)calloc(a->tab_cap, sizeof *a->used);
    if (!a->tab || !a->used) abort();
    return a;
}

void agg_free(bench_agg *a) {
    if (!a) return;
    if (a->filter_on) regfree(&a->re);
    free(a->strs);
    free(a->attrs);
    free(a->tab);
    free(a->used);
    free(a);
}

void agg_begin(bench_agg *a, size_t n_strings, size_t n_attrs) {
    size_t i;
    for (i = 0; i < a->n_used; i++) a->tab[a->used[i]].used = 0;
    a->n_used = 0;
    a->strs = (sv *)grow(a->strs, &a->cap_strs, n_strings, sizeof *a->strs);
    a->attrs = (aent *)grow(a->attrs, &a->cap_attrs, n_attrs, sizeof *a->attrs);
    a->n_strs = n_strings;
    a->n_attrs = n_attrs;
    memset(a->attrs, 0, n_attrs * sizeof *a->attrs);
    memset(&a->t, 0, sizeof a->t);
    a->res = 0;
    a->metric = M_NONE;
}

void agg_string(bench_agg *a, size_t idx, const char *s, size_t len) {
    if (idx < a->n_strs) {
        a->strs[idx].p = s;
        a->strs[idx].n = len;
    }
}

static void set_sv(sv *v, const char *p, size_t n) {
    v->p = p;
    v->n = n;
    v->h = fnv(p, n);
    v->verdict = -1;
}

static int slot_of(const char *k, size_t n) {
    if (streq(k, n, "process.executable.name")) return SLOT_PROC;
    if (streq(k, n, "thread.name")) return SLOT_THREAD;
    return SLOT_NONE;
}

void agg_attr(bench_agg *a, size_t idx, int32_t key_strindex, const char *val, size_t len) {
    aent *e;
    if (idx >= a->n_attrs || key_strindex < 0 || (size_t)key_strindex >= a->n_strs) return;
    e = &a->attrs[idx];
    e->slot = val ? slot_of(a->strs[key_strindex].p, a->strs[key_strindex].n) : SLOT_NONE;
    if (e->slot) set_sv(&e->v, val, len);
}

void agg_resource(bench_agg *a) {
    a->res++;
    memset(&a->res_proc, 0, sizeof a->res_proc);
    memset(&a->res_thread, 0, sizeof a->res_thread);
}

void agg_resource_attr(bench_agg *a, const char *key, size_t klen, const char *val, size_t vlen) {
    int s = slot_of(key, klen);
    if (s == SLOT_PROC) set_sv(&a->res_proc, val, vlen);
    else if (s == SLOT_THREAD) set_sv(&a->res_thread, val, vlen);
}

static int64_t time_unit(const sv *u) {
    if (streq(u->p, u->n, "nanoseconds") || streq(u->p, u->n, "ns")) return 1;
    if (streq(u->p, u->n, "microseconds") || streq(u->p, u->n, "us")) return 1000;
    if (streq(u->p, u->n, "milliseconds") || streq(u->p, u->n, "ms")) return 1000000;
    if (streq(u->p, u->n, "seconds") || streq(u->p, u->n, "s")) return 1000000000;
    return 0;
}

static const sv *str_at(const bench_agg *a, int32_t i) {
    static const sv empty = {"", 0, 0, 0};
    return (i >= 0 && (size_t)i < a->n_strs) ? &a->strs[i] : &empty;
}

int agg_profile(bench_agg *a, int32_t type, int32_t unit, int32_t ptype, int32_t punit,
                int64_t period) {
    const sv *t = str_at(a, type), *u = str_at(a, unit), *pt = str_at(a, ptype),
             *pu = str_at(a, punit);
    int64_t m;
    a->prof_proc = a->res_proc;
    a->prof_thread = a->res_thread;
    a->metric = M_NONE;
    if (streq(t->p, t->n, "cpu") && (m = time_unit(u)) != 0) {
        a->metric = M_CPU;
        a->mult = m;
    } else if (streq(t->p, t->n, "samples") && streq(u->p, u->n, "count") &&
               streq(pt->p, pt->n, "cpu") && period > 0 && (m = time_unit(pu)) != 0) {
        a->metric = M_CPU;
        a->mult = period * m;
    } else if (streq(u->p, u->n, "bytes") && t->n > 6 && memcmp(t->p, "alloc_", 6) == 0 &&
               ((t->n >= 6 && memcmp(t->p + t->n - 6, "_space", 6) == 0) ||
                (t->n >= 6 && memcmp(t->p + t->n - 6, "_bytes", 6) == 0))) {
        a->metric = M_MEM;
        a->mult = 1;
    }
    return a->metric != M_NONE;
}

void agg_profile_attr(bench_agg *a, int32_t i) {
    const aent *e;
    if (i < 0 || (size_t)i >= a->n_attrs) return;
    e = &a->attrs[i];
    if (e->slot == SLOT_PROC) a->prof_proc = e->v;
    else if (e->slot == SLOT_THREAD) a->prof_thread = e->v;
}

static int keep(bench_agg *a, sv *proc) {
    if (!a->filter_on) return 1;
    if (!proc || proc->n == 0) return 0;
    if (proc->verdict < 0) {
        /* regexec needs a NUL-terminated subject */
        char buf[512];
        size_t n = proc->n < sizeof buf - 1 ? proc->n : sizeof buf - 1;
        memcpy(buf, proc->p, n);
        buf[n] = 0;
        proc->verdict = regexec(&a->re, buf, 0, 0, 0) == 0;
    }
    return proc->verdict;
}

static void rehash(bench_agg *a) {
    size_t ncap = a->tab_cap * 2, i, j;
    series *nt = (series *)calloc(ncap, sizeof *nt);
    size_t *nu = (size_t *)calloc(ncap, sizeof *nu);
    if (!nt || !nu) abort();
    for (i = 0; i < a->n_used; i++) {
        const series *s = &a->tab[a->used[i]];
        for (j = (size_t)s->h & (ncap - 1); nt[j].used; j = (j + 1) & (ncap - 1)) {}
        nt[j] = *s;
        nu[i] = j;
    }
    free(a->tab);
    free(a->used);
    a->tab = nt;
    a->used = nu;
    a->tab_cap = ncap;
}

void agg_sample(bench_agg *a, const int32_t *attrs, size_t n_attrs, int64_t value, int empty) {
    sv *proc, *thread;
    uint64_t h;
    size_t i, j;
    const char *pp, *tp;
    size_t pn, tn;
    a->t.samples++;
    if (a->metric == M_NONE || empty) return;
    proc = &a->prof_proc;
    thread = &a->prof_thread;
    for (i = 0; i < n_attrs; i++) {
        aent *e;
        if (attrs[i] < 0 || (size_t)attrs[i] >= a->n_attrs) continue;
        e = &a->attrs[attrs[i]];
        if (e->slot == SLOT_PROC) proc = &e->v;
        else if (e->slot == SLOT_THREAD) thread = &e->v;
    }
    if (!keep(a, proc)) return;
    a->t.kept++;
    pp = proc->n ? proc->p : "";
    pn = proc->n;
    tp = thread->n ? thread->p : "";
    tn = thread->n;
    h = ((pn ? proc->h : 0) * 31u + (tn ? thread->h : 0)) * 31u + (uint64_t)a->metric * 7u + a->res;
    for (j = (size_t)h & (a->tab_cap - 1);; j = (j + 1) & (a->tab_cap - 1)) {
        series *s = &a->tab[j];
        if (!s->used) {
            s->used = 1;
            s->h = h;
            s->metric = (uint32_t)a->metric;
            s->res = a->res;
            s->pp = pp; s->pn = pn;
            s->tp = tp; s->tn = tn;
            s->sum = 0;
            a->used[a->n_used++] = j;
            if (a->metric == M_CPU) a->t.cpu_series++;
            else a->t.mem_series++;
            s->sum += (uint64_t)(value * a->mult);
            if (a->n_used * 2 > a->tab_cap) rehash(a);
            break;
        }
        if (s->h == h && s->metric == (uint32_t)a->metric && s->res == a->res && s->pn == pn &&
            s->tn == tn && memcmp(s->pp, pp, pn) == 0 && memcmp(s->tp, tp, tn) == 0) {
            s->sum += (uint64_t)(value * a->mult);
            break;
        }
    }
    if (a->metric == M_CPU) a->t.cpu_ns += (uint64_t)(value * a->mult);
    else a->t.mem_bytes += (uint64_t)(value * a->mult);
}

void agg_totals_get(const bench_agg *a, agg_totals *t) { *t = a->t; }
