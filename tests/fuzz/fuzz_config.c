/* SPDX-License-Identifier: MIT
   libFuzzer target: the configuration compiler.
   The input is decoded into a p2m_config: every field, with strings taken
   from a table of meaningful tokens (keys, sources, units, patterns good and
   bad) or from the input itself, rules of every type (and invalid types),
   indices, filters with patterns and keys (NULL entries included), type rules
   with odd scales, and out-of-range enum values.
   Checks: the size query gives P2M_ERR_MEMORY with needed, or
   P2M_ERR_CONFIG with a field and a message; compiling into exactly the size
   asked for (at an input-chosen alignment) gives P2M_OK or P2M_ERR_CONFIG
   with a field and a message. A compiled engine then converts hand-built
   requests of every layout (tests/c/requests.h) with the working memory
   p2m_work_size asks for and the output size a size query reports, through a
   cumulative state when the engine is cumulative; and the engine memory is
   byte-identical afterwards (read-only after compiling). */
#include "fuzz_util.h"
#include "requests.h"

/* The engine block is placed at offset (input size mod 8) & this mask from
   an aligned address. 0 keeps it aligned (tests/fuzz/align_check.c covers
   misaligned blocks on its own). */
#ifndef FZ_MISALIGN_MASK
#define FZ_MISALIGN_MASK 7u
#endif

/* 1: a list may be a NULL pointer with a non-zero count (type_rules,
   patterns, keys), a caller's mistake that must give an error, not a crash.
   0 keeps lists non-NULL (for long runs past that known finding). */
#ifndef FZ_NULL_LISTS
#define FZ_NULL_LISTS 1
#endif

typedef struct rd {
    const uint8_t *p;
    size_t n, i;
} rd;

static unsigned rd_u8(rd *r)
{
    return r->i < r->n ? r->p[r->i++] : 0u;
}

static uint32_t rd_u32(rd *r)
{
    uint32_t v = 0;
    int k;
    for (k = 0; k < 4; k++)
        v = (v << 8) | rd_u8(r);
    return v;
}

static char arena[1 << 16];
static size_t arena_used;

static const char *const tokens[] = {
    "", "a", "process.executable.name", "thread.name", "service.name", "res.int",
    "profile.kind", "function", "string_table", "function.name", "cpu_time",
    "memory_allocation", "ns", "us", "ms", "s", "By", "bytes", "nanoseconds", "cpu", "samples",
    "count", "alloc_space", "wall", "app", "worker", "main", "^w", "a|b", "(a*)*b", "(?i)GC",
    "[a-z]+", "[^x]", "\\d{2,5}", "x{1000}", "x{1001}", "((((a))))", "(", ")", "[", "*",
    "a{2,1}", "(?=a)", "\\1", "(?P<n>a)", "\\", "[z-a]", "a**", "$^", "(?:a|)+", ".*(.*)",
    "\\pL", "(?i)", "(?s).", "a{,3}", "\xff\xfe", "(((((((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))))))",
    "(a{1000}){1000}", "[\\d-z]", "\\Q", "\\x41", "\\b", "k", "k2", "sym", "default",
    "type", "kind", "library", "syscall", "profile.frame.type", "^runtime\\.",
    "samples/count", "cpu/nanoseconds", "off_cpu/nanoseconds",
};
#define N_TOKENS (sizeof tokens / sizeof tokens[0])

/* A string field: NULL, a token, or up to 63 raw input bytes (NUL-ended). */
static const char *rd_str(rd *r)
{
    unsigned b = rd_u8(r);
    size_t len, k;
    char *s;
    if (b == 0xff)
        return NULL;
    if (b < 0x80)
        return tokens[b % N_TOKENS];
    len = b & 0x3f;
    if (arena_used + len + 1 > sizeof arena)
        return "";
    s = arena + arena_used;
    for (k = 0; k < len && r->i < r->n; k++)
        s[k] = (char)r->p[r->i++];
    s[k] = 0;
    arena_used += k + 1;
    return s;
}

/* A string that keeps its default when the byte says so. */
static void rd_opt_str(rd *r, const char **field)
{
    if (rd_u8(r) & 1)
        *field = rd_str(r);
}

#define MAXN 24
static p2m_rule rules[MAXN];
static const char *lists[8][MAXN];
static p2m_extra_metric extras[4];
static p2m_type_rule trules[MAXN];

static void rd_filter(rd *r, p2m_filter *f, int which)
{
    unsigned flags = rd_u8(r);
    size_t k;
    f->enabled = (int)(flags & 1);
    if (flags & 2)
        f->pattern = rd_str(r);
    if (flags & 4) {
        f->n_patterns = rd_u8(r) % 7;
        for (k = 0; k < f->n_patterns; k++)
            lists[which * 2][k] = rd_str(r);
        f->patterns = (FZ_NULL_LISTS && (flags & 8)) ? NULL : lists[which * 2];
    }
    if (flags & 16) {
        f->n_keys = rd_u8(r) % 5;
        for (k = 0; k < f->n_keys; k++)
            lists[which * 2 + 1][k] = rd_str(r);
        f->keys = (FZ_NULL_LISTS && (flags & 32)) ? NULL : lists[which * 2 + 1];
    }
}

