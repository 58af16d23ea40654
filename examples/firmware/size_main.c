/* SPDX-License-Identifier: MIT
   size_main.c - probe programs for the size report (make firmware-size).

   Linked twice with target.c and the same flags: once as is (a firmware
   that compiles a configuration, sizes the working memory and converts a
   request with a symboliser: the calls a real firmware makes) and once with
   -DSIZE_NO_LIB (the same program without the library). With
   -DSIZE_RUNTIME (and P2M_NO_COMPILE) the probe is a runtime-only
   firmware instead: it loads an engine image made on a host
   (p2m_engine_load), sizes the working memory and streams the metrics
   through a write callback (p2m_convert_stream), with no output block. The difference of
   the two images is what the library costs in flash and RAM, including the
   C library and libgcc routines it pulls in (memcpy, memset, 64-bit
   division, soft-float double arithmetic). The input comes through a
   volatile pointer so nothing can be folded away at compile time. */
#include <stdint.h>

#include "fw.h"

/* A stand-in request: its content does not matter to the size. */
static const unsigned char probe_request[16] = {0x12, 0x00};
static const unsigned char *volatile probe_input = probe_request;
static volatile size_t probe_len = sizeof probe_request;

/* The caller's blocks exist in both programs, so the difference in RAM is
   the library's own static data (none is expected: no globals). Not
   static, so that the stores of the program without the library stay. */
uint64_t engine_mem[4096 / 8];
uint64_t work_mem[8192 / 8];
uint64_t output_mem[4096 / 8];

#ifdef SIZE_RUNTIME
/* A stand-in engine image and the stream's destination (a UART's data
   register, say): the caller's, in the runtime probe and in its program
   without the library (-DSIZE_NO_LIB -DSIZE_RUNTIME). */
static const unsigned char probe_image_data[64] = {0x50, 0x32};
static const unsigned char *volatile probe_image = probe_image_data;
static volatile size_t probe_image_len = sizeof probe_image_data;
volatile unsigned probe_sink;

static int probe_write(void *ctx, const unsigned char *buf, size_t n)
{
    size_t i;
    (void)ctx;
    for (i = 0; i < n; i++) probe_sink = buf[i];
    return 1;
}
#endif

#ifdef SIZE_NO_LIB

int fw_main(void)
{
    const unsigned char *in = probe_input;
    size_t n = probe_len, i;
    unsigned sum = 0;
    for (i = 0; i < n; i++) sum += in[i];
#ifdef SIZE_RUNTIME
    sum += probe_image[probe_image_len - 1];
    (void)probe_write(0, probe_image, 1);
#endif
    engine_mem[0] = work_mem[0] = output_mem[0] = sum;
    fw_write(sum ? "1\n" : "0\n");
    return 0;
}

#else

/* the text writers (JSON, Prometheus) have no use on a device */
#define P2M_NO_JSON
#define P2M_NO_PROM
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"

static const p2m_options probe_no_options; /* all zero */

static p2m_str probe_symbolize(void *user_data, uint64_t address, p2m_str mapping_file,
                               p2m_str build_id)
{
    p2m_str name = {"probe", 5};
    (void)user_data;
    (void)mapping_file;
    (void)build_id;
    if (address == 0) name.len = 0;
    return name;
}

#ifdef SIZE_RUNTIME

static bool probe_stream(void *ctx, const uint8_t *buf, size_t n)
{
    return probe_write(ctx, buf, n) != 0;
}

int fw_main(void)
{
    const unsigned char *in = probe_input;
    size_t n = probe_len, need = 0, out_len = 0;
    const p2m_engine *engine;
    p2m_error err;
    p2m_options opt;
    p2m_status st;

    opt = probe_no_options;
    opt.symbolize = probe_symbolize;
    opt.user_data = 0;
    st = p2m_engine_load(probe_image, probe_image_len, engine_mem, sizeof engine_mem, &engine,
                         &err);
    if (st == P2M_OK) st = p2m_work_size(engine, in, n, &need, &err);
    if (st == P2M_OK)
        st = p2m_convert_stream(engine, in, n, &opt, work_mem, sizeof work_mem, probe_stream, 0,
                                &out_len, 0, &err);
    output_mem[0] = out_len;
    fw_write(st == P2M_OK ? "0\n" : "1\n");
    return (int)st;
}

#else

int fw_main(void)
{
    const unsigned char *in = probe_input;
    size_t n = probe_len, need = 0, out_len = 0;
    p2m_config cfg;
    const p2m_engine *engine;
    p2m_error err;
    p2m_options opt;
    p2m_status st;

    p2m_config_init(&cfg);
    cfg.function.enabled = 1;
    opt = probe_no_options;
    opt.symbolize = probe_symbolize;
    opt.user_data = 0;
    st = p2m_engine_compile(&cfg, engine_mem, sizeof engine_mem, &engine, &err);
    if (st == P2M_OK) st = p2m_work_size(engine, in, n, &need, &err);
    if (st == P2M_OK)
        st = p2m_convert(engine, in, n, &opt, work_mem, sizeof work_mem, output_mem,
                         sizeof output_mem, &out_len, 0, &err);
    fw_write(st == P2M_OK ? "0\n" : "1\n");
    return (int)st;
}

#endif /* SIZE_RUNTIME */

#endif
