/* SPDX-License-Identifier: MIT
   minimal.c - the smallest program that embeds profile2metrics.h.

   Reads an OTLP profiles request from the file named on the command line,
   converts it with the default configuration and prints what came out.
   Every byte of memory is a static buffer: no malloc anywhere.

   Build: make examples     Run: build/examples/minimal examples/demo.otlp */
#define P2M_IMPLEMENTATION /* in exactly one file of a program */
#include "profile2metrics.h"

#include <stdio.h>

static unsigned char input[1 << 20];     /* the profiles request */
static unsigned char engine_mem[1 << 14]; /* the compiled configuration */
static unsigned char work[1 << 22];       /* working memory of one call */
static unsigned char output[1 << 20];     /* the metrics request */

int main(int argc, char **argv)
{
    p2m_config cfg;
    const p2m_engine *engine;
    p2m_error err;
    p2m_stats stats;
    size_t in_len, out_len;
    FILE *f;

    if (argc != 2) {
        fprintf(stderr, "usage: %s PROFILES.otlp\n", argv[0]);
        return 2;
    }
    f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 2;
    }
    in_len = fread(input, 1, sizeof input, f);
    if (!feof(f)) {
        fprintf(stderr, "%s: larger than %lu bytes\n", argv[1], (unsigned long)sizeof input);
        fclose(f);
        return 2;
    }
    fclose(f);

    /* 1. compile the configuration (here the defaults) once */
    p2m_config_init(&cfg);
    if (p2m_engine_compile(&cfg, engine_mem, sizeof engine_mem, &engine, &err) != P2M_OK) {
        fprintf(stderr, "config: %s: %s (needs %lu bytes)\n", err.field, err.message,
                (unsigned long)err.needed);
        return 2;
    }

    /* 2. convert: profiles in, OTLP metrics protobuf out */
    if (p2m_convert(engine, input, in_len, NULL, work, sizeof work, output, sizeof output,
                    &out_len, &stats, &err) != P2M_OK) {
        if (err.status == P2M_ERR_MALFORMED)
            fprintf(stderr, "malformed input at byte %lu: %s\n", (unsigned long)err.offset,
                    err.message);
        else /* P2M_ERR_MEMORY, P2M_ERR_OUTPUT_TOO_SMALL: err.needed says how much */
            fprintf(stderr, "%s: %s (needs %lu bytes)\n", p2m_status_string(err.status),
                    err.message, (unsigned long)err.needed);
        return 1;
    }

    /* 3. output[0..out_len) is an ExportMetricsServiceRequest, ready to send */
    printf("%lu bytes of profiles (layout %s) -> %lu bytes of metrics\n",
           (unsigned long)stats.bytes_in, p2m_layout_name(stats.layout),
           (unsigned long)out_len);
    printf("%llu samples, %llu kept, %llu series, %lu bytes of working memory used\n",
           (unsigned long long)stats.samples, (unsigned long long)stats.samples_kept,
           (unsigned long long)stats.series, (unsigned long)stats.work_used);
    return 0;
}
