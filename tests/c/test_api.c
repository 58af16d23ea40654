/* SPDX-License-Identifier: MIT
   Contract tests of the public C API of profile2metrics.h.

   Inputs are built by hand (requests.h) so every expected number is worked
   out from docs/spec.md, not taken from the library. Every output is decoded a
   second time with protobuf-c code generated from proto/metrics.proto and
   compared both with the expectations and with the result view API.

   Usage: test_api [REAL_CAPTURE [EXPECTED_SAMPLES EXPECTED_CPU_NS]] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile2metrics.h"
#include "metrics.pb-c.h"
#include "requests.h"
#include "testkit.h"

typedef P2m__Metrics__ExportMetricsServiceRequest DReq;
typedef P2m__Metrics__ResourceMetrics DRes;
typedef P2m__Metrics__Metric DMetric;
typedef P2m__Metrics__NumberDataPoint DPoint;
typedef P2m__Metrics__KeyValue DKV;
typedef P2m__Metrics__AnyValue DAny;

static uint64_t engine_mem[1 << 17]; /* 1 MiB, 8-byte aligned */
static uint64_t work_mem[1 << 19];   /* 4 MiB */
static unsigned char out_buf[1 << 20];

#define PATTERN 0xA5

/* ---- helpers ------------------------------------------------------------ */

static int str_eq(p2m_str s, const char *z)
{
    size_t n = strlen(z);
    return s.len == n && (n == 0 || (s.ptr && memcmp(s.ptr, z, n) == 0));
}

static const char *str_show(p2m_str s)
{
    static char buf[4][160];
    static int k;
    char *b = buf[k++ & 3];
    size_t n = s.len < 150 ? s.len : 150;
    if (!s.ptr && s.len) {
        snprintf(b, 160, "(NULL ptr, len %zu)", s.len);
        return b;
    }
    if (n)
        memcpy(b, s.ptr, n);
    b[n] = 0;
    return b;
}

static int all_pattern(const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != PATTERN)
            return 0;
    return 1;
}

static const p2m_engine *compile_cfg(const p2m_config *cfg, p2m_error *err)
{
    const p2m_engine *eng = NULL;
    p2m_status st = p2m_engine_compile(cfg, engine_mem, sizeof engine_mem, &eng, err);
    if (st != P2M_OK) {
        printf("# engine compile failed: %s (%d) field=%s message=%s\n",
               p2m_status_string(st), (int)st, err->field, err->message);
        return NULL;
    }
    return eng;
}

/* Converts with generous buffers; returns status, *n = output size. */
static p2m_status convert(const p2m_engine *eng, const pbw *req, size_t *n,
                          p2m_stats *stats, p2m_error *err)
{
    memset(out_buf, PATTERN, sizeof out_buf);
    return p2m_convert(eng, req->b, req->n, NULL, work_mem, sizeof work_mem,
                       out_buf, sizeof out_buf, n, stats, err);
}

static const DKV *find_attr(DKV *const *kv, size_t n, const char *key)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (kv[i]->key && strcmp(kv[i]->key, key) == 0)
            return kv[i];
    return NULL;
}

/* ---- the result view against the independently decoded output ---------- */

static int cmp_value(const p2m_value *v, const DAny *a, char *why, size_t whylen)
{
    if (!a) {
        snprintf(why, whylen, "decoded value missing");
        return 0;
    }
    switch (a->value_case) {
    case P2M__METRICS__ANY_VALUE__VALUE_STRING_VALUE:
        if (v->type != P2M_VALUE_STRING || !str_eq(v->str, a->string_value)) {
            snprintf(why, whylen, "view type %d \"%s\" vs decoded string \"%s\"",
                     (int)v->type, str_show(v->str), a->string_value);
            return 0;
        }
        return 1;
    case P2M__METRICS__ANY_VALUE__VALUE_INT_VALUE:
        if (v->type != P2M_VALUE_INT || v->i != a->int_value) {
            snprintf(why, whylen, "view type %d i=%lld vs decoded int %lld", (int)v->type,
                     (long long)v->i, (long long)a->int_value);
            return 0;
        }
        return 1;
    case P2M__METRICS__ANY_VALUE__VALUE_BOOL_VALUE:
        if (v->type != P2M_VALUE_BOOL || v->i != (a->bool_value ? 1 : 0)) {
            snprintf(why, whylen, "view type %d i=%lld vs decoded bool %d", (int)v->type,
                     (long long)v->i, (int)a->bool_value);
            return 0;
        }
        return 1;
    case P2M__METRICS__ANY_VALUE__VALUE_DOUBLE_VALUE:
        if (v->type != P2M_VALUE_DOUBLE || v->d != a->double_value) {
            snprintf(why, whylen, "view type %d d=%g vs decoded double %g", (int)v->type,
                     v->d, a->double_value);
            return 0;
        }
        return 1;
    case P2M__METRICS__ANY_VALUE__VALUE_BYTES_VALUE:
        if (v->type != P2M_VALUE_BYTES || v->str.len != a->bytes_value.len ||
            (v->str.len && memcmp(v->str.ptr, a->bytes_value.data, v->str.len))) {
            snprintf(why, whylen, "view type %d vs decoded bytes", (int)v->type);
            return 0;
        }
        return 1;
    case P2M__METRICS__ANY_VALUE__VALUE_ARRAY_VALUE:
        if (v->type != P2M_VALUE_ARRAY) {
            snprintf(why, whylen, "view type %d vs decoded array", (int)v->type);
            return 0;
        }
        return 1;
    case P2M__METRICS__ANY_VALUE__VALUE_KVLIST_VALUE:
        if (v->type != P2M_VALUE_KVLIST) {
            snprintf(why, whylen, "view type %d vs decoded kvlist", (int)v->type);
            return 0;
        }
        return 1;
    default:
        if (v->type != P2M_VALUE_NONE) {
            snprintf(why, whylen, "view type %d vs decoded empty AnyValue", (int)v->type);
            return 0;
        }
        return 1;
    }
}

static int cmp_attrs(const p2m_attribute *va, size_t vn, DKV *const *da, size_t dn,
                     const char *where, char *why, size_t whylen)
{
    size_t i;
    char sub[256];
    if (vn != dn) {
        snprintf(why, whylen, "%s: view has %zu attributes, decoded %zu", where, vn, dn);
        return 0;
    }
    for (i = 0; i < vn; i++) {
        if (!str_eq(va[i].key, da[i]->key)) {
            snprintf(why, whylen, "%s: attribute %zu key view \"%s\" decoded \"%s\"", where, i,
                     str_show(va[i].key), da[i]->key);
            return 0;
        }
        if (!cmp_value(&va[i].value, da[i]->value, sub, sizeof sub)) {
            snprintf(why, whylen, "%s: attribute %s: %s", where, da[i]->key, sub);
            return 0;
        }
    }
    return 1;
}

/* Walks the whole result view and the decoded request side by side. */
static int view_matches_decoded(const p2m_result *r, const DReq *d, char *why, size_t whylen)
{
    size_t nres = p2m_result_resource_count(r), ri;
    p2m_attribute attrs[64];
    char where[128];
    if (nres != d->n_resource_metrics) {
        snprintf(why, whylen, "resource count: view %zu decoded %zu", nres,
                 d->n_resource_metrics);
        return 0;
    }
    for (ri = 0; ri < nres; ri++) {
        const DRes *dr = d->resource_metrics[ri];
        const P2m__Metrics__ScopeMetrics *sm;
        size_t na, nm, mi;
        p2m_str url = p2m_result_schema_url(r, ri);
        snprintf(where, sizeof where, "resource %zu", ri);
        if (!str_eq(url, dr->schema_url)) {
            snprintf(why, whylen, "%s schema_url view \"%s\" decoded \"%s\"", where,
                     str_show(url), dr->schema_url);
            return 0;
        }
        na = p2m_result_resource_attributes(r, ri, attrs, 64);
        if (na > 64) {
            snprintf(why, whylen, "%s: more than 64 attributes", where);
            return 0;
        }
        if (!cmp_attrs(attrs, na, dr->resource ? dr->resource->attributes : NULL,
                       dr->resource ? dr->resource->n_attributes : 0, where, why, whylen))
            return 0;
        if (dr->n_scope_metrics != 1) {
            snprintf(why, whylen, "%s: %zu ScopeMetrics, docs/spec.md section 7 says one", where,
                     dr->n_scope_metrics);
            return 0;
        }
        sm = dr->scope_metrics[0];
        nm = p2m_result_metric_count(r, ri);
        if (nm != sm->n_metrics) {
            snprintf(why, whylen, "%s: metric count view %zu decoded %zu", where, nm,
                     sm->n_metrics);
            return 0;
        }
        for (mi = 0; mi < nm; mi++) {
            const DMetric *dm = sm->metrics[mi];
            p2m_metric_info info;
            size_t pi, ndp;
            DPoint **dps;
            memset(&info, 0, sizeof info);
            p2m_result_metric(r, ri, mi, &info);
            snprintf(where, sizeof where, "resource %zu metric %zu", ri, mi);
            if (!str_eq(info.name, dm->name) || !str_eq(info.unit, dm->unit) ||
                !str_eq(info.description, dm->description)) {
                snprintf(why, whylen, "%s: view %s/%s/%s decoded %s/%s/%s", where,
                         str_show(info.name), str_show(info.unit), str_show(info.description),
                         dm->name, dm->unit, dm->description);
                return 0;
            }
            if (info.is_gauge) {
                if (dm->data_case != P2M__METRICS__METRIC__DATA_GAUGE || !dm->gauge) {
                    snprintf(why, whylen, "%s: view says Gauge, decoded metric is not one", where);
                    return 0;
                }
                dps = dm->gauge->data_points;
                ndp = dm->gauge->n_data_points;
            } else {
                if (dm->data_case != P2M__METRICS__METRIC__DATA_SUM || !dm->sum) {
                    snprintf(why, whylen, "%s: decoded metric is not a Sum", where);
                    return 0;
                }
                if ((int)info.temporality != (int)dm->sum->aggregation_temporality) {
                    snprintf(why, whylen, "%s: temporality view %d decoded %d", where,
                             (int)info.temporality, (int)dm->sum->aggregation_temporality);
                    return 0;
                }
                dps = dm->sum->data_points;
                ndp = dm->sum->n_data_points;
            }
            if (info.n_points != ndp) {
                snprintf(why, whylen, "%s: points view %zu decoded %zu", where, info.n_points, ndp);
                return 0;
            }
            for (pi = 0; pi < info.n_points; pi++) {
                const DPoint *dp = dps[pi];
                p2m_point pt;
                size_t pa;
                memset(&pt, 0, sizeof pt);
                p2m_result_point(r, ri, mi, pi, &pt);
                snprintf(where, sizeof where, "resource %zu metric %zu point %zu", ri, mi, pi);
                if (pt.start_time_unix_nano != dp->start_time_unix_nano ||
                    pt.time_unix_nano != dp->time_unix_nano) {
                    snprintf(why, whylen, "%s: times view %llu..%llu decoded %llu..%llu", where,
                             (unsigned long long)pt.start_time_unix_nano,
                             (unsigned long long)pt.time_unix_nano,
                             (unsigned long long)dp->start_time_unix_nano,
                             (unsigned long long)dp->time_unix_nano);
                    return 0;
                }
                if (pt.is_double != info.is_double) {
                    snprintf(why, whylen, "%s: point is_double %d, metric is_double %d", where,
                             pt.is_double, info.is_double);
                    return 0;
                }
                if (pt.is_double) {
                    if (dp->value_case != P2M__METRICS__NUMBER_DATA_POINT__VALUE_AS_DOUBLE ||
                        dp->as_double != pt.as_double) {
                        snprintf(why, whylen, "%s: view as_double %.17g, decoded case %d %.17g",
                                 where, pt.as_double, (int)dp->value_case, dp->as_double);
                        return 0;
                    }
                } else {
                    if (dp->value_case != P2M__METRICS__NUMBER_DATA_POINT__VALUE_AS_INT ||
                        dp->as_int != pt.as_int) {
                        snprintf(why, whylen, "%s: view as_int %lld, decoded case %d %lld", where,
                                 (long long)pt.as_int, (int)dp->value_case,
                                 (long long)dp->as_int);
                        return 0;
                    }
                }
                pa = p2m_result_point_attributes(r, ri, mi, pi, attrs, 64);
                if (pa != pt.n_attributes) {
                    snprintf(why, whylen, "%s: point_attributes returns %zu, n_attributes %zu",
                             where, pa, pt.n_attributes);
                    return 0;
                }
                if (pa > 64 || !cmp_attrs(attrs, pa, dp->attributes, dp->n_attributes, where,
                                          why, whylen))
                    return 0;
                {
                    const DKV *ov = find_attr(dp->attributes, dp->n_attributes,
                                              "otel.metric.overflow");
                    int dec_over = ov && ov->value &&
                                   ov->value->value_case ==
                                       P2M__METRICS__ANY_VALUE__VALUE_BOOL_VALUE &&
                                   ov->value->bool_value && dp->n_attributes == 1;
                    if (dec_over != (pt.is_overflow != 0)) {
                        snprintf(why, whylen, "%s: is_overflow %d but decoded overflow %d", where,
                                 pt.is_overflow, dec_over);
                        return 0;
                    }
                }
            }
        }
    }
    return 1;
}

/* ---- expectations for the main request (requests.h) --------------------- */

typedef struct xattr { const char *key, *val; } xattr;
typedef struct xpoint {
    int64_t i;
    uint64_t start, time;
    size_t na;
    xattr a[2];
} xpoint;
typedef struct xmetric {
    const char *name, *unit;
    size_t np;
    xpoint p[3];
} xmetric;
typedef struct xres {
    const char *service, *schema;
    size_t nm;
    xmetric m[2];
} xres;

static const xres main_expect[2] = {
    {"svc", "https://example.com/schema/1", 2,
     {{"cpu_time", "ns", 2,
       {{30000157, 1000, 2100, 2, {{"process.executable.name", "app"}, {"thread.name", "worker"}}},
        {20000003, 1000, 2100, 2, {{"process.executable.name", "app"}, {"thread.name", "main"}}}}},
      {"memory_allocation", "By", 2,
       {{5120, 3000, 3010, 2, {{"process.executable.name", "app"}, {"thread.name", "worker"}}},
        {64, 3000, 3010, 1, {{"process.executable.name", "app"}, {NULL, NULL}}}}}}},
    {"other", "", 1,
     {{"cpu_time", "ns", 1,
       {{5, 5000, 5000, 2, {{"process.executable.name", "app"}, {"thread.name", "worker"}}}}}}}};

/* The decoded output against the hand-computed expectation. cpu_scale:
   0 = as_int ns; otherwise the cpu metric is a double in ns / cpu_scale. */
static int decoded_matches(const DReq *d, const xres *x, size_t nx, double cpu_scale,
                           const char *cpu_unit, char *why, size_t whylen)
{
    size_t ri, mi, pi, ai;
    if (d->n_resource_metrics != nx) {
        snprintf(why, whylen, "ResourceMetrics: %zu, expected %zu", d->n_resource_metrics, nx);
        return 0;
    }
    for (ri = 0; ri < nx; ri++) {
        const DRes *dr = d->resource_metrics[ri];
        const DKV *svc;
        const P2m__Metrics__ScopeMetrics *sm;
        svc = dr->resource ? find_attr(dr->resource->attributes, dr->resource->n_attributes,
                                       "service.name")
                           : NULL;
        if (!svc || !svc->value ||
            svc->value->value_case != P2M__METRICS__ANY_VALUE__VALUE_STRING_VALUE ||
            strcmp(svc->value->string_value, x[ri].service) != 0) {
            snprintf(why, whylen, "resource %zu: service.name not the string \"%s\"", ri,
                     x[ri].service);
            return 0;
        }
        if (strcmp(dr->schema_url, x[ri].schema) != 0) {
            snprintf(why, whylen, "resource %zu: schema_url \"%s\", expected \"%s\"", ri,
                     dr->schema_url, x[ri].schema);
            return 0;
        }
        if (dr->n_scope_metrics != 1) {
            snprintf(why, whylen, "resource %zu: %zu ScopeMetrics, expected 1", ri,
                     dr->n_scope_metrics);
            return 0;
        }
        sm = dr->scope_metrics[0];
        if (!sm->scope || strcmp(sm->scope->name, "profile2metrics") != 0 ||
            strcmp(sm->scope->version, P2M_VERSION_STRING) != 0) {
            snprintf(why, whylen, "resource %zu: scope %s/%s, expected profile2metrics/%s", ri,
                     sm->scope ? sm->scope->name : "(none)",
                     sm->scope ? sm->scope->version : "(none)", P2M_VERSION_STRING);
            return 0;
        }
        if (sm->n_metrics != x[ri].nm) {
            snprintf(why, whylen, "resource %zu: %zu metrics, expected %zu", ri, sm->n_metrics,
                     x[ri].nm);
            return 0;
        }
        for (mi = 0; mi < x[ri].nm; mi++) {
            const DMetric *dm = sm->metrics[mi];
            const xmetric *xm = &x[ri].m[mi];
            int is_cpu = strcmp(xm->name, "cpu_time") == 0;
            const char *unit = is_cpu && cpu_unit ? cpu_unit : xm->unit;
            if (strcmp(dm->name, xm->name) != 0 || strcmp(dm->unit, unit) != 0) {
                snprintf(why, whylen, "resource %zu metric %zu: %s/%s, expected %s/%s", ri, mi,
                         dm->name, dm->unit, xm->name, unit);
                return 0;
            }
            if (dm->description[0] == 0) {
                snprintf(why, whylen, "metric %s: empty description", dm->name);
                return 0;
            }
            if (dm->data_case != P2M__METRICS__METRIC__DATA_SUM || !dm->sum ||
                !dm->sum->is_monotonic ||
                dm->sum->aggregation_temporality !=
                    P2M__METRICS__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA) {
                snprintf(why, whylen, "metric %s: not a monotonic delta Sum", dm->name);
                return 0;
            }
            if (dm->sum->n_data_points != xm->np) {
                snprintf(why, whylen, "resource %zu metric %s: %zu points, expected %zu", ri,
                         dm->name, dm->sum->n_data_points, xm->np);
                return 0;
            }
            for (pi = 0; pi < xm->np; pi++) {
                const DPoint *dp = dm->sum->data_points[pi];
                const xpoint *xp = &xm->p[pi];
                if (is_cpu && cpu_scale != 0) {
                    double want = (double)xp->i / cpu_scale;
                    if (dp->value_case != P2M__METRICS__NUMBER_DATA_POINT__VALUE_AS_DOUBLE ||
                        fabs(dp->as_double - want) > 1e-12 * fabs(want) + 1e-15) {
                        snprintf(why, whylen,
                                 "resource %zu %s point %zu: as_double %.17g (case %d), "
                                 "expected %.17g",
                                 ri, dm->name, pi, dp->as_double, (int)dp->value_case, want);
                        return 0;
                    }
                } else if (dp->value_case != P2M__METRICS__NUMBER_DATA_POINT__VALUE_AS_INT ||
                           dp->as_int != xp->i) {
                    snprintf(why, whylen,
                             "resource %zu %s point %zu: as_int %lld (case %d), expected %lld",
                             ri, dm->name, pi, (long long)dp->as_int, (int)dp->value_case,
                             (long long)xp->i);
                    return 0;
                }
                if (dp->start_time_unix_nano != xp->start || dp->time_unix_nano != xp->time) {
                    snprintf(why, whylen,
                             "resource %zu %s point %zu: times %llu..%llu, expected %llu..%llu",
                             ri, dm->name, pi, (unsigned long long)dp->start_time_unix_nano,
                             (unsigned long long)dp->time_unix_nano,
                             (unsigned long long)xp->start, (unsigned long long)xp->time);
                    return 0;
                }
                if (dp->n_attributes != xp->na) {
                    snprintf(why, whylen, "resource %zu %s point %zu: %zu attributes, expected %zu",
                             ri, dm->name, pi, dp->n_attributes, xp->na);
                    return 0;
                }
                for (ai = 0; ai < xp->na; ai++) {
                    const DKV *kv = dp->attributes[ai];
                    if (strcmp(kv->key, xp->a[ai].key) != 0 || !kv->value ||
                        kv->value->value_case != P2M__METRICS__ANY_VALUE__VALUE_STRING_VALUE ||
                        strcmp(kv->value->string_value, xp->a[ai].val) != 0) {
                        snprintf(why, whylen,
                                 "resource %zu %s point %zu attribute %zu: %s, expected %s=\"%s\"",
                                 ri, dm->name, pi, ai, kv->key, xp->a[ai].key, xp->a[ai].val);
                        return 0;
                    }
                }
            }
        }
    }
    return 1;
}

