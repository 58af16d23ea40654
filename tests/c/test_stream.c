/* SPDX-License-Identifier: MIT
   The streaming encoder against the buffered one: for every input file given
   and several configurations (defaults; the function metric with regex and
   literal rules; cumulative temporality; a series limit that makes overflow
   points), p2m_encode_otlp_stream hands over exactly the bytes of
   p2m_encode_otlp (whose output test_api decodes with protobuf-c), in
   pieces of P2M_STREAM_BUFFER bytes but the last; a callback that refuses
   stops the call with P2M_ERR_WRITE, is not called again, and leaves a
   cumulative state as it was. Built twice: with the default buffer and with
   a 16-byte one, so that pieces split every field kind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
#include "testkit.h"

typedef struct sink {
    unsigned char *buf;
    size_t cap, n;
    unsigned calls, refuse_at; /* refuse the refuse_at-th call (0: never) */
    unsigned after_refusal;    /* calls after a refusal */
    unsigned bad_piece;        /* pieces of a wrong size before the last */
    size_t last_piece;
    int refused;
} sink;

static bool sink_write(void *ctx, const uint8_t *p, size_t n)
{
    sink *s = (sink *)ctx;
    if (s->refused)
        s->after_refusal++;
    s->calls++;
    if (s->calls > 1 && s->last_piece != P2M_STREAM_BUFFER)
        s->bad_piece++; /* only the last piece may be short */
    if (n == 0 || n > P2M_STREAM_BUFFER)
        s->bad_piece++;
    s->last_piece = n;
    if (s->refuse_at && s->calls == s->refuse_at) {
        s->refused = 1;
        return false;
    }
    if (s->n + n <= s->cap)
        memcpy(s->buf + s->n, p, n);
    s->n += n;
    return true;
}

#define NCFG 4
static const char *const cfg_names[NCFG] = {"defaults", "function", "cumulative", "overflow"};

static int make_config(int which, p2m_config *c, p2m_rule *rules)
{
    p2m_config_init(c);
    switch (which) {
    case 1:
        c->function.enabled = 1;
        c->function_mode = P2M_FUNCTION_INCLUSIVE;
        memset(rules, 0, 3 * sizeof *rules);
        rules[0].key = "process.executable.name";
        rules[0].type = P2M_RULE_ATTRIBUTE;
        rules[0].from = "process.executable.name";
        rules[1].key = "thread.kind";
        rules[1].type = P2M_RULE_REGEX;
        rules[1].source = "thread.name";
        rules[1].value = "^([a-z]+)";
        rules[2].key = "team";
        rules[2].type = P2M_RULE_LITERAL;
        rules[2].value = "profiling";
        c->attributes = rules;
        c->n_attributes = 3;
        break;
    case 2:
        c->temporality = P2M_TEMPORALITY_CUMULATIVE;
        c->function.enabled = 1;
        c->function_mode = P2M_FUNCTION_SELF;
        break;
    case 3:
        c->max_series = 2;
        break;
    default:
        break;
    }
    return 0;
}

static unsigned char out[1 << 22], got[1 << 22];

/* One input with one engine: both encoders on one result, and a refusing
   callback at a few places. Returns 1 when the input converted. */
