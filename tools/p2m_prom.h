/* SPDX-License-Identifier: MIT
   p2m: the tool's side of `-f prom`. One request's text is p2m_write_prom's
   (profile2metrics.h); here are --promote-resource-attrs, the note on
   merged resources, and the sums of a stream of requests (p2m_prom_*),
   written with the same mapping once at the end. */
#ifndef P2M_PROM_H
#define P2M_PROM_H

#include <stddef.h>
#include <stdio.h>

#include "profile2metrics.h"
#include "p2m_out.h"

/* Sets o's promotion from spec: "all", or a comma-separated list of keys
   (copied into o->promote_keys, freed by p2m_prom_options_free). Returns 0,
   or -1 when spec has an empty key ("a,,b", ",a" or "") or out of memory. */
int p2m_prom_options_parse(p2m_prom_options *o, const char *spec);
void p2m_prom_options_free(p2m_prom_options *o);

/* When series of different resources were summed into one line (merged of
   them), writes one line to err saying how many and which option keeps
   them apart; otherwise nothing. */
void p2m_prom_note(size_t merged, FILE *err);

/* The sums of a stream. opt (promotion) must outlive the p2m_prom. */
typedef struct p2m_prom p2m_prom;
p2m_prom *p2m_prom_new(const p2m_prom_options *opt);
/* Adds the metrics of one message. Delta sums add to the running totals;
   cumulative sums and gauges replace them. Returns 0, or -1 with a reason
   in why. */
int p2m_prom_add(p2m_prom *p, const p2m_result *r, char *why, size_t why_cap);
/* Appends the exposition text of everything added. */
void p2m_prom_write(const p2m_prom *p, p2m_outbuf *o);
/* Resources (told apart by their attributes) whose series were summed with
   another resource's into one line. */
size_t p2m_prom_merged(const p2m_prom *p);
void p2m_prom_free(p2m_prom *p);

#endif /* P2M_PROM_H */