/* ---- checks ------------------------------------------------------------- */

static void check_version(void)
{
    char want[32];
    tk_begin("c.api.version");
    snprintf(want, sizeof want, "%d.%d.%d", P2M_VERSION_MAJOR, P2M_VERSION_MINOR,
             P2M_VERSION_PATCH);
    EXPECT(p2m_version() != NULL, "p2m_version() is NULL");
    if (p2m_version())
        EXPECT(strcmp(p2m_version(), P2M_VERSION_STRING) == 0, "p2m_version() \"%s\" != \"%s\"",
               p2m_version(), P2M_VERSION_STRING);
    EXPECT(strcmp(want, P2M_VERSION_STRING) == 0, "P2M_VERSION_STRING %s != MAJOR.MINOR.PATCH %s",
           P2M_VERSION_STRING, want);
    tk_end();
}

static void check_status_strings(void)
{
    static const p2m_status all[] = {P2M_OK, P2M_ERR_MALFORMED, P2M_ERR_INVALID_REFERENCE,
                                     P2M_ERR_CONFIG, P2M_ERR_MEMORY, P2M_ERR_OUTPUT_TOO_SMALL,
                                     P2M_ERR_ARGUMENT, P2M_ERR_UNSUPPORTED};
    size_t i, j;
    tk_begin("c.api.status_string");
    for (i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *s = p2m_status_string(all[i]);
        EXPECT(s != NULL && s[0] != 0, "status %d: NULL or empty string", (int)all[i]);
        for (j = 0; j < i && s; j++) {
            const char *t = p2m_status_string(all[j]);
            EXPECT(!t || strcmp(s, t) != 0, "status %d and %d share the string \"%s\"",
                   (int)all[i], (int)all[j], s);
        }
    }
    {
        const char *s = p2m_status_string((p2m_status)99);
        EXPECT(s != NULL, "p2m_status_string(99) is NULL (callers print it unchecked)");
    }
    EXPECT(p2m_layout_name(P2M_LAYOUT_AUTO) &&
               strcmp(p2m_layout_name(P2M_LAYOUT_AUTO), "auto") == 0,
           "layout name auto");
    EXPECT(p2m_layout_name(P2M_LAYOUT_V1_8) &&
               strcmp(p2m_layout_name(P2M_LAYOUT_V1_8), "v1.8") == 0,
           "layout name v1.8");
    EXPECT(p2m_layout_name(P2M_LAYOUT_V1_9) &&
               strcmp(p2m_layout_name(P2M_LAYOUT_V1_9), "v1.9") == 0,
           "layout name v1.9");
    EXPECT(p2m_layout_name(P2M_LAYOUT_V1_10) &&
               strcmp(p2m_layout_name(P2M_LAYOUT_V1_10), "v1.10") == 0,
           "layout name v1.10");
    tk_end();
}

static int zeq(const char *a, const char *b) { return a && strcmp(a, b) == 0; }

static void check_config_defaults(void)
{
    p2m_config c;
    tk_begin("c.api.config_defaults");
    memset(&c, 0x5A, sizeof c);
    p2m_config_init(&c);
    EXPECT(c.cpu.enabled && zeq(c.cpu.name, "cpu_time") && zeq(c.cpu.unit, "ns"),
           "cpu defaults: enabled %d name %s unit %s", c.cpu.enabled,
           c.cpu.name ? c.cpu.name : "NULL", c.cpu.unit ? c.cpu.unit : "NULL");
    EXPECT(c.memory.enabled && zeq(c.memory.name, "memory_allocation") && zeq(c.memory.unit, "By"),
           "memory defaults: enabled %d name %s unit %s", c.memory.enabled,
           c.memory.name ? c.memory.name : "NULL", c.memory.unit ? c.memory.unit : "NULL");
    EXPECT(!c.function.enabled && zeq(c.function.name, "function_cpu_time"),
           "function defaults: enabled %d name %s", c.function.enabled,
           c.function.name ? c.function.name : "NULL");
    EXPECT(c.function.unit == NULL || zeq(c.function.unit, "ns"), "function unit %s",
           c.function.unit);
    EXPECT(c.function_mode == P2M_FUNCTION_SELF, "function_mode %d", (int)c.function_mode);
    EXPECT(zeq(c.function_attribute_key, "function.name"), "function_attribute_key");
    EXPECT(c.attributes == NULL && c.n_attributes == 0, "attributes not NULL/0 (default rules)");
    EXPECT(!c.process_filter.enabled && !c.thread_filter.enabled && !c.pattern_filter.enabled,
           "a filter is enabled by default");
    EXPECT(c.process_filter.pattern == NULL && c.process_filter.n_patterns == 0 &&
               c.pattern_filter.n_keys == 0,
           "filters not zeroed");
    EXPECT(zeq(c.process_key, "process.executable.name"), "process_key");
    EXPECT(zeq(c.thread_key, "thread.name"), "thread_key");
    EXPECT(c.type_rules == NULL && c.n_type_rules == 0, "type_rules");
    EXPECT(c.temporality == P2M_TEMPORALITY_DELTA, "temporality %d", (int)c.temporality);
    EXPECT(c.max_series == 2000, "max_series %u", (unsigned)c.max_series);
    EXPECT(c.layout == P2M_LAYOUT_AUTO, "layout %d", (int)c.layout);
    EXPECT(c.strict == 0, "strict %d", c.strict);
    tk_end();
}

static void check_engine_size_query(void)
{
    p2m_config c;
    p2m_error err;
    const p2m_engine *eng = NULL;
    p2m_status st;
    size_t need;
    tk_begin("c.api.engine_size_query");
    p2m_config_init(&c);
    memset(&err, 0, sizeof err);
    st = p2m_engine_compile(&c, NULL, 0, &eng, &err);
    need = err.needed;
    EXPECT(st == P2M_ERR_MEMORY, "compile(NULL,0) returned %d, expected P2M_ERR_MEMORY", (int)st);
    EXPECT(err.status == st, "err.status %d != returned %d", (int)err.status, (int)st);
    EXPECT(need > 0, "needed is 0");
    EXPECT(need <= sizeof engine_mem, "needed %zu is over 1 MiB", need);
    if (st == P2M_ERR_MEMORY && need > 1 && need <= sizeof engine_mem) {
        eng = NULL;
        st = p2m_engine_compile(&c, engine_mem, need - 1, &eng, &err);
        EXPECT(st == P2M_ERR_MEMORY, "compile with needed-1 (%zu) returned %d", need - 1, (int)st);
        EXPECT(st != P2M_ERR_MEMORY || err.needed == need,
               "compile with needed-1: err.needed %zu, first query said %zu", err.needed, need);
        st = p2m_engine_compile(&c, engine_mem, need, &eng, &err);
        EXPECT(st == P2M_OK, "compile with exactly needed (%zu) returned %d (%s)", need, (int)st,
               err.message);
        EXPECT(st != P2M_OK || eng != NULL, "OK but engine is NULL");
    }
    tk_end();
}

/* Compiles c and expects P2M_ERR_CONFIG; returns the field through err. */
static void expect_config_error(p2m_config *c, p2m_error *err, const char *what)
{
    const p2m_engine *eng = NULL;
    p2m_status st;
    memset(err, 0, sizeof *err);
    st = p2m_engine_compile(c, engine_mem, sizeof engine_mem, &eng, err);
    printf("# config error (%s): status %d field \"%.64s\" message \"%.128s\"\n", what, (int)st,
           err->field, err->message);
    EXPECT(st == P2M_ERR_CONFIG, "%s: status %d, expected P2M_ERR_CONFIG", what, (int)st);
    EXPECT(err->status == st, "%s: err.status %d != %d", what, (int)err->status, (int)st);
    EXPECT(err->message[0] != 0, "%s: empty message", what);
    EXPECT(memchr(err->field, 0, sizeof err->field) != NULL, "%s: field not NUL-terminated", what);
    EXPECT(memchr(err->message, 0, sizeof err->message) != NULL, "%s: message not terminated",
           what);
}

static void check_config_errors(void)
{
    p2m_config c;
    p2m_error err;
    p2m_rule rules[2];
    tk_begin("c.api.config_errors");

    p2m_config_init(&c);
    c.cpu.enabled = 0;
    c.memory.enabled = 0;
    expect_config_error(&c, &err, "cpu and memory disabled");
    EXPECT(strstr(err.field, "cpu") || strstr(err.field, "memory"),
           "cpu+memory disabled: field \"%s\" names neither cpu nor memory", err.field);

    p2m_config_init(&c);
    c.cpu.name = "";
    expect_config_error(&c, &err, "empty cpu name");
    EXPECT(strstr(err.field, "cpu") && strstr(err.field, "name"),
           "empty cpu name: field \"%s\" does not name cpu ... name", err.field);

    p2m_config_init(&c);
    c.memory.name = NULL;
    expect_config_error(&c, &err, "NULL memory name");
    EXPECT(strstr(err.field, "memory") && strstr(err.field, "name"),
           "NULL memory name: field \"%s\" does not name memory ... name", err.field);

    p2m_config_init(&c);
    c.cpu.unit = "hours";
    expect_config_error(&c, &err, "cpu unit hours");
    EXPECT(strstr(err.field, "cpu") && strstr(err.field, "unit"),
           "bad cpu unit: field \"%s\" does not name cpu ... unit", err.field);

    memset(rules, 0, sizeof rules);
    p2m_config_init(&c);
    rules[0].key = NULL;
    rules[0].type = P2M_RULE_LITERAL;
    rules[0].value = "x";
    c.attributes = rules;
    c.n_attributes = 1;
    expect_config_error(&c, &err, "rule key NULL");
    EXPECT(strcmp(err.field, "attributes[0].key") == 0,
           "rule key NULL: field \"%s\", expected \"attributes[0].key\"", err.field);

    memset(rules, 0, sizeof rules);
    p2m_config_init(&c);
    rules[0].key = "a";
    rules[0].type = P2M_RULE_LITERAL;
    rules[0].value = "x";
    rules[1].key = "b";
    rules[1].type = P2M_RULE_ATTRIBUTE;
    rules[1].from = NULL;
    c.attributes = rules;
    c.n_attributes = 2;
    expect_config_error(&c, &err, "attribute rule without from");
    EXPECT(strcmp(err.field, "attributes[1].from") == 0,
           "rule 1 from NULL: field \"%s\", expected \"attributes[1].from\"", err.field);

    p2m_config_init(&c);
    c.process_filter.enabled = 1;
    expect_config_error(&c, &err, "process filter without pattern");
    EXPECT(strncmp(err.field, "process_filter", 14) == 0,
           "process filter without pattern: field \"%s\" does not start with process_filter",
           err.field);

    /* frame rules, the stack filter, stack patterns */
    {
        static const char *const types[] = {"samples/count"};
        static const char *const keys[] = {"thread.name"};
        static const char *const froms[] = {NULL, "", "leaf", "Type"};
        p2m_extra_metric x;
        size_t i;
        for (i = 0; i < 4; i++) {
            memset(rules, 0, sizeof rules);
            p2m_config_init(&c);
            rules[0].key = "k";
            rules[0].type = P2M_RULE_FRAME;
            rules[0].from = froms[i];
            c.attributes = rules;
            c.n_attributes = 1;
            expect_config_error(&c, &err, "frame rule with a bad from");
            EXPECT(strcmp(err.field, "attributes[0].from") == 0 &&
                       strstr(err.message, "type, kind, library, function or syscall"),
                   "frame from %zu: field \"%s\" message \"%s\"", i, err.field, err.message);
        }
        p2m_config_init(&c);
        c.stack_filter.enabled = 1;
        expect_config_error(&c, &err, "stack filter without pattern");
        EXPECT(strcmp(err.field, "stack_filter.pattern") == 0, "field \"%s\"", err.field);
        c.stack_filter.pattern = "^runtime\\.";
        c.stack_filter.keys = keys;
        c.stack_filter.n_keys = 1;
        expect_config_error(&c, &err, "stack filter with keys");
        EXPECT(strcmp(err.field, "stack_filter.keys") == 0, "field \"%s\"", err.field);
        c.stack_filter.n_keys = 0;
        c.stack_filter.pattern = "a(";
        expect_config_error(&c, &err, "stack filter with a bad pattern");
        EXPECT(strcmp(err.field, "stack_filter.pattern") == 0 && strstr(err.message, "position"),
               "field \"%s\" message \"%s\"", err.field, err.message);
        memset(&x, 0, sizeof x);
        p2m_config_init(&c);
        x.name = "gc";
        x.sample_types = types;
        x.n_sample_types = 1;
        x.stack_pattern = "";
        c.extra = &x;
        c.n_extra = 1;
        expect_config_error(&c, &err, "empty stack pattern");
        EXPECT(strcmp(err.field, "metrics.extra[0].stack_pattern") == 0, "field \"%s\"",
               err.field);
        x.stack_pattern = "[a";
        expect_config_error(&c, &err, "bad stack pattern");
        EXPECT(strcmp(err.field, "metrics.extra[0].stack_pattern") == 0 &&
                   strstr(err.message, "position"),
               "field \"%s\" message \"%s\"", err.field, err.message);
    }
    tk_end();
}

/* Builds the main request (v1.10, dictionary last) and a default engine. */
static const p2m_engine *default_engine(p2m_error *err)
{
    p2m_config c;
    p2m_config_init(&c);
    return compile_cfg(&c, err);
}

static void check_work_size(void)
{
    static pbw req;
    p2m_error err;
    const p2m_engine *eng;
    size_t need = 0, n1 = 0, n2 = 0, n3 = 0, small;
    p2m_status st;
    unsigned char *work, *copy1 = NULL;
    p2m_stats stats;
    tk_begin("c.api.work_size");
    build_main_request(&req, P2M_LAYOUT_V1_10, 0);
    eng = default_engine(&err);
    if (!eng) {
        EXPECT(0, "default engine did not compile");
        tk_end();
        return;
    }
    st = p2m_work_size(eng, req.b, req.n, &need, &err);
    EXPECT(st == P2M_OK && need > 0, "p2m_work_size: status %d needed %zu", (int)st, need);
    if (st != P2M_OK || need == 0 || need > sizeof work_mem) {
        tk_end();
        return;
    }
    /* exactly the size, in a block of exactly that size (valgrind/ASan see overruns) */
    work = (unsigned char *)malloc(need);
    memset(out_buf, PATTERN, sizeof out_buf);
    memset(&stats, 0, sizeof stats);
    st = p2m_convert(eng, req.b, req.n, NULL, work, need, out_buf, sizeof out_buf, &n1, &stats,
                     &err);
    EXPECT(st == P2M_OK, "convert with exactly p2m_work_size (%zu): status %d needed %zu (%s)",
           need, (int)st, err.needed, err.message);
    EXPECT(st != P2M_OK || stats.work_used <= need, "stats.work_used %zu > work size %zu",
           stats.work_used, need);
    if (st == P2M_OK) {
        copy1 = (unsigned char *)malloc(n1);
        memcpy(copy1, out_buf, n1);
    }
    free(work);

    small = need / 8 < 64 ? 64 : need / 8;
    if (small >= need)
        small = need - 1;
    memset(out_buf, PATTERN, sizeof out_buf);
    memset(&err, 0, sizeof err);
    st = p2m_convert(eng, req.b, req.n, NULL, work_mem, small, out_buf, sizeof out_buf, &n2,
                     NULL, &err);
    EXPECT(st == P2M_ERR_MEMORY, "convert with %zu of %zu bytes work: status %d, expected MEMORY",
           small, need, (int)st);
    EXPECT(st != P2M_ERR_MEMORY || (err.needed > small && err.needed <= need),
           "MEMORY: err.needed %zu not in (%zu, %zu]", err.needed, small, need);
    EXPECT(all_pattern(out_buf, sizeof out_buf), "failed call wrote to the output buffer");
    if (st == P2M_ERR_MEMORY && err.needed > small && err.needed <= need) {
        size_t again = err.needed;
        work = (unsigned char *)malloc(again);
        st = p2m_convert(eng, req.b, req.n, NULL, work, again, out_buf, sizeof out_buf, &n3,
                         NULL, &err);
        EXPECT(st == P2M_OK, "convert with err.needed (%zu) bytes: status %d", again, (int)st);
        EXPECT(st != P2M_OK || !copy1 || (n3 == n1 && memcmp(out_buf, copy1, n1) == 0),
               "output with err.needed work differs from output with p2m_work_size work");
        free(work);
    }
    free(copy1);
    tk_end();
}

