/* SPDX-License-Identifier: MIT
   p2m serve: the OTLP/HTTP metrics exporter (libcurl). Each converted
   request's ExportMetricsServiceRequest waits in a bounded queue; one
   thread POSTs them in order to the endpoint the OpenTelemetry exporter
   variables name:

     OTEL_EXPORTER_OTLP_METRICS_ENDPOINT   used as it is
     OTEL_EXPORTER_OTLP_ENDPOINT           + "/v1/metrics"
     (neither: http://localhost:4318/v1/metrics)
     OTEL_EXPORTER_OTLP[_METRICS]_HEADERS      key=value,key2=value2 (values
                                               percent-decoded)
     OTEL_EXPORTER_OTLP[_METRICS]_COMPRESSION  gzip or none
     OTEL_EXPORTER_OTLP[_METRICS]_TIMEOUT      milliseconds per attempt
                                               (default 10000)

   429, 502, 503, 504 and transport failures are retried with exponential
   backoff (0.5 s doubling to 30 s, times a random 0.5..1.5) or the
   Retry-After the answer gives, for at most P2M_EXPORT_MAX_ELAPSED seconds
   (default 300); any other answer (400 and the like) is final. A batch
   given up is counted and logged, never dropped silently. */
#define _POSIX_C_SOURCE 200809L

#include "p2m_serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(P2M_HAVE_MHD) && defined(P2M_HAVE_CURL)

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

typedef struct batch {
    unsigned char *data;
    size_t len;
} batch;

