/* SPDX-License-Identifier: MIT
   A tiny protobuf writer for building test requests by hand, so the expected
   results of a test are known by construction (independent of the library
   under test). Nested messages are built inner first and then embedded.

   Every length prefix written is remembered (its byte offset), and the
   offsets follow a message when it is embedded, so a test can corrupt the
   length prefixes of a finished request one by one. */
#ifndef P2M_TEST_PBWRITE_H
#define P2M_TEST_PBWRITE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#define PBW_CAP 16384
#define PBW_MAXLEN 1024

enum { PBW_VARINT = 0, PBW_I64 = 1, PBW_LEN = 2, PBW_I32 = 5 };

typedef struct pbw {
    unsigned char b[PBW_CAP];
    size_t n;
    size_t lenpos[PBW_MAXLEN]; /* offsets of the length prefixes written */
    size_t nlen;
    size_t mark;     /* one remembered position (pbw_mark), follows embedding */
    int has_mark;
} pbw;

static inline void pbw_die(const char *why)
{
    fprintf(stderr, "pbwrite: %s\n", why);
    printf("FAIL pbwrite: %s\n", why);
    exit(2);
}

static inline void pbw_init(pbw *w)
{
    w->n = 0;
    w->nlen = 0;
    w->has_mark = 0;
    w->mark = 0;
}

/* Remembers the current position; after embedding, mark is the position in
   the outer message (so a test knows the exact offset of what follows). */
static inline void pbw_mark(pbw *w)
{
    w->mark = w->n;
    w->has_mark = 1;
}

static inline void pbw_raw(pbw *w, const void *p, size_t n)
{
    if (n > PBW_CAP - w->n)
        pbw_die("buffer full (PBW_CAP)");
    if (n)
        memcpy(w->b + w->n, p, n);
    w->n += n;
}

static inline void pbw_byte(pbw *w, unsigned v)
{
    unsigned char c = (unsigned char)v;
    pbw_raw(w, &c, 1);
}

static inline void pbw_varint(pbw *w, uint64_t v)
{
    while (v >= 0x80) {
        pbw_byte(w, (unsigned)((v & 0x7f) | 0x80));
        v >>= 7;
    }
    pbw_byte(w, (unsigned)v);
}

static inline void pbw_tag(pbw *w, uint32_t field, unsigned wt)
{
    pbw_varint(w, ((uint64_t)field << 3) | wt);
}

/* int32/int64/uint64/bool fields (negative values sign-extended to 10 bytes,
   as protobuf does for int32 and int64). */
static inline void pbw_int(pbw *w, uint32_t field, int64_t v)
{
    pbw_tag(w, field, PBW_VARINT);
    pbw_varint(w, (uint64_t)v);
}

static inline void pbw_uint(pbw *w, uint32_t field, uint64_t v)
{
    pbw_tag(w, field, PBW_VARINT);
    pbw_varint(w, v);
}

static inline void pbw_put_fixed64(pbw *w, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++)
        pbw_byte(w, (unsigned)((v >> (8 * i)) & 0xff));
}

static inline void pbw_fixed64(pbw *w, uint32_t field, uint64_t v)
{
    pbw_tag(w, field, PBW_I64);
    pbw_put_fixed64(w, v);
}

static inline void pbw_double(pbw *w, uint32_t field, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    pbw_fixed64(w, field, u);
}

static inline void pbw_note_len(pbw *w, size_t pos)
{
    if (w->nlen == PBW_MAXLEN)
        pbw_die("too many length prefixes (PBW_MAXLEN)");
    w->lenpos[w->nlen++] = pos;
}

static inline void pbw_bytes(pbw *w, uint32_t field, const void *p, size_t n)
{
    pbw_tag(w, field, PBW_LEN);
    pbw_note_len(w, w->n);
    pbw_varint(w, n);
    pbw_raw(w, p, n);
}

static inline void pbw_str(pbw *w, uint32_t field, const char *s)
{
    pbw_bytes(w, field, s, strlen(s));
}

/* Embeds a finished message as a length-delimited field. */
static inline void pbw_msg(pbw *w, uint32_t field, const pbw *inner)
{
    size_t base, i;
    pbw_tag(w, field, PBW_LEN);
    pbw_note_len(w, w->n);
    pbw_varint(w, inner->n);
    base = w->n;
    pbw_raw(w, inner->b, inner->n);
    for (i = 0; i < inner->nlen; i++)
        pbw_note_len(w, base + inner->lenpos[i]);
    if (inner->has_mark) {
        w->mark = base + inner->mark;
        w->has_mark = 1;
    }
}

/* Appends a finished message's bytes as they are (concatenation). */
static inline void pbw_cat(pbw *w, const pbw *other)
{
    size_t base = w->n, i;
    pbw_raw(w, other->b, other->n);
    for (i = 0; i < other->nlen; i++)
        pbw_note_len(w, base + other->lenpos[i]);
    if (other->has_mark) {
        w->mark = base + other->mark;
        w->has_mark = 1;
    }
}

static inline void pbw_packed_ints(pbw *w, uint32_t field, const int64_t *v, size_t n)
{
    unsigned char tmp[1024];
    size_t k = 0, i;
    for (i = 0; i < n; i++) {
        uint64_t u = (uint64_t)v[i];
        if (k + 10 > sizeof tmp)
            pbw_die("packed field too long");
        while (u >= 0x80) {
            tmp[k++] = (unsigned char)((u & 0x7f) | 0x80);
            u >>= 7;
        }
        tmp[k++] = (unsigned char)u;
    }
    pbw_bytes(w, field, tmp, k);
}

static inline void pbw_packed_fixed64(pbw *w, uint32_t field, const uint64_t *v, size_t n)
{
    unsigned char tmp[1024];
    size_t k = 0, i;
    int j;
    if (n * 8 > sizeof tmp)
        pbw_die("packed field too long");
    for (i = 0; i < n; i++)
        for (j = 0; j < 8; j++)
            tmp[k++] = (unsigned char)((v[i] >> (8 * j)) & 0xff);
    pbw_bytes(w, field, tmp, k);
}

/* Hex dump of up to max bytes, for failure messages. */
static inline const char *pbw_hex(const void *p, size_t n, size_t max)
{
    static char buf[2 * 1024 + 8];
    const unsigned char *b = (const unsigned char *)p;
    size_t i, k = 0;
    if (max > 1024)
        max = 1024;
    for (i = 0; i < n && i < max; i++) {
        static const char hx[] = "0123456789abcdef";
        buf[k++] = hx[b[i] >> 4];
        buf[k++] = hx[b[i] & 15];
    }
    if (n > max) {
        buf[k++] = '.';
        buf[k++] = '.';
        buf[k++] = '.';
    }
    buf[k] = 0;
    return buf;
}

#endif
