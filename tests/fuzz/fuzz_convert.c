/* SPDX-License-Identifier: MIT
   libFuzzer target: p2m_convert with fixed configurations, input fuzzed.
   Each input goes through one configuration, chosen by its length modulo 6
   (so a mutation that inserts or deletes bytes moves it to another):
     0 defaults
     1 function metric, inclusive, with a symboliser
     2 the three filters and attribute rules of every type, regex rules on an
       attribute, the function name and the string table
     3 max_series 2, strict, function metric (self)
     4 frame rules that read no function name (type, kind, library): the
       dictionary scan keeps the stack tables
     5 frame rules on function and syscall, the stack filter and a declared
       metric with a stack pattern, with a symboliser
   and for each: p2m_work_size, then p2m_convert with exactly that much
   working memory (a heap block of that size, so ASan sees any overrun) and
   no output buffer (asks the size), an output buffer one byte short (must
   fail with OUTPUT_TOO_SMALL, needed > cap, the buffer untouched), the exact
   size (must succeed with the same bytes every time), then p2m_aggregate and
   every result view function, and p2m_encode_otlp of that result (must give
   the bytes p2m_convert gave). */
#include "fuzz_util.h"

#define N_CONF 6
static unsigned char engine_mem[N_CONF][1 << 16];
static const p2m_engine *engines[N_CONF];

static void compile_all(void)
{
    static const char *const thread_pats[] = {"^w", "main|pool-\\d+", "(?i)GC"};
    static const char *const pat_keys[] = {"service.name", "thread.name", "profile.kind"};
    static const char *const cpu_types[] = {"samples/count", "cpu/nanoseconds"};
    static const p2m_rule leaf_rules[] = {
        {"k.type", P2M_RULE_FRAME, NULL, "type", NULL, 0, NULL},
        {"k.kind", P2M_RULE_FRAME, NULL, "kind", NULL, 0, "nokind"},
        {"k.lib", P2M_RULE_FRAME, NULL, "library", NULL, 0, NULL},
        {"thread.name", P2M_RULE_ATTRIBUTE, NULL, "thread.name", NULL, 0, NULL},
    };
    static const p2m_rule name_rules[] = {
        {"k.fn", P2M_RULE_FRAME, NULL, "function", NULL, 0, NULL},
        {"k.sys", P2M_RULE_FRAME, NULL, "syscall", NULL, 0, "none"},
        {"k.type", P2M_RULE_FRAME, NULL, "type", NULL, 0, NULL},
        {"k.re.fn", P2M_RULE_REGEX, "^([a-z]+)", NULL, "function", 0, NULL},
    };
    static p2m_extra_metric under[1];
    static const p2m_rule rules[] = {
        {"k.literal", P2M_RULE_LITERAL, "lit", NULL, NULL, 0, NULL},
        {"process.executable.name", P2M_RULE_ATTRIBUTE, NULL, "process.executable.name", NULL, 0,
         NULL},
        {"k.int", P2M_RULE_ATTRIBUTE, NULL, "res.int", NULL, 0, "none"},
        {"k.re.attr", P2M_RULE_REGEX, "^(\\w+?)(?:-\\d+)?$", NULL, "thread.name", 0, NULL},
        {"k.re.fn", P2M_RULE_REGEX, "([a-z_]+)\\(", NULL, "function", 0, "nofn"},
        {"k.re.st", P2M_RULE_REGEX, "[a-z]{3,}\\.[a-z]+", NULL, "string_table", 0, NULL},
        {"k.re.st", P2M_RULE_REGEX, "^(.)", NULL, NULL, 0, NULL},
        {"k.st", P2M_RULE_STRING_TABLE, NULL, NULL, NULL, 1, NULL},
        {"k.st.far", P2M_RULE_STRING_TABLE, NULL, NULL, NULL, 1000000, "far"},
    };
    p2m_config c[N_CONF];
    p2m_error err;
    int i;
    for (i = 0; i < N_CONF; i++)
        p2m_config_init(&c[i]);
    c[1].function.enabled = 1;
    c[1].function_mode = P2M_FUNCTION_INCLUSIVE;

    c[2].process_filter.enabled = 1;
    c[2].process_filter.pattern = "a|[^x]";
    c[2].thread_filter.enabled = 1;
    c[2].thread_filter.patterns = thread_pats;
    c[2].thread_filter.n_patterns = 3;
    c[2].pattern_filter.enabled = 1;
    c[2].pattern_filter.pattern = ".";
    c[2].pattern_filter.keys = pat_keys;
    c[2].pattern_filter.n_keys = 3;
    c[2].attributes = rules;
    c[2].n_attributes = sizeof rules / sizeof rules[0];
    c[2].function.enabled = 1;

    c[3].max_series = 2;
    c[3].strict = 1;
    c[3].function.enabled = 1;

    c[4].attributes = leaf_rules;
    c[4].n_attributes = sizeof leaf_rules / sizeof leaf_rules[0];
    c[4].max_series = 3;

    under[0].name = "under_a";
    under[0].sample_types = cpu_types;
    under[0].n_sample_types = 2;
    under[0].stack_pattern = "a|_b";
    c[5].attributes = name_rules;
    c[5].n_attributes = sizeof name_rules / sizeof name_rules[0];
    c[5].stack_filter.enabled = 1;
    c[5].stack_filter.pattern = "^[^x]";
    c[5].extra = under;
    c[5].n_extra = 1;

    for (i = 0; i < N_CONF; i++) {
        if (p2m_engine_compile(&c[i], engine_mem[i], sizeof engine_mem[i], &engines[i], &err) !=
            P2M_OK) {
            fprintf(stderr, "fuzz_convert: config %d rejected: %s: %s\n", i, err.field,
                    err.message);
            abort();
        }
    }
}

