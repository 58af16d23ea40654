/* SPDX-License-Identifier: MIT
   app.c - the firmware example's program logic, the same source on the
   Cortex-M4 target and on the host.

   Converts profile requests held in flash (const arrays generated into
   requests.h at build time) into OTLP metrics with engines loaded from
   images compiled on the host (engines.h, written by mkimage.c from the
   configurations of fw_configs.h): the build has no configuration compiler
   and no regex parser (P2M_NO_COMPILE). Each request is converted twice:
   into a static output block (p2m_convert), and streamed through the
   nanopb adapter (p2m_nanopb.h) into a pb_ostream_t whose callback prints
   the bytes as hex, one "hex" line per 32 bytes, and compares them with the
   block's:

       case <name> in=<bytes>
       hex <name> <up to 64 hex digits>
       end <name> out=<streamed bytes> buffered=<bytes> same=<1 if equal>
           pieces=<writes> max_piece=<bytes> calls=<symboliser calls>
           status=<p2m status> samples=<n> series=<n>
       info <name> engine=<bytes> image=<bytes> work_size=<bytes>
            work_used=<bytes> stack=<bytes> stack_buffered=<bytes>
            stream_buffer=<P2M_STREAM_BUFFER>
       refuse <how> limit=<bytes> status=<p2m status> taken=<bytes> errmsg=<nanopb's>
       badimage <how> status=<p2m status> offset=<bytes>
       ram <name> in=<bytes> out=<bytes> status=<p2m status> samples=<n> series=<n>
       raminfo <name> engine=<bytes> work_size=<bytes> work_used=<bytes> stack=<bytes>

   "case", "hex", "end", "refuse", "badimage" and "ram" lines must be
   identical on every platform; "info" and "raminfo" lines hold sizes that
   depend on the pointer width (and the stack, measured on the target
   only), so the test reads them but does not compare them. The cases and their configurations:
   fw_configs.h. The "ram" lines measure what a streamed conversion of
   other requests takes (the repository's demo and a real capture, default
   configuration): the output is counted, not printed. */
/* the text writers (JSON, Prometheus) have no use on a device, nor the
   configuration compiler: the engines come as images */
#define P2M_NO_JSON
#define P2M_NO_PROM
#define P2M_NO_COMPILE
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"

#include "p2m_nanopb.h"

#include "fw.h"
#include "requests.h"
#include "engines.h"
#include "fw_symbolize.h"

/* ---- static memory: nothing comes from a heap ---------------------------- */

/* uint64_t arrays keep the blocks aligned for the library's tables. */
static uint64_t engine_mem[4096 / 8];
static uint64_t work_mem[32768 / 8];
static uint64_t output_mem[4096 / 8];

/* Zero-initialised objects: copied to clear a struct before setting the
   fields we use (fields added by later versions stay zero). */
static const p2m_options fw_no_options;
static const pb_ostream_t fw_no_stream;

/* ---- printing without printf --------------------------------------------- */

/* One line at a time, in static memory: the stream callback prints from
   the bottom of the library's deepest path, where stack is dear. */
static char fw_line[160];

static char *fw_put_str(char *p, const char *s)
{
    while (*s) *p++ = *s++;
    return p;
}

static char *fw_put_num(char *p, unsigned long long v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0);
    while (n > 0) *p++ = tmp[--n];
    return p;
}

/* key=value appended to a line */
static char *fw_put_kv(char *p, const char *key, unsigned long long v)
{
    *p++ = ' ';
    p = fw_put_str(p, key);
    *p++ = '=';
    return fw_put_num(p, v);
}

static void fw_end_line(char *p)
{
    *p++ = '\n';
    *p = '\0';
    fw_write(fw_line);
}

static void fw_print_hex(const char *name, const unsigned char *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    size_t i = 0;
    while (i < n) {
        char *p = fw_put_str(fw_line, "hex ");
        size_t j;
        p = fw_put_str(p, name);
        *p++ = ' ';
        for (j = 0; j < 32 && i < n; j++, i++) {
            *p++ = digits[b[i] >> 4];
            *p++ = digits[b[i] & 15u];
        }
        fw_end_line(p);
    }
}

static void fw_print_error(const char *name, const char *what, const p2m_error *err)
{
    char *p = fw_put_str(fw_line, "error ");
    p = fw_put_str(p, name);
    *p++ = ' ';
    p = fw_put_str(p, what);
    p = fw_put_kv(p, "status", (unsigned long long)err->status);
    p = fw_put_kv(p, "needed", (unsigned long long)err->needed);
    p = fw_put_kv(p, "offset", (unsigned long long)err->offset);
    *p++ = ' ';
    p = fw_put_str(p, err->field);
    *p++ = ' ';
    p = fw_put_str(p, err->message);
    fw_end_line(p);
}

