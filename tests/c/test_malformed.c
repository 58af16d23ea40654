/* SPDX-License-Identifier: MIT
   Hostile input: built with -fsanitize=address,undefined so any read past
   the input (each input is copied into a block of exactly its size) or any
   undefined behaviour aborts the run.

   - every prefix of several valid requests: OK exactly when the prefix ends
     on a top-level field boundary (found by our own walker), else
     P2M_ERR_MALFORMED with an offset inside the cut field;
   - every length prefix of the hand-built requests changed by +1, -1 and to
     0xFF: OK or MALFORMED, never anything else;
   - hand-built defects at known places (bad wire types at many depths, field
     number 0, an 11-byte varint, lengths past the end, nesting deeper than
     32, contradicting layout evidence): P2M_ERR_MALFORMED at the exact offset;
   - all-or-nothing: after any failed call the output buffer is untouched.

   Usage: test_malformed [REAL_PROFILE [REAL_K8S]] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile2metrics.h"
#include "requests.h"
#include "testkit.h"

#define PATTERN 0xA5
#define OUT_CAP ((size_t)128 << 10)

static uint64_t engine_mem[1 << 17];
static uint64_t big_work[1 << 19]; /* 4 MiB */
static unsigned char out_buf[OUT_CAP];
static const p2m_engine *eng;        /* the engine run() uses */
static const p2m_engine *eng_default; /* defaults */
static const p2m_engine *eng_fn;      /* function metric (inclusive), rules */
static uint64_t engine_mem_fn[1 << 17];

/* Output of one run of an input through the library. */
typedef struct outcome {
    p2m_status st;       /* of p2m_convert */
    p2m_error err;
    size_t out_n;
    int out_touched;     /* failed call changed the output buffer */
    int work_st;         /* status of p2m_work_size */
    int memory_bug;      /* MEMORY with work_size's amount, but fine with more */
    size_t work_need;
} outcome;

static unsigned char pattern_buf[OUT_CAP];
static int out_dirty = 1; /* out_buf may differ from the pattern */

static void out_reset(void)
{
    if (out_dirty) {
        memset(out_buf, PATTERN, OUT_CAP);
        if (pattern_buf[0] != PATTERN)
            memset(pattern_buf, PATTERN, OUT_CAP);
        out_dirty = 0;
    }
}

/* After a call: 1 when the output buffer still holds only the pattern. */
static int out_untouched(void)
{
    if (memcmp(out_buf, pattern_buf, OUT_CAP) == 0)
        return 1;
    out_dirty = 1;
    return 0;
}

/* Copies the input into a block of exactly its size, asks p2m_work_size,
   converts with exactly that much working memory (a block of that size). */
static unsigned long n_runs;

/* P2M_MALFORMED_STRIDE=k in the environment (tests/suite-s390x.sh, where
   qemu-user makes the full run take minutes): only every k-th case of the
   prefix, length and nested-cut checks (every prefix that ends on a field
   boundary still runs) and the first 1/k of the seeded mutations, with the
   same assertions. Unset or 1: every case. */
static size_t stride = 1;

static void run(const unsigned char *p, size_t n, outcome *o)
{
    unsigned char *in = (unsigned char *)malloc(n ? n : 1);
    unsigned char *work;
    memset(o, 0, sizeof *o);
    n_runs++;
    if (n)
        memcpy(in, p, n);
    o->work_st = (int)p2m_work_size(eng, in, n, &o->work_need, &o->err);
    out_reset();
    if (o->work_st == P2M_OK && o->work_need <= sizeof big_work) {
        work = (unsigned char *)malloc(o->work_need ? o->work_need : 1);
        o->st = p2m_convert(eng, in, n, NULL, work, o->work_need, out_buf, OUT_CAP, &o->out_n,
                            NULL, &o->err);
        free(work);
        if (o->st == P2M_ERR_MEMORY) {
            p2m_error e2;
            size_t n2;
            p2m_status s2;
            out_dirty = 1;
            s2 = p2m_convert(eng, in, n, NULL, big_work, sizeof big_work, out_buf, OUT_CAP, &n2,
                             NULL, &e2);
            o->memory_bug = s2 == P2M_OK;
            out_dirty = 1;
            out_reset();
            o->st = p2m_convert(eng, in, n, NULL, big_work, sizeof big_work, out_buf, OUT_CAP,
                                &o->out_n, NULL, &o->err);
        }
    } else {
        o->st = p2m_convert(eng, in, n, NULL, big_work, sizeof big_work, out_buf, OUT_CAP,
                            &o->out_n, NULL, &o->err);
    }
    if (o->st != P2M_OK)
        o->out_touched = !out_untouched();
    else
        out_dirty = 1;
    free(in);
}

/* Too little working memory: every size below p2m_work_size's, in steps of
   8 (each number of spans that fit, so at one of them the dictionary scan's
   kept spans fill the memory exactly; with a stride, steps of 8 x stride),
   in a heap block of exactly that size (ASan sees any byte written past
   it), with the engine e; each call must answer P2M_ERR_MEMORY with the
   queried size, and leave the output alone. */
static void check_work_short(const char *name, const p2m_engine *e, const unsigned char *p,
                             size_t n)
{
    size_t need = 0, size;
    p2m_error err;
    tk_begin(name);
    EXPECT(p2m_work_size(e, p, n, &need, &err) == P2M_OK, "work_size: %s", err.message);
    for (size = 0; need && size < need && tk_bad < 5; size += 8u * stride) {
        unsigned char *work = (unsigned char *)malloc(size ? size : 1);
        size_t out_n = 0;
        p2m_status st;
        n_runs++;
        out_reset();
        st = p2m_convert(e, p, n, NULL, size ? work : NULL, size, out_buf, OUT_CAP, &out_n, NULL,
                         &err);
        EXPECT(st == P2M_ERR_MEMORY && err.needed == need,
               "%zu of %zu bytes of working memory: status %d, needed %zu", size, need, (int)st,
               err.needed);
        EXPECT(out_untouched(), "%zu bytes of working memory: the output was written", size);
        free(work);
    }
    tk_end();
}

