/* SPDX-License-Identifier: MIT
   p2m: --promote-resource-attrs and the note on merged resources of
   `-f prom` (see p2m_prom.h); the mapping to Prometheus text is
   p2m_write_prom's. */
#include "p2m_prom.h"

#include <stdlib.h>
#include <string.h>

int p2m_prom_options_parse(p2m_prom_options *o, const char *spec)
{
    const char *at = spec;
    char **keys = NULL;
    size_t n = 0;
    if (strcmp(spec, "all") == 0) {
        o->promote_all = 1;
        return 0;
    }
    for (;;) {
        const char *end = strchr(at, ',');
        size_t len = end ? (size_t)(end - at) : strlen(at);
        char **grown;
        if (len == 0)
            break; /* an empty key: "a,,b", ",a" or "" */
        grown = (char **)realloc(keys, (n + 1) * sizeof *grown);
        if (grown == NULL)
            break;
        keys = grown;
        keys[n] = (char *)malloc(len + 1);
        if (keys[n] == NULL)
            break;
        memcpy(keys[n], at, len);
        keys[n++][len] = '\0';
        if (end == NULL) {
            o->promote_keys = (const char *const *)keys;
            o->n_promote_keys = n;
            return 0;
        }
        at = end + 1;
    }
    while (n > 0)
        free(keys[--n]);
    free(keys);
    return -1;
}

void p2m_prom_options_free(p2m_prom_options *o)
{
    size_t i;
    for (i = 0; i < o->n_promote_keys; i++)
        free((void *)(uintptr_t)o->promote_keys[i]);
    free((void *)(uintptr_t)o->promote_keys);
    o->promote_keys = NULL;
    o->n_promote_keys = 0;
}

void p2m_prom_note(size_t merged, FILE *err)
{
    if (merged == 0)
        return;
    fprintf(err,
            "p2m: note: %lu resources had series with the same name and labels; each such "
            "series is one line, their sum (--promote-resource-attrs all, or a list of the "
            "keys that tell the resources apart, keeps them apart)\n",
            (unsigned long)merged);
}
