/* SPDX-License-Identifier: MIT
   Proves the library never allocates: this program defines the malloc
   family itself (tests/c/noalloc_arena.h, a bump allocator over a static
   arena), so every allocation in the process, including those libc makes
   for the library (qsort, stdio, ...), comes here. While `armed` is set
   each call is counted; the checks run the whole API armed and require zero
   calls. Self-checks first prove that an allocation made while armed is
   seen, so the test can fail.

   Usage: test_noalloc [REAL_CAPTURE] */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile2metrics.h"
#include "requests.h"
#include "testkit.h"

#include "noalloc_arena.h"

/* ---- buffers (static: nothing here allocates either) --------------------- */

static uint64_t engine_mem[1 << 17];
static uint64_t work_mem[1 << 19];
static unsigned char out_buf[1 << 20];

typedef struct input { const unsigned char *p; size_t n; const char *name; } input;

typedef struct run_result {
    p2m_status compile, work, conv, aggr, enc;
    size_t points;
} run_result;

/* Everything a user does with one input, all while armed. */
static void run_all(const p2m_engine *eng, const input *in, run_result *rr)
{
    size_t need = 0, n = 0;
    p2m_error err;
    p2m_stats stats;
    const p2m_result *r = NULL;
    rr->work = p2m_work_size(eng, in->p, in->n, &need, &err);
    if (need > sizeof work_mem)
        need = sizeof work_mem;
    rr->conv = p2m_convert(eng, in->p, in->n, NULL, work_mem, need, out_buf, sizeof out_buf, &n,
                           &stats, &err);
    rr->aggr = p2m_aggregate(eng, in->p, in->n, NULL, work_mem, sizeof work_mem, &r, &stats, &err);
    rr->enc = P2M_ERR_ARGUMENT;
    rr->points = 0;
    if (rr->aggr == P2M_OK && r) {
        rr->points = noalloc_view(r);
        (void)p2m_encode_otlp(r, NULL, 0, &n, &err);
        rr->enc = p2m_encode_otlp(r, out_buf, sizeof out_buf, &n, &err);
    }
}

static input inputs[8];
static size_t n_inputs;
static pbw reqs[5];

static void check_selftest(void)
{
    void *(*volatile m)(size_t) = malloc;
    void (*volatile f)(void *) = free;
    char *(*volatile sd)(const char *) = strdup;
    unsigned long c1, c2;
    void *p;
    char *s;
    tk_begin("c.noalloc.selfcheck_malloc_seen");
    arm();
    p = m(32);
    f(p);
    c1 = disarm();
    EXPECT(c1 == 2, "malloc+free while armed counted %lu calls, expected 2", c1);
    tk_end();

    tk_begin("c.noalloc.selfcheck_libc_internal_seen");
    arm();
    s = sd("interposed?");
    c2 = disarm();
    EXPECT(c2 >= 1, "strdup while armed: %lu calls seen; libc's own allocations are not "
                    "interposed, so the test could not see the library's either", c2);
    EXPECT(s && strcmp(s, "interposed?") == 0, "strdup result");
    tk_end();
}

static void check_config(const char *name, const p2m_config *cfg_template)
{
    run_result rr[8];
    p2m_status cst;
    const p2m_engine *eng = NULL;
    p2m_error err;
    p2m_config c;
    size_t i, total_points = 0;
    unsigned long calls;
    tk_begin(name);
    memset(rr, 0, sizeof rr);
    arm();
    p2m_config_init(&c);
    if (cfg_template)
        c = *cfg_template;
    cst = p2m_engine_compile(&c, NULL, 0, &eng, &err);
    cst = p2m_engine_compile(&c, engine_mem, sizeof engine_mem, &eng, &err);
    if (cst == P2M_OK)
        for (i = 0; i < n_inputs; i++)
            run_all(eng, &inputs[i], &rr[i]);
    calls = disarm();
    EXPECT(calls == 0, "%lu allocation calls while armed (last: %s)", calls,
           armed_last);
    EXPECT(cst == P2M_OK, "engine compile: status %d field %s: %s", (int)cst, err.field,
           err.message);
    for (i = 0; cst == P2M_OK && i < n_inputs; i++) {
        EXPECT(rr[i].work == P2M_OK && rr[i].conv == P2M_OK && rr[i].aggr == P2M_OK &&
                   rr[i].enc == P2M_OK,
               "input %s: statuses work %d convert %d aggregate %d encode %d", inputs[i].name,
               (int)rr[i].work, (int)rr[i].conv, (int)rr[i].aggr, (int)rr[i].enc);
        total_points += rr[i].points;
    }
    EXPECT(cst != P2M_OK || total_points > 0, "no data points at all: the run proves nothing");
    tk_end();
}

