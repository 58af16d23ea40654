/* SPDX-License-Identifier: MIT
   stream_test.c - host test of the streaming output through the nanopb
   adapter (p2m_nanopb.h), with Debian's nanopb (libnanopb-dev) and code
   that nanopb_generator.py writes from proto/metrics.proto.

   stream_test OUTDIR [NAME=FILE...]

   Converts the firmware example's cases (the requests of requests.h with
   the configurations of fw_configs.h and its symboliser) and each FILE
   (default configuration; FILE "framed:PATH": the length-framed requests
   of PATH, as cases NAME-1, NAME-2, ...) with p2m_convert as the reference, then:
     - streams them with p2m_convert_stream through p2m_nanopb_write over
       pb_ostream_from_buffer, and over a pb_ostream_t whose callback
       refuses a piece that is empty or longer than P2M_STREAM_BUFFER:
       the bytes must equal the reference;
     - streams them into streams that stop taking bytes after K bytes
       (nanopb's max_size, and a callback that fails) for K = 0, 1, half,
       all but one: P2M_ERR_WRITE, what was taken is a prefix of the
       reference; K = all: P2M_OK;
     - writes an aggregated result as the bytes_value field of an AnyValue
       with p2m_nanopb_metrics_field, sizing stream first, and decodes it
       back with nanopb;
     - decodes the streamed bytes with nanopb into the generated
       ExportMetricsServiceRequest and writes what it holds as JSON (proto
       field names) to OUTDIR/NAME.json, the bytes to OUTDIR/NAME.bin, for
       check_stream.py, which compares them with Google protobuf's decode
       and with check_output.py's expectation.
   Prints PASS/FAIL lines; exit 0 when all passed, 1 otherwise, 2 on usage
   or I/O errors. */
#define P2M_NO_JSON
#define P2M_NO_PROM
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"

#include <pb_common.h>
#include <pb_decode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2m_nanopb.h"

#include "requests.h"
#include "fw_configs.h"
#include "fw_symbolize.h"
#include "metrics.pb.h"

static int failed;

static void check(const char *name, const char *what, int ok, const char *why)
{
    if (ok) {
        printf("PASS stream-%s-%s\n", name, what);
    } else {
        printf("FAIL stream-%s-%s: %s\n", name, what, why);
        failed = 1;
    }
}

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    if (f == NULL) return NULL;
    for (;;) {
        size_t got;
        if (n == cap) {
            unsigned char *b = realloc(buf, cap = cap ? 2 * cap : 65536);
            if (b == NULL) break;
            buf = b;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = n;
    return buf;
}

/* ---- custom streams ------------------------------------------------------ */

/* Collects what the callback takes; refuses a piece outside 1 to
   P2M_STREAM_BUFFER bytes (the library's promise) and anything past
   fail_after bytes. */
typedef struct collector {
    unsigned char *buf;
    size_t cap, len, pieces, bad_pieces, fail_after;
} collector;

static bool collect(pb_ostream_t *stream, const pb_byte_t *buf, size_t count)
{
    collector *c = (collector *)stream->state;
    if (count == 0 || count > P2M_STREAM_BUFFER) {
        c->bad_pieces++;
        return false;
    }
    if (count > c->fail_after - c->len || count > c->cap - c->len) return false;
    memcpy(c->buf + c->len, buf, count);
    c->len += count;
    c->pieces++;
    return true;
}

static pb_ostream_t collector_stream(collector *c, unsigned char *buf, size_t cap,
                                     size_t max_size, size_t fail_after)
{
    pb_ostream_t os;
    memset(&os, 0, sizeof os);
    memset(c, 0, sizeof *c);
    c->buf = buf;
    c->cap = cap;
    c->fail_after = fail_after;
    os.callback = collect;
    os.state = c;
    os.max_size = max_size;
    return os;
}

/* ---- JSON of the nanopb-decoded request (proto field names) -------------- */

static void j_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s != NULL && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void j_bytes(FILE *f, const pb_bytes_array_t *b)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, n = b ? b->size : 0;
    fputc('"', f);
    for (i = 0; i < n; i += 3) {
        unsigned long v = (unsigned long)b->bytes[i] << 16;
        if (i + 1 < n) v |= (unsigned long)b->bytes[i + 1] << 8;
        if (i + 2 < n) v |= b->bytes[i + 2];
        fputc(b64[(v >> 18) & 63], f);
        fputc(b64[(v >> 12) & 63], f);
        fputc(i + 1 < n ? b64[(v >> 6) & 63] : '=', f);
        fputc(i + 2 < n ? b64[v & 63] : '=', f);
    }
    fputc('"', f);
}

