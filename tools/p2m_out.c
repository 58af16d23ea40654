/* SPDX-License-Identifier: MIT
   p2m: the growing output buffer (see p2m_out.h). */
#include "p2m_out.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned char *p2m_out_reserve(p2m_outbuf *b, size_t n)
{
    if (b->failed)
        return NULL;
    if (n > b->cap - b->len || b->data == NULL) { /* NULL + 0 is undefined */
        size_t cap = b->cap ? b->cap : 4096;
        unsigned char *d;
        while (n > cap - b->len) {
            if (cap > ((size_t)-1) / 2) {
                b->failed = 1;
                return NULL;
            }
            cap *= 2;
        }
        d = (unsigned char *)realloc(b->data, cap);
        if (d == NULL) {
            b->failed = 1;
            return NULL;
        }
        b->data = d;
        b->cap = cap;
    }
    return b->data + b->len;
}

void p2m_out_append(p2m_outbuf *b, const void *p, size_t n)
{
    unsigned char *dst = p2m_out_reserve(b, n);
    if (dst == NULL || n == 0)
        return;
    memcpy(dst, p, n);
    b->len += n;
}

void p2m_out_str(p2m_outbuf *b, const char *s) { p2m_out_append(b, s, strlen(s)); }

void p2m_out_printf(p2m_outbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    unsigned char *dst;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    dst = p2m_out_reserve(b, (size_t)n + 1);
    if (dst == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf((char *)dst, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void p2m_out_spaces(p2m_outbuf *b, size_t n)
{
    unsigned char *dst = p2m_out_reserve(b, n);
    if (dst == NULL)
        return;
    memset(dst, ' ', n);
    b->len += n;
}

void p2m_out_free(p2m_outbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
