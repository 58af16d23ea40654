/* SPDX-License-Identifier: MIT
   p2m serve: the OTLP/gRPC receiver (libnghttp2). */
#define _POSIX_C_SOURCE 200809L

#include "p2m_serve.h"

#include <stdio.h>

#if defined(P2M_HAVE_MHD)
int p2m_grpc_supported(void) { return 0; }
p2m_grpc *p2m_grpc_start(p2m_srv *s, int fd, const char *cert, const char *key,
                         unsigned max_conns, char *why, size_t why_cap)
{
    (void)s; (void)fd; (void)cert; (void)key; (void)max_conns;
    snprintf(why, why_cap, "this p2m was built without libnghttp2");
    return NULL;
}
void p2m_grpc_stop(p2m_grpc *g, double deadline_sec) { (void)g; (void)deadline_sec; }
#endif
