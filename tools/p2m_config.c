/* SPDX-License-Identifier: MIT
   p2m: YAML configuration file -> p2m_config (SPEC section 9).

   We use libyaml's document API: the whole file becomes a node tree, and the
   scalars of that tree (NUL-terminated) are the strings p2m_config points
   to, so nothing is copied; the tree lives until p2m_cfgfile_free. Every
   mapping is checked against the keys it may hold, so a misspelt key is an
   error naming its path instead of a setting silently ignored. */
#include "p2m_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef P2M_HAVE_YAML

int p2m_cfgfile_supported(void) { return 0; }

int p2m_cfgfile_load(const char *path, p2m_cfgfile *out, char *msg, size_t msg_cap)
{
    memset(out, 0, sizeof *out);
    p2m_config_init(&out->config);
    snprintf(msg, msg_cap,
             "cannot read %s: this p2m was built without YAML support "
             "(install libyaml-dev and rebuild)", path);
    return -1;
}

void p2m_cfgfile_free(p2m_cfgfile *f) { f->storage = NULL; }

#else /* P2M_HAVE_YAML */

#include <yaml.h>

#define PATH_CAP 256

/* What a p2m_cfgfile owns: the document and every array we built. */
typedef struct store {
    yaml_document_t doc;
    int have_doc;
    void **blocks;
    size_t n_blocks, cap_blocks;
} store;

typedef struct ctx {
    store *st;
    char *msg;
    size_t msg_cap;
} ctx;

int p2m_cfgfile_supported(void) { return 1; }

/* ---- errors and small helpers ------------------------------------------- */

static int fail(ctx *c, const char *path, const yaml_node_t *node, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static int fail(ctx *c, const char *path, const yaml_node_t *node, const char *fmt, ...)
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
    return -1;
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

static int load_metrics(ctx *c, const char *path, yaml_node_t *n, p2m_config *cfg)
{
    static const char *const keys[] = {"cpu", "memory", "function", NULL};
    char sub[PATH_CAP];
    if (n == NULL)
        return 0;
    if (check_keys(c, path, n, keys))
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
    static const char *const types[] = {"literal", "attribute", "regex", "string_table", NULL};
    static const int type_values[] = {P2M_RULE_LITERAL, P2M_RULE_ATTRIBUTE, P2M_RULE_REGEX,
                                      P2M_RULE_STRING_TABLE};
    /* for each type: value, from, source, index (1 = needed, 2 = optional) */
    static const int uses[4][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {1, 0, 2, 0}, {0, 0, 0, 1}};
    static const char *const fields[4] = {"value", "from", "source", "index"};
    char sub[PATH_CAP];
    int type = -1, i;
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
    if (tn == NULL)
        return fail(c, sub, n, "missing (literal, attribute, regex or string_table)");
    if (get_enum(c, sub, tn, types, type_values, &type))
        return -1;
    r->type = (p2m_rule_type)type;
    for (i = 0; i < 4; i++) {
        yaml_node_t *v = lookup(c, n, fields[i]);
        join(sub, path, fields[i]);
        if (v == NULL && uses[type][i] == 1)
            return fail(c, sub, n, "missing (type %s needs it)", types[type]);
        if (v != NULL && uses[type][i] == 0)
            return fail(c, sub, v, "not used by type %s", types[type]);
    }
    join(sub, path, "value");
    if (get_string(c, sub, lookup(c, n, "value"), &r->value))
        return -1;
    join(sub, path, "from");
    if (get_string(c, sub, lookup(c, n, "from"), &r->from))
        return -1;
    join(sub, path, "source");
    if (get_string(c, sub, lookup(c, n, "source"), &r->source))
        return -1;
    join(sub, path, "index");
    if (get_uint(c, sub, lookup(c, n, "index"), 0xffffffffull, &index))
        return -1;
    r->index = (uint32_t)index;
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
        "type_rules", "state_max_series", "state_bytes", NULL};
    static const char *const temporalities[] = {"delta", "cumulative", NULL};
    static const int temporality_values[] = {P2M_TEMPORALITY_DELTA,
                                             P2M_TEMPORALITY_CUMULATIVE};
    static const char *const layouts[] = {"auto", "v1.8", "v1.9", "v1.10", NULL};
    static const int layout_values[] = {P2M_LAYOUT_AUTO, P2M_LAYOUT_V1_8, P2M_LAYOUT_V1_9,
                                        P2M_LAYOUT_V1_10};
    char sub[PATH_CAP];
    int e;
    unsigned long long max_series = cfg->max_series, state_bytes;
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

/* A Collector configuration: pick connectors.profiletometrics[/name]. */
static int load_collector(ctx *c, yaml_node_t *root, p2m_cfgfile *out)
{
    yaml_node_t *conns = lookup(c, root, "connectors");
    yaml_node_pair_t *p;
    yaml_node_t *found = NULL;
    const char *found_name = NULL, *second = NULL;
    char path[PATH_CAP];
    if (conns == NULL)
        return fail(c, "connectors", NULL, "no profiletometrics connector");
    if (expect(c, "connectors", conns, YAML_MAPPING_NODE))
        return -1;
    for (p = conns->data.mapping.pairs.start; p < conns->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(c, p->key);
        const char *name;
        if (k == NULL || k->type != YAML_SCALAR_NODE)
            continue;
        name = sval(k);
        if (strcmp(name, "profiletometrics") != 0 &&
            strncmp(name, "profiletometrics/", 17) != 0)
            continue;
        if (found_name != NULL) {
            second = name;
            break;
        }
        found_name = name;
        found = node_at(c, p->value);
    }
    if (found_name == NULL)
        return fail(c, "connectors", conns, "no profiletometrics connector");
    if (second != NULL)
        return fail(c, "connectors", conns,
                    "more than one profiletometrics connector (%s, %s); give p2m a file "
                    "with one", found_name, second);
    out->collector = 1;
    join(path, "connectors", found_name);
    return load_root(c, path, is_null(found) ? NULL : found, &out->config);
}

int p2m_cfgfile_load(const char *path, p2m_cfgfile *out, char *msg, size_t msg_cap)
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
    if (root == NULL || is_null(root)) {
        rc = 0; /* empty file: all defaults */
        goto done;
    }
    if (root->type != YAML_MAPPING_NODE) {
        fail(&c, "", root, "expected a map at the top level, found %s", kind_name(root));
        goto done;
    }
    if (has_key(&c, root, "connectors"))
        rc = load_collector(&c, root, out);
    else
        rc = load_root(&c, "", root, &out->config);
done:
    yaml_parser_delete(&parser);
    fclose(fp);
    return rc;
}

void p2m_cfgfile_free(p2m_cfgfile *f)
{
    store *st = (store *)f->storage;
    size_t i;
    if (st == NULL)
        return;
    if (st->have_doc)
        yaml_document_delete(&st->doc);
    for (i = 0; i < st->n_blocks; i++)
        free(st->blocks[i]);
    free(st->blocks);
    free(st);
    f->storage = NULL;
    p2m_config_init(&f->config);
}

#endif /* P2M_HAVE_YAML */
