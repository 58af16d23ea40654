/* SPDX-License-Identifier: MIT
   Configurations from a seed, for the C tests that sweep many of them
   (test_placement, test_image): rules of every type, frame rules, filters
   with several patterns, the stack filter, declared metrics with and
   without stack patterns, type rules, both temporalities. Needs
   profile2metrics.h included before it. */
#ifndef P2M_TEST_GENCFG_H
#define P2M_TEST_GENCFG_H

#include <string.h>

static inline unsigned lcg(unsigned *s) { return (*s = *s * 1103515245u + 12345u) >> 16; }

/* A configuration from seed: rules, filters, metrics, temporality. */
typedef struct gen_cfg {
    p2m_config c;
    p2m_rule rules[12];
    const char *pats[4];
    p2m_extra_metric extra[3];
    p2m_type_rule tr[2];
} gen_cfg;

static const char *const k_keys[] = {"process.executable.name", "thread.name", "host.name", "k.a",
                                     "a.much.longer.attribute.key.than.usual"};
static const char *const k_pats[] = {"^app", "worker|main", "[a-z]+[0-9]*", "(x|y){2,5}", "^.*$",
                                     "\\w+\\.so"};
static const char *const k_types_cpu[] = {"off_cpu/nanoseconds", "wall/nanoseconds"};
static const char *const k_types_mem[] = {"inuse_space/bytes"};

static inline void gen(gen_cfg *g, unsigned seed)
{
    unsigned s = seed, i, n;
    memset(g, 0, sizeof *g);
    p2m_config_init(&g->c);
    n = lcg(&s) % 12u;
    for (i = 0; i < n; i++) {
        p2m_rule *r = &g->rules[i];
        r->key = k_keys[lcg(&s) % 5u];
        r->type = (p2m_rule_type)(lcg(&s) % 4u);
        r->value = r->type == P2M_RULE_REGEX ? k_pats[lcg(&s) % 6u] : "v";
        r->from = k_keys[lcg(&s) % 5u];
        r->source = lcg(&s) % 2u ? k_keys[lcg(&s) % 5u] : NULL;
        r->index = lcg(&s) % 4u;
        r->default_value = lcg(&s) % 2u ? "unknown" : NULL;
    }
    if (n || lcg(&s) % 2u) {
        g->c.attributes = g->rules;
        g->c.n_attributes = n;
    }
    for (i = 0; i < 4u; i++)
        g->pats[i] = k_pats[lcg(&s) % 6u];
    g->c.process_filter.enabled = (int)(lcg(&s) % 2u);
    g->c.process_filter.pattern = g->pats[0];
    g->c.thread_filter.enabled = (int)(lcg(&s) % 2u);
    g->c.thread_filter.patterns = g->pats + 1;
    g->c.thread_filter.n_patterns = 1 + lcg(&s) % 3u;
    g->c.pattern_filter.enabled = (int)(lcg(&s) % 2u);
    g->c.pattern_filter.pattern = g->pats[3];
    g->c.pattern_filter.keys = k_keys;
    g->c.pattern_filter.n_keys = lcg(&s) % 4u;
    g->c.function.enabled = (int)(lcg(&s) % 2u);
    n = lcg(&s) % 4u;
    for (i = 0; i < n; i++) {
        static const char *const names[] = {"x0", "x1", "x2"};
        g->extra[i].name = names[i];
        g->extra[i].sample_types = i == 2 ? k_types_mem : k_types_cpu;
        g->extra[i].n_sample_types = i == 2 ? 1 : 1 + lcg(&s) % 2u;
        g->extra[i].description = lcg(&s) % 2u ? "described" : NULL;
    }
    g->c.extra = g->extra;
    g->c.n_extra = n;
    g->tr[0].type = "cycles";
    g->tr[0].unit = "count";
    g->tr[0].metric = P2M_METRIC_CPU;
    g->tr[0].scale = 1.0;
    g->c.type_rules = g->tr;
    g->c.n_type_rules = lcg(&s) % 2u;
    if (lcg(&s) % 2u) {
        g->c.temporality = P2M_TEMPORALITY_CUMULATIVE;
        g->c.state_max_series = 1 + lcg(&s) % 64u;
        g->c.state_bytes = 64 + lcg(&s) % 8192u;
    }
    g->c.max_series = 1 + lcg(&s) % 8u;
    /* frame rules (after the others: the draws above stay as they were),
       the stack filter, stack patterns */
    n = lcg(&s) % 3u;
    for (i = 0; i < n && g->c.n_attributes < 12u; i++) {
        static const char *const froms[] = {"type", "kind", "library", "function", "syscall"};
        p2m_rule *r = &g->rules[g->c.n_attributes++];
        r->key = k_keys[lcg(&s) % 5u];
        r->type = P2M_RULE_FRAME;
        r->from = froms[lcg(&s) % 5u];
        r->default_value = lcg(&s) % 2u ? "none" : NULL;
        g->c.attributes = g->rules;
    }
    g->c.stack_filter.enabled = (int)(lcg(&s) % 4u == 0u);
    g->c.stack_filter.pattern = g->pats[lcg(&s) % 4u];
    for (i = 0; i < g->c.n_extra; i++)
        g->extra[i].stack_pattern = lcg(&s) % 2u ? k_pats[lcg(&s) % 6u] : NULL;
}

#endif