static void check_output_too_small(void)
{
    static pbw req;
    p2m_error err;
    const p2m_engine *eng;
    size_t n = 12345, need, got = 0;
    p2m_status st;
    unsigned char *out;
    tk_begin("c.api.output_too_small");
    build_main_request(&req, P2M_LAYOUT_V1_10, 0);
    eng = default_engine(&err);
    if (!eng) {
        EXPECT(0, "default engine did not compile");
        tk_end();
        return;
    }
    memset(&err, 0, sizeof err);
    st = p2m_convert(eng, req.b, req.n, NULL, work_mem, sizeof work_mem, NULL, 0, &n, NULL, &err);
    need = err.needed;
    EXPECT(st == P2M_ERR_OUTPUT_TOO_SMALL, "convert(output NULL, 0): status %d", (int)st);
    EXPECT(err.status == st, "err.status %d", (int)err.status);
    EXPECT(need > 0 && need < sizeof out_buf, "needed %zu", need);
    if (st == P2M_ERR_OUTPUT_TOO_SMALL && need > 1 && need < sizeof out_buf) {
        out = (unsigned char *)malloc(need);
        memset(out, PATTERN, need);
        memset(&err, 0, sizeof err);
        st = p2m_convert(eng, req.b, req.n, NULL, work_mem, sizeof work_mem, out, need - 1, &got,
                         NULL, &err);
        EXPECT(st == P2M_ERR_OUTPUT_TOO_SMALL && err.needed == need,
               "cap needed-1: status %d needed %zu (expected %d, %zu)", (int)st, err.needed,
               (int)P2M_ERR_OUTPUT_TOO_SMALL, need);
        EXPECT(all_pattern(out, need), "cap needed-1: failed call wrote into the output");
        st = p2m_convert(eng, req.b, req.n, NULL, work_mem, sizeof work_mem, out, need, &got,
                         NULL, &err);
        EXPECT(st == P2M_OK && got == need, "cap == needed %zu: status %d, wrote %zu", need,
               (int)st, got);
        free(out);
    }
    /* p2m_encode_otlp has the same size query */
    {
        const p2m_result *r = NULL;
        st = p2m_aggregate(eng, req.b, req.n, NULL, work_mem, sizeof work_mem, &r, NULL, &err);
        EXPECT(st == P2M_OK && r, "aggregate: status %d", (int)st);
        if (st == P2M_OK && r) {
            st = p2m_encode_otlp(r, NULL, 0, &got, &err);
            EXPECT(st == P2M_ERR_OUTPUT_TOO_SMALL && err.needed == need,
                   "encode_otlp(NULL,0): status %d needed %zu, convert said %zu", (int)st,
                   err.needed, need);
            if (need > 1 && need < sizeof out_buf) {
                memset(out_buf, PATTERN, sizeof out_buf);
                st = p2m_encode_otlp(r, out_buf, need - 1, &got, &err);
                EXPECT(st == P2M_ERR_OUTPUT_TOO_SMALL && err.needed == need,
                       "encode_otlp cap needed-1: status %d needed %zu", (int)st, err.needed);
                EXPECT(all_pattern(out_buf, sizeof out_buf),
                       "encode_otlp cap needed-1: failed call wrote into the output");
                st = p2m_encode_otlp(r, out_buf, need, &got, &err);
                EXPECT(st == P2M_OK && got == need, "encode_otlp cap needed: status %d wrote %zu",
                       (int)st, got);
            }
        }
    }
    tk_end();
}

/* One full conversion of the main request: decoded output vs expectation,
   view vs decoded, and the statistics. */
static void check_main(const char *name, int layout, int dict_first, p2m_layout cfg_layout)
{
    static pbw req;
    p2m_config c;
    p2m_error err;
    const p2m_engine *eng;
    const p2m_result *r = NULL;
    p2m_stats stats;
    size_t n = 0, n2 = 0;
    p2m_status st;
    DReq *d;
    char why[512];
    char cname[96];
    unsigned char *conv_copy;

    build_main_request(&req, layout, dict_first);
    p2m_config_init(&c);
    c.layout = cfg_layout;
    eng = compile_cfg(&c, &err);

    snprintf(cname, sizeof cname, "c.api.%s.output", name);
    tk_begin(cname);
    if (!eng) {
        EXPECT(0, "engine did not compile");
        tk_end();
        printf("FAIL c.api.%s.view: not checked, no engine\n", name);
        printf("FAIL c.api.%s.stats: not checked, no engine\n", name);
        tk_failed_checks += 2;
        return;
    }
    memset(&stats, 0, sizeof stats);
    st = convert(eng, &req, &n, &stats, &err);
    EXPECT(st == P2M_OK, "convert: status %d at offset %zu: %s", (int)st, err.offset, err.message);
    if (st != P2M_OK) {
        printf("# input: %s\n", pbw_hex(req.b, req.n, 1024));
        tk_end();
        printf("FAIL c.api.%s.view: not checked, convert failed\n", name);
        printf("FAIL c.api.%s.stats: not checked, convert failed\n", name);
        tk_failed_checks += 2;
        return;
    }
    d = p2m__metrics__export_metrics_service_request__unpack(NULL, n, out_buf);
    EXPECT(d != NULL, "protobuf-c cannot decode the output (%zu bytes)", n);
    if (d && !decoded_matches(d, main_expect, 2, 0, NULL, why, sizeof why))
        EXPECT(0, "%s", why);
    if (d && d->n_resource_metrics >= 1 && d->resource_metrics[0]->resource) {
        const DKV *ri = find_attr(d->resource_metrics[0]->resource->attributes,
                                  d->resource_metrics[0]->resource->n_attributes, "res.int");
        EXPECT(ri && ri->value &&
                   ri->value->value_case == P2M__METRICS__ANY_VALUE__VALUE_INT_VALUE &&
                   ri->value->int_value == 42,
               "resource attribute res.int is not int 42");
        EXPECT(d->resource_metrics[0]->resource->n_attributes == 2,
               "resource 0 has %zu attributes, expected 2",
               d->resource_metrics[0]->resource->n_attributes);
    }
    tk_end();

    snprintf(cname, sizeof cname, "c.api.%s.view", name);
    tk_begin(cname);
    conv_copy = (unsigned char *)malloc(n);
    memcpy(conv_copy, out_buf, n);
    st = p2m_aggregate(eng, req.b, req.n, NULL, work_mem, sizeof work_mem, &r, NULL, &err);
    EXPECT(st == P2M_OK && r != NULL, "aggregate: status %d", (int)st);
    if (st == P2M_OK && r) {
        if (d && !view_matches_decoded(r, d, why, sizeof why))
            EXPECT(0, "%s", why);
        memset(out_buf, PATTERN, sizeof out_buf);
        st = p2m_encode_otlp(r, out_buf, sizeof out_buf, &n2, &err);
        EXPECT(st == P2M_OK, "encode_otlp: status %d", (int)st);
        EXPECT(st != P2M_OK || (n2 == n && memcmp(out_buf, conv_copy, n) == 0),
               "aggregate+encode_otlp output (%zu bytes) differs from p2m_convert (%zu)", n2, n);
        /* out-of-range indices give empty values */
        {
            p2m_metric_info mi;
            p2m_point pt;
            p2m_attribute a[2];
            memset(&mi, 0x5A, sizeof mi);
            memset(&pt, 0x5A, sizeof pt);
            p2m_result_metric(r, 7, 0, &mi);
            p2m_result_point(r, 0, 0, 99, &pt);
            EXPECT(p2m_result_metric_count(r, 7) == 0, "metric_count(resource 7) not 0");
            EXPECT(mi.name.len == 0 && mi.n_points == 0, "metric(resource 7) not empty");
            EXPECT(pt.n_attributes == 0 && pt.as_int == 0, "point(99) not empty");
            EXPECT(p2m_result_point_attributes(r, 0, 9, 0, a, 2) == 0, "attributes(metric 9)");
            EXPECT(p2m_result_resource_attributes(r, 5, a, 2) == 0, "resource_attributes(5)");
            EXPECT(p2m_result_schema_url(r, 5).len == 0, "schema_url(5) not empty");
        }
    }
    free(conv_copy);
    tk_end();

    snprintf(cname, sizeof cname, "c.api.%s.stats", name);
    tk_begin(cname);
    EXPECT(stats.layout == (p2m_layout)layout, "stats.layout %d, expected %d", (int)stats.layout,
           layout);
    EXPECT(stats.bytes_in == req.n, "bytes_in %zu, expected %zu", stats.bytes_in, req.n);
    EXPECT(stats.bytes_out == n, "bytes_out %zu, expected %zu", stats.bytes_out, n);
    EXPECT(stats.profiles == 5, "profiles %llu, expected 5", (unsigned long long)stats.profiles);
    EXPECT(stats.profiles_unclassified == 1, "profiles_unclassified %llu, expected 1",
           (unsigned long long)stats.profiles_unclassified);
    EXPECT(stats.samples == 12, "samples %llu, expected 12", (unsigned long long)stats.samples);
    EXPECT(stats.empty_samples == 1, "empty_samples %llu, expected 1",
           (unsigned long long)stats.empty_samples);
    EXPECT(stats.invalid_references == 1, "invalid_references %llu, expected 1",
           (unsigned long long)stats.invalid_references);
    EXPECT(stats.series == 5, "series %llu, expected 5", (unsigned long long)stats.series);
    EXPECT(stats.overflow_samples == 0, "overflow_samples %llu",
           (unsigned long long)stats.overflow_samples);
    EXPECT(stats.dropped_process == 0 && stats.dropped_thread == 0 && stats.dropped_pattern == 0,
           "samples dropped by filters that are off");
    tk_end();
    if (d)
        p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
}

static void check_cpu_unit_ms(void)
{
    static pbw req;
    p2m_config c;
    p2m_error err;
    const p2m_engine *eng;
    size_t n = 0;
    p2m_status st;
    DReq *d;
    char why[512];
    tk_begin("c.api.cpu_unit_ms");
    build_main_request(&req, P2M_LAYOUT_V1_10, 0);
    p2m_config_init(&c);
    c.cpu.unit = "ms";
    eng = compile_cfg(&c, &err);
    EXPECT(eng != NULL, "engine with cpu unit ms did not compile");
    if (eng) {
        st = convert(eng, &req, &n, NULL, &err);
        EXPECT(st == P2M_OK, "convert: status %d", (int)st);
        d = st == P2M_OK ? p2m__metrics__export_metrics_service_request__unpack(NULL, n, out_buf)
                         : NULL;
        EXPECT(st != P2M_OK || d, "protobuf-c cannot decode the output");
        if (d) {
            if (!decoded_matches(d, main_expect, 2, 1e6, "ms", why, sizeof why))
                EXPECT(0, "%s", why);
            p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
        }
    }
    tk_end();
}

static void check_double_count(void)
{
    static pbw req;
    p2m_error err;
    const p2m_engine *eng;
    size_t n = 0;
    p2m_status st;
    DReq *d = NULL;
    tk_begin("c.api.double_count");
    build_double_count_request(&req);
    eng = default_engine(&err);
    EXPECT(eng != NULL, "engine");
    if (eng) {
        st = convert(eng, &req, &n, NULL, &err);
        EXPECT(st == P2M_OK, "convert: status %d", (int)st);
        if (st == P2M_OK)
            d = p2m__metrics__export_metrics_service_request__unpack(NULL, n, out_buf);
        EXPECT(st != P2M_OK || d, "cannot decode");
        if (d) {
            const DMetric *m;
            EXPECT(d->n_resource_metrics == 1 && d->resource_metrics[0]->n_scope_metrics == 1 &&
                       d->resource_metrics[0]->scope_metrics[0]->n_metrics == 1,
                   "expected exactly one resource, scope and metric");
            if (d->n_resource_metrics == 1 && d->resource_metrics[0]->n_scope_metrics == 1 &&
                d->resource_metrics[0]->scope_metrics[0]->n_metrics >= 1) {
                m = d->resource_metrics[0]->scope_metrics[0]->metrics[0];
                EXPECT(strcmp(m->name, "cpu_time") == 0 && m->sum && m->sum->n_data_points == 1 &&
                           m->sum->data_points[0]->as_int == 10,
                       "cpu_time should be one point of 10 (samples/count profile ignored), got "
                       "%s with %zu points, first %lld",
                       m->name, m->sum ? m->sum->n_data_points : 0,
                       m->sum && m->sum->n_data_points ? (long long)m->sum->data_points[0]->as_int
                                                       : -1LL);
            }
            p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
        }
    }
    tk_end();
}

static void check_strict(void)
{
    static pbw req, s5;
    p2m_config c;
    p2m_error err;
    const p2m_engine *eng;
    size_t n = 777, lo = 0, hi = 0, i;
    p2m_status st;
    tk_begin("c.api.strict_invalid_reference");
    build_main_request(&req, P2M_LAYOUT_V1_10, 0);
    build_main_s5(&s5, P2M_LAYOUT_V1_10);
    for (i = 0; i + s5.n <= req.n; i++)
        if (memcmp(req.b + i, s5.b, s5.n) == 0) {
            lo = i;
            hi = i + s5.n;
            break;
        }
    EXPECT(hi > 0, "test bug: sample S5 not found in the request");
    p2m_config_init(&c);
    c.strict = 1;
    eng = compile_cfg(&c, &err);
    EXPECT(eng != NULL, "engine");
    if (eng) {
        memset(&err, 0, sizeof err);
        st = convert(eng, &req, &n, NULL, &err);
        EXPECT(st == P2M_ERR_INVALID_REFERENCE, "status %d, expected INVALID_REFERENCE", (int)st);
        EXPECT(err.status == st, "err.status %d", (int)err.status);
        EXPECT(err.offset >= lo && err.offset <= hi,
               "err.offset %zu not inside sample S5 [%zu, %zu] (the sample with index 99)",
               err.offset, lo, hi);
        EXPECT(err.message[0] != 0, "empty message");
        EXPECT(all_pattern(out_buf, sizeof out_buf), "failed call wrote to the output buffer");
    }
    tk_end();
}

/* A real capture: conversion succeeds, the view agrees with the decoded
   output, and (when the suite computed them with Google protobuf) the
   sample count and the cpu total match. */
static void check_real(const char *path, const char *want_samples, const char *want_cpu)
{
    size_t len = 0, n = 0, need = 0;
    unsigned char *in = tk_read_file(path, &len);
    p2m_error err;
    const p2m_engine *eng;
    const p2m_result *r = NULL;
    p2m_stats stats;
    p2m_status st;
    DReq *d = NULL;
    char why[512];
    tk_begin("c.api.real_capture");
    if (!in) {
        EXPECT(0, "cannot read %s", path);
        tk_end();
        return;
    }
    eng = default_engine(&err);
    EXPECT(eng != NULL, "engine");
    if (eng) {
        st = p2m_work_size(eng, in, len, &need, &err);
        EXPECT(st == P2M_OK && need <= sizeof work_mem, "work_size: status %d need %zu", (int)st,
               need);
        memset(&stats, 0, sizeof stats);
        st = p2m_aggregate(eng, in, len, NULL, work_mem, sizeof work_mem, &r, &stats, &err);
        EXPECT(st == P2M_OK, "aggregate: status %d offset %zu: %s", (int)st, err.offset,
               err.message);
        if (st == P2M_OK) {
            st = p2m_encode_otlp(r, out_buf, sizeof out_buf, &n, &err);
            EXPECT(st == P2M_OK, "encode: status %d", (int)st);
            if (st == P2M_OK)
                d = p2m__metrics__export_metrics_service_request__unpack(NULL, n, out_buf);
            EXPECT(st != P2M_OK || d, "protobuf-c cannot decode the output");
        }
        if (d) {
            uint64_t total = 0;
            size_t ri, mi, pi;
            if (!view_matches_decoded(r, d, why, sizeof why))
                EXPECT(0, "view vs decoded: %s", why);
            EXPECT(stats.layout == P2M_LAYOUT_V1_8, "layout %d, expected v1.8", (int)stats.layout);
            for (ri = 0; ri < d->n_resource_metrics; ri++)
                for (mi = 0; mi < d->resource_metrics[ri]->scope_metrics[0]->n_metrics; mi++) {
                    const DMetric *m = d->resource_metrics[ri]->scope_metrics[0]->metrics[mi];
                    if (strcmp(m->name, "cpu_time") == 0 && m->sum)
                        for (pi = 0; pi < m->sum->n_data_points; pi++)
                            total += (uint64_t)m->sum->data_points[pi]->as_int;
                }
            if (want_samples) {
                EXPECT(stats.samples == strtoull(want_samples, NULL, 10),
                       "samples %llu, Google protobuf counted %s",
                       (unsigned long long)stats.samples, want_samples);
            }
            if (want_cpu) {
                EXPECT(total == strtoull(want_cpu, NULL, 10),
                       "cpu_time total %llu ns, Google protobuf computed %s",
                       (unsigned long long)total, want_cpu);
            }
            p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
        }
    }
    free(in);
    tk_end();
}

/* Converts req with cfg (and options) and decodes the output; NULL on any
   failure (reported through EXPECT). */
static DReq *convert_decode(const p2m_config *cfg, const pbw *req, const p2m_options *opt,
                            p2m_stats *stats, const p2m_result **view)
{
    p2m_error err;
    const p2m_engine *eng = compile_cfg(cfg, &err);
    size_t n = 0;
    p2m_status st;
    DReq *d;
    if (!eng) {
        EXPECT(0, "engine did not compile: field %s: %s", err.field, err.message);
        return NULL;
    }
    memset(out_buf, PATTERN, sizeof out_buf);
    st = p2m_convert(eng, req->b, req->n, opt, work_mem, sizeof work_mem / 2, out_buf,
                     sizeof out_buf, &n, stats, &err);
    if (st != P2M_OK) {
        EXPECT(0, "convert: status %d at %zu: %s", (int)st, err.offset, err.message);
        return NULL;
    }
    d = p2m__metrics__export_metrics_service_request__unpack(NULL, n, out_buf);
    EXPECT(d != NULL, "protobuf-c cannot decode the output");
    if (d && view) {
        char why[512];
        /* the view lives in the second half of the working memory */
        st =
            p2m_aggregate(eng, req->b, req->n, opt, (unsigned char *)work_mem + sizeof work_mem / 2,
                          sizeof work_mem / 2, view, NULL, &err);
        EXPECT(st == P2M_OK, "aggregate: status %d", (int)st);
        if (st == P2M_OK && !view_matches_decoded(*view, d, why, sizeof why))
            EXPECT(0, "view vs decoded: %s", why);
    }
    return d;
}

static const DMetric *metric_at(const DReq *d, size_t ri, size_t mi)
{
    if (ri >= d->n_resource_metrics || d->resource_metrics[ri]->n_scope_metrics < 1 ||
        mi >= d->resource_metrics[ri]->scope_metrics[0]->n_metrics)
        return NULL;
    return d->resource_metrics[ri]->scope_metrics[0]->metrics[mi];
}

static void check_times(void)
{
    static pbw req;
    p2m_config c;
    p2m_options opt;
    const p2m_result *view = NULL;
    DReq *d;
    const DMetric *m;
    tk_begin("c.api.times_without_profile_time");
    build_times_request(&req);
    p2m_config_init(&c);
    memset(&opt, 0, sizeof opt);
    opt.now_unix_nano = 777000;
    d = convert_decode(&c, &req, &opt, NULL, &view);
    if (d) {
        EXPECT(d->n_resource_metrics == 2, "%zu resources, expected 2", d->n_resource_metrics);
        m = metric_at(d, 0, 0);
        EXPECT(m && m->sum && m->sum->n_data_points == 1, "resource ts: one cpu point");
        if (m && m->sum && m->sum->n_data_points == 1) {
            const DPoint *p = m->sum->data_points[0];
            EXPECT(p->as_int == 2 && p->start_time_unix_nano == 500 && p->time_unix_nano == 900,
                   "timestamps [900,500], profile time 0: value %lld times %llu..%llu, "
                   "expected 2, 500..900",
                   (long long)p->as_int, (unsigned long long)p->start_time_unix_nano,
                   (unsigned long long)p->time_unix_nano);
        }
        m = metric_at(d, 1, 0);
        EXPECT(m && m->sum && m->sum->n_data_points == 1, "resource now: one cpu point");
        if (m && m->sum && m->sum->n_data_points == 1) {
            const DPoint *p = m->sum->data_points[0];
            EXPECT(p->as_int == 4 && p->start_time_unix_nano == 777000 &&
                       p->time_unix_nano == 777000,
                   "no times at all, now 777000: value %lld times %llu..%llu, expected 4, "
                   "777000..777000",
                   (long long)p->as_int, (unsigned long long)p->start_time_unix_nano,
                   (unsigned long long)p->time_unix_nano);
        }
        p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
    }
    tk_end();
}

