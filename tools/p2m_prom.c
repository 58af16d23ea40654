/* SPDX-License-Identifier: MIT
   p2m: the tool's side of `-f prom` (see p2m_prom.h): --promote-resource-attrs,
   the note on merged resources, and the sums of a stream. One request's text
   is p2m_write_prom's; a stream of them is added up here, message by
   message, with the same mapping (names, base units, labels, job/instance,
   target_info, otel_scope_*, promotion, one line per name and labels):
   delta values added up across messages, cumulative ones the latest total. */
#include "p2m_prom.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct family {
    char *name;
    char *help;
    int gauge;
    int is_double;
    double mul, div;   /* value in the base unit = value * mul / div */
} family;

typedef struct series {
    size_t family;
    char *labels;      /* canonical: name="value",... sorted by name */
    int64_t isum, imsg;
    double dsum, dmsg;
    unsigned long gen; /* message that last touched msg values */
    size_t owner;      /* resource identity (index + 1) that first fed it */
} series;

struct p2m_prom {
    family *fam;
    size_t n_fam, cap_fam;
    series *ser;
    size_t n_ser, cap_ser;
    size_t *hash;      /* series index + 1, open addressing */
    size_t hash_cap;
    unsigned long gen;
    size_t *touched;
    size_t n_touched, cap_touched;
    const p2m_prom_options *opt; /* promotion */
    char **res_ids;    /* every distinct resource seen: its attributes */
    unsigned char *res_merged;
    size_t n_res, cap_res;
};

static char *dup_buf(const p2m_outbuf *b)
{
    char *s = (char *)malloc(b->len + 1);
    if (s == NULL)
        return NULL;
    if (b->len)
        memcpy(s, b->data, b->len);
    s[b->len] = '\0';
    return s;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t c = *cap ? *cap : 16;
    void *q;
    if (need <= *cap)
        return 0;
    while (c < need)
        c *= 2;
    q = realloc(*p, c * elem);
    if (q == NULL)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

p2m_prom *p2m_prom_new(const p2m_prom_options *opt)
{
    p2m_prom *p = (p2m_prom *)calloc(1, sizeof(p2m_prom));
    if (p != NULL)
        p->opt = opt;
    return p;
}

void p2m_prom_free(p2m_prom *p)
{
    size_t i;
    if (p == NULL)
        return;
    for (i = 0; i < p->n_fam; i++) {
        free(p->fam[i].name);
        free(p->fam[i].help);
    }
    for (i = 0; i < p->n_ser; i++)
        free(p->ser[i].labels);
    for (i = 0; i < p->n_res; i++)
        free(p->res_ids[i]);
    free(p->res_ids);
    free(p->res_merged);
    free(p->fam);
    free(p->ser);
    free(p->hash);
    free(p->touched);
    free(p);
}

/* ---- names -------------------------------------------------------------- */

static int name_char(char c, int colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || (colon && c == ':');
}

/* sanitised name: invalid -> '_'; collapse_runs: runs of '_' made one */
static void sanitise(p2m_outbuf *o, const char *s, size_t n, int colon, int collapse_runs)
{
    size_t i;
    int last_us = 0;
    if (n > 0 && s[0] >= '0' && s[0] <= '9') {
        p2m_out_str(o, "_");
        last_us = 1;
    }
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!name_char(c, colon))
            c = '_';
        if (c == '_' && last_us && collapse_runs)
            continue;
        last_us = c == '_';
        p2m_out_append(o, &c, 1);
    }
}

/* The Prometheus word for an OTLP unit and the factor to the base unit:
   value in base unit = value * mul / div. NULL word: not a known unit. */
