/* SPDX-License-Identifier: MIT
   p2m serve: the OTLP/gRPC receiver, on libnghttp2 (HTTP/2 framing) with
   the gRPC protocol on top written here: unary calls of
   /opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export,
   length-prefixed messages (gzip-compressed ones when grpc-encoding says
   gzip), grpc-timeout deadlines, and grpc-status / grpc-message trailers.
   TLS (with ALPN h2) through GnuTLS when a certificate is given.

   Four threads each poll the listening socket and the connections they
   accepted; a complete call is converted on its connection's thread
   (p2m_srv_ingest, which serialises the conversions into the state).
   Statuses: OK, INVALID_ARGUMENT (malformed), RESOURCE_EXHAUSTED (too large), UNAVAILABLE
   (queue full, shutting down),
   UNAUTHENTICATED (token), UNIMPLEMENTED (other method or compression),
   DEADLINE_EXCEEDED (the call's deadline passed before it was whole). */
#define _POSIX_C_SOURCE 200809L

#include "p2m_serve.h"

#include <stdio.h>

#if defined(P2M_HAVE_MHD) && defined(P2M_HAVE_NGHTTP2)

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#ifdef P2M_HAVE_GNUTLS
#include <gnutls/gnutls.h>
#endif

#include "p2m_input.h"

#define EXPORT_PATH "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"

enum {
    G_OK = 0, G_DEADLINE_EXCEEDED = 4, G_INVALID_ARGUMENT = 3, G_RESOURCE_EXHAUSTED = 8,
    G_UNIMPLEMENTED = 12, G_INTERNAL = 13, G_UNAVAILABLE = 14, G_UNAUTHENTICATED = 16
};

typedef struct call {
    int32_t id;
    int path_ok, post, grpc_type, gzip, bad_encoding, authorized, too_big;
    double start, deadline;   /* deadline 0: none */
    p2m_outbuf body;
    size_t wire;
    int answered;
    /* the response message (after headers) and its trailers */
    p2m_outbuf msg;
    size_t msg_sent;
    int status;
    char message[400];
    struct call *next;
} call;

typedef struct conn {
    int fd;
    nghttp2_session *h2;
    void *ctx;             /* the callbacks' user data (a cb_ctx) */
    call *calls;
    p2m_outbuf out;        /* bytes for the socket not yet written */
    size_t out_at;
    double last_io;
    int closing;
#ifdef P2M_HAVE_GNUTLS
    gnutls_session_t tls;
    int handshaken;
#endif
    struct conn *next;
} conn;

/* One polling thread and the connections it accepted. */
typedef struct worker {
    struct p2m_grpc *g;
    pthread_t thread;
    conn *conns;
    size_t n;
} worker;

#define GRPC_WORKERS 4

struct p2m_grpc {
    p2m_srv *srv;
    int lfd;                /* polled by every worker; each accepts for itself */
    worker w[GRPC_WORKERS];
    int n_workers;
    pthread_mutex_t lock;   /* stopping, stop_deadline, n_conns */
    int stopping;
    double stop_deadline;
    unsigned n_conns, max_conns;
#ifdef P2M_HAVE_GNUTLS
    gnutls_certificate_credentials_t cred;
    int tls;
#endif
};

int p2m_grpc_supported(void) { return 1; }

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static call *find_call(conn *c, int32_t id)
{
    call *k;
    for (k = c->calls; k != NULL; k = k->next)
        if (k->id == id)
            return k;
    return NULL;
}

static void free_call(conn *c, int32_t id)
{
    call **pp = &c->calls;
    while (*pp != NULL) {
        if ((*pp)->id == id) {
            call *k = *pp;
            *pp = k->next;
            p2m_out_free(&k->body);
            p2m_out_free(&k->msg);
            free(k);
            return;
        }
        pp = &(*pp)->next;
    }
}

