/* SPDX-License-Identifier: MIT
   pprof_drive: runs the header's pprof entry points on files, for
   tests/test_pprof.py (which builds the inputs with Google protobuf and
   decodes the outputs with it; this program computes no expectation).

     pprof_drive [-c CONFIG.yaml] [--now NS] [--resource-attr KEY=VALUE]...
                 [--symbolize] -o OUT INPUT...
       One engine (from the YAML file through the tool's loader, else the
       defaults) and, when it is cumulative, one state for all inputs, in
       order. For input i (from 1): p2m_pprof_work_size, then
       p2m_pprof_convert asking the output size, then with exactly that
       size; the OTLP bytes go to OUT.i (only on success). One JSON line per
       input on stdout: the status of both calls, the error offset and
       message, every statistic, and two checks of the memory contract:
       "untouched" (a failed call left the output buffer as it was) and, for
       a delta engine, "same_twice" (a second call with fresh memory gave
       the same bytes). --symbolize passes a symboliser: an odd address is
       "sym_D" (D its last decimal digit), an even one unknown to it.

     pprof_drive [-c CONFIG.yaml] --prefixes INPUT
       Every prefix of INPUT (0 .. all bytes), each in a heap block of its
       exact size (so a sanitizer sees a read past it): one line per prefix,
       "LEN WS_STATUS WS_OFFSET CONV_STATUS CONV_OFFSET", where WS is
       p2m_pprof_work_size and CONV p2m_pprof_convert.

   Exit status: 0 when every call returned (whatever its status), 2 on a
   usage, configuration or I/O problem. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile2metrics.h"
#include "tools/p2m_config.h"
#include "readfile.h"

#define MAX_ATTRS 16

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "pprof_drive: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(2);
}

static unsigned char *xmalloc(size_t n)
{
    unsigned char *p = (unsigned char *)malloc(n ? n : 1);
    if (!p)
        die("out of memory", NULL);
    return p;
}

static unsigned char *read_file(const char *path, size_t *len)
{
    unsigned char *buf = tk_read_file(path, len);
    if (!buf)
        die("cannot read", path);
    return buf;
}

/* --symbolize: odd addresses are "sym_D" (D the address's last decimal
   digit), even ones unknown to it (the header then names them itself). */
