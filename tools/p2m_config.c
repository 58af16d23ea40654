/* SPDX-License-Identifier: MIT
   p2m: YAML configuration file -> p2m_config (docs/spec.md section 9).

   We use libyaml's document API: the whole file becomes a node tree, and the
   scalars of that tree (NUL-terminated) are the strings p2m_config points
   to, so nothing is copied; the tree lives until p2m_cfgfile_free. Every
   mapping is checked against the keys it may hold, so a misspelt key is an
   error naming its path instead of a setting silently ignored.

   Before the settings are read, one walk over them (walk) expands the
   environment references in every value, as the Collector does, and notes
   the line of every value under its key path; p2m_cfgfile_error uses those
   lines for the errors p2m_engine_compile reports by field name. Only the
   connector's own settings are walked: the rest of a Collector file is not
   p2m's business. The printer of the effective configuration (p2m
   validate) is at the end and works without libyaml too. */
#include "p2m_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The properties of the stack a frame rule reads (`from` of type frame),
   and what each is, for p2m validate. */
static const char *const frame_froms[] = {"type", "kind", "library", "function", "syscall",
                                          NULL};
static const char *const frame_meanings[] = {"of the leaf frame", "kernel or user",
                                             "native leaf's mapping file", "the leaf function",
                                             "of a kernel stack"};

#ifndef P2M_HAVE_YAML

int p2m_cfgfile_supported(void) { return 0; }

int p2m_cfgfile_load(const char *path, p2m_cfgfile *out, char *msg, size_t msg_cap)
{
    return p2m_cfgfile_load_named(path, NULL, out, msg, msg_cap);
}

int p2m_cfgfile_load_named(const char *path, const char *connector, p2m_cfgfile *out,
                           char *msg, size_t msg_cap)
{
    (void)connector;
    memset(out, 0, sizeof *out);
    p2m_config_init(&out->config);
    snprintf(msg, msg_cap,
             "cannot read %s: this p2m was built without YAML support "
             "(install libyaml-dev and rebuild)", path);
    return -1;
}

int p2m_cfgfile_error(const p2m_cfgfile *f, const char *field, const char *message, char *msg,
                      size_t msg_cap)
{
    (void)f;
    if (field != NULL && field[0] != '\0')
        snprintf(msg, msg_cap, "%s: %s", field, message);
    else
        snprintf(msg, msg_cap, "%s", message);
    return 0;
}

void p2m_cfgfile_free(p2m_cfgfile *f) { f->storage = NULL; }

#else /* P2M_HAVE_YAML */

#include <yaml.h>

#define PATH_CAP 256

/* One value's place in the file. */
typedef struct where {
    char *path;             /* full key path, as in error messages */
    unsigned long line;     /* 1-based line of its value */
} where;

/* What a p2m_cfgfile owns: the document, every array we built, the lines. */
typedef struct store {
    yaml_document_t doc;
    int have_doc;
    void **blocks;
    size_t n_blocks, cap_blocks;
    where *lines;           /* every value of the connector's settings */
    size_t n_lines, cap_lines;
    char prefix[PATH_CAP];  /* "" or the connector's path in a Collector file */
} store;

typedef struct ctx {
    store *st;
    char *msg;
    size_t msg_cap;
} ctx;

int p2m_cfgfile_supported(void) { return 1; }

/* ---- errors and small helpers ------------------------------------------- */

/* fail_ records the error message (path, what, line); fail(...) does that and
   is -1 at the call site, so every `return fail(...)` visibly returns -1 (to
   readers, and to clang's analyzer, which does not follow calls into
   variadic functions or more than a few levels deep). */
#define fail(c, path, node, ...) (fail_((c), (path), (node), __VA_ARGS__), -1)
static void fail_(ctx *c, const char *path, const yaml_node_t *node, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void fail_(ctx *c, const char *path, const yaml_node_t *node, const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (node != NULL && path[0] != '\0')
        snprintf(c->msg, c->msg_cap, "%s: %s (line %lu)", path, why,
                 (unsigned long)node->start_mark.line + 1);
    else if (node != NULL)
        snprintf(c->msg, c->msg_cap, "%s (line %lu)", why,
                 (unsigned long)node->start_mark.line + 1);
    else if (path[0] != '\0')
        snprintf(c->msg, c->msg_cap, "%s: %s", path, why);
    else
        snprintf(c->msg, c->msg_cap, "%s", why);
}

static void join(char *dst, const char *parent, const char *key)
{
    int n;
    if (parent[0] == '\0')
        n = snprintf(dst, PATH_CAP, "%s", key);
    else
        n = snprintf(dst, PATH_CAP, "%s.%s", parent, key);
    if (n < 0 || n >= PATH_CAP)
        dst[PATH_CAP - 1] = '\0';
}

static void join_index(char *dst, const char *parent, size_t i)
{
    int n = snprintf(dst, PATH_CAP, "%s[%lu]", parent, (unsigned long)i);
    if (n < 0 || n >= PATH_CAP)
        dst[PATH_CAP - 1] = '\0';
}

static void *st_alloc(ctx *c, size_t n)
{
    store *st = c->st;
    void *p;
    if (st->n_blocks == st->cap_blocks) {
        size_t cap = st->cap_blocks ? st->cap_blocks * 2 : 16;
        void **b = (void **)realloc(st->blocks, cap * sizeof *b);
        if (b == NULL)
            return NULL;
        st->blocks = b;
        st->cap_blocks = cap;
    }
    p = calloc(n ? n : 1, 1);
    if (p != NULL)
        st->blocks[st->n_blocks++] = p;
    return p;
}

static const char *kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE: return "a single value";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a map";
    default: return "nothing";
    }
}

static const char *sval(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

/* A plain empty scalar, ~ or null: the key is treated as absent. */
static int is_null(const yaml_node_t *n)
{
    const char *v;
    if (n == NULL)
        return 1;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    v = sval(n);
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j;
    size_t row[65];
    if (la > 64 || lb > 64)
        return 99;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] == b[j - 1] ? 0u : 1u);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* ---- mappings ----------------------------------------------------------- */

static yaml_node_t *node_at(ctx *c, int index)
{
    return yaml_document_get_node(&c->st->doc, index);
}

static int expect(ctx *c, const char *path, const yaml_node_t *n, yaml_node_type_t t)
{
    static const char *const want[] = {"nothing", "a single value", "a list", "a map"};
    if (n->type == t)
        return 0;
    return fail(c, path, n, "expected %s, found %s", want[t], kind_name(n));
}