struct p2m_exporter {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    batch *q;
    size_t cap, head, n;
    int in_flight;          /* the thread holds a batch taken from the queue */
    int stopping;           /* drain: send what is left, then end */
    int started;
    double give_up_at;      /* drain deadline (monotonic seconds) */
    pthread_t thread;
    char *endpoint;
    char endpoint_json[600];  /* the endpoint as a JSON string, for the log */
    struct curl_slist *headers;
    int gzip;
    long timeout_ms;
    double max_elapsed;
    uint64_t sent, failed, retries;
    unsigned seed;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *env2(const char *specific, const char *general)
{
    const char *v = getenv(specific);
    if (v != NULL && v[0] != '\0')
        return v;
    v = getenv(general);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* key=value,key2=value2 into curl headers ("key: value"). */
static int parse_headers(p2m_exporter *e, const char *spec, char *why, size_t why_cap)
{
    const char *p = spec;
    while (*p != '\0') {
        const char *end = strchr(p, ','), *eq;
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char line[1024];
        size_t o = 0, i;
        struct curl_slist *l;
        eq = memchr(p, '=', n);
        if (eq == NULL || eq == p) {
            snprintf(why, why_cap, "OTEL_EXPORTER_OTLP_HEADERS: '%.*s' is not key=value",
                     (int)(n > 100 ? 100 : n), p);
            return -1;
        }
        for (i = 0; p + i < eq && o + 4 < sizeof line; i++)
            if (!isspace((unsigned char)p[i]))
                line[o++] = p[i];
        line[o++] = ':';
        line[o++] = ' ';
        for (i = (size_t)(eq - p) + 1; i < n && o + 2 < sizeof line; i++) {
            if (p[i] == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
                line[o++] = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
                i += 2;
            } else {
                line[o++] = p[i];
            }
        }
        line[o] = '\0';
        l = curl_slist_append(e->headers, line);
        if (l == NULL) {
            snprintf(why, why_cap, "out of memory");
            return -1;
        }
        e->headers = l;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

p2m_exporter *p2m_exporter_new(size_t queue_cap, char *why, size_t why_cap)
{
    p2m_exporter *e;
    const char *ep = getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
    const char *base = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    const char *v;
    static int curl_ready;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            snprintf(why, why_cap, "libcurl would not start");
            return NULL;
        }
        curl_ready = 1;
    }
    e = (p2m_exporter *)calloc(1, sizeof *e);
    if (e == NULL || (e->q = (batch *)calloc(queue_cap, sizeof *e->q)) == NULL) {
        free(e);
        snprintf(why, why_cap, "out of memory");
        return NULL;
    }
    e->cap = queue_cap;
    e->seed = (unsigned)time(NULL);
    if (ep != NULL && ep[0] != '\0') {
        e->endpoint = strdup(ep);
    } else if (base != NULL && base[0] != '\0') {
        size_t n = strlen(base);
        e->endpoint = (char *)malloc(n + 12);
        if (e->endpoint != NULL) {
            if (n > 0 && base[n - 1] == '/')
                n--; /* one slash between the base and the path */
            memcpy(e->endpoint, base, n);
            memcpy(e->endpoint + n, "/v1/metrics", 12);
        }
    } else {
        e->endpoint = strdup("http://localhost:4318/v1/metrics");
    }
    if (e->endpoint == NULL) {
        snprintf(why, why_cap, "out of memory");
        goto fail;
    }
    if (strncmp(e->endpoint, "http://", 7) != 0 && strncmp(e->endpoint, "https://", 8) != 0) {
        snprintf(why, why_cap, "the endpoint '%s' is not an http:// or https:// URL", e->endpoint);
        goto fail;
    }
    p2m_srv_json_str(e->endpoint, strlen(e->endpoint), e->endpoint_json, sizeof e->endpoint_json);
    e->headers = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    v = env2("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS");
    if (v != NULL && parse_headers(e, v, why, why_cap) != 0)
        goto fail;
    v = env2("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION");
    if (v != NULL && strcmp(v, "gzip") == 0) {
        unsigned char one = 0;
        p2m_outbuf t = {NULL, 0, 0, 0};
        if (p2m_srv_gzip(&one, 1, &t) != 0) {
            p2m_out_free(&t);
            snprintf(why, why_cap, "OTEL_EXPORTER_OTLP_COMPRESSION=gzip needs zlib, and this p2m "
                     "was built without it");
            goto fail;
        }
        p2m_out_free(&t);
        e->gzip = 1;
        e->headers = curl_slist_append(e->headers, "Content-Encoding: gzip");
    } else if (v != NULL && strcmp(v, "none") != 0) {
        snprintf(why, why_cap, "OTEL_EXPORTER_OTLP_COMPRESSION: '%s' is not gzip or none", v);
        goto fail;
    }
    e->timeout_ms = 10000;
    v = env2("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT");
    if (v != NULL) {
        char *end;
        long t;
        errno = 0;
        t = strtol(v, &end, 10);
        if (errno || *end != '\0' || t <= 0) {
            snprintf(why, why_cap, "OTEL_EXPORTER_OTLP_TIMEOUT: '%s' is not a number of "
                     "milliseconds", v);
            goto fail;
        }
        e->timeout_ms = t;
    }
    e->max_elapsed = 300;
    v = getenv("P2M_EXPORT_MAX_ELAPSED");
    if (v != NULL && v[0] != '\0') {
        char *end;
        double t = strtod(v, &end);
        if (*end != '\0' || !(t > 0)) {
            snprintf(why, why_cap, "P2M_EXPORT_MAX_ELAPSED: '%s' is not a number of seconds", v);
            goto fail;
        }
        e->max_elapsed = t;
    }
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->wake, NULL);
    return e;
fail:
    curl_slist_free_all(e->headers);
    free(e->endpoint);
    free(e->q);
    free(e);
    return NULL;
}

const char *p2m_exporter_endpoint(p2m_exporter *e) { return e->endpoint; }
size_t p2m_exporter_cap(p2m_exporter *e) { return e->cap; }

size_t p2m_exporter_depth(p2m_exporter *e)
{
    size_t n;
    pthread_mutex_lock(&e->lock);
    n = e->n + (size_t)e->in_flight;
    pthread_mutex_unlock(&e->lock);
    return n;
}

void p2m_exporter_counts(p2m_exporter *e, uint64_t *sent, uint64_t *failed, uint64_t *retries)
{
    pthread_mutex_lock(&e->lock);
    *sent = e->sent;
    *failed = e->failed;
    *retries = e->retries;
    pthread_mutex_unlock(&e->lock);
}

int p2m_exporter_push(p2m_exporter *e, unsigned char *payload, size_t len)
{
    pthread_mutex_lock(&e->lock);
    if (e->n + (size_t)e->in_flight >= e->cap || e->stopping) {
        pthread_mutex_unlock(&e->lock);
        return -1;
    }
    e->q[(e->head + e->n) % e->cap].data = payload;
    e->q[(e->head + e->n) % e->cap].len = len;
    e->n++;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
    return 0;
}

typedef struct answer {
    long retry_after;   /* seconds, -1 none */
    char body[300];
    size_t body_len;
} answer;

static size_t on_header(char *buf, size_t size, size_t n, void *user)
{
    answer *a = (answer *)user;
    size_t len = size * n;
    if (len > 12 && strncasecmp(buf, "Retry-After:", 12) == 0) {
        char tmp[64];
        size_t k = len - 12 < sizeof tmp - 1 ? len - 12 : sizeof tmp - 1;
        char *end;
        long v;
        memcpy(tmp, buf + 12, k);
        tmp[k] = '\0';
        v = strtol(tmp, &end, 10);
        if (end != tmp && v >= 0)
            a->retry_after = v;
    }
    return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *user)
{
    answer *a = (answer *)user;
    size_t len = size * n, k = sizeof a->body - 1 - a->body_len;
    if (k > len)
        k = len;
    memcpy(a->body + a->body_len, buf, k);
    a->body_len += k;
    a->body[a->body_len] = '\0';
    return len;
}

/* Waits up to sec, or less when a drain deadline comes first. */
static void nap(p2m_exporter *e, double sec)
{
    struct timespec ts;
    double until = mono_now() + sec;
    pthread_mutex_lock(&e->lock);
    if (e->stopping && until > e->give_up_at)
        until = e->give_up_at;
    pthread_mutex_unlock(&e->lock);
    while (mono_now() < until) {
        double left = until - mono_now();
        if (left > 0.05)
            left = 0.05;
        ts.tv_sec = (time_t)left;
        ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&e->lock);
        if (e->stopping && until > e->give_up_at)
            until = e->give_up_at;
        pthread_mutex_unlock(&e->lock);
    }
}

