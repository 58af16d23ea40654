/* SPDX-License-Identifier: MIT
   p2m serve: the OTLP/HTTP receiver and the operational endpoints, on
   libmicrohttpd (its own thread pool; TLS through its GnuTLS support).

     POST /v1development/profiles, /v1/profiles   OTLP/HTTP profiles
     GET  /metrics                                Prometheus text
     GET  /healthz                                200 while the process runs
     GET  /readyz                                 200 when it takes requests

   The checks that need no body (method, path, token, content type,
   encoding, declared length) answer before the body is read; a body that
   grows past the limit without a declared length is read to its end and
   discarded, then answered 413. */
#define _POSIX_C_SOURCE 200809L

#include "p2m_serve.h"

#ifdef P2M_HAVE_MHD

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

struct p2m_http {
    p2m_srv *srv;
    struct MHD_Daemon *d;
    pthread_mutex_t lock;
    unsigned active;        /* requests begun and not completed */
    unsigned conns;         /* connections open */
    unsigned max_conns;     /* --max-connections, for the whole pool */
};

typedef struct req {
    int kind;               /* K_* */
    int json;               /* the body (and so the answer) is JSON */
    const char *encoding;   /* "gzip", "zstd" or NULL */
    int too_big;
    int answered;           /* a response was queued before the body */
    double start;
    p2m_outbuf body;
    size_t wire;            /* bytes received */
    int code;               /* the status answered */
} req;

enum { K_PROFILES, K_METRICS, K_HEALTH, K_READY, K_OTHER };

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static enum MHD_Result send_buf(struct MHD_Connection *c, req *r, unsigned code,
                                const char *ctype, const void *data, size_t len,
                                const char *h1, const char *v1)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)data, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;
    if (resp == NULL)
        return MHD_NO;
    if (ctype != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (h1 != NULL)
        MHD_add_response_header(resp, h1, v1);
    ret = MHD_queue_response(c, code, resp);
    MHD_destroy_response(resp);
    r->code = (int)code;
    return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *c, req *r, unsigned code, const char *text,
                                 const char *h1, const char *v1)
{
    return send_buf(c, r, code, "text/plain; charset=utf-8", text, strlen(text), h1, v1);
}

/* An OTLP error: google.rpc.Status in the request's encoding. */
static enum MHD_Result send_status(struct MHD_Connection *c, req *r, unsigned code, int grpc,
                                   const char *message, const char *h1, const char *v1)
{
    p2m_outbuf o = {NULL, 0, 0, 0};
    enum MHD_Result ret;
    char jm[600];
    p2m_srv_status_body(&o, r->json, grpc, message);
    ret = send_buf(c, r, code, r->json ? "application/json" : "application/x-protobuf",
                   o.data ? o.data : (unsigned char *)"", o.len, h1, v1);
    p2m_out_free(&o);
    p2m_srv_log(code >= 500 ? "error" : "warn", "request_refused",
                ",\"protocol\":\"http\",\"status\":%u,\"reason\":%s", code,
                p2m_srv_json_str(message, strlen(message), jm, sizeof jm));
    return ret;
}

