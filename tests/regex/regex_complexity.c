/* SPDX-License-Identifier: MIT */
/* Complexity test (counts, not timing): the VM's step count on 100 KB
   subjects for patterns that blow up backtracking engines must stay within
   a fixed multiple of (subject length + 1) x program size, and doubling the
   subject must about double the steps. Built-in engine only. */
#include <stdio.h>
#include <string.h>
#include "regex_impl.h"

#define LIMIT 2u /* steps <= LIMIT * (n + 1) * instructions */

static unsigned char mem[1 << 20];
static unsigned char scratch[1 << 22];
static char subj[100001];

static int check(const char *pat, char fill, size_t n, int want)
{
    const p2m_regex *re;
    p2m_error err;
    size_t s, e;
    uint64_t steps = 0, steps_half = 0, bound;
    int rc;
    if (p2m_regex_compile(pat, strlen(pat), mem, sizeof mem, &re, &err) != P2M_OK) {
        printf("FAIL regex-complexity %s: compile: %s\n", pat, err.message);
        return 1;
    }
    memset(subj, fill, n);
    rc = p2m_regex_search(re, subj, n, scratch, sizeof scratch, &s, &e, &steps);
    p2m_regex_search(re, subj, n / 2, scratch, sizeof scratch, &s, &e, &steps_half);
    bound = (uint64_t)LIMIT * (uint64_t)(n + 1) * re->ninst;
    if (rc != want) {
        printf("FAIL regex-complexity %s: search gave %d, want %d\n", pat, rc, want);
        return 1;
    }
    if (steps == 0 || steps > bound) {
        printf("FAIL regex-complexity %s: %llu steps on %zu bytes, bound %llu (%u x %zu x %u)\n", pat,
               (unsigned long long)steps, n, (unsigned long long)bound, LIMIT, n + 1, re->ninst);
        return 1;
    }
    /* linear: twice the subject, at most about twice the steps (5% slack for
       the constant start-up and end work) */
    if ((double)steps > 2.1 * (double)steps_half) {
        printf("FAIL regex-complexity %s: %llu steps for %zu bytes but %llu for half (not linear)\n", pat,
               (unsigned long long)steps, n, (unsigned long long)steps_half);
        return 1;
    }
    printf("PASS regex-complexity %s (%llu steps on %zu bytes, %u instructions, %.2f steps/byte/instruction)\n",
           pat, (unsigned long long)steps, n, re->ninst, (double)steps / (double)(n + 1) / re->ninst);
    return 0;
}

int main(void)
{
    int bad = 0;
    bad += check("(a*)*b", 'a', 100000, 0);
    bad += check("(a|aa)*c", 'a', 100000, 0);
    bad += check("(x+x+)+y", 'x', 100000, 0);
    bad += check("(?:a?){30}a{30}$", 'a', 100000, 1);
    bad += check("(.*)(.*)(.*)(.*)(.*)z", 'a', 100000, 0);
    bad += check("^(a|b|ab|ba)*$", 'a', 100000, 1);
    return bad ? 1 : 0;
}
