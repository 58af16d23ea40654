/* SPDX-License-Identifier: MIT
   p2m serve: the command, its options and the core the receivers share
   (see p2m_serve.h and docs/deployment.md).

   One engine (read-only) and one cumulative state: every request is
   decompressed and, for JSON, transcoded on its receiver's thread, then
   converted under one mutex that also guards the Prometheus totals, the
   export queue and the counters, so /metrics and the exporter see each
   request whole or not at all. The main thread waits for signals: SIGTERM
   and SIGINT drain and exit 0, SIGHUP reloads the configuration.

   Without libmicrohttpd (P2M_HAVE_MHD) the command only says so. */
#define _POSIX_C_SOURCE 200809L

#include "p2m_serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2m_cli.h"

#ifndef P2M_HAVE_MHD

int p2m_cmd_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("p2m: serve: this p2m was built without libmicrohttpd, which p2m serve needs: "
          "install libmicrohttpd-dev (tools/install-deps.sh) and rebuild with make\n",
          stderr);
    return 2;
}

#else /* P2M_HAVE_MHD */

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifdef P2M_HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef P2M_HAVE_GNUTLS
#include <gnutls/gnutls.h>
#endif

#include "profile2metrics.h"
#include "p2m_config.h"
#include "p2m_input.h"
#include "p2m_jsonin.h"
#include "p2m_prom.h"

#define EXIT_USAGE 2

static const char *const serve_help[] = {
    "usage: p2m serve [-c CONFIG] [OPTIONS]",
    "",
    "Receives OpenTelemetry profiles over OTLP/HTTP (and OTLP/gRPC) and turns",
    "them into metrics: Prometheus text at GET /metrics on the HTTP port, and",
    "OTLP/HTTP metrics to a collector when an exporter endpoint is set.",
    "",
    "  -c, --config FILE        YAML configuration, as for p2m convert",
    "  --connector NAME         the connector profiletometrics/NAME of a Collector",
    "                           configuration that has several",
    "  --http HOST:PORT         OTLP/HTTP, /metrics, /healthz, /readyz",
    "                           (default 127.0.0.1:4318; 'off' disables)",
    "  --grpc HOST:PORT         OTLP/gRPC (default 127.0.0.1:4317; 'off' disables)",
    "  --listen                 allow addresses other than loopback (and make the",
    "                           default host 0.0.0.0)",
    "  --max-body SIZE          largest request body, compressed (default 64M)",
    "  --max-decompressed SIZE  largest body after gzip/zstd (default 64M)",
    "  --exporter otlp|none     OTLP/HTTP metrics exporter (default: otlp when",
    "                           OTEL_EXPORTER_OTLP_METRICS_ENDPOINT or",
    "                           OTEL_EXPORTER_OTLP_ENDPOINT is set)",
    "  --queue N                export queue: requests held (default 256); when",
    "                           full, senders get 429 / UNAVAILABLE",
    "  --auth-token-file FILE   require 'Authorization: Bearer TOKEN'",
    "  --tls-cert FILE          PEM certificate (with --tls-key): TLS on both",
    "  --tls-key FILE           receivers",
    "  --max-connections N      open connections per receiver (default 256)",
    "  --idle-timeout SEC       close a connection silent this long (default 30)",
    "  --request-timeout SEC    a request must arrive within this (default 60)",
    "  --shutdown-timeout SEC   SIGTERM: time to finish requests and drain the",
    "                           export queue (default 30)",
    "  -h, --help               this help",
    "",
    "Signals: SIGTERM/SIGINT stop accepting, drain, exit 0; SIGHUP reloads the",
    "configuration (a bad one is refused and the old one kept).",
    "Logs: one JSON object per line on stderr.",
    "Exit status: 0 after a clean shutdown, 2 bad usage or configuration.",
    P2M_DOC_LINE,
    NULL};

/* ---- logging ------------------------------------------------------------- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

const char *p2m_srv_json_str(const char *s, size_t n, char *buf, size_t cap)
{
    size_t o = 0, i;
    if (cap < 8) {
        if (cap)
            buf[0] = '\0';
        return buf;
    }
    buf[o++] = '"';
    for (i = 0; i < n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(buf + o, cap - o, "\\u%04x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

void p2m_srv_log(const char *level, const char *event, const char *fmt, ...)
{
    struct timespec ts;
    struct tm tm;
    char when[40];
    va_list ap;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"event\":\"%s\"", when,
            ts.tv_nsec / 1000000L, level, event);
    if (fmt != NULL) {
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputs("}\n", stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
}

/* ---- response bodies ------------------------------------------------------ */