static int media_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    if (ct == NULL)
        return 0;
    while (*ct == ' ')
        ct++;
    return strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static enum MHD_Result first_call(p2m_http *h, struct MHD_Connection *c, req *r,
                                  const char *url, const char *method)
{
    p2m_srv *s = h->srv;
    const char *get = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *ct, *ce, *cl;
    char msg[300];

    if (strcmp(url, "/v1development/profiles") == 0 || strcmp(url, "/v1/profiles") == 0)
        r->kind = K_PROFILES;
    else if (strcmp(url, "/metrics") == 0)
        r->kind = K_METRICS;
    else if (strcmp(url, "/healthz") == 0)
        r->kind = K_HEALTH;
    else if (strcmp(url, "/readyz") == 0)
        r->kind = K_READY;
    else
        r->kind = K_OTHER;

    if (r->kind == K_OTHER) {
        r->answered = 1;
        return send_text(c, r, MHD_HTTP_NOT_FOUND,
                         "not found: OTLP profiles go to POST /v1development/profiles (or "
                         "/v1/profiles); GET /metrics, /healthz, /readyz\n", NULL, NULL);
    }
    if (r->kind != K_PROFILES) {
        int head = strcmp(method, "HEAD") == 0;
        r->answered = 1;
        if (strcmp(method, "GET") != 0 && !head)
            return send_text(c, r, MHD_HTTP_METHOD_NOT_ALLOWED,
                             "method not allowed: use GET\n", MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        if (r->kind == K_HEALTH)
            return send_text(c, r, MHD_HTTP_OK, "ok\n", NULL, NULL);
        if (r->kind == K_READY) {
            if (!p2m_srv_accepting(s))
                return send_text(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down\n", NULL,
                                 NULL);
            if (!p2m_srv_queue_room(s))
                return send_text(c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
                                 "export queue full\n", NULL, NULL);
            return send_text(c, r, MHD_HTTP_OK, "ready\n", NULL, NULL);
        }
        if (!p2m_srv_authorized(s, get))
            return send_text(c, r, MHD_HTTP_UNAUTHORIZED,
                             "unauthorized: send 'Authorization: Bearer TOKEN'\n",
                             MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
        {
            p2m_outbuf o = {NULL, 0, 0, 0};
            enum MHD_Result ret;
            if (p2m_srv_metrics(s, &o) != 0) {
                p2m_out_free(&o);
                return send_text(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL,
                                 NULL);
            }
            ret = send_buf(c, r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                           o.data ? o.data : (unsigned char *)"", o.len, NULL, NULL);
            p2m_out_free(&o);
            return ret;
        }
    }

    /* POST profiles */
    ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    ce = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
    cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    r->json = media_is(ct, "application/json");
    if (strcmp(method, "POST") != 0) {
        r->answered = 1;
        snprintf(msg, sizeof msg, "method %s not allowed on %s: OTLP export is POST", method, url);
        return send_status(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, 12, msg, MHD_HTTP_HEADER_ALLOW,
                           "POST");
    }
    if (!p2m_srv_authorized(s, get)) {
        r->answered = 1;
        return send_status(c, r, MHD_HTTP_UNAUTHORIZED, 16,
                           get ? "unauthorized: the bearer token does not match"
                               : "unauthorized: send 'Authorization: Bearer TOKEN'",
                           MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    }
    if (!r->json && !media_is(ct, "application/x-protobuf")) {
        r->answered = 1;
        snprintf(msg, sizeof msg, "unsupported content type '%.100s': send "
                 "application/x-protobuf or application/json", ct ? ct : "(none)");
        return send_status(c, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, 3, msg, NULL, NULL);
    }
    if (ce != NULL && strcasecmp(ce, "gzip") == 0)
        r->encoding = "gzip";
    else if (ce != NULL && strcasecmp(ce, "zstd") == 0)
        r->encoding = "zstd";
    else if (ce != NULL && strcasecmp(ce, "identity") != 0 && ce[0] != '\0') {
        r->answered = 1;
        snprintf(msg, sizeof msg, "unsupported content encoding '%.100s': send gzip, zstd or "
                 "identity", ce);
        return send_status(c, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, 3, msg, NULL, NULL);
    }
    if (cl != NULL) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (n > p2m_srv_max_body(s)) {
            r->answered = 1;
            snprintf(msg, sizeof msg, "request body of %llu bytes is larger than the limit of "
                     "%lu bytes (--max-body)", n, (unsigned long)p2m_srv_max_body(s));
            return send_status(c, r, MHD_HTTP_CONTENT_TOO_LARGE, 8, msg, NULL, NULL);
        }
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    p2m_http *h = (p2m_http *)cls;
    p2m_srv *s = h->srv;
    req *r = (req *)*con_cls;
    srv_reply rep;
    (void)version;

    if (r == NULL) {
        r = (req *)calloc(1, sizeof *r);
        if (r == NULL)
            return MHD_NO;
        r->start = mono_now();
        *con_cls = r;
        pthread_mutex_lock(&h->lock);
        h->active++;
        pthread_mutex_unlock(&h->lock);
        return first_call(h, c, r, url, method);
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        r->wire += n;
        if (mono_now() - r->start > (double)p2m_srv_request_timeout(s)) {
            p2m_srv_log("warn", "request_timeout",
                        ",\"protocol\":\"http\",\"received\":%lu,\"limit_seconds\":%u",
                        (unsigned long)r->wire, p2m_srv_request_timeout(s));
            r->code = 408;
            return MHD_NO; /* closes the connection */
        }
        if (r->answered || r->too_big)
            return MHD_YES;
        if (r->body.len + n > p2m_srv_max_body(s)) {
            r->too_big = 1;
            p2m_out_free(&r->body);
            return MHD_YES;
        }
        p2m_out_append(&r->body, upload_data, n);
        return MHD_YES;
    }
    if (r->answered)
        return MHD_YES;
    r->answered = 1;
    if (r->too_big) {
        char msg[200];
        snprintf(msg, sizeof msg, "request body larger than the limit of %lu bytes (--max-body)",
                 (unsigned long)p2m_srv_max_body(s));
        return send_status(c, r, MHD_HTTP_CONTENT_TOO_LARGE, 8, msg, NULL, NULL);
    }
    if (r->body.failed)
        return send_status(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, 13,
                           "out of memory reading the request body", NULL, NULL);
    p2m_srv_ingest(s, r->body.data ? r->body.data : (const unsigned char *)"",
                   r->body.len, r->encoding, r->json, &rep);
    p2m_out_free(&r->body);
    switch (rep.outcome) {
    case SRV_OK: {
        p2m_outbuf o = {NULL, 0, 0, 0};
        enum MHD_Result ret;
        p2m_srv_response_body(&o, r->json, 0, rep.rejected ? rep.message : NULL);
        ret = send_buf(c, r, MHD_HTTP_OK, r->json ? "application/json" : "application/x-protobuf",
                       o.data ? o.data : (unsigned char *)"", o.len, NULL, NULL);
        p2m_out_free(&o);
        p2m_srv_log("info", "request",
                    ",\"protocol\":\"http\",\"status\":200,\"bytes\":%lu,\"samples\":%llu,"
                    "\"rejected\":%llu,\"ms\":%.3f",
                    (unsigned long)r->wire, (unsigned long long)rep.samples,
                    (unsigned long long)rep.rejected, (mono_now() - r->start) * 1e3);
        return ret;
    }
    case SRV_MALFORMED:
        return send_status(c, r, MHD_HTTP_BAD_REQUEST, 3, rep.message, NULL, NULL);
    case SRV_TOO_BIG:
        return send_status(c, r, MHD_HTTP_CONTENT_TOO_LARGE, 8, rep.message, NULL, NULL);
    case SRV_BUSY: {
        char ra[16];
        snprintf(ra, sizeof ra, "%u", rep.retry_after ? rep.retry_after : 1);
        return send_status(c, r, MHD_HTTP_TOO_MANY_REQUESTS, 14, rep.message,
                           MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    case SRV_UNAVAILABLE:
        return send_status(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, 14, rep.message,
                           MHD_HTTP_HEADER_RETRY_AFTER, "1");
    case SRV_UNSUPPORTED:
        return send_status(c, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, 12, rep.message, NULL, NULL);
    default:
        return send_status(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, 13, rep.message, NULL, NULL);
    }
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    p2m_http *h = (p2m_http *)cls;
    req *r = (req *)*con_cls;
    (void)c;
    if (r == NULL)
        return;
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && r->code == 0)
        p2m_srv_log("warn", "request_aborted",
                    ",\"protocol\":\"http\",\"received\":%lu,\"reason\":\"%s\"",
                    (unsigned long)r->wire,
                    toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "idle timeout"
                    : toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN ? "shutdown"
                    : toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT ? "client closed the connection"
                    : "connection error");
    if (r->kind == K_PROFILES) /* the OTLP receiver's requests, not scrapes */
        p2m_srv_count(h->srv, "http", r->code ? r->code : 499, r->wire);
    p2m_out_free(&r->body);
    free(r);
    *con_cls = NULL;
    pthread_mutex_lock(&h->lock);
    h->active--;
    pthread_mutex_unlock(&h->lock);
}

/* The connection cap over every thread of the pool (libmicrohttpd's own
   limit is split between its threads). */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    p2m_http *h = (p2m_http *)cls;
    int ok;
    (void)addr;
    (void)len;
    pthread_mutex_lock(&h->lock);
    ok = h->conns < h->max_conns;
    pthread_mutex_unlock(&h->lock);
    if (!ok)
        p2m_srv_log("warn", "connection_refused",
                    ",\"protocol\":\"http\",\"reason\":\"--max-connections %u reached\"",
                    h->max_conns);
    return ok ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    p2m_http *h = (p2m_http *)cls;
    (void)c;
    (void)socket_context;
    pthread_mutex_lock(&h->lock);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        h->conns++;
    else if (h->conns > 0)
        h->conns--;
    pthread_mutex_unlock(&h->lock);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[400], jl[900];
    size_t n;
    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
        line[--n] = '\0';
    p2m_srv_log("warn", "http_library", ",\"message\":%s",
                p2m_srv_json_str(line, n, jl, sizeof jl));
}

p2m_http *p2m_http_start(p2m_srv *s, int fd, const char *cert, const char *key,
                         unsigned max_conns, unsigned idle_timeout, char *why, size_t why_cap)
{
    p2m_http *h = (p2m_http *)calloc(1, sizeof *h);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (h == NULL) {
        snprintf(why, why_cap, "out of memory");
        return NULL;
    }
    h->srv = s;
    h->max_conns = max_conns;
    pthread_mutex_init(&h->lock, NULL);
    if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
        flags |= MHD_USE_EPOLL;
    else
        flags |= MHD_USE_POLL;
    if (cert != NULL) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            snprintf(why, why_cap, "this libmicrohttpd has no TLS support");
            free(h);
            return NULL;
        }
        flags |= MHD_USE_TLS;
        h->d = MHD_start_daemon(flags, 0, on_accept, h, on_request, h,
                                MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                                MHD_OPTION_LISTEN_SOCKET, fd,
                                MHD_OPTION_THREAD_POOL_SIZE, (unsigned)4,
                                MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                                MHD_OPTION_CONNECTION_TIMEOUT, idle_timeout,
                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                                MHD_OPTION_HTTPS_MEM_CERT, cert,
                                MHD_OPTION_HTTPS_MEM_KEY, key,
                                MHD_OPTION_END);
    } else {
        h->d = MHD_start_daemon(flags, 0, on_accept, h, on_request, h,
                                MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                                MHD_OPTION_LISTEN_SOCKET, fd,
                                MHD_OPTION_THREAD_POOL_SIZE, (unsigned)4,
                                MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                                MHD_OPTION_CONNECTION_TIMEOUT, idle_timeout,
                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                                MHD_OPTION_END);
    }
    if (h->d == NULL) {
        snprintf(why, why_cap, "libmicrohttpd would not start%s",
                 cert ? " (is the certificate and key PEM, and do they match?)" : "");
        pthread_mutex_destroy(&h->lock);
        free(h);
        return NULL;
    }
    return h;
}

void p2m_http_stop(p2m_http *h, double deadline_sec)
{
    double t0 = mono_now();
    MHD_socket fd = MHD_quiesce_daemon(h->d); /* no new connections */
    for (;;) {
        unsigned active;
        pthread_mutex_lock(&h->lock);
        active = h->active;
        pthread_mutex_unlock(&h->lock);
        if (active == 0)
            break;
        if (mono_now() - t0 > deadline_sec) {
            p2m_srv_log("warn", "drain_timeout",
                        ",\"protocol\":\"http\",\"requests_cut\":%u", active);
            break;
        }
        {
            struct timespec ts = {0, 20000000L};
            nanosleep(&ts, NULL);
        }
    }
    MHD_stop_daemon(h->d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

#endif /* P2M_HAVE_MHD */
