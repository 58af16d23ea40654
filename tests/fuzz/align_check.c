/* SPDX-License-Identifier: MIT
   Regression check from fuzzing (fuzz_config): one of the caller's memory
   blocks (argv[1]: engine, state, work or output) at every address offset
   0..7, each block exactly the size the library asked for, the others
   8-byte aligned, under ASan + UBSan. The API does not require aligned
   blocks (p2m_state_init: "8-byte aligned is best"), so every offset must
   work without a misaligned access or an overrun. Prints one PASS/FAIL line;
   a sanitizer report aborts the run (the suite reports that as a FAIL). */
#include "fuzz_util.h"
#include "requests.h"

static pbw req;

int main(int argc, char **argv)
{
    p2m_config c;
    p2m_error err;
    const p2m_engine *eng;
    p2m_state *state;
    p2m_options opt;
    size_t off, need_e, need_s, need_w, n;
    const char *which = argc > 1 ? argv[1] : "engine";
    int bad = 0;
    build_main_request(&req, P2M_LAYOUT_V1_9, 0);
    for (off = 0; off < 8; off++) {
        size_t oe = strcmp(which, "engine") ? 0 : off, os = strcmp(which, "state") ? 0 : off;
        size_t ow = strcmp(which, "work") ? 0 : off, oo = strcmp(which, "output") ? 0 : off;
        unsigned char *eb, *sb, *wb, *ob;
        p2m_status s;
        p2m_config_init(&c);
        c.temporality = P2M_TEMPORALITY_CUMULATIVE;
        c.state_max_series = 16;
        c.state_bytes = 4096;
        p2m_engine_compile(&c, NULL, 0, &eng, &err);
        need_e = err.needed;
        eb = fz_alloc(need_e + 8);
        s = p2m_engine_compile(&c, eb + oe, need_e, &eng, &err);
        if (s != P2M_OK) {
            printf("FAIL fuzz.align.%s: offset %zu: compile gave %d: %s\n", which, off, (int)s,
                   err.message);
            return 1;
        }
        need_s = p2m_state_size(eng);
        sb = fz_alloc(need_s + 8);
        s = p2m_state_init(eng, sb + os, need_s, &state, &err);
        if (s != P2M_OK) {
            printf("FAIL fuzz.align.%s: offset %zu: state_init gave %d: %s\n", which, off, (int)s,
                   err.message);
            return 1;
        }
        memset(&opt, 0, sizeof opt);
        opt.state = state;
        p2m_work_size(eng, req.b, req.n, &need_w, &err);
        wb = fz_alloc(need_w + 8);
        p2m_convert(eng, req.b, req.n, &opt, wb + ow, need_w, NULL, 0, &n, NULL, &err);
        n = err.needed;
        ob = fz_alloc(n + 8);
        s = p2m_convert(eng, req.b, req.n, &opt, wb + ow, need_w, ob + oo, n, &n, NULL, &err);
        if (s != P2M_OK) {
            printf("FAIL fuzz.align.%s: offset %zu: convert gave %d: %s\n", which, off, (int)s,
                   err.message);
            bad++;
        }
        free(ob);
        free(wb);
        free(sb);
        free(eb);
    }
    if (!bad)
        printf("PASS fuzz.align.%s (the block at offsets 0..7)\n", which);
    return bad ? 1 : 0;
}
