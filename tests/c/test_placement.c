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
    return tk_exit_code();
}