static int check_one(const char *path, const char *cname, const p2m_engine *eng,
                     const unsigned char *in, size_t len)
{
    size_t wneed = 0, n = 0, sn = 0, ssize = p2m_state_size(eng);
    void *work, *smem = NULL;
    p2m_state *state = NULL;
    p2m_options opt;
    p2m_error err;
    const p2m_result *r;
    p2m_status st;
    sink s;
    unsigned k;
    memset(&opt, 0, sizeof opt);
    opt.now_unix_nano = 1700000000000000000ull;
    if (p2m_work_size(eng, in, len, &wneed, &err) != P2M_OK)
        return 0; /* a malformed input of the corpus */
    work = malloc(wneed);
    if (ssize) {
        smem = malloc(ssize);
        EXPECT(p2m_state_init(eng, smem, ssize, &state, &err) == P2M_OK, "%s: state: %s", cname,
               err.message);
        opt.state = state;
    }
    if (p2m_aggregate(eng, in, len, &opt, work, wneed, &r, NULL, &err) != P2M_OK) {
        free(work);
        free(smem);
        return 0;
    }
    st = p2m_encode_otlp(r, out, sizeof out, &n, &err);
    EXPECT(st == P2M_OK, "%s %s: encode: %s", path, cname, err.message);
    memset(&s, 0, sizeof s);
    s.buf = got;
    s.cap = sizeof got;
    st = p2m_encode_otlp_stream(r, sink_write, &s, &sn, &err);
    EXPECT(st == P2M_OK, "%s %s: stream: %s", path, cname, err.message);
    EXPECT(sn == n && s.n == n, "%s %s: stream gave %zu bytes (callback %zu), buffered %zu", path,
           cname, sn, s.n, n);
    EXPECT(s.n != n || memcmp(out, got, n) == 0, "%s %s: the streamed bytes differ", path, cname);
    EXPECT(s.bad_piece == 0, "%s %s: %u pieces of a wrong size (buffer %d)", path, cname,
           s.bad_piece, P2M_STREAM_BUFFER);
    /* a refusal at the first, second and last call */
    for (k = 1; k <= 3 && s.calls; k++) {
        sink f;
        const unsigned at = k == 3 ? s.calls : k;
        memset(&f, 0, sizeof f);
        f.buf = got;
        f.cap = sizeof got;
        f.refuse_at = at;
        sn = 99;
        st = p2m_encode_otlp_stream(r, sink_write, &f, &sn, &err);
        EXPECT(st == P2M_ERR_WRITE && err.status == P2M_ERR_WRITE && err.message[0],
               "%s %s: refusal at call %u gave status %d", path, cname, at, (int)st);
        EXPECT(err.offset == f.n, "%s %s: refusal at call %u: err.offset %zu, taken %zu", path,
               cname, at, err.offset, f.n);
        EXPECT(f.after_refusal == 0 && sn == 0, "%s %s: %u calls after the refusal, size %zu",
               path, cname, f.after_refusal, sn);
    }
    /* p2m_convert_stream: a refusal leaves the cumulative state as it was,
       so the next call's output equals the output without the failed one */
    if (state) {
        sink f;
        size_t n2 = 0;
        memset(&f, 0, sizeof f);
        f.buf = got;
        f.cap = sizeof got;
        f.refuse_at = 1;
        EXPECT(p2m_state_init(eng, smem, ssize, &state, &err) == P2M_OK, "state again");
        opt.state = state;
        EXPECT(p2m_convert(eng, in, len, &opt, work, wneed, out, sizeof out, &n, NULL, &err) ==
                   P2M_OK,
               "%s %s: convert: %s", path, cname, err.message);
        EXPECT(p2m_convert_stream(eng, in, len, &opt, work, wneed, sink_write, &f, &n2, NULL,
                                  &err) == (n ? P2M_ERR_WRITE : P2M_OK),
               "%s %s: convert_stream with a refusing callback: %s", path, cname, err.message);
        EXPECT(p2m_convert(eng, in, len, &opt, work, wneed, out, sizeof out, &n, NULL, &err) ==
                   P2M_OK,
               "%s %s: second convert: %s", path, cname, err.message);
        memset(&f, 0, sizeof f);
        f.buf = got;
        f.cap = sizeof got;
        EXPECT(p2m_state_init(eng, smem, ssize, &state, &err) == P2M_OK, "state again");
        opt.state = state;
        EXPECT(p2m_convert_stream(eng, in, len, &opt, work, wneed, sink_write, &f, &n2, NULL,
                                  &err) == P2M_OK,
               "%s %s: convert_stream: %s", path, cname, err.message);
        f.n = 0;
        EXPECT(p2m_convert_stream(eng, in, len, &opt, work, wneed, sink_write, &f, &n2, NULL,
                                  &err) == P2M_OK,
               "%s %s: second convert_stream: %s", path, cname, err.message);
        EXPECT(n2 == n && f.n == n && memcmp(out, got, n) == 0,
               "%s %s: the second cumulative output differs after a refused call (%zu vs %zu)",
               path, cname, n2, n);
    } else {
        sink f;
        size_t n2 = 0;
        memset(&f, 0, sizeof f);
        f.buf = got;
        f.cap = sizeof got;
        EXPECT(p2m_convert_stream(eng, in, len, &opt, work, wneed, sink_write, &f, &n2, NULL,
                                  &err) == P2M_OK &&
                   n2 == n && memcmp(out, got, n) == 0,
               "%s %s: p2m_convert_stream differs from the buffered encoding", path, cname);
    }
    free(work);
    free(smem);
    return 1;
}

int main(int argc, char **argv)
{
    static unsigned char emem[NCFG][1 << 16];
    const p2m_engine *eng[NCFG];
    p2m_rule rules[NCFG][4];
    p2m_config cfg[NCFG];
    p2m_error err;
    unsigned converted = 0;
    int i, c;
    char name[96];

    snprintf(name, sizeof name, "c.stream.buffer%d.same_bytes_as_buffered", P2M_STREAM_BUFFER);
    tk_begin(name);
    for (c = 0; c < NCFG; c++) {
        make_config(c, &cfg[c], rules[c]);
        if (p2m_engine_compile(&cfg[c], emem[c], sizeof emem[c], &eng[c], &err) != P2M_OK) {
            EXPECT(0, "config %s: %s", cfg_names[c], err.message);
            tk_end();
            return tk_exit_code();
        }
    }
    for (i = 1; i < argc; i++) {
        size_t len = 0;
        unsigned char *in = tk_read_file(argv[i], &len);
        if (!in) {
            EXPECT(0, "cannot read %s", argv[i]);
            continue;
        }
        for (c = 0; c < NCFG; c++)
            converted += (unsigned)check_one(argv[i], cfg_names[c], eng[c], in, len);
        free(in);
    }
    EXPECT(converted >= 4u * (unsigned)(argc - 1) / 2u, "only %u of %d conversions succeeded",
           converted, 4 * (argc - 1));
    printf("# %u conversions streamed\n", converted);
    tk_end();

    snprintf(name, sizeof name, "c.stream.buffer%d.arguments", P2M_STREAM_BUFFER);
    tk_begin(name);
    {
        sink s;
        size_t n = 7;
        memset(&s, 0, sizeof s);
        EXPECT(p2m_encode_otlp_stream(NULL, sink_write, &s, &n, &err) == P2M_ERR_ARGUMENT && n == 0,
               "NULL result accepted");
        EXPECT(p2m_convert_stream(eng[0], "", 0, NULL, emem[0], 8, NULL, &s, &n, NULL, &err) ==
                   P2M_ERR_ARGUMENT,
               "NULL write accepted");
        EXPECT(s.calls == 0, "the callback was called");
    }
    tk_end();
    return tk_exit_code();
}
