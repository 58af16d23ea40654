/* SPDX-License-Identifier: MIT
   linked.c - a program that links the installed library instead of
   compiling the header itself (no P2M_IMPLEMENTATION here).

   Reads an OTLP profiles request from a file, converts it with the default
   configuration and writes the OTLP metrics request (protobuf) to standard
   output. Memory is sized by asking the library: the engine from
   p2m_engine_compile's err.needed, the working memory from p2m_work_size,
   the output from the P2M_ERR_OUTPUT_TOO_SMALL answer.

   Build: cc linked.c $(pkg-config --cflags --libs profile2metrics)
   Run:   ./a.out [--now NANOS] PROFILES.otlp > metrics.pb */
#include <profile2metrics.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *read_file(const char *path, size_t *len)
{
    unsigned char *buf = NULL, *grown;
    size_t cap = 0, n = 0, got;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            grown = realloc(buf, cap);
            if (grown == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    p2m_config cfg;
    p2m_options opt;
    p2m_error err;
    const p2m_engine *engine;
    unsigned char *in, *engine_mem, *work, *out = NULL;
    size_t in_len = 0, work_size = 0, out_len = 0;
    const char *path;
    p2m_status st;

    memset(&opt, 0, sizeof opt);
    if (argc == 4 && strcmp(argv[1], "--now") == 0) {
        opt.now_unix_nano = strtoull(argv[2], NULL, 10);
        path = argv[3];
    } else if (argc == 2) {
        path = argv[1];
    } else {
        fprintf(stderr, "usage: %s [--now NANOS] PROFILES.otlp > metrics.pb\n", argv[0]);
        return 2;
    }
    in = read_file(path, &in_len);
    if (in == NULL) {
        perror(path);
        return 2;
    }

    /* the engine: ask for its size, then compile into a block of that size */
    p2m_config_init(&cfg);
    p2m_engine_compile(&cfg, NULL, 0, &engine, &err);
    engine_mem = malloc(err.needed);
    if (engine_mem == NULL ||
        p2m_engine_compile(&cfg, engine_mem, err.needed, &engine, &err) != P2M_OK) {
        fprintf(stderr, "config: %s: %s\n", err.field, err.message);
        return 2;
    }

    /* working memory for this input, then the output size, then the output */
    if (p2m_work_size(engine, in, in_len, &work_size, &err) != P2M_OK) {
        fprintf(stderr, "malformed input at byte %lu: %s\n", (unsigned long)err.offset,
                err.message);
        return 1;
    }
    work = malloc(work_size ? work_size : 1);
    st = p2m_convert(engine, in, in_len, &opt, work, work_size, NULL, 0, &out_len, NULL, &err);
    if (st == P2M_ERR_OUTPUT_TOO_SMALL) {
        out = malloc(err.needed ? err.needed : 1);
        st = p2m_convert(engine, in, in_len, &opt, work, work_size, out, err.needed, &out_len,
                         NULL, &err);
    }
    if (st != P2M_OK) {
        fprintf(stderr, "%s at byte %lu: %s\n", p2m_status_string(st), (unsigned long)err.offset,
                err.message);
        return 1;
    }
    fwrite(out, 1, out_len, stdout);
    fprintf(stderr, "library %s: %lu bytes of profiles -> %lu bytes of metrics\n", p2m_version(),
            (unsigned long)in_len, (unsigned long)out_len);
    free(out);
    free(work);
    free(engine_mem);
    free(in);
    return 0;
}
