/* SPDX-License-Identifier: MIT
   p2m: the command-line tool. Commands:
     p2m convert   OTLP or pprof profiles -> OTLP metrics (or a table)
     p2m validate  load and compile a configuration file
     p2m compile   a configuration compiled into an engine image (.bin or .h)
     p2m match     try a pattern on subjects
     p2m serve     receive profiles over OTLP, serve metrics (p2m_serve.c)
   This file does I/O and argument handling only; all conversion work is the
   library's. The tool may use malloc; the library never does: every block
   it needs is sized by asking it first (see convert_one). */
#define _POSIX_C_SOURCE 200809L

#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
/* The OTLP/JSON and Prometheus writers: a section of the header, kept in
   tools/ until it moves into profile2metrics.h. */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "p2m_cli.h"
#include "p2m_config.h"
#include "p2m_input.h"
#include "p2m_jsonin.h"
#include "p2m_out.h"
#include "p2m_prom.h"
#include "p2m_table.h"

/* Exit codes (docs/cli.md). */
#define EXIT_BAD_INPUT 1
#define EXIT_USAGE 2

/* ---- help --------------------------------------------------------------- */

static const char *const main_help[] = {
    "usage: p2m COMMAND [OPTIONS]",
    "",
    "Turns OpenTelemetry profiles (OTLP protobuf) and pprof profiles into",
    "OpenTelemetry metrics.",
    "",
    "commands:",
    "  convert   convert an ExportProfilesServiceRequest or a pprof profile to OTLP",
    "            metrics, OTLP/JSON, Prometheus text or a table (p2m convert --help)",
    "  validate  check a configuration file: p2m validate -c FILE",
    "  compile   compile a configuration into an engine image for p2m_engine_load",
    "            (a .bin file or a C header): p2m compile -c FILE -o engine.h",
    "  match     try a filter or rule pattern: p2m match PATTERN SUBJECT...",
    "  serve     receive profiles over OTLP/HTTP and OTLP/gRPC, serve Prometheus",
    "            metrics and export OTLP metrics (p2m serve --help)",
    "",
    "options:",
    "  -h, --help     this help",
    "  --version      print the version",
    "",
    "example: p2m convert -f table examples/demo.otlp",
    "",
    "Exit status: 0 ok, 1 malformed input, 2 bad usage or configuration.",
    "p2m help COMMAND prints that command's help.",
    P2M_DOC_LINE,
    NULL};

static const char *const convert_help[] = {
    "usage: p2m convert [OPTIONS] [INPUT|-]",
    "",
    "Reads one OTLP ExportProfilesServiceRequest (or a stream of them), or one",
    "pprof Profile, from INPUT, or stdin when INPUT is - or absent, and writes",
    "the metrics. gzip and zstd input is recognised by its magic bytes and",
    "decompressed first. Without --input-format, an input whose top-level fields",
    "are a pprof Profile's (with its empty first string) is read as pprof: Go's",
    "cpu.pprof and heap.pb.gz convert as they are.",
    "",
    "  -c, --config FILE        YAML configuration (p2m settings, or a Collector",
    "                           configuration with connectors.profiletometrics)",
    "  --engine IMAGE           the engine from an image file made by p2m compile",
    "                           (raw bytes, not the .h), instead of -c",
    "  --connector NAME         the connector profiletometrics/NAME of a Collector",
    "                           configuration that has several",
    "  -f, --format FMT         otlp (default): ExportMetricsServiceRequest protobuf",
    "                           json: the same in OTLP/JSON, one line per request",
    "                           prom: Prometheus text exposition (base units:",
    "                           cpu_time_seconds_total, job/instance labels,",
    "                           target_info; a stream's deltas added up)",
    "  --promote-resource-attrs all|K1,K2",
    "                           -f prom: resource attributes (all, or these keys)",
    "                           as labels on every sample",
    "                           table: a readable table, largest values first",
    "  -o, --output FILE        write to FILE instead of stdout (- = stdout); not",
    "                           the input file itself",
    "  --input-format FMT       otlp (default): one request",
    "                           otlp-stream: requests each behind a 4-byte",
    "                           big-endian length",
    "                           json: one OTLP/JSON request, on one line or",
    "                           pretty-printed",
    "                           jsonl: OTLP/JSON requests, one a line (JSON Lines)",
    "                           pprof: one pprof Profile (profile.proto), as",
    "                           Go's runtime/pprof writes it: one resource,",
    "                           one profile per sample type",
    "                           The input format alone sets the output framing:",
    "                           otlp and json give one request; otlp-stream and",
    "                           jsonl give -f otlp length-prefixed like otlp-stream",
    "                           and a table section per message, however many",
    "                           requests there are",
    "  --max-decompressed SIZE  refuse gzip/zstd input that decompresses to more",
    "                           than SIZE bytes (K, M, G suffixes; default 1G)",
    "  --layout L               auto, v1.8, v1.9 or v1.10 (overrides the config;",
    "                           with json input: the field numbers to use); OTLP",
    "                           only: refused with pprof input",
    "  --resource-attr K=V      add string attribute K=V to every resource,",
    "                           replacing one of the same key (repeatable)",
    "  --now NANOS              time for profiles that carry none, in Unix",
    "                           nanoseconds (default: the current time)",
    "  --stats                  print a JSON line of statistics on stderr",
    "  -q, --quiet              no notes on stderr (sample types that fed no",
    "                           metric, an input without profiles, filters that",
    "                           dropped every sample); warnings and errors stay",
    "  -h, --help               this help",
    "",
    "Examples:",
    "  p2m convert -f table examples/demo.otlp",
    "  p2m convert -c p2m.yaml -o metrics.pb profiles.pb",
    "  p2m convert --input-format otlp-stream -f prom capture.stream",
    "  p2m convert --input-format jsonl -f json --resource-attr env=prod - < in.jsonl",
    "  p2m convert -f table profiles.pb.gz",
    "  p2m convert -f prom --resource-attr service.name=api cpu.pprof",
    "",
    "Nothing is written unless every message converts. Exit status: 0 ok,",
    "1 malformed input or an invalid reference in strict mode, 2 bad usage,",
    "configuration, or a file that cannot be read or written.",
    P2M_DOC_LINE,
    NULL};

static const char *const validate_help[] = {
    "usage: p2m validate [--connector NAME] -c FILE",
    "",
    "Loads and compiles the configuration FILE; prints the effective",
    "configuration (metrics, data point attribute keys in order, filters,",
    "temporality, limits, layout, strict) and \"ok\", and exits 0, or prints",
    "what is wrong (naming the key and its line) and exits 2.",
    "",
    "  -c, --config FILE  the configuration (or FILE as the only argument)",
    "  --connector NAME   the connector profiletometrics/NAME of a Collector",
    "                     configuration that has several",
    "  -h, --help         this help",
    P2M_DOC_LINE,
    NULL};

static const char *const compile_help[] = {
    "usage: p2m compile [--connector NAME] -c FILE -o OUT [--name NAME]",
    "",
    "Loads and compiles the configuration FILE as p2m validate does and writes",
    "the compiled engine as an image for p2m_engine_load: versioned,",
    "checksummed, the same bytes on every host, so that a device built with",
    "P2M_NO_COMPILE loads it without the configuration compiler. Patterns",
    "compiled for PCRE2 (a P2M_USE_PCRE2 build of p2m) have no image.",
    "",
    "  -c, --config FILE  the configuration",
    "  --connector NAME   the connector profiletometrics/NAME of a Collector",
    "                     configuration that has several",
    "  -o, --output OUT   OUT ending in .h: a C header declaring",
    "                     static const unsigned char NAME[] and NAME_SIZE;",
    "                     any other name: the raw image; - : the raw image on",
    "                     stdout. OUT appears only when it is complete",
    "  --name NAME        the array's name in a .h output, a C identifier",
    "                     (default p2m_engine_image)",
    "  -h, --help         this help",
    "",
    "Examples:",
    "  p2m compile -c p2m.yaml -o firmware/engine.h --name engine_image",
    "  p2m compile -c p2m.yaml -o engine.bin",
    "  p2m convert --engine engine.bin -f table profiles.pb",
    "",
    "Exit status: 0 ok, 2 bad usage, configuration, or a file that cannot be",
    "written.",
    P2M_DOC_LINE,
    NULL};

static void print_lines(FILE *f, const char *const *lines)
{
    for (; *lines != NULL; lines++) {
        fputs(*lines, f);
        fputc('\n', f);
    }
}

int p2m_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs("p2m: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'p2m %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
    return EXIT_USAGE;
}

/* ---- files -------------------------------------------------------------- */

/* Reads all of path ("-" = stdin). A regular file is read in one go into a
   buffer sized from its length; pipes grow the buffer as data comes. */
