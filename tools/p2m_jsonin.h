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

#endif /* P2M_JSONIN_H */