static void j_double(FILE *f, double d)
{
    if (d != d)
        fputs("\"NaN\"", f);
    else if (d > 1.7976931348623157e308)
        fputs("\"Infinity\"", f);
    else if (d < -1.7976931348623157e308)
        fputs("\"-Infinity\"", f);
    else
        fprintf(f, "%.17g", d);
}

static void j_kvs(FILE *f, const p2m_metrics_KeyValue *kv, pb_size_t n);

static void j_any(FILE *f, const p2m_metrics_AnyValue *v)
{
    pb_size_t i;
    fputc('{', f);
    switch (v->which_value) {
    case p2m_metrics_AnyValue_string_value_tag:
        fputs("\"string_value\":", f);
        j_str(f, v->value.string_value);
        break;
    case p2m_metrics_AnyValue_bool_value_tag:
        fprintf(f, "\"bool_value\":%s", v->value.bool_value ? "true" : "false");
        break;
    case p2m_metrics_AnyValue_int_value_tag:
        fprintf(f, "\"int_value\":%lld", (long long)v->value.int_value);
        break;
    case p2m_metrics_AnyValue_double_value_tag:
        fputs("\"double_value\":", f);
        j_double(f, v->value.double_value);
        break;
    case p2m_metrics_AnyValue_array_value_tag:
        fputs("\"array_value\":{\"values\":[", f);
        for (i = 0; i < v->value.array_value.values_count; i++) {
            if (i) fputc(',', f);
            j_any(f, &v->value.array_value.values[i]);
        }
        fputs("]}", f);
        break;
    case p2m_metrics_AnyValue_kvlist_value_tag:
        fputs("\"kvlist_value\":{\"values\":", f);
        j_kvs(f, v->value.kvlist_value.values, v->value.kvlist_value.values_count);
        fputc('}', f);
        break;
    case p2m_metrics_AnyValue_bytes_value_tag:
        fputs("\"bytes_value\":", f);
        j_bytes(f, v->value.bytes_value);
        break;
    default:
        break;
    }
    fputc('}', f);
}

static void j_kvs(FILE *f, const p2m_metrics_KeyValue *kv, pb_size_t n)
{
    pb_size_t i;
    fputc('[', f);
    for (i = 0; i < n; i++) {
        if (i) fputc(',', f);
        fputs("{\"key\":", f);
        j_str(f, kv[i].key);
        if (kv[i].has_value) {
            fputs(",\"value\":", f);
            j_any(f, &kv[i].value);
        }
        fputc('}', f);
    }
    fputc(']', f);
}

static void j_strs(FILE *f, char *const *s, pb_size_t n)
{
    pb_size_t i;
    fputc('[', f);
    for (i = 0; i < n; i++) {
        if (i) fputc(',', f);
        j_str(f, s[i]);
    }
    fputc(']', f);
}

static void j_points(FILE *f, const p2m_metrics_NumberDataPoint *p, pb_size_t n)
{
    pb_size_t i;
    fputc('[', f);
    for (i = 0; i < n; i++) {
        if (i) fputc(',', f);
        fprintf(f, "{\"start_time_unix_nano\":%llu,\"time_unix_nano\":%llu,\"flags\":%lu,",
                (unsigned long long)p[i].start_time_unix_nano,
                (unsigned long long)p[i].time_unix_nano, (unsigned long)p[i].flags);
        if (p[i].which_value == p2m_metrics_NumberDataPoint_as_int_tag) {
            fprintf(f, "\"as_int\":%lld,", (long long)p[i].value.as_int);
        } else if (p[i].which_value == p2m_metrics_NumberDataPoint_as_double_tag) {
            fputs("\"as_double\":", f);
            j_double(f, p[i].value.as_double);
            fputc(',', f);
        }
        fputs("\"attributes\":", f);
        j_kvs(f, p[i].attributes, p[i].attributes_count);
        fputc('}', f);
    }
    fputc(']', f);
}

