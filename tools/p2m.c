/* SPDX-License-Identifier: MIT
   p2m: the command-line tool. Commands:
     p2m convert   OTLP profiles -> OTLP metrics (or a table)
     p2m validate  load and compile a configuration file
     p2m match     try a pattern on subjects
   This file does I/O and argument handling only; all conversion work is the
   library's. The tool may use malloc; the library never does: every block
   it needs is sized by asking it first (see convert_one). */
#define _POSIX_C_SOURCE 200809L

#define P2M_IMPLEMENTATION
#include "profile2metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "p2m_config.h"
#include "p2m_json.h"
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
    "Turns OpenTelemetry profiles (OTLP protobuf) into OpenTelemetry metrics.",
    "",
    "commands:",
    "  convert   convert an ExportProfilesServiceRequest to OTLP metrics, OTLP/JSON,",
    "            Prometheus text or a table (p2m convert --help)",
    "  validate  check a configuration file: p2m validate -c FILE",
    "  match     try a filter or rule pattern: p2m match PATTERN SUBJECT...",
    "",
    "options:",
    "  -h, --help     this help",
    "  --version      print the version",
    "",
    "example: p2m convert -f table examples/demo.otlp",
    "",
    "Exit status: 0 ok, 1 malformed input, 2 bad usage or configuration.",
    "Documentation: docs/cli.md",
    NULL};

static const char *const convert_help[] = {
    "usage: p2m convert [OPTIONS] [INPUT|-]",
    "",
    "Reads one OTLP ExportProfilesServiceRequest (or a stream of them) from",
    "INPUT, or stdin when INPUT is - or absent, and writes the metrics.",
    "",
    "  -c, --config FILE        YAML configuration (p2m settings, or a Collector",
    "                           configuration with connectors.profiletometrics)",
    "  --connector NAME         the connector profiletometrics/NAME of a Collector",
    "                           configuration that has several",
    "  -f, --format FMT         otlp (default): ExportMetricsServiceRequest protobuf",
    "                           json: the same in OTLP/JSON, one request per line",
    "                           prom: Prometheus text exposition (base units:",
    "                           cpu_time_seconds_total, job/instance labels,",
    "                           target_info; a stream's deltas added up)",
    "  --promote-resource-attrs all|K1,K2",
    "                           -f prom: resource attributes (all, or these keys)",
    "                           as labels on every sample",
    "                           table: a readable table, largest values first",
    "  -o, --output FILE        write to FILE instead of stdout (- = stdout)",
    "  --input-format FMT       otlp (default): one request",
    "                           otlp-stream: requests each behind a 4-byte",
    "                           big-endian length; output framed the same way",
    "                           json: OTLP/JSON, one request per line (JSON Lines)",
    "  --layout L               auto, v1.8, v1.9 or v1.10 (overrides the config;",
    "                           with json input: the field numbers to use)",
    "  --resource-attr K=V      add string attribute K=V to every resource,",
    "                           replacing one of the same key (repeatable)",
    "  --now NANOS              time for profiles that carry none, in Unix",
    "                           nanoseconds (default: the current time)",
    "  --stats                  print a JSON line of statistics on stderr",
    "  -h, --help               this help",
    "",
    "Examples:",
    "  p2m convert -f table examples/demo.otlp",
    "  p2m convert -c p2m.yaml -o metrics.pb profiles.pb",
    "  p2m convert --input-format otlp-stream -f prom capture.stream",
    "  p2m convert --input-format json -f json --resource-attr env=prod - < in.jsonl",
    "",
    "Nothing is written unless every message converts. Exit status: 0 ok,",
    "1 malformed input or an invalid reference in strict mode, 2 bad usage,",
    "configuration, or a file that cannot be read or written.",
    "Documentation: docs/cli.md",
    NULL};

