/* SPDX-License-Identifier: MIT
   Engine images (p2m_engine_save / p2m_engine_load) against hostile bytes,
   built with -fsanitize=address,undefined: each image is loaded from a
   block of exactly its size into a block of exactly the size the query
   gives, so a read or write outside them aborts the run.

   - the header: magic, version, size and checksum as docs/embedded.md
     describes them (the CRC-32 computed here by a table, not the library's
     bitwise loop); each wrong one is P2M_ERR_IMAGE at its offset;
   - round trip: loading an image and saving the engine again gives the same
     bytes, for many generated configurations;
   - every byte of the body changed five ways, with the checksum made right
     again so that the loader's own checks are what stand: the load gives OK,
     P2M_ERR_IMAGE or P2M_ERR_UNSUPPORTED (the size query already: a query
     that passes is followed by a load that succeeds), and an engine that loads converts
     the test requests without fault (any status);
   - every truncation, size and checksum made right: P2M_ERR_IMAGE. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile2metrics.h"
#include "gencfg.h"
#include "requests.h"
#include "testkit.h"

static uint32_t crc_table[256];

static void crc_init(void)
{
    uint32_t i, k, c;
    for (i = 0; i < 256; i++) {
        for (c = i, k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32_table(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    while (n--)
        c = crc_table[(c ^ *p++) & 0xFFu] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}
/* Size and checksum made right for n bytes. */
static void reseal(unsigned char *p, size_t n)
{
    put32(p + 8, (uint32_t)n);
    put32(p + 12, crc32_table(p + 16, n - 16));
}

static pbw reqs[3];
static uint64_t work[1 << 16];
static unsigned char out[1 << 16];

/* Loads n bytes (copied into a block of exactly n) into a block of exactly
   the queried size; converts the requests when it loads. The status. */
static p2m_status load_and_use(const unsigned char *img, size_t n, p2m_error *err, int convert)
{
    unsigned char *copy = (unsigned char *)malloc(n ? n : 1);
    const p2m_engine *e = NULL;
    p2m_status st;
    memcpy(copy, img, n);
    st = p2m_engine_load(copy, n, NULL, 0, &e, err);
    if (st == P2M_ERR_MEMORY) {
        size_t need = err->needed;
        void *mem = malloc(need);
        st = p2m_engine_load(copy, n, mem, need, &e, err);
        if (st != P2M_OK) /* the size query passed what the load then refused */
            st = P2M_ERR_ARGUMENT;
        if (st == P2M_OK && convert) {
            size_t r;
            for (r = 0; r < 3; r++) {
                size_t on = 0;
                p2m_options opt;
                p2m_error cerr;
                memset(&opt, 0, sizeof opt); /* a cumulative engine fails here: no state */
                (void)p2m_convert(e, reqs[r].b, reqs[r].n, &opt, work, sizeof work, out,
                                  sizeof out, &on, NULL, &cerr);
            }
        }
        free(mem);
    }
    free(copy);
    return st;
}

static size_t save(const p2m_engine *e, unsigned char *img, size_t cap)
{
    size_t n = 0;
    p2m_error err;
    if (p2m_engine_save(e, img, cap, &n, &err) != P2M_OK)
        return 0;
    return n;
}

static void check_header(const unsigned char *img, size_t n)
{
    static unsigned char bad[1 << 16];
    p2m_error err;
    tk_begin("c.image.header");
    EXPECT(memcmp(img, "p2mE", 4) == 0, "magic %02x%02x%02x%02x", img[0], img[1], img[2], img[3]);
    EXPECT(get32(img + 4) == 1, "version %u", (unsigned)get32(img + 4));
    EXPECT(get32(img + 8) == n, "size field %u, image %zu", (unsigned)get32(img + 8), n);
    EXPECT(get32(img + 12) == crc32_table(img + 16, n - 16), "checksum field %08x, CRC-32 %08x",
           (unsigned)get32(img + 12), (unsigned)crc32_table(img + 16, n - 16));
    memcpy(bad, img, n);
    bad[1] = 'X';
    EXPECT(load_and_use(bad, n, &err, 0) == P2M_ERR_IMAGE && err.offset == 0 && err.message[0],
           "wrong magic: %d at %zu", (int)err.status, err.offset);
    memcpy(bad, img, n);
    put32(bad + 4, 2);
    EXPECT(load_and_use(bad, n, &err, 0) == P2M_ERR_IMAGE && err.offset == 4 &&
               strstr(err.message, "version"),
           "other version: %d at %zu: %s", (int)err.status, err.offset, err.message);
    memcpy(bad, img, n);
    EXPECT(load_and_use(bad, n - 1, &err, 0) == P2M_ERR_IMAGE && err.offset == 8,
           "short by one: %d at %zu", (int)err.status, err.offset);
    memcpy(bad, img, n);
    bad[n - 1] ^= 0x10;
    EXPECT(load_and_use(bad, n, &err, 0) == P2M_ERR_IMAGE && err.offset == 12 &&
               strstr(err.message, "checksum"),
           "damaged body: %d at %zu", (int)err.status, err.offset);
    EXPECT(load_and_use(bad, 3, &err, 0) == P2M_ERR_IMAGE, "3 bytes");
    EXPECT(load_and_use(reqs[0].b, reqs[0].n, &err, 0) == P2M_ERR_IMAGE,
           "a profile request taken for an image");
    EXPECT(p2m_engine_load(NULL, 5, NULL, 0, NULL, &err) == P2M_ERR_ARGUMENT, "NULL arguments");
    tk_end();
}

