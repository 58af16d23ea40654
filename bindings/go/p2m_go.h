/* SPDX-License-Identifier: MIT
   The C side of the Go package: see p2m_impl.c. */
#ifndef P2M_GO_H
#define P2M_GO_H
#include "profile2metrics.h"

#define P2MGO_MAX_UNFED 32 /* sample types listed in Stats.Unfed, as p2m lists */

p2m_status p2mgo_convert(const p2m_engine *engine, const void *input, size_t input_size,
                         const p2m_options *options, void *work, size_t work_size,
                         void *output, size_t cap, size_t *output_size, p2m_stats *stats,
                         p2m_error *err, uint64_t *unfed, size_t unfed_cap);
#endif
