/* SPDX-License-Identifier: MIT
   p2m: loading a YAML configuration file into a p2m_config (docs/spec.md section 9).

   The file is read with libyaml when the tool is built with P2M_HAVE_YAML;
   without it p2m_cfgfile_load always fails with a message that says so.
   Every string and array the resulting p2m_config points to is owned by
   the p2m_cfgfile and lives until p2m_cfgfile_free. */
#ifndef P2M_CONFIG_H
#define P2M_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "profile2metrics.h"

typedef struct p2m_cfgfile {
    p2m_config config;  /* defaults of p2m_config_init, overridden by the file */
    int collector;      /* 1 when read from connectors.profiletometrics */
    void *storage;      /* private: parsed document and arrays */
} p2m_cfgfile;

/* 1 when this build can read YAML. */
int p2m_cfgfile_supported(void);

/* Reads path into out. Returns 0 on success. On failure returns -1, writes
   one line without a prefix into msg ("metrics.cpu.metirc_name: unknown key
   (line 3)") and leaves out in a state p2m_cfgfile_free accepts. */
int p2m_cfgfile_load(const char *path, p2m_cfgfile *out, char *msg, size_t msg_cap);

/* As p2m_cfgfile_load; in a Collector configuration with several
   profiletometrics connectors, connector names the one to read ("NAME" or
   "profiletometrics/NAME"; NULL: the only one there is). Before the values
   are read, environment references in them are expanded as the Collector
   does (${env:NAME}, ${NAME}, ${env:NAME:-default}, $$). */
int p2m_cfgfile_load_named(const char *path, const char *connector, p2m_cfgfile *out,
                           char *msg, size_t msg_cap);

/* An error of p2m_engine_compile on f's configuration (err.field relative
   to the connector's settings, err.message) as one line without a prefix,
   in the loader's form: the full key path and the YAML line of the key, or
   of the nearest key above it that the file gives
   ("connectors.profiletometrics.process_filter.pattern: position 3: missing )
   (line 7)"). Returns 0. */
int p2m_cfgfile_error(const p2m_cfgfile *f, const char *field, const char *message, char *msg,
                      size_t msg_cap);

/* Prints the effective configuration of f (file defaults applied) to out,
   one screen for a person: the metrics with names, units and kinds, the
   data point attribute keys in order, filters, temporality, limits, layout,
   strict. source names the file in the first line (may be NULL). */
void p2m_cfgfile_print(const p2m_cfgfile *f, const p2m_engine *engine, const char *source,
                       FILE *out);

/* Frees what p2m_cfgfile_load allocated; out->config must not be used after. */
void p2m_cfgfile_free(p2m_cfgfile *f);

#endif /* P2M_CONFIG_H */
