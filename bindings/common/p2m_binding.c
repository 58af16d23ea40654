/* SPDX-License-Identifier: MIT
   profile2metrics for language bindings: the library's implementation plus a
   loader of the configuration written as JSON (the structure of the YAML file
   that `p2m -c` reads, docs/configuration.md), so that a binding passes one
   string instead of laying out a p2m_config in its own language.

   Built as a shared object by the Python package and as WebAssembly by the
   JavaScript package. Needs no libc (only the compiler's builtins) and no
   heap: every byte it uses comes from the caller.

   Exported beside the library's p2m_* functions:
     p2mb_scratch_size(len)   scratch bytes p2mb_compile needs for len bytes of JSON
     p2mb_compile(...)        JSON -> p2m_config -> p2m_engine_compile
     p2mb_stats_flat(...)     a p2m_stats as uint64 values in a fixed order
   Errors are p2m_error records: a JSON syntax error is P2M_ERR_CONFIG with
   err.offset = the byte of the JSON text; a key or value the configuration
   does not accept is P2M_ERR_CONFIG with err.field = its path
   ("metrics.cpu.metirc_name") and err.message = why, the way the YAML
   loader names it. Environment references (${env:NAME}) are a feature of
   the YAML file and are not expanded here. */
#define P2M_IMPLEMENTATION

/* WebAssembly has no libc to print a double: the text writers' shortest
   round-trip text of a double comes from the host (the ES module's
   formatDouble, which gives the text of the C library's "%.*g" loop). The
   module's only import. */
#if defined(__wasm__) && !defined(P2M_FORMAT_DOUBLE)
#include <stddef.h>
__attribute__((import_module("env"), import_name("format_double"))) extern size_t
p2mb_host_format_double(char *buf, size_t cap, double d);
#define P2M_FORMAT_DOUBLE(buf, cap, d) p2mb_host_format_double((buf), (cap), (d))
#endif

#include "profile2metrics.h"

#ifndef P2MB_API
#if defined(__wasm__)
#define P2MB_API __attribute__((visibility("default")))
#elif defined(__GNUC__) || defined(__clang__)
#define P2MB_API __attribute__((visibility("default")))
#else
#define P2MB_API
#endif
#endif

/* ---- small string helpers (no libc) ------------------------------------- */

