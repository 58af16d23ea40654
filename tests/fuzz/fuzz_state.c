/* SPDX-License-Identifier: MIT
   libFuzzer target: the cumulative state across calls.
   One state (small: 24 series, 4 KiB of copies, so it fills up) is kept
   across fuzz inputs and started afresh every 512 inputs. An input is a
   control byte, then up to 3 requests separated by "--P2M--"; each request
   is converted into the same state, in a mode picked by two control bits:
     0 working memory and output of the sizes the library asks for
     1 first an output buffer that is too small (0..15 bytes or half the
       size): must fail with OUTPUT_TOO_SMALL, then the normal call
     2 first too little working memory: must fail, then the normal call
     3 the normal call twice from the same state (the state memory copied
       back in between): same output bytes and same state bytes, and
       p2m_aggregate + p2m_encode_otlp from that state give the same bytes
   After every call that fails, the whole state memory is byte-identical to
   its copy from before the call (state unchanged on failure). */
#include "fuzz_util.h"

static unsigned char engine_mem[1 << 14];
static const p2m_engine *eng;
static unsigned char *state_mem, *state_copy, *state_after;
static size_t state_size;
static p2m_state *state;
static unsigned long inputs;
static int debug; /* FZ_DEBUG set: where aggregate + encode and convert differ */

static void setup(void)
{
    p2m_config c;
    p2m_error err;
    p2m_config_init(&c);
    c.temporality = P2M_TEMPORALITY_CUMULATIVE;
    c.state_max_series = 24;
    c.state_bytes = 4096;
    c.max_series = 8;
    c.function.enabled = 1;
    if (p2m_engine_compile(&c, engine_mem, sizeof engine_mem, &eng, &err) != P2M_OK) {
        fprintf(stderr, "fuzz_state: config rejected: %s: %s\n", err.field, err.message);
        abort();
    }
    debug = getenv("FZ_DEBUG") != NULL;
    state_size = p2m_state_size(eng);
    FZ_CHECK(state_size > 0 && state_size < (1u << 20), "state size %zu", state_size);
    state_mem = fz_alloc(state_size);
    state_copy = fz_alloc(state_size);
    state_after = fz_alloc(state_size);
}

static void reset(void)
{
    p2m_error err;
    memset(state_mem, 0xc3, state_size);
    FZ_CHECK(p2m_state_init(eng, state_mem, state_size, &state, &err) == P2M_OK,
             "state_init: %s", err.message);
}

static void unchanged(const char *what, p2m_status s)
{
    size_t i;
    if (memcmp(state_mem, state_copy, state_size) == 0)
        return;
    for (i = 0; i < state_size && state_mem[i] == state_copy[i]; i++)
        ;
    FZ_CHECK(0, "%s failed (status %d) but changed state byte %zu of %zu", what, (int)s, i,
             state_size);
}

/* One call with the sizes the library asks for; returns the output (malloc)
   or NULL when the request is rejected (then the state is unchanged). */
static unsigned char *convert_ok(const uint8_t *in, size_t len, const p2m_options *opt,
                                 size_t *n_out, size_t *work_need)
{
    p2m_error err;
    p2m_status s;
    size_t need = 0, want, n = 0;
    unsigned char *work, *out;
    memcpy(state_copy, state_mem, state_size);
    s = p2m_work_size(eng, in, len, &need, &err);
    if (s != P2M_OK) {
        FZ_CHECK(s == P2M_ERR_MALFORMED, "work_size gave %d", (int)s);
        unchanged("work_size", s);
        return NULL;
    }
    *work_need = need;
    work = fz_alloc(need);
    s = p2m_convert(eng, in, len, opt, work, need, NULL, 0, &n, NULL, &err);
    if (s != P2M_ERR_OUTPUT_TOO_SMALL) {
        FZ_CHECK(s == P2M_ERR_MALFORMED || s == P2M_OK,
                 "size query gave %d: %s", (int)s, err.message);
        if (s == P2M_OK) {
            /* nothing to write: the call was complete and the state updated */
            FZ_CHECK(n == 0, "OK without a buffer but %zu bytes", n);
            free(work);
            *n_out = 0;
            return fz_alloc(0);
        }
        unchanged("convert (size query)", s);
        free(work);
        return NULL;
    }
    unchanged("convert (size query)", s);
    want = err.needed;
    out = fz_alloc(want);
    s = p2m_convert(eng, in, len, opt, work, need, out, want, &n, NULL, &err);
    FZ_CHECK(s == P2M_OK, "convert with the sizes asked for gave %d: %s", (int)s, err.message);
    FZ_CHECK(n <= want && fz_wire_ok(out, n), "output of %zu bytes (cap %zu) not protobuf", n,
             want);
    free(work);
    *n_out = n;
    return out;
}