static void pb_varint(p2m_outbuf *o, uint64_t v)
{
    unsigned char b[10];
    size_t n = 0;
    do {
        b[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    p2m_out_append(o, b, n);
}

static void pb_string(p2m_outbuf *o, unsigned field, const char *s)
{
    size_t n = strlen(s);
    pb_varint(o, (uint64_t)field << 3 | 2);
    pb_varint(o, n);
    p2m_out_append(o, s, n);
}

static void json_escape_into(p2m_outbuf *o, const char *s)
{
    size_t n = strlen(s);
    char *buf = (char *)malloc(n * 6 + 8);
    if (buf == NULL) {
        o->failed = 1;
        return;
    }
    p2m_out_str(o, p2m_srv_json_str(s, n, buf, n * 6 + 8));
    free(buf);
}

void p2m_srv_response_body(p2m_outbuf *o, int json, uint64_t rejected, const char *message)
{
    int partial = rejected > 0 || (message != NULL && message[0] != '\0');
    if (json) {
        if (!partial) {
            p2m_out_str(o, "{}");
            return;
        }
        p2m_out_str(o, "{\"partialSuccess\":{");
        if (rejected > 0)
            p2m_out_printf(o, "\"rejectedProfiles\":\"%llu\"%s", (unsigned long long)rejected,
                           message != NULL && message[0] ? "," : "");
        if (message != NULL && message[0]) {
            p2m_out_str(o, "\"errorMessage\":");
            json_escape_into(o, message);
        }
        p2m_out_str(o, "}}");
        return;
    }
    if (partial) {
        p2m_outbuf inner = {NULL, 0, 0, 0};
        if (rejected > 0) {
            pb_varint(&inner, 1u << 3);
            pb_varint(&inner, rejected);
        }
        if (message != NULL && message[0])
            pb_string(&inner, 2, message);
        pb_varint(o, 1u << 3 | 2); /* ExportProfilesServiceResponse.partial_success */
        pb_varint(o, inner.len);
        p2m_out_append(o, inner.data, inner.len);
        if (inner.failed)
            o->failed = 1;
        p2m_out_free(&inner);
    }
}

void p2m_srv_status_body(p2m_outbuf *o, int json, int grpc_code, const char *message)
{
    if (json) {
        p2m_out_printf(o, "{\"code\":%d,\"message\":", grpc_code);
        json_escape_into(o, message);
        p2m_out_str(o, "}");
        return;
    }
    pb_varint(o, 1u << 3); /* google.rpc.Status.code */
    pb_varint(o, (uint64_t)(uint32_t)grpc_code);
    pb_string(o, 2, message);
}

int p2m_srv_gzip(const unsigned char *data, size_t len, p2m_outbuf *o)
{
#ifdef P2M_HAVE_ZLIB
    z_stream z;
    int zr;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    do {
        unsigned char *dst = p2m_out_reserve(o, 65536);
        if (dst == NULL) {
            deflateEnd(&z);
            return -1;
        }
        z.next_out = dst;
        z.avail_out = 65536;
        zr = deflate(&z, Z_FINISH);
        o->len += 65536 - z.avail_out;
    } while (zr == Z_OK || zr == Z_BUF_ERROR);
    deflateEnd(&z);
    return zr == Z_STREAM_END ? 0 : -1;
#else
    (void)data;
    (void)len;
    (void)o;
    return -1;
#endif
}

/* ---- the core ------------------------------------------------------------- */

#define N_BUCKETS 14
static const double bucket_le[N_BUCKETS - 1] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                0.01,   0.025,   0.05,   0.1,   0.25,   0.5, 1};
#define MAX_CODES 48

typedef struct code_count {
    const char *protocol;
    int code;
    uint64_t n;
} code_count;

/* One loaded configuration: the file, the engine and (cumulative) state. */
typedef struct generation {
    p2m_cfgfile file;
    void *engine_mem;
    const p2m_engine *engine;
    void *state_mem;
    p2m_state *state;
    unsigned char *config_bytes; /* the file as read, to tell an unchanged reload */
    size_t config_len;
} generation;

struct p2m_srv {
    pthread_mutex_t lock;       /* everything below */
    generation *gen;
    const char *config_path, *connector;
    p2m_prom *prom;
    unsigned char *work;
    size_t work_cap;
    p2m_exporter *exporter;
    int accepting;              /* requests are converted (until the drain ends) */
    int draining;               /* SIGTERM came: /readyz says no, listeners close */
    /* counters */
    code_count codes[MAX_CODES];
    size_t n_codes;
    uint64_t bytes_http, bytes_grpc;
    uint64_t samples, rejected, requests_converted;
    uint64_t hist[N_BUCKETS];
    double hist_sum;
    uint64_t reload_ok, reload_failed;
    /* read-only after start */
    char *token;
    size_t token_len;
    size_t max_body, max_inflate;
    unsigned request_timeout, idle_timeout;
    unsigned retry_after;
};

size_t p2m_srv_max_body(p2m_srv *s) { return s->max_body; }
unsigned p2m_srv_request_timeout(p2m_srv *s) { return s->request_timeout; }
unsigned p2m_srv_idle_timeout(p2m_srv *s) { return s->idle_timeout; }

int p2m_srv_accepting(p2m_srv *s)
{
    int a;
    pthread_mutex_lock(&s->lock);
    a = s->accepting && !s->draining;
    pthread_mutex_unlock(&s->lock);
    return a;
}

int p2m_srv_queue_room(p2m_srv *s)
{
    return s->exporter == NULL ||
           p2m_exporter_depth(s->exporter) < p2m_exporter_cap(s->exporter);
}

int p2m_srv_authorized(p2m_srv *s, const char *header)
{
    size_t i, n;
    unsigned char diff = 0;
    if (s->token == NULL)
        return 1;
    if (header == NULL || strncmp(header, "Bearer ", 7) != 0)
        return 0;
    header += 7;
    n = strlen(header);
    if (n != s->token_len)
        return 0;
    for (i = 0; i < n; i++)
        diff |= (unsigned char)(header[i] ^ s->token[i]);
    return diff == 0;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_unix_nano(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void p2m_srv_count(p2m_srv *s, const char *protocol, int code, size_t wire_bytes)
{
    size_t i;
    pthread_mutex_lock(&s->lock);
    if (strcmp(protocol, "grpc") == 0)
        s->bytes_grpc += wire_bytes;
    else
        s->bytes_http += wire_bytes;
    for (i = 0; i < s->n_codes; i++)
        if (s->codes[i].code == code && strcmp(s->codes[i].protocol, protocol) == 0)
            break;
    if (i == s->n_codes && i < MAX_CODES) {
        s->codes[i].protocol = strcmp(protocol, "grpc") == 0 ? "grpc" : "http";
        s->codes[i].code = code;
        s->codes[i].n = 0;
        s->n_codes++;
    }
    if (i < MAX_CODES)
        s->codes[i].n++;
    pthread_mutex_unlock(&s->lock);
}

static int grow_work(p2m_srv *s, size_t need)
{
    unsigned char *w;
    if (need <= s->work_cap)
        return 0;
    w = (unsigned char *)realloc(s->work, need);
    if (w == NULL)
        return -1;
    s->work = w;
    s->work_cap = need;
    return 0;
}

static void set_reply(srv_reply *r, srv_outcome o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void set_reply(srv_reply *r, srv_outcome o, const char *fmt, ...)
{
    va_list ap;
    r->outcome = o;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
}

/* Converts pb (protobuf, already plain) under the lock. */
static void convert_locked(p2m_srv *s, const unsigned char *pb, size_t len, srv_reply *r)
{
    generation *g = s->gen;
    p2m_options opt;
    p2m_error err;
    p2m_stats st;
    p2m_status rc;
    const p2m_result *res = NULL;
    size_t need = 0;
    int attempt;
    double t0 = mono_now(), dt;
    size_t b;

    if (s->exporter != NULL && p2m_exporter_depth(s->exporter) >= p2m_exporter_cap(s->exporter)) {
        r->retry_after = s->retry_after;
        set_reply(r, SRV_BUSY, "the export queue is full (%lu requests waiting to be sent to %s); "
                  "retry later", (unsigned long)p2m_exporter_cap(s->exporter),
                  p2m_exporter_endpoint(s->exporter));
        return;
    }
    memset(&opt, 0, sizeof opt);
    memset(&err, 0, sizeof err);
    memset(&st, 0, sizeof st);
    opt.now_unix_nano = now_unix_nano();
    opt.state = g->state;
    rc = p2m_work_size(g->engine, pb, len, &need, &err);
    if (rc == P2M_OK && grow_work(s, need) != 0) {
        set_reply(r, SRV_INTERNAL, "out of memory (%lu bytes of working memory)",
                  (unsigned long)need);
        return;
    }
    for (attempt = 0; rc == P2M_OK && attempt < 3; attempt++) {
        memset(&err, 0, sizeof err);
        rc = p2m_aggregate(g->engine, pb, len, &opt, s->work, s->work_cap, &res, &st, &err);
        if (rc != P2M_ERR_MEMORY || err.needed <= s->work_cap)
            break;
        if (grow_work(s, err.needed) != 0) {
            set_reply(r, SRV_INTERNAL, "out of memory (%lu bytes of working memory)",
                      (unsigned long)err.needed);
            return;
        }
        rc = P2M_OK;
    }
    if (rc == P2M_ERR_MALFORMED || rc == P2M_ERR_INVALID_REFERENCE) {
        set_reply(r, SRV_MALFORMED, "%s at byte %lu: %s",
                  rc == P2M_ERR_MALFORMED ? "malformed input" : "invalid reference",
                  (unsigned long)err.offset, err.message);
        return;
    }
    if (rc != P2M_OK) {
        set_reply(r, SRV_INTERNAL, "%s: %s", p2m_status_string(rc), err.message);
        return;
    }
    if (s->exporter != NULL && p2m_result_resource_count(res) > 0) {
        size_t n = 0;
        unsigned char *payload;
        memset(&err, 0, sizeof err);
        p2m_encode_otlp(res, NULL, 0, &n, &err);
        payload = (unsigned char *)malloc(err.needed ? err.needed : 1);
        if (payload == NULL ||
            p2m_encode_otlp(res, payload, err.needed, &n, &err) != P2M_OK ||
            p2m_exporter_push(s->exporter, payload, n) != 0) {
            free(payload);
            set_reply(r, SRV_INTERNAL, "cannot queue the metrics for export (out of memory)");
            return;
        }
    }
    {
        char why[200];
        if (p2m_prom_add(s->prom, res, why, sizeof why) != 0) {
            /* the export already has the request: /metrics lacks it; say so */
            p2m_srv_log("error", "prometheus_state", ",\"reason\":\"%s\"", why);
        }
    }
    r->samples = st.samples;
    r->rejected = st.invalid_references;
    s->samples += st.samples;
    s->rejected += st.invalid_references;
    s->requests_converted++;
    dt = mono_now() - t0;
    for (b = 0; b < N_BUCKETS - 1 && dt > bucket_le[b]; b++)
        ;
    s->hist[b]++;
    s->hist_sum += dt;
    r->outcome = SRV_OK;
    if (st.invalid_references > 0)
        snprintf(r->message, sizeof r->message,
                 "%llu of %llu samples rejected: invalid references (an index past the end of "
                 "a table of the request); the other samples were converted",
                 (unsigned long long)st.invalid_references, (unsigned long long)st.samples);
}

void p2m_srv_ingest(p2m_srv *s, const unsigned char *body, size_t len, const char *encoding,
                    int json, srv_reply *r)
{
    unsigned char *plain = NULL;
    p2m_outbuf pb = {NULL, 0, 0, 0};
    memset(r, 0, sizeof *r);
    if (encoding != NULL) {
        size_t plain_len = 0;
        int too_big = 0;
        char why[200];
        if (!p2m_input_can_decompress(encoding)) {
            set_reply(r, SRV_UNSUPPORTED, "this p2m was built without %s support; send the "
                      "body uncompressed", encoding);
            return;
        }
        if (p2m_input_decompress(encoding, body, len, s->max_inflate, &plain, &plain_len,
                                 &too_big, why, sizeof why) != 0) {
            if (too_big)
                set_reply(r, SRV_TOO_BIG, "%s body refused: %s (--max-decompressed %lu)",
                          encoding, why, (unsigned long)s->max_inflate);
            else
                set_reply(r, SRV_MALFORMED, "%s body: %s", encoding, why);
            return;
        }
        body = plain;
        len = plain_len;
    }
    if (json) {
        size_t off = 0;
        char why[200];
        p2m_layout layout;
        pthread_mutex_lock(&s->lock);
        layout = s->gen->file.config.layout;
        pthread_mutex_unlock(&s->lock);
        if (p2m_jsonin_transcode((const char *)body, len, layout, &pb, &off, why, sizeof why) !=
            0) {
            if (pb.failed)
                set_reply(r, SRV_INTERNAL, "out of memory transcoding the JSON body");
            else
                set_reply(r, SRV_MALFORMED, "malformed JSON at byte %lu%s: %s",
                          (unsigned long)off, encoding ? " (after decompression)" : "", why);
            free(plain);
            p2m_out_free(&pb);
            return;
        }
        body = pb.data ? pb.data : (const unsigned char *)"";
        len = pb.len;
    }
    pthread_mutex_lock(&s->lock);
    if (!s->accepting)
        set_reply(r, SRV_UNAVAILABLE, "the server is shutting down; send to another instance");
    else
        convert_locked(s, body, len, r);
    pthread_mutex_unlock(&s->lock);
    free(plain);
    p2m_out_free(&pb);
}

static void metric_head(p2m_outbuf *o, const char *name, const char *type, const char *help)
{
    p2m_out_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int p2m_srv_metrics(p2m_srv *s, p2m_outbuf *o)
{
    size_t i;
    uint64_t cum = 0, sent = 0, failed = 0, retries = 0;
    pthread_mutex_lock(&s->lock);
    p2m_prom_write(s->prom, o);
    metric_head(o, "p2m_serve_requests_total", "counter",
                "Requests answered, by protocol and status (HTTP code or gRPC status)");
    for (i = 0; i < s->n_codes; i++)
        p2m_out_printf(o, "p2m_serve_requests_total{protocol=\"%s\",code=\"%d\"} %llu\n",
                       s->codes[i].protocol, s->codes[i].code,
                       (unsigned long long)s->codes[i].n);
    metric_head(o, "p2m_serve_received_bytes_total", "counter",
                "Request body bytes received as sent (before decompression)");
    p2m_out_printf(o, "p2m_serve_received_bytes_total{protocol=\"http\"} %llu\n",
                   (unsigned long long)s->bytes_http);
    p2m_out_printf(o, "p2m_serve_received_bytes_total{protocol=\"grpc\"} %llu\n",
                   (unsigned long long)s->bytes_grpc);
    metric_head(o, "p2m_serve_samples_total", "counter", "Samples in the converted requests");
    p2m_out_printf(o, "p2m_serve_samples_total %llu\n", (unsigned long long)s->samples);
    metric_head(o, "p2m_serve_samples_rejected_total", "counter",
                "Samples skipped for invalid references (reported as partial success)");
    p2m_out_printf(o, "p2m_serve_samples_rejected_total %llu\n",
                   (unsigned long long)s->rejected);
    if (s->exporter != NULL)
        p2m_exporter_counts(s->exporter, &sent, &failed, &retries);
    metric_head(o, "p2m_serve_exports_total", "counter", "Metric batches the exporter delivered");
    p2m_out_printf(o, "p2m_serve_exports_total %llu\n", (unsigned long long)sent);
    metric_head(o, "p2m_serve_export_failures_total", "counter",
                "Metric batches the exporter gave up on (refused, or retries exhausted)");
    p2m_out_printf(o, "p2m_serve_export_failures_total %llu\n", (unsigned long long)failed);
    metric_head(o, "p2m_serve_export_retries_total", "counter", "Export attempts retried");
    p2m_out_printf(o, "p2m_serve_export_retries_total %llu\n", (unsigned long long)retries);
    metric_head(o, "p2m_serve_export_queue_depth", "gauge", "Metric batches waiting to be sent");
    p2m_out_printf(o, "p2m_serve_export_queue_depth %lu\n",
                   (unsigned long)(s->exporter ? p2m_exporter_depth(s->exporter) : 0));
    metric_head(o, "p2m_serve_export_queue_capacity", "gauge", "Size of the export queue");
    p2m_out_printf(o, "p2m_serve_export_queue_capacity %lu\n",
                   (unsigned long)(s->exporter ? p2m_exporter_cap(s->exporter) : 0));
    metric_head(o, "p2m_serve_reloads_total", "counter", "SIGHUP reloads, by result");
    p2m_out_printf(o, "p2m_serve_reloads_total{result=\"ok\"} %llu\n",
                   (unsigned long long)s->reload_ok);
    p2m_out_printf(o, "p2m_serve_reloads_total{result=\"refused\"} %llu\n",
                   (unsigned long long)s->reload_failed);
    metric_head(o, "p2m_serve_conversion_seconds", "histogram",
                "Time to convert one request into the state (under the state lock)");
    for (i = 0; i < N_BUCKETS; i++) {
        cum += s->hist[i];
        if (i < N_BUCKETS - 1)
            p2m_out_printf(o, "p2m_serve_conversion_seconds_bucket{le=\"%g\"} %llu\n",
                           bucket_le[i], (unsigned long long)cum);
        else
            p2m_out_printf(o, "p2m_serve_conversion_seconds_bucket{le=\"+Inf\"} %llu\n",
                           (unsigned long long)cum);
    }
    p2m_out_printf(o, "p2m_serve_conversion_seconds_sum %.9g\n", s->hist_sum);
    p2m_out_printf(o, "p2m_serve_conversion_seconds_count %llu\n", (unsigned long long)cum);
    pthread_mutex_unlock(&s->lock);
    return o->failed ? -1 : 0;
}

/* ---- configuration -------------------------------------------------------- */

static void gen_free(generation *g)
{
    if (g == NULL)
        return;
    free(g->state_mem);
    free(g->engine_mem);
    p2m_cfgfile_free(&g->file);
    free(g->config_bytes);
    free(g);
}

static unsigned char *slurp(const char *path, size_t *len, size_t limit)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    if (f == NULL)
        return NULL;
    for (;;) {
        size_t got;
        if (n == cap) {
            unsigned char *b;
            if (cap >= limit)
                break;
            cap = cap ? cap * 2 : 4096;
            b = (unsigned char *)realloc(buf, cap + 1);
            if (b == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f) || n > limit) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    if (buf == NULL && (buf = (unsigned char *)malloc(1)) == NULL)
        return NULL;
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Loads and compiles a configuration (path NULL: the defaults). NULL with
   the reason in msg on failure. */
static generation *gen_load(const char *path, const char *connector, char *msg, size_t cap)
{
    generation *g = (generation *)calloc(1, sizeof *g);
    p2m_error err;
    p2m_status st = P2M_ERR_MEMORY;
    size_t size = 0, ssize;
    int attempt;
    if (g == NULL) {
        snprintf(msg, cap, "out of memory");
        return NULL;
    }
    p2m_config_init(&g->file.config);
    if (path == NULL && connector != NULL) {
        snprintf(msg, cap, "--connector %s needs a configuration file (-c FILE)", connector);
        goto fail;
    }
    if (path != NULL) {
        g->config_bytes = slurp(path, &g->config_len, 16u << 20);
        if (g->config_bytes == NULL) {
            snprintf(msg, cap, "cannot read %s: %s", path, errno ? strerror(errno) : "too large");
            goto fail;
        }
        if (p2m_cfgfile_load_named(path, connector, &g->file, msg, cap) != 0)
            goto fail;
    }
    for (attempt = 0; attempt < 3; attempt++) {
        memset(&err, 0, sizeof err);
        st = p2m_engine_compile(&g->file.config, g->engine_mem, size, &g->engine, &err);
        if (st == P2M_OK || st != P2M_ERR_MEMORY || err.needed <= size)
            break;
        free(g->engine_mem);
        size = err.needed;
        if ((g->engine_mem = malloc(size)) == NULL) {
            snprintf(msg, cap, "out of memory (%lu bytes for the configuration)",
                     (unsigned long)size);
            goto fail;
        }
    }
    if (st != P2M_OK) {
        p2m_cfgfile_error(&g->file, err.field, err.message[0] ? err.message : p2m_status_string(st),
                          msg, cap);
        goto fail;
    }
    ssize = p2m_state_size(g->engine);
    if (ssize > 0) {
        memset(&err, 0, sizeof err);
        g->state_mem = malloc(ssize);
        if (g->state_mem == NULL ||
            p2m_state_init(g->engine, g->state_mem, ssize, &g->state, &err) != P2M_OK) {
            snprintf(msg, cap, "cumulative state: %s",
                     g->state_mem ? err.message : "out of memory");
            goto fail;
        }
    }
    return g;
fail:
    gen_free(g);
    return NULL;
}

/* SIGHUP: a new configuration replaces the old one only when it loads and
   compiles. The Prometheus totals are kept whatever changes. The engine's
   cumulative state is kept: an unchanged file keeps everything, a changed
   one that emits the same metrics takes the state over (p2m_state_rebind);
   one with other metrics or state sizes starts a new state (new start
   times), and the log says which. */
static void reload(p2m_srv *s)
{
    char msg[512], js[600];
    int kept;
    generation *g = gen_load(s->config_path, s->connector, msg, sizeof msg);
    generation *old;
    if (g == NULL) {
        pthread_mutex_lock(&s->lock);
        s->reload_failed++;
        pthread_mutex_unlock(&s->lock);
        {
            const char *path = s->config_path ? s->config_path : "(defaults)";
            char jr[1200];
            p2m_srv_log("error", "reload_refused",
                        ",\"config\":%s,\"reason\":%s,\"action\":\"kept the configuration "
                        "in use\"",
                        p2m_srv_json_str(path, strlen(path), js, sizeof js),
                        p2m_srv_json_str(msg, strlen(msg), jr, sizeof jr));
        }
        return;
    }
    pthread_mutex_lock(&s->lock);
    old = s->gen;
    if (old->config_len == g->config_len &&
        (g->config_len == 0 || memcmp(old->config_bytes, g->config_bytes, g->config_len) == 0)) {
        s->reload_ok++;
        pthread_mutex_unlock(&s->lock);
        gen_free(g);
        p2m_srv_log("info", "reload", ",\"changed\":false");
        return;
    }
    kept = 0;
    if (g->state != NULL && old->state != NULL) {
        /* the running totals move to the new engine when it emits the same
           metrics and sizes the state alike; else a new state starts */
        p2m_error err;
        if (p2m_state_rebind(g->engine, old->state, &err) == P2M_OK) {
            void *mem = g->state_mem;
            p2m_state *fresh = g->state;
            g->state_mem = old->state_mem;
            g->state = old->state;
            old->state_mem = mem;
            old->state = fresh;
            kept = 1;
        }
    }
    s->gen = g;
    s->reload_ok++;
    pthread_mutex_unlock(&s->lock);
    p2m_srv_log("info", "reload", ",\"changed\":true,\"cumulative_state\":\"%s\"",
                g->state == NULL ? "none (delta temporality)" : kept ? "kept" : "restarted");
    gen_free(old);
}

/* ---- listening sockets ---------------------------------------------------- */

/* Parses HOST:PORT (HOST may be [v6]) and binds a listening socket. Loopback
   unless open. Returns the fd, or -1 with why. *bound: the address as bound
   (with the real port when 0 was asked). */
static int listen_on(const char *spec, int open, char *bound, size_t bound_cap, char *why,
                     size_t why_cap)
{
    char host[256];
    const char *colon, *port;
    struct addrinfo hints, *ai = NULL, *p;
    int fd = -1, rc, one = 1;
    size_t hl;
    if (spec[0] == '[') {
        const char *end = strchr(spec, ']');
        if (end == NULL || end[1] != ':') {
            snprintf(why, why_cap, "'%s' is not HOST:PORT", spec);
            return -1;
        }
        hl = (size_t)(end - spec - 1);
        if (hl >= sizeof host)
            hl = sizeof host - 1;
        memcpy(host, spec + 1, hl);
        host[hl] = '\0';
        port = end + 2;
    } else {
        colon = strrchr(spec, ':');
        if (colon == NULL) {
            snprintf(why, why_cap, "'%s' is not HOST:PORT", spec);
            return -1;
        }
        hl = (size_t)(colon - spec);
        if (hl >= sizeof host)
            hl = sizeof host - 1;
        memcpy(host, spec, hl);
        host[hl] = '\0';
        port = colon + 1;
    }
    {
        /* getaddrinfo takes 99999 and wraps it round */
        char *end;
        unsigned long pn;
        errno = 0;
        pn = strtoul(port, &end, 10);
        if (*port < '0' || *port > '9' || *end != '\0' || errno || pn > 65535) {
            snprintf(why, why_cap, "'%s': the port must be a number from 0 to 65535", spec);
            return -1;
        }
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (rc != 0) {
        snprintf(why, why_cap, "'%s': %s", spec, gai_strerror(rc));
        return -1;
    }
    for (p = ai; p != NULL; p = p->ai_next) {
        int loop = 0;
        if (p->ai_family == AF_INET) {
            const struct sockaddr_in *a4 = (const struct sockaddr_in *)(void *)p->ai_addr;
            loop = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
        }
        else if (p->ai_family == AF_INET6)
            loop = IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)(void *)p->ai_addr)->sin6_addr);
        if (!loop && !open) {
            snprintf(why, why_cap, "'%s' is not a loopback address: give --listen to accept "
                     "connections from other hosts", spec);
            freeaddrinfo(ai);
            return -1;
        }
        fd = socket(p->ai_family, p->ai_socktype, p->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, p->ai_addr, p->ai_addrlen) == 0 && listen(fd, 128) == 0)
            break;
        snprintf(why, why_cap, "cannot listen on %s: %s", spec, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0) {
        if (p == NULL && why[0] == '\0')
            snprintf(why, why_cap, "cannot listen on %s", spec);
        return -1;
    }
    {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char h[INET6_ADDRSTRLEN] = "?";
        unsigned pt = 0;
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
            if (ss.ss_family == AF_INET) {
                struct sockaddr_in *a = (struct sockaddr_in *)(void *)&ss;
                inet_ntop(AF_INET, &a->sin_addr, h, sizeof h);
                pt = ntohs(a->sin_port);
                snprintf(bound, bound_cap, "%s:%u", h, pt);
            } else {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *)(void *)&ss;
                inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof h);
                pt = ntohs(a->sin6_port);
                snprintf(bound, bound_cap, "[%s]:%u", h, pt);
            }
        }
    }
    return fd;
}

/* ---- the command ------------------------------------------------------------ */

static int parse_uint(const char *v, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long x;
    if (*v < '0' || *v > '9')
        return -1;
    errno = 0;
    x = strtoul(v, &end, 10);
    if (errno || *end != '\0' || x == 0 || x > max)
        return -1;
    *out = x;
    return 0;
}

/* A PEM (or token) file: read whole, NUL-terminated. */
static char *read_text(const char *path, const char *what, char *why, size_t why_cap)
{
    size_t n = 0;
    unsigned char *b;
    errno = 0;
    b = slurp(path, &n, 1u << 20);
    if (b == NULL) {
        snprintf(why, why_cap, "cannot read the %s %s: %s", what, path,
                 errno ? strerror(errno) : "larger than 1 MiB");
        return NULL;
    }
    return (char *)b;
}

int p2m_cmd_serve(int argc, char **argv)
{
    const char *config = NULL, *connector = NULL, *v = NULL;
    const char *http_spec = NULL, *grpc_spec = NULL, *exporter_mode = NULL;
    const char *token_file = NULL, *cert_file = NULL, *key_file = NULL;
    int i, missing = 0, open = 0, rc = 0;
    unsigned long queue = 256, max_conns = 256, idle = 30, req_timeout = 60, shut = 30;
    size_t max_body = (size_t)64 << 20, max_inflate = (size_t)64 << 20;
    char msg[600], bound[300], http_bound[300], js[700];
    char *cert = NULL, *key = NULL;
    p2m_srv *s;
    p2m_http *http = NULL;
    p2m_grpc *grpc = NULL;
    int http_fd = -1, grpc_fd = -1;
    sigset_t sigs;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        unsigned long *num = NULL, max = 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            const char *const *l;
            for (l = serve_help; *l != NULL; l++)
                puts(*l);
            return 0;
        } else if (strcmp(a, "--listen") == 0) {
            open = 1;
        } else if (p2m_take_opt(argc, argv, &i, "-c", "--config", &v, &missing)) {
            config = v;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--connector", &v, &missing)) {
            connector = v;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--http", &v, &missing)) {
            http_spec = v;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--grpc", &v, &missing)) {
            grpc_spec = v;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--exporter", &v, &missing)) {
            if (!missing && strcmp(v, "otlp") != 0 && strcmp(v, "none") != 0)
                return p2m_usage_error("serve", "--exporter takes otlp or none, not '%s'", v);
            exporter_mode = v;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--auth-token-file", &v, &missing)) {
            token_file = v;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--tls-cert", &v, &missing)) {
            cert_file = v;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--tls-key", &v, &missing)) {
            key_file = v;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--max-body", &v, &missing)) {
            if (!missing && p2m_parse_size(v, (size_t)-1 / 4, &max_body) != 0)
                return p2m_usage_error("serve", "--max-body takes a size in bytes with an "
                                       "optional K, M or G (64M), not '%s'", v);
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--max-decompressed", &v, &missing)) {
            if (!missing && p2m_parse_size(v, (size_t)-1 / 4, &max_inflate) != 0)
                return p2m_usage_error("serve", "--max-decompressed takes a size in bytes with "
                                       "an optional K, M or G (64M), not '%s'", v);
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--queue", &v, &missing)) {
            num = &queue, max = 1000000;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--max-connections", &v, &missing)) {
            num = &max_conns, max = 100000;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--idle-timeout", &v, &missing)) {
            num = &idle, max = 86400;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--request-timeout", &v, &missing)) {
            num = &req_timeout, max = 86400;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--shutdown-timeout", &v, &missing)) {
            num = &shut, max = 86400;
        } else if (a[0] == '-') {
            return p2m_usage_error("serve", "unknown option '%s'", a);
        } else {
            return p2m_usage_error("serve", "unexpected argument '%s'", a);
        }
        if (missing)
            return p2m_usage_error("serve", "option '%s' needs a value", a);
        if (num != NULL && parse_uint(v, max, num) != 0)
            return p2m_usage_error("serve", "%s takes a whole number from 1 to %lu, not '%s'", a,
                                   max, v);
    }
    if ((cert_file == NULL) != (key_file == NULL))
        return p2m_usage_error("serve", "%s", "--tls-cert and --tls-key go together");
    if (http_spec == NULL)
        http_spec = open ? "0.0.0.0:4318" : "127.0.0.1:4318";
    if (grpc_spec == NULL)
        grpc_spec = open ? "0.0.0.0:4317" : "127.0.0.1:4317";
    if (strcmp(http_spec, "off") == 0 && strcmp(grpc_spec, "off") == 0)
        return p2m_usage_error("serve", "%s", "--http off and --grpc off leave nothing to serve");

    s = (p2m_srv *)calloc(1, sizeof *s);
    if (s == NULL) {
        fputs("p2m: out of memory\n", stderr);
        return EXIT_USAGE;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->config_path = config;
    s->connector = connector;
    s->max_body = max_body;
    s->max_inflate = max_inflate;
    s->request_timeout = (unsigned)req_timeout;
    s->idle_timeout = (unsigned)idle;
    s->retry_after = 1;
    s->accepting = 1;
    s->gen = gen_load(config, connector, msg, sizeof msg);
    if (s->gen == NULL) {
        fprintf(stderr, "p2m: config: %s\n", msg);
        rc = EXIT_USAGE;
        goto done;
    }
    if ((s->prom = p2m_prom_new(NULL)) == NULL) {
        fputs("p2m: out of memory\n", stderr);
        rc = EXIT_USAGE;
        goto done;
    }
    if (token_file != NULL) {
        char *t = read_text(token_file, "token file", msg, sizeof msg);
        size_t n;
        if (t == NULL) {
            fprintf(stderr, "p2m: serve: %s\n", msg);
            rc = EXIT_USAGE;
            goto done;
        }
        n = strlen(t);
        while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' '))
            t[--n] = '\0';
        if (n == 0) {
            fprintf(stderr, "p2m: serve: the token file %s is empty: put the bearer token "
                    "in it\n", token_file);
            free(t);
            rc = EXIT_USAGE;
            goto done;
        }
        s->token = t;
        s->token_len = n;
    }
    if (cert_file != NULL) {
        cert = read_text(cert_file, "TLS certificate", msg, sizeof msg);
        key = cert ? read_text(key_file, "TLS key", msg, sizeof msg) : NULL;
        if (key == NULL) {
            fprintf(stderr, "p2m: serve: %s\n", msg);
            rc = EXIT_USAGE;
            goto done;
        }
#ifdef P2M_HAVE_GNUTLS
        {
            /* the receivers' libraries would only say they cannot start */
            gnutls_certificate_credentials_t cred;
            gnutls_datum_t c, k;
            int r;
            c.data = (unsigned char *)cert;
            c.size = (unsigned)strlen(cert);
            k.data = (unsigned char *)key;
            k.size = (unsigned)strlen(key);
            gnutls_certificate_allocate_credentials(&cred);
            r = gnutls_certificate_set_x509_key_mem(cred, &c, &k, GNUTLS_X509_FMT_PEM);
            gnutls_certificate_free_credentials(cred);
            if (r < 0) {
                fprintf(stderr, "p2m: serve: --tls-cert %s, --tls-key %s: %s\n", cert_file,
                        key_file, gnutls_strerror(r));
                rc = EXIT_USAGE;
                goto done;
            }
        }
#endif
    }
    {
        int want = exporter_mode ? strcmp(exporter_mode, "otlp") == 0
                                 : (getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") != NULL ||
                                    getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != NULL);
        if (want) {
            s->exporter = p2m_exporter_new(queue, msg, sizeof msg);
            if (s->exporter == NULL) {
                fprintf(stderr, "p2m: serve: exporter: %s\n", msg);
                rc = EXIT_USAGE;
                goto done;
            }
        }
    }

    /* signals: the main thread takes them with sigwait; every thread made
       from here on inherits the mask. Blocked signals stay pending even for
       process 1 of a container, so SIGTERM drains there too. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    /* both addresses are bound before either receiver starts, so a bad
       one stops the command before anything listens */
    msg[0] = '\0';
    if (strcmp(http_spec, "off") != 0) {
        http_fd = listen_on(http_spec, open, http_bound, sizeof http_bound, msg, sizeof msg);
        if (http_fd < 0) {
            fprintf(stderr, "p2m: serve: --http: %s\n", msg);
            rc = EXIT_USAGE;
            goto done;
        }
    }
    if (strcmp(grpc_spec, "off") != 0 && p2m_grpc_supported()) {
        grpc_fd = listen_on(grpc_spec, open, bound, sizeof bound, msg, sizeof msg);
        if (grpc_fd < 0) {
            fprintf(stderr, "p2m: serve: --grpc: %s\n", msg);
            if (http_fd >= 0)
                close(http_fd);
            rc = EXIT_USAGE;
            goto done;
        }
    }
    if (http_fd >= 0) {
        http = p2m_http_start(s, http_fd, cert, key, (unsigned)max_conns, (unsigned)idle, msg,
                              sizeof msg);
        if (http == NULL) {
            fprintf(stderr, "p2m: serve: HTTP receiver: %s\n", msg);
            close(http_fd);
            if (grpc_fd >= 0)
                close(grpc_fd);
            rc = EXIT_USAGE;
            goto done;
        }
        p2m_srv_log("info", "listening", ",\"protocol\":\"http\",\"address\":\"%s\",\"tls\":%s",
                    http_bound, cert ? "true" : "false");
    }
    if (strcmp(grpc_spec, "off") != 0 && !p2m_grpc_supported())
        p2m_srv_log("warn", "grpc_disabled",
                    ",\"reason\":\"built without libnghttp2 (libnghttp2-dev)\"");
    if (grpc_fd >= 0) {
        grpc = p2m_grpc_start(s, grpc_fd, cert, key, (unsigned)max_conns, msg, sizeof msg);
        if (grpc == NULL) {
            fprintf(stderr, "p2m: serve: gRPC receiver: %s\n", msg);
            close(grpc_fd);
            rc = EXIT_USAGE;
            goto stop;
        }
        p2m_srv_log("info", "listening", ",\"protocol\":\"grpc\",\"address\":\"%s\",\"tls\":%s",
                    bound, cert ? "true" : "false");
    }
    if (s->exporter != NULL) {
        if (p2m_exporter_start(s->exporter) != 0) {
            fprintf(stderr, "p2m: serve: cannot start the exporter thread\n");
            rc = EXIT_USAGE;
            goto stop;
        }
        p2m_srv_log("info", "exporter", ",\"endpoint\":%s,\"queue\":%lu",
                    p2m_srv_json_str(p2m_exporter_endpoint(s->exporter),
                                     strlen(p2m_exporter_endpoint(s->exporter)), js, sizeof js),
                    queue);
    }
    p2m_srv_log("info", "ready", ",\"config\":%s,\"version\":\"%s\"",
                p2m_srv_json_str(config ? config : "(defaults)",
                                 strlen(config ? config : "(defaults)"), js, sizeof js),
                p2m_version());

    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            p2m_srv_log("info", "signal", ",\"signal\":\"SIGHUP\"");
            reload(s);
            continue;
        }
        p2m_srv_log("info", "signal", ",\"signal\":\"%s\"", sig == SIGINT ? "SIGINT" : "SIGTERM");
        break;
    }

