/* SPDX-License-Identifier: MIT
   Benchmark peer: protobuf-c 1.4 (Debian libprotobuf-c-dev), code generated
   by protoc-c from proto/profiles_v1_10.proto and profiles_v1_8.proto into
   build/bench/gen. Decode = unpack + free_unpacked with the default
   allocator (malloc). */
#include "bench.h"

#include <stdio.h>
#include <string.h>

#include "profiles_v1_10.pb-c.h"
#include "profiles_v1_8.pb-c.h"

static char pbc_err[128];

#define T(x) P2m__V110__##x
#define F(x) p2m__v1_10__##x
#define E(x) P2M__V1_10__##x
#define SUF(x) x##_10
#define HAS_STRINDEX 1
#include "peer_pbc.inc"
#undef T
#undef F
#undef E
#undef SUF
#undef HAS_STRINDEX

#define T(x) P2m__V18__##x
#define F(x) p2m__v1_8__##x
#define E(x) P2M__V1_8__##x
#define SUF(x) x##_8
#define HAS_STRINDEX 0
#include "peer_pbc.inc"

int pbc_decode(const uint8_t *p, size_t n, int layout) {
    return layout == 8 ? run_8(p, n, NULL) : run_10(p, n, NULL);
}

int pbc_agg(const uint8_t *p, size_t n, int layout, bench_agg *a) {
    return layout == 8 ? run_8(p, n, a) : run_10(p, n, a);
}

const char *pbc_error(void) { return pbc_err; }
