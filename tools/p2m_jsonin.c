/* SPDX-License-Identifier: MIT
   p2m: OTLP/JSON profiles to protobuf (see p2m_jsonin.h). A recursive
   descent over the JSON text writes each message into its own buffer and
   appends it, length-prefixed, to its parent. Repeated scalars are written
   packed. The schema below is proto/profiles_v1_{8,9,10}.proto: the three
   layouts share every message except Profile, Sample, ValueType, KeyValue
   and AnyValue. */
#include "p2m_jsonin.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    T_STRING, T_BYTES, T_BOOL, T_INT32, T_INT64, T_UINT32, T_UINT64, T_FIXED64, T_DOUBLE, T_MSG
};

enum {
    M_REQ, M_DICT, M_RP, M_SP, M_PROF, M_SAMPLE, M_STACK, M_LOC, M_LINE, M_FUNC, M_MAP,
    M_LINK, M_VT, M_KVU, M_RES, M_ENTREF, M_SCOPE, M_KV, M_ANY, M_ARR, M_KVL, M_COUNT
};

typedef struct jfield {
    const char *name; /* proto field name */
    unsigned num;
    int type;
    int repeated;
    int msg;          /* T_MSG: message id */
} jfield;

typedef struct jmsg {
    const jfield *f;
    size_t n;
} jmsg;

#define MSG(a) {(a), sizeof(a) / sizeof((a)[0])}

static const jfield f_req[] = {{"resource_profiles", 1, T_MSG, 1, M_RP},
                               {"dictionary", 2, T_MSG, 0, M_DICT}};
static const jfield f_dict[] = {
    {"mapping_table", 1, T_MSG, 1, M_MAP},       {"location_table", 2, T_MSG, 1, M_LOC},
    {"function_table", 3, T_MSG, 1, M_FUNC},     {"link_table", 4, T_MSG, 1, M_LINK},
    {"string_table", 5, T_STRING, 1, 0},         {"attribute_table", 6, T_MSG, 1, M_KVU},
    {"stack_table", 7, T_MSG, 1, M_STACK}};
static const jfield f_rp[] = {{"resource", 1, T_MSG, 0, M_RES},
                              {"scope_profiles", 2, T_MSG, 1, M_SP},
                              {"schema_url", 3, T_STRING, 0, 0}};
static const jfield f_sp[] = {{"scope", 1, T_MSG, 0, M_SCOPE},
                              {"profiles", 2, T_MSG, 1, M_PROF},
                              {"schema_url", 3, T_STRING, 0, 0}};
static const jfield f_prof10[] = {
    {"sample_type", 1, T_MSG, 0, M_VT},        {"samples", 2, T_MSG, 1, M_SAMPLE},
    {"time_unix_nano", 3, T_FIXED64, 0, 0},    {"duration_nano", 4, T_UINT64, 0, 0},
    {"period_type", 5, T_MSG, 0, M_VT},        {"period", 6, T_INT64, 0, 0},
    {"profile_id", 7, T_BYTES, 0, 0},          {"dropped_attributes_count", 8, T_UINT32, 0, 0},
    {"original_payload_format", 9, T_STRING, 0, 0}, {"original_payload", 10, T_BYTES, 0, 0},
    {"attribute_indices", 11, T_INT32, 1, 0}};
static const jfield f_prof8[] = {
    {"sample_type", 1, T_MSG, 0, M_VT},        {"samples", 2, T_MSG, 1, M_SAMPLE},
    {"time_unix_nano", 3, T_FIXED64, 0, 0},    {"duration_nano", 4, T_UINT64, 0, 0},
    {"period_type", 5, T_MSG, 0, M_VT},        {"period", 6, T_INT64, 0, 0},
    {"comment_strindices", 7, T_INT32, 1, 0},  {"profile_id", 8, T_BYTES, 0, 0},
    {"dropped_attributes_count", 9, T_UINT32, 0, 0},
    {"original_payload_format", 10, T_STRING, 0, 0}, {"original_payload", 11, T_BYTES, 0, 0},
    {"attribute_indices", 12, T_INT32, 1, 0}};
static const jfield f_sample10[] = {
    {"stack_index", 1, T_INT32, 0, 0}, {"attribute_indices", 2, T_INT32, 1, 0},
    {"link_index", 3, T_INT32, 0, 0},  {"values", 4, T_INT64, 1, 0},
    {"timestamps_unix_nano", 5, T_FIXED64, 1, 0}};