/* Checks that map n holds only scalar keys from known (NULL-terminated),
   each at most once. */
static int check_keys(ctx *c, const char *path, yaml_node_t *n, const char *const *known)
{
    yaml_node_pair_t *p, *q;
    if (expect(c, path, n, YAML_MAPPING_NODE))
        return -1;
    for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(c, p->key);
        const char *const *kn;
        const char *best = NULL;
        size_t best_d = 3;
        char sub[PATH_CAP];
        if (k == NULL || k->type != YAML_SCALAR_NODE)
            return fail(c, path, k, "a key must be a plain string");
        join(sub, path, sval(k));
        for (kn = known; *kn != NULL; kn++) {
            size_t d;
            if (strcmp(*kn, sval(k)) == 0)
                break;
            d = edit_distance(*kn, sval(k));
            if (d < best_d && d < strlen(sval(k))) {
                best_d = d;
                best = *kn;
            }
        }
        if (*kn == NULL) {
            if (best != NULL)
                return fail(c, sub, k, "unknown key (did you mean %s?)", best);
            return fail(c, sub, k, "unknown key");
        }
        for (q = n->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = node_at(c, q->key);
            if (k2 != NULL && strcmp(sval(k2), sval(k)) == 0)
                return fail(c, sub, k, "key given twice");
        }
    }
    return 0;
}

/* The value of key in map n, or NULL when absent or null. */
static yaml_node_t *lookup(ctx *c, yaml_node_t *n, const char *key)
{
    yaml_node_pair_t *p;
    for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(c, p->key);
        if (k != NULL && k->type == YAML_SCALAR_NODE && strcmp(sval(k), key) == 0) {
            yaml_node_t *v = node_at(c, p->value);
            return is_null(v) ? NULL : v;
        }
    }
    return NULL;
}

static int has_key(ctx *c, yaml_node_t *n, const char *key)
{
    yaml_node_pair_t *p;
    for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(c, p->key);
        if (k != NULL && k->type == YAML_SCALAR_NODE && strcmp(sval(k), key) == 0)
            return 1;
    }
    return 0;
}

/* ---- scalars ------------------------------------------------------------ */

static int get_string(ctx *c, const char *path, yaml_node_t *n, const char **out)
{
    if (n == NULL)
        return 0;
    if (expect(c, path, n, YAML_SCALAR_NODE))
        return -1;
    if (strlen(sval(n)) != n->data.scalar.length)
        return fail(c, path, n, "contains a NUL character");
    *out = sval(n);
    return 0;
}

static int plain(ctx *c, const char *path, yaml_node_t *n, const char *what)
{
    if (expect(c, path, n, YAML_SCALAR_NODE))
        return -1;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return fail(c, path, n, "expected %s, found a quoted string", what);
    return 0;
}

static int get_bool(ctx *c, const char *path, yaml_node_t *n, int *out)
{
    const char *v;
    if (n == NULL)
        return 0;
    if (plain(c, path, n, "true or false"))
        return -1;
    v = sval(n);
    if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "TRUE") == 0)
        *out = 1;
    else if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "FALSE") == 0)
        *out = 0;
    else
        return fail(c, path, n, "expected true or false, found '%s'", v);
    return 0;
}

static int get_uint(ctx *c, const char *path, yaml_node_t *n, unsigned long long max,
                    unsigned long long *out)
{
    const char *v;
    unsigned long long x = 0;
    if (n == NULL)
        return 0;
    if (plain(c, path, n, "an integer"))
        return -1;
    v = sval(n);
    if (*v == '\0')
        return fail(c, path, n, "expected an integer");
    for (; *v != '\0'; v++) {
        unsigned d;
        if (*v < '0' || *v > '9')
            return fail(c, path, n, "expected a non-negative integer, found '%s'", sval(n));
        d = (unsigned)(*v - '0');
        if (x > (max - d) / 10)
            return fail(c, path, n, "%s is too large (at most %llu)", sval(n), max);
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

static int get_double(ctx *c, const char *path, yaml_node_t *n, double *out)
{
    char *end;
    double d;
    if (n == NULL)
        return 0;
    if (plain(c, path, n, "a number"))
        return -1;
    errno = 0;
    d = strtod(sval(n), &end);
    if (end == sval(n) || *end != '\0' || errno != 0 || d != d)
        return fail(c, path, n, "expected a number, found '%s'", sval(n));
    *out = d;
    return 0;
}

/* One of names[] (NULL-terminated); *out gets the matching entry of values. */
static int get_enum(ctx *c, const char *path, yaml_node_t *n, const char *const *names,
                    const int *values, int *out)
{
    const char *v = NULL;
    char list[160] = "";
    size_t i, used = 0;
    if (n == NULL)
        return 0;
    if (get_string(c, path, n, &v))
        return -1;
    for (i = 0; names[i] != NULL; i++) {
        if (strcmp(names[i], v) == 0) {
            *out = values[i];
            return 0;
        }
    }
    for (i = 0; names[i] != NULL; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s",
                         i == 0 ? "" : names[i + 1] == NULL ? " or " : ", ", names[i]);
        if (w < 0 || (size_t)w >= sizeof list - used)
            break;
        used += (size_t)w;
    }
    return fail(c, path, n, "'%s' is not one of %s", v, list);
}

/* A list of strings into a fresh array. */
static int get_string_list(ctx *c, const char *path, yaml_node_t *n,
                           const char *const **out, size_t *n_out)
{
    size_t count, i;
    const char **arr;
    if (n == NULL)
        return 0;
    if (expect(c, path, n, YAML_SEQUENCE_NODE))
        return -1;
    count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    arr = (const char **)st_alloc(c, count * sizeof *arr);
    if (arr == NULL)
        return fail(c, path, NULL, "out of memory");
    for (i = 0; i < count; i++) {
        char sub[PATH_CAP];
        yaml_node_t *item = node_at(c, n->data.sequence.items.start[i]);
        join_index(sub, path, i);
        if (item == NULL || is_null(item))
            return fail(c, sub, item, "empty entry");
        if (get_string(c, sub, item, &arr[i]))
            return -1;
    }
    *out = arr;
    *n_out = count;
    return 0;
}

/* ---- environment references and the line map ---------------------------- */

/* Remembers that the value at path starts on line. */
static int note_line(ctx *c, const char *path, const yaml_node_t *n)
{
    store *st = c->st;
    size_t len = strlen(path);
    char *copy;
    if (st->n_lines == st->cap_lines) {
        size_t cap = st->cap_lines ? st->cap_lines * 2 : 64;
        where *w = (where *)realloc(st->lines, cap * sizeof *w);
        if (w == NULL)
            return fail(c, path, NULL, "out of memory");
        st->lines = w;
        st->cap_lines = cap;
    }
    copy = (char *)malloc(len + 1);
    if (copy == NULL)
        return fail(c, path, NULL, "out of memory");
    memcpy(copy, path, len + 1);
    st->lines[st->n_lines].path = copy;
    st->lines[st->n_lines].line = (unsigned long)n->start_mark.line + 1;
    st->n_lines++;
    return 0;
}

static int env_name_ok(const char *s, size_t n)
{
    size_t i;
    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_'))
            return 0;
    }
    return 1;
}

