/* SPDX-License-Identifier: MIT
   p2m_nanopb.h - profile2metrics' streaming output through a nanopb
   output stream (pb_ostream_t), for firmware that already writes protobuf
   with nanopb: the metrics go out through the same stream (a UART, a radio
   buffer, a socket, pb_ostream_from_buffer) in pieces of at most
   P2M_STREAM_BUFFER bytes, with no output block.

       pb_ostream_t out = uart_ostream();       (your stream)
       st = p2m_convert_nanopb(engine, req, len, &opt, work, sizeof work,
                               &out, &stats, &err);

   stream->bytes_written grows by the bytes written, and stream->max_size
   limits them as it does for nanopb's own encoders: when the stream is
   full or its callback fails, pb_write fails, the conversion stops with
   P2M_ERR_WRITE and stream->errmsg (without PB_NO_ERRMSG) says which.

   p2m_nanopb_metrics_field() writes an aggregated result as one
   length-delimited field (a bytes or ExportMetricsServiceRequest
   submessage field) of the caller's own message, from a pb_callback_t.

   Needs pb_encode.h and nanopb's pb_write (pb_encode.c); include
   profile2metrics.h (with its implementation in one file) before it. */
#ifndef P2M_NANOPB_H
#define P2M_NANOPB_H

#include <pb_encode.h>

#include "profile2metrics.h"

/* The p2m_write_fn: ctx is the pb_ostream_t. */
static inline bool p2m_nanopb_write(void *ctx, const uint8_t *buf, size_t n)
{
    return pb_write((pb_ostream_t *)ctx, buf, n);
}

/* p2m_convert_stream into a nanopb stream. */
static inline p2m_status p2m_convert_nanopb(const p2m_engine *engine, const void *input,
                                            size_t input_size, const p2m_options *options,
                                            void *work, size_t work_size, pb_ostream_t *stream,
                                            p2m_stats *stats, p2m_error *err)
{
    return p2m_convert_stream(engine, input, input_size, options, work, work_size,
                              p2m_nanopb_write, stream, NULL, stats, err);
}

/* A pb_callback_t encode function for a field that carries the metrics of
   a result (p2m_aggregate's) as one length-delimited field: set
   callback.funcs.encode to it and callback.arg to the const p2m_result *.
   nanopb calls it on a sizing stream first (callback NULL): only the size
   is computed then (p2m_encode_otlp's size query), nothing encoded twice. */
static inline bool p2m_nanopb_metrics_field(pb_ostream_t *stream, const pb_field_t *field,
                                            void *const *arg)
{
    const p2m_result *result = (const p2m_result *)*arg;
    p2m_error err;
    size_t size = 0, written = 0;
    p2m_status st = p2m_encode_otlp(result, NULL, 0, &size, &err);
    if (st == P2M_ERR_OUTPUT_TOO_SMALL) {
        size = err.needed;
    } else if (st != P2M_OK) {
        return false;
    }
    if (!pb_encode_tag_for_field(stream, field) || !pb_encode_varint(stream, size))
        return false;
    if (stream->callback == NULL) return pb_write(stream, NULL, size); /* sizing */
    return p2m_encode_otlp_stream(result, p2m_nanopb_write, stream, &written, &err) == P2M_OK &&
           written == size;
}

#endif