/* max_series 1 on the main request: see requests.h for the samples. */
static void check_overflow(void)
{
    static pbw req;
    p2m_config c;
    p2m_stats stats;
    const p2m_result *view = NULL;
    DReq *d;
    tk_begin("c.api.max_series_overflow");
    build_main_request(&req, P2M_LAYOUT_V1_10, 0);
    p2m_config_init(&c);
    c.max_series = 1;
    memset(&stats, 0, sizeof stats);
    d = convert_decode(&c, &req, NULL, &stats, &view);
    if (d) {
        static const struct { size_t r, m; int64_t v[2]; uint64_t t0, t1; } x[3] = {
            {0, 0, {30000157, 20000003}, 1000, 2100},
            {0, 1, {5120, 64}, 3000, 3010},
            {1, 0, {5, -1}, 5000, 5000}};
        size_t k, pi;
        for (k = 0; k < 3; k++) {
            const DMetric *m = metric_at(d, x[k].r, x[k].m);
            size_t np = x[k].v[1] < 0 ? 1 : 2;
            if (!m || !m->sum || m->sum->n_data_points != np) {
                EXPECT(0, "resource %zu metric %zu: expected %zu points, got %zu", x[k].r, x[k].m,
                       np, m && m->sum ? m->sum->n_data_points : 0);
                continue;
            }
            for (pi = 0; pi < np; pi++) {
                const DPoint *p = m->sum->data_points[pi];
                EXPECT(p->as_int == x[k].v[pi] && p->start_time_unix_nano == x[k].t0 &&
                           p->time_unix_nano == x[k].t1,
                       "resource %zu %s point %zu: %lld %llu..%llu, expected %lld %llu..%llu",
                       x[k].r, m->name, pi, (long long)p->as_int,
                       (unsigned long long)p->start_time_unix_nano,
                       (unsigned long long)p->time_unix_nano, (long long)x[k].v[pi],
                       (unsigned long long)x[k].t0, (unsigned long long)x[k].t1);
                if (pi == 1) {
                    const DKV *kv = p->n_attributes == 1 ? p->attributes[0] : NULL;
                    EXPECT(kv && strcmp(kv->key, "otel.metric.overflow") == 0 && kv->value &&
                               kv->value->value_case ==
                                   P2M__METRICS__ANY_VALUE__VALUE_BOOL_VALUE &&
                               kv->value->bool_value,
                           "resource %zu %s: last point is not the overflow point "
                           "(only attribute otel.metric.overflow = true)",
                           x[k].r, m->name);
                } else {
                    EXPECT(p->n_attributes == 2, "resource %zu %s point 0: %zu attributes",
                           x[k].r, m->name, p->n_attributes);
                }
            }
        }
        EXPECT(stats.overflow_samples == 4, "overflow_samples %llu, expected 4",
               (unsigned long long)stats.overflow_samples);
        p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
    }
    tk_end();
}

typedef struct xkv { const char *key; int is_int; const char *s; int64_t i; } xkv;

static void expect_attrs(const DPoint *p, const xkv *x, size_t n, const char *where)
{
    size_t i;
    if (p->n_attributes != n) {
        char got[512];
        size_t k = 0;
        got[0] = 0;
        for (i = 0; i < p->n_attributes && k < sizeof got - 80; i++)
            k += (size_t)snprintf(got + k, sizeof got - k, "%s%s", i ? "," : "",
                                  p->attributes[i]->key);
        EXPECT(0, "%s: %zu attributes [%s], expected %zu", where, p->n_attributes, got, n);
        return;
    }
    for (i = 0; i < n; i++) {
        const DKV *kv = p->attributes[i];
        int ok = strcmp(kv->key, x[i].key) == 0 && kv->value;
        if (ok && x[i].is_int)
            ok = kv->value->value_case == P2M__METRICS__ANY_VALUE__VALUE_INT_VALUE &&
                 kv->value->int_value == x[i].i;
        else if (ok)
            ok = kv->value->value_case == P2M__METRICS__ANY_VALUE__VALUE_STRING_VALUE &&
                 strcmp(kv->value->string_value, x[i].s) == 0;
        EXPECT(ok, "%s: attribute %zu is %s (case %d), expected %s=%s%lld", where, i, kv->key,
               kv->value ? (int)kv->value->value_case : -1, x[i].key,
               x[i].is_int ? "" : x[i].s, x[i].is_int ? (long long)x[i].i : 0LL);
    }
}

static void check_rules(void)
{
    static pbw req;
    static p2m_rule rules[8];
    p2m_config c;
    const p2m_result *view = NULL;
    DReq *d;
    tk_begin("c.api.attribute_rules");
    build_main_request(&req, P2M_LAYOUT_V1_10, 0);
    memset(rules, 0, sizeof rules);
    rules[0].key = "service"; rules[0].type = P2M_RULE_LITERAL; rules[0].value = "checkout";
    rules[1].key = "kind"; rules[1].type = P2M_RULE_ATTRIBUTE; rules[1].from = "profile.kind";
    rules[2].key = "first"; rules[2].type = P2M_RULE_STRING_TABLE; rules[2].index = S_CPU;
    rules[3].key = "missing"; rules[3].type = P2M_RULE_ATTRIBUTE; rules[3].from = "nope";
    rules[3].default_value = "none";
    rules[4].key = "res"; rules[4].type = P2M_RULE_ATTRIBUTE; rules[4].from = "res.int";
    rules[5].key = "thread"; rules[5].type = P2M_RULE_ATTRIBUTE; rules[5].from = "thread.name";
    rules[6].key = "thread"; rules[6].type = P2M_RULE_ATTRIBUTE; rules[6].from = "nope";
    rules[7].key = "kind"; rules[7].type = P2M_RULE_STRING_TABLE; rules[7].index = S_MAIN;
    p2m_config_init(&c);
    c.attributes = rules;
    c.n_attributes = 8;
    d = convert_decode(&c, &req, NULL, NULL, &view);
    if (d) {
        const xkv w1[6] = {{"service", 0, "checkout", 0}, {"first", 0, "cpu", 0},
                           {"missing", 0, "none", 0}, {"res", 1, NULL, 42},
                           {"thread", 0, "worker", 0}, {"kind", 0, "main", 0}};
        const xkv m1[6] = {{"service", 0, "checkout", 0}, {"first", 0, "cpu", 0},
                           {"missing", 0, "none", 0}, {"res", 1, NULL, 42},
                           {"thread", 0, "main", 0}, {"kind", 0, "main", 0}};
        const xkv n1[5] = {{"service", 0, "checkout", 0}, {"first", 0, "cpu", 0},
                           {"missing", 0, "none", 0}, {"res", 1, NULL, 42},
                           {"kind", 0, "main", 0}};
        const xkv w2[5] = {{"service", 0, "checkout", 0}, {"first", 0, "cpu", 0},
                           {"missing", 0, "none", 0}, {"thread", 0, "worker", 0},
                           {"kind", 0, "main", 0}};
        const DMetric *cpu0 = metric_at(d, 0, 0), *mem0 = metric_at(d, 0, 1),
                      *cpu1 = metric_at(d, 1, 0);
        EXPECT(cpu0 && cpu0->sum && cpu0->sum->n_data_points == 2 &&
                   cpu0->sum->data_points[0]->as_int == 30000157 &&
                   cpu0->sum->data_points[1]->as_int == 20000003,
               "resource 0 cpu: expected points 30000157, 20000003");
        if (cpu0 && cpu0->sum && cpu0->sum->n_data_points == 2) {
            expect_attrs(cpu0->sum->data_points[0], w1, 6, "resource 0 cpu point 0");
            expect_attrs(cpu0->sum->data_points[1], m1, 6, "resource 0 cpu point 1");
        }
        EXPECT(mem0 && mem0->sum && mem0->sum->n_data_points == 2 &&
                   mem0->sum->data_points[1]->as_int == 64,
               "resource 0 memory: expected 2 points, the second 64");
        if (mem0 && mem0->sum && mem0->sum->n_data_points == 2)
            expect_attrs(mem0->sum->data_points[1], n1, 5, "resource 0 memory point 1");
        EXPECT(cpu1 && cpu1->sum && cpu1->sum->n_data_points == 1, "resource 1 cpu: 1 point");
        if (cpu1 && cpu1->sum && cpu1->sum->n_data_points == 1)
            expect_attrs(cpu1->sum->data_points[0], w2, 5, "resource 1 cpu point 0");
        p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
    }
    tk_end();
}

/* A pprof Profile given to the OTLP calls: refused at its string table (a
   top-level field 6 whose first entry is empty), not converted to nothing;
   a top-level field 6 that is not empty stays an unknown field. */
static void check_pprof_given_as_otlp(void)
{
    /* sample_type {type 1, unit 2}, sample {value 5}, string_table "", "cpu", "ns" */
    static const unsigned char pprof[] = {0x0a, 0x04, 0x08, 0x01, 0x10, 0x02, 0x12, 0x02, 0x10,
                                          0x05, 0x32, 0x00, 0x32, 0x03, 'c',  'p',  'u',  0x32,
                                          0x02, 'n',  's'};
    static const unsigned char unknown6[] = {0x32, 0x01, 'x', 0x32, 0x00};
    p2m_config c;
    p2m_error err;
    const p2m_engine *eng;
    size_t n = 0;
    p2m_status st;
    tk_begin("c.api.pprof_given_as_otlp");
    p2m_config_init(&c);
    eng = compile_cfg(&c, &err);
    EXPECT(eng != NULL, "compile: %s", err.message);
    if (!eng) {
        tk_end();
        return;
    }
    memset(out_buf, PATTERN, sizeof out_buf);
    st = p2m_convert(eng, pprof, sizeof pprof, NULL, work_mem, sizeof work_mem, out_buf,
                     sizeof out_buf, &n, NULL, &err);
    EXPECT(st == P2M_ERR_MALFORMED && err.offset == 10 && strstr(err.message, "pprof"),
           "pprof to p2m_convert: status %d at %zu (%s), expected MALFORMED at 10 naming pprof",
           (int)st, err.offset, err.message);
    EXPECT(all_pattern(out_buf, sizeof out_buf), "a failed call wrote into the output");
    st = p2m_work_size(eng, pprof, sizeof pprof, &n, &err);
    EXPECT(st == P2M_ERR_MALFORMED && err.offset == 10, "pprof to p2m_work_size: status %d at %zu",
           (int)st, err.offset);
    st = p2m_convert(eng, unknown6, sizeof unknown6, NULL, work_mem, sizeof work_mem, out_buf,
                     sizeof out_buf, &n, NULL, &err);
    EXPECT(st == P2M_OK, "a request whose field 6 is not empty first: status %d (%s)", (int)st,
           err.message);
    tk_end();
}

/* Structs that grow (docs/api.md "Structs that grow"): struct_size 0 is the
   first layout; a smaller one is an argument error; past this library's
   sizeof, zero bytes are accepted and any other byte is refused as a field
   of a newer header. p2m_config_init_size writes no byte past the size it
   is given. */
static void check_struct_sizes(void)
{
    static const unsigned char req[] = {0x32, 0x01, 'x', 0x32, 0x00}; /* converts to nothing */
    static unsigned char big[sizeof(p2m_config) + 64];
    static unsigned char obig[sizeof(p2m_options) + 32];
    static unsigned char pbig[sizeof(p2m_prom_options) + 32];
    static char scratch[1 << 16];
    const size_t older = offsetof(p2m_config, memory); /* short of every layout */
    p2m_config *c = (p2m_config *)(void *)big;
    p2m_options *o = (p2m_options *)(void *)obig;
    p2m_prom_options *po = (p2m_prom_options *)(void *)pbig;
    const p2m_engine *eng = NULL;
    const p2m_result *r = NULL;
    p2m_error err;
    p2m_status st;
    size_t n = 0, i;
    int untouched = 1, zero = 1;
    tk_begin("c.api.struct_sizes");
    memset(big, PATTERN, sizeof big);
    p2m_config_init_size(c, older);
    for (i = older; i < sizeof big; i++) untouched &= big[i] == PATTERN;
    EXPECT(untouched, "p2m_config_init_size(%zu) wrote past its size", older);
    EXPECT(c->struct_size == older && c->cpu.enabled == 0 && !c->cpu.name,
           "a struct short of every layout is zeroed with its size: struct_size %zu, cpu %d",
           c->struct_size, c->cpu.enabled);
    st = p2m_engine_compile(c, engine_mem, sizeof engine_mem, &eng, &err);
    EXPECT(st == P2M_ERR_ARGUMENT && strcmp(err.field, "struct_size") == 0,
           "a struct_size short of the first layout: status %d field '%s'", (int)st, err.field);

    memset(big, PATTERN, sizeof big);
    p2m_config_init_size(c, sizeof(p2m_config)); /* this header's caller */
    untouched = c->struct_size == sizeof(p2m_config) && c->cpu.enabled == 1 && c->cpu.name &&
                strcmp(c->cpu.name, "cpu_time") == 0 && c->max_series == 2000;
    for (i = sizeof(p2m_config); i < sizeof big; i++) untouched &= big[i] == PATTERN;
    EXPECT(untouched, "p2m_config_init_size(sizeof): the defaults, and no byte past the struct");
    memset(big, PATTERN, sizeof big);
    p2m_config_init_size(c, sizeof big); /* a newer caller's larger struct */
    for (i = sizeof(p2m_config); i < sizeof big; i++) zero &= big[i] == 0;
    EXPECT(zero && c->struct_size == sizeof big, "a newer caller's tail: zero %d, size %zu", zero,
           c->struct_size);
    st = p2m_engine_compile(c, engine_mem, sizeof engine_mem, &eng, &err);
    EXPECT(st == P2M_OK, "a newer caller's struct with its new fields unset: status %d (%s)",
           (int)st, err.message);
    big[sizeof(p2m_config) + 40] = 1;
    st = p2m_engine_compile(c, engine_mem, sizeof engine_mem, &eng, &err);
    EXPECT(st == P2M_ERR_UNSUPPORTED && strcmp(err.field, "struct_size") == 0 &&
               strstr(err.message, "newer header"),
           "a field this library does not know: status %d field '%s' (%s)", (int)st, err.field,
           err.message);
    big[sizeof(p2m_config) + 40] = 0;
    c->struct_size = 0; /* the first layout */
    st = p2m_engine_compile(c, engine_mem, sizeof engine_mem, &eng, &err);
    EXPECT(st == P2M_OK, "struct_size 0: status %d (%s)", (int)st, err.message);
    if (st != P2M_OK) {
        tk_end();
        return;
    }

    memset(obig, 0, sizeof obig);
    for (i = 0; i < 4; i++) {
        static const size_t sizes[4] = {0, sizeof(p2m_options), sizeof obig, sizeof obig};
        o->struct_size = sizes[i];
        obig[sizeof(p2m_options) + 8] = (unsigned char)(i == 3);
        memset(out_buf, PATTERN, 64);
        st = p2m_convert(eng, req, sizeof req, o, work_mem, sizeof work_mem, out_buf,
                         sizeof out_buf, &n, NULL, &err);
        EXPECT(st == (i == 3 ? P2M_ERR_UNSUPPORTED : P2M_OK) &&
                   (i < 3 || (strcmp(err.field, "options.struct_size") == 0 &&
                              all_pattern(out_buf, 64))),
               "options of %zu bytes (tail byte %d): status %d field '%s'", sizes[i], i == 3,
               (int)st, err.field);
    }
    obig[sizeof(p2m_options) + 8] = 0;
    o->struct_size = 4;
    st = p2m_convert(eng, req, sizeof req, o, work_mem, sizeof work_mem, out_buf, sizeof out_buf,
                     &n, NULL, &err);
    EXPECT(st == P2M_ERR_ARGUMENT, "options.struct_size 4: status %d", (int)st);
    o->struct_size = (size_t)-1; /* garbage: refused without reading past the struct */
    st = p2m_convert(eng, req, sizeof req, o, work_mem, sizeof work_mem, out_buf, sizeof out_buf,
                     &n, NULL, &err);
    EXPECT(st == P2M_ERR_ARGUMENT && strcmp(err.field, "options.struct_size") == 0,
           "options.struct_size SIZE_MAX: status %d field '%s'", (int)st, err.field);

#ifndef P2M_NO_PROM
    o->struct_size = 0;
    st = p2m_aggregate(eng, req, sizeof req, o, work_mem, sizeof work_mem, &r, NULL, &err);
    EXPECT(st == P2M_OK && r, "aggregate: status %d (%s)", (int)st, err.message);
    if (r) {
        memset(pbig, 0, sizeof pbig);
        po->struct_size = sizeof pbig;
        st = p2m_write_prom(r, po, scratch, sizeof scratch, out_buf, sizeof out_buf, &n, &err);
        EXPECT(st == P2M_OK, "prom options with an unset newer tail: status %d (%s)", (int)st,
               err.message);
        pbig[sizeof(p2m_prom_options) + 3] = 7;
        st = p2m_write_prom(r, po, scratch, sizeof scratch, out_buf, sizeof out_buf, &n, &err);
        EXPECT(st == P2M_ERR_UNSUPPORTED && strcmp(err.field, "prom_options.struct_size") == 0,
               "prom options with a newer field set: status %d field '%s'", (int)st, err.field);
        st = p2m_write_prom(r, po, scratch, sizeof scratch, out_buf, sizeof out_buf, &n, NULL);
        EXPECT(st == P2M_ERR_UNSUPPORTED, "the same without an error struct: status %d", (int)st);
    }
#else
    (void)r;
    (void)scratch;
    (void)pbig;
    (void)po;
#endif
    tk_end();
}