/* Prints the input of the first failure of a check (for the report). */
static void dump_once(const char *what, const unsigned char *p, size_t n)
{
    if (tk_bad == 1)
        printf("# %s: input (%zu bytes) %s\n", what, n, pbw_hex(p, n, 1024));
}

/* Common checks of a MALFORMED outcome; returns 0 and reports on failure. */
static int malformed_ok(const outcome *o, size_t n, const char *what)
{
    if (o->st != P2M_ERR_MALFORMED) {
        tk_fail(__LINE__, "%s: status %d, expected MALFORMED", what, (int)o->st);
        return 0;
    }
    if (o->err.status != P2M_ERR_MALFORMED) {
        tk_fail(__LINE__, "%s: err.status %d", what, (int)o->err.status);
        return 0;
    }
    if (o->err.offset > n) {
        tk_fail(__LINE__, "%s: err.offset %zu > input length %zu", what, o->err.offset, n);
        return 0;
    }
    if (!memchr(o->err.message, 0, sizeof o->err.message) || o->err.message[0] == 0) {
        tk_fail(__LINE__, "%s: empty or unterminated message", what);
        return 0;
    }
    if (o->out_touched) {
        tk_fail(__LINE__, "%s: failed call wrote into the output buffer", what);
        return 0;
    }
    if (o->memory_bug) {
        tk_fail(__LINE__, "%s: MEMORY with p2m_work_size's %zu bytes", what, o->work_need);
        return 0;
    }
    return 1;
}

/* ---- our own top-level walker (valid inputs only) ------------------------ */

static int read_varint(const unsigned char *p, size_t n, size_t *pos, uint64_t *v)
{
    uint64_t r = 0;
    int shift = 0;
    while (*pos < n && shift < 64) {
        unsigned char c = p[(*pos)++];
        r |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = r;
            return 1;
        }
        shift += 7;
    }
    return 0;
}

/* Start offsets of the top-level fields, and n itself at the end. */
static size_t toplevel_bounds(const unsigned char *p, size_t n, size_t *b, size_t cap)
{
    size_t pos = 0, k = 0;
    while (pos < n && k + 1 < cap) {
        uint64_t tag, v;
        b[k++] = pos;
        if (!read_varint(p, n, &pos, &tag))
            return 0;
        switch (tag & 7) {
        case 0: if (!read_varint(p, n, &pos, &v)) return 0; break;
        case 1: pos += 8; break;
        case 5: pos += 4; break;
        case 2:
            if (!read_varint(p, n, &pos, &v) || v > n - pos)
                return 0;
            pos += (size_t)v;
            break;
        default: return 0;
        }
    }
    if (pos != n)
        return 0;
    b[k++] = n;
    return k;
}

static void check_prefixes(const char *name, const unsigned char *p, size_t n)
{
    static size_t bounds[4096];
    size_t nb, L, bi = 0, bad_shown = 0;
    outcome o;
    char what[128];
    tk_begin(name);
    nb = toplevel_bounds(p, n, bounds, 4096);
    EXPECT(nb >= 2, "test bug: cannot walk the top level of the valid input");
    for (L = 0; nb >= 2 && L <= n; L++) {
        int boundary;
        while (bi + 1 < nb && bounds[bi + 1] <= L)
            bi++;
        boundary = bounds[bi] == L;
        if (!boundary && L % stride != 0)
            continue;
        run(p, L, &o);
        snprintf(what, sizeof what, "prefix %zu of %zu", L, n);
        if (boundary) {
            if (o.st != P2M_OK) {
                tk_fail(__LINE__, "%s ends on a field boundary (valid protobuf): status %d at "
                        "offset %zu: %s", what, (int)o.st, o.err.offset, o.err.message);
                if (bad_shown++ == 0)
                    printf("# %s: input %s\n", what, pbw_hex(p, L, 64));
            }
            if (o.memory_bug)
                tk_fail(__LINE__, "%s: MEMORY with p2m_work_size's %zu bytes", what,
                        o.work_need);
        } else {
            /* cut inside the field that starts at bounds[bi] */
            if (!malformed_ok(&o, L, what)) {
                if (bad_shown++ == 0)
                    printf("# %s: input ends %s\n", what,
                           pbw_hex(p + (L > 32 ? L - 32 : 0), L > 32 ? 32 : L, 64));
            } else if (o.err.offset < bounds[bi]) {
                tk_fail(__LINE__, "%s: offset %zu is before the cut field (starts at %zu)", what,
                        o.err.offset, bounds[bi]);
            }
        }
        if (tk_bad > 20)
            break;
    }
    tk_end();
}

static void check_lengths(const char *name, const pbw *req)
{
    static unsigned char buf[PBW_CAP];
    size_t i;
    int v;
    outcome o;
    char what[160];
    tk_begin(name);
    EXPECT(req->nlen > 5, "test bug: no length prefixes recorded");
    for (i = 0; i < req->nlen; i++) {
        size_t at = req->lenpos[i];
        for (v = 0; v < 3; v++) {
            unsigned char orig = req->b[at], now;
            if ((i * 3 + (size_t)v) % stride != 0)
                continue;
            memcpy(buf, req->b, req->n);
            now = v == 0 ? (unsigned char)(orig + 1) : v == 1 ? (unsigned char)(orig - 1) : 0xFF;
            buf[at] = now;
            run(buf, req->n, &o);
            snprintf(what, sizeof what, "length byte at %zu changed %02x -> %02x", at, orig, now);
            if (o.st == P2M_OK) {
                if (o.memory_bug)
                    tk_fail(__LINE__, "%s: MEMORY with p2m_work_size's bytes", what);
                continue;
            }
            if (!malformed_ok(&o, req->n, what))
                dump_once(what, buf, req->n);
        }
        if (tk_bad > 20)
            break;
    }
    tk_end();
}

/* ---- truncation inside nested messages ----------------------------------
   Cuts the content of one length-delimited field X at every byte and fixes
   the lengths of all fields enclosing X, so the outer frames stay consistent
   and the parser meets the cut deep inside. Spans come from the writer's
   record of every length prefix. */

typedef struct span { size_t lp, c0, c1; } span;

