/* SPDX-License-Identifier: MIT
   p2m: loading a YAML configuration file into a p2m_config (SPEC section 9).

   The file is read with libyaml when the tool is built with P2M_HAVE_YAML;
   without it p2m_cfgfile_load always fails with a message that says so.
   Every string and array the resulting p2m_config points to is owned by
   the p2m_cfgfile and lives until p2m_cfgfile_free. */
#ifndef P2M_CONFIG_H
#define P2M_CONFIG_H

#include <stddef.h>

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

/* Frees what p2m_cfgfile_load allocated; out->config must not be used after. */
void p2m_cfgfile_free(p2m_cfgfile *f);

#endif /* P2M_CONFIG_H */
