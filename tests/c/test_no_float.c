/* SPDX-License-Identifier: MIT
   Whole-number scales and P2M_NO_FLOAT. Built twice, with and without the
   switch; both builds must give the values worked out by hand from the main
   request (tests/c/requests.h): a type rule alloc_space/bytes -> memory with
   scale 3 makes memory (app,worker) 3 x (4096 + 1000 + 24) = 15360 and
   (app) 3 x 64 = 192, cpu unchanged; a value near the int64 limit saturates.
   With the switch, units that give doubles and scales that are not whole
   numbers are refused with P2M_ERR_UNSUPPORTED naming the field. */
#include <stdio.h>
#include <string.h>

#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
#include "requests.h"
#include "testkit.h"

#ifdef P2M_NO_FLOAT
#define BUILD "no_float"
#else
#define BUILD "float"
#endif

static uint64_t emem[1 << 13], work[1 << 15];

/* The point of metric `name` whose attributes are exactly (app[,thread]). */
static int64_t point_value(const p2m_result *r, const char *name, const char *thread)
{
    size_t m, p;
    for (m = 0; m < p2m_result_metric_count(r, 0); m++) {
        p2m_metric_info info;
        p2m_result_metric(r, 0, m, &info);
        if (info.name.len != strlen(name) || memcmp(info.name.ptr, name, info.name.len) != 0)
            continue;
        for (p = 0; p < info.n_points; p++) {
            p2m_attribute a[4];
            p2m_point pt;
            size_t na = p2m_result_point_attributes(r, 0, m, p, a, 4);
            p2m_result_point(r, 0, m, p, &pt);
            if (na == (thread ? 2u : 1u) &&
                (!thread || (a[1].value.str.len == strlen(thread) &&
                             memcmp(a[1].value.str.ptr, thread, a[1].value.str.len) == 0)))
                return pt.as_int;
        }
    }
    return -1;
}

static p2m_status compile(p2m_config *c, const p2m_engine **e, p2m_error *err)
{
    return p2m_engine_compile(c, emem, sizeof emem, e, err);
}

int main(void)
{
    pbw req;
    p2m_config cfg;
    p2m_type_rule tr = {"alloc_space", "bytes", P2M_METRIC_MEMORY, 3.0};
    const p2m_engine *e = NULL;
    const p2m_result *r = NULL;
    p2m_error err;
    build_main_request(&req, P2M_LAYOUT_V1_10, 0);

    tk_begin("c.no_float." BUILD ".whole_scale");
    p2m_config_init(&cfg);
    cfg.type_rules = &tr;
    cfg.n_type_rules = 1;
    EXPECT(compile(&cfg, &e, &err) == P2M_OK, "compile: %s", err.message);
    EXPECT(e && p2m_aggregate(e, req.b, req.n, NULL, work, sizeof work, &r, NULL, &err) == P2M_OK,
           "aggregate: %s", err.message);
    if (r) {
        EXPECT(point_value(r, "memory_allocation", "worker") == 15360, "memory (app,worker) %lld",
               (long long)point_value(r, "memory_allocation", "worker"));
        EXPECT(point_value(r, "memory_allocation", NULL) == 192, "memory (app) %lld",
               (long long)point_value(r, "memory_allocation", NULL));
        EXPECT(point_value(r, "cpu_time", "worker") == 30000157, "cpu (app,worker) %lld",
               (long long)point_value(r, "cpu_time", "worker"));
    }
    tk_end();

    tk_begin("c.no_float." BUILD ".saturates");
    tr.scale = 4611686018427387904.0; /* 2^62: 64 x 2^62 is past the int64 range */
    EXPECT(compile(&cfg, &e, &err) == P2M_OK, "compile: %s", err.message);
    r = NULL;
    EXPECT(e && p2m_aggregate(e, req.b, req.n, NULL, work, sizeof work, &r, NULL, &err) == P2M_OK,
           "aggregate: %s", err.message);
    if (r)
        EXPECT(point_value(r, "memory_allocation", NULL) == INT64_MAX, "memory (app) %lld",
               (long long)point_value(r, "memory_allocation", NULL));
    tk_end();

    tk_begin("c.no_float." BUILD ".units_and_fractions");
    p2m_config_init(&cfg);
    cfg.cpu.unit = "ms";
#ifdef P2M_NO_FLOAT
    EXPECT(compile(&cfg, &e, &err) == P2M_ERR_UNSUPPORTED &&
               strcmp(err.field, "metrics.cpu.unit") == 0 && strstr(err.message, "P2M_NO_FLOAT"),
           "ms: status %d field %s", (int)err.status, err.field);
#else
    EXPECT(compile(&cfg, &e, &err) == P2M_OK, "ms: %s", err.message);
#endif
    p2m_config_init(&cfg);
    tr.scale = 0.5;
    cfg.type_rules = &tr;
    cfg.n_type_rules = 1;
#ifdef P2M_NO_FLOAT
    EXPECT(compile(&cfg, &e, &err) == P2M_ERR_UNSUPPORTED &&
               strcmp(err.field, "type_rules[0].scale") == 0,
           "scale 0.5: status %d field %s", (int)err.status, err.field);
#else
    EXPECT(compile(&cfg, &e, &err) == P2M_OK, "scale 0.5: %s", err.message);
#endif
    tr.scale = 0.5;
    tr.metric = P2M_METRIC_NONE; /* a rule that feeds nothing: its scale is not read */
    EXPECT(compile(&cfg, &e, &err) == P2M_OK, "scale of a metric-none rule: %s", err.message);
    tk_end();
    return tk_exit_code();
}