static const char *unit_base(p2m_str u, double *mul, double *div)
{
    static const struct {
        const char *unit, *word;
        double mul, div;
    } map[] = {
        {"ns", "seconds", 1, 1e9},       {"us", "seconds", 1, 1e6},
        {"ms", "seconds", 1, 1e3},       {"s", "seconds", 1, 1},
        {"min", "seconds", 60, 1},       {"h", "seconds", 3600, 1},
        {"d", "seconds", 86400, 1},      {"By", "bytes", 1, 1},
        {"KiBy", "bytes", 1024, 1},      {"MiBy", "bytes", 1048576, 1},
        {"GiBy", "bytes", 1073741824, 1}, {"KBy", "bytes", 1e3, 1},
        {"MBy", "bytes", 1e6, 1},        {"GBy", "bytes", 1e9, 1},
        {"bit", "bits", 1, 1},           {"%", "percent", 1, 1},
        {"Hz", "hertz", 1, 1},           {"1", "", 1, 1}};
    size_t i;
    *mul = 1;
    *div = 1;
    for (i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strlen(map[i].unit) == u.len && memcmp(map[i].unit, u.ptr, u.len) == 0) {
            *mul = map[i].mul;
            *div = map[i].div;
            return map[i].word;
        }
    return NULL;
}

static int ends_with(const p2m_outbuf *o, const char *suffix)
{
    size_t n = strlen(suffix);
    /* n == 0 first: an empty buffer's data is NULL, which memcmp must not get */
    return n == 0 || (o->len >= n && memcmp(o->data + o->len - n, suffix, n) == 0);
}

static void p2m_prom_metric_name(p2m_outbuf *o, p2m_str name, p2m_str unit, int is_gauge)
{
    double mul, div;
    const char *w = unit_base(unit, &mul, &div);
    p2m_outbuf u = {NULL, 0, 0, 0};
    size_t start = o->len;
    p2m_outbuf tail;
    sanitise(o, name.ptr ? name.ptr : "", name.len, 1, 1);
    if (w == NULL && unit.len > 0 && unit.ptr[0] != '{') {
        sanitise(&u, unit.ptr, unit.len, 0, 1);
        p2m_out_append(&u, "", 1);
        w = u.data ? (const char *)u.data : "";
    }
    tail.data = o->data + start;
    tail.len = o->len - start;
    tail.cap = tail.len;
    tail.failed = 0;
    if (w != NULL && w[0] != '\0') {
        p2m_outbuf want = {NULL, 0, 0, 0};
        p2m_out_str(&want, "_");
        p2m_out_str(&want, w);
        p2m_out_append(&want, "", 1);
        if (!(want.data && ends_with(&tail, (const char *)want.data)))
            p2m_out_str(o, want.data ? (const char *)want.data : "");
        p2m_out_free(&want);
    }
    tail.data = o->data + start;
    tail.len = o->len - start;
    if (!is_gauge && !ends_with(&tail, "_total"))
        p2m_out_str(o, "_total");
    p2m_out_free(&u);
}

/* ---- options and notes -------------------------------------------------- */

int p2m_prom_options_parse(p2m_prom_options *o, const char *spec)
{
    const char *at = spec;
    char **keys = NULL;
    size_t n = 0;
    if (strcmp(spec, "all") == 0) {
        o->promote_all = 1;
        return 0;
    }
    for (;;) {
        const char *end = strchr(at, ',');
        size_t len = end ? (size_t)(end - at) : strlen(at);
        char **grown;
        if (len == 0)
            break; /* an empty key: "a,,b", ",a" or "" */
        grown = (char **)realloc(keys, (n + 1) * sizeof *grown);
        if (grown == NULL)
            break;
        keys = grown;
        keys[n] = (char *)malloc(len + 1);
        if (keys[n] == NULL)
            break;
        memcpy(keys[n], at, len);
        keys[n++][len] = '\0';
        if (end == NULL) {
            o->promote_keys = (const char *const *)keys;
            o->n_promote_keys = n;
            return 0;
        }
        at = end + 1;
    }
    while (n > 0)
        free(keys[--n]);
    free(keys);
    return -1;
}

