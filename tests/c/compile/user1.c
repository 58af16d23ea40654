/* SPDX-License-Identifier: MIT
   Compile test: a user translation unit (declarations only) that references
   every public function, so linking proves each is defined exactly once. */
#include "profile2metrics.h"

int p2m_compile_user1(void);

static bool p2m_compile_sink(void *ctx, const uint8_t *buf, size_t n)
{
    (void)ctx;
    return buf != 0 && n > 0;
}

int p2m_compile_user1(void)
{
    static unsigned char in[1] = {0};
    static unsigned long long engine_mem[4096], work[4096], out[512];
    p2m_config cfg;
    p2m_error err;
    p2m_stats stats;
    const p2m_engine *eng = 0;
    const p2m_result *res = 0;
    p2m_metric_info info;
    p2m_point pt;
    p2m_attribute attrs[2];
    size_t n = 0;
    int bad = 0;
    p2m_config_init(&cfg);
    if (p2m_engine_compile(&cfg, engine_mem, sizeof engine_mem, &eng, &err) != P2M_OK)
        return 1;
    if (p2m_work_size(eng, in, 0, &n, &err) != P2M_OK)
        bad++;
    if (p2m_convert(eng, in, 0, 0, work, sizeof work, out, sizeof out, &n, &stats, &err) != P2M_OK)
        bad++;
    if (p2m_aggregate(eng, in, 0, 0, work, sizeof work, &res, &stats, &err) != P2M_OK)
        return bad + 1;
    (void)p2m_encode_otlp(res, out, sizeof out, &n, &err);
    if (p2m_encode_otlp_stream(res, p2m_compile_sink, &n, &n, &err) != P2M_OK)
        bad++;
    if (p2m_convert_stream(eng, in, 0, 0, work, sizeof work, p2m_compile_sink, &n, &n, &stats,
                           &err) != P2M_OK)
        bad++;
    if (p2m_engine_save(eng, out, sizeof out, &n, &err) != P2M_OK ||
        p2m_engine_load(out, n, work, sizeof work, &eng, &err) != P2M_OK)
        bad++;
    (void)p2m_result_resource_count(res);
    (void)p2m_result_schema_url(res, 0);
    (void)p2m_result_resource_attributes(res, 0, attrs, 2);
    (void)p2m_result_metric_count(res, 0);
    p2m_result_metric(res, 0, 0, &info);
    p2m_result_point(res, 0, 0, 0, &pt);
    (void)p2m_result_point_attributes(res, 0, 0, 0, attrs, 2);
    (void)p2m_status_string(P2M_OK);
    (void)p2m_layout_name(P2M_LAYOUT_AUTO);
    return bad;
}
