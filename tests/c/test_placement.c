/* SPDX-License-Identifier: MIT
   Sizes against placement: for many configurations (rules of every type,
   frame rules of every kind, filters with several patterns, the stack
   filter, declared metrics with and without stack patterns, type rules,
   both temporalities) the engine size query, the state size and p2m_work_size
   are the bytes the real placement then uses. P2M_ASSERT aborts when a
   placement runs past the memory it was given, and every buffer is
   followed by guard bytes that must stay untouched; each block is tried at
   all eight misalignments. Each engine's image (p2m_engine_save), loaded
   into exactly the memory its size query gives, converts every delta request
   to the compiled engine's bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define P2M_ASSERT(x) ((x) ? (void)0 : (fprintf(stderr, "assertion failed: %s\n", #x), abort()))
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
#include "gencfg.h"
#include "requests.h"
#include "testkit.h"

#define GUARD 64
#define FILL 0xA5

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

/* A v1.10 request of one profile with sample type (type, unit) whose 48
   samples all have attributes [1, 2] (app, worker) and the one value v:
   enough samples for the sample memo. */
static void build_memo_request(pbw *req, int64_t type, int64_t unit, int64_t v)
{
    static const int64_t a12[] = {1, 2};
    pbw prof;
    int i;
    rq_profile_head(&prof, type, unit);
    for (i = 0; i < 48; i++)
        rq_sample(&prof, P2M_LAYOUT_V1_10, a12, 2, &v, 1, NULL, 0);
    rq_one_profile_request(req, P2M_LAYOUT_V1_10, &prof);
}

/* Does out[0, n) hold an int data point (as_int, field 6, fixed64) of v? */
static int has_int_point(const unsigned char *out, size_t n, uint64_t v)
{
    size_t i;
    unsigned k;
    for (i = 0; i + 9 <= n; i++) {
        if (out[i] != 0x31u)
            continue;
        for (k = 0; k < 8 && out[i + 1 + k] == (unsigned char)(v >> (8 * k)); k++) {
        }
        if (k == 8)
            return 1;
    }
    return 0;
}

/* Working memory is not cleared by the caller: a request converted in the
   memory another request used (an agent's loop, the CLI's blocks) gives
   the bytes it gives in fresh memory. Both requests have the same
   attribute bytes in every sample, so what the first left in the sample
   memo would answer the second's samples if the memo were not made empty
   (cpu 48 x 10 ns, then memory 48 x 4096 bytes). */
static void check_work_reused(void)
{
    static pbw a, b;
    static unsigned char outa[1 << 12], outb[1 << 12], outf[1 << 12];
    p2m_config c;
    p2m_error err;
    const p2m_engine *eng = NULL;
    unsigned char *emem, *ealloc, *w, *walloc, *f, *falloc;
    size_t need, wa = 0, wb = 0, na = 0, nb = 0, nf = 0;
    tk_begin("c.placement.work_reused");
    build_memo_request(&a, S_CPU, S_NS, 10);
    build_memo_request(&b, S_ALLOC, S_BYTES, 4096);
    p2m_config_init(&c);
    if (p2m_engine_compile(&c, NULL, 0, &eng, &err) != P2M_ERR_MEMORY) {
        EXPECT(0, "compile's size query: %s", err.message);
        tk_end();
        return;
    }
    need = err.needed;
    emem = block(need, 0, &ealloc);
    EXPECT(p2m_engine_compile(&c, emem, need, &eng, &err) == P2M_OK, "compile: %s", err.message);
    EXPECT(p2m_work_size(eng, a.b, a.n, &wa, &err) == P2M_OK, "work_size a: %s", err.message);
    EXPECT(p2m_work_size(eng, b.b, b.n, &wb, &err) == P2M_OK, "work_size b: %s", err.message);
    if (wb > wa)
        wa = wb;
    w = block(wa, 0, &walloc);
    f = block(wa, 0, &falloc);
    EXPECT(p2m_convert(eng, a.b, a.n, NULL, w, wa, outa, sizeof outa, &na, NULL, &err) == P2M_OK,
           "convert a: %s", err.message);
    EXPECT(has_int_point(outa, na, 480), "a: no point of cpu_time 480");
    EXPECT(p2m_convert(eng, b.b, b.n, NULL, w, wa, outb, sizeof outb, &nb, NULL, &err) == P2M_OK,
           "convert b in a's memory: %s", err.message);
    EXPECT(p2m_convert(eng, b.b, b.n, NULL, f, wa, outf, sizeof outf, &nf, NULL, &err) == P2M_OK,
           "convert b in fresh memory: %s", err.message);
    EXPECT(has_int_point(outf, nf, 48u * 4096u), "b: no point of memory_allocation 196608");
    EXPECT(nb == nf && memcmp(outb, outf, nf) == 0,
           "b in a's memory: %zu bytes, in fresh memory %zu (or other bytes)", nb, nf);
    free(walloc);
    free(falloc);
    free(ealloc);
    tk_end();
}

int main(void)
{
    static pbw reqs[4];
    static unsigned char out[1 << 16], out2[1 << 16], img[1 << 16];
    unsigned seed, mis, compiled = 0, converted = 0, imaged = 0, images_checked = 0;
    const p2m_engine *img_eng = NULL;
    unsigned char *iemem = NULL, *iealloc = NULL;
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
        { /* its image, loaded into exactly the memory the size query gives */
            size_t isz = 0, ineed;
            p2m_status ist = p2m_engine_save(eng, img, sizeof img, &isz, &err);
            EXPECT(ist == P2M_OK, "seed %u: save: %s", seed, err.message);
            img_eng = NULL;
            if (ist == P2M_OK &&
                p2m_engine_load(img, isz, NULL, 0, &img_eng, &err) == P2M_ERR_MEMORY) {
                ineed = err.needed;
                iemem = block(ineed, seed & 7u, &iealloc);
                EXPECT(p2m_engine_load(img, isz, iemem, ineed, &img_eng, &err) == P2M_OK,
                       "seed %u: load with the queried %zu bytes: %s", seed, ineed, err.message);
                EXPECT(guard_intact(iemem + ineed, GUARD), "seed %u: load wrote past %zu bytes",
                       seed, ineed);
            } else {
                EXPECT(0, "seed %u: load's size query: %s", seed, err.message);
            }
        }
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
                if (st == P2M_OK && !ssize && img_eng) { /* the loaded image converts alike */
                    size_t n2 = 0;
                    imaged += p2m_convert(img_eng, reqs[r].b, reqs[r].n, &opt, wmem, wneed, out2,
                                          sizeof out2, &n2, NULL, &err) == P2M_OK &&
                              n2 == n && memcmp(out, out2, n) == 0;
                    images_checked++;
                }
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
        free(iealloc);
        iealloc = NULL;
        img_eng = NULL;
    }
    EXPECT(images_checked >= 300 && imaged == images_checked,
           "%u of %u conversions with a loaded image gave the compiled engine's bytes", imaged,
           images_checked);
    EXPECT(compiled >= 150, "only %u of 300 generated configurations compiled", compiled);
    printf("# %u configurations compiled, %u conversions checked, %u with loaded images\n",
           compiled, converted, images_checked);
    tk_end();
    check_work_reused();
    return tk_exit_code();
}