void p2m_prom_options_free(p2m_prom_options *o)
{
    size_t i;
    for (i = 0; i < o->n_promote_keys; i++)
        free((void *)(uintptr_t)o->promote_keys[i]);
    free((void *)(uintptr_t)o->promote_keys);
    o->promote_keys = NULL;
    o->n_promote_keys = 0;
}

static int promoting(const p2m_prom *p)
{
    return p->opt != NULL && (p->opt->promote_all || p->opt->n_promote_keys > 0);
}

static int promoted(const p2m_prom *p, p2m_str key)
{
    size_t i;
    if (p->opt == NULL)
        return 0;
    if (p->opt->promote_all)
        return 1;
    for (i = 0; i < p->opt->n_promote_keys; i++) {
        const char *k = p->opt->promote_keys[i];
        if (strlen(k) == key.len && memcmp(k, key.ptr, key.len) == 0)
            return 1;
    }
    return 0;
}

size_t p2m_prom_merged(const p2m_prom *p)
{
    size_t i, merged = 0;
    for (i = 0; i < p->n_res; i++)
        merged += p->res_merged[i] != 0;
    return merged;
}

void p2m_prom_note(size_t merged, FILE *err)
{
    if (merged == 0)
        return;
    fprintf(err,
            "p2m: note: %lu resources had series with the same name and labels; each such "
            "series is one line, their sum (--promote-resource-attrs all, or a list of the "
            "keys that tell the resources apart, keeps them apart)\n",
            (unsigned long)merged);
}

/* ---- labels ------------------------------------------------------------- */

typedef struct label {
    char *name;     /* sanitised */
    p2m_str key;    /* original key */
    char *value;
} label;

static int label_cmp(const void *a, const void *b)
{
    const label *x = (const label *)a, *y = (const label *)b;
    int c = strcmp(x->name, y->name);
    size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
    if (c != 0)
        return c;
    c = n ? memcmp(x->key.ptr, y->key.ptr, n) : 0;
    if (c != 0)
        return c;
    return x->key.len < y->key.len ? -1 : x->key.len > y->key.len;
}

static void free_labels(label *l, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        free(l[i].name);
        free(l[i].value);
    }
    free(l);
}

static void escape_value(p2m_outbuf *o, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            p2m_out_str(o, "\\\\");
        else if (*s == '"')
            p2m_out_str(o, "\\\"");
        else if (*s == '\n')
            p2m_out_str(o, "\\n");
        else
            p2m_out_append(o, s, 1);
    }
}

/* The instrumentation scope of every ScopeMetrics the library writes. */
static const char scope_name[] = "profile2metrics";

/* v as label text; nested values have their string indices resolved first
   (p2m_write_value_text decodes the bytes it is given as they are). */
static int value_text(p2m_outbuf *o, const p2m_result *r, const p2m_value *v, char *why,
                      size_t why_cap)
{
    p2m_value rv = *v;
    unsigned char *buf = NULL;
    int rc;
    if (v->type == P2M_VALUE_ARRAY || v->type == P2M_VALUE_KVLIST) {
        size_t n = p2m_result_nested_value(r, v, NULL, 0);
        buf = (unsigned char *)malloc(n ? n : 1);
        if (buf == NULL) {
            snprintf(why, why_cap, "out of memory");
            return -1;
        }
        if (n && p2m_result_nested_value(r, v, buf, n) != n) {
            free(buf);
            snprintf(why, why_cap, "p2m_result_nested_value gave two sizes for one value");
            return -1;
        }
        rv.str.ptr = (const char *)buf;
        rv.str.len = n;
    }
    {
        size_t len = p2m_write_value_text(&rv, NULL, 0);
        unsigned char *dst = len == (size_t)-1 ? NULL : p2m_out_reserve(o, len);
        rc = 0;
        if (len == (size_t)-1) {
            snprintf(why, why_cap, "an attribute value's nested bytes do not decode");
            rc = -1;
        } else if (dst != NULL) {
            o->len += p2m_write_value_text(&rv, dst, len);
        }
    }
    free(buf);
    return rc;
}