static size_t spans_of(const pbw *req, span *sp, size_t cap)
{
    size_t i, k = 0;
    for (i = 0; i < req->nlen && k < cap; i++) {
        size_t pos = req->lenpos[i];
        uint64_t len;
        if (!read_varint(req->b, req->n, &pos, &len))
            continue;
        sp[k].lp = req->lenpos[i];
        sp[k].c0 = pos;
        sp[k].c1 = pos + (size_t)len;
        k++;
    }
    return k;
}

static size_t put_varint(unsigned char *o, uint64_t v)
{
    size_t k = 0;
    while (v >= 0x80) {
        o[k++] = (unsigned char)((v & 0x7f) | 0x80);
        v >>= 7;
    }
    o[k++] = (unsigned char)v;
    return k;
}

/* Writes bytes [a, b) of src to out, with span x's content cut at `cut`
   and every enclosing length rewritten. Returns bytes written. */
static size_t emit_cut(const unsigned char *src, size_t a, size_t b, const span *sp, size_t ns,
                       size_t x, size_t cut, unsigned char *out)
{
    size_t i, best = ns, n = 0;
    /* the outermost span inside [a, b) that holds x (or is x) */
    for (i = 0; i < ns; i++) {
        if (sp[i].lp < a || sp[i].c1 > b)
            continue;
        if (i == x || (sp[i].c0 <= sp[x].lp && sp[x].c1 <= sp[i].c1 && i != x)) {
            if (best == ns || sp[i].lp < sp[best].lp)
                best = i;
        }
    }
    if (best == ns) { /* not inside: copy as is */
        memcpy(out, src + a, b - a);
        return b - a;
    }
    memcpy(out, src + a, sp[best].lp - a);
    n = sp[best].lp - a;
    {
        static unsigned char tmp[64][PBW_CAP];
        static int depth;
        size_t inner;
        if (depth >= 64)
            pbw_die("emit_cut: too deep");
        if (best == x) {
            inner = cut - sp[x].c0;
            memcpy(tmp[depth], src + sp[x].c0, inner);
        } else {
            depth++;
            inner = emit_cut(src, sp[best].c0, sp[best].c1, sp, ns, x, cut, tmp[depth - 1]);
            depth--;
        }
        n += put_varint(out + n, inner);
        memcpy(out + n, tmp[depth], inner);
        n += inner;
    }
    memcpy(out + n, src + sp[best].c1, b - sp[best].c1);
    return n + (b - sp[best].c1);
}

static void check_nested_cuts(const char *name, const pbw *req)
{
    static span sp[PBW_MAXLEN];
    static unsigned char buf[PBW_CAP];
    static size_t bounds[1024];
    size_t ns, x, cut, n, nb, count = 0;
    outcome o;
    char what[192];
    tk_begin(name);
    ns = spans_of(req, sp, PBW_MAXLEN);
    EXPECT(ns > 10, "test bug: %zu spans", ns);
    for (x = 0; x < ns; x++) {
        /* depth 1 = the content of a top-level field (a ResourceProfiles or
           the dictionary): the parser must walk it, so the result is exact */
        int depth1 = 1;
        size_t j, bi = 0;
        for (j = 0; j < ns; j++)
            if (j != x && sp[j].c0 <= sp[x].lp && sp[x].c1 <= sp[j].c1)
                depth1 = 0;
        nb = depth1 ? toplevel_bounds(req->b + sp[x].c0, sp[x].c1 - sp[x].c0, bounds, 1024) : 0;
        /* self-check of the cutter: no cut gives the request back */
        n = emit_cut(req->b, 0, req->n, sp, ns, x, sp[x].c1, buf);
        EXPECT(n == req->n && memcmp(buf, req->b, n) == 0, "test bug: uncut span %zu differs", x);
        for (cut = sp[x].c0; cut < sp[x].c1; cut++) {
            if ((cut - sp[x].c0) % stride != 0 && cut + 1 != sp[x].c1)
                continue;
            n = emit_cut(req->b, 0, req->n, sp, ns, x, cut, buf);
            /* self-check: the top level still frames the whole input */
            EXPECT(toplevel_bounds(buf, n, bounds + 512, 512) >= 2,
                   "test bug: the cut input has no consistent top level");
            run(buf, n, &o);
            count++;
            snprintf(what, sizeof what, "field with length at %zu cut to %zu of %zu bytes",
                     sp[x].lp, cut - sp[x].c0, sp[x].c1 - sp[x].c0);
            if (depth1 && nb >= 2) {
                int boundary;
                while (bi + 1 < nb && bounds[bi + 1] <= cut - sp[x].c0)
                    bi++;
                boundary = bounds[bi] == cut - sp[x].c0;
                if (boundary && o.st != P2M_OK) {
                    tk_fail(__LINE__, "%s (a field boundary: valid): status %d at %zu: %s", what,
                            (int)o.st, o.err.offset, o.err.message);
                    dump_once(what, buf, n);
                } else if (!boundary && !malformed_ok(&o, n, what)) {
                    dump_once(what, buf, n);
                }
                continue;
            }
            if (o.st == P2M_OK) {
                if (o.memory_bug)
                    tk_fail(__LINE__, "%s: MEMORY with p2m_work_size's bytes", what);
                continue;
            }
            if (!malformed_ok(&o, n, what))
                dump_once(what, buf, n);
        }
        if (tk_bad > 20)
            break;
    }
    EXPECT(count > 100 / stride, "only %zu cut inputs", count);
    tk_end();
}

/* ---- hand-built defects at known places ---------------------------------- */

enum loc {
    L_TOP, L_RP, L_SP, L_PROFILE, L_SAMPLE, L_DICT, L_ATTR, L_ATTR_ANY, L_RES, L_RES_KV,
    L_RES_ANY, L__N
};
static const char *const loc_name[L__N] = {
    "request", "resource_profiles", "scope_profiles", "profile", "sample", "dictionary",
    "attribute_table_entry", "attribute_table_anyvalue", "resource", "resource_keyvalue",
    "resource_anyvalue"};

/* A small valid v1.10 request (one cpu sample of 10 ns), with `bad` appended
   at the end of the body of the message named by loc; req->mark is where. */