static p2m_str symbolize(void *user, uint64_t address, p2m_str file, p2m_str build_id)
{
    static const char names[] = "sym_0\0sym_1\0sym_2\0sym_3\0sym_4\0sym_5\0sym_6\0sym_7\0"
                                "sym_8\0sym_9";
    p2m_str out;
    (void)user;
    (void)file;
    (void)build_id;
    out.ptr = names + 6 * (address % 10);
    out.len = (address & 1) ? 5 : 0;
    return out;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void print_stats(const p2m_stats *s)
{
    printf("\"bytes_in\":%lu,\"bytes_out\":%lu,\"layout\":\"%s\",\"layout_code\":%d,"
           "\"resources\":%llu,\"profiles\":%llu,\"profiles_unclassified\":%llu,"
           "\"samples\":%llu,\"samples_kept\":%llu,\"dropped_process\":%llu,"
           "\"dropped_thread\":%llu,\"dropped_pattern\":%llu,\"dropped_stack\":%llu,"
           "\"empty_samples\":%llu,\"invalid_references\":%llu,\"series\":%llu,"
           "\"overflow_samples\":%llu,\"work_used\":%lu,\"profiles_unfed\":%llu,"
           "\"samples_unfed\":%llu",
           (unsigned long)s->bytes_in, (unsigned long)s->bytes_out, p2m_layout_name(s->layout),
           (int)s->layout, (unsigned long long)s->resources, (unsigned long long)s->profiles,
           (unsigned long long)s->profiles_unclassified, (unsigned long long)s->samples,
           (unsigned long long)s->samples_kept, (unsigned long long)s->dropped_process,
           (unsigned long long)s->dropped_thread, (unsigned long long)s->dropped_pattern,
           (unsigned long long)s->dropped_stack, (unsigned long long)s->empty_samples,
           (unsigned long long)s->invalid_references, (unsigned long long)s->series,
           (unsigned long long)s->overflow_samples, (unsigned long)s->work_used,
           (unsigned long long)s->profiles_unfed, (unsigned long long)s->samples_unfed);
}

/* One input through work_size and convert; prints its JSON line. */
static void drive_one(const p2m_engine *eng, const p2m_options *opt, int delta, int index,
                      const unsigned char *in, size_t n, const char *out_prefix)
{
    p2m_error err, werr;
    p2m_stats st;
    p2m_status ws, cs;
    size_t need = 0, want = 0, got = 0, i;
    unsigned char *work, *out;
    int untouched = 1, same = -1;

    memset(&werr, 0, sizeof werr);
    ws = p2m_pprof_work_size(eng, in, n, &need, &werr);
    if (ws != P2M_OK)
        need = (size_t)1 << 20; /* convert must fail alike with any memory */
    work = xmalloc(need);

    /* the size query: output NULL, cap 0 */
    memset(&err, 0, sizeof err);
    memset(&st, 0, sizeof st);
    cs = p2m_pprof_convert(eng, in, n, opt, work, need, NULL, 0, &got, &st, &err);
    if (cs == P2M_ERR_OUTPUT_TOO_SMALL)
        want = err.needed;
    if (cs == P2M_OK || cs == P2M_ERR_OUTPUT_TOO_SMALL) {
        /* a cumulative size query changed no state (all-or-nothing), so
           this call is the one that counts */
        out = xmalloc(want);
        memset(out, 0x5a, want);
        memset(&err, 0, sizeof err);
        memset(&st, 0, sizeof st);
        cs = p2m_pprof_convert(eng, in, n, opt, work, need, out, want, &got, &st, &err);
        if (cs != P2M_OK)
            for (i = 0; i < want; i++)
                if (out[i] != 0x5a)
                    untouched = 0;
    } else {
        out = xmalloc(0);
    }
    if (cs == P2M_OK) {
        char path[4096];
        FILE *f;
        snprintf(path, sizeof path, "%s.%d", out_prefix, index);
        f = fopen(path, "wb");
        if (!f || fwrite(out, 1, got, f) != got || fclose(f) != 0)
            die("cannot write", path);
        if (delta) {
            unsigned char *work2 = xmalloc(need), *out2 = xmalloc(got);
            size_t got2 = 0;
            p2m_error e2;
            memset(&e2, 0, sizeof e2);
            same = p2m_pprof_convert(eng, in, n, opt, work2, need, out2, got, &got2, NULL, &e2) ==
                           P2M_OK &&
                       got2 == got && (got == 0 || memcmp(out, out2, got) == 0);
            free(work2);
            free(out2);
        }
    }
    printf("{\"input\":%d,\"work_status\":%d,\"work_offset\":%lu,\"work_needed\":%lu,"
           "\"status\":%d,\"status_name\":",
           index, (int)ws, (unsigned long)werr.offset, (unsigned long)need, (int)cs);
    json_string(p2m_status_string(cs));
    printf(",\"offset\":%lu,\"message\":", (unsigned long)err.offset);
    json_string(cs == P2M_OK ? "" : err.message);
    printf(",\"work_message\":");
    json_string(ws == P2M_OK ? "" : werr.message);
    printf(",\"output_size\":%lu,\"untouched\":%s,\"same_twice\":%s,", (unsigned long)got,
           untouched ? "true" : "false", same < 0 ? "null" : (same ? "true" : "false"));
    print_stats(&st);
    printf("}\n");
    fflush(stdout);
    free(out);
    free(work);
}

static void prefixes(const p2m_engine *eng, const p2m_options *opt, const unsigned char *in,
                     size_t n)
{
    size_t k;
    for (k = 0; k <= n; k++) {
        unsigned char *buf = xmalloc(k), *work, *out;
        size_t need = 0, got = 0, want = 0;
        p2m_error werr, err;
        p2m_status ws, cs;
        if (k)
            memcpy(buf, in, k);
        memset(&werr, 0, sizeof werr);
        ws = p2m_pprof_work_size(eng, buf, k, &need, &werr);
        if (ws != P2M_OK)
            need = (size_t)1 << 20;
        work = xmalloc(need);
        memset(&err, 0, sizeof err);
        cs = p2m_pprof_convert(eng, buf, k, opt, work, need, NULL, 0, &got, NULL, &err);
        if (cs == P2M_ERR_OUTPUT_TOO_SMALL) {
            want = err.needed;
            out = xmalloc(want);
            memset(&err, 0, sizeof err);
            cs = p2m_pprof_convert(eng, buf, k, opt, work, need, out, want, &got, NULL, &err);
            free(out);
        }
        printf("%lu %d %lu %d %lu\n", (unsigned long)k, (int)ws,
               (unsigned long)(ws == P2M_OK ? 0 : werr.offset), (int)cs,
               (unsigned long)(cs == P2M_OK ? 0 : err.offset));
        free(work);
        free(buf);
    }
}

int main(int argc, char **argv)
{
    const char *cfg_path = NULL, *out_prefix = NULL;
    p2m_attribute attrs[MAX_ATTRS];
    size_t n_attrs = 0;
    p2m_options opt;
    p2m_cfgfile cf;
    p2m_config defaults;
    const p2m_config *cfg = &defaults;
    const p2m_engine *eng = NULL;
    p2m_error err;
    p2m_state *state = NULL;
    unsigned char *eng_mem, *state_mem = NULL;
    size_t eng_size;
    int i, do_prefixes = 0, have_cf = 0, first_input = 0, index = 0;

    memset(&opt, 0, sizeof opt);
    memset(&cf, 0, sizeof cf);
    opt.now_unix_nano = 1700000000000000000ull;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            cfg_path = argv[++i];
        } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            out_prefix = argv[++i];
        } else if (strcmp(argv[i], "--now") == 0 && i + 1 < argc) {
            opt.now_unix_nano = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--resource-attr") == 0 && i + 1 < argc) {
            char *kv = argv[++i], *eqs = strchr(kv, '=');
            if (!eqs || n_attrs == MAX_ATTRS)
                die("--resource-attr wants KEY=VALUE (at most 16)", kv);
            attrs[n_attrs].key.ptr = kv;
            attrs[n_attrs].key.len = (size_t)(eqs - kv);
            attrs[n_attrs].value.type = P2M_VALUE_STRING;
            attrs[n_attrs].value.str.ptr = eqs + 1;
            attrs[n_attrs].value.str.len = strlen(eqs + 1);
            attrs[n_attrs].value.i = 0;
            attrs[n_attrs].value.d = 0;
            n_attrs++;
        } else if (strcmp(argv[i], "--symbolize") == 0) {
            opt.symbolize = symbolize;
        } else if (strcmp(argv[i], "--prefixes") == 0) {
            do_prefixes = 1;
        } else if (argv[i][0] == '-') {
            die("unknown option", argv[i]);
        } else {
            first_input = i;
            break;
        }
    }
    if (!first_input || (!do_prefixes && !out_prefix))
        die("usage: pprof_drive [-c CONFIG] [--now NS] [--resource-attr K=V]... [--symbolize] "
            "(-o OUT INPUT... | --prefixes INPUT)",
            NULL);
    opt.resource_attributes = n_attrs ? attrs : NULL;
    opt.n_resource_attributes = n_attrs;

    if (cfg_path) {
        char msg[512];
        if (p2m_cfgfile_load(cfg_path, &cf, msg, sizeof msg) != 0)
            die(cfg_path, msg);
        have_cf = 1;
        cfg = &cf.config;
    } else {
        p2m_config_init(&defaults);
    }
    memset(&err, 0, sizeof err);
    if (p2m_engine_compile(cfg, NULL, 0, &eng, &err) != P2M_ERR_MEMORY)
        die("configuration rejected", err.message);
    eng_size = err.needed;
    eng_mem = xmalloc(eng_size);
    if (p2m_engine_compile(cfg, eng_mem, eng_size, &eng, &err) != P2M_OK)
        die("configuration rejected", err.message);
    if (p2m_state_size(eng) > 0) {
        size_t ss = p2m_state_size(eng);
        state_mem = xmalloc(ss);
        if (p2m_state_init(eng, state_mem, ss, &state, &err) != P2M_OK)
            die("state", err.message);
        opt.state = state;
    }

    for (i = first_input; i < argc; i++) {
        size_t n;
        unsigned char *in = read_file(argv[i], &n);
        /* the input in a block of its exact size */
        unsigned char *exact = xmalloc(n);
        if (n)
            memcpy(exact, in, n);
        free(in);
        if (do_prefixes)
            prefixes(eng, &opt, exact, n);
        else
            drive_one(eng, &opt, state == NULL, ++index, exact, n, out_prefix);
        free(exact);
        if (do_prefixes)
            break;
    }
    free(state_mem);
    free(eng_mem);
    if (have_cf)
        p2m_cfgfile_free(&cf);
    return 0;
}