/* Expands the references in scalar n the way the Collector does:
   ${env:NAME}, ${NAME}, ${env:NAME:-default} (the default when NAME is
   unset), and $$ for one $. Any other $ is kept. The node's text is
   replaced (libyaml frees it with free()). */
static int expand_scalar(ctx *c, const char *path, yaml_node_t *n)
{
    const char *s = sval(n);
    size_t len = n->data.scalar.length, i, cap, used = 0;
    char *out;
    if (memchr(s, '$', len) == NULL)
        return 0;
    cap = len + 1;
    out = (char *)malloc(cap);
    if (out == NULL)
        return fail(c, path, n, "out of memory");
    for (i = 0; i < len;) {
        const char *add = s + i;
        size_t add_len = 1, step = 1;
        if (s[i] == '$' && i + 1 < len && s[i + 1] == '$') {
            step = 2;
        } else if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
            const char *ref = s + i + 2, *end = (const char *)memchr(ref, '}', len - i - 2);
            const char *name = ref, *colon, *dflt = NULL, *value;
            size_t ref_len, name_len;
            char var[128];
            if (end == NULL) {
                free(out);
                return fail(c, path, n, "'${' without a closing '}' (write $$ for a literal $)");
            }
            ref_len = (size_t)(end - ref);
            colon = (const char *)memchr(ref, ':', ref_len);
            if (colon != NULL && !(colon + 1 < end && colon[1] == '-')) {
                /* a scheme: only env is known here */
                if ((size_t)(colon - ref) != 3 || memcmp(ref, "env", 3) != 0) {
                    fail_(c, path, n,
                          "'${%.*s}': only environment references (${env:NAME}) are "
                          "supported", (int)ref_len, ref);
                    free(out);
                    return -1;
                }
                name = colon + 1;
            }
            name_len = (size_t)(end - name);
            colon = (const char *)memchr(name, ':', name_len);
            if (colon != NULL && colon + 1 < end && colon[1] == '-') {
                dflt = colon + 2;
                name_len = (size_t)(colon - name);
            }
            if (!env_name_ok(name, name_len) || name_len >= sizeof var) {
                fail_(c, path, n, "'${%.*s}': '%.*s' is not an environment variable name",
                      (int)ref_len, ref, (int)name_len, name);
                free(out);
                return -1;
            }
            memcpy(var, name, name_len);
            var[name_len] = '\0';
            value = getenv(var);
            if (value == NULL && dflt == NULL) {
                fail_(c, path, n,
                      "environment variable %s is not set (set it, or give a default: "
                      "${env:%s:-VALUE})", var, var);
                free(out);
                return -1;
            }
            if (value != NULL) {
                add = value;
                add_len = strlen(value);
            } else {
                add = dflt;
                add_len = (size_t)(end - dflt);
            }
            step = ref_len + 3;
        }
        if (used + add_len + 1 > cap) {
            char *bigger;
            cap = (used + add_len + 1) * 2;
            bigger = (char *)realloc(out, cap);
            if (bigger == NULL) {
                free(out);
                return fail(c, path, n, "out of memory");
            }
            out = bigger;
        }
        memcpy(out + used, add, add_len);
        used += add_len;
        i += step;
    }
    out[used] = '\0';
    free(n->data.scalar.value);
    n->data.scalar.value = (yaml_char_t *)out;
    n->data.scalar.length = used;
    /* the result is read as if written plain: "${env:ON}" with ON=true is a
       boolean, "${env:N}" with N=5 a number, as the Collector takes them
       (an empty result then counts as absent) */
    n->data.scalar.style = YAML_PLAIN_SCALAR_STYLE;
    return 0;
}

/* Walks the connector's settings: expands every scalar value and notes the
   line of every value under its path. Keys are not expanded. */
static int walk(ctx *c, const char *path, yaml_node_t *n, int depth)
{
    if (n == NULL)
        return 0;
    if (depth > 64)
        return fail(c, path, n, "nested too deeply");
    if (path[0] != '\0' && note_line(c, path, n))
        return -1;
    if (n->type == YAML_SCALAR_NODE)
        return expand_scalar(c, path, n);
    if (n->type == YAML_SEQUENCE_NODE) {
        yaml_node_item_t *it;
        for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
            char sub[PATH_CAP];
            join_index(sub, path, (size_t)(it - n->data.sequence.items.start));
            if (walk(c, sub, node_at(c, *it), depth + 1))
                return -1;
        }
    } else if (n->type == YAML_MAPPING_NODE) {
        yaml_node_pair_t *p;
        for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = node_at(c, p->key);
            char sub[PATH_CAP];
            if (k == NULL || k->type != YAML_SCALAR_NODE)
                continue; /* check_keys reports it */
            join(sub, path, sval(k));
            if (walk(c, sub, node_at(c, p->value), depth + 1))
                return -1;
        }
    }
    return 0;
}

/* ---- sections ----------------------------------------------------------- */

