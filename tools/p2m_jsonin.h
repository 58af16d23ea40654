/* SPDX-License-Identifier: MIT
   p2m: OTLP/JSON profiles in (`--input-format json`): one
   ExportProfilesServiceRequest in the protobuf JSON mapping, transcoded to
   protobuf bytes of the given layout's field numbers, which the library
   then converts like any binary input. */
#ifndef P2M_JSONIN_H
#define P2M_JSONIN_H

#include <stddef.h>

#include "profile2metrics.h"
#include "p2m_out.h"

/* Transcodes the JSON object in (json, len) to protobuf appended to out.
   layout AUTO means v1.10 numbering. Field names may be lowerCamelCase (as
   the mapping writes them) or the proto names. Returns 0, or -1 with the
   byte offset (into json) and a reason. */
int p2m_jsonin_transcode(const char *json, size_t len, p2m_layout layout, p2m_outbuf *out,
                         size_t *err_offset, char *why, size_t why_cap);

/* Transcodes the one JSON object that starts (after whitespace) at json and
   sets *end to the byte after it; text may follow. Otherwise as
   p2m_jsonin_transcode. */
int p2m_jsonin_transcode_one(const char *json, size_t len, p2m_layout layout, p2m_outbuf *out,
                             size_t *end, size_t *err_offset, char *why, size_t why_cap);

/* Names the place of byte `at` in the protobuf ExportProfilesServiceRequest
   (pb, len), walked with the schema of layout (AUTO: the one its fields fit
   best), as a field path such as
   "resource_profiles[0].scope_profiles[0].profiles[1].samples[7]". When a
   length runs past the end of the input (a truncated file) the path is the
   field being read where the input ends and the call returns 1; else 0.
   *field_at: where the named field starts. path is "" when nothing fits. */
int p2m_pb_locate(const unsigned char *pb, size_t len, p2m_layout layout, size_t at,
                  char *path, size_t path_cap, size_t *field_at);

#endif /* P2M_JSONIN_H */
