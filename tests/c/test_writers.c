/* SPDX-License-Identifier: MIT
   The writers (p2m_write_json, p2m_write_prom, p2m_write_value_text) called
   directly, on a request built here ("wide": the main request of
   requests.h plus resources with many attributes of every value type, and
   two resources that share a series) and on the requests named on the
   command line. For each it writes NAME.json and NAME.prom into OUTDIR, for
   tests/suite-writers.sh to compare with `p2m convert` and to check with
   Google protobuf's JSON parser and promtool. Checked here: the scratch and
   output contracts (P2M_ERR_MEMORY / P2M_ERR_OUTPUT_TOO_SMALL with
   err.needed; the call with exactly that much succeeds, even from a
   misaligned pointer; nothing written on failure), and that no call
   allocates (malloc, calloc and realloc are interposed and counted, as in
   bench/malloc_count.c, glibc only).

   Usage: test_writers OUTDIR NOW [NAME INPUT]... */
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "requests.h"
#include "testkit.h"

/* ---- counted allocations ------------------------------------------------------ */

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
static volatile int armed;
static volatile unsigned long allocs;
void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);
void *malloc(size_t n) {
    if (armed)
        allocs++;
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t m) {
    if (armed)
        allocs++;
    return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n) {
    if (armed)
        allocs++;
    return __libc_realloc(p, n);
}

/* ---- the wide request ------------------------------------------------------------ */

/* A KeyValue whose AnyValue is the message av. */
static void kv_msg(pbw *res, const char *key, const pbw *av) {
    pbw kv;
    pbw_init(&kv);
    pbw_str(&kv, 1, key);
    pbw_msg(&kv, 2, av);
    pbw_msg(res, 1, &kv);
}

/* A resource with one cpu profile: attrs [1,2] (app, worker) value v. */
static void add_resource(pbw *req, const pbw *res, int64_t v) {
    static const int64_t a12[] = {1, 2}, a4[] = {4};
    int64_t vals[1];
    pbw rp, sp, prof;
    vals[0] = v;
    pbw_init(&rp);
    pbw_msg(&rp, 1, res);
    pbw_init(&sp);
    pbw_init(&prof);
    rq_valuetype(&prof, 1, S_CPU, S_NS);
    rq_sample(&prof, P2M_LAYOUT_V1_10, a12, 2, vals, 1, NULL, 0);
    pbw_fixed64(&prof, 3, 6000);
    pbw_packed_ints(&prof, rq_f_profile_attrs(P2M_LAYOUT_V1_10), a4, 1);
    pbw_msg(&sp, 2, &prof);
    pbw_msg(&rp, 2, &sp);
    pbw_msg(req, 1, &rp);
}

static void build_wide(pbw *req) {
    pbw res, av, arr, kvl, inner;
    int i;
    build_main_request(req, P2M_LAYOUT_V1_10, 0);
    /* 23 attributes: more than the writers read on their stack (16) */
    pbw_init(&res);
    rq_keyvalue_str(&res, 1, "service.name", "wide");
    rq_keyvalue_str(&res, 1, "service.namespace", "shop");
    rq_keyvalue_str(&res, 1, "service.instance.id", "i-1");
    rq_keyvalue_str(&res, 1, "0lead", "digit");
    rq_keyvalue_str(&res, 1, "a.b", "dot");
    rq_keyvalue_str(&res, 1, "a_b", "underscore");
    rq_keyvalue_str(&res, 1, "quote", "a\"b\\c\nd");
    rq_keyvalue_str(&res, 1, "a-b", "dash"); /* a.b, a_b and a-b: one label, joined */

    rq_keyvalue_int(&res, 1, "neg", -42);
    pbw_init(&av);
    pbw_int(&av, 2, 1);
    kv_msg(&res, "flag", &av);
    pbw_init(&av);
    pbw_double(&av, 4, 0.1);
    kv_msg(&res, "ratio", &av);
    pbw_init(&av);
    pbw_bytes(&av, 7, "\x00\x01\xfe", 3);
    kv_msg(&res, "raw", &av);
    pbw_init(&arr); /* ["x", 7, "\t"] */
    rq_anyvalue_str(&arr, 1, "x");
    pbw_init(&inner);
    pbw_int(&inner, 3, 7);
    pbw_msg(&arr, 1, &inner);
    rq_anyvalue_str(&arr, 1, "\t");
    pbw_init(&av);
    pbw_msg(&av, 5, &arr);
    kv_msg(&res, "list", &av);
    pbw_init(&kvl); /* {"k": 1.5} */
    pbw_init(&inner);
    {
        pbw d, kv;
        pbw_init(&d);
        pbw_double(&d, 4, 1.5);
        pbw_init(&kv);
        pbw_str(&kv, 1, "k");
        pbw_msg(&kv, 2, &d);
        pbw_msg(&kvl, 1, &kv);
    }
    pbw_init(&av);
    pbw_msg(&av, 6, &kvl);
    kv_msg(&res, "map", &av);
    for (i = 0; i < 9; i++) {
        char k[16], v[16];
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "v%d", i);
        rq_keyvalue_str(&res, 1, k, v);
    }
    add_resource(req, &res, 11);
    /* two resources without service attributes that feed the same line */
    pbw_init(&res);
    rq_keyvalue_str(&res, 1, "host", "h5");
    add_resource(req, &res, 5);
    pbw_init(&res);
    rq_keyvalue_str(&res, 1, "host", "h6");
    add_resource(req, &res, 6);
}