static const char *const validate_help[] = {
    "usage: p2m validate [--connector NAME] -c FILE",
    "",
    "Loads and compiles the configuration FILE; prints the effective",
    "configuration (metrics, data point attribute keys in order, filters,",
    "temporality, limits, layout, strict) and \"ok\", and exits 0, or prints",
    "what is wrong (naming the key and its line) and exits 2.",
    "",
    "  --connector NAME   the connector profiletometrics/NAME of a Collector",
    "                     configuration that has several",
    NULL};

static void print_lines(FILE *f, const char *const *lines)
{
    for (; *lines != NULL; lines++) {
        fputs(*lines, f);
        fputc('\n', f);
    }
}

static int usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int usage_error(const char *cmd, const char *fmt, ...)
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

/* Matches argv[*i] against -s / --long / --long=VALUE; takes the value. */
static int take_opt(int argc, char **argv, int *i, const char *s, const char *l,
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
    int attempt;

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

    /* size query, then the real compile (twice more at most, in case the
       size reported was not enough: the API promises it is) */
    *engine_mem = NULL;
    for (attempt = 0; attempt < 3; attempt++) {
        memset(&err, 0, sizeof err);
        st = p2m_engine_compile(&file->config, *engine_mem, size, engine, &err);
        if (st == P2M_OK)
            return 0;
        if (st != P2M_ERR_MEMORY || err.needed <= size)
            break;
        free(*engine_mem);
        size = err.needed;
        *engine_mem = malloc(size);
        if (*engine_mem == NULL) {
            fprintf(stderr, "p2m: out of memory (%lu bytes for the configuration)\n",
                    (unsigned long)size);
            return -1;
        }
    }
    /* the field path and YAML line, as the loader's own errors give them */
    p2m_cfgfile_error(file, err.field, err.message[0] ? err.message : p2m_status_string(st),
                      msg, sizeof msg);
    fprintf(stderr, "p2m: config: %s\n", msg);
    free(*engine_mem);
    *engine_mem = NULL;
    return -1;
}

/* ---- convert ------------------------------------------------------------ */

enum { OUT_OTLP, OUT_TABLE, OUT_JSON, OUT_PROM };

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
    p2m_extra_attrs extra;       /* --resource-attr */
    p2m_prom *prom;              /* -f prom: totals of every message */
    size_t json_line;            /* --input-format json: the line converting */
} conv;

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
    t->empty_samples += s->empty_samples;
    t->invalid_references += s->invalid_references;
    t->series += s->series;
    t->overflow_samples += s->overflow_samples;
    t->regex_searches += s->regex_searches;
    if (s->work_used > t->work_used) /* peak, not a sum: memory is reused */
        t->work_used = s->work_used;
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

/* Prints a failed conversion of the message at base (its offset in the
   whole input) and returns the exit code. */