static void build_small(pbw *req, int loc, const unsigned char *bad, size_t nbad)
{
    static const int64_t a12[] = {1, 2}, v10[] = {10};
    pbw dict, e, av, rp, res, kv, sp, prof, s;
    int i;
#define INJECT(w, L) do { if (loc == (L)) { pbw_mark(&(w)); pbw_raw(&(w), bad, nbad); } } while (0)
    pbw_init(req);

    pbw_init(&rp);
    pbw_init(&res);
    pbw_init(&kv);
    pbw_str(&kv, 1, "service.name");
    pbw_init(&av);
    pbw_str(&av, 1, "svc");
    INJECT(av, L_RES_ANY);
    pbw_msg(&kv, 2, &av);
    INJECT(kv, L_RES_KV);
    pbw_msg(&res, 1, &kv);
    INJECT(res, L_RES);
    pbw_msg(&rp, 1, &res);
    pbw_init(&sp);
    pbw_init(&prof);
    rq_valuetype(&prof, 1, S_CPU, S_NS);
    pbw_init(&s);
    pbw_packed_ints(&s, 2, a12, 2);
    pbw_packed_ints(&s, 4, v10, 1);
    INJECT(s, L_SAMPLE);
    pbw_msg(&prof, 2, &s);
    pbw_fixed64(&prof, 3, 1000);
    INJECT(prof, L_PROFILE);
    pbw_msg(&sp, 2, &prof);
    INJECT(sp, L_SP);
    pbw_msg(&rp, 2, &sp);
    INJECT(rp, L_RP);
    pbw_msg(req, 1, &rp);

    pbw_init(&dict);
    for (i = 0; i < S__N; i++)
        pbw_str(&dict, 5, rq_strings[i]);
    pbw_str(&dict, 5, "padding so that the dictionary is longer than 127 bytes: "
                      "0123456789012345678901234567890123456789012345678901234567890123456789");
    pbw_init(&e);
    pbw_msg(&dict, 6, &e);
    rq_attr_entry(&dict, S_PROC, "app");
    pbw_init(&e);
    pbw_int(&e, 1, S_THREAD);
    pbw_init(&av);
    pbw_str(&av, 1, "worker");
    INJECT(av, L_ATTR_ANY);
    pbw_msg(&e, 2, &av);
    INJECT(e, L_ATTR);
    pbw_msg(&dict, 6, &e);
    INJECT(dict, L_DICT);
    pbw_msg(req, 2, &dict);
    INJECT(*req, L_TOP);
#undef INJECT
}

/* Runs one defect and checks MALFORMED at one of the accepted offsets. */
static void expect_defect(const pbw *req, size_t off_a, size_t off_b, const char *what)
{
    outcome o;
    run(req->b, req->n, &o);
    if (!malformed_ok(&o, req->n, what)) {
        dump_once(what, req->b, req->n);
        return;
    }
    if (o.err.offset != off_a && o.err.offset != off_b) {
        if (off_a == off_b)
            tk_fail(__LINE__, "%s: offset %zu, expected %zu (%s)", what, o.err.offset, off_a,
                    o.err.message);
        else
            tk_fail(__LINE__, "%s: offset %zu, expected %zu or %zu (%s)", what, o.err.offset,
                    off_a, off_b, o.err.message);
        dump_once(what, req->b, req->n);
    }
}

static void check_small_valid(void)
{
    static pbw req;
    outcome o;
    tk_begin("c.malformed.small_request_valid");
    build_small(&req, -1, NULL, 0);
    run(req.b, req.n, &o);
    EXPECT(o.st == P2M_OK, "the defect-free small request: status %d at %zu: %s", (int)o.st,
           o.err.offset, o.err.message);
    tk_end();
}

static void check_wire_types(void)
{
    static pbw req;
    static const unsigned wts[4] = {3, 4, 6, 7};
    char name[96], what[96];
    int loc, k;
    for (loc = 0; loc < L__N; loc++) {
        snprintf(name, sizeof name, "c.malformed.wire_type.%s", loc_name[loc]);
        tk_begin(name);
        for (k = 0; k < 4; k++) {
            /* field 15 (unknown everywhere), wire type 3/4/6/7, then a byte */
            unsigned char bad[2];
            bad[0] = (unsigned char)((15u << 3) | wts[k]);
            bad[1] = 0x01;
            build_small(&req, loc, bad, 2);
            snprintf(what, sizeof what, "wire type %u in %s", wts[k], loc_name[loc]);
            expect_defect(&req, req.mark, req.mark, what);
        }
        tk_end();
    }
}

static void check_field_zero(void)
{
    static pbw req;
    static const int locs[] = {L_TOP, L_RP, L_PROFILE, L_SAMPLE, L_DICT, L_RES_ANY};
    static const unsigned char f0v[] = {0x00, 0x01}, f0l[] = {0x02, 0x00};
    char what[96];
    size_t i;
    tk_begin("c.malformed.field_number_zero");
    for (i = 0; i < sizeof locs / sizeof locs[0]; i++) {
        build_small(&req, locs[i], f0v, 2);
        snprintf(what, sizeof what, "field 0 varint in %s", loc_name[locs[i]]);
        expect_defect(&req, req.mark, req.mark, what);
        build_small(&req, locs[i], f0l, 2);
        snprintf(what, sizeof what, "field 0 length-delimited in %s", loc_name[locs[i]]);
        expect_defect(&req, req.mark, req.mark, what);
    }
    tk_end();
}

static void check_long_varint(void)
{
    static pbw req;
    unsigned char bad[16];
    int i;
    tk_begin("c.malformed.varint_11_bytes");
    /* as a tag at the top level */
    for (i = 0; i < 10; i++)
        bad[i] = 0x80;
    bad[10] = 0x00;
    build_small(&req, L_TOP, bad, 11);
    expect_defect(&req, req.mark, req.mark, "11-byte tag at top level");
    /* as the value of Profile.period (field 6): offset of the varint */
    bad[0] = 0x30;
    for (i = 1; i < 11; i++)
        bad[i] = 0x81;
    bad[11] = 0x00;
    build_small(&req, L_PROFILE, bad, 12);
    expect_defect(&req, req.mark + 1, req.mark + 1, "11-byte varint value of Profile.period");
    /* as the value of an unknown varint field in a sample */
    bad[0] = (unsigned char)(15u << 3);
    build_small(&req, L_SAMPLE, bad, 12);
    expect_defect(&req, req.mark + 1, req.mark + 1, "11-byte varint in an unknown sample field");
    /* as a tag inside the dictionary */
    for (i = 0; i < 10; i++)
        bad[i] = 0xff;
    bad[10] = 0x01;
    build_small(&req, L_DICT, bad, 11);
    expect_defect(&req, req.mark, req.mark, "11-byte tag in the dictionary");
    tk_end();
}

