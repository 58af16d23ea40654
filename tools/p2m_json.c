/* SPDX-License-Identifier: MIT
   p2m: OTLP/JSON output (`-f json`), written from the library's result view
   with the same content as its protobuf encoder. The JSON mapping of
   protobuf: lowerCamelCase field names, 64-bit integers as decimal strings,
   enums as numbers, bytes in base64, doubles as numbers ("NaN",
   "Infinity", "-Infinity" as strings). Nested attribute values (ArrayValue,
   KeyValueList) reach us as protobuf bytes: p2m_result_nested_value gives
   them with every string table index resolved (as -f otlp writes them), and
   they are decoded here, at most NEST_MAX message levels deep. */
#include "p2m_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- text helpers ------------------------------------------------------- */

void p2m_json_string(p2m_outbuf *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, run = 0;
    p2m_out_append(o, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6];
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
            continue;
        p2m_out_append(o, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            u[0] = '\\';
            u[1] = 'u';
            u[2] = '0';
            u[3] = '0';
            u[4] = hex[c >> 4];
            u[5] = hex[c & 15];
            p2m_out_append(o, u, 6);
            continue;
        }
        p2m_out_str(o, esc);
    }
    p2m_out_append(o, s + run, n - run);
    p2m_out_append(o, "\"", 1);
}

static void json_cstr(p2m_outbuf *o, const char *s) { p2m_json_string(o, s, strlen(s)); }