/* grpc-timeout: digits and a unit (H M S m u n). Seconds, or -1. */
static double parse_timeout(const uint8_t *v, size_t n)
{
    double x = 0;
    size_t i;
    if (n < 2 || n > 9)
        return -1;
    for (i = 0; i + 1 < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    switch (v[n - 1]) {
    case 'H': return x * 3600;
    case 'M': return x * 60;
    case 'S': return x;
    case 'm': return x / 1e3;
    case 'u': return x / 1e6;
    case 'n': return x / 1e9;
    default: return -1;
    }
}

/* grpc-message is percent-encoded (gRPC over HTTP/2). */
static void percent_encode(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s != '\0' && o + 4 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch > 0x7e || ch == '%')
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", ch);
        else
            out[o++] = (char)ch;
    }
    out[o] = '\0';
}

#define NV(n, v) {(uint8_t *)(uintptr_t)(n), (uint8_t *)(uintptr_t)(v), sizeof(n) - 1, strlen(v), \
                  NGHTTP2_NV_FLAG_NONE}

static ssize_t read_msg(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t length,
                        uint32_t *flags, nghttp2_data_source *src, void *user)
{
    call *k = (call *)src->ptr;
    size_t n = k->msg.len - k->msg_sent;
    (void)user;
    if (n > length)
        n = length;
    if (n)
        memcpy(buf, k->msg.data + k->msg_sent, n);
    k->msg_sent += n;
    if (k->msg_sent == k->msg.len) {
        char st[16], enc[900];
        nghttp2_nv tr[2];
        size_t ntr = 1;
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        snprintf(st, sizeof st, "%d", k->status);
        tr[0] = (nghttp2_nv)NV("grpc-status", st);
        if (k->message[0]) {
            percent_encode(k->message, enc, sizeof enc);
            tr[1] = (nghttp2_nv)NV("grpc-message", enc);
            ntr = 2;
        }
        nghttp2_submit_trailer(h2, id, tr, ntr);
    }
    return (ssize_t)n;
}

/* Answers a call: with a message (status OK) or trailers only. */
static void answer(p2m_grpc *g, conn *c, call *k, int status, const char *message)
{
    char st[16], enc[900];
    k->answered = 1;
    k->status = status;
    snprintf(k->message, sizeof k->message, "%s", message ? message : "");
    if (status == G_OK) {
        /* grpc-accept-encoding: what this side reads, for the client's next call */
        nghttp2_nv hd[3] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                            NV("grpc-accept-encoding", "gzip,identity")};
        nghttp2_data_provider dp;
        dp.source.ptr = k;
        dp.read_callback = read_msg;
        nghttp2_submit_response(c->h2, k->id, hd, 3, &dp);
    } else {
        nghttp2_nv hd[5];
        size_t n = 4;
        snprintf(st, sizeof st, "%d", status);
        hd[0] = (nghttp2_nv)NV(":status", "200");
        hd[1] = (nghttp2_nv)NV("content-type", "application/grpc");
        hd[2] = (nghttp2_nv)NV("grpc-accept-encoding", "gzip,identity");
        hd[3] = (nghttp2_nv)NV("grpc-status", st);
        if (k->message[0]) {
            char jm[600];
            percent_encode(k->message, enc, sizeof enc);
            hd[4] = (nghttp2_nv)NV("grpc-message", enc);
            n = 5;
            p2m_srv_log(status == G_INTERNAL ? "error" : "warn", "request_refused",
                        ",\"protocol\":\"grpc\",\"grpc_status\":%d,\"reason\":%s", status,
                        p2m_srv_json_str(k->message, strlen(k->message), jm, sizeof jm));
        }
        nghttp2_submit_response(c->h2, k->id, hd, n, NULL);
    }
    p2m_srv_count(g->srv, "grpc", status, k->wire);
}