static void j_metric(FILE *f, const p2m_metrics_Metric *m)
{
    fputs("{\"name\":", f);
    j_str(f, m->name);
    fputs(",\"description\":", f);
    j_str(f, m->description);
    fputs(",\"unit\":", f);
    j_str(f, m->unit);
    if (m->which_data == p2m_metrics_Metric_sum_tag) {
        fprintf(f, ",\"sum\":{\"aggregation_temporality\":%d,\"is_monotonic\":%s,\"data_points\":",
                (int)m->data.sum.aggregation_temporality,
                m->data.sum.is_monotonic ? "true" : "false");
        j_points(f, m->data.sum.data_points, m->data.sum.data_points_count);
        fputc('}', f);
    } else if (m->which_data == p2m_metrics_Metric_gauge_tag) {
        fputs(",\"gauge\":{\"data_points\":", f);
        j_points(f, m->data.gauge.data_points, m->data.gauge.data_points_count);
        fputc('}', f);
    } else if (m->which_data == p2m_metrics_Metric_histogram_tag) {
        fputs(",\"histogram\":{}", f);
    }
    fputs(",\"metadata\":", f);
    j_kvs(f, m->metadata, m->metadata_count);
    fputc('}', f);
}

static void j_request(FILE *f, const p2m_metrics_ExportMetricsServiceRequest *r)
{
    pb_size_t i, j, k;
    fputs("{\"resource_metrics\":[", f);
    for (i = 0; i < r->resource_metrics_count; i++) {
        const p2m_metrics_ResourceMetrics *rm = &r->resource_metrics[i];
        if (i) fputc(',', f);
        fputs("{\"schema_url\":", f);
        j_str(f, rm->schema_url);
        if (rm->has_resource) {
            fputs(",\"resource\":{\"attributes\":", f);
            j_kvs(f, rm->resource.attributes, rm->resource.attributes_count);
            fprintf(f, ",\"dropped_attributes_count\":%lu,\"entity_refs\":[",
                    (unsigned long)rm->resource.dropped_attributes_count);
            for (j = 0; j < rm->resource.entity_refs_count; j++) {
                const p2m_metrics_EntityRef *e = &rm->resource.entity_refs[j];
                if (j) fputc(',', f);
                fputs("{\"schema_url\":", f);
                j_str(f, e->schema_url);
                fputs(",\"type\":", f);
                j_str(f, e->type);
                fputs(",\"id_keys\":", f);
                j_strs(f, e->id_keys, e->id_keys_count);
                fputs(",\"description_keys\":", f);
                j_strs(f, e->description_keys, e->description_keys_count);
                fputc('}', f);
            }
            fputs("]}", f);
        }
        fputs(",\"scope_metrics\":[", f);
        for (j = 0; j < rm->scope_metrics_count; j++) {
            const p2m_metrics_ScopeMetrics *sm = &rm->scope_metrics[j];
            if (j) fputc(',', f);
            fputs("{\"schema_url\":", f);
            j_str(f, sm->schema_url);
            if (sm->has_scope) {
                fputs(",\"scope\":{\"name\":", f);
                j_str(f, sm->scope.name);
                fputs(",\"version\":", f);
                j_str(f, sm->scope.version);
                fputs(",\"attributes\":", f);
                j_kvs(f, sm->scope.attributes, sm->scope.attributes_count);
                fprintf(f, ",\"dropped_attributes_count\":%lu}",
                        (unsigned long)sm->scope.dropped_attributes_count);
            }
            fputs(",\"metrics\":[", f);
            for (k = 0; k < sm->metrics_count; k++) {
                if (k) fputc(',', f);
                j_metric(f, &sm->metrics[k]);
            }
            fputs("]}", f);
        }
        fputs("]}", f);
    }
    fputs("]}\n", f);
}