/* ---- the stream: what a UART or radio driver's pb_ostream_t would be ------ */

typedef struct fw_sink {
    const char *name;           /* case name for the hex lines; NULL: print nothing */
    const unsigned char *expect; /* the buffered conversion's bytes */
    size_t expect_len;
    size_t taken;               /* bytes the callback took */
    size_t refuse_after;        /* the callback fails past this many bytes */
    size_t pieces, max_piece;   /* writes and the largest one */
    int differs;                /* a byte differed from expect */
    size_t fill;                /* bytes in hex[] not printed yet */
    unsigned char hex[32];
} fw_sink;

static fw_sink fw_out;

static void fw_sink_flush(fw_sink *s)
{
    if (s->name != 0 && s->fill > 0) fw_print_hex(s->name, s->hex, s->fill);
    s->fill = 0;
}

/* The pb_ostream_t callback: nanopb's pb_write calls it with the pieces
   the library hands to p2m_nanopb_write. */
static bool fw_stream_out(pb_ostream_t *stream, const pb_byte_t *buf, size_t count)
{
    fw_sink *s = (fw_sink *)stream->state;
    size_t i;
    if (count > s->refuse_after - s->taken) return false;
    s->pieces++;
    if (count > s->max_piece) s->max_piece = count;
    for (i = 0; i < count; i++, s->taken++) {
        if (s->taken >= s->expect_len || s->expect[s->taken] != buf[i]) s->differs = 1;
        s->hex[s->fill++] = buf[i];
        if (s->fill == sizeof s->hex) fw_sink_flush(s);
    }
    return true;
}

static pb_ostream_t fw_stream(const char *name, const unsigned char *expect, size_t expect_len,
                              size_t max_size, size_t refuse_after)
{
    pb_ostream_t os = fw_no_stream;
    fw_sink none = {0, 0, 0, 0, 0, 0, 0, 0, 0, {0}};
    fw_out = none;
    fw_out.name = name;
    fw_out.expect = expect;
    fw_out.expect_len = expect_len;
    fw_out.refuse_after = refuse_after;
    os.callback = fw_stream_out;
    os.state = &fw_out;
    os.max_size = max_size;
    return os;
}

/* ---- one case ------------------------------------------------------------ */

/* Kept out of line so the stack mark sits right above the library's frames. */
#if defined(__GNUC__)
#define FW_NOINLINE __attribute__((noinline))
#else
#define FW_NOINLINE
#endif

static FW_NOINLINE p2m_status fw_convert(const p2m_engine *engine, const unsigned char *in,
                                         size_t in_len, const p2m_options *opt,
                                         size_t *out_len, p2m_stats *stats, p2m_error *err,
                                         size_t *stack_used)
{
    p2m_status st;
    fw_stack_mark();
    st = p2m_convert(engine, in, in_len, opt, work_mem, sizeof work_mem, output_mem,
                     sizeof output_mem, out_len, stats, err);
    *stack_used = fw_stack_used();
    return st;
}

static FW_NOINLINE p2m_status fw_convert_stream(const p2m_engine *engine, const unsigned char *in,
                                                size_t in_len, const p2m_options *opt,
                                                pb_ostream_t *os, p2m_stats *stats,
                                                p2m_error *err, size_t *stack_used)
{
    p2m_status st;
    fw_stack_mark();
    st = p2m_convert_nanopb(engine, in, in_len, opt, work_mem, sizeof work_mem, os, stats, err);
    *stack_used = fw_stack_used();
    return st;
}

/* Loads an image into engine_mem after asking its size. */
static int fw_load(const char *name, const unsigned char *image, size_t image_size,
                   const p2m_engine **engine, size_t *needed)
{
    p2m_error err;
    if (p2m_engine_load(image, image_size, NULL, 0, engine, &err) != P2M_ERR_MEMORY) {
        fw_print_error(name, "load-size-query", &err);
        return 1;
    }
    *needed = err.needed;
    if (p2m_engine_load(image, image_size, engine_mem, sizeof engine_mem, engine, &err) !=
        P2M_OK) {
        fw_print_error(name, "load", &err);
        return 1;
    }
    return 0;
}