static int read_all(const char *path, unsigned char **data, size_t *len)
{
    FILE *f = stdin;
    struct stat st;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf;
    int is_stdin = strcmp(path, "-") == 0;

    if (!is_stdin) {
        f = fopen(path, "rb");
        if (f == NULL) {
            fprintf(stderr, "p2m: cannot open %s: %s\n", path, strerror(errno));
            return -1;
        }
    }
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0)
        cap = (size_t)st.st_size + 1; /* +1: the read that sees end of file */
    buf = (unsigned char *)malloc(cap);
    if (buf == NULL)
        goto oom;
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) {
            if (ferror(f)) {
                fprintf(stderr, "p2m: cannot read %s: %s\n", is_stdin ? "stdin" : path,
                        strerror(errno));
                free(buf);
                if (!is_stdin)
                    fclose(f);
                return -1;
            }
            if (feof(f))
                break;
            continue;
        }
        {
            unsigned char *bigger;
            if (cap > ((size_t)-1) / 2)
                goto oom;
            bigger = (unsigned char *)realloc(buf, cap * 2);
            if (bigger == NULL)
                goto oom;
            buf = bigger;
            cap *= 2;
        }
    }
    if (!is_stdin)
        fclose(f);
    *data = buf;
    *len = n;
    return 0;
oom:
    free(buf);
    if (!is_stdin)
        fclose(f);
    fprintf(stderr, "p2m: out of memory reading %s\n", path);
    return -1;
}