static void check_lengths_past_end(void)
{
    static pbw req;
    /* field 15 length-delimited, length 127: past the end of the enclosing
       message but not past the end of the input (the dictionary follows) */
    static const unsigned char l127[] = {0x7a, 0x7f, 0x00};
    static const unsigned char l4g[] = {0x7a, 0xff, 0xff, 0xff, 0xff, 0x0f};
    static const unsigned char lmax[] = {0x7a, 0xff, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0x01};
    static const int locs[] = {L_RP, L_SP, L_PROFILE, L_SAMPLE, L_RES, L_RES_ANY};
    char what[96];
    size_t i;
    tk_begin("c.malformed.length_past_end");
    for (i = 0; i < sizeof locs / sizeof locs[0]; i++) {
        build_small(&req, locs[i], l127, sizeof l127);
        snprintf(what, sizeof what, "length 127 past the end of %s", loc_name[locs[i]]);
        expect_defect(&req, req.mark, req.mark + 1, what);
        build_small(&req, locs[i], l4g, sizeof l4g);
        snprintf(what, sizeof what, "length 2^32-1 in %s", loc_name[locs[i]]);
        expect_defect(&req, req.mark, req.mark + 1, what);
        build_small(&req, locs[i], lmax, sizeof lmax);
        snprintf(what, sizeof what, "length 2^64-1 in %s", loc_name[locs[i]]);
        expect_defect(&req, req.mark, req.mark + 1, what);
    }
    build_small(&req, L_TOP, l4g, sizeof l4g);
    expect_defect(&req, req.mark, req.mark + 1, "length 2^32-1 at top level");
    build_small(&req, L_TOP, lmax, sizeof lmax);
    expect_defect(&req, req.mark, req.mark + 1, "length 2^64-1 at top level");
    tk_end();
}

/* Resource attribute "deep" whose value nests `levels` kvlists (or arrays). */
static void build_nested(pbw *req, int levels, int use_array)
{
    static pbw a, b, rp, res, sp, prof, s, dict;
    static const int64_t a12[] = {1, 2}, v10[] = {10};
    pbw *cur = &a, *nxt = &b, *t;
    int i;
    pbw_init(cur);
    pbw_str(cur, 1, "leaf"); /* AnyValue{string_value} */
    for (i = 0; i < levels; i++) {
        pbw mid, kv;
        pbw_init(&mid);
        if (use_array) {
            pbw_msg(&mid, 1, cur);       /* ArrayValue{values} */
            pbw_init(nxt);
            pbw_msg(nxt, 5, &mid);       /* AnyValue{array_value} */
        } else {
            pbw_init(&kv);
            pbw_str(&kv, 1, "k");
            pbw_msg(&kv, 2, cur);        /* KeyValue{key, value} */
            pbw_msg(&mid, 1, &kv);       /* KeyValueList{values} */
            pbw_init(nxt);
            pbw_msg(nxt, 6, &mid);       /* AnyValue{kvlist_value} */
        }
        t = cur;
        cur = nxt;
        nxt = t;
    }
    pbw_init(req);
    pbw_init(&rp);
    pbw_init(&res);
    {
        pbw kv;
        pbw_init(&kv);
        pbw_str(&kv, 1, "deep");
        pbw_msg(&kv, 2, cur);
        rq_keyvalue_str(&res, 1, "service.name", "svc");
        pbw_msg(&res, 1, &kv);
    }
    pbw_msg(&rp, 1, &res);
    pbw_init(&sp);
    pbw_init(&prof);
    rq_valuetype(&prof, 1, S_CPU, S_NS);
    pbw_init(&s);
    pbw_packed_ints(&s, 2, a12, 2);
    pbw_packed_ints(&s, 4, v10, 1);
    pbw_msg(&prof, 2, &s);
    pbw_fixed64(&prof, 3, 1000);
    pbw_msg(&sp, 2, &prof);
    pbw_msg(&rp, 2, &sp);
    pbw_msg(req, 1, &rp);
    pbw_init(&dict);
    for (i = 0; i < S__N; i++)
        pbw_str(&dict, 5, rq_strings[i]);
    {
        pbw e;
        pbw_init(&e);
        pbw_msg(&dict, 6, &e);
    }
    rq_attr_entry(&dict, S_PROC, "app");
    rq_attr_entry(&dict, S_THREAD, "worker");
    pbw_msg(req, 2, &dict);
}

static void check_nesting(void)
{
    static pbw req;
    outcome o;
    tk_begin("c.malformed.nesting_kvlist_40");
    build_nested(&req, 40, 0);
    run(req.b, req.n, &o);
    if (!malformed_ok(&o, req.n, "resource attribute with 40 nested kvlists (~120 levels)"))
        dump_once("input", req.b, req.n);
    tk_end();

    tk_begin("c.malformed.nesting_array_40");
    build_nested(&req, 40, 1);
    run(req.b, req.n, &o);
    if (!malformed_ok(&o, req.n, "resource attribute with 40 nested arrays (~80 levels)"))
        dump_once("input", req.b, req.n);
    tk_end();

    /* not too strict: 6 kvlist levels is about 22 messages deep */
    tk_begin("c.malformed.nesting_kvlist_6_is_fine");
    build_nested(&req, 6, 0);
    run(req.b, req.n, &o);
    EXPECT(o.st == P2M_OK, "6 nested kvlists (about 22 levels): status %d at %zu: %s", (int)o.st,
           o.err.offset, o.err.message);
    tk_end();
}

