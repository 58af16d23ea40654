/* SPDX-License-Identifier: MIT
   tk_read_file for the C tests and the test drivers (testkit.h includes it;
   a driver without checks includes it alone). */
#ifndef P2M_TEST_READFILE_H
#define P2M_TEST_READFILE_H

#include <stdio.h>
#include <stdlib.h>

/* Reads a whole file into a malloc'ed buffer (NULL when it cannot be
   opened, read or held). */
static inline unsigned char *tk_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f)
        return NULL;
    for (;;) {
        size_t got;
        if (n == cap) {
            unsigned char *nb;
            cap = cap ? cap * 2 : 65536;
            nb = (unsigned char *)realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

#endif