/* ---- the checks ------------------------------------------------------------------ */

#define CANARY 0xA5

static int untouched(const unsigned char *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != CANARY)
            return 0;
    return 1;
}

typedef struct call {
    int prom;
    const p2m_prom_options *opt;
} call;

static p2m_status run(const call *c, const p2m_result *r, void *scratch, size_t ss, void *out,
                      size_t cap, size_t *n, p2m_error *err) {
    p2m_status st;
    armed = 1;
    st = c->prom ? p2m_write_prom(r, c->opt, scratch, ss, out, cap, n, err)
                 : p2m_write_json(r, scratch, ss, out, cap, n, err);
    armed = 0;
    return st;
}

/* The contracts of one writer on r; the text in *text (malloc'd), its length in *len. */
static void contracts(const char *name, const call *c, const p2m_result *r, int wide,
                      unsigned char **text, size_t *len) {
    char check[96];
    p2m_error err;
    p2m_status st;
    size_t need = 0, rounds = 0, out_need = 0, n = 0;
    unsigned char *scratch = NULL, *out = NULL;
    *text = NULL;
    *len = 0;
    snprintf(check, sizeof check, "writers.%s.%s.contract", name, c->prom ? "prom" : "json");
    tk_begin(check);
    allocs = 0;
    /* scratch: at most two P2M_ERR_MEMORY answers, each asking for more */
    for (;;) {
        memset(&err, 0, sizeof err);
        st = run(c, r, scratch ? scratch + 1 : NULL, need, NULL, 0, &n, &err);
        if (st != P2M_ERR_MEMORY)
            break;
        if (err.needed <= need)
            tk_fail(__LINE__, "round %lu asks %lu after %lu", (unsigned long)rounds,
                    (unsigned long)err.needed, (unsigned long)need);
        if (++rounds > 2 || err.needed <= need)
            break;
        need = err.needed;
        free(scratch);
        scratch = (unsigned char *)malloc(need + 1); /* +1: used from scratch + 1, misaligned */
        if (scratch == NULL)
            exit(2);
    }
    if (st != P2M_ERR_OUTPUT_TOO_SMALL)
        tk_fail(__LINE__, "after %lu rounds: %s (%s)", (unsigned long)rounds, p2m_status_string(st),
                err.message);
    if (wide && rounds != 2)
        tk_fail(__LINE__, "a 23-attribute resource took %lu scratch rounds, not 2",
                (unsigned long)rounds);
    out_need = err.needed;
    if (need >= 16) { /* 16 bytes less than asked: refused again */
        memset(&err, 0, sizeof err);
        st = run(c, r, scratch + 1, need - 16, NULL, 0, &n, &err);
        if (st != P2M_ERR_MEMORY || err.needed != need)
            tk_fail(__LINE__, "scratch %lu of %lu: %s, needed %lu", (unsigned long)(need - 16),
                    (unsigned long)need, p2m_status_string(st), (unsigned long)err.needed);
    }
    /* output: one byte short is refused with the same size, nothing written */
    out = (unsigned char *)malloc(out_need + 64);
    if (out == NULL)
        exit(2);
    memset(out, CANARY, out_need + 64);
    if (out_need > 0) {
        memset(&err, 0, sizeof err);
        st = run(c, r, scratch ? scratch + 1 : NULL, need, out, out_need - 1, &n, &err);
        if (st != P2M_ERR_OUTPUT_TOO_SMALL || err.needed != out_need ||
            !untouched(out, out_need + 64))
            tk_fail(__LINE__, "cap %lu: %s, needed %lu, output %s", (unsigned long)(out_need - 1),
                    p2m_status_string(st), (unsigned long)err.needed,
                    untouched(out, out_need + 64) ? "untouched" : "written");
    }
    memset(&err, 0, sizeof err);
    st = run(c, r, scratch ? scratch + 1 : NULL, need, out, out_need, &n, &err);
    if (st != P2M_OK || n != out_need || !untouched(out + out_need, 64))
        tk_fail(__LINE__, "cap %lu: %s (%s), size %lu", (unsigned long)out_need,
                p2m_status_string(st), err.message, (unsigned long)n);
    if (allocs != 0)
        tk_fail(__LINE__, "%lu heap allocations inside the writer", allocs);
    tk_end();
    free(scratch);
    *text = out;
    *len = st == P2M_OK ? n : 0;
}

