/* SPDX-License-Identifier: MIT
   p2m: compressed input and format hints (see p2m_input.h). zlib and
   libzstd are optional: the Makefile defines P2M_HAVE_ZLIB / P2M_HAVE_ZSTD
   when they are installed; without them a compressed input is named as
   such and refused. */
#include "p2m_input.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef P2M_HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef P2M_HAVE_ZSTD
#include <zstd.h>
#endif

const char *p2m_input_compression(const unsigned char *data, size_t len)
{
    if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b)
        return "gzip";
    if (len >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f && data[3] == 0xfd)
        return "zstd";
    return NULL;
}

int p2m_input_can_decompress(const char *kind)
{
#ifdef P2M_HAVE_ZLIB
    if (strcmp(kind, "gzip") == 0)
        return 1;
#endif
#ifdef P2M_HAVE_ZSTD
    if (strcmp(kind, "zstd") == 0)
        return 1;
#endif
    (void)kind;
    return 0;
}

int p2m_input_is_stream(const unsigned char *data, size_t len)
{
    size_t at = 0;
    if (len < 4)
        return 0;
    while (at < len) {
        size_t n;
        if (len - at < 4)
            return 0;
        n = (size_t)data[at] << 24 | (size_t)data[at + 1] << 16 | (size_t)data[at + 2] << 8 |
            (size_t)data[at + 3];
        if (n > len - at - 4)
            return 0;
        at += 4 + n;
    }
    return 1;
}

int p2m_input_is_json(const unsigned char *data, size_t len)
{
    size_t i = 0;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'))
        i++;
    return i < len && (data[i] == '{' || data[i] == '[');
}

/* Reads the varint at *at (at most 10 bytes, before len); 0 or -1. */
static int top_varint(const unsigned char *d, size_t len, size_t *at, uint64_t *v)
{
    unsigned shift = 0;
    *v = 0;
    while (*at < len && shift < 64) { /* at most 10 bytes */
        unsigned char b = d[(*at)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
        shift += 7;
    }
    return -1;
}

/* Walks the top-level fields of (data, len). pprof 1: fields of
   profile.proto's Profile, with the string_table check; 0: fields 1 and 2,
   length-delimited (an OTLP request). Returns 2 when every field passes and
   the walk ends exactly at len (with a string_table, for pprof), 1 when the
   fields pass up to a last one cut short by the end of the input (for pprof:
   with a field numbered 3 or more before it, which no OTLP request has), 0
   otherwise. */
static int top_level_walk(const unsigned char *d, size_t len, int pprof)
{
    size_t at = 0;
    int strings = 0, fields = 0, high = 0;
    while (at < len) {
        uint64_t tag, field, n;
        unsigned wt;
        if (top_varint(d, len, &at, &tag) != 0)
            return at >= len && (pprof ? high : fields) ? 1 : 0;
        field = tag >> 3;
        wt = (unsigned)(tag & 7);
        if (pprof) {
            /* ValueType, Sample, Mapping, Location, Function, string_table,
               period_type: length-delimited; the int64s: varints; comment
               (repeated int64): either */
            int len_field = (field >= 1 && field <= 6) || field == 11;
            int int_field = (field >= 7 && field <= 10) || field == 12 || field == 14;
            if (!(len_field && wt == 2) && !(int_field && wt == 0) &&
                !(field == 13 && (wt == 0 || wt == 2)))
                return 0;
            high |= field >= 3;
        } else if ((field != 1 && field != 2) || wt != 2) {
            return 0;
        }
        fields++;
        if (top_varint(d, len, &at, &n) != 0)
            return at >= len && (pprof ? high : fields) ? 1 : 0;
        if (wt == 2) {
            if (pprof && field == 6 && strings++ == 0 && n != 0)
                return 0; /* string_table[0] must be "" */
            if (n > len - at)
                return (pprof ? high : fields) ? 1 : 0;
            at += (size_t)n;
        }
    }
    if (pprof)
        return strings > 0 ? 2 : 0;
    return fields > 0 ? 2 : 0;
}

int p2m_input_is_pprof(const unsigned char *data, size_t len)
{
    return top_level_walk(data, len, 1) == 2;
}

int p2m_input_is_cut_pprof(const unsigned char *data, size_t len)
{
    return top_level_walk(data, len, 1) == 1;
}

int p2m_input_is_otlp_request(const unsigned char *data, size_t len)
{
    return top_level_walk(data, len, 0) == 2;
}

#ifdef P2M_HAVE_ZLIB
/* One pass over the gzip members of (data, len): into out (cap bytes) when
   out is not NULL, else only counted. Stops with *too_big once more than max
   bytes come out. */
static int gunzip_pass(const unsigned char *data, size_t len, unsigned char *out, size_t cap,
                       size_t max, size_t *total, int *too_big, char *why, size_t why_cap)
{
    unsigned char scratch[1 << 16];
    z_stream z;
    size_t at = 0;
    int rc = 0;

    *total = 0;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK) {
        snprintf(why, why_cap, "cannot start zlib");
        return -1;
    }
    for (;;) {
        int zr;
        size_t in_n = len - at > 0x40000000u ? 0x40000000u : len - at;
        size_t room;
        unsigned char *dst;
        if (out != NULL) {
            dst = out + *total;
            room = cap - *total;
        } else {
            dst = scratch;
            room = sizeof scratch;
        }
        if (room > 0x40000000u)
            room = 0x40000000u;
        z.next_in = (Bytef *)(uintptr_t)(data + at);
        z.avail_in = (uInt)in_n;
        z.next_out = dst;
        z.avail_out = (uInt)room;
        zr = inflate(&z, Z_NO_FLUSH);
        at += in_n - z.avail_in;
        *total += room - z.avail_out;
        if (*total > max) {
            *too_big = 1;
            snprintf(why, why_cap, "it inflates to more than %lu bytes", (unsigned long)max);
            rc = -1;
            break;
        }
        if (zr == Z_STREAM_END) {
            /* another member may follow (gzip files concatenate) */
            if (at < len) {
                if (len - at < 2 || data[at] != 0x1f || data[at + 1] != 0x8b) {
                    snprintf(why, why_cap,
                             "%lu bytes after the end of the gzip data (at compressed byte %lu)",
                             (unsigned long)(len - at), (unsigned long)at);
                    rc = -1;
                    break;
                }
                inflateReset(&z);
                continue;
            }
            break; /* every member inflated */
        }
        if (zr == Z_BUF_ERROR && out != NULL && z.avail_out == 0) {
            snprintf(why, why_cap, "inflated size changed between passes");
            rc = -1;
            break;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            snprintf(why, why_cap, "corrupt gzip data near compressed byte %lu: %s",
                     (unsigned long)at, z.msg ? z.msg : "inflate failed");
            rc = -1;
            break;
        }
        if (at >= len && z.avail_out != 0) {
            snprintf(why, why_cap,
                     "truncated: the compressed input ends at byte %lu inside the gzip data",
                     (unsigned long)len);
            rc = -1;
            break;
        }
    }
    inflateEnd(&z);
    return rc;
}
#endif