static int write_all(const char *path, const p2m_outbuf *o)
{
    FILE *f = stdout;
    int to_stdout = path == NULL || strcmp(path, "-") == 0;
    if (!to_stdout) {
        f = fopen(path, "wb");
        if (f == NULL) {
            fprintf(stderr, "p2m: cannot write %s: %s\n", path, strerror(errno));
            return -1;
        }
    }
    if ((o->len > 0 && fwrite(o->data, 1, o->len, f) != o->len) || fflush(f) != 0) {
        fprintf(stderr, "p2m: cannot write %s: %s\n", to_stdout ? "stdout" : path,
                strerror(errno));
        if (!to_stdout)
            fclose(f);
        return -1;
    }
    if (!to_stdout && fclose(f) != 0) {
        fprintf(stderr, "p2m: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- options ------------------------------------------------------------ */

int p2m_take_opt(int argc, char **argv, int *i, const char *s, const char *l,
                 const char **value, int *missing)
{
    const char *a = argv[*i];
    size_t ll = strlen(l);
    if ((s != NULL && strcmp(a, s) == 0) || strcmp(a, l) == 0) {
        if (*i + 1 >= argc) {
            *missing = 1;
            return 1;
        }
        *value = argv[++*i];
        return 1;
    }
    if (strncmp(a, l, ll) == 0 && a[ll] == '=') {
        *value = a + ll + 1;
        return 1;
    }
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t x = 0;
    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        unsigned d;
        if (*s < '0' || *s > '9')
            return -1;
        d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

static uint64_t now_unix_nano(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return (uint64_t)time(NULL) * 1000000000u;
}

/* ---- configuration ------------------------------------------------------ */

/* A library call that sizes its own block: it runs with block (NULL and 0
   first), and when it answers too_small with err->needed, the block is
   malloc'd at that size and the call runs again (twice more at most: the
   API promises the first answer is enough). *block is the last block
   (malloc'd, or NULL) and *st the call's last status; -1 when malloc
   failed (*size: the bytes asked for), else 0. */
typedef p2m_status (*sized_call)(void *ctx, void *block, size_t size, p2m_error *err);

static int call_sized(sized_call call, void *ctx, p2m_status too_small, void **block,
                      size_t *size, p2m_status *st, p2m_error *err)
{
    int attempt;
    *block = NULL;
    *size = 0;
    for (attempt = 0; attempt < 3; attempt++) {
        memset(err, 0, sizeof *err);
        *st = call(ctx, *block, *size, err);
        if (*st != too_small || err->needed <= *size)
            return 0;
        free(*block);
        *size = err->needed;
        *block = malloc(*size);
        if (*block == NULL)
            return -1;
    }
    return 0;
}

typedef struct compile_ctx {
    const p2m_config *config;
    const p2m_engine **engine;
} compile_ctx;

static p2m_status compile_call(void *ctx, void *block, size_t size, p2m_error *err)
{
    compile_ctx *c = (compile_ctx *)ctx;
    return p2m_engine_compile(c->config, block, size, c->engine, err);
}

/* Loads (when path is given) and compiles the configuration. On failure
   prints the reason and returns -1. *engine_mem is malloc'd. */
static int load_engine(const char *path, const char *connector, int layout_override,
                       p2m_layout layout, p2m_cfgfile *file, void **engine_mem,
                       const p2m_engine **engine)
{
    char msg[512];
    p2m_error err;
    p2m_status st;
    size_t size = 0;
    compile_ctx cc;

    memset(file, 0, sizeof *file);
    p2m_config_init(&file->config);
    if (path == NULL && connector != NULL) {
        fprintf(stderr, "p2m: config: --connector %s needs a configuration file (-c FILE)\n",
                connector);
        return -1;
    }
    if (path != NULL && p2m_cfgfile_load_named(path, connector, file, msg, sizeof msg) != 0) {
        fprintf(stderr, "p2m: config: %s\n", msg);
        return -1;
    }
    if (layout_override)
        file->config.layout = layout;

    cc.config = &file->config;
    cc.engine = engine;
    if (call_sized(compile_call, &cc, P2M_ERR_MEMORY, engine_mem, &size, &st, &err) != 0) {
        fprintf(stderr, "p2m: out of memory (%lu bytes for the configuration)\n",
                (unsigned long)size);
        return -1;
    }
    if (st == P2M_OK)
        return 0;
    /* the field path and YAML line, as the loader's own errors give them */
    p2m_cfgfile_error(file, err.field, err.message[0] ? err.message : p2m_status_string(st),
                      msg, sizeof msg);
    fprintf(stderr, "p2m: config: %s\n", msg);
    free(*engine_mem);
    *engine_mem = NULL;
    return -1;
}

/* Builds the engine of an image file made by p2m compile (convert
   --engine) with p2m_engine_load: size query, then the load. On failure
   prints the reason, naming the file, and returns -1. *engine_mem is
   malloc'd; the image itself is not kept (the engine copies what it needs). */
typedef struct load_ctx {
    const unsigned char *image;
    size_t len;
    const p2m_engine **engine;
} load_ctx;

static p2m_status load_call(void *ctx, void *block, size_t size, p2m_error *err)
{
    load_ctx *c = (load_ctx *)ctx;
    return p2m_engine_load(c->image, c->len, block, size, c->engine, err);
}

static int load_image(const char *path, void **engine_mem, const p2m_engine **engine)
{
    unsigned char *image = NULL;
    size_t len = 0, size = 0;
    p2m_error err;
    p2m_status st = P2M_OK;
    load_ctx lc;

    *engine_mem = NULL;
    if (read_all(path, &image, &len) != 0)
        return -1;
    lc.image = image;
    lc.len = len;
    lc.engine = engine;
    if (call_sized(load_call, &lc, P2M_ERR_MEMORY, engine_mem, &size, &st, &err) != 0) {
        fprintf(stderr, "p2m: out of memory (%lu bytes for the engine of %s)\n",
                (unsigned long)size, path);
        free(image);
        return -1;
    }
    if (st == P2M_OK) {
        free(image);
        return 0;
    }
    if (st == P2M_ERR_IMAGE) {
        /* the header p2m compile writes for -o NAME.h is not an image */
        int header = len >= 2 && image[0] == '/' && image[1] == '*';
        fprintf(stderr, "p2m: engine image %s: invalid at byte %lu: %s%s\n", path,
                (unsigned long)err.offset,
                err.message[0] ? err.message : p2m_status_string(st),
                header ? "; the file is a C header: --engine reads the raw image "
                         "(p2m compile -o FILE.bin)" : "");
    } else {
        fprintf(stderr, "p2m: engine image %s: %s\n", path,
                err.message[0] ? err.message : p2m_status_string(st));
    }
    free(image);
    free(*engine_mem);
    *engine_mem = NULL;
    return -1;
}

/* The layout an engine was compiled with (the configuration's layout:),
   which convert names in its layout messages. Read from the engine itself:
   this file compiles the implementation (P2M_IMPLEMENTATION), and the
   public API has no accessor for it. */
static p2m_layout engine_layout(const p2m_engine *engine)
{
    return engine->layout;
}

/* ---- convert ------------------------------------------------------------ */

enum { OUT_OTLP, OUT_TABLE, OUT_JSON, OUT_PROM };
enum { IN_OTLP, IN_STREAM, IN_JSON, IN_JSONL, IN_PPROF };

/* A sample type that fed no metric, summed over every message (the
   library's strings point into one message, so these are copies). */
typedef struct unfed_total {
    char *type, *unit;
    uint64_t profiles, samples;
} unfed_total;
#define UNFED_KEPT 32 /* distinct types listed in the note */

typedef struct conv {
    const p2m_engine *engine;
    p2m_options options;
    int format;
    int stream;
    unsigned char *work;
    size_t work_cap;
    size_t out_guess;
    p2m_outbuf out;
    p2m_stats total;
    size_t messages;
    p2m_prom_options prom;       /* -f prom: --promote-resource-attrs */
    size_t merged;               /* -f prom: resources summed into shared lines */
    void *wscratch;              /* scratch of p2m_write_json / p2m_write_prom */
    size_t wscratch_cap;
    p2m_prom *promsum;           /* -f prom over a stream: totals of every message */
    int json;                    /* --input-format json / jsonl */
    size_t json_line;            /* JSON input: the line the request starts on */
    size_t in_at, in_end;        /* the message's bytes in the input (table header) */
    const char *decompressed;    /* "gzip" or "zstd": offsets are after decompression */
    int single_otlp;             /* --input-format otlp: failures get format hints */
    int pprof;                   /* the input is a pprof Profile (given or detected) */
    int pprof_given;             /* --input-format pprof, not detected */
    p2m_layout forced;           /* --layout or the configuration's layout */
    unfed_total unfed[UNFED_KEPT];
    p2m_type_count unfed_call[UNFED_KEPT]; /* one call's list (options.unfed) */
    size_t n_unfed;
    int unfed_more;              /* some unfed types were not listed */
    int layout_conflict;
    p2m_layout layout_evidence;
} conv;

/* Merges one message's unfed sample types into the run's totals. */
static void add_unfed(conv *c, const p2m_stats *s)
{
    size_t i, n = s->n_unfed;
    uint64_t listed = 0;
    for (i = 0; i < n; i++)
        listed += c->unfed_call[i].profiles;
    if (listed < s->profiles_unfed) /* types past the call's list */
        c->unfed_more = 1;
    for (i = 0; i < n; i++) {
        const p2m_type_count *t = &c->unfed_call[i];
        size_t k;
        for (k = 0; k < c->n_unfed; k++)
            if (strlen(c->unfed[k].type) == t->type.len &&
                strlen(c->unfed[k].unit) == t->unit.len &&
                memcmp(c->unfed[k].type, t->type.ptr, t->type.len) == 0 &&
                memcmp(c->unfed[k].unit, t->unit.ptr, t->unit.len) == 0)
                break;
        if (k == c->n_unfed) {
            char *ty, *un;
            if (k == UNFED_KEPT) {
                c->unfed_more = 1;
                continue;
            }
            ty = (char *)malloc(t->type.len + 1);
            un = (char *)malloc(t->unit.len + 1);
            if (ty == NULL || un == NULL) {
                free(ty);
                free(un);
                c->unfed_more = 1;
                continue;
            }
            if (t->type.len)
                memcpy(ty, t->type.ptr, t->type.len);
            ty[t->type.len] = '\0';
            if (t->unit.len)
                memcpy(un, t->unit.ptr, t->unit.len);
            un[t->unit.len] = '\0';
            c->unfed[k].type = ty;
            c->unfed[k].unit = un;
            c->unfed[k].profiles = 0;
            c->unfed[k].samples = 0;
            c->n_unfed++;
        }
        c->unfed[k].profiles += t->profiles;
        c->unfed[k].samples += t->samples;
    }
    if (s->layout_conflict && !c->layout_conflict) {
        c->layout_conflict = 1;
        c->layout_evidence = s->layout_evidence;
    }
}

static void add_stats(p2m_stats *t, const p2m_stats *s)
{
    t->bytes_in += s->bytes_in;
    t->bytes_out += s->bytes_out;
    t->layout = s->layout;
    t->resources += s->resources;
    t->profiles += s->profiles;
    t->profiles_unclassified += s->profiles_unclassified;
    t->samples += s->samples;
    t->samples_kept += s->samples_kept;
    t->dropped_process += s->dropped_process;
    t->dropped_thread += s->dropped_thread;
    t->dropped_pattern += s->dropped_pattern;
    t->dropped_stack += s->dropped_stack;
    t->empty_samples += s->empty_samples;
    t->invalid_references += s->invalid_references;
    t->series += s->series;
    t->overflow_samples += s->overflow_samples;
    t->regex_searches += s->regex_searches;
    if (s->work_used > t->work_used) /* peak, not a sum: memory is reused */
        t->work_used = s->work_used;
    t->n_unfed += s->n_unfed; /* an upper bound; the note lists the distinct ones */
    t->profiles_unfed += s->profiles_unfed;
    t->samples_unfed += s->samples_unfed;
}

static int grow_work(conv *c, size_t need)
{
    unsigned char *w;
    if (need <= c->work_cap)
        return 0;
    w = (unsigned char *)realloc(c->work, need);
    if (w == NULL) {
        fprintf(stderr, "p2m: out of memory (%lu bytes of working memory)\n",
                (unsigned long)need);
        return -1;
    }
    c->work = w;
    c->work_cap = need;
    return 0;
}

/* Where a byte offset is, beyond the number: which message, and which input
   the offsets count in. */
static void where_text(const conv *c, size_t index, char *where, size_t cap)
{
    where[0] = '\0';
    if (c->pprof && c->decompressed)
        snprintf(where, cap, " (pprof input; offsets in the %s-decompressed input)",
                 c->decompressed);
    else if (c->pprof)
        snprintf(where, cap, " (pprof input)");
    else if (c->json) /* offsets are in the protobuf made from the JSON request */
        snprintf(where, cap, " (of the protobuf transcoded from the JSON request on line %lu)",
                 (unsigned long)c->json_line);
    else if (c->stream && c->decompressed)
        snprintf(where, cap, " (message %lu; offsets in the %s-decompressed input)",
                 (unsigned long)index + 1, c->decompressed);
    else if (c->stream)
        snprintf(where, cap, " (message %lu)", (unsigned long)index + 1);
    else if (c->decompressed)
        snprintf(where, cap, " (offsets in the %s-decompressed input)", c->decompressed);
}

/* What the tool can add to a malformed-input message: the field path at the
   offset (or, for a cut input, where it ends), and for a single request that
   looks like another format, the flag to use. */
static void malformed_detail(const conv *c, const unsigned char *data, size_t len, size_t base,
                             size_t off, char *out, size_t cap)
{
    char path[256];
    size_t field_at = 0;
    int cut;
    out[0] = '\0';
    if (c->pprof) { /* no field paths in pprof; an OTLP request is named */
        if (c->pprof_given && p2m_input_is_otlp_request(data, len))
            snprintf(out, cap, "; the input looks like an OTLP request: drop --input-format "
                     "pprof");
        return;
    }
    if (c->single_otlp && p2m_input_is_cut_pprof(data, len)) {
        snprintf(out, cap, "; the input may be a pprof Profile cut short: try --input-format "
                 "pprof");
        return;
    }
    if (c->single_otlp && p2m_input_is_json(data, len)) {
        snprintf(out, cap, "; the input looks like JSON: use --input-format json "
                 "(--input-format jsonl for JSON Lines)");
        return;
    }
    if (c->single_otlp && p2m_input_is_stream(data, len)) {
        snprintf(out, cap, "; the input looks like a length-prefixed stream "
                 "(4-byte big-endian lengths): use --input-format otlp-stream");
        return;
    }
    cut = p2m_pb_locate(data, len, c->forced, off, path, sizeof path, &field_at);
    if (cut)
        snprintf(out, cap,
                 "; truncated: the input ends at byte %lu while reading %s (from byte %lu)",
                 (unsigned long)(base + len), path[0] ? path : "a field",
                 (unsigned long)(base + field_at));
    else if (path[0] != '\0')
        snprintf(out, cap, "; in %s (from byte %lu)", path, (unsigned long)(base + field_at));
}

/* Prints a failed conversion of the message (data, len) at byte base of the
   input and returns the exit code. */
static int report(const conv *c, const p2m_error *err, const p2m_stats *stats,
                  const unsigned char *data, size_t len, size_t base, size_t index)
{
    char where[160], detail[640];
    where_text(c, index, where, sizeof where);
    switch (err->status) {
    case P2M_ERR_MALFORMED:
        if (stats->layout_conflict) /* strict: the forced layout itself is the problem */
            snprintf(detail, sizeof detail, "; the input's fields point to %s: drop the forced "
                     "layout %s", p2m_layout_name(stats->layout_evidence),
                     p2m_layout_name(c->forced));
        else
            malformed_detail(c, data, len, base, err->offset, detail, sizeof detail);
        fprintf(stderr, "p2m: malformed input at byte %lu: %s%s%s\n",
                (unsigned long)(base + err->offset), err->message, detail, where);
        return EXIT_BAD_INPUT;
    case P2M_ERR_INVALID_REFERENCE:
        fprintf(stderr, "p2m: invalid reference at byte %lu: %s%s\n",
                (unsigned long)(base + err->offset), err->message, where);
        return EXIT_BAD_INPUT;
    case P2M_ERR_CONFIG:
        fprintf(stderr, "p2m: config: %s%s%s\n", err->field, err->field[0] ? ": " : "",
                err->message);
        return EXIT_USAGE;
    default:
        fprintf(stderr, "p2m: %s: %s%s\n", p2m_status_string(err->status), err->message,
                where);
        return EXIT_USAGE;
    }
}

/* Appends the OTLP/JSON (prom 0) or Prometheus text (prom 1) of r to the
   output, growing the writers' scratch and the output as they ask. Returns
   0 or -1 (said on stderr). */
static int write_text(conv *c, const p2m_result *r, int prom)
{
    size_t cap = c->out_guess, n = 0;
    p2m_error err;
    p2m_status st = P2M_OK;
    int attempt;
    memset(&err, 0, sizeof err);
    for (attempt = 0; attempt < 6; attempt++) {
        unsigned char *dst = p2m_out_reserve(&c->out, cap);
        if (dst == NULL)
            break;
        if (prom)
            st = p2m_write_prom(r, &c->prom, c->wscratch, c->wscratch_cap, dst, cap, &n, &err);
        else
            st = p2m_write_json(r, c->wscratch, c->wscratch_cap, dst, cap, &n, &err);
        if (st == P2M_ERR_MEMORY && err.needed > c->wscratch_cap) {
            void *w = realloc(c->wscratch, err.needed);
            if (w == NULL) {
                fprintf(stderr, "p2m: out of memory (%lu bytes for the %s writer)\n",
                        (unsigned long)err.needed, prom ? "Prometheus" : "JSON");
                return -1;
            }
            c->wscratch = w;
            c->wscratch_cap = err.needed;
        } else if (st == P2M_ERR_OUTPUT_TOO_SMALL && err.needed > cap) {
            cap = err.needed; /* the API's contract: grow and call again */
        } else {
            break;
        }
    }
    if (c->out.failed) {
        fprintf(stderr, "p2m: out of memory for the output\n");
        return -1;
    }
    if (st != P2M_OK) {
        fprintf(stderr, "p2m: cannot write %s: %s\n", prom ? "Prometheus text" : "JSON",
                err.message[0] ? err.message : p2m_status_string(st));
        return -1;
    }
    c->out.len += n;
    return 0;
}

/* Converts one request (data, len) found at byte base of the input and
   appends its output (framed when streaming). Returns 0 or an exit code. */
static int convert_one(conv *c, const unsigned char *data, size_t len, size_t base,
                       size_t index)
{
    p2m_error err;
    p2m_stats stats;
    p2m_status st;
    size_t need = 0, frame_at = c->out.len;
    int attempt;

    memset(&err, 0, sizeof err);
    memset(&stats, 0, sizeof stats);
    st = c->pprof ? p2m_pprof_work_size(c->engine, data, len, &need, &err)
                  : p2m_work_size(c->engine, data, len, &need, &err);
    if (st != P2M_OK)
        return report(c, &err, &stats, data, len, base, index);
    if (grow_work(c, need))
        return EXIT_USAGE;

    if (c->format != OUT_OTLP) {
        const p2m_result *result = NULL;
        for (attempt = 0; attempt < 3; attempt++) {
            memset(&err, 0, sizeof err);
            st = c->pprof ? p2m_pprof_aggregate(c->engine, data, len, &c->options, c->work,
                                                c->work_cap, &result, &stats, &err)
                          : p2m_aggregate(c->engine, data, len, &c->options, c->work,
                                          c->work_cap, &result, &stats, &err);
            if (st != P2M_ERR_MEMORY || err.needed <= c->work_cap)
                break;
            if (grow_work(c, err.needed))
                return EXIT_USAGE;
        }
        if (st != P2M_OK)
            return report(c, &err, &stats, data, len, base, index);
        if (c->stream && c->format == OUT_TABLE)
            p2m_out_printf(&c->out, "%s=== message %lu (input bytes %lu..%lu%s%s%s) ===\n",
                           index > 0 ? "\n" : "", (unsigned long)index + 1,
                           (unsigned long)c->in_at, (unsigned long)c->in_end,
                           c->decompressed ? ", after " : "",
                           c->decompressed ? c->decompressed : "",
                           c->decompressed ? " decompression" : "");
        frame_at = c->out.len;
        if (c->format == OUT_TABLE) {
            p2m_table_write(&c->out, result);
        } else if (c->format == OUT_JSON) {
            if (write_text(c, result, 0) != 0)
                return EXIT_USAGE;
            p2m_out_str(&c->out, "\n");
        } else if (!c->stream) {
            if (write_text(c, result, 1) != 0)
                return EXIT_USAGE;
        } else {
            char why[160];
            if (p2m_prom_add(c->promsum, result, why, sizeof why) != 0) {
                fprintf(stderr, "p2m: cannot write Prometheus text: %s\n", why);
                return EXIT_USAGE;
            }
        }
        stats.bytes_out = c->out.len - frame_at;
    } else {
        size_t cap = c->out_guess, n = 0, hdr = c->stream ? 4 : 0;
        for (attempt = 0; attempt < 4; attempt++) {
            unsigned char *dst = p2m_out_reserve(&c->out, hdr + cap);
            if (dst == NULL)
                break;
            memset(&err, 0, sizeof err);
            st = c->pprof ? p2m_pprof_convert(c->engine, data, len, &c->options, c->work,
                                              c->work_cap, dst + hdr, cap, &n, &stats, &err)
                          : p2m_convert(c->engine, data, len, &c->options, c->work,
                                        c->work_cap, dst + hdr, cap, &n, &stats, &err);
            if (st == P2M_ERR_OUTPUT_TOO_SMALL && err.needed > cap)
                cap = err.needed; /* the API's contract: grow and call again */
            else if (st == P2M_ERR_MEMORY && err.needed > c->work_cap) {
                if (grow_work(c, err.needed))
                    return EXIT_USAGE;
            } else
                break;
        }
        if (c->out.failed) {
            fprintf(stderr, "p2m: out of memory for the output\n");
            return EXIT_USAGE;
        }
        if (st != P2M_OK)
            return report(c, &err, &stats, data, len, base, index);
        if (n > 0xffffffffu && c->stream) {
            fprintf(stderr, "p2m: output message %lu is too large for 4-byte framing\n",
                    (unsigned long)index + 1);
            return EXIT_USAGE;
        }
        if (c->stream) {
            unsigned char *h = c->out.data + frame_at;
            h[0] = (unsigned char)(n >> 24);
            h[1] = (unsigned char)(n >> 16);
            h[2] = (unsigned char)(n >> 8);
            h[3] = (unsigned char)n;
        }
        c->out.len += hdr + n;
        if (n > c->out_guess)
            c->out_guess = n; /* next message: start from what this one took */
    }
    if (c->out.failed) {
        fprintf(stderr, "p2m: out of memory for the output\n");
        return EXIT_USAGE;
    }
    add_stats(&c->total, &stats);
    add_unfed(c, &stats);
    c->messages++;
    return 0;
}

static size_t skip_ws(const unsigned char *d, size_t len, size_t at)
{
    while (at < len && (d[at] == ' ' || d[at] == '\t' || d[at] == '\n' || d[at] == '\r'))
        at++;
    return at;
}

static size_t line_of(const unsigned char *d, size_t at)
{
    size_t i, line = 1;
    for (i = 0; i < at; i++)
        line += d[i] == '\n';
    return line;
}

/* OTLP/JSON requests (--input-format json: exactly one, on one line or
   pretty-printed; jsonl: any number, JSON Lines or one after another). Each
   is transcoded to protobuf of the layout and converted. */
static int convert_json(conv *c, const unsigned char *data, size_t len, p2m_layout layout,
                        int many)
{
    size_t at = skip_ws(data, len, 0), index = 0;
    p2m_outbuf pb = {NULL, 0, 0, 0};
    int rc = 0;
    if (at == len) {
        fprintf(stderr, "p2m: empty input: %lu bytes of whitespace and no JSON request\n",
                (unsigned long)len);
        return EXIT_BAD_INPUT;
    }
    while (at < len && rc == 0) {
        size_t end = 0, off = 0;
        char why[200];
        pb.len = 0;
        if (p2m_jsonin_transcode_one((const char *)data + at, len - at, layout, &pb, &end, &off,
                                     why, sizeof why) != 0) {
            const char *hint = "";
            if (index == 0 && off == 0 && data[at] != '{' && data[at] != '[')
                hint = " (the input does not look like JSON: for protobuf use --input-format "
                       "otlp or otlp-stream)";
            fprintf(stderr, "p2m: malformed JSON at byte %lu (line %lu%s%s%s): %s%s\n",
                    (unsigned long)(at + off), (unsigned long)line_of(data, at + off),
                    c->decompressed ? " of the input after " : "",
                    c->decompressed ? c->decompressed : "",
                    c->decompressed ? " decompression" : "", why, hint);
            rc = pb.failed ? EXIT_USAGE : EXIT_BAD_INPUT;
            break;
        }
        c->json_line = line_of(data, at);
        c->in_at = at;
        c->in_end = at + end;
        rc = convert_one(c, pb.data ? pb.data : (const unsigned char *)"", pb.len, 0, index);
        index++;
        at = skip_ws(data, len, at + end);
        if (rc == 0 && !many && at < len) {
            if (data[at] == '{')
                fprintf(stderr,
                        "p2m: a second JSON request starts at byte %lu (line %lu); "
                        "--input-format json reads one: use --input-format jsonl for "
                        "JSON Lines\n",
                        (unsigned long)at, (unsigned long)line_of(data, at));
            else
                fprintf(stderr, "p2m: malformed JSON at byte %lu (line %lu): text after the "
                        "request\n", (unsigned long)at, (unsigned long)line_of(data, at));
            rc = EXIT_BAD_INPUT;
        }
    }
    p2m_out_free(&pb);
    return rc;
}

/* Splits a length-prefixed stream into messages. */
static int convert_stream(conv *c, const unsigned char *data, size_t len)
{
    size_t at = 0, index = 0;
    char where[160];
    while (at < len) {
        size_t n;
        int rc;
        where_text(c, index, where, sizeof where);
        if (len - at < 4) {
            fprintf(stderr,
                    "p2m: malformed input at byte %lu: truncated: the input ends inside a "
                    "frame's 4-byte length (%lu bytes of it)%s\n",
                    (unsigned long)at, (unsigned long)(len - at), where);
            return EXIT_BAD_INPUT;
        }
        n = (size_t)data[at] << 24 | (size_t)data[at + 1] << 16 |
            (size_t)data[at + 2] << 8 | (size_t)data[at + 3];
        if (n > len - at - 4) {
            char path[256];
            size_t field_at = 0;
            const char *hint = NULL;
            int cut;
            if (at == 0 && p2m_input_is_json(data, len))
                hint = "the input looks like JSON: use --input-format jsonl";
            else if (at == 0 && (data[0] == 0x0a || data[0] == 0x12))
                /* the tag of resource_profiles or dictionary: a request with no
                   length in front */
                hint = "the input may be one request without length prefixes: use "
                       "--input-format otlp";
            if (hint != NULL) {
                fprintf(stderr, "p2m: malformed input at byte 0: a frame of %lu bytes runs past "
                        "the end of the input (%lu bytes left); %s%s\n", (unsigned long)n,
                        (unsigned long)(len - 4), hint, where);
                return EXIT_BAD_INPUT;
            }
            cut = p2m_pb_locate(data + at + 4, len - at - 4, c->forced, 0, path, sizeof path,
                                &field_at);
            fprintf(stderr,
                    "p2m: malformed input at byte %lu: truncated: a frame of %lu bytes runs "
                    "past the end of the input (%lu bytes left)",
                    (unsigned long)at, (unsigned long)n, (unsigned long)(len - at - 4));
            if (cut && path[0] != '\0')
                fprintf(stderr, "; the input ends at byte %lu while reading %s (from byte %lu)",
                        (unsigned long)len, path, (unsigned long)(at + 4 + field_at));
            fprintf(stderr, "%s\n", where);
            return EXIT_BAD_INPUT;
        }
        c->in_at = at + 4;
        c->in_end = at + 4 + n;
        rc = convert_one(c, data + at + 4, n, at + 4, index);
        if (rc != 0)
            return rc;
        at += 4 + n;
        index++;
    }
    return 0;
}

static void print_stats(const conv *c)
{
    const p2m_stats *s = &c->total;
    fprintf(stderr,
            "{\"bytes_in\":%lu,\"bytes_out\":%lu,\"layout\":\"%s\",\"resources\":%llu,"
            "\"profiles\":%llu,\"profiles_unclassified\":%llu,\"samples\":%llu,"
            "\"samples_kept\":%llu,\"dropped_process\":%llu,\"dropped_thread\":%llu,"
            "\"dropped_pattern\":%llu,\"dropped_stack\":%llu,\"empty_samples\":%llu,"
            "\"invalid_references\":%llu,"
            "\"series\":%llu,\"overflow_samples\":%llu,\"work_used\":%lu,"
            "\"regex_searches\":%llu",
            (unsigned long)s->bytes_in, (unsigned long)s->bytes_out,
            p2m_layout_name(s->layout), (unsigned long long)s->resources,
            (unsigned long long)s->profiles, (unsigned long long)s->profiles_unclassified,
            (unsigned long long)s->samples, (unsigned long long)s->samples_kept,
            (unsigned long long)s->dropped_process, (unsigned long long)s->dropped_thread,
            (unsigned long long)s->dropped_pattern, (unsigned long long)s->dropped_stack,
            (unsigned long long)s->empty_samples,
            (unsigned long long)s->invalid_references, (unsigned long long)s->series,
            (unsigned long long)s->overflow_samples, (unsigned long)s->work_used,
            (unsigned long long)s->regex_searches);
    fprintf(stderr, ",\"profiles_unfed\":%llu,\"samples_unfed\":%llu",
            (unsigned long long)s->profiles_unfed, (unsigned long long)s->samples_unfed);
    if (c->stream)
        fprintf(stderr, ",\"messages\":%lu", (unsigned long)c->messages);
    fputs("}\n", stderr);
}

static int parse_layout(const char *s, p2m_layout *out)
{
    if (strcmp(s, "auto") == 0)
        *out = P2M_LAYOUT_AUTO;
    else if (strcmp(s, "v1.8") == 0)
        *out = P2M_LAYOUT_V1_8;
    else if (strcmp(s, "v1.9") == 0)
        *out = P2M_LAYOUT_V1_9;
    else if (strcmp(s, "v1.10") == 0)
        *out = P2M_LAYOUT_V1_10;
    else
        return -1;
    return 0;
}

/* The notes of a finished run, one line each: sample types that fed no
   metric, an input without profiles, filters that dropped every sample. Each
   goes to stderr (unless quiet) and, with -f table, to the end of the table.
   A forced layout that the evidence contradicts is a warning, printed even
   when quiet. */
static void notes(conv *c, int quiet, int layout_override)
{
    const p2m_stats *s = &c->total;
    p2m_outbuf line = {NULL, 0, 0, 0};
    int k;
    for (k = 0; k < 4; k++) {
        int warning = 0;
        line.len = 0;
        if (k == 0 && c->n_unfed > 0) {
            size_t i;
            p2m_out_printf(&line, "%s%lu sample type%s fed no metric: ",
                           c->unfed_more ? "more than " : "", (unsigned long)c->n_unfed,
                           c->n_unfed == 1 && !c->unfed_more ? "" : "s");
            for (i = 0; i < c->n_unfed; i++)
                p2m_out_printf(&line, "%s%s/%s (%llu profile%s, %llu sample%s)", i ? ", " : "",
                               c->unfed[i].type, c->unfed[i].unit,
                               (unsigned long long)c->unfed[i].profiles,
                               c->unfed[i].profiles == 1 ? "" : "s",
                               (unsigned long long)c->unfed[i].samples,
                               c->unfed[i].samples == 1 ? "" : "s");
            if (c->unfed_more)
                p2m_out_str(&line, ", and more");
            p2m_out_str(&line, "; map them to a metric with metrics.extra in the "
                               "configuration (docs/configuration.md)");
        } else if (k == 1 && s->profiles == 0) {
            p2m_out_printf(&line, "the input holds no profiles (%llu resource%s): the output "
                           "has no metrics", (unsigned long long)s->resources,
                           s->resources == 1 ? "" : "s");
        } else if (k == 2 && s->samples > 0 && s->samples_kept == 0 &&
                   s->dropped_process + s->dropped_thread + s->dropped_pattern +
                           s->dropped_stack > 0) {
            const char *sep = "";
            p2m_out_printf(&line, "the filters dropped every sample (of %llu):",
                           (unsigned long long)s->samples);
            if (s->dropped_process > 0) {
                p2m_out_printf(&line, " process_filter %llu",
                               (unsigned long long)s->dropped_process);
                sep = ",";
            }
            if (s->dropped_thread > 0) {
                p2m_out_printf(&line, "%s thread_filter %llu", sep,
                               (unsigned long long)s->dropped_thread);
                sep = ",";
            }
            if (s->dropped_pattern > 0) {
                p2m_out_printf(&line, "%s pattern_filter %llu", sep,
                               (unsigned long long)s->dropped_pattern);
                sep = ",";
            }
            if (s->dropped_stack > 0)
                p2m_out_printf(&line, "%s stack_filter %llu", sep,
                               (unsigned long long)s->dropped_stack);
            p2m_out_str(&line, "; check the filter's patterns (p2m match PATTERN SUBJECT... "
                               "tries one)");
        } else if (k == 3 && c->layout_conflict) {
            warning = 1;
            p2m_out_printf(&line, "layout %s is forced (%s) but the input's fields point to "
                           "%s: the values may be wrong; drop the forced layout, or set "
                           "strict: true to make this an error",
                           p2m_layout_name(c->forced),
                           layout_override ? "--layout" : "layout: in the configuration",
                           p2m_layout_name(c->layout_evidence));
        }
        if (line.len == 0 || line.failed)
            continue;
        if (!quiet || warning)
            fprintf(stderr, "p2m: %s: %.*s\n", warning ? "warning" : "note", (int)line.len,
                    (const char *)line.data);
        if (c->format == OUT_TABLE)
            p2m_out_printf(&c->out, "\n%s: %.*s\n", warning ? "warning" : "note",
                           (int)line.len, (const char *)line.data);
    }
    p2m_out_free(&line);
}

/* Whether the output file is the input file (the same inode, however the
   paths are spelled). An output that does not exist yet is not the input,
   nor is one that is not a regular file (/dev/null, a terminal). */
static int same_file(const char *input, const char *output)
{
    struct stat si, so;
    int in_ok;
    if (output == NULL || strcmp(output, "-") == 0)
        return 0;
    if (stat(output, &so) != 0 || !S_ISREG(so.st_mode)) /* /dev/null is no one's input */
        return 0;
    in_ok = strcmp(input, "-") == 0 ? fstat(STDIN_FILENO, &si) == 0 : stat(input, &si) == 0;
    return in_ok && si.st_dev == so.st_dev && si.st_ino == so.st_ino;
}

int p2m_parse_size(const char *s, size_t max, size_t *out)
{
    uint64_t v = 0, mul = 1;
    size_t n = strlen(s);
    char digits[32];
    if (n == 0 || n >= sizeof digits)
        return -1;
    memcpy(digits, s, n + 1);
    switch (digits[n - 1]) {
    case 'K': case 'k': mul = 1024u; break;
    case 'M': case 'm': mul = (uint64_t)1 << 20; break;
    case 'G': case 'g': mul = (uint64_t)1 << 30; break;
    default: break;
    }
    if (mul != 1)
        digits[n - 1] = '\0';
    if (parse_u64(digits, &v) != 0 || v == 0 || v > (uint64_t)max / mul)
        return -1;
    *out = (size_t)(v * mul);
    return 0;
}

#define DEFAULT_MAX_DECOMPRESSED ((size_t)1 << 30)

/* extra_keys / xattrs: room for argc entries each (--resource-attr
   KEY=VALUE: keys copied, values pointing into argv), freed by the caller */
static int convert_main(int argc, char **argv, char **extra_keys, p2m_attribute *xattrs)
{
    const char *config = NULL, *output = NULL, *input = NULL, *v, *connector = NULL;
    const char *promote = NULL, *image = NULL;
    int stats = 0, layout_override = 0, have_now = 0, i, rc, missing = 0, opts_done = 0;
    int in_format = IN_OTLP, in_given = 0, quiet = 0;
    p2m_layout layout = P2M_LAYOUT_AUTO;
    uint64_t now = 0;
    size_t max_decompressed = DEFAULT_MAX_DECOMPRESSED;
    p2m_cfgfile file;
    void *engine_mem = NULL, *state_mem = NULL;
    unsigned char *data = NULL;
    size_t len = 0, state_size, u, n_xattrs = 0;
    conv c;

    memset(&c, 0, sizeof c);
    memset(&file, 0, sizeof file);
    c.format = OUT_OTLP;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        v = NULL;
        if (opts_done || a[0] != '-' || strcmp(a, "-") == 0) {
            if (input != NULL)
                return p2m_usage_error("convert",
                                       "unexpected argument '%s' (more than one input given)",
                                       a);
            input = a;
        } else if (strcmp(a, "--") == 0) {
            opts_done = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_lines(stdout, convert_help);
            return 0;
        } else if (strcmp(a, "--stats") == 0) {
            stats = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else if (p2m_take_opt(argc, argv, &i, "-c", "--config", &v, &missing)) {
            config = v;
        } else if (p2m_take_opt(argc, argv, &i, "-o", "--output", &v, &missing)) {
            output = v;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--engine", &v, &missing)) {
            image = v;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--connector", &v, &missing)) {
            connector = v;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--promote-resource-attrs", &v, &missing)) {
            promote = v;
        } else if (p2m_take_opt(argc, argv, &i, "-f", "--format", &v, &missing)) {
            if (missing)
                break;
            if (strcmp(v, "otlp") == 0)
                c.format = OUT_OTLP;
            else if (strcmp(v, "table") == 0)
                c.format = OUT_TABLE;
            else if (strcmp(v, "json") == 0)
                c.format = OUT_JSON;
            else if (strcmp(v, "prom") == 0)
                c.format = OUT_PROM;
            else
                return p2m_usage_error("convert",
                                   "unknown output format '%s' (otlp, json, prom or table)", v);
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--input-format", &v, &missing)) {
            if (missing)
                break;
            if (strcmp(v, "otlp") == 0)
                in_format = IN_OTLP;
            else if (strcmp(v, "otlp-stream") == 0)
                in_format = IN_STREAM;
            else if (strcmp(v, "json") == 0)
                in_format = IN_JSON;
            else if (strcmp(v, "jsonl") == 0)
                in_format = IN_JSONL;
            else if (strcmp(v, "pprof") == 0)
                in_format = IN_PPROF;
            else
                return p2m_usage_error("convert", "unknown input format '%s' (otlp, otlp-stream, "
                                       "json, jsonl or pprof)", v);
            in_given = 1;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--max-decompressed", &v, &missing)) {
            if (missing)
                break;
            if (p2m_parse_size(v, (size_t)-1 / 2, &max_decompressed) != 0)
                return p2m_usage_error("convert",
                                       "--max-decompressed takes a size in bytes with an "
                                       "optional K, M or G (1G, 512M), not '%s'", v);
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--resource-attr", &v, &missing)) {
            const char *eq;
            if (missing)
                break;
            eq = strchr(v, '=');
            if (eq == NULL || eq == v)
                return p2m_usage_error("convert", "--resource-attr takes KEY=VALUE, not '%s'", v);
            extra_keys[n_xattrs] = (char *)malloc((size_t)(eq - v) + 1);
            if (extra_keys[n_xattrs] == NULL) {
                fputs("p2m: out of memory\n", stderr);
                return EXIT_USAGE;
            }
            memcpy(extra_keys[n_xattrs], v, (size_t)(eq - v));
            extra_keys[n_xattrs][eq - v] = '\0';
            memset(&xattrs[n_xattrs], 0, sizeof xattrs[n_xattrs]);
            xattrs[n_xattrs].key.ptr = extra_keys[n_xattrs];
            xattrs[n_xattrs].key.len = (size_t)(eq - v);
            xattrs[n_xattrs].value.type = P2M_VALUE_STRING;
            xattrs[n_xattrs].value.str.ptr = eq + 1;
            xattrs[n_xattrs].value.str.len = strlen(eq + 1);
            n_xattrs++;
            c.options.resource_attributes = xattrs; /* the library adds them to every resource */
            c.options.n_resource_attributes = n_xattrs;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--layout", &v, &missing)) {
            if (missing)
                break;
            if (parse_layout(v, &layout) != 0)
                return p2m_usage_error("convert",
                                   "unknown layout '%s' (auto, v1.8, v1.9 or v1.10)", v);
            layout_override = 1;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--now", &v, &missing)) {
            if (missing)
                break;
            if (parse_u64(v, &now) != 0)
                return p2m_usage_error("convert",
                                   "--now takes Unix time in nanoseconds, not '%s'", v);
            have_now = 1;
        } else {
            return p2m_usage_error("convert", "unknown option '%s'", a);
        }
    }
    if (missing)
        return p2m_usage_error("convert", "option '%s' needs a value", argv[argc - 1]);
    if (input == NULL)
        input = "-";
    /* an image is a compiled configuration: nothing of the configuration
       file's can apply to it */
    if (image != NULL && config != NULL)
        return p2m_usage_error("convert", "%s", "-c and --engine both give the engine: use one "
                               "(--engine takes an image made by p2m compile)");
    if (image != NULL && connector != NULL)
        return p2m_usage_error("convert", "%s", "--connector selects a connector of a -c "
                               "configuration; an --engine image has none");
    if (image != NULL && layout_override)
        return p2m_usage_error("convert", "%s", "--layout cannot change the layout compiled "
                               "into an --engine image: set layout: in the configuration "
                               "given to p2m compile");
    if (image != NULL && strcmp(image, "-") == 0 && strcmp(input, "-") == 0)
        return p2m_usage_error("convert", "%s", "--engine - and the input both read standard "
                               "input: give one of them as a file");
    c.stream = in_format == IN_STREAM || in_format == IN_JSONL;
    c.json = in_format == IN_JSON || in_format == IN_JSONL;
    c.single_otlp = in_format == IN_OTLP;
    if (promote != NULL && c.format != OUT_PROM)
        return p2m_usage_error("convert", "%s", "--promote-resource-attrs applies to -f prom only");
    if (c.format == OUT_OTLP && (output == NULL || strcmp(output, "-") == 0) &&
        isatty(STDOUT_FILENO)) {
        fputs("p2m: not writing binary protobuf to a terminal; use -o FILE, a pipe, "
              "or -f table / json / prom\n", stderr);
        return EXIT_USAGE;
    }
    if (same_file(input, output)) {
        fprintf(stderr, "p2m: the output %s is the input %s (the same file): it would be "
                "overwritten; write to another file\n", output,
                strcmp(input, "-") == 0 ? "(standard input)" : input);
        return EXIT_USAGE;
    }

    if (image != NULL) {
        if (load_image(image, &engine_mem, &c.engine) != 0)
            return EXIT_USAGE;
        c.forced = engine_layout(c.engine);
    } else {
        if (load_engine(config, connector, layout_override, layout, &file, &engine_mem,
                        &c.engine) != 0) {
            p2m_cfgfile_free(&file);
            return EXIT_USAGE;
        }
        c.forced = file.config.layout;
    }
    c.options.now_unix_nano = have_now ? now : now_unix_nano();
    c.options.unfed = c.unfed_call;
    c.options.unfed_cap = UNFED_KEPT;
    /* cumulative temporality: one state for the whole run, so a stream's
       messages are running totals (docs/spec.md section 7) */
    state_size = p2m_state_size(c.engine);
    if (state_size > 0) {
        p2m_error err;
        memset(&err, 0, sizeof err);
        state_mem = malloc(state_size);
        if (state_mem == NULL) {
            fprintf(stderr, "p2m: out of memory (%lu bytes of cumulative state)\n",
                    (unsigned long)state_size);
            rc = EXIT_USAGE;
            goto done;
        }
        if (p2m_state_init(c.engine, state_mem, state_size, &c.options.state, &err) != P2M_OK) {
            fprintf(stderr, "p2m: cumulative state: %s\n", err.message);
            rc = EXIT_USAGE;
            goto done;
        }
    }

    if (strcmp(input, "-") == 0 && isatty(STDIN_FILENO) && !quiet)
        fputs("p2m: reading standard input (a terminal): end it with Ctrl-D, or give an "
              "INPUT file (p2m convert --help)\n", stderr);
    if (read_all(input, &data, &len) != 0) {
        rc = EXIT_USAGE;
        goto done;
    }
    if (len == 0) {
        fprintf(stderr, "p2m: empty input: %s has no bytes\n",
                strcmp(input, "-") == 0 ? "standard input" : input);
        rc = EXIT_BAD_INPUT;
        goto done;
    }
    c.decompressed = p2m_input_compression(data, len);
    if (c.decompressed != NULL) {
        unsigned char *plain = NULL;
        size_t plain_len = 0;
        int too_big = 0;
        char why[200];
        const char *tool = strcmp(c.decompressed, "gzip") == 0 ? "gunzip" : "zstd -d";
        if (!p2m_input_can_decompress(c.decompressed)) {
            fprintf(stderr, "p2m: the input is %s-compressed and this p2m was built without "
                    "%s: decompress it first (%s)\n", c.decompressed,
                    strcmp(c.decompressed, "gzip") == 0 ? "zlib" : "libzstd", tool);
            rc = EXIT_BAD_INPUT;
            goto done;
        }
        if (p2m_input_decompress(c.decompressed, data, len, max_decompressed, &plain,
                                 &plain_len, &too_big, why, sizeof why) != 0) {
            if (too_big)
                fprintf(stderr, "p2m: %s input refused: %s (--max-decompressed %lu); "
                        "raise the limit if the input is genuine\n", c.decompressed, why,
                        (unsigned long)max_decompressed);
            else
                fprintf(stderr, "p2m: %s input: %s\n", c.decompressed, why);
            rc = EXIT_BAD_INPUT;
            goto done;
        }
        free(data);
        data = plain;
        len = plain_len;
        if (len == 0) {
            fprintf(stderr, "p2m: empty input: %s decompresses to no bytes\n",
                    strcmp(input, "-") == 0 ? "standard input" : input);
            rc = EXIT_BAD_INPUT;
            goto done;
        }
    }
    /* pprof: asked for, or recognised by its top-level fields when no input
       format is given (p2m_input_is_pprof; docs/cli.md) */
    if (in_format == IN_OTLP && !in_given && p2m_input_is_pprof(data, len))
        in_format = IN_PPROF;
    c.pprof = in_format == IN_PPROF;
    c.pprof_given = c.pprof && in_given;
    c.single_otlp = in_format == IN_OTLP;
    /* an OTLP reading of a pprof Profile finds no profiles and would succeed
       with nothing: --input-format otlp on one is an error */
    if (in_given && in_format == IN_OTLP && p2m_input_is_pprof(data, len)) {
        fprintf(stderr, "p2m: malformed input at byte 0: the input is a pprof Profile (its "
                "top-level fields are profile.proto's), not an OTLP request: use "
                "--input-format pprof, or no --input-format\n");
        rc = EXIT_BAD_INPUT;
        goto done;
    }
    if (c.pprof && layout_override && layout != P2M_LAYOUT_AUTO) {
        p2m_usage_error("convert", "--layout %s applies to OTLP input, and the input is a pprof "
                        "Profile%s: pprof has one layout; drop --layout", p2m_layout_name(layout),
                        in_given ? "" : " (recognised by its fields)");
        rc = EXIT_USAGE;
        goto done;
    }
    c.out_guess = len / 2 + 4096;
    c.prom.merged_resources = &c.merged;
    if (promote != NULL && p2m_prom_options_parse(&c.prom, promote) != 0) {
        p2m_usage_error("convert", "--promote-resource-attrs takes 'all' or a comma-separated "
                        "list of resource attribute keys, not '%s'", promote);
        rc = EXIT_USAGE;
        goto done;
    }
    /* a stream's Prometheus text: the messages' sums, written at the end */
    if (c.format == OUT_PROM && c.stream && (c.promsum = p2m_prom_new(&c.prom)) == NULL) {
        fprintf(stderr, "p2m: out of memory\n");
        rc = EXIT_USAGE;
        goto done;
    }
    if (c.json) {
        rc = convert_json(&c, data, len, layout_override ? layout : P2M_LAYOUT_AUTO,
                          in_format == IN_JSONL);
    } else if (c.stream) {
        rc = convert_stream(&c, data, len);
    } else {
        c.in_at = 0;
        c.in_end = len;
        rc = convert_one(&c, data, len, 0, 0);
    }
    if (rc == 0 && c.promsum != NULL) {
        p2m_prom_write(c.promsum, &c.out);
        c.merged = p2m_prom_merged(c.promsum);
    }
    if (rc == 0 && c.format == OUT_PROM) {
        c.total.bytes_out = c.out.len; /* the text is written once, at the end */
        if (c.out.failed) {
            fprintf(stderr, "p2m: out of memory for the output\n");
            rc = EXIT_USAGE;
        }
    }
    if (rc == 0)
        notes(&c, quiet, layout_override);
    if (rc == 0 && c.out.failed) {
        fprintf(stderr, "p2m: out of memory for the output\n");
        rc = EXIT_USAGE;
    }
    if (rc == 0 && write_all(output, &c.out) != 0)
        rc = EXIT_USAGE;
    if (rc == 0 && c.format == OUT_PROM && !quiet)
        p2m_prom_note(c.merged, stderr);
    if (rc == 0 && stats)
        print_stats(&c);
done:
    for (u = 0; u < c.n_unfed; u++) {
        free(c.unfed[u].type);
        free(c.unfed[u].unit);
    }
    free(data);
    free(c.work);
    p2m_out_free(&c.out);
    p2m_prom_options_free(&c.prom);
    free(c.wscratch);
    p2m_prom_free(c.promsum);
    free(state_mem);
    free(engine_mem);
    p2m_cfgfile_free(&file);
    return rc;
}

static int cmd_convert(int argc, char **argv)
{
    char **keys = (char **)calloc((size_t)argc + 1, sizeof *keys);
    p2m_attribute *attrs = (p2m_attribute *)calloc((size_t)argc + 1, sizeof *attrs);
    int rc = EXIT_USAGE, i;
    if (keys == NULL || attrs == NULL)
        fputs("p2m: out of memory\n", stderr);
    else
        rc = convert_main(argc, argv, keys, attrs);
    for (i = 0; keys != NULL && i < argc; i++)
        free(keys[i]);
    free(keys);
    free(attrs);
    return rc;
}

/* ---- validate ----------------------------------------------------------- */

static int cmd_validate(int argc, char **argv)
{
    const char *config = NULL, *v = NULL, *connector = NULL;
    int i, missing = 0;
    p2m_cfgfile file;
    void *engine_mem = NULL;
    const p2m_engine *engine = NULL;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_lines(stdout, validate_help);
            return 0;
        } else if (p2m_take_opt(argc, argv, &i, "-c", "--config", &v, &missing)) {
            if (missing)
                return p2m_usage_error("validate", "option '%s' needs a value", a);
            config = v;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--connector", &v, &missing)) {
            if (missing)
                return p2m_usage_error("validate", "option '%s' needs a value", a);
            connector = v;
        } else if (a[0] == '-' && a[1] != '\0') {
            return p2m_usage_error("validate", "unknown option '%s'", a);
        } else if (config == NULL) {
            config = a;
        } else {
            return p2m_usage_error("validate", "unexpected argument '%s'", a);
        }
    }
    if (config == NULL)
        return p2m_usage_error("validate", "%s", "no configuration file given (-c FILE)");
    if (load_engine(config, connector, 0, P2M_LAYOUT_AUTO, &file, &engine_mem, &engine) != 0) {
        p2m_cfgfile_free(&file);
        return EXIT_USAGE;
    }
    p2m_cfgfile_print(&file, engine, config, stdout);
    puts("ok");
    free(engine_mem);
    p2m_cfgfile_free(&file);
    return 0;
}

/* ---- compile ------------------------------------------------------------ */

#define DEFAULT_IMAGE_NAME "p2m_engine_image"

/* Whether s can name the array of a .h image: a C identifier that is not
   a keyword of C99 or C++ (the header may be compiled as either). */
static int is_c_identifier(const char *s)
{
    static const char *const keywords[] = {
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double",
        "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long",
        "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct",
        "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Bool",
        "_Complex", "_Imaginary", "bool", "class", "delete", "false", "new", "operator",
        "private", "protected", "public", "template", "this", "throw", "true", "try",
        "typename", "using", "virtual", "namespace", "catch", "friend", "mutable",
        "explicit", "export", "nullptr", "constexpr", NULL};
    const char *p;
    size_t k;
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return 0;
    for (p = s; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
              (*p >= '0' && *p <= '9')))
            return 0;
    for (k = 0; keywords[k] != NULL; k++)
        if (strcmp(s, keywords[k]) == 0)
            return 0;
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The engine's image (p2m_engine_save: size query, then the save) into a
   malloc'd block. On failure prints the library's reason and returns -1. */
typedef struct save_ctx {
    const p2m_engine *engine;
    size_t *len;
} save_ctx;

static p2m_status save_call(void *ctx, void *block, size_t size, p2m_error *err)
{
    save_ctx *c = (save_ctx *)ctx;
    return p2m_engine_save(c->engine, block, size, c->len, err);
}

static int save_image(const p2m_engine *engine, const char *config, unsigned char **image,
                      size_t *len)
{
    p2m_error err;
    p2m_status st = P2M_OK;
    size_t cap = 0;
    void *block = NULL;
    save_ctx sc;
    *len = 0;
    sc.engine = engine;
    sc.len = len;
    if (call_sized(save_call, &sc, P2M_ERR_OUTPUT_TOO_SMALL, &block, &cap, &st, &err) != 0) {
        fprintf(stderr, "p2m: out of memory (%lu bytes for the engine image)\n",
                (unsigned long)cap);
        return -1;
    }
    *image = (unsigned char *)block;
    if (st == P2M_OK && *image != NULL)
        return 0;
    if (st == P2M_OK) /* the size query succeeded without a buffer */
        fprintf(stderr, "p2m: cannot make an engine image of %s: p2m_engine_save gave no "
                "size\n", config);
    else
        fprintf(stderr, "p2m: cannot make an engine image of %s: %s\n", config,
                err.message[0] ? err.message : p2m_status_string(st));
    free(*image);
    *image = NULL;
    return -1;
}

/* The C header of an image: a comment naming the configuration file (its
   last path component, with bytes that could end the comment or are not
   printable shown as '?'), then NAME_SIZE and the array NAME, guarded so
   that including it twice in one file is harmless. */
static void image_header(p2m_outbuf *o, const unsigned char *image, size_t len,
                         const char *name, const char *config)
{
    const char *base = strrchr(config, '/');
    size_t i;
    base = base != NULL ? base + 1 : config;
    p2m_out_str(o, "/* Engine image of the configuration ");
    for (i = 0; base[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)base[i];
        int closes = ch == '/' && i > 0 && base[i - 1] == '*';
        p2m_out_printf(o, "%c", ch < 0x20 || ch > 0x7e || closes ? '?' : (char)ch);
    }
    p2m_out_printf(o, ", made by p2m compile\n"
                   "   (p2m %s): %lu bytes, versioned and checksummed. Load it with\n"
                   "     p2m_engine_load(%s, %s_SIZE, mem, mem_size, &engine, &err);\n"
                   "   in a build with or without P2M_NO_COMPILE. Generated: change the\n"
                   "   configuration and run p2m compile again rather than edit this file. */\n",
                   p2m_version(), (unsigned long)len, name, name);
    p2m_out_printf(o, "#ifndef %s_INCLUDED\n#define %s_INCLUDED\n\n", name, name);
    p2m_out_printf(o, "#define %s_SIZE %lu\n\n", name, (unsigned long)len);
    p2m_out_printf(o, "static const unsigned char %s[%s_SIZE] = {", name, name);
    for (i = 0; i < len; i++)
        p2m_out_printf(o, "%s0x%02x%s", i % 12 == 0 ? "\n    " : " ", image[i],
                       i + 1 < len ? "," : "");
    p2m_out_printf(o, "\n};\n\n#endif /* %s_INCLUDED */\n", name);
}

/* Writes o to path so that path holds either its old content or all of o:
   the bytes go to a temporary file beside it (PATH.tmpPID), renamed over
   path once written and closed, and removed on failure. A path that exists
   and is not a regular file (a device, a pipe, a symbolic link) is written
   in place, as replacing it would be wrong. Errors name path. */
static int write_whole(const char *path, const p2m_outbuf *o)
{
    struct stat st;
    char *tmp;
    FILE *f;
    int fd, ok;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return write_all(path, o);
    tmp = (char *)malloc(strlen(path) + 32);
    if (tmp == NULL) {
        fprintf(stderr, "p2m: out of memory\n");
        return -1;
    }
    sprintf(tmp, "%s.tmp%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
    f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (f == NULL) {
        fprintf(stderr, "p2m: cannot write %s: %s\n", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(tmp);
        return -1;
    }
    /* each step runs only when the one before succeeded; errno is the
       failing step's */
    ok = (o->len == 0 || fwrite(o->data, 1, o->len, f) == o->len) && fflush(f) == 0;
    if (!ok) {
        int e = errno;
        fclose(f);
        errno = e;
    } else {
        ok = fclose(f) == 0 && rename(tmp, path) == 0;
    }
    if (!ok) {
        fprintf(stderr, "p2m: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return ok ? 0 : -1;
}

static int cmd_compile(int argc, char **argv)
{
    const char *config = NULL, *output = NULL, *name = NULL, *connector = NULL, *v = NULL;
    int i, missing = 0, rc = EXIT_USAGE;
    p2m_cfgfile file;
    void *engine_mem = NULL;
    const p2m_engine *engine = NULL;
    unsigned char *image = NULL;
    size_t len = 0;
    p2m_outbuf out = {NULL, 0, 0, 0};

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_lines(stdout, compile_help);
            return 0;
        } else if (p2m_take_opt(argc, argv, &i, "-c", "--config", &v, &missing)) {
            config = v;
        } else if (p2m_take_opt(argc, argv, &i, "-o", "--output", &v, &missing)) {
            output = v;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--name", &v, &missing)) {
            name = v;
        } else if (p2m_take_opt(argc, argv, &i, NULL, "--connector", &v, &missing)) {
            connector = v;
        } else if (a[0] == '-' && a[1] != '\0') {
            return p2m_usage_error("compile", "unknown option '%s'", a);
        } else {
            return p2m_usage_error("compile", "unexpected argument '%s'", a);
        }
        if (missing)
            return p2m_usage_error("compile", "option '%s' needs a value", a);
    }
    if (config == NULL)
        return p2m_usage_error("compile", "%s", "no configuration file given (-c FILE)");
    if (output == NULL)
        return p2m_usage_error("compile", "%s", "no output given (-o FILE.bin for the image, "
                               "-o FILE.h for a C header, -o - for the image on stdout)");
    if (name != NULL && !is_c_identifier(name))
        return p2m_usage_error("compile", "--name takes a C identifier (letters, digits and _, "
                               "not beginning with a digit, not a keyword), not '%s'", name);
    if (name != NULL && !ends_with(output, ".h"))
        return p2m_usage_error("compile", "--name names the array of a .h output; %s gets the "
                               "raw image", strcmp(output, "-") == 0 ? "stdout" : output);
    if (strcmp(output, "-") == 0 && isatty(STDOUT_FILENO)) {
        fputs("p2m: not writing a binary engine image to a terminal; use -o FILE or a pipe\n",
              stderr);
        return EXIT_USAGE;
    }
    if (same_file(config, output)) {
        fprintf(stderr, "p2m: the output %s is the configuration %s (the same file): it would "
                "be overwritten; write to another file\n", output, config);
        return EXIT_USAGE;
    }

    if (load_engine(config, connector, 0, P2M_LAYOUT_AUTO, &file, &engine_mem, &engine) != 0) {
        p2m_cfgfile_free(&file);
        return EXIT_USAGE;
    }
    if (save_image(engine, config, &image, &len) != 0)
        goto done;
    if (ends_with(output, ".h"))
        image_header(&out, image, len, name != NULL ? name : DEFAULT_IMAGE_NAME, config);
    else
        p2m_out_append(&out, image, len);
    if (out.failed) {
        fprintf(stderr, "p2m: out of memory for the output\n");
        goto done;
    }
    if (strcmp(output, "-") == 0 ? write_all(output, &out) != 0 : write_whole(output, &out) != 0)
        goto done;
    rc = 0;
done:
    p2m_out_free(&out);
    free(image);
    free(engine_mem);
    p2m_cfgfile_free(&file);
    return rc;
}

/* ---- match: tools/p2m_match.c ------------------------------------------- */

int p2m_cmd_match(int argc, char **argv);

/* ---- serve: tools/p2m_serve.c ------------------------------------------- */

int p2m_cmd_serve(int argc, char **argv);

/* ---- dispatch ----------------------------------------------------------- */

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command;
/* A new command: a cmd_NAME(argc, argv) with argv[0] = NAME, and a row here. */

static const command commands[] = {
    {"convert", cmd_convert},
    {"validate", cmd_validate},
    {"compile", cmd_compile},
    {"match", p2m_cmd_match},
    {"serve", p2m_cmd_serve},
};

/* p2m help [COMMAND]: the help of COMMAND, as COMMAND --help prints it. */
static int cmd_help(int argc, char **argv)
{
    size_t i;
    if (argc < 2) {
        print_lines(stdout, main_help);
        return 0;
    }
    if (argc > 2)
        return p2m_usage_error(NULL, "unexpected argument '%s'", argv[2]);
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            char help_flag[] = "--help";
            char *sub[3];
            sub[0] = argv[1];
            sub[1] = help_flag;
            sub[2] = NULL;
            return commands[i].run(2, sub);
        }
    if (strcmp(argv[1], "help") == 0) {
        print_lines(stdout, main_help);
        return 0;
    }
    return p2m_usage_error(NULL, "unknown command '%s' (convert, validate, compile, match or "
                           "serve)", argv[1]);
}

int main(int argc, char **argv)
{
    size_t i;
    if (argc < 2) {
        print_lines(stderr, main_help);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        if (argc > 2)
            return p2m_usage_error(NULL, "unexpected argument '%s'", argv[2]);
        print_lines(stdout, main_help);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0)
        return cmd_help(argc - 1, argv + 1);
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        if (argc > 2)
            return p2m_usage_error(NULL, "unexpected argument '%s'", argv[2]);
        printf("p2m %s\n", p2m_version());
        return 0;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        return commands[i].run(argc - 1, argv + 1);
    }
    if (argv[1][0] == '-')
        return p2m_usage_error(NULL, "unknown option '%s'", argv[1]);
    return p2m_usage_error(NULL, "unknown command '%s' (convert, validate, compile, match or "
                           "serve)", argv[1]);
}