/* The whole call has arrived: unframe, convert, answer. */
static void finish(p2m_grpc *g, conn *c, call *k)
{
    srv_reply rep;
    const unsigned char *d = k->body.data;
    size_t len = k->body.len, mlen;
    char why[300];
    if (k->answered)
        return;
    if (!k->path_ok) {
        answer(g, c, k, G_UNIMPLEMENTED, "unknown method: this server has " EXPORT_PATH);
        return;
    }
    if (!k->authorized) {
        answer(g, c, k, G_UNAUTHENTICATED, "unauthenticated: send 'authorization: Bearer TOKEN'");
        return;
    }
    if (k->too_big) {
        snprintf(why, sizeof why, "message larger than the limit of %lu bytes (--max-body)",
                 (unsigned long)p2m_srv_max_body(g->srv));
        answer(g, c, k, G_RESOURCE_EXHAUSTED, why);
        return;
    }
    if (k->deadline > 0 && mono_now() > k->deadline) {
        answer(g, c, k, G_DEADLINE_EXCEEDED, "the deadline passed before the request arrived");
        return;
    }
    if (len < 5) {
        answer(g, c, k, G_INVALID_ARGUMENT, "no gRPC message: the body is shorter than the "
               "5-byte message prefix");
        return;
    }
    mlen = (size_t)d[1] << 24 | (size_t)d[2] << 16 | (size_t)d[3] << 8 | d[4];
    if (mlen != len - 5) {
        snprintf(why, sizeof why, "the gRPC message prefix says %lu bytes but %lu follow (a unary "
                 "call carries exactly one message)", (unsigned long)mlen,
                 (unsigned long)(len - 5));
        answer(g, c, k, G_INVALID_ARGUMENT, why);
        return;
    }
    if (d[0] == 1 && !k->gzip) {
        answer(g, c, k, G_UNIMPLEMENTED, "compressed message without a grpc-encoding this "
               "server reads (gzip)");
        return;
    }
    p2m_srv_ingest(g->srv, d + 5, mlen, d[0] == 1 ? "gzip" : NULL, 0, &rep);
    switch (rep.outcome) {
    case SRV_OK: {
        p2m_outbuf resp = {NULL, 0, 0, 0};
        unsigned char pre[5];
        p2m_srv_response_body(&resp, 0, 0, rep.rejected ? rep.message : NULL);
        pre[0] = 0;
        pre[1] = (unsigned char)(resp.len >> 24);
        pre[2] = (unsigned char)(resp.len >> 16);
        pre[3] = (unsigned char)(resp.len >> 8);
        pre[4] = (unsigned char)resp.len;
        p2m_out_append(&k->msg, pre, 5);
        p2m_out_append(&k->msg, resp.data, resp.len);
        p2m_out_free(&resp);
        p2m_srv_log("info", "request",
                    ",\"protocol\":\"grpc\",\"grpc_status\":0,\"bytes\":%lu,\"samples\":%llu,"
                    "\"rejected\":%llu,\"ms\":%.3f",
                    (unsigned long)k->wire, (unsigned long long)rep.samples,
                    (unsigned long long)rep.rejected, (mono_now() - k->start) * 1e3);
        answer(g, c, k, G_OK, NULL);
        return;
    }
    case SRV_MALFORMED: answer(g, c, k, G_INVALID_ARGUMENT, rep.message); return;
    case SRV_TOO_BIG: answer(g, c, k, G_RESOURCE_EXHAUSTED, rep.message); return;
    case SRV_BUSY:
    case SRV_UNAVAILABLE: answer(g, c, k, G_UNAVAILABLE, rep.message); return;
    case SRV_UNSUPPORTED: answer(g, c, k, G_UNIMPLEMENTED, rep.message); return;
    default: answer(g, c, k, G_INTERNAL, rep.message); return;
    }
}

/* ---- nghttp2 callbacks ------------------------------------------------------ */

typedef struct cb_ctx {
    p2m_grpc *g;
    conn *c;
} cb_ctx;

static ssize_t on_send(nghttp2_session *h2, const uint8_t *data, size_t length, int flags,
                       void *user)
{
    conn *c = ((cb_ctx *)user)->c;
    (void)h2;
    (void)flags;
    p2m_out_append(&c->out, data, length);
    return c->out.failed ? NGHTTP2_ERR_CALLBACK_FAILURE : (ssize_t)length;
}

static int on_begin_headers(nghttp2_session *h2, const nghttp2_frame *f, void *user)
{
    cb_ctx *x = (cb_ctx *)user;
    call *k;
    (void)h2;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    k = (call *)calloc(1, sizeof *k);
    if (k == NULL)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    k->id = f->hd.stream_id;
    k->start = mono_now();
    k->authorized = p2m_srv_authorized(x->g->srv, NULL);
    k->next = x->c->calls;
    x->c->calls = k;
    return 0;
}