static int put(const char *dir, const char *name, const char *ext, const void *p, size_t n) {
    char path[512];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    f = fopen(path, "wb");
    if (f == NULL || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
        printf("FAIL writers.write: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

static unsigned char engine_mem[1 << 16];

/* Aggregates input with the default configuration and writes both texts. */
static void one(const char *dir, const char *name, const unsigned char *in, size_t n, uint64_t now,
                int wide) {
    static unsigned char work[64 << 20];
    p2m_config cfg;
    const p2m_engine *e;
    const p2m_result *r;
    p2m_error err;
    p2m_options opt;
    p2m_prom_options po;
    size_t merged = 99, len;
    unsigned char *text;
    call c;
    char check[96];
    p2m_config_init(&cfg);
    memset(&opt, 0, sizeof opt);
    opt.now_unix_nano = now;
    if (p2m_engine_compile(&cfg, engine_mem, sizeof engine_mem, &e, &err) != P2M_OK ||
        p2m_aggregate(e, in, n, &opt, work, sizeof work, &r, NULL, &err) != P2M_OK) {
        printf("FAIL writers.%s.aggregate: %s\n", name, err.message);
        tk_failed_checks++;
        return;
    }
    c.prom = 0;
    c.opt = NULL;
    contracts(name, &c, r, wide, &text, &len);
    if (len > 0)
        text[len++] = '\n'; /* p2m -f json: one request a line (the buffer has 64 more bytes) */
    (void)put(dir, name, "json", text, len);
    free(text);
    memset(&po, 0, sizeof po);
    po.merged_resources = &merged;
    c.prom = 1;
    c.opt = &po;
    contracts(name, &c, r, wide, &text, &len);
    (void)put(dir, name, "prom", text, len);
    free(text);
    snprintf(check, sizeof check, "writers.%s.merged", name);
    tk_begin(check);
    if (wide && merged != 2)
        tk_fail(__LINE__, "merged_resources %lu, want 2 (hosts h5 and h6 share a line)",
                (unsigned long)merged);
    if (!wide && merged == 99)
        tk_fail(__LINE__, "merged_resources not set");
    tk_end();
    {
        FILE *f;
        char path[512];
        snprintf(path, sizeof path, "%s/%s.merged", dir, name);
        if ((f = fopen(path, "w")) != NULL) {
            fprintf(f, "%lu\n", (unsigned long)merged);
            fclose(f);
        }
    }
}

/* p2m_write_value_text: the text of each value type, by hand. */
static void value_texts(void) {
    static const unsigned char arr[] = {0x0a, 0x03, 0x0a, 0x01, 'x',
                                        0x0a, 0x02, 0x18, 0x07}; /* ["x",7] */
    char buf[64];
    p2m_value v;
    size_t n;
    tk_begin("writers.value_text");
    memset(&v, 0, sizeof v);
    v.type = P2M_VALUE_DOUBLE;
    v.d = 0.1;
    n = p2m_write_value_text(&v, buf, sizeof buf);
    if (n != 3 || memcmp(buf, "0.1", 3) != 0)
        tk_fail(__LINE__, "0.1 as '%.*s'", (int)n, buf);
    v.d = 1.0 / 3.0;
    n = p2m_write_value_text(&v, buf, sizeof buf);
    if (n != 18 || memcmp(buf, "0.3333333333333333", 18) != 0)
        tk_fail(__LINE__, "1/3 as '%.*s'", (int)n, buf);
    {
        static const struct {
            const char *in, *want;
        } special[] = {{"inf", "Infinity"},
                       {"-inf", "-Infinity"},
                       {"nan", "NaN"},
                       {"1.7976931348623157e308", "1.7976931348623157e+308"},
                       {"-4.9e-324", "-4.94065645841247e-324"}, /* %.15g reads back */
                       {"0", "0"}};
        size_t k;
        for (k = 0; k < sizeof special / sizeof special[0]; k++) {
            v.d = strtod(special[k].in, NULL);
            n = p2m_write_value_text(&v, buf, sizeof buf);
            if (n != strlen(special[k].want) || memcmp(buf, special[k].want, n) != 0)
                tk_fail(__LINE__, "%s as '%.*s', want %s", special[k].in, (int)n, buf,
                        special[k].want);
        }
    }
    v.type = P2M_VALUE_INT;
    v.i = INT64_MIN;
    n = p2m_write_value_text(&v, buf, sizeof buf);
    if (n != 20 || memcmp(buf, "-9223372036854775808", 20) != 0)
        tk_fail(__LINE__, "INT64_MIN as '%.*s'", (int)n, buf);
    v.type = P2M_VALUE_ARRAY;
    v.str.ptr = (const char *)arr;
    v.str.len = sizeof arr;
    n = p2m_write_value_text(&v, NULL, 0);
    if (n != 7 || p2m_write_value_text(&v, buf, 6) != 7 || p2m_write_value_text(&v, buf, 7) != 7 ||
        memcmp(buf, "[\"x\",7]", 7) != 0)
        tk_fail(__LINE__, "array as '%.*s' (%lu)", (int)n, buf, (unsigned long)n);
    v.str.len = sizeof arr - 1; /* cut: refused */
    if (p2m_write_value_text(&v, buf, sizeof buf) != (size_t)-1)
        tk_fail(__LINE__, "a cut ArrayValue was not refused");
    tk_end();
}

int main(int argc, char **argv) {
    static unsigned char in[64 << 20];
    static pbw req;
    uint64_t now;
    int i;
    if (argc < 3 || argc % 2 != 1) {
        fprintf(stderr, "usage: test_writers OUTDIR NOW [NAME INPUT]...\n");
        return 2;
    }
    now = strtoull(argv[2], NULL, 10);
    tk_begin("writers.alloc_counter");
    armed = 1;
    {
        void *p = malloc(8);
        armed = 0;
        if (allocs != 1)
            tk_fail(__LINE__,
                    "a malloc while armed was not counted: the heap check could not fail");
        free(p);
    }
    allocs = 0;
    tk_end();
    value_texts();
    build_wide(&req);
    if (put(argv[1], "wide", "otlp", req.b, req.n) == 0)
        one(argv[1], "wide", req.b, req.n, now, 1);
    for (i = 3; i + 1 < argc; i += 2) {
        FILE *f = fopen(argv[i + 1], "rb");
        size_t n;
        if (f == NULL) {
            printf("FAIL writers.%s.input: cannot read %s\n", argv[i], argv[i + 1]);
            tk_failed_checks++;
            continue;
        }
        n = fread(in, 1, sizeof in, f);
        fclose(f);
        one(argv[1], argv[i], in, n, now, 0);
    }
    return tk_exit_code();
}