/* Decodes bytes with nanopb and writes the JSON; 0 when it decoded. */
static int decode_to_json(const unsigned char *b, size_t n, const char *path, char *why,
                          size_t why_cap)
{
    p2m_metrics_ExportMetricsServiceRequest req;
    pb_istream_t is = pb_istream_from_buffer(b, n);
    FILE *f;
    memset(&req, 0, sizeof req);
    if (!pb_decode(&is, p2m_metrics_ExportMetricsServiceRequest_fields, &req)) {
        snprintf(why, why_cap, "nanopb: %s", PB_GET_ERROR(&is));
        pb_release(p2m_metrics_ExportMetricsServiceRequest_fields, &req);
        return 1;
    }
    f = fopen(path, "w");
    if (f == NULL) {
        snprintf(why, why_cap, "cannot write the .json file");
    } else {
        j_request(f, &req);
        if (fclose(f) != 0) snprintf(why, why_cap, "cannot write the .json file");
        else why[0] = '\0';
    }
    pb_release(p2m_metrics_ExportMetricsServiceRequest_fields, &req);
    return why[0] != '\0';
}

/* ---- one case ------------------------------------------------------------ */

static int write_file(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(b, 1, n, f) == n;
    if (f != NULL && fclose(f) != 0) ok = 0;
    return ok;
}

