/* SPDX-License-Identifier: MIT
   Sizes against placement: for many configurations (rules of every type,
   frame rules of every kind, filters with several patterns, the stack
   filter, declared metrics with and without stack patterns, type rules,
   both temporalities) the engine size query, the state size and p2m_work_size
   are the bytes the real placement then uses. P2M_ASSERT aborts when a
   placement runs past the memory it was given, and every buffer is
   followed by guard bytes that must stay untouched; each block is tried at
   all eight misalignments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define P2M_ASSERT(x) ((x) ? (void)0 : (fprintf(stderr, "assertion failed: %s\n", #x), abort()))
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
#include "requests.h"
#include "testkit.h"

#define GUARD 64
#define FILL 0xA5

static unsigned lcg(unsigned *s) { return (*s = *s * 1103515245u + 12345u) >> 16; }

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

static void gen(gen_cfg *g, unsigned seed)
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

static int guard_intact(const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != FILL)
            return 0;
    return 1;
}

/* A block of n bytes at misalignment mis inside a fresh allocation, guard
   bytes after it. */
static unsigned char *block(size_t n, unsigned mis, unsigned char **alloc)
{
    *alloc = (unsigned char *)malloc(n + GUARD + 16);
    if (*alloc == NULL)
        abort();
    memset(*alloc, FILL, n + GUARD + 16);
    return (unsigned char *)(((uintptr_t)*alloc + 7u) & ~(uintptr_t)7u) + mis;
}

int main(void)
{
    static pbw reqs[4];
    static unsigned char out[1 << 16];
    unsigned seed, mis, compiled = 0, converted = 0;
    build_main_request(&reqs[0], P2M_LAYOUT_V1_10, 0);
    build_main_request(&reqs[1], P2M_LAYOUT_V1_8, 1);
    build_times_request(&reqs[2]);
    build_function_request(&reqs[3]);

    tk_begin("c.placement.engine_state_work");
    for (seed = 1; seed <= 300; seed++) {
        gen_cfg g;
        p2m_error err;
        const p2m_engine *eng = NULL;
        size_t need;
        unsigned char *emem = NULL, *ealloc = NULL;
        gen(&g, seed);
        if (p2m_engine_compile(&g.c, NULL, 0, &eng, &err) != P2M_ERR_MEMORY)
            continue; /* a configuration the generator got invalid */
        need = err.needed;
        for (mis = 0; mis < 8; mis++) {
            emem = block(need, mis, &ealloc);
            if (p2m_engine_compile(&g.c, emem, need, &eng, &err) != P2M_OK) {
                EXPECT(0, "seed %u: compile with the queried %zu bytes at +%u: %s", seed, need, mis,
                       err.message);
                break;
            }
            EXPECT(guard_intact(emem + need, GUARD), "seed %u: the engine wrote past %zu bytes",
                   seed, need);
            if (mis < 7)
                free(ealloc);
        }
        if (mis < 8) {
            free(ealloc);
            continue;
        }
        compiled++;
        {
            size_t ssize = p2m_state_size(eng), r;
            unsigned char *smem = NULL, *salloc = NULL;
            p2m_state *state = NULL;
            if (ssize) {
                smem = block(ssize, seed & 7u, &salloc);
                EXPECT(p2m_state_init(eng, smem, ssize, &state, &err) == P2M_OK,
                       "seed %u: state_init with p2m_state_size %zu: %s", seed, ssize, err.message);
            }
            for (r = 0; r < 4; r++) {
                size_t wneed = 0, n = 0;
                unsigned char *wmem, *walloc;
                p2m_options opt;
                p2m_stats stats;
                p2m_status st;
                memset(&opt, 0, sizeof opt);
                opt.state = state;
                if (p2m_work_size(eng, reqs[r].b, reqs[r].n, &wneed, &err) != P2M_OK) {
                    EXPECT(0, "seed %u request %zu: work_size: %s", seed, r, err.message);
                    continue;
                }
                wmem = block(wneed, (seed + (unsigned)r) & 7u, &walloc);
                st = p2m_convert(eng, reqs[r].b, reqs[r].n, &opt, wmem, wneed, out, sizeof out, &n,
                                 &stats, &err);
                EXPECT(st == P2M_OK, "seed %u request %zu: convert with the queried %zu bytes: %s",
                       seed, r, wneed, err.message);
                EXPECT(st != P2M_OK || stats.work_used <= wneed,
                       "seed %u request %zu: work_used %zu over the queried %zu", seed, r,
                       stats.work_used, wneed);
                EXPECT(guard_intact(wmem + wneed, GUARD),
                       "seed %u request %zu: the call wrote past %zu bytes of work", seed, r,
                       wneed);
                converted += st == P2M_OK;
                free(walloc);
            }
            if (ssize) {
                EXPECT(guard_intact(smem + ssize, GUARD), "seed %u: the state wrote past %zu bytes",
                       seed, ssize);
                free(salloc);
            }
        }
        free(ealloc);
    }
    EXPECT(compiled >= 150, "only %u of 300 generated configurations compiled", compiled);
    printf("# %u configurations compiled, %u conversions checked\n", compiled, converted);
    tk_end();
    return tk_exit_code();
}