#define N_EXTRA 4

/* The canonical label text of attributes a, plus job/instance and, when
   scope is set, otel_scope_name/otel_scope_version; those replace labels of
   the same name. NULL on error (why filled). */
static char *label_text(const p2m_result *r, const p2m_attribute *a, size_t n, const char *job,
                        const char *instance, int scope, char *why, size_t why_cap)
{
    label *l = (label *)calloc(n + 2, sizeof *l);
    size_t i, k = 0;
    p2m_outbuf o = {NULL, 0, 0, 0};
    char *out = NULL;
    /* sorted by name, as the merge below needs */
    static const char *const extra_name[N_EXTRA] = {"instance", "job", "otel_scope_name",
                                                    "otel_scope_version"};
    const char *extra_val[N_EXTRA];
    extra_val[0] = instance;
    extra_val[1] = job;
    extra_val[2] = scope ? scope_name : NULL;
    extra_val[3] = scope ? p2m_version() : NULL;
    if (l == NULL)
        goto oom;
    for (i = 0; i < n; i++) {
        p2m_outbuf b = {NULL, 0, 0, 0};
        size_t e;
        int replaced = 0;
        sanitise(&b, a[i].key.ptr ? a[i].key.ptr : "", a[i].key.len, 0, 0);
        l[k].name = dup_buf(&b);
        p2m_out_free(&b);
        if (value_text(&b, r, &a[i].value, why, why_cap) != 0) {
            p2m_out_free(&b);
            free(l[k].name);
            free_labels(l, k);
            return NULL;
        }
        l[k].value = dup_buf(&b);
        p2m_out_free(&b);
        l[k].key = a[i].key;
        if (l[k].name == NULL || l[k].value == NULL) {
            k++;
            goto oom;
        }
        for (e = 0; e < N_EXTRA && !replaced; e++)
            replaced = extra_val[e] != NULL && strcmp(l[k].name, extra_name[e]) == 0;
        if (replaced) { /* job, instance or a scope label replaces it */
            free(l[k].name);
            free(l[k].value);
            l[k].name = l[k].value = NULL;
            continue;
        }
        k++;
    }
    if (k) /* sorted by label name, then original key */
        qsort(l, k, sizeof *l, label_cmp);
    {
        size_t j = 0;
        size_t e = 0;
        /* merge the sorted labels with the extra ones (also sorted) */
        i = 0;
        while (i < k || e < N_EXTRA) {
            const char *name, *vals;
            int from_extra;
            if (e < N_EXTRA && extra_val[e] == NULL) {
                e++;
                continue;
            }
            from_extra = i >= k || (e < N_EXTRA && strcmp(extra_name[e], l[i].name) < 0);
            if (from_extra) {
                name = extra_name[e];
                vals = extra_val[e];
                e++;
                if (vals[0] == '\0')
                    continue;
                if (j++)
                    p2m_out_str(&o, ",");
                p2m_out_printf(&o, "%s=\"", name);
                escape_value(&o, vals);
                p2m_out_str(&o, "\"");
                continue;
            }
            {
                /* l[i..] sharing a name: values joined with ';' */
                size_t end = i + 1, m;
                p2m_outbuf v = {NULL, 0, 0, 0};
                while (end < k && strcmp(l[end].name, l[i].name) == 0)
                    end++;
                for (m = i; m < end; m++) {
                    if (m > i)
                        p2m_out_str(&v, ";");
                    p2m_out_str(&v, l[m].value);
                }
                if (v.len > 0) {
                    char *joined;
                    p2m_out_append(&v, "", 1);
                    joined = v.failed ? NULL : (char *)v.data;
                    if (j++)
                        p2m_out_str(&o, ",");
                    p2m_out_printf(&o, "%s=\"", l[i].name);
                    escape_value(&o, joined ? joined : "");
                    p2m_out_str(&o, "\"");
                }
                p2m_out_free(&v);
                i = end;
            }
        }
    }
    if (o.failed)
        goto oom;
    out = dup_buf(&o);
    p2m_out_free(&o);
    free_labels(l, k);
    if (out == NULL)
        snprintf(why, why_cap, "out of memory");
    return out;
oom:
    p2m_out_free(&o);
    if (l)
        free_labels(l, k);
    snprintf(why, why_cap, "out of memory");
    return NULL;
}