static int fw_case(const char *name, const unsigned char *in, size_t in_len,
                   const unsigned char *image, size_t image_size, int symbolise)
{
    const p2m_engine *engine;
    p2m_error err;
    p2m_stats stats;
    p2m_options opt;
    pb_ostream_t os;
    fw_symctx ctx;
    size_t engine_needed = 0, work_needed = 0, out_len = 0, stack = 0, stack_buffered = 0;
    p2m_status st, st_buffered;
    char *p;

    p = fw_put_str(fw_line, "case ");
    p = fw_put_str(p, name);
    p = fw_put_kv(p, "in", (unsigned long long)in_len);
    fw_end_line(p);

    if (fw_load(name, image, image_size, &engine, &engine_needed)) return 1;
    if (p2m_work_size(engine, in, in_len, &work_needed, &err) != P2M_OK) {
        fw_print_error(name, "work-size", &err);
        return 1;
    }

    opt = fw_no_options; /* every field zero, whatever this version has */
    opt.now_unix_nano = FW_NOW_UNIX_NANO;
    opt.symbolize = symbolise ? fw_symbolize : 0;
    opt.user_data = &ctx;

    /* Into the output block first: the stream's bytes are compared with it. */
    ctx.calls = 0;
    st_buffered = fw_convert(engine, in, in_len, &opt, &out_len, &stats, &err, &stack_buffered);
    if (st_buffered != P2M_OK) {
        fw_print_error(name, "convert", &err);
        out_len = 0;
    }

    /* Streamed through nanopb: nothing but the stream's callback sees the
       bytes. */
    ctx.calls = 0;
    os = fw_stream(name, (const unsigned char *)output_mem, out_len, SIZE_MAX, SIZE_MAX);
    st = fw_convert_stream(engine, in, in_len, &opt, &os, &stats, &err, &stack);
    fw_sink_flush(&fw_out);
    if (st != P2M_OK) fw_print_error(name, "convert-stream", &err);

    p = fw_put_str(fw_line, "end ");
    p = fw_put_str(p, name);
    p = fw_put_kv(p, "out", (unsigned long long)os.bytes_written);
    p = fw_put_kv(p, "buffered", (unsigned long long)out_len);
    p = fw_put_kv(p, "same", (unsigned long long)(st == P2M_OK && st_buffered == P2M_OK &&
                                                  !fw_out.differs &&
                                                  fw_out.taken == out_len));
    p = fw_put_kv(p, "pieces", (unsigned long long)fw_out.pieces);
    p = fw_put_kv(p, "max_piece", (unsigned long long)fw_out.max_piece);
    p = fw_put_kv(p, "calls", (unsigned long long)ctx.calls);
    p = fw_put_kv(p, "status", (unsigned long long)(st != P2M_OK ? st : st_buffered));
    p = fw_put_kv(p, "samples", (unsigned long long)stats.samples);
    p = fw_put_kv(p, "series", (unsigned long long)stats.series);
    fw_end_line(p);

    p = fw_put_str(fw_line, "info ");
    p = fw_put_str(p, name);
    p = fw_put_kv(p, "engine", (unsigned long long)engine_needed);
    p = fw_put_kv(p, "image", (unsigned long long)image_size);
    p = fw_put_kv(p, "work_size", (unsigned long long)work_needed);
    p = fw_put_kv(p, "work_used", (unsigned long long)stats.work_used);
    p = fw_put_kv(p, "stack", (unsigned long long)stack);
    p = fw_put_kv(p, "stack_buffered", (unsigned long long)stack_buffered);
    p = fw_put_kv(p, "stream_buffer", (unsigned long long)P2M_STREAM_BUFFER);
    fw_end_line(p);
    return st == P2M_OK && st_buffered == P2M_OK ? 0 : 1;
}

/* A stream that will not take the whole output: nanopb's stream full
   (max_size) or a callback that fails (refuse_after). The conversion must
   stop with P2M_ERR_WRITE, and the stream keeps what it took before. */
static int fw_refuse(const char *how, size_t max_size, size_t refuse_after)
{
    const p2m_engine *engine;
    p2m_error err;
    p2m_options opt = fw_no_options;
    pb_ostream_t os;
    size_t needed, limit = max_size < refuse_after ? max_size : refuse_after;
    p2m_status st;
    char *p;

    if (fw_load(how, fw_engine_small, fw_engine_small_SIZE, &engine, &needed)) return 1;
    opt.now_unix_nano = FW_NOW_UNIX_NANO;
    os = fw_stream(0, 0, 0, max_size, refuse_after);
    st = p2m_convert_nanopb(engine, fw_small_request, sizeof fw_small_request, &opt, work_mem,
                            sizeof work_mem, &os, NULL, &err);
    p = fw_put_str(fw_line, "refuse ");
    p = fw_put_str(p, how);
    p = fw_put_kv(p, "limit", (unsigned long long)limit);
    p = fw_put_kv(p, "status", (unsigned long long)st);
    p = fw_put_kv(p, "taken", (unsigned long long)fw_out.taken);
    p = fw_put_str(p, " errmsg=");
    p = fw_put_str(p, os.errmsg ? os.errmsg : "none");
    fw_end_line(p);
    return st == P2M_ERR_WRITE && fw_out.taken <= limit ? 0 : 1;
}