static int load_metric(ctx *c, const char *path, yaml_node_t *n, p2m_metric_config *m,
                       p2m_config *cfg, int is_function)
{
    static const char *const keys[] = {"enabled", "metric_name", "unit", "description", NULL};
    static const char *const fkeys[] = {"enabled", "metric_name", "unit", "description",
                                        "mode", "attribute_key", NULL};
    static const char *const modes[] = {"self", "inclusive", NULL};
    static const int mode_values[] = {P2M_FUNCTION_SELF, P2M_FUNCTION_INCLUSIVE};
    char sub[PATH_CAP];
    if (n == NULL)
        return 0;
    if (check_keys(c, path, n, is_function ? fkeys : keys))
        return -1;
    join(sub, path, "enabled");
    if (get_bool(c, sub, lookup(c, n, "enabled"), &m->enabled))
        return -1;
    join(sub, path, "metric_name");
    if (get_string(c, sub, lookup(c, n, "metric_name"), &m->name))
        return -1;
    join(sub, path, "unit");
    if (get_string(c, sub, lookup(c, n, "unit"), &m->unit))
        return -1;
    join(sub, path, "description");
    if (get_string(c, sub, lookup(c, n, "description"), &m->description))
        return -1;
    if (is_function) {
        int mode = (int)cfg->function_mode;
        join(sub, path, "mode");
        if (get_enum(c, sub, lookup(c, n, "mode"), modes, mode_values, &mode))
            return -1;
        cfg->function_mode = (p2m_function_mode)mode;
        join(sub, path, "attribute_key");
        if (get_string(c, sub, lookup(c, n, "attribute_key"), &cfg->function_attribute_key))
            return -1;
    }
    return 0;
}

/* metrics.extra: the declared metrics of their own. */
static int load_extra(ctx *c, const char *path, yaml_node_t *n, p2m_config *cfg)
{
    static const char *const keys[] = {"metric_name", "unit", "description", "sample_types",
                                       "stack_pattern", NULL};
    size_t count, i;
    p2m_extra_metric *ex;
    if (n == NULL)
        return 0;
    if (expect(c, path, n, YAML_SEQUENCE_NODE))
        return -1;
    count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (count > P2M_MAX_EXTRA)
        return fail(c, path, n, "%lu declared metrics; this build holds at most %d "
                    "(P2M_MAX_EXTRA)", (unsigned long)count, (int)P2M_MAX_EXTRA);
    ex = (p2m_extra_metric *)st_alloc(c, count * sizeof *ex);
    if (ex == NULL)
        return fail(c, path, NULL, "out of memory");
    for (i = 0; i < count; i++) {
        char item_path[PATH_CAP], sub[PATH_CAP];
        yaml_node_t *item = node_at(c, n->data.sequence.items.start[i]), *v;
        join_index(item_path, path, i);
        if (item == NULL || is_null(item))
            return fail(c, item_path, item, "empty entry");
        if (check_keys(c, item_path, item, keys))
            return -1;
        join(sub, item_path, "stack_pattern");
        if (get_string(c, sub, lookup(c, item, "stack_pattern"), &ex[i].stack_pattern))
            return -1;
        join(sub, item_path, "metric_name");
        if (get_string(c, sub, lookup(c, item, "metric_name"), &ex[i].name))
            return -1;
        if (ex[i].name == NULL)
            return fail(c, sub, item, "missing (the name of the declared metric)");
        join(sub, item_path, "unit");
        if (get_string(c, sub, lookup(c, item, "unit"), &ex[i].unit))
            return -1;
        join(sub, item_path, "description");
        if (get_string(c, sub, lookup(c, item, "description"), &ex[i].description))
            return -1;
        join(sub, item_path, "sample_types");
        v = lookup(c, item, "sample_types");
        if (v == NULL)
            return fail(c, sub, item,
                        "missing (a list of \"type/unit\" sample types, e.g. "
                        "[\"off_cpu/nanoseconds\"])");
        if (get_string_list(c, sub, v, &ex[i].sample_types, &ex[i].n_sample_types))
            return -1;
        if (ex[i].n_sample_types == 0)
            return fail(c, sub, v, "empty (give at least one \"type/unit\" sample type)");
    }
    cfg->extra = ex;
    cfg->n_extra = count;
    return 0;
}

static int load_metrics(ctx *c, const char *path, yaml_node_t *n, p2m_config *cfg)
{
    static const char *const keys[] = {"cpu", "memory", "function", "extra", NULL};
    char sub[PATH_CAP];
    if (n == NULL)
        return 0;
    if (check_keys(c, path, n, keys))
        return -1;
    join(sub, path, "extra");
    if (load_extra(c, sub, lookup(c, n, "extra"), cfg))
        return -1;
    join(sub, path, "cpu");
    if (load_metric(c, sub, lookup(c, n, "cpu"), &cfg->cpu, cfg, 0))
        return -1;
    join(sub, path, "memory");
    if (load_metric(c, sub, lookup(c, n, "memory"), &cfg->memory, cfg, 0))
        return -1;
    join(sub, path, "function");
    return load_metric(c, sub, lookup(c, n, "function"), &cfg->function, cfg, 1);
}

static int load_filter(ctx *c, const char *path, yaml_node_t *n, p2m_filter *f, int with_keys)
{
    static const char *const keys[] = {"enabled", "pattern", "patterns", NULL};
    static const char *const pkeys[] = {"enabled", "pattern", "patterns", "keys", NULL};
    char sub[PATH_CAP];
    if (n == NULL)
        return 0;
    if (check_keys(c, path, n, with_keys ? pkeys : keys))
        return -1;
    join(sub, path, "enabled");
    if (get_bool(c, sub, lookup(c, n, "enabled"), &f->enabled))
        return -1;
    join(sub, path, "pattern");
    if (get_string(c, sub, lookup(c, n, "pattern"), &f->pattern))
        return -1;
    join(sub, path, "patterns");
    if (get_string_list(c, sub, lookup(c, n, "patterns"), &f->patterns, &f->n_patterns))
        return -1;
    join(sub, path, "keys");
    return get_string_list(c, sub, lookup(c, n, "keys"), &f->keys, &f->n_keys);
}

/* Which fields each rule type reads: a field given to a type that ignores
   it is almost certainly a mistake, so it is an error. */