/* ---- series ------------------------------------------------------------- */

static size_t str_hash(size_t fam, const char *s)
{
    size_t h = 1469598103u ^ fam;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static long find_family(p2m_prom *p, const char *name, const char *help, int gauge, int is_double,
                        double mul, double div)
{
    size_t i, name_size = strlen(name) + 1, help_size = strlen(help) + 1;
    for (i = 0; i < p->n_fam; i++)
        if (strcmp(p->fam[i].name, name) == 0) {
            if (!is_double)
                return (long)i;
            p->fam[i].is_double = 1;
            return (long)i;
        }
    if (grow((void **)&p->fam, &p->cap_fam, p->n_fam + 1, sizeof *p->fam))
        return -1;
    p->fam[p->n_fam].name = (char *)malloc(name_size);
    p->fam[p->n_fam].help = (char *)malloc(help_size);
    if (p->fam[p->n_fam].name == NULL || p->fam[p->n_fam].help == NULL) {
        free(p->fam[p->n_fam].name);
        free(p->fam[p->n_fam].help);
        return -1;
    }
    memcpy(p->fam[p->n_fam].name, name, name_size);
    memcpy(p->fam[p->n_fam].help, help, help_size);
    p->fam[p->n_fam].gauge = gauge;
    p->fam[p->n_fam].is_double = is_double;
    p->fam[p->n_fam].mul = mul;
    p->fam[p->n_fam].div = div;
    return (long)p->n_fam++;
}

static int rehash(p2m_prom *p)
{
    size_t cap = p->hash_cap ? p->hash_cap * 2 : 256, i;
    size_t *h = (size_t *)calloc(cap, sizeof *h);
    if (h == NULL)
        return -1;
    for (i = 0; i < p->n_ser; i++) {
        size_t at = str_hash(p->ser[i].family, p->ser[i].labels) & (cap - 1);
        while (h[at])
            at = (at + 1) & (cap - 1);
        h[at] = i + 1;
    }
    free(p->hash);
    p->hash = h;
    p->hash_cap = cap;
    return 0;
}

/* The series of (family, labels); labels is taken over (freed or kept). */
static series *get_series(p2m_prom *p, size_t fam, char *labels)
{
    size_t at;
    series *s;
    if ((p->n_ser + 1) * 2 > p->hash_cap && rehash(p) != 0) {
        free(labels);
        return NULL;
    }
    at = str_hash(fam, labels) & (p->hash_cap - 1);
    while (p->hash[at]) {
        s = &p->ser[p->hash[at] - 1];
        if (s->family == fam && strcmp(s->labels, labels) == 0) {
            free(labels);
            return s;
        }
        at = (at + 1) & (p->hash_cap - 1);
    }
    if (grow((void **)&p->ser, &p->cap_ser, p->n_ser + 1, sizeof *p->ser)) {
        free(labels);
        return NULL;
    }
    s = &p->ser[p->n_ser];
    memset(s, 0, sizeof *s);
    s->family = fam;
    s->labels = labels;
    p->hash[at] = ++p->n_ser;
    return s;
}

static int touch(p2m_prom *p, series *s)
{
    if (s->gen == p->gen)
        return 0;
    s->gen = p->gen;
    s->imsg = 0;
    s->dmsg = 0;
    if (grow((void **)&p->touched, &p->cap_touched, p->n_touched + 1, sizeof *p->touched))
        return -1;
    p->touched[p->n_touched++] = (size_t)(s - p->ser);
    return 0;
}

static char *attr_string(const p2m_result *r, const p2m_attribute *a, size_t n, const char *key)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (a[i].key.len == strlen(key) && memcmp(a[i].key.ptr, key, a[i].key.len) == 0) {
            p2m_outbuf b = {NULL, 0, 0, 0};
            char why[8];
            char *s;
            if (value_text(&b, r, &a[i].value, why, sizeof why) != 0)
                p2m_out_free(&b);
            s = dup_buf(&b);
            p2m_out_free(&b);
            return s;
        }
    return NULL;
}