static void one(const p2m_engine *eng, int ci, const uint8_t *data, size_t size)
{
    p2m_options opt;
    p2m_error err;
    p2m_stats st;
    size_t need = 0, n = 0, n2 = 0, want;
    unsigned char *work, *out, *out2;
    const p2m_result *res = NULL;
    p2m_status s, sw;

    memset(&opt, 0, sizeof opt);
    opt.now_unix_nano = 1700000000000000000ull;
    if (ci == 1 || ci == 5)
        opt.symbolize = fz_symbolize;

    memset(&err, 0, sizeof err);
    sw = p2m_work_size(eng, data, size, &need, &err);
    FZ_CHECK(sw == P2M_OK || sw == P2M_ERR_MALFORMED, "config %d: p2m_work_size gave %d", ci,
             (int)sw);
    if (sw != P2M_OK) {
        FZ_CHECK(err.status == sw, "err.status %d != %d", (int)err.status, (int)sw);
        FZ_CHECK(err.offset <= size, "offset %zu past input %zu", err.offset, size);
        FZ_CHECK(err.message[0] != 0, "MALFORMED without a message");
        need = 1 << 16; /* convert must fail the same way with any memory */
    }
    FZ_CHECK(need < ((size_t)64 << 20), "config %d: work size %zu for %zu input bytes", ci, need,
             size);

    work = fz_alloc(need);

    /* 1: no output buffer: asks for the size */
    memset(&err, 0, sizeof err);
    s = p2m_convert(eng, data, size, &opt, work, need, NULL, 0, &n, &st, &err);
    if (sw != P2M_OK) {
        FZ_CHECK(s == P2M_ERR_MALFORMED || s == P2M_ERR_INVALID_REFERENCE,
                 "config %d: work_size said malformed, convert gave %d", ci, (int)s);
        free(work);
        return;
    }
    FZ_CHECK(s != P2M_ERR_MEMORY, "config %d: p2m_work_size %zu not enough: needed %zu", ci, need,
             err.needed);
    if (s == P2M_ERR_MALFORMED || s == P2M_ERR_INVALID_REFERENCE) {
        FZ_CHECK(err.status == s && err.offset <= size, "error offset %zu of %zu", err.offset,
                 size);
        FZ_CHECK(s == P2M_ERR_MALFORMED || eng == engines[3],
                 "INVALID_REFERENCE from a non-strict engine");
        free(work);
        return;
    }
    if (s == P2M_OK) {
        FZ_CHECK(n == 0, "config %d: OK with no output buffer but %zu bytes", ci, n);
        want = 0;
    } else {
        FZ_CHECK(s == P2M_ERR_OUTPUT_TOO_SMALL, "config %d: convert gave %d (%s)", ci, (int)s,
                 err.message);
        /* a size query (output NULL): needed may be 0 when the result is
           empty (an empty ExportMetricsServiceRequest is 0 bytes) */
        want = err.needed;
    }

    /* 2: exactly the size asked for */
    out = fz_alloc(want);
    memset(&err, 0, sizeof err);
    memset(&st, 0, sizeof st);
    s = p2m_convert(eng, data, size, &opt, work, need, out, want, &n, &st, &err);
    FZ_CHECK(s == P2M_OK, "config %d: convert with needed=%zu output bytes gave %d (%s)", ci, want,
             (int)s, err.message);
    FZ_CHECK(n <= want, "wrote %zu of cap %zu", n, want);
    FZ_CHECK(st.bytes_in == size && st.bytes_out == n, "stats bytes %zu/%zu vs %zu/%zu",
             st.bytes_in, st.bytes_out, size, n);
    FZ_CHECK(st.work_used <= need, "work_used %zu > %zu", st.work_used, need);
    FZ_CHECK(st.samples_kept <= st.samples, "kept %llu of %llu samples",
             (unsigned long long)st.samples_kept, (unsigned long long)st.samples);
    FZ_CHECK(st.layout != P2M_LAYOUT_AUTO, "stats layout auto after a call");
    FZ_CHECK(fz_wire_ok(out, n), "config %d: output is not valid protobuf", ci);
    if (eng == engines[3])
        FZ_CHECK(st.invalid_references == 0, "strict engine skipped an invalid reference");

    /* 3: one byte (or more) short: fails, needed > cap, buffer untouched */
    if (n > 0) {
        size_t cap = (size & 1) ? n - 1 : n / 2;
        out2 = fz_alloc(cap);
        memset(out2, 0x5a, cap);
        memset(&err, 0, sizeof err);
        n2 = 12345;
        s = p2m_convert(eng, data, size, &opt, work, need, out2, cap, &n2, NULL, &err);
        FZ_CHECK(s == P2M_ERR_OUTPUT_TOO_SMALL, "config %d: cap %zu < %zu gave %d", ci, cap, n,
                 (int)s);
        FZ_CHECK(err.needed > cap && err.needed >= n, "needed %zu, cap %zu, output %zu",
                 err.needed, cap, n);
        for (n2 = 0; n2 < cap; n2++)
            FZ_CHECK(out2[n2] == 0x5a, "failed call wrote byte %zu of the output", n2);
        free(out2);
    }

    /* 4: aggregate + view + encode gives the same bytes */
    memset(&err, 0, sizeof err);
    s = p2m_aggregate(eng, data, size, &opt, work, need, &res, NULL, &err);
    FZ_CHECK(s == P2M_OK, "config %d: aggregate gave %d after convert succeeded", ci, (int)s);
    fz_walk_result(res);
    out2 = fz_alloc(n);
    s = p2m_encode_otlp(res, out2, n, &n2, &err);
    FZ_CHECK(s == P2M_OK && n2 == n && (n == 0 || memcmp(out, out2, n) == 0),
             "config %d: encode_otlp of the result differs from convert (%d, %zu vs %zu)", ci,
             (int)s, n2, n);
    free(out2);
    free(out);
    free(work);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int ci = (int)(size % N_CONF);
    if (!engines[0])
        compile_all();
    one(engines[ci], ci, data, size);
    return 0;
}
