/* SPDX-License-Identifier: MIT
   p2m serve: what the server's parts share (docs/deployment.md). The core
   (p2m_serve.c) owns the engine, the cumulative state, the counters and the
   log; the receivers (p2m_serve_http.c with libmicrohttpd, p2m_serve_grpc.c
   with libnghttp2) hand it request bodies; the exporter
   (p2m_serve_export.c, libcurl) takes the metrics it makes. */
#ifndef P2M_SERVE_H
#define P2M_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "p2m_out.h"

/* The command: p2m serve [OPTIONS]. Returns the exit status. */
int p2m_cmd_serve(int argc, char **argv);

typedef struct p2m_srv p2m_srv;

/* What became of one request, for either protocol. */
typedef enum srv_outcome {
    SRV_OK = 0,          /* accepted (rejected > 0: partly) */
    SRV_MALFORMED,       /* HTTP 400, gRPC INVALID_ARGUMENT */
    SRV_TOO_BIG,         /* HTTP 413, gRPC RESOURCE_EXHAUSTED */
    SRV_BUSY,            /* export queue full: HTTP 429, gRPC UNAVAILABLE, retry later */
    SRV_UNAVAILABLE,     /* shutting down: HTTP 503, gRPC UNAVAILABLE */
    SRV_UNSUPPORTED,     /* encoding this build cannot read: HTTP 415, gRPC UNIMPLEMENTED */
    SRV_INTERNAL         /* out of memory and the like: HTTP 500, gRPC INTERNAL */
} srv_outcome;

typedef struct srv_reply {
    srv_outcome outcome;
    uint64_t samples;         /* samples in the request */
    uint64_t rejected;        /* samples skipped: invalid references */
    unsigned retry_after;     /* SRV_BUSY: seconds */
    char message[512];        /* error or partial-success text */
} srv_reply;

/* Converts one request body into the cumulative state (and the export
   queue). encoding: NULL, "gzip" or "zstd"; json: the body is OTLP/JSON.
   The receiver counts the request itself (p2m_srv_count). */
void p2m_srv_ingest(p2m_srv *s, const unsigned char *body, size_t len, const char *encoding,
                    int json, srv_reply *out);

/* Appends the Prometheus text of the cumulative state and the server's own
   counters to o. Returns 0, or -1 when out of memory. */
int p2m_srv_metrics(p2m_srv *s, p2m_outbuf *o);

/* Counts a finished request: protocol, its status (HTTP code or gRPC
   status) and the bytes its body had on the wire. */
void p2m_srv_count(p2m_srv *s, const char *protocol, int code, size_t wire_bytes);

/* 1 while the server is ready for new senders (not draining): /readyz. */
int p2m_srv_accepting(p2m_srv *s);
/* 1 when the export queue has room (or there is no exporter). */
int p2m_srv_queue_room(p2m_srv *s);

/* The bearer token (NULL: no authentication) and whether `header` (the
   value of Authorization, or NULL) carries it. Compared in constant time. */
int p2m_srv_authorized(p2m_srv *s, const char *header);

/* Limits the receivers share. */
size_t p2m_srv_max_body(p2m_srv *s);
unsigned p2m_srv_request_timeout(p2m_srv *s);   /* seconds a request may take to arrive */
unsigned p2m_srv_idle_timeout(p2m_srv *s);      /* seconds a connection may stay silent */

/* One structured log line on stderr: a JSON object with time, level, event
   and the fields. fields: NULL, or ',"key":value...' already formatted
   (strings through srv_json_str). */
void p2m_srv_log(const char *level, const char *event, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* s as a JSON string (quotes included) into buf; returns buf. */
const char *p2m_srv_json_str(const char *s, size_t n, char *buf, size_t cap);

/* Response bodies of the OTLP protocols, protobuf or JSON, appended to o:
   ExportProfilesServiceResponse (partial_success when rejected > 0 or a
   message is given) and google.rpc.Status. */
void p2m_srv_response_body(p2m_outbuf *o, int json, uint64_t rejected, const char *message);
void p2m_srv_status_body(p2m_outbuf *o, int json, int grpc_code, const char *message);

/* gzip of (data, len) into o (zlib); -1 when this build has no zlib. */
int p2m_srv_gzip(const unsigned char *data, size_t len, p2m_outbuf *o);

/* ---- the exporter (p2m_serve_export.c) -------------------------------------- */

typedef struct p2m_exporter p2m_exporter;

/* Reads the OTEL_EXPORTER_OTLP_* variables. Returns NULL with the reason in
   why when they are wrong (or the build has no libcurl). */
p2m_exporter *p2m_exporter_new(size_t queue_cap, char *why, size_t why_cap);
int p2m_exporter_start(p2m_exporter *e);
/* Takes ownership of the malloc'd payload (an ExportMetricsServiceRequest).
   Returns 0, or -1 when the queue is full (payload not taken). */
int p2m_exporter_push(p2m_exporter *e, unsigned char *payload, size_t len);
size_t p2m_exporter_depth(p2m_exporter *e);
size_t p2m_exporter_cap(p2m_exporter *e);
const char *p2m_exporter_endpoint(p2m_exporter *e);
/* Counters: batches sent, failed for good, retries. */
void p2m_exporter_counts(p2m_exporter *e, uint64_t *sent, uint64_t *failed, uint64_t *retries);
/* Sends what is queued (retrying as usual) until deadline_sec from now,
   then stops the thread. Returns the batches left unsent. */
size_t p2m_exporter_drain(p2m_exporter *e, double deadline_sec);
void p2m_exporter_free(p2m_exporter *e);

/* ---- the HTTP receiver (p2m_serve_http.c) ----------------------------------- */

typedef struct p2m_http p2m_http;
/* Serves OTLP/HTTP, /metrics, /healthz and /readyz on the bound socket fd
   (TLS when cert/key, PEM bytes, are given). NULL with why on failure. */
p2m_http *p2m_http_start(p2m_srv *s, int fd, const char *cert, const char *key,
                         unsigned max_conns, unsigned idle_timeout, char *why, size_t why_cap);
/* Stops accepting new connections, waits up to deadline_sec for the
   requests in progress, then closes every connection. */
void p2m_http_stop(p2m_http *h, double deadline_sec);

/* ---- the gRPC receiver (p2m_serve_grpc.c) ----------------------------------- */

typedef struct p2m_grpc p2m_grpc;
/* Starts serving on the bound socket fd (TLS when cert/key are given: PEM
   bytes). NULL with why on failure. */
p2m_grpc *p2m_grpc_start(p2m_srv *s, int fd, const char *cert, const char *key,
                         unsigned max_conns, char *why, size_t why_cap);
/* Stops accepting, waits up to deadline_sec for calls in progress, closes. */
void p2m_grpc_stop(p2m_grpc *g, double deadline_sec);
int p2m_grpc_supported(void);

#endif /* P2M_SERVE_H */