static int report(const conv *c, const p2m_error *err, size_t base, size_t index)
{
    char where[96] = "";
    if (c->json_line > 0) /* offsets are in the protobuf made from that line */
        snprintf(where, sizeof where, " (of the protobuf transcoded from JSON line %lu)",
                 (unsigned long)c->json_line);
    else if (c->stream)
        snprintf(where, sizeof where, " (message %lu)", (unsigned long)index + 1);
    switch (err->status) {
    case P2M_ERR_MALFORMED:
        fprintf(stderr, "p2m: malformed input at byte %lu: %s%s\n",
                (unsigned long)(base + err->offset), err->message, where);
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
    st = p2m_work_size(c->engine, data, len, &need, &err);
    if (st != P2M_OK)
        return report(c, &err, base, index);
    if (grow_work(c, need))
        return EXIT_USAGE;

    if (c->format != OUT_OTLP) {
        const p2m_result *result = NULL;
        for (attempt = 0; attempt < 3; attempt++) {
            memset(&err, 0, sizeof err);
            st = p2m_aggregate(c->engine, data, len, &c->options, c->work, c->work_cap,
                               &result, &stats, &err);
            if (st != P2M_ERR_MEMORY || err.needed <= c->work_cap)
                break;
            if (grow_work(c, err.needed))
                return EXIT_USAGE;
        }
        if (st != P2M_OK)
            return report(c, &err, base, index);
        if (c->stream && c->format == OUT_TABLE)
            p2m_out_printf(&c->out, "%s=== message %lu (bytes %lu..%lu) ===\n",
                           index > 0 ? "\n" : "", (unsigned long)index + 1,
                           (unsigned long)base, (unsigned long)(base + len));
        frame_at = c->out.len;
        if (c->format == OUT_TABLE) {
            p2m_table_write(&c->out, result, &c->extra);
        } else if (c->format == OUT_JSON) {
            char why[160];
            if (p2m_json_write(&c->out, result, &c->extra, why, sizeof why) != 0) {
                fprintf(stderr, "p2m: cannot write JSON: %s\n", why);
                return EXIT_USAGE;
            }
            p2m_out_str(&c->out, "\n");
        } else {
            char why[160];
            if (p2m_prom_add(c->prom, result, &c->extra, why, sizeof why) != 0) {
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
            st = p2m_convert(c->engine, data, len, &c->options, c->work, c->work_cap,
                             dst + hdr, cap, &n, &stats, &err);
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
            return report(c, &err, base, index);
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
        if (c->extra.n > 0) { /* --resource-attr: rewrite the message's Resources */
            p2m_outbuf re = {NULL, 0, 0, 0};
            if (p2m_otlp_add_resource_attrs(c->out.data + frame_at + hdr, n, &c->extra, &re) != 0 ||
                (c->stream && re.len > 0xffffffffu)) {
                p2m_out_free(&re);
                fprintf(stderr, "p2m: cannot add the resource attributes (out of memory)\n");
                return EXIT_USAGE;
            }
            c->out.len = frame_at + hdr;
            p2m_out_append(&c->out, re.data, re.len);
            n = re.len;
            stats.bytes_out = n;
            if (c->stream) {
                unsigned char *h = c->out.data + frame_at;
                h[0] = (unsigned char)(n >> 24);
                h[1] = (unsigned char)(n >> 16);
                h[2] = (unsigned char)(n >> 8);
                h[3] = (unsigned char)n;
            }
            p2m_out_free(&re);
        }
    }
    if (c->out.failed) {
        fprintf(stderr, "p2m: out of memory for the output\n");
        return EXIT_USAGE;
    }
    add_stats(&c->total, &stats);
    c->messages++;
    return 0;
}

/* JSON Lines of ExportProfilesServiceRequest (--input-format json): each
   non-empty line is transcoded to protobuf of the layout and converted.
   More than one request: the output is framed as for otlp-stream. */
static int convert_json_lines(conv *c, const unsigned char *data, size_t len, p2m_layout layout)
{
    size_t at = 0, index = 0, lines = 0, line = 0, i;
    p2m_outbuf pb = {NULL, 0, 0, 0};
    int rc = 0;
    for (i = 0; i < len; i++) { /* count the requests first: framing */
        size_t e = i;
        int blank = 1;
        while (e < len && data[e] != '\n') {
            if (data[e] != ' ' && data[e] != '\t' && data[e] != '\r')
                blank = 0;
            e++;
        }
        lines += !blank;
        i = e;
    }
    c->stream = lines > 1;
    while (at < len && rc == 0) {
        size_t end = at, off = 0;
        char why[200];
        int blank = 1;
        line++;
        while (end < len && data[end] != '\n') {
            if (data[end] != ' ' && data[end] != '\t' && data[end] != '\r')
                blank = 0;
            end++;
        }
        if (!blank) {
            pb.len = 0;
            if (p2m_jsonin_transcode((const char *)data + at, end - at, layout, &pb, &off, why,
                                     sizeof why) != 0) {
                fprintf(stderr, "p2m: malformed JSON at byte %lu (line %lu): %s\n",
                        (unsigned long)(at + off), (unsigned long)line, why);
                rc = pb.failed ? EXIT_USAGE : EXIT_BAD_INPUT;
                break;
            }
            c->json_line = line;
            rc = convert_one(c, pb.data ? pb.data : (const unsigned char *)"", pb.len, 0, index);
            c->json_line = 0;
            index++;
        }
        at = end + 1;
    }
    p2m_out_free(&pb);
    return rc;
}

/* Splits a length-prefixed stream into messages. */
static int convert_stream(conv *c, const unsigned char *data, size_t len)
{
    size_t at = 0, index = 0;
    while (at < len) {
        size_t n;
        int rc;
        if (len - at < 4) {
            fprintf(stderr,
                    "p2m: malformed input at byte %lu: truncated frame header "
                    "(%lu of 4 bytes) (message %lu)\n",
                    (unsigned long)at, (unsigned long)(len - at), (unsigned long)index + 1);
            return EXIT_BAD_INPUT;
        }
        n = (size_t)data[at] << 24 | (size_t)data[at + 1] << 16 |
            (size_t)data[at + 2] << 8 | (size_t)data[at + 3];
        if (n > len - at - 4) {
            fprintf(stderr,
                    "p2m: malformed input at byte %lu: frame of %lu bytes runs past the "
                    "end of the input (%lu bytes left) (message %lu)\n",
                    (unsigned long)at, (unsigned long)n, (unsigned long)(len - at - 4),
                    (unsigned long)index + 1);
            return EXIT_BAD_INPUT;
        }
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
            "\"dropped_pattern\":%llu,\"empty_samples\":%llu,\"invalid_references\":%llu,"
            "\"series\":%llu,\"overflow_samples\":%llu,\"work_used\":%lu,"
            "\"regex_searches\":%llu",
            (unsigned long)s->bytes_in, (unsigned long)s->bytes_out,
            p2m_layout_name(s->layout), (unsigned long long)s->resources,
            (unsigned long long)s->profiles, (unsigned long long)s->profiles_unclassified,
            (unsigned long long)s->samples, (unsigned long long)s->samples_kept,
            (unsigned long long)s->dropped_process, (unsigned long long)s->dropped_thread,
            (unsigned long long)s->dropped_pattern, (unsigned long long)s->empty_samples,
            (unsigned long long)s->invalid_references, (unsigned long long)s->series,
            (unsigned long long)s->overflow_samples, (unsigned long)s->work_used,
            (unsigned long long)s->regex_searches);
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

/* extra_keys / extra_vals: room for argc entries each (--resource-attr
   KEY=VALUE: keys copied, values pointing into argv), freed by the caller */
static int convert_main(int argc, char **argv, char **extra_keys, const char **extra_vals)
{
    const char *config = NULL, *output = NULL, *input = NULL, *v, *connector = NULL;
    const char *promote = NULL;
    int stats = 0, layout_override = 0, have_now = 0, i, rc, missing = 0, opts_done = 0;
    int json_in = 0;
    p2m_layout layout = P2M_LAYOUT_AUTO;
    uint64_t now = 0;
    p2m_cfgfile file;
    void *engine_mem = NULL, *state_mem = NULL;
    unsigned char *data = NULL;
    size_t len = 0, state_size;
    conv c;

    memset(&c, 0, sizeof c);
    c.format = OUT_OTLP;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        v = NULL;
        if (opts_done || a[0] != '-' || strcmp(a, "-") == 0) {
            if (input != NULL)
                return usage_error("convert", "more than one input given (%s)", a);
            input = a;
        } else if (strcmp(a, "--") == 0) {
            opts_done = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_lines(stdout, convert_help);
            return 0;
        } else if (strcmp(a, "--stats") == 0) {
            stats = 1;
        } else if (take_opt(argc, argv, &i, "-c", "--config", &v, &missing)) {
            config = v;
        } else if (take_opt(argc, argv, &i, "-o", "--output", &v, &missing)) {
            output = v;
        } else if (take_opt(argc, argv, &i, NULL, "--connector", &v, &missing)) {
            connector = v;
        } else if (take_opt(argc, argv, &i, NULL, "--promote-resource-attrs", &v, &missing)) {
            promote = v;
        } else if (take_opt(argc, argv, &i, "-f", "--format", &v, &missing)) {
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
                return usage_error("convert",
                                   "unknown output format '%s' (otlp, json, prom or table)", v);
        } else if (take_opt(argc, argv, &i, NULL, "--input-format", &v, &missing)) {
            if (missing)
                break;
            json_in = 0;
            if (strcmp(v, "otlp") == 0)
                c.stream = 0;
            else if (strcmp(v, "otlp-stream") == 0)
                c.stream = 1;
            else if (strcmp(v, "json") == 0)
                json_in = 1;
            else
                return usage_error("convert",
                                   "unknown input format '%s' (otlp, otlp-stream or json)", v);
        } else if (take_opt(argc, argv, &i, NULL, "--resource-attr", &v, &missing)) {
            const char *eq;
            if (missing)
                break;
            eq = strchr(v, '=');
            if (eq == NULL || eq == v)
                return usage_error("convert", "--resource-attr takes KEY=VALUE, not '%s'", v);
            extra_keys[c.extra.n] = (char *)malloc((size_t)(eq - v) + 1);
            if (extra_keys[c.extra.n] == NULL) {
                fputs("p2m: out of memory\n", stderr);
                return EXIT_USAGE;
            }
            memcpy(extra_keys[c.extra.n], v, (size_t)(eq - v));
            extra_keys[c.extra.n][eq - v] = '\0';
            extra_vals[c.extra.n] = eq + 1;
            c.extra.n++;
            c.extra.keys = (const char *const *)extra_keys;
            c.extra.values = extra_vals;
        } else if (take_opt(argc, argv, &i, NULL, "--layout", &v, &missing)) {
            if (missing)
                break;
            if (parse_layout(v, &layout) != 0)
                return usage_error("convert",
                                   "unknown layout '%s' (auto, v1.8, v1.9 or v1.10)", v);
            layout_override = 1;
        } else if (take_opt(argc, argv, &i, NULL, "--now", &v, &missing)) {
            if (missing)
                break;
            if (parse_u64(v, &now) != 0)
                return usage_error("convert",
                                   "--now takes Unix time in nanoseconds, not '%s'", v);
            have_now = 1;
        } else {
            return usage_error("convert", "unknown option '%s'", a);
        }
    }
    if (missing)
        return usage_error("convert", "option '%s' needs a value", argv[argc - 1]);
    if (input == NULL)
        input = "-";
    if (promote != NULL && c.format != OUT_PROM)
        return usage_error("convert", "%s", "--promote-resource-attrs applies to -f prom only");
    if (c.format == OUT_OTLP && (output == NULL || strcmp(output, "-") == 0) &&
        isatty(STDOUT_FILENO)) {
        fputs("p2m: not writing binary protobuf to a terminal; use -o FILE, a pipe, "
              "or -f table / json / prom\n", stderr);
        return EXIT_USAGE;
    }

    if (load_engine(config, connector, layout_override, layout, &file, &engine_mem,
                    &c.engine) != 0) {
        p2m_cfgfile_free(&file);
        return EXIT_USAGE;
    }
    c.options.now_unix_nano = have_now ? now : now_unix_nano();
    /* cumulative temporality: one state for the whole run, so a stream's
       messages are running totals (SPEC section 7) */
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

    if (read_all(input, &data, &len) != 0) {
        rc = EXIT_USAGE;
        goto done;
    }
    c.out_guess = len / 2 + 4096;
    if (c.format == OUT_PROM && (c.prom = p2m_prom_new()) == NULL) {
        fprintf(stderr, "p2m: out of memory\n");
        rc = EXIT_USAGE;
        goto done;
    }
    if (promote != NULL && p2m_prom_promote(c.prom, promote) != 0) {
        usage_error("convert", "--promote-resource-attrs takes 'all' or a comma-separated "
                    "list of resource attribute keys, not '%s'", promote);
        rc = EXIT_USAGE;
        goto done;
    }
    if (json_in) {
        rc = convert_json_lines(&c, data, len, layout_override ? layout : P2M_LAYOUT_AUTO);
    } else if (c.stream) {
        rc = convert_stream(&c, data, len);
    } else {
        rc = convert_one(&c, data, len, 0, 0);
    }
    if (rc == 0 && c.prom != NULL) {
        p2m_prom_write(c.prom, &c.out);
        c.total.bytes_out = c.out.len; /* the text is written once, at the end */
        if (c.out.failed) {
            fprintf(stderr, "p2m: out of memory for the output\n");
            rc = EXIT_USAGE;
        }
    }
    if (rc == 0 && write_all(output, &c.out) != 0)
        rc = EXIT_USAGE;
    if (rc == 0 && c.prom != NULL)
        p2m_prom_note(c.prom, stderr);
    if (rc == 0 && stats)
        print_stats(&c);
done:
    free(data);
    free(c.work);
    p2m_out_free(&c.out);
    p2m_prom_free(c.prom);
    free(state_mem);
    free(engine_mem);
    p2m_cfgfile_free(&file);
    return rc;
}

static int cmd_convert(int argc, char **argv)
{
    char **keys = (char **)calloc((size_t)argc + 1, sizeof *keys);
    const char **vals = (const char **)calloc((size_t)argc + 1, sizeof *vals);
    int rc = EXIT_USAGE, i;
    if (keys == NULL || vals == NULL)
        fputs("p2m: out of memory\n", stderr);
    else
        rc = convert_main(argc, argv, keys, vals);
    for (i = 0; keys != NULL && i < argc; i++)
        free(keys[i]);
    free(keys);
    free((void *)vals);
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
        } else if (take_opt(argc, argv, &i, "-c", "--config", &v, &missing)) {
            if (missing)
                return usage_error("validate", "option '%s' needs a value", a);
            config = v;
        } else if (take_opt(argc, argv, &i, NULL, "--connector", &v, &missing)) {
            if (missing)
                return usage_error("validate", "option '%s' needs a value", a);
            connector = v;
        } else if (a[0] != '-' && config == NULL) {
            config = a;
        } else {
            return usage_error("validate", "unexpected argument '%s'", a);
        }
    }
    if (config == NULL)
        return usage_error("validate", "%s", "no configuration file given (-c FILE)");
    if (load_engine(config, connector, 0, P2M_LAYOUT_AUTO, &file, &engine_mem, &engine) != 0) {
        p2m_cfgfile_free(&file);
        return EXIT_USAGE;
    }
    p2m_cfgfile_print(&file, config, stdout);
    puts("ok");
    free(engine_mem);
    p2m_cfgfile_free(&file);
    return 0;
}

/* ---- match: tools/p2m_match.c ------------------------------------------- */

int p2m_cmd_match(int argc, char **argv);

/* ---- dispatch ----------------------------------------------------------- */

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv); /* NULL: reserved, not built yet */
} command;
/* A new command: a cmd_NAME(argc, argv) with argv[0] = NAME, and a row here. */

static const command commands[] = {
    {"convert", cmd_convert},
    {"validate", cmd_validate},
    {"match", p2m_cmd_match},
};

int main(int argc, char **argv)
{
    size_t i;
    if (argc < 2) {
        print_lines(stderr, main_help);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_lines(stdout, main_help);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("p2m %s\n", p2m_version());
        return 0;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        if (commands[i].run == NULL) {
            fprintf(stderr, "p2m: '%s' is not available in this version\n", argv[1]);
            return EXIT_USAGE;
        }
        return commands[i].run(argc - 1, argv + 1);
    }
    return usage_error(NULL, "unknown command '%s'", argv[1]);
}
