/* SPDX-License-Identifier: MIT
   libFuzzer target: the pprof entry points (p2m_pprof_work_size,
   p2m_pprof_convert, p2m_pprof_aggregate) with fixed configurations, input
   fuzzed. Each input goes through one configuration, chosen by its length
   modulo 5:
     0 defaults
     1 function metric, inclusive, with a symboliser, resource attributes
     2 strict, max_series 2, function metric (self)
     3 attribute rules on labels, a regex rule on the function name, the
       stack filter, declared metrics (a cpu one with a stack pattern, an
       inuse_space gauge, a count type) and a type rule
     4 cumulative, a fresh state for each input
   and for each: p2m_pprof_work_size, then p2m_pprof_convert with exactly
   that much working memory (a heap block of that size, so ASan sees any
   overrun) asking the output size, with an output buffer one byte short
   (OUTPUT_TOO_SMALL, needed > cap, buffer untouched, state unchanged), with
   the exact size; again with fresh memory (the same bytes); then
   p2m_pprof_aggregate, every result view function and p2m_encode_otlp of
   that result (the bytes convert gave). Errors: MALFORMED (or, strict,
   INVALID_REFERENCE) with a message and an offset within the input, and
   work_size and convert agree on malformed input. */
#include "fuzz_util.h"

#define N_CONF 5
static unsigned char engine_mem[N_CONF][1 << 16];
static const p2m_engine *engines[N_CONF];

static void compile_all(void)
{
    static const char *const cpu_types[] = {"samples/count", "cpu/nanoseconds"};
    static const char *const heap_types[] = {"inuse_space/bytes"};
    static const char *const obj_types[] = {"alloc_objects/count", "contentions/count"};
    static const char *const stack_pats[] = {"^main\\.", "a|b"};
    static const p2m_rule rules[] = {
        {"thread.name", P2M_RULE_ATTRIBUTE, NULL, "thread.name", NULL, 0, NULL},
        {"bytes", P2M_RULE_ATTRIBUTE, NULL, "bytes", NULL, 0, "none"},
        {"k.fn", P2M_RULE_REGEX, "^([a-z]+)\\.", NULL, "function", 0, "nofn"},
        {"k.st", P2M_RULE_STRING_TABLE, NULL, NULL, NULL, 1, NULL},
        {"k.frame", P2M_RULE_FRAME, NULL, "library", NULL, 0, NULL},
    };
    static const p2m_type_rule trules[] = {
        {"wall", "nanoseconds", P2M_METRIC_CPU, 2.0},
    };
    static p2m_extra_metric extra[3];
    p2m_config c[N_CONF];
    p2m_error err;
    int i;
    for (i = 0; i < N_CONF; i++)
        p2m_config_init(&c[i]);
    c[1].function.enabled = 1;
    c[1].function_mode = P2M_FUNCTION_INCLUSIVE;

    c[2].strict = 1;
    c[2].max_series = 2;
    c[2].function.enabled = 1;

    extra[0].name = "main_cpu";
    extra[0].sample_types = cpu_types;
    extra[0].n_sample_types = 2;
    extra[0].stack_pattern = "^main\\.";
    extra[1].name = "heap_in_use";
    extra[1].sample_types = heap_types;
    extra[1].n_sample_types = 1;
    extra[2].name = "counts";
    extra[2].unit = "1";
    extra[2].sample_types = obj_types;
    extra[2].n_sample_types = 2;
    c[3].attributes = rules;
    c[3].n_attributes = sizeof rules / sizeof rules[0];
    c[3].stack_filter.enabled = 1;
    c[3].stack_filter.patterns = stack_pats;
    c[3].stack_filter.n_patterns = 2;
    c[3].extra = extra;
    c[3].n_extra = 3;
    c[3].type_rules = trules;
    c[3].n_type_rules = 1;

    c[4].temporality = P2M_TEMPORALITY_CUMULATIVE;
    c[4].state_max_series = 64;
    c[4].state_bytes = 1 << 14;

    for (i = 0; i < N_CONF; i++) {
        if (p2m_engine_compile(&c[i], engine_mem[i], sizeof engine_mem[i], &engines[i], &err) !=
            P2M_OK) {
            fprintf(stderr, "fuzz_pprof: config %d rejected: %s: %s\n", i, err.field,
                    err.message);
            abort();
        }
    }
}

