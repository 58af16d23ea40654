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

/* Whether (data, len) is a pprof Profile (profile.proto), judged from its
   top-level fields only, without decoding deeper: they run exactly to len,
   each is one of Profile's fields 1..14 with that field's wire type
   (comment, 13, packed or not), and there is a string_table (field 6) whose
   first entry is empty, as profile.proto requires. An OTLP request has only
   fields 1 and 2 and is never taken for one. */
int p2m_input_is_pprof(const unsigned char *data, size_t len);

/* Whether (data, len) walks as p2m_input_is_pprof's fields up to a last
   field that the end of the input cuts short, with a field numbered 3 or
   more before it: a pprof Profile cut short (for a hint; Go writes the
   string table last, so a cut profile has none). */
int p2m_input_is_cut_pprof(const unsigned char *data, size_t len);

/* Whether (data, len) is, at the top level, a run of length-delimited
   fields 1 and 2 ending exactly at len: the shape of an OTLP
   ExportProfilesServiceRequest (resource_profiles, dictionary). */
int p2m_input_is_otlp_request(const unsigned char *data, size_t len);

#endif /* P2M_INPUT_H */