static size_t b_strlen(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

static int b_streq(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* Appends s to dst (capacity cap, kept NUL-terminated, cut when full). */
static void b_cat(char *dst, size_t cap, const char *s)
{
    size_t n = b_strlen(dst);
    while (*s != '\0' && n + 1 < cap)
        dst[n++] = *s++;
    dst[n] = '\0';
}

static void b_cat_uint(char *dst, size_t cap, unsigned long long v)
{
    char tmp[24];
    size_t i = sizeof tmp - 1;
    tmp[i] = '\0';
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    b_cat(dst, cap, tmp + i);
}

/* ---- JSON tree in caller memory ----------------------------------------- */

enum { J_NULL, J_FALSE, J_TRUE, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

typedef struct jnode {
    int type;
    const char *s;         /* STRING: decoded, NUL-terminated; NUMBER: its text */
    size_t n;              /* length of s; ARRAY/OBJECT: number of children */
    const char *key;       /* member of an object: its key */
    size_t off;            /* byte offset of the value in the JSON text */
    struct jnode *child;   /* first element or member */
    struct jnode *next;
} jnode;

typedef struct bctx {
    unsigned char *mem;
    size_t cap, used;
    char *text;            /* copy of the JSON, decoded in place */
    size_t len, pos;
    int depth;
    p2m_error *err;
} bctx;

static void *b_alloc(bctx *c, size_t n)
{
    size_t at = (c->used + 7u) & ~(size_t)7u;
    if (at > c->cap || c->cap - at < n)
        return NULL;
    c->used = at + n;
    P2M_MEMSET(c->mem + at, 0, n);
    return c->mem + at;
}

static p2m_status b_fail(bctx *c, p2m_status st, const char *field, const char *m1,
                         const char *m2, const char *m3)
{
    if (c->err != NULL) {
        c->err->status = st;
        c->err->field[0] = '\0';
        c->err->message[0] = '\0';
        if (field != NULL)
            b_cat(c->err->field, sizeof c->err->field, field);
        if (m1 != NULL)
            b_cat(c->err->message, sizeof c->err->message, m1);
        if (m2 != NULL)
            b_cat(c->err->message, sizeof c->err->message, m2);
        if (m3 != NULL)
            b_cat(c->err->message, sizeof c->err->message, m3);
    }
    return st;
}

static p2m_status j_syntax(bctx *c, const char *what)
{
    b_fail(c, P2M_ERR_CONFIG, "", "JSON configuration: ", what, " (at byte ");
    if (c->err != NULL) {
        c->err->offset = c->pos;
        b_cat_uint(c->err->message, sizeof c->err->message, c->pos);
        b_cat(c->err->message, sizeof c->err->message, ")");
    }
    return P2M_ERR_CONFIG;
}

static void j_ws(bctx *c)
{
    while (c->pos < c->len && (c->text[c->pos] == ' ' || c->text[c->pos] == '\t' ||
                               c->text[c->pos] == '\n' || c->text[c->pos] == '\r'))
        c->pos++;
}

static int j_hex(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Decodes the string at c->pos (on its opening quote) in place; *out gets
   the decoded, NUL-terminated text, which never outgrows the encoded one. */
static p2m_status j_string(bctx *c, const char **out, size_t *out_len)
{
    char *dst = c->text + c->pos + 1, *start = dst;
    c->pos++;
    for (;;) {
        unsigned char ch;
        if (c->pos >= c->len)
            return j_syntax(c, "unterminated string");
        ch = (unsigned char)c->text[c->pos];
        if (ch == '"')
            break;
        if (ch < 0x20)
            return j_syntax(c, "control character in a string (escape it)");
        if (ch != '\\') {
            *dst++ = (char)ch;
            c->pos++;
            continue;
        }
        if (c->pos + 1 >= c->len)
            return j_syntax(c, "unterminated string");
        ch = (unsigned char)c->text[c->pos + 1];
        c->pos += 2;
        switch (ch) {
        case '"': *dst++ = '"'; break;
        case '\\': *dst++ = '\\'; break;
        case '/': *dst++ = '/'; break;
        case 'b': *dst++ = '\b'; break;
        case 'f': *dst++ = '\f'; break;
        case 'n': *dst++ = '\n'; break;
        case 'r': *dst++ = '\r'; break;
        case 't': *dst++ = '\t'; break;
        case 'u': {
            unsigned long cp = 0;
            int i;
            if (c->pos + 4 > c->len)
                return j_syntax(c, "\\u needs four hex digits");
            for (i = 0; i < 4; i++) {
                int h = j_hex(c->text[c->pos + (size_t)i]);
                if (h < 0)
                    return j_syntax(c, "\\u needs four hex digits");
                cp = cp * 16 + (unsigned long)h;
            }
            c->pos += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) { /* a surrogate pair: 12 bytes in, 4 out */
                unsigned long lo = 0;
                if (c->pos + 6 > c->len || c->text[c->pos] != '\\' ||
                    c->text[c->pos + 1] != 'u')
                    return j_syntax(c, "unpaired surrogate in \\u escape");
                for (i = 0; i < 4; i++) {
                    int h = j_hex(c->text[c->pos + 2 + (size_t)i]);
                    if (h < 0)
                        return j_syntax(c, "\\u needs four hex digits");
                    lo = lo * 16 + (unsigned long)h;
                }
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return j_syntax(c, "unpaired surrogate in \\u escape");
                c->pos += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return j_syntax(c, "unpaired surrogate in \\u escape");
            }
            if (cp == 0)
                return j_syntax(c, "\\u0000: a configuration string cannot hold NUL");
            if (cp < 0x80) {
                *dst++ = (char)cp;
            } else if (cp < 0x800) {
                *dst++ = (char)(0xC0 | (cp >> 6));
                *dst++ = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *dst++ = (char)(0xE0 | (cp >> 12));
                *dst++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *dst++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *dst++ = (char)(0xF0 | (cp >> 18));
                *dst++ = (char)(0x80 | ((cp >> 12) & 0x3F));
                *dst++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *dst++ = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default:
            c->pos -= 1;
            return j_syntax(c, "unknown escape in a string");
        }
    }
    *dst = '\0'; /* at or before the closing quote */
    c->pos++;
    *out = start;
    *out_len = (size_t)(dst - start);
    return P2M_OK;
}

static p2m_status j_value(bctx *c, jnode **out);

static p2m_status j_number(bctx *c, jnode *n)
{
    size_t start = c->pos;
    if (c->pos < c->len && c->text[c->pos] == '-')
        c->pos++;
    if (c->pos >= c->len || c->text[c->pos] < '0' || c->text[c->pos] > '9')
        return j_syntax(c, "expected a value");
    if (c->text[c->pos] == '0')
        c->pos++;
    else
        while (c->pos < c->len && c->text[c->pos] >= '0' && c->text[c->pos] <= '9')
            c->pos++;
    if (c->pos < c->len && c->text[c->pos] == '.') {
        c->pos++;
        if (c->pos >= c->len || c->text[c->pos] < '0' || c->text[c->pos] > '9')
            return j_syntax(c, "expected a digit after '.'");
        while (c->pos < c->len && c->text[c->pos] >= '0' && c->text[c->pos] <= '9')
            c->pos++;
    }
    if (c->pos < c->len && (c->text[c->pos] == 'e' || c->text[c->pos] == 'E')) {
        c->pos++;
        if (c->pos < c->len && (c->text[c->pos] == '+' || c->text[c->pos] == '-'))
            c->pos++;
        if (c->pos >= c->len || c->text[c->pos] < '0' || c->text[c->pos] > '9')
            return j_syntax(c, "expected a digit in the exponent");
        while (c->pos < c->len && c->text[c->pos] >= '0' && c->text[c->pos] <= '9')
            c->pos++;
    }
    n->type = J_NUMBER;
    n->s = c->text + start;
    n->n = c->pos - start;
    return P2M_OK;
}

static int j_word(bctx *c, const char *w)
{
    size_t n = b_strlen(w), i;
    if (c->len - c->pos < n)
        return 0;
    for (i = 0; i < n; i++)
        if (c->text[c->pos + i] != w[i])
            return 0;
    c->pos += n;
    return 1;
}

static p2m_status j_value(bctx *c, jnode **out)
{
    jnode *n, **tail;
    char ch;
    p2m_status st;
    j_ws(c);
    if (c->pos >= c->len)
        return j_syntax(c, "unexpected end of text");
    n = (jnode *)b_alloc(c, sizeof *n);
    if (n == NULL)
        return b_fail(c, P2M_ERR_MEMORY, "", "scratch memory too small for the configuration",
                      NULL, NULL);
    n->off = c->pos;
    *out = n;
    ch = c->text[c->pos];
    if (ch == '{' || ch == '[') {
        char close = ch == '{' ? '}' : ']';
        if (++c->depth > 32)
            return j_syntax(c, "nested deeper than 32 levels");
        n->type = ch == '{' ? J_OBJECT : J_ARRAY;
        c->pos++;
        tail = &n->child;
        j_ws(c);
        if (c->pos < c->len && c->text[c->pos] == close) {
            c->pos++;
            c->depth--;
            return P2M_OK;
        }
        for (;;) {
            const char *key = NULL;
            size_t key_len, key_at;
            jnode *item = NULL;
            j_ws(c);
            if (n->type == J_OBJECT) {
                jnode *m;
                if (c->pos >= c->len || c->text[c->pos] != '"')
                    return j_syntax(c, "expected a key in double quotes");
                key_at = c->pos;
                if ((st = j_string(c, &key, &key_len)) != P2M_OK)
                    return st;
                for (m = n->child; m != NULL; m = m->next)
                    if (b_streq(m->key, key)) {
                        c->pos = key_at;
                        return j_syntax(c, "a key given twice in one object");
                    }
                j_ws(c);
                if (c->pos >= c->len || c->text[c->pos] != ':')
                    return j_syntax(c, "expected ':' after the key");
                c->pos++;
            }
            if ((st = j_value(c, &item)) != P2M_OK || item == NULL)
                return st != P2M_OK ? st : j_syntax(c, "expected a value");
            item->key = key;
            *tail = item;
            tail = &item->next;
            n->n++;
            j_ws(c);
            if (c->pos < c->len && c->text[c->pos] == ',') {
                c->pos++;
                continue;
            }
            if (c->pos < c->len && c->text[c->pos] == close) {
                c->pos++;
                c->depth--;
                return P2M_OK;
            }
            return j_syntax(c, n->type == J_OBJECT ? "expected ',' or '}'"
                                                   : "expected ',' or ']'");
        }
    }
    if (ch == '"') {
        n->type = J_STRING;
        return j_string(c, &n->s, &n->n);
    }
    if (j_word(c, "true")) {
        n->type = J_TRUE;
        n->s = "true";
        n->n = 4;
        return P2M_OK;
    }
    if (j_word(c, "false")) {
        n->type = J_FALSE;
        n->s = "false";
        n->n = 5;
        return P2M_OK;
    }
    if (j_word(c, "null")) {
        n->type = J_NULL;
        return P2M_OK;
    }
    return j_number(c, n);
}

/* ---- configuration from the tree ---------------------------------------- */

#define B_PATH 160

static void b_join(char *dst, const char *parent, const char *key)
{
    dst[0] = '\0';
    if (parent[0] != '\0') {
        b_cat(dst, B_PATH, parent);
        b_cat(dst, B_PATH, ".");
    }
    b_cat(dst, B_PATH, key);
}

static void b_join_index(char *dst, const char *parent, size_t i)
{
    dst[0] = '\0';
    b_cat(dst, B_PATH, parent);
    b_cat(dst, B_PATH, "[");
    b_cat_uint(dst, B_PATH, i);
    b_cat(dst, B_PATH, "]");
}

static const char *j_kind(const jnode *n)
{
    switch (n->type) {
    case J_NULL: return "null";
    case J_FALSE: case J_TRUE: return "a boolean";
    case J_NUMBER: return "a number";
    case J_STRING: return "a string";
    case J_ARRAY: return "a list";
    default: return "a map";
    }
}

/* The member key of object n; NULL when absent or null (null counts as absent,
   as an empty YAML value does). */
static jnode *j_get(const jnode *n, const char *key)
{
    jnode *m;
    for (m = n->child; m != NULL; m = m->next)
        if (b_streq(m->key, key))
            return m->type == J_NULL ? NULL : m;
    return NULL;
}

static int j_has(const jnode *n, const char *key)
{
    jnode *m;
    for (m = n->child; m != NULL; m = m->next)
        if (b_streq(m->key, key))
            return 1;
    return 0;
}

static p2m_status b_expect(bctx *c, const char *path, const jnode *n, int type,
                           const char *what)
{
    if (n->type == type)
        return P2M_OK;
    if (c->err != NULL)
        c->err->offset = n->off;
    b_fail(c, P2M_ERR_CONFIG, path, "expected ", what, ", found ");
    if (c->err != NULL)
        b_cat(c->err->message, sizeof c->err->message, j_kind(n));
    return P2M_ERR_CONFIG;
}

static p2m_status b_check_keys(bctx *c, const char *path, const jnode *n,
                               const char *const *known)
{
    jnode *m;
    p2m_status st = b_expect(c, path, n, J_OBJECT, "a map");
    if (st != P2M_OK)
        return st;
    for (m = n->child; m != NULL; m = m->next) {
        size_t i;
        int ok = 0;
        for (i = 0; known[i] != NULL; i++)
            if (b_streq(m->key, known[i]))
                ok = 1;
        if (!ok) {
            char sub[B_PATH];
            b_join(sub, path, m->key);
            if (c->err != NULL) {
                c->err->offset = m->off;
                st = b_fail(c, P2M_ERR_CONFIG, sub, "unknown key (known: ", NULL, NULL);
                for (i = 0; known[i] != NULL; i++) {
                    if (i > 0)
                        b_cat(c->err->message, sizeof c->err->message, ", ");
                    b_cat(c->err->message, sizeof c->err->message, known[i]);
                }
                b_cat(c->err->message, sizeof c->err->message, ")");
                return st;
            }
            return P2M_ERR_CONFIG;
        }
    }
    return P2M_OK;
}

/* A string setting; numbers and booleans count by their text, as the YAML
   file's unquoted scalars do (unit: 1). */
static p2m_status b_string(bctx *c, const char *path, jnode *n, const char **out)
{
    if (n == NULL)
        return P2M_OK;
    if (n->type == J_NUMBER || n->type == J_TRUE || n->type == J_FALSE) {
        /* NUL-terminate a copy of the number's text */
        char *s = (char *)b_alloc(c, n->n + 1);
        if (s == NULL)
            return b_fail(c, P2M_ERR_MEMORY, path, "scratch memory too small", NULL, NULL);
        P2M_MEMCPY(s, n->s, n->n);
        s[n->n] = '\0';
        *out = s;
        return P2M_OK;
    }
    if (n->type != J_STRING)
        return b_expect(c, path, n, J_STRING, "a string");
    *out = n->s;
    return P2M_OK;
}

static p2m_status b_bool(bctx *c, const char *path, jnode *n, int *out)
{
    if (n == NULL)
        return P2M_OK;
    if (n->type == J_TRUE || n->type == J_FALSE) {
        *out = n->type == J_TRUE;
        return P2M_OK;
    }
    return b_expect(c, path, n, J_TRUE, "true or false");
}

static p2m_status b_uint_text(bctx *c, const char *path, const jnode *n, const char *s,
                              size_t len, unsigned long long max, unsigned long long *out)
{
    unsigned long long x = 0;
    size_t i;
    if (len == 0)
        goto bad;
    for (i = 0; i < len; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9')
            goto bad;
        d = (unsigned)(s[i] - '0');
        if (x > (max - d) / 10) {
            if (c->err != NULL)
                c->err->offset = n->off;
            b_fail(c, P2M_ERR_CONFIG, path, "too large (at most ", NULL, NULL);
            if (c->err != NULL) {
                b_cat_uint(c->err->message, sizeof c->err->message, max);
                b_cat(c->err->message, sizeof c->err->message, ")");
            }
            return P2M_ERR_CONFIG;
        }
        x = x * 10 + d;
    }
    *out = x;
    return P2M_OK;
bad:
    if (c->err != NULL)
        c->err->offset = n->off;
    return b_fail(c, P2M_ERR_CONFIG, path, "expected a non-negative integer", NULL, NULL);
}

static p2m_status b_uint(bctx *c, const char *path, jnode *n, unsigned long long max,
                         unsigned long long *out)
{
    if (n == NULL)
        return P2M_OK;
    if (n->type != J_NUMBER)
        return b_expect(c, path, n, J_NUMBER, "an integer");
    return b_uint_text(c, path, n, n->s, n->n, max, out);
}

/* A number as a double. Exact for every value with at most 15 significant
   digits and a decimal exponent within +-22 (the values a scale factor
   takes: 1024, 0.001, 1e-9); others are refused rather than rounded twice. */
static p2m_status b_double(bctx *c, const char *path, jnode *n, double *out)
{
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
                                 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
                                 1e20, 1e21, 1e22};
    unsigned long long mant = 0;
    int digits = 0, exp10 = 0, neg = 0, eneg = 0, e = 0;
    size_t i = 0;
    double d;
    if (n == NULL)
        return P2M_OK;
    if (n->type != J_NUMBER)
        return b_expect(c, path, n, J_NUMBER, "a number");
    if (n->s[0] == '-') {
        neg = 1;
        i++;
    }
    for (; i < n->n && n->s[i] >= '0' && n->s[i] <= '9'; i++) {
        if (mant == 0 && n->s[i] == '0')
            continue;
        if (++digits > 15)
            goto unsupported;
        mant = mant * 10 + (unsigned long long)(n->s[i] - '0');
    }
    if (i < n->n && n->s[i] == '.')
        for (i++; i < n->n && n->s[i] >= '0' && n->s[i] <= '9'; i++) {
            exp10--;
            if (mant == 0 && n->s[i] == '0')
                continue;
            if (++digits > 15)
                goto unsupported;
            mant = mant * 10 + (unsigned long long)(n->s[i] - '0');
        }
    if (i < n->n && (n->s[i] == 'e' || n->s[i] == 'E')) {
        i++;
        if (n->s[i] == '+' || n->s[i] == '-')
            eneg = n->s[i++] == '-';
        for (; i < n->n; i++) {
            if (e > 1000)
                goto unsupported;
            e = e * 10 + (n->s[i] - '0');
        }
        exp10 += eneg ? -e : e;
    }
    if (mant == 0)
        exp10 = 0;
    if (exp10 < -22 || exp10 > 22)
        goto unsupported;
    d = (double)mant;
    d = exp10 < 0 ? d / p10[-exp10] : d * p10[exp10];
    *out = neg ? -d : d;
    return P2M_OK;
unsupported:
    if (c->err != NULL)
        c->err->offset = n->off;
    return b_fail(c, P2M_ERR_CONFIG, path,
                  "give the number with at most 15 significant digits and a decimal "
                  "exponent within -22..22", NULL, NULL);
}

static p2m_status b_enum(bctx *c, const char *path, jnode *n, const char *const *names,
                         const int *values, int *out)
{
    const char *s = NULL;
    size_t i;
    p2m_status st;
    if (n == NULL)
        return P2M_OK;
    if ((st = b_string(c, path, n, &s)) != P2M_OK)
        return st;
    for (i = 0; names[i] != NULL; i++)
        if (b_streq(s, names[i])) {
            *out = values[i];
            return P2M_OK;
        }
    if (c->err != NULL) {
        c->err->offset = n->off;
        b_fail(c, P2M_ERR_CONFIG, path, "expected one of ", NULL, NULL);
        for (i = 0; names[i] != NULL; i++) {
            if (i > 0)
                b_cat(c->err->message, sizeof c->err->message, ", ");
            b_cat(c->err->message, sizeof c->err->message, names[i]);
        }
        b_cat(c->err->message, sizeof c->err->message, "; found '");
        b_cat(c->err->message, sizeof c->err->message, s);
        b_cat(c->err->message, sizeof c->err->message, "'");
    }
    return P2M_ERR_CONFIG;
}

static p2m_status b_string_list(bctx *c, const char *path, jnode *n,
                                const char *const **out, size_t *count)
{
    const char **list;
    jnode *item;
    size_t i = 0;
    p2m_status st;
    if (n == NULL)
        return P2M_OK;
    if ((st = b_expect(c, path, n, J_ARRAY, "a list of strings")) != P2M_OK)
        return st;
    list = (const char **)b_alloc(c, (n->n + 1) * sizeof *list);
    if (list == NULL)
        return b_fail(c, P2M_ERR_MEMORY, path, "scratch memory too small", NULL, NULL);
    for (item = n->child; item != NULL; item = item->next, i++) {
        char sub[B_PATH];
        b_join_index(sub, path, i);
        if (item->type == J_NULL) {
            if (c->err != NULL)
                c->err->offset = item->off;
            return b_fail(c, P2M_ERR_CONFIG, sub, "empty entry", NULL, NULL);
        }
        if ((st = b_string(c, sub, item, &list[i])) != P2M_OK)
            return st;
    }
    *out = list;
    *count = n->n;
    return P2M_OK;
}

static p2m_status b_metric(bctx *c, const char *path, jnode *n, p2m_metric_config *m,
                           p2m_config *cfg, int is_function)
{
    static const char *const keys[] = {"enabled", "metric_name", "unit", "description", NULL};
    static const char *const fkeys[] = {"enabled", "metric_name", "unit", "description",
                                        "mode", "attribute_key", NULL};
    static const char *const modes[] = {"self", "inclusive", NULL};
    static const int mode_values[] = {P2M_FUNCTION_SELF, P2M_FUNCTION_INCLUSIVE};
    char sub[B_PATH];
    p2m_status st;
    if (n == NULL)
        return P2M_OK;
    if ((st = b_check_keys(c, path, n, is_function ? fkeys : keys)) != P2M_OK)
        return st;
    b_join(sub, path, "enabled");
    if ((st = b_bool(c, sub, j_get(n, "enabled"), &m->enabled)) != P2M_OK)
        return st;
    b_join(sub, path, "metric_name");
    if ((st = b_string(c, sub, j_get(n, "metric_name"), &m->name)) != P2M_OK)
        return st;
    b_join(sub, path, "unit");
    if ((st = b_string(c, sub, j_get(n, "unit"), &m->unit)) != P2M_OK)
        return st;
    b_join(sub, path, "description");
    if ((st = b_string(c, sub, j_get(n, "description"), &m->description)) != P2M_OK)
        return st;
    if (is_function) {
        int mode = (int)cfg->function_mode;
        b_join(sub, path, "mode");
        if ((st = b_enum(c, sub, j_get(n, "mode"), modes, mode_values, &mode)) != P2M_OK)
            return st;
        cfg->function_mode = (p2m_function_mode)mode;
        b_join(sub, path, "attribute_key");
        if ((st = b_string(c, sub, j_get(n, "attribute_key"),
                           &cfg->function_attribute_key)) != P2M_OK)
            return st;
    }
    return P2M_OK;
}

static p2m_status b_missing(bctx *c, const char *path, const jnode *where, const char *why)
{
    if (c->err != NULL)
        c->err->offset = where->off;
    return b_fail(c, P2M_ERR_CONFIG, path, why, NULL, NULL);
}

static p2m_status b_extra(bctx *c, const char *path, jnode *n, p2m_config *cfg)
{
    static const char *const keys[] = {"metric_name", "unit", "description", "sample_types",
                                       "stack_pattern", NULL};
    p2m_extra_metric *ex;
    jnode *item;
    size_t i = 0;
    p2m_status st;
    if (n == NULL)
        return P2M_OK;
    if ((st = b_expect(c, path, n, J_ARRAY, "a list")) != P2M_OK)
        return st;
    if (n->n > P2M_MAX_EXTRA)
        return b_missing(c, path, n, "too many declared metrics for this build "
                         "(P2M_MAX_EXTRA)");
    ex = (p2m_extra_metric *)b_alloc(c, (n->n + 1) * sizeof *ex);
    if (ex == NULL)
        return b_fail(c, P2M_ERR_MEMORY, path, "scratch memory too small", NULL, NULL);
    for (item = n->child; item != NULL; item = item->next, i++) {
        char ip[B_PATH], sub[B_PATH];
        jnode *v;
        b_join_index(ip, path, i);
        if (item->type == J_NULL)
            return b_missing(c, ip, item, "empty entry");
        if ((st = b_check_keys(c, ip, item, keys)) != P2M_OK)
            return st;
        b_join(sub, ip, "stack_pattern");
        if ((st = b_string(c, sub, j_get(item, "stack_pattern"), &ex[i].stack_pattern)) !=
            P2M_OK)
            return st;
        b_join(sub, ip, "metric_name");
        if ((st = b_string(c, sub, j_get(item, "metric_name"), &ex[i].name)) != P2M_OK)
            return st;
        if (ex[i].name == NULL)
            return b_missing(c, sub, item, "missing (the name of the declared metric)");
        b_join(sub, ip, "unit");
        if ((st = b_string(c, sub, j_get(item, "unit"), &ex[i].unit)) != P2M_OK)
            return st;
        b_join(sub, ip, "description");
        if ((st = b_string(c, sub, j_get(item, "description"), &ex[i].description)) != P2M_OK)
            return st;
        b_join(sub, ip, "sample_types");
        v = j_get(item, "sample_types");
        if (v == NULL)
            return b_missing(c, sub, item, "missing (a list of \"type/unit\" sample types, "
                             "e.g. [\"off_cpu/nanoseconds\"])");
        if ((st = b_string_list(c, sub, v, &ex[i].sample_types, &ex[i].n_sample_types)) !=
            P2M_OK)
            return st;
        if (ex[i].n_sample_types == 0)
            return b_missing(c, sub, v, "empty (give at least one \"type/unit\" sample type)");
    }
    cfg->extra = ex;
    cfg->n_extra = n->n;
    return P2M_OK;
}

static p2m_status b_metrics(bctx *c, const char *path, jnode *n, p2m_config *cfg)
{
    static const char *const keys[] = {"cpu", "memory", "function", "extra", NULL};
    char sub[B_PATH];
    p2m_status st;
    if (n == NULL)
        return P2M_OK;
    if ((st = b_check_keys(c, path, n, keys)) != P2M_OK)
        return st;
    b_join(sub, path, "extra");
    if ((st = b_extra(c, sub, j_get(n, "extra"), cfg)) != P2M_OK)
        return st;
    b_join(sub, path, "cpu");
    if ((st = b_metric(c, sub, j_get(n, "cpu"), &cfg->cpu, cfg, 0)) != P2M_OK)
        return st;
    b_join(sub, path, "memory");
    if ((st = b_metric(c, sub, j_get(n, "memory"), &cfg->memory, cfg, 0)) != P2M_OK)
        return st;
    b_join(sub, path, "function");
    return b_metric(c, sub, j_get(n, "function"), &cfg->function, cfg, 1);
}

static p2m_status b_filter(bctx *c, const char *path, jnode *n, p2m_filter *f, int with_keys)
{
    static const char *const keys[] = {"enabled", "pattern", "patterns", NULL};
    static const char *const pkeys[] = {"enabled", "pattern", "patterns", "keys", NULL};
    char sub[B_PATH];
    p2m_status st;
    if (n == NULL)
        return P2M_OK;
    if ((st = b_check_keys(c, path, n, with_keys ? pkeys : keys)) != P2M_OK)
        return st;
    b_join(sub, path, "enabled");
    if ((st = b_bool(c, sub, j_get(n, "enabled"), &f->enabled)) != P2M_OK)
        return st;
    b_join(sub, path, "pattern");
    if ((st = b_string(c, sub, j_get(n, "pattern"), &f->pattern)) != P2M_OK)
        return st;
    b_join(sub, path, "patterns");
    if ((st = b_string_list(c, sub, j_get(n, "patterns"), &f->patterns, &f->n_patterns)) !=
        P2M_OK)
        return st;
    b_join(sub, path, "keys");
    return b_string_list(c, sub, j_get(n, "keys"), &f->keys, &f->n_keys);
}

/* Which fields each rule type reads, as the YAML loader checks them: a field
   given to a type that ignores it is an error. */
static p2m_status b_rule(bctx *c, const char *path, jnode *n, p2m_rule *r)
{
    static const char *const keys[] = {"key", "type", "value", "from", "source",
                                       "index", "default", NULL};
    static const char *const types[] = {"literal", "attribute", "regex", "string_table",
                                        "frame", NULL};
    static const int type_values[] = {P2M_RULE_LITERAL, P2M_RULE_ATTRIBUTE, P2M_RULE_REGEX,
                                      P2M_RULE_STRING_TABLE, P2M_RULE_FRAME};
    /* for each type: value, from, source, index (1 = needed, 2 = optional) */
    static const int uses[5][4] = {
        {1, 0, 0, 0}, {0, 1, 0, 0}, {1, 0, 2, 0}, {0, 0, 0, 1}, {0, 1, 0, 0}};
    static const char *const fields[4] = {"value", "from", "source", "index"};
    /* the properties of the stack a frame rule reads */
    static const char *const froms[] = {"type", "kind", "library", "function", "syscall", NULL};
    static const int from_values[] = {0, 1, 2, 3, 4};
    char sub[B_PATH];
    int type = P2M_RULE_LITERAL, i, value_is_index, frame = 0;
    unsigned long long index = 0;
    jnode *tn;
    p2m_status st;
    if ((st = b_check_keys(c, path, n, keys)) != P2M_OK)
        return st;
    b_join(sub, path, "key");
    if ((st = b_string(c, sub, j_get(n, "key"), &r->key)) != P2M_OK)
        return st;
    if (r->key == NULL)
        return b_missing(c, sub, n, "missing (the attribute key to write)");
    b_join(sub, path, "type");
    tn = j_get(n, "type");
    if ((st = b_enum(c, sub, tn, types, type_values, &type)) != P2M_OK)
        return st;
    r->type = (p2m_rule_type)type;
    value_is_index = type == P2M_RULE_STRING_TABLE && j_get(n, "value") != NULL;
    if (value_is_index && j_get(n, "index") != NULL) {
        b_join(sub, path, "value");
        return b_missing(c, sub, j_get(n, "value"),
                         "give index or value (the index, as the Go connector reads it), "
                         "not both");
    }
    for (i = 0; i < 4; i++) {
        jnode *v = j_get(n, fields[i]);
        b_join(sub, path, fields[i]);
        if (value_is_index && (i == 0 || i == 3))
            continue;
        if (v == NULL && uses[type][i] == 1) {
            if (tn == NULL)
                return b_missing(c, sub, n, "missing (a rule without type is a literal, "
                                 "which needs value)");
            if (c->err != NULL)
                c->err->offset = n->off;
            return b_fail(c, P2M_ERR_CONFIG, sub, "missing (type ", types[type],
                          " needs it)");
        }
        if (v != NULL && uses[type][i] == 0) {
            if (tn == NULL)
                return b_missing(c, sub, v, "not used by a literal (a rule without type is "
                                 "a literal; give type)");
            if (c->err != NULL)
                c->err->offset = v->off;
            return b_fail(c, P2M_ERR_CONFIG, sub, "not used by type ", types[type], NULL);
        }
    }
    if (value_is_index) { /* quoted or not: the Go connector reads a string */
        jnode *v = j_get(n, "value");
        b_join(sub, path, "value");
        if (v->type != J_STRING && v->type != J_NUMBER)
            return b_expect(c, sub, v, J_STRING, "the index into the string table");
        if (b_uint_text(c, sub, v, v->s, v->n, 0xffffffffull, &index) != P2M_OK)
            return b_missing(c, sub, v, "a string_table rule takes the index into the "
                             "string table (0 to 4294967295)");
        r->index = (uint32_t)index;
    }
    b_join(sub, path, "value");
    if (!value_is_index && (st = b_string(c, sub, j_get(n, "value"), &r->value)) != P2M_OK)
        return st;
    b_join(sub, path, "from");
    if (type == P2M_RULE_FRAME) {
        if ((st = b_enum(c, sub, j_get(n, "from"), froms, from_values, &frame)) != P2M_OK)
            return st;
        r->from = froms[frame];
    } else if ((st = b_string(c, sub, j_get(n, "from"), &r->from)) != P2M_OK) {
        return st;
    }
    b_join(sub, path, "source");
    if ((st = b_string(c, sub, j_get(n, "source"), &r->source)) != P2M_OK)
        return st;
    b_join(sub, path, "index");
    if (!value_is_index) {
        if ((st = b_uint(c, sub, j_get(n, "index"), 0xffffffffull, &index)) != P2M_OK)
            return st;
        r->index = (uint32_t)index;
    }
    b_join(sub, path, "default");
    return b_string(c, sub, j_get(n, "default"), &r->default_value);
}

static p2m_status b_attributes(bctx *c, const char *path, jnode *n, p2m_config *cfg)
{
    p2m_rule *rules;
    jnode *item;
    size_t i = 0;
    p2m_status st;
    if (n == NULL)
        return P2M_OK; /* absent: the default rules */
    if ((st = b_expect(c, path, n, J_ARRAY, "a list")) != P2M_OK)
        return st;
    /* non-NULL even when empty: an empty list means "no attributes" */
    rules = (p2m_rule *)b_alloc(c, (n->n + 1) * sizeof *rules);
    if (rules == NULL)
        return b_fail(c, P2M_ERR_MEMORY, path, "scratch memory too small", NULL, NULL);
    for (item = n->child; item != NULL; item = item->next, i++) {
        char sub[B_PATH];
        b_join_index(sub, path, i);
        if (item->type == J_NULL)
            return b_missing(c, sub, item, "empty entry");
        if ((st = b_rule(c, sub, item, &rules[i])) != P2M_OK)
            return st;
    }
    cfg->attributes = rules;
    cfg->n_attributes = n->n;
    return P2M_OK;
}

static p2m_status b_type_rules(bctx *c, const char *path, jnode *n, p2m_config *cfg)
{
    static const char *const keys[] = {"type", "unit", "metric", "scale", NULL};
    static const char *const metrics[] = {"cpu", "memory", "none", NULL};
    static const int metric_values[] = {P2M_METRIC_CPU, P2M_METRIC_MEMORY, P2M_METRIC_NONE};
    p2m_type_rule *rules;
    jnode *item;
    size_t i = 0;
    p2m_status st;
    if (n == NULL)
        return P2M_OK;
    if ((st = b_expect(c, path, n, J_ARRAY, "a list")) != P2M_OK)
        return st;
    rules = (p2m_type_rule *)b_alloc(c, (n->n + 1) * sizeof *rules);
    if (rules == NULL)
        return b_fail(c, P2M_ERR_MEMORY, path, "scratch memory too small", NULL, NULL);
    for (item = n->child; item != NULL; item = item->next, i++) {
        char ip[B_PATH], sub[B_PATH];
        int metric = -1;
        b_join_index(ip, path, i);
        if (item->type == J_NULL)
            return b_missing(c, ip, item, "empty entry");
        if ((st = b_check_keys(c, ip, item, keys)) != P2M_OK)
            return st;
        rules[i].scale = 1.0;
        b_join(sub, ip, "type");
        if ((st = b_string(c, sub, j_get(item, "type"), &rules[i].type)) != P2M_OK)
            return st;
        if (rules[i].type == NULL)
            return b_missing(c, sub, item, "missing");
        b_join(sub, ip, "unit");
        if ((st = b_string(c, sub, j_get(item, "unit"), &rules[i].unit)) != P2M_OK)
            return st;
        if (rules[i].unit == NULL)
            return b_missing(c, sub, item, "missing");
        b_join(sub, ip, "metric");
        if (j_get(item, "metric") == NULL)
            return b_missing(c, sub, item, "missing (cpu, memory or none)");
        if ((st = b_enum(c, sub, j_get(item, "metric"), metrics, metric_values, &metric)) !=
            P2M_OK)
            return st;
        rules[i].metric = (p2m_metric_kind)metric;
        b_join(sub, ip, "scale");
        if ((st = b_double(c, sub, j_get(item, "scale"), &rules[i].scale)) != P2M_OK)
            return st;
    }
    cfg->type_rules = rules;
    cfg->n_type_rules = n->n;
    return P2M_OK;
}

/* The connector's own settings (the whole document, or
   connectors.profiletometrics of a Collector configuration). */
static p2m_status b_root(bctx *c, const char *path, jnode *n, p2m_config *cfg)
{
    static const char *const keys[] = {
        "metrics", "attributes", "process_filter", "thread_filter", "pattern_filter",
        "temporality", "max_series", "layout", "strict", "process_key", "thread_key",
        "type_rules", "state_max_series", "state_bytes", "stack_filter", NULL};
    static const char *const temporalities[] = {"delta", "cumulative", NULL};
    static const int temporality_values[] = {P2M_TEMPORALITY_DELTA,
                                             P2M_TEMPORALITY_CUMULATIVE};
    static const char *const layouts[] = {"auto", "v1.8", "v1.9", "v1.10", NULL};
    static const int layout_values[] = {P2M_LAYOUT_AUTO, P2M_LAYOUT_V1_8, P2M_LAYOUT_V1_9,
                                        P2M_LAYOUT_V1_10};
    char sub[B_PATH];
    int e;
    unsigned long long u;
    jnode *v;
    p2m_status st;
    if ((st = b_check_keys(c, path, n, keys)) != P2M_OK)
        return st;
    b_join(sub, path, "metrics");
    if ((st = b_metrics(c, sub, j_get(n, "metrics"), cfg)) != P2M_OK)
        return st;
    b_join(sub, path, "attributes");
    if ((st = b_attributes(c, sub, j_get(n, "attributes"), cfg)) != P2M_OK)
        return st;
    b_join(sub, path, "process_filter");
    if ((st = b_filter(c, sub, j_get(n, "process_filter"), &cfg->process_filter, 0)) != P2M_OK)
        return st;
    b_join(sub, path, "thread_filter");
    if ((st = b_filter(c, sub, j_get(n, "thread_filter"), &cfg->thread_filter, 0)) != P2M_OK)
        return st;
    b_join(sub, path, "pattern_filter");
    if ((st = b_filter(c, sub, j_get(n, "pattern_filter"), &cfg->pattern_filter, 1)) != P2M_OK)
        return st;
    /* the stack filter's subjects are the function names on the stack: no keys */
    b_join(sub, path, "stack_filter");
    v = j_get(n, "stack_filter");
    if (v != NULL && v->type == J_OBJECT && j_has(v, "keys")) {
        char keys_path[B_PATH];
        b_join(keys_path, sub, "keys");
        return b_missing(c, keys_path, j_get(v, "keys") ? j_get(v, "keys") : v, "not used by the stack filter (it matches "
                         "the function names on the stack; remove the key)");
    }
    if ((st = b_filter(c, sub, v, &cfg->stack_filter, 0)) != P2M_OK)
        return st;
    e = (int)cfg->temporality;
    b_join(sub, path, "temporality");
    if ((st = b_enum(c, sub, j_get(n, "temporality"), temporalities, temporality_values, &e)) !=
        P2M_OK)
        return st;
    cfg->temporality = (p2m_temporality)e;
    u = cfg->max_series;
    b_join(sub, path, "max_series");
    if ((st = b_uint(c, sub, j_get(n, "max_series"), 0xffffffffull, &u)) != P2M_OK)
        return st;
    cfg->max_series = (uint32_t)u;
    e = (int)cfg->layout;
    b_join(sub, path, "layout");
    if ((st = b_enum(c, sub, j_get(n, "layout"), layouts, layout_values, &e)) != P2M_OK)
        return st;
    cfg->layout = (p2m_layout)e;
    b_join(sub, path, "strict");
    if ((st = b_bool(c, sub, j_get(n, "strict"), &cfg->strict)) != P2M_OK)
        return st;
    b_join(sub, path, "process_key");
    if ((st = b_string(c, sub, j_get(n, "process_key"), &cfg->process_key)) != P2M_OK)
        return st;
    b_join(sub, path, "thread_key");
    if ((st = b_string(c, sub, j_get(n, "thread_key"), &cfg->thread_key)) != P2M_OK)
        return st;
    u = cfg->state_max_series;
    b_join(sub, path, "state_max_series");
    if ((st = b_uint(c, sub, j_get(n, "state_max_series"), 0xffffffffull, &u)) != P2M_OK)
        return st;
    cfg->state_max_series = (uint32_t)u;
    u = cfg->state_bytes;
    b_join(sub, path, "state_bytes");
    if ((st = b_uint(c, sub, j_get(n, "state_bytes"), (size_t)-1, &u)) != P2M_OK)
        return st;
    cfg->state_bytes = (size_t)u;
    b_join(sub, path, "type_rules");
    return b_type_rules(c, sub, j_get(n, "type_rules"), cfg);
}

/* A Collector configuration (top-level "connectors"): the settings of the
   one profiletometrics connector there is. */
static p2m_status b_document(bctx *c, jnode *root, p2m_config *cfg)
{
    jnode *conns, *m, *pick = NULL;
    size_t found = 0;
    char path[B_PATH];
    p2m_status st;
    if ((st = b_expect(c, "", root, J_OBJECT, "a map (the configuration's top level)")) !=
        P2M_OK)
        return st;
    conns = j_get(root, "connectors");
    if (conns == NULL)
        return b_root(c, "", root, cfg);
    if ((st = b_expect(c, "connectors", conns, J_OBJECT, "a map")) != P2M_OK)
        return st;
    for (m = conns->child; m != NULL; m = m->next) {
        const char *k = m->key, *p = "profiletometrics";
        while (*p != '\0' && *k == *p) {
            k++;
            p++;
        }
        if (*p == '\0' && (*k == '\0' || *k == '/')) {
            found++;
            pick = m;
        }
    }
    if (found == 0)
        return b_missing(c, "connectors", conns, "no profiletometrics connector");
    if (found > 1)
        return b_missing(c, "connectors", conns, "several profiletometrics connectors; "
                         "pass the settings of one of them");
    b_join(path, "connectors", pick->key);
    if (pick->type == J_NULL)
        return P2M_OK; /* an empty connector: all defaults */
    return b_root(c, path, pick, cfg);
}

/* ---- exported ----------------------------------------------------------- */

/* Scratch bytes p2mb_compile needs for a JSON text of json_len bytes: the
   copy of the text, at most one tree node per byte, and the configuration's
   arrays (one entry per node at most). */
P2MB_API size_t p2mb_scratch_size(size_t json_len)
{
    size_t per = sizeof(jnode) + sizeof(p2m_rule) + sizeof(const char *) + 16;
    return 256 + json_len + 8 + (json_len + 2) * per;
}

/* Parses the JSON configuration json[0..json_len), fills a p2m_config
   (defaults of p2m_config_init, overridden by the document) in scratch, and
   compiles it into engine_mem with p2m_engine_compile. engine_mem NULL or too
   small: P2M_ERR_MEMORY with err->needed, as p2m_engine_compile answers. The
   scratch memory may be reused once the call returns (the engine holds
   copies of every string). */
P2MB_API p2m_status p2mb_compile(const char *json, size_t json_len, void *scratch,
                                 size_t scratch_size, void *engine_mem, size_t engine_size,
                                 const p2m_engine **engine, p2m_error *err)
{
    bctx c;
    p2m_config *cfg;
    jnode *root = NULL;
    p2m_status st;
    if (err != NULL) {
        P2M_MEMSET(err, 0, sizeof *err);
    }
    if (json == NULL || scratch == NULL || engine == NULL) {
        if (err != NULL) {
            err->status = P2M_ERR_ARGUMENT;
            b_cat(err->message, sizeof err->message, "NULL argument");
        }
        return P2M_ERR_ARGUMENT;
    }
    P2M_MEMSET(&c, 0, sizeof c);
    c.mem = (unsigned char *)scratch;
    c.cap = scratch_size;
    c.err = err;
    c.text = (char *)b_alloc(&c, json_len + 1);
    cfg = (p2m_config *)b_alloc(&c, sizeof *cfg);
    if (c.text == NULL || cfg == NULL) {
        if (err != NULL)
            err->needed = p2mb_scratch_size(json_len);
        return b_fail(&c, P2M_ERR_MEMORY, "", "scratch memory too small (see "
                      "p2mb_scratch_size)", NULL, NULL);
    }
    P2M_MEMCPY(c.text, json, json_len);
    c.len = json_len;
    p2m_config_init(cfg);
    if ((st = j_value(&c, &root)) != P2M_OK) {
        if (st == P2M_ERR_MEMORY && err != NULL)
            err->needed = p2mb_scratch_size(json_len);
        return st;
    }
    j_ws(&c);
    if (c.pos != c.len)
        return j_syntax(&c, "text after the configuration's end");
    if ((st = b_document(&c, root, cfg)) != P2M_OK) {
        if (st == P2M_ERR_MEMORY && err != NULL)
            err->needed = p2mb_scratch_size(json_len);
        return st;
    }
    return p2m_engine_compile(cfg, engine_mem, engine_size, engine, err);
}

/* The fields of a p2m_stats as 64-bit values, in this order (the bindings
   name them in the same order): bytes_in, bytes_out, layout, resources,
   profiles, profiles_unclassified, samples, samples_kept, dropped_process,
   dropped_thread, dropped_pattern, empty_samples, invalid_references, series,
   overflow_samples, work_used, regex_searches, profiles_unfed, samples_unfed,
   layout_evidence, layout_conflict, dropped_stack. Writes up to cap; returns
   the count (22). */
P2MB_API size_t p2mb_stats_flat(const p2m_stats *s, uint64_t *out, size_t cap)
{
    uint64_t v[22];
    size_t i;
    v[0] = s->bytes_in;
    v[1] = s->bytes_out;
    v[2] = (uint64_t)s->layout;
    v[3] = s->resources;
    v[4] = s->profiles;
    v[5] = s->profiles_unclassified;
    v[6] = s->samples;
    v[7] = s->samples_kept;
    v[8] = s->dropped_process;
    v[9] = s->dropped_thread;
    v[10] = s->dropped_pattern;
    v[11] = s->empty_samples;
    v[12] = s->invalid_references;
    v[13] = s->series;
    v[14] = s->overflow_samples;
    v[15] = s->work_used;
    v[16] = s->regex_searches;
    v[17] = s->profiles_unfed;
    v[18] = s->samples_unfed;
    v[19] = (uint64_t)s->layout_evidence;
    v[20] = (uint64_t)s->layout_conflict;
    v[21] = s->dropped_stack;
    for (i = 0; i < 22 && i < cap; i++)
        out[i] = v[i];
    return 22;
}

/* Sizes of the public structs as this build lays them out, so a binding can
   check its own declarations against the library it loaded (1 p2m_error,
   2 p2m_stats, 3 p2m_options, 4 p2m_config, 5 p2m_attribute). */
P2MB_API size_t p2mb_sizeof(int which)
{
    switch (which) {
    case 1: return sizeof(p2m_error);
    case 2: return sizeof(p2m_stats);
    case 3: return sizeof(p2m_options);
    case 4: return sizeof(p2m_config);
    case 5: return sizeof(p2m_attribute);
    default: return 0;
    }
}

/* Offsets inside the public structs as this build lays them out, for
   bindings that write them byte by byte (the WebAssembly module checks its
   constants against these): 1 p2m_options.state, 2
   p2m_options.resource_attributes, 3 p2m_options.n_resource_attributes,
   4 p2m_attribute.value, 5 p2m_value.str, 6 p2m_value.i, 7 p2m_value.d,
   8 p2m_options.now_unix_nano, 9 p2m_prom_options.promote_all, 10
   p2m_prom_options.n_promote_keys. */
P2MB_API size_t p2mb_offsetof(int which)
{
    switch (which) {
    case 1: return offsetof(p2m_options, state);
    case 2: return offsetof(p2m_options, resource_attributes);
    case 3: return offsetof(p2m_options, n_resource_attributes);
    case 4: return offsetof(p2m_attribute, value);
    case 5: return offsetof(p2m_value, str);
    case 6: return offsetof(p2m_value, i);
    case 7: return offsetof(p2m_value, d);
    case 8: return offsetof(p2m_options, now_unix_nano);
#ifndef P2M_NO_PROM
    case 9: return offsetof(p2m_prom_options, promote_all);
    case 10: return offsetof(p2m_prom_options, n_promote_keys);
#endif
    default: return 0;
    }
}