static int load_rule(ctx *c, const char *path, yaml_node_t *n, p2m_rule *r)
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
    static const int frame_values[] = {0, 1, 2, 3, 4};
    char sub[PATH_CAP];
    int type = -1, i, value_is_index, frame = 0;
    unsigned long long index = 0;
    yaml_node_t *tn;
    if (check_keys(c, path, n, keys))
        return -1;
    join(sub, path, "key");
    if (get_string(c, sub, lookup(c, n, "key"), &r->key))
        return -1;
    if (r->key == NULL)
        return fail(c, sub, n, "missing (the attribute key to write)");
    join(sub, path, "type");
    tn = lookup(c, n, "type");
    /* no type: a literal, as in the Go connector */
    type = P2M_RULE_LITERAL;
    if (get_enum(c, sub, tn, types, type_values, &type))
        return -1;
    r->type = (p2m_rule_type)type;
    /* string_table: the Go connector takes the index as value */
    value_is_index = type == P2M_RULE_STRING_TABLE && lookup(c, n, "value") != NULL;
    if (value_is_index && lookup(c, n, "index") != NULL) {
        join(sub, path, "value");
        return fail(c, sub, lookup(c, n, "value"),
                    "give index or value (the index, as the Go connector reads it), not both");
    }
    for (i = 0; i < 4; i++) {
        yaml_node_t *v = lookup(c, n, fields[i]);
        join(sub, path, fields[i]);
        if (value_is_index && (i == 0 || i == 3))
            continue;
        if (v == NULL && uses[type][i] == 1) {
            if (tn == NULL)
                return fail(c, sub, n, "missing (a rule without type is a literal, which "
                            "needs value)");
            return fail(c, sub, n, "missing (type %s needs it)", types[type]);
        }
        if (v != NULL && uses[type][i] == 0) {
            if (tn == NULL)
                return fail(c, sub, v, "not used by a literal (a rule without type is a "
                            "literal; give type)");
            return fail(c, sub, v, "not used by type %s", types[type]);
        }
    }
    if (value_is_index) { /* quoted or not: the Go connector reads a string */
        yaml_node_t *v = lookup(c, n, "value");
        const char *d;
        join(sub, path, "value");
        if (expect(c, sub, v, YAML_SCALAR_NODE))
            return -1;
        for (d = sval(v); *d >= '0' && *d <= '9' && index <= 0xffffffffull; d++)
            index = index * 10 + (unsigned long long)(*d - '0');
        if (*d != '\0' || d == sval(v) || index > 0xffffffffull)
            return fail(c, sub, v, "a string_table rule takes the index into the string "
                        "table (0 to 4294967295), not '%s'", sval(v));
        r->index = (uint32_t)index;
    }
    join(sub, path, "value");
    if (!value_is_index && get_string(c, sub, lookup(c, n, "value"), &r->value))
        return -1;
    join(sub, path, "from");
    if (type == P2M_RULE_FRAME) {
        /* the property of the stack; r->from points to the static name */
        if (get_enum(c, sub, lookup(c, n, "from"), frame_froms, frame_values, &frame))
            return -1;
        r->from = frame_froms[frame];
    } else if (get_string(c, sub, lookup(c, n, "from"), &r->from)) {
        return -1;
    }
    join(sub, path, "source");
    if (get_string(c, sub, lookup(c, n, "source"), &r->source))
        return -1;
    join(sub, path, "index");
    if (!value_is_index) {
        if (get_uint(c, sub, lookup(c, n, "index"), 0xffffffffull, &index))
            return -1;
        r->index = (uint32_t)index;
    }
    join(sub, path, "default");
    return get_string(c, sub, lookup(c, n, "default"), &r->default_value);
}

static int load_attributes(ctx *c, const char *path, yaml_node_t *n, p2m_config *cfg)
{
    size_t count, i;
    p2m_rule *rules;
    if (n == NULL)
        return 0; /* absent: the default rules */
    if (expect(c, path, n, YAML_SEQUENCE_NODE))
        return -1;
    count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    /* non-NULL even when empty: an empty list means "no attributes" */
    rules = (p2m_rule *)st_alloc(c, count * sizeof *rules);
    if (rules == NULL)
        return fail(c, path, NULL, "out of memory");
    for (i = 0; i < count; i++) {
        char sub[PATH_CAP];
        yaml_node_t *item = node_at(c, n->data.sequence.items.start[i]);
        join_index(sub, path, i);
        if (item == NULL || is_null(item))
            return fail(c, sub, item, "empty entry");
        if (load_rule(c, sub, item, &rules[i]))
            return -1;
    }
    cfg->attributes = rules;
    cfg->n_attributes = count;
    return 0;
}

static int load_type_rules(ctx *c, const char *path, yaml_node_t *n, p2m_config *cfg)
{
    static const char *const keys[] = {"type", "unit", "metric", "scale", NULL};
    static const char *const metrics[] = {"cpu", "memory", "none", NULL};
    static const int metric_values[] = {P2M_METRIC_CPU, P2M_METRIC_MEMORY, P2M_METRIC_NONE};
    size_t count, i;
    p2m_type_rule *rules;
    if (n == NULL)
        return 0;
    if (expect(c, path, n, YAML_SEQUENCE_NODE))
        return -1;
    count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    rules = (p2m_type_rule *)st_alloc(c, count * sizeof *rules);
    if (rules == NULL)
        return fail(c, path, NULL, "out of memory");
    for (i = 0; i < count; i++) {
        char item_path[PATH_CAP], sub[PATH_CAP];
        yaml_node_t *item = node_at(c, n->data.sequence.items.start[i]);
        int metric = -1;
        join_index(item_path, path, i);
        if (item == NULL || is_null(item))
            return fail(c, item_path, item, "empty entry");
        if (check_keys(c, item_path, item, keys))
            return -1;
        rules[i].scale = 1.0;
        join(sub, item_path, "type");
        if (get_string(c, sub, lookup(c, item, "type"), &rules[i].type))
            return -1;
        if (rules[i].type == NULL)
            return fail(c, sub, item, "missing");
        join(sub, item_path, "unit");
        if (get_string(c, sub, lookup(c, item, "unit"), &rules[i].unit))
            return -1;
        if (rules[i].unit == NULL)
            return fail(c, sub, item, "missing");
        join(sub, item_path, "metric");
        if (lookup(c, item, "metric") == NULL)
            return fail(c, sub, item, "missing (cpu, memory or none)");
        if (get_enum(c, sub, lookup(c, item, "metric"), metrics, metric_values, &metric))
            return -1;
        rules[i].metric = (p2m_metric_kind)metric;
        join(sub, item_path, "scale");
        if (get_double(c, sub, lookup(c, item, "scale"), &rules[i].scale))
            return -1;
    }
    cfg->type_rules = rules;
    cfg->n_type_rules = count;
    return 0;
}