static void check_contradiction(void)
{
    static pbw req, rp, sp, prof, s, dict, e;
    static const int64_t a12[] = {1, 2}, v10[] = {10};
    outcome o;
    int i;
    tk_begin("c.malformed.contradicting_layouts");
    /* sample 1: field 4 packed (v1.10 values); sample 2: field 3 packed
       (v1.8/v1.9 attribute_indices) */
    pbw_init(&prof);
    rq_valuetype(&prof, 1, S_CPU, S_NS);
    pbw_init(&s);
    pbw_packed_ints(&s, 2, a12, 2);
    pbw_packed_ints(&s, 4, v10, 1);
    pbw_msg(&prof, 2, &s);
    pbw_init(&s);
    pbw_packed_ints(&s, 2, v10, 1);
    pbw_packed_ints(&s, 3, a12, 2);
    pbw_msg(&prof, 2, &s);
    pbw_fixed64(&prof, 3, 1000);
    pbw_init(&sp);
    pbw_msg(&sp, 2, &prof);
    pbw_init(&rp);
    pbw_msg(&rp, 2, &sp);
    pbw_init(&req);
    pbw_msg(&req, 1, &rp);
    pbw_init(&dict);
    for (i = 0; i < S__N; i++)
        pbw_str(&dict, 5, rq_strings[i]);
    pbw_init(&e);
    pbw_msg(&dict, 6, &e);
    rq_attr_entry(&dict, S_PROC, "app");
    rq_attr_entry(&dict, S_THREAD, "worker");
    pbw_msg(&req, 2, &dict);
    run(req.b, req.n, &o);
    if (!malformed_ok(&o, req.n, "Sample field 4 packed and Sample field 3 packed"))
        dump_once("input", req.b, req.n);

    /* v1.8 profile evidence (field 12) with a v1.10 sample (field 4 packed) */
    pbw_init(&prof);
    rq_valuetype(&prof, 1, S_CPU, S_NS);
    pbw_init(&s);
    pbw_packed_ints(&s, 2, a12, 2);
    pbw_packed_ints(&s, 4, v10, 1);
    pbw_msg(&prof, 2, &s);
    pbw_packed_ints(&prof, 12, a12, 1);
    pbw_init(&sp);
    pbw_msg(&sp, 2, &prof);
    pbw_init(&rp);
    pbw_msg(&rp, 2, &sp);
    pbw_init(&req);
    pbw_msg(&req, 1, &rp);
    pbw_msg(&req, 2, &dict);
    run(req.b, req.n, &o);
    if (!malformed_ok(&o, req.n, "Profile field 12 (v1.8) and Sample field 4 packed (v1.10)"))
        dump_once("input", req.b, req.n);
    tk_end();
}

static void check_packed_fixed64(void)
{
    static pbw req;
    /* Sample field 5 (timestamps, packed fixed64) with 7 bytes */
    static const unsigned char bad[] = {0x2a, 0x07, 1, 2, 3, 4, 5, 6, 7};
    tk_begin("c.malformed.packed_fixed64_not_multiple_of_8");
    build_small(&req, L_SAMPLE, bad, sizeof bad);
    expect_defect(&req, req.mark, req.mark + 1, "timestamps of 7 bytes");
    tk_end();
}

/* Indices far outside their tables (and negative ones, as int32 protobuf
   writes them: 10-byte varints) are invalid references: skipped and
   counted, never read from, never malformed. Run through both engines. */
static void check_huge_indices(void)
{
    static pbw req, rp, sp, prof, s, vt, dict, e;
    static const int64_t idx[] = {-1, -2147483647 - 1, 2147483647, (int64_t)1 << 40,
                                  INT64_MAX, 3};
    outcome o;
    size_t i, k;
    int which;
    tk_begin("c.malformed.huge_indices");
    for (which = 0; which < 2; which++) {
        eng = which ? eng_fn : eng_default;
        for (i = 0; i < sizeof idx / sizeof idx[0]; i++) {
            for (k = 0; k < 5; k++) {
                int64_t a[2] = {1, 2}, v[1] = {10};
                char what[128];
                pbw_init(&prof);
                pbw_init(&vt);
                pbw_int(&vt, 1, k == 3 ? idx[i] : S_CPU); /* sample_type.type_strindex */
                pbw_int(&vt, 2, S_NS);
                pbw_msg(&prof, 1, &vt);
                pbw_init(&s);
                if (k == 0)
                    a[1] = idx[i];                       /* attribute index */
                pbw_int(&s, 1, k == 1 ? idx[i] : 1);     /* stack_index */
                pbw_packed_ints(&s, 2, a, 2);
                pbw_int(&s, 3, k == 2 ? idx[i] : 0);     /* link_index */
                pbw_packed_ints(&s, 4, v, 1);
                pbw_msg(&prof, 2, &s);
                pbw_fixed64(&prof, 3, 1000);
                if (k == 4)
                    pbw_packed_ints(&prof, 11, &idx[i], 1); /* profile attribute */
                pbw_init(&sp);
                pbw_msg(&sp, 2, &prof);
                pbw_init(&rp);
                pbw_msg(&rp, 2, &sp);
                pbw_init(&req);
                pbw_msg(&req, 1, &rp);
                pbw_init(&dict);
                {
                    int j;
                    for (j = 0; j < S__N; j++)
                        pbw_str(&dict, 5, rq_strings[j]);
                }
                pbw_init(&e);
                pbw_msg(&dict, 6, &e);
                rq_attr_entry(&dict, S_PROC, "app");
                rq_attr_entry(&dict, S_THREAD, "worker");
                pbw_init(&e);
                pbw_msg(&dict, 7, &e);
                pbw_init(&e);
                {
                    int64_t loc[1];
                    loc[0] = idx[i]; /* stack 1 -> a location far outside */
                    pbw_packed_ints(&e, 1, loc, 1);
                }
                pbw_msg(&dict, 7, &e);
                pbw_msg(&req, 2, &dict);
                run(req.b, req.n, &o);
                snprintf(what, sizeof what, "%s engine, index %lld as %s",
                         which ? "function" : "default", (long long)idx[i],
                         k == 0   ? "attribute"
                         : k == 1 ? "stack"
                         : k == 2 ? "link"
                         : k == 3 ? "string (sample type)"
                                  : "profile attribute");
                if (idx[i] == 3 && k != 3) {
                    /* 3 is past the end only for some tables: any outcome but a crash */
                    if (o.st != P2M_OK && !malformed_ok(&o, req.n, what))
                        dump_once(what, req.b, req.n);
                    continue;
                }
                if (o.st != P2M_OK || o.memory_bug) {
                    tk_fail(__LINE__, "%s: status %d at %zu: %s (an invalid reference is not "
                            "malformed)", what, (int)o.st, o.err.offset, o.err.message);
                    dump_once(what, req.b, req.n);
                }
            }
        }
    }
    eng = eng_default;
    tk_end();
}