static int on_header(nghttp2_session *h2, const nghttp2_frame *f, const uint8_t *name,
                     size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
    cb_ctx *x = (cb_ctx *)user;
    call *k = find_call(x->c, f->hd.stream_id);
    (void)h2;
    (void)flags;
    if (k == NULL || f->hd.type != NGHTTP2_HEADERS)
        return 0;
#define IS(lit) (nlen == sizeof(lit) - 1 && memcmp(name, lit, nlen) == 0)
    if (IS(":path"))
        k->path_ok = vlen == sizeof(EXPORT_PATH) - 1 && memcmp(value, EXPORT_PATH, vlen) == 0;
    else if (IS(":method"))
        k->post = vlen == 4 && memcmp(value, "POST", 4) == 0;
    else if (IS("content-type"))
        k->grpc_type = vlen >= 16 && memcmp(value, "application/grpc", 16) == 0 &&
                       (vlen == 16 || value[16] == '+' || value[16] == ';');
    else if (IS("grpc-encoding")) {
        if (vlen == 4 && memcmp(value, "gzip", 4) == 0)
            k->gzip = 1;
        else if (!(vlen == 8 && memcmp(value, "identity", 8) == 0))
            k->bad_encoding = 1;
    } else if (IS("grpc-timeout")) {
        double t = parse_timeout(value, vlen);
        if (t >= 0)
            k->deadline = k->start + t;
    } else if (IS("authorization")) {
        char v[600];
        size_t n = vlen < sizeof v - 1 ? vlen : sizeof v - 1;
        memcpy(v, value, n);
        v[n] = '\0';
        k->authorized = p2m_srv_authorized(x->g->srv, v);
    }
#undef IS
    return 0;
}

static int on_data(nghttp2_session *h2, uint8_t flags, int32_t id, const uint8_t *data,
                   size_t len, void *user)
{
    cb_ctx *x = (cb_ctx *)user;
    call *k = find_call(x->c, id);
    (void)h2;
    (void)flags;
    if (k == NULL)
        return 0;
    k->wire += len;
    if (k->answered || k->too_big)
        return 0;
    if (k->body.len + len > p2m_srv_max_body(x->g->srv) + 5) {
        k->too_big = 1;
        p2m_out_free(&k->body);
        return 0;
    }
    p2m_out_append(&k->body, data, len);
    return 0;
}

static int on_frame(nghttp2_session *h2, const nghttp2_frame *f, void *user)
{
    cb_ctx *x = (cb_ctx *)user;
    call *k = find_call(x->c, f->hd.stream_id);
    (void)h2;
    if (k == NULL)
        return 0;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
        /* what can be refused from the headers alone is refused now */
        if (!k->post || !k->grpc_type) {
            nghttp2_nv hd[1] = {NV(":status", "415")};
            if (!k->post)
                hd[0] = (nghttp2_nv)NV(":status", "405");
            k->answered = 1;
            nghttp2_submit_response(h2, k->id, hd, 1, NULL);
            p2m_srv_count(x->g->srv, "grpc", k->post ? 415 : 405, 0);
            return 0;
        }
        if (!k->path_ok) {
            answer(x->g, x->c, k, G_UNIMPLEMENTED, "unknown method: this server has "
                   EXPORT_PATH);
            return 0;
        }
        if (!k->authorized) {
            answer(x->g, x->c, k, G_UNAUTHENTICATED,
                   "unauthenticated: send 'authorization: Bearer TOKEN'");
            return 0;
        }
        if (k->bad_encoding) {
            answer(x->g, x->c, k, G_UNIMPLEMENTED, "unsupported grpc-encoding: send gzip or "
                   "identity");
            return 0;
        }
    }
    if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        finish(x->g, x->c, k);
    return 0;
}

static int on_close(nghttp2_session *h2, int32_t id, uint32_t code, void *user)
{
    cb_ctx *x = (cb_ctx *)user;
    call *k = find_call(x->c, id);
    (void)h2;
    if (k != NULL && !k->answered)
        p2m_srv_log("warn", "request_aborted",
                    ",\"protocol\":\"grpc\",\"received\":%lu,\"reason\":\"stream closed (%s)\"",
                    (unsigned long)k->wire, nghttp2_http2_strerror(code));
    free_call(x->c, id);
    return 0;
}

