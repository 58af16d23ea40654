/* SPDX-License-Identifier: MIT
   pprof_driver: converts one uncompressed pprof Profile with the library's
   pprof entry points directly (no p2m tool in between) and writes what
   came out, for the test scripts to check with independent tools.

     pprof_driver [--attr KEY]... [--no-attrs] [--extra NAME=TYPE/UNIT]...
                  [--strict] [--now NANOS] [--resource-attr KEY=VALUE]...
                  [-o OUT.pb] [-j OUT.json] INPUT

   --attr KEY      a data point attribute rule of type attribute, from KEY
                   (repeatable; without any, the default rules apply)
   --no-attrs      no data point attributes at all
   --extra N=T/U   a declared metric N fed by sample type T/U (repeatable)
   -o FILE         the ExportMetricsServiceRequest of p2m_pprof_convert
   -j FILE         one JSON object read from p2m_pprof_aggregate's result
                   view: stats, unfed sample types, resources, metrics,
                   points with their attributes

   The working memory is exactly what p2m_pprof_work_size asks for, and the
   output buffer exactly the size p2m_pprof_convert reports, so both size
   queries are exercised. Exit 0 ok, 1 the library refused the input
   (status, offset and message on stderr), 2 usage or I/O. */
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../c/readfile.h"

#define MAX_LIST 16

static void die_usage(const char *why)
{
    fprintf(stderr, "pprof_driver: %s\n"
            "usage: pprof_driver [--attr KEY]... [--no-attrs] [--extra NAME=TYPE/UNIT]...\n"
            "                    [--strict] [--now NANOS] [--resource-attr KEY=VALUE]...\n"
            "                    [-o OUT.pb] [-j OUT.json] INPUT\n", why);
    exit(2);
}

static unsigned char *read_file(const char *path, size_t *n)
{
    unsigned char *buf = tk_read_file(path, n);
    if (!buf) {
        fprintf(stderr, "pprof_driver: cannot read %s\n", path);
        exit(2);
    }
    return buf;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "pprof_driver: cannot write %s\n", path);
        exit(2);
    }
}

