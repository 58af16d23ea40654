/* SPDX-License-Identifier: MIT */
/* p2m match PATTERN SUBJECT... : the pattern tester (docs/regex.md).
   For each subject prints whether the pattern matches it (unanchored search,
   as filters do) and the value a regex attribute rule would extract: group 1,
   or the whole match when the pattern has no group.
   Exit status: 0 every subject matched, 1 some subject did not, 2 bad usage
   or a bad pattern (the message names the byte position).
   tools/p2m.c dispatches "match" here with argv[0] = "match". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile2metrics.h"

int p2m_cmd_match(int argc, char **argv);

static const char *const match_help[] = {
    "usage: p2m match PATTERN [SUBJECT...]",
    "",
    "Tests a filter or regex-rule pattern (RE2 syntax, docs/regex.md) against",
    "each SUBJECT: prints whether it matches (anywhere in the subject, as the",
    "filters do) and the value a regex rule extracts (capture group 1, or the",
    "whole match when the pattern has no group). Without subjects it only",
    "checks the pattern.",
    "",
    "example:",
    "  $ p2m match '^(.*)-[a-z0-9]+-[a-z0-9]+$' checkout-7d9f8b-x2kq checkout",
    "  \"checkout-7d9f8b-x2kq\": match, value \"checkout\" (bytes 0..8)",
    "  \"checkout\": no match",
    "",
    "Exit status: 0 every subject matched, 1 some did not, 2 bad usage or pattern.",
    NULL};

/* Prints s[0..n) as a double-quoted string with C escapes for anything
   that is not printable ASCII, so the output is one line per subject. */
static void put_quoted(FILE *f, const char *s, size_t n)
{
    size_t i;
    fputc('"', f);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c < 32 || c >= 127) fprintf(f, "\\x%02x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

int p2m_cmd_match(int argc, char **argv)
{
    const char *pattern;
    const p2m_regex *re = NULL;
    p2m_error err;
    p2m_status st;
    void *mem = NULL, *scratch = NULL;
    size_t need, scratch_size, plen;
    int first = 1, i, all = 1;

    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        const char *const *l;
        for (l = match_help; *l; l++) printf("%s\n", *l);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--") == 0) first = 2;
    if (argc <= first) {
        fprintf(stderr, "p2m: match: no pattern given\nTry 'p2m match --help'.\n");
        return 2;
    }
    pattern = argv[first];
    plen = strlen(pattern);

    /* size query, then the real compile (the library never allocates) */
    memset(&err, 0, sizeof err);
    st = p2m_regex_compile(pattern, plen, NULL, 0, &re, &err);
    if (st == P2M_ERR_MEMORY) {
        need = err.needed;
        mem = malloc(need ? need : 1);
        if (!mem) {
            fprintf(stderr, "p2m: match: out of memory\n");
            return 2;
        }
        st = p2m_regex_compile(pattern, plen, mem, need, &re, &err);
    }
    if (st != P2M_OK) {
        fputs("p2m: pattern ", stderr);
        put_quoted(stderr, pattern, plen);
        if (st == P2M_ERR_CONFIG)
            fprintf(stderr, ": position %lu: %s\n", (unsigned long)err.offset, err.message);
        else
            fprintf(stderr, ": %s\n", err.message[0] ? err.message : "cannot compile");
        free(mem);
        return 2;
    }
    scratch_size = p2m_regex_scratch_size(re);
    scratch = malloc(scratch_size ? scratch_size : 1);
    if (!scratch) {
        fprintf(stderr, "p2m: match: out of memory\n");
        free(mem);
        return 2;
    }
    for (i = first + 1; i < argc; i++) {
        const char *s = argv[i];
        size_t n = strlen(s), a = 0, b = 0;
        int r = p2m_regex_search(re, s, n, scratch, scratch_size, &a, &b, NULL);
        put_quoted(stdout, s, n);
        if (r == 1 && a == (size_t)-1) {
            printf(": match, no value (group 1 did not take part)\n");
        } else if (r == 1) {
            printf(": match, value ");
            put_quoted(stdout, s + a, b - a);
            printf(" (bytes %lu..%lu)\n", (unsigned long)a, (unsigned long)b);
        } else if (r == 0) {
            printf(": no match\n");
            all = 0;
        } else {
            printf(": not decided (%s)\n", r == -2 ? "PCRE2 match limit reached" : "internal error");
            all = 0;
        }
    }
    free(scratch);
    free(mem);
    return all ? 0 : 1;
}