int main(void)
{
    static unsigned char img[1 << 16], img2[1 << 16], mut[1 << 16];
    static uint64_t emem[1 << 14], lmem[1 << 14];
    unsigned seed, roundtrips = 0, loaded = 0, refused = 0, unsupported = 0, other = 0;
    unsigned tested = 0, truncs = 0, bad_truncs = 0;
    p2m_error err;
    crc_init();
    build_main_request(&reqs[0], P2M_LAYOUT_V1_10, 0);
    build_times_request(&reqs[1]);
    build_function_request(&reqs[2]);

    tk_begin("c.image.roundtrip");
    for (seed = 1; seed <= 300; seed++) {
        gen_cfg g;
        const p2m_engine *e = NULL, *l = NULL;
        size_t n, n2;
        gen(&g, seed);
        if (p2m_engine_compile(&g.c, emem, sizeof emem, &e, &err) != P2M_OK)
            continue;
        n = save(e, img, sizeof img);
        EXPECT(n > 16, "seed %u: save failed", seed);
        if (n <= 16)
            continue;
        EXPECT(p2m_engine_load(img, n, lmem, sizeof lmem, &l, &err) == P2M_OK, "seed %u: load: %s",
               seed, err.message);
        n2 = l ? save(l, img2, sizeof img2) : 0;
        EXPECT(n2 == n && memcmp(img, img2, n) == 0,
               "seed %u: saved again: %zu bytes, not the %zu loaded", seed, n2, n);
        roundtrips++;
    }
    EXPECT(roundtrips >= 150, "only %u configurations", roundtrips);
    printf("# %u images saved, loaded and saved again\n", roundtrips);
    tk_end();

    {
        const p2m_engine *e = NULL;
        gen_cfg g;
        size_t n;
        gen(&g, 7);
        p2m_engine_compile(&g.c, emem, sizeof emem, &e, &err);
        n = save(e, img, sizeof img);
        check_header(img, n);
    }

    tk_begin("c.image.mutations");
    for (seed = 1; seed <= 30; seed++) {
        static const int how[5] = {1, 0x80, -1, -2, 0x40};
        const p2m_engine *e = NULL;
        gen_cfg g;
        size_t n, i;
        int h;
        gen(&g, seed * 7u);
        if (p2m_engine_compile(&g.c, emem, sizeof emem, &e, &err) != P2M_OK)
            continue;
        n = save(e, img, sizeof img);
        for (i = 16; i < n; i++) {
            for (h = 0; h < 5; h++) {
                p2m_status st;
                memcpy(mut, img, n);
                mut[i] = how[h] == -1 ? 0 : how[h] == -2 ? 0xFF : (unsigned char)(mut[i] ^ how[h]);
                if (mut[i] == img[i])
                    continue;
                reseal(mut, n);
                st = load_and_use(mut, n, &err, (i + (size_t)h) % 4u == 0);
                tested++;
                if (st == P2M_OK)
                    loaded++;
                else if (st == P2M_ERR_IMAGE && err.message[0] && err.offset >= 16 &&
                         err.offset <= n)
                    refused++;
                else if (st == P2M_ERR_UNSUPPORTED && err.message[0])
                    unsupported++;
                else
                    other++;
            }
        }
        for (i = 16; i < n; i++) { /* every truncation */
            memcpy(mut, img, i);
            reseal(mut, i);
            truncs++;
            bad_truncs += load_and_use(mut, i, &err, 0) != P2M_ERR_IMAGE;
        }
    }
    EXPECT(other == 0, "%u mutated images gave another status or no message", other);
    EXPECT(refused > tested / 4, "only %u of %u mutated images refused", refused, tested);
    EXPECT(bad_truncs == 0 && truncs > 1000, "%u of %u truncations not refused", bad_truncs,
           truncs);
    printf("# %u mutated images: %u loaded, %u refused, %u unsupported; %u truncations\n", tested,
           loaded, refused, unsupported, truncs);
    tk_end();
    return tk_exit_code();
}