static void check_huge_size(void)
{
    static const unsigned char in[16] = {0};
    p2m_error err;
    size_t n = 0;
    p2m_status st;
    tk_begin("c.malformed.input_over_4gib");
    /* 16 real bytes, a claimed size of 5 GiB: must be refused before reading */
    memset(out_buf, PATTERN, OUT_CAP);
    st = p2m_work_size(eng, in, (size_t)5 << 30, &n, &err);
    EXPECT(st == P2M_ERR_ARGUMENT, "work_size(5 GiB): status %d, expected ARGUMENT", (int)st);
    st = p2m_convert(eng, in, (size_t)5 << 30, NULL, big_work, sizeof big_work, out_buf, OUT_CAP,
                     &n, NULL, &err);
    EXPECT(st == P2M_ERR_ARGUMENT, "convert(5 GiB): status %d, expected ARGUMENT", (int)st);
    out_dirty = 1;
    tk_end();
}

/* Deterministic random mutations (a fixed seed, so a failure reproduces):
   1 to 4 changes per input (a byte set to a random value, to 0x00, 0x80 or
   0xFF, a bit flipped, or the input cut short), through both engines. Any
   outcome but OK or MALFORMED (or OUTPUT_TOO_SMALL beyond our buffer) is a
   failure, and so is anything the sanitizers see. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void check_mutations(const char *name, const unsigned char *const *ins, const size_t *lens,
                            size_t nin, unsigned iterations)
{
    static unsigned char buf[1 << 17];
    unsigned it;
    outcome o;
    char what[160];
    tk_begin(name);
    iterations = (unsigned)((iterations + stride - 1) / stride);
    for (it = 0; it < iterations; it++) {
        size_t which = (size_t)(rng() % nin), n = lens[which], k, nmut;
        if (n > sizeof buf)
            n = sizeof buf;
        memcpy(buf, ins[which], n);
        nmut = 1 + (size_t)(rng() % 4);
        for (k = 0; k < nmut && n > 0; k++) {
            size_t at = (size_t)(rng() % n);
            switch (rng() % 6) {
            case 0: buf[at] = (unsigned char)rng(); break;
            case 1: buf[at] = 0x00; break;
            case 2: buf[at] = 0x80; break;
            case 3: buf[at] = 0xFF; break;
            case 4: buf[at] ^= (unsigned char)(1u << (rng() % 8)); break;
            default: n = at; break;
            }
        }
        eng = (it & 1) ? eng_fn : eng_default;
        run(buf, n, &o);
        snprintf(what, sizeof what, "mutation %u (input %zu, %zu bytes, %s engine)", it, which, n,
                 (it & 1) ? "function" : "default");
        if (o.st == P2M_OK || (o.st == P2M_ERR_OUTPUT_TOO_SMALL && o.err.needed > OUT_CAP)) {
            if (o.memory_bug) {
                tk_fail(__LINE__, "%s: MEMORY with p2m_work_size's bytes", what);
                dump_once(what, buf, n);
            }
            continue;
        }
        if (!malformed_ok(&o, n, what))
            dump_once(what, buf, n);
        if (tk_bad > 20)
            break;
    }
    eng = eng_default;
    tk_end();
}

/* A request whose last bytes are a sample (dictionary first; the sample is
   the profile's last field, and its attribute list its last field: the
   place where a reader of canonical samples looks for a link_index): the
   sample reader looks past a sample only when the input goes on. */
static void build_sample_last(pbw *req, int layout)
{
    static const int64_t a12[] = {1, 2}, v7[] = {7};
    static const uint64_t ts1[] = {1100};
    pbw prof;
    rq_profile_head(&prof, S_CPU, S_NS);
    rq_sample(&prof, layout, a12, 2, NULL, 0, ts1, 1);
    rq_sample(&prof, layout, a12, 2, v7, 1, NULL, 0);
    rq_sample(&prof, layout, a12, 2, NULL, 0, NULL, 0); /* empty: attributes only */
    rq_one_profile_request(req, layout, &prof);
}

/* A v1.10 request, its dictionary first, whose one profile's samples have
   the shape profilers write (stack index, attribute indices, one timestamp)
   and repeat one attribute set to the very end of the input: the sample
   memo's lane reads the last ones, where reading ahead would pass the
   input's end. */
static void build_lane_last(pbw *req)
{
    static const int64_t a12[] = {1, 2};
    pbw prof, s;
    int i;
    rq_profile_head(&prof, S_SAMPLES, S_COUNT);
    for (i = 0; i < 48; i++) {
        const uint64_t ts = 1100 + (uint64_t)i;
        pbw_init(&s);
        pbw_int(&s, 1, 0); /* the stack index, written although 0 */
        pbw_packed_ints(&s, 2, a12, 2);
        pbw_packed_fixed64(&s, 5, &ts, 1);
        pbw_msg(&prof, 2, &s);
    }
    rq_one_profile_request(req, P2M_LAYOUT_V1_10, &prof);
}

static void check_lane_last(void)
{
    static pbw req;
    outcome o;
    tk_begin("c.malformed.lane_last_valid");
    build_lane_last(&req);
    run(req.b, req.n, &o);
    EXPECT(o.st == P2M_OK, "samples to the input's end: status %d at %zu: %s", (int)o.st,
           o.err.offset, o.err.message);
    tk_end();
    check_prefixes("c.malformed.prefixes.lane_last", req.b, req.n);
}

