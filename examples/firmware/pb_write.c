/* SPDX-License-Identifier: MIT
   pb_write.c - nanopb's pb_write for the Cortex-M4 image, the one nanopb
   function the adapter (p2m_nanopb.h) calls.

   Debian ships nanopb's headers (libnanopb-dev: pb.h, pb_encode.h, ...)
   and a library built for the host (libprotobuf-nanopb.a), not its C
   sources, so there is no pb_encode.c to compile for the target. This file
   implements pb_write to nanopb 0.4's documented contract over the struct
   of Debian's pb_encode.h: a stream without callback only counts; a write
   past max_size fails with "stream full"; a failing callback with "io
   error"; bytes_written grows by the bytes taken. A firmware that has
   nanopb's sources compiles pb_encode.c instead and leaves this file out.
   The host build of the example links Debian's library, and the test
   compares the two builds' bytes. */
#include <pb_encode.h>

bool pb_write(pb_ostream_t *stream, const pb_byte_t *buf, size_t count)
{
    if (count > 0 && stream->callback != NULL) {
        if (stream->bytes_written + count < stream->bytes_written ||
            stream->bytes_written + count > stream->max_size)
            PB_RETURN_ERROR(stream, "stream full");
        if (!stream->callback(stream, buf, count)) PB_RETURN_ERROR(stream, "io error");
    }
    stream->bytes_written += count;
    return true;
}