stop:
    {
        double t0 = mono_now(), left;
        size_t unsent = 0;
        /* first the listeners close and the requests already begun are
           converted; then nothing more is, and the export queue drains */
        pthread_mutex_lock(&s->lock);
        s->draining = 1;
        pthread_mutex_unlock(&s->lock);
        if (http != NULL)
            p2m_http_stop(http, (double)shut);
        if (grpc != NULL)
            p2m_grpc_stop(grpc, (double)shut - (mono_now() - t0));
        pthread_mutex_lock(&s->lock);
        s->accepting = 0;
        pthread_mutex_unlock(&s->lock);
        left = (double)shut - (mono_now() - t0);
        if (s->exporter != NULL) {
            unsent = p2m_exporter_drain(s->exporter, left > 0 ? left : 0);
            if (unsent > 0) {
                p2m_srv_log("error", "drain_incomplete",
                            ",\"unsent_batches\":%lu,\"reason\":\"--shutdown-timeout %lu s "
                            "passed before the export queue emptied\"",
                            (unsigned long)unsent, shut);
            }
        }
        if (rc == 0)
            p2m_srv_log("info", "stopped", ",\"seconds\":%.3f", mono_now() - t0);
    }
done:
    if (s->exporter != NULL)
        p2m_exporter_free(s->exporter);
    p2m_prom_free(s->prom);
    gen_free(s->gen);
    free(s->work);
    free(s->token);
    free(cert);
    free(key);
    pthread_mutex_destroy(&s->lock);
    free(s);
    return rc;
}

#endif /* P2M_HAVE_MHD */