static void check_arguments(void)
{
    static pbw req;
    p2m_config c;
    p2m_error err;
    const p2m_engine *eng = NULL;
    const p2m_result *r = NULL;
    size_t n = 0;
    p2m_status st;
    tk_begin("c.api.argument_errors");
    build_main_request(&req, P2M_LAYOUT_V1_10, 0);
    p2m_config_init(&c);
    st = p2m_engine_compile(NULL, engine_mem, sizeof engine_mem, &eng, &err);
    EXPECT(st == P2M_ERR_ARGUMENT, "compile(cfg NULL): status %d", (int)st);
    st = p2m_engine_compile(&c, engine_mem, sizeof engine_mem, NULL, &err);
    EXPECT(st == P2M_ERR_ARGUMENT, "compile(engine out NULL): status %d", (int)st);
    eng = compile_cfg(&c, &err);
    if (eng) {
        memset(out_buf, PATTERN, sizeof out_buf);
        st = p2m_convert(NULL, req.b, req.n, NULL, work_mem, sizeof work_mem, out_buf,
                         sizeof out_buf, &n, NULL, &err);
        EXPECT(st == P2M_ERR_ARGUMENT, "convert(engine NULL): status %d", (int)st);
        st = p2m_convert(eng, NULL, 10, NULL, work_mem, sizeof work_mem, out_buf,
                         sizeof out_buf, &n, NULL, &err);
        EXPECT(st == P2M_ERR_ARGUMENT, "convert(input NULL, size 10): status %d", (int)st);
        st = p2m_convert(eng, req.b, req.n, NULL, NULL, 1000, out_buf, sizeof out_buf, &n, NULL,
                         &err);
        EXPECT(st == P2M_ERR_ARGUMENT || st == P2M_ERR_MEMORY,
               "convert(work NULL, size 1000): status %d", (int)st);
        st = p2m_convert(eng, req.b, req.n, NULL, work_mem, sizeof work_mem, NULL, 1000, &n,
                         NULL, &err);
        EXPECT(st == P2M_ERR_ARGUMENT || st == P2M_ERR_OUTPUT_TOO_SMALL,
               "convert(output NULL, cap 1000): status %d", (int)st);
        EXPECT(all_pattern(out_buf, sizeof out_buf), "a failed call wrote into the output");
        st = p2m_work_size(eng, req.b, req.n, NULL, &err);
        EXPECT(st == P2M_ERR_ARGUMENT, "work_size(needed NULL): status %d", (int)st);
        st = p2m_aggregate(eng, req.b, req.n, NULL, work_mem, sizeof work_mem, NULL, NULL, &err);
        EXPECT(st == P2M_ERR_ARGUMENT, "aggregate(result NULL): status %d", (int)st);
        st = p2m_encode_otlp(NULL, out_buf, sizeof out_buf, &n, &err);
        EXPECT(st == P2M_ERR_ARGUMENT, "encode_otlp(result NULL): status %d", (int)st);
        /* an engine or result that is not one (docs/api.md): zeroed memory */
        {
            static uint64_t zeros[512];
            st = p2m_convert((const p2m_engine *)(const void *)zeros, req.b, req.n, NULL,
                             work_mem, sizeof work_mem, out_buf, sizeof out_buf, &n, NULL, &err);
            EXPECT(st == P2M_ERR_ARGUMENT, "convert(engine = zeroed memory): status %d",
                   (int)st);
            st = p2m_encode_otlp((const p2m_result *)(const void *)zeros, out_buf,
                                 sizeof out_buf, &n, &err);
            EXPECT(st == P2M_ERR_ARGUMENT, "encode_otlp(result = zeroed memory): status %d",
                   (int)st);
            EXPECT(all_pattern(out_buf, sizeof out_buf), "a failed call wrote into the output");
        }
        /* err may be NULL: the status alone still tells */
        st = p2m_convert(eng, req.b, req.n, NULL, work_mem, 16, out_buf, sizeof out_buf, &n,
                         NULL, NULL);
        EXPECT(st == P2M_ERR_MEMORY, "convert(work 16 bytes, err NULL): status %d", (int)st);
        st = p2m_aggregate(eng, req.b, req.n, NULL, work_mem, sizeof work_mem, &r, NULL, NULL);
        EXPECT(st == P2M_OK && r, "aggregate(err NULL): status %d", (int)st);
    }
    tk_end();
}

/* ---- function metric (requests.h: build_function_request) ---------------- */

typedef struct xfn { const char *thread, *fn; int64_t v; } xfn;

static int sym_calls, sym_saw_99;
static p2m_str test_symbolize(void *user_data, uint64_t address, p2m_str mapping_file,
                              p2m_str build_id)
{
    static const char nm[] = "fn_at_0x99";
    p2m_str r;
    (void)build_id;
    r.ptr = NULL;
    r.len = 0;
    if (user_data != (void *)&sym_calls)
        return r;
    sym_calls++;
    if (address != 0x99)
        return r;
    if (mapping_file.len == 0)
        sym_saw_99++;
    r.ptr = nm;
    r.len = sizeof nm - 1;
    return r;
}

/* Finds the function metric's point for (thread, fn); -1 when absent. */
static long find_fn_point(const DMetric *m, const char *thread, const char *fn)
{
    size_t i;
    for (i = 0; m->sum && i < m->sum->n_data_points; i++) {
        const DPoint *p = m->sum->data_points[i];
        if (p->n_attributes == 3 && strcmp(p->attributes[0]->key, "process.executable.name") == 0 &&
            strcmp(p->attributes[1]->key, "thread.name") == 0 &&
            strcmp(p->attributes[2]->key, "function.name") == 0 && p->attributes[1]->value &&
            p->attributes[2]->value &&
            p->attributes[1]->value->value_case == P2M__METRICS__ANY_VALUE__VALUE_STRING_VALUE &&
            p->attributes[2]->value->value_case == P2M__METRICS__ANY_VALUE__VALUE_STRING_VALUE &&
            strcmp(p->attributes[1]->value->string_value, thread) == 0 &&
            strcmp(p->attributes[2]->value->string_value, fn) == 0)
            return (long)i;
    }
    return -1;
}

static void check_function(const char *name, p2m_function_mode mode, int use_symbolizer,
                           const xfn *x, size_t nx, int ordered)
{
    static pbw req;
    p2m_config c;
    p2m_options opt;
    const p2m_result *view = NULL;
    DReq *d;
    size_t i;
    tk_begin(name);
    build_function_request(&req);
    p2m_config_init(&c);
    c.function.enabled = 1;
    c.function_mode = mode;
    memset(&opt, 0, sizeof opt);
    if (use_symbolizer) {
        opt.symbolize = test_symbolize;
        opt.user_data = &sym_calls;
    }
    sym_calls = sym_saw_99 = 0;
    d = convert_decode(&c, &req, &opt, NULL, &view);
    if (d) {
        const DMetric *cpu = metric_at(d, 0, 0), *fm = metric_at(d, 0, 1);
        EXPECT(d->n_resource_metrics == 1 &&
                   d->resource_metrics[0]->scope_metrics[0]->n_metrics == 2,
               "expected one resource with the metrics cpu_time, function_cpu_time");
        EXPECT(cpu && strcmp(cpu->name, "cpu_time") == 0 && cpu->sum &&
                   cpu->sum->n_data_points == 2 && cpu->sum->data_points[0]->as_int == 115 &&
                   cpu->sum->data_points[1]->as_int == 1,
               "cpu_time should be (app,worker) 115, (app,main) 1");
        if (fm) {
            EXPECT(strcmp(fm->name, "function_cpu_time") == 0 && strcmp(fm->unit, "ns") == 0,
                   "second metric is %s/%s, expected function_cpu_time/ns", fm->name, fm->unit);
            EXPECT(fm->sum && fm->sum->n_data_points == nx,
                   "function metric: %zu points, expected %zu",
                   fm->sum ? fm->sum->n_data_points : 0, nx);
            for (i = 0; i < nx; i++) {
                long k = find_fn_point(fm, x[i].thread, x[i].fn);
                if (k < 0) {
                    EXPECT(0, "no point (app, %s, function.name=%s) [attributes must be "
                              "process.executable.name, thread.name, function.name]",
                           x[i].thread, x[i].fn);
                    continue;
                }
                EXPECT(fm->sum->data_points[k]->as_int == x[i].v, "(%s, %s): %lld, expected %lld",
                       x[i].thread, x[i].fn, (long long)fm->sum->data_points[k]->as_int,
                       (long long)x[i].v);
                EXPECT(!ordered || (size_t)k == i,
                       "(%s, %s) is point %ld, expected %zu (first seen)", x[i].thread, x[i].fn, k,
                       i);
            }
        } else {
            EXPECT(0, "no function metric");
        }
        if (use_symbolizer)
            EXPECT(sym_saw_99 >= 1, "symboliser never asked about address 0x99 without mapping "
                                    "(%d calls)", sym_calls);
        p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
    }
    tk_end();
}

/* The address of a location without lines reaches the symboliser whole,
   whatever its varint length (the reader skips addresses it does not need
   and decodes them only for such locations). */
static uint64_t sym_addr_seen;
static int sym_addr_calls;
static p2m_str record_address(void *user_data, uint64_t address, p2m_str mapping_file,
                              p2m_str build_id)
{
    p2m_str r;
    (void)user_data;
    (void)build_id;
    r.ptr = NULL;
    r.len = 0;
    if (mapping_file.len == 0) { /* location 4 */
        sym_addr_seen = address;
        sym_addr_calls++;
    }
    return r;
}

static void check_function_addresses(void)
{
    static const uint64_t addrs[] = {0, 0x7f, 0x80, 0x99, 0x7f0012345678u, 0x7fffffffffffffffu,
                                     0x8000000000000000u, 0xffffffffffffffffu};
    static pbw req;
    size_t i;
    tk_begin("c.api.function_symbolizer_address_lengths");
    for (i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        p2m_config c;
        p2m_options opt;
        const p2m_result *view = NULL;
        DReq *d;
        rq_fn_address = addrs[i];
        build_function_request(&req);
        p2m_config_init(&c);
        c.function.enabled = 1;
        c.function_mode = P2M_FUNCTION_SELF;
        memset(&opt, 0, sizeof opt);
        opt.symbolize = record_address;
        sym_addr_seen = 0;
        sym_addr_calls = 0;
        d = convert_decode(&c, &req, &opt, NULL, &view);
        EXPECT(d != NULL, "address 0x%llx: conversion failed", (unsigned long long)addrs[i]);
        EXPECT(sym_addr_calls >= 1 && sym_addr_seen == addrs[i],
               "address 0x%llx: the symboliser saw 0x%llx (%d calls)", (unsigned long long)addrs[i],
               (unsigned long long)sym_addr_seen, sym_addr_calls);
        if (d) p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
    }
    rq_fn_address = 0x99;
    tk_end();
}

/* Inclusive mode resolves locations ahead of the samples; the symboliser is
   still asked only about the locations that samples reach, once each. */
static int sym_unused_calls, sym_all_calls;
static p2m_str count_symbolize(void *user_data, uint64_t address, p2m_str mapping_file,
                               p2m_str build_id)
{
    p2m_str r;
    (void)user_data;
    (void)mapping_file;
    (void)build_id;
    r.ptr = NULL;
    r.len = 0;
    sym_all_calls++;
    if (address == 0x77)
        sym_unused_calls++;
    return r;
}

static void check_function_symbolizer_reached(void)
{
    static pbw req;
    p2m_config c;
    p2m_options opt;
    const p2m_result *view = NULL;
    DReq *d;
    tk_begin("c.api.function_inclusive_symbolizer_only_for_reached_locations");
    rq_fn_unused_location = 1;
    build_function_request(&req);
    rq_fn_unused_location = 0;
    p2m_config_init(&c);
    c.function.enabled = 1;
    c.function_mode = P2M_FUNCTION_INCLUSIVE;
    memset(&opt, 0, sizeof opt);
    opt.symbolize = count_symbolize;
    sym_unused_calls = sym_all_calls = 0;
    d = convert_decode(&c, &req, &opt, NULL, &view);
    EXPECT(d != NULL, "conversion failed");
    EXPECT(sym_unused_calls == 0,
           "the symboliser was asked %d times about location 5, which no stack uses",
           sym_unused_calls);
    EXPECT(sym_all_calls == 4,
           "%d symboliser calls, expected 4 (locations 3 and 4, once in each of "
           "convert_decode's two conversions)",
           sym_all_calls);
    if (d) p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
    tk_end();
}

static void check_functions(void)
{
    static const xfn self[4] = {{"worker", "leaf_fn", 100}, {"worker", "libfoo.so", 10},
                                {"main", "main_fn", 1}, {"worker", "[unknown]", 5}};
    static const xfn symb[4] = {{"worker", "leaf_fn", 100}, {"worker", "libfoo.so", 10},
                                {"main", "main_fn", 1}, {"worker", "fn_at_0x99", 5}};
    static const xfn incl[5] = {{"worker", "leaf_fn", 100}, {"worker", "main_fn", 110},
                                {"worker", "libfoo.so", 10}, {"main", "main_fn", 1},
                                {"worker", "[unknown]", 5}};
    check_function("c.api.function_self", P2M_FUNCTION_SELF, 0, self, 4, 1);
    check_function("c.api.function_inclusive", P2M_FUNCTION_INCLUSIVE, 0, incl, 5, 0);
    check_function("c.api.function_symbolizer", P2M_FUNCTION_SELF, 1, symb, 4, 1);
    check_function_addresses();
    check_function_symbolizer_reached();
}

static void check_filters(void)
{
    static pbw req;
    static const char *const threads[] = {"^nothing$", "^work"};
    static const char *const keys[] = {"service.name"};
    p2m_config c;
    p2m_stats stats;
    const p2m_result *view = NULL;
    DReq *d;
    tk_begin("c.api.filters");
    build_main_request(&req, P2M_LAYOUT_V1_10, 0);
    p2m_config_init(&c);
    c.process_filter.enabled = 1;
    c.process_filter.pattern = "^ap";
    c.thread_filter.enabled = 1;
    c.thread_filter.patterns = threads;
    c.thread_filter.n_patterns = 2;
    c.pattern_filter.enabled = 1;
    c.pattern_filter.pattern = "^svc$";
    c.pattern_filter.keys = keys;
    c.pattern_filter.n_keys = 1;
    memset(&stats, 0, sizeof stats);
    d = convert_decode(&c, &req, NULL, &stats, &view);
    if (d) {
        const DMetric *cpu = metric_at(d, 0, 0), *mem = metric_at(d, 0, 1);
        /* thread filter drops S2, S6, S8 (main) and S11 (no thread); the
           pattern filter drops S12 (service.name "other") */
        EXPECT(d->n_resource_metrics == 1, "%zu resources, expected 1 (resource \"other\" is "
                                           "filtered out entirely)", d->n_resource_metrics);
        EXPECT(cpu && cpu->sum && cpu->sum->n_data_points == 1 &&
                   cpu->sum->data_points[0]->as_int == 30000157,
               "cpu: expected only (app,worker) 30000157");
        EXPECT(mem && mem->sum && mem->sum->n_data_points == 1 &&
                   mem->sum->data_points[0]->as_int == 5120,
               "memory: expected only (app,worker) 5120");
        EXPECT(stats.dropped_process == 0, "dropped_process %llu, expected 0",
               (unsigned long long)stats.dropped_process);
        EXPECT(stats.dropped_thread == 4, "dropped_thread %llu, expected 4 (S2, S6, S8, S11)",
               (unsigned long long)stats.dropped_thread);
        EXPECT(stats.dropped_pattern == 1, "dropped_pattern %llu, expected 1 (S12)",
               (unsigned long long)stats.dropped_pattern);
        p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
    }
    tk_end();
}

static void check_type_rules(void)
{
    static pbw req;
    p2m_type_rule tr[2];
    p2m_config c;
    const p2m_result *view = NULL;
    DReq *d;
    tk_begin("c.api.type_rules");
    build_main_request(&req, P2M_LAYOUT_V1_10, 0);
    memset(tr, 0, sizeof tr);
    tr[0].type = "cpu";
    tr[0].unit = "nanoseconds";
    tr[0].metric = P2M_METRIC_CPU;
    tr[0].scale = 3.0;
    tr[1].type = "alloc_space";
    tr[1].unit = "bytes";
    tr[1].metric = P2M_METRIC_NONE;
    tr[1].scale = 1.0;
    p2m_config_init(&c);
    c.type_rules = tr;
    c.n_type_rules = 2;
    d = convert_decode(&c, &req, NULL, NULL, &view);
    if (d) {
        const DMetric *cpu = metric_at(d, 0, 0), *cpu2 = metric_at(d, 1, 0);
        /* (cpu, nanoseconds) x3: A's samples; B (samples/count) unchanged */
        EXPECT(d->n_resource_metrics == 2 &&
                   d->resource_metrics[0]->scope_metrics[0]->n_metrics == 1,
               "expected 2 resources, the first with only cpu_time (alloc_space -> none)");
        EXPECT(cpu && cpu->sum && cpu->sum->n_data_points == 2 &&
                   cpu->sum->data_points[0]->as_int == 30000471 &&
                   cpu->sum->data_points[1]->as_int == 20000009,
               "cpu: expected 157*3+30000000 = 30000471 and 3*3+20000000 = 20000009, got %lld "
               "and %lld",
               cpu && cpu->sum && cpu->sum->n_data_points > 0
                   ? (long long)cpu->sum->data_points[0]->as_int : -1LL,
               cpu && cpu->sum && cpu->sum->n_data_points > 1
                   ? (long long)cpu->sum->data_points[1]->as_int : -1LL);
        EXPECT(cpu2 && cpu2->sum && cpu2->sum->n_data_points == 1 &&
                   cpu2->sum->data_points[0]->as_int == 15,
               "resource other: cpu 5*3 = 15");
        p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
    }
    tk_end();
}

/* ---- cumulative temporality ---------------------------------------------- */

static p2m_status cum_convert(const p2m_engine *eng, p2m_state *state, const unsigned char *in,
                              size_t n, size_t work_size, size_t cap, size_t *out_n,
                              p2m_error *err)
{
    p2m_options opt;
    memset(&opt, 0, sizeof opt);
    opt.state = state;
    memset(out_buf, PATTERN, sizeof out_buf);
    return p2m_convert(eng, in, n, &opt, work_mem, work_size, out_buf, cap, out_n, NULL, err);
}

/* Finds resource by service.name; NULL when absent. */
static const DRes *res_by_service(const DReq *d, const char *svc)
{
    size_t i;
    for (i = 0; i < d->n_resource_metrics; i++) {
        const DRes *r = d->resource_metrics[i];
        const DKV *kv = r->resource ? find_attr(r->resource->attributes, r->resource->n_attributes,
                                                "service.name")
                                    : NULL;
        if (kv && kv->value &&
            kv->value->value_case == P2M__METRICS__ANY_VALUE__VALUE_STRING_VALUE &&
            strcmp(kv->value->string_value, svc) == 0)
            return r;
    }
    return NULL;
}

#define TEMPORALITY_CUMULATIVE \
    P2M__METRICS__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE
static void check_cumulative(void)
{
    static pbw req, treq;
    p2m_config c;
    p2m_error err;
    const p2m_engine *eng;
    p2m_state *state = NULL;
    unsigned char *smem = NULL, *snap = NULL;
    size_t ssize, n = 0;
    p2m_status st;
    DReq *d = NULL;
    char why[512];

    build_main_request(&req, P2M_LAYOUT_V1_10, 0);
    build_times_request(&treq);

    tk_begin("c.api.cumulative.state_size");
    p2m_config_init(&c);
    eng = compile_cfg(&c, &err);
    EXPECT(eng && p2m_state_size(eng) == 0, "delta engine: p2m_state_size %zu, expected 0",
           eng ? p2m_state_size(eng) : (size_t)-1);
    p2m_config_init(&c);
    c.temporality = P2M_TEMPORALITY_CUMULATIVE;
    c.state_max_series = 64;
    c.state_bytes = 64 << 10;
    eng = compile_cfg(&c, &err);
    EXPECT(eng != NULL, "cumulative engine did not compile");
    ssize = eng ? p2m_state_size(eng) : 0;
    EXPECT(ssize > 0, "cumulative engine: p2m_state_size 0");
    if (eng) {
        st = cum_convert(eng, NULL, req.b, req.n, sizeof work_mem, sizeof out_buf, &n, &err);
        EXPECT(st == P2M_ERR_ARGUMENT, "cumulative engine without a state: status %d, expected "
                                       "P2M_ERR_ARGUMENT", (int)st);
    }
    if (ssize) {
        smem = (unsigned char *)calloc(1, ssize); /* defined bytes for memcmp */
        snap = (unsigned char *)malloc(ssize);
        st = p2m_state_init(eng, smem, ssize - 1, &state, &err);
        EXPECT(st == P2M_ERR_MEMORY, "state_init with size-1: status %d", (int)st);
        st = p2m_state_init(eng, smem, ssize, &state, &err);
        EXPECT(st == P2M_OK && state, "state_init with p2m_state_size bytes: status %d", (int)st);
        if (st != P2M_OK)
            state = NULL;
    }
    tk_end();

    tk_begin("c.api.cumulative.failed_calls_leave_state");
    if (!state) {
        EXPECT(0, "no state");
    } else {
        st = cum_convert(eng, state, req.b, req.n, sizeof work_mem, sizeof out_buf, &n, &err);
        EXPECT(st == P2M_OK, "call 1: status %d: %s", (int)st, err.message);
        memcpy(snap, smem, ssize);
        st = cum_convert(eng, state, req.b, req.n - 3, sizeof work_mem, sizeof out_buf, &n, &err);
        EXPECT(st == P2M_ERR_MALFORMED, "truncated input: status %d", (int)st);
        EXPECT(memcmp(snap, smem, ssize) == 0, "state memory changed by a MALFORMED call");
        memcpy(snap, smem, ssize);
        /* a defect deep in a fourth ResourceProfiles, after three good ones */
        {
            static pbw bad, rp, sp, prof, smp;
            static const int64_t a12[] = {1, 2}, v5[] = {5};
            pbw_init(&smp);
            pbw_packed_ints(&smp, 2, a12, 2);
            pbw_packed_ints(&smp, 4, v5, 1);
            pbw_byte(&smp, 0x7f); /* field 15, wire type 7 */
            pbw_byte(&smp, 0x01);
            pbw_init(&prof);
            rq_valuetype(&prof, 1, S_CPU, S_NS);
            pbw_msg(&prof, 2, &smp);
            pbw_init(&sp);
            pbw_msg(&sp, 2, &prof);
            pbw_init(&rp);
            rq_resource(&rp, "late");
            pbw_msg(&rp, 2, &sp);
            pbw_init(&bad);
            pbw_cat(&bad, &req);
            pbw_msg(&bad, 1, &rp);
            st = cum_convert(eng, state, bad.b, bad.n, sizeof work_mem, sizeof out_buf, &n, &err);
            EXPECT(st == P2M_ERR_MALFORMED, "defect in the 4th resource: status %d", (int)st);
            EXPECT(memcmp(snap, smem, ssize) == 0,
                   "state memory changed by a call that failed in its 4th resource");
            memcpy(snap, smem, ssize);
        }
        st = cum_convert(eng, state, req.b, req.n, sizeof work_mem, 10, &n, &err);
        EXPECT(st == P2M_ERR_OUTPUT_TOO_SMALL, "output cap 10: status %d", (int)st);
        {
            size_t i, first = ssize, cnt = 0;
            for (i = 0; i < ssize; i++)
                if (snap[i] != smem[i]) {
                    if (first == ssize)
                        first = i;
                    cnt++;
                }
            EXPECT(cnt == 0, "state memory changed by an OUTPUT_TOO_SMALL call (%zu bytes from "
                             "offset %zu of %zu)", cnt, first, ssize);
        }
        memcpy(snap, smem, ssize);
        st = cum_convert(eng, state, req.b, req.n, 64, sizeof out_buf, &n, &err);
        EXPECT(st == P2M_ERR_MEMORY, "work 64 bytes: status %d", (int)st);
        EXPECT(memcmp(snap, smem, ssize) == 0, "state memory changed by a MEMORY call");
    }
    tk_end();

    tk_begin("c.api.cumulative.second_call_sums");
    if (state) {
        static const xres twice[2] = {
            {"svc", "https://example.com/schema/1", 2,
             {{"cpu_time", "ns", 2,
               {{60000314, 1000, 2100, 2,
                 {{"process.executable.name", "app"}, {"thread.name", "worker"}}},
                {40000006, 1000, 2100, 2,
                 {{"process.executable.name", "app"}, {"thread.name", "main"}}}}},
              {"memory_allocation", "By", 2,
               {{10240, 3000, 3010, 2,
                 {{"process.executable.name", "app"}, {"thread.name", "worker"}}},
                {128, 3000, 3010, 1, {{"process.executable.name", "app"}, {NULL, NULL}}}}}}},
            {"other", "", 1,
             {{"cpu_time", "ns", 1,
               {{10, 5000, 5000, 2,
                 {{"process.executable.name", "app"}, {"thread.name", "worker"}}}}}}}};
        st = cum_convert(eng, state, req.b, req.n, sizeof work_mem, sizeof out_buf, &n, &err);
        EXPECT(st == P2M_OK, "call 2: status %d: %s", (int)st, err.message);
        d = st == P2M_OK ? p2m__metrics__export_metrics_service_request__unpack(NULL, n, out_buf)
                         : NULL;
        EXPECT(st != P2M_OK || d, "cannot decode call 2's output");
        if (d) {
            size_t ri, mi;
            /* decoded_matches wants delta; check the temporality here, then
               compare with the temporality patched to delta */
            for (ri = 0; ri < d->n_resource_metrics; ri++)
                for (mi = 0; mi < d->resource_metrics[ri]->scope_metrics[0]->n_metrics; mi++) {
                    P2m__Metrics__Metric *m =
                        d->resource_metrics[ri]->scope_metrics[0]->metrics[mi];
                    EXPECT(m->sum && m->sum->aggregation_temporality == TEMPORALITY_CUMULATIVE,
                           "metric %s: temporality not cumulative", m->name);
                    if (m->sum)
                        m->sum->aggregation_temporality =
                            P2M__METRICS__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA;
                }
            if (!decoded_matches(d, twice, 2, 0, NULL, why, sizeof why))
                EXPECT(0, "after two calls: %s", why);
            p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
            d = NULL;
        }
    } else {
        EXPECT(0, "no state");
    }
    tk_end();

    tk_begin("c.api.cumulative.emits_every_series_held");
    if (state) {
        st = cum_convert(eng, state, treq.b, treq.n, sizeof work_mem, sizeof out_buf, &n, &err);
        EXPECT(st == P2M_OK, "call 3: status %d: %s", (int)st, err.message);
        d = st == P2M_OK ? p2m__metrics__export_metrics_service_request__unpack(NULL, n, out_buf)
                         : NULL;
        if (d) {
            const DRes *svc = res_by_service(d, "svc"), *ts = res_by_service(d, "ts");
            EXPECT(d->n_resource_metrics == 4, "call 3 emits %zu resources, expected 4 (svc, "
                                               "other held; ts, now new)", d->n_resource_metrics);
            EXPECT(svc && svc->scope_metrics[0]->n_metrics == 2 &&
                       svc->scope_metrics[0]->metrics[0]->sum->n_data_points == 2 &&
                       svc->scope_metrics[0]->metrics[0]->sum->data_points[0]->as_int == 60000314,
                   "svc cpu (app,worker) should still be 60000314");
            EXPECT(ts && ts->scope_metrics[0]->n_metrics == 1 &&
                       ts->scope_metrics[0]->metrics[0]->sum->n_data_points == 1 &&
                       ts->scope_metrics[0]->metrics[0]->sum->data_points[0]->as_int == 2,
                   "ts cpu (app,worker) should be 2");
            p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
        }
    } else {
        EXPECT(0, "no state");
    }
    tk_end();
    free(smem);
    free(snap);
}

/* A negative attribute index (int32 -1: a 10-byte varint) is an invalid
   reference: skipped and counted; in strict mode an error. */
static void check_negative_index(void)
{
    static pbw req, rp, sp, prof;
    static const int64_t bad[] = {1, -1}, good[] = {1, 2}, v[] = {7};
    p2m_config c;
    p2m_error err;
    p2m_stats stats;
    const p2m_result *view = NULL;
    const p2m_engine *eng;
    size_t n = 0;
    p2m_status st;
    DReq *d;
    tk_begin("c.api.negative_index");
    pbw_init(&prof);
    rq_valuetype(&prof, 1, S_CPU, S_NS);
    rq_sample(&prof, P2M_LAYOUT_V1_10, bad, 2, v, 1, NULL, 0);
    rq_sample(&prof, P2M_LAYOUT_V1_10, good, 2, v, 1, NULL, 0);
    pbw_fixed64(&prof, 3, 1000);
    pbw_init(&sp);
    pbw_msg(&sp, 2, &prof);
    pbw_init(&rp);
    rq_resource(&rp, "svc");
    pbw_msg(&rp, 2, &sp);
    pbw_init(&req);
    pbw_msg(&req, 1, &rp);
    rq_dictionary(&req, P2M_LAYOUT_V1_10);
    p2m_config_init(&c);
    memset(&stats, 0, sizeof stats);
    d = convert_decode(&c, &req, NULL, &stats, &view);
    if (d) {
        const DMetric *m = metric_at(d, 0, 0);
        EXPECT(m && m->sum && m->sum->n_data_points == 1 && m->sum->data_points[0]->as_int == 7,
               "expected one point of 7 (the sample with index -1 skipped)");
        EXPECT(stats.invalid_references == 1 && stats.samples == 2,
               "invalid_references %llu samples %llu, expected 1 and 2",
               (unsigned long long)stats.invalid_references, (unsigned long long)stats.samples);
        p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
    }
    c.strict = 1;
    eng = compile_cfg(&c, &err);
    if (eng) {
        memset(out_buf, PATTERN, sizeof out_buf);
        st = p2m_convert(eng, req.b, req.n, NULL, work_mem, sizeof work_mem, out_buf,
                         sizeof out_buf, &n, NULL, &err);
        EXPECT(st == P2M_ERR_INVALID_REFERENCE, "strict: status %d, expected INVALID_REFERENCE",
               (int)st);
        EXPECT(all_pattern(out_buf, sizeof out_buf), "strict failure wrote into the output");
    }
    tk_end();
}

/* ---- declared metrics, unit spellings, unfed types, layout conflicts ---- */

enum {
    X_EMPTY, X_PROC, X_THREAD, X_APP, X_WORKER, X_NS, X_COUNT, X_BYTES, X_OFFCPU, X_WALL,
    X_CONT, X_DELAY, X_AOBJ, X_INUSE, X_CPU, X_SAMPLES, X_GOR, X_ASPACE, X__N
};
static const char *const x_strings[X__N] = {
    "", "process.executable.name", "thread.name", "app", "worker", "nanoseconds", "count",
    "bytes", "off_cpu", "wall", "contentions", "delay", "alloc_objects", "inuse_space", "cpu",
    "samples", "goroutine", "alloc_space"};

/* One v1.10 profile: sample type, optional period type and period, time,
   duration, samples of attrs [1,2] with the given single values. */
static void x_profile(pbw *sp, int64_t type, int64_t unit, int64_t ptype, int64_t punit,
                      int64_t period, uint64_t time, uint64_t dur, const int64_t *vals, size_t nv)
{
    static const int64_t a12[] = {1, 2};
    pbw prof;
    size_t i;
    pbw_init(&prof);
    rq_valuetype(&prof, 1, type, unit);
    for (i = 0; i < nv; i++)
        rq_sample(&prof, P2M_LAYOUT_V1_10, a12, 2, &vals[i], 1, NULL, 0);
    pbw_fixed64(&prof, 3, time);
    pbw_uint(&prof, 4, dur);
    if (ptype) {
        rq_valuetype(&prof, 5, ptype, punit);
        pbw_int(&prof, 6, period);
    }
    pbw_msg(sp, 2, &prof);
}

/* The dictionary of these requests: the strings x_strings, attribute entries
   1 (process app) and 2 (thread worker), then nbad bytes as one more entry. */
static void x_dictionary(pbw *req, const unsigned char *bad, size_t nbad)
{
    pbw dict, e;
    int i;
    pbw_init(&dict);
    for (i = 0; i < X__N; i++)
        pbw_str(&dict, 5, x_strings[i]);
    pbw_init(&e);
    pbw_msg(&dict, 6, &e);
    rq_attr_entry(&dict, X_PROC, "app");
    rq_attr_entry(&dict, X_THREAD, "worker");
    if (nbad) pbw_bytes(&dict, 6, bad, nbad);
    pbw_init(&e);
    pbw_msg(&dict, 7, &e);
    pbw_msg(req, 2, &dict);
}

/* Request of the declared-metric checks; every expected value below is
   worked out from these numbers:
   scope 1: off_cpu/ns 500+250 (t 1000+100); wall/count 3 x period wall/ns
            10 ms (t 2000+100); contentions/count 4+6; delay/ns 1234;
            alloc_objects/count 17; inuse_space/bytes 4096+1024 (t 5000+10);
            goroutine/count 1+1 (fed by nothing); alloc_space/bytes 64
            (memory disabled: fed by nothing)
   scope 2: cpu/count 7 x period cpu/ns 1 ms (a V8 inspector sender)
   scope 3: cpu/ns 100 and samples/count 5 x period cpu/ns 1 ms (one pprof
            CPU profile: only the time profile counts) */
static void build_extra_request(pbw *req)
{
    static const int64_t v500_250[] = {500, 250}, v3[] = {3}, v4_6[] = {4, 6}, v1234[] = {1234},
                         v17[] = {17}, v4096_1024[] = {4096, 1024}, v1_1[] = {1, 1}, v64[] = {64},
                         v7[] = {7}, v100[] = {100}, v5[] = {5};
    pbw rp, sp;
    pbw_init(req);
    pbw_init(&rp);
    rq_resource(&rp, "svc");
    pbw_init(&sp);
    x_profile(&sp, X_OFFCPU, X_NS, 0, 0, 0, 1000, 100, v500_250, 2);
    x_profile(&sp, X_WALL, X_COUNT, X_WALL, X_NS, 10000000, 2000, 100, v3, 1);
    x_profile(&sp, X_CONT, X_COUNT, 0, 0, 0, 3000, 0, v4_6, 2);
    x_profile(&sp, X_DELAY, X_NS, 0, 0, 0, 3000, 0, v1234, 1);
    x_profile(&sp, X_AOBJ, X_COUNT, 0, 0, 0, 4000, 0, v17, 1);
    x_profile(&sp, X_INUSE, X_BYTES, 0, 0, 0, 5000, 10, v4096_1024, 2);
    x_profile(&sp, X_GOR, X_COUNT, 0, 0, 0, 6000, 0, v1_1, 2);
    x_profile(&sp, X_ASPACE, X_BYTES, 0, 0, 0, 6000, 0, v64, 1);
    pbw_msg(&rp, 2, &sp);
    pbw_init(&sp);
    x_profile(&sp, X_CPU, X_COUNT, X_CPU, X_NS, 1000000, 7000, 100, v7, 1);
    pbw_msg(&rp, 2, &sp);
    pbw_init(&sp);
    x_profile(&sp, X_CPU, X_NS, X_CPU, X_NS, 1000000, 8000, 100, v100, 1);
    x_profile(&sp, X_SAMPLES, X_COUNT, X_CPU, X_NS, 1000000, 8000, 100, v5, 1);
    pbw_msg(&rp, 2, &sp);
    pbw_msg(req, 1, &rp);
    x_dictionary(req, NULL, 0);
}

static const DMetric *metric_named(const DReq *d, const char *name)
{
    size_t i;
    if (d->n_resource_metrics < 1 || d->resource_metrics[0]->n_scope_metrics < 1)
        return NULL;
    for (i = 0; i < d->resource_metrics[0]->scope_metrics[0]->n_metrics; i++)
        if (strcmp(d->resource_metrics[0]->scope_metrics[0]->metrics[i]->name, name) == 0)
            return d->resource_metrics[0]->scope_metrics[0]->metrics[i];
    return NULL;
}

/* The metric's single point (Sum or Gauge); NULL unless it has exactly one. */
static const DPoint *only_point(const DMetric *m, int gauge)
{
    if (!m) return NULL;
    if (gauge)
        return m->data_case == P2M__METRICS__METRIC__DATA_GAUGE && m->gauge->n_data_points == 1
                   ? m->gauge->data_points[0] : NULL;
    return m->data_case == P2M__METRICS__METRIC__DATA_SUM && m->sum->n_data_points == 1 &&
                   m->sum->is_monotonic && m->sum->aggregation_temporality == 1
               ? m->sum->data_points[0] : NULL;
}

static void expect_int_point(const DReq *d, const char *name, const char *unit, int64_t v,
                             uint64_t start, uint64_t time)
{
    const DMetric *m = metric_named(d, name);
    const DPoint *p = only_point(m, 0);
    EXPECT(m && strcmp(m->unit, unit) == 0, "%s: missing or unit %s, expected %s", name,
           m ? m->unit : "-", unit);
    EXPECT(p && p->value_case == P2M__METRICS__NUMBER_DATA_POINT__VALUE_AS_INT && p->as_int == v &&
               p->start_time_unix_nano == start && p->time_unix_nano == time,
           "%s: expected one monotonic delta Sum point as_int %lld over %llu..%llu, got %lld over "
           "%llu..%llu",
           name, (long long)v, (unsigned long long)start, (unsigned long long)time,
           p ? (long long)p->as_int : -1LL, p ? (unsigned long long)p->start_time_unix_nano : 0ULL,
           p ? (unsigned long long)p->time_unix_nano : 0ULL);
}

static void expect_double_point(const DReq *d, const char *name, const char *unit, double v,
                                int gauge)
{
    const DMetric *m = metric_named(d, name);
    const DPoint *p = only_point(m, gauge);
    EXPECT(m && strcmp(m->unit, unit) == 0, "%s: missing or unit %s, expected %s", name,
           m ? m->unit : "-", unit);
    EXPECT(p && p->value_case == P2M__METRICS__NUMBER_DATA_POINT__VALUE_AS_DOUBLE &&
               fabs(p->as_double - v) <= 1e-12 * fabs(v),
           "%s: expected one %s point as_double %.17g, got %.17g", name, gauge ? "Gauge" : "Sum",
           v, p ? p->as_double : -1.0);
}