static void run_case(const char *outdir, const char *name, const unsigned char *in, size_t in_len,
                     int config, int symbolise)
{
    p2m_config cfg;
    p2m_error err;
    p2m_options opt;
    p2m_stats stats;
    const p2m_engine *engine;
    const p2m_result *result;
    fw_symctx ctx;
    collector c;
    pb_ostream_t os;
    void *engine_mem = NULL, *work = NULL;
    unsigned char *ref = NULL, *got = NULL, *streamed = NULL;
    size_t work_size = 0, n = 0, streamed_len = 0, cap, i;
    char why[256], path[1024];
    static const p2m_options none;

    if (config >= 0) fw_config(config, &cfg);
    else p2m_config_init(&cfg);
    if (p2m_engine_compile(&cfg, NULL, 0, &engine, &err) != P2M_ERR_MEMORY ||
        (engine_mem = malloc(err.needed)) == NULL ||
        p2m_engine_compile(&cfg, engine_mem, err.needed, &engine, &err) != P2M_OK ||
        p2m_work_size(engine, in, in_len, &work_size, &err) != P2M_OK ||
        (work = malloc(work_size)) == NULL) {
        check(name, "setup", 0, err.message);
        goto out;
    }
    opt = none;
    opt.now_unix_nano = FW_NOW_UNIX_NANO;
    opt.symbolize = symbolise ? fw_symbolize : NULL;
    opt.user_data = &ctx;

    /* The reference: the buffered conversion. */
    if (p2m_convert(engine, in, in_len, &opt, work, work_size, NULL, 0, &n, NULL, &err) !=
            P2M_ERR_OUTPUT_TOO_SMALL ||
        (n = err.needed, ref = malloc(n + 1)) == NULL ||
        p2m_convert(engine, in, in_len, &opt, work, work_size, ref, n, &n, NULL, &err) !=
            P2M_OK) {
        check(name, "reference", 0, err.message);
        goto out;
    }
    cap = n + 64;
    got = malloc(cap);
    if (got == NULL) goto out;

    /* Over nanopb's buffer stream. */
    memset(got, 0, cap);
    os = pb_ostream_from_buffer(got, cap);
    {
        p2m_status st = p2m_convert_nanopb(engine, in, in_len, &opt, work, work_size, &os,
                                           &stats, &err);
        snprintf(why, sizeof why, "status %d (%s), %lu bytes written, %lu expected", (int)st,
                 err.message, (unsigned long)os.bytes_written, (unsigned long)n);
        check(name, "buffer-stream", st == P2M_OK && os.bytes_written == n &&
                                         memcmp(got, ref, n) == 0, why);
    }

    /* Over a callback that holds the library to its piece sizes. */
    os = collector_stream(&c, got, cap, SIZE_MAX, SIZE_MAX);
    {
        p2m_status st = p2m_convert_nanopb(engine, in, in_len, &opt, work, work_size, &os,
                                           &stats, &err);
        snprintf(why, sizeof why,
                 "status %d (%s), %lu bytes in %lu pieces (%lu out of 1..%d), %lu expected",
                 (int)st, err.message, (unsigned long)c.len, (unsigned long)c.pieces,
                 (unsigned long)c.bad_pieces, P2M_STREAM_BUFFER, (unsigned long)n);
        check(name, "callback-stream", st == P2M_OK && c.len == n && c.bad_pieces == 0 &&
                                           c.pieces >= (n + P2M_STREAM_BUFFER - 1) /
                                                        P2M_STREAM_BUFFER &&
                                           memcmp(got, ref, n) == 0, why);
        streamed_len = c.len;
        streamed = malloc(streamed_len + 1);
        if (streamed == NULL) goto out;
        memcpy(streamed, got, streamed_len);
    }

    /* Streams that stop taking bytes after k of them. */
    {
        size_t ks[5];
        int ok = 1;
        ks[0] = 0;
        ks[1] = 1;
        ks[2] = n / 2;
        ks[3] = n - 1;
        ks[4] = n;
        why[0] = '\0';
        for (i = 0; i < 5 && ok; i++) {
            int how;
            for (how = 0; how < 2 && ok; how++) {
                p2m_status st;
                os = collector_stream(&c, got, cap, how ? SIZE_MAX : ks[i],
                                      how ? ks[i] : SIZE_MAX);
                st = p2m_convert_nanopb(engine, in, in_len, &opt, work, work_size, &os, NULL,
                                        &err);
                if (i < 4 ? st != P2M_ERR_WRITE || err.status != P2M_ERR_WRITE || c.len > ks[i]
                          : st != P2M_OK || c.len != n) {
                    snprintf(why, sizeof why, "%s after %lu of %lu bytes: status %d, %lu taken",
                             how ? "callback fails" : "max_size", (unsigned long)ks[i],
                             (unsigned long)n, (int)st, (unsigned long)c.len);
                    ok = 0;
                } else if (memcmp(got, ref, c.len) != 0) {
                    snprintf(why, sizeof why, "what was taken before the stop is not a prefix");
                    ok = 0;
                }
            }
        }
        check(name, "write-refused", ok, why);
    }

    /* The metrics as a field of the caller's own message (here the
       bytes_value of an AnyValue), through a nanopb field callback. */
    if (p2m_aggregate(engine, in, in_len, &opt, work, work_size, &result, NULL, &err) != P2M_OK) {
        check(name, "field-callback", 0, err.message);
    } else {
        p2m_metrics_AnyValue av;
        pb_field_iter_t it;
        pb_ostream_t sz = PB_OSTREAM_SIZING;
        unsigned char *fb = malloc(n + 16);
        size_t hdr = 1;
        void *arg = (void *)(uintptr_t)result;
        int ok = 0;
        for (i = n; i >= 128; i >>= 7) hdr++;
        hdr++; /* the tag */
        memset(&av, 0, sizeof av);
        why[0] = '\0';
        if (fb != NULL && pb_field_iter_begin(&it, p2m_metrics_AnyValue_fields, &av) &&
            pb_field_iter_find(&it, p2m_metrics_AnyValue_bytes_value_tag) &&
            p2m_nanopb_metrics_field(&sz, &it, &arg) && sz.bytes_written == hdr + n) {
            pb_ostream_t fo = pb_ostream_from_buffer(fb, n + 16);
            pb_istream_t is;
            if (p2m_nanopb_metrics_field(&fo, &it, &arg) && fo.bytes_written == hdr + n) {
                is = pb_istream_from_buffer(fb, fo.bytes_written);
                if (pb_decode(&is, p2m_metrics_AnyValue_fields, &av) &&
                    av.which_value == p2m_metrics_AnyValue_bytes_value_tag &&
                    av.value.bytes_value != NULL && av.value.bytes_value->size == n &&
                    memcmp(av.value.bytes_value->bytes, ref, n) == 0)
                    ok = 1;
                else
                    snprintf(why, sizeof why, "the field does not decode to the metrics");
                pb_release(p2m_metrics_AnyValue_fields, &av);
            } else {
                snprintf(why, sizeof why, "field written with %lu bytes, %lu expected",
                         (unsigned long)fo.bytes_written, (unsigned long)(hdr + n));
            }
        } else if (why[0] == '\0') {
            snprintf(why, sizeof why, "sizing stream: %lu bytes, %lu expected",
                     (unsigned long)sz.bytes_written, (unsigned long)(hdr + n));
        }
        free(fb);
        check(name, "field-callback", ok, why);
    }

    /* The streamed bytes decoded by nanopb, for check_stream.py. */
    snprintf(path, sizeof path, "%s/%s.bin", outdir, name);
    if (!write_file(path, streamed, streamed_len)) {
        check(name, "nanopb-decodes", 0, "cannot write the .bin file");
    } else {
        snprintf(path, sizeof path, "%s/%s.json", outdir, name);
        check(name, "nanopb-decodes",
              decode_to_json(streamed, streamed_len, path, why, sizeof why) == 0, why);
    }

out:
    free(streamed);
    free(got);
    free(ref);
    free(work);
    free(engine_mem);
}