static void check_error_paths(void)
{
    p2m_status st[12];
    const p2m_engine *eng = NULL;
    p2m_error err;
    p2m_config c;
    p2m_rule bad;
    size_t n = 0, need = 0, k = 0;
    unsigned long calls;
    const pbw *req = &reqs[0];
    static const unsigned char junk[] = {0x0b, 0x0c, 0xff, 0xff, 0xff};
    tk_begin("c.noalloc.error_paths");
    memset(st, 0, sizeof st);
    arm();
    p2m_config_init(&c);
    c.cpu.enabled = 0;
    c.memory.enabled = 0;
    st[k++] = p2m_engine_compile(&c, engine_mem, sizeof engine_mem, &eng, &err); /* CONFIG */
    p2m_config_init(&c);
    memset(&bad, 0, sizeof bad);
    c.attributes = &bad;
    c.n_attributes = 1;
    st[k++] = p2m_engine_compile(&c, engine_mem, sizeof engine_mem, &eng, &err); /* CONFIG */
    p2m_config_init(&c);
    st[k++] = p2m_engine_compile(&c, engine_mem, 8, &eng, &err);                 /* MEMORY */
    st[k++] = p2m_engine_compile(&c, engine_mem, sizeof engine_mem, &eng, &err); /* OK */
    if (st[k - 1] == P2M_OK) {
        st[k++] = p2m_convert(eng, junk, sizeof junk, NULL, work_mem, sizeof work_mem, out_buf,
                              sizeof out_buf, &n, NULL, &err); /* MALFORMED */
        st[k++] = p2m_convert(eng, req->b, req->n / 2, NULL, work_mem, sizeof work_mem, out_buf,
                              sizeof out_buf, &n, NULL, &err); /* MALFORMED (truncated) */
        st[k++] = p2m_convert(eng, req->b, req->n, NULL, work_mem, 16, out_buf, sizeof out_buf,
                              &n, NULL, &err); /* MEMORY */
        st[k++] = p2m_convert(eng, req->b, req->n, NULL, work_mem, sizeof work_mem, out_buf, 3,
                              &n, NULL, &err); /* OUTPUT_TOO_SMALL */
        st[k++] = p2m_work_size(eng, junk, sizeof junk, &need, &err); /* MALFORMED */
        c.strict = 1;
        st[k++] = p2m_engine_compile(&c, engine_mem, sizeof engine_mem, &eng, &err); /* OK */
        st[k++] = p2m_convert(eng, req->b, req->n, NULL, work_mem, sizeof work_mem, out_buf,
                              sizeof out_buf, &n, NULL, &err); /* INVALID_REFERENCE */
    }
    calls = disarm();
    EXPECT(calls == 0, "%lu allocation calls while armed (last: %s)", calls,
           armed_last);
    EXPECT(k == 11, "engine did not compile (status %d)", (int)st[3]);
    if (k == 11) {
        static const p2m_status want[11] = {
            P2M_ERR_CONFIG, P2M_ERR_CONFIG, P2M_ERR_MEMORY, P2M_OK, P2M_ERR_MALFORMED,
            P2M_ERR_MALFORMED, P2M_ERR_MEMORY, P2M_ERR_OUTPUT_TOO_SMALL, P2M_ERR_MALFORMED,
            P2M_OK, P2M_ERR_INVALID_REFERENCE};
        size_t i;
        for (i = 0; i < 11; i++)
            EXPECT(st[i] == want[i], "step %zu: status %d, expected %d", i, (int)st[i],
                   (int)want[i]);
    }
    tk_end();
}

static uint64_t state_mem[1 << 16];

static void check_cumulative(void)
{
    p2m_config c;
    p2m_error err;
    const p2m_engine *eng = NULL;
    p2m_state *state = NULL;
    p2m_options opt;
    p2m_status st[8];
    size_t n = 0, i, k = 0, ssize = 0;
    unsigned long calls;
    tk_begin("c.noalloc.cumulative");
    memset(st, 0, sizeof st);
    arm();
    p2m_config_init(&c);
    c.temporality = P2M_TEMPORALITY_CUMULATIVE;
    c.state_max_series = 256;
    c.state_bytes = 128 << 10;
    st[k++] = p2m_engine_compile(&c, engine_mem, sizeof engine_mem, &eng, &err);
    if (st[0] == P2M_OK) {
        ssize = p2m_state_size(eng);
        st[k++] = p2m_state_init(eng, state_mem, sizeof state_mem, &state, &err);
        memset(&opt, 0, sizeof opt);
        opt.state = state;
        for (i = 0; i < n_inputs && k < 8; i++)
            st[k++] = p2m_convert(eng, inputs[i].p, inputs[i].n, &opt, work_mem, sizeof work_mem,
                                  out_buf, sizeof out_buf, &n, NULL, &err);
    }
    calls = disarm();
    EXPECT(calls == 0, "%lu allocation calls while armed (last: %s)", calls, armed_last);
    EXPECT(ssize <= sizeof state_mem, "state size %zu over the test's %zu", ssize,
           sizeof state_mem);
    for (i = 0; i < k; i++)
        EXPECT(st[i] == P2M_OK, "step %zu: status %d", i, (int)st[i]);
    EXPECT(k >= 3, "engine did not compile (status %d)", (int)st[0]);
    tk_end();
}