static void check_extra_metrics(void)
{
    static pbw req;
    static const char *const t_off[] = {"off_cpu/nanoseconds"}, *const t_wall[] = {"wall/count"},
                             *const t_cont[] = {"contentions/count"},
                             *const t_delay[] = {"delay/nanoseconds"},
                             *const t_aobj[] = {"alloc_objects/count"},
                             *const t_inuse[] = {"inuse_space/bytes"},
                             *const t_all[] = {"samples/count", "cpu/nanoseconds", "cpu/count"};
    p2m_extra_metric x[7];
    p2m_config c;
    p2m_stats stats;
    p2m_options opt;
    p2m_type_count unfed[3];
    const p2m_result *view = NULL;
    DReq *d;
    tk_begin("c.api.extra_metrics");
    memset(&opt, 0, sizeof opt);
    memset(unfed, 0xA5, sizeof unfed);
    opt.unfed = unfed;
    opt.unfed_cap = 3;
    build_extra_request(&req);
    memset(x, 0, sizeof x);
    x[0].name = "off_cpu_time"; x[0].unit = "ms"; x[0].sample_types = t_off;
    x[0].n_sample_types = 1;
    x[1].name = "wall_time"; x[1].unit = "seconds"; x[1].sample_types = t_wall;
    x[1].n_sample_types = 1;
    x[2].name = "lock_contentions"; x[2].unit = "{contentions}"; x[2].sample_types = t_cont;
    x[2].n_sample_types = 1; x[2].description = "Lock contentions";
    x[3].name = "lock_delay"; x[3].sample_types = t_delay; x[3].n_sample_types = 1;
    x[4].name = "alloc_objects"; x[4].sample_types = t_aobj; x[4].n_sample_types = 1;
    x[5].name = "heap_in_use"; x[5].unit = "KiBy"; x[5].sample_types = t_inuse;
    x[5].n_sample_types = 1;
    x[6].name = "all_cpu"; x[6].unit = "ns"; x[6].sample_types = t_all; x[6].n_sample_types = 3;
    p2m_config_init(&c);
    c.memory.enabled = 0;
    c.extra = x;
    c.n_extra = 7;
    d = convert_decode(&c, &req, &opt, &stats, &view);
    if (d) {
        const DMetric *m;
        size_t i;
        static const char *const order[] = {"cpu_time", "off_cpu_time", "wall_time",
                                            "lock_contentions", "lock_delay", "alloc_objects",
                                            "heap_in_use", "all_cpu"};
        EXPECT(d->n_resource_metrics == 1 &&
                   d->resource_metrics[0]->scope_metrics[0]->n_metrics == 8,
               "expected one resource with 8 metrics (cpu_time, then the 7 declared)");
        for (i = 0; i < 8 && d->n_resource_metrics == 1 &&
                    i < d->resource_metrics[0]->scope_metrics[0]->n_metrics; i++)
            EXPECT(!strcmp(d->resource_metrics[0]->scope_metrics[0]->metrics[i]->name, order[i]),
                   "metric %zu is %s, expected %s", i,
                   d->resource_metrics[0]->scope_metrics[0]->metrics[i]->name, order[i]);
        /* cpu: scope 2's cpu/count 7 x 1 ms, scope 3's cpu/ns 100 (its samples/count is not
           counted) */
        expect_int_point(d, "cpu_time", "ns", 7000100, 7000, 8100);
        expect_double_point(d, "off_cpu_time", "ms", 750.0 / 1e6, 0);
        expect_double_point(d, "wall_time", "s", 3 * 0.01, 0);
        expect_int_point(d, "lock_contentions", "{contentions}", 10, 3000, 3000);
        expect_int_point(d, "lock_delay", "ns", 1234, 3000, 3000);
        expect_int_point(d, "alloc_objects", "1", 17, 4000, 4000);
        expect_double_point(d, "heap_in_use", "KiBy", 5120.0 / 1024.0, 1);
        expect_int_point(d, "all_cpu", "ns", 7000100, 7000, 8100);
        m = metric_named(d, "heap_in_use");
        EXPECT(m && only_point(m, 1) && only_point(m, 1)->time_unix_nano == 5010 &&
                   only_point(m, 1)->start_time_unix_nano == 0,
               "heap_in_use: the gauge point's time is the profile's end (5010), no start");
        m = metric_named(d, "wall_time");
        EXPECT(m && strcmp(m->description, "Summed from the samples of wall/count") == 0,
               "wall_time: generated description \"%s\"", m ? m->description : "-");
        m = metric_named(d, "heap_in_use");
        EXPECT(m && strcmp(m->description,
                           "In use at the end of the profile, from inuse_space/bytes") == 0,
               "heap_in_use: generated description \"%s\"", m ? m->description : "-");
        m = metric_named(d, "lock_contentions");
        EXPECT(m && strcmp(m->description, "Lock contentions") == 0,
               "lock_contentions: description");
        if (view) {
            p2m_metric_info info;
            memset(&info, 0, sizeof info);
            p2m_result_metric(view, 0, 6, &info);
            EXPECT(info.kind == P2M_METRIC_EXTRA && info.extra == 5 && info.is_gauge &&
                       info.is_double,
                   "view of heap_in_use: kind %d extra %u gauge %d double %d", (int)info.kind,
                   (unsigned)info.extra, info.is_gauge, info.is_double);
            p2m_result_metric(view, 0, 0, &info);
            EXPECT(info.kind == P2M_METRIC_CPU && !info.is_gauge, "view of cpu_time");
        }
        /* fed by nothing: goroutine/count (unclassified) and alloc_space/bytes (memory off) */
        EXPECT(stats.profiles == 11 && stats.profiles_unclassified == 1 &&
                   stats.profiles_unfed == 2 && stats.samples_unfed == 3 && stats.n_unfed == 2,
               "stats: profiles %llu unclassified %llu unfed %llu samples_unfed %llu n_unfed %zu",
               (unsigned long long)stats.profiles, (unsigned long long)stats.profiles_unclassified,
               (unsigned long long)stats.profiles_unfed, (unsigned long long)stats.samples_unfed,
               stats.n_unfed);
        EXPECT(stats.n_unfed == 2 && str_eq(unfed[0].type, "goroutine") &&
                   str_eq(unfed[0].unit, "count") && unfed[0].profiles == 1 &&
                   unfed[0].samples == 2 && str_eq(unfed[1].type, "alloc_space") &&
                   str_eq(unfed[1].unit, "bytes") && unfed[1].samples == 1 &&
                   unfed[2].profiles == 0xA5A5A5A5A5A5A5A5ull,
               "unfed list: %s/%s, %s/%s (the third entry must stay untouched)",
               str_show(unfed[0].type), str_show(unfed[0].unit), str_show(unfed[1].type),
               str_show(unfed[1].unit));
        /* an array of one: the first type only, the totals still count both */
        opt.unfed_cap = 1;
        p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
        d = convert_decode(&c, &req, &opt, &stats, NULL);
        EXPECT(d && stats.n_unfed == 1 && stats.profiles_unfed == 2 &&
                   str_eq(unfed[0].type, "goroutine"),
               "unfed_cap 1: n_unfed %zu profiles_unfed %llu", stats.n_unfed,
               (unsigned long long)stats.profiles_unfed);
        /* no array: totals only */
        if (d) p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
        d = convert_decode(&c, &req, NULL, &stats, NULL);
        EXPECT(d && stats.n_unfed == 0 && stats.profiles_unfed == 2 && stats.samples_unfed == 3,
               "no unfed array: n_unfed %zu profiles_unfed %llu", stats.n_unfed,
               (unsigned long long)stats.profiles_unfed);
        p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
    }
    tk_end();

    tk_begin("c.api.extra_metrics_cumulative_gauge");
    {
        /* a gauge held in the state takes the latest value; a sum adds up */
        p2m_error err;
        const p2m_engine *eng;
        static uint64_t state_mem[1 << 16];
        p2m_state *state = NULL;
        size_t n = 0;
        int call;
        x[0].sample_types = t_inuse; x[0].name = "heap"; x[0].unit = NULL;
        x[1].sample_types = t_cont; x[1].name = "cont"; x[1].unit = NULL; x[1].description = NULL;
        p2m_config_init(&c);
        c.memory.enabled = 0;
        c.extra = x;
        c.n_extra = 2;
        c.temporality = P2M_TEMPORALITY_CUMULATIVE;
        c.state_max_series = 64;
        c.state_bytes = 4096;
        eng = compile_cfg(&c, &err);
        EXPECT(eng != NULL, "compile: %s: %s", err.field, err.message);
        EXPECT(!eng || p2m_state_size(eng) <= sizeof state_mem, "state size");
        if (eng && p2m_state_init(eng, state_mem, sizeof state_mem, &state, &err) == P2M_OK) {
            memset(&opt, 0, sizeof opt); /* no unfed list here */
            opt.state = state;
            for (call = 0; call < 2; call++) {
                p2m_status st = p2m_convert(eng, req.b, req.n, &opt, work_mem, sizeof work_mem,
                                            out_buf, sizeof out_buf, &n, NULL, &err);
                DReq *dd =
                    st == P2M_OK ? p2m__metrics__export_metrics_service_request__unpack(NULL, n,
                                                                                        out_buf)
                                 : NULL;
                EXPECT(dd != NULL, "call %d: status %d %s", call, (int)st, err.message);
                if (dd) {
                    const DMetric *h = metric_named(dd, "heap"), *ct = metric_named(dd, "cont");
                    EXPECT(h && h->data_case == P2M__METRICS__METRIC__DATA_GAUGE &&
                               h->gauge->n_data_points == 1 &&
                               h->gauge->data_points[0]->as_int == 5120,
                           "call %d: heap gauge should stay 5120 (By), got %lld", call,
                           h && h->gauge && h->gauge->n_data_points
                               ? (long long)h->gauge->data_points[0]->as_int
                               : -1LL);
                    EXPECT(ct && ct->data_case == P2M__METRICS__METRIC__DATA_SUM &&
                               ct->sum->aggregation_temporality == 2 &&
                               ct->sum->n_data_points == 1 &&
                               ct->sum->data_points[0]->as_int == 10 * (call + 1),
                           "call %d: cont sum should be %d", call, 10 * (call + 1));
                    p2m__metrics__export_metrics_service_request__free_unpacked(dd, NULL);
                }
            }
        } else {
            EXPECT(0, "state init failed");
        }
    }
    tk_end();
}

/* p2m_engine_metrics: what a compiled engine will emit, in output order,
   with units in UCUM form and kinds as configured (worked out from the
   configuration below, not from a conversion). */
static void check_engine_metrics(void)
{
    static const char *const t_inuse[] = {"inuse_space/bytes"};
    static const char *const t_off[] = {"off_cpu/nanoseconds"};
    p2m_extra_metric x[2];
    p2m_config c;
    p2m_error err;
    const p2m_engine *eng;
    p2m_metric_info m[8];
    size_t n;
    tk_begin("c.api.engine_metrics");
    memset(x, 0, sizeof x);
    x[0].name = "heap"; x[0].sample_types = t_inuse; x[0].n_sample_types = 1;
    x[1].name = "off"; x[1].unit = "milliseconds"; x[1].sample_types = t_off;
    x[1].n_sample_types = 1;
    p2m_config_init(&c);
    c.cpu.unit = "seconds";
    c.memory.enabled = 0;
    c.function.enabled = 1;
    c.extra = x;
    c.n_extra = 2;
    eng = compile_cfg(&c, &err);
    EXPECT(eng != NULL, "compile: %s: %s", err.field, err.message);
    if (eng) {
        memset(m, 0, sizeof m);
        n = p2m_engine_metrics(eng, m, 8);
        EXPECT(n == 4, "4 metrics (cpu, function, heap, off), got %zu", n);
        EXPECT(n == 4 && m[0].kind == P2M_METRIC_CPU && str_eq(m[0].name, "cpu_time") &&
                   str_eq(m[0].unit, "s") && m[0].is_double && !m[0].is_gauge,
               "cpu: %s %s", str_show(m[0].name), str_show(m[0].unit));
        EXPECT(n == 4 && m[1].kind == P2M_METRIC_FUNCTION && str_eq(m[1].unit, "s"),
               "function takes the cpu unit: %s", str_show(m[1].unit));
        EXPECT(n == 4 && m[2].kind == P2M_METRIC_EXTRA && m[2].extra == 0 &&
                   str_eq(m[2].name, "heap") && str_eq(m[2].unit, "By") && m[2].is_gauge &&
                   !m[2].is_double,
               "heap: %s %s gauge %d", str_show(m[2].name), str_show(m[2].unit), m[2].is_gauge);
        EXPECT(n == 4 && m[3].kind == P2M_METRIC_EXTRA && m[3].extra == 1 &&
                   str_eq(m[3].unit, "ms") && !m[3].is_gauge && m[3].is_double,
               "off: %s %s", str_show(m[3].name), str_show(m[3].unit));
        EXPECT(p2m_engine_metrics(eng, m, 1) == 4 && p2m_engine_metrics(eng, NULL, 0) == 4,
               "count without room");
        EXPECT(p2m_engine_metrics(NULL, m, 8) == 0, "NULL engine");
    }
    tk_end();
}

static void check_extra_config_errors(void)
{
    static const char *const t_mix[] = {"inuse_space/bytes", "alloc_space/bytes"},
                             *const t_bad[] = {"off_cpu"}, *const t_ns[] = {"off_cpu/nanoseconds"};
    p2m_extra_metric x;
    p2m_config c;
    p2m_error err;
    tk_begin("c.api.extra_metrics_config_errors");
    memset(&x, 0, sizeof x);
    p2m_config_init(&c);
    c.extra = &x;
    c.n_extra = 1;
    x.name = "m"; x.sample_types = t_mix; x.n_sample_types = 2;
    expect_config_error(&c, &err, "snapshot and accrued types");
    EXPECT(strcmp(err.field, "metrics.extra[0].sample_types") == 0 &&
               strstr(err.message, "snapshot"),
           "mixing: field %s message %s", err.field, err.message);
    x.sample_types = t_bad; x.n_sample_types = 1;
    expect_config_error(&c, &err, "type without unit");
    EXPECT(strcmp(err.field, "metrics.extra[0].sample_types") == 0 &&
               strstr(err.message, "type/unit"),
           "no slash: field %s message %s", err.field, err.message);
    x.sample_types = t_ns; x.unit = "By";
    expect_config_error(&c, &err, "size metric of a time type");
    EXPECT(strcmp(err.field, "metrics.extra[0].sample_types") == 0 && strstr(err.message, "bytes"),
           "By of nanoseconds: field %s message %s", err.field, err.message);
    x.unit = NULL; x.name = "cpu_time";
    expect_config_error(&c, &err, "name taken");
    EXPECT(strcmp(err.field, "metrics.extra[0].metric_name") == 0, "duplicate name: field %s",
           err.field);
    x.name = "";
    expect_config_error(&c, &err, "empty name");
    EXPECT(strcmp(err.field, "metrics.extra[0].metric_name") == 0, "empty name: field %s",
           err.field);
    x.name = "m"; x.n_sample_types = 0;
    expect_config_error(&c, &err, "no types");
    EXPECT(strcmp(err.field, "metrics.extra[0].sample_types") == 0, "no types: field %s",
           err.field);
    p2m_config_init(&c);
    c.memory.unit = "bytes and more";
    expect_config_error(&c, &err, "memory unit");
    EXPECT(strcmp(err.field, "metrics.memory.unit") == 0 && strstr(err.message, "kibibytes"),
           "memory unit: field %s message %s", err.field, err.message);
    tk_end();
}

/* Unit spellings: long names are accepted, emitted in UCUM form, and sizes
   convert (main request: memory (app,worker) 5120 B and (app) 64 B). */
static void check_unit_spellings(void)
{
    static pbw req;
    p2m_config c;
    DReq *d;
    tk_begin("c.api.unit_spellings");
    build_main_request(&req, P2M_LAYOUT_V1_10, 0);
    p2m_config_init(&c);
    c.cpu.unit = "nanoseconds";
    c.memory.unit = "bytes";
    d = convert_decode(&c, &req, NULL, NULL, NULL);
    if (d) {
        const DMetric *cpu = metric_at(d, 0, 0), *mem = metric_at(d, 0, 1);
        EXPECT(cpu && strcmp(cpu->unit, "ns") == 0 && cpu->sum->data_points[0]->as_int == 30000157,
               "cpu in nanoseconds: unit %s", cpu ? cpu->unit : "-");
        EXPECT(mem && strcmp(mem->unit, "By") == 0 && mem->sum->data_points[0]->as_int == 5120,
               "memory in bytes: unit %s", mem ? mem->unit : "-");
        p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
    }
    c.cpu.unit = "seconds";
    c.memory.unit = "kibibytes";
    d = convert_decode(&c, &req, NULL, NULL, NULL);
    if (d) {
        const DMetric *cpu = metric_at(d, 0, 0), *mem = metric_at(d, 0, 1);
        EXPECT(cpu && strcmp(cpu->unit, "s") == 0 &&
                   cpu->sum->data_points[0]->value_case ==
                       P2M__METRICS__NUMBER_DATA_POINT__VALUE_AS_DOUBLE &&
                   fabs(cpu->sum->data_points[0]->as_double - 0.030000157) < 1e-15,
               "cpu in seconds: unit %s", cpu ? cpu->unit : "-");
        EXPECT(mem && strcmp(mem->unit, "KiBy") == 0 &&
                   mem->sum->data_points[0]->as_double == 5.0 &&
                   mem->sum->data_points[1]->as_double == 0.0625,
               "memory in kibibytes: unit %s, expected 5 and 0.0625", mem ? mem->unit : "-");
        p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
    }
    c.memory.unit = "MiBy";
    d = convert_decode(&c, &req, NULL, NULL, NULL);
    if (d) {
        const DMetric *mem = metric_at(d, 0, 1);
        EXPECT(mem && strcmp(mem->unit, "MiBy") == 0 &&
                   mem->sum->data_points[0]->as_double == 5120.0 / 1048576.0,
               "memory in MiBy");
        p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
    }
    tk_end();
}

/* Converts req with the default configuration but layout and strict;
   P2M_ERR_CONFIG (and a failed check) when that does not compile. */
static p2m_status convert_layout(const pbw *req, p2m_layout layout, int strict, p2m_stats *stats,
                                 p2m_error *err)
{
    p2m_config c;
    const p2m_engine *eng;
    size_t n = 0;
    p2m_config_init(&c);
    c.layout = layout;
    c.strict = strict;
    eng = compile_cfg(&c, err);
    EXPECT(eng != NULL, "layout %d strict %d did not compile", (int)layout, strict);
    return eng ? convert(eng, req, &n, stats, err) : P2M_ERR_CONFIG;
}

/* A forced layout that the input's evidence contradicts: a warning in the
   stats, an error in strict mode. */
static void check_layout_conflict(void)
{
    static pbw req;
    p2m_error err;
    p2m_stats stats;
    p2m_status st;
    tk_begin("c.api.layout_conflict");
    build_main_request(&req, P2M_LAYOUT_V1_8, 0);
    st = convert_layout(&req, P2M_LAYOUT_V1_10, 0, &stats, &err);
    EXPECT(st == P2M_OK && stats.layout_conflict == 1 && stats.layout_evidence == P2M_LAYOUT_V1_8 &&
               stats.layout == P2M_LAYOUT_V1_10,
           "v1.8 data forced to v1.10: status %d conflict %d evidence %d", (int)st,
           stats.layout_conflict, (int)stats.layout_evidence);
    st = convert_layout(&req, P2M_LAYOUT_V1_10, 1, &stats, &err);
    EXPECT(st == P2M_ERR_MALFORMED && strstr(err.message, "forced layout"),
           "strict: status %d message %s", (int)st, err.message);
    st = convert_layout(&req, P2M_LAYOUT_V1_8, 0, &stats, &err);
    EXPECT(st == P2M_OK && stats.layout_conflict == 0 && stats.layout_evidence == P2M_LAYOUT_V1_8,
           "v1.8 forced on v1.8: conflict %d evidence %d", stats.layout_conflict,
           (int)stats.layout_evidence);
    build_main_request(&req, P2M_LAYOUT_V1_10, 0);
    st = convert_layout(&req, P2M_LAYOUT_AUTO, 0, &stats, &err);
    EXPECT(st == P2M_OK && stats.layout_conflict == 0 && stats.layout_evidence == P2M_LAYOUT_V1_10,
           "auto on v1.10: conflict %d evidence %d", stats.layout_conflict,
           (int)stats.layout_evidence);
    tk_end();
}

/* Layout evidence that only samples past the ones the survey reads for it
   carry (20 samples without any first): the statistics and the layout are
   those of reading every sample (docs/spec.md section 1.4). old: the
   samples in v1.9's layout (values alone, then attribute indices on the
   late sample), else v1.10's (attribute indices and timestamps, then packed
   values); unfed: the late sample in a goroutine/count profile, which feeds
   no metric; late: whether there is a late sample at all, and 2: a
   malformed one (a varint that does not end) and after it a malformed
   attribute entry in the dictionary. */
