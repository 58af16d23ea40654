/* SPDX-License-Identifier: MIT
   A build without declared metrics (P2M_MAX_EXTRA 0, what a firmware image
   that needs only cpu and memory uses): a configuration that declares one is
   rejected by name, and cpu still converts (main request, docs/spec.md
   section 3: resource 1 cpu (app,worker) 30000157). */
#define P2M_MAX_EXTRA 0
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
#include "requests.h"
#include "testkit.h"

#include <string.h>

static uint64_t engine_mem[1 << 12], work_mem[1 << 15];
static unsigned char out_buf[1 << 14];

int main(void)
{
    static const char *const types[] = {"off_cpu/nanoseconds"};
    static pbw req;
    p2m_extra_metric x;
    p2m_config c;
    p2m_error err;
    const p2m_engine *eng = NULL;
    const p2m_result *r = NULL;
    p2m_status st;
    p2m_point pt;
    tk_begin("c.no_extra.rejected_by_name");
    memset(&x, 0, sizeof x);
    x.name = "off_cpu_time";
    x.sample_types = types;
    x.n_sample_types = 1;
    p2m_config_init(&c);
    c.extra = &x;
    c.n_extra = 1;
    st = p2m_engine_compile(&c, engine_mem, sizeof engine_mem, &eng, &err);
    EXPECT(st == P2M_ERR_CONFIG && strcmp(err.field, "metrics.extra") == 0 &&
               strstr(err.message, "P2M_MAX_EXTRA") != NULL,
           "status %d field %s message %s", (int)st, err.field, err.message);
    tk_end();
    tk_begin("c.no_extra.cpu_converts");
    build_main_request(&req, P2M_LAYOUT_V1_10, 0);
    p2m_config_init(&c);
    st = p2m_engine_compile(&c, engine_mem, sizeof engine_mem, &eng, &err);
    EXPECT(st == P2M_OK, "compile: %d %s", (int)st, err.message);
    if (st == P2M_OK) {
        st = p2m_aggregate(eng, req.b, req.n, NULL, work_mem, sizeof work_mem, &r, NULL, &err);
        EXPECT(st == P2M_OK, "aggregate: %d %s", (int)st, err.message);
        memset(&pt, 0, sizeof pt);
        if (st == P2M_OK) p2m_result_point(r, 0, 0, 0, &pt);
        EXPECT(st == P2M_OK && pt.as_int == 30000157, "cpu (app,worker): %lld",
               (long long)pt.as_int);
    }
    (void)out_buf;
    tk_end();
    return tk_exit_code();
}