int main(int argc, char **argv)
{
    static unsigned char *real;
    size_t real_len = 0;
    p2m_config rich;
    static p2m_rule rules[4];
    static const char *const threads[] = {"^wor", "main$", "never"};

    check_selftest();

    build_main_request(&reqs[0], P2M_LAYOUT_V1_10, 0);
    build_main_request(&reqs[1], P2M_LAYOUT_V1_9, 1);
    build_main_request(&reqs[2], P2M_LAYOUT_V1_8, 0);
    build_double_count_request(&reqs[3]);
    inputs[0].p = reqs[0].b; inputs[0].n = reqs[0].n; inputs[0].name = "main v1.10";
    inputs[1].p = reqs[1].b; inputs[1].n = reqs[1].n; inputs[1].name = "main v1.9 dict first";
    inputs[2].p = reqs[2].b; inputs[2].n = reqs[2].n; inputs[2].name = "main v1.8";
    inputs[3].p = reqs[3].b; inputs[3].n = reqs[3].n; inputs[3].name = "double count";
    n_inputs = 4;
    if (argc > 1) {
        real = tk_read_file(argv[1], &real_len); /* before arming */
        if (!real) {
            tk_begin("c.noalloc.real_capture_read");
            EXPECT(0, "cannot read %s", argv[1]);
            tk_end();
        } else {
            inputs[n_inputs].p = real;
            inputs[n_inputs].n = real_len;
            inputs[n_inputs].name = "sig-profiling-profile.otlp";
            n_inputs++;
        }
    }

    check_config("c.noalloc.default_config", NULL);

    /* Every rule type but regex, the function metric, doubles, overflow. */
    p2m_config_init(&rich);
    rules[0].key = "service";
    rules[0].type = P2M_RULE_LITERAL;
    rules[0].value = "checkout";
    rules[1].key = "proc";
    rules[1].type = P2M_RULE_ATTRIBUTE;
    rules[1].from = "process.executable.name";
    rules[2].key = "thread.name";
    rules[2].type = P2M_RULE_ATTRIBUTE;
    rules[2].from = "thread.name";
    rules[2].default_value = "none";
    rules[3].key = "first";
    rules[3].type = P2M_RULE_STRING_TABLE;
    rules[3].index = 1;
    rich.attributes = rules;
    rich.n_attributes = 4;
    rich.function.enabled = 1;
    rich.function_mode = P2M_FUNCTION_INCLUSIVE;
    rich.cpu.unit = "ms";
    rich.max_series = 1;
    check_config("c.noalloc.rich_config", &rich);

    /* Regex: a regex rule and every filter. */
    p2m_config_init(&rich);
    rules[1].type = P2M_RULE_REGEX;
    rules[1].value = "^(a.p|[a-z]+)$";
    rules[1].source = "process.executable.name";
    rules[1].from = NULL;
    rich.attributes = rules;
    rich.n_attributes = 4;
    rich.process_filter.enabled = 1;
    rich.process_filter.pattern = "(?i)APP|java";
    rich.thread_filter.enabled = 1;
    rich.thread_filter.patterns = threads;
    rich.thread_filter.n_patterns = 3;
    rich.pattern_filter.enabled = 1;
    rich.pattern_filter.pattern = "\\w+";
    check_config("c.noalloc.regex_config", &rich);

    /* Frame rules without names (the dictionary scan keeps the stack
       tables), then with names, the stack filter and a stack pattern. */
    {
        static p2m_rule frames[3];
        static const char *const types[] = {"samples/count", "cpu/nanoseconds"};
        static p2m_extra_metric under;
        frames[0].key = "frame.type";
        frames[0].type = P2M_RULE_FRAME;
        frames[0].from = "type";
        frames[1].key = "frame.kind";
        frames[1].type = P2M_RULE_FRAME;
        frames[1].from = "kind";
        frames[2].key = "frame.library";
        frames[2].type = P2M_RULE_FRAME;
        frames[2].from = "library";
        p2m_config_init(&rich);
        rich.attributes = frames;
        rich.n_attributes = 3;
        check_config("c.noalloc.frame_config", &rich);
        frames[1].from = "syscall";
        frames[2].from = "function";
        under.name = "under_main";
        under.sample_types = types;
        under.n_sample_types = 2;
        under.stack_pattern = "main";
        rich.extra = &under;
        rich.n_extra = 1;
        rich.stack_filter.enabled = 1;
        rich.stack_filter.pattern = ".";
        check_config("c.noalloc.stack_config", &rich);
    }

    check_error_paths();
    check_cumulative();
    return tk_exit_code();
}