static void one_request(const uint8_t *in, size_t len, unsigned mode, unsigned c)
{
    p2m_options opt;
    p2m_error err;
    p2m_status s;
    size_t n = 0, n2 = 0, need = 0, i;
    unsigned char *out, *out2;
    memset(&opt, 0, sizeof opt);
    opt.state = state;
    opt.now_unix_nano = 1000000000ull * (inputs + 1);

    if (mode == 1 || mode == 2) {
        /* first learn the sizes on a copy of the state, then put it back */
        memcpy(state_after, state_mem, state_size);
        out = convert_ok(in, len, &opt, &n, &need);
        memcpy(state_mem, state_after, state_size);
        if (!out)
            return;
        free(out);
        memcpy(state_copy, state_mem, state_size);
        if (mode == 1 && n > 0) {
            size_t cap = (c & 16) ? n / 2 : (c % 16 < n ? c % 16 : n - 1);
            unsigned char *work = fz_alloc(need);
            out2 = fz_alloc(cap);
            memset(out2, 0x77, cap);
            s = p2m_convert(eng, in, len, &opt, work, need, out2, cap, &n2, NULL, &err);
            FZ_CHECK(s == P2M_ERR_OUTPUT_TOO_SMALL && err.needed > cap,
                     "cap %zu of %zu gave %d (needed %zu)", cap, n, (int)s, err.needed);
            for (i = 0; i < cap; i++)
                FZ_CHECK(out2[i] == 0x77, "failed call wrote output byte %zu", i);
            unchanged("convert with a small output buffer", s);
            free(out2);
            free(work);
        } else if (mode == 2 && need > 0) {
            size_t wcap = (c & 16) ? need / 2 : need - 1;
            unsigned char *work = fz_alloc(wcap);
            out2 = fz_alloc(n);
            s = p2m_convert(eng, in, len, &opt, work, wcap, out2, n, &n2, NULL, &err);
            /* work_size is an upper bound: a little less may still do */
            if (s != P2M_OK) {
                FZ_CHECK(s == P2M_ERR_MEMORY && err.needed > wcap,
                         "work %zu of %zu gave %d (needed %zu)", wcap, need, (int)s, err.needed);
                unchanged("convert with too little working memory", s);
            } else {
                memcpy(state_mem, state_copy, state_size); /* undo, then the normal call */
            }
            free(out2);
            free(work);
        }
        out = convert_ok(in, len, &opt, &n, &need);
        free(out);
        return;
    }
    out = convert_ok(in, len, &opt, &n, &need);
    if (!out || mode == 0) {
        free(out);
        return;
    }
    /* mode 3: again from the state before the call */
    memcpy(state_after, state_mem, state_size);
    memcpy(state_mem, state_copy, state_size);
    out2 = convert_ok(in, len, &opt, &n2, &need);
    FZ_CHECK(out2 && n2 == n && memcmp(out, out2, n) == 0,
             "the same call from the same state gave different output (%zu vs %zu bytes)", n2, n);
    FZ_CHECK(memcmp(state_after, state_mem, state_size) == 0,
             "the same call from the same state left different state bytes");
    free(out2);
    /* aggregate (commits to the state) + encode, from the same start */
    memcpy(state_mem, state_copy, state_size);
    {
        unsigned char *work = fz_alloc(need);
        const p2m_result *r = NULL;
        s = p2m_aggregate(eng, in, len, &opt, work, need, &r, NULL, &err);
        FZ_CHECK(s == P2M_OK, "aggregate gave %d where convert succeeded", (int)s);
        fz_walk_result(r);
        out2 = fz_alloc(n);
        s = p2m_encode_otlp(r, out2, n, &n2, &err);
        if (debug && n2 == n) {
            for (i = 0; i < n && out[i] == out2[i]; i++)
                ;
            fprintf(stderr, "input %lu mode %u: first difference at byte %zu of %zu\n", inputs, mode, i, n);
            if (i < n) {
                size_t k;
                for (k = i > 40 ? i - 40 : 0; k < n && k < i + 40; k++)
                    fprintf(stderr, "%02x%s", out[k], k == i ? "|" : " ");
                fputc('\n', stderr);
                for (k = i > 40 ? i - 40 : 0; k < n && k < i + 40; k++)
                    fprintf(stderr, "%02x%s", out2[k], k == i ? "|" : " ");
                fputc('\n', stderr);
            }
        }
#ifndef FZ_SKIP_AGGREGATE_VIEW
        FZ_CHECK(s == P2M_OK && n2 == n && memcmp(out, out2, n) == 0,
                 "aggregate + encode differs from convert (%d, %zu vs %zu bytes)", (int)s, n2, n);
#endif
        FZ_CHECK(memcmp(state_after, state_mem, state_size) == 0,
                 "aggregate left a different state than convert");
        free(out2);
        free(work);
    }
    free(out);
}

static const uint8_t *find_sep(const uint8_t *p, size_t n)
{
    static const char sep[] = "--P2M--";
    size_t i;
    for (i = 0; i + 7 <= n; i++)
        if (p[i] == '-' && memcmp(p + i, sep, 7) == 0)
            return p + i;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned c;
    int part;
    const uint8_t *p, *end;
    if (!eng)
        setup();
    if (inputs++ % 512 == 0)
        reset();
    if (size < 1)
        return 0;
    c = data[0];
    p = data + 1;
    end = data + size;
    for (part = 0; part < 3; part++) {
        const uint8_t *q = part < 2 ? find_sep(p, (size_t)(end - p)) : NULL;
        size_t len = q ? (size_t)(q - p) : (size_t)(end - p);
        one_request(p, len, (c >> (2 * part)) & 3u, c);
        if (!q)
            break;
        p = q + 7;
    }
    return 0;
}
