/* SPDX-License-Identifier: MIT
   p2m: the human-readable table of a conversion result (`-f table`). */
#ifndef P2M_TABLE_H
#define P2M_TABLE_H

#include <stddef.h>

#include "profile2metrics.h"
#include "p2m_out.h"

/* Appends the table of every resource and metric of r to o. */
void p2m_table_write(p2m_outbuf *o, const p2m_result *r);

/* A value in its metric's unit with a readable unit: ns/us/ms/s values as
   "350 ms" or "1.25 s", By as "3.4 MiB", anything else as number + unit. */
void p2m_table_human(char *buf, size_t cap, double value, p2m_str unit);

#endif /* P2M_TABLE_H */