/* The connector's own settings (the whole file, or connectors.profiletometrics). */
static int load_root(ctx *c, const char *path, yaml_node_t *n, p2m_config *cfg)
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
    char sub[PATH_CAP];
    int e;
    unsigned long long max_series = cfg->max_series, state_bytes;
    yaml_node_t *v;
    if (n == NULL)
        return 0;
    if (check_keys(c, path, n, keys))
        return -1;
    join(sub, path, "metrics");
    if (load_metrics(c, sub, lookup(c, n, "metrics"), cfg))
        return -1;
    join(sub, path, "attributes");
    if (load_attributes(c, sub, lookup(c, n, "attributes"), cfg))
        return -1;
    join(sub, path, "process_filter");
    if (load_filter(c, sub, lookup(c, n, "process_filter"), &cfg->process_filter, 0))
        return -1;
    join(sub, path, "thread_filter");
    if (load_filter(c, sub, lookup(c, n, "thread_filter"), &cfg->thread_filter, 0))
        return -1;
    join(sub, path, "pattern_filter");
    if (load_filter(c, sub, lookup(c, n, "pattern_filter"), &cfg->pattern_filter, 1))
        return -1;
    /* the stack filter's subjects are the function names on the stack: no keys */
    join(sub, path, "stack_filter");
    v = lookup(c, n, "stack_filter");
    if (v != NULL && v->type == YAML_MAPPING_NODE && has_key(c, v, "keys")) {
        char keys_path[PATH_CAP];
        join(keys_path, sub, "keys");
        return fail(c, keys_path, lookup(c, v, "keys") ? lookup(c, v, "keys") : v,
                    "not used by the stack filter (it matches the function names on the "
                    "stack; remove the key)");
    }
    if (load_filter(c, sub, v, &cfg->stack_filter, 0))
        return -1;
    e = (int)cfg->temporality;
    join(sub, path, "temporality");
    if (get_enum(c, sub, lookup(c, n, "temporality"), temporalities, temporality_values, &e))
        return -1;
    cfg->temporality = (p2m_temporality)e;
    join(sub, path, "max_series");
    if (get_uint(c, sub, lookup(c, n, "max_series"), 0xffffffffull, &max_series))
        return -1;
    cfg->max_series = (uint32_t)max_series;
    e = (int)cfg->layout;
    join(sub, path, "layout");
    if (get_enum(c, sub, lookup(c, n, "layout"), layouts, layout_values, &e))
        return -1;
    cfg->layout = (p2m_layout)e;
    join(sub, path, "strict");
    if (get_bool(c, sub, lookup(c, n, "strict"), &cfg->strict))
        return -1;
    join(sub, path, "process_key");
    if (get_string(c, sub, lookup(c, n, "process_key"), &cfg->process_key))
        return -1;
    join(sub, path, "thread_key");
    if (get_string(c, sub, lookup(c, n, "thread_key"), &cfg->thread_key))
        return -1;
    join(sub, path, "state_max_series");
    max_series = cfg->state_max_series;
    if (get_uint(c, sub, lookup(c, n, "state_max_series"), 0xffffffffull, &max_series))
        return -1;
    cfg->state_max_series = (uint32_t)max_series;
    join(sub, path, "state_bytes");
    state_bytes = cfg->state_bytes;
    if (get_uint(c, sub, lookup(c, n, "state_bytes"), (size_t)-1, &state_bytes))
        return -1;
    cfg->state_bytes = (size_t)state_bytes;
    join(sub, path, "type_rules");
    return load_type_rules(c, sub, lookup(c, n, "type_rules"), cfg);
}

/* A Collector configuration: pick connectors.profiletometrics[/NAME], the
   one there is or the one named (NAME or profiletometrics/NAME). */
static int load_collector(ctx *c, yaml_node_t *root, const char *want, p2m_cfgfile *out)
{
    yaml_node_t *conns = lookup(c, root, "connectors");
    yaml_node_pair_t *p;
    yaml_node_t *found = NULL;
    const char *found_name = NULL;
    char names[200] = "";
    size_t count = 0, used = 0;
    if (conns == NULL)
        return fail(c, "connectors", NULL, "no profiletometrics connector");
    if (expect(c, "connectors", conns, YAML_MAPPING_NODE))
        return -1;
    if (want != NULL && strncmp(want, "profiletometrics/", 17) == 0)
        want += 17;
    for (p = conns->data.mapping.pairs.start; p < conns->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(c, p->key);
        const char *name, *short_name;
        int w;
        if (k == NULL || k->type != YAML_SCALAR_NODE)
            continue;
        name = sval(k);
        if (strcmp(name, "profiletometrics") == 0)
            short_name = "profiletometrics";
        else if (strncmp(name, "profiletometrics/", 17) == 0)
            short_name = name + 17;
        else
            continue;
        count++;
        w = snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", name);
        if (w > 0 && (size_t)w < sizeof names - used)
            used += (size_t)w;
        if (want == NULL ? count == 1 : strcmp(want, short_name) == 0) {
            found_name = name;
            found = node_at(c, p->value);
        }
    }
    if (count == 0)
        return fail(c, "connectors", conns, "no profiletometrics connector");
    if (want == NULL && count > 1)
        return fail(c, "connectors", conns,
                    "%lu profiletometrics connectors (%s); choose one with --connector NAME",
                    (unsigned long)count, names);
    if (found_name == NULL)
        return fail(c, "connectors", conns, "no connector profiletometrics/%s (there is: %s)",
                    want, names);
    out->collector = 1;
    join(c->st->prefix, "connectors", found_name);
    if (walk(c, c->st->prefix, is_null(found) ? NULL : found, 0))
        return -1;
    return load_root(c, c->st->prefix, is_null(found) ? NULL : found, &out->config);
}

int p2m_cfgfile_load(const char *path, p2m_cfgfile *out, char *msg, size_t msg_cap)
{
    return p2m_cfgfile_load_named(path, NULL, out, msg, msg_cap);
}