/* ---- connections --------------------------------------------------------------- */

static void conn_free(p2m_grpc *g, conn *c)
{
    while (c->calls != NULL)
        free_call(c, c->calls->id);
    if (c->h2 != NULL) {
        nghttp2_session_del(c->h2);
        free(c->ctx);
    }
#ifdef P2M_HAVE_GNUTLS
    if (c->tls != NULL)
        gnutls_deinit(c->tls);
#endif
    close(c->fd);
    p2m_out_free(&c->out);
    free(c);
    pthread_mutex_lock(&g->lock);
    g->n_conns--;
    pthread_mutex_unlock(&g->lock);
}

static void conn_new(worker *w, int fd)
{
    p2m_grpc *g = w->g;
    conn *c;
    cb_ctx *x;
    nghttp2_session_callbacks *cbs;
    nghttp2_settings_entry set[2] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
                                     {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    int full;
    pthread_mutex_lock(&g->lock);
    full = g->n_conns >= g->max_conns;
    if (!full)
        g->n_conns++; /* taken now: another worker may be accepting too */
    pthread_mutex_unlock(&g->lock);
    if (full) {
        p2m_srv_log("warn", "connection_refused",
                    ",\"protocol\":\"grpc\",\"reason\":\"--max-connections %u reached\"",
                    g->max_conns);
        close(fd);
        return;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    {
        /* answers are small writes after the reads' WINDOW_UPDATEs: without
           this, Nagle holds them for the peer's delayed ACK (up to 40 ms) */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    c = (conn *)calloc(1, sizeof *c);
    x = (cb_ctx *)calloc(1, sizeof *x);
    if (c == NULL || x == NULL || nghttp2_session_callbacks_new(&cbs) != 0) {
        free(c);
        free(x);
        close(fd);
        pthread_mutex_lock(&g->lock);
        g->n_conns--;
        pthread_mutex_unlock(&g->lock);
        return;
    }
    c->fd = fd;
    c->ctx = x;
    c->last_io = mono_now();
    x->g = g;
    x->c = c;
    nghttp2_session_callbacks_set_send_callback(cbs, on_send);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
    if (nghttp2_session_server_new(&c->h2, cbs, x) != 0) {
        nghttp2_session_callbacks_del(cbs);
        free(c);
        free(x);
        close(fd);
        pthread_mutex_lock(&g->lock);
        g->n_conns--;
        pthread_mutex_unlock(&g->lock);
        return;
    }
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, set, 2);
    /* the connection window too: a 64 MiB message should not crawl */
    nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, 16 << 20);
#ifdef P2M_HAVE_GNUTLS
    if (g->tls) {
        gnutls_datum_t h2 = {(unsigned char *)(uintptr_t)"h2", 2};
        gnutls_init(&c->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK);
        gnutls_set_default_priority(c->tls);
        gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, g->cred);
        gnutls_alpn_set_protocols(c->tls, &h2, 1, GNUTLS_ALPN_MANDATORY);
        gnutls_transport_set_int(c->tls, fd);
    }
#endif
    c->next = w->conns;
    w->conns = c;
    w->n++;
}

/* Reads what is there. Returns -1 when the connection is to be closed. */
static int conn_read(conn *c)
{
    unsigned char buf[65536];
    for (;;) {
        ssize_t n;
#ifdef P2M_HAVE_GNUTLS
        if (c->tls != NULL) {
            int r;
            if (!c->handshaken) {
                r = gnutls_handshake(c->tls);
                if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
                    return 0;
                if (r < 0) {
                    p2m_srv_log("warn", "tls_handshake_failed",
                                ",\"protocol\":\"grpc\",\"reason\":\"%s\"", gnutls_strerror(r));
                    return -1;
                }
                c->handshaken = 1;
            }
            n = gnutls_record_recv(c->tls, buf, sizeof buf);
            if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                return 0;
            if (n < 0)
                return -1;
        } else
#endif
        {
            n = recv(c->fd, buf, sizeof buf, 0);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                return 0;
            if (n < 0)
                return -1;
        }
        if (n == 0)
            return -1;
        c->last_io = mono_now();
        {
            ssize_t r = nghttp2_session_mem_recv(c->h2, buf, (size_t)n);
            if (r < 0) {
                p2m_srv_log("warn", "connection_error",
                            ",\"protocol\":\"grpc\",\"reason\":\"%s\"",
                            nghttp2_strerror((int)r));
                return -1;
            }
        }
    }
}