static void rd_metric(rd *r, p2m_metric_config *m)
{
    unsigned flags = rd_u8(r);
    m->enabled = (int)(flags & 1);
    if (flags & 2)
        m->name = rd_str(r);
    if (flags & 4)
        m->unit = rd_str(r);
    if (flags & 8)
        m->description = rd_str(r);
}

/* 1: a type rule's scale may be 1e300, which makes every converted value
   overflow int64 (regressions/config/type-rule-scale-overflows-int64: the
   double-to-integer conversion is undefined); 0 puts 1e3 there instead (for
   long runs past that known finding). */
#ifndef FZ_HUGE_SCALE
#define FZ_HUGE_SCALE 1
#endif

static const double scales[] = {1.0, 0.0, -1.0, 1e9, 1e-9, 0.5, FZ_HUGE_SCALE ? 1e300 : 1e3, 3.0};

static void decode(rd *r, p2m_config *c)
{
    unsigned flags, k, n;
    uint32_t u;
    p2m_config_init(c);
    arena_used = 0;
    rd_metric(r, &c->cpu);
    rd_metric(r, &c->memory);
    rd_metric(r, &c->function);
    c->function_mode = (p2m_function_mode)(rd_u8(r) % 3);
    rd_opt_str(r, &c->function_attribute_key);
    rd_opt_str(r, &c->process_key);
    rd_opt_str(r, &c->thread_key);
    flags = rd_u8(r);
    if (flags & 1) {
        n = rd_u8(r) % MAXN;
        for (k = 0; k < n; k++) {
            p2m_rule *x = &rules[k];
            unsigned t = rd_u8(r);
            memset(x, 0, sizeof *x);
            x->key = rd_str(r);
            x->type = (p2m_rule_type)(t % 6); /* 5: not a type */
            if (t & 0x08) x->value = rd_str(r);
            if (t & 0x10) x->from = rd_str(r);
            if (t & 0x20) x->source = rd_str(r);
            if (t & 0x40) x->default_value = rd_str(r);
            x->index = (t & 0x80) ? rd_u32(r) : rd_u8(r) % 20;
        }
        c->attributes = (flags & 2) ? NULL : rules;
        c->n_attributes = n;
    }
    rd_filter(r, &c->process_filter, 0);
    rd_filter(r, &c->thread_filter, 1);
    rd_filter(r, &c->pattern_filter, 2);
    if (flags & 4) {
        n = rd_u8(r) % 6;
        for (k = 0; k < n; k++) {
            trules[k].type = rd_str(r);
            trules[k].unit = rd_str(r);
            trules[k].metric = (p2m_metric_kind)(rd_u8(r) % 5);
            trules[k].scale = scales[rd_u8(r) % 8];
        }
        c->type_rules = (FZ_NULL_LISTS && (flags & 8)) ? NULL : trules;
        c->n_type_rules = n;
    }
    k = rd_u8(r);
    c->temporality = (p2m_temporality)(k % 4);
    c->layout = (p2m_layout)((k >> 2) % 12);
    c->strict = (int)((k >> 6) & 1);
    if (flags & 16) {
        u = rd_u32(r);
        c->max_series = (flags & 32) ? u : u % 5;
    }
    if (flags & 64) {
        u = rd_u32(r);
        c->state_max_series = (flags & 128) ? u : u % 70;
        c->state_bytes = (size_t)(rd_u32(r) % (1u << 21));
    }
    rd_filter(r, &c->stack_filter, 3);
    flags = rd_u8(r);
    if (flags & 1) { /* declared metrics, with or without a stack pattern */
        n = rd_u8(r) % 4u;
        for (k = 0; k < n; k++) {
            p2m_extra_metric *x = &extras[k];
            memset(x, 0, sizeof *x);
            x->name = rd_str(r);
            x->unit = (flags & 2) ? rd_str(r) : NULL;
            lists[7][k] = rd_str(r);
            x->sample_types = lists[7] + k;
            x->n_sample_types = 1;
            x->stack_pattern = (rd_u8(r) & 1u) ? rd_str(r) : NULL;
        }
        c->extra = extras;
        c->n_extra = n;
    }
}

static pbw reqs[5];
static size_t n_reqs;

static void build_requests(void)
{
    build_main_request(&reqs[0], P2M_LAYOUT_V1_8, 0);
    build_main_request(&reqs[1], P2M_LAYOUT_V1_9, 1);
    build_main_request(&reqs[2], P2M_LAYOUT_V1_10, 0);
    build_function_request(&reqs[3]);
    build_times_request(&reqs[4]);
    n_reqs = 5;
}

