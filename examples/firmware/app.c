/* SPDX-License-Identifier: MIT
   app.c - the firmware example's program logic, the same source on the
   Cortex-M4 target and on the host.

   Converts profile requests held in flash (const arrays generated into
   requests.h at build time) into OTLP metrics in static buffers and prints
   the metrics as hex, one "hex" line per 32 bytes:

       case <name> in=<bytes>
       hex <name> <up to 64 hex digits>
       end <name> out=<bytes> calls=<symboliser calls> status=<p2m status>
       info <name> engine=<bytes> work_size=<bytes> work_used=<bytes> stack=<bytes>

   "case", "hex" and "end" lines must be identical on every platform; "info"
   lines hold sizes that depend on the pointer width (and the stack, measured
   on the target only), so the test reads them but does not compare them.

   Five cases:
     small               the eBPF-shaped request, default configuration
     small-max8          the same with max_series 8 (less working memory)
     firmware            unsymbolised firmware frames, function metric (self)
                         with a symboliser that maps address ranges to names
     firmware-inclusive  the same with function mode inclusive
     firmware-filtered   function mode self, a thread filter and a regex
                         attribute rule (the regex engine on the target) */
/* the text writers (JSON, Prometheus) have no use on a device */
#define P2M_NO_JSON
#define P2M_NO_PROM
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"

#include "fw.h"
#include "requests.h"

/* ---- static memory: nothing comes from a heap ---------------------------- */

/* uint64_t arrays keep the blocks aligned for the library's tables. */
static uint64_t engine_mem[4096 / 8];
static uint64_t work_mem[16384 / 8];
static uint64_t output_mem[4096 / 8];

/* A zero-initialised object: copied to clear options before setting the
   fields we use (fields added by later versions stay zero). */
static const p2m_options fw_no_options;

/* ---- symboliser: address ranges of the image -> function names ------------ */

typedef struct fw_symctx {
    unsigned long calls;
} fw_symctx;

static int fw_str_eq(p2m_str s, const char *z)
{
    size_t i;
    for (i = 0; i < s.len; i++)
        if (z[i] == '\0' || z[i] != s.ptr[i]) return 0;
    return z[i] == '\0';
}

/* Binary search of fw_symbols (sorted, non-overlapping [start, end)). The
   names are string literals in flash, so the returned view outlives the
   call as the API asks. A frame of another image (its build id differs)
   is not ours to name. */
static p2m_str fw_symbolize(void *user_data, uint64_t address, p2m_str mapping_file,
                            p2m_str build_id)
{
    fw_symctx *ctx = (fw_symctx *)user_data;
    p2m_str none = {"", 0};
    size_t lo = 0, hi = sizeof fw_symbols / sizeof fw_symbols[0];
    (void)mapping_file;
    ctx->calls++;
    if (build_id.len != 0 && !fw_str_eq(build_id, FW_BUILD_ID)) return none;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (address < fw_symbols[mid].start) {
            hi = mid;
        } else if (address >= fw_symbols[mid].end) {
            lo = mid + 1;
        } else {
            p2m_str name;
            const char *n = fw_symbols[mid].name;
            name.ptr = n;
            name.len = 0;
            while (n[name.len] != '\0') name.len++;
            return name;
        }
    }
    return none;
}

/* ---- printing without printf --------------------------------------------- */

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

static void fw_print_hex(const char *name, const unsigned char *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char line[160];
    size_t i = 0;
    while (i < n) {
        char *p = fw_put_str(line, "hex ");
        size_t j;
        p = fw_put_str(p, name);
        *p++ = ' ';
        for (j = 0; j < 32 && i < n; j++, i++) {
            *p++ = digits[b[i] >> 4];
            *p++ = digits[b[i] & 15u];
        }
        *p++ = '\n';
        *p = '\0';
        fw_write(line);
    }
}

static void fw_print_error(const char *name, const char *what, const p2m_error *err)
{
    char line[320];
    char *p = fw_put_str(line, "error ");
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
    *p++ = '\n';
    *p = '\0';
    fw_write(line);
}

/* ---- one case ------------------------------------------------------------ */

/* Kept out of line so the stack mark sits right above the library's frames. */
static p2m_status fw_convert(const p2m_engine *engine, const unsigned char *in, size_t in_len,
                             const p2m_options *opt, size_t *out_len, p2m_stats *stats,
                             p2m_error *err, size_t *stack_used)
#if defined(__GNUC__)
    __attribute__((noinline))
#endif
    ;
static p2m_status fw_convert(const p2m_engine *engine, const unsigned char *in, size_t in_len,
                             const p2m_options *opt, size_t *out_len, p2m_stats *stats,
                             p2m_error *err, size_t *stack_used)
{
    p2m_status st;
    fw_stack_mark();
    st = p2m_convert(engine, in, in_len, opt, work_mem, sizeof work_mem, output_mem,
                     sizeof output_mem, out_len, stats, err);
    *stack_used = fw_stack_used();
    return st;
}