static void json_str(FILE *f, p2m_str s)
{
    size_t i;
    fputc('"', f);
    for (i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_cstr(FILE *f, const char *s)
{
    p2m_str v;
    v.ptr = s;
    v.len = strlen(s);
    json_str(f, v);
}

/* A value as [type, value]: the type name keeps int and string apart. */
static void json_value(FILE *f, const p2m_value *v)
{
    switch (v->type) {
    case P2M_VALUE_STRING: fputs("[\"string\",", f); json_str(f, v->str); break;
    case P2M_VALUE_INT: fprintf(f, "[\"int\",%lld", (long long)v->i); break;
    case P2M_VALUE_BOOL: fprintf(f, "[\"bool\",%s", v->i ? "true" : "false"); break;
    case P2M_VALUE_DOUBLE: fprintf(f, "[\"double\",%.17g", v->d); break;
    default: fprintf(f, "[\"other\",%d", (int)v->type); break;
    }
    fputc(']', f);
}

static void json_attrs(FILE *f, const p2m_attribute *a, size_t n)
{
    size_t i;
    fputc('[', f);
    for (i = 0; i < n; i++) {
        fputs(i ? ",[" : "[", f);
        json_str(f, a[i].key);
        fputc(',', f);
        json_value(f, &a[i].value);
        fputc(']', f);
    }
    fputc(']', f);
}

static const char *kind_name(p2m_metric_kind k)
{
    switch (k) {
    case P2M_METRIC_CPU: return "cpu";
    case P2M_METRIC_MEMORY: return "memory";
    case P2M_METRIC_FUNCTION: return "function";
    case P2M_METRIC_EXTRA: return "extra";
    default: return "none";
    }
}

static void json_stats(FILE *f, const p2m_stats *s)
{
    fprintf(f, "{\"bytes_in\":%zu,\"bytes_out\":%zu,\"layout\":", s->bytes_in, s->bytes_out);
    json_cstr(f, p2m_layout_name(s->layout));
    fprintf(f, ",\"resources\":%llu,\"profiles\":%llu,\"profiles_unclassified\":%llu,"
            "\"samples\":%llu,\"samples_kept\":%llu,\"empty_samples\":%llu,"
            "\"invalid_references\":%llu,\"series\":%llu,\"overflow_samples\":%llu,"
            "\"profiles_unfed\":%llu,\"samples_unfed\":%llu,\"n_unfed\":%zu}",
            (unsigned long long)s->resources, (unsigned long long)s->profiles,
            (unsigned long long)s->profiles_unclassified, (unsigned long long)s->samples,
            (unsigned long long)s->samples_kept, (unsigned long long)s->empty_samples,
            (unsigned long long)s->invalid_references, (unsigned long long)s->series,
            (unsigned long long)s->overflow_samples, (unsigned long long)s->profiles_unfed,
            (unsigned long long)s->samples_unfed, s->n_unfed);
}

/* st: p2m_pprof_aggregate's statistics; cst: p2m_pprof_convert's of the
   same input (they differ in bytes_out only) */
static void json_result(FILE *f, const p2m_result *r, const p2m_stats *st,
                        const p2m_stats *cst, const p2m_type_count *unfed)
{
    size_t res, m, p, i;
    fputs("{\"stats\":", f);
    json_stats(f, st);
    fputs(",\"convert_stats\":", f);
    json_stats(f, cst);
    fputs(",\"unfed\":[", f);
    for (i = 0; i < st->n_unfed && i < MAX_LIST; i++) {
        fputs(i ? ",{\"type\":" : "{\"type\":", f);
        json_str(f, unfed[i].type);
        fputs(",\"unit\":", f);
        json_str(f, unfed[i].unit);
        fprintf(f, ",\"profiles\":%llu,\"samples\":%llu}",
                (unsigned long long)unfed[i].profiles, (unsigned long long)unfed[i].samples);
    }
    fputs("],\"resources\":[", f);
    for (res = 0; res < p2m_result_resource_count(r); res++) {
        p2m_attribute ra[MAX_LIST];
        size_t nra = p2m_result_resource_attributes(r, res, ra, MAX_LIST);
        fputs(res ? ",{\"attributes\":" : "{\"attributes\":", f);
        json_attrs(f, ra, nra < MAX_LIST ? nra : MAX_LIST);
        fputs(",\"metrics\":[", f);
        for (m = 0; m < p2m_result_metric_count(r, res); m++) {
            p2m_metric_info mi;
            p2m_result_metric(r, res, m, &mi);
            fputs(m ? ",{\"name\":" : "{\"name\":", f);
            json_str(f, mi.name);
            fputs(",\"unit\":", f);
            json_str(f, mi.unit);
            fprintf(f, ",\"kind\":\"%s\",\"gauge\":%s,\"double\":%s,\"points\":[",
                    kind_name(mi.kind), mi.is_gauge ? "true" : "false",
                    mi.is_double ? "true" : "false");
            for (p = 0; p < mi.n_points; p++) {
                p2m_point pt;
                p2m_attribute pa[MAX_LIST];
                size_t npa;
                p2m_result_point(r, res, m, p, &pt);
                npa = p2m_result_point_attributes(r, res, m, p, pa, MAX_LIST);
                fprintf(f, "%s{\"start\":%llu,\"time\":%llu,\"overflow\":%s,\"value\":",
                        p ? "," : "", (unsigned long long)pt.start_time_unix_nano,
                        (unsigned long long)pt.time_unix_nano,
                        pt.is_overflow ? "true" : "false");
                if (pt.is_double)
                    fprintf(f, "%.17g", pt.as_double);
                else
                    fprintf(f, "%lld", (long long)pt.as_int);
                fputs(",\"attributes\":", f);
                json_attrs(f, pa, npa < MAX_LIST ? npa : MAX_LIST);
                fputc('}', f);
            }
            fputs("]}", f);
        }
        fputs("]}", f);
    }
    fputs("]}\n", f);
}

static int refused(const char *what, p2m_status st, const p2m_error *err)
{
    fprintf(stderr, "pprof_driver: %s: %s at offset %zu: %s%s%s\n", what,
            p2m_status_string(st), err->offset, err->message,
            err->field[0] ? " field " : "", err->field);
    return st == P2M_ERR_MALFORMED || st == P2M_ERR_INVALID_REFERENCE ? 1 : 2;
}

int main(int argc, char **argv)
{
    p2m_rule rules[MAX_LIST];
    size_t n_rules = 0;
    int no_attrs = 0;
    p2m_extra_metric extra[P2M_MAX_EXTRA > 0 ? P2M_MAX_EXTRA : 1];
    const char *extra_types[P2M_MAX_EXTRA > 0 ? P2M_MAX_EXTRA : 1];
    size_t n_extra = 0;
    p2m_attribute rattrs[MAX_LIST];
    size_t n_rattrs = 0;
    const char *out_pb = NULL, *out_json = NULL, *input = NULL;
    p2m_config cfg;
    p2m_options opt;
    p2m_error err;
    p2m_stats st, st2;
    p2m_type_count unfed[MAX_LIST];
    const p2m_engine *e = NULL;
    const p2m_result *r = NULL;
    void *emem, *work;
    unsigned char *in, *out;
    size_t n, need = 0, out_n = 0;
    p2m_status s;
    int i;

    memset(&opt, 0, sizeof opt);
    p2m_config_init(&cfg);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--attr") == 0 && i + 1 < argc) {
            if (n_rules == MAX_LIST)
                die_usage("too many --attr");
            memset(&rules[n_rules], 0, sizeof rules[n_rules]);
            rules[n_rules].key = argv[i + 1];
            rules[n_rules].type = P2M_RULE_ATTRIBUTE;
            rules[n_rules].from = argv[i + 1];
            n_rules++;
            i++;
        } else if (strcmp(a, "--no-attrs") == 0) {
            no_attrs = 1;
        } else if (strcmp(a, "--extra") == 0 && i + 1 < argc) {
            char *eq = strchr(argv[i + 1], '=');
            if (!eq || n_extra == (size_t)P2M_MAX_EXTRA)
                die_usage("--extra wants NAME=TYPE/UNIT");
            *eq = 0;
            memset(&extra[n_extra], 0, sizeof extra[n_extra]);
            extra_types[n_extra] = eq + 1;
            extra[n_extra].name = argv[i + 1];
            extra[n_extra].sample_types = &extra_types[n_extra];
            extra[n_extra].n_sample_types = 1;
            n_extra++;
            i++;
        } else if (strcmp(a, "--strict") == 0) {
            cfg.strict = 1;
        } else if (strcmp(a, "--now") == 0 && i + 1 < argc) {
            opt.now_unix_nano = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(a, "--resource-attr") == 0 && i + 1 < argc) {
            char *eq = strchr(argv[i + 1], '=');
            if (!eq || n_rattrs == MAX_LIST)
                die_usage("--resource-attr wants KEY=VALUE");
            memset(&rattrs[n_rattrs], 0, sizeof rattrs[n_rattrs]);
            rattrs[n_rattrs].key.ptr = argv[i + 1];
            rattrs[n_rattrs].key.len = (size_t)(eq - argv[i + 1]);
            rattrs[n_rattrs].value.type = P2M_VALUE_STRING;
            rattrs[n_rattrs].value.str.ptr = eq + 1;
            rattrs[n_rattrs].value.str.len = strlen(eq + 1);
            n_rattrs++;
            i++;
        } else if (strcmp(a, "-o") == 0 && i + 1 < argc) {
            out_pb = argv[++i];
        } else if (strcmp(a, "-j") == 0 && i + 1 < argc) {
            out_json = argv[++i];
        } else if (a[0] == '-' && a[1] != 0) {
            die_usage("unknown option or missing value");
        } else if (!input) {
            input = a;
        } else {
            die_usage("more than one INPUT");
        }
    }
    if (!input)
        die_usage("no INPUT");
    if (no_attrs || n_rules) {
        cfg.attributes = rules;
        cfg.n_attributes = n_rules;
    }
    cfg.extra = extra;
    cfg.n_extra = n_extra;
    opt.resource_attributes = rattrs;
    opt.n_resource_attributes = n_rattrs;
    opt.unfed = unfed;
    opt.unfed_cap = MAX_LIST;

    memset(&err, 0, sizeof err);
    s = p2m_engine_compile(&cfg, NULL, 0, &e, &err);
    if (s != P2M_ERR_MEMORY)
        return refused("engine size", s, &err);
    emem = malloc(err.needed);
    if (!emem || (s = p2m_engine_compile(&cfg, emem, err.needed, &e, &err)) != P2M_OK)
        return emem ? refused("engine", s, &err) : 2;

    in = read_file(input, &n);
    s = p2m_pprof_work_size(e, in, n, &need, &err);
    if (s != P2M_OK)
        return refused("p2m_pprof_work_size", s, &err);
    work = malloc(need ? need : 1);
    if (!work)
        return 2;

    /* the output size, asked for first; then the conversion into exactly that */
    s = p2m_pprof_convert(e, in, n, &opt, work, need, NULL, 0, &out_n, &st, &err);
    if (s != P2M_ERR_OUTPUT_TOO_SMALL)
        return refused("p2m_pprof_convert size query", s, &err);
    out_n = err.needed;
    out = (unsigned char *)malloc(out_n ? out_n : 1);
    if (!out)
        return 2;
    s = p2m_pprof_convert(e, in, n, &opt, work, need, out, out_n, &out_n, &st, &err);
    if (s != P2M_OK)
        return refused("p2m_pprof_convert", s, &err);
    if (out_pb)
        write_file(out_pb, out, out_n);

    /* the result view of the same input, from p2m_pprof_aggregate */
    s = p2m_pprof_aggregate(e, in, n, &opt, work, need, &r, &st2, &err);
    if (s != P2M_OK)
        return refused("p2m_pprof_aggregate", s, &err);
    if (out_json) {
        FILE *f = fopen(out_json, "w");
        if (!f) {
            fprintf(stderr, "pprof_driver: cannot write %s\n", out_json);
            return 2;
        }
        json_result(f, r, &st2, &st, unfed);
        if (fclose(f) != 0) {
            fprintf(stderr, "pprof_driver: cannot write %s\n", out_json);
            return 2;
        }
    }
    free(out);
    free(work);
    free(in);
    free(emem);
    return 0;
}