int main(int argc, char **argv)
{
    int i;
    char path[1024];
    if (argc < 2) {
        fputs("usage: stream_test OUTDIR [NAME=FILE...]\n", stderr);
        return 2;
    }
    for (i = 0; i < FW_N_CONFIGS; i++) {
        const unsigned char *in = i < 2 ? fw_small_request : fw_firmware_request;
        size_t len = i < 2 ? sizeof fw_small_request : sizeof fw_firmware_request;
        run_case(argv[1], fw_config_names[i], in, len, i, i >= 2);
    }
    for (i = 2; i < argc; i++) {
        const char *eq = strchr(argv[i], '='), *file;
        unsigned char *in;
        size_t len = 0;
        if (eq == NULL || (size_t)(eq - argv[i]) >= sizeof path) {
            fprintf(stderr, "stream_test: %s: expected NAME=FILE\n", argv[i]);
            return 2;
        }
        file = strncmp(eq + 1, "framed:", 7) == 0 ? eq + 8 : eq + 1;
        in = read_file(file, &len);
        if (in == NULL) {
            fprintf(stderr, "stream_test: cannot read %s\n", file);
            return 2;
        }
        memcpy(path, argv[i], (size_t)(eq - argv[i]));
        path[eq - argv[i]] = '\0';
        if (strncmp(eq + 1, "framed:", 7) != 0) {
            run_case(argv[1], path, in, len, -1, 0);
        } else {
            /* Requests each preceded by its length, 4 bytes big-endian (the
               Collector file exporter's framing): cases NAME-1, NAME-2, ... */
            size_t at = 0, k = 0;
            char frame[1100];
            while (at + 4 <= len) {
                size_t n = (size_t)in[at] << 24 | (size_t)in[at + 1] << 16 |
                           (size_t)in[at + 2] << 8 | in[at + 3];
                if (n > len - at - 4) break;
                snprintf(frame, sizeof frame, "%s-%lu", path, (unsigned long)++k);
                run_case(argv[1], frame, in + at + 4, n, -1, 0);
                at += 4 + n;
            }
            if (at != len || k == 0) {
                fprintf(stderr, "stream_test: %s: not length-framed requests\n", eq + 8);
                free(in);
                return 2;
            }
        }
        free(in);
    }
    return failed;
}
