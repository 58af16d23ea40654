/* SPDX-License-Identifier: MIT
   p2m: input the tool recognises by itself: gzip and zstd by their magic
   bytes (when built with zlib / libzstd), and the hints given when the
   input does not convert in the format asked for. */
#ifndef P2M_INPUT_H
#define P2M_INPUT_H

#include <stddef.h>

/* The compression in front of (data, len), by magic bytes: "gzip", "zstd"
   or NULL for none. */
const char *p2m_input_compression(const unsigned char *data, size_t len);

/* Whether this build can decompress kind ("gzip", "zstd"). */
int p2m_input_can_decompress(const char *kind);

/* Decompresses (data, len) of the given kind into a malloc'd buffer of at
   most max bytes. The size is counted in a first pass that keeps nothing, so
   a bomb is refused without its memory ever being taken. Returns 0, or -1
   with the reason in why (and *too_big 1 when it is the limit). */
int p2m_input_decompress(const char *kind, const unsigned char *data, size_t len, size_t max,
                         unsigned char **out, size_t *out_len, int *too_big, char *why,
                         size_t why_cap);

/* Whether (data, len) is a chain of 4-byte big-endian length prefixes that
   ends exactly at len (one or more frames): a length-prefixed stream. */
int p2m_input_is_stream(const unsigned char *data, size_t len);

/* Whether (data, len) starts, after whitespace, with '{' or '[': JSON. */
int p2m_input_is_json(const unsigned char *data, size_t len);

#endif /* P2M_INPUT_H */