static const jfield f_sample89[] = {
    {"stack_index", 1, T_INT32, 0, 0}, {"values", 2, T_INT64, 1, 0},
    {"attribute_indices", 3, T_INT32, 1, 0}, {"link_index", 4, T_INT32, 0, 0},
    {"timestamps_unix_nano", 5, T_FIXED64, 1, 0}};
static const jfield f_stack[] = {{"location_indices", 1, T_INT32, 1, 0}};
static const jfield f_loc[] = {{"mapping_index", 1, T_INT32, 0, 0},
                               {"address", 2, T_UINT64, 0, 0},
                               {"lines", 3, T_MSG, 1, M_LINE},
                               {"attribute_indices", 4, T_INT32, 1, 0}};
static const jfield f_line[] = {{"function_index", 1, T_INT32, 0, 0},
                                {"line", 2, T_INT64, 0, 0},
                                {"column", 3, T_INT64, 0, 0}};
static const jfield f_func[] = {{"name_strindex", 1, T_INT32, 0, 0},
                                {"system_name_strindex", 2, T_INT32, 0, 0},
                                {"filename_strindex", 3, T_INT32, 0, 0},
                                {"start_line", 4, T_INT64, 0, 0}};
static const jfield f_map[] = {{"memory_start", 1, T_UINT64, 0, 0},
                               {"memory_limit", 2, T_UINT64, 0, 0},
                               {"file_offset", 3, T_UINT64, 0, 0},
                               {"filename_strindex", 4, T_INT32, 0, 0},
                               {"attribute_indices", 5, T_INT32, 1, 0}};
static const jfield f_link[] = {{"trace_id", 1, T_BYTES, 0, 0}, {"span_id", 2, T_BYTES, 0, 0}};
static const jfield f_vt10[] = {{"type_strindex", 1, T_INT32, 0, 0},
                                {"unit_strindex", 2, T_INT32, 0, 0}};
static const jfield f_vt8[] = {{"type_strindex", 1, T_INT32, 0, 0},
                               {"unit_strindex", 2, T_INT32, 0, 0},
                               {"aggregation_temporality", 3, T_INT32, 0, 0}};
static const jfield f_kvu[] = {{"key_strindex", 1, T_INT32, 0, 0},
                               {"value", 2, T_MSG, 0, M_ANY},
                               {"unit_strindex", 3, T_INT32, 0, 0}};
static const jfield f_res[] = {{"attributes", 1, T_MSG, 1, M_KV},
                               {"dropped_attributes_count", 2, T_UINT32, 0, 0},
                               {"entity_refs", 3, T_MSG, 1, M_ENTREF}};
static const jfield f_entref[] = {{"schema_url", 1, T_STRING, 0, 0},
                                  {"type", 2, T_STRING, 0, 0},
                                  {"id_keys", 3, T_STRING, 1, 0},
                                  {"description_keys", 4, T_STRING, 1, 0}};
static const jfield f_scope[] = {{"name", 1, T_STRING, 0, 0},
                                 {"version", 2, T_STRING, 0, 0},
                                 {"attributes", 3, T_MSG, 1, M_KV},
                                 {"dropped_attributes_count", 4, T_UINT32, 0, 0}};
static const jfield f_kv10[] = {{"key", 1, T_STRING, 0, 0},
                                {"value", 2, T_MSG, 0, M_ANY},
                                {"key_strindex", 3, T_INT32, 0, 0}};
static const jfield f_kv89[] = {{"key", 1, T_STRING, 0, 0}, {"value", 2, T_MSG, 0, M_ANY}};
static const jfield f_any10[] = {
    {"string_value", 1, T_STRING, 0, 0},  {"bool_value", 2, T_BOOL, 0, 0},
    {"int_value", 3, T_INT64, 0, 0},      {"double_value", 4, T_DOUBLE, 0, 0},
    {"array_value", 5, T_MSG, 0, M_ARR},  {"kvlist_value", 6, T_MSG, 0, M_KVL},
    {"bytes_value", 7, T_BYTES, 0, 0},    {"string_value_strindex", 8, T_INT32, 0, 0}};