/* A damaged image must be refused (P2M_ERR_IMAGE), not loaded: the small
   engine's image copied to RAM with one byte changed (corrupt), or without
   its last byte (truncated). */
static int fw_bad_image(const char *how, size_t flip, size_t size)
{
    static unsigned char copy[fw_engine_small_SIZE];
    const p2m_engine *engine;
    p2m_error err;
    p2m_status st;
    size_t i;
    char *p;
    for (i = 0; i < sizeof copy; i++) copy[i] = fw_engine_small[i];
    if (flip < sizeof copy) copy[flip] ^= 0x40u;
    st = p2m_engine_load(copy, size, engine_mem, sizeof engine_mem, &engine, &err);
    p = fw_put_str(fw_line, "badimage ");
    p = fw_put_str(p, how);
    p = fw_put_kv(p, "status", (unsigned long long)st);
    p = fw_put_kv(p, "offset", (unsigned long long)err.offset);
    fw_end_line(p);
    return st == P2M_ERR_IMAGE ? 0 : 1;
}

/* RAM of a streamed conversion with the default configuration: engine,
   working memory and stack; the bytes are counted only. */
static int fw_ram(const char *name, const unsigned char *in, size_t in_len)
{
    const p2m_engine *engine;
    p2m_error err;
    p2m_stats stats;
    p2m_options opt = fw_no_options;
    pb_ostream_t os;
    size_t engine_needed = 0, work_needed = 0, stack = 0;
    p2m_status st;
    char *p;

    if (fw_load(name, fw_engine_small, fw_engine_small_SIZE, &engine, &engine_needed)) return 1;
    if (p2m_work_size(engine, in, in_len, &work_needed, &err) != P2M_OK) {
        fw_print_error(name, "work-size", &err);
        return 1;
    }
    opt.now_unix_nano = FW_NOW_UNIX_NANO;
    os = fw_stream(0, 0, 0, SIZE_MAX, SIZE_MAX);
    st = fw_convert_stream(engine, in, in_len, &opt, &os, &stats, &err, &stack);
    if (st != P2M_OK) fw_print_error(name, "convert-stream", &err);

    p = fw_put_str(fw_line, "ram ");
    p = fw_put_str(p, name);
    p = fw_put_kv(p, "in", (unsigned long long)in_len);
    p = fw_put_kv(p, "out", (unsigned long long)os.bytes_written);
    p = fw_put_kv(p, "status", (unsigned long long)st);
    p = fw_put_kv(p, "samples", (unsigned long long)stats.samples);
    p = fw_put_kv(p, "series", (unsigned long long)stats.series);
    fw_end_line(p);
    p = fw_put_str(fw_line, "raminfo ");
    p = fw_put_str(p, name);
    p = fw_put_kv(p, "engine", (unsigned long long)engine_needed);
    p = fw_put_kv(p, "work_size", (unsigned long long)work_needed);
    p = fw_put_kv(p, "work_used", (unsigned long long)stats.work_used);
    p = fw_put_kv(p, "stack", (unsigned long long)stack);
    fw_end_line(p);
    return st == P2M_OK ? 0 : 1;
}

int fw_main(void)
{
    int failed = 0;

    fw_write("p2m-firmware " P2M_VERSION_STRING "\n");
    failed |= fw_case("small", fw_small_request, sizeof fw_small_request, fw_engine_small,
                      fw_engine_small_SIZE, 0);
    failed |= fw_case("small-max8", fw_small_request, sizeof fw_small_request,
                      fw_engine_small_max8, fw_engine_small_max8_SIZE, 0);
    failed |= fw_case("firmware", fw_firmware_request, sizeof fw_firmware_request,
                      fw_engine_firmware, fw_engine_firmware_SIZE, 1);
    failed |= fw_case("firmware-inclusive", fw_firmware_request, sizeof fw_firmware_request,
                      fw_engine_firmware_inclusive, fw_engine_firmware_inclusive_SIZE, 1);
    failed |= fw_case("firmware-filtered", fw_firmware_request, sizeof fw_firmware_request,
                      fw_engine_firmware_filtered, fw_engine_firmware_filtered_SIZE, 1);
    failed |= fw_refuse("stream-full", 100, SIZE_MAX);
    failed |= fw_refuse("callback-fails", SIZE_MAX, 300);
    failed |= fw_bad_image("corrupt", fw_engine_small_SIZE / 2, fw_engine_small_SIZE);
    failed |= fw_bad_image("truncated", fw_engine_small_SIZE, fw_engine_small_SIZE - 1);
    failed |= fw_ram("demo", fw_demo_request, sizeof fw_demo_request);
    failed |= fw_ram("real-profile", fw_real_profile_request, sizeof fw_real_profile_request);

    fw_write(failed ? "done FAIL\n" : "done OK\n");
    return failed;
}
