/* SPDX-License-Identifier: MIT
   p2m: OTLP/JSON of a conversion result (`-f json`) and the value helpers
   the Prometheus writer shares with it. */
#ifndef P2M_JSON_H
#define P2M_JSON_H

#include <stddef.h>

#include "profile2metrics.h"
#include "p2m_out.h"

/* Extra resource attributes (--resource-attr): added to every resource,
   replacing an attribute of the same key. */
typedef struct p2m_extra_attrs {
    const char *const *keys;
    const char *const *values;
    size_t n;
} p2m_extra_attrs;

/* The resource attributes of resource res with the extra ones applied:
   *out is malloc'd (free it), *n its length. Returns 0, -1 out of memory. */
int p2m_resource_attrs(const p2m_result *r, size_t res, const p2m_extra_attrs *extra,
                       p2m_attribute **out, size_t *n);

/* Appends one ExportMetricsServiceRequest in the OTLP JSON mapping (one
   line, no newline). Returns 0, or -1 with a reason in why (a nested value
   that cannot be written: bytes that do not decode, or nested deeper than
   the 32 levels the library accepts). */
int p2m_json_write(p2m_outbuf *o, const p2m_result *r, const p2m_extra_attrs *extra,
                   char *why, size_t why_cap);

/* A JSON string literal of s (quotes included). */
void p2m_json_string(p2m_outbuf *o, const char *s, size_t n);

/* A value as a plain string (Prometheus label values): strings as they are,
   ints in decimal, bools true/false, doubles shortest round-trip, bytes in
   base64, arrays and key-value lists as JSON. Returns 0 or -1 (why). */
int p2m_value_text(p2m_outbuf *o, const p2m_value *v, char *why, size_t why_cap);

/* Copies the ExportMetricsServiceRequest (in, n) to out with the extra
   attributes applied to every Resource: attributes of the same key removed,
   the extras appended (a repeated key: the last wins). Returns 0 or -1
   (malformed input, out of memory). */
int p2m_otlp_add_resource_attrs(const unsigned char *in, size_t n, const p2m_extra_attrs *extra,
                                p2m_outbuf *out);

/* A double as JSON: shortest text that reads back to the same value. */
void p2m_json_double(p2m_outbuf *o, double d);

#endif /* P2M_JSON_H */
