/* SPDX-License-Identifier: MIT
   libFuzzer target: engine images (p2m_engine_load). The input is an
   image whose size and CRC-32 fields are made right before the load (the
   fuzzer's mutations then reach the loader's own checks instead of dying at
   the checksum); inputs of under 16 bytes are loaded as they are. The image
   is loaded from a block of exactly its size into a block of exactly the
   size the query gives. An engine that loads must:
   - save to an image that loads and saves again to the same bytes;
   - convert a hand-built request (with a state when it is cumulative)
     without fault, whatever the status. */
#include "fuzz_util.h"
#include "requests.h"

static pbw req;
static int ready;
static unsigned char work[1 << 16], out[1 << 16];

static uint32_t crc32_bits(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    int k;
    while (n--) {
        c ^= *p++;
        for (k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* Loads n bytes at img; the engine (in *mem, malloc'd) or NULL. */
static const p2m_engine *load(const unsigned char *img, size_t n, unsigned char **mem)
{
    const p2m_engine *e = NULL;
    p2m_error err;
    p2m_status st = p2m_engine_load(img, n, NULL, 0, &e, &err);
    *mem = NULL;
    if (st != P2M_ERR_MEMORY) {
        FZ_CHECK(st == P2M_ERR_IMAGE || st == P2M_ERR_UNSUPPORTED, "size query: status %d",
                 (int)st);
        FZ_CHECK(err.message[0] && err.offset <= n, "no message, or offset %zu past %zu",
                 err.offset, n);
        return NULL;
    }
    *mem = fz_alloc(err.needed);
    st = p2m_engine_load(img, n, *mem, err.needed, &e, &err);
    FZ_CHECK(st == P2M_OK, "load with the queried size: status %d: %s", (int)st, err.message);
    return e;
}

static size_t save(const p2m_engine *e, unsigned char **img)
{
    size_t n = 0;
    p2m_error err;
    FZ_CHECK(p2m_engine_save(e, NULL, 0, &n, &err) == P2M_ERR_OUTPUT_TOO_SMALL, "save query: %s",
             err.message);
    n = err.needed;
    *img = fz_alloc(n);
    FZ_CHECK(p2m_engine_save(e, *img, n, &n, &err) == P2M_OK, "save: %s", err.message);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *img = fz_alloc(size), *mem, *mem2, *a, *b;
    const p2m_engine *e, *e2;
    size_t na, nb;
    if (!ready) {
        build_main_request(&req, P2M_LAYOUT_V1_10, 0);
        ready = 1;
    }
    memcpy(img, data, size);
    if (size >= 16) {
        put32(img + 8, (uint32_t)size);
        put32(img + 12, crc32_bits(img + 16, size - 16));
    }
    e = load(img, size, &mem);
    free(img);
    if (!e)
        return 0;
    na = save(e, &a);
    e2 = load(a, na, &mem2);
    FZ_CHECK(e2 != NULL, "a loaded engine's own image does not load");
    nb = save(e2, &b);
    FZ_CHECK(na == nb && memcmp(a, b, na) == 0, "saved twice: %zu and %zu bytes differ", na, nb);
    {
        size_t ssize = p2m_state_size(e), n = 0;
        unsigned char *smem = ssize ? fz_alloc(ssize) : NULL;
        p2m_options opt;
        p2m_error err;
        memset(&opt, 0, sizeof opt);
        if (ssize && p2m_state_init(e, smem, ssize, &opt.state, &err) != P2M_OK)
            opt.state = NULL;
        (void)p2m_convert(e, req.b, req.n, &opt, work, sizeof work, out, sizeof out, &n, NULL, &err);
        free(smem);
    }
    free(a);
    free(b);
    free(mem);
    free(mem2);
    return 0;
}