static void one(int ci, const uint8_t *data, size_t size)
{
    const p2m_engine *eng = engines[ci];
    static const p2m_attribute res_attrs[] = {
        {{"service.name", 12}, {P2M_VALUE_STRING, {"svc", 3}, 0, 0.0}},
        {{"pid", 3}, {P2M_VALUE_INT, {NULL, 0}, 42, 0.0}},
    };
    p2m_options opt;
    p2m_error err;
    p2m_stats st;
    size_t need = 0, n = 0, n2 = 0, want, ss = p2m_state_size(eng), i;
    unsigned char *work, *out, *out2, *smem = NULL, *scopy = NULL;
    const p2m_result *res = NULL;
    p2m_state *state = NULL;
    p2m_status s, sw;

    memset(&opt, 0, sizeof opt);
    opt.now_unix_nano = 1700000000000000000ull;
    if (ci == 1) {
        opt.symbolize = fz_symbolize;
        opt.resource_attributes = res_attrs;
        opt.n_resource_attributes = 2;
    }
    if (ss) {
        smem = fz_alloc(ss);
        scopy = fz_alloc(ss);
        FZ_CHECK(p2m_state_init(eng, smem, ss, &state, &err) == P2M_OK, "state init: %s",
                 err.message);
        opt.state = state;
    }

    memset(&err, 0, sizeof err);
    sw = p2m_pprof_work_size(eng, data, size, &need, &err);
    FZ_CHECK(sw == P2M_OK || sw == P2M_ERR_MALFORMED, "config %d: work_size gave %d", ci,
             (int)sw);
    if (sw != P2M_OK) {
        FZ_CHECK(err.status == sw, "err.status %d != %d", (int)err.status, (int)sw);
        FZ_CHECK(err.offset <= size, "offset %zu past input %zu", err.offset, size);
        FZ_CHECK(err.message[0] != 0, "MALFORMED without a message");
        need = 1 << 16;
    }
    FZ_CHECK(need < ((size_t)64 << 20), "config %d: work size %zu for %zu input bytes", ci, need,
             size);
    work = fz_alloc(need);

    /* 1: the size query */
    memset(&err, 0, sizeof err);
    if (ss)
        memcpy(scopy, smem, ss);
    s = p2m_pprof_convert(eng, data, size, &opt, work, need, NULL, 0, &n, &st, &err);
    if (sw != P2M_OK) {
        FZ_CHECK(s == P2M_ERR_MALFORMED, "config %d: work_size said malformed, convert gave %d",
                 ci, (int)s);
        FZ_CHECK(err.offset <= size && err.message[0], "convert's error offset %zu of %zu",
                 err.offset, size);
        goto done;
    }
    FZ_CHECK(s != P2M_ERR_MEMORY, "config %d: work size %zu not enough: needed %zu", ci, need,
             err.needed);
    if (s == P2M_ERR_MALFORMED || s == P2M_ERR_INVALID_REFERENCE) {
        FZ_CHECK(err.status == s && err.offset <= size && err.message[0],
                 "error %d offset %zu of %zu", (int)s, err.offset, size);
        FZ_CHECK(s == P2M_ERR_MALFORMED || ci == 2, "INVALID_REFERENCE from a non-strict engine");
        if (ss)
            FZ_CHECK(memcmp(scopy, smem, ss) == 0, "a failed call changed the state");
        goto done;
    }
    if (s == P2M_OK) {
        FZ_CHECK(n == 0, "config %d: OK with no output buffer but %zu bytes", ci, n);
        want = 0;
    } else {
        FZ_CHECK(s == P2M_ERR_OUTPUT_TOO_SMALL, "config %d: convert gave %d (%s)", ci, (int)s,
                 err.message);
        want = err.needed;
        if (ss)
            FZ_CHECK(memcmp(scopy, smem, ss) == 0, "a size query changed the state");
    }

    /* 2: one byte short (before the call that counts, for the state) */
    if (want > 0) {
        size_t cap = want - 1;
        out2 = fz_alloc(cap);
        memset(out2, 0x5a, cap);
        memset(&err, 0, sizeof err);
        s = p2m_pprof_convert(eng, data, size, &opt, work, need, out2, cap, &n2, NULL, &err);
        FZ_CHECK(s == P2M_ERR_OUTPUT_TOO_SMALL && err.needed > cap,
                 "config %d: cap %zu < %zu gave %d, needed %zu", ci, cap, want, (int)s,
                 err.needed);
        for (i = 0; i < cap; i++)
            FZ_CHECK(out2[i] == 0x5a, "failed call wrote byte %zu of the output", i);
        if (ss)
            FZ_CHECK(memcmp(scopy, smem, ss) == 0, "a too-small call changed the state");
        free(out2);
    }

    /* 3: the exact size */
    out = fz_alloc(want);
    memset(&err, 0, sizeof err);
    memset(&st, 0, sizeof st);
    s = p2m_pprof_convert(eng, data, size, &opt, work, need, out, want, &n, &st, &err);
    FZ_CHECK(s == P2M_OK, "config %d: convert with needed=%zu output bytes gave %d (%s)", ci,
             want, (int)s, err.message);
    FZ_CHECK(n <= want, "wrote %zu of cap %zu", n, want);
    FZ_CHECK(st.bytes_in == size && st.bytes_out == n, "stats bytes %zu/%zu vs %zu/%zu",
             st.bytes_in, st.bytes_out, size, n);
    FZ_CHECK(st.layout == P2M_LAYOUT_PPROF, "stats.layout %d", (int)st.layout);
    FZ_CHECK(st.resources <= 1, "stats.resources %llu", (unsigned long long)st.resources);
    FZ_CHECK(st.work_used <= need, "work_used %zu > %zu", st.work_used, need);
    FZ_CHECK(st.samples_kept <= st.samples, "kept %llu of %llu samples",
             (unsigned long long)st.samples_kept, (unsigned long long)st.samples);
    FZ_CHECK(st.profiles_unclassified <= st.profiles, "unclassified %llu of %llu",
             (unsigned long long)st.profiles_unclassified, (unsigned long long)st.profiles);
    FZ_CHECK(fz_wire_ok(out, n), "config %d: output is not valid protobuf", ci);
    if (ci == 2)
        FZ_CHECK(st.invalid_references == 0, "strict engine skipped an invalid reference");

    /* 4: fresh memory, the same bytes (a delta engine; a cumulative one
       starts again from an empty state) */
    if (ss)
        FZ_CHECK(p2m_state_init(eng, smem, ss, &state, &err) == P2M_OK, "state init again");
    {
        unsigned char *w2 = fz_alloc(need), *o2 = fz_alloc(n);
        size_t m = 0;
        memset(&err, 0, sizeof err);
        s = p2m_pprof_convert(eng, data, size, &opt, w2, need, o2, n, &m, NULL, &err);
        FZ_CHECK(s == P2M_OK && m == n && (n == 0 || memcmp(o2, out, n) == 0),
                 "config %d: the second call gave %d, %zu bytes instead of %zu (or others)", ci,
                 (int)s, m, n);
        free(w2);
        free(o2);
    }

    /* 5: aggregate + view + encode gives the same bytes */
    if (ss)
        FZ_CHECK(p2m_state_init(eng, smem, ss, &state, &err) == P2M_OK, "state init again");
    memset(&err, 0, sizeof err);
    s = p2m_pprof_aggregate(eng, data, size, &opt, work, need, &res, NULL, &err);
    FZ_CHECK(s == P2M_OK, "config %d: aggregate gave %d after convert succeeded", ci, (int)s);
    FZ_CHECK(p2m_result_resource_count(res) <= 1, "%zu resources",
             p2m_result_resource_count(res));
    fz_walk_result(res);
    out2 = fz_alloc(n);
    s = p2m_encode_otlp(res, out2, n, &n2, &err);
    FZ_CHECK(s == P2M_OK && n2 == n && (n == 0 || memcmp(out, out2, n) == 0),
             "config %d: encode_otlp of the result differs from convert (%d, %zu vs %zu)", ci,
             (int)s, n2, n);
    free(out2);
    free(out);
done:
    free(work);
    free(smem);
    free(scopy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!engines[0])
        compile_all();
    one((int)(size % N_CONF), data, size);
    return 0;
}