/* Writes what nghttp2 has to send. Returns -1 when the connection is to be
   closed. */
static int conn_write(conn *c)
{
    if (nghttp2_session_send(c->h2) != 0)
        return -1;
    while (c->out_at < c->out.len) {
        ssize_t n;
#ifdef P2M_HAVE_GNUTLS
        if (c->tls != NULL) {
            if (!c->handshaken)
                return 0;
            n = gnutls_record_send(c->tls, c->out.data + c->out_at, c->out.len - c->out_at);
            if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                return 0;
            if (n < 0)
                return -1;
        } else
#endif
        {
            n = send(c->fd, c->out.data + c->out_at, c->out.len - c->out_at, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                return 0;
            if (n < 0)
                return -1;
        }
        c->out_at += (size_t)n;
        c->last_io = mono_now();
    }
    c->out.len = 0;
    c->out_at = 0;
    return 0;
}

static void *run(void *arg)
{
    worker *w = (worker *)arg;
    p2m_grpc *g = w->g;
    struct pollfd *pf = NULL;
    size_t pf_cap = 0;
    int goaway_sent = 0;
    for (;;) {
        conn *c, **pp;
        size_t n = 0, i;
        int stopping;
        double now = mono_now(), idle = (double)p2m_srv_idle_timeout(g->srv);
        pthread_mutex_lock(&g->lock);
        stopping = g->stopping;
        pthread_mutex_unlock(&g->lock);
        if (stopping && !goaway_sent) {
            /* no new connections; calls already begun may finish */
            for (c = w->conns; c != NULL; c = c->next)
                nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE,
                                      nghttp2_session_get_last_proc_stream_id(c->h2),
                                      NGHTTP2_NO_ERROR, NULL, 0);
            goaway_sent = 1;
        }
        if (stopping) {
            int busy = 0;
            for (c = w->conns; c != NULL; c = c->next)
                busy |= c->calls != NULL || c->out_at < c->out.len;
            if (!busy || now > g->stop_deadline)
                break;
        }
        /* deadlines, slow senders, idle connections */
        for (c = w->conns; c != NULL; c = c->next) {
            call *k;
            for (k = c->calls; k != NULL; k = k->next) {
                if (k->answered)
                    continue;
                if (k->deadline > 0 && now > k->deadline)
                    answer(g, c, k, G_DEADLINE_EXCEEDED,
                           "the deadline passed before the request arrived");
                else if (now - k->start > (double)p2m_srv_request_timeout(g->srv)) {
                    p2m_srv_log("warn", "request_timeout",
                                ",\"protocol\":\"grpc\",\"received\":%lu,\"limit_seconds\":%u",
                                (unsigned long)k->wire, p2m_srv_request_timeout(g->srv));
                    answer(g, c, k, G_DEADLINE_EXCEEDED, "the request did not arrive within "
                           "--request-timeout");
                }
            }
            if (c->calls == NULL && now - c->last_io > idle)
                c->closing = 1;
        }
        n = w->n + 1;
        if (n > pf_cap) {
            struct pollfd *q = (struct pollfd *)realloc(pf, n * sizeof *pf);
            if (q == NULL)
                break;
            pf = q;
            pf_cap = n;
        }
        if (pf == NULL)
            break;
        i = 0;
        for (c = w->conns; c != NULL; c = c->next, i++) {
            if (conn_write(c) != 0)
                c->closing = 1;
            pf[i].fd = c->fd;
            pf[i].events = POLLIN;
            if (c->out_at < c->out.len)
                pf[i].events |= POLLOUT;
            pf[i].revents = 0;
        }
        pf[i].fd = g->lfd;
        pf[i].events = POLLIN;
        pf[i].revents = 0;
        poll(pf, (nfds_t)(i + !stopping), 100);
        i = 0;
        for (c = w->conns; c != NULL; c = c->next, i++) {
            if (pf[i].revents & (POLLIN | POLLHUP | POLLERR))
                if (conn_read(c) != 0)
                    c->closing = 1;
            if (!c->closing && conn_write(c) != 0)
                c->closing = 1;
            if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2) &&
                c->out_at >= c->out.len)
                c->closing = 1;
        }
        if (!stopping && (pf[i].revents & POLLIN)) {
            int fd = accept(g->lfd, NULL, NULL); /* EAGAIN: another worker took it */
            if (fd >= 0)
                conn_new(w, fd);
        }
        pp = &w->conns;
        while (*pp != NULL) {
            c = *pp;
            if (c->closing) {
                *pp = c->next;
                conn_free(g, c);
                w->n--;
            } else {
                pp = &c->next;
            }
        }
    }
    while (w->conns != NULL) {
        conn *c = w->conns;
        w->conns = c->next;
        conn_free(g, c);
        w->n--;
    }
    free(pf);
    return NULL;
}

