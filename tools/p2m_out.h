/* SPDX-License-Identifier: MIT
   p2m: a growing byte buffer. The tool keeps its whole output in one of
   these and writes it only after every message converted, so a failed run
   prints nothing on stdout. */
#ifndef P2M_OUT_H
#define P2M_OUT_H

#include <stddef.h>

typedef struct p2m_outbuf {
    unsigned char *data;
    size_t len;
    size_t cap;
    int failed;      /* an allocation failed; later appends do nothing */
} p2m_outbuf;

/* Makes room for n more bytes; returns the place to write them or NULL. */
unsigned char *p2m_out_reserve(p2m_outbuf *b, size_t n);
void p2m_out_append(p2m_outbuf *b, const void *p, size_t n);
void p2m_out_str(p2m_outbuf *b, const char *s);
void p2m_out_printf(p2m_outbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void p2m_out_spaces(p2m_outbuf *b, size_t n);
void p2m_out_free(p2m_outbuf *b);

#endif /* P2M_OUT_H */