static const jfield f_any89[] = {
    {"string_value", 1, T_STRING, 0, 0},  {"bool_value", 2, T_BOOL, 0, 0},
    {"int_value", 3, T_INT64, 0, 0},      {"double_value", 4, T_DOUBLE, 0, 0},
    {"array_value", 5, T_MSG, 0, M_ARR},  {"kvlist_value", 6, T_MSG, 0, M_KVL},
    {"bytes_value", 7, T_BYTES, 0, 0}};
static const jfield f_arr[] = {{"values", 1, T_MSG, 1, M_ANY}};
static const jfield f_kvl[] = {{"values", 1, T_MSG, 1, M_KV}};

static const jmsg schema10[M_COUNT] = {
    MSG(f_req), MSG(f_dict), MSG(f_rp), MSG(f_sp), MSG(f_prof10), MSG(f_sample10),
    MSG(f_stack), MSG(f_loc), MSG(f_line), MSG(f_func), MSG(f_map), MSG(f_link),
    MSG(f_vt10), MSG(f_kvu), MSG(f_res), MSG(f_entref), MSG(f_scope), MSG(f_kv10),
    MSG(f_any10), MSG(f_arr), MSG(f_kvl)};
static const jmsg schema9[M_COUNT] = {
    MSG(f_req), MSG(f_dict), MSG(f_rp), MSG(f_sp), MSG(f_prof10), MSG(f_sample89),
    MSG(f_stack), MSG(f_loc), MSG(f_line), MSG(f_func), MSG(f_map), MSG(f_link),
    MSG(f_vt10), MSG(f_kvu), MSG(f_res), MSG(f_entref), MSG(f_scope), MSG(f_kv89),
    MSG(f_any89), MSG(f_arr), MSG(f_kvl)};
static const jmsg schema8[M_COUNT] = {
    MSG(f_req), MSG(f_dict), MSG(f_rp), MSG(f_sp), MSG(f_prof8), MSG(f_sample89),
    MSG(f_stack), MSG(f_loc), MSG(f_line), MSG(f_func), MSG(f_map), MSG(f_link),
    MSG(f_vt8), MSG(f_kvu), MSG(f_res), MSG(f_entref), MSG(f_scope), MSG(f_kv89),
    MSG(f_any89), MSG(f_arr), MSG(f_kvl)};

/* ---- parser state ------------------------------------------------------- */

typedef struct jp {
    const char *s;
    size_t n, at;
    const jmsg *schema;
    char *why;
    size_t why_cap;
    size_t err_at;
    int failed;
} jp;

/* jfail_ records the first error; jfail(...) does that and is -1 at the call
   site, so every `return jfail(...)` visibly returns -1 (to readers, and to
   clang's analyzer, which stops following calls a few levels deep). */
#define jfail(p, fmt, arg) (jfail_((p), (fmt), (arg)), -1)
static void jfail_(jp *p, const char *fmt, const char *arg)
{
    if (!p->failed) {
        snprintf(p->why, p->why_cap, fmt, arg ? arg : "");
        p->err_at = p->at;
        p->failed = 1;
    }
}

static void ws(jp *p)
{
    while (p->at < p->n && (p->s[p->at] == ' ' || p->s[p->at] == '\t' ||
                            p->s[p->at] == '\n' || p->s[p->at] == '\r'))
        p->at++;
}

static int peek(jp *p)
{
    ws(p);
    return p->at < p->n ? (unsigned char)p->s[p->at] : -1;
}

static int expect(jp *p, char c)
{
    char m[2];
    if (peek(p) == (unsigned char)c) {
        p->at++;
        return 0;
    }
    m[0] = c;
    m[1] = '\0';
    return jfail(p, "expected '%s'", m);
}

static void put_utf8(p2m_outbuf *o, unsigned long cp)
{
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xc0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xe0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xf0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    p2m_out_append(o, b, n);
}

static int hex4(jp *p, unsigned long *v)
{
    size_t i;
    *v = 0;
    if (p->n - p->at < 4)
        return jfail(p, "truncated \\u escape%s", NULL);
    for (i = 0; i < 4; i++) {
        char c = p->s[p->at++];
        *v <<= 4;
        if (c >= '0' && c <= '9')
            *v |= (unsigned long)(c - '0');
        else if (c >= 'a' && c <= 'f')
            *v |= (unsigned long)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            *v |= (unsigned long)(c - 'A' + 10);
        else
            return jfail(p, "bad \\u escape%s", NULL);
    }
    return 0;
}