static void shortest_double(char *buf, size_t cap, double d)
{
    int prec;
    for (prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

void p2m_json_double(p2m_outbuf *o, double d)
{
    char buf[40];
    if (isnan(d)) {
        p2m_out_str(o, "\"NaN\"");
        return;
    }
    if (isinf(d)) {
        p2m_out_str(o, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    shortest_double(buf, sizeof buf, d);
    p2m_out_str(o, buf);
}

static void base64(p2m_outbuf *o, const unsigned char *p, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    for (i = 0; i + 2 < n; i += 3) {
        char q[4];
        unsigned long v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 | p[i + 2];
        q[0] = tab[v >> 18];
        q[1] = tab[(v >> 12) & 63];
        q[2] = tab[(v >> 6) & 63];
        q[3] = tab[v & 63];
        p2m_out_append(o, q, 4);
    }
    if (i < n) {
        char q[4];
        unsigned long v = (unsigned long)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned long)p[i + 1] << 8;
        q[0] = tab[v >> 18];
        q[1] = tab[(v >> 12) & 63];
        q[2] = '=';
        q[3] = '=';
        if (i + 1 < n)
            q[2] = tab[(v >> 6) & 63];
        p2m_out_append(o, q, 4);
    }
}

/* ---- a small protobuf reader for nested values -------------------------- */

typedef struct pb_field {
    unsigned num, wt;
    uint64_t v;               /* VARINT, I64 (bits), I32 */
    const unsigned char *p;   /* LEN */
    size_t n;
} pb_field;

static int pb_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    unsigned shift = 0;
    *v = 0;
    while (*p < end && shift < 64) { /* ten bytes at most: shifts 0, 7, ..., 63 */
        unsigned char b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
        shift += 7;
    }
    return -1;
}

/* 1 a field, 0 end, -1 malformed */
static int pb_next(const unsigned char **p, const unsigned char *end, pb_field *f)
{
    uint64_t tag;
    int i;
    if (*p >= end)
        return 0;
    if (pb_varint(p, end, &tag) != 0 || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
        return -1;
    f->num = (unsigned)(tag >> 3);
    f->wt = (unsigned)(tag & 7);
    f->v = 0;
    f->p = NULL;
    f->n = 0;
    switch (f->wt) {
    case 0:
        return pb_varint(p, end, &f->v) == 0 ? 1 : -1;
    case 1:
    case 5: {
        int len = f->wt == 1 ? 8 : 4;
        if (end - *p < len)
            return -1;
        for (i = 0; i < len; i++)
            f->v |= (uint64_t)(*p)[i] << (8 * i);
        *p += len;
        return 1;
    }
    case 2: {
        uint64_t len;
        if (pb_varint(p, end, &len) != 0 || len > (uint64_t)(end - *p))
            return -1;
        f->p = *p;
        f->n = (size_t)len;
        *p += len;
        return 1;
    }
    default:
        return -1;
    }
}

/* Message levels below an attribute's AnyValue that are decoded (ArrayValue,
   AnyValue, KeyValueList and KeyValue each count one). docs/spec.md section 8 makes a
   request nested deeper than 32 levels in total malformed, and an attribute
   value sits at least three levels down, so valid input never reaches this;
   it bounds the recursion whatever the bytes are. */
enum { NEST_MAX = 32 };

typedef struct nest_ctx {
    char *why;
    size_t why_cap;
    int json;              /* 1: OTLP JSON (AnyValue objects); 0: plain JSON values */
    const p2m_result *r;   /* resolves the string indices of nested values */
} nest_ctx;

static int nest_fail(nest_ctx *c, const char *msg)
{
    snprintf(c->why, c->why_cap, "%s", msg);
    return -1;
}

static int any_value(p2m_outbuf *o, const unsigned char *p, size_t n, int depth, nest_ctx *c);
static int json_value(p2m_outbuf *o, const p2m_value *v, int depth, nest_ctx *c);

/* ArrayValue (field 1: AnyValue) */
static int array_value(p2m_outbuf *o, const unsigned char *p, size_t n, int depth, nest_ctx *c)
{
    const unsigned char *end = p + n;
    pb_field f;
    int r, first = 1;
    if (depth > NEST_MAX)
        return nest_fail(c, "attribute value nested more than 32 levels deep");
    p2m_out_str(o, c->json ? "{\"values\":[" : "[");
    while ((r = pb_next(&p, end, &f)) > 0) {
        if (f.num != 1 || f.wt != 2)
            continue;
        if (!first)
            p2m_out_str(o, ",");
        first = 0;
        if (any_value(o, f.p, f.n, depth + 1, c) != 0)
            return -1;
    }
    if (r < 0)
        return nest_fail(c, "malformed ArrayValue in an attribute value");
    p2m_out_str(o, c->json ? "]}" : "]");
    return 0;
}

/* KeyValue (key 1, value 2) */
static int key_value(p2m_outbuf *o, const unsigned char *p, size_t n, int depth, nest_ctx *c)
{
    const unsigned char *end = p + n;
    const unsigned char *key = NULL, *val = NULL;
    size_t key_n = 0, val_n = 0;
    int r, have_val = 0;
    pb_field f;
    while ((r = pb_next(&p, end, &f)) > 0) {
        if (f.num == 1 && f.wt == 2) {
            key = f.p;
            key_n = f.n;
        } else if (f.num == 2 && f.wt == 2) {
            val = f.p;
            val_n = f.n;
            have_val = 1;
        } /* anything else (key_strindex is resolved before) is skipped, as
             protobuf skips unknown fields */
    }
    if (r < 0)
        return nest_fail(c, "malformed KeyValue in an attribute value");
    if (c->json) {
        p2m_out_str(o, "{\"key\":");
        p2m_json_string(o, key ? (const char *)key : "", key_n);
        if (have_val) {
            p2m_out_str(o, ",\"value\":");
            if (any_value(o, val, val_n, depth + 1, c) != 0)
                return -1;
        }
        p2m_out_str(o, "}");
    } else {
        p2m_json_string(o, key ? (const char *)key : "", key_n);
        p2m_out_str(o, ":");
        if (!have_val)
            p2m_out_str(o, "null");
        else if (any_value(o, val, val_n, depth + 1, c) != 0)
            return -1;
    }
    return 0;
}

/* KeyValueList (field 1: KeyValue) */
static int kvlist_value(p2m_outbuf *o, const unsigned char *p, size_t n, int depth, nest_ctx *c)
{
    const unsigned char *end = p + n;
    pb_field f;
    int r, first = 1;
    if (depth > NEST_MAX)
        return nest_fail(c, "attribute value nested more than 32 levels deep");
    p2m_out_str(o, c->json ? "{\"values\":[" : "{");
    while ((r = pb_next(&p, end, &f)) > 0) {
        if (f.num != 1 || f.wt != 2)
            continue;
        if (!first)
            p2m_out_str(o, ",");
        first = 0;
        if (key_value(o, f.p, f.n, depth + 1, c) != 0)
            return -1;
    }
    if (r < 0)
        return nest_fail(c, "malformed KeyValueList in an attribute value");
    p2m_out_str(o, c->json ? "]}" : "}");
    return 0;
}

/* One AnyValue message; the last field of the oneof wins, as in protobuf. */
static int any_value(p2m_outbuf *o, const unsigned char *p, size_t n, int depth, nest_ctx *c)
{
    const unsigned char *end = p + n;
    pb_field f, last;
    int r, have = 0;
    p2m_value v;
    memset(&last, 0, sizeof last);
    if (depth > NEST_MAX)
        return nest_fail(c, "attribute value nested more than 32 levels deep");
    while ((r = pb_next(&p, end, &f)) > 0) {
        /* fields other than the seven of the oneof are skipped, as protobuf
           skips unknown fields (string_value_strindex is resolved before) */
        if (((f.num == 1 || f.num == 5 || f.num == 6 || f.num == 7) && f.wt == 2) || /* LEN */
            ((f.num == 2 || f.num == 3) && f.wt == 0) ||                            /* VARINT */
            (f.num == 4 && f.wt == 1)) {                                            /* I64 */
            last = f;
            have = 1;
        }
    }
    if (r < 0)
        return nest_fail(c, "malformed AnyValue in an attribute value");
    memset(&v, 0, sizeof v);
    if (have) {
        switch (last.num) {
        case 1: v.type = P2M_VALUE_STRING; break;
        case 2: v.type = P2M_VALUE_BOOL; v.i = last.v != 0; break;
        case 3: v.type = P2M_VALUE_INT; v.i = (int64_t)last.v; break;
        case 4: v.type = P2M_VALUE_DOUBLE; memcpy(&v.d, &last.v, 8); break;
        case 5: v.type = P2M_VALUE_ARRAY; break;
        case 6: v.type = P2M_VALUE_KVLIST; break;
        default: v.type = P2M_VALUE_BYTES; break;
        }
        v.str.ptr = (const char *)last.p;
        v.str.len = last.n;
    }
    if (c->json)
        return json_value(o, &v, depth, c);
    switch (v.type) {
    case P2M_VALUE_NONE: p2m_out_str(o, "null"); return 0;
    case P2M_VALUE_STRING: p2m_json_string(o, v.str.ptr ? v.str.ptr : "", v.str.len); return 0;
    case P2M_VALUE_BOOL: p2m_out_str(o, v.i ? "true" : "false"); return 0;
    case P2M_VALUE_INT: p2m_out_printf(o, "%lld", (long long)v.i); return 0;
    case P2M_VALUE_DOUBLE: p2m_json_double(o, v.d); return 0;
    case P2M_VALUE_BYTES:
        p2m_out_str(o, "\"");
        base64(o, (const unsigned char *)v.str.ptr, v.str.len);
        p2m_out_str(o, "\"");
        return 0;
    case P2M_VALUE_ARRAY: return array_value(o, last.p, last.n, depth + 1, c);
    case P2M_VALUE_KVLIST: return kvlist_value(o, last.p, last.n, depth + 1, c);
    }
    return 0;
}

/* A p2m_value as an OTLP JSON AnyValue object. */
static int json_value(p2m_outbuf *o, const p2m_value *v, int depth, nest_ctx *c)
{
    switch (v->type) {
    case P2M_VALUE_NONE: p2m_out_str(o, "{}"); return 0;
    case P2M_VALUE_STRING:
        p2m_out_str(o, "{\"stringValue\":");
        p2m_json_string(o, v->str.ptr ? v->str.ptr : "", v->str.len);
        p2m_out_str(o, "}");
        return 0;
    case P2M_VALUE_BOOL:
        p2m_out_str(o, v->i ? "{\"boolValue\":true}" : "{\"boolValue\":false}");
        return 0;
    case P2M_VALUE_INT: p2m_out_printf(o, "{\"intValue\":\"%lld\"}", (long long)v->i); return 0;
    case P2M_VALUE_DOUBLE:
        p2m_out_str(o, "{\"doubleValue\":");
        p2m_json_double(o, v->d);
        p2m_out_str(o, "}");
        return 0;
    case P2M_VALUE_BYTES:
        p2m_out_str(o, "{\"bytesValue\":\"");
        base64(o, (const unsigned char *)v->str.ptr, v->str.len);
        p2m_out_str(o, "\"}");
        return 0;
    case P2M_VALUE_ARRAY:
        p2m_out_str(o, "{\"arrayValue\":");
        if (array_value(o, (const unsigned char *)v->str.ptr, v->str.len, depth + 1, c) != 0)
            return -1;
        p2m_out_str(o, "}");
        return 0;
    case P2M_VALUE_KVLIST:
        p2m_out_str(o, "{\"kvlistValue\":");
        if (kvlist_value(o, (const unsigned char *)v->str.ptr, v->str.len, depth + 1, c) != 0)
            return -1;
        p2m_out_str(o, "}");
        return 0;
    }
    p2m_out_str(o, "{}");
    return 0;
}

/* A nested value of the result with its string indices resolved, in a
   malloc'd copy (*buf, to be freed); other values are passed through. */
static int resolve_nested(const p2m_result *r, const p2m_value *v, p2m_value *out,
                          unsigned char **buf, nest_ctx *c)
{
    size_t n;
    *out = *v;
    *buf = NULL;
    if (v->type != P2M_VALUE_ARRAY && v->type != P2M_VALUE_KVLIST)
        return 0;
    n = p2m_result_nested_value(r, v, NULL, 0);
    *buf = (unsigned char *)malloc(n ? n : 1);
    if (*buf == NULL)
        return nest_fail(c, "out of memory");
    if (n && p2m_result_nested_value(r, v, *buf, n) != n) {
        free(*buf);
        *buf = NULL;
        return nest_fail(c, "p2m_result_nested_value gave two sizes for one value");
    }
    out->str.ptr = (const char *)*buf;
    out->str.len = n;
    return 0;
}

/* A top-level (attribute) value as an OTLP JSON AnyValue object. */
static int json_attr_value(p2m_outbuf *o, const p2m_value *v, nest_ctx *c)
{
    p2m_value rv;
    unsigned char *buf;
    int rc;
    if (resolve_nested(c->r, v, &rv, &buf, c) != 0)
        return -1;
    rc = json_value(o, &rv, 0, c);
    free(buf);
    return rc;
}

int p2m_value_text(p2m_outbuf *o, const p2m_value *v, char *why, size_t why_cap)
{
    nest_ctx c;
    c.why = why;
    c.why_cap = why_cap;
    c.json = 0;
    c.r = NULL;
    switch (v->type) {
    case P2M_VALUE_NONE: return 0;
    case P2M_VALUE_STRING: p2m_out_append(o, v->str.ptr, v->str.len); return 0;
    case P2M_VALUE_BOOL: p2m_out_str(o, v->i ? "true" : "false"); return 0;
    case P2M_VALUE_INT: p2m_out_printf(o, "%lld", (long long)v->i); return 0;
    case P2M_VALUE_DOUBLE: {
        char buf[40];
        if (isnan(v->d)) /* unquoted here; inside arrays and maps they are strings */
            p2m_out_str(o, "NaN");
        else if (isinf(v->d))
            p2m_out_str(o, v->d > 0 ? "Infinity" : "-Infinity");
        else {
            shortest_double(buf, sizeof buf, v->d);
            p2m_out_str(o, buf);
        }
        return 0;
    }
    case P2M_VALUE_BYTES: base64(o, (const unsigned char *)v->str.ptr, v->str.len); return 0;
    case P2M_VALUE_ARRAY:
        return array_value(o, (const unsigned char *)v->str.ptr, v->str.len, 1, &c);
    case P2M_VALUE_KVLIST:
        return kvlist_value(o, (const unsigned char *)v->str.ptr, v->str.len, 1, &c);
    }
    return 0;
}

/* ---- resource attributes with the extras -------------------------------- */

int p2m_resource_attrs(const p2m_result *r, size_t res, const p2m_extra_attrs *extra,
                       p2m_attribute **out, size_t *n)
{
    size_t have = p2m_result_resource_attributes(r, res, NULL, 0), i, j, k = 0;
    size_t n_extra = extra ? extra->n : 0;
    p2m_attribute *a = (p2m_attribute *)malloc((have + n_extra + 1) * sizeof *a);
    if (a == NULL)
        return -1;
    p2m_result_resource_attributes(r, res, a, have);
    for (i = 0; i < have; i++) { /* drop keys an extra attribute replaces */
        int replaced = 0;
        for (j = 0; j < n_extra && !replaced; j++)
            replaced = a[i].key.len == strlen(extra->keys[j]) &&
                       memcmp(a[i].key.ptr, extra->keys[j], a[i].key.len) == 0;
        if (!replaced)
            a[k++] = a[i];
    }
    for (j = 0; j < n_extra; j++) { /* the last of a repeated key wins */
        size_t later;
        int again = 0;
        for (later = j + 1; later < n_extra && !again; later++)
            again = strcmp(extra->keys[j], extra->keys[later]) == 0;
        if (again)
            continue;
        memset(&a[k], 0, sizeof a[k]);
        a[k].key.ptr = extra->keys[j];
        a[k].key.len = strlen(extra->keys[j]);
        a[k].value.type = P2M_VALUE_STRING;
        a[k].value.str.ptr = extra->values[j];
        a[k].value.str.len = strlen(extra->values[j]);
        k++;
    }
    *out = a;
    *n = k;
    return 0;
}

/* ---- the request -------------------------------------------------------- */

/* Resource.entity_refs (EntityRef messages carried through as they came) as
   "entityRefs":[{"schemaUrl","type","idKeys","descriptionKeys"}]. */
static int json_entity_refs(p2m_outbuf *o, const p2m_result *r, size_t res, int comma)
{
    size_t n = p2m_result_resource_entity_refs(r, res, NULL, 0), i;
    p2m_str *refs;
    if (n == 0)
        return 0;
    refs = (p2m_str *)malloc(n * sizeof *refs);
    if (refs == NULL)
        return -1;
    p2m_result_resource_entity_refs(r, res, refs, n);
    p2m_out_str(o, comma ? ",\"entityRefs\":[" : "\"entityRefs\":[");
    for (i = 0; i < n; i++) {
        static const char *const names[5] = {NULL, "schemaUrl", "type", "idKeys",
                                             "descriptionKeys"};
        const unsigned char *p = (const unsigned char *)refs[i].ptr, *end = p + refs[i].len;
        unsigned k;
        int first = 1;
        p2m_out_str(o, i ? ",{" : "{");
        for (k = 1; k <= 4; k++) { /* one key per field, lists gathered in order */
            const unsigned char *q = p;
            pb_field f;
            int any = 0;
            while (pb_next(&q, end, &f) > 0) {
                if (f.num != k || f.wt != 2)
                    continue;
                if (!any) {
                    p2m_out_printf(o, "%s\"%s\":%s", first ? "" : ",", names[k], k >= 3 ? "[" : "");
                    first = 0;
                } else if (k >= 3) {
                    p2m_out_str(o, ",");
                } else {
                    continue; /* a repeated scalar string: the first is kept */
                }
                p2m_json_string(o, (const char *)f.p, f.n);
                any = 1;
            }
            if (any && k >= 3)
                p2m_out_str(o, "]");
        }
        p2m_out_str(o, "}");
    }
    p2m_out_str(o, "]");
    free(refs);
    return 0;
}

static int json_attrs(p2m_outbuf *o, const p2m_attribute *a, size_t n, nest_ctx *c)
{
    size_t i;
    p2m_out_str(o, "\"attributes\":[");
    for (i = 0; i < n; i++) {
        if (i)
            p2m_out_str(o, ",");
        p2m_out_str(o, "{\"key\":");
        p2m_json_string(o, a[i].key.ptr ? a[i].key.ptr : "", a[i].key.len);
        p2m_out_str(o, ",\"value\":");
        if (json_attr_value(o, &a[i].value, c) != 0)
            return -1;
        p2m_out_str(o, "}");
    }
    p2m_out_str(o, "]");
    return 0;
}

int p2m_json_write(p2m_outbuf *o, const p2m_result *r, const p2m_extra_attrs *extra,
                   char *why, size_t why_cap)
{
    size_t res, n_res = p2m_result_resource_count(r);
    nest_ctx c;
    c.why = why;
    c.why_cap = why_cap;
    c.json = 1;
    c.r = r;
    p2m_out_str(o, "{\"resourceMetrics\":[");
    for (res = 0; res < n_res; res++) {
        p2m_attribute *ra = NULL;
        size_t n_ra = 0, m, n_m = p2m_result_metric_count(r, res);
        p2m_str url = p2m_result_schema_url(r, res);
        if (p2m_resource_attrs(r, res, extra, &ra, &n_ra) != 0)
            return nest_fail(&c, "out of memory");
        if (res)
            p2m_out_str(o, ",");
        p2m_out_str(o, "{\"resource\":{");
        if (n_ra > 0 && json_attrs(o, ra, n_ra, &c) != 0) {
            free(ra);
            return -1;
        }
        free(ra);
        if (p2m_result_resource_dropped(r, res) != 0) /* uint32 in OTLP: a JSON number */
            p2m_out_printf(o, "%s\"droppedAttributesCount\":%llu", n_ra > 0 ? "," : "",
                           (unsigned long long)p2m_result_resource_dropped(r, res));
        if (json_entity_refs(o, r, res, n_ra > 0 || p2m_result_resource_dropped(r, res) != 0) != 0)
            return nest_fail(&c, "out of memory");
        p2m_out_str(o, "},\"scopeMetrics\":[{\"scope\":{\"name\":\"profile2metrics\",\"version\":");
        json_cstr(o, p2m_version());
        p2m_out_str(o, "},\"metrics\":[");
        for (m = 0; m < n_m; m++) {
            p2m_metric_info info;
            size_t pt;
            p2m_result_metric(r, res, m, &info);
            if (m)
                p2m_out_str(o, ",");
            p2m_out_str(o, "{\"name\":");
            p2m_json_string(o, info.name.ptr, info.name.len);
            if (info.description.len) {
                p2m_out_str(o, ",\"description\":");
                p2m_json_string(o, info.description.ptr, info.description.len);
            }
            p2m_out_str(o, ",\"unit\":");
            p2m_json_string(o, info.unit.ptr ? info.unit.ptr : "", info.unit.len);
            /* snapshot types (inuse_*) make a Gauge: no temporality, not
               monotonic; every other metric is a monotonic Sum */
            p2m_out_str(o, info.is_gauge ? ",\"gauge\":{\"dataPoints\":["
                                         : ",\"sum\":{\"dataPoints\":[");
            for (pt = 0; pt < info.n_points; pt++) {
                p2m_point p;
                p2m_attribute *pa;
                size_t n_pa;
                p2m_result_point(r, res, m, pt, &p);
                if (pt)
                    p2m_out_str(o, ",");
                if (info.is_gauge && p.start_time_unix_nano == 0)
                    p2m_out_printf(o, "{\"timeUnixNano\":\"%llu\",",
                                   (unsigned long long)p.time_unix_nano);
                else
                    p2m_out_printf(o, "{\"startTimeUnixNano\":\"%llu\",\"timeUnixNano\":\"%llu\",",
                                   (unsigned long long)p.start_time_unix_nano,
                                   (unsigned long long)p.time_unix_nano);
                if (p.is_double) {
                    p2m_out_str(o, "\"asDouble\":");
                    p2m_json_double(o, p.as_double);
                } else {
                    p2m_out_printf(o, "\"asInt\":\"%lld\"", (long long)p.as_int);
                }
                n_pa = p2m_result_point_attributes(r, res, m, pt, NULL, 0);
                if (n_pa > 0) {
                    pa = (p2m_attribute *)malloc(n_pa * sizeof *pa);
                    if (pa == NULL)
                        return nest_fail(&c, "out of memory");
                    p2m_result_point_attributes(r, res, m, pt, pa, n_pa);
                    p2m_out_str(o, ",");
                    if (json_attrs(o, pa, n_pa, &c) != 0) {
                        free(pa);
                        return -1;
                    }
                    free(pa);
                }
                p2m_out_str(o, "}");
            }
            if (info.is_gauge)
                p2m_out_str(o, "]}}");
            else
                p2m_out_printf(o, "],\"aggregationTemporality\":%d,\"isMonotonic\":true}}",
                               (int)info.temporality);
        }
        p2m_out_str(o, "]}]");
        if (url.len) {
            p2m_out_str(o, ",\"schemaUrl\":");
            p2m_json_string(o, url.ptr, url.len);
        }
        p2m_out_str(o, "}");
    }
    p2m_out_str(o, "]}");
    if (o->failed)
        return nest_fail(&c, "out of memory");
    return 0;
}

/* ---- the extras in protobuf output -------------------------------------- */

static void put_varint(p2m_outbuf *o, uint64_t v)
{
    unsigned char b[10];
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (unsigned char)v;
    p2m_out_append(o, b, n);
}

static void put_len(p2m_outbuf *o, unsigned num, const void *p, size_t n)
{
    put_varint(o, (uint64_t)num << 3 | 2);
    put_varint(o, n);
    p2m_out_append(o, p, n);
}

/* the bytes of field (tag .. end of value) that pb_next just read */
static void put_raw(p2m_outbuf *o, const unsigned char *from, const unsigned char *to)
{
    p2m_out_append(o, from, (size_t)(to - from));
}

static int extra_has_key(const p2m_extra_attrs *extra, const unsigned char *k, size_t n)
{
    size_t j;
    for (j = 0; j < extra->n; j++)
        if (strlen(extra->keys[j]) == n && (n == 0 || memcmp(extra->keys[j], k, n) == 0))
            return 1;
    return 0;
}

/* a Resource's contents with the extras applied */
static int resource_with_extras(const unsigned char *p, size_t n, const p2m_extra_attrs *extra,
                                p2m_outbuf *o)
{
    const unsigned char *end = p + n, *at = p;
    pb_field f;
    int r;
    size_t j;
    while ((r = pb_next(&p, end, &f)) > 0) {
        if (f.num == 1 && f.wt == 2) { /* KeyValue: keep unless replaced */
            const unsigned char *q = f.p, *qe = f.p + f.n;
            pb_field g;
            int rr, drop = 0;
            while ((rr = pb_next(&q, qe, &g)) > 0)
                if (g.num == 1 && g.wt == 2)
                    drop = extra_has_key(extra, g.p, g.n);
            if (rr < 0)
                return -1;
            if (!drop)
                put_raw(o, at, p);
        } else {
            put_raw(o, at, p);
        }
        at = p;
    }
    if (r < 0)
        return -1;
    for (j = 0; j < extra->n; j++) {
        p2m_outbuf kv = {NULL, 0, 0, 0}, av = {NULL, 0, 0, 0};
        size_t later;
        int again = 0;
        for (later = j + 1; later < extra->n && !again; later++)
            again = strcmp(extra->keys[j], extra->keys[later]) == 0;
        if (again)
            continue;
        put_len(&av, 1, extra->values[j], strlen(extra->values[j]));
        put_len(&kv, 1, extra->keys[j], strlen(extra->keys[j]));
        put_len(&kv, 2, av.data ? av.data : (const unsigned char *)"", av.len);
        put_len(o, 1, kv.data, kv.len);
        p2m_out_free(&kv);
        p2m_out_free(&av);
    }
    return 0;
}

int p2m_otlp_add_resource_attrs(const unsigned char *in, size_t n, const p2m_extra_attrs *extra,
                                p2m_outbuf *out)
{
    const unsigned char *p = in, *end = in + n, *at = in;
    pb_field f;
    int r;
    while ((r = pb_next(&p, end, &f)) > 0) {
        if (f.num == 1 && f.wt == 2) { /* ResourceMetrics */
            const unsigned char *q = f.p, *qe = f.p + f.n, *qat = f.p;
            p2m_outbuf rm = {NULL, 0, 0, 0};
            pb_field g;
            int rr, have_res = 0;
            while ((rr = pb_next(&q, qe, &g)) > 0) {
                if (g.num == 1 && g.wt == 2) {
                    p2m_outbuf res = {NULL, 0, 0, 0};
                    if (resource_with_extras(g.p, g.n, extra, &res) != 0) {
                        p2m_out_free(&res);
                        p2m_out_free(&rm);
                        return -1;
                    }
                    put_len(&rm, 1, res.data ? res.data : (const unsigned char *)"", res.len);
                    p2m_out_free(&res);
                    have_res = 1;
                } else {
                    put_raw(&rm, qat, q);
                }
                qat = q;
            }
            if (rr == 0 && !have_res) {
                p2m_outbuf res = {NULL, 0, 0, 0};
                rr = resource_with_extras((const unsigned char *)"", 0, extra, &res);
                put_len(&rm, 1, res.data ? res.data : (const unsigned char *)"", res.len);
                p2m_out_free(&res);
            }
            if (rr < 0) {
                p2m_out_free(&rm);
                return -1;
            }
            put_len(out, 1, rm.data ? rm.data : (const unsigned char *)"", rm.len);
            p2m_out_free(&rm);
        } else {
            put_raw(out, at, p);
        }
        at = p;
    }
    return r < 0 || out->failed ? -1 : 0;
}
