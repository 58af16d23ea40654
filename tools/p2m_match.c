/* SPDX-License-Identifier: MIT */
/* p2m match PATTERN SUBJECT... : the pattern tester (docs/regex.md).
   For each subject prints whether the pattern matches it (unanchored search,
   as filters do) and the value a regex attribute rule would extract: group 1,
   or the whole match when the pattern has no group.
   Without SUBJECT arguments the subjects are read from standard input, one
   a line, unless standard input is a terminal (then it is a usage error).
   Exit status: 0 every subject matched, 1 some subject did not, 2 bad usage,
   a bad pattern (the message names the byte position) or no subject.
   tools/p2m.c dispatches "match" here with argv[0] = "match". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile2metrics.h"
#include "p2m_cli.h"

#include <stdarg.h>
#include <unistd.h>

int p2m_cmd_match(int argc, char **argv);

/* A usage error in the wording of p2m_usage_error (tools/p2m_cli.h), kept
   here so this file also builds alone (tests/regex/match_main.c). */
static int match_usage(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static int match_usage(const char *fmt, ...)
{
    va_list ap;
    fputs("p2m: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'p2m match --help'.\n", stderr);
    return 2;
}

static const char *const match_help[] = {
    "usage: p2m match [--] PATTERN [SUBJECT...]",
    "",
    "Tests a filter or regex-rule pattern (RE2 syntax, docs/regex.md) against",
    "each SUBJECT: prints whether it matches (anywhere in the subject, as the",
    "filters do) and the value a regex rule extracts (capture group 1, or the",
    "whole match when the pattern has no group). Without SUBJECT arguments it",
    "reads the subjects from standard input, one a line (a pipe or a file, not",
    "a terminal). A pattern that starts with '-' follows '--'.",
    "",
    "example:",
    "  $ p2m match '^(.*)-[a-z0-9]+-[a-z0-9]+$' checkout-7d9f8b-x2kq checkout",
    "  \"checkout-7d9f8b-x2kq\": match, value \"checkout\" (bytes 0..8)",
    "  \"checkout\": no match",
    "",
    "  ps -eo comm= | p2m match '^(java|python)'",
    "",
    "Exit status: 0 every subject matched, 1 some did not, 2 bad usage, a bad",
    "pattern or no subject.",
    P2M_DOC_LINE,
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

/* Prints the verdict on one subject; clears *all when it does not match. */
static void match_one(const p2m_regex *re, void *scratch, size_t scratch_size, const char *s,
                      size_t n, int *all)
{
    size_t a = 0, b = 0;
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
        *all = 0;
    } else {
        printf(": not decided (%s)\n", r == -2 ? "PCRE2 match limit reached" : "internal error");
        *all = 0;
    }
}

/* Reads subjects from standard input, one a line (the newline, and a
   carriage return before it, are not part of the subject). */
static int match_lines(const p2m_regex *re, void *scratch, size_t scratch_size, int *all,
                       size_t *count)
{
    size_t cap = 256, n = 0;
    char *line = (char *)malloc(cap);
    int ch;
    if (line == NULL) {
        fprintf(stderr, "p2m: match: out of memory\n");
        return -1;
    }
    for (;;) {
        ch = getchar();
        if (ch == EOF || ch == '\n') {
            if (ch == EOF && n == 0)
                break;
            if (n > 0 && line[n - 1] == '\r')
                n--;
            match_one(re, scratch, scratch_size, line, n, all);
            (*count)++;
            n = 0;
            if (ch == EOF)
                break;
            continue;
        }
        if (n + 1 >= cap) {
            char *bigger = (char *)realloc(line, cap * 2);
            if (bigger == NULL) {
                free(line);
                fprintf(stderr, "p2m: match: out of memory\n");
                return -1;
            }
            line = bigger;
            cap *= 2;
        }
        line[n++] = (char)ch;
    }
    free(line);
    if (ferror(stdin)) {
        fprintf(stderr, "p2m: match: cannot read standard input\n");
        return -1;
    }
    return 0;
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
    else if (argc >= 2 && argv[1][0] == '-' && argv[1][1] != '\0')
        return match_usage("unknown option '%s' (a pattern that starts with '-' "
                               "follows --)", argv[1]);
    if (argc <= first)
        return match_usage("no pattern given (p2m match PATTERN SUBJECT...)");
    if (argc == first + 1 && isatty(STDIN_FILENO))
        return match_usage("no subject given: name them after the pattern, or "
                               "pipe them in, one a line");
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
    if (argc == first + 1) { /* subjects from standard input, one a line */
        size_t subjects = 0;
        int r = match_lines(re, scratch, scratch_size, &all, &subjects);
        free(scratch);
        free(mem);
        if (r != 0)
            return 2;
        if (subjects == 0) {
            fprintf(stderr, "p2m: no subject given: none after the pattern and none on standard "
                    "input\nTry 'p2m match --help'.\n");
            return 2;
        }
        return all ? 0 : 1;
    }
    for (i = first + 1; i < argc; i++) {
        match_one(re, scratch, scratch_size, argv[i], strlen(argv[i]), &all);
    }
    free(scratch);
    free(mem);
    return all ? 0 : 1;
}


