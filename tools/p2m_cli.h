/* SPDX-License-Identifier: MIT
   p2m: what every subcommand shares for its usage errors and help. */
#ifndef P2M_CLI_H
#define P2M_CLI_H

/* The last line of every help: where the documentation is: the man page
   that make install installs, or the README (a path relative to a checkout
   the user may not have would not help). */
#define P2M_DOC_LINE "Documentation: man p2m, or README.md in the profile2metrics sources."

/* Prints "p2m: MESSAGE" and "Try 'p2m CMD --help'." (cmd NULL: "p2m --help")
   on stderr and returns 2, the usage exit status. Unknown options are
   reported as "unknown option 'X'", stray arguments as "unexpected argument
   'X'", by every subcommand. */
int p2m_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Matches argv[*i] against -s (may be NULL) / --long / --long=VALUE: 1 when
   it is that option, with *value its value (taken from the next argument,
   or *missing set when there is none), else 0. */
int p2m_take_opt(int argc, char **argv, int *i, const char *s, const char *l,
                 const char **value, int *missing);

/* A size: digits with an optional K, M or G (powers of 1024), not 0 and at
   most max bytes. 0, or -1 when s is not such a size. */
int p2m_parse_size(const char *s, size_t max, size_t *out);

#endif /* P2M_CLI_H */