/* working memory and state blocks come from pools (fuzz_util.h): they are
   megabytes when max_series or the state limits are large */
static fz_pool work_pool, state_pool;

/* strict_forced: the configuration forces a layout in strict mode, so a
   request of another layout may fail as malformed (docs/spec.md section 1) */
static void run_engine(const p2m_engine *eng, const unsigned char *emem, size_t esize,
                       int strict_forced)
{
    unsigned char *copy = fz_alloc(esize), *smem = NULL, *work, *out;
    size_t ssize = p2m_state_size(eng), k;
    p2m_state *state = NULL;
    p2m_options opt;
    p2m_error err;
    p2m_status s;
    memcpy(copy, emem, esize);
    memset(&opt, 0, sizeof opt);
    opt.now_unix_nano = 99;
    if (ssize) {
        if (ssize > ((size_t)8 << 20))
            goto done;
        smem = fz_pool_get(&state_pool, ssize, 0);
        s = p2m_state_init(eng, smem, ssize, &state, &err);
        FZ_CHECK(s == P2M_OK, "state_init with p2m_state_size bytes gave %d", (int)s);
        opt.state = state;
    }
    for (k = 0; k < n_reqs; k++) {
        size_t need = 0, n = 0;
        s = p2m_work_size(eng, reqs[k].b, reqs[k].n, &need, &err);
        FZ_CHECK(s == P2M_OK, "work_size of request %zu gave %d", k, (int)s);
        FZ_CHECK(need < ((size_t)256 << 20), "work size %zu", need);
        work = fz_pool_get(&work_pool, need, 0);
        memset(&err, 0, sizeof err);
        s = p2m_convert(eng, reqs[k].b, reqs[k].n, &opt, work, need, NULL, 0, &n, NULL, &err);
        if (s == P2M_ERR_MALFORMED && strict_forced && strstr(err.message, "forced layout")) {
            fz_pool_put(&work_pool);
            continue;
        }
        FZ_CHECK(s == P2M_ERR_OUTPUT_TOO_SMALL || s == P2M_ERR_INVALID_REFERENCE,
                 "request %zu: size query gave %d: %s", k, (int)s, err.message);
        if (s == P2M_ERR_OUTPUT_TOO_SMALL) {
            size_t want = err.needed;
            out = fz_alloc(want);
            memset(&err, 0, sizeof err);
            s = p2m_convert(eng, reqs[k].b, reqs[k].n, &opt, work, need, out, want, &n, NULL,
                            &err);
            FZ_CHECK(s == P2M_OK, "request %zu: convert with %zu output bytes gave %d: %s", k,
                     want, (int)s, err.message);
            FZ_CHECK(n <= want && fz_wire_ok(out, n), "request %zu: output", k);
            free(out);
        }
        fz_pool_put(&work_pool);
    }
done:
    FZ_CHECK(memcmp(copy, emem, esize) == 0, "the engine memory changed during conversions");
    if (smem)
        fz_pool_put(&state_pool);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    p2m_config cfg;
    p2m_error err;
    p2m_status s;
    const p2m_engine *eng = NULL;
    unsigned char *block, *mem;
    size_t need, misalign = size % 8 & FZ_MISALIGN_MASK;
    rd r;
    if (!n_reqs)
        build_requests();
    r.p = data;
    r.n = size;
    r.i = 0;
    decode(&r, &cfg);

    memset(&err, 0, sizeof err);
    s = p2m_engine_compile(&cfg, NULL, 0, &eng, &err);
    if (s == P2M_ERR_CONFIG) {
        FZ_CHECK(err.status == s && err.field[0] && err.message[0],
                 "CONFIG error without field or message (field '%s', message '%s')", err.field,
                 err.message);
        FZ_CHECK(memchr(err.field, 0, sizeof err.field) && memchr(err.message, 0, sizeof err.message),
                 "field/message not NUL-terminated");
        return 0;
    }
    FZ_CHECK(s == P2M_ERR_MEMORY && err.needed > 0, "size query gave %d (needed %zu)", (int)s,
             err.needed);
    need = err.needed;
    FZ_CHECK(need < ((size_t)512 << 20), "engine size %zu", need);
    block = fz_alloc(need + misalign);
    mem = block + misalign;
    memset(&err, 0, sizeof err);
    s = p2m_engine_compile(&cfg, mem, need, &eng, &err);
    if (s == P2M_ERR_CONFIG) {
        FZ_CHECK(err.field[0] && err.message[0], "CONFIG error without field or message");
    } else {
        FZ_CHECK(s == P2M_OK, "compile into %zu bytes (asked size) gave %d: %s", need, (int)s,
                 err.message);
        run_engine(eng, mem, need, cfg.strict && cfg.layout != P2M_LAYOUT_AUTO);
    }
    free(block);
    return 0;
}