int main(int argc, char **argv)
{
    static pbw r10, r8, r9d, dc, fn, last10, last8;
    static p2m_rule rules[3];
    p2m_config c;
    p2m_error err;
    p2m_status st;
    const char *sv = getenv("P2M_MALFORMED_STRIDE");

    if (sv && atoi(sv) > 1) {
        stride = (size_t)atoi(sv);
        printf("# P2M_MALFORMED_STRIDE=%zu: every %zu-th case\n", stride, stride);
    }
    p2m_config_init(&c);
    st = p2m_engine_compile(&c, engine_mem, sizeof engine_mem, &eng_default, &err);
    if (st != P2M_OK) {
        printf("FAIL c.malformed.engine: default engine does not compile (%d)\n", (int)st);
        return 1;
    }
    /* function metric, every rule type that reads the request */
    rules[0].key = "thread";
    rules[0].type = P2M_RULE_ATTRIBUTE;
    rules[0].from = "thread.name";
    rules[1].key = "s";
    rules[1].type = P2M_RULE_STRING_TABLE;
    rules[1].index = 3;
    rules[2].key = "p";
    rules[2].type = P2M_RULE_ATTRIBUTE;
    rules[2].from = "process.executable.name";
    c.attributes = rules;
    c.n_attributes = 3;
    c.function.enabled = 1;
    c.function_mode = P2M_FUNCTION_INCLUSIVE;
    st = p2m_engine_compile(&c, engine_mem_fn, sizeof engine_mem_fn, &eng_fn, &err);
    if (st != P2M_OK) {
        printf("FAIL c.malformed.engine_fn: function engine does not compile (%d) %s: %s\n",
               (int)st, err.field, err.message);
        return 1;
    }
    eng = eng_default;
    build_main_request(&r10, P2M_LAYOUT_V1_10, 0);
    build_main_request(&r8, P2M_LAYOUT_V1_8, 0);
    build_main_request(&r9d, P2M_LAYOUT_V1_9, 1);
    build_double_count_request(&dc);
    build_function_request(&fn);

    check_small_valid();
    check_prefixes("c.malformed.prefixes.main_v1_10", r10.b, r10.n);
    check_prefixes("c.malformed.prefixes.main_v1_8", r8.b, r8.n);
    check_prefixes("c.malformed.prefixes.main_v1_9_dict_first", r9d.b, r9d.n);
    check_prefixes("c.malformed.prefixes.double_count", dc.b, dc.n);
    build_sample_last(&last10, P2M_LAYOUT_V1_10);
    build_sample_last(&last8, P2M_LAYOUT_V1_8);
    check_prefixes("c.malformed.prefixes.sample_last_v1_10", last10.b, last10.n);
    check_prefixes("c.malformed.prefixes.sample_last_v1_8", last8.b, last8.n);
    check_lane_last();
    check_lengths("c.malformed.lengths.main_v1_10", &r10);
    check_lengths("c.malformed.lengths.main_v1_8", &r8);
    check_lengths("c.malformed.lengths.main_v1_9_dict_first", &r9d);
    check_nested_cuts("c.malformed.nested_cuts.main_v1_10", &r10);
    check_nested_cuts("c.malformed.nested_cuts.main_v1_8", &r8);
    check_wire_types();
    check_field_zero();
    check_long_varint();
    check_lengths_past_end();
    check_nesting();
    check_contradiction();
    check_packed_fixed64();
    check_huge_indices();
    check_huge_size();

    /* the same hostile inputs through the function metric engine, which
       also reads the stack, location, function and mapping tables */
    eng = eng_fn;
    check_prefixes("c.malformed.fn.prefixes.function_request", fn.b, fn.n);
    check_lengths("c.malformed.fn.lengths.function_request", &fn);
    check_prefixes("c.malformed.fn.prefixes.main_v1_8", r8.b, r8.n);
    check_lengths("c.malformed.fn.lengths.main_v1_10", &r10);
    check_nested_cuts("c.malformed.fn.nested_cuts.function_request", &fn);
    check_nested_cuts("c.malformed.fn.nested_cuts.main_v1_9_dict_first", &r9d);
    eng = eng_default;
    {
        const unsigned char *ins[5];
        size_t lens[5];
        ins[0] = r10.b; lens[0] = r10.n;
        ins[1] = r8.b; lens[1] = r8.n;
        ins[2] = r9d.b; lens[2] = r9d.n;
        ins[3] = fn.b; lens[3] = fn.n;
        ins[4] = dc.b; lens[4] = dc.n;
        check_mutations("c.malformed.mutations.hand_built", ins, lens, 5, 50000);
    }

    if (argc > 1) {
        size_t n = 0;
        unsigned char *real = tk_read_file(argv[1], &n);
        if (!real) {
            printf("FAIL c.malformed.prefixes.real_profile: cannot read %s\n", argv[1]);
            return 1;
        }
        check_work_short("c.malformed.work_short.real_profile", eng_default, real, n);
        check_work_short("c.malformed.fn.work_short.real_profile", eng_fn, real, n);
        check_prefixes("c.malformed.prefixes.real_profile", real, n);
        eng = eng_fn;
        check_prefixes("c.malformed.fn.prefixes.real_profile", real, n);
        eng = eng_default;
        {
            const unsigned char *ins[1];
            size_t lens[1];
            ins[0] = real;
            lens[0] = n;
            check_mutations("c.malformed.mutations.real_profile", ins, lens, 1, 10000);
        }
        free(real);
    }
    if (argc > 2) {
        size_t n = 0, len;
        unsigned char *real = tk_read_file(argv[2], &n);
        if (!real || n < 4) {
            printf("FAIL c.malformed.prefixes.real_k8s_frame1: cannot read %s\n", argv[2]);
            return 1;
        }
        len = ((size_t)real[0] << 24) | ((size_t)real[1] << 16) | ((size_t)real[2] << 8) |
              (size_t)real[3];
        if (len > n - 4) {
            printf("FAIL c.malformed.prefixes.real_k8s_frame1: bad frame length %zu\n", len);
            return 1;
        }
        check_prefixes("c.malformed.prefixes.real_k8s_frame1", real + 4, len);
        free(real);
    }
    printf("# %lu inputs converted\n", n_runs);
    return tk_exit_code();
}
