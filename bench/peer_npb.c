/* SPDX-License-Identifier: MIT
   Benchmark peer: nanopb 0.4 (Debian nanopb + libnanopb-dev, built with
   PB_ENABLE_MALLOC), pointer mode for every variable-size field
   (bench/nanopb.options), code generated into build/bench/gen. Decode =
   pb_decode + pb_release. The Debian library keeps nanopb's default 16-bit
   pb_size_t, so a repeated field longer than 65535 entries cannot be
   decoded: that is the library as shipped, reported, not worked around. */
#include "bench.h"

#include <stdio.h>
#include <string.h>

#include <pb_decode.h>

#include "profiles_v1_10.pb.h"
#include "profiles_v1_8.pb.h"

static char npb_err[160];

#define T(x) p2m_v1_10_##x
#define SUF(x) x##_10
#define HAS_STRINDEX 1
#include "peer_npb.inc"
#undef T
#undef SUF
#undef HAS_STRINDEX

#define T(x) p2m_v1_8_##x
#define SUF(x) x##_8
#define HAS_STRINDEX 0
#include "peer_npb.inc"

int npb_decode(const uint8_t *p, size_t n, int layout) {
    return layout == 8 ? run_8(p, n, NULL) : run_10(p, n, NULL);
}

int npb_agg(const uint8_t *p, size_t n, int layout, bench_agg *a) {
    return layout == 8 ? run_8(p, n, a) : run_10(p, n, a);
}

const char *npb_error(void) { return npb_err; }
