/* SPDX-License-Identifier: MIT
   One compiled engine shared by several threads (built with
   -fsanitize=thread): every thread converts the same inputs with its own
   working memory and output buffer; each output must equal the one made
   before the threads started, ThreadSanitizer must see no race, and the
   engine's memory must be byte-for-byte unchanged afterwards (read-only).

   Usage: test_threads [REAL_CAPTURE] */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile2metrics.h"
#include "requests.h"
#include "testkit.h"

#define NTHREADS 4
#define ROUNDS 25
#define WORK_SIZE ((size_t)2 << 20)
#define OUT_SIZE ((size_t)256 << 10)

static uint64_t engine_mem[1 << 16];
static unsigned char engine_copy[sizeof engine_mem];
static const p2m_engine *eng;

typedef struct input {
    const unsigned char *p;
    size_t n;
    unsigned char *ref;
    size_t ref_n;
} input;
static input inputs[4];
static size_t n_inputs;

typedef struct worker {
    pthread_t th;
    int id;
    int mismatches;
    int failures;
    p2m_status last_status;
} worker;

static void *work_fn(void *arg)
{
    worker *w = (worker *)arg;
    unsigned char *work = (unsigned char *)malloc(WORK_SIZE);
    unsigned char *out = (unsigned char *)malloc(OUT_SIZE);
    int round;
    size_t i;
    for (round = 0; round < ROUNDS; round++) {
        for (i = 0; i < n_inputs; i++) {
            size_t k = (i + (size_t)w->id) % n_inputs, n = 0;
            p2m_error err;
            p2m_status st = p2m_convert(eng, inputs[k].p, inputs[k].n, NULL, work, WORK_SIZE,
                                        out, OUT_SIZE, &n, NULL, &err);
            if (st != P2M_OK) {
                w->failures++;
                w->last_status = st;
            } else if (n != inputs[k].ref_n || memcmp(out, inputs[k].ref, n) != 0) {
                w->mismatches++;
            }
        }
    }
    free(work);
    free(out);
    return NULL;
}

int main(int argc, char **argv)
{
    static pbw req, fnreq;
    static p2m_rule rules[3];
    static worker ws[NTHREADS];
    unsigned char *real = NULL, *work, *out;
    size_t real_n = 0, i;
    p2m_config c;
    p2m_error err;
    p2m_status st;
    int t, started = 0;

    build_main_request(&req, P2M_LAYOUT_V1_10, 0);
    build_function_request(&fnreq);
    inputs[0].p = req.b;
    inputs[0].n = req.n;
    inputs[1].p = fnreq.b;
    inputs[1].n = fnreq.n;
    n_inputs = 2;
    if (argc > 1) {
        real = tk_read_file(argv[1], &real_n);
        if (!real) {
            printf("FAIL c.threads.read: cannot read %s\n", argv[1]);
            return 1;
        }
        inputs[n_inputs].p = real;
        inputs[n_inputs].n = real_n;
        n_inputs++;
    }

    /* an engine with compiled patterns, rules and the function metric */
    p2m_config_init(&c);
    rules[0].key = "proc";
    rules[0].type = P2M_RULE_REGEX;
    rules[0].value = "^([a-z]+)";
    rules[0].source = "process.executable.name";
    rules[1].key = "thread.name";
    rules[1].type = P2M_RULE_ATTRIBUTE;
    rules[1].from = "thread.name";
    rules[2].key = "s";
    rules[2].type = P2M_RULE_REGEX;
    rules[2].value = "(?i)CPU|alloc";
    c.attributes = rules;
    c.n_attributes = 3;
    c.thread_filter.enabled = 1;
    c.thread_filter.pattern = ".";
    c.function.enabled = 1;
    tk_begin("c.threads.shared_engine");
    st = p2m_engine_compile(&c, engine_mem, sizeof engine_mem, &eng, &err);
    EXPECT(st == P2M_OK, "engine compile: status %d %s: %s", (int)st, err.field, err.message);
    if (st != P2M_OK) {
        tk_end();
        return tk_exit_code();
    }
    memcpy(engine_copy, engine_mem, sizeof engine_mem);

    work = (unsigned char *)malloc(WORK_SIZE);
    out = (unsigned char *)malloc(OUT_SIZE);
    for (i = 0; i < n_inputs; i++) {
        size_t n = 0;
        st = p2m_convert(eng, inputs[i].p, inputs[i].n, NULL, work, WORK_SIZE, out, OUT_SIZE, &n,
                         NULL, &err);
        EXPECT(st == P2M_OK && n > 0, "input %zu: reference conversion status %d, %zu bytes", i,
               (int)st, n);
        inputs[i].ref = (unsigned char *)malloc(n ? n : 1);
        memcpy(inputs[i].ref, out, n);
        inputs[i].ref_n = n;
    }
    free(work);
    free(out);

    for (t = 0; t < NTHREADS; t++) {
        ws[t].id = t;
        if (pthread_create(&ws[t].th, NULL, work_fn, &ws[t]) != 0)
            EXPECT(0, "pthread_create %d failed", t);
        else
            started++;
    }
    for (t = 0; t < started; t++)
        pthread_join(ws[t].th, NULL);
    for (t = 0; t < started; t++) {
        EXPECT(ws[t].failures == 0, "thread %d: %d conversions failed (last status %d)", t,
               ws[t].failures, (int)ws[t].last_status);
        EXPECT(ws[t].mismatches == 0, "thread %d: %d outputs differ from the reference", t,
               ws[t].mismatches);
    }
    tk_end();

    tk_begin("c.threads.engine_read_only");
    EXPECT(memcmp(engine_copy, engine_mem, sizeof engine_mem) == 0,
           "the engine's memory changed during conversions");
    tk_end();

    for (i = 0; i < n_inputs; i++)
        free(inputs[i].ref);
    free(real);
    return tk_exit_code();
}