/* The identity (index + 1) of the resource with attributes a: resources
   with the same attributes are one; 0 when out of memory. */
static size_t resource_id(p2m_prom *p, const p2m_result *r, const p2m_attribute *a, size_t n)
{
    p2m_outbuf b = {NULL, 0, 0, 0};
    size_t i, *order = (size_t *)malloc((n + 1) * sizeof *order);
    char *id;
    if (order == NULL)
        return 0;
    for (i = 0; i < n; i++) { /* sorted by key: the order attributes come in is no identity */
        size_t j = i;
        while (j > 0) {
            p2m_str x = a[order[j - 1]].key, y = a[i].key;
            size_t m = x.len < y.len ? x.len : y.len;
            int c = m ? memcmp(x.ptr, y.ptr, m) : 0;
            if (c < 0 || (c == 0 && x.len <= y.len))
                break;
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    for (i = 0; i < n; i++) {
        char why[8];
        p2m_out_append(&b, a[order[i]].key.ptr, a[order[i]].key.len);
        p2m_out_append(&b, "\x1f", 1);
        (void)value_text(&b, r, &a[order[i]].value, why, sizeof why);
        p2m_out_append(&b, "\x1e", 1);
    }
    free(order);
    id = b.failed ? NULL : dup_buf(&b);
    p2m_out_free(&b);
    if (id == NULL)
        return 0;
    for (i = 0; i < p->n_res; i++)
        if (strcmp(p->res_ids[i], id) == 0) {
            free(id);
            return i + 1;
        }
    if (p->n_res == p->cap_res) {
        size_t cap = p->cap_res ? p->cap_res * 2 : 16;
        char **ids = (char **)realloc(p->res_ids, cap * sizeof *ids);
        unsigned char *mg;
        if (ids == NULL) {
            free(id);
            return 0;
        }
        p->res_ids = ids;
        mg = (unsigned char *)realloc(p->res_merged, cap);
        if (mg == NULL) {
            free(id);
            return 0;
        }
        p->res_merged = mg;
        p->cap_res = cap;
    }
    p->res_ids[p->n_res] = id;
    p->res_merged[p->n_res] = 0;
    return ++p->n_res;
}

static int fail(char *why, size_t cap, const char *msg)
{
    snprintf(why, cap, "%s", msg);
    return -1;
}

int p2m_prom_add(p2m_prom *p, const p2m_result *r, char *why, size_t why_cap)
{
    size_t res, i;
    int cumulative = 0, rc = 0;
    p->gen++;
    p->n_touched = 0;
    for (res = 0; res < p2m_result_resource_count(r) && rc == 0; res++) {
        p2m_attribute *ra = NULL, *rest = NULL;
        size_t n_ra = 0, n_rest = 0, m, rid = 0;
        char *name = NULL, *ns = NULL, *inst = NULL, *job = NULL;
        n_ra = p2m_result_resource_attributes(r, res, NULL, 0);
        ra = (p2m_attribute *)malloc((n_ra + 1) * sizeof *ra);
        if (ra == NULL)
            return fail(why, why_cap, "out of memory");
        p2m_result_resource_attributes(r, res, ra, n_ra);
        name = attr_string(r, ra, n_ra, "service.name");
        ns = attr_string(r, ra, n_ra, "service.namespace");
        inst = attr_string(r, ra, n_ra, "service.instance.id");
        if (name != NULL) {
            p2m_outbuf j = {NULL, 0, 0, 0};
            if (ns != NULL && ns[0] != '\0') {
                p2m_out_str(&j, ns);
                p2m_out_str(&j, "/");
            }
            p2m_out_str(&j, name);
            job = dup_buf(&j);
            p2m_out_free(&j);
        }
        rest = (p2m_attribute *)malloc((n_ra + 1) * sizeof *rest);
        if (rest == NULL)
            rc = fail(why, why_cap, "out of memory");
        for (i = 0; rc == 0 && i < n_ra; i++) {
            p2m_str k = ra[i].key;
            if ((k.len == 12 && memcmp(k.ptr, "service.name", 12) == 0) ||
                (k.len == 17 && memcmp(k.ptr, "service.namespace", 17) == 0) ||
                (k.len == 19 && memcmp(k.ptr, "service.instance.id", 19) == 0))
                continue;
            rest[n_rest++] = ra[i];
        }
        if (rc == 0 && n_rest > 0) { /* target_info */
            long f = find_family(p, "target_info", "Target metadata", 1, 0, 1, 1);
            char *lt = f < 0 ? NULL : label_text(r, rest, n_rest, job, inst, 0, why, why_cap);
            series *s;
            if (lt != NULL && lt[0] == '\0') { /* no label: no line (docs/cli.md) */
                free(lt);
                lt = NULL;
                s = NULL;
            } else {
                s = lt ? get_series(p, (size_t)f, lt) : NULL;
                if (s == NULL || touch(p, s) != 0)
                    rc = f < 0 || lt ? fail(why, why_cap, "out of memory") : -1;
                else
                    s->imsg = 1;
            }
        }
        if (rc == 0 && (rid = resource_id(p, r, ra, n_ra)) == 0)
            rc = fail(why, why_cap, "out of memory");
        for (m = 0; rc == 0 && m < p2m_result_metric_count(r, res); m++) {
            p2m_metric_info info;
            p2m_outbuf nb = {NULL, 0, 0, 0};
            char *fname, *help;
            long f;
            size_t pt;
            p2m_result_metric(r, res, m, &info);
            cumulative = info.temporality == P2M_TEMPORALITY_CUMULATIVE;
            double mul, div;
            (void)unit_base(info.unit, &mul, &div);
            p2m_prom_metric_name(&nb, info.name, info.unit, info.is_gauge);
            fname = dup_buf(&nb);
            p2m_out_free(&nb);
            p2m_out_append(&nb, info.description.ptr, info.description.len);
            help = dup_buf(&nb);
            p2m_out_free(&nb);
            f = fname && help ? find_family(p, fname, help, info.is_gauge, info.is_double,
                                            mul, div)
                              : -1;
            free(fname);
            free(help);
            if (f < 0) {
                rc = fail(why, why_cap, "out of memory");
                break;
            }
            for (pt = 0; rc == 0 && pt < info.n_points; pt++) {
                p2m_point point;
                size_t n_pa = p2m_result_point_attributes(r, res, m, pt, NULL, 0), a, k;
                p2m_attribute *pa = (p2m_attribute *)malloc((n_pa + n_ra + 1) * sizeof *pa);
                char *lt;
                series *s;
                if (pa == NULL) {
                    rc = fail(why, why_cap, "out of memory");
                    break;
                }
                p2m_result_point(r, res, m, pt, &point);
                p2m_result_point_attributes(r, res, m, pt, pa, n_pa);
                if (promoting(p)) {
                    /* promoted resource attributes replace point attributes
                       of the same key, as in the Collector */
                    for (a = 0, k = 0; a < n_pa; a++) {
                        size_t b;
                        int dup = 0;
                        for (b = 0; b < n_ra && !dup; b++)
                            dup = promoted(p, ra[b].key) && ra[b].key.len == pa[a].key.len &&
                                  memcmp(ra[b].key.ptr, pa[a].key.ptr, pa[a].key.len) == 0;
                        if (!dup)
                            pa[k++] = pa[a];
                    }
                    for (a = 0; a < n_ra; a++)
                        if (promoted(p, ra[a].key))
                            pa[k++] = ra[a];
                    n_pa = k;
                }
                lt = label_text(r, pa, n_pa, job, inst, 1, why, why_cap);
                free(pa);
                if (lt == NULL) {
                    rc = -1;
                    break;
                }
                s = get_series(p, (size_t)f, lt);
                if (s == NULL || touch(p, s) != 0) {
                    rc = fail(why, why_cap, "out of memory");
                    break;
                }
                if (s->owner == 0) {
                    s->owner = rid;
                } else if (s->owner != rid) { /* two resources, one line */
                    p->res_merged[s->owner - 1] = 1;
                    p->res_merged[rid - 1] = 1;
                }
                if (point.is_double)
                    s->dmsg += point.as_double;
                else
                    s->imsg += point.as_int;
            }
        }
        free(rest);
        free(ra);
        free(name);
        free(ns);
        free(inst);
        free(job);
    }
    if (rc != 0)
        return rc;
    /* the message's values into the totals: a delta adds, a cumulative
       total (and target_info) replaces */
    for (i = 0; i < p->n_touched; i++) {
        series *s = &p->ser[p->touched[i]];
        if (cumulative || p->fam[s->family].gauge) {
            s->isum = s->imsg;
            s->dsum = s->dmsg;
        } else {
            s->isum += s->imsg;
            s->dsum += s->dmsg;
        }
    }
    return 0;
}

/* ---- writing ------------------------------------------------------------ */

static void write_help(p2m_outbuf *o, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            p2m_out_str(o, "\\\\");
        else if (*s == '\n')
            p2m_out_str(o, "\\n");
        else
            p2m_out_append(o, s, 1);
    }
}

static void write_number(p2m_outbuf *o, const family *f, const series *s)
{
    if (!f->is_double && f->mul == 1 && f->div == 1) {
        p2m_out_printf(o, "%lld", (long long)s->isum);
        return;
    }
    {
        /* to the base unit: integers are added up first, then scaled once */
        double d = (s->dsum + (double)s->isum) * f->mul / f->div;
        char buf[40];
        int prec;
        if (isnan(d)) {
            p2m_out_str(o, "NaN");
            return;
        }
        if (isinf(d)) {
            p2m_out_str(o, d > 0 ? "+Inf" : "-Inf");
            return;
        }
        for (prec = 15; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, d);
            if (strtod(buf, NULL) == d)
                break;
        }
        p2m_out_str(o, buf);
    }
}

void p2m_prom_write(const p2m_prom *p, p2m_outbuf *o)
{
    size_t f, i;
    for (f = 0; f < p->n_fam; f++) {
        const family *fa = &p->fam[f];
        if (fa->help[0] != '\0') {
            p2m_out_printf(o, "# HELP %s ", fa->name);
            write_help(o, fa->help);
            p2m_out_str(o, "\n");
        }
        p2m_out_printf(o, "# TYPE %s %s\n", fa->name, fa->gauge ? "gauge" : "counter");
        for (i = 0; i < p->n_ser; i++) {
            const series *s = &p->ser[i];
            if (s->family != f)
                continue;
            p2m_out_str(o, fa->name);
            if (s->labels[0] != '\0')
                p2m_out_printf(o, "{%s}", s->labels);
            p2m_out_str(o, " ");
            write_number(o, fa, s);
            p2m_out_str(o, "\n");
        }
    }
}