/* A JSON string, decoded, into o. */
static int jstring(jp *p, p2m_outbuf *o)
{
    size_t run;
    if (peek(p) != '"')
        return jfail(p, "expected a string%s", NULL);
    p->at++;
    run = p->at;
    while (p->at < p->n) {
        unsigned char c = (unsigned char)p->s[p->at];
        if (c == '"') {
            p2m_out_append(o, p->s + run, p->at - run);
            p->at++;
            return 0;
        }
        if (c < 0x20)
            return jfail(p, "control character in a string%s", NULL);
        if (c != '\\') {
            p->at++;
            continue;
        }
        p2m_out_append(o, p->s + run, p->at - run);
        p->at++;
        if (p->at >= p->n)
            break;
        c = (unsigned char)p->s[p->at++];
        switch (c) {
        case '"': p2m_out_append(o, "\"", 1); break;
        case '\\': p2m_out_append(o, "\\", 1); break;
        case '/': p2m_out_append(o, "/", 1); break;
        case 'b': p2m_out_append(o, "\b", 1); break;
        case 'f': p2m_out_append(o, "\f", 1); break;
        case 'n': p2m_out_append(o, "\n", 1); break;
        case 'r': p2m_out_append(o, "\r", 1); break;
        case 't': p2m_out_append(o, "\t", 1); break;
        case 'u': {
            unsigned long cp, lo;
            if (hex4(p, &cp) != 0)
                return -1;
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (p->n - p->at < 6 || p->s[p->at] != '\\' || p->s[p->at + 1] != 'u')
                    return jfail(p, "lone surrogate in \\u escape%s", NULL);
                p->at += 2;
                if (hex4(p, &lo) != 0)
                    return -1;
                if (lo < 0xdc00 || lo >= 0xe000)
                    return jfail(p, "bad surrogate pair%s", NULL);
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                return jfail(p, "lone surrogate in \\u escape%s", NULL);
            }
            put_utf8(o, cp);
            break;
        }
        default:
            return jfail(p, "bad escape in a string%s", NULL);
        }
        run = p->at;
    }
    return jfail(p, "unterminated string%s", NULL);
}

/* The raw text of a number or literal token. */
static int jtoken(jp *p, char *buf, size_t cap)
{
    size_t start, len;
    ws(p);
    start = p->at;
    while (p->at < p->n && (strchr("+-.eE", p->s[p->at]) != NULL ||
                            (p->s[p->at] >= '0' && p->s[p->at] <= '9') ||
                            (p->s[p->at] >= 'a' && p->s[p->at] <= 'z')))
        p->at++;
    len = p->at - start;
    if (len == 0 || len >= cap)
        return jfail(p, "expected a value%s", NULL);
    memcpy(buf, p->s + start, len);
    buf[len] = '\0';
    return 0;
}

/* A scalar as text: a JSON string's contents or a bare token. */
static int jscalar(jp *p, char *buf, size_t cap, int *quoted)
{
    *quoted = peek(p) == '"';
    if (*quoted) {
        p2m_outbuf t = {NULL, 0, 0, 0};
        int rc = jstring(p, &t);
        if (rc == 0 && t.len >= cap)
            rc = jfail(p, "number too long%s", NULL);
        if (rc == 0) {
            if (t.len)
                memcpy(buf, t.data, t.len);
            buf[t.len] = '\0';
        }
        p2m_out_free(&t);
        return rc;
    }
    return jtoken(p, buf, cap);
}

/* ---- protobuf writing --------------------------------------------------- */

static void pb_varint(p2m_outbuf *o, uint64_t v)
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