static void build_late_evidence(pbw *req, int old, int unfed, int late)
{
    static const unsigned char bad_varint[] = {0x28, 0xff, 0xff, 0xff, 0xff, 0xff,
                                               0xff, 0xff, 0xff, 0xff};
    static const unsigned char bad_entry[] = {0x08, 0x01, 0x12, 0x05, 0x0a};
    static const int64_t a12[] = {1, 2}, v3[] = {3};
    static const uint64_t ts[] = {1050};
    const int layout = old ? P2M_LAYOUT_V1_9 : P2M_LAYOUT_V1_10;
    pbw rp, sp, prof, e;
    int i;
    pbw_init(req);
    pbw_init(&rp);
    rq_resource(&rp, "svc");
    pbw_init(&sp);
    pbw_init(&prof);
    rq_valuetype(&prof, 1, X_SAMPLES, X_COUNT); /* a sample counts 1 ms of cpu */
    rq_valuetype(&prof, 5, X_CPU, X_NS);
    pbw_int(&prof, 6, 1000000);
    for (i = 0; i < 20; i++) {
        if (old) rq_sample(&prof, layout, NULL, 0, v3, 1, NULL, 0);
        else rq_sample(&prof, layout, a12, 2, NULL, 0, ts, 1);
    }
    if (late == 2) {
        pbw_init(&e);
        pbw_raw(&e, bad_varint, sizeof bad_varint);
        pbw_msg(&prof, 2, &e);
    } else if (late && !unfed) {
        rq_sample(&prof, layout, a12, 2, v3, 1, NULL, 0);
    }
    pbw_fixed64(&prof, 3, 1000);
    pbw_uint(&prof, 4, 100);
    pbw_msg(&sp, 2, &prof);
    if (late && unfed) {
        pbw_init(&prof);
        rq_valuetype(&prof, 1, X_GOR, X_COUNT);
        rq_sample(&prof, layout, a12, 2, v3, 1, NULL, 0);
        pbw_msg(&sp, 2, &prof);
    }
    pbw_msg(&rp, 2, &sp);
    pbw_msg(req, 1, &rp);
    x_dictionary(req, bad_entry, late == 2 ? sizeof bad_entry : 0);
}

static void check_late_evidence(void)
{
    static const struct {
        int old, unfed, late;
        p2m_layout layout, evidence;
        int64_t cpu; /* the cpu points' sum */
    } cases[] = {
        {0, 0, 1, P2M_LAYOUT_V1_10, P2M_LAYOUT_V1_10, (20 + 3) * 1000000},
        {0, 1, 1, P2M_LAYOUT_V1_10, P2M_LAYOUT_V1_10, 20 * 1000000},
        {0, 0, 0, P2M_LAYOUT_V1_10, P2M_LAYOUT_AUTO, 20 * 1000000},
        {1, 0, 1, P2M_LAYOUT_V1_9, P2M_LAYOUT_V1_9, 21 * 3 * 1000000},
        {1, 1, 1, P2M_LAYOUT_V1_9, P2M_LAYOUT_V1_9, 20 * 3 * 1000000},
    };
    static pbw req;
    size_t i;
    tk_begin("c.api.late_layout_evidence");
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        p2m_config c;
        p2m_stats stats;
        DReq *d;
        const DMetric *m;
        int64_t sum = 0;
        int ints = 1;
        size_t k;
        build_late_evidence(&req, cases[i].old, cases[i].unfed, cases[i].late);
        p2m_config_init(&c);
        d = convert_decode(&c, &req, NULL, &stats, NULL);
        EXPECT(d != NULL, "case %u: no output", (unsigned)i);
        if (!d) continue;
        m = metric_named(d, "cpu_time");
        if (m && m->data_case == P2M__METRICS__METRIC__DATA_SUM)
            for (k = 0; k < m->sum->n_data_points; k++) {
                ints &= m->sum->data_points[k]->value_case ==
                        P2M__METRICS__NUMBER_DATA_POINT__VALUE_AS_INT;
                sum += m->sum->data_points[k]->as_int;
            }
        EXPECT(stats.layout == cases[i].layout && stats.layout_evidence == cases[i].evidence,
               "case %u: layout %d evidence %d, expected %d and %d", (unsigned)i,
               (int)stats.layout, (int)stats.layout_evidence, (int)cases[i].layout,
               (int)cases[i].evidence);
        EXPECT(m && ints && sum == cases[i].cpu, "case %u: cpu_time %lld, expected %lld",
               (unsigned)i, (long long)sum, (long long)cases[i].cpu);
        p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
        { /* p2m_work_size surveys lazily too: exactly what it asks for is enough */
            p2m_error err;
            const p2m_engine *eng = compile_cfg(&c, &err);
            size_t need = 0, n = 0;
            p2m_status st = eng ? p2m_work_size(eng, req.b, req.n, &need, &err) : P2M_ERR_CONFIG;
            EXPECT(st == P2M_OK && need > 0 && need <= sizeof work_mem,
                   "case %u: work size status %d need %zu", (unsigned)i, (int)st, need);
            if (st == P2M_OK && need <= sizeof work_mem) {
                st = p2m_convert(eng, req.b, req.n, NULL, work_mem, need, out_buf, sizeof out_buf,
                                 &n, NULL, &err);
                EXPECT(st == P2M_OK, "case %u: convert in %zu B: status %d %s", (unsigned)i,
                       need, (int)st, err.message);
            }
        }
    }
    /* both defects: the sample's is reported, as by a survey of every sample */
    build_late_evidence(&req, 0, 0, 2);
    {
        p2m_error err;
        p2m_stats stats;
        p2m_status st;
        size_t k, at = 0;
        for (k = 0; k + 2 <= req.n; k++)
            if (req.b[k] == 0x28 && req.b[k + 1] == 0xff) at = k;
        EXPECT(at > 0, "test bug: the malformed sample is not in the request");
        st = convert_layout(&req, P2M_LAYOUT_AUTO, 0, &stats, &err);
        EXPECT(st == P2M_ERR_MALFORMED && err.offset > at && err.offset <= at + 10,
               "malformed late sample: status %d offset %zu (sample at %zu): %s", (int)st,
               err.offset, at, err.message);
    }
    tk_end();
}

/* p2m_options.resource_attributes: added to every resource, replacing an
   input attribute of the same key, the last of a repeated key winning; in
   the protobuf output (decoded by protobuf-c), the result view, and the
   cumulative state's copies. */
static size_t count_key(const DRes *r, const char *key)
{
    size_t i, n = 0;
    for (i = 0; r->resource && i < r->resource->n_attributes; i++)
        n += strcmp(r->resource->attributes[i]->key, key) == 0;
    return n;
}

static void expect_xattrs(const DReq *d, const DReq *plain, const char *where)
{
    size_t ri;
    EXPECT(d->n_resource_metrics == plain->n_resource_metrics && d->n_resource_metrics == 2,
           "%s: %zu resources, expected 2", where, d->n_resource_metrics);
    for (ri = 0; ri < d->n_resource_metrics && ri < plain->n_resource_metrics; ri++) {
        const DRes *r = d->resource_metrics[ri], *p = plain->resource_metrics[ri];
        const DKV *svc =
            find_attr(r->resource->attributes, r->resource->n_attributes, "service.name");
        const DKV *env =
            find_attr(r->resource->attributes, r->resource->n_attributes, "deployment.environment");
        const DKV *num = find_attr(r->resource->attributes, r->resource->n_attributes, "k.int");
        size_t had_svc = count_key(p, "service.name");
        EXPECT(count_key(r, "service.name") == 1 && svc && svc->value &&
                   strcmp(svc->value->string_value, "renamed") == 0,
               "%s: resource %zu service.name not replaced by \"renamed\"", where, ri);
        EXPECT(count_key(r, "deployment.environment") == 1 && env && env->value &&
                   strcmp(env->value->string_value, "test") == 0,
               "%s: resource %zu deployment.environment not the last given (\"test\")", where, ri);
        EXPECT(num && num->value &&
                   num->value->value_case == P2M__METRICS__ANY_VALUE__VALUE_INT_VALUE &&
                   num->value->int_value == -7,
               "%s: resource %zu k.int not int -7", where, ri);
        EXPECT(r->resource->n_attributes == p->resource->n_attributes - had_svc + 3,
               "%s: resource %zu has %zu attributes, expected %zu", where, ri,
               r->resource->n_attributes, p->resource->n_attributes - had_svc + 3);
    }
}

static void check_resource_attributes(void)
{
    static pbw req;
    p2m_attribute xa[4];
    p2m_options opt;
    p2m_config c;
    p2m_error err;
    const p2m_result *view = NULL;
    DReq *plain, *d;
    p2m_status st;
    size_t n;

    build_main_request(&req, P2M_LAYOUT_V1_10, 0);
    memset(xa, 0, sizeof xa);
    xa[0].key.ptr = "deployment.environment"; xa[0].key.len = 22;
    xa[0].value.type = P2M_VALUE_STRING; xa[0].value.str.ptr = "prod"; xa[0].value.str.len = 4;
    xa[1].key.ptr = "service.name"; xa[1].key.len = 12;
    xa[1].value.type = P2M_VALUE_STRING; xa[1].value.str.ptr = "renamed"; xa[1].value.str.len = 7;
    xa[2].key.ptr = "k.int"; xa[2].key.len = 5;
    xa[2].value.type = P2M_VALUE_INT; xa[2].value.i = -7;
    xa[3] = xa[0];
    xa[3].value.str.ptr = "test";
    memset(&opt, 0, sizeof opt);
    opt.resource_attributes = xa;
    opt.n_resource_attributes = 4;

    tk_begin("c.api.resource_attributes.delta");
    p2m_config_init(&c);
    plain = convert_decode(&c, &req, NULL, NULL, NULL);
    d = convert_decode(&c, &req, &opt, NULL, &view); /* also compares the view */
    if (plain && d)
        expect_xattrs(d, plain, "delta");
    if (d)
        p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
    tk_end();

    tk_begin("c.api.resource_attributes.cumulative");
    p2m_config_init(&c);
    c.temporality = P2M_TEMPORALITY_CUMULATIVE;
    c.state_max_series = 64;
    c.state_bytes = 64 << 10;
    {
        const p2m_engine *eng = compile_cfg(&c, &err);
        size_t ssize = eng ? p2m_state_size(eng) : 0;
        unsigned char *smem = (unsigned char *)calloc(1, ssize ? ssize : 1);
        p2m_state *state = NULL;
        EXPECT(eng && p2m_state_init(eng, smem, ssize, &state, &err) == P2M_OK, "state_init");
        opt.state = state;
        n = 0;
        st = state ? p2m_convert(eng, req.b, req.n, &opt, work_mem, sizeof work_mem, out_buf,
                                 sizeof out_buf, &n, NULL, &err)
                   : P2M_ERR_ARGUMENT;
        EXPECT(st == P2M_OK, "call 1: status %d: %s", (int)st, err.message);
        st = state ? p2m_convert(eng, req.b, req.n, &opt, work_mem, sizeof work_mem, out_buf,
                                 sizeof out_buf, &n, NULL, &err)
                   : P2M_ERR_ARGUMENT;
        EXPECT(st == P2M_OK, "call 2: status %d: %s", (int)st, err.message);
        d = st == P2M_OK ? p2m__metrics__export_metrics_service_request__unpack(NULL, n, out_buf)
                         : NULL;
        EXPECT(d != NULL, "protobuf-c cannot decode the cumulative output");
        if (d && plain) { /* the same two resources held, both with the attributes */
            const DMetric *m = metric_at(d, 0, 0);
            expect_xattrs(d, plain, "cumulative");
            EXPECT(m && m->sum && m->sum->n_data_points == 2 &&
                       m->sum->data_points[0]->as_int == 2 * 30000157,
                   "cumulative: the first series is not the sum of two calls");
        }
        if (d)
            p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
        free(smem);
        opt.state = NULL;
    }
    tk_end();

    tk_begin("c.api.resource_attributes.bad_value");
    {
        const p2m_engine *eng;
        p2m_config_init(&c);
        eng = compile_cfg(&c, &err);
        xa[2].value.type = P2M_VALUE_KVLIST;
        n = 0;
        st = eng ? p2m_convert(eng, req.b, req.n, &opt, work_mem, sizeof work_mem, out_buf,
                               sizeof out_buf, &n, NULL, &err)
                 : P2M_OK;
        EXPECT(st == P2M_ERR_ARGUMENT && strstr(err.message, "resource_attributes") != NULL,
               "a KVLIST value: status %d \"%s\", expected P2M_ERR_ARGUMENT naming the option",
               (int)st, err.message);
    }
    tk_end();
    if (plain)
        p2m__metrics__export_metrics_service_request__free_unpacked(plain, NULL);
}

/* p2m_state_rebind: a state moves to an engine of a changed configuration
   that emits the same metrics, keeping its series and totals (decoded with
   protobuf-c); an engine with other metrics or sizes is refused and the
   state stays usable with its own engine. */
static void check_state_rebind(void)
{
    static pbw req;
    static p2m_rule more_rules[3];
    p2m_config a, b, c;
    p2m_error err;
    const p2m_engine *ea, *eb, *ec;
    static uint64_t mem_b[1 << 14], mem_c[1 << 14];
    unsigned char *smem;
    p2m_state *state = NULL;
    p2m_options opt;
    size_t ssize, n = 0, i;
    p2m_status st;
    DReq *d;

    build_main_request(&req, P2M_LAYOUT_V1_10, 0);
    tk_begin("c.api.state_rebind");
    p2m_config_init(&a);
    a.temporality = P2M_TEMPORALITY_CUMULATIVE;
    a.state_max_series = 64;
    a.state_bytes = 64 << 10;
    b = a;
    more_rules[0].key = "process.executable.name";
    more_rules[0].type = P2M_RULE_ATTRIBUTE;
    more_rules[0].from = "process.executable.name";
    more_rules[1].key = "thread.name";
    more_rules[1].type = P2M_RULE_ATTRIBUTE;
    more_rules[1].from = "thread.name";
    more_rules[2].key = "deployment";
    more_rules[2].type = P2M_RULE_LITERAL;
    more_rules[2].value = "blue";
    b.attributes = more_rules;
    b.n_attributes = 3;
    c = a;
    c.cpu.unit = "ms";
    ea = compile_cfg(&a, &err);
    eb = p2m_engine_compile(&b, mem_b, sizeof mem_b, &eb, &err) == P2M_OK ? eb : NULL;
    ec = p2m_engine_compile(&c, mem_c, sizeof mem_c, &ec, &err) == P2M_OK ? ec : NULL;
    EXPECT(ea && eb && ec, "engines did not compile: %s", err.message);
    ssize = ea ? p2m_state_size(ea) : 0;
    smem = (unsigned char *)calloc(1, ssize ? ssize : 1);
    if (ea && eb && ec && p2m_state_init(ea, smem, ssize, &state, &err) == P2M_OK) {
        memset(&opt, 0, sizeof opt);
        opt.state = state;
        st = p2m_convert(ea, req.b, req.n, &opt, work_mem, sizeof work_mem, out_buf, sizeof out_buf,
                         &n, NULL, &err);
        EXPECT(st == P2M_OK, "call with engine a: %s", err.message);
        st = p2m_state_rebind(ec, state, &err);
        EXPECT(st == P2M_ERR_CONFIG && strstr(err.message, "different metrics") != NULL,
               "rebind to an engine in ms: status %d \"%s\"", (int)st, err.message);
        st = p2m_convert(ea, req.b, req.n, &opt, work_mem, sizeof work_mem, out_buf, sizeof out_buf,
                         &n, NULL, &err);
        EXPECT(st == P2M_OK, "after a refused rebind the state still works with engine a: %s",
               err.message);
        st = p2m_state_rebind(eb, state, &err);
        EXPECT(st == P2M_OK, "rebind to engine b: status %d %s", (int)st, err.message);
        st = p2m_convert(eb, req.b, req.n, &opt, work_mem, sizeof work_mem, out_buf, sizeof out_buf,
                         &n, NULL, &err);
        EXPECT(st == P2M_OK, "call with engine b: %s", err.message);
        d = st == P2M_OK ? p2m__metrics__export_metrics_service_request__unpack(NULL, n, out_buf)
                         : NULL;
        EXPECT(d != NULL, "protobuf-c cannot decode the output after the rebind");
        if (d) { /* resource svc, cpu: the old series (app, worker) at 2 x 30000157 and a
                    new one (app, worker, deployment blue) at 30000157 */
            const DMetric *m = metric_at(d, 0, 0);
            int old_seen = 0, new_seen = 0;
            for (i = 0; m && m->sum && i < m->sum->n_data_points; i++) {
                const DPoint *pt = m->sum->data_points[i];
                const DKV *th = find_attr(pt->attributes, pt->n_attributes, "thread.name");
                const DKV *dep = find_attr(pt->attributes, pt->n_attributes, "deployment");
                if (!th || strcmp(th->value->string_value, "worker") != 0) continue;
                if (!dep && pt->as_int == 2 * 30000157) old_seen = 1;
                if (dep && strcmp(dep->value->string_value, "blue") == 0 && pt->as_int == 30000157)
                    new_seen = 1;
            }
            EXPECT(old_seen && new_seen,
                   "after the rebind: old series at 2x (%d) and new series at 1x (%d) expected",
                   old_seen, new_seen);
            p2m__metrics__export_metrics_service_request__free_unpacked(d, NULL);
        }
        st = p2m_state_rebind(NULL, state, &err);
        EXPECT(st == P2M_ERR_ARGUMENT, "rebind to NULL: status %d", (int)st);
    }
    free(smem);
    tk_end();
}

int main(int argc, char **argv)
{
    check_version();
    check_status_strings();
    check_config_defaults();
    check_engine_size_query();
    check_config_errors();
    check_work_size();
    check_output_too_small();
    check_main("main.v1_10", P2M_LAYOUT_V1_10, 0, P2M_LAYOUT_AUTO);
    check_main("main.v1_10_dict_first", P2M_LAYOUT_V1_10, 1, P2M_LAYOUT_AUTO);
    check_main("main.v1_10_forced", P2M_LAYOUT_V1_10, 0, P2M_LAYOUT_V1_10);
    check_main("main.v1_9", P2M_LAYOUT_V1_9, 0, P2M_LAYOUT_AUTO);
    check_main("main.v1_8", P2M_LAYOUT_V1_8, 0, P2M_LAYOUT_AUTO);
    check_cpu_unit_ms();
    check_double_count();
    check_strict();
    check_times();
    check_overflow();
    check_rules();
    check_arguments();
    check_pprof_given_as_otlp();
    check_struct_sizes();
    check_functions();
    check_filters();
    check_type_rules();
    check_cumulative();
    check_negative_index();
    check_extra_metrics();
    check_extra_config_errors();
    check_engine_metrics();
    check_unit_spellings();
    check_layout_conflict();
    check_late_evidence();
    check_resource_attributes();
    check_state_rebind();
    if (argc > 1)
        check_real(argv[1], argc > 2 ? argv[2] : NULL, argc > 3 ? argv[3] : NULL);
    return tk_exit_code();
}
