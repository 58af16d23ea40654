/* SPDX-License-Identifier: MIT
   p2m: Prometheus text exposition of conversion results (`-f prom`), by the
   OpenTelemetry -> Prometheus compatibility rules (docs/cli.md). Results of
   a stream are added up message by message; the text is written once. */
#ifndef P2M_PROM_H
#define P2M_PROM_H

#include <stddef.h>
#include <stdio.h>

#include "profile2metrics.h"
#include "p2m_json.h"
#include "p2m_out.h"

typedef struct p2m_prom p2m_prom;

p2m_prom *p2m_prom_new(void);
/* Adds the metrics of one message. Delta sums add to the running totals;
   cumulative sums replace them. Returns 0, or -1 with a reason in why. */
int p2m_prom_add(p2m_prom *p, const p2m_result *r, const p2m_extra_attrs *extra, char *why,
                 size_t why_cap);
/* Appends the exposition text of everything added. */
void p2m_prom_write(const p2m_prom *p, p2m_outbuf *o);
void p2m_prom_free(p2m_prom *p);

/* Before the first p2m_prom_add: resource attributes become labels on every
   sample of their resource; spec is "all" or a comma-separated list of
   keys. Returns 0, or -1 when spec has an empty key (or out of memory). */
int p2m_prom_promote(p2m_prom *p, const char *spec);

/* When series of different resources were summed into one line, writes one
   line to err saying how many resources and which option keeps them apart;
   otherwise nothing. */
void p2m_prom_note(const p2m_prom *p, FILE *err);

/* The Prometheus metric name of an OpenTelemetry metric: name sanitised,
   the base unit's word (seconds, bytes, ...), and _total unless is_gauge.
   Appended to o (no NUL). */
void p2m_prom_metric_name(p2m_outbuf *o, p2m_str name, p2m_str unit, int is_gauge);

#endif /* P2M_PROM_H */
