/* SPDX-License-Identifier: MIT
   libFuzzer target: the built-in regex engine.
   Input: byte 0 = pattern length L (255: the pattern is the whole rest and is
   also the subject), then L pattern bytes, then the subject.
   Checks: compiling asks for its size (NULL memory gives P2M_ERR_MEMORY and
   needed, which includes up to 15 bytes of alignment slack), 16 bytes less
   fails with P2M_ERR_MEMORY, the size asked for works at any alignment of the
   block (the offset comes from the input); a syntax error has a message and
   an offset inside the pattern; the
   program stays within P2M_REGEX_MAX_INSTS; a search needs exactly
   p2m_regex_scratch_size bytes (one less gives -1); a match span lies inside
   the subject (or is (size_t)-1 twice); the VM takes at most
   2 x (subject length + 1) x instructions steps (the linear-time bound of
   tests/regex/regex_complexity.c); a copy of the compiled block at another
   address searches the same (it holds no pointers). */
#include "fuzz_util.h"

#define STEP_LIMIT 2u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *pat, *subj;
    size_t plen, n, need, sneed, start = 0, end = 0, s2 = 0, e2 = 0;
    unsigned char *block, *mem, *mem2, *scratch;
    size_t misalign;
    const p2m_regex *re = NULL, *re2;
    p2m_error err;
    p2m_status st;
    uint64_t steps = 0, steps2 = 0, bound;
    int rc, rc2;

    if (size < 1)
        return 0;
    pat = (const char *)data + 1;
    if (data[0] == 255) {
        plen = size - 1;
        subj = pat;
        n = plen;
    } else {
        plen = data[0] < size - 1 ? data[0] : size - 1;
        subj = pat + plen;
        n = size - 1 - plen;
    }

    memset(&err, 0, sizeof err);
    st = p2m_regex_compile(pat, plen, NULL, 0, &re, &err);
    if (st == P2M_ERR_CONFIG) {
        FZ_CHECK(err.status == P2M_ERR_CONFIG, "err.status %d", (int)err.status);
        FZ_CHECK(err.offset <= plen, "syntax error offset %zu past pattern length %zu",
                 err.offset, plen);
        FZ_CHECK(err.message[0] != 0, "syntax error without a message");
        return 0;
    }
    FZ_CHECK(st == P2M_ERR_MEMORY && err.needed > 0,
             "size query gave status %d, needed %zu", (int)st, err.needed);
    need = err.needed;

    misalign = size % 16;
    block = fz_alloc(need + misalign);
    mem = block + misalign;
    if (need > 16) {
        memset(&err, 0, sizeof err);
        st = p2m_regex_compile(pat, plen, mem, need - 16, &re, &err);
        FZ_CHECK(st == P2M_ERR_MEMORY && err.needed == need,
                 "16 bytes short gave %d (needed %zu, want %zu)", (int)st, err.needed, need);
    }
    memset(&err, 0, sizeof err);
    st = p2m_regex_compile(pat, plen, mem, need, &re, &err);
    FZ_CHECK(st == P2M_OK, "compile into the size asked for gave %d: %s", (int)st, err.message);
    FZ_CHECK(re != NULL && re->ninst > 0 && re->ninst <= P2M_REGEX_MAX_INSTS,
             "program of %u instructions", re ? re->ninst : 0u);

    sneed = p2m_regex_scratch_size(re);
    scratch = fz_alloc(sneed);
    if (sneed > 0) {
        rc = p2m_regex_search(re, subj, n, scratch, sneed - 1, &start, &end, NULL);
        FZ_CHECK(rc == -1, "search with scratch one byte short gave %d", rc);
    }
    rc = p2m_regex_search(re, subj, n, scratch, sneed, &start, &end, &steps);
    FZ_CHECK(rc == 0 || rc == 1, "search gave %d", rc);
    if (rc == 1)
        FZ_CHECK((start <= end && end <= n) || (start == (size_t)-1 && end == (size_t)-1),
                 "match span [%zu, %zu) in a subject of %zu bytes", start, end, n);
    bound = (uint64_t)STEP_LIMIT * (uint64_t)(n + 1) * re->ninst;
    FZ_CHECK(steps <= bound, "%llu steps > bound %llu (subject %zu bytes, %u instructions)",
             (unsigned long long)steps, (unsigned long long)bound, n, re->ninst);

    /* the compiled block moved elsewhere behaves the same */
    /* (same alignment modulo 16: the copy keeps the padding the original had) */
    mem2 = fz_alloc(need + misalign) + misalign;
    memcpy(mem2, mem, need);
    memset(mem, 0xdb, need);
    re2 = (const p2m_regex *)(const void *)(mem2 + ((const unsigned char *)re - mem));
    rc2 = p2m_regex_search(re2, subj, n, scratch, sneed, &s2, &e2, &steps2);
    FZ_CHECK(rc2 == rc && (rc != 1 || (s2 == start && e2 == end)) && steps2 == steps,
             "the moved copy searched differently: %d [%zu,%zu) vs %d [%zu,%zu)", rc2, s2, e2,
             rc, start, end);
    free(mem2 - misalign);
    free(scratch);
    free(block);
    return 0;
}