int p2m_cfgfile_load_named(const char *path, const char *connector, p2m_cfgfile *out,
                           char *msg, size_t msg_cap)
{
    FILE *fp;
    yaml_parser_t parser;
    yaml_document_t extra;
    yaml_node_t *root;
    ctx c;
    int rc = -1;

    memset(out, 0, sizeof *out);
    p2m_config_init(&out->config);
    c.msg = msg;
    c.msg_cap = msg_cap;
    c.st = (store *)calloc(1, sizeof(store));
    if (c.st == NULL) {
        snprintf(msg, msg_cap, "out of memory");
        return -1;
    }
    out->storage = c.st;

    fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(msg, msg_cap, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (!yaml_parser_initialize(&parser)) {
        fclose(fp);
        snprintf(msg, msg_cap, "out of memory");
        return -1;
    }
    yaml_parser_set_input_file(&parser, fp);
    if (!yaml_parser_load(&parser, &c.st->doc)) {
        snprintf(msg, msg_cap, "%s:%lu:%lu: %s%s%s", path,
                 (unsigned long)parser.problem_mark.line + 1,
                 (unsigned long)parser.problem_mark.column + 1,
                 parser.problem ? parser.problem : "invalid YAML",
                 parser.context ? " " : "", parser.context ? parser.context : "");
        goto done;
    }
    c.st->have_doc = 1;
    /* a second document would be ignored silently: refuse it */
    if (yaml_parser_load(&parser, &extra)) {
        int more = yaml_document_get_root_node(&extra) != NULL;
        yaml_document_delete(&extra);
        if (more) {
            snprintf(msg, msg_cap, "%s: more than one YAML document", path);
            goto done;
        }
    }
    root = yaml_document_get_root_node(&c.st->doc);
    if (root != NULL && !is_null(root) && root->type != YAML_MAPPING_NODE) {
        fail_(&c, "", root, "expected a map at the top level, found %s", kind_name(root));
        goto done;
    }
    if (root != NULL && !is_null(root) && has_key(&c, root, "connectors")) {
        rc = load_collector(&c, root, connector, out);
        goto done;
    }
    if (connector != NULL) {
        snprintf(msg, msg_cap,
                 "--connector %s: %s is not a Collector configuration (it has no "
                 "connectors section)", connector, path);
        goto done;
    }
    if (root == NULL || is_null(root)) {
        rc = 0; /* empty file: all defaults */
        goto done;
    }
    rc = walk(&c, "", root, 0);
    if (rc == 0)
        rc = load_root(&c, "", root, &out->config);
done:
    yaml_parser_delete(&parser);
    fclose(fp);
    return rc;
}

int p2m_cfgfile_error(const p2m_cfgfile *f, const char *field, const char *message, char *msg,
                      size_t msg_cap)
{
    const store *st = (const store *)f->storage;
    char full[PATH_CAP], probe[PATH_CAP];
    unsigned long line = 0;
    size_t i;
    if (field == NULL || field[0] == '\0') {
        snprintf(msg, msg_cap, "%s", message);
        return 0;
    }
    if (st != NULL && st->prefix[0] != '\0')
        join(full, st->prefix, field);
    else
        snprintf(full, sizeof full, "%s", field);
    /* the field's own line, else that of the nearest key above it given */
    snprintf(probe, sizeof probe, "%s", full);
    while (st != NULL && line == 0 && probe[0] != '\0') {
        char *cut;
        for (i = 0; i < st->n_lines; i++)
            if (strcmp(st->lines[i].path, probe) == 0) {
                line = st->lines[i].line;
                break;
            }
        if (line != 0)
            break;
        cut = strrchr(probe, '.');
        if (strrchr(probe, '[') != NULL && (cut == NULL || strrchr(probe, '[') > cut))
            cut = strrchr(probe, '[');
        if (cut == NULL)
            break;
        *cut = '\0';
    }
    if (line != 0)
        snprintf(msg, msg_cap, "%s: %s (line %lu)", full, message, line);
    else
        snprintf(msg, msg_cap, "%s: %s", full, message);
    return 0;
}

void p2m_cfgfile_free(p2m_cfgfile *f)
{
    store *st = (store *)f->storage;
    size_t i;
    if (st == NULL)
        return;
    if (st->have_doc)
        yaml_document_delete(&st->doc);
    for (i = 0; i < st->n_lines; i++)
        free(st->lines[i].path);
    free(st->lines);
    for (i = 0; i < st->n_blocks; i++)
        free(st->blocks[i]);
    free(st->blocks);
    free(st);
    f->storage = NULL;
    p2m_config_init(&f->config);
}

#endif /* P2M_HAVE_YAML */

/* ---- the effective configuration, for p2m validate ---------------------- */

/* A metric's unit as the engine emits it, and the spelling the
   configuration gave when that differs ("s (written seconds)"). */
static void print_unit(FILE *out, p2m_str unit, const char *given)
{
    fprintf(out, "%.*s", (int)unit.len, unit.ptr);
    if (given != NULL && (strlen(given) != unit.len || memcmp(given, unit.ptr, unit.len) != 0))
        fprintf(out, " (written %s)", given);
}

/* One metric line: what the compiled engine emits (m), or "off" (m NULL). */
static void print_metric(FILE *out, const char *what, const p2m_metric_info *m, const char *given)
{
    fprintf(out, "  %-9s ", what);
    if (m == NULL) {
        fprintf(out, "off");
        return;
    }
    fprintf(out, "%-24.*s %-6s ", (int)m->name.len, m->name.ptr, m->is_gauge ? "Gauge" : "Sum");
    print_unit(out, m->unit, given);
}

static void print_quoted_list(FILE *out, const char *first, const char *const *more, size_t n)
{
    size_t i;
    int any = 0;
    if (first != NULL && first[0] != '\0') {
        fprintf(out, "\"%s\"", first);
        any = 1;
    }
    for (i = 0; i < n; i++) {
        fprintf(out, "%s\"%s\"", any ? ", " : "", more[i] ? more[i] : "");
        any = 1;
    }
    if (!any)
        fprintf(out, "(no pattern)");
}

static void print_filter(FILE *out, const char *name, const p2m_filter *f, const char *subject)
{
    size_t i;
    fprintf(out, "  %-16s", name);
    if (!f->enabled) {
        fprintf(out, "off\n");
        return;
    }
    fprintf(out, "on: ");
    print_quoted_list(out, f->pattern, f->patterns, f->n_patterns);
    if (subject != NULL) {
        fprintf(out, " against %s\n", subject);
        return;
    }
    if (f->n_keys == 0) {
        fprintf(out, " against every string attribute\n");
        return;
    }
    fprintf(out, " against");
    for (i = 0; i < f->n_keys; i++)
        fprintf(out, "%s %s", i ? "," : "", f->keys[i]);
    fputc('\n', out);
}

void p2m_cfgfile_print(const p2m_cfgfile *f, const p2m_engine *engine, const char *source,
                       FILE *out)
{
    static const char *const rule_types[] = {"literal", "attribute", "regex", "string_table",
                                             "frame"};
    const p2m_config *cfg = &f->config;
    p2m_metric_info ms[3 + P2M_MAX_EXTRA];
    const p2m_metric_info *by_kind[4] = {NULL, NULL, NULL, NULL};
    size_t i, j, n = p2m_engine_metrics(engine, ms, sizeof ms / sizeof ms[0]);

    if (source != NULL)
        fprintf(out, "configuration: %s\n", source);
#ifdef P2M_HAVE_YAML
    if (f->storage != NULL && ((const store *)f->storage)->prefix[0] != '\0')
        fprintf(out, "connector: %s\n", ((const store *)f->storage)->prefix + 11);
#endif
    /* the metrics as the compiled engine emits them: names, kinds and units
       come from the library, not from a second copy of its rules */
    for (i = 0; i < n; i++)
        if (ms[i].kind != P2M_METRIC_EXTRA)
            by_kind[ms[i].kind] = &ms[i];
    fprintf(out, "metrics:\n");
    print_metric(out, "cpu", by_kind[P2M_METRIC_CPU], cfg->cpu.unit);
    fputc('\n', out);
    print_metric(out, "memory", by_kind[P2M_METRIC_MEMORY], cfg->memory.unit);
    fputc('\n', out);
    print_metric(out, "function", by_kind[P2M_METRIC_FUNCTION],
                 cfg->function.unit ? cfg->function.unit : cfg->cpu.unit);
    fputc('\n', out);
    for (i = 0; i < n; i++) {
        const p2m_extra_metric *x;
        if (ms[i].kind != P2M_METRIC_EXTRA || ms[i].extra >= cfg->n_extra)
            continue;
        x = &cfg->extra[ms[i].extra];
        print_metric(out, "declared", &ms[i], x->unit);
        fprintf(out, ", from");
        for (j = 0; j < x->n_sample_types; j++)
            fprintf(out, "%s %s", j ? "," : "", x->sample_types[j]);
        fputc('\n', out);
        if (x->stack_pattern != NULL)
            fprintf(out, "            only samples with a function matching \"%s\" on their "
                         "stack\n", x->stack_pattern);
    }
    if (cfg->function.enabled)
        fprintf(out, "  function mode %s, function name in attribute %s\n",
                cfg->function_mode == P2M_FUNCTION_INCLUSIVE ? "inclusive" : "self",
                cfg->function_attribute_key ? cfg->function_attribute_key : "function.name");

    fprintf(out, "data point attributes, in order:\n");
    if (cfg->attributes == NULL) {
        fprintf(out, "  1. process.executable.name  (default rule: attribute "
                     "process.executable.name)\n");
        fprintf(out, "  2. thread.name              (default rule: attribute thread.name)\n");
        fprintf(out, "  (an attributes list replaces both default rules)\n");
    } else if (cfg->n_attributes == 0) {
        fprintf(out, "  none (attributes is an empty list; the default rules are not used)\n");
    } else {
        size_t shown = 0;
        for (i = 0; i < cfg->n_attributes; i++) {
            const p2m_rule *r = &cfg->attributes[i];
            int again = 0;
            for (j = 0; j < i; j++)
                again |= cfg->attributes[j].key && r->key &&
                         strcmp(cfg->attributes[j].key, r->key) == 0;
            if (again)
                fprintf(out, "     ");
            else
                fprintf(out, "  %lu. ", (unsigned long)++shown);
            fprintf(out, "%-24s %s", r->key ? r->key : "",
                    (unsigned)r->type < 5 ? rule_types[r->type] : "?");
            switch (r->type) {
            case P2M_RULE_LITERAL: fprintf(out, " \"%s\"", r->value ? r->value : ""); break;
            case P2M_RULE_ATTRIBUTE: fprintf(out, " from %s", r->from ? r->from : ""); break;
            case P2M_RULE_REGEX:
                fprintf(out, " \"%s\" on %s", r->value ? r->value : "",
                        r->source && r->source[0] ? r->source : "string_table");
                break;
            case P2M_RULE_STRING_TABLE: fprintf(out, " index %lu", (unsigned long)r->index); break;
            case P2M_RULE_FRAME:
                for (j = 0; frame_froms[j] != NULL; j++)
                    if (r->from != NULL && strcmp(r->from, frame_froms[j]) == 0)
                        break;
                fprintf(out, " %s", r->from ? r->from : "");
                if (frame_froms[j] != NULL)
                    fprintf(out, " (%s)", frame_meanings[j]);
                break;
            default: break;
            }
            if (r->default_value != NULL)
                fprintf(out, ", default \"%s\"", r->default_value);
            if (again)
                fprintf(out, " (fallback for the same key)");
            fputc('\n', out);
        }
        fprintf(out, "  (this list replaces the default rules process.executable.name and "
                     "thread.name)\n");
    }

    fprintf(out, "filters:\n");
    print_filter(out, "process_filter", &cfg->process_filter,
                 cfg->process_key ? cfg->process_key : "process.executable.name");
    print_filter(out, "thread_filter", &cfg->thread_filter,
                 cfg->thread_key ? cfg->thread_key : "thread.name");
    print_filter(out, "pattern_filter", &cfg->pattern_filter, NULL);
    print_filter(out, "stack_filter", &cfg->stack_filter, "the function names on the stack");
    if (cfg->n_type_rules > 0) {
        fprintf(out, "type_rules:\n");
        for (i = 0; i < cfg->n_type_rules; i++) {
            const p2m_type_rule *t = &cfg->type_rules[i];
            fprintf(out, "  %s/%s -> %s, scale %g\n", t->type ? t->type : "",
                    t->unit ? t->unit : "",
                    t->metric == P2M_METRIC_CPU      ? "cpu"
                    : t->metric == P2M_METRIC_MEMORY ? "memory"
                                                     : "none",
                    t->scale);
        }
    }
    fprintf(out, "temporality: %s\n",
            cfg->temporality == P2M_TEMPORALITY_CUMULATIVE ? "cumulative" : "delta");
    fprintf(out, "limits: max_series %lu per metric per resource",
            (unsigned long)cfg->max_series);
    if (cfg->temporality == P2M_TEMPORALITY_CUMULATIVE)
        fprintf(out, "; state_max_series %lu, state_bytes %lu",
                (unsigned long)cfg->state_max_series, (unsigned long)cfg->state_bytes);
    fputc('\n', out);
    fprintf(out, "layout: %s\n", p2m_layout_name(cfg->layout));
    fprintf(out, "strict: %s\n", cfg->strict ? "true" : "false");
}