#ifdef P2M_HAVE_ZSTD
static int unzstd_pass(const unsigned char *data, size_t len, unsigned char *out, size_t cap,
                       size_t max, size_t *total, int *too_big, char *why, size_t why_cap)
{
    unsigned char scratch[1 << 16];
    ZSTD_DCtx *d = ZSTD_createDCtx();
    ZSTD_inBuffer in;
    size_t last = 1;
    int rc = 0;

    *total = 0;
    if (d == NULL) {
        snprintf(why, why_cap, "cannot start libzstd");
        return -1;
    }
    in.src = data;
    in.size = len;
    in.pos = 0;
    for (;;) {
        ZSTD_outBuffer o;
        if (out != NULL) {
            o.dst = out + *total;
            o.size = cap - *total;
        } else {
            o.dst = scratch;
            o.size = sizeof scratch;
        }
        o.pos = 0;
        last = ZSTD_decompressStream(d, &o, &in);
        if (ZSTD_isError(last)) {
            snprintf(why, why_cap, "corrupt zstd data near compressed byte %lu: %s",
                     (unsigned long)in.pos, ZSTD_getErrorName(last));
            rc = -1;
            break;
        }
        *total += o.pos;
        if (*total > max) {
            *too_big = 1;
            snprintf(why, why_cap, "it decompresses to more than %lu bytes", (unsigned long)max);
            rc = -1;
            break;
        }
        if (in.pos >= len && o.pos < o.size) { /* all input used, output drained */
            if (last != 0) {
                snprintf(why, why_cap,
                         "truncated: the compressed input ends at byte %lu inside a zstd frame",
                         (unsigned long)len);
                rc = -1;
            }
            break;
        }
        if (out != NULL && o.pos == 0 && o.size == 0) {
            snprintf(why, why_cap, "decompressed size changed between passes");
            rc = -1;
            break;
        }
    }
    ZSTD_freeDCtx(d);
    return rc;
}
#endif

int p2m_input_decompress(const char *kind, const unsigned char *data, size_t len, size_t max,
                         unsigned char **out, size_t *out_len, int *too_big, char *why,
                         size_t why_cap)
{
    int (*pass)(const unsigned char *, size_t, unsigned char *, size_t, size_t, size_t *, int *,
                char *, size_t) = NULL;
    size_t total = 0, again = 0;
    unsigned char *buf;

    *too_big = 0;
#ifdef P2M_HAVE_ZLIB
    if (strcmp(kind, "gzip") == 0)
        pass = gunzip_pass;
#endif
#ifdef P2M_HAVE_ZSTD
    if (strcmp(kind, "zstd") == 0)
        pass = unzstd_pass;
#endif
    if (pass == NULL) {
        snprintf(why, why_cap, "this p2m was built without %s support", kind);
        return -1;
    }
    if (pass(data, len, NULL, 0, max, &total, too_big, why, why_cap) != 0)
        return -1;
    buf = (unsigned char *)malloc(total + 1);
    if (buf == NULL) {
        snprintf(why, why_cap, "out of memory (%lu bytes)", (unsigned long)total);
        return -1;
    }
    /* room for one byte more than counted: a pass that ends with output
       room left is one that has drained the decompressor */
    if (pass(data, len, buf, total + 1, total, &again, too_big, why, why_cap) != 0 ||
        again != total) {
        if (again != total)
            snprintf(why, why_cap, "decompressed size changed between passes");
        *too_big = 0;
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = total;
    return 0;
}