static int past_deadline(p2m_exporter *e)
{
    int past;
    pthread_mutex_lock(&e->lock);
    past = e->stopping && mono_now() >= e->give_up_at;
    pthread_mutex_unlock(&e->lock);
    return past;
}

/* Sends one batch with retries. Returns 1 delivered, 0 given up. */
static int send_batch(p2m_exporter *e, CURL *curl, const batch *b)
{
    const unsigned char *body = b->data;
    size_t len = b->len;
    p2m_outbuf gz = {NULL, 0, 0, 0};
    double first = mono_now(), backoff = 0.5;
    int attempt, ok = 0;
    char jb[700];
    if (e->gzip) {
        if (p2m_srv_gzip(b->data, b->len, &gz) != 0) {
            p2m_out_free(&gz);
            p2m_srv_log("error", "export_failed", ",\"reason\":\"gzip: out of memory\"");
            return 0;
        }
        body = gz.data;
        len = gz.len;
    }
    for (attempt = 1;; attempt++) {
        answer a;
        CURLcode cr;
        long code = 0;
        double wait;
        memset(&a, 0, sizeof a);
        a.retry_after = -1;
        curl_easy_setopt(curl, CURLOPT_URL, e->endpoint);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, e->headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, e->timeout_ms);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, &a);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a);
        cr = curl_easy_perform(curl);
        if (cr == CURLE_OK)
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        if (cr == CURLE_OK && code >= 200 && code < 300) {
            ok = 1;
            break;
        }
        if (cr == CURLE_OK && code != 429 && code != 502 && code != 503 && code != 504) {
            p2m_srv_log("error", "export_failed",
                        ",\"endpoint\":%s,\"status\":%ld,\"attempts\":%d,\"retry\":false,"
                        "\"answer\":%s", e->endpoint_json, code, attempt,
                        p2m_srv_json_str(a.body, a.body_len, jb, sizeof jb));
            break;
        }
        wait = backoff * (0.5 + (double)rand_r(&e->seed) / ((double)RAND_MAX + 1.0));
        if (a.retry_after >= 0)
            wait = (double)a.retry_after;
        if (backoff < 30)
            backoff *= 2;
        if (mono_now() + wait - first > e->max_elapsed || past_deadline(e)) {
            p2m_srv_log("error", "export_failed",
                        ",\"endpoint\":%s,\"status\":%ld,\"error\":\"%s\",\"attempts\":%d,"
                        "\"reason\":\"retries exhausted\"", e->endpoint_json, code,
                        cr == CURLE_OK ? "" : curl_easy_strerror(cr), attempt);
            break;
        }
        p2m_srv_log("warn", "export_retry",
                    ",\"endpoint\":%s,\"status\":%ld,\"error\":\"%s\",\"attempt\":%d,"
                    "\"wait_seconds\":%.3f", e->endpoint_json, code,
                    cr == CURLE_OK ? "" : curl_easy_strerror(cr), attempt, wait);
        pthread_mutex_lock(&e->lock);
        e->retries++;
        pthread_mutex_unlock(&e->lock);
        nap(e, wait);
        if (past_deadline(e)) {
            p2m_srv_log("error", "export_failed",
                        ",\"endpoint\":%s,\"attempts\":%d,\"reason\":\"shutdown deadline\"",
                        e->endpoint_json, attempt);
            break;
        }
    }
    p2m_out_free(&gz);
    return ok;
}