static int fw_case(const char *name, const unsigned char *in, size_t in_len,
                   const p2m_config *cfg, int symbolise)
{
    const p2m_engine *engine;
    p2m_error err;
    p2m_stats stats;
    p2m_options opt;
    fw_symctx ctx;
    size_t engine_needed, work_needed, out_len = 0, stack = 0;
    p2m_status st;
    char line[200];
    char *p;

    p = fw_put_str(line, "case ");
    p = fw_put_str(p, name);
    p = fw_put_kv(p, "in", (unsigned long long)in_len);
    *p++ = '\n';
    *p = '\0';
    fw_write(line);

    /* Engine size query (NULL, 0), then the compile into static memory. */
    if (p2m_engine_compile(cfg, NULL, 0, &engine, &err) != P2M_ERR_MEMORY) {
        fw_print_error(name, "size-query", &err);
        return 1;
    }
    engine_needed = err.needed;
    if (p2m_engine_compile(cfg, engine_mem, sizeof engine_mem, &engine, &err) != P2M_OK) {
        fw_print_error(name, "compile", &err);
        return 1;
    }
    if (p2m_work_size(engine, in, in_len, &work_needed, &err) != P2M_OK) {
        fw_print_error(name, "work-size", &err);
        return 1;
    }

    opt = fw_no_options; /* every field zero, whatever this version has */
    opt.now_unix_nano = FW_NOW_UNIX_NANO;
    opt.symbolize = symbolise ? fw_symbolize : 0;
    opt.user_data = &ctx;
    ctx.calls = 0;
    st = fw_convert(engine, in, in_len, &opt, &out_len, &stats, &err, &stack);
    if (st != P2M_OK) {
        fw_print_error(name, "convert", &err);
    } else {
        fw_print_hex(name, (const unsigned char *)output_mem, out_len);
    }

    p = fw_put_str(line, "end ");
    p = fw_put_str(p, name);
    p = fw_put_kv(p, "out", (unsigned long long)out_len);
    p = fw_put_kv(p, "calls", (unsigned long long)ctx.calls);
    p = fw_put_kv(p, "status", (unsigned long long)st);
    p = fw_put_kv(p, "samples", (unsigned long long)stats.samples);
    p = fw_put_kv(p, "series", (unsigned long long)stats.series);
    *p++ = '\n';
    *p = '\0';
    fw_write(line);

    p = fw_put_str(line, "info ");
    p = fw_put_str(p, name);
    p = fw_put_kv(p, "engine", (unsigned long long)engine_needed);
    p = fw_put_kv(p, "work_size", (unsigned long long)work_needed);
    p = fw_put_kv(p, "work_used", (unsigned long long)stats.work_used);
    p = fw_put_kv(p, "stack", (unsigned long long)stack);
    *p++ = '\n';
    *p = '\0';
    fw_write(line);
    return st == P2M_OK ? 0 : 1;
}

int fw_main(void)
{
    p2m_config cfg;
    int failed = 0;

    fw_write("p2m-firmware " P2M_VERSION_STRING "\n");

    /* The eBPF-shaped request with the defaults: cpu and memory metrics,
       process.executable.name and thread.name on the points. */
    p2m_config_init(&cfg);
    failed |= fw_case("small", fw_small_request, sizeof fw_small_request, &cfg, 0);

    /* The same with a cardinality limit sized for a microcontroller: the
       series table is planned for min(samples, metrics x max_series)
       series, so the working memory shrinks while the output stays the
       same (this request has 2 series). */
    cfg.max_series = 8;
    failed |= fw_case("small-max8", fw_small_request, sizeof fw_small_request, &cfg, 0);

    /* Firmware frames carry addresses only: the function metric names them
       through the symboliser. */
    p2m_config_init(&cfg);
    cfg.function.enabled = 1;
    cfg.function_mode = P2M_FUNCTION_SELF;
    failed |= fw_case("firmware", fw_firmware_request, sizeof fw_firmware_request, &cfg, 1);

    cfg.function_mode = P2M_FUNCTION_INCLUSIVE;
    failed |= fw_case("firmware-inclusive", fw_firmware_request, sizeof fw_firmware_request,
                      &cfg, 1);

    /* The regex engine on the target: keep the application tasks only and
       derive a task.kind attribute from the task name; copy a nested
       resource attribute (a key-value list) onto the points. */
    {
        static const char *const tasks[] = {"^sensor$", "radio"};
        static const p2m_rule rules[] = {
            {"process.executable.name", P2M_RULE_ATTRIBUTE, 0, "process.executable.name", 0, 0, 0},
            {"thread.name", P2M_RULE_ATTRIBUTE, 0, "thread.name", 0, 0, 0},
            {"task.kind", P2M_RULE_REGEX, "^([a-z]+)", 0, "thread.name", 0, 0},
            {"device.config", P2M_RULE_ATTRIBUTE, 0, "device.config", 0, 0, 0},
        };
        cfg.function_mode = P2M_FUNCTION_SELF;
        cfg.thread_filter.enabled = 1;
        cfg.thread_filter.patterns = tasks;
        cfg.thread_filter.n_patterns = sizeof tasks / sizeof tasks[0];
        cfg.attributes = rules;
        cfg.n_attributes = sizeof rules / sizeof rules[0];
        failed |= fw_case("firmware-filtered", fw_firmware_request, sizeof fw_firmware_request,
                          &cfg, 1);
    }

    fw_write(failed ? "done FAIL\n" : "done OK\n");
    return failed;
}