p2m_grpc *p2m_grpc_start(p2m_srv *s, int fd, const char *cert, const char *key,
                         unsigned max_conns, char *why, size_t why_cap)
{
    p2m_grpc *g = (p2m_grpc *)calloc(1, sizeof *g);
    if (g == NULL) {
        snprintf(why, why_cap, "out of memory");
        return NULL;
    }
    g->srv = s;
    g->lfd = fd;
    g->max_conns = max_conns;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (cert != NULL) {
#ifdef P2M_HAVE_GNUTLS
        gnutls_datum_t c, k;
        int r;
        c.data = (unsigned char *)(uintptr_t)cert;
        c.size = (unsigned)strlen(cert);
        k.data = (unsigned char *)(uintptr_t)key;
        k.size = (unsigned)strlen(key);
        gnutls_certificate_allocate_credentials(&g->cred);
        r = gnutls_certificate_set_x509_key_mem(g->cred, &c, &k, GNUTLS_X509_FMT_PEM);
        if (r < 0) {
            snprintf(why, why_cap, "the TLS certificate and key: %s", gnutls_strerror(r));
            gnutls_certificate_free_credentials(g->cred);
            free(g);
            return NULL;
        }
        g->tls = 1;
#else
        (void)key;
        snprintf(why, why_cap, "TLS on gRPC needs GnuTLS (libgnutls28-dev) at build time");
        free(g);
        return NULL;
#endif
    }
    pthread_mutex_init(&g->lock, NULL);
    for (g->n_workers = 0; g->n_workers < GRPC_WORKERS; g->n_workers++) {
        worker *w = &g->w[g->n_workers];
        w->g = g;
        if (pthread_create(&w->thread, NULL, run, w) != 0)
            break;
    }
    if (g->n_workers == 0) {
        snprintf(why, why_cap, "cannot start a thread");
        pthread_mutex_destroy(&g->lock);
        free(g);
        return NULL;
    }
    return g;
}

void p2m_grpc_stop(p2m_grpc *g, double deadline_sec)
{
    int i;
    pthread_mutex_lock(&g->lock);
    g->stopping = 1;
    g->stop_deadline = mono_now() + (deadline_sec > 0 ? deadline_sec : 0);
    pthread_mutex_unlock(&g->lock);
    for (i = 0; i < g->n_workers; i++)
        pthread_join(g->w[i].thread, NULL);
    close(g->lfd);
#ifdef P2M_HAVE_GNUTLS
    if (g->tls)
        gnutls_certificate_free_credentials(g->cred);
#endif
    pthread_mutex_destroy(&g->lock);
    free(g);
}

#elif defined(P2M_HAVE_MHD)

int p2m_grpc_supported(void) { return 0; }
p2m_grpc *p2m_grpc_start(p2m_srv *s, int fd, const char *cert, const char *key,
                         unsigned max_conns, char *why, size_t why_cap)
{
    (void)s;
    (void)fd;
    (void)cert;
    (void)key;
    (void)max_conns;
    snprintf(why, why_cap, "this p2m was built without libnghttp2");
    return NULL;
}
void p2m_grpc_stop(p2m_grpc *g, double deadline_sec)
{
    (void)g;
    (void)deadline_sec;
}

#endif