static void *run(void *arg)
{
    p2m_exporter *e = (p2m_exporter *)arg;
    CURL *curl = curl_easy_init();
    for (;;) {
        batch b;
        int ok;
        pthread_mutex_lock(&e->lock);
        while (e->n == 0 && !e->stopping)
            pthread_cond_wait(&e->wake, &e->lock);
        if (e->n == 0 || (e->stopping && mono_now() >= e->give_up_at)) {
            pthread_mutex_unlock(&e->lock);
            break;
        }
        b = e->q[e->head];
        e->head = (e->head + 1) % e->cap;
        e->n--;
        e->in_flight = 1;
        pthread_mutex_unlock(&e->lock);
        ok = curl != NULL && send_batch(e, curl, &b);
        free(b.data);
        pthread_mutex_lock(&e->lock);
        e->in_flight = 0;
        if (ok)
            e->sent++;
        else
            e->failed++;
        pthread_mutex_unlock(&e->lock);
    }
    if (curl != NULL)
        curl_easy_cleanup(curl);
    return NULL;
}

int p2m_exporter_start(p2m_exporter *e)
{
    if (pthread_create(&e->thread, NULL, run, e) != 0)
        return -1;
    e->started = 1;
    return 0;
}

size_t p2m_exporter_drain(p2m_exporter *e, double deadline_sec)
{
    size_t left;
    pthread_mutex_lock(&e->lock);
    e->stopping = 1;
    e->give_up_at = mono_now() + deadline_sec;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
    if (e->started) {
        pthread_join(e->thread, NULL);
        e->started = 0;
    }
    pthread_mutex_lock(&e->lock);
    left = e->n;
    pthread_mutex_unlock(&e->lock);
    return left;
}

void p2m_exporter_free(p2m_exporter *e)
{
    if (e->started)
        p2m_exporter_drain(e, 0);
    while (e->n > 0) {
        free(e->q[e->head].data);
        e->head = (e->head + 1) % e->cap;
        e->n--;
    }
    curl_slist_free_all(e->headers);
    free(e->endpoint);
    free(e->q);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->wake);
    free(e);
}

#elif defined(P2M_HAVE_MHD)

/* Built without libcurl: the exporter cannot be made. */
p2m_exporter *p2m_exporter_new(size_t queue_cap, char *why, size_t why_cap)
{
    (void)queue_cap;
    snprintf(why, why_cap, "this p2m was built without libcurl, which the OTLP exporter needs: "
             "install libcurl4-gnutls-dev (tools/install-deps.sh) and rebuild");
    return NULL;
}
int p2m_exporter_start(p2m_exporter *e) { (void)e; return -1; }
int p2m_exporter_push(p2m_exporter *e, unsigned char *p, size_t n)
{
    (void)e;
    (void)p;
    (void)n;
    return -1;
}
size_t p2m_exporter_depth(p2m_exporter *e) { (void)e; return 0; }
size_t p2m_exporter_cap(p2m_exporter *e) { (void)e; return 0; }
const char *p2m_exporter_endpoint(p2m_exporter *e) { (void)e; return ""; }
void p2m_exporter_counts(p2m_exporter *e, uint64_t *s, uint64_t *f, uint64_t *r)
{
    (void)e;
    *s = *f = *r = 0;
}
size_t p2m_exporter_drain(p2m_exporter *e, double d) { (void)e; (void)d; return 0; }
void p2m_exporter_free(p2m_exporter *e) { (void)e; }

#endif
