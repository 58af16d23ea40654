/* SPDX-License-Identifier: MIT
   p2m: the tool's side of `-f prom`. The text itself is p2m_write_prom's
   (tools/p2m_writers.inc); here are --promote-resource-attrs and the note
   on merged resources. */
#ifndef P2M_PROM_H
#define P2M_PROM_H

#include <stddef.h>
#include <stdio.h>

#include "profile2metrics.h"
#include "p2m_writers.inc"

/* Sets o's promotion from spec: "all", or a comma-separated list of keys
   (copied into o->promote_keys, freed by p2m_prom_options_free). Returns 0,
   or -1 when spec has an empty key ("a,,b", ",a", "") or out of memory. */
int p2m_prom_options_parse(p2m_prom_options *o, const char *spec);
void p2m_prom_options_free(p2m_prom_options *o);

/* When series of different resources were summed into one line (merged of
   them), writes one line to err saying how many and which option keeps
   them apart; otherwise nothing. */
void p2m_prom_note(size_t merged, FILE *err);

#endif /* P2M_PROM_H */
