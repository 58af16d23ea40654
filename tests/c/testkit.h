/* SPDX-License-Identifier: MIT
   Check bookkeeping for the C tests: every check prints exactly one line,
   "PASS <name>" or "FAIL <name>: <first failure> (+N more)"; the program
   exits 1 when any check failed. */
#ifndef P2M_TEST_TESTKIT_H
#define P2M_TEST_TESTKIT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readfile.h"

static const char *tk_name;
static int tk_bad;
static char tk_why[768];
static int tk_failed_checks;
static int tk_checks;

static inline void tk_begin(const char *name)
{
    tk_name = name;
    tk_bad = 0;
    tk_why[0] = 0;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static inline void tk_fail(int line, const char *fmt, ...)
{
    if (!tk_bad) {
        va_list ap;
        int k = snprintf(tk_why, sizeof tk_why, "line %d: ", line);
        va_start(ap, fmt);
        if (k > 0 && (size_t)k < sizeof tk_why)
            vsnprintf(tk_why + k, sizeof tk_why - (size_t)k, fmt, ap);
        va_end(ap);
    }
    tk_bad++;
}

static inline int tk_end(void)
{
    tk_checks++;
    if (tk_bad) {
        tk_failed_checks++;
        if (tk_bad > 1)
            printf("FAIL %s: %s (+%d more)\n", tk_name, tk_why, tk_bad - 1);
        else
            printf("FAIL %s: %s\n", tk_name, tk_why);
    } else {
        printf("PASS %s\n", tk_name);
    }
    fflush(stdout);
    return tk_bad == 0;
}

static inline int tk_exit_code(void)
{
    if (tk_checks == 0) {
        printf("FAIL %s: no checks ran\n", tk_name ? tk_name : "c-test");
        return 1;
    }
    return tk_failed_checks ? 1 : 0;
}

#define EXPECT(cond, ...) \
    do { if (!(cond)) tk_fail(__LINE__, __VA_ARGS__); } while (0)


/* The real capture used by several tests; path relative to the repo root. */
#define TK_REAL_PROFILE "tests/data/real/sig-profiling-profile.otlp"
#define TK_REAL_K8S "tests/data/real/sig-profiling-k8s.otlp"

#endif