static void pb_fixed64(p2m_outbuf *o, uint64_t v)
{
    unsigned char b[8];
    int i;
    for (i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    p2m_out_append(o, b, 8);
}

static void pb_len(p2m_outbuf *o, unsigned num, const p2m_outbuf *body)
{
    pb_varint(o, (uint64_t)num << 3 | 2);
    pb_varint(o, body->len);
    p2m_out_append(o, body->data, body->len);
}

static int parse_int(jp *p, const char *t, int is_signed, int bits, uint64_t *out)
{
    const char *s = t;
    int neg = 0;
    uint64_t x = 0, lim;
    if (*s == '-') {
        if (!is_signed)
            return jfail(p, "negative value '%s' for an unsigned field", t);
        neg = 1;
        s++;
    }
    if (*s == '\0')
        return jfail(p, "bad integer '%s'", t);
    for (; *s; s++) {
        unsigned d;
        if (*s == '.' || *s == 'e' || *s == 'E') { /* 1.0, 1e3: whole numbers only */
            char *end;
            double dv = strtod(t, &end);
            if (*end != '\0' || dv != floor(dv) || fabs(dv) > 9007199254740992.0)
                return jfail(p, "not a whole number: '%s'", t);
            x = (uint64_t)fabs(dv);
            break;
        }
        if (*s < '0' || *s > '9')
            return jfail(p, "bad integer '%s'", t);
        d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return jfail(p, "integer out of range: '%s'", t);
        x = x * 10 + d;
    }
    lim = bits == 64 ? (is_signed ? (uint64_t)INT64_MAX : UINT64_MAX)
                     : (is_signed ? (uint64_t)INT32_MAX : (uint64_t)UINT32_MAX);
    if (x > lim + (uint64_t)neg)
        return jfail(p, "integer out of range: '%s'", t);
    *out = neg ? (uint64_t)0 - x : x;
    return 0;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

static int unbase64(jp *p, const p2m_outbuf *in, p2m_outbuf *o)
{
    unsigned long acc = 0;
    int bits = 0;
    size_t i;
    for (i = 0; i < in->len; i++) {
        int v = b64val(in->data[i]);
        if (in->data[i] == '=')
            break;
        if (v < 0)
            return jfail(p, "bad base64 in a bytes field%s", NULL);
        acc = (acc << 6) | (unsigned long)v;
        bits += 6;
        if (bits >= 8) {
            unsigned char b;
            bits -= 8;
            b = (unsigned char)(acc >> bits);
            p2m_out_append(o, &b, 1);
            acc &= (1ul << bits) - 1;
        }
    }
    return 0;
}

static int jmessage(jp *p, int msg, p2m_outbuf *o, int depth);

/* One scalar of field f: into o as a field (packed: into o bare). */
static int jscalar_field(jp *p, const jfield *f, p2m_outbuf *o, int packed)
{
    char tok[400];
    int quoted;
    uint64_t v = 0;
    if (f->type == T_STRING || f->type == T_BYTES) {
        p2m_outbuf t = {NULL, 0, 0, 0}, b = {NULL, 0, 0, 0};
        int rc = jstring(p, &t);
        if (rc == 0 && f->type == T_BYTES)
            rc = unbase64(p, &t, &b);
        if (rc == 0)
            pb_len(o, f->num, f->type == T_BYTES ? &b : &t);
        p2m_out_free(&t);
        p2m_out_free(&b);
        return rc;
    }
    if (f->type == T_BOOL) {
        if (jtoken(p, tok, sizeof tok) != 0)
            return -1;
        if (strcmp(tok, "true") != 0 && strcmp(tok, "false") != 0)
            return jfail(p, "expected true or false, not '%s'", tok);
        v = tok[0] == 't';
    } else if (jscalar(p, tok, sizeof tok, &quoted) != 0) {
        return -1;
    }
    switch (f->type) {
    case T_BOOL: break;
    case T_INT32:
        if (parse_int(p, tok, 1, 32, &v) != 0)
            return -1;
        break;
    case T_INT64:
        if (parse_int(p, tok, 1, 64, &v) != 0)
            return -1;
        break;
    case T_UINT32:
        if (parse_int(p, tok, 0, 32, &v) != 0)
            return -1;
        break;
    case T_UINT64:
    case T_FIXED64:
        if (parse_int(p, tok, 0, 64, &v) != 0)
            return -1;
        break;
    case T_DOUBLE: {
        double d;
        char *end;
        if (strcmp(tok, "NaN") == 0)
            d = NAN;
        else if (strcmp(tok, "Infinity") == 0)
            d = INFINITY;
        else if (strcmp(tok, "-Infinity") == 0)
            d = -INFINITY;
        else {
            errno = 0;
            d = strtod(tok, &end);
            if (*end != '\0' || end == tok)
                return jfail(p, "bad number '%s'", tok);
        }
        memcpy(&v, &d, 8);
        if (!packed)
            pb_varint(o, (uint64_t)f->num << 3 | 1);
        pb_fixed64(o, v);
        return 0;
    }
    default:
        return jfail(p, "internal: unknown field type%s", NULL);
    }
    if (f->type == T_FIXED64) {
        if (!packed)
            pb_varint(o, (uint64_t)f->num << 3 | 1);
        pb_fixed64(o, v);
        return 0;
    }
    if (!packed)
        pb_varint(o, (uint64_t)f->num << 3);
    pb_varint(o, v);
    return 0;
}

static int jvalue(jp *p, const jfield *f, p2m_outbuf *o, int depth, int packed)
{
    if (f->type == T_MSG) {
        p2m_outbuf b = {NULL, 0, 0, 0};
        int rc = jmessage(p, f->msg, &b, depth + 1);
        if (rc == 0)
            pb_len(o, f->num, &b);
        p2m_out_free(&b);
        return rc;
    }
    return jscalar_field(p, f, o, packed);
}

/* key (raw JSON bytes) against the proto name or its lowerCamelCase */
static int name_is(const char *key, size_t n, const char *proto)
{
    size_t i = 0, j = 0;
    if (strlen(proto) == n && memcmp(key, proto, n) == 0)
        return 1;
    while (proto[j] != '\0' && i < n) {
        char c = proto[j];
        if (c == '_' && proto[j + 1] >= 'a' && proto[j + 1] <= 'z') {
            c = (char)(proto[j + 1] - 'a' + 'A');
            j++;
        }
        if (key[i] != c)
            return 0;
        i++;
        j++;
    }
    return i == n && proto[j] == '\0';
}

static int is_null(jp *p)
{
    ws(p);
    if (p->n - p->at >= 4 && memcmp(p->s + p->at, "null", 4) == 0) {
        p->at += 4;
        return 1;
    }
    return 0;
}

static int jmessage(jp *p, int msg, p2m_outbuf *o, int depth)
{
    const jmsg *m = &p->schema[msg];
    if (depth > 64)
        return jfail(p, "nesting too deep%s", NULL);
    if (expect(p, '{') != 0)
        return -1;
    if (peek(p) == '}') {
        p->at++;
        return 0;
    }
    for (;;) {
        p2m_outbuf key = {NULL, 0, 0, 0};
        const jfield *f = NULL;
        size_t i;
        size_t key_at;
        ws(p);
        key_at = p->at;
        if (jstring(p, &key) != 0)
            return -1;
        for (i = 0; i < m->n && f == NULL; i++)
            if (name_is((const char *)key.data, key.len, m->f[i].name))
                f = &m->f[i];
        if (f == NULL) {
            char name[80];
            size_t n = key.len < sizeof name - 1 ? key.len : sizeof name - 1;
            if (n)
                memcpy(name, key.data, n);
            name[n] = '\0';
            p2m_out_free(&key);
            p->at = key_at;
            return jfail(p, "unknown field '%s' for this layout (see --layout)", name);
        }
        p2m_out_free(&key);
        if (expect(p, ':') != 0)
            return -1;
        if (is_null(p)) {
            /* null: the field's default, nothing written */
        } else if (f->repeated) {
            int packed = f->type != T_MSG && f->type != T_STRING && f->type != T_BYTES;
            p2m_outbuf pk = {NULL, 0, 0, 0};
            if (expect(p, '[') != 0)
                return -1;
            if (peek(p) != ']') {
                for (;;) {
                    if (jvalue(p, f, packed ? &pk : o, depth, packed) != 0) {
                        p2m_out_free(&pk);
                        return -1;
                    }
                    if (peek(p) == ',') {
                        p->at++;
                        continue;
                    }
                    break;
                }
            }
            if (expect(p, ']') != 0) {
                p2m_out_free(&pk);
                return -1;
            }
            if (packed && pk.len > 0)
                pb_len(o, f->num, &pk);
            p2m_out_free(&pk);
        } else if (jvalue(p, f, o, depth, 0) != 0) {
            return -1;
        }
        if (peek(p) == ',') {
            p->at++;
            continue;
        }
        return expect(p, '}');
    }
}

/* A parser over json[0..len) with the field numbers of layout. */
static void jp_start(jp *p, const char *json, size_t len, p2m_layout layout, char *why,
                     size_t why_cap)
{
    memset(p, 0, sizeof *p);
    p->s = json;
    p->n = len;
    p->why = why;
    p->why_cap = why_cap;
    p->schema = layout == P2M_LAYOUT_V1_8   ? schema8
                : layout == P2M_LAYOUT_V1_9 ? schema9
                                            : schema10;
}

int p2m_jsonin_transcode_one(const char *json, size_t len, p2m_layout layout, p2m_outbuf *out,
                             size_t *end, size_t *err_offset, char *why, size_t why_cap)
{
    jp p;
    jp_start(&p, json, len, layout, why, why_cap);
    jmessage(&p, M_REQ, out, 0);
    if (!p.failed && out->failed)
        jfail_(&p, "out of memory%s", NULL);
    *err_offset = p.err_at;
    *end = p.at;
    return p.failed ? -1 : 0;
}

int p2m_jsonin_transcode(const char *json, size_t len, p2m_layout layout, p2m_outbuf *out,
                         size_t *err_offset, char *why, size_t why_cap)
{
    jp p;
    jp_start(&p, json, len, layout, why, why_cap);
    if (jmessage(&p, M_REQ, out, 0) == 0) {
        ws(&p);
        if (p.at != p.n)
            jfail_(&p, "text after the request%s", NULL);
    }
    if (!p.failed && out->failed)
        jfail_(&p, "out of memory%s", NULL);
    *err_offset = p.err_at;
    return p.failed ? -1 : 0;
}

/* ---- locating a byte offset in a protobuf request --------------------------
   Walks an ExportProfilesServiceRequest with the schema above and names the
   field at a byte offset, or the field being read where the input ends when
   a length runs past the end of the input (a truncated file). */

typedef struct ploc {
    const jmsg *schema;
    const unsigned char *pb;
    size_t len;
    size_t target;     /* the offset to name; (size_t)-1: follow the end */
    int score_only;    /* visit every message, only counting mismatches */
    unsigned long mismatches;
    int truncated;
    int found;
    size_t field_at;   /* the innermost field named: where it starts */
    uint64_t field_len; /* and its declared length (LEN fields) */
    char *path;
    size_t cap, plen;
} ploc;

static void ploc_name(ploc *L, const jfield *f, unsigned num, unsigned long idx)
{
    char part[96];
    if (f == NULL)
        snprintf(part, sizeof part, "%sfield %u", L->plen ? "." : "", num);
    else if (f->repeated && (f->type == T_MSG || f->type == T_STRING || f->type == T_BYTES))
        snprintf(part, sizeof part, "%s%s[%lu]", L->plen ? "." : "", f->name, idx);
    else
        snprintf(part, sizeof part, "%s%s", L->plen ? "." : "", f->name);
    if (L->plen + strlen(part) < L->cap) {
        memcpy(L->path + L->plen, part, strlen(part) + 1);
        L->plen += strlen(part);
    }
}

static int ploc_varint(const unsigned char *p, size_t end, size_t *i, uint64_t *v)
{
    unsigned shift = 0;
    *v = 0;
    while (*i < end && shift < 64) {
        unsigned char b = p[(*i)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
        shift += 7;
    }
    return -1;
}

static int ploc_wire_ok(const jfield *f, unsigned wt)
{
    if (f->type == T_MSG || f->type == T_STRING || f->type == T_BYTES)
        return wt == 2;
    if (f->repeated && wt == 2)
        return 1;
    if (f->type == T_FIXED64 || f->type == T_DOUBLE)
        return wt == 1;
    return wt == 0;
}

static void ploc_walk(ploc *L, int msg, size_t start, size_t end, int depth)
{
    const jmsg *m = &L->schema[msg];
    unsigned long counts[16];
    size_t i = start;
    memset(counts, 0, sizeof counts);
    if (depth > 64)
        return;
    while (i < end) {
        size_t fstart = i, k, fend;
        uint64_t tag, v = 0;
        const jfield *f = NULL;
        unsigned long idx = 0;
        unsigned wt, num;
        int cut = 0;
        if (ploc_varint(L->pb, end, &i, &tag) != 0) {
            L->truncated = end == L->len && !L->score_only;
            L->field_at = fstart;
            L->found = 1;
            return;
        }
        wt = (unsigned)(tag & 7);
        num = (unsigned)(tag >> 3);
        for (k = 0; k < m->n && k < 16; k++)
            if (m->f[k].num == num) {
                f = &m->f[k];
                idx = counts[k]++;
            }
        if (f == NULL || !ploc_wire_ok(f, wt))
            L->mismatches++;
        switch (wt) {
        case 0:
            cut = ploc_varint(L->pb, end, &i, &v) != 0;
            break;
        case 1:
            cut = end - i < 8;
            i = cut ? end : i + 8;
            break;
        case 5:
            cut = end - i < 4;
            i = cut ? end : i + 4;
            break;
        case 2:
            if (ploc_varint(L->pb, end, &i, &v) != 0) {
                cut = 1;
                break;
            }
            if (v > end - i) {
                if (end == L->len && !L->score_only) { /* runs past the input: truncated */
                    L->truncated = 1;
                    L->found = 1;
                    L->field_at = fstart;
                    L->field_len = v;
                    ploc_name(L, f, num, idx);
                    if (f != NULL && f->type == T_MSG && wt == 2)
                        ploc_walk(L, f->msg, i, L->len, depth + 1);
                    return;
                }
                /* past its parent but not the input: malformed, not cut */
                L->mismatches++;
                if (!L->score_only && L->target >= fstart && L->target < end) {
                    L->found = 1;
                    L->field_at = fstart;
                    L->field_len = v;
                    ploc_name(L, f, num, idx);
                }
                return;
            }
            fend = i + (size_t)v;
            if (L->score_only) {
                if (f != NULL && f->type == T_MSG)
                    ploc_walk(L, f->msg, i, fend, depth + 1);
            } else if (L->target >= fstart && L->target < fend) {
                L->found = 1;
                L->field_at = fstart;
                L->field_len = v;
                ploc_name(L, f, num, idx);
                if (f != NULL && f->type == T_MSG)
                    ploc_walk(L, f->msg, i, fend, depth + 1);
                return;
            }
            i = fend;
            continue;
        default: /* groups and invalid wire types: nothing sensible follows */
            L->mismatches++;
            if (!L->score_only && L->target >= fstart) {
                L->found = 1;
                L->field_at = fstart;
                ploc_name(L, f, num, idx);
            }
            return;
        }
        if (cut) {
            if (end == L->len && !L->score_only) {
                L->truncated = 1;
                L->found = 1;
                L->field_at = fstart;
                L->field_len = 0;
                ploc_name(L, f, num, idx);
            }
            return;
        }
        if (!L->score_only && L->target >= fstart && L->target < i) {
            L->found = 1;
            L->field_at = fstart;
            ploc_name(L, f, num, idx);
            return;
        }
    }
}

static const jmsg *ploc_schema(p2m_layout layout)
{
    return layout == P2M_LAYOUT_V1_8 ? schema8 : layout == P2M_LAYOUT_V1_9 ? schema9 : schema10;
}

int p2m_pb_locate(const unsigned char *pb, size_t len, p2m_layout layout, size_t at,
                  char *path, size_t path_cap, size_t *field_at)
{
    ploc L;
    if (path_cap == 0)
        return 0;
    path[0] = '\0';
    if (layout == P2M_LAYOUT_AUTO) { /* the layout whose schema fits best */
        static const p2m_layout order[3] = {P2M_LAYOUT_V1_10, P2M_LAYOUT_V1_9, P2M_LAYOUT_V1_8};
        unsigned long best = (unsigned long)-1;
        int k;
        for (k = 0; k < 3; k++) {
            memset(&L, 0, sizeof L);
            L.schema = ploc_schema(order[k]);
            L.pb = pb;
            L.len = len;
            L.score_only = 1;
            ploc_walk(&L, M_REQ, 0, len, 0);
            if (L.mismatches < best) {
                best = L.mismatches;
                layout = order[k];
            }
        }
    }
    /* first the end of the input: a length running past it is a cut file */
    memset(&L, 0, sizeof L);
    L.schema = ploc_schema(layout);
    L.pb = pb;
    L.len = len;
    L.target = (size_t)-1;
    L.path = path;
    L.cap = path_cap;
    ploc_walk(&L, M_REQ, 0, len, 0);
    if (L.truncated) {
        *field_at = L.field_at;
        return 1;
    }
    memset(&L, 0, sizeof L);
    path[0] = '\0';
    L.schema = ploc_schema(layout);
    L.pb = pb;
    L.len = len;
    L.target = at;
    L.path = path;
    L.cap = path_cap;
    ploc_walk(&L, M_REQ, 0, len, 0);
    *field_at = L.field_at;
    return 0;
}
