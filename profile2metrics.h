/* profile2metrics.h - v0.1.0 - OpenTelemetry profiles to OpenTelemetry metrics
   SPDX-License-Identifier: MIT
   Copyright (c) 2026 the profile2metrics authors. Licence text at the end.

   Turns an OTLP ExportProfilesServiceRequest (protobuf bytes) into an OTLP
   ExportMetricsServiceRequest: CPU time and memory allocation as monotonic
   sums, one data point per attribute set. No heap, no globals, no libc needed
   by the core, C99 or C++.

   DO THIS
     In exactly one C or C++ file:
         #define P2M_IMPLEMENTATION
         #include "profile2metrics.h"
     Everywhere else include it without the define.

   OPTIONS (define before the include that has P2M_IMPLEMENTATION)
     P2M_STATIC        all API functions static (implementation only)
     P2M_API           linkage of API functions, default extern (affects ABI)
     P2M_MEMCPY/P2M_MEMSET   replace libc (implementation only)
     P2M_ASSERT(x)     replace the internal assertion (default: none)
     P2M_NO_ERRMSG     no message strings, smaller code (implementation only)
     P2M_NO_REGEX      no regex engine: patterns are rejected (implementation only)
     P2M_NO_CUMULATIVE no cumulative temporality: it is rejected and the state
                       functions answer P2M_ERR_UNSUPPORTED (implementation only)
     P2M_NO_FUNCTION   no function metric, no regex rules on function names, no
                       frame rules, stack filter or stack patterns: they are
                       rejected (implementation only)
     P2M_NO_COMPILE    no configuration compiler and no regex parser: engines
                       come from images made on a host (p2m_engine_load); the
                       regex matcher stays (implementation only)
     P2M_NO_FLOAT      no floating-point arithmetic, so no soft-float routines on a
                       device without an FPU: units must be ns or By (no
                       us/ms/s/KiBy/MiBy, whose points are doubles) and type
                       rule scales whole numbers, else P2M_ERR_UNSUPPORTED
                       (implementation only)
     P2M_STREAM_BUFFER bytes of the streaming encoder's buffer, on the stack of
                       p2m_encode_otlp_stream (256; 16 to 4096)
     P2M_USE_PCRE2     patterns run on PCRE2 instead (link -lpcre2-8; impl. only)
     P2M_SMALL         do not force inlining (implied by -Os; implementation only)
     P2M_NO_JSON, P2M_NO_PROM   no OTLP/JSON or Prometheus text writer (they are
                       the only parts that use the C library: snprintf/strtod)
     P2M_FORMAT_DOUBLE(buf, cap, d)   shortest text of a double for the writers,
                       instead of snprintf/strtod (freestanding builds)
     P2M_MAX_EXTRA     declared metrics an engine holds (8; 0 to 64): 0 compiles
                       them out (smaller firmware); affects the engine's size
     P2M_MAX_RULES, P2M_MAX_KEYS, P2M_MAX_PATTERNS   configuration limits
                       (64, 64, 128); smaller values shrink the stack of
                       p2m_engine_compile (implementation only)
     P2M_REGEX_MAX_REPEAT, P2M_REGEX_MAX_INSTS, P2M_REGEX_MAX_DEPTH
                       pattern limits (1000, 20000, 64; affects the API's
                       behaviour, not its ABI)
     P2M_TEST_STACK_HASH_MASK   for tests only: narrows the hash of a stack's
                       properties (the sample memo's key), so that stacks with
                       other properties collide and the exact comparison that
                       tells them apart is exercised

   EXAMPLE (static buffers, no malloc)
     static unsigned char engine_mem[8192], work[1 << 20], out[1 << 16];
     p2m_config cfg;  const p2m_engine *eng;  p2m_error err;  size_t n;
     p2m_config_init(&cfg);
     if (p2m_engine_compile(&cfg, engine_mem, sizeof engine_mem, &eng, &err))
         return fail(err.field, err.message);
     if (p2m_convert(eng, in, in_len, NULL, work, sizeof work,
                     out, sizeof out, &n, NULL, &err))
         return fail_at(err.offset, err.message);   // err.needed on *_TOO_SMALL
     send(out, n);                                  // OTLP metrics protobuf

   DOCUMENTATION
     docs/api.md (this API in full), docs/architecture.md (how one request
     flows), docs/configuration.md (every setting), README.md.

   MEMORY AND THREADS
     Three caller-owned blocks: the engine (compiled configuration, read-only
     after p2m_engine_compile, shareable between threads), the working memory
     of one call, and the output buffer. A call never allocates. A block that
     is too small gives P2M_ERR_MEMORY / P2M_ERR_OUTPUT_TOO_SMALL with
     err.needed = the bytes that make the same call succeed.
*/
#ifndef PROFILE2METRICS_H
#define PROFILE2METRICS_H

#include <stddef.h>
#include <stdint.h>
#ifndef __cplusplus
#include <stdbool.h>
#endif

/* ---- options ------------------------------------------------------------ */

#define P2M_VERSION_MAJOR 0
#define P2M_VERSION_MINOR 1
#define P2M_VERSION_PATCH 0
#define P2M_VERSION_STRING "0.1.0"

#ifndef P2M_API
#ifdef P2M_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define P2M_API static __attribute__((unused))
#else
#define P2M_API static
#endif
#else
#define P2M_API extern
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- public types ------------------------------------------------------- */

/* A string view: pointer and length, not NUL-terminated. */
typedef struct p2m_str {
    const char *ptr;
    size_t len;
} p2m_str;

typedef enum p2m_status {
    P2M_OK = 0,
    P2M_ERR_MALFORMED = 1,         /* input is not a valid request; err.offset */
    P2M_ERR_INVALID_REFERENCE = 2, /* strict mode: index outside its table */
    P2M_ERR_CONFIG = 3,            /* configuration rejected; err.field, err.message */
    P2M_ERR_MEMORY = 4,            /* engine or working memory too small; err.needed */
    P2M_ERR_OUTPUT_TOO_SMALL = 5,  /* output buffer too small; err.needed */
    P2M_ERR_ARGUMENT = 6,          /* NULL where a pointer is required, etc. */
    P2M_ERR_UNSUPPORTED = 7,       /* feature compiled out (e.g. P2M_NO_REGEX) */
    P2M_ERR_WRITE = 8,             /* a streaming write callback refused bytes */
    P2M_ERR_IMAGE = 9              /* an engine image is corrupt or foreign; err.offset */
} p2m_status;

/* Filled by every call that can fail. All-or-nothing: when a call fails, no
   output was written and no state was changed. */
typedef struct p2m_error {
    p2m_status status;
    size_t offset;      /* byte offset into the input (MALFORMED, INVALID_REFERENCE) */
    size_t needed;      /* bytes needed (MEMORY, OUTPUT_TOO_SMALL) */
    char field[64];     /* configuration field path, e.g. "attributes[2].from" */
    char message[128];  /* what was wrong, one line, no trailing newline */
} p2m_error;

typedef enum p2m_layout {
    P2M_LAYOUT_AUTO = 0,  /* decide per request from evidence (docs/spec.md section 1) */
    P2M_LAYOUT_PPROF = 1, /* in stats: the input was pprof (p2m_pprof_*); never in a config */
    P2M_LAYOUT_V1_8 = 8,  /* opentelemetry-proto 1.8.0 */
    P2M_LAYOUT_V1_9 = 9,  /* opentelemetry-proto 1.9.0 */
    P2M_LAYOUT_V1_10 = 10 /* opentelemetry-proto 1.10.0 and 1.11.0 */
} p2m_layout;

typedef enum p2m_temporality { /* values are OTLP's AggregationTemporality */
    P2M_TEMPORALITY_DELTA = 1,
    P2M_TEMPORALITY_CUMULATIVE = 2
} p2m_temporality;

typedef enum p2m_metric_kind {
    P2M_METRIC_NONE = 0,   /* in a type rule: feeds nothing */
    P2M_METRIC_CPU = 1,
    P2M_METRIC_MEMORY = 2,
    P2M_METRIC_FUNCTION = 3,
    P2M_METRIC_EXTRA = 4   /* a declared metric (p2m_config.extra) */
} p2m_metric_kind;

#ifndef P2M_STREAM_BUFFER
#define P2M_STREAM_BUFFER 256 /* the streaming encoder's buffer (16 to 4096) */
#endif

#ifndef P2M_MAX_EXTRA
#define P2M_MAX_EXTRA 8    /* declared metrics an engine can hold (0 to 64) */
#endif


typedef enum p2m_rule_type {
    P2M_RULE_LITERAL = 0,     /* value */
    P2M_RULE_ATTRIBUTE = 1,   /* from */
    P2M_RULE_REGEX = 2,       /* value = pattern, source */
    P2M_RULE_STRING_TABLE = 3, /* index */
    P2M_RULE_FRAME = 4         /* from: "type", "kind", "library", "function" or
                                  "syscall", a property of the sample's stack */
} p2m_rule_type;

typedef enum p2m_function_mode {
    P2M_FUNCTION_SELF = 0,
    P2M_FUNCTION_INCLUSIVE = 1
} p2m_function_mode;

/* One data point attribute rule (docs/spec.md section 5). Strings are NUL-terminated
   and copied into the engine; the config may be freed after compiling. */
typedef struct p2m_rule {
    const char *key;           /* attribute key on the data points */
    p2m_rule_type type;
    const char *value;         /* LITERAL: the value; REGEX: the pattern */
    const char *from;          /* ATTRIBUTE: effective attribute key; FRAME: which
                                  property of the stack (docs/spec.md section 5) */
    const char *source;        /* REGEX: attribute key, "function" or
                                  "string_table" (NULL = "string_table") */
    uint32_t index;            /* STRING_TABLE: index into the string table */
    const char *default_value; /* used when the rule yields nothing; NULL = none */
} p2m_rule;

/* A filter (docs/spec.md section 4): pattern and every entry of patterns are
   alternatives. keys (pattern filter only) restricts the subjects. The
   stack filter's subjects are the function names on the sample's stack. */
typedef struct p2m_filter {
    int enabled;
    const char *pattern;
    const char *const *patterns;
    size_t n_patterns;
    const char *const *keys;
    size_t n_keys;
} p2m_filter;

typedef struct p2m_metric_config {
    int enabled;
    const char *name;         /* metric name, non-empty */
    const char *unit;         /* cpu: ns, us, ms, s (or nanoseconds ... seconds);
                                 memory: By, KiBy, MiBy (or bytes, kibibytes,
                                 mebibytes). Emitted in UCUM form; values are
                                 converted, and are doubles unless ns or By. */
    const char *description;  /* NULL = the default description */
} p2m_metric_config;

/* A declared metric of its own (docs/spec.md section 3): fed by the profiles
   whose sample type is one of sample_types, each written "type/unit" (for
   example "off_cpu/nanoseconds"). Snapshot types (type starting "inuse_")
   make a Gauge, all others a monotonic Sum; a metric cannot mix the two.
   unit: a time unit (as cpu; then time and cpu-period count types convert to
   it), a size unit (as memory; then "bytes" types convert), or any other
   UCUM unit ("1", "{contentions}"), summed as the values come. NULL: ns for
   time types, By for bytes, else "1". */
typedef struct p2m_extra_metric {
    const char *name;                 /* non-empty, unique among all metrics */
    const char *unit;
    const char *description;          /* NULL = a generated one */
    const char *const *sample_types;  /* at least one */
    size_t n_sample_types;
    const char *stack_pattern;        /* NULL = every sample; else only samples
                                         whose stack has a function name that
                                         matches it feed this metric */
} p2m_extra_metric;

/* Maps a profile's sample type (type, unit) to a metric, with a scale factor
   applied to each sample's value. Checked before the built-in table. */
typedef struct p2m_type_rule {
    const char *type;
    const char *unit;
    p2m_metric_kind metric;   /* CPU, MEMORY or NONE */
    double scale;             /* cpu: to nanoseconds; memory: to bytes */
} p2m_type_rule;

/* Structs that grow (p2m_config, p2m_options, p2m_prom_options) begin with
   struct_size: the caller's sizeof of the struct, or 0 for the first layout
   (this version's). Fields are only ever added at the end, so a library
   newer than the caller's header reads only the fields the caller has; one
   older than the header refuses a struct that sets a field it does not know
   (P2M_ERR_UNSUPPORTED) rather than ignore it. The caller's layout of every
   other struct it shares with the library follows from these: the element
   structs of p2m_config from cfg->struct_size; p2m_stats, p2m_metric_info
   and p2m_point from the options' struct_size of the call (NULL options:
   the first layout). docs/api.md "Structs that grow". */

typedef struct p2m_config {
    size_t struct_size;          /* p2m_config_init sets it */
    p2m_metric_config cpu;       /* default on, cpu_time, ns */
    p2m_metric_config memory;    /* default on, memory_allocation, By */
    p2m_metric_config function;  /* default off, function_cpu_time, ns */
    p2m_function_mode function_mode;
    const char *function_attribute_key;    /* default "function.name" */
    const p2m_rule *attributes;  /* NULL: the default rules (process.executable.name,
                                    thread.name); non-NULL with n 0: no attributes */
    size_t n_attributes;
    p2m_filter process_filter;
    p2m_filter thread_filter;
    p2m_filter pattern_filter;
    const char *process_key;     /* default "process.executable.name" */
    const char *thread_key;      /* default "thread.name" */
    const p2m_type_rule *type_rules;
    size_t n_type_rules;
    p2m_temporality temporality; /* default delta */
    uint32_t max_series;         /* per metric per resource, default 2000 */
    p2m_layout layout;           /* default auto */
    int strict;                  /* invalid references are errors, not skips */
    uint32_t state_max_series;   /* cumulative: series the state holds, all
                                    resources and metrics together (default 8192) */
    size_t state_bytes;          /* cumulative: bytes for the state's copies of
                                    resources and attributes (default 1 MiB) */
    const p2m_extra_metric *extra; /* declared metrics, emitted after function */
    size_t n_extra;              /* at most P2M_MAX_EXTRA */
    p2m_filter stack_filter;     /* keep samples whose stack has a function
                                    name that matches (no keys) */
} p2m_config;

/* The compiled configuration: lives in memory given to p2m_engine_compile,
   read-only afterwards, shareable between threads. */
typedef struct p2m_engine p2m_engine;

/* Symboliser for unsymbolised frames (function metric): returns the name of
   the function at address (len 0 when unknown). The returned characters must
   stay valid while the result of the call is used (a name table in flash, a
   symbol table the agent keeps). mapping_file / build_id may be empty;
   build_id is the mapping's first attribute whose key starts with
   "process.executable.build_id". Called at most once per location. */
typedef p2m_str (*p2m_symbolize_fn)(void *user_data, uint64_t address,
                                    p2m_str mapping_file, p2m_str build_id);

/* The state of cumulative temporality: caller-owned memory kept across
   calls (p2m_state_size / p2m_state_init). Each series keeps its first start
   time and running total; every call emits every series held. */
typedef struct p2m_state p2m_state;

/* An attribute value as the result view and the options give it. */
typedef enum p2m_value_type {
    P2M_VALUE_NONE = 0,
    P2M_VALUE_STRING = 1,
    P2M_VALUE_BOOL = 2,
    P2M_VALUE_INT = 3,
    P2M_VALUE_DOUBLE = 4,
    P2M_VALUE_BYTES = 5,
    P2M_VALUE_ARRAY = 6,    /* str holds the ArrayValue message bytes */
    P2M_VALUE_KVLIST = 7    /* str holds the KeyValueList message bytes */
} p2m_value_type;

typedef struct p2m_value {
    p2m_value_type type;
    p2m_str str;     /* STRING, BYTES, ARRAY, KVLIST */
    int64_t i;       /* INT, BOOL (0 or 1) */
    double d;        /* DOUBLE */
} p2m_value;

typedef struct p2m_attribute {
    p2m_str key;
    p2m_value value;
} p2m_attribute;

/* A sample type (type, unit) that fed no metric: how many profiles and
   samples had it. The strings point into the input. */
typedef struct p2m_type_count {
    p2m_str type, unit;
    uint64_t profiles, samples;
} p2m_type_count;

/* Per-call options; NULL means all zero. Zero the whole struct before
   setting fields (p2m_options opt = {0};): fields may be added. */
typedef struct p2m_options {
    size_t struct_size;           /* sizeof(p2m_options), or 0 for the first layout */
    uint64_t now_unix_nano;       /* time for profiles that carry none */
    p2m_state *state;             /* required when the engine is cumulative */
    p2m_symbolize_fn symbolize;   /* optional */
    void *user_data;
    p2m_type_count *unfed;        /* optional: receives, in first-seen order, the
                                     sample types of profiles that fed no metric
                                     (stats.n_unfed entries, at most unfed_cap) */
    size_t unfed_cap;
    /* optional: attributes added to every resource of the result (all
       outputs and the cumulative state see them), replacing an input
       attribute of the same key; of a key given twice the last wins.
       Values STRING, BOOL, INT, DOUBLE or BYTES. The array and its strings
       must stay valid while the result is read. */
    const p2m_attribute *resource_attributes;
    size_t n_resource_attributes;
} p2m_options;

/* Statistics of one call (docs/spec.md section 8). */
typedef struct p2m_stats {
    size_t bytes_in;
    size_t bytes_out;
    p2m_layout layout;           /* the layout used (never AUTO after a call) */
    uint64_t resources;
    uint64_t profiles;
    uint64_t profiles_unclassified;
    uint64_t samples;
    uint64_t samples_kept;
    uint64_t dropped_process;
    uint64_t dropped_thread;
    uint64_t dropped_pattern;
    uint64_t empty_samples;
    uint64_t invalid_references;
    uint64_t series;
    uint64_t overflow_samples;
    size_t work_used;            /* bytes of working memory used */
    uint64_t regex_searches;     /* pattern searches run (each distinct subject once) */
    /* profiles that fed no metric (unclassified, or their metric disabled):
       all of them, and their samples; the distinct sample types written to
       options->unfed (n_unfed of them; none without that array) */
    uint64_t profiles_unfed;
    uint64_t samples_unfed;
    size_t n_unfed;
    /* the layout the evidence points to (AUTO: no evidence); with a forced
       layout, layout_conflict is 1 when the evidence contradicts it (strict
       mode: a P2M_ERR_MALFORMED error instead) */
    p2m_layout layout_evidence;
    int layout_conflict;
    uint64_t dropped_stack;      /* samples the stack filter dropped */
} p2m_stats;

/* ---- result view (read the metrics without decoding the protobuf) ------- */

typedef struct p2m_metric_info {
    p2m_metric_kind kind;
    p2m_str name;
    p2m_str unit;
    p2m_str description;
    p2m_temporality temporality;
    int is_double;        /* points carry as_double, else as_int */
    size_t n_points;
    int is_gauge;         /* a Gauge (snapshot types), else a monotonic Sum */
    uint32_t extra;       /* kind P2M_METRIC_EXTRA: index in p2m_config.extra */
} p2m_metric_info;

typedef struct p2m_point {
    uint64_t start_time_unix_nano;
    uint64_t time_unix_nano;
    int64_t as_int;       /* when !is_double */
    double as_double;     /* when is_double */
    int is_double;
    int is_overflow;      /* the otel.metric.overflow point */
    size_t n_attributes;
} p2m_point;

/* The aggregated metrics of one call, inside its working memory. Valid until
   the working memory or the input is reused or freed. */
typedef struct p2m_result p2m_result;

/* ---- public functions --------------------------------------------------- */

P2M_API const char *p2m_version(void);            /* P2M_VERSION_STRING */
P2M_API const char *p2m_status_string(p2m_status s);
P2M_API const char *p2m_layout_name(p2m_layout l); /* "auto", "v1.8", ... */

/* Fills cfg with the defaults of docs/spec.md section 9, struct_size
   included. p2m_config_init_size does so for a caller whose p2m_config is
   size bytes (its sizeof): it writes no byte past them, so code built with
   another version's header can call it (bindings do); p2m_config_init is
   the same for this header's p2m_config. */
P2M_API void p2m_config_init(p2m_config *cfg);
P2M_API void p2m_config_init_size(p2m_config *cfg, size_t size);

/* Validates and compiles cfg into mem. mem may be NULL with mem_size 0 to ask
   for the size: the call then fails with P2M_ERR_MEMORY and err->needed. */
P2M_API p2m_status p2m_engine_compile(const p2m_config *cfg, void *mem, size_t mem_size,
                                      const p2m_engine **engine, p2m_error *err);

/* The metrics a compiled engine can emit, in output order (cpu, memory,
   function, declared; enabled ones only): name, unit as emitted (UCUM),
   description, kind, extra index, is_gauge, is_double and temporality
   (n_points 0). Writes up to cap; returns how many there are. */
P2M_API size_t p2m_engine_metrics(const p2m_engine *engine, p2m_metric_info *out, size_t cap);

/* Bytes of state memory a cumulative engine needs (0 for a delta engine). */
P2M_API size_t p2m_state_size(const p2m_engine *engine);

/* Prepares mem (at least p2m_state_size bytes, 8-byte aligned is best) as an
   empty state for engine. To start over, call it again. */
P2M_API p2m_status p2m_state_init(const p2m_engine *engine, void *mem, size_t mem_size,
                                  p2m_state **state, p2m_error *err);

/* Moves a state to another engine, compiled from a changed configuration,
   keeping every series it holds with its start time and total. Both engines
   must emit the same metrics (names, units, Sum or Gauge) and size the
   state alike (state_max_series, state_bytes); else P2M_ERR_CONFIG and the
   state stays with its engine. Series of the old attribute rules stay as
   they are; attribute sets the new rules make are new series. */
P2M_API p2m_status p2m_state_rebind(const p2m_engine *engine, p2m_state *state, p2m_error *err);

/* Working memory needed to convert this input (an upper bound; the same call
   with at least this much succeeds unless the input is malformed). */
P2M_API p2m_status p2m_work_size(const p2m_engine *engine, const void *input,
                                 size_t input_size, size_t *needed, p2m_error *err);

/* Parses and aggregates; *result points into work. With a cumulative engine
   the call also updates options->state (the result then shows the state). */
P2M_API p2m_status p2m_aggregate(const p2m_engine *engine, const void *input,
                                 size_t input_size, const p2m_options *options,
                                 void *work, size_t work_size,
                                 const p2m_result **result, p2m_stats *stats,
                                 p2m_error *err);

/* Encodes a result as an OTLP ExportMetricsServiceRequest. output may be NULL
   with cap 0 to ask for the size (P2M_ERR_OUTPUT_TOO_SMALL, err->needed). */
P2M_API p2m_status p2m_encode_otlp(const p2m_result *result, void *output, size_t cap,
                                   size_t *output_size, p2m_error *err);

/* p2m_aggregate then p2m_encode_otlp. stats may be NULL. With a cumulative
   engine the state changes only when the whole call succeeds. */
P2M_API p2m_status p2m_convert(const p2m_engine *engine, const void *input,
                               size_t input_size, const p2m_options *options,
                               void *work, size_t work_size,
                               void *output, size_t cap, size_t *output_size,
                               p2m_stats *stats, p2m_error *err);

/* ---- streaming output and engine images (firmware) ----------------------- */

/* The write callback of the streaming encoder: n bytes (1 to
   P2M_STREAM_BUFFER) at buf, valid during the call only. Return false to
   stop: the call then fails with P2M_ERR_WRITE. */
typedef bool (*p2m_write_fn)(void *ctx, const uint8_t *buf, size_t n);

/* p2m_encode_otlp through a callback: the same bytes, in order, handed to
   write in pieces of at most P2M_STREAM_BUFFER bytes (default 256, a buffer
   on the call's stack), so that no output block is needed. *output_size
   (may be NULL) is the number of bytes written. If the callback refuses,
   what it took before stays taken: the one exception to "no output on
   failure". */
P2M_API p2m_status p2m_encode_otlp_stream(const p2m_result *result, p2m_write_fn write, void *ctx,
                                          size_t *output_size, p2m_error *err);

/* p2m_convert with p2m_encode_otlp_stream for its output. A cumulative
   state changes only when the callback took every byte. */
P2M_API p2m_status p2m_convert_stream(const p2m_engine *engine, const void *input,
                                      size_t input_size, const p2m_options *options,
                                      void *work, size_t work_size, p2m_write_fn write,
                                      void *ctx, size_t *output_size, p2m_stats *stats,
                                      p2m_error *err);

/* A compiled engine as a portable image (docs/embedded.md): versioned,
   checksummed, the same bytes on every host, with patterns compiled to the
   regex matcher's programs. Made on a host (p2m compile, or this call: out
   NULL with cap 0 asks the size, P2M_ERR_OUTPUT_TOO_SMALL, err->needed) and
   loaded on the device without the configuration compiler or the regex
   parser (P2M_NO_COMPILE). An engine with PCRE2 patterns has no image. */
P2M_API p2m_status p2m_engine_save(const p2m_engine *engine, void *out, size_t cap,
                                   size_t *out_size, p2m_error *err);

/* Builds the engine of an image into mem (mem NULL or too small:
   P2M_ERR_MEMORY and err->needed). Every byte is checked: a corrupt,
   truncated or foreign image fails with P2M_ERR_IMAGE (err->offset: where),
   an image that needs what this build compiled out with
   P2M_ERR_UNSUPPORTED. The engine copies what it keeps: the image may go
   once the call returns. */
P2M_API p2m_status p2m_engine_load(const void *image, size_t image_size, void *mem,
                                   size_t mem_size, const p2m_engine **engine, p2m_error *err);

/* pprof input (docs/spec.md section 11): one uncompressed pprof Profile
   message (gzip is the caller's to inflate), converted to the same metrics
   as the OTLP request it stands for: one resource (its attributes only from
   options->resource_attributes) with one profile per sample type. The same
   arguments, memory contract and guarantees as the three calls above; any
   engine (its layout is not used); stats.layout is P2M_LAYOUT_PPROF. The
   working memory holds the rewritten request, which the result (and the
   strings of options->unfed) point into. */
P2M_API p2m_status p2m_pprof_work_size(const p2m_engine *engine, const void *input,
                                       size_t input_size, size_t *needed, p2m_error *err);
P2M_API p2m_status p2m_pprof_aggregate(const p2m_engine *engine, const void *input,
                                       size_t input_size, const p2m_options *options,
                                       void *work, size_t work_size,
                                       const p2m_result **result, p2m_stats *stats,
                                       p2m_error *err);
P2M_API p2m_status p2m_pprof_convert(const p2m_engine *engine, const void *input,
                                     size_t input_size, const p2m_options *options,
                                     void *work, size_t work_size,
                                     void *output, size_t cap, size_t *output_size,
                                     p2m_stats *stats, p2m_error *err);

/* Reading a result. Indices run from 0; out-of-range indices give empty values. */
P2M_API size_t p2m_result_resource_count(const p2m_result *r);
P2M_API p2m_str p2m_result_schema_url(const p2m_result *r, size_t res);
/* Writes up to cap attributes of resource res; returns how many it has. */
P2M_API size_t p2m_result_resource_attributes(const p2m_result *r, size_t res,
                                              p2m_attribute *out, size_t cap);
/* Resource res's dropped_attributes_count, and its entity_refs (each the
   bytes of one EntityRef message, as they came); returns how many there are. */
P2M_API uint64_t p2m_result_resource_dropped(const p2m_result *r, size_t res);
P2M_API size_t p2m_result_resource_entity_refs(const p2m_result *r, size_t res,
                                               p2m_str *out, size_t cap);
/* For an ARRAY or KVLIST value from this result: the value's message bytes
   (ArrayValue or KeyValueList) as the encoder emits them, every string index
   inside resolved (an index outside the string table gives ""). Writes them
   to out when cap is enough; returns the size. The values of a successful
   call are well formed and within the nesting limit of 32 (deeper input is
   rejected as malformed by the call), so this cannot fail. */
P2M_API size_t p2m_result_nested_value(const p2m_result *r, const p2m_value *v,
                                       void *out, size_t cap);
P2M_API size_t p2m_result_metric_count(const p2m_result *r, size_t res);
P2M_API void p2m_result_metric(const p2m_result *r, size_t res, size_t metric,
                               p2m_metric_info *out);
P2M_API void p2m_result_point(const p2m_result *r, size_t res, size_t metric,
                              size_t point, p2m_point *out);
/* Writes up to cap attributes of the point; returns how many it has. */
P2M_API size_t p2m_result_point_attributes(const p2m_result *r, size_t res, size_t metric,
                                           size_t point, p2m_attribute *out, size_t cap);

/* ---- regular expressions ----------------------------------------------- */

/* The pattern language of the filters and regex rules (docs/spec.md section 4,
   docs/regex.md): RE2 syntax over bytes, unanchored leftmost-first search,
   time linear in subject length x pattern size (a Pike VM, no backtracking).
   A compiled pattern is read-only and may be shared between threads. With the
   built-in engine it holds no pointers, so its memory block may be copied or
   moved as a whole (not with the PCRE2 backend). */
typedef struct p2m_regex p2m_regex;

#ifndef P2M_REGEX_MAX_REPEAT
#define P2M_REGEX_MAX_REPEAT 1000   /* largest count in {m,n}, as RE2 */
#endif
#ifndef P2M_REGEX_MAX_INSTS
#define P2M_REGEX_MAX_INSTS 20000   /* program size limit (instructions) */
#endif
#ifndef P2M_REGEX_MAX_DEPTH
#define P2M_REGEX_MAX_DEPTH 64      /* group nesting limit */
#endif

/* Compiles pattern (len bytes, need not be NUL-terminated) into mem.
   mem NULL or too small: P2M_ERR_MEMORY, err->needed = the size that works.
   Syntax error: P2M_ERR_CONFIG, err->offset = byte position in the pattern,
   err->message says what was wrong. err may be NULL. */
P2M_API p2m_status p2m_regex_compile(const char *pattern, size_t len, void *mem,
                                     size_t mem_size, const p2m_regex **re,
                                     p2m_error *err);

/* Bytes of scratch memory one p2m_regex_search on re needs. */
P2M_API size_t p2m_regex_scratch_size(const p2m_regex *re);

/* Searches s[0..n) for the leftmost-first match.
   Returns 1 on a match: *start,*end = span of capture group 1, or of the whole
   match when the pattern has no group; (size_t)-1 both when group 1 did not
   take part. 0 = no match. -1 = scratch too small (or re NULL).
   -2 = the PCRE2 backend hit its match/depth/heap limit (never with the
   built-in engine). steps (may be NULL) receives the search's work in VM
   steps (an anchored prefix decided without the machine: one per byte
   tested, and one for the match; docs/regex.md). */
P2M_API int p2m_regex_search(const p2m_regex *re, const char *s, size_t n,
                             void *scratch, size_t scratch_size, size_t *start,
                             size_t *end, uint64_t *steps);

/* ---- text writers (OTLP/JSON, Prometheus; P2M_NO_JSON, P2M_NO_PROM cut them) ---- */

/* Both writers follow the header's memory contract, with two blocks from
   the caller:
   - scratch: working memory of the call (attribute lists, resolved nested
     values; for Prometheus also the families, the series and their label
     text). Too small (NULL with 0 is allowed): P2M_ERR_MEMORY with
     err->needed. The sizes of nested attribute values (arrays, key-value
     lists) and of label texts can only be measured once the attribute
     lists can be read, which needs memory when a list is longer than 16
     attributes: then the first answer covers the lists and a second call
     with that much answers the whole size. So at most two P2M_ERR_MEMORY
     answers, each err->needed making progress; the call with the last
     answer succeeds.
   - out: the text. Too small (NULL with 0 asks the size): P2M_ERR_OUTPUT_TOO_SMALL
     with err->needed = the exact size; the call with that much succeeds.
   On any failure nothing is written to out. Doubles are written as the
   shortest text that reads back to the same double (snprintf/strtod, or
   P2M_FORMAT_DOUBLE(buf, cap, d) where there is no libc: it writes the text
   of a finite d into buf, at most cap (40) bytes with a NUL, and evaluates
   to its length). */

#ifndef P2M_NO_JSON
/* One ExportMetricsServiceRequest in the OTLP JSON mapping (lowerCamelCase
   keys, 64-bit integers as strings, enums as numbers, bytes in base64,
   NaN/Infinity/-Infinity as strings), on one line without a newline. */
P2M_API p2m_status p2m_write_json(const p2m_result *r, void *scratch, size_t scratch_size,
                                  void *out, size_t cap, size_t *out_size, p2m_error *err);
#endif

#ifndef P2M_NO_PROM
/* Options of p2m_write_prom; NULL means all zero. */
typedef struct p2m_prom_options {
    size_t struct_size;              /* sizeof(p2m_prom_options), or 0: the first layout */
    int promote_all;                 /* every resource attribute a label of every sample */
    const char *const *promote_keys; /* or these resource attribute keys (NUL-terminated) */
    size_t n_promote_keys;
    size_t *merged_resources; /* optional, out: resources (told apart by their
                                         attributes) whose series were summed with
                                         another resource's into one line */
} p2m_prom_options;

/* Prometheus text exposition (format 0.0.4) of one result, by the
   OpenTelemetry -> Prometheus rules: names sanitised with the base unit's
   word and _total on sums; values in base units (seconds, bytes); labels
   sorted, keys that sanitise alike joined with ';'; job / instance from
   service.namespace, service.name, service.instance.id; the other resource
   attributes on a target_info gauge; otel_scope_name / otel_scope_version
   on every sample; promoted resource attributes replace point attributes of
   the same key. Identical name and labels from several points or resources
   are one line, their sum. Families in order of first appearance. */
P2M_API p2m_status p2m_write_prom(const p2m_result *r, const p2m_prom_options *opt, void *scratch,
                                  size_t scratch_size, void *out, size_t cap, size_t *out_size,
                                  p2m_error *err);

/* A value as the text of a label value (and of a table cell): strings as
   they are, ints in decimal, bools true/false, doubles shortest (NaN,
   Infinity, -Infinity), bytes in base64, arrays and key-value lists as
   compact JSON, read from v->str as given (pass the bytes of
   p2m_result_nested_value, whose string indices are resolved). Writes the
   text to out (no NUL) when cap is enough; returns its length, or
   (size_t)-1 when nested bytes do not decode. */
P2M_API size_t p2m_write_value_text(const p2m_value *v, void *out, size_t cap);
#endif

#ifdef __cplusplus
}
#endif

#endif /* PROFILE2METRICS_H */

/* ======================================================================== */
/*                            IMPLEMENTATION                                */
/* ======================================================================== */
#ifdef P2M_IMPLEMENTATION
#ifndef P2M_IMPLEMENTATION_DONE
#define P2M_IMPLEMENTATION_DONE

/* ---- implementation options --------------------------------------------- */

#ifndef P2M_ASSERT
#define P2M_ASSERT(x) ((void)0)
#endif

#if defined(__GNUC__) || defined(__clang__)
#if defined(__OPTIMIZE_SIZE__) || defined(P2M_SMALL)
#define P2M__INLINE static inline /* -Os: one copy, not one per call site */
#define P2M__FOR_SIZE 1
#else
#define P2M__INLINE static inline __attribute__((always_inline))
#endif
#define P2M__NOINLINE __attribute__((noinline))
#define P2M__MUST __attribute__((warn_unused_result)) /* fallible: the result must be read */
#define P2M__LIKELY(x) __builtin_expect(!!(x), 1)
#define P2M__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define P2M__INLINE static
#define P2M__NOINLINE
#define P2M__MUST
#define P2M__LIKELY(x) (x)
#define P2M__UNLIKELY(x) (x)
#endif
#ifndef P2M__FOR_SIZE
#define P2M__FOR_SIZE 0
#endif

/* Private functions are plain static, so the compiler reports one that
   nothing calls; code that only some options use sits under those options. */

/* Without overrides, GCC and clang get their builtins (which may call the
   C library's memcpy for large sizes; every toolchain, even freestanding
   ones, provides it); other compilers get the byte loops below. */
#if defined(__GNUC__) || defined(__clang__)
#ifndef P2M_MEMCPY
#define P2M_MEMCPY __builtin_memcpy
#endif
#ifndef P2M_MEMSET
#define P2M_MEMSET __builtin_memset
#endif
#endif
#ifndef P2M_MEMCPY
static void p2m__memcpy_impl(void *dst, const void *src, size_t n) {
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    while (n--) *d++ = *s++;
}
#define P2M_MEMCPY p2m__memcpy_impl
#endif
#ifndef P2M_MEMSET
static void p2m__memset_impl(void *dst, int c, size_t n) {
    unsigned char *d = (unsigned char *)dst;
    while (n--) *d++ = (unsigned char)c;
}
#define P2M_MEMSET p2m__memset_impl
#endif

/* Limits on untrusted input and on configuration (documented in docs/security.md). */
#define P2M__MAX_DEPTH 32          /* protobuf nesting */
#define P2M__MAX_LEN 0x40000000u   /* a string the caller gives in the options (1 GiB) */
#ifndef P2M_MAX_RULES
#define P2M_MAX_RULES 64           /* attribute rules (at most 255) */
#endif
#ifndef P2M_MAX_KEYS
#define P2M_MAX_KEYS 64            /* distinct attribute keys the engine reads */
#endif
#ifndef P2M_MAX_PATTERNS
#define P2M_MAX_PATTERNS 128       /* patterns in filters and rules together */
#endif
#define P2M__MAX_RULES P2M_MAX_RULES
#define P2M__MAX_SLOTS P2M_MAX_KEYS
#define P2M__MAX_PATTERNS P2M_MAX_PATTERNS
/* "No such thing", one constant per meaning:
   P2M__NONE      no key or slot (indices into the engine's keys and slots; fits 16 bits)
   P2M__BADSLOT   the slot of an attribute-table entry with an invalid reference
   P2M__NO_ID     no series or resource id (uint32_t ids of the cumulative merge)
   P2M__ID1_NONE  in tables that hold an id as id + 1 (P2M__ID1 stores one,
                  P2M__ID1_ID reads it back), so that zeroed memory is "none yet" */
#define P2M__NONE 0xFFFFu
#define P2M__BADSLOT 0xFFFEu
#define P2M__NO_ID UINT32_MAX
#define P2M__ID1_NONE 0u
#define P2M__ID1(id) ((id) + 1u)
#define P2M__ID1_ID(v) ((v) - 1u)
/* p2m__req.ser_set of a series of another metric: no P2M__ID1 of a series */
#define P2M__SET_OTHER UINT32_MAX

/* Value ids: 0 = attribute absent, 1 = present but empty string. */
#define P2M__VID_ABSENT 0u
#define P2M__VID_EMPTY 1u

typedef uint8_t p2m__u8;

static int p2m__streq(p2m_str a, const char *b) {
    size_t i;
    for (i = 0; i < a.len; i++)
        if (b[i] == 0 || (unsigned char)a.ptr[i] != (unsigned char)b[i]) return 0;
    return b[a.len] == 0;
}
static int p2m__streq2(p2m_str a, p2m_str b) {
    size_t i;
    if (a.len != b.len) return 0;
    for (i = 0; i < a.len; i++)
        if (a.ptr[i] != b.ptr[i]) return 0;
    return 1;
}
static size_t p2m__cstrlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}
static int p2m__starts(p2m_str s, const char *pre) {
    size_t n = p2m__cstrlen(pre), i;
    if (s.len < n) return 0;
    for (i = 0; i < n; i++)
        if (s.ptr[i] != pre[i]) return 0;
    return 1;
}
static int p2m__ends(p2m_str s, const char *suf) {
    size_t n = p2m__cstrlen(suf), i;
    if (s.len < n) return 0;
    for (i = 0; i < n; i++)
        if (s.ptr[s.len - n + i] != suf[i]) return 0;
    return 1;
}
#ifndef P2M_NO_COMPILE
static p2m_str p2m__cstr(const char *s) {
    p2m_str r;
    r.ptr = s;
    r.len = s ? p2m__cstrlen(s) : 0;
    return r;
}
#endif

/* ---- errors --------------------------------------------------------------- */

#ifdef P2M_NO_ERRMSG
#define P2M__MSG(s) ""
#else
#define P2M__MSG(s) s
#endif

static void p2m__strlcpy(char *dst, size_t cap, const char *src) {
    size_t i = 0;
    if (cap == 0) return;
    if (src)
        for (; src[i] && i + 1 < cap; i++) dst[i] = src[i];
    dst[i] = 0;
}
#ifndef P2M_NO_COMPILE
static void p2m__strlcat(char *dst, size_t cap, const char *src) {
    size_t n = 0;
    while (n < cap && dst[n]) n++;
    if (n < cap) p2m__strlcpy(dst + n, cap - n, src);
}
static void p2m__utoa(char *buf, uint64_t v) { /* buf >= 21 bytes */
    char tmp[21];
    int n = 0, i = 0;
    do { tmp[n++] = (char)('0' + (int)(v % 10u)); v /= 10u; } while (v);
    while (n) buf[i++] = tmp[--n];
    buf[i] = 0;
}
static void p2m__strlcatu(char *dst, size_t cap, uint64_t v) {
    char b[21];
    p2m__utoa(b, v);
    p2m__strlcat(dst, cap, b);
}
#endif

static p2m_status p2m__fail(p2m_error *err, p2m_status st, size_t offset, const char *msg) {
    if (err) {
        err->status = st;
        err->offset = offset;
        err->needed = 0;
        err->field[0] = 0;
        p2m__strlcpy(err->message, sizeof err->message, msg);
    }
    return st;
}
static p2m_status p2m__need(p2m_error *err, p2m_status st, size_t needed, const char *msg) {
    p2m__fail(err, st, 0, msg);
    if (err) err->needed = needed;
    return st;
}
static void p2m__clear(p2m_error *err) {
    if (err) {
        err->status = P2M_OK;
        err->offset = 0;
        err->needed = 0;
        err->field[0] = 0;
        err->message[0] = 0;
    }
}

/* The struct_size of a caller's struct that may grow, at s: 0 (the first
   layout) or at least first (the end of the first layout's last field);
   past known (this library's sizeof) every byte must be 0, else the caller
   sets a field of a newer version. A size more than 1 KiB past known is no
   struct of any version (garbage, an uninitialised struct): an argument
   error, and its bytes are not read. field names it in err. */
static P2M__MUST p2m_status p2m__check_size(const void *s, size_t first, size_t known,
                                            const char *field, p2m_error *err) {
    const uint8_t *b = (const uint8_t *)s;
    size_t size, i;
    int bad;
    P2M_MEMCPY(&size, s, sizeof size);
    if (size == 0) return P2M_OK;
    bad = size < first || (size > known && size - known > 1024u);
    if (bad) {
        p2m__fail(err, P2M_ERR_ARGUMENT, 0,
                  P2M__MSG("not the size of any version of the struct: make it sizeof the "
                           "struct, or 0"));
    } else {
        for (i = known; i < size && !b[i]; i++) {}
        if (i >= size) return P2M_OK;
        p2m__fail(err, P2M_ERR_UNSUPPORTED, 0,
                  P2M__MSG("sets a field of a newer header: update the library"));
    }
    if (err) p2m__strlcpy(err->field, sizeof err->field, field);
    return bad ? P2M_ERR_ARGUMENT : P2M_ERR_UNSUPPORTED;
}
/* The ends of the first layouts (their last fields). */
#define P2M__CONFIG_FIRST (offsetof(p2m_config, stack_filter) + sizeof(p2m_filter))
#define P2M__OPTIONS_FIRST (offsetof(p2m_options, n_resource_attributes) + sizeof(size_t))
#define P2M__PROM_FIRST (offsetof(p2m_prom_options, merged_resources) + sizeof(size_t *))

/* ---- wire reader -----------------------------------------------------------
   Every read is bounds-checked against the end of the enclosing message;
   fixed-width values are assembled byte by byte, so the reader is
   endian-neutral and needs no alignment. A reader error records the byte
   offset (from the start of the input) and a message in the context. */

#define P2M__WT_VARINT 0
#define P2M__WT_I64 1
#define P2M__WT_LEN 2
#define P2M__WT_I32 5
#define P2M__WT_SGROUP 3 /* groups: never in OTLP, rejected */
#define P2M__WT_EGROUP 4

typedef struct p2m__span {
    const uint8_t *p;
    uint32_t n;
} p2m__span;

/* Where empty spans point, so that span arithmetic never touches NULL. */
static const uint8_t p2m__nothing[1] = {0};

typedef struct p2m__field {
    uint32_t num;   /* field number */
    uint32_t wt;    /* wire type */
    uint64_t v;     /* VARINT, I64, I32 */
    p2m__span s;    /* LEN */
    const uint8_t *at; /* where the tag started */
} p2m__field;

/* Sets a field's number and wire type with one 8-byte store (num is the
   first member): a test of both (f.num == n && f.wt == t) compiles to one
   8-byte load, which two 4-byte stores cannot forward to; on x86-64 that
   stall, a dozen cycles at every field read, costs 9% of a conversion
   without the function metric. */
P2M__INLINE void p2m__set_tag(p2m__field *f, uint32_t num, uint32_t wt) {
#if defined(__GNUC__) || defined(__clang__)
    uint32_t t[2];
    t[0] = num;
    t[1] = wt;
    __builtin_memcpy(f, t, sizeof t);
#else
    f->num = num;
    f->wt = wt;
#endif
}

typedef struct p2m__wire {
    const uint8_t *base;   /* start of the whole input */
    p2m_error *err;
    p2m_status st;
} p2m__wire;

static int p2m__bad(p2m__wire *w, const uint8_t *at, const char *msg) {
    if (w->st == P2M_OK) {
        w->st = P2M_ERR_MALFORMED;
        p2m__fail(w->err, P2M_ERR_MALFORMED, (size_t)(at - w->base), msg);
    }
    return -1;
}

/* The first invalid reference (strict mode), as p2m__bad records the first
   malformed byte. */
static int p2m__bad_ref(p2m__wire *w, const uint8_t *at, const char *msg) {
    if (w->st == P2M_OK) {
        w->st = P2M_ERR_INVALID_REFERENCE;
        p2m__fail(w->err, P2M_ERR_INVALID_REFERENCE, (size_t)(at - w->base), msg);
    }
    return -1;
}

/* Reads a varint at *pp (< end). 0 on success. */
static P2M__MUST int p2m__varint(p2m__wire *w, const uint8_t **pp, const uint8_t *end,
                                 uint64_t *out) {
    const uint8_t *p = *pp;
    uint64_t v;
    unsigned shift;
    if (P2M__LIKELY(p < end && *p < 0x80)) {
        *out = *p;
        *pp = p + 1;
        return 0;
    }
    v = 0;
    for (shift = 0; shift < 70; shift += 7) {
        uint8_t b;
        if (p >= end) return p2m__bad(w, *pp, P2M__MSG("truncated varint"));
        b = *p++;
        if (shift == 63 && b > 1) return p2m__bad(w, *pp, P2M__MSG("varint overflows 64 bits"));
        v |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80) {
            *out = v;
            *pp = p;
            return 0;
        }
    }
    return p2m__bad(w, *pp, P2M__MSG("varint longer than 10 bytes"));
}

/* The end of a varint at v (< end) that ends within 9 bytes (so it is
   valid: at most 63 bits), else 0: a skip that leaves the rest to p2m__varint. */
static const uint8_t *p2m__varint_end9(const uint8_t *v, const uint8_t *end) {
    const uint8_t *last = end - v > 9 ? v + 9 : end;
    while (v < last && *v >= 0x80u) v++;
    return v < last ? v + 1 : 0;
}

/* The value of a varint of two bytes, b0 >= 0x80 and b1 < 0x80, and of three,
   b0 and b1 >= 0x80: the continuation bits are subtracted, one instruction
   fewer than masking each off. */
#define P2M__VARINT2(b0, b1) ((uint32_t)(b0) + ((uint32_t)(b1) << 7) - 0x80u)
#define P2M__VARINT3(b0, b1, b2) \
    ((uint32_t)(b0) + ((uint32_t)(b1) << 7) + ((uint32_t)(b2) << 14) - 0x4080u)

/* The value of the varint [p, e) of at most 9 bytes (p2m__varint_end9). */
P2M__INLINE uint64_t p2m__varint9(const uint8_t *p, const uint8_t *e) {
    uint64_t v = 0;
    unsigned shift = 0;
    if (!P2M__FOR_SIZE && e - p == 1) return p[0]; /* most indices: one or two bytes */
    if (!P2M__FOR_SIZE && e - p == 2) return P2M__VARINT2(p[0], p[1]);
    for (; p < e; p++, shift += 7) v |= (uint64_t)(*p & 0x7fu) << shift;
    return v;
}

P2M__INLINE uint64_t p2m__le64(const uint8_t *p) {
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

/* p2m__varint_end9 for varints that are mostly long (a location's
   address): the first byte without a continuation bit among the next eight
   found in one word (a build for size: byte by byte). */
P2M__INLINE const uint8_t *p2m__varint_end_long(const uint8_t *v, const uint8_t *end) {
    uint64_t stop;
    if (P2M__FOR_SIZE || end - v < 9) return p2m__varint_end9(v, end);
    stop = ~p2m__le64(v) & 0x8080808080808080u;
    if (!stop) return v[8] < 0x80u ? v + 9 : 0;
    stop &= 0u - stop; /* bit 7 of the first such byte, i: its number, 0 to 7 */
    return v + (((stop >> 7) * 0x0102030405060708u) >> 56); /* v + i + 1 */
}
/* The same for a varint that may end close to end, with the input going on
   to lim (>= end): the word is read where lim allows, and the varint must
   still end within end. */
P2M__INLINE const uint8_t *p2m__varint_end_in(const uint8_t *v, const uint8_t *end,
                                              const uint8_t *lim) {
    uint64_t stop;
    const uint8_t *e;
    if (P2M__FOR_SIZE || lim - v < 9) return p2m__varint_end9(v, end);
    stop = ~p2m__le64(v) & 0x8080808080808080u;
    if (!stop) return end - v >= 9 && v[8] < 0x80u ? v + 9 : 0;
    stop &= 0u - stop;
    e = v + (((stop >> 7) * 0x0102030405060708u) >> 56);
    return e <= end ? e : 0;
}
/* The little-endian word at p: one load where the compiler says the target
   is little-endian (from bytes the caller also reads one by one, GCC 12
   built it in a register byte by byte), else put together from its bytes. */
P2M__INLINE uint32_t p2m__le32(const uint8_t *p) {
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t v;
    P2M_MEMCPY(&v, p, 4);
    return v;
#else
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
#endif
}

#if !P2M__FOR_SIZE
/* The two fields that p2m__next leaves to p2m__next_slow besides errors,
   read in line where the caller knows the tag at *pp (one byte, field num;
   ten bytes there at least): a fixed64, and a varint of up to nine bytes
   (0 when it is longer or runs past end, nothing read). Each sets the tag
   and value of *f (the caller sets f->at and f->s) and *pp past it. */
P2M__INLINE void p2m__i64_field(const uint8_t **pp, uint32_t num, p2m__field *f) {
    p2m__set_tag(f, num, P2M__WT_I64);
    f->v = p2m__le64(*pp + 1);
    *pp += 9;
}
P2M__INLINE int p2m__long_varint_field(const uint8_t **pp, const uint8_t *end, uint32_t num,
                                       p2m__field *f) {
    const uint8_t *const e = p2m__varint_end_long(*pp + 1, end);
    if (!e) return 0;
    p2m__set_tag(f, num, P2M__WT_VARINT);
    f->v = p2m__varint9(*pp + 1, e);
    *pp = e;
    return 1;
}
#endif

/* The general case of p2m__next below. */
static P2M__NOINLINE P2M__MUST int p2m__next_slow(p2m__wire *w, const uint8_t **pp,
                                                  const uint8_t *end, p2m__field *f) {
    const uint8_t *p = *pp;
    uint64_t tag, len;
    p2m__set_tag(f, 0, 0); /* every member set on every path (see p2m__next) */
    f->at = p;
    f->v = 0;
    f->s.p = p;
    f->s.n = 0;
    if (p >= end) return 0;
#if !P2M__FOR_SIZE
    /* what p2m__next leaves here besides errors: a profile's time (fixed64)
       and varints of five to nine bytes (its duration, timestamps), with a
       one-byte tag */
    if (end - p >= 10 && p[0] >= 8u && p[0] < 0x80u) {
        if ((p[0] & 7u) == P2M__WT_I64) {
            p2m__i64_field(pp, p[0] >> 3u, f);
            return 1;
        }
        if ((p[0] & 7u) == P2M__WT_VARINT && p2m__long_varint_field(pp, end, p[0] >> 3u, f))
            return 1;
    }
#endif
    if (P2M__LIKELY(*p < 0x80)) {
        tag = *p++;
    } else if (p2m__varint(w, &p, end, &tag)) {
        return -1;
    }
    p2m__set_tag(f, (uint32_t)(tag >> 3), (uint32_t)(tag & 7));
    if (P2M__UNLIKELY((tag >> 3) == 0)) return p2m__bad(w, f->at, P2M__MSG("field number 0"));
    if (P2M__UNLIKELY((tag >> 3) > 0x1FFFFFFFu))
        return p2m__bad(w, f->at, P2M__MSG("field number too large"));
    switch (f->wt) {
    case P2M__WT_VARINT:
        if (p2m__varint(w, &p, end, &f->v)) return -1;
        break;
    case P2M__WT_I64:
        if (end - p < 8) return p2m__bad(w, f->at, P2M__MSG("truncated fixed64"));
        f->v = p2m__le64(p);
        p += 8;
        break;
    case P2M__WT_LEN:
        if (p2m__varint(w, &p, end, &len)) return -1;
        if (len > (uint64_t)(end - p))
            return p2m__bad(w, f->at, P2M__MSG("length past the end of its message"));
        f->v = len;
        f->s.p = p;
        f->s.n = (uint32_t)len;
        p += len;
        break;
    case P2M__WT_I32:
        if (end - p < 4) return p2m__bad(w, f->at, P2M__MSG("truncated fixed32"));
        f->v = p2m__le32(p);
        p += 4;
        break;
    default:
        return p2m__bad(w, f->at,
                        f->wt == P2M__WT_SGROUP || f->wt == P2M__WT_EGROUP
                            ? P2M__MSG("group wire type (3 or 4) not supported")
                            : P2M__MSG("invalid wire type"));
    }
    *pp = p;
    return 1;
}

/* p2m__next_slow through locals of its own: the caller's position and
   field never have their address taken, so the compiler can keep them in
   registers (5 % of a conversion without the function metric). Not when
   optimising for size: p2m__next is then one out-of-line function, there
   is nothing to keep in registers, and the copy's frame would be one more
   on the deepest stack path (64 B on a Cortex-M4). */
#if P2M__FOR_SIZE
#define p2m__next_slow_copy p2m__next_slow
#else
P2M__INLINE int p2m__next_slow_copy(p2m__wire *w, const uint8_t **pp, const uint8_t *end,
                                    p2m__field *f) {
    const uint8_t *p = *pp;
    p2m__field t;
    int r = p2m__next_slow(w, &p, end, &t);
    *f = t;
    if (r > 0) *pp = p;
    return r;
}
#endif

/* The shape of nearly every field of a profile: a one-byte tag and a
   length of one or two bytes. p2m__short_len reads such a length (the tag
   at p, two bytes there at least); with the field inside end it sets *len
   and *v (the value's first byte) and returns 1, else 0: the general reader
   takes the field (and reports what is malformed). p2m__short_field also
   checks that the tag at p is one of a LEN field (three bytes there). The
   reader's fast path and the hot loops that skim whole tables use them. */
P2M__INLINE int p2m__short_len(const uint8_t *p, const uint8_t *end, uint32_t *len,
                               const uint8_t **v) {
    size_t n = p[1];
    const uint8_t *q = p + 2;
    if (n >= 0x80u) {
        if (end - p < 3 || p[2] >= 0x80u) return 0;
        n = P2M__VARINT2(n, p[2]);
        q++;
    }
    if ((uintptr_t)q + n > (uintptr_t)end) return 0; /* as integers: q + n may pass end */
    *len = (uint32_t)n;
    *v = q;
    return 1;
}
P2M__INLINE int p2m__short_field(const uint8_t *p, const uint8_t *end, uint32_t *len,
                                 const uint8_t **v) {
    return end - p >= 3 && (p[0] & 0x87u) == P2M__WT_LEN && p[0] >= 8u &&
           p2m__short_len(p, end, len, v);
}

/* Next field of the message [*pp, end). Returns 1 with *f filled, 0 at the
   end, -1 on malformed input. Inline fast path for the shapes that dominate
   real requests (one-byte tags; one- or two-byte lengths; varints of up to
   four bytes); everything else, and every error, goes through
   p2m__next_slow. Every member of *f is set on every path (v of a LEN field
   is its length, s of the other wire types is empty): the callers' fields
   live in registers, and GCC's -Wmaybe-uninitialized looks at each of them. */
P2M__INLINE P2M__MUST int p2m__next(p2m__wire *w, const uint8_t **pp, const uint8_t *end,
                                    p2m__field *f) {
    const uint8_t *p = *pp;
    uint32_t b, len;
    if (p >= end) return 0;
    b = p[0];
    if (P2M__LIKELY(b < 0x80 && b >= 8 && end - p >= 3)) {
        if ((b & 7u) == P2M__WT_LEN) {
            len = p[1];
            if (len < 0x80) {
                p += 2;
            } else if (p[2] < 0x80) {
                len = P2M__VARINT2(len, p[2]);
                p += 3;
            } else {
                return p2m__next_slow_copy(w, pp, end, f);
            }
            if (P2M__UNLIKELY((uintptr_t)p + len > (uintptr_t)end)) /* as in p2m__short_len */
                return p2m__next_slow_copy(w, pp, end, f);
            f->at = *pp;
            p2m__set_tag(f, b >> 3, P2M__WT_LEN);
            f->v = len;
            f->s.p = p;
            f->s.n = len;
            *pp = p + len;
            return 1;
        }
        if ((b & 7u) == P2M__WT_VARINT) {
            /* Up to four bytes without a branch on their number: indices
               that straddle 16384 (stack indices in a big request) cost a
               mispredicted branch each otherwise, 11 % of such a conversion. */
            if (P2M__LIKELY(end - p >= 5)) {
                uint32_t x = p2m__le32(p + 1), stop = ~x & 0x80808080u;
                if (P2M__LIKELY(stop != 0)) {
                    stop &= 0u - stop; /* the first byte without a continuation bit */
                    x &= (uint32_t)(((uint64_t)stop << 1) - 1u); /* the value's bytes */
                    f->v = (x & 0x7fu) | (x >> 1 & 0x3f80u) | (x >> 2 & 0x1fc000u) |
                           (x >> 3 & 0xfe00000u);
                    *pp = p + 1 + (((stop >> 7) * 0x01020304u) >> 24);
                    f->s.p = p;
                    f->s.n = 0;
                    f->at = p;
                    p2m__set_tag(f, b >> 3, P2M__WT_VARINT);
                    return 1;
                }
            }
            if (p[1] < 0x80) {
                f->v = p[1];
                *pp = p + 2;
            } else if (p[2] < 0x80) { /* two-byte values: indices up to 16383 */
                f->v = P2M__VARINT2(p[1], p[2]);
                *pp = p + 3;
            } else {
                return p2m__next_slow_copy(w, pp, end, f);
            }
            f->s.p = p;
            f->s.n = 0;
            f->at = p;
            p2m__set_tag(f, b >> 3, P2M__WT_VARINT);
            return 1;
        }
    }
    return p2m__next_slow_copy(w, pp, end, f);
}

/* p2m__next for a reader that wants few of a message's fields: fields whose
   number is not in want (bit n: field n) are stepped over in a lean loop
   while their tag is one byte, a varint's value at most four bytes (found
   without a loop, as p2m__next does) and a length one byte; anything else
   (a wanted field, another shape, every error) is read by p2m__next, so the
   result, and the place of an error, are the same as p2m__next's. */
P2M__INLINE P2M__MUST int p2m__next_wanted(p2m__wire *w, const uint8_t **pp, const uint8_t *end,
                                           uint32_t want, p2m__field *f) {
    const uint8_t *p = *pp;
    want |= 1u; /* field 0 is malformed: p2m__next says so */
    while (end - p >= 2) {
        const uint32_t b = p[0];
        if (b >= 0x80u || (want >> (b >> 3) & 1u)) break;
        if ((b & 7u) == P2M__WT_VARINT) {
            uint32_t stop;
            if (end - p < 5 || (stop = ~p2m__le32(p + 1) & 0x80808080u) == 0) break;
            stop &= 0u - stop; /* the first byte without a continuation bit */
            p += 1u + (((stop >> 7) * 0x01020304u) >> 24);
        } else if ((b & 7u) == P2M__WT_LEN && p[1] < 0x80u &&
                   (size_t)p[1] <= (size_t)(end - p) - 2u) {
            p += 2u + p[1];
        } else {
            break;
        }
    }
    *pp = p;
    return p2m__next(w, pp, end, f);
}

/* Iterates the elements of a repeated integer field given either packed (one
   LEN field) or unpacked (one VARINT field). it->p == it->end when done. */
typedef struct p2m__ints {
    const uint8_t *p, *end;
    uint64_t single;
    int has_single;
} p2m__ints;

P2M__INLINE void p2m__ints_init(p2m__ints *it, const p2m__field *f) {
    if (f->wt == P2M__WT_LEN) {
        it->p = f->s.p;
        it->end = f->s.p + f->s.n;
        it->has_single = 0;
    } else {
        it->p = it->end = 0;
        it->single = f->v;
        it->has_single = 1;
    }
}
/* 1 with *v, 0 at end, -1 malformed */
P2M__INLINE P2M__MUST int p2m__ints_next(p2m__wire *w, p2m__ints *it, uint64_t *v) {
    const uint8_t *p = it->p;
    if (P2M__UNLIKELY(it->has_single)) {
        it->has_single = 0;
        *v = it->single;
        return 1;
    }
    if (p >= it->end) return 0;
    if (P2M__LIKELY(p[0] < 0x80)) {
        *v = p[0];
        it->p = p + 1;
        return 1;
    }
    if (it->end - p >= 3) {
        if (p[1] < 0x80) { /* two bytes: indices up to 16383 */
            *v = P2M__VARINT2(p[0], p[1]);
            it->p = p + 2;
            return 1;
        }
        if (p[2] < 0x80) { /* three bytes: up to 2097151 */
            *v = P2M__VARINT3(p[0], p[1], p[2]);
            it->p = p + 3;
            return 1;
        }
    } else if (it->end - p == 2 && p[1] < 0x80) {
        *v = P2M__VARINT2(p[0], p[1]);
        it->p = p + 2;
        return 1;
    }
    return p2m__varint(w, &it->p, it->end, v) ? -1 : 1;
}

/* ---- schema: OTLP field numbers ---------------------------------------------
   Every protobuf field number the header reads or writes, one enum per
   message, named P2M__PB_<MESSAGE>_<FIELD>: the profiles messages (input,
   docs/spec.md section 1) and the metrics messages the encoder writes
   (output, docs/spec.md section 7). Profile and Sample fields that move
   between the wire layouts carry the layout in their name (V18: v1.8 and,
   for Sample, v1.9; V19: v1.9 and v1.10; V110: v1.10), and the rows of
   p2m__layout_fields below give the ones the code picks by layout.
   P2M__TAG builds a tag from a field number and a wire type (one byte for
   fields up to 15); it is a constant expression, usable in case labels and
   byte comparisons. */

#define P2M__TAG(num, wt) ((unsigned)(num) << 3 | (unsigned)(wt))

/* ExportProfilesServiceRequest (the same bytes as ProfilesData) */
enum {
    P2M__PB_REQ_RESOURCE_PROFILES = 1,
    P2M__PB_REQ_DICTIONARY = 2
};
/* ProfilesDictionary */
enum {
    P2M__PB_DICT_MAPPING_TABLE = 1,
    P2M__PB_DICT_LOCATION_TABLE = 2,
    P2M__PB_DICT_FUNCTION_TABLE = 3,
    P2M__PB_DICT_LINK_TABLE = 4,
    P2M__PB_DICT_STRING_TABLE = 5,
    P2M__PB_DICT_ATTRIBUTE_TABLE = 6,
    P2M__PB_DICT_STACK_TABLE = 7
};
/* ResourceProfiles */
enum {
    P2M__PB_RESOURCE_PROFILES_RESOURCE = 1,
    P2M__PB_RESOURCE_PROFILES_SCOPE_PROFILES = 2,
    P2M__PB_RESOURCE_PROFILES_SCHEMA_URL = 3
};
/* ScopeProfiles */
enum {
    P2M__PB_SCOPE_PROFILES_SCOPE = 1,
    P2M__PB_SCOPE_PROFILES_PROFILES = 2,
    P2M__PB_SCOPE_PROFILES_SCHEMA_URL = 3
};
/* Profile: fields 1 to 6 in every layout; the rest as named */
enum {
    P2M__PB_PROFILE_SAMPLE_TYPE = 1,
    P2M__PB_PROFILE_SAMPLES = 2,
    P2M__PB_PROFILE_TIME_UNIX_NANO = 3,
    P2M__PB_PROFILE_DURATION_NANO = 4,
    P2M__PB_PROFILE_PERIOD_TYPE = 5,
    P2M__PB_PROFILE_PERIOD = 6,
    /* v1.8 */
    P2M__PB_PROFILE_V18_COMMENT_STRINDICES = 7,
    P2M__PB_PROFILE_V18_PROFILE_ID = 8,
    P2M__PB_PROFILE_V18_DROPPED_ATTRIBUTES_COUNT = 9,
    P2M__PB_PROFILE_V18_ORIGINAL_PAYLOAD_FORMAT = 10,
    P2M__PB_PROFILE_V18_ORIGINAL_PAYLOAD = 11,
    P2M__PB_PROFILE_V18_ATTRIBUTE_INDICES = 12,
    /* v1.9 and v1.10: the comments are gone, the rest one lower */
    P2M__PB_PROFILE_V19_PROFILE_ID = 7,
    P2M__PB_PROFILE_V19_DROPPED_ATTRIBUTES_COUNT = 8,
    P2M__PB_PROFILE_V19_ORIGINAL_PAYLOAD_FORMAT = 9,
    P2M__PB_PROFILE_V19_ORIGINAL_PAYLOAD = 10,
    P2M__PB_PROFILE_V19_ATTRIBUTE_INDICES = 11
};
/* Sample */
enum {
    P2M__PB_SAMPLE_STACK_INDEX = 1,
    P2M__PB_SAMPLE_TIMESTAMPS_UNIX_NANO = 5,
    /* v1.8 and v1.9 */
    P2M__PB_SAMPLE_V18_VALUES = 2,
    P2M__PB_SAMPLE_V18_ATTRIBUTE_INDICES = 3,
    P2M__PB_SAMPLE_V18_LINK_INDEX = 4,
    /* v1.10 */
    P2M__PB_SAMPLE_V110_ATTRIBUTE_INDICES = 2,
    P2M__PB_SAMPLE_V110_LINK_INDEX = 3,
    P2M__PB_SAMPLE_V110_VALUES = 4
};
/* Stack */
enum { P2M__PB_STACK_LOCATION_INDICES = 1 };
/* Location */
enum {
    P2M__PB_LOCATION_MAPPING_INDEX = 1,
    P2M__PB_LOCATION_ADDRESS = 2,
    P2M__PB_LOCATION_LINES = 3,
    P2M__PB_LOCATION_ATTRIBUTE_INDICES = 4
};
/* Line */
enum {
    P2M__PB_LINE_FUNCTION_INDEX = 1,
    P2M__PB_LINE_LINE = 2,
    P2M__PB_LINE_COLUMN = 3
};
/* Function */
enum {
    P2M__PB_FUNCTION_NAME_STRINDEX = 1,
    P2M__PB_FUNCTION_SYSTEM_NAME_STRINDEX = 2,
    P2M__PB_FUNCTION_FILENAME_STRINDEX = 3,
    P2M__PB_FUNCTION_START_LINE = 4
};
/* Mapping */
enum {
    P2M__PB_MAPPING_MEMORY_START = 1,
    P2M__PB_MAPPING_MEMORY_LIMIT = 2,
    P2M__PB_MAPPING_FILE_OFFSET = 3,
    P2M__PB_MAPPING_FILENAME_STRINDEX = 4,
    P2M__PB_MAPPING_ATTRIBUTE_INDICES = 5
};
/* Link */
enum {
    P2M__PB_LINK_TRACE_ID = 1,
    P2M__PB_LINK_SPAN_ID = 2
};
/* ValueType (v1.8's field 3 is not read) */
enum {
    P2M__PB_VALUE_TYPE_TYPE_STRINDEX = 1,
    P2M__PB_VALUE_TYPE_UNIT_STRINDEX = 2
};
/* KeyValueAndUnit (the dictionary's attribute_table) */
enum {
    P2M__PB_KVU_KEY_STRINDEX = 1,
    P2M__PB_KVU_VALUE = 2,
    P2M__PB_KVU_UNIT_STRINDEX = 3
};
/* Resource (input and output) */
enum {
    P2M__PB_RESOURCE_ATTRIBUTES = 1,
    P2M__PB_RESOURCE_DROPPED_ATTRIBUTES_COUNT = 2,
    P2M__PB_RESOURCE_ENTITY_REFS = 3
};
/* EntityRef (carried through as bytes; the JSON writer spells it out) */
enum {
    P2M__PB_ENTITY_REF_SCHEMA_URL = 1,
    P2M__PB_ENTITY_REF_TYPE = 2,
    P2M__PB_ENTITY_REF_ID_KEYS = 3,
    P2M__PB_ENTITY_REF_DESCRIPTION_KEYS = 4
};
/* InstrumentationScope (input and output) */
enum {
    P2M__PB_SCOPE_NAME = 1,
    P2M__PB_SCOPE_VERSION = 2,
    P2M__PB_SCOPE_ATTRIBUTES = 3,
    P2M__PB_SCOPE_DROPPED_ATTRIBUTES_COUNT = 4
};
/* KeyValue (key_strindex: v1.10 and later) */
enum {
    P2M__PB_KEY_VALUE_KEY = 1,
    P2M__PB_KEY_VALUE_VALUE = 2,
    P2M__PB_KEY_VALUE_KEY_STRINDEX = 3
};
/* AnyValue, one of (string_value_strindex: v1.10 and later) */
enum {
    P2M__PB_ANY_VALUE_STRING_VALUE = 1,
    P2M__PB_ANY_VALUE_BOOL_VALUE = 2,
    P2M__PB_ANY_VALUE_INT_VALUE = 3,
    P2M__PB_ANY_VALUE_DOUBLE_VALUE = 4,
    P2M__PB_ANY_VALUE_ARRAY_VALUE = 5,
    P2M__PB_ANY_VALUE_KVLIST_VALUE = 6,
    P2M__PB_ANY_VALUE_BYTES_VALUE = 7,
    P2M__PB_ANY_VALUE_STRING_VALUE_STRINDEX = 8
};
/* ArrayValue */
enum { P2M__PB_ARRAY_VALUE_VALUES = 1 };
/* KeyValueList */
enum { P2M__PB_KEY_VALUE_LIST_VALUES = 1 };

/* pprof Profile (input, docs/spec.md section 11): the messages of
   profile.proto that the rewrite reads (string fields are string-table
   indices, varints) */
enum {
    P2M__PB_PPROF_SAMPLE_TYPE = 1,
    P2M__PB_PPROF_SAMPLE = 2,
    P2M__PB_PPROF_MAPPING = 3,
    P2M__PB_PPROF_LOCATION = 4,
    P2M__PB_PPROF_FUNCTION = 5,
    P2M__PB_PPROF_STRING_TABLE = 6,
    P2M__PB_PPROF_DROP_FRAMES = 7,
    P2M__PB_PPROF_KEEP_FRAMES = 8,
    P2M__PB_PPROF_TIME_NANOS = 9,
    P2M__PB_PPROF_DURATION_NANOS = 10,
    P2M__PB_PPROF_PERIOD_TYPE = 11,
    P2M__PB_PPROF_PERIOD = 12,
    P2M__PB_PPROF_COMMENT = 13,
    P2M__PB_PPROF_DEFAULT_SAMPLE_TYPE = 14
};
enum { P2M__PB_PPROF_VALUE_TYPE_TYPE = 1, P2M__PB_PPROF_VALUE_TYPE_UNIT = 2 };
enum {
    P2M__PB_PPROF_SAMPLE_LOCATION_ID = 1,
    P2M__PB_PPROF_SAMPLE_VALUE = 2,
    P2M__PB_PPROF_SAMPLE_LABEL = 3
};
enum {
    P2M__PB_PPROF_LABEL_KEY = 1,
    P2M__PB_PPROF_LABEL_STR = 2,
    P2M__PB_PPROF_LABEL_NUM = 3,
    P2M__PB_PPROF_LABEL_NUM_UNIT = 4
};
enum { /* fields 7 to 10 are the has_* flags */
    P2M__PB_PPROF_MAPPING_ID = 1,
    P2M__PB_PPROF_MAPPING_MEMORY_START = 2,
    P2M__PB_PPROF_MAPPING_MEMORY_LIMIT = 3,
    P2M__PB_PPROF_MAPPING_FILE_OFFSET = 4,
    P2M__PB_PPROF_MAPPING_FILENAME = 5,
    P2M__PB_PPROF_MAPPING_BUILD_ID = 6,
    P2M__PB_PPROF_MAPPING_HAS_INLINE_FRAMES = 10
};
enum {
    P2M__PB_PPROF_LOCATION_ID = 1,
    P2M__PB_PPROF_LOCATION_MAPPING_ID = 2,
    P2M__PB_PPROF_LOCATION_ADDRESS = 3,
    P2M__PB_PPROF_LOCATION_LINE = 4,
    P2M__PB_PPROF_LOCATION_IS_FOLDED = 5
};
enum {
    P2M__PB_PPROF_LINE_FUNCTION_ID = 1,
    P2M__PB_PPROF_LINE_LINE = 2,
    P2M__PB_PPROF_LINE_COLUMN = 3
};
enum {
    P2M__PB_PPROF_FUNCTION_ID = 1,
    P2M__PB_PPROF_FUNCTION_NAME = 2,
    P2M__PB_PPROF_FUNCTION_SYSTEM_NAME = 3,
    P2M__PB_PPROF_FUNCTION_FILENAME = 4,
    P2M__PB_PPROF_FUNCTION_START_LINE = 5
};

/* ExportMetricsServiceRequest (output) */
enum { P2M__PB_METRICS_REQ_RESOURCE_METRICS = 1 };
/* ResourceMetrics */
enum {
    P2M__PB_RESOURCE_METRICS_RESOURCE = 1,
    P2M__PB_RESOURCE_METRICS_SCOPE_METRICS = 2,
    P2M__PB_RESOURCE_METRICS_SCHEMA_URL = 3
};
/* ScopeMetrics */
enum {
    P2M__PB_SCOPE_METRICS_SCOPE = 1,
    P2M__PB_SCOPE_METRICS_METRICS = 2,
    P2M__PB_SCOPE_METRICS_SCHEMA_URL = 3
};
/* Metric (gauge and sum are members of one oneof) */
enum {
    P2M__PB_METRIC_NAME = 1,
    P2M__PB_METRIC_DESCRIPTION = 2,
    P2M__PB_METRIC_UNIT = 3,
    P2M__PB_METRIC_GAUGE = 5,
    P2M__PB_METRIC_SUM = 7
};
/* Gauge */
enum { P2M__PB_GAUGE_DATA_POINTS = 1 };
/* Sum */
enum {
    P2M__PB_SUM_DATA_POINTS = 1,
    P2M__PB_SUM_AGGREGATION_TEMPORALITY = 2,
    P2M__PB_SUM_IS_MONOTONIC = 3
};
/* NumberDataPoint */
enum {
    P2M__PB_POINT_START_TIME_UNIX_NANO = 2,
    P2M__PB_POINT_TIME_UNIX_NANO = 3,
    P2M__PB_POINT_AS_DOUBLE = 4,
    P2M__PB_POINT_AS_INT = 6,
    P2M__PB_POINT_ATTRIBUTES = 7
};

/* The fields that move between the layouts and that the code picks by the
   request's layout (docs/spec.md section 1.3), one row per layout.
   sample_contra: where this layout has link_index (a varint), a packed
   (LEN) field belongs to the other Sample layout (v1.8's attribute_indices
   under v1.10, v1.10's values under v1.8 and v1.9): evidence against it. */
typedef struct p2m__layout_fields {
    uint8_t sample_values, sample_attrs, sample_link, sample_contra; /* Sample */
    uint8_t profile_id, profile_attrs;                               /* Profile */
} p2m__layout_fields;

static const p2m__layout_fields p2m__layout_v1_8 = {
    P2M__PB_SAMPLE_V18_VALUES,      P2M__PB_SAMPLE_V18_ATTRIBUTE_INDICES,
    P2M__PB_SAMPLE_V18_LINK_INDEX,  P2M__PB_SAMPLE_V110_VALUES,
    P2M__PB_PROFILE_V18_PROFILE_ID, P2M__PB_PROFILE_V18_ATTRIBUTE_INDICES};
static const p2m__layout_fields p2m__layout_v1_9 = {
    P2M__PB_SAMPLE_V18_VALUES,      P2M__PB_SAMPLE_V18_ATTRIBUTE_INDICES,
    P2M__PB_SAMPLE_V18_LINK_INDEX,  P2M__PB_SAMPLE_V110_VALUES,
    P2M__PB_PROFILE_V19_PROFILE_ID, P2M__PB_PROFILE_V19_ATTRIBUTE_INDICES};
static const p2m__layout_fields p2m__layout_v1_10 = {
    P2M__PB_SAMPLE_V110_VALUES,     P2M__PB_SAMPLE_V110_ATTRIBUTE_INDICES,
    P2M__PB_SAMPLE_V110_LINK_INDEX, P2M__PB_SAMPLE_V18_ATTRIBUTE_INDICES,
    P2M__PB_PROFILE_V19_PROFILE_ID, P2M__PB_PROFILE_V19_ATTRIBUTE_INDICES};

/* One field of a decided layout's row (V1_8, V1_9 or V1_10, never AUTO).
   The rows are constants, so the compiler folds each one and the choice
   becomes a select between immediates (equal neighbours merge into one
   comparison, as the layouts are numbered in order): no table in flash. */
#define P2M__LAYOUT_FIELD(layout, field)                                \
    ((layout) <= P2M_LAYOUT_V1_8   ? (uint32_t)p2m__layout_v1_8.field   \
     : (layout) <= P2M_LAYOUT_V1_9 ? (uint32_t)p2m__layout_v1_9.field   \
                                   : (uint32_t)p2m__layout_v1_10.field)

/* ---- nested values: structure check ------------------------------------ */

/* The kinds of message inside an attribute value, as the nested-value walks
   (structure check, resolution) name them. */
#define P2M__NK_ANY 0
#define P2M__NK_ARRAY 1
#define P2M__NK_KVLIST 2
#define P2M__NK_KV 3

/* Checks nested AnyValue / ArrayValue / KeyValueList / KeyValue structure
   without recursion: an explicit stack of message ends, depth-limited.
   kind: P2M__NK_*.
   Also reports v1.10 evidence (key_strindex / string_value_strindex). */
static P2M__MUST int p2m__check_value(p2m__wire *w, p2m__span s, int kind, int depth,
                                      unsigned *ev10) {
    const uint8_t *stk_p[P2M__MAX_DEPTH + 1];
    const uint8_t *stk_end[P2M__MAX_DEPTH + 1];
    int stk_kind[P2M__MAX_DEPTH + 1];
    int top = 0;
    stk_p[0] = s.p;
    stk_end[0] = s.p + s.n;
    stk_kind[0] = kind;
    if (depth > P2M__MAX_DEPTH) return p2m__bad(w, s.p, P2M__MSG("nesting deeper than 32"));
    while (top >= 0) {
        p2m__field f;
        int r = p2m__next(w, &stk_p[top], stk_end[top], &f);
        int child = -1;
        if (r < 0) return -1;
        if (r == 0) { top--; continue; }
        switch (stk_kind[top]) {
        case P2M__NK_ANY:
            if (f.wt == P2M__WT_LEN && f.num == P2M__PB_ANY_VALUE_ARRAY_VALUE)
                child = P2M__NK_ARRAY;
            else if (f.wt == P2M__WT_LEN && f.num == P2M__PB_ANY_VALUE_KVLIST_VALUE)
                child = P2M__NK_KVLIST;
            else if (f.num == P2M__PB_ANY_VALUE_STRING_VALUE_STRINDEX && f.wt == P2M__WT_VARINT)
                *ev10 = 1;
            break;
        case P2M__NK_ARRAY: /* values are AnyValue */
            if (f.wt == P2M__WT_LEN && f.num == P2M__PB_ARRAY_VALUE_VALUES) child = P2M__NK_ANY;
            break;
        case P2M__NK_KVLIST: /* values are KeyValue */
            if (f.wt == P2M__WT_LEN && f.num == P2M__PB_KEY_VALUE_LIST_VALUES) child = P2M__NK_KV;
            break;
        default: /* P2M__NK_KV: value is an AnyValue; key_strindex */
            if (f.wt == P2M__WT_LEN && f.num == P2M__PB_KEY_VALUE_VALUE) child = P2M__NK_ANY;
            else if (f.num == P2M__PB_KEY_VALUE_KEY_STRINDEX && f.wt == P2M__WT_VARINT) *ev10 = 1;
            break;
        }
        if (child >= 0) {
            if (depth + top + 1 > P2M__MAX_DEPTH)
                return p2m__bad(w, f.at, P2M__MSG("nesting deeper than 32"));
            top++;
            stk_p[top] = f.s.p;
            stk_end[top] = f.s.p + f.s.n;
            stk_kind[top] = child;
        }
    }
    return 0;
}

/* Is AnyValue s one string_value of under 128 bytes, or one int_value or
   bool_value of up to 9 bytes, and nothing else (as most attribute values
   are)? Then p2m__check_value has nothing to find in it. lim: the end of
   the input, s's bytes and those after it: a varint is found a word at a
   time when its bytes may be read whole (an int value is often long: a
   thread.id, a pid); one that runs past s is not simple. A varint of at
   most eight bytes with eight readable: the first byte without a
   continuation bit must be its last, byte s.n - 2 of the word. */
P2M__INLINE int p2m__simple_value(p2m__span s, const uint8_t *lim) {
    const uint8_t *p = s.p;
    if (s.n < 2) return 0;
    if (p[0] == P2M__TAG(P2M__PB_ANY_VALUE_STRING_VALUE, P2M__WT_LEN))
        return p[1] < 0x80u && p[1] + 2u == s.n;
    if (p[0] != P2M__TAG(P2M__PB_ANY_VALUE_INT_VALUE, P2M__WT_VARINT) &&
        p[0] != P2M__TAG(P2M__PB_ANY_VALUE_BOOL_VALUE, P2M__WT_VARINT))
        return 0;
    if (!P2M__FOR_SIZE && s.n <= 9u && lim - p >= 9) {
        const uint64_t stop = ~p2m__le64(p + 1) & 0x8080808080808080u;
        return (stop & (0u - stop)) == (uint64_t)0x80u << (8u * (s.n - 2u));
    }
    return p2m__varint_end_long(p + 1, lim) == p + s.n;
}

#if !P2M__FOR_SIZE
/* Is the KeyValue s a key inline and an AnyValue holding string_value
   alone, in either order, every length one byte (most resource attributes)?
   Then *key and *val are set, and it returns 2 when the key comes first (s
   is then what p2m__bw_kv_string writes for them), 1 when the value does. */
static int p2m__kv_plain_string(p2m__span s, p2m_str *key, p2m__span *val) {
    const uint8_t *const p = s.p, *const end = s.p + s.n, *q, *kf, *vf;
    int first;
    /* two fields, the first [p, q) and the second [q, end), each with a
       one-byte length (seven bytes at least: a one-byte key, an empty value) */
    if (s.n < 7u || p[1] >= 0x80u || (size_t)(end - p) < 4u + p[1]) return 0;
    q = p + 2 + p[1];
    if (q[1] >= 0x80u || (size_t)(end - q) != 2u + q[1]) return 0;
    if (p[0] == P2M__TAG(P2M__PB_KEY_VALUE_KEY, P2M__WT_LEN) &&
        q[0] == P2M__TAG(P2M__PB_KEY_VALUE_VALUE, P2M__WT_LEN)) {
        kf = p, vf = q, first = 2;
    } else if (p[0] == P2M__TAG(P2M__PB_KEY_VALUE_VALUE, P2M__WT_LEN) &&
               q[0] == P2M__TAG(P2M__PB_KEY_VALUE_KEY, P2M__WT_LEN)) {
        kf = q, vf = p, first = 1;
    } else {
        return 0;
    }
    /* a key that is not empty; an AnyValue that is one string_value */
    if (!kf[1] || vf[1] < 2u || vf[2] != P2M__TAG(P2M__PB_ANY_VALUE_STRING_VALUE, P2M__WT_LEN) ||
        vf[3] + 2u != vf[1])
        return 0;
    key->ptr = (const char *)kf + 2;
    key->len = kf[1];
    val->p = vf + 4;
    val->n = vf[3];
    return first;
}

/* The key and value of a KeyValue s that p2m__kv_plain_string found plain
   (k its result: 1 the value first, 2 the key first; 0 not plain), as it
   sets them. Returns k. */
P2M__INLINE int p2m__kv_plain_parts(p2m__span s, int k, p2m_str *key, p2m__span *val) {
    const uint8_t *q, *kf, *vf;
    if (!k) return 0;
    q = s.p + 2 + s.p[1]; /* the second field */
    kf = k == 2 ? s.p : q;
    vf = k == 2 ? q : s.p;
    key->ptr = (const char *)kf + 2;
    key->len = kf[1];
    val->p = vf + 4;
    val->n = vf[3];
    return k;
}
#endif

/* ---- configuration and the compiled engine ------------------------------- */

#define P2M__MAGIC 0x70326d31u /* "p2m1" */

#if P2M_MAX_EXTRA < 0 || P2M_MAX_EXTRA > 64
#error "P2M_MAX_EXTRA must be 0 to 64"
#endif
#if P2M_STREAM_BUFFER < 16 || P2M_STREAM_BUFFER > 4096
#error "P2M_STREAM_BUFFER must be 16 to 4096"
#endif
/* metric ids: P2M_METRIC_CPU, _MEMORY, _FUNCTION, then declared metric x at
   P2M_METRIC_EXTRA + x */
#define P2M__NMET (4 + P2M_MAX_EXTRA)

#define P2M__U_OTHER 0 /* a unit kind: summed as the values come */
#define P2M__U_TIME 1  /* nanoseconds inside */
#define P2M__U_SIZE 2  /* bytes inside */

typedef struct p2m__metric {
    int enabled;
    int is_double;       /* units other than ns, By and counts: as_double */
    int is_gauge;        /* declared metric of snapshot types */
    int ukind;           /* P2M__U_* */
    uint32_t per_unit;   /* nanoseconds or bytes per output unit (1 for others) */
    p2m_str name, unit, description;
    const p2m_regex *stack_rx; /* declared metric: its stack_pattern, or NULL */
} p2m__metric;

/* A sample type that feeds a declared metric. */
typedef struct p2m__xtype {
    p2m_str type, unit;
    uint32_t metric;     /* P2M_METRIC_EXTRA + x */
} p2m__xtype;

#define P2M__SRC_STRING_TABLE 0u
#define P2M__SRC_FUNCTION 1u
#define P2M__SRC_ATTRIBUTE 2u

/* What a frame rule reads of the stack (docs/spec.md section 5), in the
   order of p2m__frame_froms. */
#define P2M__FR_TYPE 0u
#define P2M__FR_KIND 1u
#define P2M__FR_LIBRARY 2u
#define P2M__FR_FUNCTION 3u
#define P2M__FR_SYSCALL 4u
#define P2M__NFRAME 5u
/* p2m__stack_same compares the five values one by one */
typedef char p2m__nframe_is_five[P2M__NFRAME == 5u ? 1 : -1];
#ifndef P2M_NO_FUNCTION
static const char *const p2m__frame_froms[P2M__NFRAME] = {"type", "kind", "library", "function",
                                                          "syscall"};
/* The location attribute that gives a frame's type. */
static const char p2m__frame_type_key[] = "profile.frame.type";
static const p2m_str p2m__frame_type = {p2m__frame_type_key, sizeof p2m__frame_type_key - 1u};
#endif

typedef struct p2m__rule {
    p2m_rule_type type;
    uint32_t out_key;    /* index of its key among the distinct output keys */
    uint32_t slot;       /* ATTRIBUTE, and REGEX on an attribute: slot of the key */
    uint32_t source;     /* REGEX: P2M__SRC_* */
    uint32_t rx_index;   /* REGEX: index among the regex rules (memo row) */
    uint32_t frame;      /* FRAME: P2M__FR_* */
    const p2m_regex *rx; /* REGEX */
    uint32_t index;      /* STRING_TABLE */
    p2m_str value;       /* LITERAL value, REGEX pattern */
    p2m_str deflt;       /* default value (len 0 = none) */
} p2m__rule;

#define P2M__F_PROCESS 0
#define P2M__F_THREAD 1
#define P2M__F_PATTERN 2
#define P2M__F_STACK 3   /* subjects: the function names on the stack */
#ifdef P2M_NO_FUNCTION
#define P2M__NFILTER 3   /* no stacks, no stack filter */
#else
#define P2M__NFILTER 4
#endif

typedef struct p2m__filter {
    int enabled;
    int all_keys;              /* pattern filter without keys: every attribute */
    uint32_t n_rx;
    const p2m_regex **rx;      /* alternatives */
    uint32_t n_slots;
    uint32_t *slots;           /* subject slots (process/thread: one) */
} p2m__filter;

typedef struct p2m__type_rule {
    p2m_str type, unit;
    p2m_metric_kind metric;
    double scale;
#ifdef P2M_NO_FLOAT
    uint64_t iscale, ilimit; /* the scale as an integer; the largest value it leaves in range */
#endif
} p2m__type_rule;

#define P2M__MSG_NO_FLOAT                                                                          \
    "must be ns or By: other units give doubles, and floating point is compiled out "             \
    "(P2M_NO_FLOAT)"

/* A double's bits, read without a floating-point operation (a device
   without an FPU then links no soft-float routine for them). */
static uint64_t p2m__dbits(double d) {
    uint64_t b;
    P2M_MEMCPY(&b, &d, 8);
    return b;
}
/* Is d positive and finite? */
static int p2m__pos_finite(double d) {
    const uint64_t b = p2m__dbits(d);
    return !(b >> 63) && ((b >> 52) & 0x7FFu) != 0x7FFu && b != 0;
}
#ifdef P2M_NO_FLOAT
/* d when it is a whole number from 1 to 2^62, else 0. */
static uint64_t p2m__whole(double d) {
    const uint64_t b = p2m__dbits(d), m = (b & 0xFFFFFFFFFFFFFu) | (uint64_t)1 << 52;
    const int e = (int)((b >> 52) & 0x7FFu) - 1023;
    if ((b >> 63) || e < 0 || e > 62) return 0;
    if (e >= 52) return m << (e - 52);
    return (m & (((uint64_t)1 << (52 - e)) - 1u)) ? 0 : m >> (52 - e);
}
#endif
/* A type rule's integral form (P2M_NO_FLOAT), from its scale. The limit
   is divided out bit by bit: this runs once per rule, and a 64-bit division
   would link a libgcc routine of 700 B on a 32-bit device. */
static void p2m__type_rule_ints(p2m__type_rule *t) {
#ifdef P2M_NO_FLOAT
    uint64_t r = 0;
    int i;
    t->iscale = p2m__whole(t->scale);
    t->ilimit = 0;
    for (i = 62; t->iscale && i >= 0; i--) { /* INT64_MAX / iscale */
        r = r << 1 | 1u;
        if (r >= t->iscale) {
            r -= t->iscale;
            t->ilimit |= (uint64_t)1 << i;
        }
    }
#else
    (void)t;
#endif
}

struct p2m_engine {
    uint32_t magic;
    uint32_t n_rules, n_keys, n_slots, n_type_rules;
    p2m__metric metric[P2M__NMET];  /* by metric id */
    uint32_t n_extra, n_xtypes;     /* declared metrics; their sample types */
    p2m__xtype *xtypes;
    p2m__rule *rules;
    p2m_str *keys;                  /* distinct output keys, first-written order */
    p2m_str *slots;                 /* effective-attribute keys the engine reads */
    p2m__type_rule *type_rules;
    p2m_temporality temporality;
    uint32_t max_series;
    p2m_layout layout;
    int strict;
    p2m_function_mode function_mode;
    uint32_t fkey;                  /* output key of the function name (function metric) */
    p2m__filter filter[P2M__NFILTER]; /* process, thread, pattern, stack */
    uint32_t n_rx_rules;            /* regex rules */
    size_t rx_scratch;              /* scratch bytes of the hungriest pattern */
    int need_stacks;                /* function metric, or stack properties */
    int rx_function;                /* a regex rule on `function` */
    /* stack properties, resolved once per stack: what frame rules read
       (bit per P2M__FR_*), the names matched (stack filter, stack_pattern) */
    int stack_props;                /* frame rules, stack filter, stack patterns or rx_function */
    int need_names;                 /* function names of frames: the function metric, a
                                       function or syscall rule, stack filter or patterns */
    uint32_t frame_need;            /* bit per P2M__FR_* read by a rule (rx_function: FUNCTION) */
    uint32_t ftype_slot;            /* slot of profile.frame.type, or P2M__NONE */
    uint64_t xstack_mask;           /* bit x: declared metric x has a stack pattern */
    uint32_t state_series;          /* cumulative: series (and resources) the state holds */
    size_t state_bytes;
    int any_filter;
    int plain_rules;                /* p2m__rules_plain: p2m__attribute_set's short way */
};

P2M_API const char *p2m_version(void) { return P2M_VERSION_STRING; }

P2M_API const char *p2m_status_string(p2m_status s) {
    switch (s) {
    case P2M_OK: return "ok";
    case P2M_ERR_MALFORMED: return "malformed input";
    case P2M_ERR_INVALID_REFERENCE: return "invalid reference";
    case P2M_ERR_CONFIG: return "invalid configuration";
    case P2M_ERR_MEMORY: return "memory too small";
    case P2M_ERR_OUTPUT_TOO_SMALL: return "output buffer too small";
    case P2M_ERR_ARGUMENT: return "invalid argument";
    case P2M_ERR_UNSUPPORTED: return "not supported by this build";
    case P2M_ERR_WRITE: return "write callback failed";
    case P2M_ERR_IMAGE: return "invalid engine image";
    }
    return "unknown status";
}

P2M_API const char *p2m_layout_name(p2m_layout l) {
    switch (l) {
    case P2M_LAYOUT_AUTO: return "auto";
    case P2M_LAYOUT_V1_8: return "v1.8";
    case P2M_LAYOUT_V1_9: return "v1.9";
    case P2M_LAYOUT_V1_10: return "v1.10";
    case P2M_LAYOUT_PPROF: return "pprof";
    }
    return "unknown";
}

P2M_API void p2m_config_init(p2m_config *cfg) { p2m_config_init_size(cfg, sizeof *cfg); }

/* Every layout a caller may have holds the first layout's fields, which are
   the ones set here; a newer caller's fields past ours stay zero, as its
   header says they should. A size short of the first layout gets zeros
   and its struct_size, which p2m_engine_compile refuses. */
P2M_API void p2m_config_init_size(p2m_config *cfg, size_t size) {
    if (!cfg || size < sizeof cfg->struct_size) return;
    P2M_MEMSET(cfg, 0, size);
    cfg->struct_size = size;
    if (size < P2M__CONFIG_FIRST) return;
    cfg->cpu.enabled = 1;
    cfg->cpu.name = "cpu_time";
    cfg->cpu.unit = "ns";
    cfg->memory.enabled = 1;
    cfg->memory.name = "memory_allocation";
    cfg->memory.unit = "By";
    cfg->function.enabled = 0;
    cfg->function.name = "function_cpu_time";
    cfg->function.unit = 0; /* the cpu metric's unit */
    cfg->function_mode = P2M_FUNCTION_SELF;
    cfg->function_attribute_key = "function.name";
    cfg->attributes = 0;
    cfg->n_attributes = 0;
    cfg->process_key = "process.executable.name";
    cfg->thread_key = "thread.name";
    cfg->temporality = P2M_TEMPORALITY_DELTA;
    cfg->max_series = 2000;
    cfg->layout = P2M_LAYOUT_AUTO;
    cfg->strict = 0;
    cfg->state_max_series = 8192;
    cfg->state_bytes = (size_t)1 << 20;
}

/* The units people write, in profiles and in a metric's configuration:
   kind, base units (ns or bytes) per unit, and the UCUM spelling a metric
   in that unit emits. */
typedef struct p2m__unitdef {
    const char *name, *ucum;
    uint32_t kind, per;
} p2m__unitdef;
static const p2m__unitdef p2m__units[14] = {
    {"ns", "ns", P2M__U_TIME, 1u},          {"nanoseconds", "ns", P2M__U_TIME, 1u},
    {"us", "us", P2M__U_TIME, 1000u},       {"microseconds", "us", P2M__U_TIME, 1000u},
    {"ms", "ms", P2M__U_TIME, 1000000u},    {"milliseconds", "ms", P2M__U_TIME, 1000000u},
    {"s", "s", P2M__U_TIME, 1000000000u},   {"seconds", "s", P2M__U_TIME, 1000000000u},
    {"By", "By", P2M__U_SIZE, 1u},          {"bytes", "By", P2M__U_SIZE, 1u},
    {"KiBy", "KiBy", P2M__U_SIZE, 1024u},   {"kibibytes", "KiBy", P2M__U_SIZE, 1024u},
    {"MiBy", "MiBy", P2M__U_SIZE, 1048576u}, {"mebibytes", "MiBy", P2M__U_SIZE, 1048576u}};

static const p2m__unitdef *p2m__unit_of(p2m_str u) {
    uint32_t i;
    if (!P2M__FOR_SIZE && u.len == 0) return 0;
    for (i = 0; i < 14u; i++) /* the first byte first: most names differ there */
        if ((P2M__FOR_SIZE || p2m__units[i].name[0] == u.ptr[0]) &&
            p2m__streq(u, p2m__units[i].name))
            return &p2m__units[i];
    return 0;
}
#ifndef P2M_NO_COMPILE
static const p2m__unitdef *p2m__unit_find(const char *u) {
    return u ? p2m__unit_of(p2m__cstr(u)) : 0;
}
#endif

/* nanoseconds per time unit, 0 when s is not a time unit */
static uint64_t p2m__time_unit_ns(p2m_str s) {
    const p2m__unitdef *u = p2m__unit_of(s);
    return u && u->kind == P2M__U_TIME ? u->per : 0u;
}

/* Caller memory handed out from the bottom. The engine and the cumulative
   state are placed twice by the same code: first a dry run (base NULL: take
   only counts, returns NULL and nothing is written) whose count is the size
   reported to the caller, then for real; so the size cannot drift from the
   placement. */
typedef struct p2m__arena {
    uint8_t *base;       /* NULL: dry run */
    size_t cap, used;
} p2m__arena;

static void *p2m__take(p2m__arena *a, size_t n) {
    size_t at = (a->used + 7u) & ~(size_t)7u;
    a->used = at + n;
    if (!a->base) return 0;
    P2M_ASSERT(a->used <= a->cap);
    return a->base + at;
}
static size_t p2m__al8(size_t n) { return (n + 7u) & ~(size_t)7u; }

/* An arena over caller memory, from its first 8-byte aligned byte (so a
   size from a dry run is its count plus 7). */
static void p2m__arena_over(p2m__arena *a, void *mem, size_t size) {
    const size_t skew = (8u - ((uintptr_t)mem & 7u)) & 7u;
    a->base = (uint8_t *)mem + skew;
    a->cap = size - skew;
    a->used = 0;
}

/* ---- one request: survey ------------------------------------------------
   The survey skims the request without memory: where the dictionary and each
   ResourceProfiles lie, how many entries each table has, the layout evidence,
   and the upper bounds that size the working memory. */

/* Does the engine decode stacks (function metric, regex rules on function
   names)? Never when that code is compiled out. */
#ifdef P2M_NO_FUNCTION
#define P2M__STACKS(e) 0
#define P2M__NAMES(e) 0
#define P2M__PROPS(e) 0
#define P2M__FNCACHE(e) 0
#else
#define P2M__STACKS(e) ((e)->need_stacks) /* the stack, location, function, mapping tables */
#define P2M__NAMES(e) ((e)->need_names)   /* and the function names of frames */
#define P2M__PROPS(e) ((e)->stack_props)  /* frame rules, stack filter or stack patterns */
/* each stack's names kept for its other samples (the inclusive function
   metric; not in a build for size, which walks every sample's stack) */
#define P2M__FNCACHE(e)                                                                            \
    (!P2M__FOR_SIZE && (e)->metric[P2M_METRIC_FUNCTION].enabled &&                                 \
     (e)->function_mode == P2M_FUNCTION_INCLUSIVE)
#endif
#define P2M__FSTK_UNRESOLVED UINT32_MAX

#define P2M__EV18 1u   /* only v1.8 */
#define P2M__EVOLD 2u  /* v1.8 or v1.9 (old sample layout) */
#define P2M__EV9UP 4u  /* v1.9 or v1.10 */
#define P2M__EV10 8u   /* only v1.10 */

#define P2M__RUNS_LOG2 5
#define P2M__RUNS (1u << P2M__RUNS_LOG2)

typedef struct p2m__survey {
    p2m__span dict;
    uint32_t n_res, n_strings, n_attrs, n_res_fields;
    uint32_t n_stacks, n_locs, n_funcs, n_maps;  /* stacks read only */
    uint32_t n_lines;                            /* function names only */
    /* the spans of the string table and (stacks read) the stack, location,
       function and mapping tables lie in one block of n_spans entries;
       at[n]: where the table of ProfilesDictionary field n starts */
    uint32_t n_spans, at[P2M__PB_DICT_STACK_TABLE + 1];
    uint64_t n_profiles, n_samples, series_cap;
#if !P2M__FOR_SIZE
    uint64_t series_res;      /* the largest bound of one resource's series */
#endif
    uint64_t fnames;          /* bound on the distinct function names of one sample */
    unsigned ev;
#if !P2M__FOR_SIZE
    /* samples the survey may still read for layout evidence; ev_open: it
       ran out of them before finding any, and skipped samples unread (the
       walk then watches for evidence, see p2m__aggregate) */
    uint32_t ev_left;
    int ev_open;
    /* runs of samples the survey passed over, by their first sample's
       offset in the input (0: none): where each run ends and how many
       samples it holds, so that p2m__profile_info passes over it in one
       step. A slot per hash of the offset; a profile whose run lost its
       slot is skipped sample by sample. */
    uint32_t run_at[P2M__RUNS], run_end[P2M__RUNS], run_n[P2M__RUNS];
#endif
} p2m__survey;

/* The slot of a run of samples whose first sample is at offset at. */
#define P2M__RUN_SLOT(at) ((uint32_t)((at) * 0x9E3779B1u) >> (32 - P2M__RUNS_LOG2))

typedef struct p2m__strent { uint32_t off, len; } p2m__strent;

typedef struct p2m__val {     /* an interned attribute value (24 B on 32-bit targets) */
    uint64_t num;             /* INT, BOOL; DOUBLE as bits */
    const uint8_t *ptr;       /* STRING, BYTES, ARRAY, KVLIST */
    uint32_t len;
    uint32_t type;            /* p2m_value_type */
    uint32_t hash;
} p2m__val;

typedef struct p2m__aent {    /* a resolved attribute-table entry */
    uint32_t vid;             /* its value id */
    uint16_t slot;            /* which effective-attribute key it fills, NONE, or BADSLOT
                                 when it holds an invalid reference */
} p2m__aent;

/* An attribute-table entry in its two phases: its span in the input until
   the dictionary is indexed, then resolved (p2m__index_dictionary reads
   each span just before it writes the entry in its place). */
typedef union p2m__aslot {
    p2m__strent span;
    p2m__aent ent;
} p2m__aslot;

typedef struct p2m__series {  /* 32 B; its resource: the one whose id range holds it */
    uint64_t sum;             /* wrapping sum of int64 contributions */
    uint64_t start, end;      /* time window */
    uint32_t samples;         /* samples summed into it (a request has fewer than 2^31) */
    uint8_t metric;           /* p2m_metric_kind */
    uint8_t overflow;
    uint16_t asize;           /* encoded attributes' bytes + 1 when all are strings, else 0
                                 (P2M__ASIZE), and P2M__ASIZE_SAME */
} p2m__series;
typedef char p2m__metric_fits_a_byte[P2M__NMET <= 255 ? 1 : -1];
/* p2m__series.asize: the size, up to P2M__ASIZE_MAX, and a bit that says
   a function series has the attributes of the series before it, the name
   left out (the encoder then copies them from that point's) */
#define P2M__ASIZE_MAX 0x7FFFu
#define P2M__ASIZE_SAME 0x8000u
#define P2M__ASIZE(s) ((uint32_t)(s)->asize & P2M__ASIZE_MAX)

/* A resource's attribute or entity_refs field, for the encoders. plain
   (outside builds for size): 1 + what p2m__kv_plain_string found for an
   attribute (1: not plain, 2: the value first, 3: the key first), 0 when it
   was not looked at. */
typedef struct p2m__resfield { p2m__span s; uint32_t num; uint32_t plain; } p2m__resfield;

typedef struct p2m__res {     /* one output ResourceMetrics */
    p2m__span schema_url;
    uint64_t dropped;         /* Resource.dropped_attributes_count */
    uint32_t field_first, field_count;  /* attributes and entity_refs, in input order */
    uint32_t n_metrics;
    uint32_t kind[P2M__NMET - 1];
    uint32_t pl_first[P2M__NMET - 1], pl_count[P2M__NMET - 1];  /* point lists */
    uint32_t sres;            /* cumulative view: the state's resource */
} p2m__res;

struct p2m_result {
    uint32_t magic;
    const p2m_engine *e;
    const uint8_t *in;
    const p2m__strent *strs;
    uint32_t n_strings;
    uint32_t n_res;
    const p2m__val *vals;
    const p2m__series *ser;
    const uint32_t *ser_vids;   /* n_keys per series */
    const uint8_t *ser_pos;     /* winning rule per key, per series */
    const p2m__res *res;
    const p2m__resfield *resfields;
    const uint32_t *plist;
    const struct p2m__cum *cum;  /* cumulative view, or NULL */
    const p2m_attribute *xattrs; /* p2m_options.resource_attributes */
    size_t n_xattrs;
};

/* A sample memo entry: (attribute_indices bytes, stack class) -> outcome. */
typedef struct p2m__smemo {
    uint64_t key, key2;       /* the bytes when 16 or fewer, else a hash of them (key) */
    uint32_t off, len, stamp, outcome;
    uint32_t cls;             /* the hash of the stack's properties (its state word),
                                 0 without stack properties */
    uint32_t stk;             /* with them: the stack whose properties the entry has */
} p2m__smemo;
#define P2M__SM_NONE 0xFFFFFFFFu      /* not known (yet) */
#define P2M__SM_BAD 0xFFFFFFFEu       /* invalid reference in the sample's attributes */
#define P2M__SM_BAD_STACK 0xFFFFFFFDu /* invalid reference in its stack */
#define P2M__SM_DROP 0xFFFFFFF0u      /* dropped by a filter: one of the four below */
#define P2M__SM_DROP_PROCESS P2M__SM_DROP
#define P2M__SM_DROP_THREAD (P2M__SM_DROP + 1u)
#define P2M__SM_DROP_PATTERN (P2M__SM_DROP + 2u)
#define P2M__SM_DROP_STACK (P2M__SM_DROP + 3u)
/* The sample memo's tries (outside builds for size it is tried while it
   pays: each miss takes one, each hit adds four, up to 256): a request's
   first profile starts with P2M__MEMO_TRIES, each later one with what the
   one before left, but at least P2M__MEMO_RETRY. */
#define P2M__MEMO_TRIES 32
#define P2M__MEMO_RETRY 8

/* The properties of one stack that frame rules and stack filters read,
   resolved once per request (p2m__stack_props). */
typedef struct p2m__sprop {
    uint32_t v[P2M__NFRAME];  /* value id per P2M__FR_* the rules read, else P2M__VID_ABSENT */
    uint32_t keep;            /* the stack filter matches */
    uint64_t xmatch;          /* bit x: declared metric x's stack pattern matches */
} p2m__sprop;
#ifndef P2M_TEST_STACK_HASH_MASK
#define P2M_TEST_STACK_HASH_MASK 0x7FFFFFFFu
#endif
/* A stack's state (p2m__req.sstate): unresolved, invalid (it refers outside
   a table), or resolved: then a hash of its properties (values and
   verdict), at least P2M__SP_HASHED and below 2^31, so that a sample of a
   resolved stack reads one word, and the sample memo keys on it. */
#define P2M__SP_UNRESOLVED 0u
#define P2M__SP_INVALID 1u
#define P2M__SP_HASHED 2u
#define P2M__CLS_INVALID UINT32_MAX /* the sample memo's key of an invalid stack */

/* Do two resolved stacks have the same values and verdict? */
P2M__INLINE int p2m__stack_same(const p2m__sprop *a, const p2m__sprop *b) {
    return a->keep == b->keep && a->v[0] == b->v[0] && a->v[1] == b->v[1] &&
           a->v[2] == b->v[2] && a->v[3] == b->v[3] && a->v[4] == b->v[4];
}

/* loc_memo entries (p2m__req): off of a location whose names are not
   resolved yet; len of one whose names are invalid (off unresolved too). */
#define P2M__LOC_UNRESOLVED UINT32_MAX
#define P2M__LOC_INVALID UINT32_MAX

/* A profile's own fields and its classification (p2m__profile_info,
   p2m__classify; the request keeps the last one classified). */
typedef struct p2m__pinfo {
    p2m__span sample_type, period_type;
    uint64_t time, duration, period;
    p2m_metric_kind metric;
    int samples_cpu;          /* classified by the (samples|cpu, count) x period row */
    p2m_str type, unit;       /* the sample type, resolved */
    uint64_t n_samples;
    uint64_t x_mask;          /* declared metrics fed: bit x for P2M_METRIC_EXTRA + x */
    uint64_t t_factor;        /* ns per unit of value for time metrics, 0: not a time */
    int t_count;              /* t_factor comes from a count times the period */
    int bad;                  /* profile attributes hold an invalid reference */
    const uint8_t *bad_at;
    uint64_t factor;          /* integer multiplier, without a type rule */
    const p2m__type_rule *tr; /* the type rule that scales the values, if any */
#if !P2M__FOR_SIZE
    /* where the profile's samples lie, offsets into the input: from the
       first samples field to the end of the last (s_hi 0: none) */
    uint32_t s_lo, s_hi;
#endif
} p2m__pinfo;

#if !P2M__FOR_SIZE
/* A request's last classified profile (p2m__classify): the profile as
   classified (its value types' bytes and period, and what they made of
   it) and the result; a profile with the same three is classified the
   same (the request has one string table). */
typedef struct p2m__cls {
    p2m__pinfo pi; /* pi.sample_type.p NULL: none yet */
    int b;
} p2m__cls;
#endif

typedef struct p2m__req {
    p2m__wire w;
    const p2m_engine *e;
    const uint8_t *in;
    size_t in_len;
    p2m_stats *st;
    p2m_layout layout;
    p2m_layout forced;        /* the engine's layout, or V1_10 for a rewritten pprof input */
    uint64_t now;
    p2m__survey sv;
    /* dictionary */
    p2m__strent *strs;
    p2m__aslot *aslots;       /* per attribute entry (resolved once indexed) */
    /* interned values */
    p2m__val *vals;
    uint32_t n_vals, vals_cap;
    uint32_t *vhash;
#if !P2M__FOR_SIZE
    uint16_t *vhash16;        /* the same table of 16-bit ids when every id fits, else NULL */
#endif
    uint32_t vhash_mask;
    /* series */
    p2m__series *ser;
    uint32_t *ser_vids;
    uint8_t *ser_pos;
    uint32_t n_ser, ser_cap;
#if !P2M__FOR_SIZE /* not in builds for size, whose stack holds the request */
    uint32_t fn_abase;        /* a function feed's attribute bytes without its name, plus 2
                                 (1: not all strings); 0 until a new series needs it */
    uint32_t fn_last;         /* the series the feed made last (once fn_abase is set) */
    uint32_t fn_c0, fn_vlim;  /* a new series' size is fn_c0 plus its name's length when
                                 that is below fn_vlim (0: never) */
    uint32_t *ser_set;        /* per series in shash, with the function metric on: a
                                 function series' attribute set, the one it was made or
                                 found with (p2m__fn_find), else P2M__SET_OTHER */
#endif
    uint32_t *shash;          /* open addressing: P2M__ID1(series id), P2M__ID1_NONE = empty */
#if !P2M__FOR_SIZE
    uint32_t *ser_slot;       /* per series not an overflow point, its slot in shash */
#endif
    uint32_t shash_mask;
    /* per-rule constants and per-level slots */
    uint32_t *rule_const, *rule_def;
    uint32_t *res_slots, *prof_slots, *smp_slots;
    uint32_t *kv;
    uint8_t *kpos;
    /* output view */
    p2m__res *res;
    uint32_t n_res;
    p2m__resfield *resfields;
    uint32_t n_resfields;
    uint32_t *plist;
    uint32_t n_plist;
    /* tables: spans of every dictionary entry the request reads */
    p2m__strent *spans;       /* the block of p2m__survey.n_spans */
    p2m__strent *aspans;      /* per attribute entry, kept when names are read (build ids) */
    p2m__strent *stacks, *locs, *funcs, *maps;  /* stacks read only */
    /* function names */
    p2m__strent *loc_memo;      /* per location: first id in lines[] and count, or with count 1
                                   the id itself (one dependent load less per frame); off
                                   P2M__LOC_UNRESOLVED: not resolved yet (len 0) or invalid
                                   (len P2M__LOC_INVALID) */
    uint32_t *func_memo;        /* per function: P2M__ID1(name id), P2M__ID1_NONE = not yet */
    uint32_t *lines;
    uint32_t n_lines_used;
    uint32_t *stamps;
    uint32_t stamp;
    uint32_t *fn_list;        /* a sample's distinct function names (inclusive) */
    uint32_t fn_list_cap;
    p2m__strent *fstk;        /* inclusive, per stack: its names in fpool (off
                                 P2M__FSTK_UNRESOLVED until its first sample) */
    uint32_t *fpool, fpool_cap, fpool_used;
    const p2m_options *opt;
    /* filters and regex rules */
    uint8_t *verdict;
    uint32_t *rx_memo;        /* per (regex rule, vid): P2M__ID1(extracted vid) or P2M__ID1_NONE */
    void *rx_scratch;
    uint32_t *akey;           /* key id per attribute entry (pattern filter on every attribute) */
    uint32_t *kstamp, *kval;  /* per key id: sample stamp and value */
    uint32_t *pstamp, *ppos;  /* per key id: profile stamp and position in elist */
    uint32_t *elist;          /* resource+profile effective (key, value) pairs */
    uint32_t *rlist;          /* the resource's (key, value) pairs */
    uint32_t n_elist, n_rlist, sstamp, pstamp_now;
    int dict_done;            /* p2m__dict_scan indexed the dictionary */
    p2m__smemo *smemo;        /* sample memo (mask + 1 entries), or none (mask 0) */
    uint32_t smemo_mask, smemo_stamp;
#if !P2M__FOR_SIZE
    int memo_bytes, memo_slots; /* the memo's credits as the last profile left them */
    p2m__cls cls_last;
#endif
    /* stack properties */
    p2m__sprop *sprops;       /* per stack; entry n_stacks: stack 0 of an empty table */
    uint32_t *sstate;         /* per entry of sprops: P2M__SP_* (the entries are not cleared) */
    uint32_t vid_kernel, vid_user, vid_native; /* the frame types and kinds compared with */
    uint32_t loc_want;        /* the Location fields a frame rule reads (p2m__location_frame) */
    int leaf_only;            /* p2m__leaf_only(e), read per stack */
    uint8_t *xverdict;        /* per (declared metric, value id): 0 not judged, 1 no, 2 match */
    /* current resource */
    uint32_t cur_res;
    uint32_t res_first_ser;   /* id of its first series */
    uint32_t *count;          /* per metric id in use: its series (in working memory, so
                                 that the request's frame stays small on firmware stacks) */
    uint32_t *ovf;            /* per metric: P2M__ID1(overflow series), P2M__ID1_NONE = none yet */
} p2m__req;

static int p2m__fail_ref(p2m__req *q, const uint8_t *at, const char *msg) {
    return p2m__bad_ref(&q->w, at, msg);
}

/* The body [*v, *v + *len) of the field at p <= lim = end - 3 whose length
   takes one or two bytes, for loops over a run of fields: 2 when the next
   field starts at or below lim (no test of it against lim needed), 1 when
   this is the last field of the run that fits, 0 when the length does not
   fit or is longer (the caller's reader reads the field). */
P2M__INLINE int p2m__run_len(const uint8_t *p, const uint8_t *lim, const uint8_t *end,
                             size_t *len, const uint8_t **v) {
    size_t n = p[1];
    const uint8_t *q = p + 2;
    if (n >= 0x80u) {
        if (p[2] >= 0x80u) return 0;
        n = P2M__VARINT2(n, p[2]);
        q++;
    }
    *len = n;
    *v = q;
    if ((uintptr_t)q + n <= (uintptr_t)lim) return 2; /* as integers: q + n may pass end */
    return n <= (size_t)(end - q);
}

/* For the run loops over entries with a one-byte tag and a one-byte
   length (2 to 129 bytes each) whose last allowed start is lim: from at or
   below the bound this returns, four such entries end at or below lim, so
   the loops take four a step with no bound test between them (0 when lim
   is too low for any). */
P2M__INLINE uintptr_t p2m__lim4(const uint8_t *lim) {
    return (uintptr_t)lim < 516u ? 0u : (uintptr_t)lim - 516u;
}

/* Passes over the run of fields at p with tag byte t and a one- or
   two-byte length, adding their count to *n; p <= lim = end - 3 or nothing
   is read. Returns where the run stops: at end, or at a field that is not
   so (the caller's reader reads it). */
P2M__INLINE const uint8_t *p2m__run_skip(uint32_t t, const uint8_t *p, const uint8_t *lim,
                                         const uint8_t *end, uint64_t *n) {
    uint64_t c = 0;
    size_t len;
    const uint8_t *v;
    if (p <= lim) {
        const uintptr_t lim2 = (uintptr_t)lim - 2u; /* p + 2 + l <= lim as p + l <= lim2 */
        const uintptr_t lim4 = p2m__lim4(lim);
        while (p[0] == t) {
            int k;
            /* four entries a step, with no bound test and one count (not in
               builds for size): entry k of the step tests its tag and its
               length's high bit in one compare of two bytes, and leaves with
               k entries counted */
            while (!P2M__FOR_SIZE && (uintptr_t)p <= lim4) {
#define P2M__SKIP_ONE(k)                                                                          \
    do {                                                                                          \
        if ((((uint32_t)p[0] | (uint32_t)p[1] << 8) & 0x80FFu) != t) {                            \
            c += (k);                                                                             \
            if (p[0] != t) goto done;                                                             \
            goto one;                                                                             \
        }                                                                                         \
        p += (size_t)p[1] + 2u;                                                                   \
    } while (0)
                P2M__SKIP_ONE(0u);
                P2M__SKIP_ONE(1u);
                P2M__SKIP_ONE(2u);
                P2M__SKIP_ONE(3u);
#undef P2M__SKIP_ONE
                c += 4u;
            }
            if (!P2M__FOR_SIZE && p[0] != t) break; /* the steps' last entry ended the run */
        one:
            for (;;) { /* one-byte lengths with the next entry at or below lim: nearly all */
                const size_t l = p[1];
                if (l >= 0x80u || (uintptr_t)p + l > lim2) break;
                p += l + 2u;
                c++;
                if (p[0] != t) goto done;
            }
            if (!(k = p2m__run_len(p, lim, end, &len, &v))) break;
            p = v + len;
            c++;
            if (k == 1) break;
        }
    }
done:
    *n += c;
    return p;
}

/* p2m__next for a Profile's fields in the survey and p2m__profile_info:
   its time (fixed64) and its duration (a varint, mostly of five bytes or
   more), which p2m__next leaves to p2m__next_slow, are read here in line
   by the same helpers (p2m__i64_field, p2m__long_varint_field; outside
   builds for size; a varint of ten bytes goes to p2m__next). The sample
   walk keeps p2m__next: there this path cost its loop more than it saved. */
P2M__INLINE P2M__MUST int p2m__next_pfield(p2m__wire *w, const uint8_t **pp, const uint8_t *end,
                                           p2m__field *f) {
#if !P2M__FOR_SIZE
    const uint8_t *p = *pp;
    if (end - p >= 10 && (p[0] == P2M__TAG(P2M__PB_PROFILE_TIME_UNIX_NANO, P2M__WT_I64) ||
                          p[0] == P2M__TAG(P2M__PB_PROFILE_DURATION_NANO, P2M__WT_VARINT))) {
        f->at = f->s.p = p;
        f->s.n = 0;
        if (p[0] & 1u) { /* P2M__WT_I64 */
            p2m__i64_field(pp, P2M__PB_PROFILE_TIME_UNIX_NANO, f);
            return 1;
        }
        if (p2m__long_varint_field(pp, end, P2M__PB_PROFILE_DURATION_NANO, f)) return 1;
    }
#endif
    return p2m__next(w, pp, end, f);
}

/* Is there a Profile sample field at p (its one-byte tag and a length of
   one or two bytes that fits before end)? Its body is then [*v, *v + *len). */
P2M__INLINE int p2m__sample_field(const uint8_t *p, const uint8_t *end, uint32_t *len,
                                  const uint8_t **v) {
    return end - p >= 3 && p[0] == P2M__TAG(P2M__PB_PROFILE_SAMPLES, P2M__WT_LEN) &&
           p2m__short_len(p, end, len, v);
}

/* Skips a run of samples (Profile samples, one-byte tag, length of one or
   two bytes) from p; adds how many to *n. Anything else stops it. */
P2M__INLINE const uint8_t *p2m__skip_samples(const uint8_t *p, const uint8_t *end, uint64_t *n) {
    uint32_t len;
    const uint8_t *v;
    if (!P2M__FOR_SIZE) { /* the run loop: fewer tests per sample, more code */
        if (end - p < 3) return p;
        return p2m__run_skip(P2M__TAG(P2M__PB_PROFILE_SAMPLES, P2M__WT_LEN), p, end - 3, end, n);
    }
    while (p2m__sample_field(p, end, &len, &v)) {
        p = v + len;
        (*n)++;
    }
    return p;
}

/* One plain field at p (a one-byte tag; a varint of up to 9 bytes; a
   length of one or two bytes; fixed 64 or 32 bits): its tag byte in *t and
   its value's bytes in *v (a varint's bytes, a length's body); returns the
   field's end, or NULL when the field is not plain. */
P2M__INLINE const uint8_t *p2m__plain_field(const uint8_t *p, const uint8_t *end, uint32_t *t,
                                            p2m__span *v) {
    const uint32_t b = p[0];
    const uint8_t *q;
    uint32_t len;
    *t = b;
    if (b >= 0x80u || b < 8u) return 0;
    switch (b & 7u) {
    case P2M__WT_VARINT:
        if (!(q = p2m__varint_end9(p + 1, end))) return 0;
        v->p = p + 1;
        v->n = (uint32_t)(q - v->p);
        return q;
    case P2M__WT_LEN:
        if (end - p < 2 || !p2m__short_len(p, end, &len, &q)) return 0;
        v->p = q;
        v->n = len;
        return q + len;
    case P2M__WT_I64:
        if (end - p < 9) return 0;
        v->p = p + 1;
        v->n = 8;
        return p + 9;
    case P2M__WT_I32:
        if (end - p < 5) return 0;
        v->p = p + 1;
        v->n = 4;
        return p + 5;
    default: return 0;
    }
}

/* The layout evidence of a sample [p, end) whose fields are all plain,
   read without the field reader: 1, or 0 when a field is not plain (the
   reader then reads the sample, and reports what is malformed). The same
   evidence as p2m__survey_sample's. */
P2M__INLINE int p2m__sample_ev_plain(const uint8_t *p, const uint8_t *end, unsigned *ev) {
    unsigned e = 0;
    while (p < end) {
        uint32_t t = p[0];
        p2m__span v;
        /* the usual fields first: a one-byte tag with a varint, or with a
           length under 128 */
        if (t - 8u < 0x78u && (t & 7u) == P2M__WT_VARINT) {
            if (end - p >= 2 && p[1] < 0x80u) p += 2; /* a stack index under 128 */
            else if (!(p = p2m__varint_end9(p + 1, end))) return 0;
            continue;
        }
        if (t - 8u < 0x78u && (t & 7u) == P2M__WT_LEN && end - p >= 2 && p[1] < 0x80u &&
            (size_t)p[1] <= (size_t)(end - p - 2)) {
            p += 2 + p[1];
        } else if (!(p = p2m__plain_field(p, end, &t, &v))) {
            return 0;
        }
        if (t == P2M__TAG(P2M__PB_SAMPLE_V18_ATTRIBUTE_INDICES, P2M__WT_LEN)) e |= P2M__EVOLD;
        else if (t == P2M__TAG(P2M__PB_SAMPLE_V110_VALUES, P2M__WT_LEN)) e |= P2M__EV10;
    }
    *ev |= e;
    return 1;
}

/* Scans a sample's fields for layout evidence. */
static P2M__MUST int p2m__survey_sample(p2m__req *q, p2m__span s, unsigned *ev) {
    const uint8_t *p = s.p, *end = s.p + s.n;
    p2m__field f;
    int r;
    if (!P2M__FOR_SIZE && p2m__sample_ev_plain(p, end, ev)) return 0;
    while ((r = p2m__next(&q->w, &p, end, &f)) > 0) {
        if (f.wt != P2M__WT_LEN) continue;
        if (f.num == P2M__PB_SAMPLE_V18_ATTRIBUTE_INDICES) *ev |= P2M__EVOLD; /* packed */
        else if (f.num == P2M__PB_SAMPLE_V110_VALUES) *ev |= P2M__EV10;       /* packed */
    }
    return r;
}

/* Samples a lazy survey reads for layout evidence. The conversion is
   right without reading the rest (p2m__aggregate); the few read decide
   most requests that carry evidence in their samples at all, and in v1.10
   without values (cpu samples of eBPF agents) no sample carries any. */
#define P2M__EV_SAMPLES 4u
/* May the survey read another sample for layout evidence? Did it leave
   samples unread without finding any? (A build for size reads every sample
   until it finds some.) */
#if P2M__FOR_SIZE
#define P2M__EV_LEFT(q) 1
#define P2M__EV_OPEN(q) 0
#else
#define P2M__EV_LEFT(q) ((q)->sv.ev_left != 0)
#define P2M__EV_OPEN(q) ((q)->sv.ev_open)
#endif

static P2M__MUST int p2m__survey_profile(p2m__req *q, p2m__span s, uint64_t *samples) {
    const uint8_t *p = s.p, *end = s.p + s.n;
    p2m__field f;
    int r;
#if !P2M__FOR_SIZE
    uint64_t before;
    uint32_t at, k;
#endif
    /* Sample evidence is read here only until the first sample that has
       some, and at most sv.ev_left samples; the walk checks every converted
       sample against the decision. A forced layout is checked against the
       same evidence. */
    while ((r = p2m__next_pfield(&q->w, &p, end, &f)) > 0) {
        switch (f.num) {
        case P2M__PB_PROFILE_SAMPLES:
            if (f.wt == P2M__WT_LEN) {
#if !P2M__FOR_SIZE
                before = *samples;
#endif
                (*samples)++;
                if (!(q->sv.ev & (P2M__EVOLD | P2M__EV10)) && P2M__EV_LEFT(q)) {
                    if (p2m__survey_sample(q, f.s, &q->sv.ev) < 0) return -1;
#if P2M__FOR_SIZE
                    break;
#else
                    {
                        /* the samples that follow, in place while they are
                           plain and the evidence is still wanted */
                        uint32_t len;
                        const uint8_t *v;
                        q->sv.ev_left--;
                        while (!(q->sv.ev & (P2M__EVOLD | P2M__EV10)) && q->sv.ev_left &&
                               p2m__sample_field(p, end, &len, &v) &&
                               p2m__sample_ev_plain(v, v + len, &q->sv.ev)) {
                            p = v + len;
                            (*samples)++;
                            q->sv.ev_left--;
                        }
                    }
                    if (!(q->sv.ev & (P2M__EVOLD | P2M__EV10))) {
                        if (q->sv.ev_left) break;
                        q->sv.ev_open = 1; /* the rest is skipped unread */
                    }
#endif
                }
                p = p2m__skip_samples(p, end, samples);
#if !P2M__FOR_SIZE
                at = (uint32_t)(f.at - q->in);
                k = P2M__RUN_SLOT(at);
                q->sv.run_at[k] = at;
                q->sv.run_end[k] = (uint32_t)(p - q->in);
                q->sv.run_n[k] = (uint32_t)(*samples - before);
#endif
            }
            break;
        /* unpacked: v1.8 (in v1.9, profile_id: bytes) */
        case P2M__PB_PROFILE_V18_COMMENT_STRINDICES:
            if (f.wt == P2M__WT_VARINT) q->sv.ev |= P2M__EV18;
            break;
        /* = P2M__PB_PROFILE_V19_DROPPED_ATTRIBUTES_COUNT, a varint */
        case P2M__PB_PROFILE_V18_PROFILE_ID:
            q->sv.ev |= f.wt == P2M__WT_LEN ? P2M__EV18 : f.wt == P2M__WT_VARINT ? P2M__EV9UP : 0u;
            break;
        case P2M__PB_PROFILE_V18_ATTRIBUTE_INDICES: q->sv.ev |= P2M__EV18; break;
        default: break;
        }
    }
    return r;
}

/* KeyValue list of a Resource or InstrumentationScope (its attributes are
   field kv_field): check structure and collect v1.10 evidence. A Resource's
   entity_refs are counted with its attributes. */
static P2M__MUST int p2m__survey_kvs(p2m__req *q, p2m__span s, uint32_t kv_field, int depth,
                           uint32_t *count) {
    const uint8_t *p = s.p, *end = s.p + s.n;
    p2m__field f;
    int r;
    unsigned ev10 = 0;
#if !P2M__FOR_SIZE
    /* a run of plain string attributes (most resources' and scopes'
       first), checked in place */
    uint32_t len;
    const uint8_t *body;
    while (end - p >= 2 && p[0] == P2M__TAG(kv_field, P2M__WT_LEN) &&
           p2m__short_len(p, end, &len, &body)) {
        const p2m__span kv = {body, len};
        p2m_str k;
        p2m__span v;
        if (!p2m__kv_plain_string(kv, &k, &v)) break;
        if (count) (*count)++;
        p = body + len;
    }
#endif
    while ((r = p2m__next(&q->w, &p, end, &f)) > 0) {
        if (f.wt == P2M__WT_LEN && (f.num == kv_field || (kv_field == P2M__PB_RESOURCE_ATTRIBUTES &&
                                                          f.num == P2M__PB_RESOURCE_ENTITY_REFS))) {
#if !P2M__FOR_SIZE
            p2m_str k;
            p2m__span v;
            /* a plain string attribute holds no nested value and no evidence */
            if (f.num == kv_field && !p2m__kv_plain_string(f.s, &k, &v) &&
                p2m__check_value(&q->w, f.s, P2M__NK_KV, depth, &ev10) < 0)
                return -1;
#else
            if (f.num == kv_field && p2m__check_value(&q->w, f.s, P2M__NK_KV, depth, &ev10) < 0)
                return -1;
#endif
            if (count) (*count)++;
        }
    }
    if (ev10) q->sv.ev |= P2M__EV10;
    return r;
}

#if !P2M__FOR_SIZE
/* A run of a Location's Lines from p (before end), counted into *nl;
   returns where it stopped. */
P2M__INLINE const uint8_t *p2m__lines_run(const uint8_t *p, const uint8_t *end, uint32_t *nl) {
    uint32_t len;
    const uint8_t *v;
    while (end - p >= 2 && p[0] == P2M__TAG(P2M__PB_LOCATION_LINES, P2M__WT_LEN) &&
           p2m__short_len(p, end, &len, &v)) {
        ++*nl;
        p = v + len;
    }
    return p;
}

/* A Location's address at p (before end), if there: where it ends, NULL
   when it is not plain; p when there is none. */
P2M__INLINE const uint8_t *p2m__address_skip(const uint8_t *p, const uint8_t *end) {
    return end - p >= 2 && p[0] == P2M__TAG(P2M__PB_LOCATION_ADDRESS, P2M__WT_VARINT)
               ? p2m__varint_end_long(p + 1, end)
               : p;
}

/* A Location's mapping index of one byte at p (before end), if there:
   where it ends; p otherwise. */
P2M__INLINE const uint8_t *p2m__mapping_skip(const uint8_t *p, const uint8_t *end) {
    return end - p >= 2 && p[0] == P2M__TAG(P2M__PB_LOCATION_MAPPING_INDEX, P2M__WT_VARINT) &&
                   p[1] < 0x80u
               ? p + 2
               : p;
}
#endif

/* Counts the Lines of a Location whose fields are all plain:
   one-byte tags, varints of at most 9 bytes, lengths of one or two bytes.
   0 when it is not so (the general reader then counts, and reports what is
   malformed). */
P2M__INLINE int p2m__lines_fast(const uint8_t *p, uint32_t n, uint32_t *lines) {
    const uint8_t *end = p + n;
    uint32_t nl = 0;
#if !P2M__FOR_SIZE
    /* first the two orders encoders write, each field tested where it may
       be (a mapping index of one byte): mapping index, address, Lines
       (field order), or attribute indices, Lines, address, mapping index
       (the reverse, Go's eBPF profiler's); the loop below takes what
       follows */
    uint32_t alen; /* the attribute indices' length and body */
    const uint8_t *av, *const m = p2m__mapping_skip(p, end);
    if (m != p) {
        if (!(p = p2m__address_skip(m, end))) return 0;
        p = p2m__lines_run(p, end, &nl);
    } else if (end - p >= 2 &&
               p[0] == P2M__TAG(P2M__PB_LOCATION_ATTRIBUTE_INDICES, P2M__WT_LEN) &&
               p2m__short_len(p, end, &alen, &av)) {
        p = p2m__lines_run(av + alen, end, &nl);
        if (!(p = p2m__address_skip(p, end))) return 0;
        p = p2m__mapping_skip(p, end);
    }
#endif
    while (p < end) {
        uint32_t b = p[0];
        if (b >= 0x80u || b < 8u) return 0;
        if ((b & 7u) == P2M__WT_VARINT) {
            if (p + 1 >= end) return 0;
            p = !P2M__FOR_SIZE && b == P2M__TAG(P2M__PB_LOCATION_ADDRESS, P2M__WT_VARINT)
                    ? p2m__varint_end_long(p + 1, end)
                    : p2m__varint_end9(p + 1, end);
            if (!p) return 0;
        } else if ((b & 7u) == P2M__WT_LEN) {
            uint32_t len;
            const uint8_t *v;
            if (end - p < 2 || !p2m__short_len(p, end, &len, &v)) return 0;
            nl += b == P2M__TAG(P2M__PB_LOCATION_LINES, P2M__WT_LEN);
            p = v + len;
        } else {
            return 0;
        }
    }
    *lines = nl;
    return 1;
}

/* Lines of a location (they size the per-location name lists) by the
   general reader, for encodings p2m__lines_fast does not take (a build for
   size tries that here, the others before calling). 0 ok, -1 malformed. */
static P2M__MUST int p2m__location_lines(p2m__req *q, const uint8_t *p, uint32_t len,
                                         uint32_t *nl) {
    const uint8_t *end = p + len;
    p2m__field g;
    int r;
#if P2M__FOR_SIZE /* (else p2m__dict_entry tried it) */
    if (p2m__lines_fast(p, len, nl)) return 0;
#endif
    *nl = 0;
    while ((r = p2m__next(&q->w, &p, end, &g)) > 0)
        if (g.num == P2M__PB_LOCATION_LINES && g.wt == P2M__WT_LEN) (*nl)++;
    return r < 0 ? -1 : 0;
}

/* The longest stack (in bytes, at least its frames) and location (in
   lines) of the dictionary: they bound the names one sample can feed.
   first, first_len: the body of the first stack entry (p2m__stack_frames
   counts frames from there). */
typedef struct p2m__dmax {
    uint32_t stack, lines;
#if !P2M__FOR_SIZE
    uint32_t first_len;
    const uint8_t *first;
#endif
} p2m__dmax;

#if !P2M__FOR_SIZE
/* The bytes of [p, p + len) below 0x80: at least the varints there (each
   ends at one), so at least a stack entry's frames, and about half its
   bytes when location indices take two. A word's bytes become 1 (below
   0x80) or 0 (p2m__low_bytes); up to four such words are added (each byte
   then 0 to 4) and a multiply sums the bytes into the top one. The last
   bytes of an entry of eight or more are read in the word that ends it,
   the bytes counted already shifted out. */
P2M__INLINE uint64_t p2m__low_bytes(const uint8_t *p) {
    return (~p2m__le64(p) & 0x8080808080808080u) >> 7;
}
static uint32_t p2m__varint_ends(const uint8_t *p, uint32_t len) {
    const uint64_t ones = 0x0101010101010101u;
    uint32_t n = 0, i = 0;
    if (len < 8u) {
        for (; i < len; i++) n += p[i] < 0x80u;
        return n;
    }
    for (; i + 32u <= len; i += 32u)
        n += (uint32_t)(((p2m__low_bytes(p + i) + p2m__low_bytes(p + i + 8u) +
                          p2m__low_bytes(p + i + 16u) + p2m__low_bytes(p + i + 24u)) *
                         ones) >> 56);
    for (; i + 8u <= len; i += 8u) n += (uint32_t)((p2m__low_bytes(p + i) * ones) >> 56);
    if (i < len) /* 1 to 7 left: the top bytes of the last word */
        n += (uint32_t)(((p2m__low_bytes(p + len - 8u) >> (8u * (8u - (len - i)))) * ones) >> 56);
    return n;
}

/* Tables of up to this many stacks have their frames counted (below). */
#define P2M__FRAMES_COUNTED 1024u

/* The most frames of the n stack entries of the dictionary ending at end
   (p2m__varint_ends), the first one's body at p, len bytes; bytes, the most
   bytes of one, when an entry cannot be read (the survey read them all, so
   it does not happen). Writers put a table's entries together, so this
   reads little else. */
static uint32_t p2m__stack_frames(p2m__wire *w, const uint8_t *p, uint32_t len,
                                  const uint8_t *end, uint32_t n, uint32_t bytes) {
    uint32_t most = p2m__varint_ends(p, len);
    p += len;
    while (--n > 0) { /* the other entries: fields until the next stack entry */
        const uint8_t *v;
        for (;;) {
            if (p2m__short_field(p, end, &len, &v)) {
                const int stack = p[0] == P2M__TAG(P2M__PB_DICT_STACK_TABLE, P2M__WT_LEN);
                p = v + len;
                if (stack) break;
            } else {
                p2m__field f;
                if (p2m__next(w, &p, end, &f) <= 0) return bytes;
                if (f.num == P2M__PB_DICT_STACK_TABLE && f.wt == P2M__WT_LEN) {
                    v = f.s.p;
                    len = f.s.n;
                    break;
                }
            }
        }
        if (len > most) {
            const uint32_t c = p2m__varint_ends(v, len);
            if (c > most) most = c;
        }
    }
    return most;
}
#endif

/* Counts one dictionary entry: field num, body [p, p + len). */
P2M__INLINE P2M__MUST int p2m__dict_entry(p2m__req *q, uint32_t num, const uint8_t *p, uint32_t len,
                                int lines, p2m__dmax *mx) {
    switch (num) {
    case P2M__PB_DICT_STRING_TABLE: q->sv.n_strings++; break;
    case P2M__PB_DICT_ATTRIBUTE_TABLE: q->sv.n_attrs++; break;
    case P2M__PB_DICT_MAPPING_TABLE: q->sv.n_maps++; break;
    case P2M__PB_DICT_FUNCTION_TABLE: q->sv.n_funcs++; break;
    case P2M__PB_DICT_STACK_TABLE:
        q->sv.n_stacks++;
        if (len > mx->stack) mx->stack = len; /* bytes >= frames */
#if !P2M__FOR_SIZE
        if (!mx->first) {
            mx->first = p;
            mx->first_len = len;
        }
#endif
        break;
    case P2M__PB_DICT_LOCATION_TABLE:
        q->sv.n_locs++;
        if (lines) {
            uint32_t nl;
#if !P2M__FOR_SIZE /* the quick count in place; the general reader out of line */
            if (!p2m__lines_fast(p, len, &nl))
#endif
                if (p2m__location_lines(q, p, len, &nl) < 0) return -1;
            q->sv.n_lines += nl;
            if (nl > mx->lines) mx->lines = nl;
        }
        break;
    default: break;
    }
    return 0;
}

/* Counts the dictionary's entries. A hot loop: entries with a one-byte tag
   and a one- or two-byte length (nearly all of them) are read in place;
   anything else goes through the general reader. The rest of a run of
   strings, attributes, mappings or functions, which only count, is passed
   over by p2m__run_skip. */
static P2M__MUST int p2m__survey_dict(p2m__req *q, int lines, p2m__dmax *mx) {
    const uint8_t *dp = q->sv.dict.p, *dend = dp + q->sv.dict.n;
    p2m__field f;
    int r;
    uint32_t len;
    const uint8_t *v;
    for (;;) {
        while (p2m__short_field(dp, dend, &len, &v)) {
            const uint32_t t = dp[0];
            uint32_t *cnt;
            uint64_t n = 0;
            if (p2m__dict_entry(q, t >> 3, v, len, lines, mx) < 0) return -1;
            dp = v + len;
            if (P2M__FOR_SIZE || dend - dp < 3) continue;
            switch (t >> 3) {
            case P2M__PB_DICT_STRING_TABLE: cnt = &q->sv.n_strings; break;
            case P2M__PB_DICT_ATTRIBUTE_TABLE: cnt = &q->sv.n_attrs; break;
            case P2M__PB_DICT_MAPPING_TABLE: cnt = &q->sv.n_maps; break;
            case P2M__PB_DICT_FUNCTION_TABLE: cnt = &q->sv.n_funcs; break;
            default: continue;
            }
            dp = p2m__run_skip(t, dp, dend - 3, dend, &n);
            *cnt += (uint32_t)n;
        }
        if ((r = p2m__next(&q->w, &dp, dend, &f)) <= 0) return r;
        if (f.wt == P2M__WT_LEN && p2m__dict_entry(q, f.num, f.s.p, f.s.n, lines, mx) < 0)
            return -1;
    }
}

/* One ResourceProfiles: its resource's fields, its profiles and their
   samples (added to *samples). */
static P2M__MUST int p2m__survey_resource(p2m__req *q, p2m__span s, uint64_t *samples) {
    const uint8_t *rp = s.p, *rend = s.p + s.n;
    p2m__field g, h;
    int r;
    while ((r = p2m__next(&q->w, &rp, rend, &g)) > 0) {
        if (g.wt != P2M__WT_LEN) continue;
        if (g.num == P2M__PB_RESOURCE_PROFILES_RESOURCE) { /* attributes and entity_refs */
            if (p2m__survey_kvs(q, g.s, P2M__PB_RESOURCE_ATTRIBUTES, 4, &q->sv.n_res_fields) < 0)
                return -1;
        } else if (g.num == P2M__PB_RESOURCE_PROFILES_SCOPE_PROFILES) {
            const uint8_t *sp = g.s.p, *send = g.s.p + g.s.n;
            while ((r = p2m__next(&q->w, &sp, send, &h)) > 0) {
                if (h.wt != P2M__WT_LEN) continue;
                if (h.num == P2M__PB_SCOPE_PROFILES_PROFILES) {
                    q->sv.n_profiles++;
                    if (p2m__survey_profile(q, h.s, samples) < 0) return -1;
                } else if (h.num == P2M__PB_SCOPE_PROFILES_SCOPE) {
                    if (p2m__survey_kvs(q, h.s, P2M__PB_SCOPE_ATTRIBUTES, 5, 0) < 0) return -1;
                }
            }
            if (r < 0) return -1;
        }
    }
    return r;
}

/* The block of dictionary spans laid out table by table: the strings, then
   (stacks read) stacks, locations, mappings and (names read) functions. */
static void p2m__span_layout(p2m__survey *sv, int stacks, int names) {
    uint32_t at = sv->n_strings;
    P2M_MEMSET(sv->at, 0, sizeof sv->at);
    if (stacks) {
        sv->at[P2M__PB_DICT_STACK_TABLE] = at;
        at += sv->n_stacks;
        sv->at[P2M__PB_DICT_LOCATION_TABLE] = at;
        at += sv->n_locs;
        sv->at[P2M__PB_DICT_MAPPING_TABLE] = at;
        at += sv->n_maps;
    }
    if (names) {
        sv->at[P2M__PB_DICT_FUNCTION_TABLE] = at;
        at += sv->n_funcs;
    }
    sv->n_spans = at;
}

/* Distinct function names one sample can feed: one (self), or at most the
   names of every frame of the longest stack (inclusive), where stack bounds
   that stack's frames (p2m__dmax), lines is the most lines of a location,
   and a frame feeds one name a line, or its address's name when it has
   none (a build for size takes lines + 1, a few bytes less code). */
static uint64_t p2m__fnames_bound(const p2m__req *q, uint32_t stack, uint32_t lines) {
    uint64_t fnames = (uint64_t)q->sv.n_funcs + q->sv.n_locs + 2u;
    const uint64_t per = P2M__FOR_SIZE ? lines + 1u : lines ? lines : 1u;
    if (q->e->function_mode == P2M_FUNCTION_SELF) return 1;
    if ((uint64_t)stack * per + 1u < fnames) fnames = (uint64_t)stack * per + 1u;
    return fnames;
}

/* Adds the series bound of one resource with this many samples. */
static void p2m__survey_resource_cap(p2m__req *q, uint64_t samples) {
    const p2m_engine *e = q->e;
    /* a sample feeds cpu or memory, and each declared metric at most once */
    const uint32_t n_metrics = (e->metric[P2M_METRIC_CPU].enabled ? 1u : 0u) +
                               (e->metric[P2M_METRIC_MEMORY].enabled ? 1u : 0u) + e->n_extra;
    const uint64_t cap = (uint64_t)n_metrics * e->max_series;
    /* an overflow point needs more samples than max_series */
    const uint64_t fed = samples * (1u + e->n_extra);
    uint64_t b = (fed < cap ? fed : cap) + (samples > e->max_series ? n_metrics : 0u);
    if (e->metric[P2M_METRIC_FUNCTION].enabled) { /* one point per (attribute set, name) */
        /* min(samples x names, max_series + 1) with no 64-bit division (a
           libgcc routine on 32-bit targets): a factor past the limit decides
           it, and two below 2^24 + 1 cannot overflow */
        const uint64_t fnames = q->sv.fnames, lim = (uint64_t)e->max_series + 1u;
        uint64_t fs = 0;
        if (samples && fnames) fs = samples >= lim || fnames >= lim ? lim : samples * fnames;
        b += fs < lim ? fs : lim;
    }
    q->sv.series_cap += b;
#if !P2M__FOR_SIZE
    if (b > q->sv.series_res) q->sv.series_res = b;
#endif
}

/* The survey: skims the request without memory for the counts that size
   the working memory (dictionary tables, resources, profiles, samples) and
   an upper bound of the series. count_dict: count the dictionary here (else
   p2m__dict_scan does, while indexing it). lazy: read at most
   P2M__EV_SAMPLES samples for layout evidence (else every sample until the
   first that has some). */
static P2M__MUST int p2m__survey_request(p2m__req *q, int count_dict, int lazy) {
    const uint8_t *p = q->in, *end = q->in + q->in_len;
    p2m__field f;
    int r, pprof_checked = 0;
    p2m__dmax mx;
    mx.stack = mx.lines = 0;
#if !P2M__FOR_SIZE
    mx.first_len = 0;
    mx.first = 0;
#endif
    P2M_MEMSET(&q->sv, 0, sizeof q->sv);
#if !P2M__FOR_SIZE
    q->sv.ev_left = lazy ? P2M__EV_SAMPLES : UINT32_MAX;
#else
    (void)lazy;
#endif
    /* the dictionary first (it usually comes last): the tables' sizes bound the series.
       A pprof Profile is not converted to nothing: its first string (field 6 at the top,
       which no request has) is the empty string; anything else there is an unknown field. */
    while ((r = p2m__next(&q->w, &p, end, &f)) > 0) {
        if (f.wt != P2M__WT_LEN) continue;
        if (f.num == P2M__PB_REQ_DICTIONARY) {
            q->sv.dict = f.s;
        } else if (f.num == P2M__PB_PPROF_STRING_TABLE && !pprof_checked++ && f.s.n == 0) {
            return p2m__bad(&q->w, f.at, P2M__MSG("a pprof Profile: use the p2m_pprof_* calls"));
        }
    }
    if (r < 0) return -1;
    if (q->sv.dict.p && count_dict && p2m__survey_dict(q, P2M__NAMES(q->e), &mx) < 0) return -1;
#if !P2M__FOR_SIZE
    /* The inclusive function metric's series are bounded by the frames of
       the longest stack, not its bytes: with location indices of two bytes
       (a table of more than 127 locations) about half as many, and so about
       half the series and their working memory where a resource has too
       few samples for max_series to bound them (a real capture's request),
       and a smaller series hash to clear. Counted only in tables of up to
       P2M__FRAMES_COUNTED stacks: in a bigger one the count costs more than
       it saves, and such a request's resources usually have enough samples
       that max_series bounds their series anyway. */
    if (mx.first && q->sv.n_stacks <= P2M__FRAMES_COUNTED && P2M__FNCACHE(q->e))
        mx.stack = p2m__stack_frames(&q->w, mx.first, mx.first_len, q->sv.dict.p + q->sv.dict.n,
                                     q->sv.n_stacks, mx.stack);
#endif
    p2m__span_layout(&q->sv, P2M__STACKS(q->e), P2M__NAMES(q->e));
    q->sv.fnames = p2m__fnames_bound(q, mx.stack, mx.lines);
    p = q->in;
    while ((r = p2m__next(&q->w, &p, end, &f)) > 0) {
        uint64_t samples = 0;
        if (f.wt != P2M__WT_LEN || f.num != P2M__PB_REQ_RESOURCE_PROFILES) continue;
        q->sv.n_res++;
        if (p2m__survey_resource(q, f.s, &samples) < 0) return -1;
        q->sv.n_samples += samples;
        p2m__survey_resource_cap(q, samples);
    }
    return r < 0 ? -1 : 0;
}

/* ---- cumulative state: structures ------------------------------------------
   The state keeps, per resource, its Resource message as it is emitted, and
   per series its attributes as emitted (the KeyValue fields of the data
   point), so identity is byte equality of what is written and emitting a
   held series is a copy. During a call, new resources, series and bytes are
   written only past the committed counts, and changes to held series are
   kept in working memory; the commit at the end of a successful call is the
   only write to what the state holds. */

#define P2M__STATE_MAGIC 0x70326d73u /* "p2ms" */

typedef struct p2m__sres {
    uint32_t off, len;        /* Resource message contents, in bytes[] */
    uint32_t url_off, url_len;
    uint32_t hash;
    uint32_t count[P2M__NMET];  /* series per metric (max_series) */
    uint32_t ovf[P2M__NMET];    /* P2M__ID1(overflow series), or P2M__ID1_NONE */
} p2m__sres;

typedef struct p2m__sser {
    uint64_t sum, start, end;
    uint32_t res, metric, overflow, hash;
    uint32_t off, len;        /* its KeyValue fields (number 7) as emitted, in bytes[] */
} p2m__sser;

struct p2m_state {
    uint32_t magic;
    const p2m_engine *e;
    uint32_t cap, n_series, n_res, hash_mask;
    size_t cap_bytes, n_bytes;
    p2m__sres *res;
    p2m__sser *ser;
    uint32_t *hash;           /* committed series, open addressing: P2M__ID1(id) or P2M__ID1_NONE */
    uint8_t *bytes;
};

typedef struct p2m__pend {    /* a held series' change in this call */
    uint64_t sum, start, end;
    uint32_t touched;
    uint32_t gauge;           /* a gauge: the call's value replaces the held one */
} p2m__pend;

typedef struct p2m__cum {
    p2m_state *st;
    p2m__sser *t_ser;          /* new series of this call (ids from st->n_series) */
    p2m__sres *t_resv;         /* new resources (ids from st->n_res) */
    uint8_t *tb;               /* new bytes (offsets from st->n_bytes) */
    uint32_t t_series, t_res;  /* tentative counts (>= committed) */
    size_t t_bytes;
    p2m__pend *pend;           /* per held series */
    uint32_t *t_count, *t_ovf; /* per (resource, metric), tentative; t_ovf as p2m__sres.ovf */
    uint32_t *thash, thash_mask; /* new series of this call, as hash */
} p2m__cum;

/* Series, resources and bytes by id or offset: held ones in the state, new
   ones of this call in working memory (the state is written only at commit). */
static p2m__sser *p2m__cser(const p2m__cum *c, uint32_t id) {
    return id < c->st->n_series ? &c->st->ser[id] : &c->t_ser[id - c->st->n_series];
}
static p2m__sres *p2m__cres(const p2m__cum *c, uint32_t id) {
    return id < c->st->n_res ? &c->st->res[id] : &c->t_resv[id - c->st->n_res];
}
static uint8_t *p2m__cbytes(const p2m__cum *c, size_t off) {
    return off < c->st->n_bytes ? c->st->bytes + off : c->tb + (off - c->st->n_bytes);
}


static void p2m__cum_point(const p2m__cum *c, uint32_t sid, p2m_point *out, const p2m__metric *m) {
    const p2m__sser *x = p2m__cser(c, sid);
    uint64_t sum = x->sum, start = x->start, end = x->end;
    if (sid < c->st->n_series && c->pend[sid].touched) {
        if (c->pend[sid].gauge) sum = 0;
        sum += c->pend[sid].sum;
        if (c->pend[sid].start < start) start = c->pend[sid].start; /* as the commit does */
        if (c->pend[sid].end > end) end = c->pend[sid].end;
    }
    out->start_time_unix_nano = m->is_gauge ? 0u : start; /* a gauge point has no start */
    out->time_unix_nano = end;
    out->is_overflow = (int)x->overflow;
    out->as_int = (int64_t)sum;
    out->is_double = m->is_double;
#ifndef P2M_NO_FLOAT
    if (m->is_double) out->as_double = (double)(int64_t)sum / (double)m->per_unit;
#endif
}

/* ---- one request: working memory plan ------------------------------------ */

typedef struct p2m__plan {
    size_t aslots, vals, vhash, ser, ser_vids, ser_pos, shash, ser_slot, ser_set, consts, slots, kv,
        res, resfields, plist, result, aspans, spans, rescount, loc_memo, func_memo, lines, stamps,
        verdict, rx_memo, rx_scratch, akey, kstamp, elist, cum, smemo, fn_list, sprops, sstate,
        xverdict, fstk, fpool, total;
    uint32_t vals_cap, vhash_cap, ser_cap, shash_cap, smemo_n, fn_list_cap, fpool_cap;
} p2m__plan;

static uint32_t p2m__pow2_at_least(uint64_t n) {
    uint32_t c = 16;
    while (c < n && c < 0x80000000u) c <<= 1;
    return c;
}

#ifndef P2M_NO_CUMULATIVE
/* The working memory of a cumulative call: the merge's tentative copies
   (pending changes per held series, counts per (resource, metric), the new
   series' hash, new series, resources and bytes) and the view of the whole
   state. Placed from a; a dry run (base NULL) sizes it for the plan. */
typedef struct p2m__cumwork {
    p2m__cum *c;
    struct p2m_result *v;
    p2m__res *vres;
    uint32_t *vpl;
} p2m__cumwork;

static void p2m__cum_place(const p2m_engine *e, uint32_t ser_cap, p2m__arena *a, p2m__cumwork *w) {
    const uint32_t cap = e->state_series, tcap = p2m__pow2_at_least((uint64_t)ser_cap * 2u);
    p2m__cum *c = (p2m__cum *)p2m__take(a, sizeof *c);
    p2m__pend *pend = (p2m__pend *)p2m__take(a, (size_t)cap * sizeof(p2m__pend));
    uint32_t *t_count = (uint32_t *)p2m__take(a, (size_t)cap * (sizeof(uint32_t) * P2M__NMET));
    uint32_t *t_ovf = (uint32_t *)p2m__take(a, (size_t)cap * (sizeof(uint32_t) * P2M__NMET));
    uint32_t *thash = (uint32_t *)p2m__take(a, (size_t)tcap * 4u);
    p2m__sser *t_ser = (p2m__sser *)p2m__take(a, (size_t)cap * sizeof(p2m__sser));
    p2m__sres *t_resv = (p2m__sres *)p2m__take(a, (size_t)cap * sizeof(p2m__sres));
    uint8_t *tb = (uint8_t *)p2m__take(a, e->state_bytes);
    w->v = (struct p2m_result *)p2m__take(a, sizeof(struct p2m_result));
    w->vres = (p2m__res *)p2m__take(a, (size_t)cap * sizeof(p2m__res));
    w->vpl = (uint32_t *)p2m__take(a, (size_t)cap * 4u);
    w->c = c;
    if (!c) return;
    c->pend = pend;
    c->t_count = t_count;
    c->t_ovf = t_ovf;
    c->thash = thash;
    c->thash_mask = tcap - 1u;
    c->t_ser = t_ser;
    c->t_resv = t_resv;
    c->tb = tb;
}
#endif

/* The bytes of an entry of the value hash: 2 when every value id fits in
   16 bits (not in builds for size), which halves the table a request
   clears and reads (interning probes it once per attribute entry). */
P2M__INLINE size_t p2m__vhash_width(uint32_t vals_cap) {
    return !P2M__FOR_SIZE && vals_cap <= 0xFFFFu ? 2u : 4u;
}

/* The plan places each array at pl->total, the running offset. */
#define P2M__PLACE(field, bytes) (pl->field = pl->total, pl->total += p2m__al8(bytes))

/* An upper bound of the values a request interns: attribute entries (their
   keys too, for the pattern filter on every attribute), resource
   attributes, rule constants, function names, stack properties (libraries,
   system call names, "kernel", "user" and "native"); each regex rule can
   add one extracted value per subject value. */
static uint64_t p2m__vals_bound(const p2m__req *q) {
    const p2m_engine *e = q->e;
    const int pall = e->filter[P2M__F_PATTERN].enabled && e->filter[P2M__F_PATTERN].all_keys;
    uint64_t vals = 3u + (uint64_t)q->sv.n_attrs * (pall ? 2u : 1u) +
                    (uint64_t)q->sv.n_res_fields * (pall ? 2u : 1u) + 3u * (uint64_t)e->n_rules +
                    (P2M__NAMES(e) ? (uint64_t)q->sv.n_funcs + q->sv.n_locs + 1u : 0u);
    if (P2M__PROPS(e)) {
        vals += (uint64_t)q->sv.n_maps + 3u;
        if (e->frame_need >> P2M__FR_SYSCALL & 1u) vals += (uint64_t)q->sv.n_funcs + q->sv.n_locs;
    }
    return vals * (1u + e->n_rx_rules);
}

/* The plan's arrays for stacks: function names (per location its list of
   name ids, per function its name id, the inclusive mode's marks and name
   list) and stack properties (per stack and the empty stack, the classes'
   hash, the declared metrics' verdicts per name). */
static void p2m__plan_stacks(const p2m__req *q, p2m__plan *pl) {
    const p2m_engine *e = q->e;
    const int names = P2M__NAMES(e), props = P2M__PROPS(e);
    const int inclusive =
        e->metric[P2M_METRIC_FUNCTION].enabled && e->function_mode == P2M_FUNCTION_INCLUSIVE;
    P2M__PLACE(loc_memo, names ? (size_t)q->sv.n_locs * sizeof(p2m__strent) : 0u);
    P2M__PLACE(func_memo, names ? (size_t)q->sv.n_funcs * 4u : 0u);
    P2M__PLACE(lines, names ? ((size_t)q->sv.n_lines + q->sv.n_locs) * 4u : 0u);
    P2M__PLACE(stamps, inclusive ? (size_t)pl->vals_cap * 4u : 0u);
    pl->fn_list_cap = !e->metric[P2M_METRIC_FUNCTION].enabled ? 0u
                      : inclusive ? (uint32_t)(q->sv.fnames < pl->vals_cap ? q->sv.fnames
                                                                           : pl->vals_cap)
                                  : 1u;
    P2M__PLACE(fn_list, (size_t)pl->fn_list_cap * 4u);
    /* inclusive: each stack's names, kept at its first sample for the
       others, in a pool twice as big as the locations' names (stacks that
       do not fit are walked at each sample); not in a build for size */
    pl->fpool_cap = P2M__FNCACHE(e) ? (uint32_t)(2u * (q->sv.n_lines + q->sv.n_locs)) : 0u;
    P2M__PLACE(fstk, pl->fpool_cap ? ((size_t)q->sv.n_stacks + 1u) * sizeof(p2m__strent) : 0u);
    P2M__PLACE(fpool, (size_t)pl->fpool_cap * 4u);
    P2M__PLACE(sprops, props ? ((size_t)q->sv.n_stacks + 1u) * sizeof(p2m__sprop) : 0u);
    P2M__PLACE(sstate, props ? ((size_t)q->sv.n_stacks + 1u) * sizeof(uint32_t) : 0u);
    P2M__PLACE(xverdict, props && e->xstack_mask ? (size_t)e->n_extra * pl->vals_cap : 0u);
}

static P2M__MUST int p2m__make_plan(const p2m__req *q, p2m__plan *pl) {
    const p2m_engine *e = q->e;
    const int names = P2M__NAMES(e);
    const int pall = e->filter[P2M__F_PATTERN].enabled && e->filter[P2M__F_PATTERN].all_keys;
    const uint64_t vals = p2m__vals_bound(q), cap = q->sv.series_cap;
    uint64_t hcap;
    if (vals > 0x40000000u || cap > 0x40000000u) return -1;
    pl->vals_cap = (uint32_t)vals;
    pl->vhash_cap = p2m__pow2_at_least(vals * 2u);
    pl->ser_cap = (uint32_t)cap;
    /* series hash: it holds the series of one resource at a time (each
       resource's are taken out when the next begins), so it is sized for
       the largest resource; a build for size keeps every resource's and
       sizes it for them all. At most 2/3 full; at most 1/6 with the function metric
       on a request of 1024 samples or more, where most lookups miss (feeds
       bound for an overflow point) and a miss walks the whole run of its
       slot: 1/6 takes 11% off the bench's typical function conversion for
       384 KB more working memory. Smaller requests keep the small table:
       it stays in cache, and clearing the bigger one would cost them more
       than it saves. */
#if P2M__FOR_SIZE
    hcap = cap;
#else
    hcap = q->sv.series_res;
#endif
    pl->shash_cap = p2m__pow2_at_least(
        e->metric[P2M_METRIC_FUNCTION].enabled && q->sv.n_samples >= 1024u ? hcap * 6u + 1u
                                                                           : hcap + hcap / 2u + 1u);
    pl->total = 0;
    P2M__PLACE(result, sizeof(struct p2m_result));
    /* the dictionary's spans (p2m__dict_scan writes them here before the
       plan is made), attribute entries, their spans */
    P2M__PLACE(spans, (size_t)q->sv.n_spans * sizeof(p2m__strent));
    P2M__PLACE(aslots, (size_t)q->sv.n_attrs * sizeof(p2m__aslot));
    P2M__PLACE(aspans, names ? (size_t)q->sv.n_attrs * sizeof(p2m__strent) : 0u);
    P2M__PLACE(vals, (size_t)pl->vals_cap * sizeof(p2m__val));
    P2M__PLACE(vhash, (size_t)pl->vhash_cap * p2m__vhash_width(pl->vals_cap));
    P2M__PLACE(ser, (size_t)pl->ser_cap * sizeof(p2m__series));
    P2M__PLACE(ser_vids, (size_t)pl->ser_cap * e->n_keys * 4u);
    P2M__PLACE(ser_pos, (size_t)pl->ser_cap * e->n_keys);
    P2M__PLACE(shash, (size_t)pl->shash_cap * 4u);
    P2M__PLACE(ser_slot, P2M__FOR_SIZE ? 0u : (size_t)pl->ser_cap * 4u);
#if !P2M__FOR_SIZE
    P2M__PLACE(ser_set, e->metric[P2M_METRIC_FUNCTION].enabled ? (size_t)pl->ser_cap * 4u : 0u);
#endif
    P2M__PLACE(consts, (size_t)e->n_rules * 8u);
    /* the current resource's count and ovf per metric id in use */
    P2M__PLACE(rescount, ((size_t)P2M_METRIC_EXTRA + e->n_extra) * 8u);
    /* the resource's, profile's and sample's slots; outside builds for size
       16 bytes more, for p2m__sample_slots */
    P2M__PLACE(slots, (size_t)e->n_slots * 12u + (P2M__FOR_SIZE ? 0u : 16u));
    P2M__PLACE(kv, (size_t)e->n_keys * 5u);
    P2M__PLACE(res, (size_t)q->sv.n_res * sizeof(p2m__res));
    P2M__PLACE(resfields, (size_t)q->sv.n_res_fields * sizeof(p2m__resfield));
    P2M__PLACE(plist, (size_t)pl->ser_cap * 4u);
    p2m__plan_stacks(q, pl);
    /* filters and regex rules: a verdict byte per value, a memo row per regex rule */
    P2M__PLACE(verdict, e->any_filter ? (size_t)pl->vals_cap : 0u);
    P2M__PLACE(rx_memo, (size_t)e->n_rx_rules * pl->vals_cap * 4u);
    P2M__PLACE(rx_scratch, e->rx_scratch);
    /* pattern filter on every attribute: key ids, key stamps, effective lists */
    P2M__PLACE(akey, pall ? (size_t)q->sv.n_attrs * 4u : 0u);
    P2M__PLACE(kstamp, pall ? (size_t)pl->vals_cap * 16u : 0u);
    P2M__PLACE(elist, pall ? ((size_t)q->sv.n_attrs + q->sv.n_res_fields) * 16u : 0u);
    /* sample memo: a power of two near an eighth of the samples, 16..1024
       entries; none for the smallest requests, where it would not pay (from
       32 samples, an agent's request; a build for size, whose working memory
       for such a request stays within 4 KB, from 256) */
    pl->smemo_n = 0;
    if (q->sv.n_samples >= (P2M__FOR_SIZE ? 256u : 32u)) {
        pl->smemo_n = 16;
        while (pl->smemo_n < 1024u && (uint64_t)pl->smemo_n * 8u <= q->sv.n_samples)
            pl->smemo_n <<= 1;
    }
    P2M__PLACE(smemo, (size_t)pl->smemo_n * sizeof(p2m__smemo));
    /* cumulative: pending changes per held series, counts per (resource,
       metric), the new series' hash, and the view of the whole state */
    pl->cum = 0;
#ifndef P2M_NO_CUMULATIVE
    if (e->state_series) {
        p2m__arena dry;
        p2m__cumwork cw;
        dry.base = 0;
        dry.cap = 0;
        dry.used = 0;
        p2m__cum_place(e, pl->ser_cap, &dry, &cw);
        P2M__PLACE(cum, dry.used);
    }
#endif
    pl->total += 8u; /* the alignment slack of the caller's pointer */
    return 0;
}
#undef P2M__PLACE


/* ---- one request: dictionary index and interned values ------------------- */

/* A string table: the input and each string's span in it (a request's
   dictionary index, or a result's copy of it). */
typedef struct p2m__strtab {
    const uint8_t *in;
    const p2m__strent *strs;
    uint32_t n;
} p2m__strtab;

/* String idx of table t: 0, or -1 when idx is outside it (then ""). */
static int p2m__strtab_at(const p2m__strtab *t, uint64_t idx, p2m_str *out) {
    if (idx >= t->n) {
        out->ptr = "";
        out->len = 0;
        return idx == 0 ? 0 : -1; /* index 0 is the empty string even when the table is empty */
    }
    out->ptr = (const char *)t->in + t->strs[idx].off;
    out->len = t->strs[idx].len;
    return 0;
}

static p2m__strtab p2m__req_strtab(const p2m__req *q) {
    p2m__strtab t;
    t.in = q->in;
    t.strs = q->strs;
    t.n = q->sv.n_strings;
    return t;
}

static int p2m__string(const p2m__req *q, uint64_t idx, p2m_str *out) {
    const p2m__strtab t = p2m__req_strtab(q);
    return p2m__strtab_at(&t, idx, out);
}

static uint32_t p2m__hash_bytes(const uint8_t *p, size_t n, uint32_t seed) {
    uint32_t h = seed ^ 2166136261u;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

/* The interned values' hash: FNV-1a over eight bytes at a time (the last
   word read from the end, overlapping the one before), then mixed so that
   the low bits the table masks depend on every byte. (A build for size
   hashes byte by byte, with less code.) */
P2M__INLINE uint32_t p2m__hash_value(const uint8_t *p, size_t n, uint64_t seed) {
    uint64_t h = seed ^ 0xcbf29ce484222325u, w = 0;
    size_t i;
    if (n >= 8u) {
        for (i = 0; i + 8u < n; i += 8u) h = (h ^ p2m__le64(p + i)) * 0x100000001B3u;
        w = p2m__le64(p + n - 8u);
    } else if (n >= 4u) {
        w = (uint64_t)p2m__le32(p) << 32 | p2m__le32(p + n - 4u);
    } else {
        for (i = 0; i < n; i++) w |= (uint64_t)p[i] << (8u * i);
    }
    h = (h ^ w ^ n) * 0x100000001B3u;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9u;
    return (uint32_t)(h ^ h >> 32);
}

/* Are the n bytes at a and b equal? Out of line: in line, interning's probe
   loop kept its registers for a compare that runs only on a hash match. */
static P2M__NOINLINE int p2m__bytes_eq(const uint8_t *a, const uint8_t *b, uint32_t n) {
    uint32_t i;
    for (i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

/* Value id of (type, bytes, num), not absent nor an empty string; equal
   values get equal ids. In line: each caller below is one copy, and with
   the type and number constant (a string's) the probe loop keeps fewer
   values live. */
P2M__INLINE uint32_t p2m__intern_in(p2m__req *q, uint32_t type, const uint8_t *ptr, uint32_t len,
                                    uint64_t num) {
    uint32_t h, i, id;
    h = P2M__FOR_SIZE ? p2m__hash_bytes(ptr, len, type * 0x9E3779B1u ^ (uint32_t)num ^
                                                     (uint32_t)(num >> 32))
                      : p2m__hash_value(ptr, len, (uint64_t)type << 56 ^ num);
    for (i = h & q->vhash_mask;; i = (i + 1) & q->vhash_mask) {
        const p2m__val *v;
#if !P2M__FOR_SIZE
        id = q->vhash16 ? q->vhash16[i] : q->vhash[i];
#else
        id = q->vhash[i];
#endif
        if (id == 0) break;
        v = &q->vals[id];
        if (v->hash == h && v->type == type && v->num == num && v->len == len &&
            p2m__bytes_eq(v->ptr, ptr, len))
            return id;
    }
    P2M_ASSERT(q->n_vals < q->vals_cap);
    id = q->n_vals++;
    q->vals[id].ptr = ptr;
    q->vals[id].len = len;
    q->vals[id].type = type;
    q->vals[id].num = num;
    q->vals[id].hash = h;
#if !P2M__FOR_SIZE
    if (q->vhash16) {
        q->vhash16[i] = (uint16_t)id;
        return id;
    }
#endif
    q->vhash[i] = id;
    return id;
}

/* Value id of (type, bytes, num); equal values get equal ids. */
static uint32_t p2m__intern(p2m__req *q, uint32_t type, const uint8_t *ptr, uint32_t len,
                            uint64_t num) {
    if (type == P2M_VALUE_NONE) return P2M__VID_ABSENT;
    if (type == P2M_VALUE_STRING && len == 0) return P2M__VID_EMPTY;
    return p2m__intern_in(q, type, ptr, len, num);
}

#if P2M__FOR_SIZE
#define p2m__intern_str(q, ptr, len) p2m__intern(q, P2M_VALUE_STRING, ptr, len, 0)
#else
/* p2m__intern of a string, in line: attribute values (p2m__attr_resolve,
   once per entry of a table of thousands, where a call's register saves
   cost more than the copies). */
P2M__INLINE uint32_t p2m__intern_str_in(p2m__req *q, const uint8_t *ptr, uint32_t len) {
    return len ? p2m__intern_in(q, P2M_VALUE_STRING, ptr, len, 0) : P2M__VID_EMPTY;
}
#ifndef P2M_NO_FUNCTION
/* The same as one call: function names. */
static uint32_t p2m__intern_str(p2m__req *q, const uint8_t *ptr, uint32_t len) {
    return p2m__intern_str_in(q, ptr, len);
}
#endif
#endif

/* Parses an AnyValue into (type, bytes, num), string indices resolved
   through t; the last oneof member wins. Returns 0, or 1 when it holds an
   invalid string reference, -1 malformed. */
static P2M__MUST int p2m__anyvalue(p2m__wire *w, const p2m__strtab *t, p2m__span s, uint32_t *type,
                                   const uint8_t **ptr, uint32_t *len, uint64_t *num) {
    const uint8_t *p = s.p, *end = s.p + s.n;
    p2m__field f;
    int r, bad = 0;
    *type = P2M_VALUE_NONE;
    *ptr = 0;
    *len = 0;
    *num = 0;
    while ((r = p2m__next(w, &p, end, &f)) > 0) {
        uint32_t vt = P2M_VALUE_NONE;
        if (f.wt == P2M__WT_LEN) {
            switch (f.num) {
            case P2M__PB_ANY_VALUE_STRING_VALUE: vt = P2M_VALUE_STRING; break;
            case P2M__PB_ANY_VALUE_ARRAY_VALUE: vt = P2M_VALUE_ARRAY; break;
            case P2M__PB_ANY_VALUE_KVLIST_VALUE: vt = P2M_VALUE_KVLIST; break;
            case P2M__PB_ANY_VALUE_BYTES_VALUE: vt = P2M_VALUE_BYTES; break;
            default: break;
            }
            if (vt) { *type = vt; *ptr = f.s.p; *len = f.s.n; *num = 0; bad = 0; }
        } else if (f.wt == P2M__WT_VARINT && (f.num == P2M__PB_ANY_VALUE_BOOL_VALUE ||
                                              f.num == P2M__PB_ANY_VALUE_INT_VALUE)) {
            *type = f.num == P2M__PB_ANY_VALUE_BOOL_VALUE ? P2M_VALUE_BOOL : P2M_VALUE_INT;
            *num = f.num == P2M__PB_ANY_VALUE_BOOL_VALUE ? (f.v != 0) : f.v;
            *ptr = 0; *len = 0; bad = 0;
        } else if (f.wt == P2M__WT_I64 && f.num == P2M__PB_ANY_VALUE_DOUBLE_VALUE) {
            *type = P2M_VALUE_DOUBLE; *num = f.v; *ptr = 0; *len = 0; bad = 0;
        } else if (f.wt == P2M__WT_VARINT && f.num == P2M__PB_ANY_VALUE_STRING_VALUE_STRINDEX) {
            p2m_str sv;
            bad = p2m__strtab_at(t, f.v, &sv) < 0;
            *type = P2M_VALUE_STRING;
            *ptr = (const uint8_t *)sv.ptr;
            *len = (uint32_t)sv.len;
            *num = 0;
        }
    }
    return r < 0 ? -1 : bad;
}

/* Which slot (effective-attribute key the engine reads) a key fills. */
static uint32_t p2m__slot_of(const p2m_engine *e, p2m_str key) {
    uint32_t i;
    for (i = 0; i < e->n_slots; i++) {
#if P2M__FOR_SIZE
        if (p2m__streq2(e->slots[i], key)) return i;
#else
        /* eight bytes at a time: a key that matches is compared whole, and
           keys are long (process.executable.name) */
        const p2m_str s = e->slots[i];
        const uint8_t *a = (const uint8_t *)s.ptr, *b = (const uint8_t *)key.ptr;
        size_t k = 0;
        if (s.len != key.len) continue;
        while (k + 8u <= s.len && p2m__le64(a + k) == p2m__le64(b + k)) k += 8u;
        while (k < s.len && a[k] == b[k]) k++;
        if (k == s.len) return i;
#endif
    }
    return P2M__NONE;
}

/* The dictionary scan's state (p2m__dict_scan). */
typedef struct p2m__scan {
    p2m__strent *lo, *sp, *ap; /* the block's start, next span upward, last attribute span */
    p2m__strent *up;           /* the upward spans may reach it: ap, or lo once one did not fit
                                  or a table came in two runs (then only counting goes on) */
    uint32_t last, seen;       /* the field of the last kept span; bit n: field n seen */
    uint32_t ns, na;           /* strings, attribute entries */
    uint32_t cnt[P2M__PB_DICT_STACK_TABLE + 1]; /* entries of the other kept tables */
    uint32_t at[P2M__PB_DICT_STACK_TABLE + 1];  /* where each kept table starts */
} p2m__scan;

/* One entry of the scan: tag byte t (a LEN field up to 15; 0 for any other),
   body [v, v + len). stacks: the stack tables are kept too (a constant where
   this is inlined). */
P2M__INLINE void p2m__scan_entry(p2m__scan *s, const uint8_t *in, uint32_t t, const uint8_t *v,
                                 uint32_t len, int stacks) {
    const uint32_t num = t >> 3;
    if (t == P2M__TAG(P2M__PB_DICT_STRING_TABLE, P2M__WT_LEN)) {
        s->ns++;
    } else if (t == P2M__TAG(P2M__PB_DICT_ATTRIBUTE_TABLE, P2M__WT_LEN)) {
        if (s->sp < s->up) {
            s->up = --s->ap;
            s->ap->off = (uint32_t)(v - in);
            s->ap->len = len;
        } else {
            s->up = s->lo;
        }
        s->na++;
        return;
    } else if (stacks && (num == P2M__PB_DICT_STACK_TABLE || num == P2M__PB_DICT_LOCATION_TABLE ||
                          num == P2M__PB_DICT_MAPPING_TABLE)) {
        s->cnt[num]++;
    } else {
        return;
    }
    if (stacks && num != s->last) { /* a table starts; seen before: not one run (strings
                                       alone are one run however they come) */
        if (s->seen >> num & 1u) s->up = s->lo;
        s->seen |= 1u << num;
        s->at[num] = (uint32_t)(s->sp - s->lo);
        s->last = num;
    }
    if (s->sp < s->up) {
        s->sp->off = (uint32_t)(v - in);
        s->sp->len = len;
        s->sp++;
    } else {
        s->up = s->lo;
    }
}

/* The rest of a run of entries with tag byte t whose spans are kept, each
   recorded at *cur while it has not reached stop: upward (down 0: *cur is
   the next free entry, below stop) or downward (down 1: *cur is the last
   written, above stop), with no more tests than the entry's tag, its one-
   or two-byte length and the room left. The run ends at any other entry,
   or one that does not fit, which the caller reads. Returns where it
   stopped. One-byte lengths with the next entry at or below lim (nearly
   all) take a loop of their own, with the bound test of p2m__run_skip. */
P2M__INLINE const uint8_t *p2m__span_run(uint32_t t, const uint8_t *in, const uint8_t *dp,
                                         const uint8_t *lim, const uint8_t *dend,
                                         p2m__strent **cur, const p2m__strent *stop, int down) {
    p2m__strent *c = *cur, *e;
    if (dp <= lim) {
        const uintptr_t lim2 = (uintptr_t)lim - 2u;
        const uintptr_t lim4 = p2m__lim4(lim);
        while (dp[0] == t && (down ? c > stop : c < stop)) {
            size_t len;
            const uint8_t *v;
            int k;
            /* four entries a step, with no bound test, while four fit (not
               in builds for size): entry k of the step goes at c[k]
               (downward c[-1 - k]) and leaves with c past the entries kept */
            while (!P2M__FOR_SIZE && (uintptr_t)dp <= lim4 && (down ? c - stop : stop - c) >= 4) {
#define P2M__SPAN_ONE(k)                                                                          \
    do {                                                                                          \
        const size_t l = dp[1];                                                                   \
        if (l >= 0x80u) {                                                                         \
            c = down ? c - (k) : c + (k);                                                         \
            goto one;                                                                             \
        }                                                                                         \
        e = down ? c - 1 - (k) : c + (k);                                                         \
        e->off = (uint32_t)(dp + 2 - in);                                                         \
        e->len = (uint32_t)l;                                                                     \
        dp += l + 2u;                                                                             \
        if (dp[0] != t) {                                                                         \
            c = down ? c - 1 - (k) : c + 1 + (k);                                                 \
            goto done;                                                                            \
        }                                                                                         \
    } while (0)
                P2M__SPAN_ONE(0);
                P2M__SPAN_ONE(1);
                P2M__SPAN_ONE(2);
                P2M__SPAN_ONE(3);
#undef P2M__SPAN_ONE
                c = down ? c - 4 : c + 4;
            }
            if (c == stop) break; /* the steps took the last room */
        one:
            for (;;) {
                const size_t l = dp[1];
                if (l >= 0x80u || (uintptr_t)dp + l > lim2) break;
                e = down ? --c : c++;
                e->off = (uint32_t)(dp + 2 - in);
                e->len = (uint32_t)l;
                dp += l + 2u;
                if (dp[0] != t || c == stop) goto done;
            }
            if (!(k = p2m__run_len(dp, lim, dend, &len, &v))) break;
            e = down ? --c : c++;
            e->off = (uint32_t)(v - in);
            e->len = (uint32_t)len;
            dp = v + len;
            if (k == 1) break;
        }
    }
done:
    *cur = c;
    return dp;
}

/* The rest of a run of entries with tag byte t that were kept upward
   (strings, the stack tables), counted. */
P2M__INLINE const uint8_t *p2m__scan_run(p2m__scan *s, const uint8_t *in, uint32_t t,
                                         const uint8_t *dp, const uint8_t *lim,
                                         const uint8_t *dend) {
    p2m__strent *sp = s->sp;
    uint32_t n;
    dp = p2m__span_run(t, in, dp, lim, dend, &sp, s->up, 0);
    n = (uint32_t)(sp - s->sp);
    s->sp = sp;
    if (t == P2M__TAG(P2M__PB_DICT_STRING_TABLE, P2M__WT_LEN)) s->ns += n;
    else if (t >> 3 <= P2M__PB_DICT_STACK_TABLE) s->cnt[t >> 3] += n; /* every kept table */
    return dp;
}

/* The rest of a run of attribute-table entries, kept downward as
   p2m__scan_entry keeps them while they fit (s->up is s->ap), counted. */
P2M__INLINE const uint8_t *p2m__scan_attr_run(p2m__scan *s, const uint8_t *in, const uint8_t *dp,
                                              const uint8_t *lim, const uint8_t *dend) {
    p2m__strent *ap = s->ap;
    dp = p2m__span_run(P2M__TAG(P2M__PB_DICT_ATTRIBUTE_TABLE, P2M__WT_LEN), in, dp, lim, dend,
                       &ap, s->sp, 1);
    s->na += (uint32_t)(s->ap - ap);
    s->ap = s->up = ap;
    return dp;
}

/* Does the scan keep the entries of dictionary table num? */
P2M__INLINE int p2m__scan_keeps(uint32_t num, int stacks) {
    return num == P2M__PB_DICT_STRING_TABLE || num == P2M__PB_DICT_ATTRIBUTE_TABLE ||
           (stacks && (num == P2M__PB_DICT_STACK_TABLE || num == P2M__PB_DICT_LOCATION_TABLE ||
                       num == P2M__PB_DICT_MAPPING_TABLE));
}

/* The rest of a run of entries with tag byte t of a table the scan does
   not keep (functions, locations and stacks when no stack is read): each
   is passed over by its one- or two-byte length alone. Returns where the
   run stopped; the caller reads the entry there. */
P2M__INLINE const uint8_t *p2m__scan_skip(uint32_t t, const uint8_t *dp, const uint8_t *lim,
                                          const uint8_t *dend) {
    uint64_t n = 0;
    return p2m__run_skip(t, dp, lim, dend, &n);
}

P2M__INLINE P2M__MUST int p2m__dict_scan_in(p2m__req *q, uint8_t *lo, uint8_t *hi, int stacks) {
    const uint8_t *dp = q->sv.dict.p, *dend = dp + q->sv.dict.n;
    p2m__scan s;
    p2m__field f;
    int r;
    uint32_t k;
    P2M_MEMSET(&s, 0, sizeof s);
    s.lo = s.sp = (p2m__strent *)(void *)lo;
    s.ap = s.up = (p2m__strent *)(void *)hi; /* hi == lo: nothing fits */
    for (;;) {
        if (dend - dp >= 3) { /* one-byte tag, one- or two-byte length: nearly every entry */
            const uint8_t *lim = dend - 3;
            while (dp <= lim) {
                const uint32_t t = dp[0];
                uint32_t len;
                const uint8_t *v;
                if ((t & 0x87u) != P2M__WT_LEN || t < 8u || !p2m__short_len(dp, dend, &len, &v))
                    break;
                {
                    const p2m__strent *const before = s.sp;
                    p2m__scan_entry(&s, q->in, t, v, (uint32_t)len, stacks);
                    dp = v + len;
                    /* -Os: the loop reads the rest too */
                    if (!P2M__FOR_SIZE && s.sp != before) {
                        dp = p2m__scan_run(&s, q->in, t, dp, lim, dend);
                    } else if (!P2M__FOR_SIZE &&
                               t == P2M__TAG(P2M__PB_DICT_ATTRIBUTE_TABLE, P2M__WT_LEN) &&
                               s.up == s.ap) {
                        dp = p2m__scan_attr_run(&s, q->in, dp, lim, dend);
                    } else if (!P2M__FOR_SIZE && !p2m__scan_keeps(t >> 3, stacks)) {
                        dp = p2m__scan_skip(t, dp, lim, dend);
                    }
                }
            }
        }
        if ((r = p2m__next(&q->w, &dp, dend, &f)) <= 0) break;
        if (f.wt == P2M__WT_LEN && f.num < 16u)
            p2m__scan_entry(&s, q->in, P2M__TAG(f.num, P2M__WT_LEN), f.s.p, f.s.n, stacks);
    }
    if (r < 0) return -1;
    q->sv.n_strings = s.ns;
    q->sv.n_attrs = s.na;
    if (stacks) {
        q->sv.n_stacks = s.cnt[P2M__PB_DICT_STACK_TABLE];
        q->sv.n_locs = s.cnt[P2M__PB_DICT_LOCATION_TABLE];
        q->sv.n_maps = s.cnt[P2M__PB_DICT_MAPPING_TABLE];
    }
    p2m__span_layout(&q->sv, stacks, 0);
    q->dict_done = s.up != s.lo;
    if (stacks && q->dict_done)
        for (k = 0; k <= P2M__PB_DICT_STACK_TABLE; k++)
            if (s.seen >> k & 1u) q->sv.at[k] = s.at[k];
    return 0;
}

/* The dictionary read once when no function name is needed: counts every
   table and records the spans of the strings and, when stacks are read, of
   the stacks, locations and mappings upward from lo in the order
   they come (each table one run, as serialisers write them; else the
   request falls back to p2m__index_dictionary), attribute entries downward
   from hi (last first), while they fit; past that it only counts (the plan
   then asks for more memory). Other tables are skipped by their length. A
   hot loop: entries with a one-byte tag and a one- or two-byte length
   (nearly all) are read in place. It is compiled once per kind of request,
   so that the loop tests only the tables it keeps. */
static P2M__NOINLINE P2M__MUST int p2m__dict_scan(p2m__req *q, uint8_t *lo, uint8_t *hi,
                                                  int stacks) {
    return stacks ? p2m__dict_scan_in(q, lo, hi, 1) : p2m__dict_scan_in(q, lo, hi, 0);
}

/* key_strindex as a varint of up to four bytes at p (its tag read): its
   end, or NULL. */
P2M__INLINE const uint8_t *p2m__kvu_key(const uint8_t *p, const uint8_t *end, uint64_t *key) {
    uint32_t v = 0, i;
    if (end - p >= 4) { /* unrolled: indices of three bytes are common in large tables */
        v = p[0];
        if (v < 0x80u) {
            *key = v;
            return p + 1;
        }
        if (p[1] < 0x80u) {
            *key = P2M__VARINT2(v, p[1]);
            return p + 2;
        }
        if (p[2] < 0x80u) {
            *key = P2M__VARINT3(v, p[1], p[2]);
            return p + 3;
        }
        if (p[3] >= 0x80u) return 0;
        *key = P2M__VARINT3(v, p[1], p[2]) + ((uint32_t)p[3] << 21) - 0x200000u; /* p[2]'s bit */
        return p + 4;
    }
    if (p < end && p[0] < 0x80u) { /* a key last in its entry (Go's order): mostly one byte */
        *key = p[0];
        return p + 1;
    }
    for (i = 0; i < 4u && i < (size_t)(end - p); i++) {
        v |= (uint32_t)(p[i] & 0x7fu) << (7u * i);
        if (p[i] < 0x80u) {
            *key = v;
            return p + i + 1;
        }
    }
    return 0;
}

/* Is the attribute entry [p, end) in a shape nearly every sender writes:
   key_strindex (a varint of up to four bytes) and the value (a one-byte
   length), in either order, or the value alone, and nothing else? Then
   *key and *val are read from it as the field reader would. */
P2M__INLINE int p2m__kvu_plain(const uint8_t *p, const uint8_t *end, uint64_t *key,
                               p2m__span *val) {
    uint64_t k = 0;
    const int key_first = p < end && p[0] == P2M__TAG(P2M__PB_KVU_KEY_STRINDEX, P2M__WT_VARINT);
    if (key_first && !(p = p2m__kvu_key(p + 1, end, &k))) return 0;
    if (end - p < 2 || p[0] != P2M__TAG(P2M__PB_KVU_VALUE, P2M__WT_LEN) || p[1] >= 0x80u ||
        (size_t)(end - p) < 2u + p[1])
        return 0;
    val->p = p + 2;
    val->n = p[1];
    p += 2u + p[1];
    if (p != end) { /* the key after the value (Go's eBPF profiler writes them so) */
        if (key_first || p[0] != P2M__TAG(P2M__PB_KVU_KEY_STRINDEX, P2M__WT_VARINT) ||
            p2m__kvu_key(p + 1, end, &k) != end)
            return 0;
    }
    *key = k;
    return 1;
}

/* The entries of dictionary table num that the survey counted (the room
   of its spans in the spans block; 0 for a table it does not count). */
P2M__INLINE uint32_t p2m__table_count(const p2m__survey *sv, uint32_t num) {
    switch (num) {
    case P2M__PB_DICT_STRING_TABLE: return sv->n_strings;
    case P2M__PB_DICT_STACK_TABLE: return sv->n_stacks;
    case P2M__PB_DICT_LOCATION_TABLE: return sv->n_locs;
    case P2M__PB_DICT_MAPPING_TABLE: return sv->n_maps;
    case P2M__PB_DICT_FUNCTION_TABLE: return sv->n_funcs;
    default: return 0;
    }
}

/* Does p2m__index_dictionary keep the spans of dictionary table num (not
   the attribute table's, which it keeps apart)? */
P2M__INLINE int p2m__index_keeps(uint32_t num, int stacks, int names) {
    return num == P2M__PB_DICT_STRING_TABLE ||
           (num == P2M__PB_DICT_FUNCTION_TABLE
                ? names
                : stacks && num != P2M__PB_DICT_LINK_TABLE && num != P2M__PB_DICT_ATTRIBUTE_TABLE &&
                      num <= P2M__PB_DICT_STACK_TABLE);
}

/* Records the span of dictionary entry [v, v + len) of table num for
   p2m__index_dictionary: attribute entries in order (na: how many so far),
   the other kept tables at their place in the spans block (cnt: entries so
   far per table); the rest is left out. */
P2M__INLINE void p2m__index_entry(p2m__req *q, uint32_t num, const uint8_t *v, uint32_t len,
                                  uint32_t *cnt, uint32_t *na, int stacks, int names) {
    p2m__strent *t;
    if (num == P2M__PB_DICT_ATTRIBUTE_TABLE) {
        t = &q->aslots[*na].span;
        if (q->aspans) {
            q->aspans[*na].off = (uint32_t)(v - q->in);
            q->aspans[*na].len = len;
        }
        ++*na;
    } else if (p2m__index_keeps(num, stacks, names)) {
        t = &q->spans[q->sv.at[num] + cnt[num]++];
    } else {
        return;
    }
    t->off = (uint32_t)(v - q->in);
    t->len = len;
}

#if !P2M__FOR_SIZE
/* Attribute entry a resolved with its key's slot and its simple value val
   (p2m__simple_value): no value for a key nothing reads, a string value
   interned (in line). 1 when it was so, else 0 (the entry unwritten). */
P2M__INLINE int p2m__attr_resolve(p2m__req *q, p2m__aent *a, uint16_t slot, p2m__span val) {
    if (slot == P2M__NONE) {
        a->vid = P2M__VID_ABSENT;
    } else if (val.p[0] == P2M__TAG(P2M__PB_ANY_VALUE_STRING_VALUE, P2M__WT_LEN)) {
        a->vid = p2m__intern_str_in(q, val.p + 2, val.p[1]);
    } else {
        return 0;
    }
    a->slot = slot;
    return 1;
}

/* Attribute-table entry i in the common case, resolved as
   p2m__index_dictionary resolves it: a key and a value as p2m__kvu_plain
   reads them, the value simple (p2m__simple_value, so no structure to
   check), the key a string of the table (its slot then in the cache ck /
   cs of the last keys' slots), and the value a string when the slot is
   read. 1 when it was so, else 0 (the entry unwritten: the general reader
   takes it). */
P2M__INLINE int p2m__index_attr_quick(p2m__req *q, uint32_t i, uint64_t *ck, uint16_t *cs) {
    const p2m__strent span = q->aslots[i].span;
    const uint8_t *const kp = q->in + span.off;
    uint64_t key_idx = 0;
    p2m__span val;
    if (!p2m__kvu_plain(kp, kp + span.len, &key_idx, &val) ||
        !p2m__simple_value(val, q->in + q->in_len))
        return 0;
    if (ck[key_idx & 7u] != key_idx) {
        p2m_str key;
        if (p2m__string(q, key_idx, &key) < 0) return 0;
        ck[key_idx & 7u] = key_idx;
        cs[key_idx & 7u] = (uint16_t)p2m__slot_of(q->e, key);
    }
    return p2m__attr_resolve(q, &q->aslots[i].ent, cs[key_idx & 7u], val);
}

/* The keys of the entries p2m__index_attr_raw read last, as they were
   written, key first (in field order, as most encoders write an entry):
   entry c (the key's first varint byte mod 8) holds the first n bytes (two
   to four) of such an entry, its tag and key, as the low n bytes of raw
   (mask: those bytes' mask; 0, with raw 1, when empty), and the slot of
   that key. Any entry that starts with those bytes has that key. */
typedef struct p2m__rawkeys {
    uint32_t raw[8], mask[8];
    uint16_t slot[8];
    uint8_t n[8];
} p2m__rawkeys;

/* p2m__index_attr_quick with the raw keys rk: an entry that starts with a
   key of rk, then a value of a one-byte length to its end, takes that
   key's slot without its key being read; the others go through
   p2m__index_attr_quick, and one it resolved that starts with its key
   leaves the key's bytes in rk. */
P2M__INLINE int p2m__index_attr_raw(p2m__req *q, uint32_t i, uint64_t *ck, uint16_t *cs,
                                    p2m__rawkeys *rk) {
    const p2m__strent span = q->aslots[i].span;
    const uint8_t *const kp = q->in + span.off;
    uint32_t c, n;
    if (span.len < 4u) return p2m__index_attr_quick(q, i, ck, cs);
    c = kp[1] & 7u;
    n = rk->n[c];
    if ((p2m__le32(kp) & rk->mask[c]) == rk->raw[c] && n + 2u <= span.len &&
        kp[n] == P2M__TAG(P2M__PB_KVU_VALUE, P2M__WT_LEN) && kp[n + 1u] < 0x80u &&
        n + 2u + kp[n + 1u] == span.len) {
        p2m__span val;
        val.p = kp + n + 2u;
        val.n = kp[n + 1u];
        return p2m__simple_value(val, q->in + q->in_len) &&
               p2m__attr_resolve(q, &q->aslots[i].ent, rk->slot[c], val);
    }
    if (!p2m__index_attr_quick(q, i, ck, cs)) return 0;
    if (kp[0] == P2M__TAG(P2M__PB_KVU_KEY_STRINDEX, P2M__WT_VARINT)) {
        /* its tag and key varint, when they take two to four bytes */
        n = kp[1] < 0x80u ? 2u : kp[2] < 0x80u ? 3u : kp[3] < 0x80u ? 4u : 0u;
        if (n) {
            rk->mask[c] = n == 4u ? 0xFFFFFFFFu : (1u << 8u * n) - 1u;
            rk->raw[c] = p2m__le32(kp) & rk->mask[c];
            rk->n[c] = (uint8_t)n;
            rk->slot[c] = q->aslots[i].ent.slot;
        }
    }
    return 1;
}

/* Does p2m__index_attr_raw read the na attribute entries faster than
   p2m__index_attr_quick? When they come key first with keys of several
   bytes (a large string table), as the middle one tells: a key of one
   byte, or one after the value, is read as fast without. */
P2M__INLINE int p2m__raw_keys_pay(const p2m__req *q, uint32_t na) {
    const p2m__strent span = q->aslots[na / 2u].span;
    const uint8_t *const kp = q->in + span.off;
    return na >= 16u && span.len >= 4u &&
           kp[0] == P2M__TAG(P2M__PB_KVU_KEY_STRINDEX, P2M__WT_VARINT) && kp[1] >= 0x80u;
}
#endif

/* Attribute-table entry i, resolved in its place: its key's slot (through
   the cache ck / cs of the last keys' slots outside builds for size, which
   pass NULL), BADSLOT when it holds an invalid reference, and its value
   interned when a slot or a pattern key reads it. 0, or -1 malformed. Out
   of line beside p2m__index_attr_quick, which takes most entries (a build
   for size, without it, keeps one body). */
#if P2M__FOR_SIZE
P2M__INLINE P2M__MUST int
#else
static P2M__NOINLINE P2M__MUST int
#endif
p2m__index_attr(p2m__req *q, uint32_t i, uint64_t *ck, uint16_t *cs) {
    const p2m__strent span = q->aslots[i].span; /* read before the entry takes its place */
    p2m__aent *a = &q->aslots[i].ent;
    const uint8_t *kp = q->in + span.off, *kend = kp + span.len;
    p2m__field g;
    uint64_t key_idx = 0;
    p2m__span val = {p2m__nothing, 0};
    int has_val = 0, simple = 0, rr;
    unsigned ev10 = 0;
    p2m_str key;
    a->vid = P2M__VID_ABSENT;
    a->slot = P2M__NONE;
    if (!P2M__FOR_SIZE && p2m__kvu_plain(kp, kend, &key_idx, &val)) {
        has_val = 1;
    } else {
        while ((rr = p2m__next(&q->w, &kp, kend, &g)) > 0) {
            if (g.num == P2M__PB_KVU_KEY_STRINDEX && g.wt == P2M__WT_VARINT) {
                key_idx = g.v;
            } else if (g.num == P2M__PB_KVU_VALUE && g.wt == P2M__WT_LEN) {
                val = g.s;
                has_val = 1;
            }
        }
        if (rr < 0) return -1;
    }
    if (has_val && !(simple = !P2M__FOR_SIZE && p2m__simple_value(val, q->in + q->in_len))) {
        if (p2m__check_value(&q->w, val, P2M__NK_ANY, 4, &ev10) < 0) return -1;
        if (ev10) q->sv.ev |= P2M__EV10;
    }
#if !P2M__FOR_SIZE
    if (!q->akey && ck[key_idx & 7u] == key_idx && key_idx != UINT64_MAX) {
        a->slot = cs[key_idx & 7u];
    } else {
        if (p2m__string(q, key_idx, &key) < 0) { a->slot = P2M__BADSLOT; return 0; }
        a->slot = (uint16_t)p2m__slot_of(q->e, key);
        ck[key_idx & 7u] = key_idx;
        cs[key_idx & 7u] = a->slot;
    }
#else
    (void)ck;
    (void)cs;
    if (p2m__string(q, key_idx, &key) < 0) { a->slot = P2M__BADSLOT; return 0; }
    a->slot = (uint16_t)p2m__slot_of(q->e, key);
#endif
    if (q->akey)
        q->akey[i] =
            p2m__intern(q, P2M_VALUE_STRING, (const uint8_t *)key.ptr, (uint32_t)key.len, 0);
    if ((a->slot != P2M__NONE || q->akey) && has_val) {
        const p2m__strtab tab = p2m__req_strtab(q);
        uint32_t type, len;
        const uint8_t *ptr;
        uint64_t num;
        int b = 0;
        if (simple && val.p[0] == P2M__TAG(P2M__PB_ANY_VALUE_STRING_VALUE, P2M__WT_LEN)) {
            type = P2M_VALUE_STRING; /* as p2m__anyvalue reads it */
            ptr = val.p + 2;
            len = val.p[1];
            num = 0;
        } else if ((b = p2m__anyvalue(&q->w, &tab, val, &type, &ptr, &len, &num)) < 0) {
            return -1;
        }
        if (b) a->slot = P2M__BADSLOT;
        else a->vid = p2m__intern(q, type, ptr, len, num);
    }
    return 0;
}

/* One pass over the dictionary (unless p2m__dict_scan made it): the spans
   of the string table, the attribute table and, when stacks are read, the
   stack, location, function and mapping tables; then each attribute entry
   is resolved (afterwards, since it may refer to strings that come later). */
static P2M__NOINLINE P2M__MUST int p2m__index_dictionary(p2m__req *q) {
    const int stacks = P2M__STACKS(q->e), names = P2M__NAMES(q->e);
    const uint8_t *p, *end;
    p2m__field f;
    int r;
    uint32_t cnt[P2M__PB_DICT_STACK_TABLE + 1], na = 0, i;
#if !P2M__FOR_SIZE
    /* the slots of the last keys seen, by key_strindex mod 8: entries repeat
       a few keys (thread.id, thread.name, ...); UINT64_MAX: none */
    uint64_t ck[8];
    uint16_t cs[8];
    p2m__rawkeys rk;
    P2M_MEMSET(ck, 0xff, sizeof ck);
    P2M_MEMSET(cs, 0xff, sizeof cs);
    P2M_MEMSET(&rk, 0, sizeof rk);
    for (i = 0; i < 8u; i++) rk.raw[i] = 1u; /* (with mask 0: never a match) */
#endif
    if (!q->sv.dict.p) return 0;
    P2M_MEMSET(cnt, 0, sizeof cnt);
    p = q->sv.dict.p;
    end = p + q->sv.dict.n;
    if (q->dict_done) { p = end; na = q->sv.n_attrs; } /* p2m__dict_scan did this pass */
    for (;;) {
#if !P2M__FOR_SIZE
        /* a one-byte tag and a one- or two-byte length (nearly every entry):
           read in place, as p2m__next would */
        if (end - p >= 3) {
            const uint8_t *const lim = end - 3;
            int k = 2; /* as p2m__run_len: 2 while the next entry starts at or below lim */
            while (k == 2) {
                const uint32_t t = p[0], num = t >> 3;
                size_t len;
                const uint8_t *v;
                if ((t & 0x87u) != P2M__WT_LEN || t < 8u) break;
                if (num == P2M__PB_DICT_ATTRIBUTE_TABLE) {
                    if (!(k = p2m__run_len(p, lim, end, &len, &v))) break;
                    p2m__index_entry(q, num, v, (uint32_t)len, cnt, &na, stacks, names);
                    p = v + len;
                } else { /* a run of one table's entries: spans kept one after another */
                    if (p2m__index_keeps(num, stacks, names)) {
                        p2m__strent *const base = &q->spans[q->sv.at[num]];
                        p2m__strent *c = base + cnt[num];
                        p = p2m__span_run(t, q->in, p, lim, end, &c,
                                          base + p2m__table_count(&q->sv, num), 0);
                        cnt[num] = (uint32_t)(c - base);
                    } else {
                        uint64_t n = 0;
                        p = p2m__run_skip(t, p, lim, end, &n);
                    }
                    /* as p2m__run_len: go on at another table's entry; an entry
                       of this one that the run left is the general reader's */
                    k = p > lim ? 1 : p[0] != t ? 2 : 0;
                }
            }
        }
#endif
        if ((r = p2m__next(&q->w, &p, end, &f)) <= 0) break;
        if (f.wt == P2M__WT_LEN && f.num <= P2M__PB_DICT_STACK_TABLE)
            p2m__index_entry(q, f.num, f.s.p, f.s.n, cnt, &na, stacks, names);
    }
    if (r < 0) return -1;
#if !P2M__FOR_SIZE
    if (!q->akey && p2m__raw_keys_pay(q, na)) {
        for (i = 0; i < na; i++)
            if (!p2m__index_attr_raw(q, i, ck, cs, &rk) && p2m__index_attr(q, i, ck, cs) < 0)
                return -1;
        return 0;
    }
#endif
    for (i = 0; i < na; i++) {
#if !P2M__FOR_SIZE
        if (!q->akey && p2m__index_attr_quick(q, i, ck, cs)) continue;
        if (p2m__index_attr(q, i, ck, cs) < 0) return -1;
#else
        if (p2m__index_attr(q, i, 0, 0) < 0) return -1;
#endif
    }
    return 0;
}

static P2M__MUST p2m_status p2m__decide_layout(p2m__req *q) {
    unsigned ev = q->sv.ev;
    const p2m_layout forced = q->forced;
    q->st->layout_evidence = !ev ? P2M_LAYOUT_AUTO
                             : (ev & P2M__EV18) ? P2M_LAYOUT_V1_8
                             : (ev & P2M__EVOLD) ? P2M_LAYOUT_V1_9 : P2M_LAYOUT_V1_10;
    if (forced != P2M_LAYOUT_AUTO) {
        unsigned bad = forced == P2M_LAYOUT_V1_8   ? (P2M__EV9UP | P2M__EV10)
                       : forced == P2M_LAYOUT_V1_9 ? (P2M__EV18 | P2M__EV10)
                                                   : (P2M__EV18 | P2M__EVOLD);
        q->layout = forced;
        if (ev & bad) {
            q->st->layout_conflict = 1;
            if (q->e->strict) {
                p2m__fail(q->w.err, P2M_ERR_MALFORMED, 0,
                          P2M__MSG("the forced layout contradicts the input's layout evidence "
                                   "(stats: layout_evidence)"));
                return q->w.st = P2M_ERR_MALFORMED;
            }
        }
        return P2M_OK;
    }
    if ((ev & P2M__EV18) && (ev & (P2M__EV9UP | P2M__EV10))) {
        p2m__fail(q->w.err, P2M_ERR_MALFORMED, 0,
                  P2M__MSG("contradicting layout evidence: v1.8 and a newer layout"));
        return q->w.st = P2M_ERR_MALFORMED;
    }
    if ((ev & P2M__EVOLD) && (ev & P2M__EV10)) {
        p2m__fail(q->w.err, P2M_ERR_MALFORMED, 0,
                  P2M__MSG("contradicting layout evidence: v1.8/v1.9 samples and v1.10"));
        return q->w.st = P2M_ERR_MALFORMED;
    }
    if (ev & P2M__EV18) q->layout = P2M_LAYOUT_V1_8;
    else if (ev & P2M__EVOLD) q->layout = P2M_LAYOUT_V1_9;
    else q->layout = P2M_LAYOUT_V1_10;
    return P2M_OK;
}

/* Adds (key, value) to the effective list of the current profile, replacing
   an earlier entry of the same key. */
static void p2m__elist_put(p2m__req *q, uint32_t key, uint32_t vid) {
    if (q->pstamp[key] == q->pstamp_now) {
        q->elist[2 * q->ppos[key] + 1] = vid;
        return;
    }
    q->pstamp[key] = q->pstamp_now;
    q->ppos[key] = q->n_elist;
    q->elist[(size_t)2 * q->n_elist] = key;
    q->elist[2 * q->n_elist + 1] = vid;
    q->n_elist++;
}

/* ---- one request: profiles and their classification ---------------------- */

#if !P2M__FOR_SIZE
/* A varint of one or two bytes at p < end into *v: its end, or NULL when
   it is not so. */
P2M__INLINE const uint8_t *p2m__index12(const uint8_t *p, const uint8_t *end, uint64_t *v) {
    if (p[0] < 0x80u) {
        *v = p[0];
        return p + 1;
    }
    if (end - p < 2 || p[1] >= 0x80u) return 0;
    *v = P2M__VARINT2(p[0], p[1]);
    return p + 2;
}
#endif

static int p2m__value_type(p2m__req *q, p2m__span s, p2m_str *type, p2m_str *unit) {
    const uint8_t *p = s.p, *end = s.p + s.n;
    p2m__field f;
    int r, bad = 0;
    uint64_t t = 0, u = 0;
#if !P2M__FOR_SIZE
    /* most senders' shape: type and unit, in either order, each index of
       one or two bytes, read here in place (p2m__next would leave a last
       field two bytes from the end to p2m__next_slow) */
    const uint32_t tt = P2M__TAG(P2M__PB_VALUE_TYPE_TYPE_STRINDEX, P2M__WT_VARINT),
                   tu = P2M__TAG(P2M__PB_VALUE_TYPE_UNIT_STRINDEX, P2M__WT_VARINT);
    if (s.n == 4 && p[1] < 0x80u && p[3] < 0x80u &&
        ((p[0] == tt && p[2] == tu) || (p[0] == tu && p[2] == tt))) { /* one byte each */
        t = p[0] == tt ? p[1] : p[3];
        u = p[0] == tt ? p[3] : p[1];
        p = end;
    } else if (s.n >= 5 && s.n <= 6 && (p[0] == tt || p[0] == tu)) {
        const uint8_t *n;
        uint64_t a = 0, b = 0;
        if ((n = p2m__index12(p + 1, end, &a)) != 0 && end - n >= 2 &&
            n[0] == (p[0] == tt ? tu : tt) && p2m__index12(n + 1, end, &b) == end) {
            t = p[0] == tt ? a : b;
            u = p[0] == tt ? b : a;
            p = end;
        }
    }
#endif
    while ((r = p2m__next(&q->w, &p, end, &f)) > 0) {
        if (f.wt != P2M__WT_VARINT) continue;
        if (f.num == P2M__PB_VALUE_TYPE_TYPE_STRINDEX) t = f.v;
        else if (f.num == P2M__PB_VALUE_TYPE_UNIT_STRINDEX) u = f.v;
    }
    if (r < 0) return -1;
    if (p2m__string(q, t, type) < 0) bad = 1;
    if (p2m__string(q, u, unit) < 0) bad = 1;
    return bad;
}

/* Reads a profile's own fields (skipping samples by length); with slots,
   also applies its attributes over the resource's. */
static P2M__MUST int p2m__profile_info(p2m__req *q, p2m__span s, p2m__pinfo *pi, int with_attrs) {
    const uint8_t *p = s.p, *end = s.p + s.n;
    p2m__field f;
    int r;
    uint32_t attr_field = P2M__LAYOUT_FIELD(q->layout, profile_attrs);
    P2M_MEMSET(pi, 0, sizeof *pi);
    pi->sample_type.p = pi->period_type.p = p2m__nothing;
    if (with_attrs) P2M_MEMCPY(q->prof_slots, q->res_slots, q->e->n_slots * sizeof(uint32_t));
    if (with_attrs && q->akey) {
        uint32_t i;
        q->pstamp_now++;
        q->n_elist = 0;
        for (i = 0; i < q->n_rlist; i++)
            p2m__elist_put(q, q->rlist[(size_t)2 * i], q->rlist[(size_t)2 * i + 1]);
    }
    while ((r = p2m__next_pfield(&q->w, &p, end, &f)) > 0) {
        if (f.num == P2M__PB_PROFILE_SAMPLES) {
            uint64_t n = 0;
#if !P2M__FOR_SIZE
            const uint32_t at = (uint32_t)(f.at - q->in), k = P2M__RUN_SLOT(at);
            if (!pi->s_hi) pi->s_lo = at;
            if (f.wt == P2M__WT_LEN && q->sv.run_at[k] == at) { /* the survey passed over it */
                p = q->in + q->sv.run_end[k];
                pi->n_samples += q->sv.run_n[k];
                pi->s_hi = q->sv.run_end[k];
                continue;
            }
#endif
            p = p2m__skip_samples(p, end, &n);
            pi->n_samples += 1u + n;
#if !P2M__FOR_SIZE
            pi->s_hi = (uint32_t)(p - q->in);
#endif
            continue;
        }
        if (f.num == P2M__PB_PROFILE_SAMPLE_TYPE && f.wt == P2M__WT_LEN) pi->sample_type = f.s;
        else if (f.num == P2M__PB_PROFILE_PERIOD_TYPE && f.wt == P2M__WT_LEN) pi->period_type = f.s;
        else if (f.num == P2M__PB_PROFILE_TIME_UNIX_NANO && f.wt == P2M__WT_I64) pi->time = f.v;
        else if (f.num == P2M__PB_PROFILE_DURATION_NANO && f.wt == P2M__WT_VARINT)
            pi->duration = f.v;
        else if (f.num == P2M__PB_PROFILE_PERIOD && f.wt == P2M__WT_VARINT) pi->period = f.v;
        else if (f.num == attr_field && with_attrs &&
                 (f.wt == P2M__WT_LEN || f.wt == P2M__WT_VARINT)) {
            p2m__ints it;
            uint64_t idx;
            int rr;
            p2m__ints_init(&it, &f);
            while ((rr = p2m__ints_next(&q->w, &it, &idx)) > 0) {
                const p2m__aent *a;
                if (idx >= q->sv.n_attrs) {
                    if (idx != 0 && !pi->bad) { pi->bad = 1; pi->bad_at = f.at; }
                    continue;
                }
                a = &q->aslots[idx].ent;
                if (a->slot == P2M__BADSLOT) {
                    if (!pi->bad) { pi->bad = 1; pi->bad_at = f.at; }
                    continue;
                }
                if (a->slot != P2M__NONE) q->prof_slots[a->slot] = a->vid;
                if (q->akey) p2m__elist_put(q, q->akey[idx], a->vid);
            }
            if (rr < 0) return -1;
        }
    }
    return r;
}

/* docs/spec.md section 3: which metric a profile feeds and how a value converts. */
static int p2m__classify_new(p2m__req *q, p2m__pinfo *pi) {
    p2m_str type, unit;
    uint32_t i;
    uint64_t ns;
    int b = p2m__value_type(q, pi->sample_type, &type, &unit);
    pi->metric = P2M_METRIC_NONE;
    pi->x_mask = 0;
    if (b < 0) return -1;
    if (b) return 1;
    pi->type = type;
    pi->unit = unit;
    /* what a value is in nanoseconds: a count of periods (as profilers
       send cpu samples; tested first, it is no time unit), or a time unit */
    if (p2m__streq(unit, "count")) {
        p2m_str pt, pu;
        int pb = p2m__value_type(q, pi->period_type, &pt, &pu);
        if (pb < 0) return -1;
        if (pb && (p2m__streq(type, "samples") || p2m__streq(type, "cpu"))) return 1;
        if (!pb && (ns = p2m__time_unit_ns(pu)) != 0 && (int64_t)pi->period > 0) {
            pi->t_factor = pi->period * ns;
            pi->t_count = 1;
            pi->samples_cpu =
                p2m__streq(pt, "cpu") && (p2m__streq(type, "samples") || p2m__streq(type, "cpu"));
        }
    } else if ((ns = p2m__time_unit_ns(unit)) != 0) {
        pi->t_factor = ns;
    }
#if P2M_MAX_EXTRA > 0
    for (i = 0; i < q->e->n_xtypes; i++) { /* declared metrics: each fed once */
        const p2m__xtype *t = &q->e->xtypes[i];
        uint32_t x = t->metric - P2M_METRIC_EXTRA;
        if (p2m__streq2(t->type, type) && p2m__streq2(t->unit, unit) &&
            (q->e->metric[t->metric].ukind != P2M__U_TIME || pi->t_factor))
            pi->x_mask |= (uint64_t)1 << x;
    }
#endif
    for (i = 0; i < q->e->n_type_rules; i++) {
        const p2m__type_rule *t = &q->e->type_rules[i];
        if (p2m__streq2(t->type, type) && p2m__streq2(t->unit, unit)) {
            pi->metric = t->metric;
            pi->tr = t;
            pi->samples_cpu = 0;
            return 0;
        }
    }
    if ((p2m__streq(type, "cpu") && !pi->t_count && pi->t_factor) || pi->samples_cpu) {
        pi->metric = P2M_METRIC_CPU;
        pi->factor = pi->t_factor;
    } else if (p2m__streq(unit, "bytes") && p2m__starts(type, "alloc_") &&
               (p2m__ends(type, "_space") || p2m__ends(type, "_bytes"))) {
        pi->metric = P2M_METRIC_MEMORY;
        pi->factor = 1;
    }
    return 0;
}

/* p2m__classify, taking over the result of the request's last classified
   profile when this one's value types and period are the same (a
   request's profiles nearly always are: classifying compares strings). */
static int p2m__classify(p2m__req *q, p2m__pinfo *pi) {
#if !P2M__FOR_SIZE
    p2m__cls *c = &q->cls_last;
    const p2m__pinfo *k = &c->pi;
    int b;
    if (k->sample_type.p && k->period == pi->period && k->sample_type.n == pi->sample_type.n &&
        k->period_type.n == pi->period_type.n &&
        p2m__bytes_eq(k->sample_type.p, pi->sample_type.p, k->sample_type.n) &&
        p2m__bytes_eq(k->period_type.p, pi->period_type.p, k->period_type.n)) {
        /* the fields p2m__classify_new sets */
        pi->metric = k->metric;
        pi->samples_cpu = k->samples_cpu;
        pi->t_count = k->t_count;
        pi->type = k->type;
        pi->unit = k->unit;
        pi->x_mask = k->x_mask;
        pi->t_factor = k->t_factor;
        pi->factor = k->factor;
        pi->tr = k->tr;
        return c->b;
    }
    if ((b = p2m__classify_new(q, pi)) >= 0) {
        c->pi = *pi;
        c->b = b;
    }
    return b;
#else
    return p2m__classify_new(q, pi);
#endif
}

/* ---- one request: filters and regex rules ---------------------------------
   Subjects come from the dictionary, so every distinct value is judged once
   per request: a verdict byte per value id (two bits per filter: judged,
   matched) and, per regex rule, a memo row from subject value id to the
   extracted value id. */

static int p2m__search(p2m__req *q, const p2m_regex *rx, const uint8_t *p, size_t n, size_t *a,
                       size_t *b) {
    q->st->regex_searches++;
    return p2m_regex_search(rx, (const char *)p, n, q->rx_scratch, q->e->rx_scratch, a, b, 0);
}

/* Does filter f match value vid? Only strings are subjects; absent is no match. */
static int p2m__filter_match(p2m__req *q, uint32_t f, uint32_t vid) {
    const p2m__filter *fl = &q->e->filter[f];
    uint8_t *v;
    const uint8_t *ptr = p2m__nothing;
    uint32_t len = 0, i;
    int m = 0;
    if (vid == P2M__VID_ABSENT) return 0;
    v = &q->verdict[vid];
    if (*v & (1u << (2 * f))) return (*v >> (2 * f + 1)) & 1; /* known (never for a non-string) */
    if (vid != P2M__VID_EMPTY) {
        if (q->vals[vid].type != P2M_VALUE_STRING) return 0;
        ptr = q->vals[vid].ptr;
        len = q->vals[vid].len;
    }
    for (i = 0; i < fl->n_rx && !m; i++) {
        size_t a, b;
        m = p2m__search(q, fl->rx[i], ptr, len, &a, &b) == 1;
    }
    *v = (uint8_t)(*v | (1u << (2 * f)) | ((unsigned)m << (2 * f + 1)));
    return m;
}

/* p2m__filter_match for a sample's subject, a known verdict read in line
   (builds for size: always the call). p2m__place_filters marks the absent
   value judged by every filter and not matched, as p2m__filter_match
   answers for it. */
P2M__INLINE int p2m__filter_test(p2m__req *q, uint32_t f, uint32_t vid) {
    if (!P2M__FOR_SIZE) {
        const unsigned v = q->verdict[vid];
        if (v & (1u << (2 * f))) return (int)(v >> (2 * f + 1)) & 1;
    }
    return p2m__filter_match(q, f, vid);
}

/* The value a regex rule extracts from subject vid (memoised). */
static uint32_t p2m__rule_extract(p2m__req *q, const p2m__rule *r, uint32_t vid) {
    uint32_t *memo, out = P2M__VID_ABSENT;
    size_t a, b;
    if (vid <= P2M__VID_EMPTY || q->vals[vid].type != P2M_VALUE_STRING) return P2M__VID_ABSENT;
    memo = q->rx_memo + (size_t)r->rx_index * q->vals_cap + vid;
    if (*memo != P2M__ID1_NONE) return P2M__ID1_ID(*memo);
    if (p2m__search(q, r->rx, q->vals[vid].ptr, q->vals[vid].len, &a, &b) == 1 && a != (size_t)-1)
        out = p2m__intern(q, P2M_VALUE_STRING, q->vals[vid].ptr + a, (uint32_t)(b - a), 0);
    *memo = P2M__ID1(out);
    return out;
}

/* A regex rule on the string table: the first string, in table order, that
   matches; constant for the request. */
static uint32_t p2m__rule_string_table(p2m__req *q, const p2m__rule *r) {
    uint32_t i;
    for (i = 1; i < q->sv.n_strings;
         i++) { /* index 0 is the zero value, not a string of the profile */
        const uint8_t *p = q->in + q->strs[i].off;
        size_t a, b;
        if (p2m__search(q, r->rx, p, q->strs[i].len, &a, &b) == 1) {
            if (a == (size_t)-1) return P2M__VID_ABSENT;
            return p2m__intern(q, P2M_VALUE_STRING, p + a, (uint32_t)(b - a), 0);
        }
    }
    return P2M__VID_ABSENT;
}

/* Pattern filter without keys: does any string-valued effective attribute
   match? The sample's own attributes (marked with the sample stamp) shadow
   the profile's and resource's (q->elist). */
static int p2m__pattern_all(p2m__req *q, p2m__span smp, uint32_t f_attrs) {
    const uint8_t *p = smp.p, *end = smp.p + smp.n;
    p2m__field g;
    uint32_t i;
    /* the survey has read these bytes already: p2m__next cannot fail here */
    while (p2m__next(&q->w, &p, end, &g) > 0) {
        p2m__ints it;
        uint64_t idx;
        if (g.num != f_attrs || (g.wt != P2M__WT_LEN && g.wt != P2M__WT_VARINT)) continue;
        p2m__ints_init(&it, &g);
        while (p2m__ints_next(&q->w, &it, &idx) > 0) {
            uint32_t k;
            if (idx >= q->sv.n_attrs) continue;
            k = q->akey[idx];
            if (q->kval[k] == q->aslots[idx].ent.vid &&
                p2m__filter_match(q, P2M__F_PATTERN, q->aslots[idx].ent.vid))
                return 1;
        }
    }
    for (i = 0; i < q->n_elist; i++) {
        uint32_t k = q->elist[(size_t)2 * i], v = q->elist[(size_t)2 * i + 1];
        if (q->kstamp[k] != q->sstamp && p2m__filter_match(q, P2M__F_PATTERN, v)) return 1;
    }
    return 0;
}

/* ---- one request: series ------------------------------------------------- */

static uint32_t p2m__hstep(uint32_t h, uint32_t v) { return (h ^ v) * 0x01000193u + (h >> 15); }

/* Hash of the current attribute set for a metric, leaving out key skip
   (the function metric adds its function key last, see p2m__series_for). */
static uint32_t p2m__kv_hash(const p2m__req *q, uint32_t metric, uint32_t skip) {
    uint32_t h = (q->cur_res * 0x9E3779B1u) ^ (metric * 0x85EBCA77u), k;
    for (k = 0; k < q->e->n_keys; k++)
        if (k != skip) h = p2m__hstep(h, q->kv[k]);
    return h;
}

/* The key a series' attribute at position pos comes from: rule pos's key,
   or past the rules the function name's (P2M__NONE without one). A rule
   sets one key, and records its own position with it (p2m__attribute_set),
   so each position names at most one key. */
static uint32_t p2m__pos_key(const p2m_engine *e, uint32_t pos) {
    return pos < e->n_rules ? e->rules[pos].out_key : e->fkey;
}

/* Bytes of v as a varint. */
static size_t p2m__varint_len(uint64_t v) {
    size_t n = 1;
    if (v < 0x80u) return 1;
    if (!P2M__FOR_SIZE && v < 0x4000u) return 2; /* lengths of a point, a long name */
    while (v >= 0x80) { v >>= 7; n++; }
    return n;
}
/* Bytes of a length-delimited field of n bytes whose tag takes one byte. */
P2M__INLINE size_t p2m__ld_size(size_t n) { return 1u + p2m__varint_len(n) + n; }

/* The contents' size of a KeyValue with key and string value of kl and vl
   bytes. */
P2M__INLINE size_t p2m__kv_string_size(size_t kl, size_t vl) {
    if (!P2M__FOR_SIZE && kl < 0x80u && vl < 0x7eu) return kl + vl + 6u; /* lengths of a byte */
    return p2m__ld_size(kl) + p2m__ld_size(p2m__ld_size(vl));
}

#if !P2M__FOR_SIZE
/* The bytes of series id's attribute k as the encoder writes it: 0 when it
   is not written (p2m__bw_attrs_of), SIZE_MAX when it is not a string. */
P2M__INLINE size_t p2m__attr_size(const p2m__req *q, uint32_t id, uint32_t k) {
    const p2m_engine *e = q->e;
    const uint32_t vid = q->ser_vids[(size_t)id * e->n_keys + k];
    const uint32_t pos = q->ser_pos[(size_t)id * e->n_keys + k];
    if (vid <= P2M__VID_EMPTY) return 0;
    /* plain rules: rule k gave key k (p2m__attribute_set) */
    if (!(e->plain_rules && k < e->n_rules) && (pos > e->n_rules || p2m__pos_key(e, pos) != k))
        return 0;
    if (q->vals[vid].type != P2M_VALUE_STRING) return SIZE_MAX;
    /* KeyValue { key, AnyValue { string_value } } as p2m__bw_kv_string writes it */
    return p2m__ld_size(p2m__kv_string_size(e->keys[k].len, q->vals[vid].len));
}

/* The bytes of series id's point attributes, leaving out key skip, plus 1,
   when every one is a string (0 otherwise, or from 32 KiB): the encoder's
   counting pass then adds it instead of walking the attributes. Out of
   line: it runs once per new series, not per sample. */
static P2M__NOINLINE uint16_t p2m__attrs_size(const p2m__req *q, uint32_t id, uint32_t skip) {
    size_t n = 1, a;
    uint32_t k;
    for (k = 0; k < q->e->n_keys; k++) {
        if (k == skip) continue;
        if ((a = p2m__attr_size(q, id, k)) == SIZE_MAX) return 0;
        n += a;
    }
    return n < P2M__ASIZE_MAX ? (uint16_t)n : 0u;
}

/* p2m__attrs_size(q, id, P2M__NONE) when the rules are plain (rule k gave
   key k): the rules' keys in one loop that reads only the value ids, the
   function key's (if any) through p2m__attr_size. */
P2M__INLINE uint16_t p2m__plain_asize(const p2m__req *q, uint32_t id) {
    const p2m_engine *const e = q->e;
    const uint32_t nk = e->n_keys, nr = e->n_rules;
    const uint32_t *const vids = q->ser_vids + (size_t)id * nk;
    size_t n = 1, a;
    uint32_t k;
    for (k = 0; k < nr; k++) {
        const uint32_t vid = vids[k];
        const p2m__val *v;
        if (vid <= P2M__VID_EMPTY) continue;
        v = &q->vals[vid];
        if (v->type != P2M_VALUE_STRING) return 0;
        n += p2m__ld_size(p2m__kv_string_size(e->keys[k].len, v->len));
    }
    for (; k < nk; k++) {
        if ((a = p2m__attr_size(q, id, k)) == SIZE_MAX) return 0;
        n += a;
    }
    return n < P2M__ASIZE_MAX ? (uint16_t)n : 0u;
}

/* The sizes p2m__fn_attrs_size starts a feed with: fn_abase, and the
   short-name case's fn_c0 and fn_vlim. With all attributes strings, the name
   in the feed's own position and a name of fewer than fn_vlim bytes, the
   name's KeyValue and its length take one byte each (p2m__attr_size): the
   point attributes are then fn_c0 plus the name's length. Out of line, as
   p2m__attrs_size. */
static P2M__NOINLINE void p2m__fn_abase_init(p2m__req *q, uint32_t id) {
    const p2m_engine *e = q->e;
    const uint32_t fk = e->fkey;
    const size_t kl = e->keys[fk].len;
    q->fn_abase = 1u + p2m__attrs_size(q, id, fk);
    q->fn_vlim = 0;
    /* KeyValue contents kl + vl + 6 < 0x80 (p2m__kv_string_size's case of
       one-byte lengths), and the total below P2M__ASIZE_MAX */
    if (q->fn_abase != 1u && q->kpos[fk] == e->n_rules && kl < 0x7au &&
        q->fn_abase + 0x80u < P2M__ASIZE_MAX) {
        q->fn_c0 = q->fn_abase - 1u + (uint32_t)kl + 8u;
        q->fn_vlim = 0x7au - (uint32_t)kl;
    }
}

/* The same for a new series of the function metric: the attributes other
   than the name are those of every series the current feed makes, so they
   are counted once per feed (p2m__feed_functions clears fn_abase). A
   series made right after another of the same feed is marked
   P2M__ASIZE_SAME. */
P2M__INLINE uint16_t p2m__fn_attrs_size(p2m__req *q, uint32_t id) {
    const p2m_engine *e = q->e;
    const uint32_t fk = e->fkey, vid = q->kv[fk]; /* the series' own (p2m__series_at) */
    uint32_t same = 0;
    size_t n;
    if (q->fn_abase) same = q->fn_last + 1u == id ? P2M__ASIZE_SAME : 0u;
    else p2m__fn_abase_init(q, id);
    q->fn_last = id;
    if (vid > P2M__VID_EMPTY) { /* the usual name: short, a string */
        const p2m__val *v = &q->vals[vid];
        if (v->type == P2M_VALUE_STRING && v->len < q->fn_vlim)
            return (uint16_t)((q->fn_c0 + v->len) | same);
    }
    if (q->fn_abase == 1u) return 0;
    n = q->fn_abase - 1u;
    if (vid > P2M__VID_EMPTY && q->kpos[fk] == e->n_rules) { /* the name, as p2m__attr_size */
        const p2m__val *v = &q->vals[vid];
        if (v->type != P2M_VALUE_STRING) return 0;
        n += p2m__ld_size(p2m__kv_string_size(e->keys[fk].len, v->len));
    } else {
        const size_t a = p2m__attr_size(q, id, fk);
        if (a == SIZE_MAX) return 0;
        n += a;
    }
    return n < P2M__ASIZE_MAX ? (uint16_t)(n | same) : 0u;
}
#endif

#if !P2M__FOR_SIZE
/* p2m__series_find for a function feed whose attribute set is known (set,
   see p2m__feed_functions), for its current name (name). A series made or
   found with the same set has the feed's attributes but the name, so only
   the name is compared; one of another known set has other attributes;
   one whose set is not known (made by a feed whose set was not) is
   compared whole (q->kv holds the name), and learns the set when it is
   the one. nk, fk: the engine's n_keys and fkey. */
P2M__INLINE uint32_t p2m__fn_find(const p2m__req *q, uint32_t h, uint32_t set, uint32_t name,
                                  uint32_t nk, uint32_t fk, uint32_t *slot) {
    uint32_t i, k, id;
    for (i = h & q->shash_mask;; i = (i + 1) & q->shash_mask) {
        const uint32_t *v;
        uint32_t s;
        id = q->shash[i];
        if (id == P2M__ID1_NONE) break;
        id = P2M__ID1_ID(id);
        s = q->ser_set[id];
        /* set names a series of the current resource (the feed's own), so
           a series with it is this resource's and a function series */
        if (s == set) {
            if (q->ser_vids[(size_t)id * nk + fk] == name) return id;
            continue;
        }
        /* another set, or not a function series (P2M__SET_OTHER) */
        if (s != P2M__ID1_NONE || id < q->res_first_ser) continue;
        v = q->ser_vids + (size_t)id * nk;
        for (k = 0; k < nk && v[k] == q->kv[k]; k++) {}
        if (k == nk) {
            q->ser_set[id] = set;
            return id;
        }
    }
    *slot = i;
    return UINT32_MAX;
}
#endif

/* The resource's series of metric for the current attribute set with hash
   h: its id, or UINT32_MAX with *slot the free slot where it would go. */
P2M__INLINE uint32_t p2m__series_find(const p2m__req *q, uint32_t metric, uint32_t h,
                                      uint32_t *slot) {
    const uint32_t nk = q->e->n_keys;
    uint32_t i, k, id;
    for (i = h & q->shash_mask;; i = (i + 1) & q->shash_mask) {
        const uint32_t *v;
        id = q->shash[i];
        if (id == P2M__ID1_NONE) break;
        id = P2M__ID1_ID(id);
        /* series of earlier resources have smaller ids than this resource's
           first (tested first: it needs no read of the series) */
        if (id < q->res_first_ser || q->ser[id].metric != metric) continue;
        v = q->ser_vids + (size_t)id * nk;
        for (k = 0; k < nk && v[k] == q->kv[k]; k++) {}
        if (k == nk) return id;
    }
    *slot = i;
    return UINT32_MAX;
}

/* The series of metric for the current attribute set: with find (a
   constant), the one found with hash h, else a new one at the free slot
   of the series hash (found, or i without find), or the overflow point
   once the resource has max_series of metric. set: a function series'
   attribute set (p2m__fn_find; P2M__ID1_NONE when not known). */
P2M__INLINE uint32_t p2m__series_make(p2m__req *q, uint32_t metric, uint32_t h, uint32_t i,
                                      uint32_t set, const int find) {
    const uint32_t nk = q->e->n_keys;
    uint32_t k, id;
#if P2M__FOR_SIZE
    (void)set;
#endif
    if (find && (id = p2m__series_find(q, metric, h, &i)) != UINT32_MAX) return id;
    if (q->count[metric] >= q->e->max_series) { /* cardinality limit: the overflow point */
        if (q->ovf[metric] != P2M__ID1_NONE) return P2M__ID1_ID(q->ovf[metric]);
        id = q->n_ser++;
        P2M_MEMSET(&q->ser[id], 0, sizeof q->ser[id]);
        q->ser[id].overflow = 1;
        q->ovf[metric] = P2M__ID1(id);
    } else {
        id = q->n_ser++;
        P2M_MEMSET(&q->ser[id], 0, sizeof q->ser[id]);
        q->count[metric]++;
        q->shash[i] = P2M__ID1(id);
#if !P2M__FOR_SIZE
        q->ser_slot[id] = i;
#endif
        { /* the pointers in locals: the stores below may alias q */
            uint32_t *const dv = q->ser_vids + (size_t)id * nk;
            uint8_t *const dp = q->ser_pos + (size_t)id * nk;
            const uint32_t *const kv = q->kv;
            const uint8_t *const kp = q->kpos;
            for (k = 0; k < nk; k++) {
                dv[k] = kv[k];
                dp[k] = kp[k];
            }
        }
#if !P2M__FOR_SIZE
        if (metric == P2M_METRIC_FUNCTION) {
            q->ser[id].asize = p2m__fn_attrs_size(q, id);
            q->ser_set[id] = set;
        } else {
            /* not a function series: p2m__fn_find passes over it by this
               mark alone */
            if (q->e->metric[P2M_METRIC_FUNCTION].enabled) q->ser_set[id] = P2M__SET_OTHER;
            q->ser[id].asize = q->e->plain_rules ? p2m__plain_asize(q, id)
                                                 : p2m__attrs_size(q, id, P2M__NONE);
        }
#endif
    }
    P2M_ASSERT(id < q->ser_cap);
    q->ser[id].metric = (uint8_t)metric;
    q->ser[id].start = UINT64_MAX;
    q->ser[id].end = 0;
    return id;
}

/* The series of the current attribute set with hash h (p2m__series_for). */
P2M__INLINE uint32_t p2m__series_at(p2m__req *q, uint32_t metric, uint32_t h) {
    return p2m__series_make(q, metric, h, 0, P2M__ID1_NONE, 1);
}

/* p2m__series_add but for the time window: for a series that has the
   window already. */
P2M__INLINE void p2m__series_count(p2m__req *q, p2m__series *se, uint64_t contrib, uint32_t n) {
    if (se->overflow) q->st->overflow_samples += n;
    se->sum += contrib * n;
    se->samples += n;
}

/* Adds n equal contributions to series se: n samples of one value, or one
   sample's n feeds of the function metric that land in an overflow point;
   the series' time window takes in [lo, hi]. */
P2M__INLINE void p2m__series_add(p2m__req *q, p2m__series *se, uint64_t contrib, uint32_t n,
                                 uint64_t lo, uint64_t hi) {
    p2m__series_count(q, se, contrib, n);
    if (lo < se->start) se->start = lo;
    if (hi > se->end) se->end = hi;
}

static uint32_t p2m__series_for(p2m__req *q, uint32_t metric) {
    if (metric == P2M_METRIC_FUNCTION)
        return p2m__series_at(q, metric,
                              p2m__hstep(p2m__kv_hash(q, metric, q->e->fkey), q->kv[q->e->fkey]));
    return p2m__series_at(q, metric, p2m__kv_hash(q, metric, P2M__NONE));
}

/* The attribute set of a sample: rules in order, later rules of the same key
   replace earlier ones, a rule yielding nothing leaves the key as it was.
   frame: the values of the sample's stack (NULL without stack properties).
   Out of line: only a sample-memo miss calls it, and inlined into the walk
   it made the Cortex-M4 image bigger. */
static P2M__NOINLINE void p2m__attribute_set_rules(p2m__req *q, const uint32_t *slots,
                                                   const uint32_t *frame) {
    const p2m_engine *e = q->e;
    uint32_t i;
    for (i = 0; i < e->n_keys; i++) { q->kv[i] = P2M__VID_ABSENT; q->kpos[i] = 0; }
    for (i = 0; i < e->n_rules; i++) {
        const p2m__rule *r = &e->rules[i];
        uint32_t vid = r->type == P2M_RULE_ATTRIBUTE ? slots[r->slot] : q->rule_const[i];
        if (r->type == P2M_RULE_FRAME) vid = frame ? frame[r->frame] : P2M__VID_ABSENT;
        if (r->type == P2M_RULE_REGEX && r->source != P2M__SRC_STRING_TABLE)
            vid = p2m__rule_extract(q, r,
                                    r->source != P2M__SRC_FUNCTION ? slots[r->slot]
                                    : frame                        ? frame[P2M__FR_FUNCTION]
                                                                   : P2M__VID_ABSENT);
        if (vid <= P2M__VID_EMPTY) vid = q->rule_def[i];
        if (vid > P2M__VID_EMPTY) {
            q->kv[r->out_key] = vid;
            q->kpos[r->out_key] = (uint8_t)i;
        }
    }
}

#if P2M__FOR_SIZE
#define p2m__attribute_set p2m__attribute_set_rules
#else
/* p2m__attribute_set_rules, with a short way for plain rules (every
   rule an attribute rule into its own key, p2m__rules_plain): rule i sets
   key i from its slot, or leaves it absent. A function of its own, so that
   the short way saves no registers for the general one. */
static P2M__NOINLINE void p2m__attribute_set(p2m__req *q, const uint32_t *slots,
                                             const uint32_t *frame) {
    const p2m_engine *e = q->e;
    const p2m__rule *const rules = e->rules;
    uint32_t *const kv = q->kv;
    uint8_t *const kpos = q->kpos;
    const uint32_t nr = e->n_rules;
    uint32_t i;
    if (!e->plain_rules) {
        p2m__attribute_set_rules(q, slots, frame);
        return;
    }
    for (i = 0; i < nr; i++) {
        const uint32_t vid = slots[rules[i].slot];
        kv[i] = vid > P2M__VID_EMPTY ? vid : P2M__VID_ABSENT;
        kpos[i] = (uint8_t)(vid > P2M__VID_EMPTY ? i : 0u);
    }
    if (i < e->n_keys) { /* the one key after the rules' */
        kv[i] = P2M__VID_ABSENT;
        kpos[i] = 0;
    }
}
#endif

#ifndef P2M_NO_FUNCTION
/* ---- one request: function names (function metric) ------------------------ */

static const char p2m__unknown_name[] = "[unknown]";

static uint32_t p2m__intern_cstr(p2m__req *q, const char *s) {
    return p2m__intern(q, P2M_VALUE_STRING, (const uint8_t *)s, (uint32_t)p2m__cstrlen(s), 0);
}

static uint32_t p2m__unknown_vid(p2m__req *q) { return p2m__intern_cstr(q, p2m__unknown_name); }

/* The last varint field num of the message [p, end) in *v (unchanged
   without one): plain fields (nearly every field of a Line or a Function)
   read in place, the rest by the general reader. 0 ok, -1 malformed. */
P2M__INLINE P2M__MUST int p2m__varint_field(p2m__req *q, const uint8_t *p, const uint8_t *end,
                                            uint32_t num, uint64_t *v) {
    p2m__field g;
    int r;
#if !P2M__FOR_SIZE
    while (p < end) {
        uint32_t t = p[0];
        p2m__span s;
        const uint8_t *nx;
        if ((t & 7u) == P2M__WT_VARINT && t >= 8u && t < 0x80u && end - p >= 2) {
            /* varints of one or two bytes (indices, line numbers) in place */
            if (p[1] < 0x80u) {
                if (t == P2M__TAG(num, P2M__WT_VARINT)) *v = p[1];
                p += 2;
                continue;
            }
            if (end - p >= 3 && p[2] < 0x80u) {
                if (t == P2M__TAG(num, P2M__WT_VARINT)) *v = P2M__VARINT2(p[1], p[2]);
                p += 3;
                continue;
            }
        }
        nx = p2m__plain_field(p, end, &t, &s);
        if (!nx) break;
        if (t == P2M__TAG(num, P2M__WT_VARINT)) *v = p2m__varint9(s.p, s.p + s.n);
        p = nx;
    }
#endif
    while ((r = p2m__next(&q->w, &p, end, &g)) > 0)
        if (g.num == num && g.wt == P2M__WT_VARINT) *v = g.v;
    return r;
}

/* Name id of function idx, one not in the memo: 0 ok, 1 invalid reference,
   -1 malformed. */
static int p2m__function_name_new(p2m__req *q, uint64_t idx, uint32_t *vid) {
    const uint8_t *p;
    uint64_t name = 0;
    p2m_str sv;
    if (idx >= q->sv.n_funcs) {
        if (idx != 0) return 1;
        *vid = p2m__unknown_vid(q);
        return 0;
    }
    p = q->in + q->funcs[idx].off;
    if (p2m__varint_field(q, p, p + q->funcs[idx].len, P2M__PB_FUNCTION_NAME_STRINDEX, &name) < 0)
        return -1;
    if (p2m__string(q, name, &sv) < 0) return 1;
    *vid = sv.len ? p2m__intern_str(q, (const uint8_t *)sv.ptr, (uint32_t)sv.len)
                  : p2m__unknown_vid(q);
    q->func_memo[idx] = P2M__ID1(*vid);
    return 0;
}

/* Name id of function idx: 0 ok, 1 invalid reference, -1 malformed. In
   line, the memo's answer (most lines name a function already seen); the
   rest out of line. */
P2M__INLINE int p2m__function_name(p2m__req *q, uint64_t idx, uint32_t *vid) {
    if (idx < q->sv.n_funcs && q->func_memo[idx] != P2M__ID1_NONE) {
        *vid = P2M__ID1_ID(q->func_memo[idx]);
        return 0;
    }
    return p2m__function_name_new(q, idx, vid);
}

/* The build id of a mapping: its first attribute whose key starts with
   "process.executable.build_id" and whose value is a string. */
static P2M__MUST int p2m__mapping_build_id(p2m__req *q, p2m__field *attrs_field, p2m_str *out) {
    p2m__ints it;
    uint64_t idx;
    int r;
    out->ptr = "";
    out->len = 0;
    p2m__ints_init(&it, attrs_field);
    while ((r = p2m__ints_next(&q->w, &it, &idx)) > 0) {
        const uint8_t *p, *end;
        p2m__field f;
        uint64_t key = 0;
        p2m__span val = {p2m__nothing, 0};
        p2m_str ks;
        int rr;
        if (idx >= q->sv.n_attrs) continue;
        p = q->in + q->aspans[idx].off;
        end = p + q->aspans[idx].len;
        while ((rr = p2m__next(&q->w, &p, end, &f)) > 0) {
            if (f.num == P2M__PB_KVU_KEY_STRINDEX && f.wt == P2M__WT_VARINT) key = f.v;
            else if (f.num == P2M__PB_KVU_VALUE && f.wt == P2M__WT_LEN) val = f.s;
        }
        if (rr < 0) return -1;
        if (p2m__string(q, key, &ks) == 0 && p2m__starts(ks, "process.executable.build_id")) {
            const p2m__strtab tab = p2m__req_strtab(q);
            uint32_t type, len;
            const uint8_t *ptr;
            uint64_t num;
            if (p2m__anyvalue(&q->w, &tab, val, &type, &ptr, &len, &num) < 0) return -1;
            if (type == P2M_VALUE_STRING && len) {
                out->ptr = (const char *)ptr;
                out->len = len;
                return 0;
            }
        }
    }
    return r < 0 ? -1 : 0;
}

/* The file name of mapping map_idx, and its first attribute_indices field
   (*has_attrs). 0 ok, 1 invalid reference, -1 malformed. */
static P2M__MUST int p2m__mapping_file(p2m__req *q, uint64_t map_idx, p2m_str *file,
                                       p2m__field *attrs, int *has_attrs) {
    const uint8_t *p, *end;
    p2m__field f;
    int r;
    uint64_t fname = 0;
    file->ptr = "";
    file->len = 0;
    *has_attrs = 0;
    if (map_idx >= q->sv.n_maps) return map_idx != 0; /* 0: the zero value, no mapping */
    p = q->in + q->maps[map_idx].off;
    end = p + q->maps[map_idx].len;
    while ((r = p2m__next(&q->w, &p, end, &f)) > 0) {
        if (f.num == P2M__PB_MAPPING_FILENAME_STRINDEX && f.wt == P2M__WT_VARINT) fname = f.v;
        else if (f.num == P2M__PB_MAPPING_ATTRIBUTE_INDICES &&
                 (f.wt == P2M__WT_LEN || f.wt == P2M__WT_VARINT) && !*has_attrs) {
            *attrs = f;
            *has_attrs = 1;
        }
    }
    if (r < 0) return -1;
    return p2m__string(q, fname, file) < 0;
}

/* What follows the last '/' of a path. */
static p2m_str p2m__basename(p2m_str path) {
    size_t i = path.len;
    while (i > 0 && path.ptr[i - 1] != '/') i--;
    path.ptr += i;
    path.len -= i;
    return path;
}

/* Name of an unsymbolised location: the symboliser's answer, else the base
   name of its mapping's file, else "[unknown]". 0 ok, 1 invalid, -1 malformed. */
static P2M__MUST int p2m__unsymbolised_name(p2m__req *q, uint64_t map_idx, uint64_t address,
                                            uint32_t *vid) {
    p2m_str file, build = {"", 0}, base;
    p2m__field attrs;
    int has_attrs, b = p2m__mapping_file(q, map_idx, &file, &attrs, &has_attrs);
    if (b) return b;
    if (q->opt && q->opt->symbolize) {
        p2m_str name;
        if (has_attrs && p2m__mapping_build_id(q, &attrs, &build) < 0) return -1;
        name = q->opt->symbolize(q->opt->user_data, address, file, build);
        if (name.len && name.ptr) {
            *vid =
                p2m__intern(q, P2M_VALUE_STRING, (const uint8_t *)name.ptr, (uint32_t)name.len, 0);
            return 0;
        }
    }
    base = p2m__basename(file);
    *vid = base.len ? p2m__intern(q, P2M_VALUE_STRING, (const uint8_t *)base.ptr,
                                  (uint32_t)base.len, 0)
                    : p2m__unknown_vid(q);
    return 0;
}

/* The name ids of a resolved location's memo entry m: with one name the
   entry holds it, else it points into lines[]. */
P2M__INLINE const uint32_t *p2m__memo_ids(const p2m__req *q, const p2m__strent *m) {
    return m->len == 1 ? &m->off : q->lines + m->off;
}

/* The function-name ids of location idx, innermost first (memoised).
   0 ok, 1 invalid reference, -1 malformed; with ahead set, 2 for a location
   without lines, left unresolved (its name may need the symboliser, which is
   asked only for locations that samples reach). */
P2M__INLINE P2M__MUST int p2m__location_names_in(p2m__req *q, uint64_t idx,
                                                 const uint32_t **ids, uint32_t *n, int ahead) {
    p2m__strent *m;
    const uint8_t *p, *end;
    p2m__field f;
    int r;
    uint64_t map_idx = 0, address = 0;
    const uint8_t *addr_at = 0; /* the address varint, decoded only when needed */
    uint32_t first;
    if (idx >= q->sv.n_locs) {
        static const uint32_t none = 0;
        if (idx != 0) return 1;
        *ids = &none; /* location 0: the zero value, no frame */
        *n = 0;
        return 0;
    }
    m = &q->loc_memo[idx];
    if (m->off != P2M__LOC_UNRESOLVED) {
        *ids = p2m__memo_ids(q, m);
        *n = m->len;
        return 0;
    }
    if (m->len == P2M__LOC_INVALID) return 1;
    first = q->n_lines_used;
    p = q->in + q->locs[idx].off;
    end = p + q->locs[idx].len;
    for (;;) {
        p2m__span line = {0, 0};
#if !P2M__FOR_SIZE
        uint32_t t;
        p2m__span v;
        const uint8_t *nx;
        size_t took = 0; /* bytes of a field read by the first test below */
        if (end - p >= 2 && p[1] < 0x80u) { /* a one-byte length or varint: most fields */
            const size_t room = (size_t)(end - p) - 2u;
            t = p[0];
            if (t == P2M__TAG(P2M__PB_LOCATION_LINES, P2M__WT_LEN)) {
                if (room >= p[1]) {
                    line.p = p + 2;
                    line.n = p[1];
                    took = 2u + p[1];
                }
            } else if (t == P2M__TAG(P2M__PB_LOCATION_MAPPING_INDEX, P2M__WT_VARINT)) {
                map_idx = p[1];
                took = 2;
            } else if (t == P2M__TAG(P2M__PB_LOCATION_ADDRESS, P2M__WT_VARINT)) {
                addr_at = p + 1;
                took = 2;
            } else if (t >= 8u && t < 0x80u && (t & 7u) == P2M__WT_LEN) {
                if (room >= p[1]) took = 2u + p[1];
            } else if (t >= 8u && t < 0x80u && (t & 7u) == P2M__WT_VARINT) {
                took = 2;
            }
        }
        if (took) {
            p += took;
        } else if (p + 1 < end && *p == P2M__TAG(P2M__PB_LOCATION_ADDRESS, P2M__WT_VARINT) &&
                   (nx = p2m__varint_end_in(p + 1, end, q->in + q->in_len)) != 0) {
            addr_at = p + 1; /* read only for a location without lines */
            p = nx;
            continue;
        } else if ((nx = p < end ? p2m__plain_field(p, end, &t, &v) : 0) != 0) {
            /* another plain field, read in place */
            p = nx;
            /* (an address that p2m__varint_end_long did not pass is one
               plain_field does not read either) */
            if (t == P2M__TAG(P2M__PB_LOCATION_MAPPING_INDEX, P2M__WT_VARINT))
                map_idx = p2m__varint9(v.p, v.p + v.n);
            else if (t == P2M__TAG(P2M__PB_LOCATION_LINES, P2M__WT_LEN))
                line = v;
        } else
#endif
        {
            if ((r = p2m__next(&q->w, &p, end, &f)) <= 0) break;
            if (f.num == P2M__PB_LOCATION_MAPPING_INDEX && f.wt == P2M__WT_VARINT) map_idx = f.v;
            else if (f.num == P2M__PB_LOCATION_ADDRESS && f.wt == P2M__WT_VARINT) {
                address = f.v;
                addr_at = 0;
            } else if (f.num == P2M__PB_LOCATION_LINES && f.wt == P2M__WT_LEN) {
                line = f.s;
            }
        }
        if (line.p) { /* a Line: its function's name */
            uint64_t fidx = 0;
            int b;
            uint32_t vid;
            if (p2m__varint_field(q, line.p, line.p + line.n, P2M__PB_LINE_FUNCTION_INDEX,
                                  &fidx) < 0)
                return -1;
            b = p2m__function_name(q, fidx, &vid);
            if (b) { q->n_lines_used = first; if (b > 0) m->len = P2M__LOC_INVALID; return b; }
            q->lines[q->n_lines_used++] = vid;
        }
    }
    if (r < 0) return -1;
    if (q->n_lines_used == first && ahead) return 2;
    if (q->n_lines_used == first) {
        uint32_t vid;
        int b;
        if (addr_at && p2m__varint(&q->w, &addr_at, end, &address) < 0) return -1; /* read above */
        b = p2m__unsymbolised_name(q, map_idx, address, &vid);
        if (b) { if (b > 0) m->len = P2M__LOC_INVALID; return b; }
        q->lines[q->n_lines_used++] = vid;
    }
    m->len = q->n_lines_used - first;
    if (m->len == 1) { /* one name (most locations): kept in the memo itself, so
                          a frame reads one place instead of two (6 % less of the
                          function metric's time on the typical request) */
        m->off = q->lines[first];
        q->n_lines_used = first;
    } else {
        m->off = first;
    }
    *ids = p2m__memo_ids(q, m);
    *n = m->len;
    return 0;
}

/* p2m__location_names_in out of line, for the sample walk's stacks. The
   pass below takes the body in line: it calls it once per location, and
   each call saved and restored eight registers. */
static P2M__MUST int p2m__location_names(p2m__req *q, uint64_t idx, const uint32_t **ids,
                                         uint32_t *n, int ahead) {
    return p2m__location_names_in(q, idx, ids, n, ahead);
}

/* Inclusive mode: resolves every location with lines in table order before
   the sample walk, so that the input, the function table and the interned
   names are read in order instead of at the random places the stacks point
   to (12% of the function metric's time on the bench's typical request,
   more on bigger ones). Quiet: a location that is malformed or refers
   outside a table is left to the walk, which reports it only when a sample
   reaches it, as it would without this pass. */
static void p2m__resolve_locations(p2m__req *q) {
    p2m_error *err = q->w.err;
    uint32_t i;
    q->w.err = 0;
    for (i = 0; i < q->sv.n_locs; i++) {
        const uint32_t *ids;
        uint32_t n;
        if (p2m__location_names_in(q, i, &ids, &n, 1) < 0) q->w.st = P2M_OK;
    }
    q->w.err = err;
}

/* The location indices of a stack, in order: every location_indices field
   (packed or not) read as one list. */
typedef struct p2m__locs {
    const uint8_t *p, *end;
    p2m__ints it;
    int in_field;
} p2m__locs;

/* Starts on stack stack_idx: 0, or 1 when the index is outside the stack
   table (index 0 of an empty table is an empty stack). */
P2M__INLINE int p2m__locs_init(const p2m__req *q, uint64_t stack_idx, p2m__locs *k) {
    k->in_field = 0;
    if (stack_idx >= q->sv.n_stacks) {
        k->p = k->end = 0;
        return stack_idx != 0;
    }
    k->p = q->in + q->stacks[stack_idx].off;
    k->end = k->p + q->stacks[stack_idx].len;
    { /* nearly every stack is one packed list: its elements are read at once */
        uint32_t len;
        const uint8_t *v;
        if (!P2M__FOR_SIZE && k->p < k->end &&
            k->p[0] == P2M__TAG(P2M__PB_STACK_LOCATION_INDICES, P2M__WT_LEN) &&
            p2m__short_field(k->p, k->end, &len, &v)) {
            k->it.p = v;
            k->it.end = v + len;
            k->it.has_single = 0;
            k->in_field = 1;
            k->p = v + len;
        }
    }
    return 0;
}

/* The next location index: 1 and *li, 0 at the end, -1 malformed. */
P2M__INLINE P2M__MUST int p2m__locs_next(p2m__req *q, p2m__locs *k, uint64_t *li) {
    for (;;) {
        p2m__field f;
        int r;
        if (k->in_field) {
            if ((r = p2m__ints_next(&q->w, &k->it, li)) != 0) return r;
            k->in_field = 0;
        }
        if ((r = p2m__next(&q->w, &k->p, k->end, &f)) <= 0) return r;
        if (f.num != P2M__PB_STACK_LOCATION_INDICES ||
            (f.wt != P2M__WT_LEN && f.wt != P2M__WT_VARINT))
            continue;
        p2m__ints_init(&k->it, &f);
        k->in_field = 1;
    }
}

/* Adds to fn_list (q->fn_list, n_fed names so far) those of the n names
   ids not marked with stamp in stamps (q->stamps) yet, and marks them;
   returns the new count. */
P2M__INLINE uint32_t p2m__add_names(const p2m__req *q, uint32_t *stamps, uint32_t *fn_list,
                                    const uint32_t *ids, uint32_t n, uint32_t stamp,
                                    uint32_t n_fed) {
    uint32_t k;
    (void)q; /* (read only by the assertion) */
    for (k = 0; k < n; k++) {
        if (stamps[ids[k]] == stamp) continue;
        stamps[ids[k]] = stamp;
        P2M_ASSERT(n_fed < q->fn_list_cap);
        fn_list[n_fed++] = ids[k];
    }
    return n_fed;
}

/* The distinct function names of stack stack_idx, innermost first (self
   mode: the leaf's first name), walked into q->fn_list: *n of them. 0 ok,
   1 invalid reference, -1 malformed. */
static P2M__MUST int p2m__walk_names(p2m__req *q, uint64_t stack_idx, uint32_t *n_out) {
    const int inclusive = q->e->function_mode == P2M_FUNCTION_INCLUSIVE;
    p2m__locs loc;
    uint64_t li = 0; /* p2m__locs_next sets it (initialised for the static analyzer) */
    int r;
    uint32_t n_fed = 0, stamp, *stamps, *fn_list;
    if (p2m__locs_init(q, stack_idx, &loc)) return 1;
    if (inclusive && ++q->stamp == 0) { /* wrapped: forget every mark */
        P2M_MEMSET(q->stamps, 0, (size_t)q->vals_cap * 4u);
        q->stamp = 1;
    }
    stamp = q->stamp; /* in locals: the stores below could alias them */
    stamps = q->stamps;
    fn_list = q->fn_list;
    /* inclusive: the distinct names of every frame, innermost first, are
       collected before anything is fed: a sample with an invalid frame
       feeds nothing */
#if !P2M__FOR_SIZE
    if (inclusive && loc.in_field && !loc.it.has_single) {
        /* the packed list's indices of up to three bytes, in place, while
           their locations are resolved; the loop below takes the rest */
        const uint8_t *p = loc.it.p, *const e = loc.it.end;
        const uintptr_t e2 = (uintptr_t)e - 2u; /* p < e2: p[2] is in the list */
        const uint32_t n_locs = q->sv.n_locs;
        while (p < e) {
            uint32_t i = p[0];
            const p2m__strent *m;
            const uint8_t *nx = p + 1;
            if (i >= 0x80u) { /* two or three bytes: up to 2097151 */
                /* (the same as e - p >= 2 && p[1] < 0x80u, written so that
                   the test against e2 serves both lengths: 1 % fewer
                   instructions in the inclusive function metric) */
                if ((uintptr_t)p < e2 ? p[1] < 0x80u : e - p == 2 && p[1] < 0x80u) {
                    i = P2M__VARINT2(i, p[1]);
                    nx++;
                } else if ((uintptr_t)p < e2 && p[2] < 0x80u) {
                    i = P2M__VARINT3(i, p[1], p[2]);
                    nx += 2;
                } else {
                    break;
                }
            }
            if (i >= n_locs) break;
            m = &q->loc_memo[i];
            if (m->off == P2M__LOC_UNRESOLVED) break;
            p = nx;
            if (m->len != 1) {
                n_fed = p2m__add_names(q, stamps, fn_list, q->lines + m->off, m->len, stamp, n_fed);
            } else if (stamps[m->off] != stamp) { /* most: one name, in the memo itself (a
                                                      loop of one costs 1 to 2 % here) */
                stamps[m->off] = stamp;
                P2M_ASSERT(n_fed < q->fn_list_cap);
                fn_list[n_fed++] = m->off;
            }
        }
        loc.it.p = p;
    }
#endif
    while ((r = p2m__locs_next(q, &loc, &li)) > 0) {
        const uint32_t *ids;
        uint32_t n;
        if (li < q->sv.n_locs && q->loc_memo[li].off != P2M__LOC_UNRESOLVED) { /* known location */
            n = q->loc_memo[li].len;
            ids = p2m__memo_ids(q, &q->loc_memo[li]);
        } else {
            int b = p2m__location_names(q, li, &ids, &n, 0);
            if (b) return b;
        }
        if (n == 0) continue;
        if (!inclusive) { /* self: the first line of the first frame */
            n_fed = 1;
            fn_list[0] = ids[0];
            break;
        }
        n_fed = p2m__add_names(q, stamps, fn_list, ids, n, stamp, n_fed);
    }
    if (r < 0) return -1;
    *n_out = n_fed;
    return 0;
}

/* The same names from the per-stack cache (P2M__FNCACHE) when the stack was
   seen before; else walked, and kept while the pool has room. */
static P2M__MUST int p2m__stack_names(p2m__req *q, uint64_t stack_idx, const uint32_t **names,
                                      uint32_t *n) {
    p2m__strent *c = 0;
    int r;
    if (!P2M__FOR_SIZE && q->fpool_cap && (stack_idx < q->sv.n_stacks || stack_idx == 0)) {
        c = &q->fstk[stack_idx < q->sv.n_stacks ? (uint32_t)stack_idx : q->sv.n_stacks];
        if (c->off != P2M__FSTK_UNRESOLVED) {
            *names = q->fpool + c->off;
            *n = c->len;
            return 0;
        }
    }
    if ((r = p2m__walk_names(q, stack_idx, n)) != 0) return r;
    *names = q->fn_list;
    if (c && *n <= q->fpool_cap - q->fpool_used) {
        if (*n) P2M_MEMCPY(q->fpool + q->fpool_used, q->fn_list, (size_t)*n * 4u);
        c->off = q->fpool_used;
        c->len = *n;
        q->fpool_used += *n;
    }
    return 0;
}

#if !P2M__FOR_SIZE
/* The feed of p2m__feed_functions when its attribute set is known (set):
   each name's series by p2m__fn_find, new ones made as p2m__series_at
   makes them, or with full (a constant: the resource has max_series
   function series and its overflow point) none made, a name without a
   series counted for that point. Returns how many feeds went to the
   overflow point. */
P2M__INLINE uint32_t p2m__feed_set_in(p2m__req *q, uint32_t base, uint32_t set,
                                      const uint32_t *names, uint32_t n, uint64_t contrib,
                                      uint64_t lo, uint64_t hi, const int full) {
    const uint32_t nk = q->e->n_keys, fk = q->e->fkey;
    uint32_t k, novf = 0;
    for (k = 0; k < n; k++) {
        const uint32_t name = names[k];
        uint32_t id, slot = 0;
        q->kv[fk] = name;
        id = p2m__fn_find(q, p2m__hstep(base, name), set, name, nk, fk, &slot);
        if (id == UINT32_MAX) { /* only a new series can be the overflow point */
            if (!full) id = p2m__series_make(q, P2M_METRIC_FUNCTION, 0, slot, set, 0);
            if (full || q->ser[id].overflow) {
                novf++;
                continue;
            }
        }
        p2m__series_add(q, &q->ser[id], contrib, 1, lo, hi);
    }
    return novf;
}

/* The feed of p2m__feed_functions once the resource has max_series
   function series and its overflow point: each name finds its own series,
   else it counts for the overflow point. Returns how many did. Out of
   line: inlined, the feed's general loop is slower. */
static P2M__NOINLINE uint32_t p2m__feed_full(p2m__req *q, uint32_t base, uint32_t set,
                                             const uint32_t *names, uint32_t n, uint64_t contrib,
                                             uint64_t lo, uint64_t hi) {
    const uint32_t fk = q->e->fkey;
    uint32_t k, novf = 0;
    if (set != P2M__ID1_NONE) return p2m__feed_set_in(q, base, set, names, n, contrib, lo, hi, 1);
    for (k = 0; k < n; k++) {
        uint32_t id, slot;
        q->kv[fk] = names[k];
        id = p2m__series_find(q, P2M_METRIC_FUNCTION, p2m__hstep(base, names[k]), &slot);
        if (id == UINT32_MAX) novf++;
        else p2m__series_add(q, &q->ser[id], contrib, 1, lo, hi);
    }
    return novf;
}

/* p2m__feed_set_in while the resource may still make function series. */
static P2M__NOINLINE uint32_t p2m__feed_set(p2m__req *q, uint32_t base, uint32_t set,
                                            const uint32_t *names, uint32_t n, uint64_t contrib,
                                            uint64_t lo, uint64_t hi) {
    return p2m__feed_set_in(q, base, set, names, n, contrib, lo, hi, 0);
}
#endif

/* Feeds the function metric from one sample's stack: one point per name
   (base is the sample's p2m__kv_hash without fkey); own: the sample's
   series of the cpu metric (NULL: none). 0 ok, 1 invalid reference, -1
   malformed. */
static P2M__MUST int p2m__feed_functions(p2m__req *q, const p2m__series *own, uint64_t stack_idx,
                                         uint64_t contrib, uint64_t lo, uint64_t hi) {
    const uint32_t base = p2m__kv_hash(q, P2M_METRIC_FUNCTION, q->e->fkey);
    const uint32_t fk = q->e->fkey, saved = q->kv[fk];
    const uint8_t saved_pos = q->kpos[fk];
#if !P2M__FOR_SIZE
    /* The feed's attribute set is its sample's own series' when that is not
       an overflow point and has no value for the function's key: two such
       series of a resource differ in a key other than the name's, so the
       series' id names the set (p2m__fn_find). */
    const uint32_t set = own && !own->overflow && saved == P2M__VID_ABSENT
                             ? P2M__ID1((uint32_t)(own - q->ser))
                             : P2M__ID1_NONE;
#endif
    const uint32_t *names;
    uint32_t n, k, novf = 0;
    int r = p2m__stack_names(q, stack_idx, &names, &n);
    if (r) return r;
    if (!n) { /* no frame at all: one point for the unknown function (fn_list holds one) */
        q->fn_list[0] = p2m__unknown_vid(q);
        names = q->fn_list;
        n = 1;
    }
    q->kpos[fk] = (uint8_t)q->e->n_rules; /* after every rule's attribute */
#if !P2M__FOR_SIZE
    q->fn_abase = 0;
#else
    (void)own;
#endif
    /* Feeds that land in the overflow point (most, once a resource has
       max_series of them) are added to it once, together. */
#if !P2M__FOR_SIZE
    if (q->count[P2M_METRIC_FUNCTION] >= q->e->max_series &&
        q->ovf[P2M_METRIC_FUNCTION] != P2M__ID1_NONE) { /* no new series */
        novf = p2m__feed_full(q, base, set, names, n, contrib, lo, hi);
    } else if (set != P2M__ID1_NONE) {
        novf = p2m__feed_set(q, base, set, names, n, contrib, lo, hi);
    } else
#endif
    {
        for (k = 0; k < n; k++) {
            p2m__series *se;
            q->kv[fk] = names[k];
            se = &q->ser[p2m__series_at(q, P2M_METRIC_FUNCTION, p2m__hstep(base, names[k]))];
            if (se->overflow) novf++; /* the resource's overflow point */
            else p2m__series_add(q, se, contrib, 1, lo, hi);
        }
    }
    if (novf)
        p2m__series_add(q, &q->ser[P2M__ID1_ID(q->ovf[P2M_METRIC_FUNCTION])], contrib, novf, lo,
                        hi);
    q->kv[fk] = saved;
    q->kpos[fk] = saved_pos;
    return 0;
}

#endif /* P2M_NO_FUNCTION */

#ifndef P2M_NO_FUNCTION
/* ---- one request: stack properties (frame rules, stack filter, stack patterns) ----
   What frame rules read of a sample's stack (docs/spec.md section 5) and
   whether its function names match the stack filter and the declared
   metrics' stack patterns, resolved once per stack (many samples share one)
   into q->sprops. Stacks with equal values and verdict form a class, which
   the sample memo adds to its key. Names come from p2m__location_names, so
   they are the function metric's names. */

/* The frame type (its last profile.frame.type attribute, a value id) and
   mapping index of location li. Read once per stack that needs it (the
   stack's properties are memoised). 0 ok, 1 invalid reference, -1 malformed. */
P2M__INLINE P2M__MUST int p2m__location_frame_in(p2m__req *q, uint64_t li, uint32_t *type,
                                                 uint64_t *map) {
    const uint8_t *p, *end;
    p2m__field f;
    int r;
    *type = P2M__VID_ABSENT;
    *map = 0;
    if (li >= q->sv.n_locs) return li != 0; /* location 0 of an empty table: no frame */
    p = q->in + q->locs[li].off;
    end = p + q->locs[li].len;
    while ((r = P2M__FOR_SIZE ? p2m__next(&q->w, &p, end, &f)
                              : p2m__next_wanted(&q->w, &p, end, q->loc_want, &f)) > 0) {
        p2m__ints it;
        uint64_t idx;
        int ri;
        if (f.num == P2M__PB_LOCATION_MAPPING_INDEX && f.wt == P2M__WT_VARINT) *map = f.v;
        if (f.num != P2M__PB_LOCATION_ATTRIBUTE_INDICES ||
            (f.wt != P2M__WT_LEN && f.wt != P2M__WT_VARINT))
            continue;
        p2m__ints_init(&it, &f);
        while ((ri = p2m__ints_next(&q->w, &it, &idx)) > 0) {
            if (idx >= q->sv.n_attrs) {
                if (idx != 0) return 1;
                continue;
            }
            if (q->aslots[idx].ent.slot == P2M__BADSLOT) return 1;
            if (q->aslots[idx].ent.slot == q->e->ftype_slot) *type = q->aslots[idx].ent.vid;
        }
        if (ri < 0) return -1;
    }
    return r < 0 ? -1 : 0;
}

/* The leaf's type, kind and library (as far as the rules read them), from
   its type t and mapping map. */
P2M__INLINE P2M__MUST int p2m__leaf_props_in(p2m__req *q, p2m__sprop *sp, uint32_t t,
                                             uint64_t map) {
    const uint32_t need = q->e->frame_need;
    if (t > P2M__VID_EMPTY) {
        if (need >> P2M__FR_TYPE & 1u) sp->v[P2M__FR_TYPE] = t;
        if (need >> P2M__FR_KIND & 1u) sp->v[P2M__FR_KIND] = t == q->vid_kernel ? t : q->vid_user;
    }
    if ((need >> P2M__FR_LIBRARY & 1u) && (t <= P2M__VID_EMPTY || t == q->vid_native)) {
        p2m_str file, base;
        p2m__field attrs;
        int has_attrs, b = p2m__mapping_file(q, map, &file, &attrs, &has_attrs);
        if (b) return b;
        base = p2m__basename(file);
        if (base.len)
            sp->v[P2M__FR_LIBRARY] =
                p2m__intern(q, P2M_VALUE_STRING, (const uint8_t *)base.ptr, (uint32_t)base.len, 0);
    }
    return 0;
}

/* The two above as functions of their own, for the general path
   (p2m__resolve_frames); the leaf path has them inlined. */
static P2M__MUST int p2m__location_frame(p2m__req *q, uint64_t li, uint32_t *type, uint64_t *map) {
    return p2m__location_frame_in(q, li, type, map);
}
static P2M__MUST int p2m__leaf_props(p2m__req *q, p2m__sprop *sp, uint32_t t, uint64_t map) {
    return p2m__leaf_props_in(q, sp, t, map);
}

/* The system call of a kernel frame's function name: NAME of PREFIX NAME. */
static int p2m__syscall_of(const p2m__val *v, p2m_str *name) {
    static const char *const entry[7] = {"__x64_sys_", "__arm64_sys_", "__ia32_sys_", "__se_sys_",
                                         "__do_sys_",  "ksys_",        "sys_"};
    p2m_str s;
    uint32_t k;
    s.ptr = (const char *)v->ptr;
    s.len = v->len;
    for (k = 0; k < 7u; k++) {
        const size_t n = p2m__cstrlen(entry[k]);
        if (s.len > n && p2m__starts(s, entry[k])) {
            name->ptr = s.ptr + n;
            name->len = s.len - n;
            return 1;
        }
    }
    return 0;
}

/* Does declared metric x's stack pattern match name vid? Judged once per name. */
static int p2m__xstack_match(p2m__req *q, uint32_t x, uint32_t vid) {
    uint8_t *v = &q->xverdict[(size_t)x * q->vals_cap + vid];
    if (!*v) {
        size_t a, b;
        *v = p2m__search(q, q->e->metric[P2M_METRIC_EXTRA + x].stack_rx, q->vals[vid].ptr,
                         q->vals[vid].len, &a, &b) == 1
                 ? 2u
                 : 1u;
    }
    return *v == 2u;
}

/* One frame's names against the stack filter and the stack patterns. */
static void p2m__match_names(p2m__req *q, p2m__sprop *sp, const uint32_t *ids, uint32_t n) {
    const p2m_engine *e = q->e;
    uint32_t j, x;
    for (j = 0; j < n; j++) {
        if (e->filter[P2M__F_STACK].enabled && !sp->keep)
            sp->keep = (uint32_t)p2m__filter_match(q, P2M__F_STACK, ids[j]);
        for (x = 0; x < e->n_extra; x++)
            if ((e->xstack_mask & ~sp->xmatch) >> x & 1u && p2m__xstack_match(q, x, ids[j]))
                sp->xmatch |= (uint64_t)1 << x;
    }
}

/* The state word of a resolved stack: a hash of its values and verdict
   (P2M__SP_HASHED or more, below 2^31). */
static uint32_t p2m__stack_hash(const p2m__sprop *sp) {
    /* the six words in three 64-bit products, whose high halves mix best */
    const uint64_t h = ((uint64_t)sp->v[0] << 32 | sp->v[1]) * 0x9E3779B97F4A7C15u ^
                       ((uint64_t)sp->v[2] << 32 | sp->v[3]) * 0xC2B2AE3D27D4EB4Fu ^
                       ((uint64_t)sp->v[4] << 32 | sp->keep) * 0x165667B19E3779F9u;
    return ((uint32_t)(h >> 33) & P2M_TEST_STACK_HASH_MASK) | P2M__SP_HASHED;
}

/* Is the leaf's location all that e reads of a stack (no names, no system
   call)? Then p2m__resolve_leaf does it in a few lines (not in a build for
   size, where p2m__resolve_frames, which gives the same, is enough). */
P2M__INLINE int p2m__leaf_only(const p2m_engine *e) {
    return !(e->frame_need & (1u << P2M__FR_FUNCTION | 1u << P2M__FR_SYSCALL)) &&
           !e->filter[P2M__F_STACK].enabled && !e->xstack_mask;
}

/* The leaf's properties when nothing else is read: the frame type and
   mapping of the first location. 0 ok, 1 invalid reference, -1 malformed. */
static P2M__NOINLINE P2M__MUST int p2m__resolve_leaf(p2m__req *q, p2m__sprop *sp,
                                                     p2m__locs *k) {
    uint64_t li = 0, map = 0;
    uint32_t type = P2M__VID_ABSENT;
    int r = p2m__locs_next(q, k, &li);
    if (r <= 0) return r; /* an empty stack has no properties */
    if ((r = p2m__location_frame_in(q, li, &type, &map)) != 0) return r;
    return p2m__leaf_props_in(q, sp, type, map);
}

/* The general case: frames are read from the leaf only as far as needed:
   the leaf for type, kind and library, the first named frame for the
   function, the first system call entry, every frame when names are
   matched. 0 ok, 1 invalid reference, -1 malformed. */
static P2M__MUST int p2m__resolve_frames(p2m__req *q, p2m__sprop *sp, p2m__locs *k) {
    const p2m_engine *e = q->e;
    uint64_t li;
    int r, leaf = 1, want_fn = (int)(e->frame_need >> P2M__FR_FUNCTION & 1u),
           want_sys = (int)(e->frame_need >> P2M__FR_SYSCALL & 1u),
           match = e->filter[P2M__F_STACK].enabled || e->xstack_mask;
    uint32_t i;
    while ((r = p2m__locs_next(q, k, &li)) > 0) {
        const uint32_t *ids = 0;
        uint32_t n = 0, type = P2M__VID_ABSENT;
        uint64_t map = 0;
        int b = 0;
        if ((leaf && (e->frame_need & ~(1u << P2M__FR_FUNCTION))) || want_sys) {
            b = p2m__location_frame(q, li, &type, &map);
            if (!b && leaf) b = p2m__leaf_props(q, sp, type, map);
        }
        if (!b && (want_fn || want_sys || match)) b = p2m__location_names(q, li, &ids, &n, 0);
        if (b) return b;
        if (want_fn && n) {
            sp->v[P2M__FR_FUNCTION] = ids[0];
            want_fn = 0;
        }
        if (want_sys && (type <= P2M__VID_EMPTY || type == q->vid_kernel)) {
            p2m_str name;
            for (i = 0; i < n && want_sys; i++) {
                if (!p2m__syscall_of(&q->vals[ids[i]], &name)) continue;
                sp->v[P2M__FR_SYSCALL] = p2m__intern(q, P2M_VALUE_STRING, (const uint8_t *)name.ptr,
                                                     (uint32_t)name.len, 0);
                want_sys = 0;
            }
        }
        if (match) p2m__match_names(q, sp, ids, n);
        leaf = 0;
        if (!want_fn && !want_sys && !match) break;
    }
    return r < 0 ? -1 : 0;
}

/* Resolves the properties of stack si (index stack_idx, which is in the
   table or 0), remembering an invalid reference. 0 ok, 1 invalid reference,
   -1 malformed. */
static P2M__MUST int p2m__stack_resolve(p2m__req *q, uint64_t stack_idx, uint32_t si) {
    p2m__sprop *sp = &q->sprops[si];
    p2m__locs k;
    uint32_t i;
    int r;
    if (p2m__locs_init(q, stack_idx, &k)) return 1; /* not reached: the caller checked */
    for (i = 0; i < P2M__NFRAME; i++) sp->v[i] = P2M__VID_ABSENT;
    sp->keep = 0;
    sp->xmatch = 0;
    r = !P2M__FOR_SIZE && q->leaf_only ? p2m__resolve_leaf(q, sp, &k)
                                       : p2m__resolve_frames(q, sp, &k);
    if (r > 0) q->sstate[si] = P2M__SP_INVALID;
    if (r) return r;
    q->sstate[si] = p2m__stack_hash(sp);
    return 0;
}

/* The properties of stack stack_idx (resolved at its first sample) and its
   state word, their hash. 0 ok, 1 invalid reference, -1 malformed. */
P2M__INLINE P2M__MUST int p2m__stack_props(p2m__req *q, uint64_t stack_idx,
                                           const p2m__sprop **out, uint32_t *cls) {
    uint32_t si = q->sv.n_stacks, state; /* stack 0 of an empty table: the entry after them */
    if (P2M__LIKELY(stack_idx < q->sv.n_stacks)) si = (uint32_t)stack_idx;
    else if (stack_idx != 0) return 1; /* outside the table */
    *out = &q->sprops[si];
    state = q->sstate[si];
    if (P2M__UNLIKELY(state == P2M__SP_UNRESOLVED)) {
        const int r = p2m__stack_resolve(q, stack_idx, si);
        if (r) return r;
        state = q->sstate[si];
    }
    if (state == P2M__SP_INVALID) return 1;
    *cls = state;
    return 0;
}

/* Does the stack stop the sample (an invalid reference in it, the stack
   filter)? 1 when it is counted and done, 0 to go on, -1 on an error. */
P2M__INLINE P2M__MUST int p2m__stack_stops(p2m__req *q, const p2m__field *f, int bad,
                                           const p2m__sprop *sp, p2m__smemo *me) {
    if (bad) {
        if (q->e->strict)
            return p2m__fail_ref(
                q, f->at,
                P2M__MSG("stack, location, function, mapping or attribute index outside its "
                         "table"));
        if (me) me->outcome = P2M__SM_BAD_STACK;
        q->st->invalid_references++;
        return 1;
    }
    if (q->e->filter[P2M__F_STACK].enabled && !sp->keep) {
        if (me) me->outcome = P2M__SM_DROP_STACK;
        q->st->dropped_stack++;
        return 1;
    }
    return 0;
}
#endif /* P2M_NO_FUNCTION */

/* ---- one request: the sample walk ----------------------------------------- */

/* min and max of the sample timestamps of a profile (for profiles with time 0) */
static P2M__MUST int p2m__timestamp_window(p2m__req *q, p2m__span s, uint64_t *lo, uint64_t *hi) {
    const uint8_t *p = s.p, *end = s.p + s.n;
    p2m__field f, g;
    int r, rr;
    *lo = UINT64_MAX;
    *hi = 0;
    while ((r = p2m__next(&q->w, &p, end, &f)) > 0) {
        const uint8_t *sp, *send;
        if (f.num != P2M__PB_PROFILE_SAMPLES || f.wt != P2M__WT_LEN) continue;
        sp = f.s.p;
        send = sp + f.s.n;
        while ((rr = p2m__next(&q->w, &sp, send, &g)) > 0) {
            if (g.num != P2M__PB_SAMPLE_TIMESTAMPS_UNIX_NANO) continue;
            if (g.wt == P2M__WT_I64) {
                if (g.v < *lo) *lo = g.v;
                if (g.v > *hi) *hi = g.v;
            } else if (g.wt == P2M__WT_LEN) {
                uint32_t k;
                if (g.s.n % 8u)
                    return p2m__bad(&q->w, g.at,
                                    P2M__MSG("packed fixed64 length not a multiple of 8"));
                for (k = 0; k < g.s.n; k += 8) {
                    uint64_t t = p2m__le64(g.s.p + k);
                    if (t < *lo) *lo = t;
                    if (t > *hi) *hi = t;
                }
            }
        }
        if (rr < 0) return -1;
    }
    return r;
}

#if !P2M__FOR_SIZE
/* The packed attribute indices [p, e) of a sample's field at `at`, applied
   to q->smp_slots as p2m__sample_attrs does (no pattern keys), while they
   take one or two bytes; returns where it stopped (e when all were). Out
   of line: inlined, it costs the memo run registers in the sample walk. */
static P2M__NOINLINE const uint8_t *p2m__attrs_packed(p2m__req *q, const uint8_t *p,
                                                     const uint8_t *e, const uint8_t *at,
                                                     int *bad, const uint8_t **bad_at) {
    const uint32_t n_attrs = q->sv.n_attrs;
    const p2m__aslot *const as = q->aslots; /* locals: the stores below may alias q */
    uint32_t *const slots = q->smp_slots;
    const uintptr_t last = (uintptr_t)e - 1u; /* p < last: p[1] is in the list too */
    while (p < e) {
        uint32_t i = p[0];
        const p2m__aent *a;
        if (i < 0x80u) {
            p++;
        } else if ((uintptr_t)p < last && p[1] < 0x80u) {
            i = P2M__VARINT2(i, p[1]);
            p += 2;
        } else {
            break;
        }
        if (P2M__UNLIKELY(i >= n_attrs)) {
            if (i != 0 && !*bad) { *bad = 1; *bad_at = at; }
            continue;
        }
        a = &as[i].ent;
        if (P2M__LIKELY(a->slot < P2M__BADSLOT)) slots[a->slot] = a->vid;
        else if (a->slot == P2M__BADSLOT && !*bad) { *bad = 1; *bad_at = at; }
    }
    return p;
}
#endif

/* A sample's slots from its profile's, in line (a call to memcpy costs
   more than the copy of a few; builds for size: the call). Four or fewer
   (nearly always) are copied as 16 bytes through a local, whatever their
   number: the slots block ends with 16 bytes to spare (p2m__make_plan),
   and the sample's slots come last in it. */
P2M__INLINE void p2m__sample_slots(p2m__req *q) {
    const uint32_t n = q->e->n_slots;
    uint32_t i;
    if (P2M__FOR_SIZE) {
        P2M_MEMCPY(q->smp_slots, q->prof_slots, n * sizeof(uint32_t));
        return;
    }
    if (n <= 4u) {
        uint32_t t[4];
        P2M_MEMCPY(t, q->prof_slots, sizeof t);
        P2M_MEMCPY(q->smp_slots, t, sizeof t);
        return;
    }
    for (i = 0; i < n; i++) q->smp_slots[i] = q->prof_slots[i];
}

/* A sample's attribute_indices field (packed or one unpacked value) applied
   to q->smp_slots; an invalid index marks the sample bad. */
P2M__INLINE P2M__MUST int p2m__sample_attrs(p2m__req *q, const p2m__field *g, int *bad,
                                  const uint8_t **bad_at) {
    p2m__ints it;
    uint64_t idx = 0;
    int ri;
#if !P2M__FOR_SIZE
    if (g->wt == P2M__WT_LEN && !q->akey) { /* packed: nearly always read whole here */
        it.end = g->s.p + g->s.n;
        it.p = p2m__attrs_packed(q, g->s.p, it.end, g->at, bad, bad_at);
        if (P2M__LIKELY(it.p == it.end)) return 0;
        it.single = 0; /* the rest, index by index, as p2m__ints_init would set it */
        it.has_single = 0;
    } else
#endif
        p2m__ints_init(&it, g);
    while ((ri = p2m__ints_next(&q->w, &it, &idx)) > 0) {
        const p2m__aent *a;
        if (P2M__UNLIKELY(idx >= q->sv.n_attrs)) {
            if (idx != 0 && !*bad) { *bad = 1; *bad_at = g->at; }
            continue;
        }
        a = &q->aslots[idx].ent;
        if (P2M__UNLIKELY(a->slot == P2M__BADSLOT)) {
            if (!*bad) { *bad = 1; *bad_at = g->at; }
            continue;
        }
        if (a->slot != P2M__NONE) q->smp_slots[a->slot] = a->vid;
        if (q->akey) {
            q->kstamp[q->akey[idx]] = q->sstamp;
            q->kval[q->akey[idx]] = a->vid;
        }
    }
    return ri < 0 ? -1 : 0;
}

/* One sample as its fields give it (p2m__read_sample). */
typedef struct p2m__smp {
    uint64_t sum;           /* of its values */
    uint64_t count;         /* of its timestamps */
    uint64_t stack_idx;
    uint32_t n_attr_fields; /* attribute_indices fields seen */
    int has_values;
    int bad;                /* an invalid reference (counted, or an error in strict mode) */
    int memo;               /* the sample memo may answer for it */
    const uint8_t *bad_at;
    p2m__field attrs;       /* its one packed attribute_indices field, for the memo */
} p2m__smp;

/* The layout's sample fields that move between versions; ev_values: the
   values field where a packed one is evidence the statistics do not have
   yet (v1.10 after a lazy survey found none; else 0, no field). */
typedef struct p2m__sfields {
    uint32_t values, attrs, contra;
#if !P2M__FOR_SIZE
    uint32_t link, ev_values;
    const uint8_t *lim; /* the end of the input */
    /* for p2m__canon_read: the tag bytes of attribute_indices, values
       (packed) and link_index; ev: values are evidence still wanted */
    uint32_t ta, tv, tl;
    int ev;
#endif
} p2m__sfields;

/* Adds the packed varints [v, e) of a values field to *sum (*has_values
   set when there is one); 0 when one is malformed or longer than 9 bytes
   (the field reader then reads the sample). */
P2M__INLINE int p2m__values_sum(const uint8_t *v, const uint8_t *e, uint64_t *sum,
                                int *has_values) {
    const uint8_t *q;
    for (; v < e; v = q) {
        if (!(q = p2m__varint_end9(v, e))) return 0;
        *sum += p2m__varint9(v, q);
        *has_values = 1;
    }
    return 1;
}

#if !P2M__FOR_SIZE
/* The body of the field at p <= end with tag byte t and a one-byte length
   that fits before end, or NULL when the field is not so. p[0] and p[1]
   are read even at end: the caller knows two more bytes of input follow. */
P2M__INLINE const uint8_t *p2m__len1(const uint8_t *p, const uint8_t *end, uint32_t t) {
    return p[0] == t && p[1] < 0x80u && (uintptr_t)p + 2u + p[1] <= (uintptr_t)end ? p + 2 : 0;
}

/* What p2m__sample_canon reads of a sample. */
typedef struct p2m__canon {
    uint64_t stack, count, sum;
    int has_values;
    p2m__span attrs;          /* p NULL: no attribute list */
    const uint8_t *attrs_at;  /* the attribute list's tag */
} p2m__canon;

/* The readers of one field of p2m__sample_canon at p <= end (as p2m__len1
   reads), each if the field is there: they return where it ends (p when it
   is not there), or NULL when it is malformed. */

/* stack_index */
P2M__INLINE const uint8_t *p2m__canon_stack(const uint8_t *p, const uint8_t *end, p2m__canon *c) {
    const uint8_t *v;
    if (end - p < 2 || p[0] != P2M__TAG(P2M__PB_SAMPLE_STACK_INDEX, P2M__WT_VARINT)) return p;
    if (p[1] < 0x80u) {
        c->stack = p[1];
        return p + 2;
    }
    if (end - p >= 3 && p[2] < 0x80u) { /* 128 to 16383 */
        c->stack = P2M__VARINT2(p[1], p[2]);
        return p + 3;
    }
    if (!(v = p2m__varint_end_long(p + 1, end))) return 0; /* inline, unlike varint_end9 */
    c->stack = p2m__varint9(p + 1, v);
    return v;
}

/* attribute_indices (tag ta, a one-byte length) */
P2M__INLINE const uint8_t *p2m__canon_attrs(const uint8_t *p, const uint8_t *end, uint32_t ta,
                                            p2m__canon *c) {
    const uint8_t *v = p2m__len1(p, end, ta);
    if (!v) return p;
    c->attrs_at = p;
    c->attrs.p = v;
    c->attrs.n = p[1];
    return v + p[1];
}

/* link_index (tag tl): read and not used */
P2M__INLINE const uint8_t *p2m__canon_link(const uint8_t *p, const uint8_t *end, uint32_t tl) {
    return p[0] == tl && p < end ? p2m__varint_end9(p + 1, end) : p;
}

/* values (tag tv, packed, a one-byte length): their sum; NULL too when the
   field is layout evidence still wanted (ev: the field reader notes it) */
P2M__INLINE const uint8_t *p2m__canon_values(const uint8_t *p, const uint8_t *end, uint32_t tv,
                                             int ev, p2m__canon *c) {
    const uint8_t *v = p2m__len1(p, end, tv);
    if (!v) return p;
    if (ev || !p2m__values_sum(v, v + p[1], &c->sum, &c->has_values)) return 0;
    return v + p[1];
}

/* a run of timestamps_unix_nano fields (packed, a one-byte length) */
P2M__INLINE const uint8_t *p2m__canon_times(const uint8_t *p, const uint8_t *end, p2m__canon *c) {
    const uint8_t *v;
    while (p != end &&
           (v = p2m__len1(p, end, P2M__TAG(P2M__PB_SAMPLE_TIMESTAMPS_UNIX_NANO, P2M__WT_LEN)))) {
        if (p[1] % 8u) return 0;
        c->count += p[1] / 8u;
        p = v + p[1];
    }
    return p;
}

/* p2m__sample_plain for a sample whose fields come in field-number order
   (fwd) or in the reverse order (as Go's eBPF profiler writes them), each
   at most once but the timestamps, with one-byte lengths. Each field is
   tested where it may be, with no switch over tags, and the tests read up
   to two bytes past the sample (a sample at the very end of the input goes
   to the general loop). 0 when the sample is not so. */
P2M__INLINE int p2m__canon_read(const uint8_t *p, const uint8_t *end, const p2m__sfields *sf,
                                int fwd, p2m__canon *c) {
    const uint32_t ta = sf->ta, tv = sf->tv, tl = sf->tl;
    const int ev = sf->ev;
    c->stack = c->count = c->sum = 0;
    c->has_values = 0;
    c->attrs.p = 0;
    c->attrs.n = 0;
    if (fwd && !(p = p2m__canon_stack(p, end, c))) return 0;
    if (!fwd && !(p = p2m__canon_times(p, end, c))) return 0;
    if (ta < tv && fwd) { /* v1.10: attributes, link, values */
        p = p2m__canon_attrs(p, end, ta, c);
        if (!(p = p2m__canon_link(p, end, tl))) return 0;
        if (!(p = p2m__canon_values(p, end, tv, ev, c))) return 0;
    } else if (ta < tv) {
        if (!(p = p2m__canon_values(p, end, tv, ev, c))) return 0;
        if (!(p = p2m__canon_link(p, end, tl))) return 0;
        p = p2m__canon_attrs(p, end, ta, c);
    } else if (fwd) { /* v1.8 and v1.9: values, attributes, link */
        if (!(p = p2m__canon_values(p, end, tv, ev, c))) return 0;
        p = p2m__canon_attrs(p, end, ta, c);
        if (!(p = p2m__canon_link(p, end, tl))) return 0;
    } else {
        if (!(p = p2m__canon_link(p, end, tl))) return 0;
        p = p2m__canon_attrs(p, end, ta, c);
        if (!(p = p2m__canon_values(p, end, tv, ev, c))) return 0;
    }
    if (fwd && !(p = p2m__canon_times(p, end, c))) return 0;
    if (!fwd && !(p = p2m__canon_stack(p, end, c))) return 0;
    return p == end;
}

/* The two shapes nearly every sample of a profiler has: a stack index,
   attribute indices and one timestamps field, in field order or in the
   reverse order (Go's eBPF profiler), with no values or link: read by
   p2m__canon_read's readers without its tests for the fields they lack.
   1 when the sample [p, end) is so (its findings in c, but for sum and
   has_values), else 0. Reads up to two bytes past end, as p2m__canon_read. */
P2M__INLINE int p2m__sample_quick(const uint8_t *p, const uint8_t *end, uint32_t ta,
                                  p2m__canon *c) {
    const uint32_t tt = P2M__TAG(P2M__PB_SAMPLE_TIMESTAMPS_UNIX_NANO, P2M__WT_LEN);
    const uint8_t *q, *r, *v;
    if ((q = p2m__canon_stack(p, end, c)) != p && q) { /* field order */
        if ((r = p2m__canon_attrs(q, end, ta, c)) == q || !(v = p2m__len1(r, end, tt)))
            return 0;
        c->count = r[1] / 8u;
        return r[1] % 8u == 0 && v + r[1] == end;
    }
    if (!(v = p2m__len1(p, end, tt)) || p[1] % 8u) return 0;
    c->count = p[1] / 8u;
    q = v + p[1];
    /* the stack index last: one or two bytes to the end */
    if ((r = p2m__canon_attrs(q, end, ta, c)) == q ||
        r[0] != P2M__TAG(P2M__PB_SAMPLE_STACK_INDEX, P2M__WT_VARINT))
        return 0;
    if (end - r == 2 && r[1] < 0x80u) {
        c->stack = r[1];
        return 1;
    }
    if (end - r == 3 && r[1] >= 0x80u && r[2] < 0x80u) {
        c->stack = P2M__VARINT2(r[1], r[2]);
        return 1;
    }
    return 0;
}

/* The attribute list of the last sample in field order of the quick shape
   that the memo lane read, when of 16 bytes or fewer: its tag and length as
   two little-endian bytes (t16; for none, UINT32_MAX, which no two bytes
   are), its length n,
   and the masks that cut its key's two words to n bytes (P2M__MEMO_KEY). */
typedef struct p2m__qlast {
    uint32_t t16, n;
    uint64_t m0, m1;
} p2m__qlast;

/* Notes in l the attribute list of n <= 16 bytes of a sample in field
   order with attribute tag ta. */
P2M__INLINE void p2m__qlast_set(p2m__qlast *l, uint32_t ta, uint32_t n) {
    l->t16 = ta | n << 8;
    l->n = n;
    l->m0 = n >= 8u ? ~(uint64_t)0 : ((uint64_t)1 << (8u * n)) - 1u;
    l->m1 = n <= 8u ? 0u : n >= 16u ? ~(uint64_t)0 : ((uint64_t)1 << (8u * (n - 8u))) - 1u;
}

/* p2m__sample_quick in field order, for a sample whose attribute list has
   the tag and length noted in l: the two bytes compared at once, and one
   test that the list and the timestamps field's first two bytes fit. 1
   when the sample [p, end) is so, with its findings in c (but for sum and
   has_values) and the memo's key of its attribute bytes in *key and *key2
   (as P2M__MEMO_KEY). Reads up to 14 bytes past end (the key's words): the
   caller knows that 16 are input. */
P2M__INLINE int p2m__quick_again(const uint8_t *p, const uint8_t *end, const p2m__qlast *l,
                                 p2m__canon *c, uint64_t *key, uint64_t *key2) {
    const uint8_t *q, *r;
    if (p[0] != P2M__TAG(P2M__PB_SAMPLE_STACK_INDEX, P2M__WT_VARINT)) return 0;
    if (p[1] < 0x80u) { /* most: an index under 128, its two bytes tested by the list's test */
        c->stack = p[1];
        q = p + 2;
    } else if (!(q = p2m__canon_stack(p, end, c)) || q == p) {
        return 0;
    }
    /* end - q as signed: in a sample of fewer than two bytes q is past end,
       and the test stops before r, which would be past the 16 bytes */
    if (((uint32_t)q[0] | (uint32_t)q[1] << 8) != l->t16 ||
        end - q < 4 + (ptrdiff_t)l->n) /* the list, and two bytes of timestamps */
        return 0;
    r = q + 2 + l->n; /* the timestamps: a one-byte length, a multiple of 8, to the end */
    if (r[0] != P2M__TAG(P2M__PB_SAMPLE_TIMESTAMPS_UNIX_NANO, P2M__WT_LEN) || r[1] & 0x87u ||
        (size_t)(end - r) != 2u + r[1])
        return 0;
    c->count = r[1] / 8u;
    c->attrs_at = q;
    c->attrs.p = q + 2;
    c->attrs.n = l->n;
    *key = p2m__le64(q + 2) & l->m0;
    *key2 = p2m__le64(q + 10) & l->m1;
    return 1;
}

/* What a sample p2m__sample_quick read into c gives the sample readers:
   x's fields (no values) and the attribute list in *attrs. */
P2M__INLINE void p2m__quick_smp(const p2m__canon *c, p2m__smp *x, p2m__span *attrs) {
    x->stack_idx = c->stack;
    x->count = c->count;
    x->sum = 0;
    x->has_values = 0;
    *attrs = c->attrs;
}

/* p2m__sample_quick, else p2m__canon_read in field order, then in reverse
   order; its findings in x, *attrs and *attrs_at. */
P2M__INLINE int p2m__sample_canon(const uint8_t *p, const uint8_t *end, const p2m__sfields *sf,
                                  p2m__smp *x, p2m__span *attrs, const uint8_t **attrs_at) {
    p2m__canon c;
    if ((uintptr_t)sf->lim - (uintptr_t)end < 2u) return 0;
    if (p2m__sample_quick(p, end, sf->ta, &c)) {
        p2m__quick_smp(&c, x, attrs);
        *attrs_at = c.attrs_at;
        return 1;
    }
    /* a sample that starts with its timestamps is not in field order */
    if (!(p[0] != P2M__TAG(P2M__PB_SAMPLE_TIMESTAMPS_UNIX_NANO, P2M__WT_LEN) &&
          p2m__canon_read(p, end, sf, 1, &c)) &&
        !p2m__canon_read(p, end, sf, 0, &c))
        return 0;
    x->stack_idx = c.stack;
    x->count = c.count;
    x->sum = c.sum;
    x->has_values = c.has_values;
    if (c.attrs.p) {
        *attrs = c.attrs;
        *attrs_at = c.attrs_at;
    }
    return 1;
}
#endif

/* What p2m__read_sample takes from a sample [p, end) whose fields are all
   plain (p2m__plain_field), with at most one attribute_indices field,
   packed, and values, if any, packed: the stack index, the timestamps'
   count, the values' sum, and the attribute field in *attrs (its tag's
   place in *attrs_at; attrs->p NULL without one). 0 when the sample is not
   so: the field reader then reads it (and reports what is malformed).
   Outside builds for size p2m__sample_canon tries first. */
P2M__INLINE int p2m__sample_plain(const uint8_t *p, const uint8_t *end, const p2m__sfields *sf,
                                  p2m__smp *x, p2m__span *attrs, const uint8_t **attrs_at) {
    uint64_t stack = 0, count = 0, sum = 0;
    int has_values = 0;
    attrs->p = 0;
    attrs->n = 0;
#if !P2M__FOR_SIZE
    if (p2m__sample_canon(p, end, sf, x, attrs, attrs_at)) return 1;
#endif
    while (p < end) {
        const uint8_t *at = p;
        uint32_t t, num;
        p2m__span v;
        if (!(p = p2m__plain_field(p, end, &t, &v))) return 0;
        num = t >> 3;
        switch (t & 7u) {
        case P2M__WT_VARINT:
            if (num == sf->values || num == sf->attrs) return 0; /* unpacked */
            if (num == P2M__PB_SAMPLE_STACK_INDEX) stack = p2m__varint9(v.p, p);
            break;
        case P2M__WT_LEN:
            if (num == sf->contra) return 0;
            if (num == sf->attrs) {
                if (attrs->p) return 0;
                *attrs = v;
                *attrs_at = at;
            } else if (num == P2M__PB_SAMPLE_TIMESTAMPS_UNIX_NANO) {
                if (v.n % 8u) return 0;
                count += v.n / 8u;
            } else if (num == sf->values) {
#if !P2M__FOR_SIZE
                if (num == sf->ev_values) return 0; /* the field reader notes it */
#endif
                if (!p2m__values_sum(v.p, p, &sum, &has_values)) return 0;
            }
            break;
        case P2M__WT_I64:
            count += num == P2M__PB_SAMPLE_TIMESTAMPS_UNIX_NANO;
            break;
        default: break;
        }
    }
    x->stack_idx = stack;
    x->count = count;
    x->sum = sum;
    x->has_values = has_values;
    return 1;
}

/* Reads the fields of sample f into x. The sample's attributes are applied
   to q->smp_slots as they come, unless the memo may answer (one packed
   attribute_indices list, kept in x->attrs and applied later if needed). */
P2M__INLINE P2M__MUST int p2m__read_sample(p2m__req *q, const p2m__field *f, const p2m__pinfo *pi,
                                 const p2m__sfields *sf, int memo, p2m__smp *x) {
    const p2m_engine *e = q->e;
    const uint8_t *sp = f->s.p, *send = f->s.p + f->s.n;
    p2m__field g;
    int rr;
    x->sum = x->count = x->stack_idx = 0;
    x->n_attr_fields = 0;
    x->has_values = 0;
    x->bad = pi->bad;
    x->bad_at = pi->bad_at;
    x->memo = memo;
    if (!memo) p2m__sample_slots(q);
    if (q->kstamp && ++q->sstamp == 0) { /* wrapped: forget the marks */
        P2M_MEMSET(q->kstamp, 0, (size_t)q->vals_cap * 4u);
        q->sstamp = 1;
    }
    x->attrs.s.p = p2m__nothing;
    x->attrs.s.n = 0;
    x->attrs.v = 0;
    p2m__set_tag(&x->attrs, 0, P2M__WT_LEN);
    x->attrs.at = sp;
    if (!P2M__FOR_SIZE) { /* most samples: read in place */
        p2m__span a;
        const uint8_t *a_at = sp;
        if (p2m__sample_plain(sp, send, sf, x, &a, &a_at)) {
            if (!a.p) return 0;
            x->n_attr_fields = 1;
            if (x->memo) { /* applied after the sample is read, or not at all */
                x->attrs.s = a;
                x->attrs.at = a_at;
                return 0;
            }
            g.s = a;
            g.at = a_at;
            g.v = 0;
            p2m__set_tag(&g, sf->attrs, P2M__WT_LEN);
            return p2m__sample_attrs(q, &g, &x->bad, &x->bad_at) < 0 ? -1 : 0;
        }
    }
    while ((rr = p2m__next(&q->w, &sp, send, &g)) > 0) {
        if (g.num == sf->values && (g.wt == P2M__WT_LEN || g.wt == P2M__WT_VARINT)) {
            p2m__ints it;
            uint64_t v = 0;
            int ri;
#if !P2M__FOR_SIZE
            if (g.wt == P2M__WT_LEN && g.num == sf->ev_values)
                q->st->layout_evidence = P2M_LAYOUT_V1_10; /* as a full survey would see */
#endif
            p2m__ints_init(&it, &g);
            while ((ri = p2m__ints_next(&q->w, &it, &v)) > 0) {
                x->sum += v;
                x->has_values = 1;
            }
            if (ri < 0) return -1;
        } else if (g.num == sf->attrs && (g.wt == P2M__WT_LEN || g.wt == P2M__WT_VARINT)) {
            /* one packed list (the usual shape) is applied after the
               sample is read, or not at all when the memo knows it */
            if (!x->memo) {
                if (p2m__sample_attrs(q, &g, &x->bad, &x->bad_at) < 0) return -1;
            } else if (g.wt == P2M__WT_VARINT ||
                       x->n_attr_fields) { /* unpacked or several: in order, now */
                x->memo = 0;
                p2m__sample_slots(q);
                if (x->n_attr_fields && p2m__sample_attrs(q, &x->attrs, &x->bad, &x->bad_at) < 0)
                    return -1;
                if (p2m__sample_attrs(q, &g, &x->bad, &x->bad_at) < 0) return -1;
            } else { /* member by member: the compiler copies the whole
                        struct with 16-byte loads of what p2m__next wrote
                        in smaller stores, and each such load waits (9 %) */
                x->attrs.s.p = g.s.p;
                x->attrs.s.n = g.s.n;
                x->attrs.at = g.at;
            }
            x->n_attr_fields++;
        } else if (g.num == P2M__PB_SAMPLE_TIMESTAMPS_UNIX_NANO) {
            if (g.wt == P2M__WT_LEN) {
                if (g.s.n % 8u)
                    return p2m__bad(&q->w, g.at,
                                    P2M__MSG("packed fixed64 length not a multiple of 8"));
                x->count += g.s.n / 8u;
            } else if (g.wt == P2M__WT_I64) {
                x->count++;
            }
        } else if (g.num == P2M__PB_SAMPLE_STACK_INDEX && g.wt == P2M__WT_VARINT) {
            x->stack_idx = g.v;
        } else if (g.num == sf->contra && g.wt == P2M__WT_LEN && e->layout == P2M_LAYOUT_AUTO) {
            return p2m__bad(&q->w, g.at, P2M__MSG("contradicting layout evidence in a sample"));
        }
    }
    return rr;
}

/* The sample memo entry for attribute_indices bytes [ap, ap + n) with key
   key, key2 (the bytes themselves when 16 or fewer, else a hash of them:
   P2M__MEMO_KEY)
   and its stack's properties sp (NULL: none read, or an invalid stack)
   with hash cls; *hit when it holds their outcome already. On a miss the
   entry is taken for them. */
P2M__INLINE p2m__smemo *p2m__memo_find(p2m__req *q, const uint8_t *ap, uint32_t n, uint64_t key,
                                       uint64_t key2, uint32_t cls, const p2m__sprop *sp,
                                       int *hit) {
    const uint32_t slot =
        (uint32_t)(((key ^ key2 ^ n ^ (uint64_t)cls << 32) * 0x9E3779B97F4A7C15u) >> 40);
    p2m__smemo *me = &q->smemo[slot & q->smemo_mask];
    *hit = me->stamp == q->smemo_stamp && me->outcome != P2M__SM_NONE && me->len == n &&
           me->key == key && me->key2 == key2 && me->cls == cls &&
           (n <= 16u || p2m__bytes_eq(q->in + me->off, ap, n)) &&
           (!sp || q->sprops + me->stk == sp || p2m__stack_same(q->sprops + me->stk, sp));
    if (*hit) return me;
    me->stamp = q->smemo_stamp;
    me->key = key;
    me->key2 = key2;
    me->off = (uint32_t)(ap - q->in);
    me->len = n;
    me->cls = cls;
    me->stk = sp ? (uint32_t)(sp - q->sprops) : 0u;
    me->outcome = P2M__SM_NONE;
    return me;
}

/* The sample memo's key for attribute_indices bytes [ap, ap + n) into
   key and key2 (uint64_t lvalues, 0 before; k a uint32_t to count with):
   the bytes themselves when 16 or fewer (key2 the second eight), else a
   hash of them in key. lim: the end of the input, past which nothing is
   read. A macro, so that a build for size compiles it in its
   p2m__memo_entry's body: called, or as a function inlined, it made the
   Cortex-M4 runtime image 16 to 24 bytes bigger. */
#define P2M__MEMO_KEY(ap, n, lim, key, key2, k)                                                   \
    do {                                                                                          \
        if ((n) <= 16u) {                                                                         \
            /* no attributes: ap is not in the input (and the key stays 0) */                     \
            if ((n) != 0 && (size_t)((lim) - (ap)) >= 16u) {                                      \
                (key) = p2m__le64(ap);                                                            \
                (key2) = p2m__le64((ap) + 8);                                                     \
                if ((n) < 8u) {                                                                   \
                    (key) &= ((uint64_t)1 << (8u * (n))) - 1u;                                    \
                    (key2) = 0;                                                                   \
                } else if ((n) < 16u) {                                                           \
                    (key2) &= ((uint64_t)1 << (8u * ((n) - 8u))) - 1u;                            \
                }                                                                                 \
            } else {                                                                              \
                for ((k) = 0; (k) < (n) && (k) < 8u; (k)++)                                       \
                    (key) |= (uint64_t)(ap)[k] << (8u * (k));                                     \
                for (; (k) < (n); (k)++) (key2) |= (uint64_t)(ap)[k] << (8u * ((k) - 8u));        \
            }                                                                                     \
        } else {                                                                                  \
            for ((k) = 0; (k) + 8u <= (n); (k) += 8u)                                             \
                (key) = ((key) ^ p2m__le64((ap) + (k))) * 0x100000001B3u;                         \
            for (; (k) < (n); (k)++) (key) = ((key) ^ (ap)[k]) * 0x100000001B3u;                  \
        }                                                                                         \
    } while (0)

#if !P2M__FOR_SIZE
/* The sample memo's key for attribute_indices bytes [ap, ap + n)
   (P2M__MEMO_KEY), for the memo lane and p2m__memo_entry. */
P2M__INLINE void p2m__memo_key(const uint8_t *ap, uint32_t n, const uint8_t *lim, uint64_t *k1,
                               uint64_t *k2) {
    uint64_t key = 0, key2 = 0;
    uint32_t k;
    P2M__MEMO_KEY(ap, n, lim, key, key2, k);
    *k1 = key;
    *k2 = key2;
}
#endif

/* The sample memo entry for x's attribute_indices bytes (p2m__memo_find). */
P2M__INLINE p2m__smemo *p2m__memo_entry(p2m__req *q, const p2m__smp *x, uint32_t cls,
                                        const p2m__sprop *sp, int *hit) {
    const uint8_t *ap = x->attrs.s.p;
    uint32_t n = x->attrs.s.n, k;
    uint64_t key = 0, key2 = 0;
    P2M__MEMO_KEY(ap, n, q->in + q->in_len, key, key2, k);
    return p2m__memo_find(q, ap, n, key, key2, cls, sp, hit);
}

/* The memo entry for the sample's slot values (q->smp_slots, at most four:
   the key holds them exactly, and the length UINT32_MAX sets it apart from
   the entries keyed by attribute bytes), *hit when it holds their outcome;
   on a miss it is taken for them. Without stack properties the outcome
   follows from the slot values alone, so samples whose attribute bytes
   differ only in attributes no slot reads (a thread.id) share it. */
P2M__INLINE p2m__smemo *p2m__memo_slots(p2m__req *q, int *hit) {
    const uint32_t *v = q->smp_slots, n = q->e->n_slots;
    uint64_t key = 0, key2 = 0;
    uint32_t slot;
    p2m__smemo *me;
    if (n > 0) key = v[0];
    if (n > 1) key |= (uint64_t)v[1] << 32;
    if (n > 2) key2 = v[2];
    if (n > 3) key2 |= (uint64_t)v[3] << 32;
    slot = (uint32_t)(((key ^ key2 * 0xC2B2AE3D27D4EB4Fu) * 0x9E3779B97F4A7C15u) >> 40);
    me = &q->smemo[slot & q->smemo_mask];
    *hit = me->stamp == q->smemo_stamp && me->outcome != P2M__SM_NONE &&
           me->len == UINT32_MAX && me->key == key && me->key2 == key2;
    if (*hit) return me;
    me->stamp = q->smemo_stamp;
    me->key = key;
    me->key2 = key2;
    me->off = 0;
    me->len = UINT32_MAX;
    me->cls = 0;
    me->stk = 0;
    me->outcome = P2M__SM_NONE;
    return me;
}

/* A memo hit: counts what the outcome says and gives the sample's series,
   or NULL when the sample goes no further. */
P2M__INLINE p2m__series *p2m__memo_replay(p2m__req *q, uint32_t outcome, p2m__smp *x) {
#if !P2M__FOR_SIZE
    /* a series, and a sample not empty (most): tested first (not in
       builds for size, where it costs flash) */
    if (outcome < P2M__SM_DROP && (x->has_values || x->count != 0)) {
        if (!x->has_values) x->sum = x->count;
        return &q->ser[outcome];
    }
#endif
    if (outcome == P2M__SM_BAD) { /* strict mode never gets here: it stopped the first time */
        q->st->invalid_references++;
        return 0;
    }
    if (!x->has_values && x->count == 0) {
        q->st->empty_samples++;
        return 0;
    }
    if (outcome >= P2M__SM_DROP) {
        if (outcome == P2M__SM_BAD_STACK) q->st->invalid_references++;
        else if (outcome == P2M__SM_DROP_PROCESS) q->st->dropped_process++;
        else if (outcome == P2M__SM_DROP_THREAD) q->st->dropped_thread++;
        else if (outcome == P2M__SM_DROP_PATTERN) q->st->dropped_pattern++;
        else q->st->dropped_stack++;
        return 0;
    }
    if (!x->has_values) x->sum = x->count;
    return &q->ser[outcome];
}

#if !P2M__FOR_SIZE && !defined(P2M_NO_FUNCTION)
/* A memo hit of a cpu sample that feeds the function metric: the sample's
   attribute set is that of its series se, whose values and positions were
   copied from q->kv and q->kpos when it was made (with plain rules the
   positions follow from the values, so every sample of the series has
   them). 0 when se is an overflow point, which keeps no attribute set. */
P2M__INLINE int p2m__memo_fn_set(p2m__req *q, const p2m__series *se) {
    const uint32_t nk = q->e->n_keys, id = (uint32_t)(se - q->ser);
    if (se->overflow) return 0;
    P2M_MEMCPY(q->kv, q->ser_vids + (size_t)id * nk, (size_t)nk * 4u);
    P2M_MEMCPY(q->kpos, q->ser_pos + (size_t)id * nk, nk);
    return 1;
}
#endif

/* Does a filter drop the sample? Every enabled filter must match; the
   first that fails counts it (and the memo learns it). */
P2M__INLINE int p2m__filtered(p2m__req *q, const p2m__field *f, uint32_t f_attrs, p2m__smemo *me) {
    const p2m__filter *fl = q->e->filter;
    if (fl[P2M__F_PROCESS].enabled &&
        !p2m__filter_test(q, P2M__F_PROCESS, q->smp_slots[fl[P2M__F_PROCESS].slots[0]])) {
        if (me) me->outcome = P2M__SM_DROP_PROCESS;
        q->st->dropped_process++;
        return 1;
    }
    if (fl[P2M__F_THREAD].enabled &&
        !p2m__filter_test(q, P2M__F_THREAD, q->smp_slots[fl[P2M__F_THREAD].slots[0]])) {
        if (me) me->outcome = P2M__SM_DROP_THREAD;
        q->st->dropped_thread++;
        return 1;
    }
    if (fl[P2M__F_PATTERN].enabled) {
        int m = 0;
        uint32_t k;
        if (fl[P2M__F_PATTERN].all_keys) {
            m = p2m__pattern_all(q, f->s, f_attrs);
        } else {
            for (k = 0; k < fl[P2M__F_PATTERN].n_slots && !m; k++)
                m = p2m__filter_test(q, P2M__F_PATTERN, q->smp_slots[fl[P2M__F_PATTERN].slots[k]]);
        }
        if (!m) {
            if (me) me->outcome = P2M__SM_DROP_PATTERN;
            q->st->dropped_pattern++;
            return 1;
        }
    }
    return 0;
}

/* Does the sample go no further (an invalid reference, no value, a filter)?
   1 when it is counted and done, 0 to go on, -1 on an error (strict mode). */
P2M__INLINE P2M__MUST int p2m__sample_stops(p2m__req *q, const p2m__field *f, uint32_t f_attrs,
                                            p2m__smp *x, p2m__smemo *me) {
    if (x->bad) {
        if (q->e->strict)
            return p2m__fail_ref(
                q, x->bad_at,
                P2M__MSG("attribute index outside the attribute table or an invalid string index"));
        if (me) me->outcome = P2M__SM_BAD;
        q->st->invalid_references++;
        return 1;
    }
    if (!x->has_values) {
        if (x->count == 0) {
            q->st->empty_samples++;
            return 1;
        }
        x->sum = x->count;
    }
    return q->e->any_filter && p2m__filtered(q, f, f_attrs, me);
}

/* The sample's contribution in the metric's base unit: the sum times the
   profile's factor, or scaled by a type rule (rounded, saturating at the
   int64 range). */
P2M__INLINE uint64_t p2m__contribution(const p2m__pinfo *pi, uint64_t sum) {
#ifdef P2M_NO_FLOAT /* a whole-number scale, exact */
    uint64_t mag;
    if (!pi->tr) return sum * pi->factor;
    /* 0: a rule that feeds no metric, whose scale only declared metrics of
       the same sample type read, and which is not a whole number */
    if (!pi->tr->iscale) return 0;
    mag = (int64_t)sum < 0 ? 0u - sum : sum;
    if (mag > pi->tr->ilimit) return (int64_t)sum < 0 ? (uint64_t)INT64_MIN : (uint64_t)INT64_MAX;
    return sum * pi->tr->iscale;
#else
    double d;
    if (!pi->tr) return sum * pi->factor;
    d = (double)(int64_t)sum * pi->tr->scale;
    if (d >= 9223372036854775807.0) return (uint64_t)INT64_MAX;
    if (d <= -9223372036854775807.0 - 1.0) return (uint64_t)INT64_MIN;
    return (uint64_t)(int64_t)(d < 0 ? d - 0.5 : d + 0.5);
#endif
}

/* Adds a kept sample to its series se (NULL: the profile's metric is off),
   to the declared metrics the profile feeds (those with a stack pattern
   when its stack sp matches) and to the function metric. */
P2M__INLINE P2M__MUST int p2m__feed_sample(p2m__req *q, const p2m__pinfo *pi, p2m__series *se,
                                           const p2m__smp *x, const p2m__field *f,
                                           const p2m__sprop *sp, uint64_t lo, uint64_t hi) {
    const uint64_t contrib = p2m__contribution(pi, x->sum);
    (void)sp; /* read only by declared metrics */
    if (se) p2m__series_add(q, se, contrib, 1, lo, hi);
#if P2M_MAX_EXTRA > 0
    if (pi->x_mask) { /* declared metrics: the same attribute set, their own series */
        uint32_t k;
        for (k = 0; k < q->e->n_extra; k++) {
            uint32_t m = P2M_METRIC_EXTRA + k;
            if (!(pi->x_mask >> k & 1u)) continue;
            if ((q->e->xstack_mask >> k & 1u) && (!sp || !(sp->xmatch >> k & 1u))) continue;
            p2m__series_add(q, &q->ser[p2m__series_for(q, m)],
                            x->sum * (q->e->metric[m].ukind == P2M__U_TIME ? pi->t_factor : 1u), 1,
                            lo, hi);
        }
    }
#endif
#ifndef P2M_NO_FUNCTION
    if (pi->metric == P2M_METRIC_CPU && q->e->metric[P2M_METRIC_FUNCTION].enabled) {
        int b = p2m__feed_functions(q, se, x->stack_idx, contrib, lo, hi);
        if (b < 0) return -1;
        if (b) {
            if (q->e->strict)
                return p2m__fail_ref(
                    q, f->at,
                    P2M__MSG("stack, location, function or mapping index outside its table"));
            q->st->invalid_references++;
        }
    }
#else
    (void)f;
#endif
    q->st->samples_kept++;
    return 0;
}

#if !P2M__FOR_SIZE
/* The run of samples at p that the sample memo knows, with no stack
   properties to read: each plain sample whose attribute bytes hit the memo
   is counted as the memo says and added to its series (with the memo on,
   the profile feeds no declared or function metric: that is all
   p2m__feed_sample would do). Stops at the first sample that is not so,
   left for the general reader, and returns where. ql: the last attribute
   list read in field order, kept from one run to the next (a hint: every
   byte it stands for is tested). */
P2M__INLINE const uint8_t *p2m__memo_lane(p2m__req *q, const p2m__pinfo *pi,
                                          const p2m__sfields *sf, p2m__qlast *ql,
                                          const uint8_t *p, const uint8_t *end, uint64_t lo,
                                          uint64_t hi) {
    static const p2m__smemo none = {0, 0, 0, UINT32_MAX, 0, 0, 0, 0}; /* a length no key has */
    uint32_t len;
    const p2m__smemo *lme = &none; /* the last sample's entry */
    const uint8_t *v;
    /* the profile's factor in a local (the stores below may alias pi): its
       contribution without a type rule */
    const uint64_t factor = pi->tr ? 0u : pi->factor;
    /* the samples end 16 bytes or more before the input does (the
       dictionary usually follows them): p2m__sample_quick's reads past a
       sample and the key's 16-byte reads stay in the input, untested */
    const int room = (uintptr_t)sf->lim - (uintptr_t)end >= 16u;
    while (p2m__sample_field(p, end, &len, &v)) {
        p2m__smp x;
        p2m__span a;
        const uint8_t *a_at = v;
        const p2m__smemo *me;
        p2m__series *se;
        uint64_t key, key2;
        int hit;
        p2m__canon c;
        if (room && p2m__quick_again(v, v + len, ql, &c, &key, &key2)) {
            p2m__quick_smp(&c, &x, &a);
        } else if (room && p2m__sample_quick(v, v + len, sf->ta, &c)) {
            p2m__quick_smp(&c, &x, &a);
            p2m__memo_key(a.p, a.n, a.p + 16, &key, &key2);
            /* in field order (the stack index first): the next such sample
               is read against this one's attribute list */
            if (a.n <= 16u && v[0] == P2M__TAG(P2M__PB_SAMPLE_STACK_INDEX, P2M__WT_VARINT))
                p2m__qlast_set(ql, sf->ta, a.n);
        } else {
            if (!p2m__sample_plain(v, v + len, sf, &x, &a, &a_at)) break;
            if (!a.p) { /* no attribute list: the memo's key for none */
                a.p = p2m__nothing;
                a.n = 0;
            }
            p2m__memo_key(a.p, a.n, sf->lim, &key, &key2);
        }
        /* the same bytes as the last sample's (a key of more than 16 bytes
           is a hash: equal keys are not equal bytes) */
        if (lme->key == key && lme->key2 == key2 && lme->len == a.n && a.n <= 16u) {
            me = lme;
        } else {
            me = p2m__memo_find(q, a.p, a.n, key, key2, 0, 0, &hit);
            if (!hit) break; /* the general reader reads it, and the memo learns it */
            lme = me;
        }
        p = v + len;
        if ((se = p2m__memo_replay(q, me->outcome, &x)) != 0) {
            /* the entry learnt its series from a sample of this profile
               (the memo starts over each profile), which was added with
               the profile's window */
            P2M_ASSERT(se->start <= lo && se->end >= hi);
            p2m__series_count(q, se, factor ? x.sum * factor : p2m__contribution(pi, x.sum), 1);
            q->st->samples_kept++;
        }
    }
    (void)lo, (void)hi; /* read by the assertion only */
    return p;
}
#endif

/* Walks the samples of one classified profile: each sample is read, its
   attribute set resolved (or recalled from the sample memo), filtered, and
   added to its series. A hot loop: its phases are inline functions. props:
   P2M__PROPS of the engine, given by p2m__walk_profile; fn: 1 only for
   an engine with the function metric, a constant (builds for size pass
   0: they keep no memo for its profiles), so the loops without it keep
   nothing for that memo. */
P2M__INLINE P2M__MUST int p2m__walk_profile_in(p2m__req *q, p2m__span s, const p2m__pinfo *pi,
                                               const int props, const int fn) {
    const p2m_engine *e = q->e;
#if !P2M__FOR_SIZE
    /* from the first samples field to the end of the last: the profile's
       other fields are read (and checked) by the survey and
       p2m__profile_info, and the walk passes over them */
    const uint8_t *p = pi->s_hi ? q->in + pi->s_lo : s.p;
    const uint8_t *end = pi->s_hi ? q->in + pi->s_hi : s.p + s.n;
#else
    const uint8_t *p = s.p, *end = s.p + s.n;
#endif
    p2m__field f;
    p2m__sfields sf;
    int r, memo_on, fn_memo = 0;
#if !P2M__FOR_SIZE
    int lane = 0; /* the memo knew the last sample */
    p2m__qlast ql = {UINT32_MAX, 0, 0, 0}; /* the memo lane's last list: none yet */
    int by_slots; /* > 0: the memo also keys on the slot values (a credit: hits add to it) */
    int by_bytes; /* > 0: the memo keys on the attribute bytes (a credit, as by_slots) */
#endif
    uint64_t lo, hi;
    (void)props; /* (unread in builds for size without the function metric) */
    sf.values = P2M__LAYOUT_FIELD(q->layout, sample_values);
    sf.attrs = P2M__LAYOUT_FIELD(q->layout, sample_attrs);
    sf.contra = P2M__LAYOUT_FIELD(q->layout, sample_contra);
#if !P2M__FOR_SIZE
    sf.link = P2M__LAYOUT_FIELD(q->layout, sample_link);
    sf.lim = q->in + q->in_len;
    sf.ta = P2M__TAG(sf.attrs, P2M__WT_LEN);
    sf.tv = P2M__TAG(sf.values, P2M__WT_LEN);
    sf.tl = P2M__TAG(sf.link, P2M__WT_VARINT);
    sf.ev_values = q->sv.ev_open && q->st->layout_evidence == P2M_LAYOUT_AUTO ? sf.values : 0u;
    sf.ev = sf.ev_values == sf.values;
#endif
    if (pi->time != 0) {
        lo = pi->time;
        hi = pi->time + pi->duration;
    } else {
        if (p2m__timestamp_window(q, s, &lo, &hi) < 0) return -1;
        if (lo > hi) lo = hi = q->now;
    }
    /* Samples of a profile with the same attribute_indices bytes (and the
       same stack class, with stack properties) reach the same verdict and
       series: a small memo keyed by them skips the attributes, filters,
       rules and series lookup for all but the first. */
#if !P2M__FOR_SIZE && !defined(P2M_NO_FUNCTION)
    /* A cpu sample that feeds the function metric needs its attribute set
       (q->kv, q->kpos) for the feed. With plain rules a memo hit takes it
       from its series (p2m__memo_fn_set); otherwise its samples go the
       general way. */
    fn_memo = fn && pi->metric == P2M_METRIC_CPU && e->metric[P2M_METRIC_CPU].enabled &&
              e->plain_rules;
#else
    (void)fn;
#endif
    memo_on = q->smemo_mask != 0 && !q->akey && !pi->x_mask &&
              (fn_memo ||
               !(pi->metric == P2M_METRIC_CPU && e->metric[P2M_METRIC_FUNCTION].enabled));
#if !P2M__FOR_SIZE
    /* The credits carry on from the request's last profile that used the
       memo (a request's profiles usually have samples of one shape: where
       thread ids make every sample's bytes new, each further profile tries
       the memo a few times, not 32); a profile gets at least
       P2M__MEMO_RETRY tries. With stack properties a hit also spares the
       stack's: always tried. */
    by_slots = !memo_on || props || e->n_slots > 4u ? 0
               : q->memo_slots > P2M__MEMO_RETRY ? q->memo_slots : P2M__MEMO_RETRY;
    by_bytes = props                              ? 0x40000000
               : q->memo_bytes > P2M__MEMO_RETRY ? q->memo_bytes : P2M__MEMO_RETRY;
#endif
    if (memo_on && ++q->smemo_stamp == 0) { /* wrapped: forget every entry */
        P2M_MEMSET(q->smemo, 0, ((size_t)q->smemo_mask + 1u) * sizeof(p2m__smemo));
        q->smemo_stamp = 1;
    }
#if !P2M__FOR_SIZE
    for (;;) {
#else
    while ((r = p2m__next(&q->w, &p, end, &f)) > 0) {
#endif
        p2m__smp x;
        p2m__smemo *me = 0, *sme = 0; /* the memo's entries: attribute bytes, slot values */
        p2m__series *se = 0;
        const p2m__sprop *sp = 0, *msp = 0; /* the stack's properties; those the memo keys on */
        int k, hit = 0;
        uint32_t cls = 0;
#ifndef P2M_NO_FUNCTION
        int sbad = 0;
#endif
#if !P2M__FOR_SIZE
        uint32_t len;
        /* after a memo hit, the samples the memo knows are read in place
           (after a miss the next sample is likely new too: the general way) */
        if (lane) p = p2m__memo_lane(q, pi, &sf, &ql, p, end, lo, hi);
        if (p2m__sample_field(p, end, &len, &f.s.p)) { /* the usual sample field, in place */
            f.at = p;
            f.s.n = len;
            f.v = 0;
            p2m__set_tag(&f, P2M__PB_PROFILE_SAMPLES, P2M__WT_LEN);
            p = f.s.p + len;
        } else {
            if ((r = p2m__next(&q->w, &p, end, &f)) <= 0) break;
            if (f.num != P2M__PB_PROFILE_SAMPLES || f.wt != P2M__WT_LEN) continue;
        }
#else
        if (f.num != P2M__PB_PROFILE_SAMPLES || f.wt != P2M__WT_LEN) continue;
#endif
        if (p2m__read_sample(q, &f, pi, &sf, memo_on, &x) < 0) return -1;
#ifndef P2M_NO_FUNCTION
        if (props) { /* frame rules, stack filter or patterns: the stack's properties */
            if ((sbad = p2m__stack_props(q, x.stack_idx, &sp, &cls)) < 0) return -1;
            if (sbad) cls = P2M__CLS_INVALID;
            else msp = sp;
        }
#endif
        if (x.memo) { /* one packed list or none: the memo keyed by its bytes */
#if !P2M__FOR_SIZE
            if (by_bytes > 0) { /* tried while it pays (samples with a thread.id of
                                   their own never repeat their bytes) */
                me = p2m__memo_entry(q, &x, cls, msp, &hit);
                by_bytes += hit ? 4 * (by_bytes < 256) : -1;
            }
            /* the lane reads no stack properties and feeds no function */
            lane = hit && !props && !fn_memo;
#else
            me = p2m__memo_entry(q, &x, cls, msp, &hit);
#endif
            if (hit && !(se = p2m__memo_replay(q, me->outcome, &x))) continue;
#if !P2M__FOR_SIZE && !defined(P2M_NO_FUNCTION)
            if (hit && fn_memo && !p2m__memo_fn_set(q, se)) hit = 0; /* the general way */
#endif
            if (!hit) {
                p2m__sample_slots(q);
                if (x.n_attr_fields && p2m__sample_attrs(q, &x.attrs, &x.bad, &x.bad_at) < 0)
                    return -1;
#if !P2M__FOR_SIZE
                /* new attribute bytes, but perhaps known slot values */
                if (by_slots > 0 && !x.bad && (x.has_values || x.count)) {
                    sme = p2m__memo_slots(q, &hit);
                    by_slots += hit ? 4 * (by_slots < 256) : -1; /* tried while it pays */
                    if (hit) {
                        if (me) me->outcome = sme->outcome;
                        if (!(se = p2m__memo_replay(q, sme->outcome, &x))) continue;
#ifndef P2M_NO_FUNCTION
                        if (fn_memo && !p2m__memo_fn_set(q, se)) hit = 0; /* the general way */
#endif
                    }
                }
#endif
            }
        }
        if (!hit) { /* the sample's own way to its series */
            /* where a stop is noted: the bytes' entry, else (not tried) the slots' */
            if ((k = p2m__sample_stops(q, &f, sf.attrs, &x, me ? me : sme)) != 0) {
                if (k < 0) return -1;
                if (sme && me) sme->outcome = me->outcome;
                continue;
            }
#ifndef P2M_NO_FUNCTION
            if (props && (k = p2m__stack_stops(q, &f, sbad, sp, me)) != 0) {
                if (k < 0) return -1;
                continue;
            }
#endif
            p2m__attribute_set(q, q->smp_slots, sp ? sp->v : 0);
            if (e->metric[pi->metric].enabled) {
                uint32_t id = p2m__series_for(q, (uint32_t)pi->metric);
                if (me) me->outcome = id;
                if (sme) sme->outcome = id;
                se = &q->ser[id];
            }
        }
        if (p2m__feed_sample(q, pi, se, &x, &f, sp, lo, hi) < 0) return -1;
    }
#if !P2M__FOR_SIZE
    if (memo_on) {
        q->memo_bytes = by_bytes;
        q->memo_slots = by_slots;
    }
#endif
    return r;
}

#if !P2M__FOR_SIZE && !defined(P2M_NO_FUNCTION)
/* p2m__walk_profile's copies for engines with the function metric, out of
   line: inlined beside the others, they made GCC allocate the others'
   registers worse (e2e +0.4 to +1.1 % by callgrind). */
static P2M__NOINLINE P2M__MUST int p2m__walk_profile_fn(p2m__req *q, p2m__span s,
                                                         const p2m__pinfo *pi) {
    if (!P2M__PROPS(q->e)) return p2m__walk_profile_in(q, s, pi, 0, 1);
    return p2m__walk_profile_in(q, s, pi, P2M__PROPS(q->e), 1);
}
#endif

/* p2m__walk_profile_in with props, whether the engine reads stack
   properties (frame rules, stack filter or patterns), as a constant:
   outside builds for size the loop is compiled again without them, where
   it keeps no registers or tests for them (the usual configuration); both
   forms are compiled once for engines without the function metric and
   once for those with it (p2m__walk_profile_fn). */
P2M__INLINE P2M__MUST int p2m__walk_profile(p2m__req *q, p2m__span s, const p2m__pinfo *pi) {
#if !P2M__FOR_SIZE && !defined(P2M_NO_FUNCTION)
    if (q->e->metric[P2M_METRIC_FUNCTION].enabled) return p2m__walk_profile_fn(q, s, pi);
#endif
    if (!P2M__FOR_SIZE && !P2M__PROPS(q->e)) return p2m__walk_profile_in(q, s, pi, 0, 0);
    return p2m__walk_profile_in(q, s, pi, P2M__PROPS(q->e), 0);
}

/* A profile that feeds no metric, listed by sample type in the stats. */
static void p2m__note_unfed(p2m__req *q, const p2m__pinfo *pi) {
    p2m_stats *st = q->st;
    p2m_type_count *list = q->opt ? q->opt->unfed : 0;
    size_t i;
    st->profiles_unfed++;
    st->samples_unfed += pi->n_samples;
    if (!list) return;
    for (i = 0; i < st->n_unfed; i++) {
        p2m_type_count *t = &list[i];
        if (p2m__streq2(t->type, pi->type) && p2m__streq2(t->unit, pi->unit)) {
            t->profiles++;
            t->samples += pi->n_samples;
            return;
        }
    }
    if (st->n_unfed < q->opt->unfed_cap) {
        p2m_type_count *t = &list[st->n_unfed++];
        t->type = pi->type;
        t->unit = pi->unit;
        t->profiles = 1;
        t->samples = pi->n_samples;
    }
}

/* Resource attributes fill the lowest level of the effective attributes. */
static P2M__MUST int p2m__resource(p2m__req *q, p2m__span s, p2m__res *out) {
    const uint8_t *p = s.p, *end = s.p + s.n;
    p2m__field f;
    int r = 0;
    for (;;) {
#if !P2M__FOR_SIZE
        uint32_t flen;
        /* an attribute field (nearly every one), read in place */
        if (end - p >= 2 && p[0] == P2M__TAG(P2M__PB_RESOURCE_ATTRIBUTES, P2M__WT_LEN) &&
            p2m__short_len(p, end, &flen, &f.s.p)) {
            f.at = p;
            f.s.n = flen;
            f.v = flen;
            p2m__set_tag(&f, P2M__PB_RESOURCE_ATTRIBUTES, P2M__WT_LEN);
            p = f.s.p + flen;
        } else if ((r = p2m__next(&q->w, &p, end, &f)) <= 0) {
            break;
        }
#else
        if ((r = p2m__next(&q->w, &p, end, &f)) <= 0) break;
#endif
        if (f.num == P2M__PB_RESOURCE_DROPPED_ATTRIBUTES_COUNT && f.wt == P2M__WT_VARINT) {
            out->dropped = f.v;
            continue;
        }
        if (f.wt != P2M__WT_LEN) continue;
        if (f.num != P2M__PB_RESOURCE_ATTRIBUTES && f.num != P2M__PB_RESOURCE_ENTITY_REFS) continue;
        q->resfields[q->n_resfields].s = f.s;
        q->resfields[q->n_resfields].num = f.num;
#if !P2M__FOR_SIZE
        q->resfields[q->n_resfields].plain = 0;
#endif
        q->n_resfields++;
        out->field_count++;
        if (f.num == P2M__PB_RESOURCE_ATTRIBUTES && q->e->n_slots) {
            const uint8_t *kp = f.s.p, *kend = kp + f.s.n;
            p2m__field g;
            int rr;
            p2m_str key = {"", 0};
            uint64_t key_idx = 0;
            p2m__span val = {p2m__nothing, 0};
            uint32_t slot;
            int plain = 0; /* p2m__kv_plain_string's: the key inline, one string value in val */
#if !P2M__FOR_SIZE
            plain = p2m__kv_plain_string(f.s, &key, &val); /* as the survey checked it */
            q->resfields[q->n_resfields - 1].plain = 1u + (uint32_t)plain; /* for the encoder */
#endif
            while (!plain && (rr = p2m__next(&q->w, &kp, kend, &g)) > 0) {
                if (g.num == P2M__PB_KEY_VALUE_KEY && g.wt == P2M__WT_LEN) {
                    key.ptr = (const char *)g.s.p;
                    key.len = g.s.n;
                } else if (g.num == P2M__PB_KEY_VALUE_VALUE && g.wt == P2M__WT_LEN) {
                    val = g.s;
                } else if (g.num == P2M__PB_KEY_VALUE_KEY_STRINDEX && g.wt == P2M__WT_VARINT) {
                    key_idx = g.v;
                }
            }
            if (!plain && rr < 0) return -1;
            if (key.len == 0 && p2m__string(q, key_idx, &key) < 0) continue;
            slot = p2m__slot_of(q->e, key);
            if (slot != P2M__NONE || q->akey) {
                const p2m__strtab tab = p2m__req_strtab(q);
                uint32_t type, len, vid;
                const uint8_t *ptr;
                uint64_t num;
                int b;
#if !P2M__FOR_SIZE
                if (plain) {
                    type = P2M_VALUE_STRING, ptr = val.p, len = val.n, num = 0, b = 0;
                } else
#endif
                    b = p2m__anyvalue(&q->w, &tab, val, &type, &ptr, &len, &num);
                if (b < 0) return -1;
                vid = b ? P2M__VID_ABSENT : p2m__intern(q, type, ptr, len, num);
                if (slot != P2M__NONE) q->res_slots[slot] = vid;
                if (q->akey) { /* every resource attribute, for the pattern filter */
                    q->rlist[(size_t)2 * q->n_rlist] = p2m__intern(
                        q, P2M_VALUE_STRING, (const uint8_t *)key.ptr, (uint32_t)key.len, 0);
                    q->rlist[2 * q->n_rlist + 1] = vid;
                    q->n_rlist++;
                }
            }
        }
    }
    return r;
}

/* The first look at a ScopeProfiles s (the double-counting rule): does it
   have a (cpu, time) profile, and which declared metrics does a time
   profile feed? Out of line: its profile info stays off the walk's stack. */
static P2M__NOINLINE P2M__MUST int p2m__scope_time(p2m__req *q, p2m__span s, int *has_cpu_time,
                                                   uint64_t *x_time) {
    const uint8_t *sp = s.p, *send = s.p + s.n;
    p2m__field h;
    int r;
    while ((r = p2m__next(&q->w, &sp, send, &h)) > 0) {
        p2m__pinfo pi;
        if (h.num != P2M__PB_SCOPE_PROFILES_PROFILES || h.wt != P2M__WT_LEN) continue;
        if (p2m__profile_info(q, h.s, &pi, 0) < 0) return -1;
        if (p2m__classify(q, &pi) < 0) return -1;
        if (pi.metric == P2M_METRIC_CPU && !pi.samples_cpu) *has_cpu_time = 1;
        if (!pi.t_count) *x_time |= pi.x_mask;
    }
    return r;
}

/* The Resource and schema_url of a ResourceProfiles (read before its
   scopes): the resource's fields, its slots and attribute list. */
P2M__INLINE P2M__MUST int p2m__resource_header(p2m__req *q, p2m__span s, p2m__res *out) {
    const uint8_t *rp = s.p, *rend = s.p + s.n;
    p2m__field g;
    int r;
    uint32_t i;
    while ((r = p2m__next(&q->w, &rp, rend, &g)) > 0) {
        if (g.wt != P2M__WT_LEN) continue;
        if (g.num == P2M__PB_RESOURCE_PROFILES_RESOURCE) { /* the last one counts */
            out->field_count = 0;
            q->n_resfields = out->field_first;
            out->dropped = 0;
            q->n_rlist = 0;
            for (i = 0; i < q->e->n_slots; i++) q->res_slots[i] = P2M__VID_ABSENT;
            if (p2m__resource(q, g.s, out) < 0) return -1;
        } else if (g.num == P2M__PB_RESOURCE_PROFILES_SCHEMA_URL) {
            out->schema_url = g.s;
        }
    }
    return r;
}

/* The layout evidence of the samples of profile s, which the walk does
   not read, after a lazy survey skipped samples unread: the statistics'
   evidence, or a failure where it would change more (p2m__aggregate then
   converts again with a full survey). */
#if !P2M__FOR_SIZE
static P2M__MUST int p2m__unread_evidence(p2m__req *q, p2m__span s) {
    const uint8_t *p = s.p, *end = s.p + s.n;
    p2m__field f;
    unsigned ev = 0;
    int r;
    while ((r = p2m__next(&q->w, &p, end, &f)) > 0)
        if (f.num == P2M__PB_PROFILE_SAMPLES && f.wt == P2M__WT_LEN &&
            p2m__survey_sample(q, f.s, &ev) < 0)
            return -1;
    if (r < 0) return -1;
    /* v1.8 (profile evidence) or v1.10 (none, or v1.10's): sample
       evidence of the other layout would change the decision */
    if (ev & (q->layout == P2M_LAYOUT_V1_10 ? P2M__EVOLD : P2M__EV10))
        return p2m__bad(&q->w, s.p, P2M__MSG("layout evidence the survey did not read"));
    if ((ev & P2M__EV10) && q->st->layout_evidence == P2M_LAYOUT_AUTO)
        q->st->layout_evidence = P2M_LAYOUT_V1_10;
    return 0;
}
#endif

/* One ScopeProfiles: each profile classified (with the double-counting
   rule) and walked, or counted as unfed. */
P2M__INLINE P2M__MUST int p2m__walk_scope(p2m__req *q, p2m__span s) {
    const p2m_engine *e = q->e;
    const uint8_t *sp = s.p, *send = s.p + s.n;
    p2m__field k;
    int r, has_cpu_time = 0, n_prof = 0;
    uint64_t x_time = 0; /* declared metrics fed by a time profile here */
    while ((r = p2m__next(&q->w, &sp, send, &k)) > 0)
        n_prof += k.num == P2M__PB_SCOPE_PROFILES_PROFILES && k.wt == P2M__WT_LEN;
    if (r < 0) return -1;
    /* one profile: no dedup to decide */
    if (n_prof > 1 && p2m__scope_time(q, s, &has_cpu_time, &x_time) < 0) return -1;
    sp = s.p;
    while ((r = p2m__next(&q->w, &sp, send, &k)) > 0) {
        p2m__pinfo pi;
        int b, dup = 0, metric_off = 0; /* classified, but its metric is disabled */
        if (k.num != P2M__PB_SCOPE_PROFILES_PROFILES || k.wt != P2M__WT_LEN) continue;
        q->st->profiles++;
        if (p2m__profile_info(q, k.s, &pi, 1) < 0) return -1;
        b = p2m__classify(q, &pi);
        if (b < 0) return -1;
        if (b && e->strict)
            return p2m__fail_ref(q, k.s.p, P2M__MSG("sample_type refers outside the string table"));
        /* double counting: a cpu time profile of the same scope counts it */
        if (pi.samples_cpu && has_cpu_time) pi.metric = P2M_METRIC_NONE, dup = 1;
        if (pi.t_count && (pi.x_mask & x_time)) pi.x_mask &= ~x_time, dup = 1;
        if (pi.metric != P2M_METRIC_NONE && !e->metric[pi.metric].enabled &&
            !(pi.metric == P2M_METRIC_CPU && e->metric[P2M_METRIC_FUNCTION].enabled)) {
            pi.metric = P2M_METRIC_NONE;
            metric_off = 1;
        }
        if (pi.metric == P2M_METRIC_NONE && !pi.x_mask) {
            if (!metric_off && !dup) q->st->profiles_unclassified++;
            if (!dup) p2m__note_unfed(q, &pi);
#if !P2M__FOR_SIZE
            if (q->sv.ev_open && p2m__unread_evidence(q, k.s) < 0) return -1;
#endif
            continue;
        }
        if (p2m__walk_profile(q, k.s, &pi) < 0) return -1;
    }
    return r;
}

#if !P2M__FOR_SIZE
/* p2m__point_lists for a resource with many series: one pass to count
   each metric's points, one to place them. Out of line: most resources
   have a few series, and inlined into the walk it made that slower. */
static P2M__NOINLINE void p2m__point_lists_many(p2m__req *q, p2m__res *out, uint32_t first_ser) {
    const p2m_engine *e = q->e;
    const uint32_t nm = P2M_METRIC_EXTRA + e->n_extra;
    uint32_t at[P2M__NMET], ov[P2M__NMET], sidx, m, next = q->n_plist;
    for (m = 0; m < nm; m++) at[m] = 0, ov[m] = P2M__ID1_NONE;
    for (sidx = first_ser; sidx < q->n_ser; sidx++) at[q->ser[sidx].metric]++;
    for (m = 1; m < nm; m++) {
        const uint32_t n = at[m];
        if (!e->metric[m].enabled || !n) continue;
        at[m] = next; /* from here on: where its next point goes */
        out->kind[out->n_metrics] = m;
        out->pl_first[out->n_metrics] = next;
        out->pl_count[out->n_metrics] = n;
        out->n_metrics++;
        next += n;
    }
    for (sidx = first_ser; sidx < q->n_ser; sidx++) {
        const p2m__series *se = &q->ser[sidx];
        if (!e->metric[se->metric].enabled) continue; /* (none are made) */
        if (se->overflow) ov[se->metric] = P2M__ID1(sidx); /* its metric's last point */
        else q->plist[at[se->metric]++] = sidx;
    }
    for (m = 1; m < nm; m++)
        if (ov[m] != P2M__ID1_NONE) q->plist[at[m]] = P2M__ID1_ID(ov[m]);
    q->n_plist = next;
}
#endif

/* The point lists of resource out, whose series start at first_ser:
   metrics cpu, memory, function, declared; overflow last. */
P2M__INLINE void p2m__point_lists(p2m__req *q, p2m__res *out, uint32_t first_ser) {
    const p2m_engine *e = q->e;
    uint32_t m;
#if !P2M__FOR_SIZE
    if (q->n_ser - first_ser > 64u) {
        p2m__point_lists_many(q, out, first_ser);
        return;
    }
#endif
    for (m = 1; m < P2M_METRIC_EXTRA + e->n_extra; m++) {
        uint32_t first = q->n_plist, ov = P2M__ID1_NONE, sidx;
        if (!e->metric[m].enabled) continue;
        for (sidx = first_ser; sidx < q->n_ser; sidx++) {
            if (q->ser[sidx].metric != m) continue;
            if (q->ser[sidx].overflow) { ov = P2M__ID1(sidx); continue; }
            q->plist[q->n_plist++] = sidx;
        }
        if (ov != P2M__ID1_NONE) q->plist[q->n_plist++] = P2M__ID1_ID(ov);
        if (q->n_plist > first) {
            out->kind[out->n_metrics] = m;
            out->pl_first[out->n_metrics] = first;
            out->pl_count[out->n_metrics] = q->n_plist - first;
            out->n_metrics++;
        }
    }
}

/* Walks the request's ResourceProfiles, one output resource each (dropped
   again when it yields no series). */
static P2M__NOINLINE P2M__MUST int p2m__walk_request(p2m__req *q) {
    const p2m_engine *e = q->e;
    const uint8_t *p = q->in, *end = q->in + q->in_len;
    p2m__field f, g;
    int r;
    while ((r = p2m__next(&q->w, &p, end, &f)) > 0) {
        const uint8_t *rp, *rend;
        p2m__res *out;
        uint32_t first_ser = q->n_ser, i;
#if !P2M__FOR_SIZE
        /* the last resource's series are never looked up again: the hash
           gives their slots back */
        for (i = q->res_first_ser; i < first_ser; i++)
            if (!q->ser[i].overflow) q->shash[q->ser_slot[i]] = P2M__ID1_NONE;
#endif
        q->res_first_ser = first_ser;
        if (f.num != P2M__PB_REQ_RESOURCE_PROFILES || f.wt != P2M__WT_LEN) continue;
        q->st->resources++;
        out = &q->res[q->n_res];
        P2M_MEMSET(out, 0, sizeof *out);
        out->field_first = q->n_resfields;
        q->cur_res = q->n_res;
        for (i = 0; i < P2M_METRIC_EXTRA + e->n_extra; i++) {
            q->ovf[i] = P2M__ID1_NONE;
            q->count[i] = 0;
        }
        for (i = 0; i < e->n_slots; i++) q->res_slots[i] = P2M__VID_ABSENT;
        q->n_rlist = 0;
        if (p2m__resource_header(q, f.s, out) < 0) return -1;
        rp = f.s.p;
        rend = rp + f.s.n;
        while ((r = p2m__next(&q->w, &rp, rend, &g)) > 0)
            if (g.num == P2M__PB_RESOURCE_PROFILES_SCOPE_PROFILES && g.wt == P2M__WT_LEN &&
                p2m__walk_scope(q, g.s) < 0)
                return -1;
        if (r < 0) return -1;
        p2m__point_lists(q, out, first_ser);
        if (q->n_ser > first_ser) q->n_res++;
        else q->n_resfields = out->field_first; /* resource yields nothing: not emitted */
    }
    return r;
}

/* Does this result view a cumulative state? (Never without cumulative code.) */
#ifdef P2M_NO_CUMULATIVE
#define P2M__CUMV(r) 0
#else
#define P2M__CUMV(r) ((r)->cum != 0)
#endif

/* ---- OTLP metrics encoder -------------------------------------------------
   Encodes backwards, from the end of the output towards its start (as upb
   does): a nested message is written first and its length is then known for
   the prefix, so no per-message size cache is needed. A repeated field is
   written last element first, so the bytes come out in input order. The
   writer can also only count: p2m_encode_otlp counts first (the exact size,
   and a buffer that is too small stays untouched), then writes exactly that
   many bytes, which therefore end at the start of the caller's buffer. */

/* Copies n bytes: up to 32 as overlapping words of fixed size, which
   compilers write as plain loads and stores (attribute keys and values are
   mostly that short); longer ones through P2M_MEMCPY. */
P2M__INLINE void p2m__copy_short(uint8_t *d, const void *src, size_t n) {
    const uint8_t *s = (const uint8_t *)src;
    if (P2M__FOR_SIZE || n > 32u) {
        if (n) P2M_MEMCPY(d, s, n);
    } else if (n >= 16u) {
        P2M_MEMCPY(d, s, 16);
        P2M_MEMCPY(d + n - 16u, s + n - 16u, 16);
    } else if (n >= 8u) {
        P2M_MEMCPY(d, s, 8);
        P2M_MEMCPY(d + n - 8u, s + n - 8u, 8);
    } else if (n >= 4u) {
        P2M_MEMCPY(d, s, 4);
        P2M_MEMCPY(d + n - 4u, s + n - 4u, 4);
    } else {
        size_t i;
        for (i = 0; i < n; i++) d[i] = s[i];
    }
}

typedef struct p2m__bw {
    uint8_t *buf;   /* never NULL: a count-only writer has cap 0 and points at p2m__nothing */
    size_t cap;
    size_t n;       /* bytes produced so far (counted even past cap) */
} p2m__bw;

static void p2m__bw_bytes(p2m__bw *w, const void *p, size_t len) {
    w->n += len;
    if (w->n <= w->cap && len) P2M_MEMCPY(w->buf + (w->cap - w->n), p, len);
}
static void p2m__bw_varint_long(p2m__bw *w, uint64_t v) {
    uint8_t tmp[10];
    size_t n = 0;
    if (!P2M__FOR_SIZE && v < 0x4000u) { /* two bytes: most lengths of a message */
        w->n += 2;
        if (w->n <= w->cap) {
            uint8_t *const d = w->buf + (w->cap - w->n);
            d[0] = (uint8_t)(v | 0x80u);
            d[1] = (uint8_t)(v >> 7);
        }
        return;
    }
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    p2m__bw_bytes(w, tmp, n);
}
P2M__INLINE void p2m__bw_varint(p2m__bw *w, uint64_t v) {
    if (P2M__LIKELY(v < 0x80u)) { /* tags and most lengths */
        if (++w->n <= w->cap) w->buf[w->cap - w->n] = (uint8_t)v;
        return;
    }
    p2m__bw_varint_long(w, v);
}
static void p2m__bw_tag(p2m__bw *w, uint32_t num, uint32_t wt) {
    p2m__bw_varint(w, (uint64_t)num << 3 | wt);
}
/* v little-endian at d: one store where the compiler says the target is
   little-endian, else written out byte by byte (which compilers mostly
   merge too, but not always: with a tag byte written before it that is
   not a constant, GCC 12 built the word in a register from its bytes) */
P2M__INLINE void p2m__put_le64(uint8_t *d, uint64_t v) {
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    P2M_MEMCPY(d, &v, 8);
#else
    d[0] = (uint8_t)v;
    d[1] = (uint8_t)(v >> 8);
    d[2] = (uint8_t)(v >> 16);
    d[3] = (uint8_t)(v >> 24);
    d[4] = (uint8_t)(v >> 32);
    d[5] = (uint8_t)(v >> 40);
    d[6] = (uint8_t)(v >> 48);
    d[7] = (uint8_t)(v >> 56);
#endif
}
static void p2m__bw_le64(p2m__bw *w, uint64_t v) {
    w->n += 8;
    if (w->n <= w->cap) p2m__put_le64(w->buf + (w->cap - w->n), v);
}
static void p2m__bw_fixed64(p2m__bw *w, uint32_t num, uint64_t v) {
    p2m__bw_le64(w, v);
    p2m__bw_tag(w, num, P2M__WT_I64);
}
/* p2m__bw_fixed64 for a field under 16 (a one-byte tag): the nine bytes
   in one piece (a build for size writes them as two). */
P2M__INLINE void p2m__bw_fixed64_1(p2m__bw *w, uint32_t num, uint64_t v) {
    if (P2M__FOR_SIZE) {
        p2m__bw_fixed64(w, num, v);
        return;
    }
    w->n += 9;
    if (w->n <= w->cap) {
        uint8_t *d = w->buf + (w->cap - w->n);
        d[0] = (uint8_t)(num << 3 | P2M__WT_I64);
        p2m__put_le64(d + 1, v);
    }
}
static void p2m__bw_str(p2m__bw *w, uint32_t num, const void *p, size_t len) {
    if (!P2M__FOR_SIZE && len < 0x80u && num < 16u) { /* one piece: a one-byte tag and length */
        w->n += len + 2u;
        if (w->n <= w->cap) {
            uint8_t *const d = w->buf + (w->cap - w->n);
            d[0] = (uint8_t)(num << 3 | P2M__WT_LEN);
            d[1] = (uint8_t)len;
            p2m__copy_short(d + 2, p, len);
        }
        return;
    }
    p2m__bw_bytes(w, p, len);
    p2m__bw_varint(w, len);
    p2m__bw_tag(w, num, P2M__WT_LEN);
}
/* closes a submessage opened at mark (= w->n before its contents) */
static void p2m__bw_close(p2m__bw *w, size_t mark, uint32_t num) {
    p2m__bw_varint(w, (uint64_t)(w->n - mark));
    p2m__bw_tag(w, num, P2M__WT_LEN);
}
/* p2m__bw_close for a field under 16: a one-byte tag and, for a message
   under 128 bytes (a point), a one-byte length written together. */
P2M__INLINE void p2m__bw_close_1(p2m__bw *w, size_t mark, uint32_t num) {
    const size_t len = w->n - mark;
    if (P2M__FOR_SIZE || len >= 0x80u) {
        p2m__bw_close(w, mark, num);
        return;
    }
    w->n += 2;
    if (w->n <= w->cap) {
        uint8_t *d = w->buf + (w->cap - w->n);
        d[0] = (uint8_t)(num << 3 | P2M__WT_LEN);
        d[1] = (uint8_t)len;
    }
}

/* Nested values (ArrayValue, KeyValueList) may hold key_strindex and
   string_value_strindex at any depth. The encoder resolves them: the
   resolved size of a nested message is computed, that many bytes are
   reserved in the backward writer, and the message is written forward into
   them. Both walks use an explicit stack (no recursion) and are only taken
   when the value holds a string index; otherwise its bytes are copied. */

/* A string of the request's table; "" when out of range. */
static p2m_str p2m__rstring(const p2m_result *r, uint64_t idx) {
    p2m_str s = {"", 0};
    if (r) {
        p2m__strtab t;
        t.in = r->in;
        t.strs = r->strs;
        t.n = r->n_strings;
        (void)p2m__strtab_at(&t, idx, &s); /* outside the table: "" */
    }
    return s;
}

/* What a field of a nested message of kind k becomes: 0 copied as it is,
   1 a nested message of kind *child, 2 dropped, 3 a resolved string (field
   *out_num, string *str). */
static int p2m__nested_field(const p2m_result *r, int k, const p2m__field *f, int key_given,
                             int *child, uint32_t *out_num, p2m_str *str) {
    if (f->wt == P2M__WT_LEN) {
        if ((k == P2M__NK_ANY && f->num == P2M__PB_ANY_VALUE_ARRAY_VALUE) ||
            (k == P2M__NK_ARRAY && f->num == P2M__PB_ARRAY_VALUE_VALUES)) {
            *child = k == P2M__NK_ANY ? P2M__NK_ARRAY : P2M__NK_ANY;
            return 1;
        }
        if (k == P2M__NK_ANY && f->num == P2M__PB_ANY_VALUE_KVLIST_VALUE) {
            *child = P2M__NK_KVLIST;
            return 1;
        }
        if (k == P2M__NK_KVLIST && f->num == P2M__PB_KEY_VALUE_LIST_VALUES) {
            *child = P2M__NK_KV;
            return 1;
        }
        if (k == P2M__NK_KV && f->num == P2M__PB_KEY_VALUE_VALUE) {
            *child = P2M__NK_ANY;
            return 1;
        }
        /* a KeyValue whose last key field is empty takes its key from
           key_strindex: its key fields are left out, so that the resolved
           key is the only one whatever the field order */
        if (k == P2M__NK_KV && f->num == P2M__PB_KEY_VALUE_KEY && !key_given) return 2;
        return 0;
    }
    if (f->wt == P2M__WT_VARINT && k == P2M__NK_ANY &&
        f->num == P2M__PB_ANY_VALUE_STRING_VALUE_STRINDEX) {
        *out_num = P2M__PB_ANY_VALUE_STRING_VALUE;
        *str = p2m__rstring(r, f->v);
        return 3;
    }
    if (f->wt == P2M__WT_VARINT && k == P2M__NK_KV && f->num == P2M__PB_KEY_VALUE_KEY_STRINDEX) {
        if (key_given) return 2;
        *out_num = P2M__PB_KEY_VALUE_KEY;
        *str = p2m__rstring(r, f->v);
        return 3;
    }
    return 0;
}

/* Does a KeyValue carry a non-empty key? */
static int p2m__kv_has_key(const uint8_t *p, const uint8_t *end) {
    p2m__wire w;
    p2m__field f;
    int has = 0;
    w.base = p; w.err = 0; w.st = P2M_OK;
    while (p2m__next(&w, &p, end, &f) > 0)
        if (f.num == P2M__PB_KEY_VALUE_KEY && f.wt == P2M__WT_LEN) has = f.s.n > 0;
    return has;
}

/* A level of the walk over a nested value: offsets from the value's start,
   kept small because the stack holds 33 of them (firmware stack budgets). */
typedef struct p2m__nframe {
    uint32_t p, end;
    uint32_t acc;       /* size pass: resolved bytes so far */
    uint8_t kind, key_given;
    uint8_t hdr_tag;    /* size pass: tag bytes of this message in its parent */
} p2m__nframe;

static void p2m__nframe_push(p2m__nframe *fr, const uint8_t *base, p2m__span s, int kind,
                             uint32_t num) {
    fr->p = (uint32_t)(s.p - base);
    fr->end = fr->p + s.n;
    fr->acc = 0;
    fr->kind = (uint8_t)kind;
    fr->key_given = (uint8_t)(kind == P2M__NK_KV && p2m__kv_has_key(s.p, s.p + s.n));
    fr->hdr_tag = (uint8_t)p2m__varint_len((uint64_t)num << 3 | P2M__WT_LEN);
}

/* One field of a nested message as the walk meets it. */
typedef struct p2m__nstep {
    p2m__field f;
    const uint8_t *at; /* where the field starts */
    int child;         /* the kind of the message it holds (p2m__nested_field) */
    uint32_t onum;     /* the field number a resolved string is written under */
    p2m_str str;       /* the resolved string */
} p2m__nstep;

/* A walk over the contents of a nested message: its open frames. */
typedef struct p2m__nwalk {
    p2m__nframe st[P2M__MAX_DEPTH + 1];
    int top;
    p2m__wire w;
    const uint8_t *base;
} p2m__nwalk;

static int p2m__nframe_next(const p2m_result *r, p2m__wire *w, const uint8_t *base, p2m__nframe *fr,
                            p2m__nstep *x);

/* Starts a walk over the contents s of a nested message of kind kind. */
static void p2m__nwalk_init(p2m__nwalk *k, p2m__span s, int kind) {
    k->top = 0;
    k->base = s.p;
    k->w.base = s.p;
    k->w.err = 0;
    k->w.st = P2M_OK;
    p2m__nframe_push(&k->st[0], s.p, s, kind, 0);
}

/* The next field of the walk's top frame (as p2m__nested_field; < 0: the
   frame is done). */
static int p2m__nwalk_next(const p2m_result *r, p2m__nwalk *k, p2m__nstep *x) {
    return p2m__nframe_next(r, &k->w, k->base, &k->st[k->top], x);
}

/* Reads the next field of the top frame; what it becomes, as p2m__nested_field. */
static int p2m__nframe_next(const p2m_result *r, p2m__wire *w, const uint8_t *base, p2m__nframe *fr,
                            p2m__nstep *x) {
    const uint8_t *p = base + fr->p;
    int rc;
    x->at = p;
    x->child = 0;
    x->onum = 0;
    rc = p2m__next(w, &p, base + fr->end, &x->f);
    fr->p = (uint32_t)(p - base);
    if (rc <= 0) return -1;
    return p2m__nested_field(r, fr->kind, &x->f, fr->key_given, &x->child, &x->onum, &x->str);
}

static uint8_t *p2m__put_varint(uint8_t *dst, uint64_t v) {
    if (v < 0x80u) {
        dst[0] = (uint8_t)v;
        return dst + 1;
    }
    if (!P2M__FOR_SIZE && v < 0x4000u) { /* a point's length, mostly */
        dst[0] = (uint8_t)(v | 0x80u);
        dst[1] = (uint8_t)(v >> 7);
        return dst + 2;
    }
    while (v > 0x7f) { *dst++ = (uint8_t)(v | 0x80); v >>= 7; }
    *dst++ = (uint8_t)v;
    return dst;
}

/* The streaming encoder's writer, also the forward writer of resolved
   nested values: bytes go into buf (cap bytes); when it is full they go to
   the callback and buf starts over. Without a callback buf holds the whole
   output (its cap was counted first); without buf it only counts. After a
   refusal the callback is not called again. */
typedef struct p2m__sw {
    uint8_t *buf;
    size_t cap, fill;
    size_t n;           /* bytes passed through, written or counted */
    size_t taken;       /* bytes the callback took */
    p2m_write_fn write; /* NULL: buf holds everything */
    void *ctx;
    int failed;
} p2m__sw;

static void p2m__sw_init(p2m__sw *w, void *buf, size_t cap) {
    P2M_MEMSET(w, 0, sizeof *w);
    w->buf = (uint8_t *)buf;
    w->cap = cap;
}
static void p2m__sw_flush(p2m__sw *w) {
    if (w->write && w->fill && !w->failed) {
        if (w->write(w->ctx, w->buf, w->fill)) w->taken += w->fill;
        else w->failed = 1;
    }
    w->fill = 0;
}
static void p2m__sw_bytes(p2m__sw *w, const void *p, size_t len) {
    const uint8_t *src = (const uint8_t *)p;
    w->n += len;
    if (!w->buf) return;
    while (len) {
        size_t k = w->cap - w->fill;
        if (!k) {
            p2m__sw_flush(w);
            k = w->cap;
        }
        if (k > len) k = len;
        P2M_MEMCPY(w->buf + w->fill, src, k);
        w->fill += k;
        src += k;
        len -= k;
    }
}
static void p2m__sw_varint(p2m__sw *w, uint64_t v) {
    uint8_t t[10];
    p2m__sw_bytes(w, t, (size_t)(p2m__put_varint(t, v) - t));
}
/* The tag and length of a LEN field. */
static void p2m__sw_len(p2m__sw *w, uint32_t num, size_t len) {
    p2m__sw_varint(w, (uint64_t)num << 3 | P2M__WT_LEN);
    p2m__sw_varint(w, len);
}
static void p2m__sw_str(p2m__sw *w, uint32_t num, const void *p, size_t len) {
    p2m__sw_len(w, num, len);
    p2m__sw_bytes(w, p, len);
}

/* Resolved size of the contents s (kind kind) of a nested message, walked
   on k's frames from at up: the frames below at (the walk that asks) stay
   as they are, and the nesting limit bounds both walks together. */
static size_t p2m__nested_size_on(const p2m_result *r, p2m__nwalk *k, int at, p2m__span s,
                                  int kind) {
    int top = at;
    p2m__nframe_push(&k->st[at], k->base, s, kind, 0);
    for (;;) {
        p2m__nstep x;
        p2m__nframe *fr = &k->st[top];
        const int how = p2m__nframe_next(r, &k->w, k->base, fr, &x);
        if (how < 0) { /* the top frame is done: its size goes to its parent */
            const uint32_t total = fr->acc;
            if (top-- == at) return total;
            fr[-1].acc += fr->hdr_tag + (uint32_t)p2m__varint_len(total) + total;
        } else if (how == 1 && top < P2M__MAX_DEPTH) {
            p2m__nframe_push(&k->st[++top], k->base, x.f.s, x.child, x.f.num);
        } else if (how == 3) {
            fr->acc += (uint32_t)p2m__ld_size(x.str.len);
        } else if (how != 2) {
            fr->acc += (uint32_t)(k->base + fr->p - x.at);
        }
    }
}

/* Writes the resolved contents of a nested message in order; a child's
   length prefix comes from a size walk on the frames above this walk's. */
static void p2m__nested_write(const p2m_result *r, p2m__span s, int kind, p2m__sw *w) {
    p2m__nwalk k;
    p2m__nwalk_init(&k, s, kind);
    for (;;) {
        p2m__nstep x;
        const int how = p2m__nwalk_next(r, &k, &x);
        if (how < 0) {
            if (k.top-- == 0) return;
        } else if (how == 1 && k.top < P2M__MAX_DEPTH) {
            p2m__sw_len(w, x.f.num, p2m__nested_size_on(r, &k, k.top + 1, x.f.s, x.child));
            p2m__nframe_push(&k.st[++k.top], s.p, x.f.s, x.child, x.f.num);
        } else if (how == 3) {
            p2m__sw_str(w, x.onum, x.str.ptr, x.str.len);
        } else if (how != 2) {
            p2m__sw_bytes(w, x.at, (size_t)(s.p + k.st[k.top].p - x.at));
        }
    }
}

/* Does the nested value s (kind kind) hold a string index to resolve?
   Out of line, like the walk below, so that the check's frame and the
   walk's 33 levels are never on the stack together (firmware budgets). */
static P2M__NOINLINE int p2m__nested_has_index(p2m__span s, int kind) {
    unsigned ev10 = 0;
    p2m__wire cw;
    cw.base = s.p; cw.err = 0; cw.st = P2M_OK;
    return p2m__check_value(&cw, s, kind, 0, &ev10) == 0 && ev10;
}

/* The resolved bytes of the nested value s into w (NULL: only their size). */
static P2M__NOINLINE size_t p2m__nested_resolved(const p2m_result *r, p2m__span s, int kind,
                                                 p2m__sw *w) {
    p2m__nwalk k;
    if (w) {
        const size_t before = w->n;
        p2m__nested_write(r, s, kind, w);
        return w->n - before;
    }
    p2m__nwalk_init(&k, s, kind);
    return p2m__nested_size_on(r, &k, 0, s, kind);
}

/* The bytes of an ARRAY or KVLIST value as the encoder emits them, into w
   (NULL: only their size): resolved when the value holds a string index,
   else as they are. */
static size_t p2m__nested_emit(const p2m_result *r, const p2m_value *v, p2m__sw *w) {
    p2m__span s;
    const int kind = v->type == P2M_VALUE_ARRAY ? P2M__NK_ARRAY : P2M__NK_KVLIST;
    s.p = v->str.len ? (const uint8_t *)v->str.ptr : p2m__nothing;
    s.n = (uint32_t)v->str.len;
    if (r && p2m__nested_has_index(s, kind)) return p2m__nested_resolved(r, s, kind, w);
    if (w) p2m__sw_bytes(w, s.p, s.n);
    return s.n;
}

/* An ArrayValue / KeyValueList as field num. */
static void p2m__bw_nested(p2m__bw *w, uint32_t num, const p2m_value *v, const p2m_result *r) {
    size_t n = p2m_result_nested_value(r, v, 0, 0);
    w->n += n;
    if (w->n <= w->cap) (void)p2m_result_nested_value(r, v, w->buf + (w->cap - w->n), n);
    p2m__bw_varint(w, n);
    p2m__bw_tag(w, num, P2M__WT_LEN);
}

P2M_API size_t p2m_result_nested_value(const p2m_result *r, const p2m_value *v, void *out,
                                       size_t cap) {
    size_t n;
    p2m__sw w;
    if (!v || (v->type != P2M_VALUE_ARRAY && v->type != P2M_VALUE_KVLIST)) return 0;
    n = p2m__nested_emit(r, v, 0);
    if (out && cap >= n && n) {
        p2m__sw_init(&w, out, n);
        (void)p2m__nested_emit(r, v, &w);
    }
    return n;
}

/* AnyValue of a p2m_value, as field num of the enclosing message. r gives
   the string table for nested string indices (NULL: copy as they are). */
static void p2m__bw_anyvalue(p2m__bw *w, uint32_t num, const p2m_value *v, const p2m_result *r) {
    size_t mark = w->n;
    switch (v->type) {
    case P2M_VALUE_STRING:
        p2m__bw_str(w, P2M__PB_ANY_VALUE_STRING_VALUE, v->str.ptr, v->str.len);
        break;
    case P2M_VALUE_BOOL:
        p2m__bw_varint(w, (uint64_t)v->i);
        p2m__bw_tag(w, P2M__PB_ANY_VALUE_BOOL_VALUE, P2M__WT_VARINT);
        break;
    case P2M_VALUE_INT:
        p2m__bw_varint(w, (uint64_t)v->i);
        p2m__bw_tag(w, P2M__PB_ANY_VALUE_INT_VALUE, P2M__WT_VARINT);
        break;
    case P2M_VALUE_DOUBLE: {
        uint64_t bits;
        P2M_MEMCPY(&bits, &v->d, 8);
        p2m__bw_fixed64(w, P2M__PB_ANY_VALUE_DOUBLE_VALUE, bits);
        break;
    }
    case P2M_VALUE_ARRAY: p2m__bw_nested(w, P2M__PB_ANY_VALUE_ARRAY_VALUE, v, r); break;
    case P2M_VALUE_KVLIST: p2m__bw_nested(w, P2M__PB_ANY_VALUE_KVLIST_VALUE, v, r); break;
    case P2M_VALUE_BYTES:
        p2m__bw_str(w, P2M__PB_ANY_VALUE_BYTES_VALUE, v->str.ptr, v->str.len);
        break;
    default: break;
    }
    p2m__bw_close(w, mark, num);
}
/* Writes forward at d a KeyValue with a string value as field num
   (num < 16), cl being its contents' size (p2m__kv_string_size); returns
   the end. */
P2M__INLINE uint8_t *p2m__put_kv_string(uint8_t *d, uint32_t num, size_t cl, const char *key,
                                        size_t kl, const void *val, size_t vl) {
    if (!P2M__FOR_SIZE && cl < 0x80u) { /* every length one byte (then kl, vl + 2 < cl) */
        d[0] = (uint8_t)(num << 3 | P2M__WT_LEN);
        d[1] = (uint8_t)cl;
        d[2] = P2M__TAG(P2M__PB_KEY_VALUE_KEY, P2M__WT_LEN);
        d[3] = (uint8_t)kl;
        p2m__copy_short(d + 4, key, kl);
        d += 4 + kl;
        d[0] = P2M__TAG(P2M__PB_KEY_VALUE_VALUE, P2M__WT_LEN);
        d[1] = (uint8_t)(vl + 2u);
        d[2] = P2M__TAG(P2M__PB_ANY_VALUE_STRING_VALUE, P2M__WT_LEN);
        d[3] = (uint8_t)vl;
        p2m__copy_short(d + 4, val, vl);
        return d + 4 + vl;
    }
    *d++ = (uint8_t)(num << 3 | P2M__WT_LEN);
    d = p2m__put_varint(d, cl);
    *d++ = P2M__TAG(P2M__PB_KEY_VALUE_KEY, P2M__WT_LEN);
    d = p2m__put_varint(d, kl);
    p2m__copy_short(d, key, kl);
    d += kl;
    *d++ = P2M__TAG(P2M__PB_KEY_VALUE_VALUE, P2M__WT_LEN);
    d = p2m__put_varint(d, p2m__ld_size(vl));
    *d++ = P2M__TAG(P2M__PB_ANY_VALUE_STRING_VALUE, P2M__WT_LEN);
    d = p2m__put_varint(d, vl);
    p2m__copy_short(d, val, vl);
    return d + vl;
}

/* A KeyValue with a string value as field num (num < 16): the sizes are
   known, so it is written forward in one piece. */
P2M__INLINE void p2m__bw_kv_string(p2m__bw *w, uint32_t num, const char *key, size_t kl,
                                   const void *val, size_t vl) {
    const size_t cl = p2m__kv_string_size(kl, vl);
    w->n += p2m__ld_size(cl);
    if (w->n <= w->cap)
        (void)p2m__put_kv_string(w->buf + (w->cap - w->n), num, cl, key, kl, val, vl);
}

static void p2m__bw_keyvalue(p2m__bw *w, uint32_t num, const p2m_attribute *a,
                             const p2m_result *r) {
    size_t mark = w->n;
    if (a->value.type == P2M_VALUE_STRING) { /* the common case */
        p2m__bw_kv_string(w, num, a->key.ptr, a->key.len, a->value.str.ptr, a->value.str.len);
        return;
    }
    p2m__bw_anyvalue(w, P2M__PB_KEY_VALUE_VALUE, &a->value, r);
    p2m__bw_str(w, P2M__PB_KEY_VALUE_KEY, a->key.ptr, a->key.len);
    p2m__bw_close(w, mark, num);
}

/* ---- result view ---------------------------------------------------------- */

static void p2m__val_out(const p2m__val *v, p2m_value *o) {
    P2M_MEMSET(o, 0, sizeof *o);
    o->type = (p2m_value_type)v->type;
    o->str.ptr = (const char *)v->ptr;
    o->str.len = v->len;
    if (v->type == P2M_VALUE_INT || v->type == P2M_VALUE_BOOL) o->i = (int64_t)v->num;
    if (v->type == P2M_VALUE_DOUBLE) P2M_MEMCPY(&o->d, &v->num, 8);
}

/* A resource KeyValue, resolved to plain key and value; 0 when it is to be
   left out (invalid string reference). */
static int p2m__res_attr(const p2m_result *r, p2m__span s, p2m_attribute *out) {
    p2m__wire w;
    p2m__strtab tab;
    const uint8_t *p = s.p, *end = s.p + s.n;
    p2m__field f;
    p2m__span val = {p2m__nothing, 0};
    uint64_t key_idx = 0;
    uint32_t type, len;
    const uint8_t *ptr;
    uint64_t num;
    p2m__val v;
    w.base = r->in;
    w.err = 0;
    w.st = P2M_OK;
    tab.in = r->in;
    tab.strs = r->strs;
    tab.n = r->n_strings;
    out->key.ptr = "";
    out->key.len = 0;
    while (p2m__next(&w, &p, end, &f) > 0) {
        if (f.num == P2M__PB_KEY_VALUE_KEY && f.wt == P2M__WT_LEN) {
            out->key.ptr = (const char *)f.s.p;
            out->key.len = f.s.n;
        } else if (f.num == P2M__PB_KEY_VALUE_VALUE && f.wt == P2M__WT_LEN) {
            val = f.s;
        } else if (f.num == P2M__PB_KEY_VALUE_KEY_STRINDEX && f.wt == P2M__WT_VARINT) {
            key_idx = f.v;
        }
    }
    if (out->key.len == 0 && p2m__strtab_at(&tab, key_idx, &out->key) < 0) return 0;
    if (p2m__anyvalue(&w, &tab, val, &type, &ptr, &len, &num) != 0) return 0;
    v.type = type; v.ptr = ptr; v.len = len; v.num = num;
    p2m__val_out(&v, &out->value);
    return 1;
}

static const p2m__res *p2m__res_at(const p2m_result *r, size_t res) {
    return (r && res < r->n_res) ? &r->res[res] : 0;
}

P2M_API size_t p2m_result_resource_count(const p2m_result *r) { return r ? r->n_res : 0; }

P2M_API p2m_str p2m_result_schema_url(const p2m_result *r, size_t res) {
    const p2m__res *x = p2m__res_at(r, res);
    p2m_str s = {"", 0};
    if (x && x->schema_url.p) { s.ptr = (const char *)x->schema_url.p; s.len = x->schema_url.n; }
    return s;
}

/* Plain KeyValue fields numbered num in bytes (as the state keeps them). */
static size_t p2m__kv_list(const p2m_result *r, const uint8_t *p, uint32_t len, uint32_t num,
                           p2m_attribute *out, size_t cap) {
    p2m__wire w;
    const uint8_t *end = p + len;
    p2m__field f;
    size_t n = 0;
    w.base = p;
    w.err = 0;
    w.st = P2M_OK;
    while (p2m__next(&w, &p, end, &f) > 0) {
        p2m_attribute a;
        if (f.num != num || f.wt != P2M__WT_LEN || !p2m__res_attr(r, f.s, &a)) continue;
        if (out && n < cap) out[n] = a;
        n++;
    }
    return n;
}

/* Caller-given resource attributes (p2m_options.resource_attributes): is
   key one of them, and is the i-th the last of its key (the one kept)? */
static int p2m__xattr_has(const p2m_result *r, p2m_str key, size_t from) {
    size_t i;
    for (i = from; i < r->n_xattrs; i++)
        if (p2m__streq2(r->xattrs[i].key, key))
            return 1;
    return 0;
}
static int p2m__xattr_kept(const p2m_result *r, size_t i) {
    return !p2m__xattr_has(r, r->xattrs[i].key, i + 1);
}

P2M_API size_t p2m_result_resource_attributes(const p2m_result *r, size_t res, p2m_attribute *out,
                                              size_t cap) {
    const p2m__res *x = p2m__res_at(r, res);
    size_t n = 0, i;
    if (!x) return 0;
    if (P2M__CUMV(r)) { /* the state's copy has the caller's attributes in it */
        const p2m__sres *sr = p2m__cres(r->cum, x->sres);
        return p2m__kv_list(r, p2m__cbytes(r->cum, sr->off), sr->len, P2M__PB_RESOURCE_ATTRIBUTES,
                            out, cap);
    }
    for (i = 0; i < x->field_count; i++) {
        const p2m__resfield *rf = &r->resfields[x->field_first + i];
        p2m_attribute a;
        if (rf->num != P2M__PB_RESOURCE_ATTRIBUTES || !p2m__res_attr(r, rf->s, &a)) continue;
        if (p2m__xattr_has(r, a.key, 0)) continue;
        if (out && n < cap) out[n] = a;
        n++;
    }
    for (i = 0; i < r->n_xattrs; i++) {
        if (!p2m__xattr_kept(r, i)) continue;
        if (out && n < cap) out[n] = r->xattrs[i];
        n++;
    }
    return n;
}

/* Fields numbered num of a stored Resource (cumulative view) or of the
   input's Resource (delta view): count, and spans up to cap. */
static size_t p2m__res_fields(const p2m_result *r, size_t res, uint32_t num, p2m_str *out,
                              size_t cap, uint64_t *last_varint) {
    const p2m__res *x = p2m__res_at(r, res);
    size_t n = 0;
    uint32_t i;
    if (!x) return 0;
    if (P2M__CUMV(r)) {
        const p2m__sres *sr = p2m__cres(r->cum, x->sres);
        const uint8_t *p = p2m__cbytes(r->cum, sr->off), *end = p + sr->len;
        p2m__wire w;
        p2m__field f;
        w.base = p; w.err = 0; w.st = P2M_OK;
        while (p2m__next(&w, &p, end, &f) > 0) {
            if (f.num != num) continue;
            if (f.wt == P2M__WT_VARINT) { *last_varint = f.v; continue; }
            if (f.wt != P2M__WT_LEN) continue;
            if (out && n < cap) { out[n].ptr = (const char *)f.s.p; out[n].len = f.s.n; }
            n++;
        }
        return n;
    }
    if (num == P2M__PB_RESOURCE_DROPPED_ATTRIBUTES_COUNT) { *last_varint = x->dropped; return 0; }
    for (i = 0; i < x->field_count; i++) {
        const p2m__resfield *rf = &r->resfields[x->field_first + i];
        if (rf->num != num) continue;
        if (out && n < cap) { out[n].ptr = (const char *)rf->s.p; out[n].len = rf->s.n; }
        n++;
    }
    return n;
}

P2M_API uint64_t p2m_result_resource_dropped(const p2m_result *r, size_t res) {
    uint64_t v = 0;
    (void)p2m__res_fields(r, res, P2M__PB_RESOURCE_DROPPED_ATTRIBUTES_COUNT, 0, 0, &v);
    return v;
}

P2M_API size_t p2m_result_resource_entity_refs(const p2m_result *r, size_t res, p2m_str *out,
                                               size_t cap) {
    uint64_t unused = 0;
    return p2m__res_fields(r, res, P2M__PB_RESOURCE_ENTITY_REFS, out, cap, &unused);
}

P2M_API size_t p2m_result_metric_count(const p2m_result *r, size_t res) {
    const p2m__res *x = p2m__res_at(r, res);
    return x ? x->n_metrics : 0;
}

/* What metric id emits: everything of a p2m_metric_info but its points. */
static void p2m__metric_info(const p2m_engine *e, uint32_t id, p2m_metric_info *out) {
    const p2m__metric *m = &e->metric[id];
    out->kind = id >= P2M_METRIC_EXTRA ? P2M_METRIC_EXTRA : (p2m_metric_kind)id;
    out->extra = id >= P2M_METRIC_EXTRA ? id - P2M_METRIC_EXTRA : 0u;
    out->name = m->name;
    out->unit = m->unit;
    out->description = m->description;
    out->temporality = e->temporality;
    out->is_double = m->is_double;
    out->is_gauge = m->is_gauge;
}

P2M_API void p2m_result_metric(const p2m_result *r, size_t res, size_t metric,
                               p2m_metric_info *out) {
    const p2m__res *x = p2m__res_at(r, res);
    if (!out) return;
    P2M_MEMSET(out, 0, sizeof *out);
    if (!x || metric >= x->n_metrics) return;
    p2m__metric_info(r->e, x->kind[metric], out);
    out->n_points = x->pl_count[metric];
}

P2M_API size_t p2m_engine_metrics(const p2m_engine *engine, p2m_metric_info *out, size_t cap) {
    uint32_t id;
    size_t n = 0;
    if (!engine || engine->magic != P2M__MAGIC) return 0;
    for (id = P2M_METRIC_CPU; id < P2M_METRIC_EXTRA + engine->n_extra; id++) {
        if (!engine->metric[id].enabled) continue;
        if (out && n < cap) {
            P2M_MEMSET(&out[n], 0, sizeof out[n]);
            p2m__metric_info(engine, id, &out[n]);
        }
        n++;
    }
    return n;
}


static const p2m__series *p2m__point_at(const p2m_result *r, size_t res, size_t metric,
                                        size_t point, uint32_t *sid) {
    const p2m__res *x = p2m__res_at(r, res);
    if (!x || metric >= x->n_metrics || point >= x->pl_count[metric]) return 0;
    *sid = r->plist[x->pl_first[metric] + point];
    return P2M__CUMV(r) ? r->ser : &r->ser[*sid]; /* cumulative: sid is the state's series */
}

/* The values and times of the point of series s (sid: its id; s NULL: no
   point, all zero), not its attribute count: the encoder does not need it. */
static void p2m__point_values_of(const p2m_result *r, const p2m__series *s, uint32_t sid,
                                 p2m_point *out) {
    const p2m__metric *m;
    P2M_MEMSET(out, 0, sizeof *out);
    if (!s) return;
    if (P2M__CUMV(r)) {
        p2m__cum_point(r->cum, sid, out, &r->e->metric[p2m__cser(r->cum, sid)->metric]);
        return;
    }
    m = &r->e->metric[s->metric];
    out->start_time_unix_nano = m->is_gauge ? 0u : s->start; /* a gauge point has no start */
    out->time_unix_nano = s->end;
    out->is_double = m->is_double;
    out->is_overflow = (int)s->overflow;
    out->as_int = (int64_t)s->sum;
#ifndef P2M_NO_FLOAT
    if (m->is_double) out->as_double = (double)(int64_t)s->sum / (double)m->per_unit;
#endif
}
/* The same by position; 0 when there is no such point. */
static int p2m__point_values(const p2m_result *r, size_t res, size_t metric, size_t point,
                             p2m_point *out) {
    uint32_t sid = 0;
    const p2m__series *s = p2m__point_at(r, res, metric, point, &sid);
    p2m__point_values_of(r, s, sid, out);
    return s != 0;
}

P2M_API void p2m_result_point(const p2m_result *r, size_t res, size_t metric, size_t point,
                              p2m_point *out) {
    if (!out) return;
    if (p2m__point_values(r, res, metric, point, out))
        out->n_attributes = p2m_result_point_attributes(r, res, metric, point, 0, 0);
}

P2M_API size_t p2m_result_point_attributes(const p2m_result *r, size_t res, size_t metric,
                                           size_t point, p2m_attribute *out, size_t cap) {
    uint32_t sid = 0, k, nk, n = 0, pos;
    const p2m__series *s = p2m__point_at(r, res, metric, point, &sid);
    const uint32_t *vids;
    const uint8_t *kpos;
    if (!s) return 0;
    if (P2M__CUMV(r)) {
        const p2m__sser *x = p2m__cser(r->cum, sid);
        return p2m__kv_list(r, p2m__cbytes(r->cum, x->off), x->len, P2M__PB_POINT_ATTRIBUTES, out,
                            cap);
    }
    if (s->overflow) {
        if (out && cap) {
            P2M_MEMSET(&out[0], 0, sizeof out[0]);
            out[0].key.ptr = "otel.metric.overflow";
            out[0].key.len = 20;
            out[0].value.type = P2M_VALUE_BOOL;
            out[0].value.i = 1;
        }
        return 1;
    }
    nk = r->e->n_keys;
    vids = r->ser_vids + (size_t)sid * nk;
    kpos = r->ser_pos + (size_t)sid * nk;
    /* in rule order: the position of the rule that produced each key */
    for (pos = 0; pos <= r->e->n_rules; pos++) { /* n_rules: the function name */
        k = p2m__pos_key(r->e, pos);
        if (k >= nk || vids[k] <= P2M__VID_EMPTY || kpos[k] != pos) continue;
        if (out && n < cap) {
            out[n].key = r->e->keys[k];
            p2m__val_out(&r->vals[vids[k]], &out[n].value);
        }
        n++;
    }
    return n;
}

/* ---- encoding the result -------------------------------------------------- */

/* The attribute of (delta, not overflow) series sid at rule position pos
   (n_rules: the function name's); 0 when it has none there. */
P2M__INLINE int p2m__series_attr(const p2m_result *r, uint32_t sid, uint32_t pos,
                                 p2m_attribute *a) {
    const uint32_t nk = r->e->n_keys, k = p2m__pos_key(r->e, pos);
    uint32_t vid;
    if (k >= nk) return 0;
    vid = r->ser_vids[(size_t)sid * nk + k];
    if (vid <= P2M__VID_EMPTY || r->ser_pos[(size_t)sid * nk + k] != pos) return 0;
    a->key = r->e->keys[k];
    p2m__val_out(&r->vals[vid], &a->value);
    return 1;
}

/* The function metric's points of one sample come one after another and
   differ only in the name, written last: the encoder keeps where the
   previous point's other attributes were written, and copies them when the
   next point's are the same (both writers, p2m__bw_attrs_of and
   p2m__fn_points, write them as the same bytes). */
typedef struct p2m__reuse {
    uint32_t sid;    /* the previous function point's series */
    int ok;          /* from and to hold its other attributes */
    size_t from, to; /* they are the buffer's bytes [cap - to, cap - from) */
} p2m__reuse;

/* Do series a and b have the same attributes, the function name left out? */
static int p2m__same_but_name(const p2m_result *r, uint32_t a, uint32_t b) {
    const uint32_t nk = r->e->n_keys, fk = r->e->fkey;
    const uint32_t *va = r->ser_vids + (size_t)a * nk, *vb = r->ser_vids + (size_t)b * nk;
    const uint8_t *pa = r->ser_pos + (size_t)a * nk, *pb = r->ser_pos + (size_t)b * nk;
    uint32_t k;
    for (k = 0; k < nk; k++)
        if (k != fk && (va[k] != vb[k] || pa[k] != pb[k])) return 0;
    return 1;
}

/* The attributes of the point of series s (sid: its id; the point res,
   metric, point), last first (the writer goes backwards). ru: the
   encoder's p2m__reuse (NULL: none). */
static void p2m__bw_attrs_of(const p2m_result *r, const p2m__series *s, uint32_t sid, size_t res,
                             size_t metric, size_t point, p2m__bw *w, p2m__reuse *ru) {
    uint32_t pos;
    p2m_attribute a;
    if (!s) return;
    if (P2M__CUMV(r)) { /* as emitted before: a copy */
        const p2m__sser *x = p2m__cser(r->cum, sid);
        p2m__bw_bytes(w, p2m__cbytes(r->cum, x->off), x->len);
        return;
    }
    if (s->overflow) {
        if (p2m_result_point_attributes(r, res, metric, point, &a, 1) == 1)
            p2m__bw_keyvalue(w, P2M__PB_POINT_ATTRIBUTES, &a, r);
        return;
    }
    if (!w->cap && s->asize) { /* counting, and the size is known */
        w->n += P2M__ASIZE(s) - 1u;
        return;
    }
    if (P2M__FOR_SIZE || !w->cap || s->metric != P2M_METRIC_FUNCTION || !r->e->n_rules) ru = 0;
    pos = r->e->n_rules + 1u; /* n_rules: the function name */
    while (pos-- > 0) {
        const uint32_t k = p2m__pos_key(r->e, pos), nk = r->e->n_keys;
        uint32_t vid;
        if (ru && pos + 1u == r->e->n_rules) { /* the name is written: the others */
            if (ru->ok && p2m__same_but_name(r, ru->sid, sid)) {
                const size_t len = ru->to - ru->from;
                w->n += len;
                if (w->n <= w->cap)
                    P2M_MEMCPY(w->buf + (w->cap - w->n), w->buf + (w->cap - ru->to), len);
                ru->from = w->n - len;
                ru->to = w->n;
                ru->sid = sid;
                return;
            }
            ru->from = w->n;
        }
        if (k >= nk) continue;
        vid = r->ser_vids[(size_t)sid * nk + k];
        if (vid <= P2M__VID_EMPTY || r->ser_pos[(size_t)sid * nk + k] != pos) continue;
        if (r->vals[vid].type == P2M_VALUE_STRING) { /* most values: no p2m_attribute built */
            p2m__bw_kv_string(w, P2M__PB_POINT_ATTRIBUTES, r->e->keys[k].ptr, r->e->keys[k].len,
                              r->vals[vid].ptr, r->vals[vid].len);
        } else if (p2m__series_attr(r, sid, pos, &a)) {
            p2m__bw_keyvalue(w, P2M__PB_POINT_ATTRIBUTES, &a, r);
        }
    }
    if (ru) {
        ru->to = w->n;
        ru->sid = sid;
        ru->ok = 1;
    }
}

/* The contents of an output Resource: attributes resolved to plain key and
   value, the dropped count, entity_refs as they came. */
static void p2m__bw_resource(const p2m_result *r, const p2m__res *x, p2m__bw *w) {
    uint32_t fi = x->field_count;
    size_t xi;
    while (fi-- > 0) {
        const p2m__resfield *rf = &r->resfields[x->field_first + fi];
        if (rf->num == P2M__PB_RESOURCE_ENTITY_REFS)
            p2m__bw_str(w, P2M__PB_RESOURCE_ENTITY_REFS, rf->s.p, rf->s.n);
    }
    if (x->dropped) {
        p2m__bw_varint(w, x->dropped);
        p2m__bw_tag(w, P2M__PB_RESOURCE_DROPPED_ATTRIBUTES_COUNT, P2M__WT_VARINT);
    }
    xi = r->n_xattrs; /* after the input's own attributes */
    while (xi-- > 0)
        if (p2m__xattr_kept(r, xi))
            p2m__bw_keyvalue(w, P2M__PB_RESOURCE_ATTRIBUTES, &r->xattrs[xi], r);
    fi = x->field_count;
    while (fi-- > 0) {
        const p2m__resfield *rf = &r->resfields[x->field_first + fi];
        p2m_attribute a;
#if !P2M__FOR_SIZE
        p2m__span val;
        int k;
        if (rf->num == P2M__PB_RESOURCE_ATTRIBUTES &&
            (k = rf->plain ? p2m__kv_plain_parts(rf->s, (int)rf->plain - 1, &a.key, &val)
                           : p2m__kv_plain_string(rf->s, &a.key, &val)) != 0) {
            if (p2m__xattr_has(r, a.key, 0)) continue;
            if (k == 2) /* the bytes the writers below would write: copied */
                p2m__bw_str(w, P2M__PB_RESOURCE_ATTRIBUTES, rf->s.p, rf->s.n);
            else
                p2m__bw_kv_string(w, P2M__PB_RESOURCE_ATTRIBUTES, a.key.ptr, a.key.len, val.p,
                                  val.n);
            continue;
        }
#endif
        if (rf->num == P2M__PB_RESOURCE_ATTRIBUTES && p2m__res_attr(r, rf->s, &a) &&
            !p2m__xattr_has(r, a.key, 0))
            p2m__bw_keyvalue(w, P2M__PB_RESOURCE_ATTRIBUTES, &a, r);
    }
}

#if !P2M__FOR_SIZE
P2M__INLINE uint8_t *p2m__put_fixed64_1(uint8_t *d, uint32_t num, uint64_t v) {
    d[0] = (uint8_t)(num << 3 | P2M__WT_I64);
    p2m__put_le64(d + 1, v);
    return d + 9;
}

/* Writes forward at d the point attribute of key k with value vid, a
   string; returns the end. */
P2M__INLINE uint8_t *p2m__put_key_attr(const p2m_result *r, uint32_t k, uint32_t vid, uint8_t *d) {
    const p2m_str key = r->e->keys[k];
    const p2m__val *const val = &r->vals[vid];
    return p2m__put_kv_string(d, P2M__PB_POINT_ATTRIBUTES, p2m__kv_string_size(key.len, val->len),
                              key.ptr, key.len, val->ptr, val->len);
}

/* Writes forward at d the point attribute that rule position pos
   (n_rules: the function name's) gave the series whose value ids and
   positions are vids and kpos, if it gave one, a string; returns the end. */
P2M__INLINE uint8_t *p2m__put_point_attr(const p2m_result *r, const uint32_t *vids,
                                         const uint8_t *kpos, uint32_t pos, uint8_t *d) {
    const p2m_engine *e = r->e;
    const uint32_t k = p2m__pos_key(e, pos);
    if (k >= e->n_keys || vids[k] <= P2M__VID_EMPTY || kpos[k] != pos) return d;
    return p2m__put_key_attr(r, k, vids[k], d);
}

/* The start of the point of (delta) series s as field num, written forward
   in one piece since its size is known when its attributes are all strings
   (s->asize, not 0): its tag and length, times and value, in a writer's
   buffer buf of cap bytes whose last *n are written (p2m__bw; *n grows by
   the point). Returns where its attributes go, NULL when counting (cap
   0). */
P2M__INLINE uint8_t *p2m__put_point_head(const p2m__metric *m, const p2m__series *s, uint32_t num,
                                         uint8_t *buf, size_t cap, size_t *n) {
    const size_t len = P2M__ASIZE(s) - 1u + (m->is_gauge ? 18u : 27u); /* value, time, start */
    uint64_t v = (uint64_t)(int64_t)s->sum;
    uint8_t *d;
    *n += p2m__ld_size(len);
    if (*n > cap) return 0;
    d = buf + (cap - *n);
    *d++ = (uint8_t)(num << 3 | P2M__WT_LEN);
    d = p2m__put_varint(d, len);
    if (!m->is_gauge) d = p2m__put_fixed64_1(d, P2M__PB_POINT_START_TIME_UNIX_NANO, s->start);
    d = p2m__put_fixed64_1(d, P2M__PB_POINT_TIME_UNIX_NANO, s->end);
    if (m->is_double) {
        double x = 0.0;
#ifndef P2M_NO_FLOAT
        x = (double)(int64_t)s->sum / (double)m->per_unit;
#endif
        P2M_MEMCPY(&v, &x, 8);
        return p2m__put_fixed64_1(d, P2M__PB_POINT_AS_DOUBLE, v);
    }
    return p2m__put_fixed64_1(d, P2M__PB_POINT_AS_INT, v);
}

/* Writes forward at d the point attributes of the series whose value ids
   and positions start at entry at of ser_vids and ser_pos, when the rules
   are plain (rule pos gave key pos, if anything): the rules' in order,
   then the function name's (name: the engine has a function key); returns
   the end. */
P2M__INLINE uint8_t *p2m__put_plain_attrs(const p2m_result *r, size_t at, uint32_t nr, int name,
                                          uint8_t *d) {
    const uint32_t *const vids = r->ser_vids + at;
    uint32_t pos;
    for (pos = 0; pos < nr; pos++)
        if (vids[pos] > P2M__VID_EMPTY) d = p2m__put_key_attr(r, pos, vids[pos], d);
    if (name) d = p2m__put_point_attr(r, vids, r->ser_pos + at, nr, d);
    return d;
}

/* The point of (delta) series s, sid, as field num, its size known
   (p2m__put_point_head): what p2m__encode's general loop writes. */
static void p2m__bw_point_known(const p2m_result *r, const p2m__series *s, uint32_t sid,
                                uint32_t num, p2m__bw *w) {
    const uint32_t nk = r->e->n_keys, *vids = r->ser_vids + (size_t)sid * nk;
    const uint8_t *kpos = r->ser_pos + (size_t)sid * nk;
    const size_t n0 = w->n; /* the point takes the bytes [cap - w->n, cap - n0) */
    uint32_t pos;
    uint8_t *d = p2m__put_point_head(&r->e->metric[s->metric], s, num, w->buf, w->cap, &w->n);
    if (!d) return;
    if (!P2M__FOR_SIZE && r->e->plain_rules) {
        d = p2m__put_plain_attrs(r, (size_t)sid * nk, r->e->n_rules, r->e->fkey != P2M__NONE, d);
    } else {
        for (pos = 0; pos <= r->e->n_rules; pos++) /* in rule order, the name last */
            d = p2m__put_point_attr(r, vids, kpos, pos, d);
    }
    P2M_ASSERT(d == w->buf + (w->cap - n0));
    (void)d; /* (read only by the assertion) */
    (void)n0;
}

/* The points pl[pi], pl[pi - 1], ... of a metric other than the function
   metric, with plain rules (rule pos gave key pos), as field num, while
   their sizes are known (the first's is), each as p2m__bw_point_known
   writes it; the engine's settings and the writer's state stay in locals
   for the run. Returns the index of the last point written: those before
   it are left to the caller. */
static P2M__NOINLINE size_t p2m__plain_points(const p2m_result *r, const uint32_t *pl, size_t pi,
                                              uint32_t num, p2m__bw *w) {
    const uint32_t nk = r->e->n_keys, nr = r->e->n_rules;
    const int name = r->e->fkey != P2M__NONE;
    const p2m__metric m = r->e->metric[r->ser[pl[pi]].metric]; /* a copy: stores may alias it */
    uint8_t *const buf = w->buf;
    const size_t cap = w->cap;
    size_t n = w->n;
    for (;;) {
        const uint32_t sid = pl[pi];
        const p2m__series *const s = &r->ser[sid];
        const size_t n0 = n; /* the point takes the bytes [cap - n, cap - n0) */
        uint8_t *d = p2m__put_point_head(&m, s, num, buf, cap, &n);
        if (d) {
            d = p2m__put_plain_attrs(r, (size_t)sid * nk, nr, name, d);
            P2M_ASSERT(d == buf + (cap - n0));
            (void)d; /* (read only by the assertion) */
        }
        (void)n0;
        if (pi == 0 || !r->ser[pl[pi - 1]].asize || r->ser[pl[pi - 1]].overflow) break;
        pi--;
    }
    w->n = n;
    return pi;
}

/* The function metric's points pl[pi], pl[pi - 1], ... (with rules) as
   field num, while their sizes are known (the first's is), each in one
   piece as p2m__bw_point_known writes a point. When a point's other
   attributes are those of the point written before it (P2M__ASIZE_SAME on
   that one) they are copied from there (ru, kept as p2m__bw_attrs_of keeps
   it) and only the name is written. The writer's and ru's state stay in
   locals for the run. Returns the index of the last point written: those
   before it are left to the caller. */
static P2M__NOINLINE size_t p2m__fn_points(const p2m_result *r, const uint32_t *pl, size_t pi,
                                           uint32_t num, p2m__bw *w, p2m__reuse *ru) {
    const uint32_t nk = r->e->n_keys, nr = r->e->n_rules;
    const p2m__metric m = r->e->metric[P2M_METRIC_FUNCTION]; /* a copy: stores may alias it */
    uint8_t *const buf = w->buf;
    const size_t cap = w->cap;
    size_t n = w->n, from = ru->from, to = ru->to;
    uint32_t last = ru->sid;
    int ok = ru->ok;
    for (;;) {
        const uint32_t sid = pl[pi];
        const p2m__series *const s = &r->ser[sid];
        const uint32_t *const vids = r->ser_vids + (size_t)sid * nk;
        const uint8_t *const kpos = r->ser_pos + (size_t)sid * nk;
        const size_t n0 = n; /* the point takes the bytes [cap - n, cap - n0) */
        uint8_t *d = p2m__put_point_head(&m, s, num, buf, cap, &n), *others = d;
        if (d) {
            uint32_t pos;
            /* points go last first: the one written before is series sid + 1 */
            if (ok && last == sid + 1u && (r->ser[last].asize & P2M__ASIZE_SAME)) {
                p2m__copy_short(d, buf + (cap - to), to - from);
                d += to - from;
            } else {
                for (pos = 0; pos < nr; pos++) d = p2m__put_point_attr(r, vids, kpos, pos, d);
            }
            to = cap - (size_t)(others - buf); /* the others: where they are now */
            from = to - (size_t)(d - others);
            last = sid;
            ok = 1;
            d = p2m__put_point_attr(r, vids, kpos, nr, d); /* the name, last */
            P2M_ASSERT(d == buf + (cap - n0));
            (void)d; /* (read only by the assertion) */
        }
        (void)n0;
        if (pi == 0 || !r->ser[pl[pi - 1]].asize || r->ser[pl[pi - 1]].overflow) break;
        pi--;
    }
    w->n = n;
    ru->from = from;
    ru->to = to;
    ru->sid = last;
    ru->ok = ok;
    return pi;
}
#endif

static void p2m__encode(const p2m_result *r, p2m__bw *w) {
    size_t ri = r->n_res;
    while (ri-- > 0) {
        const p2m__res *x = &r->res[ri];
        size_t mark_rm = w->n, mark_sm, mark_res, mi = x->n_metrics;
        if (x->schema_url.p)
            p2m__bw_str(w, P2M__PB_RESOURCE_METRICS_SCHEMA_URL, x->schema_url.p, x->schema_url.n);
        mark_sm = w->n;
        while (mi-- > 0) {
            p2m_metric_info info;
            size_t mark_m = w->n, mark_sum, pi, lo;
#if !P2M__FOR_SIZE
            int known;
#endif
            p2m__reuse ru;
            ru.ok = 0;
            ru.sid = 0;
            ru.from = ru.to = 0;
            p2m_result_metric(r, ri, mi, &info);
            mark_sum = w->n;
            if (!info.is_gauge) {
                p2m__bw_varint(w, 1);
                p2m__bw_tag(w, P2M__PB_SUM_IS_MONOTONIC, P2M__WT_VARINT);
                p2m__bw_varint(w, (uint64_t)info.temporality);
                p2m__bw_tag(w, P2M__PB_SUM_AGGREGATION_TEMPORALITY, P2M__WT_VARINT);
            }
            pi = info.n_points;
            lo = 0;
#if !P2M__FOR_SIZE
            if (!w->cap && !P2M__CUMV(r)) { /* counting: sizes from the series table */
                const uint32_t *pl = r->plist + x->pl_first[mi];
                const size_t fixed = info.is_gauge ? 18u : 27u; /* value, time, start: 9 each */
                size_t n = 0;
                for (; lo < pi; lo++) { /* up to the first point whose size is not known */
                    const p2m__series *s = &r->ser[pl[lo]];
                    if (!s->asize || s->overflow) break;
                    n += p2m__ld_size(P2M__ASIZE(s) - 1u + fixed); /* as p2m__bw_point_known */
                }
                w->n += n;
            }
            known = !P2M__CUMV(r);
#endif
            while (pi-- > lo) { /* the rest (the writing pass: all), last first */
                p2m_point pt;
                size_t mark_p = w->n;
                uint32_t sid = 0;
                const p2m__series *s;
#if !P2M__FOR_SIZE
                if (known) { /* p2m__point_at, for delta series: pi < n_points */
                    sid = r->plist[x->pl_first[mi] + pi];
                    s = &r->ser[sid];
                } else
#endif
                    s = p2m__point_at(r, ri, mi, pi, &sid);
#if !P2M__FOR_SIZE
                if (known && s && s->asize && !s->overflow) {
                    const uint32_t num = info.is_gauge ? (uint32_t)P2M__PB_GAUGE_DATA_POINTS
                                                       : (uint32_t)P2M__PB_SUM_DATA_POINTS;
                    if (s->metric == P2M_METRIC_FUNCTION && r->e->n_rules)
                        pi = p2m__fn_points(r, r->plist + x->pl_first[mi], pi, num, w, &ru);
                    else if (s->metric != P2M_METRIC_FUNCTION && r->e->plain_rules && pi >= 8u)
                        /* nine points or more: for fewer, the call and its
                           setup cost about what the loop saves */
                        pi = p2m__plain_points(r, r->plist + x->pl_first[mi], pi, num, w);
                    else
                        p2m__bw_point_known(r, s, sid, num, w);
                    continue;
                }
#endif
                p2m__point_values_of(r, s, sid, &pt);
                p2m__bw_attrs_of(r, s, sid, ri, mi, pi, w, P2M__FOR_SIZE ? 0 : &ru);
                if (pt.is_double) {
                    uint64_t bits;
                    P2M_MEMCPY(&bits, &pt.as_double, 8);
                    p2m__bw_fixed64_1(w, P2M__PB_POINT_AS_DOUBLE, bits);
                } else {
                    p2m__bw_fixed64_1(w, P2M__PB_POINT_AS_INT, (uint64_t)pt.as_int);
                }
                p2m__bw_fixed64_1(w, P2M__PB_POINT_TIME_UNIX_NANO, pt.time_unix_nano);
                if (!info.is_gauge)
                    p2m__bw_fixed64_1(w, P2M__PB_POINT_START_TIME_UNIX_NANO,
                                      pt.start_time_unix_nano);
                /* Gauge and Sum: data_points */
                p2m__bw_close_1(w, mark_p, info.is_gauge ? (uint32_t)P2M__PB_GAUGE_DATA_POINTS
                                                         : (uint32_t)P2M__PB_SUM_DATA_POINTS);
            }
            p2m__bw_close(w, mark_sum,
                          info.is_gauge ? (uint32_t)P2M__PB_METRIC_GAUGE
                                        : (uint32_t)P2M__PB_METRIC_SUM);
            p2m__bw_str(w, P2M__PB_METRIC_UNIT, info.unit.ptr, info.unit.len);
            if (info.description.len)
                p2m__bw_str(w, P2M__PB_METRIC_DESCRIPTION, info.description.ptr,
                            info.description.len);
            p2m__bw_str(w, P2M__PB_METRIC_NAME, info.name.ptr, info.name.len);
            p2m__bw_close(w, mark_m, P2M__PB_SCOPE_METRICS_METRICS);
        }
        { /* scope */
            size_t mark_sc = w->n;
            p2m__bw_str(w, P2M__PB_SCOPE_VERSION, P2M_VERSION_STRING,
                        sizeof(P2M_VERSION_STRING) - 1);
            p2m__bw_str(w, P2M__PB_SCOPE_NAME, "profile2metrics", 15);
            p2m__bw_close(w, mark_sc, P2M__PB_SCOPE_METRICS_SCOPE);
        }
        p2m__bw_close(w, mark_sm, P2M__PB_RESOURCE_METRICS_SCOPE_METRICS);
        /* Resource: attributes (resolved), dropped count, entity_refs as they came */
        mark_res = w->n;
        if (P2M__CUMV(r)) {
            const p2m__sres *sr = p2m__cres(r->cum, x->sres);
            p2m__bw_bytes(w, p2m__cbytes(r->cum, sr->off), sr->len);
            p2m__bw_close(w, mark_res, P2M__PB_RESOURCE_METRICS_RESOURCE);
            p2m__bw_close(w, mark_rm, P2M__PB_METRICS_REQ_RESOURCE_METRICS);
            continue;
        }
        p2m__bw_resource(r, x, w);
        p2m__bw_close(w, mark_res, P2M__PB_RESOURCE_METRICS_RESOURCE);
        p2m__bw_close(w, mark_rm, P2M__PB_METRICS_REQ_RESOURCE_METRICS);
    }
}

P2M_API p2m_status p2m_encode_otlp(const p2m_result *r, void *output, size_t cap,
                                   size_t *output_size, p2m_error *err) {
    p2m__bw w;
    p2m__clear(err);
    if (output_size) *output_size = 0;
    if (!r || r->magic != P2M__MAGIC)
        return p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("not a result"));
    /* count first: a buffer that turns out too small must stay untouched */
    w.buf = (uint8_t *)(uintptr_t)p2m__nothing;
    w.cap = 0;
    w.n = 0;
    p2m__encode(r, &w);
    if (!output || w.n > cap)
        return p2m__need(err, P2M_ERR_OUTPUT_TOO_SMALL, w.n, P2M__MSG("output buffer too small"));
    w.buf = (uint8_t *)output;
    w.cap = w.n;
    w.n = 0;
    p2m__encode(r, &w);
    P2M_ASSERT(w.n == w.cap); /* the counting pass's sizes are the written ones */
    if (output_size) *output_size = w.n; /* written exactly at the start of output */
    return P2M_OK;
}

/* ---- the streaming encoder ------------------------------------------------
   The same message as p2m__encode, written in order through a p2m__sw: a
   submessage's length is known before its contents by first running the
   same writer over them in count-only mode (p2m__sw_open). Each level
   counts its children once, so a byte is visited once per enclosing level
   (about seven) instead of twice: slower than the backward encoder, but it
   needs no output block, which is the point on a device. */

/* Opens submessage num of len bytes: 1 when its contents are to be
   written now; a counting writer just adds the whole field. */
static int p2m__sw_open(p2m__sw *w, uint32_t num, size_t len) {
    if (!w->buf) {
        w->n += p2m__varint_len((uint64_t)num << 3 | P2M__WT_LEN) + p2m__varint_len(len) + len;
        return 0;
    }
    p2m__sw_len(w, num, len);
    return 1;
}
static void p2m__sw_fixed64(p2m__sw *w, uint32_t num, uint64_t v) {
    uint8_t t[9];
    int i;
    t[0] = (uint8_t)(num << 3 | P2M__WT_I64); /* every fixed64 field number here is < 16 */
    for (i = 1; i < 9; i++, v >>= 8) t[i] = (uint8_t)v;
    p2m__sw_bytes(w, t, 9);
}
static void p2m__sw_vfield(p2m__sw *w, uint32_t num, uint64_t v) {
    p2m__sw_varint(w, (uint64_t)num << 3 | P2M__WT_VARINT);
    p2m__sw_varint(w, v);
}

/* The contents of the AnyValue of v. */
static void p2m__sw_anyvalue(p2m__sw *w, const p2m_value *v, const p2m_result *r) {
    switch (v->type) {
    case P2M_VALUE_STRING:
        p2m__sw_str(w, P2M__PB_ANY_VALUE_STRING_VALUE, v->str.ptr, v->str.len);
        break;
    case P2M_VALUE_BOOL: p2m__sw_vfield(w, P2M__PB_ANY_VALUE_BOOL_VALUE, (uint64_t)v->i); break;
    case P2M_VALUE_INT: p2m__sw_vfield(w, P2M__PB_ANY_VALUE_INT_VALUE, (uint64_t)v->i); break;
    case P2M_VALUE_DOUBLE: {
        uint64_t bits;
        P2M_MEMCPY(&bits, &v->d, 8);
        p2m__sw_fixed64(w, P2M__PB_ANY_VALUE_DOUBLE_VALUE, bits);
        break;
    }
    case P2M_VALUE_ARRAY:
    case P2M_VALUE_KVLIST:
        if (p2m__sw_open(w, v->type == P2M_VALUE_ARRAY ? (uint32_t)P2M__PB_ANY_VALUE_ARRAY_VALUE
                                                       : (uint32_t)P2M__PB_ANY_VALUE_KVLIST_VALUE,
                         p2m__nested_emit(r, v, 0)))
            (void)p2m__nested_emit(r, v, w);
        break;
    case P2M_VALUE_BYTES:
        p2m__sw_str(w, P2M__PB_ANY_VALUE_BYTES_VALUE, v->str.ptr, v->str.len);
        break;
    default: break;
    }
}
static void p2m__sw_keyvalue(p2m__sw *w, uint32_t num, const p2m_attribute *a,
                             const p2m_result *r) {
    p2m__sw c;
    size_t kl = a->key.len;
    p2m__sw_init(&c, 0, 0);
    p2m__sw_anyvalue(&c, &a->value, r);
    if (!p2m__sw_open(w, num, p2m__ld_size(kl) + p2m__ld_size(c.n)))
        return;
    p2m__sw_str(w, P2M__PB_KEY_VALUE_KEY, a->key.ptr, kl);
    p2m__sw_len(w, P2M__PB_KEY_VALUE_VALUE, c.n);
    p2m__sw_anyvalue(w, &a->value, r);
}

/* The contents of an output Resource, in the order p2m__bw_resource gives. */
static void p2m__sw_resource(p2m__sw *w, const p2m_result *r, size_t ri) {
    const p2m__res *x = &r->res[ri];
    uint32_t fi;
    size_t xi;
#ifndef P2M_NO_CUMULATIVE
    if (P2M__CUMV(r)) { /* as emitted before: a copy */
        const p2m__sres *sr = p2m__cres(r->cum, x->sres);
        p2m__sw_bytes(w, p2m__cbytes(r->cum, sr->off), sr->len);
        return;
    }
#endif
    for (fi = 0; fi < x->field_count; fi++) {
        const p2m__resfield *rf = &r->resfields[x->field_first + fi];
        p2m_attribute a;
        if (rf->num == P2M__PB_RESOURCE_ATTRIBUTES && p2m__res_attr(r, rf->s, &a) &&
            !p2m__xattr_has(r, a.key, 0))
            p2m__sw_keyvalue(w, P2M__PB_RESOURCE_ATTRIBUTES, &a, r);
    }
    for (xi = 0; xi < r->n_xattrs; xi++)
        if (p2m__xattr_kept(r, xi))
            p2m__sw_keyvalue(w, P2M__PB_RESOURCE_ATTRIBUTES, &r->xattrs[xi], r);
    if (x->dropped) p2m__sw_vfield(w, P2M__PB_RESOURCE_DROPPED_ATTRIBUTES_COUNT, x->dropped);
    for (fi = 0; fi < x->field_count; fi++) {
        const p2m__resfield *rf = &r->resfields[x->field_first + fi];
        if (rf->num == P2M__PB_RESOURCE_ENTITY_REFS)
            p2m__sw_str(w, P2M__PB_RESOURCE_ENTITY_REFS, rf->s.p, rf->s.n);
    }
}

/* The contents of a data point. */
static void p2m__sw_point(p2m__sw *w, const p2m_result *r, size_t ri, size_t mi, size_t pi,
                          int gauge) {
    p2m_point pt;
    p2m_attribute a;
    uint32_t sid = 0, pos;
    const p2m__series *s = p2m__point_at(r, ri, mi, pi, &sid);
    p2m__point_values_of(r, s, sid, &pt);
    if (!gauge) p2m__sw_fixed64(w, P2M__PB_POINT_START_TIME_UNIX_NANO, pt.start_time_unix_nano);
    p2m__sw_fixed64(w, P2M__PB_POINT_TIME_UNIX_NANO, pt.time_unix_nano);
    if (pt.is_double) {
        uint64_t bits;
        P2M_MEMCPY(&bits, &pt.as_double, 8);
        p2m__sw_fixed64(w, P2M__PB_POINT_AS_DOUBLE, bits);
    } else {
        p2m__sw_fixed64(w, P2M__PB_POINT_AS_INT, (uint64_t)pt.as_int);
    }
    if (!s) return;
#ifndef P2M_NO_CUMULATIVE
    if (P2M__CUMV(r)) { /* as emitted before: a copy */
        const p2m__sser *x = p2m__cser(r->cum, sid);
        p2m__sw_bytes(w, p2m__cbytes(r->cum, x->off), x->len);
        return;
    }
#endif
    if (s->overflow) {
        if (p2m_result_point_attributes(r, ri, mi, pi, &a, 1) == 1)
            p2m__sw_keyvalue(w, P2M__PB_POINT_ATTRIBUTES, &a, r);
        return;
    }
    for (pos = 0; pos <= r->e->n_rules; pos++) /* n_rules: the function name */
        if (p2m__series_attr(r, sid, pos, &a)) p2m__sw_keyvalue(w, P2M__PB_POINT_ATTRIBUTES, &a, r);
}

/* The contents of a Sum or Gauge. */
static void p2m__sw_data(p2m__sw *w, const p2m_result *r, size_t ri, size_t mi,
                         const p2m_metric_info *info) {
    size_t pi;
    const uint32_t num =
        info->is_gauge ? (uint32_t)P2M__PB_GAUGE_DATA_POINTS : (uint32_t)P2M__PB_SUM_DATA_POINTS;
    for (pi = 0; pi < info->n_points; pi++) {
        p2m__sw c;
        p2m__sw_init(&c, 0, 0);
        p2m__sw_point(&c, r, ri, mi, pi, info->is_gauge);
        if (p2m__sw_open(w, num, c.n)) p2m__sw_point(w, r, ri, mi, pi, info->is_gauge);
    }
    if (!info->is_gauge) {
        p2m__sw_vfield(w, P2M__PB_SUM_AGGREGATION_TEMPORALITY, (uint64_t)info->temporality);
        p2m__sw_vfield(w, P2M__PB_SUM_IS_MONOTONIC, 1);
    }
}

/* The contents of a Metric. */
static void p2m__sw_metric(p2m__sw *w, const p2m_result *r, size_t ri, size_t mi) {
    p2m_metric_info info;
    p2m__sw c;
    p2m_result_metric(r, ri, mi, &info);
    p2m__sw_str(w, P2M__PB_METRIC_NAME, info.name.ptr, info.name.len);
    if (info.description.len)
        p2m__sw_str(w, P2M__PB_METRIC_DESCRIPTION, info.description.ptr, info.description.len);
    p2m__sw_str(w, P2M__PB_METRIC_UNIT, info.unit.ptr, info.unit.len);
    p2m__sw_init(&c, 0, 0);
    p2m__sw_data(&c, r, ri, mi, &info);
    if (p2m__sw_open(w,
                     info.is_gauge ? (uint32_t)P2M__PB_METRIC_GAUGE : (uint32_t)P2M__PB_METRIC_SUM,
                     c.n))
        p2m__sw_data(w, r, ri, mi, &info);
}

/* The contents of a ScopeMetrics. */
static void p2m__sw_scope_metrics(p2m__sw *w, const p2m_result *r, size_t ri) {
    static const char name[] = "profile2metrics", version[] = P2M_VERSION_STRING;
    size_t mi;
    if (p2m__sw_open(w, P2M__PB_SCOPE_METRICS_SCOPE, 4u + sizeof name - 1u + sizeof version - 1u)) {
        p2m__sw_str(w, P2M__PB_SCOPE_NAME, name, sizeof name - 1u);
        p2m__sw_str(w, P2M__PB_SCOPE_VERSION, version, sizeof version - 1u);
    }
    for (mi = 0; mi < r->res[ri].n_metrics; mi++) {
        p2m__sw c;
        p2m__sw_init(&c, 0, 0);
        p2m__sw_metric(&c, r, ri, mi);
        if (p2m__sw_open(w, P2M__PB_SCOPE_METRICS_METRICS, c.n)) p2m__sw_metric(w, r, ri, mi);
    }
}

/* The contents of a ResourceMetrics. */
static void p2m__sw_resource_metrics(p2m__sw *w, const p2m_result *r, size_t ri) {
    const p2m__res *x = &r->res[ri];
    p2m__sw c;
    p2m__sw_init(&c, 0, 0);
    p2m__sw_resource(&c, r, ri);
    if (p2m__sw_open(w, P2M__PB_RESOURCE_METRICS_RESOURCE, c.n)) p2m__sw_resource(w, r, ri);
    p2m__sw_init(&c, 0, 0);
    p2m__sw_scope_metrics(&c, r, ri);
    if (p2m__sw_open(w, P2M__PB_RESOURCE_METRICS_SCOPE_METRICS, c.n))
        p2m__sw_scope_metrics(w, r, ri);
    if (x->schema_url.p)
        p2m__sw_str(w, P2M__PB_RESOURCE_METRICS_SCHEMA_URL, x->schema_url.p, x->schema_url.n);
}

P2M_API p2m_status p2m_encode_otlp_stream(const p2m_result *r, p2m_write_fn write, void *ctx,
                                          size_t *output_size, p2m_error *err) {
    uint8_t buf[P2M_STREAM_BUFFER];
    p2m__sw w;
    size_t ri;
    p2m__clear(err);
    if (output_size) *output_size = 0;
    if (!r || r->magic != P2M__MAGIC)
        return p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("not a result"));
    if (!write) return p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("write must not be NULL"));
    p2m__sw_init(&w, buf, sizeof buf);
    w.write = write;
    w.ctx = ctx;
    for (ri = 0; ri < r->n_res && !w.failed; ri++) {
        p2m__sw c;
        p2m__sw_init(&c, 0, 0);
        p2m__sw_resource_metrics(&c, r, ri);
        if (p2m__sw_open(&w, P2M__PB_METRICS_REQ_RESOURCE_METRICS, c.n))
            p2m__sw_resource_metrics(&w, r, ri);
    }
    p2m__sw_flush(&w);
    if (w.failed) /* err.offset: the bytes it took before */
        return p2m__fail(err, P2M_ERR_WRITE, w.taken,
                         P2M__MSG("the write callback refused the output"));
    if (output_size) *output_size = w.n;
    return P2M_OK;
}

#ifndef P2M_NO_CUMULATIVE
/* ---- cumulative state: merge and commit ------------------------------------ */

/* Places an empty state for e in a; a dry run (a->base NULL) counts its
   bytes, which is what p2m_state_size reports. */
static p2m_state *p2m__state_place(const p2m_engine *e, p2m__arena *a) {
    p2m_state *st = (p2m_state *)p2m__take(a, sizeof *st);
    const uint32_t cap = e->state_series, hcap = p2m__pow2_at_least((uint64_t)cap * 2u);
    p2m__sres *res = (p2m__sres *)p2m__take(a, cap * sizeof(p2m__sres));
    p2m__sser *ser = (p2m__sser *)p2m__take(a, cap * sizeof(p2m__sser));
    uint32_t *hash = (uint32_t *)p2m__take(a, (size_t)hcap * 4u);
    uint8_t *bytes = (uint8_t *)p2m__take(a, e->state_bytes);
    if (!st) return 0;
    P2M_MEMSET(st, 0, sizeof *st);
    st->magic = P2M__STATE_MAGIC;
    st->e = e;
    st->cap = cap;
    st->hash_mask = hcap - 1u;
    st->res = res;
    st->ser = ser;
    st->hash = hash;
    P2M_MEMSET(hash, 0, (size_t)hcap * 4u);
    st->cap_bytes = e->state_bytes;
    st->bytes = bytes;
    return st;
}

P2M_API size_t p2m_state_size(const p2m_engine *e) {
    p2m__arena a;
    if (!e || e->magic != P2M__MAGIC || !e->state_series) return 0;
    a.base = 0;
    a.cap = 0;
    a.used = 0;
    (void)p2m__state_place(e, &a);
    return a.used + 7u; /* the state starts at the first 8-byte aligned byte of mem */
}

P2M_API p2m_status p2m_state_init(const p2m_engine *e, void *mem, size_t mem_size,
                                  p2m_state **state, p2m_error *err) {
    p2m__arena a;
    size_t need = p2m_state_size(e);
    p2m__clear(err);
    if (state) *state = 0;
    if (!state || !e || e->magic != P2M__MAGIC)
        return p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("state and engine must not be NULL"));
    if (!need) return p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("the engine is not cumulative"));
    if (!mem || mem_size < need)
        return p2m__need(err, P2M_ERR_MEMORY, need, P2M__MSG("state memory too small"));
    p2m__arena_over(&a, mem, mem_size);
    *state = p2m__state_place(e, &a);
    return P2M_OK;
}

/* Do two engines emit the same metric (so a state's totals carry over)? */
static int p2m__same_metric(const p2m__metric *a, const p2m__metric *b) {
    return a->enabled == b->enabled && a->is_gauge == b->is_gauge && a->is_double == b->is_double &&
           a->ukind == b->ukind && a->per_unit == b->per_unit && p2m__streq2(a->name, b->name) &&
           p2m__streq2(a->unit, b->unit);
}

P2M_API p2m_status p2m_state_rebind(const p2m_engine *e, p2m_state *st, p2m_error *err) {
    uint32_t m;
    p2m__clear(err);
    if (!e || e->magic != P2M__MAGIC || !st || st->magic != P2M__STATE_MAGIC)
        return p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("state and engine must not be NULL"));
    if (!e->state_series || e->state_series != st->cap || e->state_bytes != st->cap_bytes)
        return p2m__fail(err, P2M_ERR_CONFIG, 0,
                         P2M__MSG("the engine sizes the state differently "
                                  "(state_max_series, state_bytes)"));
    for (m = 0; m < P2M__NMET; m++)
        if (!p2m__same_metric(&st->e->metric[m], &e->metric[m]))
            return p2m__fail(err, P2M_ERR_CONFIG, 0,
                             P2M__MSG("the engines emit different metrics: the state's totals "
                                      "would not carry over"));
    st->e = e;
    return P2M_OK;
}

/* Writes with the backward writer into the state's free bytes (past the
   tentative end): 0 when it does not fit. The caller's emit function is run
   twice, once to count and once to write. */
typedef void (*p2m__emit_fn)(const p2m_result *r, size_t a, size_t b, p2m__bw *w);

static int p2m__cum_stage(p2m__cum *c, p2m__emit_fn emit, const p2m_result *r, size_t a, size_t b,
                          uint32_t *off, uint32_t *len) {
    p2m__bw w;
    p2m_state *st = c->st;
    w.buf = (uint8_t *)(uintptr_t)p2m__nothing; w.cap = 0; w.n = 0;
    emit(r, a, b, &w);
    if (w.n > st->cap_bytes - c->t_bytes) return 0;
    *off = (uint32_t)c->t_bytes;
    *len = (uint32_t)w.n;
    w.buf = p2m__cbytes(c, c->t_bytes);
    w.cap = w.n;
    w.n = 0;
    emit(r, a, b, &w);
    return 1;
}
static void p2m__emit_resource(const p2m_result *r, size_t res, size_t unused, p2m__bw *w) {
    (void)unused;
    p2m__bw_resource(r, &r->res[res], w);
}
static void p2m__emit_attrs(const p2m_result *r, size_t packed, size_t point, p2m__bw *w) {
    const size_t res = packed >> 8, metric = packed & 0xFFu;
    uint32_t sid = 0;
    const p2m__series *s = p2m__point_at(r, res, metric, point, &sid);
    p2m__bw_attrs_of(r, s, sid, res, metric, point, w, 0);
}
static void p2m__emit_overflow(const p2m_result *r, size_t a, size_t b, p2m__bw *w) {
    p2m_attribute at;
    (void)r; (void)a; (void)b;
    P2M_MEMSET(&at, 0, sizeof at);
    at.key.ptr = "otel.metric.overflow";
    at.key.len = 20;
    at.value.type = P2M_VALUE_BOOL;
    at.value.i = 1;
    p2m__bw_keyvalue(w, P2M__PB_POINT_ATTRIBUTES, &at, 0);
}

/* The overflow series of (resource, metric), created when needed;
   P2M__NO_ID when the state has no room left even for it. */
static uint32_t p2m__cum_overflow(p2m__cum *c, uint32_t sres, uint32_t metric) {
    p2m_state *st = c->st;
    uint32_t *o = &c->t_ovf[sres * P2M__NMET + metric], id;
    p2m__sser *x;
    if (*o != P2M__ID1_NONE) return P2M__ID1_ID(*o);
    if (c->t_series >= st->cap) return P2M__NO_ID;
    id = c->t_series;
    x = p2m__cser(c, id);
    if (!p2m__cum_stage(c, p2m__emit_overflow, 0, 0, 0, &x->off, &x->len)) return P2M__NO_ID;
    c->t_bytes += x->len;
    c->t_series++;
    x->sum = 0; x->start = UINT64_MAX; x->end = 0;
    x->res = sres; x->metric = metric; x->overflow = 1; x->hash = 0;
    *o = P2M__ID1(id);
    return id;
}

/* Adds a delta point to a state series. */
static void p2m__cum_add(p2m__cum *c, uint32_t id, const p2m__series *d) {
    p2m_state *st = c->st;
    if (id < st->n_series) {
        p2m__pend *pd = &c->pend[id];
        if (!pd->touched) { pd->touched = 1; pd->sum = 0; pd->start = UINT64_MAX; pd->end = 0; }
        pd->sum += d->sum;
        pd->gauge = (uint32_t)st->e->metric[st->ser[id].metric].is_gauge;
        if (d->start < pd->start) pd->start = d->start;
        if (d->end > pd->end) pd->end = d->end;
    } else {
        p2m__sser *x = p2m__cser(c, id);
        x->sum += d->sum;
        if (d->start < x->start) x->start = d->start;
        if (d->end > x->end) x->end = d->end;
    }
}

/* The state's resource for resource ri of r: one held or staged with the
   same bytes and schema URL, else a new staged one; P2M__NO_ID when it did
   not fit. */
static uint32_t p2m__cum_resource(p2m__cum *c, const p2m_result *r, size_t ri) {
    const p2m_state *st = c->st;
    const p2m__res *x = &r->res[ri];
    uint32_t off, len, h, i, sres = P2M__NO_ID;
    const uint8_t *url = x->schema_url.p ? x->schema_url.p : p2m__nothing;
    if (!p2m__cum_stage(c, p2m__emit_resource, r, ri, 0, &off, &len)) return P2M__NO_ID;
    h = p2m__hash_bytes(p2m__cbytes(c, off), len,
                        p2m__hash_bytes(url, x->schema_url.p ? x->schema_url.n : 0u, 7u));
    for (i = 0; i < c->t_res && sres == P2M__NO_ID; i++) {
        const p2m__sres *y = p2m__cres(c, i);
        if (y->hash == h && y->len == len && y->url_len == x->schema_url.n &&
            p2m__bytes_eq(p2m__cbytes(c, y->off), p2m__cbytes(c, off), len) &&
            p2m__bytes_eq(p2m__cbytes(c, y->url_off), url, y->url_len))
            sres = i;
    }
    if (sres == P2M__NO_ID && c->t_res < st->cap &&
        x->schema_url.n <= st->cap_bytes - c->t_bytes - len) {
        p2m__sres *y = p2m__cres(c, c->t_res);
        P2M_MEMSET(y, 0, sizeof *y);
        y->off = off;
        y->len = len;
        y->hash = h;
        y->url_off = (uint32_t)(c->t_bytes + len);
        y->url_len = x->schema_url.n;
        if (x->schema_url.n) P2M_MEMCPY(p2m__cbytes(c, y->url_off), url, x->schema_url.n);
        c->t_bytes += len + x->schema_url.n;
        sres = c->t_res++;
    }
    return sres;
}

/* The state's series for point pi of metric m (kind kind) of resource ri,
   in state resource sres: one held or staged with the same attributes, else
   a new staged one; P2M__NO_ID over a limit. */
static uint32_t p2m__cum_series(p2m__cum *c, const p2m_result *r, size_t ri, uint32_t m,
                                uint32_t pi, uint32_t sres, uint32_t kind) {
    const p2m_state *st = c->st;
    uint32_t aoff, alen, k, hh, id = P2M__NO_ID;
    const uint8_t *ab;
    if (!p2m__cum_stage(c, p2m__emit_attrs, r, ri << 8 | m, pi, &aoff, &alen)) return P2M__NO_ID;
    ab = p2m__cbytes(c, aoff);
    hh = p2m__hash_bytes(ab, alen, sres * 0x9E3779B1u ^ kind);
    for (k = hh & st->hash_mask; st->hash[k] != P2M__ID1_NONE && id == P2M__NO_ID;
         k = (k + 1) & st->hash_mask) {
        const p2m__sser *y = &st->ser[P2M__ID1_ID(st->hash[k])];
        if (y->hash == hh && y->res == sres && y->metric == kind && y->len == alen &&
            p2m__bytes_eq(st->bytes + y->off, ab, alen))
            id = P2M__ID1_ID(st->hash[k]);
    }
    for (k = hh & c->thash_mask; id == P2M__NO_ID && c->thash[k] != P2M__ID1_NONE;
         k = (k + 1) & c->thash_mask) {
        const p2m__sser *y = p2m__cser(c, P2M__ID1_ID(c->thash[k]));
        if (y->hash == hh && y->res == sres && y->metric == kind && y->len == alen &&
            p2m__bytes_eq(p2m__cbytes(c, y->off), ab, alen))
            id = P2M__ID1_ID(c->thash[k]);
    }
    if (id == P2M__NO_ID && c->t_series < st->cap &&
        c->t_count[sres * P2M__NMET + kind] < r->e->max_series) {
        p2m__sser *y = p2m__cser(c, c->t_series);
        y->sum = 0; y->start = UINT64_MAX; y->end = 0;
        y->res = sres; y->metric = kind; y->overflow = 0; y->hash = hh;
        y->off = aoff; y->len = alen;
        c->t_bytes += alen;
        id = c->t_series++;
        c->t_count[sres * P2M__NMET + kind]++;
        c->thash[k] = P2M__ID1(id);
    }
    return id;
}

/* Maps every point of the delta result onto the state: held series,
   new series (written past the committed counts), or overflow. */
static P2M__NOINLINE void p2m__cum_merge(p2m__cum *c, const p2m_result *r, p2m_stats *stats) {
    size_t ri;
    for (ri = 0; ri < r->n_res; ri++) {
        const p2m__res *x = &r->res[ri];
        const uint32_t sres = p2m__cum_resource(c, r, ri);
        uint32_t m;
        for (m = 0; m < x->n_metrics; m++) {
            uint32_t kind = x->kind[m], pi;
            for (pi = 0; pi < x->pl_count[m]; pi++) {
                const p2m__series *d = &r->ser[r->plist[x->pl_first[m] + pi]];
                uint32_t id = P2M__NO_ID;
                if (sres == P2M__NO_ID) { /* no room for the resource: lost, and counted */
                    stats->overflow_samples += d->samples;
                    continue;
                }
                if (!d->overflow) id = p2m__cum_series(c, r, ri, m, pi, sres, kind);
                if (id == P2M__NO_ID) { /* over a limit: the overflow point */
                    if (!d->overflow) stats->overflow_samples += d->samples;
                    id = p2m__cum_overflow(c, sres, kind);
                    if (id == P2M__NO_ID) continue;
                }
                p2m__cum_add(c, id, d);
            }
        }
    }
}

/* The result view of the whole state (held and new series). */
static P2M__NOINLINE void p2m__cum_view(const p2m__cum *c, struct p2m_result *v, p2m__res *res,
                                        uint32_t *plist) {
    uint32_t r, m, i, n = 0, np = 0;
    for (r = 0; r < c->t_res; r++) {
        p2m__res *x = &res[n];
        P2M_MEMSET(x, 0, sizeof *x);
        x->sres = r;
        x->schema_url.p = p2m__cbytes(c, p2m__cres(c, r)->url_off);
        x->schema_url.n = p2m__cres(c, r)->url_len;
        for (m = 1; m < P2M_METRIC_EXTRA + c->st->e->n_extra; m++) {
            uint32_t first = np, pass;
            for (pass = 0; pass < 2; pass++) /* overflow last */
                for (i = 0; i < c->t_series; i++) {
                    const p2m__sser *y = p2m__cser(c, i);
                    if (y->res == r && y->metric == m && y->overflow == pass) plist[np++] = i;
                }
            if (np > first) {
                x->kind[x->n_metrics] = m;
                x->pl_first[x->n_metrics] = first;
                x->pl_count[x->n_metrics] = np - first;
                x->n_metrics++;
            }
        }
        if (x->n_metrics) n++;
    }
    v->res = res;
    v->n_res = n;
    v->plist = plist;
    v->cum = c;
}

/* Makes the call's changes part of the state. */
static P2M__NOINLINE void p2m__cum_commit(p2m__cum *c) {
    p2m_state *st = c->st;
    uint32_t i, k;
    for (i = 0; i < st->n_series; i++) {
        p2m__pend *pd = &c->pend[i];
        if (!pd->touched) continue;
        if (pd->gauge) st->ser[i].sum = 0;
        st->ser[i].sum += pd->sum;
        if (pd->start < st->ser[i].start) st->ser[i].start = pd->start;
        if (pd->end > st->ser[i].end) st->ser[i].end = pd->end;
    }
    for (i = st->n_series; i < c->t_series; i++) st->ser[i] = c->t_ser[i - st->n_series];
    for (i = st->n_res; i < c->t_res; i++) st->res[i] = c->t_resv[i - st->n_res];
    if (c->t_bytes > st->n_bytes)
        P2M_MEMCPY(st->bytes + st->n_bytes, c->tb, c->t_bytes - st->n_bytes);
    for (i = st->n_series; i < c->t_series; i++) {
        if (st->ser[i].overflow) continue;
        for (k = st->ser[i].hash & st->hash_mask; st->hash[k] != P2M__ID1_NONE;
             k = (k + 1) & st->hash_mask) {
        }
        st->hash[k] = P2M__ID1(i);
    }
    for (i = 0; i < c->t_res; i++)
        for (k = 0; k < P2M__NMET; k++) {
            st->res[i].count[k] = c->t_count[i * P2M__NMET + k];
            st->res[i].ovf[k] = c->t_ovf[i * P2M__NMET + k];
        }
    st->n_series = c->t_series;
    st->n_res = c->t_res;
    st->n_bytes = c->t_bytes;
    /* everything is in the state now: a view read after the commit must not
       add the pending changes a second time */
    for (i = 0; i < c->t_series; i++) c->pend[i].touched = 0;
}

#else /* P2M_NO_CUMULATIVE */

P2M_API size_t p2m_state_size(const p2m_engine *e) {
    (void)e;
    return 0;
}

P2M_API p2m_status p2m_state_rebind(const p2m_engine *e, p2m_state *st, p2m_error *err) {
    (void)e;
    (void)st;
    p2m__clear(err);
    return p2m__fail(err, P2M_ERR_UNSUPPORTED, 0,
                     P2M__MSG("cumulative temporality is compiled out (P2M_NO_CUMULATIVE)"));
}

P2M_API p2m_status p2m_state_init(const p2m_engine *e, void *mem, size_t mem_size,
                                  p2m_state **state, p2m_error *err) {
    (void)e; (void)mem; (void)mem_size;
    p2m__clear(err);
    if (state) *state = 0;
    return p2m__fail(err, P2M_ERR_UNSUPPORTED, 0,
                     P2M__MSG("cumulative temporality is compiled out (P2M_NO_CUMULATIVE)"));
}

#endif /* P2M_NO_CUMULATIVE */

/* ---- public functions ----------------------------------------------------- */

/* The arguments every conversion call checks first (err cleared). */
static P2M__MUST p2m_status p2m__check_call(const p2m_engine *e, const void *input,
                                            size_t input_size, p2m_error *err) {
    p2m__clear(err);
    if (!e || e->magic != P2M__MAGIC)
        return p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("not a compiled engine"));
    if (!input && input_size) return p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("input is NULL"));
    if (input_size > 0xFFFFFFFFu)
        return p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("input larger than 4 GiB"));
    return P2M_OK;
}

/* Checks the arguments of a call and surveys its input. The survey counts
   the dictionary's entries when always_count is set or the engine reads
   function names (their lines are counted too); otherwise the dictionary
   scan of p2m__aggregate counts them. lazy: a lazy survey
   (p2m__survey_request) if the engine's layout is auto. */
static P2M__MUST p2m_status p2m__begin(p2m__req *q, const p2m_engine *e, const void *input,
                                       size_t input_size, p2m_stats *st, p2m_error *err,
                                       int always_count, int lazy) {
    p2m_status s;
    P2M_MEMSET(q, 0, sizeof *q);
    P2M_MEMSET(st, 0, sizeof *st);
    if ((s = p2m__check_call(e, input, input_size, err)) != P2M_OK) return s;
    q->e = e;
    q->forced = e->layout;
    q->in = input ? (const uint8_t *)input : (const uint8_t *)"";
    q->in_len = input_size;
    q->w.base = q->in;
    q->w.err = err;
    q->st = st;
    st->bytes_in = input_size;
    lazy = !P2M__FOR_SIZE && lazy && e->layout == P2M_LAYOUT_AUTO;
    if (p2m__survey_request(q, always_count || P2M__NAMES(e), lazy) < 0) return q->w.st;
    return P2M_OK;
}

P2M_API p2m_status p2m_work_size(const p2m_engine *engine, const void *input, size_t input_size,
                                 size_t *needed, p2m_error *err) {
    p2m__req q;
    p2m__plan pl;
    p2m_stats st;
    p2m_status s;
    if (!needed) return p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("needed must not be NULL"));
    *needed = 0;
    if ((s = p2m__begin(&q, engine, input, input_size, &st, err, 1, 1)) != P2M_OK) return s;
    if (p2m__make_plan(&q, &pl) < 0)
        return p2m__fail(err, P2M_ERR_MALFORMED, 0, P2M__MSG("input too large"));
    *needed = pl.total;
    return P2M_OK;
}

/* Plans the working memory of a surveyed request, checks it is enough and
   points q's arrays into it. Out of line so that the plan stays off the
   stack of the deeper calls that follow (firmware stack budgets). */
typedef struct p2m__placed {
    uint8_t *base;
    size_t result, total, cum;
    uint32_t ser_cap;
} p2m__placed;

/* The arrays of stacks (p2m__plan_stacks) pointed into the working memory at
   base, and cleared where they start empty. */
static void p2m__place_stacks(p2m__req *q, const p2m__plan *pl, uint8_t *base) {
    const p2m_engine *e = q->e;
    uint32_t i;
    if (P2M__STACKS(e)) {
        q->stacks = q->spans + q->sv.at[P2M__PB_DICT_STACK_TABLE];
        q->locs = q->spans + q->sv.at[P2M__PB_DICT_LOCATION_TABLE];
        q->funcs = q->spans + q->sv.at[P2M__PB_DICT_FUNCTION_TABLE];
        q->maps = q->spans + q->sv.at[P2M__PB_DICT_MAPPING_TABLE];
    }
    if (P2M__NAMES(e)) {
        q->loc_memo = (p2m__strent *)(void *)(base + pl->loc_memo);
        q->func_memo = (uint32_t *)(void *)(base + pl->func_memo);
        q->lines = (uint32_t *)(void *)(base + pl->lines);
        for (i = 0; i < q->sv.n_locs; i++) {
            q->loc_memo[i].off = P2M__LOC_UNRESOLVED;
            q->loc_memo[i].len = 0;
        }
        P2M_MEMSET(q->func_memo, 0, (size_t)q->sv.n_funcs * 4u);
        q->fn_list = (uint32_t *)(void *)(base + pl->fn_list);
        q->fn_list_cap = pl->fn_list_cap;
        if (e->metric[P2M_METRIC_FUNCTION].enabled && e->function_mode == P2M_FUNCTION_INCLUSIVE) {
            q->stamps = (uint32_t *)(void *)(base + pl->stamps);
            P2M_MEMSET(q->stamps, 0, (size_t)pl->vals_cap * 4u);
        }
        q->fpool_cap = pl->fpool_cap;
        if (!P2M__FOR_SIZE && q->fpool_cap) { /* every stack unresolved (all ones), none kept */
            q->fstk = (p2m__strent *)(void *)(base + pl->fstk);
            q->fpool = (uint32_t *)(void *)(base + pl->fpool);
            P2M_MEMSET(q->fstk, 0xff, ((size_t)q->sv.n_stacks + 1u) * sizeof(p2m__strent));
        }
    }
    if (P2M__PROPS(e)) { /* nothing resolved yet */
#ifndef P2M_NO_FUNCTION
        if (!P2M__FOR_SIZE) { /* the fast paths' settings (a build for size has none) */
            /* the mapping is read only for the library */
            q->loc_want = 1u << P2M__PB_LOCATION_ATTRIBUTE_INDICES |
                          (e->frame_need >> P2M__FR_LIBRARY & 1u) << P2M__PB_LOCATION_MAPPING_INDEX;
            q->leaf_only = p2m__leaf_only(e);
        }
#endif
        q->sprops = (p2m__sprop *)(void *)(base + pl->sprops);
        q->sstate = (uint32_t *)(void *)(base + pl->sstate);
        P2M_MEMSET(q->sstate, 0, ((size_t)q->sv.n_stacks + 1u) * sizeof(uint32_t)); /* unresolved */
        if (e->xstack_mask) {
            q->xverdict = base + pl->xverdict;
            P2M_MEMSET(q->xverdict, 0, (size_t)e->n_extra * pl->vals_cap);
        }
    }
}

/* The attribute spans p2m__dict_scan left at the top of the working memory
   (last first; base is skip bytes into a block of work_size) go into
   q->aslots, first first, in one copy: the plan puts the interned values,
   at least as many as the attribute entries and each bigger than a span,
   between the two, so the spans are read from where no entry is written. */
static void p2m__place_attr_spans(p2m__req *q, uint8_t *base, size_t skip, size_t work_size) {
    const uint32_t n = q->sv.n_attrs;
    const p2m__strent *t = (p2m__strent *)(void *)(base + ((work_size - skip) & ~(size_t)7u));
    p2m__aslot *d = q->aslots, *const dend = d + n;
    P2M_ASSERT((uintptr_t)dend <= (uintptr_t)(t - n));
    /* four a step outside builds for size: tables have thousands */
    for (; !P2M__FOR_SIZE && dend - d >= 4; d += 4, t -= 4) {
        d[0].span = t[-1];
        d[1].span = t[-2];
        d[2].span = t[-3];
        d[3].span = t[-4];
    }
    while (d != dend) (d++)->span = *--t;
}

/* The filters' and the sample memo's memory, cleared: verdicts and regex
   results per value, the memo, and the pattern filter's per-key tables. */
static void p2m__place_filters(p2m__req *q, const p2m__plan *pl, uint8_t *base) {
    const p2m_engine *e = q->e;
    if (e->any_filter) {
        q->verdict = base + pl->verdict;
        P2M_MEMSET(q->verdict, 0, pl->vals_cap);
        if (!P2M__FOR_SIZE) /* for p2m__filter_test: absent, judged by every filter, no match */
            q->verdict[P2M__VID_ABSENT] = 0x55u;
    }
    if (e->n_rx_rules) {
        q->rx_memo = (uint32_t *)(void *)(base + pl->rx_memo);
        P2M_MEMSET(q->rx_memo, 0, (size_t)e->n_rx_rules * pl->vals_cap * 4u);
    }
    q->rx_scratch = base + pl->rx_scratch;
    if (pl->smemo_n) {
        q->smemo = (p2m__smemo *)(void *)(base + pl->smemo);
        q->smemo_mask = pl->smemo_n - 1u;
#if !P2M__FOR_SIZE
        {
            /* an entry is read only when its stamp is the profile's (not
               0: p2m__memo_find), so only the stamps are cleared, four a
               step (16 entries or more, a power of two): a tenth of the
               memo's bytes */
            p2m__smemo *m = q->smemo;
            uint32_t i;
            for (i = 0; i < pl->smemo_n; i += 4) {
                m[i].stamp = 0;
                m[i + 1].stamp = 0;
                m[i + 2].stamp = 0;
                m[i + 3].stamp = 0;
            }
        }
        q->memo_bytes = q->memo_slots = P2M__MEMO_TRIES;
#else
        P2M_MEMSET(q->smemo, 0, (size_t)pl->smemo_n * sizeof(p2m__smemo));
#endif
    }
    if (e->filter[P2M__F_PATTERN].enabled && e->filter[P2M__F_PATTERN].all_keys) {
        q->akey = (uint32_t *)(void *)(base + pl->akey);
        P2M_MEMSET(q->akey, 0, (size_t)q->sv.n_attrs * 4u);
        q->kstamp = (uint32_t *)(void *)(base + pl->kstamp);
        q->kval = q->kstamp + pl->vals_cap;
        q->pstamp = q->kval + pl->vals_cap;
        q->ppos = q->pstamp + pl->vals_cap;
        P2M_MEMSET(q->kstamp, 0, (size_t)pl->vals_cap * 16u);
        q->rlist = (uint32_t *)(void *)(base + pl->elist);
        q->elist = q->rlist + (size_t)2 * q->sv.n_res_fields;
    }
}

static P2M__NOINLINE P2M__MUST p2m_status p2m__place(p2m__req *q, const p2m_engine *engine,
                                           const p2m_options *options, void *work, size_t work_size,
                                           p2m_error *err, p2m__placed *out) {
    p2m__plan pl;
    uint8_t *base;
    out->base = 0;
    if (p2m__make_plan(q, &pl) < 0)
        return p2m__fail(err, P2M_ERR_MALFORMED, 0, P2M__MSG("input too large"));
    if (!work || work_size < pl.total)
        return p2m__need(err, P2M_ERR_MEMORY, pl.total, P2M__MSG("working memory too small"));
    base = (uint8_t *)work + ((8u - ((uintptr_t)work & 7u)) & 7u);
    q->now = options ? options->now_unix_nano : 0;
    q->spans = (p2m__strent *)(void *)(base + pl.spans);
    q->strs = q->spans + q->sv.at[P2M__PB_DICT_STRING_TABLE];
    q->aslots = (p2m__aslot *)(void *)(base + pl.aslots);
    q->aspans = P2M__NAMES(engine) ? (p2m__strent *)(void *)(base + pl.aspans) : 0;
    if (q->dict_done && q->sv.n_attrs)
        p2m__place_attr_spans(q, base, (size_t)(base - (uint8_t *)work), work_size);
    q->vals = (p2m__val *)(void *)(base + pl.vals);
    q->vals_cap = pl.vals_cap;
    q->vhash = (uint32_t *)(void *)(base + pl.vhash);
#if !P2M__FOR_SIZE
    q->vhash16 = p2m__vhash_width(pl.vals_cap) == 2u ? (uint16_t *)(void *)(base + pl.vhash) : 0;
#endif
    q->vhash_mask = pl.vhash_cap - 1u;
    q->ser = (p2m__series *)(void *)(base + pl.ser);
    q->ser_cap = pl.ser_cap;
    q->ser_vids = (uint32_t *)(void *)(base + pl.ser_vids);
    q->ser_pos = base + pl.ser_pos;
    q->shash = (uint32_t *)(void *)(base + pl.shash);
    q->shash_mask = pl.shash_cap - 1u;
#if !P2M__FOR_SIZE
    q->ser_slot = (uint32_t *)(void *)(base + pl.ser_slot);
    q->ser_set = (uint32_t *)(void *)(base + pl.ser_set);
#endif
    q->rule_const = (uint32_t *)(void *)(base + pl.consts);
    q->count = (uint32_t *)(void *)(base + pl.rescount);
    q->ovf = q->count + P2M_METRIC_EXTRA + engine->n_extra;
    q->rule_def = q->rule_const + engine->n_rules;
    q->res_slots = (uint32_t *)(void *)(base + pl.slots);
    q->prof_slots = q->res_slots + engine->n_slots;
    q->smp_slots = q->prof_slots + engine->n_slots;
    q->kv = (uint32_t *)(void *)(base + pl.kv);
    q->kpos = (uint8_t *)(q->kv + engine->n_keys);
    q->res = (p2m__res *)(void *)(base + pl.res);
    q->resfields = (p2m__resfield *)(void *)(base + pl.resfields);
    q->plist = (uint32_t *)(void *)(base + pl.plist);
    q->opt = options;
    p2m__place_filters(q, &pl, base);
    p2m__place_stacks(q, &pl, base);
    P2M_MEMSET(q->vhash, 0, (size_t)pl.vhash_cap * p2m__vhash_width(pl.vals_cap));
    P2M_MEMSET(q->shash, 0, (size_t)pl.shash_cap * 4u);
    q->n_vals = 2; /* ids 0 (absent) and 1 (empty) are reserved */
    P2M_MEMSET(q->vals, 0, 2 * sizeof(p2m__val));
    out->base = base;
    out->result = pl.result;
    out->total = pl.total;
    out->cum = pl.cum;
    out->ser_cap = pl.ser_cap;
    return P2M_OK;
}

/* The options: their struct_size, and resource_attributes plain values
   with their bytes present. */
static P2M__MUST p2m_status p2m__check_options(const p2m_options *o, p2m_error *err) {
    size_t i;
    p2m_status s;
    if (!o) return P2M_OK;
    if ((s = p2m__check_size(o, P2M__OPTIONS_FIRST, sizeof *o, "options.struct_size", err)) !=
        P2M_OK)
        return s;
    if (!o->resource_attributes) return P2M_OK;
    for (i = 0; i < o->n_resource_attributes; i++) {
        const p2m_attribute *a = &o->resource_attributes[i];
        const p2m_value_type t = a->value.type;
        if (t != P2M_VALUE_STRING && t != P2M_VALUE_BOOL && t != P2M_VALUE_INT &&
            t != P2M_VALUE_DOUBLE && t != P2M_VALUE_BYTES)
            return p2m__fail(err, P2M_ERR_ARGUMENT, 0,
                             P2M__MSG("options->resource_attributes: a value must be STRING, BOOL, "
                                      "INT, DOUBLE or BYTES"));
        if ((!a->key.ptr && a->key.len) || a->key.len > P2M__MAX_LEN ||
            ((t == P2M_VALUE_STRING || t == P2M_VALUE_BYTES) &&
             ((!a->value.str.ptr && a->value.str.len) || a->value.str.len > P2M__MAX_LEN)))
            return p2m__fail(err, P2M_ERR_ARGUMENT, 0,
                             P2M__MSG("options->resource_attributes: a key or value without its "
                                      "bytes, or over 1 GiB"));
    }
    return P2M_OK;
}

/* Without function names the dictionary is read once: this scan counts its
   tables and indexes what the request reads in the same pass (the survey
   leaves them out). The spans block goes where the plan will put it (right
   after the result, a place that does not depend on any count); attribute
   spans go to the top of the memory for now and move down to their place
   once the plan is known. */
static P2M__MUST int p2m__early_dict_scan(p2m__req *q, void *work, size_t work_size) {
    p2m__strent none; /* no memory: lo and hi both point here, nothing fits, the scan counts */
    uint8_t *lo = (uint8_t *)&none, *hi = lo;
    if (work && work_size >= 16u) {
        uint8_t *base = (uint8_t *)work + ((8u - ((uintptr_t)work & 7u)) & 7u);
        lo = base + p2m__al8(sizeof(struct p2m_result));
        hi = base + ((work_size - (size_t)(base - (uint8_t *)work)) & ~(size_t)7u);
        if (hi < lo) hi = lo;
    }
    return p2m__dict_scan(q, lo, hi, P2M__STACKS(q->e));
}

/* The values the rules give without looking at a sample: literals,
   string_table entries, regex rules on the string table, defaults. */
static void p2m__rule_constants(p2m__req *q) {
    const p2m_engine *e = q->e;
    uint32_t i;
    for (i = 0; i < e->n_rules; i++) {
        const p2m__rule *r = &e->rules[i];
        q->rule_const[i] = P2M__VID_ABSENT;
        if (r->type == P2M_RULE_LITERAL) {
            q->rule_const[i] = p2m__intern(q, P2M_VALUE_STRING, (const uint8_t *)r->value.ptr,
                                           (uint32_t)r->value.len, 0);
        } else if (r->type == P2M_RULE_STRING_TABLE) {
            p2m_str sv;
            if (p2m__string(q, r->index, &sv) == 0)
                q->rule_const[i] =
                    p2m__intern(q, P2M_VALUE_STRING, (const uint8_t *)sv.ptr, (uint32_t)sv.len, 0);
        } else if (r->type == P2M_RULE_REGEX && r->source == P2M__SRC_STRING_TABLE) {
            q->rule_const[i] = p2m__rule_string_table(q, r);
        }
        q->rule_def[i] = r->deflt.len
                             ? p2m__intern(q, P2M_VALUE_STRING, (const uint8_t *)r->deflt.ptr,
                                           (uint32_t)r->deflt.len, 0)
                             : P2M__VID_ABSENT;
    }
}

/* The result of a walked request, in its place in the working memory. */
static struct p2m_result *p2m__make_result(const p2m__req *q, const p2m__placed *pl,
                                           const p2m_options *options) {
    struct p2m_result *res = (struct p2m_result *)(void *)(pl->base + pl->result);
    P2M_MEMSET(res, 0, sizeof *res);
    res->magic = P2M__MAGIC;
    res->e = q->e;
    res->in = q->in;
    res->strs = q->strs;
    res->n_strings = q->sv.n_strings;
    res->n_res = q->n_res;
    res->vals = q->vals;
    res->ser = q->ser;
    res->ser_vids = q->ser_vids;
    res->ser_pos = q->ser_pos;
    res->res = q->res;
    res->resfields = q->resfields;
    res->plist = q->plist;
    if (options) {
        res->xattrs = options->resource_attributes;
        res->n_xattrs = options->resource_attributes ? options->n_resource_attributes : 0;
    }
    return res;
}

#ifndef P2M_NO_CUMULATIVE
/* Cumulative: merges the delta result res into a tentative copy of the
   state (committed now, or by p2m_convert once the output is written) and
   returns the view of the whole state. */
static const p2m_result *p2m__cum_result(const p2m__placed *pl, const p2m_result *res,
                                         p2m_state *sst, p2m_stats *st, int commit) {
    p2m__arena ca;
    p2m__cumwork cw;
    p2m__cum *c;
    const uint32_t cap = sst->cap;
    uint32_t k;
    ca.base = pl->base + pl->cum;
    ca.cap = pl->total - pl->cum;
    ca.used = 0;
    p2m__cum_place(res->e, pl->ser_cap, &ca, &cw);
    c = cw.c;
    c->st = sst;
    c->t_series = sst->n_series;
    c->t_res = sst->n_res;
    c->t_bytes = sst->n_bytes;
    for (k = 0; k < sst->n_series; k++) c->pend[k].touched = 0;
    P2M_MEMSET(c->t_count, 0, (size_t)cap * (sizeof(uint32_t) * P2M__NMET));
    P2M_MEMSET(c->t_ovf, 0, (size_t)cap * (sizeof(uint32_t) * P2M__NMET));
    for (k = 0; k < sst->n_res; k++) {
        P2M_MEMCPY(c->t_count + (size_t)k * P2M__NMET, sst->res[k].count,
                   sizeof(uint32_t) * P2M__NMET);
        P2M_MEMCPY(c->t_ovf + (size_t)k * P2M__NMET, sst->res[k].ovf, sizeof(uint32_t) * P2M__NMET);
    }
    P2M_MEMSET(c->thash, 0, ((size_t)c->thash_mask + 1u) * 4u);
    *cw.v = *res;
    p2m__cum_merge(c, res, st);
    p2m__cum_view(c, cw.v, cw.vres, cw.vpl);
    st->series = 0;
    for (k = 0; k < cw.v->n_res; k++) {
        uint32_t m;
        for (m = 0; m < cw.vres[k].n_metrics; m++) st->series += cw.vres[k].pl_count[m];
    }
    if (commit) p2m__cum_commit(c);
    return cw.v;
}
#endif

/* How p2m__aggregate runs (flags, in one argument: each argument beyond
   the fourth is a stack slot on 32-bit targets, and this frame is on the
   firmware's deepest path): commit the cumulative state now (else the
   caller does, once its output is written); read the input as v1.10
   whatever the engine's layout (a rewritten pprof input). */
#define P2M__AGG_COMMIT 1u
#define P2M__AGG_V1_10 2u

/* A failed step of p2m__aggregate with status x: returned, or (after a lazy
   survey) perhaps converted again. */
#if P2M__FOR_SIZE
#define P2M__AGG_FAIL(x) return (x)
#else
#define P2M__AGG_FAIL(x)                                                                           \
    do {                                                                                           \
        s = (x);                                                                                   \
        goto failed;                                                                               \
    } while (0)
#endif

/* One call: survey, place, index the dictionary, decide the layout, walk,
   and the result (for a cumulative engine, the view of the merged state).
   The survey is lazy (p2m__survey_request) where it may be: in auto layout
   (p2m__begin), without a symbolize callback (which a second conversion
   would call again). A failure after it skipped samples unread for layout
   evidence (late evidence, which the walk reports as a failure, or any
   other) converts again with a full survey, so that the outcome is the one
   a full survey gives: the same layout, statistics and errors. */
static P2M__MUST p2m_status p2m__aggregate(const p2m_engine *engine, const void *input,
                                           size_t input_size, const p2m_options *options,
                                           void *work, size_t work_size, const p2m_result **result,
                                           p2m_stats *stats, p2m_error *err, unsigned how) {
    p2m__req q;
    p2m__placed pl;
    p2m_stats local; /* p2m__begin clears it */
    p2m_stats *st = stats ? stats : &local; /* cppcheck-suppress uninitvar */
    p2m_status s;
    const p2m_result *res;
#if !P2M__FOR_SIZE
    int lazy = !(how & P2M__AGG_V1_10) && !(options && options->symbolize);
again:
#else
    const int lazy = 0;
#endif
    if (result) *result = 0;
    if ((s = p2m__begin(&q, engine, input, input_size, st, err, 0, lazy)) != P2M_OK)
        P2M__AGG_FAIL(s);
    if (how & P2M__AGG_V1_10) q.forced = P2M_LAYOUT_V1_10;
    if (!result)
        P2M__AGG_FAIL(p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("result must not be NULL")));
    if ((s = p2m__check_options(options, err)) != P2M_OK) P2M__AGG_FAIL(s);
    if (!P2M__NAMES(q.e) && q.sv.dict.p && p2m__early_dict_scan(&q, work, work_size) < 0)
        P2M__AGG_FAIL(q.w.st);
    if (engine->state_series) {
        const p2m_state *cs = options ? options->state : 0;
        if (!cs || cs->magic != P2M__STATE_MAGIC || cs->e != engine)
            P2M__AGG_FAIL(p2m__fail(err, P2M_ERR_ARGUMENT, 0,
                                    P2M__MSG("a cumulative engine needs options->state, made "
                                             "by p2m_state_init for this engine")));
    }
    if ((s = p2m__place(&q, engine, options, work, work_size, err, &pl)) != P2M_OK)
        P2M__AGG_FAIL(s);
    if (p2m__index_dictionary(&q) < 0) P2M__AGG_FAIL(q.w.st);
    if (p2m__decide_layout(&q) != P2M_OK) P2M__AGG_FAIL(q.w.st);
    st->layout = q.layout;
    st->samples = q.sv.n_samples;
    p2m__rule_constants(&q);
#ifndef P2M_NO_FUNCTION
    if (P2M__PROPS(engine)) { /* a frame type is compared by value id: equal strings, equal ids */
        q.vid_kernel = p2m__intern_cstr(&q, "kernel");
        q.vid_user = p2m__intern_cstr(&q, "user");
        q.vid_native = p2m__intern_cstr(&q, "native");
    }
    if (q.stamps) p2m__resolve_locations(&q);
#endif
    if (p2m__walk_request(&q) < 0) P2M__AGG_FAIL(q.w.st);
    res = p2m__make_result(&q, &pl, options);
    st->series = q.n_plist;
    st->work_used = pl.total;
#ifndef P2M_NO_CUMULATIVE
    if (engine->state_series)
        res = p2m__cum_result(&pl, res, options->state, st, (how & P2M__AGG_COMMIT) != 0);
#else
    (void)how;
#endif
    *result = res;
    return P2M_OK;
#if !P2M__FOR_SIZE
failed:
    if (lazy && P2M__EV_OPEN(&q)) {
        lazy = 0;
        goto again;
    }
    return s;
#endif
}
#undef P2M__AGG_FAIL

P2M_API p2m_status p2m_aggregate(const p2m_engine *engine, const void *input, size_t input_size,
                                 const p2m_options *options, void *work, size_t work_size,
                                 const p2m_result **result, p2m_stats *stats, p2m_error *err) {
    return p2m__aggregate(engine, input, input_size, options, work, work_size, result, stats, err,
                          P2M__AGG_COMMIT);
}

/* The encoding half of a convert call: the aggregate call's status s and
   result r, then the output; the cumulative state changes only now, when
   all went well. */
static p2m_status p2m__finish_convert(const p2m_result *r, p2m_status s, void *output, size_t cap,
                                      size_t *output_size, p2m_stats *stats, p2m_error *err) {
    size_t n = 0;
    if (output_size) *output_size = 0;
    if (s != P2M_OK) return s;
    s = p2m_encode_otlp(r, output, cap, &n, err);
    if (output_size) *output_size = n;
    if (s == P2M_OK && stats) stats->bytes_out = n;
#ifndef P2M_NO_CUMULATIVE
    if (s == P2M_OK && r->cum)
        p2m__cum_commit((p2m__cum *)(uintptr_t)r->cum); /* all went well: keep it */
#endif
    return s;
}

P2M_API p2m_status p2m_convert(const p2m_engine *engine, const void *input, size_t input_size,
                               const p2m_options *options, void *work, size_t work_size,
                               void *output, size_t cap, size_t *output_size, p2m_stats *stats,
                               p2m_error *err) {
    const p2m_result *r;
    p2m_status s =
        p2m__aggregate(engine, input, input_size, options, work, work_size, &r, stats, err, 0u);
    return p2m__finish_convert(r, s, output, cap, output_size, stats, err);
}

P2M_API p2m_status p2m_convert_stream(const p2m_engine *engine, const void *input,
                                      size_t input_size, const p2m_options *options, void *work,
                                      size_t work_size, p2m_write_fn write, void *ctx,
                                      size_t *output_size, p2m_stats *stats, p2m_error *err) {
    const p2m_result *r;
    p2m_status s;
    size_t n = 0;
    if (output_size) *output_size = 0;
    if (!write) return p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("write must not be NULL"));
    s = p2m__aggregate(engine, input, input_size, options, work, work_size, &r, stats, err, 0u);
    if (s != P2M_OK) return s;
    s = p2m_encode_otlp_stream(r, write, ctx, &n, err);
    if (output_size) *output_size = n;
    if (s == P2M_OK && stats) stats->bytes_out = n;
#ifndef P2M_NO_CUMULATIVE
    if (s == P2M_OK && r->cum) p2m__cum_commit((p2m__cum *)(uintptr_t)r->cum);
#endif
    return s;
}

/* ---- pprof input ------------------------------------------------------------
   A pprof Profile (docs/spec.md section 11) is converted by rewriting it,
   in the working memory, as the OTLP request it stands for (layout v1.10:
   one resource, one scope, one profile per sample_type column, a dictionary
   whose tables are the Profile's own), which then takes the path of every
   OTLP request. So every filter, rule and metric behaves as for OTLP by
   construction. The rewrite:
   - ids become positions: entry k of a pprof table (id anything but 0,
     unique) is entry k + 1 of its OTLP table (entry 0 is the zero value).
     When every id of a table is its position + 1 (as Go writes them) the
     id is the index; else a hash table maps ids to positions. An id no
     entry has becomes one past the table's end: an invalid reference that
     the engine judges where it reads it (strict mode: an error here, at the
     id's offset, whether read or not);
   - a sample's location ids become a stack of its own (stack k + 1 for
     sample k), its labels attribute-table entries (equal label bytes share
     one entry, so equal label sets give equal attribute_indices bytes, the
     key of the sample memo), its value in a column the profile's sample;
   - the dictionary is written first (an OTLP reader finds it anywhere).
   Messages whose length is not known in advance (the request's, the
   dictionary's, a profile's) get a five-byte length, a valid varint with
   redundant continuation bytes; entries get minimal lengths.
   Errors carry offsets into the pprof input: the rewrite checks everything
   the engine would check, so the engine, reading bytes this code wrote,
   finds nothing to report but skipped references. */

/* The rewrite's writer: forward, bounds-checked (the survey's bound is an
   upper bound; a write past it would be a bug, reported, never done). */
typedef struct p2m__fw {
    uint8_t *p, *end, *start;
    int over;
} p2m__fw;

P2M__INLINE void p2m__fw_varint(p2m__fw *w, uint64_t v) {
    if (P2M__UNLIKELY(w->end - w->p < 10) && (size_t)(w->end - w->p) < p2m__varint_len(v)) {
        w->over = 1;
        return;
    }
    while (v >= 0x80u) {
        *w->p++ = (uint8_t)(v | 0x80u);
        v >>= 7;
    }
    *w->p++ = (uint8_t)v;
}
/* tag and varint value; nothing for 0 (the default) */
P2M__INLINE void p2m__fw_uint(p2m__fw *w, uint32_t num, uint64_t v) {
    if (v) {
        p2m__fw_varint(w, (uint64_t)num << 3 | P2M__WT_VARINT);
        p2m__fw_varint(w, v);
    }
}
static void p2m__fw_bytes(p2m__fw *w, uint32_t num, const uint8_t *p, uint32_t n) {
    p2m__fw_varint(w, (uint64_t)num << 3 | P2M__WT_LEN);
    p2m__fw_varint(w, n);
    if ((size_t)(w->end - w->p) < n) {
        w->over = 1;
        return;
    }
    if (n) P2M_MEMCPY(w->p, p, n);
    w->p += n;
}
/* A LEN field's tag and room for k length bytes; where they start. */
static uint8_t *p2m__fw_reserve(p2m__fw *w, uint32_t num, unsigned k) {
    uint8_t *at;
    p2m__fw_varint(w, (uint64_t)num << 3 | P2M__WT_LEN);
    if ((size_t)(w->end - w->p) < k) {
        w->over = 1;
        return w->p;
    }
    at = w->p;
    w->p += k;
    return at;
}
/* A message of unknown size: tag, five length bytes patched by fw_close. */
static uint8_t *p2m__fw_open(p2m__fw *w, uint32_t num) { return p2m__fw_reserve(w, num, 5u); }
static void p2m__fw_close(p2m__fw *w, uint8_t *at) {
    size_t n = (size_t)(w->p - at) - 5u;
    if (w->over) return;
    at[0] = (uint8_t)(n | 0x80u);
    at[1] = (uint8_t)(n >> 7 | 0x80u);
    at[2] = (uint8_t)(n >> 14 | 0x80u);
    at[3] = (uint8_t)(n >> 21 | 0x80u);
    at[4] = (uint8_t)(n >> 28 & 0x0fu);
}
/* An entry: tag and one length byte, widened by fw_end when the body is
   longer (the body moves up; the survey's bound counts five length bytes). */
static uint8_t *p2m__fw_entry(p2m__fw *w, uint32_t num) { return p2m__fw_reserve(w, num, 1u); }
static void p2m__fw_end(p2m__fw *w, uint8_t *at) {
    size_t n = (size_t)(w->p - at) - 1u, k, extra;
    if (w->over) return;
    if (n < 0x80u) {
        at[0] = (uint8_t)n;
        return;
    }
    extra = p2m__varint_len(n) - 1u;
    if ((size_t)(w->end - w->p) < extra) {
        w->over = 1;
        return;
    }
    for (k = n; k > 0; k--) at[k + extra] = at[k];
    w->p += extra;
    for (k = 0; k < extra; k++, n >>= 7) at[k] = (uint8_t)(n | 0x80u);
    at[extra] = (uint8_t)n;
}

/* One id table (locations, functions or mappings): ids in order (the id
   is the index) or a hash table from id to position + 1. */
typedef struct p2m__ppids {
    uint32_t field;           /* the Profile field of its entries */
    uint32_t n;               /* entries */
    int dense;                /* every id is its position + 1 */
    p2m__span range;          /* from the first entry's tag to the end of the last */
    uint64_t *key;            /* sparse: ids by slot (0: empty) */
    uint32_t *pos;            /* sparse: position + 1 by slot */
    uint32_t mask;
} p2m__ppids;

/* A column's samples: written into a region of their own, moved into
   their profile at the end. */
typedef struct p2m__ppcol {
    p2m__fw w;
    uint8_t *entry;           /* the open sample */
} p2m__ppcol;

typedef struct p2m__pp {
    p2m__wire w;
    const p2m_engine *e;
    int strict;
    int stacks;               /* the rewrite writes stacks and their tables */
    uint32_t n_types, n_samples, n_strings, n_labels, n_lines;
    uint32_t max_ids, max_id_bytes, max_lines, min_values, max_values;
    uint64_t n_ids, id_bytes, str_bytes;
    p2m__ppids loc, fn, map;
    p2m__span types, samples, strings; /* ranges, as p2m__ppids.range */
    uint64_t time, duration, period;
    p2m__span period_type;    /* the last one's body */
    /* the rewritten request's bytes, at most: in total, per column's
       samples, for the attribute and stack entries */
    uint64_t bound, col_bytes, rd_bytes;
    size_t transient;         /* bytes of the rewrite's tables */
    /* labels: equal bytes, one attribute entry. A hash table of entry
       numbers + 1 (0: empty); an entry: offset and length in the input,
       attribute index (0: a label that makes no attribute) */
    uint32_t *lab, *labent;
    uint32_t lab_mask, n_labent, n_attrs;
    p2m__ppcol *col;          /* n_types */
} p2m__pp;

static int p2m__pp_wt(p2m__pp *pp, const p2m__field *f, const char *msg) {
    return p2m__bad(&pp->w, f->at, msg);
}

/* The range of a table: widened to hold field f. p2m__pp_walk gives a
   range's bounds to walk (an empty range, never met, is p2m__nothing). */
static void p2m__pp_range(p2m__span *r, const p2m__field *f) {
    const uint8_t *end = f->s.p + f->s.n;
    if (!r->p) r->p = f->at;
    r->n = (uint32_t)(end - r->p);
}
static const uint8_t *p2m__pp_walk(p2m__span r, const uint8_t **end) {
    const uint8_t *p = r.p ? r.p : p2m__nothing;
    *end = p + r.n;
    return p;
}

/* Counts the elements of a repeated varint field: one when unpacked; when
   packed, the bytes that end a varint, eight at a time (the rewrite
   decodes what it reads, and reports what is malformed there). A packed
   field must end with a varint's last byte. */
static P2M__MUST int p2m__pp_count(p2m__pp *pp, const p2m__field *f, uint32_t *n) {
    const uint8_t *p = f->s.p, *end = f->s.p + f->s.n;
    uint32_t c = 0;
    if (f->wt != P2M__WT_LEN) {
        (*n)++;
        return 0;
    }
    if (p == end) return 0;
    if (end[-1] >= 0x80u)
        return p2m__bad(&pp->w, f->at, P2M__MSG("pprof: a packed field ends inside a varint"));
    for (; end - p >= 8; p += 8) {
        const uint64_t last = ~p2m__le64(p) & 0x8080808080808080u; /* a 1 per last byte */
        c += (uint32_t)(((last >> 7) * 0x0101010101010101u) >> 56);
    }
    for (; p < end; p++) c += *p < 0x80u;
    *n += c;
    return 0;
}

/* Checks that every known field of a message whose known fields are all
   varints (ValueType, Line) is one; 0 ok, -1 malformed. */
static P2M__MUST int p2m__pp_varints(p2m__pp *pp, p2m__span s, uint32_t known, const char *msg) {
    const uint8_t *p = s.p, *end = s.p + s.n;
    p2m__field f;
    int r;
    while ((r = p2m__next(&pp->w, &p, end, &f)) > 0)
        if (f.num <= known && f.wt != P2M__WT_VARINT) return p2m__pp_wt(pp, &f, msg);
    return r;
}

/* A sample: its fields' wire types, how many location ids (when stacks
   are written) and values it has (labels are checked where the rewrite
   reads them). */
static P2M__MUST int p2m__pp_survey_sample(p2m__pp *pp, p2m__span s) {
    const uint8_t *p = s.p, *end = s.p + s.n;
    p2m__field f;
    uint32_t ids = 0, values = 0, id_bytes = 0;
    int r;
    while ((r = p2m__next(&pp->w, &p, end, &f)) > 0) {
        if (f.num == P2M__PB_PPROF_SAMPLE_LOCATION_ID || f.num == P2M__PB_PPROF_SAMPLE_VALUE) {
            if (f.wt != P2M__WT_VARINT && f.wt != P2M__WT_LEN)
                return p2m__pp_wt(pp, &f, P2M__MSG("pprof Sample: location_id or value is not "
                                                   "a varint or packed varints"));
            if (f.num == P2M__PB_PPROF_SAMPLE_VALUE) {
                if (p2m__pp_count(pp, &f, &values) < 0) return -1;
            } else if (pp->stacks) {
                if (p2m__pp_count(pp, &f, &ids) < 0) return -1;
                id_bytes += f.s.n;
            } else if (f.wt == P2M__WT_LEN && f.s.n && f.s.p[f.s.n - 1u] >= 0x80u) {
                /* nothing reads them, but a field cut inside a varint is malformed whatever
                   the configuration */
                return p2m__bad(&pp->w, f.at, P2M__MSG("pprof: a packed field ends inside a "
                                                       "varint"));
            }
        } else if (f.num == P2M__PB_PPROF_SAMPLE_LABEL) {
            if (f.wt != P2M__WT_LEN)
                return p2m__pp_wt(pp, &f, P2M__MSG("pprof Sample: label is not a message"));
            pp->n_labels++;
        }
    }
    if (r < 0) return -1;
    pp->n_ids += ids;
    pp->id_bytes += id_bytes;
    if (ids > pp->max_ids) pp->max_ids = ids;
    if (id_bytes > pp->max_id_bytes) pp->max_id_bytes = id_bytes;
    if (values < pp->min_values) pp->min_values = values;
    if (values > pp->max_values) pp->max_values = values;
    return 0;
}

/* A Location, Function or Mapping: its id (not 0; dense while each is its
   position + 1) and, for a Location, its lines. Every known field is a
   varint but Location.line (a message). */
static P2M__MUST int p2m__pp_survey_entry(p2m__pp *pp, const p2m__field *e, p2m__ppids *t) {
    const uint32_t which = t->field;
    const uint8_t *p = e->s.p, *end = e->s.p + e->s.n;
    p2m__field f;
    uint64_t id = 0;
    uint32_t lines = 0, known = (uint32_t)P2M__PB_PPROF_MAPPING_HAS_INLINE_FRAMES;
    int r;
    if (which == P2M__PB_PPROF_LOCATION) known = (uint32_t)P2M__PB_PPROF_LOCATION_IS_FOLDED;
    else if (which == P2M__PB_PPROF_FUNCTION) known = (uint32_t)P2M__PB_PPROF_FUNCTION_START_LINE;
    if (e->wt != P2M__WT_LEN)
        return p2m__pp_wt(pp, e, P2M__MSG("pprof Profile: a mapping, location or function is not "
                                          "a message"));
    while ((r = p2m__next(&pp->w, &p, end, &f)) > 0) {
        const int len = which == P2M__PB_PPROF_LOCATION && f.num == P2M__PB_PPROF_LOCATION_LINE;
        if (f.num > known) continue;
        if (f.wt != (len ? P2M__WT_LEN : P2M__WT_VARINT))
            return p2m__pp_wt(pp, &f, P2M__MSG("pprof Mapping, Location or Function: a field has "
                                               "the wrong wire type"));
        if (f.num == 1) id = f.v; /* the id is field 1 of all three */
        else if (len && which == P2M__PB_PPROF_LOCATION) {
            if (p2m__pp_varints(pp, f.s, P2M__PB_PPROF_LINE_COLUMN,
                                P2M__MSG("pprof Line: a field is not a varint")) < 0)
                return -1;
            lines++;
        }
    }
    if (r < 0) return -1;
    if (id == 0)
        return p2m__bad(&pp->w, e->at, P2M__MSG("pprof: a mapping, location or function has id 0 "
                                                "(ids start at 1)"));
    if (id != (uint64_t)t->n + 1u) t->dense = 0;
    t->n++;
    p2m__pp_range(&t->range, e);
    pp->n_lines += lines;
    if (lines > pp->max_lines) pp->max_lines = lines;
    return 0;
}

/* Room the rewrite keeps for the bytes before the regions: the request's
   and scope's starts; a profile's start and sample type (then, after its
   samples, its times and period: fewer than 96 bytes in all); the
   dictionary's start (more than it needs: the regions move down in
   pieces of at least 64 bytes). */
#define P2M__PP_HEAD 64u
#define P2M__PP_COL_HEAD 96u
#define P2M__PP_DICT_HEAD 80u

/* One field of the Profile: checked, counted, remembered. */
static P2M__MUST int p2m__pp_survey_field(p2m__pp *pp, const p2m__field *fp) {
    const p2m__field f = *fp;
    switch (f.num) {
    case P2M__PB_PPROF_SAMPLE_TYPE:
    case P2M__PB_PPROF_PERIOD_TYPE:
        if (f.wt != P2M__WT_LEN)
            return p2m__pp_wt(pp, &f, P2M__MSG("pprof Profile: sample_type or period_type is "
                                               "not a message"));
        if (p2m__pp_varints(pp, f.s, P2M__PB_PPROF_VALUE_TYPE_UNIT,
                            P2M__MSG("pprof ValueType: a field is not a varint")) < 0)
            return -1;
        if (f.num == P2M__PB_PPROF_PERIOD_TYPE) {
            pp->period_type = f.s;
        } else {
            pp->n_types++;
            p2m__pp_range(&pp->types, &f);
        }
        break;
    case P2M__PB_PPROF_SAMPLE:
        if (f.wt != P2M__WT_LEN)
            return p2m__pp_wt(pp, &f, P2M__MSG("pprof Profile: sample is not a message"));
        if (p2m__pp_survey_sample(pp, f.s) < 0) return -1;
        pp->n_samples++;
        p2m__pp_range(&pp->samples, &f);
        break;
    case P2M__PB_PPROF_MAPPING:
        if (p2m__pp_survey_entry(pp, &f, &pp->map) < 0) return -1;
        break;
    case P2M__PB_PPROF_LOCATION:
        if (p2m__pp_survey_entry(pp, &f, &pp->loc) < 0) return -1;
        break;
    case P2M__PB_PPROF_FUNCTION:
        if (p2m__pp_survey_entry(pp, &f, &pp->fn) < 0) return -1;
        break;
    case P2M__PB_PPROF_STRING_TABLE:
        if (f.wt != P2M__WT_LEN)
            return p2m__pp_wt(pp, &f, P2M__MSG("pprof Profile: a string_table entry is not "
                                               "a string"));
        if (pp->n_strings == 0 && f.s.n != 0)
            return p2m__bad(&pp->w, f.at, P2M__MSG("pprof: string_table[0] must be the empty "
                                                   "string"));
        pp->n_strings++;
        pp->str_bytes += p2m__ld_size(f.s.n);
        p2m__pp_range(&pp->strings, &f);
        break;
    case P2M__PB_PPROF_COMMENT:
        if (f.wt != P2M__WT_VARINT && f.wt != P2M__WT_LEN)
            return p2m__pp_wt(pp, &f, P2M__MSG("pprof Profile: comment is not a varint or "
                                               "packed varints"));
        if (f.wt == P2M__WT_LEN) {
            uint32_t c = 0;
            if (p2m__pp_count(pp, &f, &c) < 0) return -1;
        }
        break;
    case P2M__PB_PPROF_DROP_FRAMES:
    case P2M__PB_PPROF_KEEP_FRAMES:
    case P2M__PB_PPROF_TIME_NANOS:
    case P2M__PB_PPROF_DURATION_NANOS:
    case P2M__PB_PPROF_PERIOD:
    case P2M__PB_PPROF_DEFAULT_SAMPLE_TYPE:
        if (f.wt != P2M__WT_VARINT)
            return p2m__pp_wt(pp, &f, P2M__MSG("pprof Profile: a scalar field is not a "
                                               "varint"));
        if (f.num == P2M__PB_PPROF_TIME_NANOS) pp->time = f.v;
        else if (f.num == P2M__PB_PPROF_DURATION_NANOS) pp->duration = f.v;
        else if (f.num == P2M__PB_PPROF_PERIOD) pp->period = f.v;
        break;
    default: break;
    }
    return 0;
}

/* When some sample's values do not match the sample types: the first such
   sample, as an error at its offset. */
static P2M__MUST int p2m__pp_values_check(p2m__pp *pp) {
    const uint8_t *end, *p;
    p2m__field f;
    if (!pp->n_samples || (pp->min_values == pp->n_types && pp->max_values == pp->n_types))
        return 0;
    p = p2m__pp_walk(pp->samples, &end);
    while (p2m__next(&pp->w, &p, end, &f) > 0) {
        uint32_t values = 0;
        const uint8_t *sp = f.s.p, *se = f.s.p + f.s.n;
        p2m__field g;
        if (f.num != P2M__PB_PPROF_SAMPLE) continue;
        while (p2m__next(&pp->w, &sp, se, &g) > 0)
            if (g.num == P2M__PB_PPROF_SAMPLE_VALUE && p2m__pp_count(pp, &g, &values) < 0)
                return -1;
        if (values != pp->n_types)
            return p2m__bad(&pp->w, f.at, P2M__MSG("pprof: a sample's values do not match the "
                                                   "sample types (one value per sample_type)"));
    }
    return 0;
}

/* The rewrite's sizes from the survey's counts. */
static P2M__MUST int p2m__pp_bound(p2m__pp *pp, const uint8_t *in) {
    uint32_t wl, wa, ws;
    uint64_t b;
    /* the bound: entries at their largest (an index of table t takes at
       most the bytes of t's size + 1, the invalid reference; copied ids
       their own bytes), lengths of five bytes where the survey cannot know
       them; each column's samples, then the attribute and stack entries,
       each in a region after room for the bytes that go before it */
    wl = (uint32_t)p2m__varint_len((uint64_t)pp->loc.n + 1u);
    wa = (uint32_t)p2m__varint_len((uint64_t)pp->n_labels + 1u);
    ws = (uint32_t)p2m__varint_len((uint64_t)pp->n_samples + 1u);
    pp->col_bytes = (uint64_t)pp->n_samples * (6u + (pp->stacks ? 1u + ws : 0u) + 12u + 6u) +
                    (uint64_t)pp->n_labels * wa;
    pp->rd_bytes = 4u + (uint64_t)pp->n_labels * 37u +
                   (pp->stacks ? (uint64_t)pp->n_samples * 12u + pp->id_bytes + pp->n_ids * wl
                               : 0u);
    b = P2M__PP_HEAD + (uint64_t)pp->n_types * (P2M__PP_COL_HEAD + pp->col_bytes) +
        P2M__PP_DICT_HEAD + pp->rd_bytes + pp->str_bytes + 2u;
    if (pp->stacks)
        b += 6u + (uint64_t)pp->map.n * 46u + (uint64_t)pp->fn.n * 46u + (uint64_t)pp->loc.n * 23u +
             (uint64_t)pp->n_lines * 30u;
    pp->bound = b;
    /* the rewrite's tables: labels, columns, ids of the tables that need a map */
    {
        uint64_t t = (uint64_t)p2m__pow2_at_least((uint64_t)pp->n_labels * 2u + 1u) * 4u +
                     p2m__al8((size_t)pp->n_labels * 12u) +
                     p2m__al8((size_t)pp->n_types * sizeof(p2m__ppcol));
        const p2m__ppids *tabs[3];
        int i;
        tabs[0] = &pp->loc;
        tabs[1] = &pp->fn;
        tabs[2] = &pp->map;
        for (i = 0; i < 3; i++)
            if (!tabs[i]->dense)
                t += (uint64_t)p2m__pow2_at_least((uint64_t)tabs[i]->n * 2u + 1u) * 12u + 8u;
        if (b > 0xFFFFFFF0u || t > 0xFFFFFFF0u)
            return p2m__bad(&pp->w, in, P2M__MSG("input too large"));
        pp->transient = (size_t)t;
    }
    return 0;
}

/* The survey: checks the whole Profile, counts what sizes the rewrite and
   bounds its bytes. No memory. */
static P2M__MUST int p2m__pp_survey(p2m__pp *pp, const uint8_t *in, size_t n) {
    const uint8_t *p = in, *end = in + n;
    p2m__field f;
    int r;
    pp->min_values = UINT32_MAX;
    pp->loc.dense = pp->fn.dense = pp->map.dense = 1;
    pp->loc.field = P2M__PB_PPROF_LOCATION;
    pp->fn.field = P2M__PB_PPROF_FUNCTION;
    pp->map.field = P2M__PB_PPROF_MAPPING;
    while ((r = p2m__next(&pp->w, &p, end, &f)) > 0)
        if (p2m__pp_survey_field(pp, &f) < 0) return -1;
    if (r < 0 || p2m__pp_values_check(pp) < 0) return -1;
    return p2m__pp_bound(pp, in);
}

/* The survey of the request the rewrite makes, from the pprof counts (each
   at least what the rewrite's own survey will find), for its plan. */
static void p2m__pp_otlp_survey(const p2m__pp *pp, p2m__req *q) {
    /* a stack entry's bytes: tag, length, the indices (copied as they came,
       or written at most as wide as the table's size + 1) */
    const uint64_t stack = 6u + (uint64_t)pp->max_id_bytes +
                           (uint64_t)pp->max_ids * p2m__varint_len((uint64_t)pp->loc.n + 1u);
    P2M_MEMSET(&q->sv, 0, sizeof q->sv);
    q->sv.dict.p = p2m__nothing;
    q->sv.n_strings = pp->n_strings ? pp->n_strings : 1u;
    q->sv.n_attrs = pp->n_labels + 1u;
    q->sv.n_stacks = pp->n_samples + 1u;
    q->sv.n_locs = pp->loc.n + 1u;
    q->sv.n_funcs = pp->fn.n + 1u;
    q->sv.n_maps = pp->map.n + 1u;
    q->sv.n_lines = P2M__NAMES(q->e) ? pp->n_lines : 0u;
    p2m__span_layout(&q->sv, P2M__STACKS(q->e), P2M__NAMES(q->e));
    q->sv.fnames = p2m__fnames_bound(q, stack > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)stack,
                                     pp->max_lines);
    q->sv.n_res = 1;
    q->sv.n_profiles = pp->n_types;
    q->sv.n_samples = (uint64_t)pp->n_samples * pp->n_types;
    p2m__survey_resource_cap(q, q->sv.n_samples);
}

/* Id to index (position + 1) in the rewritten table; an id no entry has:
   one past the table (strict: an error at `at`). -1 on error. */
static P2M__MUST int p2m__pp_index(p2m__pp *pp, const p2m__ppids *t, uint64_t id,
                                   const uint8_t *at, uint64_t *out) {
    if (t->dense) {
        if (id != 0 && id <= t->n) {
            *out = id;
            return 0;
        }
    } else if (id != 0) {
        uint32_t h = (uint32_t)((id * 0x9E3779B97F4A7C15u) >> 32) & t->mask;
        while (t->key[h]) {
            if (t->key[h] == id) {
                *out = t->pos[h];
                return 0;
            }
            h = (h + 1u) & t->mask;
        }
    }
    if (pp->strict)
        return p2m__bad_ref(&pp->w, at, P2M__MSG("pprof: an id that no mapping, location or "
                                                 "function has"));
    *out = (uint64_t)t->n + 1u;
    return 0;
}

/* A string index, checked in strict mode (else the engine judges it). */
static P2M__MUST int p2m__pp_str(p2m__pp *pp, uint64_t idx, const uint8_t *at) {
    if (pp->strict && idx >= (pp->n_strings ? pp->n_strings : 1u))
        return p2m__bad_ref(&pp->w, at, P2M__MSG("pprof: a string index outside the string "
                                                 "table"));
    return 0;
}

/* Builds the id map of a sparse table in mem; a repeated id is malformed. */
static P2M__MUST int p2m__pp_map_ids(p2m__pp *pp, p2m__ppids *t, uint8_t **mem) {
    const uint8_t *end, *p = p2m__pp_walk(t->range, &end);
    p2m__field f;
    uint32_t cap, k = 0;
    int r;
    if (t->dense) return 0;
    cap = p2m__pow2_at_least((uint64_t)t->n * 2u + 1u);
    t->key = (uint64_t *)(void *)*mem;
    t->pos = (uint32_t *)(void *)(*mem + (size_t)cap * 8u);
    t->mask = cap - 1u;
    *mem += p2m__al8((size_t)cap * 12u);
    P2M_MEMSET(t->key, 0, (size_t)cap * 8u);
    while ((r = p2m__next(&pp->w, &p, end, &f)) > 0) {
        const uint8_t *q = f.s.p, *qe = f.s.p + f.s.n;
        p2m__field g;
        uint64_t id = 0;
        uint32_t h;
        if (f.num != t->field) continue;
        while (p2m__next(&pp->w, &q, qe, &g) > 0)
            if (g.num == 1) id = g.v;
        k++;
        h = (uint32_t)((id * 0x9E3779B97F4A7C15u) >> 32) & t->mask;
        while (t->key[h]) {
            if (t->key[h] == id)
                return p2m__bad(&pp->w, f.at, P2M__MSG("pprof: two mappings, locations or "
                                                       "functions have the same id"));
            h = (h + 1u) & t->mask;
        }
        t->key[h] = id;
        t->pos[h] = k;
    }
    return r;
}

/* A label's attribute index: the entry of equal bytes, or a new one
   written to the attribute and stack entries (rd); 0 for a label that
   makes no attribute (no str, num or num_unit). */
static P2M__MUST int p2m__pp_label(p2m__pp *pp, p2m__fw *rd, const p2m__field *lf, uint32_t *out) {
    const p2m__span s = lf->s;
    uint32_t h = p2m__hash_bytes(s.p, s.n, 0x51u) & pp->lab_mask;
    uint32_t *ent;
    const uint8_t *p = s.p, *end = s.p + s.n;
    p2m__field f;
    uint64_t key = 0, str = 0, num = 0, unit = 0;
    uint8_t *at, *av;
    int r;
    while (pp->lab[h]) {
        ent = pp->labent + (size_t)(pp->lab[h] - 1u) * 3u;
        if (ent[1] == s.n && p2m__bytes_eq(pp->w.base + ent[0], s.p, s.n)) {
            *out = ent[2];
            return 0;
        }
        h = (h + 1u) & pp->lab_mask;
    }
    while ((r = p2m__next(&pp->w, &p, end, &f)) > 0) {
        if (f.num > P2M__PB_PPROF_LABEL_NUM_UNIT) continue;
        if (f.wt != P2M__WT_VARINT)
            return p2m__pp_wt(pp, &f, P2M__MSG("pprof Label: a field is not a varint"));
        if (f.num == P2M__PB_PPROF_LABEL_KEY) key = f.v;
        else if (f.num == P2M__PB_PPROF_LABEL_STR) str = f.v;
        else if (f.num == P2M__PB_PPROF_LABEL_NUM) num = f.v;
        else unit = f.v;
    }
    if (r < 0) return -1;
    pp->lab[h] = ++pp->n_labent;
    ent = pp->labent + (size_t)(pp->n_labent - 1u) * 3u;
    ent[0] = (uint32_t)(s.p - pp->w.base);
    ent[1] = s.n;
    ent[2] = 0;
    *out = 0;
    if (str == 0 && num == 0 && unit == 0) return 0;
    if (p2m__pp_str(pp, key, lf->at) < 0 || p2m__pp_str(pp, str, lf->at) < 0 ||
        (!str && p2m__pp_str(pp, unit, lf->at) < 0))
        return -1;
    at = p2m__fw_entry(rd, P2M__PB_DICT_ATTRIBUTE_TABLE);
    p2m__fw_uint(rd, P2M__PB_KVU_KEY_STRINDEX, key);
    av = p2m__fw_entry(rd, P2M__PB_KVU_VALUE);
    if (str) { /* a string label: its value by string index */
        p2m__fw_varint(rd, P2M__TAG(P2M__PB_ANY_VALUE_STRING_VALUE_STRINDEX, P2M__WT_VARINT));
        p2m__fw_varint(rd, str);
    } else { /* a numeric label: the number and its unit */
        p2m__fw_varint(rd, P2M__TAG(P2M__PB_ANY_VALUE_INT_VALUE, P2M__WT_VARINT));
        p2m__fw_varint(rd, num);
    }
    p2m__fw_end(rd, av);
    if (!str) p2m__fw_uint(rd, P2M__PB_KVU_UNIT_STRINDEX, unit);
    p2m__fw_end(rd, at);
    ent[2] = ++pp->n_attrs;
    *out = ent[2];
    return 0;
}

/* The dictionary's mapping, location and function tables, each entry 0
   the zero value, then the Profile's entries in order. A Mapping or
   Function entry is four varints after its id; each becomes the OTLP
   field of its row (strings: the rows whose bit is set, checked in strict
   mode). */
typedef struct p2m__pptab {
    uint8_t pprof_entry, dict_table; /* Profile field, ProfilesDictionary field */
    uint8_t from[4], to[4];          /* pprof field -> OTLP field */
    uint8_t strings;                 /* bit i: from[i] is a string index */
} p2m__pptab;

static const p2m__pptab p2m__pp_mappings = {
    P2M__PB_PPROF_MAPPING, P2M__PB_DICT_MAPPING_TABLE,
    {P2M__PB_PPROF_MAPPING_MEMORY_START, P2M__PB_PPROF_MAPPING_MEMORY_LIMIT,
     P2M__PB_PPROF_MAPPING_FILE_OFFSET, P2M__PB_PPROF_MAPPING_FILENAME},
    {P2M__PB_MAPPING_MEMORY_START, P2M__PB_MAPPING_MEMORY_LIMIT, P2M__PB_MAPPING_FILE_OFFSET,
     P2M__PB_MAPPING_FILENAME_STRINDEX},
    8u};
static const p2m__pptab p2m__pp_functions = {
    P2M__PB_PPROF_FUNCTION, P2M__PB_DICT_FUNCTION_TABLE,
    {P2M__PB_PPROF_FUNCTION_NAME, P2M__PB_PPROF_FUNCTION_SYSTEM_NAME,
     P2M__PB_PPROF_FUNCTION_FILENAME, P2M__PB_PPROF_FUNCTION_START_LINE},
    {P2M__PB_FUNCTION_NAME_STRINDEX, P2M__PB_FUNCTION_SYSTEM_NAME_STRINDEX,
     P2M__PB_FUNCTION_FILENAME_STRINDEX, P2M__PB_FUNCTION_START_LINE},
    7u};

/* Reads the varint fields from[0..n) of message s into v (0 when absent;
   a repeated one: the last) and where each was (the message's tag at,
   when absent). */
static void p2m__pp_fields(p2m__pp *pp, p2m__span s, const uint8_t *at, const uint8_t *from,
                           unsigned n, uint64_t *v, const uint8_t **where) {
    const uint8_t *q = s.p, *qe = s.p + s.n;
    p2m__field g;
    unsigned i;
    for (i = 0; i < n; i++) {
        v[i] = 0;
        where[i] = at;
    }
    while (p2m__next(&pp->w, &q, qe, &g) > 0)
        for (i = 0; i < n; i++)
            if (g.num == from[i]) {
                v[i] = g.v;
                where[i] = g.at;
            }
}

static P2M__MUST int p2m__pp_write_table(p2m__pp *pp, p2m__fw *w, p2m__span range,
                                         const p2m__pptab *tab) {
    const uint8_t *end, *p = p2m__pp_walk(range, &end);
    p2m__field f;
    int r;
    p2m__fw_bytes(w, tab->dict_table, p2m__nothing, 0);
    while ((r = p2m__next(&pp->w, &p, end, &f)) > 0) {
        uint64_t v[4];
        const uint8_t *where[4];
        uint8_t *at;
        unsigned i;
        if (f.num != tab->pprof_entry) continue;
        p2m__pp_fields(pp, f.s, f.at, tab->from, 4u, v, where);
        for (i = 0; i < 4u; i++)
            if ((tab->strings >> i & 1u) && p2m__pp_str(pp, v[i], where[i]) < 0) return -1;
        at = p2m__fw_entry(w, tab->dict_table);
        for (i = 0; i < 4u; i++) p2m__fw_uint(w, tab->to[i], v[i]);
        p2m__fw_end(w, at);
    }
    return r;
}

/* A Location: its mapping (id to index) and address, then its lines, each
   a function (id to index), line and column, in their order. */
static P2M__MUST int p2m__pp_write_location(p2m__pp *pp, p2m__fw *w, const p2m__field *f) {
    static const uint8_t loc_from[2] = {P2M__PB_PPROF_LOCATION_MAPPING_ID,
                                        P2M__PB_PPROF_LOCATION_ADDRESS};
    static const uint8_t line_from[3] = {P2M__PB_PPROF_LINE_FUNCTION_ID, P2M__PB_PPROF_LINE_LINE,
                                         P2M__PB_PPROF_LINE_COLUMN};
    const uint8_t *q = f->s.p, *qe = f->s.p + f->s.n, *where[3];
    p2m__field g;
    uint64_t v[3];
    uint8_t *at = p2m__fw_entry(w, P2M__PB_DICT_LOCATION_TABLE);
    p2m__pp_fields(pp, f->s, f->at, loc_from, 2u, v, where);
    if (v[0] && p2m__pp_index(pp, &pp->map, v[0], where[0], &v[0]) < 0) return -1;
    p2m__fw_uint(w, P2M__PB_LOCATION_MAPPING_INDEX, v[0]);
    p2m__fw_uint(w, P2M__PB_LOCATION_ADDRESS, v[1]);
    while (p2m__next(&pp->w, &q, qe, &g) > 0) {
        uint8_t *lat;
        if (g.num != P2M__PB_PPROF_LOCATION_LINE) continue;
        p2m__pp_fields(pp, g.s, g.at, line_from, 3u, v, where);
        if (v[0] && p2m__pp_index(pp, &pp->fn, v[0], where[0], &v[0]) < 0) return -1;
        lat = p2m__fw_entry(w, P2M__PB_LOCATION_LINES);
        p2m__fw_uint(w, P2M__PB_LINE_FUNCTION_INDEX, v[0]);
        p2m__fw_uint(w, P2M__PB_LINE_LINE, v[1]);
        p2m__fw_uint(w, P2M__PB_LINE_COLUMN, v[2]);
        p2m__fw_end(w, lat);
    }
    p2m__fw_end(w, at);
    return 0;
}

static P2M__MUST int p2m__pp_write_locations(p2m__pp *pp, p2m__fw *w) {
    const uint8_t *end, *p = p2m__pp_walk(pp->loc.range, &end);
    p2m__field f;
    int r;
    p2m__fw_bytes(w, P2M__PB_DICT_LOCATION_TABLE, p2m__nothing, 0);
    while ((r = p2m__next(&pp->w, &p, end, &f)) > 0)
        if (f.num == P2M__PB_PPROF_LOCATION && p2m__pp_write_location(pp, w, &f) < 0) return -1;
    return r;
}

static P2M__MUST int p2m__pp_write_strings(p2m__pp *pp, p2m__fw *w) {
    const uint8_t *end, *p = p2m__pp_walk(pp->strings, &end);
    p2m__field f;
    int r;
    if (!pp->n_strings) { /* index 0 is "" in every table */
        p2m__fw_bytes(w, P2M__PB_DICT_STRING_TABLE, p2m__nothing, 0);
        return 0;
    }
    while ((r = p2m__next(&pp->w, &p, end, &f)) > 0)
        if (f.num == P2M__PB_PPROF_STRING_TABLE)
            p2m__fw_bytes(w, P2M__PB_DICT_STRING_TABLE, f.s.p, f.s.n);
    return r;
}

/* The location ids of one Sample field as stack indices, appended to the
   stack entry being written. Packed ids of a table whose ids are its
   indices are copied as they are, once their bytes are checked (no id 0,
   no varint over ten bytes); everything else is decoded and looked up. */
static P2M__MUST int p2m__pp_ids(p2m__pp *pp, p2m__fw *rd, const p2m__field *g) {
    p2m__ints it;
    uint64_t id = 0, idx = 0;
    int r;
    if (g->wt == P2M__WT_LEN && pp->loc.dense && !pp->strict) {
        const uint8_t *p = g->s.p, *end = g->s.p + g->s.n;
        /* run: continuation bytes in a row; last: the byte before ended a varint */
        unsigned run = 0, last = 1;
        int plain = 1;
        for (; p < end; p++) {
            const unsigned b = *p;
            if (b == 0 && last) plain = 0; /* id 0: decoded below, an invalid reference */
            last = b < 0x80u;
            run = last ? 0u : run + 1u;
            if (run >= 10u) break;
        }
        if (plain && p == end) { /* the survey checked that the last byte ends a varint */
            if ((size_t)(rd->end - rd->p) < g->s.n) {
                rd->over = 1;
                return 0;
            }
            P2M_MEMCPY(rd->p, g->s.p, g->s.n);
            rd->p += g->s.n;
            return 0;
        }
    }
    p2m__ints_init(&it, g);
    while ((r = p2m__ints_next(&pp->w, &it, &id)) > 0) {
        if (p2m__pp_index(pp, &pp->loc, id, g->at, &idx) < 0) return -1;
        p2m__fw_varint(rd, idx);
    }
    return r;
}

/* A sample's values, value c to column c's open sample (the survey counted
   one per column): from vf, its only value field, or (n_val > 1) from
   every value field of the sample s in order. */
static P2M__MUST int p2m__pp_values(p2m__pp *pp, p2m__span s, p2m__field *vf, uint32_t n_val) {
    const uint8_t *q = s.p, *qe = s.p + s.n;
    uint32_t c = 0;
    while (c < pp->n_types && (n_val == 1 || p2m__next(&pp->w, &q, qe, vf) > 0)) {
        p2m__ints it;
        uint64_t v = 0;
        int rv = 0;
        if (vf->num != P2M__PB_PPROF_SAMPLE_VALUE) continue;
        p2m__ints_init(&it, vf);
        while (c < pp->n_types && (rv = p2m__ints_next(&pp->w, &it, &v)) > 0) {
            p2m__fw *wc = &pp->col[c++].w;
            p2m__fw_varint(wc, P2M__TAG(P2M__PB_SAMPLE_V110_VALUES, P2M__WT_LEN));
            p2m__fw_varint(wc, p2m__varint_len(v));
            p2m__fw_varint(wc, v);
        }
        if (rv < 0) return -1;
        if (n_val == 1) break;
    }
    return 0;
}

/* One pass over the samples. Sample k's labels become attribute entries
   (new ones) and its location ids stack k + 1, both in rd; in each
   column's region, a sample with that stack, the attribute indices (the
   first column's bytes, copied to the others) and the column's value. */
static P2M__MUST int p2m__pp_write_samples(p2m__pp *pp, p2m__fw *rd) {
    const uint8_t *end, *p = p2m__pp_walk(pp->samples, &end);
    p2m__field f;
    const uint32_t nc = pp->n_types;
    uint32_t k = 0, c;
    int r;
    p2m__fw_bytes(rd, P2M__PB_DICT_ATTRIBUTE_TABLE, p2m__nothing, 0);
    if (pp->stacks) p2m__fw_bytes(rd, P2M__PB_DICT_STACK_TABLE, p2m__nothing, 0);
    while ((r = p2m__next(&pp->w, &p, end, &f)) > 0) {
        const uint8_t *q = f.s.p, *qe = f.s.p + f.s.n, *pre;
        p2m__field g, idf, vf;
        p2m__fw *w0;
        uint8_t *attrs = 0;
        uint32_t n_id = 0, n_val = 0;
        if (f.num != P2M__PB_PPROF_SAMPLE) continue;
        if (!nc) continue; /* no column: nothing to write (the survey checked it has no values) */
        for (c = 0; c < nc; c++)
            pp->col[c].entry = p2m__fw_entry(&pp->col[c].w, P2M__PB_PROFILE_SAMPLES);
        w0 = &pp->col[0].w;
        pre = w0->p;
        k++;
        if (pp->stacks) p2m__fw_uint(w0, P2M__PB_SAMPLE_STACK_INDEX, k);
        /* labels now; ids and values remembered (one field each, usually) */
        P2M_MEMSET(&idf, 0, sizeof idf);
        P2M_MEMSET(&vf, 0, sizeof vf);
        while ((r = p2m__next(&pp->w, &q, qe, &g)) > 0) {
            if (g.num == P2M__PB_PPROF_SAMPLE_LABEL) {
                uint32_t a = 0;
                if (p2m__pp_label(pp, rd, &g, &a) < 0) return -1;
                if (!a) continue;
                if (!attrs) attrs = p2m__fw_entry(w0, P2M__PB_SAMPLE_V110_ATTRIBUTE_INDICES);
                p2m__fw_varint(w0, a);
            } else if (g.num == P2M__PB_PPROF_SAMPLE_LOCATION_ID) {
                if (!n_id++) idf = g;
            } else if (g.num == P2M__PB_PPROF_SAMPLE_VALUE) {
                if (!n_val++) vf = g;
            }
        }
        if (r < 0) return -1;
        if (attrs) p2m__fw_end(w0, attrs);
        if (pp->stacks) {
            uint8_t *st = p2m__fw_entry(rd, P2M__PB_DICT_STACK_TABLE), *li = 0;
            if (n_id) li = p2m__fw_entry(rd, P2M__PB_STACK_LOCATION_INDICES);
            if (n_id == 1) {
                if (p2m__pp_ids(pp, rd, &idf) < 0) return -1;
            } else if (n_id > 1) { /* several fields (unpacked ids): in order */
                for (q = f.s.p; p2m__next(&pp->w, &q, qe, &g) > 0;)
                    if (g.num == P2M__PB_PPROF_SAMPLE_LOCATION_ID && p2m__pp_ids(pp, rd, &g) < 0)
                        return -1;
            }
            if (li) p2m__fw_end(rd, li);
            p2m__fw_end(rd, st);
        }
        for (c = 1; c < nc; c++) { /* the stack index and attributes of every column */
            p2m__fw *wc = &pp->col[c].w;
            const size_t n = (size_t)(w0->p - pre);
            if ((size_t)(wc->end - wc->p) < n) {
                wc->over = 1;
                continue;
            }
            P2M_MEMCPY(wc->p, pre, n);
            wc->p += n;
        }
        if (p2m__pp_values(pp, f.s, &vf, n_val) < 0) return -1;
        for (c = 0; c < nc; c++) p2m__fw_end(&pp->col[c].w, pp->col[c].entry);
    }
    return r;
}

/* Moves n bytes from src down to dst (dst <= src), in pieces that do not
   overlap (the rewrite keeps regions at least 64 bytes above their place). */
static void p2m__pp_move(uint8_t *dst, const uint8_t *src, size_t n) {
    const size_t gap = (size_t)(src - dst);
    if (!n || !gap) return;
    while (n) {
        const size_t k = n < gap ? n : gap;
        P2M_MEMCPY(dst, src, k);
        dst += k;
        src += k;
        n -= k;
    }
}

/* A ValueType (a sample type or the period type): its type and unit,
   written afresh (the field numbers are the same in OTLP; unknown fields
   are left out, so that it fits the room the regions leave for it), the
   string indices checked in strict mode. */
static P2M__MUST int p2m__pp_value_type(p2m__pp *pp, p2m__fw *w, uint32_t num, p2m__span s,
                                        const uint8_t *at) {
    static const uint8_t from[2] = {P2M__PB_PPROF_VALUE_TYPE_TYPE, P2M__PB_PPROF_VALUE_TYPE_UNIT};
    uint64_t v[2];
    const uint8_t *where[2];
    uint8_t *e;
    p2m__pp_fields(pp, s, at, from, 2u, v, where);
    if (p2m__pp_str(pp, v[0], where[0]) < 0 || p2m__pp_str(pp, v[1], where[1]) < 0) return -1;
    e = p2m__fw_entry(w, num);
    p2m__fw_uint(w, P2M__PB_VALUE_TYPE_TYPE_STRINDEX, v[0]);
    p2m__fw_uint(w, P2M__PB_VALUE_TYPE_UNIT_STRINDEX, v[1]);
    p2m__fw_end(w, e);
    return 0;
}

/* The rewrite into w (pp->bound bytes): the samples pass writes each
   column's samples and the attribute and stack entries into regions of
   their own, placed after room for what goes before them; then the
   request is put together from the start: the resource with one profile
   per column (each region moved down into its profile), the dictionary
   (its region moved down, the other tables written after it). An OTLP
   reader finds the dictionary after the samples as anywhere else.
   mem: the tables (pp->transient bytes). */
static P2M__MUST int p2m__pp_rewrite(p2m__pp *pp, p2m__fw *w, uint8_t *mem) {
    uint8_t *rp, *sp, *d, *base = w->p;
    const uint8_t *tend, *tp = p2m__pp_walk(pp->types, &tend);
    p2m__field t;
    p2m__fw rd;
    uint32_t c = 0;
    size_t at = P2M__PP_HEAD;
    pp->lab = (uint32_t *)(void *)mem;
    pp->lab_mask = p2m__pow2_at_least((uint64_t)pp->n_labels * 2u + 1u) - 1u;
    P2M_MEMSET(pp->lab, 0, ((size_t)pp->lab_mask + 1u) * 4u);
    mem += p2m__al8(((size_t)pp->lab_mask + 1u) * 4u);
    pp->labent = (uint32_t *)(void *)mem;
    mem += p2m__al8((size_t)pp->n_labels * 12u);
    pp->col = (p2m__ppcol *)(void *)mem;
    mem += p2m__al8((size_t)pp->n_types * sizeof(p2m__ppcol));
    if (p2m__pp_map_ids(pp, &pp->loc, &mem) < 0 || p2m__pp_map_ids(pp, &pp->fn, &mem) < 0 ||
        p2m__pp_map_ids(pp, &pp->map, &mem) < 0)
        return -1;
    for (c = 0; c < pp->n_types; c++) {
        p2m__fw *cw = &pp->col[c].w;
        at += P2M__PP_COL_HEAD;
        cw->start = cw->p = base + at;
        cw->end = cw->p + pp->col_bytes;
        cw->over = 0;
        at += (size_t)pp->col_bytes;
    }
    at += P2M__PP_DICT_HEAD;
    rd.start = rd.p = base + at;
    rd.end = rd.p + pp->rd_bytes;
    rd.over = 0;
    if (p2m__pp_write_samples(pp, &rd) < 0) return -1;
    for (c = 0; c < pp->n_types; c++) w->over |= pp->col[c].w.over;
    w->over |= rd.over;
    /* the request, from the start */
    rp = p2m__fw_open(w, P2M__PB_REQ_RESOURCE_PROFILES);
    sp = p2m__fw_open(w, P2M__PB_RESOURCE_PROFILES_SCOPE_PROFILES);
    for (c = 0; p2m__next(&pp->w, &tp, tend, &t) > 0;) {
        uint8_t *prof;
        p2m__fw *cw;
        if (t.num != P2M__PB_PPROF_SAMPLE_TYPE) continue;
        cw = &pp->col[c++].w;
        prof = p2m__fw_open(w, P2M__PB_SCOPE_PROFILES_PROFILES);
        if (p2m__pp_value_type(pp, w, P2M__PB_PROFILE_SAMPLE_TYPE, t.s, t.at) < 0) return -1;
        p2m__pp_move(w->p, cw->start, (size_t)(cw->p - cw->start));
        w->p += cw->p - cw->start;
        if (pp->time) {
            p2m__fw_varint(w, P2M__TAG(P2M__PB_PROFILE_TIME_UNIX_NANO, P2M__WT_I64));
            if (w->end - w->p < 8) {
                w->over = 1;
            } else {
                int i;
                for (i = 0; i < 8; i++) *w->p++ = (uint8_t)(pp->time >> (8 * i));
            }
        }
        p2m__fw_uint(w, P2M__PB_PROFILE_DURATION_NANO, pp->duration);
        if (pp->period_type.p &&
            p2m__pp_value_type(pp, w, P2M__PB_PROFILE_PERIOD_TYPE, pp->period_type,
                               pp->period_type.p) < 0)
            return -1;
        p2m__fw_uint(w, P2M__PB_PROFILE_PERIOD, pp->period);
        p2m__fw_close(w, prof);
    }
    p2m__fw_close(w, sp);
    p2m__fw_close(w, rp);
    d = p2m__fw_open(w, P2M__PB_REQ_DICTIONARY);
    p2m__pp_move(w->p, rd.start, (size_t)(rd.p - rd.start));
    w->p += rd.p - rd.start;
    if (pp->stacks && (p2m__pp_write_table(pp, w, pp->map.range, &p2m__pp_mappings) < 0 ||
                       p2m__pp_write_locations(pp, w) < 0 ||
                       p2m__pp_write_table(pp, w, pp->fn.range, &p2m__pp_functions) < 0))
        return -1;
    if (p2m__pp_write_strings(pp, w) < 0) return -1;
    p2m__fw_close(w, d);
    if (w->over)
        return p2m__bad(&pp->w, pp->w.base, P2M__MSG("internal: the pprof rewrite outgrew its "
                                                     "bound"));
    return 0;
}

/* Surveys a pprof input and sizes the working memory of its conversion:
   the rewritten request, then the larger of the rewrite's tables and the
   plan of the request's own conversion. */
static P2M__MUST p2m_status p2m__pp_begin(p2m__pp *pp, const p2m_engine *e, const void *input,
                                          size_t input_size, p2m_error *err, size_t *needed) {
    p2m__req q;
    p2m__plan pl;
    p2m_status s;
    P2M_MEMSET(pp, 0, sizeof *pp);
    if ((s = p2m__check_call(e, input, input_size, err)) != P2M_OK) return s;
    pp->e = e;
    pp->strict = e->strict;
    /* stacks when the engine reads them; in strict mode always (every id is checked) */
    pp->stacks = P2M__STACKS(e) || e->strict;
    pp->w.base = input ? (const uint8_t *)input : (const uint8_t *)"";
    pp->w.err = err;
    if (p2m__pp_survey(pp, pp->w.base, input_size) < 0) return pp->w.st;
    P2M_MEMSET(&q, 0, sizeof q);
    q.e = e;
    p2m__pp_otlp_survey(pp, &q);
    if (p2m__make_plan(&q, &pl) < 0)
        return p2m__fail(err, P2M_ERR_MALFORMED, 0, P2M__MSG("input too large"));
    *needed = 8u + p2m__al8((size_t)pp->bound) +
              (pl.total > pp->transient ? pl.total : pp->transient);
    return P2M_OK;
}

P2M_API p2m_status p2m_pprof_work_size(const p2m_engine *engine, const void *input,
                                       size_t input_size, size_t *needed, p2m_error *err) {
    p2m__pp pp;
    if (!needed) return p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("needed must not be NULL"));
    *needed = 0;
    return p2m__pp_begin(&pp, engine, input, input_size, err, needed);
}

static P2M__MUST p2m_status p2m__pp_aggregate(const p2m_engine *engine, const void *input,
                                              size_t input_size, const p2m_options *options,
                                              void *work, size_t work_size,
                                              const p2m_result **result, p2m_stats *stats,
                                              p2m_error *err, unsigned how) {
    p2m__pp pp;
    p2m__fw w;
    size_t needed = 0, used;
    uint8_t *base;
    p2m_status s;
    p2m_stats local; /* p2m__aggregate clears it */
    p2m_stats *st = stats ? stats : &local; /* cppcheck-suppress uninitvar */
    if (result) *result = 0;
    P2M_MEMSET(st, 0, sizeof *st);
    st->bytes_in = input_size;
    if ((s = p2m__pp_begin(&pp, engine, input, input_size, err, &needed)) != P2M_OK) return s;
    if (!result) return p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("result must not be NULL"));
    if (!work || work_size < needed)
        return p2m__need(err, P2M_ERR_MEMORY, needed, P2M__MSG("working memory too small"));
    base = (uint8_t *)work + ((8u - ((uintptr_t)work & 7u)) & 7u);
    w.start = w.p = base;
    w.end = base + pp.bound;
    w.over = 0;
    used = (size_t)(base - (uint8_t *)work) + p2m__al8((size_t)pp.bound);
    if (p2m__pp_rewrite(&pp, &w, base + p2m__al8((size_t)pp.bound)) < 0) return pp.w.st;
    s = p2m__aggregate(engine, base, (size_t)(w.p - base), options,
                       base + p2m__al8((size_t)pp.bound), work_size - used, result, st, err,
                       how | P2M__AGG_V1_10);
    if (s != P2M_OK) { /* none expected: the rewrite checked what the engine would */
        if (err && (s == P2M_ERR_MALFORMED || s == P2M_ERR_INVALID_REFERENCE)) err->offset = 0;
        st->bytes_in = input_size;
        return s;
    }
    st->bytes_in = input_size;
    st->layout = st->layout_evidence = P2M_LAYOUT_PPROF;
    st->layout_conflict = 0;
    st->work_used += used;
    return P2M_OK;
}

P2M_API p2m_status p2m_pprof_aggregate(const p2m_engine *engine, const void *input,
                                       size_t input_size, const p2m_options *options, void *work,
                                       size_t work_size, const p2m_result **result,
                                       p2m_stats *stats, p2m_error *err) {
    return p2m__pp_aggregate(engine, input, input_size, options, work, work_size, result, stats,
                             err, P2M__AGG_COMMIT);
}

P2M_API p2m_status p2m_pprof_convert(const p2m_engine *engine, const void *input,
                                     size_t input_size, const p2m_options *options, void *work,
                                     size_t work_size, void *output, size_t cap,
                                     size_t *output_size, p2m_stats *stats, p2m_error *err) {
    const p2m_result *r;
    p2m_status s = p2m__pp_aggregate(engine, input, input_size, options, work, work_size, &r,
                                     stats, err, 0u);
    return p2m__finish_convert(r, s, output, cap, output_size, stats, err);
}

/* ---- text writers -----------------------------------------------------------
   OTLP/JSON and Prometheus text of a result, read through the public result
   view only (so they see what p2m_encode_otlp writes), into caller memory.
   Optional: P2M_NO_JSON and P2M_NO_PROM cut them. */
#if !defined(P2M_NO_JSON) || !defined(P2M_NO_PROM)

#ifndef P2M_FORMAT_DOUBLE
#include <stdio.h>
#include <stdlib.h>
/* The shortest of %.15g, %.16g, %.17g that reads back as d. */
static size_t p2m__w_format_double(char *buf, size_t cap, double d) {
    int prec, n = 0;
    for (prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, 0) == d)
            break;
    }
    return n < 0 ? 0u : (size_t)n < cap ? (size_t)n : cap - 1u;
}
#define P2M_FORMAT_DOUBLE(buf, cap, d) p2m__w_format_double(buf, cap, d)
#endif



#define P2M__W_NEST_MAX 32    /* message levels decoded below an attribute value */
#define P2M__W_STACK_ATTRS 16 /* attribute lists measured without scratch */
#define P2M__W_ALIGN 16u


static size_t p2m__w_round(size_t n) {
    return (n + (P2M__W_ALIGN - 1u)) & ~(size_t)(P2M__W_ALIGN - 1u);
}
static size_t p2m__w_max(size_t a, size_t b) { return a > b ? a : b; }

/* Regions carved from the caller's scratch, 16-byte aligned; *need grows
   by each region's size whether or not it fits (needed = 15 + sum). */
typedef struct p2m__w_carve {
    unsigned char *base;
    size_t cap, used;
} p2m__w_carve;

static void p2m__w_carve_init(p2m__w_carve *c, void *mem, size_t size) {
    size_t skew = mem ? (size_t)((P2M__W_ALIGN - ((uintptr_t)mem & (P2M__W_ALIGN - 1u))) &
                                 (P2M__W_ALIGN - 1u))
                      : 0u;
    c->base = mem && size >= skew ? (unsigned char *)mem + skew : 0;
    c->cap = c->base ? size - skew : 0u;
    c->used = 0;
}
static void *p2m__w_take(p2m__w_carve *c, size_t n) {
    void *p;
    n = p2m__w_round(n);
    if (!c->base || n > c->cap - c->used || c->used > c->cap) {
        c->used += n;
        return 0;
    }
    p = c->base + c->used;
    c->used += n;
    return p;
}

/* ---- text sink ------------------------------------------------------------ */

/* Where text goes: counted always, written while it fits (buf NULL: count
   only). esc escapes Prometheus label values or HELP text on the way;
   stop_nul drops a value's bytes from a NUL on (label values and help are
   C strings in the exposition). */
enum { P2M__W_ESC_NONE = 0, P2M__W_ESC_LABEL = 1, P2M__W_ESC_HELP = 2 };
typedef struct p2m__w_sink {
    char *buf;
    size_t cap, n;
    int esc, stop_nul, stopped;
} p2m__w_sink;

static void p2m__w_sink_init(p2m__w_sink *s, void *buf, size_t cap) {
    s->buf = (char *)buf;
    s->cap = buf ? cap : 0u;
    s->n = 0;
    s->esc = P2M__W_ESC_NONE;
    s->stop_nul = 0;
    s->stopped = 0;
}

static void p2m__w_raw(p2m__w_sink *s, const char *p, size_t n) {
    if (n && s->buf && n <= s->cap && s->n <= s->cap - n)
        P2M_MEMCPY(s->buf + s->n, p, n);
    s->n += n;
}

/* At p (n bytes, p[0] >= 0x80): the length of the UTF-8 sequence there
   when it is well formed (2 to 4), else minus the length of its maximal
   ill-formed part (1 to 3), which one U+FFFD replaces (the practice of
   Unicode's chapter 3, which Python's and the WHATWG decoders follow). */
static int p2m__utf8_seq(const unsigned char *p, size_t n) {
    const unsigned c = p[0];
    unsigned lo = 0x80u, hi = 0xBFu;
    size_t len, k;
    if (c >= 0xC2u && c <= 0xDFu) {
        len = 2;
    } else if (c >= 0xE0u && c <= 0xEFu) { /* no overlong forms, no surrogates */
        len = 3;
        if (c == 0xE0u) lo = 0xA0u;
        else if (c == 0xEDu) hi = 0x9Fu;
    } else if (c >= 0xF0u && c <= 0xF4u) { /* no overlong forms, nothing past U+10FFFF */
        len = 4;
        if (c == 0xF0u) lo = 0x90u;
        else if (c == 0xF4u) hi = 0x8Fu;
    } else {
        return -1;
    }
    for (k = 1; k < len; k++) {
        if (k >= n || p[k] < lo || p[k] > hi) return -(int)k;
        lo = 0x80u;
        hi = 0xBFu;
    }
    return (int)len;
}

static void p2m__w_put(p2m__w_sink *s, const char *p, size_t n);

/* At p[*i] >= 0x80: moves *i to the last byte of the character there. An
   ill-formed part is written as U+FFFD, after the plain bytes from *run:
   as JSON's escape (json) or as its UTF-8 bytes. */
static void p2m__w_utf8(p2m__w_sink *s, const char *p, size_t n, size_t *i, size_t *run,
                        int json) {
    const int k = p2m__utf8_seq((const unsigned char *)p + *i, n - *i);
    if (k > 0) {
        *i += (size_t)k - 1u;
        return;
    }
    if (json) {
        p2m__w_put(s, p + *run, *i - *run);
        p2m__w_put(s, "\\ufffd", 6);
    } else {
        p2m__w_raw(s, p + *run, *i - *run);
        p2m__w_raw(s, "\xef\xbf\xbd", 3);
    }
    *i += (size_t)-k - 1u;
    *run = *i + 1;
}

static void p2m__w_put(p2m__w_sink *s, const char *p, size_t n) {
    size_t i, run = 0;
    if (s->stopped)
        return;
    if (s->esc == P2M__W_ESC_NONE && !s->stop_nul) {
        p2m__w_raw(s, p, n);
        return;
    }
    for (i = 0; i < n; i++) {
        const char *e = 0;
        if (p[i] == '\0' && s->stop_nul) {
            s->stopped = 1;
            break;
        }
        if ((unsigned char)p[i] >= 0x80u && s->esc != P2M__W_ESC_NONE) {
            p2m__w_utf8(s, p, n, &i, &run, 0); /* the exposition is UTF-8 */
            continue;
        }
        if (p[i] == '\\')
            e = "\\\\";
        else if (p[i] == '\n')
            e = "\\n";
        else if (p[i] == '"' && s->esc == P2M__W_ESC_LABEL)
            e = "\\\"";
        if (!e || s->esc == P2M__W_ESC_NONE)
            continue;
        p2m__w_raw(s, p + run, i - run);
        p2m__w_raw(s, e, 2);
        run = i + 1;
    }
    p2m__w_raw(s, p + run, i - run);
}

static p2m_str p2m__w_cstr_str(const char *z) {
    p2m_str s;
    s.ptr = z;
    for (s.len = 0; z[s.len]; s.len++) {
    }
    return s;
}

static void p2m__w_str(p2m__w_sink *s, const char *z) {
    size_t n = 0;
    while (z[n])
        n++;
    p2m__w_put(s, z, n);
}

static void p2m__w_u64(p2m__w_sink *s, uint64_t v) {
    char b[20];
    size_t i = sizeof b;
    do {
        b[--i] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v);
    p2m__w_put(s, b + i, sizeof b - i);
}
static void p2m__w_i64(p2m__w_sink *s, int64_t v) {
    if (v < 0) {
        p2m__w_put(s, "-", 1);
        p2m__w_u64(s, (uint64_t)0 - (uint64_t)v);
    } else
        p2m__w_u64(s, (uint64_t)v);
}

static int p2m__w_isnan(double d) { return d != d; }
/* Infinite: halving leaves it as it is (zero too, which is not infinite). */
static int p2m__w_isinf(double d) { return d != 0.0 && d * 0.5 == d; }

/* A finite double, shortest round trip. */
static void p2m__w_finite(p2m__w_sink *s, double d) {
    char b[40] = {0};
    size_t n = (size_t)(P2M_FORMAT_DOUBLE(b, sizeof b, d));
    p2m__w_put(s, b, n < sizeof b ? n : sizeof b - 1u);
}

/* A double in JSON: non-finite ones as the strings "NaN", "Infinity", "-Infinity". */
static void p2m__w_json_double(p2m__w_sink *s, double d) {
    if (p2m__w_isnan(d))
        p2m__w_str(s, "\"NaN\"");
    else if (p2m__w_isinf(d))
        p2m__w_str(s, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else
        p2m__w_finite(s, d);
}

/* A JSON string literal: control characters, '"', '\\' and DEL escaped;
   bytes that are not UTF-8 replaced by U+FFFD (JSON text is UTF-8, and a
   string value from the input may hold any bytes). */
static void p2m__w_json_string(p2m__w_sink *s, const char *p, size_t n) {
    static const char hex[] = "0123456789abcdef";
    size_t i, run = 0;
    p2m__w_put(s, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        const char *e = 0;
        char u[6];
        if (c >= 0x80u) {
            p2m__w_utf8(s, p, n, &i, &run, 1);
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
            continue;
        p2m__w_put(s, p + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            e = "\\\"";
            break;
        case '\\':
            e = "\\\\";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\r':
            e = "\\r";
            break;
        case '\t':
            e = "\\t";
            break;
        case '\b':
            e = "\\b";
            break;
        case '\f':
            e = "\\f";
            break;
        default:
            u[0] = '\\';
            u[1] = 'u';
            u[2] = '0';
            u[3] = '0';
            u[4] = hex[c >> 4];
            u[5] = hex[c & 15];
            p2m__w_put(s, u, 6);
            continue;
        }
        p2m__w_put(s, e, 2);
    }
    p2m__w_put(s, p + run, n - run);
    p2m__w_put(s, "\"", 1);
}

static void p2m__w_base64(p2m__w_sink *s, const unsigned char *p, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    char q[4];
    for (i = 0; i + 2 < n; i += 3) {
        unsigned long v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 | p[i + 2];
        q[0] = tab[v >> 18];
        q[1] = tab[(v >> 12) & 63];
        q[2] = tab[(v >> 6) & 63];
        q[3] = tab[v & 63];
        p2m__w_put(s, q, 4);
    }
    if (i < n) {
        unsigned long v = (unsigned long)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned long)p[i + 1] << 8;
        q[0] = tab[v >> 18];
        q[1] = tab[(v >> 12) & 63];
        q[2] = '=';
        q[3] = '=';
        if (i + 1 < n)
            q[2] = tab[(v >> 6) & 63];
        p2m__w_put(s, q, 4);
    }
}

/* ---- nested values (ArrayValue, KeyValueList bytes) -------------------------- */

typedef struct p2m__w_field {
    uint32_t num, wt;
    uint64_t v;             /* VARINT; I64 and I32 bits */
    const unsigned char *p; /* LEN */
    size_t n;
} p2m__w_field;

/* The next field of [*p, end) through the header's wire reader: 1 a field,
   0 the end, -1 malformed. */
static P2M__MUST int p2m__w_next(const unsigned char **p, const unsigned char *end,
                                 p2m__w_field *f) {
    p2m__wire w;
    p2m__field g;
    int r;
    w.base = *p;
    w.err = 0;
    w.st = P2M_OK;
    r = p2m__next(&w, p, end, &g);
    if (r <= 0) return r;
    f->num = g.num;
    f->wt = g.wt;
    f->v = g.v;
    f->p = g.s.p;
    f->n = g.s.n;
    return 1;
}

/* What the value writers share: the result (string table of nested
   values), the block that receives a resolved nested value, the first error. */
typedef struct p2m__w_ctx {
    const p2m_result *r;
    unsigned char *nest;
    size_t nest_cap;
    const char *why; /* first error, NULL: none */
} p2m__w_ctx;

static int p2m__w_bad(p2m__w_ctx *c, const char *why) {
    if (!c->why)
        c->why = why;
    return -1;
}

static P2M__MUST int p2m__w_any(p2m__w_sink *s, const unsigned char *p, size_t n, int depth,
                                int json, p2m__w_ctx *c);
static P2M__MUST int p2m__w_value(p2m__w_sink *s, const p2m_value *v, int depth, int json,
                                  p2m__w_ctx *c);

/* KeyValue: {"key":..,"value":..} in OTLP JSON, "key":value in plain JSON. */
static P2M__MUST int p2m__w_kv(p2m__w_sink *s, const unsigned char *p, size_t n, int depth,
                               int json, p2m__w_ctx *c) {
    const unsigned char *end = p + n, *key = 0, *val = 0;
    size_t key_n = 0, val_n = 0;
    int rc, have_val = 0;
    p2m__w_field f;
    while ((rc = p2m__w_next(&p, end, &f)) > 0) { /* other fields are skipped, as protobuf does */
        if (f.num == P2M__PB_KEY_VALUE_KEY && f.wt == P2M__WT_LEN) {
            key = f.p;
            key_n = f.n;
        } else if (f.num == P2M__PB_KEY_VALUE_VALUE && f.wt == P2M__WT_LEN) {
            val = f.p;
            val_n = f.n;
            have_val = 1;
        }
    }
    if (rc < 0)
        return p2m__w_bad(c, P2M__MSG("malformed KeyValue in an attribute value"));
    if (json)
        p2m__w_str(s, "{\"key\":");
    p2m__w_json_string(s, key ? (const char *)key : "", key_n);
    if (json) {
        if (have_val) {
            p2m__w_str(s, ",\"value\":");
            if (p2m__w_any(s, val, val_n, depth + 1, json, c) != 0)
                return -1;
        }
        p2m__w_put(s, "}", 1);
        return 0;
    }
    p2m__w_put(s, ":", 1);
    if (!have_val) {
        p2m__w_str(s, "null");
        return 0;
    }
    return p2m__w_any(s, val, val_n, depth + 1, json, c);
}

/* ArrayValue (values: AnyValue) as [..] and KeyValueList (values:
   KeyValue) as {..}; in OTLP JSON both as {"values":[..]}. */
static P2M__MUST int p2m__w_seq(p2m__w_sink *s, const unsigned char *p, size_t n, int depth,
                                int json, p2m__w_ctx *c, int kvlist) {
    const unsigned char *end = p + n;
    const uint32_t num =
        kvlist ? (uint32_t)P2M__PB_KEY_VALUE_LIST_VALUES : (uint32_t)P2M__PB_ARRAY_VALUE_VALUES;
    p2m__w_field f;
    int rc, first = 1;
    if (depth > P2M__W_NEST_MAX)
        return p2m__w_bad(c, P2M__MSG("attribute value nested more than 32 levels deep"));
    p2m__w_str(s, json ? "{\"values\":[" : kvlist ? "{" : "[");
    while ((rc = p2m__w_next(&p, end, &f)) > 0) {
        if (f.num != num || f.wt != P2M__WT_LEN)
            continue;
        if (!first)
            p2m__w_put(s, ",", 1);
        first = 0;
        if ((kvlist ? p2m__w_kv(s, f.p, f.n, depth + 1, json, c)
                    : p2m__w_any(s, f.p, f.n, depth + 1, json, c)) != 0)
            return -1;
    }
    if (rc < 0)
        return p2m__w_bad(c, kvlist ? P2M__MSG("malformed KeyValueList in an attribute value")
                                    : P2M__MSG("malformed ArrayValue in an attribute value"));
    p2m__w_str(s, json ? "]}" : kvlist ? "}" : "]");
    return 0;
}

/* The value of AnyValue field f (one of the oneof's). */
static void p2m__w_field_value(const p2m__w_field *f, p2m_value *v) {
    switch (f->num) {
    case P2M__PB_ANY_VALUE_STRING_VALUE:
        v->type = P2M_VALUE_STRING;
        break;
    case P2M__PB_ANY_VALUE_BOOL_VALUE:
        v->type = P2M_VALUE_BOOL;
        v->i = f->v != 0;
        break;
    case P2M__PB_ANY_VALUE_INT_VALUE:
        v->type = P2M_VALUE_INT;
        v->i = (int64_t)f->v;
        break;
    case P2M__PB_ANY_VALUE_DOUBLE_VALUE:
        v->type = P2M_VALUE_DOUBLE;
        P2M_MEMCPY(&v->d, &f->v, 8);
        break;
    case P2M__PB_ANY_VALUE_ARRAY_VALUE:
        v->type = P2M_VALUE_ARRAY;
        break;
    case P2M__PB_ANY_VALUE_KVLIST_VALUE:
        v->type = P2M_VALUE_KVLIST;
        break;
    default:
        v->type = P2M_VALUE_BYTES;
        break;
    }
    v->str.ptr = (const char *)f->p;
    v->str.len = f->n;
}

/* One AnyValue message; the last field of the oneof wins, as in protobuf
   (string_value_strindex is resolved before the bytes get here). */
static P2M__MUST int p2m__w_any(p2m__w_sink *s, const unsigned char *p, size_t n, int depth,
                                int json, p2m__w_ctx *c) {
    const unsigned char *end = p + n;
    p2m__w_field f, last;
    int rc, have = 0;
    p2m_value v;
    P2M_MEMSET(&last, 0, sizeof last);
    if (depth > P2M__W_NEST_MAX)
        return p2m__w_bad(c, P2M__MSG("attribute value nested more than 32 levels deep"));
    while ((rc = p2m__w_next(&p, end, &f)) > 0) {
        uint32_t k = f.num;
        if (((k == P2M__PB_ANY_VALUE_STRING_VALUE || k == P2M__PB_ANY_VALUE_ARRAY_VALUE ||
              k == P2M__PB_ANY_VALUE_KVLIST_VALUE || k == P2M__PB_ANY_VALUE_BYTES_VALUE) &&
             f.wt == P2M__WT_LEN) ||
            ((k == P2M__PB_ANY_VALUE_BOOL_VALUE || k == P2M__PB_ANY_VALUE_INT_VALUE) &&
             f.wt == P2M__WT_VARINT) ||
            (k == P2M__PB_ANY_VALUE_DOUBLE_VALUE && f.wt == P2M__WT_I64)) {
            last = f;
            have = 1;
        }
    }
    if (rc < 0)
        return p2m__w_bad(c, P2M__MSG("malformed AnyValue in an attribute value"));
    P2M_MEMSET(&v, 0, sizeof v);
    if (have) p2m__w_field_value(&last, &v);
    if (json)
        return p2m__w_value(s, &v, depth, json, c);
    switch (v.type) {
    case P2M_VALUE_NONE:
        p2m__w_str(s, "null");
        return 0;
    case P2M_VALUE_STRING:
        p2m__w_json_string(s, v.str.ptr ? v.str.ptr : "", v.str.len);
        return 0;
    case P2M_VALUE_BOOL:
        p2m__w_str(s, v.i ? "true" : "false");
        return 0;
    case P2M_VALUE_INT:
        p2m__w_i64(s, v.i);
        return 0;
    case P2M_VALUE_DOUBLE:
        p2m__w_json_double(s, v.d);
        return 0;
    case P2M_VALUE_BYTES:
        p2m__w_put(s, "\"", 1);
        p2m__w_base64(s, (const unsigned char *)v.str.ptr, v.str.len);
        p2m__w_put(s, "\"", 1);
        return 0;
    case P2M_VALUE_ARRAY:
    case P2M_VALUE_KVLIST:
        return p2m__w_seq(s, last.p, last.n, depth + 1, json, c, v.type == P2M_VALUE_KVLIST);
    }
    return 0;
}

/* A value as an OTLP JSON AnyValue object (json), whose ARRAY / KVLIST
   bytes are already resolved. */
static P2M__MUST int p2m__w_value(p2m__w_sink *s, const p2m_value *v, int depth, int json,
                                  p2m__w_ctx *c) {
    const unsigned char *b = (const unsigned char *)v->str.ptr;
    switch (v->type) {
    case P2M_VALUE_STRING:
        p2m__w_str(s, "{\"stringValue\":");
        p2m__w_json_string(s, v->str.ptr ? v->str.ptr : "", v->str.len);
        p2m__w_put(s, "}", 1);
        return 0;
    case P2M_VALUE_BOOL:
        p2m__w_str(s, v->i ? "{\"boolValue\":true}" : "{\"boolValue\":false}");
        return 0;
    case P2M_VALUE_INT:
        p2m__w_str(s, "{\"intValue\":\"");
        p2m__w_i64(s, v->i);
        p2m__w_str(s, "\"}");
        return 0;
    case P2M_VALUE_DOUBLE:
        p2m__w_str(s, "{\"doubleValue\":");
        p2m__w_json_double(s, v->d);
        p2m__w_put(s, "}", 1);
        return 0;
    case P2M_VALUE_BYTES:
        p2m__w_str(s, "{\"bytesValue\":\"");
        p2m__w_base64(s, b, v->str.len);
        p2m__w_str(s, "\"}");
        return 0;
    case P2M_VALUE_ARRAY:
    case P2M_VALUE_KVLIST:
        p2m__w_str(s, v->type == P2M_VALUE_KVLIST ? "{\"kvlistValue\":" : "{\"arrayValue\":");
        if (p2m__w_seq(s, b, v->str.len, depth + 1, json, c, v->type == P2M_VALUE_KVLIST) != 0)
            return -1;
        p2m__w_put(s, "}", 1);
        return 0;
    default:
        p2m__w_str(s, "{}");
        return 0;
    }
}

/* A result's ARRAY / KVLIST value with its string indices resolved into
   c->nest (sized beforehand); other values as they are. */
static P2M__MUST int p2m__w_resolve(p2m__w_ctx *c, const p2m_value *v, p2m_value *out) {
    size_t n;
    *out = *v;
    if (v->type != P2M_VALUE_ARRAY && v->type != P2M_VALUE_KVLIST)
        return 0;
    n = p2m_result_nested_value(c->r, v, 0, 0);
    if (n > c->nest_cap || (n && p2m_result_nested_value(c->r, v, c->nest, n) != n))
        return p2m__w_bad(c, P2M__MSG("p2m_result_nested_value gave two sizes for one value"));
    out->str.ptr = n ? (const char *)c->nest : "";
    out->str.len = n;
    return 0;
}

/* The resolved size a value needs in c->nest. */
static size_t p2m__w_nest_size(const p2m_result *r, const p2m_value *v) {
    if (v->type != P2M_VALUE_ARRAY && v->type != P2M_VALUE_KVLIST)
        return 0;
    return p2m_result_nested_value(r, v, 0, 0);
}

/* ---- attribute lists ----------------------------------------------------------- */

/* Which list p2m__w_attrs reads: a resource's or a point's. */
typedef struct p2m__w_list {
    size_t res, metric, point;
    int of_point;
} p2m__w_list;

static size_t p2m__w_attrs(const p2m_result *r, const p2m__w_list *l, p2m_attribute *out,
                           size_t cap) {
    return l->of_point ? p2m_result_point_attributes(r, l->res, l->metric, l->point, out, cap)
                       : p2m_result_resource_attributes(r, l->res, out, cap);
}

/* The attributes of list l in a (the scratch's array, or a stack array
   when the list is short): NULL when neither holds them. */
static const p2m_attribute *p2m__w_read(const p2m_result *r, const p2m__w_list *l,
                                        p2m_attribute *arr, size_t arr_cap, p2m_attribute *stack,
                                        size_t *n) {
    p2m_attribute *to;
    *n = p2m__w_attrs(r, l, 0, 0);
    to = arr && *n <= arr_cap ? arr : *n <= P2M__W_STACK_ATTRS ? stack : 0;
    if (to && p2m__w_attrs(r, l, to, *n) < *n) *n = 0; /* never: the list does not change */
    return to;
}

#ifndef P2M_NO_JSON
/* ---- OTLP/JSON ------------------------------------------------------------------ */

/* "attributes":[{"key":..,"value":{..}},..] */
static int p2m__w_json_attrs(p2m__w_sink *s, const p2m_attribute *a, size_t n, p2m__w_ctx *c) {
    size_t i;
    p2m__w_str(s, "\"attributes\":[");
    for (i = 0; i < n; i++) {
        p2m_value v;
        if (i)
            p2m__w_put(s, ",", 1);
        p2m__w_str(s, "{\"key\":");
        p2m__w_json_string(s, a[i].key.ptr ? a[i].key.ptr : "", a[i].key.len);
        p2m__w_str(s, ",\"value\":");
        if (p2m__w_resolve(c, &a[i].value, &v) != 0 || p2m__w_value(s, &v, 0, 1, c) != 0)
            return -1;
        p2m__w_put(s, "}", 1);
    }
    p2m__w_put(s, "]", 1);
    return 0;
}

/* Resource.entity_refs as "entityRefs":[{"schemaUrl","type","idKeys",
   "descriptionKeys"}]: one key per field, lists gathered in order, a
   repeated scalar string's first kept. */
static void p2m__w_json_entity_refs(p2m__w_sink *s, const p2m_str *refs, size_t n, int comma) {
    static const char *const names[5] = {0, "schemaUrl", "type", "idKeys", "descriptionKeys"};
    size_t i;
    if (n == 0)
        return;
    p2m__w_str(s, comma ? ",\"entityRefs\":[" : "\"entityRefs\":[");
    for (i = 0; i < n; i++) {
        const unsigned char *p = (const unsigned char *)refs[i].ptr, *end = p + refs[i].len;
        uint32_t k;
        int first = 1;
        p2m__w_str(s, i ? ",{" : "{");
        for (k = P2M__PB_ENTITY_REF_SCHEMA_URL; k <= P2M__PB_ENTITY_REF_DESCRIPTION_KEYS; k++) {
            const unsigned char *q = p;
            int any = 0, list = k >= P2M__PB_ENTITY_REF_ID_KEYS;
            p2m__w_field f;
            while (p2m__w_next(&q, end, &f) > 0) {
                if (f.num != k || f.wt != P2M__WT_LEN)
                    continue;
                if (any && !list)
                    continue;
                if (!any) {
                    if (!first)
                        p2m__w_put(s, ",", 1);
                    p2m__w_put(s, "\"", 1);
                    p2m__w_str(s, names[k]);
                    p2m__w_str(s, list ? "\":[" : "\":");
                    first = 0;
                } else {
                    p2m__w_put(s, ",", 1);
                }
                p2m__w_json_string(s, (const char *)f.p, f.n);
                any = 1;
            }
            if (any && list)
                p2m__w_put(s, "]", 1);
        }
        p2m__w_put(s, "}", 1);
    }
    p2m__w_put(s, "]", 1);
}

/* One data point: times, value, attributes (read into arr). */
static int p2m__w_json_point(p2m__w_sink *s, const p2m_metric_info *info, p2m__w_list *l,
                             p2m_attribute *arr, size_t arr_cap, p2m__w_ctx *c) {
    p2m_point p;
    size_t n = p2m__w_attrs(c->r, l, 0, 0);
    p2m_result_point(c->r, l->res, l->metric, l->point, &p);
    if (info->is_gauge && p.start_time_unix_nano == 0) {
        p2m__w_str(s, "{\"timeUnixNano\":\"");
    } else {
        p2m__w_str(s, "{\"startTimeUnixNano\":\"");
        p2m__w_u64(s, p.start_time_unix_nano);
        p2m__w_str(s, "\",\"timeUnixNano\":\"");
    }
    p2m__w_u64(s, p.time_unix_nano);
    if (p.is_double) {
        p2m__w_str(s, "\",\"asDouble\":");
        p2m__w_json_double(s, p.as_double);
    } else {
        p2m__w_str(s, "\",\"asInt\":\"");
        p2m__w_i64(s, p.as_int);
        p2m__w_put(s, "\"", 1);
    }
    if (n > 0) {
        if (n > arr_cap)
            return p2m__w_bad(c, P2M__MSG("scratch too small for the point's attributes"));
        p2m__w_attrs(c->r, l, arr, n);
        p2m__w_put(s, ",", 1);
        if (p2m__w_json_attrs(s, arr, n, c) != 0)
            return -1;
    }
    p2m__w_put(s, "}", 1);
    return 0;
}

static int p2m__w_json_metric(p2m__w_sink *s, size_t res, size_t m, p2m_attribute *arr,
                              size_t arr_cap, p2m__w_ctx *c) {
    p2m_metric_info info;
    p2m__w_list l = {0, 0, 0, 0};
    p2m_result_metric(c->r, res, m, &info);
    p2m__w_str(s, "{\"name\":");
    p2m__w_json_string(s, info.name.ptr ? info.name.ptr : "", info.name.len);
    if (info.description.len) {
        p2m__w_str(s, ",\"description\":");
        p2m__w_json_string(s, info.description.ptr, info.description.len);
    }
    p2m__w_str(s, ",\"unit\":");
    p2m__w_json_string(s, info.unit.ptr ? info.unit.ptr : "", info.unit.len);
    /* snapshot types make a Gauge (no temporality, not monotonic); the
       other metrics are monotonic Sums */
    p2m__w_str(s, info.is_gauge ? ",\"gauge\":{\"dataPoints\":[" : ",\"sum\":{\"dataPoints\":[");
    l.res = res;
    l.metric = m;
    l.of_point = 1;
    for (l.point = 0; l.point < info.n_points; l.point++) {
        if (l.point)
            p2m__w_put(s, ",", 1);
        if (p2m__w_json_point(s, &info, &l, arr, arr_cap, c) != 0)
            return -1;
    }
    if (info.is_gauge) {
        p2m__w_str(s, "]}}");
    } else {
        p2m__w_str(s, "],\"aggregationTemporality\":");
        p2m__w_u64(s, (uint64_t)info.temporality);
        p2m__w_str(s, ",\"isMonotonic\":true}}");
    }
    return 0;
}

static int p2m__w_json_resource(p2m__w_sink *s, size_t res, void *arr, size_t arr_bytes,
                                p2m__w_ctx *c) {
    p2m_attribute *attrs = (p2m_attribute *)arr;
    size_t arr_cap = arr_bytes / sizeof(p2m_attribute), m, n_m = p2m_result_metric_count(c->r, res);
    size_t n_ra = p2m_result_resource_attributes(c->r, res, 0, 0);
    size_t n_er = p2m_result_resource_entity_refs(c->r, res, 0, 0);
    uint64_t dropped = p2m_result_resource_dropped(c->r, res);
    p2m_str url = p2m_result_schema_url(c->r, res);
    if (n_ra > arr_cap || n_er > arr_bytes / sizeof(p2m_str))
        return p2m__w_bad(c, P2M__MSG("scratch too small for the resource's attributes"));
    if (res)
        p2m__w_put(s, ",", 1);
    p2m__w_str(s, "{\"resource\":{");
    if (n_ra > 0) {
        p2m_result_resource_attributes(c->r, res, attrs, n_ra);
        if (p2m__w_json_attrs(s, attrs, n_ra, c) != 0)
            return -1;
    }
    if (dropped != 0) { /* uint32 in OTLP: a JSON number */
        p2m__w_str(s, n_ra > 0 ? ",\"droppedAttributesCount\":" : "\"droppedAttributesCount\":");
        p2m__w_u64(s, dropped);
    }
    if (n_er > 0) {
        p2m_result_resource_entity_refs(c->r, res, (p2m_str *)arr, n_er);
        p2m__w_json_entity_refs(s, (const p2m_str *)arr, n_er, n_ra > 0 || dropped != 0);
    }
    p2m__w_str(s, "},\"scopeMetrics\":[{\"scope\":{\"name\":\"profile2metrics\",\"version\":");
    p2m__w_json_string(s, p2m_version(), p2m__w_cstr_str(p2m_version()).len);
    p2m__w_str(s, "},\"metrics\":[");
    for (m = 0; m < n_m; m++) {
        if (m)
            p2m__w_put(s, ",", 1);
        if (p2m__w_json_metric(s, res, m, attrs, arr_cap, c) != 0)
            return -1;
    }
    p2m__w_str(s, "]}]");
    if (url.len) {
        p2m__w_str(s, ",\"schemaUrl\":");
        p2m__w_json_string(s, url.ptr, url.len);
    }
    p2m__w_put(s, "}", 1);
    return 0;
}

static int p2m__w_json_doc(p2m__w_sink *s, void *arr, size_t arr_bytes, p2m__w_ctx *c) {
    size_t res, n_res = p2m_result_resource_count(c->r);
    p2m__w_str(s, "{\"resourceMetrics\":[");
    for (res = 0; res < n_res; res++)
        if (p2m__w_json_resource(s, res, arr, arr_bytes, c) != 0)
            return -1;
    p2m__w_str(s, "]}");
    return 0;
}

/* The largest resolved nested value among the attributes of list l; 0
   with *unknown set when the list cannot be read (no room yet). */
static size_t p2m__w_list_nest(const p2m_result *r, const p2m__w_list *l, p2m_attribute *arr,
                               size_t arr_cap, int *unknown) {
    p2m_attribute stack[P2M__W_STACK_ATTRS];
    size_t n, i, most = 0;
    const p2m_attribute *a = p2m__w_read(r, l, arr, arr_cap, stack, &n);
    if (!a) {
        *unknown = 1;
        return 0;
    }
    for (i = 0; i < n; i++)
        most = p2m__w_max(most, p2m__w_nest_size(r, &a[i].value));
    return most;
}

P2M_API p2m_status p2m_write_json(const p2m_result *r, void *scratch, size_t scratch_size,
                                  void *out, size_t cap, size_t *out_size, p2m_error *err) {
    p2m__w_carve cv;
    p2m__w_ctx c;
    p2m__w_sink s;
    p2m__w_list l = {0, 0, 0, 0};
    size_t res, arr_bytes = 0, nest = 0, need;
    p2m_attribute *arr;
    int unknown = 0;
    if (out_size)
        *out_size = 0;
    if (err)
        P2M_MEMSET(err, 0, sizeof *err);
    if (!r) {
        (void)p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("the result must not be NULL"));
        return P2M_ERR_ARGUMENT;
    }
    /* the lists: resource attributes, entity refs, point attributes */
    for (res = 0; res < p2m_result_resource_count(r); res++) {
        size_t m;
        arr_bytes = p2m__w_max(arr_bytes, p2m_result_resource_attributes(r, res, 0, 0) *
                                              sizeof(p2m_attribute));
        arr_bytes =
            p2m__w_max(arr_bytes, p2m_result_resource_entity_refs(r, res, 0, 0) * sizeof(p2m_str));
        for (m = 0; m < p2m_result_metric_count(r, res); m++) {
            p2m_metric_info info;
            size_t pt;
            p2m_result_metric(r, res, m, &info);
            for (pt = 0; pt < info.n_points; pt++)
                arr_bytes = p2m__w_max(arr_bytes, p2m_result_point_attributes(r, res, m, pt, 0, 0) *
                                                      sizeof(p2m_attribute));
        }
    }
    p2m__w_carve_init(&cv, scratch, scratch_size);
    arr = (p2m_attribute *)p2m__w_take(&cv, arr_bytes);
    /* the largest resolved nested value */
    for (res = 0; res < p2m_result_resource_count(r); res++) {
        size_t m;
        l.res = res;
        l.of_point = 0;
        nest = p2m__w_max(nest, p2m__w_list_nest(r, &l, arr, arr_bytes / sizeof *arr, &unknown));
        l.of_point = 1;
        for (m = 0; m < p2m_result_metric_count(r, res); m++) {
            p2m_metric_info info;
            p2m_result_metric(r, res, m, &info);
            l.metric = m;
            for (l.point = 0; l.point < info.n_points; l.point++)
                nest = p2m__w_max(nest,
                                  p2m__w_list_nest(r, &l, arr, arr_bytes / sizeof *arr, &unknown));
        }
    }
    c.r = r;
    c.nest = (unsigned char *)p2m__w_take(&cv, nest);
    c.nest_cap = nest;
    c.why = 0;
    need = cv.used ? (P2M__W_ALIGN - 1u) + cv.used : 0u;
    if (unknown || need > scratch_size || (arr_bytes && !arr) || (nest && !c.nest)) {
        (void)p2m__need(err, P2M_ERR_MEMORY, need, P2M__MSG("scratch memory too small"));
        return P2M_ERR_MEMORY;
    }
    /* count, then write */
    p2m__w_sink_init(&s, 0, 0);
    if (p2m__w_json_doc(&s, arr, arr_bytes, &c) != 0) {
        (void)p2m__fail(err, P2M_ERR_MALFORMED, 0, c.why);
        return P2M_ERR_MALFORMED;
    }
    if (!out || cap < s.n) {
        (void)p2m__need(err, P2M_ERR_OUTPUT_TOO_SMALL, s.n, P2M__MSG("output buffer too small"));
        return P2M_ERR_OUTPUT_TOO_SMALL;
    }
    need = s.n;
    p2m__w_sink_init(&s, out, cap);
    (void)p2m__w_json_doc(&s, arr, arr_bytes, &c);
    if (out_size)
        *out_size = need;
    return P2M_OK;
}
#endif /* !P2M_NO_JSON */

#ifndef P2M_NO_PROM
/* ---- Prometheus text ------------------------------------------------------------- */

/* A value as label text (C string semantics: the sink stops at a NUL):
   strings as they are, ints in decimal, bools true/false, doubles shortest
   (NaN, Infinity, -Infinity), bytes base64, arrays and key-value lists as
   compact JSON. */
static int p2m__w_text(p2m__w_sink *s, const p2m_value *v, p2m__w_ctx *c) {
    p2m_value rv;
    int rc = 0;
    s->stopped = 0;
    switch (v->type) {
    case P2M_VALUE_STRING:
        p2m__w_put(s, v->str.ptr, v->str.len);
        break;
    case P2M_VALUE_BOOL:
        p2m__w_str(s, v->i ? "true" : "false");
        break;
    case P2M_VALUE_INT:
        p2m__w_i64(s, v->i);
        break;
    case P2M_VALUE_DOUBLE:
        if (p2m__w_isnan(v->d))
            p2m__w_str(s, "NaN");
        else if (p2m__w_isinf(v->d))
            p2m__w_str(s, v->d > 0 ? "Infinity" : "-Infinity");
        else
            p2m__w_finite(s, v->d);
        break;
    case P2M_VALUE_BYTES:
        p2m__w_base64(s, (const unsigned char *)v->str.ptr, v->str.len);
        break;
    case P2M_VALUE_ARRAY:
    case P2M_VALUE_KVLIST:
        rc = p2m__w_resolve(c, v, &rv);
        if (rc == 0)
            rc = p2m__w_seq(s, (const unsigned char *)rv.str.ptr, rv.str.len, 1, 0, c,
                            v->type == P2M_VALUE_KVLIST);
        break;
    default:
        break;
    }
    s->stopped = 0;
    return rc;
}

P2M_API size_t p2m_write_value_text(const p2m_value *v, void *out, size_t cap) {
    p2m__w_sink s;
    p2m__w_ctx c;
    int rc = 0;
    const unsigned char *b;
    if (!v)
        return 0;
    b = (const unsigned char *)(v->str.ptr ? v->str.ptr : "");
    P2M_MEMSET(&c, 0, sizeof c);
    p2m__w_sink_init(&s, 0, 0);
    if (v->type == P2M_VALUE_ARRAY || v->type == P2M_VALUE_KVLIST)
        rc = p2m__w_seq(&s, b, v->str.len, 1, 0, &c, v->type == P2M_VALUE_KVLIST);
    else
        (void)p2m__w_text(&s, v, &c);
    if (rc != 0)
        return (size_t)-1;
    if (!out || cap < s.n)
        return s.n;
    cap = s.n;
    p2m__w_sink_init(&s, out, cap);
    if (v->type == P2M_VALUE_ARRAY || v->type == P2M_VALUE_KVLIST)
        rc = p2m__w_seq(&s, b, v->str.len, 1, 0, &c, v->type == P2M_VALUE_KVLIST);
    else
        (void)p2m__w_text(&s, v, &c);
    return rc == 0 ? s.n : (size_t)-1; /* as the counting pass, which succeeded */
}

/* An upper bound of the label text of v, escaped (each byte at most
   three: U+FFFD for a byte that is not UTF-8). */
static size_t p2m__w_text_bound(const p2m_result *r, const p2m_value *v) {
    switch (v->type) {
    case P2M_VALUE_STRING:
        return 3u * v->str.len;
    case P2M_VALUE_BOOL:
        return 5;
    case P2M_VALUE_INT:
        return 20;
    case P2M_VALUE_DOUBLE:
        return 40;
    case P2M_VALUE_BYTES:
        return 4u * (v->str.len / 3u + 1u);
    /* compact JSON of resolved protobuf bytes: at most 6 text bytes (a
       \u00XX escape) per input byte, doubled by label escaping */
    case P2M_VALUE_ARRAY:
    case P2M_VALUE_KVLIST:
        return 16u * p2m__w_nest_size(r, v) + 16u;
    default:
        return 0;
    }
}

/* Label and metric names: invalid characters '_', a leading digit gets a '_'
   in front; collapse: runs of '_' made one. colon: ':' is valid. */
static int p2m__w_name_char(char ch, int colon) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || (colon && ch == ':');
}
static void p2m__w_sanitise(p2m__w_sink *s, const char *p, size_t n, int colon, int collapse) {
    size_t i;
    int last_us = 0;
    if (n > 0 && p[0] >= '0' && p[0] <= '9') {
        p2m__w_put(s, "_", 1);
        last_us = 1;
    }
    for (i = 0; i < n; i++) {
        char ch = '_';
        if (p2m__w_name_char(p[i], colon))
            ch = p[i];
        if (ch == '_' && last_us && collapse)
            continue;
        last_us = ch == '_';
        p2m__w_put(s, &ch, 1);
    }
}
/* Character i of a label name (no collapsing), 0 past its end. */
static char p2m__w_label_char(p2m_str k, size_t i) {
    size_t pre = k.len > 0 && k.ptr[0] >= '0' && k.ptr[0] <= '9';
    if (i < pre)
        return '_';
    if (i - pre >= k.len)
        return 0;
    if (!p2m__w_name_char(k.ptr[i - pre], 0))
        return '_';
    return k.ptr[i - pre];
}
static size_t p2m__w_label_len(p2m_str k) {
    return k.len + (k.len > 0 && k.ptr[0] >= '0' && k.ptr[0] <= '9');
}
/* Label names of keys a and b compared as strcmp compares them. */
static int p2m__w_label_cmp(p2m_str a, p2m_str b) {
    size_t i, na = p2m__w_label_len(a), nb = p2m__w_label_len(b);
    for (i = 0; i < na && i < nb; i++) {
        unsigned char x = (unsigned char)p2m__w_label_char(a, i),
                      y = (unsigned char)p2m__w_label_char(b, i);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return na < nb ? -1 : na > nb;
}
static int p2m__w_label_is(p2m_str k, const char *name) {
    size_t i;
    for (i = 0; name[i]; i++)
        if (p2m__w_label_char(k, i) != name[i])
            return 0;
    return p2m__w_label_len(k) == i;
}
/* Sorting order of labels: label name, then the original key's bytes. */
static int p2m__w_key_order(p2m_str a, p2m_str b) {
    size_t i, n = a.len < b.len ? a.len : b.len;
    int c = p2m__w_label_cmp(a, b);
    if (c)
        return c;
    for (i = 0; i < n; i++)
        if (a.ptr[i] != b.ptr[i])
            return (unsigned char)a.ptr[i] < (unsigned char)b.ptr[i] ? -1 : 1;
    return a.len < b.len ? -1 : a.len > b.len;
}

static int p2m__w_key_is(p2m_str k, const char *z) {
    size_t i;
    for (i = 0; i < k.len; i++)
        if (z[i] == '\0' || k.ptr[i] != z[i])
            return 0;
    return z[i] == '\0';
}

/* The Prometheus word of an OTLP unit and its factor to the base unit
   (value * mul / div); NULL: not a known unit. */
static const char *p2m__w_unit_word(p2m_str u, double *mul, double *div) {
    static const struct {
        const char *unit, *word;
        double mul, div;
    } map[] = {{"ns", "seconds", 1, 1e9},
               {"us", "seconds", 1, 1e6},
               {"ms", "seconds", 1, 1e3},
               {"s", "seconds", 1, 1},
               {"min", "seconds", 60, 1},
               {"h", "seconds", 3600, 1},
               {"d", "seconds", 86400, 1},
               {"By", "bytes", 1, 1},
               {"KiBy", "bytes", 1024, 1},
               {"MiBy", "bytes", 1048576, 1},
               {"GiBy", "bytes", 1073741824, 1},
               {"KBy", "bytes", 1e3, 1},
               {"MBy", "bytes", 1e6, 1},
               {"GBy", "bytes", 1e9, 1},
               {"bit", "bits", 1, 1},
               {"%", "percent", 1, 1},
               {"Hz", "hertz", 1, 1},
               {"1", "", 1, 1}};
    size_t i;
    *mul = 1;
    *div = 1;
    for (i = 0; i < sizeof map / sizeof map[0]; i++)
        if (p2m__w_key_is(u, map[i].unit)) {
            *mul = map[i].mul;
            *div = map[i].div;
            return map[i].word;
        }
    return 0;
}

static int p2m__w_ends(const char *p, size_t n, const char *q, size_t m) {
    size_t i;
    if (m > n)
        return 0;
    for (i = 0; i < m; i++)
        if (p[n - m + i] != q[i])
            return 0;
    return 1;
}

/* The metric name in Prometheus form, written at the sink's end (which must
   hold it: the suffix checks read it back). */
static void p2m__w_metric_name(p2m__w_sink *s, p2m_str name, p2m_str unit, int gauge) {
    double mul, div;
    const char *w = p2m__w_unit_word(unit, &mul, &div);
    size_t at = s->n, end;
    p2m__w_sanitise(s, name.ptr ? name.ptr : "", name.len, 1, 1);
    end = s->n;
    if ((w && w[0]) || (!w && unit.len > 0 && unit.ptr[0] != '{')) {
        p2m__w_put(s, "_", 1);
        if (w)
            p2m__w_str(s, w);
        else
            p2m__w_sanitise(s, unit.ptr, unit.len, 0, 1);
        /* the name already ends with _word: drop the copy */
        if (s->buf && p2m__w_ends(s->buf + at, end - at, s->buf + end, s->n - end))
            s->n = end;
    }
    if (!gauge && !(s->buf && p2m__w_ends(s->buf + at, s->n - at, "_total", 6)))
        p2m__w_str(s, "_total");
}

/* What a resource gives its samples: attributes, job / instance sources. */
typedef struct p2m__w_resv {
    const p2m_attribute *ra;
    size_t n_ra;
    const p2m_attribute *name, *ns, *inst;
} p2m__w_resv;

static const p2m_attribute *p2m__w_find(const p2m_attribute *a, size_t n, const char *key) {
    size_t i;
    for (i = 0; i < n; i++)
        if (p2m__w_key_is(a[i].key, key))
            return &a[i];
    return 0;
}

static int p2m__w_service_key(p2m_str k) {
    return p2m__w_key_is(k, "service.name") || p2m__w_key_is(k, "service.namespace") ||
           p2m__w_key_is(k, "service.instance.id");
}

/* The length of an attribute's label text (up to a NUL). */
static size_t p2m__w_text_len(const p2m_attribute *a, p2m__w_ctx *c) {
    p2m__w_sink t;
    p2m__w_sink_init(&t, 0, 0);
    t.stop_nul = 1;
    (void)p2m__w_text(&t, &a->value, c);
    return t.n;
}

/* job: service.namespace/service.name, or service.name. */
static void p2m__w_job(p2m__w_sink *s, const p2m__w_resv *rv, p2m__w_ctx *c) {
    if (rv->ns && p2m__w_text_len(rv->ns, c) > 0) {
        (void)p2m__w_text(s, &rv->ns->value, c);
        p2m__w_put(s, "/", 1);
    }
    (void)p2m__w_text(s, &rv->name->value, c);
}

/* The extra labels, in name order: which apply to a label set. */
enum { P2M__W_X_INSTANCE, P2M__W_X_JOB, P2M__W_X_SCOPE_NAME, P2M__W_X_SCOPE_VERSION, P2M__W_X_N };
static const char *const p2m__w_xname[P2M__W_X_N] = {"instance", "job", "otel_scope_name",
                                                     "otel_scope_version"};

static int p2m__w_x_on(const p2m__w_resv *rv, int x, int scope) {
    return x == P2M__W_X_INSTANCE ? rv->inst != 0 : x == P2M__W_X_JOB ? rv->name != 0 : scope;
}

/* The extra label's value, escaped; 0 when it is empty (no label then). */
static int p2m__w_x_value(p2m__w_sink *s, const p2m__w_resv *rv, int x, p2m__w_ctx *c) {
    p2m__w_sink t;
    int esc = s->esc, stop = s->stop_nul;
    p2m__w_sink_init(&t, 0, 0);
    t.stop_nul = 1;
    if (x == P2M__W_X_INSTANCE)
        (void)p2m__w_text(&t, &rv->inst->value, c);
    else if (x == P2M__W_X_JOB)
        p2m__w_job(&t, rv, c);
    else
        t.n = 1;
    if (t.n == 0)
        return 0;
    s->esc = P2M__W_ESC_LABEL;
    s->stop_nul = 1;
    if (x == P2M__W_X_INSTANCE)
        (void)p2m__w_text(s, &rv->inst->value, c);
    else if (x == P2M__W_X_JOB)
        p2m__w_job(s, rv, c);
    else
        p2m__w_str(s, x == P2M__W_X_SCOPE_NAME ? "profile2metrics" : p2m_version());
    s->esc = esc;
    s->stop_nul = stop;
    return 1;
}

/* The values of labels order[i..end) (one name) joined with ';', escaped;
   0 when the joined text is empty (no label then). */
static int p2m__w_joined(p2m__w_sink *s, const p2m_attribute *a, const uint32_t *order, size_t i,
                         size_t end, p2m__w_ctx *c) {
    size_t m;
    int esc = s->esc, stop = s->stop_nul;
    if (end - i == 1 && p2m__w_text_len(&a[order[i]], c) == 0)
        return 0;
    s->esc = P2M__W_ESC_LABEL;
    s->stop_nul = 1;
    for (m = i; m < end; m++) {
        if (m > i)
            p2m__w_put(s, ";", 1);
        (void)p2m__w_text(s, &a[order[m]].value, c);
    }
    s->esc = esc;
    s->stop_nul = stop;
    return 1;
}

/* The label text of attributes a[0..n) (order: room for n indices) with
   job / instance and, when scope, otel_scope_name / otel_scope_version: the
   four replace attribute labels of the same name. name="value" pairs
   sorted by name, joined with ','. */
static void p2m__w_labels(p2m__w_sink *s, const p2m_attribute *a, size_t n, uint32_t *order,
                          const p2m__w_resv *rv, int scope, p2m__w_ctx *c) {
    size_t i, k = 0, j = 0;
    int x = 0;
    for (i = 0; i < n; i++) { /* kept labels, sorted (stable) by name then key */
        int drop = 0, e;
        size_t at;
        for (e = 0; e < P2M__W_X_N && !drop; e++)
            drop = p2m__w_x_on(rv, e, scope) && p2m__w_label_is(a[i].key, p2m__w_xname[e]);
        if (drop)
            continue;
        for (at = k; at > 0 && p2m__w_key_order(a[order[at - 1]].key, a[i].key) > 0; at--)
            order[at] = order[at - 1];
        order[at] = (uint32_t)i;
        k++;
    }
    for (i = 0; i < k || x < P2M__W_X_N;) { /* merged with the extra labels */
        size_t end;
        if (x < P2M__W_X_N && !p2m__w_x_on(rv, x, scope)) {
            x++;
            continue;
        }
        if (x < P2M__W_X_N &&
            (i >= k || p2m__w_label_cmp(a[order[i]].key, p2m__w_cstr_str(p2m__w_xname[x])) > 0)) {
            size_t mark = s->n;
            if (j)
                p2m__w_put(s, ",", 1);
            p2m__w_str(s, p2m__w_xname[x]);
            p2m__w_str(s, "=\"");
            if (p2m__w_x_value(s, rv, x, c)) {
                p2m__w_put(s, "\"", 1);
                j++;
            } else
                s->n = mark;
            x++;
            continue;
        }
        for (end = i + 1; end < k && p2m__w_label_cmp(a[order[end]].key, a[order[i]].key) == 0;
             end++) {
        }
        {
            size_t mark = s->n;
            if (j)
                p2m__w_put(s, ",", 1);
            p2m__w_sanitise(s, a[order[i]].key.ptr ? a[order[i]].key.ptr : "", a[order[i]].key.len,
                            0, 0);
            p2m__w_str(s, "=\"");
            if (p2m__w_joined(s, a, order, i, end, c)) {
                p2m__w_put(s, "\"", 1);
                j++;
            } else
                s->n = mark;
        }
        i = end;
    }
}

/* A family (# TYPE block): its name in the text store, what opened it. */
typedef struct p2m__w_fam {
    size_t name_off, name_len;
    size_t res, metric; /* the metric whose description is the HELP */
    int target;         /* target_info: HELP "Target metadata" */
    int gauge, is_double;
    double mul, div; /* value in the base unit = value * mul / div */
} p2m__w_fam;

/* A line: family, label text in the store, the sum of what fed it. */
typedef struct p2m__w_ser {
    size_t lab_off, lab_len;
    size_t owner; /* resource identity (index + 1) that first fed it */
    uint32_t fam, hash;
    int64_t isum;
    double dsum;
} p2m__w_ser;

/* A resource's identity: its attributes sorted by key, as text. */
typedef struct p2m__w_pres {
    size_t id_off, id_len, canon; /* canon: the first resource of the same identity */
    int merged;
} p2m__w_pres;

typedef struct p2m__w_prom {
    p2m__w_ctx c;
    const p2m_prom_options *opt;
    p2m_attribute *ra, *pa; /* resource attributes; a sample's labels */
    size_t ra_cap, pa_cap;
    uint32_t *order; /* pa_cap indices */
    p2m__w_pres *pres;
    p2m__w_fam *fam;
    size_t n_fam, fam_cap;
    p2m__w_ser *ser;
    size_t n_ser, ser_cap;
    uint32_t *slot; /* series index + 1, open addressing */
    size_t slot_mask;
    p2m__w_sink store; /* names, label texts, identities */
} p2m__w_prom;

static int p2m__w_promoted(const p2m_prom_options *o, p2m_str key) {
    size_t i;
    if (!o)
        return 0;
    if (o->promote_all)
        return 1;
    for (i = 0; i < o->n_promote_keys; i++)
        if (o->promote_keys[i] && p2m__w_key_is(key, o->promote_keys[i]))
            return 1;
    return 0;
}
static int p2m__w_promoting(const p2m_prom_options *o) {
    return o && (o->promote_all || o->n_promote_keys > 0);
}

/* ---- Prometheus: sizes ------------------------------------------------------------ */

/* What the sizing walk finds: list lengths and counts (no memory needed),
   then, reading the lists, nested values and a bound of the text. */
typedef struct p2m__w_psize {
    size_t ra_max, pa_max, n_points, n_metrics, nest, text;
    int unknown;
} p2m__w_psize;

/* Bound of one label (name="value",) and of the extras a resource adds. */
static size_t p2m__w_label_bound(const p2m_result *r, const p2m_attribute *a) {
    return a->key.len + 8u + p2m__w_text_bound(r, &a->value);
}

static void p2m__w_psize_counts(const p2m_result *r, p2m__w_psize *z) {
    size_t res, m, pt;
    P2M_MEMSET(z, 0, sizeof *z);
    for (res = 0; res < p2m_result_resource_count(r); res++) {
        z->ra_max = p2m__w_max(z->ra_max, p2m_result_resource_attributes(r, res, 0, 0));
        for (m = 0; m < p2m_result_metric_count(r, res); m++) {
            p2m_metric_info info;
            p2m_result_metric(r, res, m, &info);
            z->n_metrics++;
            z->n_points += info.n_points;
            for (pt = 0; pt < info.n_points; pt++)
                z->pa_max = p2m__w_max(z->pa_max, p2m_result_point_attributes(r, res, m, pt, 0, 0));
        }
    }
}

/* Nested values and text bound of every list, reading them into the
   arrays of w when it has them, else on the stack when short. */
static void p2m__w_psize_text(const p2m_result *r, const p2m_prom_options *o, p2m__w_prom *w,
                              p2m__w_psize *z) {
    size_t res, m, i, vlen = 0;
    const char *ver = p2m_version();
    while (ver[vlen])
        vlen++;
    z->text = 16;
    for (res = 0; res < p2m_result_resource_count(r); res++) {
        p2m_attribute stack[P2M__W_STACK_ATTRS];
        const p2m_attribute *a, *x;
        size_t n, all = 0, extra, promoted = 0;
        p2m__w_list l = {0, 0, 0, 0};
        l.res = res;
        l.of_point = 0;
        a = p2m__w_read(r, &l, w->ra, w->ra_cap, stack, &n);
        if (!a) {
            z->unknown = 1;
            continue;
        }
        for (i = 0; i < n; i++) {
            z->nest = p2m__w_max(z->nest, p2m__w_nest_size(r, &a[i].value));
            all += p2m__w_label_bound(r, &a[i]);
        }
        extra = 160u + 2u * vlen;
        if ((x = p2m__w_find(a, n, "service.name")) != 0)
            extra += p2m__w_text_bound(r, &x->value);
        if ((x = p2m__w_find(a, n, "service.namespace")) != 0)
            extra += p2m__w_text_bound(r, &x->value);
        if ((x = p2m__w_find(a, n, "service.instance.id")) != 0)
            extra += p2m__w_text_bound(r, &x->value);
        if (p2m__w_promoting(o))
            promoted = all;
        z->text += 2u * all + extra + 32u; /* the identity and target_info */
        l.of_point = 1;
        for (m = 0; m < p2m_result_metric_count(r, res); m++) {
            p2m_metric_info info;
            p2m_result_metric(r, res, m, &info);
            z->text += info.name.len + info.unit.len + 24u;
            l.metric = m;
            for (l.point = 0; l.point < info.n_points; l.point++) {
                p2m_attribute pstack[P2M__W_STACK_ATTRS];
                size_t np;
                const p2m_attribute *pa = p2m__w_read(r, &l, w->pa, w->pa_cap, pstack, &np);
                if (!pa) {
                    z->unknown = 1;
                    continue;
                }
                z->text += promoted + extra;
                for (i = 0; i < np; i++) {
                    z->nest = p2m__w_max(z->nest, p2m__w_nest_size(r, &pa[i].value));
                    z->text += p2m__w_label_bound(r, &pa[i]);
                }
            }
        }
    }
}

static size_t p2m__w_pow2(size_t n) {
    size_t p = 16;
    while (p < n)
        p *= 2u;
    return p;
}

/* Carves the arrays (sizes from counts) out of the scratch. */
static void p2m__w_prom_carve(p2m__w_carve *cv, const p2m_result *r, const p2m__w_psize *z,
                              p2m__w_prom *w) {
    size_t n_res = p2m_result_resource_count(r), slots;
    w->ra_cap = z->ra_max;
    w->pa_cap = z->pa_max + z->ra_max;
    w->fam_cap = z->n_metrics + 1u;
    w->ser_cap = z->n_points + n_res;
    slots = p2m__w_pow2(2u * w->ser_cap);
    w->slot_mask = slots - 1u;
    w->ra = (p2m_attribute *)p2m__w_take(cv, w->ra_cap * sizeof(p2m_attribute));
    w->pa = (p2m_attribute *)p2m__w_take(cv, w->pa_cap * sizeof(p2m_attribute));
    w->order = (uint32_t *)p2m__w_take(cv, w->pa_cap * sizeof(uint32_t));
    w->pres = (p2m__w_pres *)p2m__w_take(cv, n_res * sizeof(p2m__w_pres));
    w->fam = (p2m__w_fam *)p2m__w_take(cv, w->fam_cap * sizeof(p2m__w_fam));
    w->ser = (p2m__w_ser *)p2m__w_take(cv, w->ser_cap * sizeof(p2m__w_ser));
    w->slot = (uint32_t *)p2m__w_take(cv, slots * sizeof(uint32_t));
    if (!w->slot) { /* the arrays do not all fit: none is used */
        w->ra = w->pa = 0;
        w->ra_cap = w->pa_cap = 0;
    }
}

/* ---- Prometheus: families, series, resources ----------------------------------- */

static uint32_t p2m__w_hash(uint32_t fam, const char *p, size_t n) {
    uint32_t h = 2166136261u ^ fam;
    size_t i;
    for (i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

static int p2m__w_same(const char *a, size_t na, const char *b, size_t nb) {
    size_t i;
    if (na != nb)
        return 0;
    for (i = 0; i < na; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* The family of the name just written at the store's end (from at): an
   existing one (the name is taken back) or a new one. */
static p2m__w_fam *p2m__w_family(p2m__w_prom *w, size_t at) {
    size_t i, n = w->store.n - at;
    const char *name = w->store.buf + at;
    p2m__w_fam *f;
    for (i = 0; i < w->n_fam; i++)
        if (p2m__w_same(w->store.buf + w->fam[i].name_off, w->fam[i].name_len, name, n)) {
            w->store.n = at;
            return &w->fam[i];
        }
    f = &w->fam[w->n_fam++];
    P2M_MEMSET(f, 0, sizeof *f);
    f->name_off = at;
    f->name_len = n;
    return f;
}

/* The series of family fam with the label text just written at the store's
   end (from at): an existing one (the text is taken back) or a new one. */
static p2m__w_ser *p2m__w_series(p2m__w_prom *w, uint32_t fam, size_t at) {
    size_t n = w->store.n - at, k;
    const char *lab = w->store.buf + at;
    uint32_t h = p2m__w_hash(fam, lab, n);
    p2m__w_ser *s;
    for (k = h & w->slot_mask; w->slot[k]; k = (k + 1u) & w->slot_mask) {
        s = &w->ser[w->slot[k] - 1u];
        if (s->hash == h && s->fam == fam &&
            p2m__w_same(w->store.buf + s->lab_off, s->lab_len, lab, n)) {
            w->store.n = at;
            return s;
        }
    }
    s = &w->ser[w->n_ser];
    P2M_MEMSET(s, 0, sizeof *s);
    s->fam = fam;
    s->hash = h;
    s->lab_off = at;
    s->lab_len = n;
    w->slot[k] = (uint32_t)++w->n_ser;
    return s;
}

/* Identity texts compared as C strings (up to a NUL), as the tool always did. */
static int p2m__w_same_id(const char *a, size_t na, const char *b, size_t nb) {
    size_t i;
    for (i = 0; i < na && i < nb && a[i] && b[i]; i++)
        if (a[i] != b[i])
            return 0;
    return (i == na || !a[i]) && (i == nb || !b[i]);
}

/* Resource res's identity: key \x1f value \x1e per attribute, sorted by
   key (stable); the first resource with the same identity stands for it. */
static void p2m__w_identity(p2m__w_prom *w, size_t res, size_t n_ra) {
    size_t i, at = w->store.n;
    p2m__w_pres *p = &w->pres[res];
    for (i = 0; i < n_ra; i++) {
        size_t j = i;
        while (j > 0) {
            p2m_str x = w->ra[w->order[j - 1]].key, y = w->ra[i].key;
            size_t m = x.len < y.len ? x.len : y.len, q;
            int c = 0;
            for (q = 0; q < m && !c; q++)
                if (x.ptr[q] != y.ptr[q])
                    c = (unsigned char)x.ptr[q] < (unsigned char)y.ptr[q] ? -1 : 1;
            if (c < 0 || (c == 0 && x.len <= y.len))
                break;
            w->order[j] = w->order[j - 1];
            j--;
        }
        w->order[j] = (uint32_t)i;
    }
    for (i = 0; i < n_ra; i++) {
        const p2m_attribute *a = &w->ra[w->order[i]];
        p2m__w_put(&w->store, a->key.ptr, a->key.len);
        p2m__w_put(&w->store, "\x1f", 1);
        (void)p2m__w_text(&w->store, &a->value, &w->c);
        p2m__w_put(&w->store, "\x1e", 1);
    }
    p->id_off = at;
    p->id_len = w->store.n - at;
    p->merged = 0;
    p->canon = res;
    for (i = 0; i < res; i++)
        if (w->pres[i].canon == i &&
            p2m__w_same_id(w->store.buf + w->pres[i].id_off, w->pres[i].id_len, w->store.buf + at,
                           p->id_len)) {
            p->canon = i;
            break;
        }
}

/* target_info: the resource attributes other than service.* as labels
   (with job and instance), value 1; none when that leaves no label. */
static void p2m__w_target_info(p2m__w_prom *w, const p2m__w_resv *rv) {
    size_t i, n = 0, at = w->store.n;
    p2m__w_fam *f;
    for (i = 0; i < rv->n_ra; i++)
        if (!p2m__w_service_key(rv->ra[i].key))
            w->pa[n++] = rv->ra[i];
    if (n == 0)
        return;
    p2m__w_str(&w->store, "target_info");
    f = p2m__w_family(w, at);
    if (f->name_off == at) {
        f->target = 1;
        f->gauge = 1;
        f->mul = f->div = 1;
    }
    at = w->store.n;
    p2m__w_labels(&w->store, w->pa, n, w->order, rv, 0, &w->c);
    if (w->store.n == at)
        return; /* no label: no line */
    p2m__w_series(w, (uint32_t)(f - w->fam), at)->isum = 1;
}

/* A point's labels: its attributes; promoted resource attributes replace
   those of the same key and are added after them. */
static size_t p2m__w_point_labels(p2m__w_prom *w, const p2m__w_resv *rv, p2m__w_list *l) {
    size_t n = p2m__w_attrs(w->c.r, l, w->pa, w->pa_cap), i, k = 0;
    if (!p2m__w_promoting(w->opt))
        return n;
    for (i = 0; i < n; i++) {
        size_t b;
        int dup = 0;
        for (b = 0; b < rv->n_ra && !dup; b++)
            dup = p2m__w_promoted(w->opt, rv->ra[b].key) &&
                  p2m__w_same(rv->ra[b].key.ptr, rv->ra[b].key.len, w->pa[i].key.ptr,
                              w->pa[i].key.len);
        if (!dup)
            w->pa[k++] = w->pa[i];
    }
    for (i = 0; i < rv->n_ra; i++)
        if (p2m__w_promoted(w->opt, rv->ra[i].key))
            w->pa[k++] = rv->ra[i];
    return k;
}

static void p2m__w_prom_metric(p2m__w_prom *w, const p2m__w_resv *rv, size_t res, size_t m) {
    p2m_metric_info info;
    p2m__w_list l = {0, 0, 0, 0};
    p2m__w_fam *f;
    size_t at = w->store.n, rid = w->pres[res].canon + 1u;
    uint32_t fi;
    p2m_result_metric(w->c.r, res, m, &info);
    p2m__w_metric_name(&w->store, info.name, info.unit, info.is_gauge);
    f = p2m__w_family(w, at);
    if (f->name_off == at) { /* a new family: what the metric says */
        f->res = res;
        f->metric = m;
        f->gauge = info.is_gauge;
        (void)p2m__w_unit_word(info.unit, &f->mul, &f->div);
    }
    if (info.is_double)
        f->is_double = 1;
    fi = (uint32_t)(f - w->fam);
    l.res = res;
    l.metric = m;
    l.of_point = 1;
    for (l.point = 0; l.point < info.n_points; l.point++) {
        p2m_point p;
        p2m__w_ser *s;
        size_t n = p2m__w_point_labels(w, rv, &l);
        p2m_result_point(w->c.r, res, m, l.point, &p);
        at = w->store.n;
        p2m__w_labels(&w->store, w->pa, n, w->order, rv, 1, &w->c);
        s = p2m__w_series(w, fi, at);
        if (s->owner == 0) {
            s->owner = rid;
        } else if (s->owner != rid) { /* two resources, one line */
            w->pres[s->owner - 1u].merged = 1;
            w->pres[rid - 1u].merged = 1;
        }
        if (p.is_double)
            s->dsum += p.as_double;
        else
            s->isum += p.as_int;
    }
}

static void p2m__w_prom_build(p2m__w_prom *w) {
    size_t res, m;
    for (res = 0; res < p2m_result_resource_count(w->c.r); res++) {
        p2m__w_resv rv;
        rv.n_ra = p2m_result_resource_attributes(w->c.r, res, w->ra, w->ra_cap);
        rv.ra = w->ra;
        rv.name = p2m__w_find(rv.ra, rv.n_ra, "service.name");
        rv.ns = p2m__w_find(rv.ra, rv.n_ra, "service.namespace");
        rv.inst = p2m__w_find(rv.ra, rv.n_ra, "service.instance.id");
        p2m__w_target_info(w, &rv);
        p2m__w_identity(w, res, rv.n_ra);
        for (m = 0; m < p2m_result_metric_count(w->c.r, res); m++)
            p2m__w_prom_metric(w, &rv, res, m);
    }
}

/* ---- Prometheus: the text ----------------------------------------------------------- */

static void p2m__w_prom_number(p2m__w_sink *s, const p2m__w_fam *f, const p2m__w_ser *x) {
    double d;
    if (!f->is_double && f->mul == 1 && f->div == 1) {
        p2m__w_i64(s, x->isum);
        return;
    }
    d = (x->dsum + (double)x->isum) * f->mul / f->div; /* integers summed first, then scaled once */
    if (p2m__w_isnan(d))
        p2m__w_str(s, "NaN");
    else if (p2m__w_isinf(d))
        p2m__w_str(s, d > 0 ? "+Inf" : "-Inf");
    else
        p2m__w_finite(s, d);
}

static void p2m__w_prom_text(p2m__w_sink *s, const p2m__w_prom *w) {
    size_t f, i;
    for (f = 0; f < w->n_fam; f++) {
        const p2m__w_fam *fa = &w->fam[f];
        const char *name = w->store.buf + fa->name_off;
        p2m_str help;
        if (fa->target) {
            help = p2m__w_cstr_str("Target metadata");
        } else {
            p2m_metric_info info;
            p2m_result_metric(w->c.r, fa->res, fa->metric, &info);
            help = info.description;
        }
        if (help.len && help.ptr[0] != '\0') {
            p2m__w_str(s, "# HELP ");
            p2m__w_put(s, name, fa->name_len);
            p2m__w_put(s, " ", 1);
            s->esc = P2M__W_ESC_HELP;
            s->stop_nul = 1;
            p2m__w_put(s, help.ptr, help.len);
            s->esc = P2M__W_ESC_NONE;
            s->stop_nul = 0;
            s->stopped = 0;
            p2m__w_put(s, "\n", 1);
        }
        p2m__w_str(s, "# TYPE ");
        p2m__w_put(s, name, fa->name_len);
        p2m__w_str(s, fa->gauge ? " gauge\n" : " counter\n");
        for (i = 0; i < w->n_ser; i++) {
            const p2m__w_ser *x = &w->ser[i];
            if (x->fam != f)
                continue;
            p2m__w_put(s, name, fa->name_len);
            if (x->lab_len) {
                p2m__w_put(s, "{", 1);
                p2m__w_put(s, w->store.buf + x->lab_off, x->lab_len);
                p2m__w_put(s, "}", 1);
            }
            p2m__w_put(s, " ", 1);
            p2m__w_prom_number(s, fa, x);
            p2m__w_put(s, "\n", 1);
        }
    }
}

P2M_API p2m_status p2m_write_prom(const p2m_result *r, const p2m_prom_options *opt, void *scratch,
                                  size_t scratch_size, void *out, size_t cap, size_t *out_size,
                                  p2m_error *err) {
    p2m__w_carve cv;
    p2m__w_psize z;
    p2m__w_prom w;
    p2m__w_sink s;
    size_t need, i, merged = 0;
    char *text;
    p2m_status cs;
    if (out_size)
        *out_size = 0;
    if (err)
        P2M_MEMSET(err, 0, sizeof *err);
    if (opt && (cs = p2m__check_size(opt, P2M__PROM_FIRST, sizeof *opt,
                                     "prom_options.struct_size", err)) != P2M_OK)
        return cs;
    if (opt && opt->merged_resources)
        *opt->merged_resources = 0;
    if (!r) {
        (void)p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("the result must not be NULL"));
        return P2M_ERR_ARGUMENT;
    }
    P2M_MEMSET(&w, 0, sizeof w);
    w.c.r = r;
    w.opt = opt;
    p2m__w_psize_counts(r, &z);
    p2m__w_carve_init(&cv, scratch, scratch_size);
    p2m__w_prom_carve(&cv, r, &z, &w);
    p2m__w_psize_text(r, opt, &w, &z);
    w.c.nest = (unsigned char *)p2m__w_take(&cv, z.nest);
    w.c.nest_cap = z.nest;
    text = (char *)p2m__w_take(&cv, z.text);
    need = cv.used ? (P2M__W_ALIGN - 1u) + cv.used : 0u;
    if (z.unknown || need > scratch_size || !text || !w.slot || (z.nest && !w.c.nest)) {
        (void)p2m__need(err, P2M_ERR_MEMORY, need, P2M__MSG("scratch memory too small"));
        return P2M_ERR_MEMORY;
    }
    P2M_MEMSET(w.slot, 0, (w.slot_mask + 1u) * sizeof(uint32_t));
    p2m__w_sink_init(&w.store, text, z.text);
    p2m__w_prom_build(&w);
    if (w.c.why || w.store.n > z.text) {
        (void)p2m__fail(err, P2M_ERR_MALFORMED, 0,
                    w.c.why ? w.c.why : P2M__MSG("label text over its bound"));
        return P2M_ERR_MALFORMED;
    }
    p2m__w_sink_init(&s, 0, 0);
    p2m__w_prom_text(&s, &w);
    if (!out || cap < s.n) {
        (void)p2m__need(err, P2M_ERR_OUTPUT_TOO_SMALL, s.n, P2M__MSG("output buffer too small"));
        return P2M_ERR_OUTPUT_TOO_SMALL;
    }
    need = s.n;
    p2m__w_sink_init(&s, out, cap);
    p2m__w_prom_text(&s, &w);
    for (i = 0; i < p2m_result_resource_count(r); i++)
        merged += w.pres[i].merged != 0;
    if (opt && opt->merged_resources)
        *opt->merged_resources = merged;
    if (out_size)
        *out_size = need;
    return P2M_OK;
}
#endif /* !P2M_NO_PROM */

#endif /* text writers */

/* Does every rule read an attribute, with no default, into a key of its
   own in rule order (rule i into key i, as the default rules do), with at
   most one key after them (the function name's)? p2m__attribute_set then
   takes its short way (not in builds for size, which leave it 0). For a
   compiled or loaded engine. */
static int p2m__rules_plain(const p2m_engine *e) {
    uint32_t i;
    if (P2M__FOR_SIZE || e->n_keys > e->n_rules + 1u) return 0;
    for (i = 0; i < e->n_rules; i++)
        if (e->rules[i].type != P2M_RULE_ATTRIBUTE || e->rules[i].deflt.len ||
            e->rules[i].out_key != i)
            return 0;
    return 1;
}

/* ======================================================================== */
#ifndef P2M_NO_FUNCTION
/* What the per-stack resolution must give, for a compiled or loaded engine
   (after the rules and patterns); ftype_slot is the slot of the frame type's key, if any. */
static void p2m__build_stack_props(p2m_engine *e, uint32_t ftype_slot) {
    uint32_t i;
    for (i = 0; i < e->n_rules; i++)
        if (e->rules[i].type == P2M_RULE_FRAME) e->frame_need |= 1u << e->rules[i].frame;
    if (e->rx_function) e->frame_need |= 1u << P2M__FR_FUNCTION;
    e->ftype_slot = P2M__NONE;
    if (e->frame_need & ~(1u << P2M__FR_FUNCTION)) e->ftype_slot = ftype_slot;
    e->stack_props = e->frame_need || e->filter[P2M__F_STACK].enabled || e->xstack_mask;
    if (e->stack_props) e->need_stacks = 1;
    e->need_names = e->metric[P2M_METRIC_FUNCTION].enabled ||
                    (e->frame_need & (1u << P2M__FR_FUNCTION | 1u << P2M__FR_SYSCALL)) ||
                    e->filter[P2M__F_STACK].enabled || e->xstack_mask;
}
#endif

/* ---- configuration compiler ---------------------------------------------
   p2m_engine_compile: validates a p2m_config (naming the field at fault),
   then builds the engine (keys, slots, rules, compiled patterns, metrics) in
   the caller's memory by a dry run that sizes it and a real run that places
   it. Reads p2m_config; writes only the engine. Tests: tests/c/test_api.c
   (config errors, sizes), tests/c/test_placement.c, tests/suite-config.sh. */

#ifndef P2M_NO_COMPILE
static const p2m_rule p2m__default_rules[2] = {
    {"process.executable.name", P2M_RULE_ATTRIBUTE, 0, "process.executable.name", 0, 0, 0},
    {"thread.name", P2M_RULE_ATTRIBUTE, 0, "thread.name", 0, 0, 0},
};

/* Names the configuration field at fault: base[idx].sub (idx < 0: no
   index). */
static void p2m__cfg_field(p2m_error *err, const char *base, long idx, const char *sub) {
    p2m__strlcpy(err->field, sizeof err->field, base);
    if (idx >= 0) {
        p2m__strlcat(err->field, sizeof err->field, "[");
        p2m__strlcatu(err->field, sizeof err->field, (uint64_t)idx);
        p2m__strlcat(err->field, sizeof err->field, "]");
    }
    if (sub) {
        p2m__strlcat(err->field, sizeof err->field, ".");
        p2m__strlcat(err->field, sizeof err->field, sub);
    }
}
static p2m_status p2m__cfg_fail(p2m_error *err, p2m_status st, const char *base, long idx,
                                const char *sub, const char *msg) {
    p2m__fail(err, st, 0, msg);
    if (err) p2m__cfg_field(err, base, idx, sub);
    return st;
}

static int p2m__nonempty(const char *s) { return s && s[0]; }

/* A NUL-terminated copy of s (NULL: ""); in a dry run only its length. */
static p2m_str p2m__copy_str(p2m__arena *a, const char *s) {
    p2m_str r;
    size_t n = s ? p2m__cstrlen(s) : 0;
    char *d = (char *)p2m__take(a, n + 1);
    r.ptr = d;
    r.len = n;
    if (!d) return r;
    if (n) P2M_MEMCPY(d, s, n);
    d[n] = 0;
    return r;
}

/* Index of name among the first n of list, or n. */
static uint32_t p2m__find_name(const char *const *list, uint32_t n, const char *name) {
    uint32_t i;
    for (i = 0; i < n; i++)
        if (p2m__streq(p2m__cstr(list[i]), name)) return i;
    return n;
}

/* Adds name to list unless it is there; -1 when it is new and the list is
   full. */
static int p2m__add_name(const char **list, uint32_t *n, uint32_t cap, const char *name) {
    if (p2m__find_name(list, *n, name) < *n) return 0;
    if (*n == cap) return -1;
    list[(*n)++] = name;
    return 0;
}

#define P2M__MSG_TIME_UNITS                                                                        \
    "must be one of ns, us, ms, s (or nanoseconds, microseconds, milliseconds, seconds)"
#define P2M__MSG_SIZE_UNITS "must be one of By, KiBy, MiBy (or bytes, kibibytes, mebibytes)"

static P2M__MUST p2m_status p2m__check_metric(const p2m_metric_config *m, const char *path,
                                              int is_cpu, p2m_error *err) {
    char f[40];
    const p2m__unitdef *u;
    if (!m->enabled) return P2M_OK;
    if (!p2m__nonempty(m->name)) {
        p2m__strlcpy(f, sizeof f, path);
        p2m__strlcat(f, sizeof f, ".metric_name");
        return p2m__cfg_fail(err, P2M_ERR_CONFIG, f, -1, 0, P2M__MSG("must not be empty"));
    }
    u = p2m__unit_find(m->unit);
    if (m->unit && (!u || u->kind != (is_cpu ? P2M__U_TIME : P2M__U_SIZE))) {
        p2m__strlcpy(f, sizeof f, path);
        p2m__strlcat(f, sizeof f, ".unit");
        return p2m__cfg_fail(err, P2M_ERR_CONFIG, f, -1, 0,
                             is_cpu ? P2M__MSG(P2M__MSG_TIME_UNITS)
                                    : P2M__MSG(P2M__MSG_SIZE_UNITS));
    }
#ifdef P2M_NO_FLOAT
    if (u && u->per > 1u) {
        p2m__strlcpy(f, sizeof f, path);
        p2m__strlcat(f, sizeof f, ".unit");
        return p2m__cfg_fail(err, P2M_ERR_UNSUPPORTED, f, -1, 0, P2M__MSG(P2M__MSG_NO_FLOAT));
    }
#endif
    return P2M_OK;
}

static P2M__MUST p2m_status p2m__pat_check(const char *text, const char *base, long idx,
                                           const char *sub, p2m_error *err);

#if P2M_MAX_EXTRA > 0
/* Where the "type/unit" text t splits: the index of its last '/', or 0 when
   it has none or either side is empty. */
static size_t p2m__type_split(const char *t) {
    size_t n = t ? p2m__cstrlen(t) : 0, k = n;
    while (k > 0 && t[k - 1] != '/') k--;
    return k >= 2 && k < n ? k - 1 : 0;
}

/* The unit a declared metric gets without one: from its first sample type. */
static const char *p2m__extra_unit(const p2m_extra_metric *x) {
    const char *t = x->sample_types[0];
    p2m_str u = p2m__cstr(t + p2m__type_split(t) + 1);
    if (p2m__time_unit_ns(u)) return "ns";
    if (p2m__streq(u, "bytes")) return "By";
    return "1";
}

static P2M__NOINLINE P2M__MUST p2m_status p2m__check_extra(const p2m_config *cfg, size_t i,
                                                           p2m_error *err) {
    const p2m_extra_metric *x = &cfg->extra[i];
    const p2m__unitdef *u;
    size_t j, k;
    int snap = -1;
    if (!p2m__nonempty(x->name))
        return p2m__cfg_fail(err, P2M_ERR_CONFIG, "metrics.extra", (long)i, "metric_name",
                             P2M__MSG("must not be empty"));
    for (k = 0; k <= i + 3u; k++) {
        const char *other = k < i ? cfg->extra[k].name
                            : k == i ? 0
                            : k == i + 1u ? (cfg->cpu.enabled ? cfg->cpu.name : 0)
                            : k == i + 2u ? (cfg->memory.enabled ? cfg->memory.name : 0)
                            : (cfg->function.enabled ? cfg->function.name : 0);
        if (other && p2m__streq(p2m__cstr(x->name), other))
            return p2m__cfg_fail(err, P2M_ERR_CONFIG, "metrics.extra", (long)i, "metric_name",
                                 P2M__MSG("must differ from every other metric's name"));
    }
    if (x->unit && !x->unit[0])
        return p2m__cfg_fail(err, P2M_ERR_CONFIG, "metrics.extra", (long)i, "unit",
                             P2M__MSG("must not be empty"));
    if (!x->n_sample_types || !x->sample_types)
        return p2m__cfg_fail(err, P2M_ERR_CONFIG, "metrics.extra", (long)i, "sample_types",
                             P2M__MSG("needs at least one sample type, written type/unit"));
    for (j = 0; j < x->n_sample_types; j++)
        if (!p2m__type_split(x->sample_types[j]))
            return p2m__cfg_fail(
                err, P2M_ERR_CONFIG, "metrics.extra", (long)i, "sample_types",
                P2M__MSG("each entry must be written type/unit, as off_cpu/nanoseconds"));
    u = p2m__unit_find(x->unit ? x->unit : p2m__extra_unit(x));
#ifdef P2M_NO_FLOAT
    if (u && u->per > 1u)
        return p2m__cfg_fail(err, P2M_ERR_UNSUPPORTED, "metrics.extra", (long)i, "unit",
                             P2M__MSG(P2M__MSG_NO_FLOAT));
#endif
    for (j = 0; j < x->n_sample_types; j++) {
        const char *t = x->sample_types[j];
        size_t cut = p2m__type_split(t);
        p2m_str ty, un;
        int is_snap;
        ty.ptr = t;
        ty.len = cut;
        un = p2m__cstr(t + cut + 1);
        is_snap = p2m__starts(ty, "inuse_");
        if (snap >= 0 && is_snap != snap)
            return p2m__cfg_fail(
                err, P2M_ERR_CONFIG, "metrics.extra", (long)i, "sample_types",
                P2M__MSG("mixes snapshot (inuse_*) and accrued sample types; declare two metrics"));
        snap = is_snap;
        if (u && u->kind == P2M__U_TIME && !p2m__time_unit_ns(un) && !p2m__streq(un, "count"))
            return p2m__cfg_fail(
                err, P2M_ERR_CONFIG, "metrics.extra", (long)i, "sample_types",
                P2M__MSG("a metric in a time unit takes sample types in a time unit or count"));
        if (u && u->kind == P2M__U_SIZE && !p2m__streq(un, "bytes"))
            return p2m__cfg_fail(err, P2M_ERR_CONFIG, "metrics.extra", (long)i, "sample_types",
                                 P2M__MSG("a metric in a size unit takes sample types in bytes"));
    }
    if (!x->stack_pattern) return P2M_OK;
#ifdef P2M_NO_FUNCTION
    return p2m__cfg_fail(err, P2M_ERR_UNSUPPORTED, "metrics.extra", (long)i, "stack_pattern",
                         P2M__MSG("stacks are compiled out (P2M_NO_FUNCTION)"));
#else
    if (!x->stack_pattern[0])
        return p2m__cfg_fail(err, P2M_ERR_CONFIG, "metrics.extra", (long)i, "stack_pattern",
                             P2M__MSG("must not be empty (leave it out to take every sample)"));
    return p2m__pat_check(x->stack_pattern, "metrics.extra", (long)i, "stack_pattern", err);
#endif
}
#endif

static P2M__MUST p2m_status p2m__check_filter(const p2m_filter *fl, const char *path,
                                              p2m_error *err) {
    size_t i;
    if (!fl->enabled) return P2M_OK;
    if (!p2m__nonempty(fl->pattern) && fl->n_patterns == 0)
        return p2m__cfg_fail(err, P2M_ERR_CONFIG, path, -1, "pattern",
                             P2M__MSG("an enabled filter needs pattern or patterns"));
    for (i = 0; i < fl->n_patterns; i++)
        if (!fl->patterns || !p2m__nonempty(fl->patterns[i])) {
            char f[40];
            p2m__strlcpy(f, sizeof f, path);
            p2m__strlcat(f, sizeof f, ".patterns");
            return p2m__cfg_fail(err, P2M_ERR_CONFIG, f, (long)i, 0, P2M__MSG("must not be empty"));
        }
    for (i = 0; i < fl->n_keys; i++)
        if (!fl->keys || !p2m__nonempty(fl->keys[i])) {
            char f[40];
            p2m__strlcpy(f, sizeof f, path);
            p2m__strlcat(f, sizeof f, ".keys");
            return p2m__cfg_fail(err, P2M_ERR_CONFIG, f, (long)i, 0, P2M__MSG("must not be empty"));
        }
    return P2M_OK;
}

/* Checks a pattern where the configuration gives it (base[idx].sub): a
   syntax error names the field and the position in the pattern. */
static P2M__MUST p2m_status p2m__pat_check(const char *text, const char *base, long idx,
                                           const char *sub, p2m_error *err) {
    const p2m_regex *re;
    /* the caller's err receives the regex compiler's answer (no second
       p2m_error on this, the deepest path of p2m_engine_compile) */
    p2m_status st = p2m_regex_compile(text, p2m__cstrlen(text), 0, 0, &re, err);
    char pos[32];
    size_t n, i;
    if (st == P2M_ERR_MEMORY || st == P2M_OK) {
        p2m__clear(err);
        return P2M_OK;
    }
    if (!err) return st;
    err->needed = 0;
    p2m__cfg_field(err, base, idx, sub);
    if (st != P2M_ERR_CONFIG) return st;
    /* "position N: " in front of the message, which moves right */
    p2m__strlcpy(pos, sizeof pos, "position ");
    p2m__strlcatu(pos, sizeof pos, err->offset);
    p2m__strlcat(pos, sizeof pos, ": ");
    n = p2m__cstrlen(pos);
    i = p2m__cstrlen(err->message);
    if (i + n >= sizeof err->message) i = sizeof err->message - 1u - n;
    err->message[i + n] = 0;
    while (i-- > 0) err->message[i + n] = err->message[i];
    for (i = 0; i < n; i++) err->message[i] = pos[i];
    return st;
}

static size_t p2m__regex_need(const char *pattern, size_t len);

/* Compiles a checked pattern into the arena (the size p2m__regex_need
   gives includes the pattern's own alignment; no p2m_error on the stack
   here, on the deepest path of p2m_engine_compile). */
static const p2m_regex *p2m__pat_compile(p2m__arena *a, const char *text, size_t *scratch) {
    const size_t len = p2m__cstrlen(text), need = p2m__regex_need(text, len);
    const p2m_regex *re = 0;
    if (a->base && p2m_regex_compile(text, len, a->base + a->used, need, &re, 0) != P2M_OK) re = 0;
    a->used += need;
    if (re && p2m_regex_scratch_size(re) > *scratch) *scratch = p2m_regex_scratch_size(re);
    return re;
}

#if P2M_MAX_EXTRA > 0
/* The declared metrics of a validated configuration, built into the engine
   (out of line: its frame stays off the deepest path of p2m_engine_compile,
   which a firmware stack budget bounds). e NULL: a dry run. */
static P2M__NOINLINE void p2m__build_extra(p2m_engine *e, const p2m_config *cfg,
                                           p2m__arena *arena) {
    size_t i, n_xtypes = 0;
    p2m__xtype *xtypes;
    uint32_t nx = 0;
    for (i = 0; i < cfg->n_extra; i++) n_xtypes += cfg->extra[i].n_sample_types;
    xtypes = (p2m__xtype *)p2m__take(arena, n_xtypes * sizeof(p2m__xtype));
    if (e) {
        e->n_extra = (uint32_t)cfg->n_extra;
        e->n_xtypes = (uint32_t)n_xtypes;
        e->xtypes = xtypes;
    }
    for (i = 0; i < cfg->n_extra; i++) {
        const p2m_extra_metric *x = &cfg->extra[i];
        p2m__metric dry = {0, 0, 0, 0, 0u, {0, 0}, {0, 0}, {0, 0}, 0},
                    *o = e ? &e->metric[P2M_METRIC_EXTRA + i] : &dry;
        const char *unit = x->unit ? x->unit : p2m__extra_unit(x);
        const p2m__unitdef *u = p2m__unit_find(unit);
        size_t j;
        o->enabled = 1;
        o->name = p2m__copy_str(arena, x->name);
        o->unit = u ? p2m__cstr(u->ucum) : p2m__copy_str(arena, unit);
        o->ukind = u ? (int)u->kind : P2M__U_OTHER;
        o->per_unit = u ? u->per : 1u;
        o->is_double = u && u->per > 1u;
        for (j = 0; j < x->n_sample_types; j++) {
            p2m__xtype dry_t = {{0, 0}, {0, 0}, 0}, *t = xtypes ? &xtypes[nx++] : &dry_t;
            size_t cut = p2m__type_split(x->sample_types[j]);
            t->type = p2m__copy_str(arena, x->sample_types[j]);
            t->unit.ptr = t->type.ptr ? t->type.ptr + cut + 1 : 0;
            t->unit.len = t->type.len - cut - 1u;
            t->type.len = cut;
            t->metric = P2M_METRIC_EXTRA + (uint32_t)i;
            o->is_gauge = p2m__starts(p2m__cstr(x->sample_types[j]), "inuse_");
        }
        if (x->description) {
            o->description = p2m__copy_str(arena, x->description);
        } else { /* "Summed from the samples of off_cpu/nanoseconds, ..." */
            size_t cap = 48u, at;
            char *d;
            for (j = 0; j < x->n_sample_types; j++) cap += p2m__cstrlen(x->sample_types[j]) + 2u;
            d = (char *)p2m__take(arena, cap);
            if (!d) continue;
            p2m__strlcpy(d, cap,
                         o->is_gauge ? "In use at the end of the profile, from "
                                     : "Summed from the samples of ");
            for (j = 0; j < x->n_sample_types; j++) {
                if (j) p2m__strlcat(d, cap, ", ");
                p2m__strlcat(d, cap, x->sample_types[j]);
            }
            at = p2m__cstrlen(d);
            o->description.ptr = d;
            o->description.len = at;
        }
    }
}
#endif

/* What validation collects for the build: the rules in force, the distinct
   output keys (first-written order) and slots (effective-attribute keys the
   engine reads). */
typedef struct p2m__names {
    const p2m_rule *rules;
    size_t n_rules;
    uint32_t n_keys, n_slots, n_pats;
    const char *keys[P2M__MAX_RULES + 1];
    const char *slots[P2M__MAX_SLOTS];
} p2m__names;

static const p2m_filter *p2m__cfg_filter(const p2m_config *cfg, uint32_t f) {
    return f == P2M__F_PROCESS   ? &cfg->process_filter
           : f == P2M__F_THREAD  ? &cfg->thread_filter
           : f == P2M__F_PATTERN ? &cfg->pattern_filter
                                 : &cfg->stack_filter;
}
static const char *const p2m__filter_path[4] = {"process_filter", "thread_filter",
                                                           "pattern_filter", "stack_filter"};
static const char *const p2m__filter_patterns_path[4] = {
    "process_filter.patterns", "thread_filter.patterns", "pattern_filter.patterns",
    "stack_filter.patterns"};

/* The j-th pattern of a filter: 0 is `pattern`, 1.. are `patterns`. */
static const char *p2m__filter_pat(const p2m_filter *fl, size_t j) {
    return j == 0 ? fl->pattern : fl->patterns[j - 1];
}

/* Validation, part 1: the settings that stand alone. */
static P2M__MUST p2m_status p2m__check_settings(const p2m_config *cfg, p2m_error *err) {
    p2m_status st;
    uint32_t f;
    if (!cfg->cpu.enabled && !cfg->memory.enabled)
        return p2m__cfg_fail(
            err, P2M_ERR_CONFIG, "metrics.cpu.enabled", -1, 0,
            P2M__MSG("at least one of metrics.cpu and metrics.memory must be enabled"));
    if ((st = p2m__check_metric(&cfg->cpu, "metrics.cpu", 1, err)) != P2M_OK) return st;
    if ((st = p2m__check_metric(&cfg->memory, "metrics.memory", 0, err)) != P2M_OK) return st;
    if ((st = p2m__check_metric(&cfg->function, "metrics.function", 1, err)) != P2M_OK) return st;
#ifdef P2M_NO_FUNCTION
    if (cfg->function.enabled)
        return p2m__cfg_fail(err, P2M_ERR_UNSUPPORTED, "metrics.function", -1, "enabled",
                             P2M__MSG("the function metric is compiled out (P2M_NO_FUNCTION)"));
#endif
    if (cfg->function.enabled) {
        if (cfg->function_mode != P2M_FUNCTION_SELF && cfg->function_mode != P2M_FUNCTION_INCLUSIVE)
            return p2m__cfg_fail(err, P2M_ERR_CONFIG, "metrics.function", -1, "mode",
                                 P2M__MSG("must be self or inclusive"));
        if (!p2m__nonempty(cfg->function_attribute_key))
            return p2m__cfg_fail(err, P2M_ERR_CONFIG, "metrics.function", -1, "attribute_key",
                                 P2M__MSG("must not be empty"));
    }
    if (cfg->temporality != P2M_TEMPORALITY_DELTA && cfg->temporality != P2M_TEMPORALITY_CUMULATIVE)
        return p2m__cfg_fail(err, P2M_ERR_CONFIG, "temporality", -1, 0,
                             P2M__MSG("must be delta or cumulative"));
#ifdef P2M_NO_CUMULATIVE
    if (cfg->temporality == P2M_TEMPORALITY_CUMULATIVE)
        return p2m__cfg_fail(
            err, P2M_ERR_UNSUPPORTED, "temporality", -1, 0,
            P2M__MSG("cumulative temporality is compiled out (P2M_NO_CUMULATIVE)"));
#endif
    if (cfg->temporality == P2M_TEMPORALITY_CUMULATIVE) {
        if (cfg->state_max_series < 1 || cfg->state_max_series > 0x1000000u)
            return p2m__cfg_fail(err, P2M_ERR_CONFIG, "state_max_series", -1, 0,
                                 P2M__MSG("must be 1 to 16777216"));
        if (cfg->state_bytes < 64 || cfg->state_bytes > 0xFFFFFFF0u)
            return p2m__cfg_fail(err, P2M_ERR_CONFIG, "state_bytes", -1, 0,
                                 P2M__MSG("must be 64 to 4294967280"));
    }
    if (cfg->max_series < 1)
        return p2m__cfg_fail(err, P2M_ERR_CONFIG, "max_series", -1, 0,
                             P2M__MSG("must be at least 1"));
    if (cfg->max_series > 0x1000000u)
        return p2m__cfg_fail(err, P2M_ERR_CONFIG, "max_series", -1, 0,
                             P2M__MSG("must be at most 16777216"));
    if (cfg->layout != P2M_LAYOUT_AUTO && cfg->layout != P2M_LAYOUT_V1_8 &&
        cfg->layout != P2M_LAYOUT_V1_9 && cfg->layout != P2M_LAYOUT_V1_10)
        return p2m__cfg_fail(err, P2M_ERR_CONFIG, "layout", -1, 0,
                             P2M__MSG("must be auto, v1.8, v1.9 or v1.10"));
    for (f = 0; f < P2M__NFILTER; f++)
        if ((st = p2m__check_filter(p2m__cfg_filter(cfg, f), p2m__filter_path[f], err)) != P2M_OK)
            return st;
#ifdef P2M_NO_FUNCTION
    if (cfg->stack_filter.enabled)
        return p2m__cfg_fail(err, P2M_ERR_UNSUPPORTED, "stack_filter", -1, "enabled",
                             P2M__MSG("stacks are compiled out (P2M_NO_FUNCTION)"));
#else
    if (cfg->stack_filter.enabled && cfg->stack_filter.n_keys)
        return p2m__cfg_fail(err, P2M_ERR_CONFIG, "stack_filter", -1, "keys",
                             P2M__MSG("the stack filter matches function names; it takes no keys"));
#endif
    return P2M_OK;
}

/* A frame rule: its `from`; *slot becomes the frame type's key when the
   property reads frame types (all but the function name). */
static P2M__MUST p2m_status p2m__check_frame_rule(const p2m_rule *r, size_t i, const char **slot,
                                                  p2m_error *err) {
#ifdef P2M_NO_FUNCTION
    (void)r;
    (void)slot;
    return p2m__cfg_fail(err, P2M_ERR_UNSUPPORTED, "attributes", (long)i, "type",
                         P2M__MSG("frame rules are compiled out (P2M_NO_FUNCTION)"));
#else
    if (!r->from || p2m__find_name(p2m__frame_froms, P2M__NFRAME, r->from) == P2M__NFRAME)
        return p2m__cfg_fail(
            err, P2M_ERR_CONFIG, "attributes", (long)i, "from",
            P2M__MSG("a frame rule needs from: type, kind, library, function or syscall"));
    if (!p2m__streq(p2m__cstr(r->from), "function")) *slot = p2m__frame_type_key;
    return P2M_OK;
#endif
}

/* Validation, part 2: the attribute rules; collects their keys and slots. */
static P2M__MUST p2m_status p2m__check_rules(const p2m_config *cfg, p2m__names *nm,
                                             p2m_error *err) {
    size_t i;
    p2m_status st;
    nm->rules = cfg->attributes ? cfg->attributes : p2m__default_rules;
    nm->n_rules = cfg->attributes ? cfg->n_attributes : 2;
    if (nm->n_rules > P2M__MAX_RULES)
        return p2m__cfg_fail(err, P2M_ERR_CONFIG, "attributes", -1, 0,
                             P2M__MSG("at most 64 rules"));
    for (i = 0; i < nm->n_rules; i++) {
        const p2m_rule *r = &nm->rules[i];
        const char *slot = 0, *slot_field = "from";
        if (!p2m__nonempty(r->key))
            return p2m__cfg_fail(err, P2M_ERR_CONFIG, "attributes", (long)i, "key",
                                 P2M__MSG("must not be empty"));
        switch (r->type) {
        case P2M_RULE_LITERAL:
            if (!r->value)
                return p2m__cfg_fail(err, P2M_ERR_CONFIG, "attributes", (long)i, "value",
                                     P2M__MSG("a literal rule needs a value"));
            break;
        case P2M_RULE_ATTRIBUTE:
            if (!p2m__nonempty(r->from))
                return p2m__cfg_fail(err, P2M_ERR_CONFIG, "attributes", (long)i, "from",
                                     P2M__MSG("an attribute rule needs from"));
            slot = r->from;
            break;
        case P2M_RULE_STRING_TABLE:
            break;
        case P2M_RULE_FRAME:
            if ((st = p2m__check_frame_rule(r, i, &slot, err)) != P2M_OK) return st;
            break;
        case P2M_RULE_REGEX:
            if (!p2m__nonempty(r->value))
                return p2m__cfg_fail(err, P2M_ERR_CONFIG, "attributes", (long)i, "value",
                                     P2M__MSG("a regex rule needs a pattern in value"));
            if (nm->n_pats == P2M__MAX_PATTERNS)
                return p2m__cfg_fail(err, P2M_ERR_CONFIG, "attributes", (long)i, "value",
                                     P2M__MSG("too many patterns"));
#ifdef P2M_NO_FUNCTION
            if (r->source && p2m__streq(p2m__cstr(r->source), "function"))
                return p2m__cfg_fail(err, P2M_ERR_UNSUPPORTED, "attributes", (long)i, "source",
                                     P2M__MSG("function names are compiled out (P2M_NO_FUNCTION)"));
#endif
            if ((st = p2m__pat_check(r->value, "attributes", (long)i, "value", err)) != P2M_OK)
                return st;
            nm->n_pats++;
            if (r->source && r->source[0] && !p2m__streq(p2m__cstr(r->source), "string_table") &&
                !p2m__streq(p2m__cstr(r->source), "function")) {
                slot = r->source;
                slot_field = "source";
            }
            break;
        default:
            return p2m__cfg_fail(err, P2M_ERR_CONFIG, "attributes", (long)i, "type",
                                 P2M__MSG("must be literal, attribute, regex, string_table or "
                                          "frame"));
        }
        if (slot && p2m__add_name(nm->slots, &nm->n_slots, P2M__MAX_SLOTS, slot) < 0)
            return p2m__cfg_fail(err, P2M_ERR_CONFIG, "attributes", (long)i, slot_field,
                                 P2M__MSG("too many distinct attribute keys"));
        (void)p2m__add_name(nm->keys, &nm->n_keys, P2M__MAX_RULES + 1u, r->key);
    }
    if (cfg->function.enabled)
        (void)p2m__add_name(nm->keys, &nm->n_keys, P2M__MAX_RULES + 1u,
                            cfg->function_attribute_key);
    return P2M_OK;
}

/* Validation, part 3: the filters' subjects (slots) and patterns. */
static P2M__MUST p2m_status p2m__check_filters(const p2m_config *cfg, p2m__names *nm,
                                               p2m_error *err) {
    uint32_t f;
    p2m_status st;
    for (f = 0; f < P2M__NFILTER; f++) {
        const p2m_filter *fl = p2m__cfg_filter(cfg, f);
        size_t n_subj = f == P2M__F_STACK ? 0u : 1u, j;
        if (!fl->enabled) continue;
        if (f == P2M__F_PROCESS && !p2m__nonempty(cfg->process_key))
            return p2m__cfg_fail(err, P2M_ERR_CONFIG, "process_key", -1, 0,
                                 P2M__MSG("must not be empty"));
        if (f == P2M__F_THREAD && !p2m__nonempty(cfg->thread_key))
            return p2m__cfg_fail(err, P2M_ERR_CONFIG, "thread_key", -1, 0,
                                 P2M__MSG("must not be empty"));
        if (f == P2M__F_PATTERN) {
            if (fl->n_keys > P2M__MAX_SLOTS)
                return p2m__cfg_fail(err, P2M_ERR_CONFIG, "pattern_filter", -1, "keys",
                                     P2M__MSG("too many keys"));
            n_subj = fl->n_keys;
        }
        for (j = 0; j < n_subj; j++) {
            const char *subj = f == P2M__F_PROCESS  ? cfg->process_key
                               : f == P2M__F_THREAD ? cfg->thread_key
                                                    : fl->keys[j];
            if (p2m__add_name(nm->slots, &nm->n_slots, P2M__MAX_SLOTS, subj) < 0)
                return p2m__cfg_fail(err, P2M_ERR_CONFIG, p2m__filter_path[f], -1, 0,
                                     P2M__MSG("too many distinct attribute keys"));
        }
        for (j = 0; j <= fl->n_patterns; j++) {
            const char *text = p2m__filter_pat(fl, j);
            if (!p2m__nonempty(text)) continue;
            if (nm->n_pats == P2M__MAX_PATTERNS)
                return p2m__cfg_fail(err, P2M_ERR_CONFIG, p2m__filter_path[f], -1, 0,
                                     P2M__MSG("too many patterns"));
            st = p2m__pat_check(text, j == 0 ? p2m__filter_path[f] : p2m__filter_patterns_path[f],
                                j == 0 ? -1 : (long)(j - 1), j == 0 ? "pattern" : 0, err);
            if (st != P2M_OK) return st;
            nm->n_pats++;
        }
    }
    return P2M_OK;
}

/* Validation, part 4: type rules and declared metrics. */
static P2M__MUST p2m_status p2m__check_types(const p2m_config *cfg, p2m_error *err) {
    size_t i;
    if (cfg->n_type_rules && !cfg->type_rules)
        return p2m__cfg_fail(err, P2M_ERR_CONFIG, "type_rules", -1, 0,
                             P2M__MSG("NULL with a non-zero count"));
    for (i = 0; i < cfg->n_type_rules; i++) {
        const p2m_type_rule *t = &cfg->type_rules[i];
        if (!p2m__nonempty(t->type))
            return p2m__cfg_fail(err, P2M_ERR_CONFIG, "type_rules", (long)i, "type",
                                 P2M__MSG("must not be empty"));
        if (!p2m__nonempty(t->unit))
            return p2m__cfg_fail(err, P2M_ERR_CONFIG, "type_rules", (long)i, "unit",
                                 P2M__MSG("must not be empty"));
        if (t->metric != P2M_METRIC_NONE && t->metric != P2M_METRIC_CPU &&
            t->metric != P2M_METRIC_MEMORY)
            return p2m__cfg_fail(err, P2M_ERR_CONFIG, "type_rules", (long)i, "metric",
                                 P2M__MSG("must be cpu, memory or none"));
        if (t->metric != P2M_METRIC_NONE && !p2m__pos_finite(t->scale))
            return p2m__cfg_fail(err, P2M_ERR_CONFIG, "type_rules", (long)i, "scale",
                                 P2M__MSG("must be positive and finite"));
#ifdef P2M_NO_FLOAT
        if (t->metric != P2M_METRIC_NONE && !p2m__whole(t->scale))
            return p2m__cfg_fail(err, P2M_ERR_UNSUPPORTED, "type_rules", (long)i, "scale",
                                 P2M__MSG("must be a whole number: floating point is compiled "
                                          "out (P2M_NO_FLOAT)"));
#endif
    }
    if (cfg->n_extra && !cfg->extra)
        return p2m__cfg_fail(err, P2M_ERR_CONFIG, "metrics.extra", -1, 0,
                             P2M__MSG("NULL with a non-zero count"));
    if (cfg->n_extra > P2M_MAX_EXTRA)
        return p2m__cfg_fail(
            err, P2M_ERR_CONFIG, "metrics.extra", -1, 0,
            P2M__MSG("more declared metrics than this build holds (P2M_MAX_EXTRA)"));
#if P2M_MAX_EXTRA > 0
    for (i = 0; i < cfg->n_extra; i++) {
        p2m_status st = p2m__check_extra(cfg, i, err);
        if (st != P2M_OK) return st;
    }
#endif
    return P2M_OK;
}

/* The build steps below stay out of line so that their frames are not on
   the path to the regex compiler, the deepest of p2m_engine_compile (a
   firmware stack budget bounds it). */

/* Build: the settings and the three built-in metrics. */
static P2M__NOINLINE void p2m__build_metrics(p2m_engine *e, const p2m_config *cfg, p2m__arena *a) {
    static const char *const defnames[4] = {"", "cpu_time", "memory_allocation",
                                            "function_cpu_time"};
    static const char *const defdesc[4] = {
        "",
        "CPU time summed from the samples of CPU profiles",
        "Bytes allocated, summed from the samples of allocation profiles",
        "CPU time summed per function from the samples of CPU profiles"};
    uint32_t i;
    if (e) {
        e->magic = P2M__MAGIC;
        e->temporality = cfg->temporality;
        e->max_series = cfg->max_series;
        e->layout = cfg->layout;
        e->strict = cfg->strict ? 1 : 0;
        e->function_mode = cfg->function_mode;
        if (cfg->temporality == P2M_TEMPORALITY_CUMULATIVE) {
            e->state_series = cfg->state_max_series;
            e->state_bytes = cfg->state_bytes;
        }
    }
    for (i = P2M_METRIC_CPU; i <= P2M_METRIC_FUNCTION; i++) {
        const p2m_metric_config *m = i == P2M_METRIC_CPU      ? &cfg->cpu
                                     : i == P2M_METRIC_MEMORY ? &cfg->memory
                                                              : &cfg->function;
        p2m__metric dry = {0, 0, 0, 0, 0u, {0, 0}, {0, 0}, {0, 0}, 0},
                    *o = e ? &e->metric[i] : &dry;
        const char *unit = m->unit                                          ? m->unit
                           : i == P2M_METRIC_MEMORY                         ? "By"
                           : i == P2M_METRIC_FUNCTION && cfg->cpu.unit      ? cfg->cpu.unit
                                                                            : "ns";
        const p2m__unitdef *u = p2m__unit_find(unit);
        o->enabled = m->enabled ? 1 : 0;
        o->name = p2m__copy_str(a, m->name ? m->name : defnames[i]);
        o->description = p2m__copy_str(a, m->description ? m->description : defdesc[i]);
        /* a disabled metric's unit is not checked: it may be anything */
        o->unit = u ? p2m__cstr(u->ucum) : p2m__copy_str(a, unit);
        o->ukind = i == P2M_METRIC_MEMORY ? P2M__U_SIZE : P2M__U_TIME;
        o->per_unit = u ? u->per : 1u;
        o->is_double = u && u->per > 1u;
    }
}

/* Build: keys, slots and attribute rules (regex rules get their pattern in
   p2m__build_patterns). */
static P2M__NOINLINE void p2m__build_rules(p2m_engine *e, const p2m_config *cfg,
                                           const p2m__names *nm, p2m__arena *a) {
    uint32_t i;
    p2m__rule *rules = (p2m__rule *)p2m__take(a, nm->n_rules * sizeof(p2m__rule));
    p2m_str *keys = (p2m_str *)p2m__take(a, nm->n_keys * sizeof(p2m_str));
    p2m_str *slots = (p2m_str *)p2m__take(a, nm->n_slots * sizeof(p2m_str));
    for (i = 0; i < nm->n_keys; i++) {
        p2m_str k = p2m__copy_str(a, nm->keys[i]);
        if (keys) keys[i] = k;
    }
    for (i = 0; i < nm->n_slots; i++) {
        p2m_str k = p2m__copy_str(a, nm->slots[i]);
        if (slots) slots[i] = k;
    }
    if (e) {
        e->n_keys = nm->n_keys;
        e->n_slots = nm->n_slots;
        e->n_rules = (uint32_t)nm->n_rules;
        e->rules = rules;
        e->keys = keys;
        e->slots = slots;
        e->fkey = cfg->function.enabled
                      ? p2m__find_name(nm->keys, nm->n_keys, cfg->function_attribute_key)
                      : P2M__NONE;
        e->need_stacks = cfg->function.enabled;
    }
    for (i = 0; i < nm->n_rules; i++) {
        const p2m_rule *r = &nm->rules[i];
        p2m__rule dry = {P2M_RULE_LITERAL, 0, 0, 0, 0, 0, 0, 0, {0, 0}, {0, 0}},
                  *o = rules ? &rules[i] : &dry;
        P2M_MEMSET(o, 0, sizeof *o);
        o->type = r->type;
        o->out_key = p2m__find_name(nm->keys, nm->n_keys, r->key);
        o->slot = r->type == P2M_RULE_ATTRIBUTE ? p2m__find_name(nm->slots, nm->n_slots, r->from)
                                                : P2M__NONE;
        o->index = r->index;
#ifndef P2M_NO_FUNCTION
        if (r->type == P2M_RULE_FRAME)
            o->frame = p2m__find_name(p2m__frame_froms, P2M__NFRAME, r->from);
#endif
        o->value = p2m__copy_str(a, r->value);
        o->deflt = p2m__copy_str(a, r->default_value);
        if (r->type != P2M_RULE_REGEX) continue;
        if (!r->source || !r->source[0] || p2m__streq(p2m__cstr(r->source), "string_table")) {
            o->source = P2M__SRC_STRING_TABLE;
        } else if (p2m__streq(p2m__cstr(r->source), "function")) {
            o->source = P2M__SRC_FUNCTION;
            if (e) e->need_stacks = e->rx_function = 1;
        } else {
            o->source = P2M__SRC_ATTRIBUTE;
            o->slot = p2m__find_name(nm->slots, nm->n_slots, r->source);
        }
    }
}

/* Build: every pattern, rules first, then filters; the filters' subjects.
   0 when a pattern that compiled in validation does not compile now. */
static P2M__MUST int p2m__build_patterns(p2m_engine *e, const p2m_config *cfg, const p2m__names *nm,
                               p2m__arena *a) {
    const p2m_regex **rxs =
        (const p2m_regex **)p2m__take(a, nm->n_pats * sizeof(const p2m_regex *));
    const p2m_regex *re;
    uint32_t i, f, nrx = 0;
    size_t scratch = 0;
    for (i = 0; i < nm->n_rules; i++) {
        if (nm->rules[i].type != P2M_RULE_REGEX) continue;
        re = p2m__pat_compile(a, nm->rules[i].value, &scratch);
        if (!e || !rxs) continue;
        if (!re) return 0;
        rxs[nrx] = re;
        e->rules[i].rx = re;
        e->rules[i].rx_index = nrx++;
    }
    if (e) e->n_rx_rules = nrx;
    for (f = 0; f < P2M__NFILTER; f++) {
        const p2m_filter *fl = p2m__cfg_filter(cfg, f);
        p2m__filter dry = {0, 0, 0, 0, 0, 0}, *o = e ? &e->filter[f] : &dry;
        size_t j;
        if (!fl->enabled) continue;
        P2M_MEMSET(o, 0, sizeof *o);
        o->enabled = 1;
        if (e) e->any_filter = 1;
        o->rx = rxs ? rxs + nrx : 0;
        for (j = 0; j <= fl->n_patterns; j++) {
            if (!p2m__nonempty(p2m__filter_pat(fl, j))) continue;
            re = p2m__pat_compile(a, p2m__filter_pat(fl, j), &scratch);
            if (!e || !rxs) continue;
            if (!re) return 0;
            rxs[nrx++] = re;
            o->n_rx++;
        }
        o->n_slots = f == P2M__F_PATTERN ? (uint32_t)fl->n_keys : f == P2M__F_STACK ? 0u : 1u;
        o->slots = (uint32_t *)p2m__take(a, (size_t)o->n_slots * 4u);
        o->all_keys = f == P2M__F_PATTERN && fl->n_keys == 0;
        for (j = 0; o->slots && j < o->n_slots; j++)
            o->slots[j] = p2m__find_name(nm->slots, nm->n_slots,
                                         f == P2M__F_PROCESS ? cfg->process_key
                                         : f == P2M__F_THREAD ? cfg->thread_key : fl->keys[j]);
    }
#if P2M_MAX_EXTRA > 0
    for (i = 0; i < cfg->n_extra; i++) { /* declared metrics' stack patterns */
        const char *text = cfg->extra[i].stack_pattern;
        if (!text) continue;
        re = p2m__pat_compile(a, text, &scratch);
        if (!e) continue;
        if (!re) return 0;
        e->metric[P2M_METRIC_EXTRA + i].stack_rx = re;
        e->xstack_mask |= (uint64_t)1 << i;
    }
#endif
    if (e) e->rx_scratch = scratch;
    return 1;
}


/* Build: the type rules. */
static P2M__NOINLINE void p2m__build_type_rules(p2m_engine *e, const p2m_config *cfg,
                                                p2m__arena *a) {
    size_t i;
    p2m__type_rule *tr = (p2m__type_rule *)p2m__take(a, cfg->n_type_rules * sizeof(p2m__type_rule));
    if (e) {
        e->n_type_rules = (uint32_t)cfg->n_type_rules;
        e->type_rules = tr;
    }
    for (i = 0; i < cfg->n_type_rules; i++) {
        p2m__type_rule dry, *o;
        P2M_MEMSET(&dry, 0, sizeof dry);
        o = tr ? &tr[i] : &dry;
        o->type = p2m__copy_str(a, cfg->type_rules[i].type);
        o->unit = p2m__copy_str(a, cfg->type_rules[i].unit);
        o->metric = cfg->type_rules[i].metric;
        o->scale = cfg->type_rules[i].scale;
        p2m__type_rule_ints(o);
    }
}

/* Places the engine of a validated configuration: a dry run (a->base NULL;
   the build steps get e NULL and write nothing) counts its bytes; a real
   one builds it. 0 on an internal inconsistency. */
static P2M__MUST int p2m__build_engine(const p2m_config *cfg, const p2m__names *nm, p2m__arena *a,
                             p2m_engine **out) {
    p2m_engine *e = (p2m_engine *)p2m__take(a, sizeof *e);
    if (e) P2M_MEMSET(e, 0, sizeof *e);
    p2m__build_metrics(e, cfg, a);
#if P2M_MAX_EXTRA > 0
    p2m__build_extra(e, cfg, a);
#endif
    p2m__build_rules(e, cfg, nm, a);
    if (!p2m__build_patterns(e, cfg, nm, a)) return 0;
    if (e) e->plain_rules = p2m__rules_plain(e);
#ifndef P2M_NO_FUNCTION
    if (e) p2m__build_stack_props(e, p2m__find_name(nm->slots, nm->n_slots, p2m__frame_type_key));
#endif
    p2m__build_type_rules(e, cfg, a);
    *out = e;
    return 1;
}

/* Validates (naming the field at fault), sizes by a dry run of the build,
   then builds into mem. */
P2M_API p2m_status p2m_engine_compile(const p2m_config *cfg, void *mem, size_t mem_size,
                                      const p2m_engine **engine, p2m_error *err) {
    p2m__names nm;
    p2m__arena a;
    p2m_engine *e;
    p2m_status st;
    size_t need;
    p2m__clear(err);
    if (engine) *engine = 0;
    if (!cfg || !engine)
        return p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("cfg and engine must not be NULL"));
    if ((st = p2m__check_size(cfg, P2M__CONFIG_FIRST, sizeof *cfg, "struct_size", err)) != P2M_OK)
        return st;
    P2M_MEMSET(&nm, 0, sizeof nm);
    if ((st = p2m__check_settings(cfg, err)) != P2M_OK) return st;
    if ((st = p2m__check_rules(cfg, &nm, err)) != P2M_OK) return st;
    if ((st = p2m__check_filters(cfg, &nm, err)) != P2M_OK) return st;
    if ((st = p2m__check_types(cfg, err)) != P2M_OK) return st;

    a.base = 0;
    a.cap = 0;
    a.used = 0;
    if (!p2m__build_engine(cfg, &nm, &a, &e)) /* a dry run compiles nothing: it cannot fail */
        return p2m__fail(err, P2M_ERR_CONFIG, 0, P2M__MSG("engine sizing failed"));
    need = a.used + 7u; /* the arena starts at the first 8-byte aligned byte of mem */
    if (!mem || mem_size < need)
        return p2m__need(err, P2M_ERR_MEMORY, need, P2M__MSG("engine memory too small"));
    p2m__arena_over(&a, mem, mem_size);
    if (!p2m__build_engine(cfg, &nm, &a, &e))
        return p2m__cfg_fail(err, P2M_ERR_CONFIG, "attributes", -1, 0,
                             P2M__MSG("a pattern did not compile twice the same way"));
    *engine = e;
    return P2M_OK;
}
#else  /* P2M_NO_COMPILE */
P2M_API p2m_status p2m_engine_compile(const p2m_config *cfg, void *mem, size_t mem_size,
                                      const p2m_engine **engine, p2m_error *err) {
    (void)cfg;
    (void)mem;
    (void)mem_size;
    p2m__clear(err);
    if (engine) *engine = 0;
    return p2m__fail(err, P2M_ERR_UNSUPPORTED, 0,
                     P2M__MSG("the configuration compiler is compiled out (P2M_NO_COMPILE): "
                              "load an image made by p2m compile with p2m_engine_load"));
}
#endif /* P2M_NO_COMPILE */

/* ---- engine images ----------------------------------------------------------
   A compiled engine as bytes that mean the same on every host:
     0   "p2mE"       magic
     4   u32 version  P2M__IMG_VERSION (little-endian, as the next two)
     8   u32 size     bytes of the whole image
     12  u32 crc      CRC-32 of bytes 16..size (the IEEE polynomial, as zlib's)
     16  the body: unsigned LEB128 varints, strings as a length and bytes,
         doubles as 8 little-endian bytes, regex programs (p2m__img_regex)
   p2m__img_engine walks the body in both directions, so the order of the
   fields is written down once: saving writes the engine's values; loading
   reads them, checks each against what the code that reads an engine relies
   on, and builds the engine into an arena (twice: a dry run sizes it).
   Fields the compiler derives (what stacks need, the regex rules' memo rows,
   the scratch size) are derived again, not read. */
#define P2M__IMG_VERSION 1u
#define P2M__IMG_HEAD 16u

typedef struct p2m__img {
    int load;
    uint8_t *out;                  /* save: the image (NULL: count only) */
    size_t cap, n;                 /* save: its room, bytes so far */
    const uint8_t *base, *p, *end; /* load: the image, the read position, its end */
    p2m__arena a;                  /* load: the engine's memory (base NULL: dry run) */
    p2m_status st;                 /* the first failure */
    const char *why;
    size_t at;
    size_t scratch;                /* load: scratch bytes of the hungriest pattern */
    int ftype;                     /* load: a slot is the frame type's key */
} p2m__img;

static void p2m__img_bad(p2m__img *x, p2m_status st, const char *why) {
    if (x->st != P2M_OK) return;
    x->st = st;
    x->why = why;
    x->at = x->load ? (size_t)(x->p - x->base) : x->n;
    if (x->load) x->p = x->end; /* every later read fails quietly */
}
static size_t p2m__img_left(const p2m__img *x) { return (size_t)(x->end - x->p); }

static void p2m__img_raw(p2m__img *x, void *p, size_t n) {
    if (!x->load) {
        if (x->out && n && x->n + n <= x->cap) P2M_MEMCPY(x->out + x->n, p, n);
        x->n += n;
    } else if (p2m__img_left(x) < n) {
        p2m__img_bad(x, P2M_ERR_IMAGE, P2M__MSG("the image ends inside a field"));
    } else {
        if (p && n) P2M_MEMCPY(p, x->p, n);
        x->p += n;
    }
}

/* A number: v written, or read and checked to be at most max (0 after a
   failure). */
static uint64_t p2m__img_u64(p2m__img *x, uint64_t v, uint64_t max) {
    unsigned shift = 0;
    if (!x->load) {
        uint8_t t[10];
        p2m__img_raw(x, t, (size_t)(p2m__put_varint(t, v) - t));
        return v;
    }
    v = 0;
    for (;;) {
        uint8_t b;
        if (x->p == x->end || shift > 63) {
            p2m__img_bad(x, P2M_ERR_IMAGE, P2M__MSG("a number is cut off or too long"));
            return 0;
        }
        b = *x->p++;
        v |= (uint64_t)(b & 0x7fu) << shift;
        shift += 7;
        if (!(b & 0x80u)) break;
    }
    if (v > max) {
        x->p--;
        p2m__img_bad(x, P2M_ERR_IMAGE, P2M__MSG("a value is out of range"));
        return 0;
    }
    return v;
}
static uint32_t p2m__img_u32(p2m__img *x, uint32_t v, uint32_t max) {
    return (uint32_t)p2m__img_u64(x, v, max);
}
/* A flag (0 or 1). */
static int p2m__img_flag(p2m__img *x, int v) { return (int)p2m__img_u64(x, v != 0, 1); }
/* A count of items of at least one byte each: no more than the bytes left. */
static uint32_t p2m__img_count(p2m__img *x, uint32_t v, uint32_t max) {
    const uint32_t n = p2m__img_u32(x, v, max);
    if (x->load && n > p2m__img_left(x))
        p2m__img_bad(x, P2M_ERR_IMAGE, P2M__MSG("a count is larger than the image"));
    return x->st == P2M_OK ? n : 0;
}
/* A double, as its 8 bytes (the caller checks the value). */
static double p2m__img_f64(p2m__img *x, double v) {
    uint8_t t[8];
    uint64_t bits = p2m__dbits(v);
    int i;
    for (i = 0; i < 8; i++) t[i] = (uint8_t)(bits >> (8 * i));
    p2m__img_raw(x, t, 8);
    if (!x->load) return v;
    for (bits = 0, i = 7; i >= 0; i--) bits = bits << 8 | t[i];
    P2M_MEMCPY(&v, &bits, 8);
    return v;
}
/* A string: copied into the engine (NUL-terminated, as the compiler's). */
static p2m_str p2m__img_str(p2m__img *x, p2m_str s) {
    char *d;
    s.len = (size_t)p2m__img_u64(x, s.len, x->load ? p2m__img_left(x) : UINT64_MAX);
    if (!x->load) {
        p2m__img_raw(x, (void *)(uintptr_t)s.ptr, s.len);
        return s;
    }
    d = (char *)p2m__take(&x->a, s.len + 1u);
    s.ptr = d ? d : (const char *)x->p; /* dry run: the image's bytes */
    p2m__img_raw(x, d, s.len);
    if (d) d[s.len] = 0;
    return s;
}
/* Room for n items of size each in the loaded engine (NULL in a dry run
   and when saving). */
static void *p2m__img_take(p2m__img *x, size_t n, size_t size) {
    if (!x->load) return 0;
    if (n > (SIZE_MAX - x->a.used) / 2u / size) { /* a count no memory holds (32-bit hosts) */
        p2m__img_bad(x, P2M_ERR_IMAGE, P2M__MSG("a count is larger than any memory"));
        return 0;
    }
    return p2m__take(&x->a, n * size);
}

/* A pattern: its program (regex section), *re the loaded pattern. */
static void p2m__img_regex(p2m__img *x, const p2m_regex **re);
/* An optional pattern: a flag, then the program. */
static const p2m_regex *p2m__img_opt_regex(p2m__img *x, const p2m_regex *re) {
    if (p2m__img_flag(x, re != 0)) p2m__img_regex(x, &re);
    else re = 0;
    return re;
}

static void p2m__img_metric(p2m__img *x, p2m__metric *m, int extra) {
    m->enabled = p2m__img_flag(x, m->enabled);
    m->is_double = p2m__img_flag(x, m->is_double);
    m->is_gauge = p2m__img_flag(x, m->is_gauge);
    m->ukind = (int)p2m__img_u32(x, (uint32_t)m->ukind, P2M__U_SIZE);
    m->per_unit = p2m__img_u32(x, m->per_unit, 1000000000u);
    if (x->load && (!m->per_unit || m->is_double != (m->per_unit > 1u)))
        p2m__img_bad(x, P2M_ERR_IMAGE, P2M__MSG("a metric's unit factor is inconsistent"));
#ifdef P2M_NO_FLOAT
    if (m->is_double) p2m__img_bad(x, P2M_ERR_UNSUPPORTED, P2M__MSG(P2M__MSG_NO_FLOAT));
#endif
    m->name = p2m__img_str(x, m->name);
    m->unit = p2m__img_str(x, m->unit);
    m->description = p2m__img_str(x, m->description);
    m->stack_rx = p2m__img_opt_regex(x, m->stack_rx);
    if (m->stack_rx && !extra)
        p2m__img_bad(x, P2M_ERR_IMAGE, P2M__MSG("a built-in metric with a stack pattern"));
#ifdef P2M_NO_FUNCTION
    if (m->stack_rx)
        p2m__img_bad(x, P2M_ERR_UNSUPPORTED,
                     P2M__MSG("stack patterns are compiled out (P2M_NO_FUNCTION)"));
#endif
}

static void p2m__img_rule(p2m__img *x, const p2m_engine *e, p2m__rule *r) {
    r->type = (p2m_rule_type)p2m__img_u32(x, (uint32_t)r->type, P2M_RULE_FRAME);
    r->out_key = p2m__img_u32(x, r->out_key, e->n_keys ? e->n_keys - 1u : 0u);
    r->slot = p2m__img_u32(x, r->slot, P2M__NONE);
    r->source = p2m__img_u32(x, r->source, P2M__SRC_ATTRIBUTE);
    r->frame = p2m__img_u32(x, r->frame, P2M__NFRAME - 1u);
    r->index = p2m__img_u32(x, r->index, UINT32_MAX);
    r->value = p2m__img_str(x, r->value);
    r->deflt = p2m__img_str(x, r->deflt);
    if (r->type == P2M_RULE_REGEX) p2m__img_regex(x, &r->rx);
    if (!x->load) return;
    if (r->type == P2M_RULE_FRAME && r->frame != P2M__FR_FUNCTION && !x->ftype)
        p2m__img_bad(x, P2M_ERR_IMAGE, P2M__MSG("a frame rule without the frame type's key"));
    if (!e->n_keys || (r->slot != P2M__NONE && r->slot >= e->n_slots) ||
        ((r->type == P2M_RULE_ATTRIBUTE ||
          (r->type == P2M_RULE_REGEX && r->source == P2M__SRC_ATTRIBUTE)) &&
         r->slot == P2M__NONE))
        p2m__img_bad(x, P2M_ERR_IMAGE, P2M__MSG("a rule names a key the engine does not have"));
#ifdef P2M_NO_FUNCTION
    if (r->type == P2M_RULE_FRAME || (r->type == P2M_RULE_REGEX && r->source == P2M__SRC_FUNCTION))
        p2m__img_bad(x, P2M_ERR_UNSUPPORTED,
                     P2M__MSG("frame rules and function names are compiled out (P2M_NO_FUNCTION)"));
#endif
}

/* A filter; images always hold four (process, thread, pattern, stack). */
static void p2m__img_filter(p2m__img *x, const p2m_engine *e, p2m__filter *f, uint32_t which) {
    uint32_t i;
    f->enabled = p2m__img_flag(x, f->enabled);
    if (!f->enabled) return;
    if (which >= P2M__NFILTER)
        p2m__img_bad(x, P2M_ERR_UNSUPPORTED,
                     P2M__MSG("the stack filter is compiled out (P2M_NO_FUNCTION)"));
    f->all_keys = p2m__img_flag(x, f->all_keys);
    f->n_rx = p2m__img_count(x, f->n_rx, P2M__MAX_PATTERNS);
    if (x->load)
        f->rx = (const p2m_regex **)p2m__img_take(x, f->n_rx, sizeof(const p2m_regex *));
    for (i = 0; i < f->n_rx; i++) {
        const p2m_regex *re = f->rx ? f->rx[i] : 0;
        p2m__img_regex(x, &re);
        if (x->load && f->rx) f->rx[i] = re;
    }
    f->n_slots = p2m__img_count(x, f->n_slots, P2M__MAX_SLOTS);
    if (x->load) f->slots = (uint32_t *)p2m__img_take(x, f->n_slots, sizeof *f->slots);
    for (i = 0; i < f->n_slots; i++) {
        const uint32_t s = p2m__img_u32(x, f->slots ? f->slots[i] : 0u,
                                        e->n_slots ? e->n_slots - 1u : 0u);
        if (x->load && f->slots) f->slots[i] = s;
    }
    /* process and thread filters read one key, the stack filter none, the
       pattern filter its keys, or every attribute when it has none */
    if (x->load && (!f->n_rx || (e->n_slots == 0 && f->n_slots) ||
                    (which != P2M__F_PATTERN && f->n_slots != (which == P2M__F_STACK ? 0u : 1u)) ||
                    f->all_keys != (which == P2M__F_PATTERN && f->n_slots == 0)))
        p2m__img_bad(x, P2M_ERR_IMAGE, P2M__MSG("a filter has no patterns or the wrong keys"));
}

/* Strings into a table of n (the keys, the slots); notes whether one is
   the frame type's key, which frame rules need (in both loading passes). */
static p2m_str *p2m__img_strs(p2m__img *x, p2m_str *t, uint32_t n) {
    uint32_t i;
    if (x->load) t = (p2m_str *)p2m__img_take(x, n, sizeof *t);
    for (i = 0; i < n; i++) {
        p2m_str s = {"", 0};
        s = p2m__img_str(x, t ? t[i] : s);
        if (x->load && t) t[i] = s;
#ifndef P2M_NO_FUNCTION
        if (x->st == P2M_OK && p2m__streq2(s, p2m__frame_type)) x->ftype = 1;
#endif
    }
    return t;
}

/* The body, both ways. e: the engine saved, or the one being loaded (the
   caller's frame in a dry run, whose tables stay NULL). */
static void p2m__img_engine(p2m__img *x, p2m_engine *e) {
    uint32_t i;
    e->temporality = (p2m_temporality)p2m__img_u32(x, (uint32_t)e->temporality,
                                                   P2M_TEMPORALITY_CUMULATIVE);
    e->max_series = p2m__img_u32(x, e->max_series, 0x1000000u);
    e->layout = (p2m_layout)p2m__img_u32(x, (uint32_t)e->layout, P2M_LAYOUT_V1_10);
    e->strict = p2m__img_flag(x, e->strict);
    e->function_mode = (p2m_function_mode)p2m__img_u32(x, (uint32_t)e->function_mode,
                                                       P2M_FUNCTION_INCLUSIVE);
    e->state_series = p2m__img_u32(x, e->state_series, 0x1000000u);
    e->state_bytes = (size_t)p2m__img_u64(x, e->state_bytes, 0xFFFFFFF0u);
    if (x->load &&
        ((e->temporality == P2M_TEMPORALITY_CUMULATIVE) != (e->state_series > 0) ||
         (e->state_series && e->state_bytes < 64) || !e->max_series ||
         (e->temporality != P2M_TEMPORALITY_DELTA &&
          e->temporality != P2M_TEMPORALITY_CUMULATIVE) ||
         (e->layout != P2M_LAYOUT_AUTO && e->layout < P2M_LAYOUT_V1_8)))
        p2m__img_bad(x, P2M_ERR_IMAGE, P2M__MSG("the settings are inconsistent"));
#ifdef P2M_NO_CUMULATIVE
    if (e->state_series)
        p2m__img_bad(x, P2M_ERR_UNSUPPORTED,
                     P2M__MSG("cumulative temporality is compiled out (P2M_NO_CUMULATIVE)"));
#endif
    e->n_keys = p2m__img_count(x, e->n_keys, P2M__MAX_RULES + 1u);
    e->keys = p2m__img_strs(x, e->keys, e->n_keys);
    e->n_slots = p2m__img_count(x, e->n_slots, P2M__MAX_SLOTS);
    e->slots = p2m__img_strs(x, e->slots, e->n_slots);
    e->fkey = p2m__img_u32(x, e->fkey, P2M__NONE);
    e->n_extra = p2m__img_u32(x, e->n_extra, 64);
    if (e->n_extra > P2M_MAX_EXTRA)
        p2m__img_bad(x, P2M_ERR_UNSUPPORTED,
                     P2M__MSG("more declared metrics than this build holds (P2M_MAX_EXTRA)"));
    for (i = P2M_METRIC_CPU; x->st == P2M_OK && i < P2M_METRIC_EXTRA + e->n_extra; i++)
        p2m__img_metric(x, &e->metric[i], i >= P2M_METRIC_EXTRA);
    if (x->load && ((e->fkey != P2M__NONE && e->fkey >= e->n_keys) ||
                    (e->metric[P2M_METRIC_FUNCTION].enabled && e->fkey == P2M__NONE)))
        p2m__img_bad(x, P2M_ERR_IMAGE, P2M__MSG("the function metric has no key"));
#ifdef P2M_NO_FUNCTION
    if (e->metric[P2M_METRIC_FUNCTION].enabled)
        p2m__img_bad(x, P2M_ERR_UNSUPPORTED,
                     P2M__MSG("the function metric is compiled out (P2M_NO_FUNCTION)"));
#endif
    e->n_xtypes = p2m__img_count(x, e->n_xtypes, UINT32_MAX);
    if (x->load) e->xtypes = (p2m__xtype *)p2m__img_take(x, e->n_xtypes, sizeof *e->xtypes);
    for (i = 0; i < e->n_xtypes; i++) {
        p2m__xtype t = {{"", 0}, {"", 0}, P2M_METRIC_EXTRA};
        if (!x->load && e->xtypes) t = e->xtypes[i];
        t.type = p2m__img_str(x, t.type);
        t.unit = p2m__img_str(x, t.unit);
        t.metric = p2m__img_u32(x, t.metric, P2M_METRIC_EXTRA + 63u);
        if (x->load && (t.metric < P2M_METRIC_EXTRA || t.metric >= P2M_METRIC_EXTRA + e->n_extra))
            p2m__img_bad(x, P2M_ERR_IMAGE, P2M__MSG("a sample type feeds no declared metric"));
        if (e->xtypes) e->xtypes[i] = t;
    }
    e->n_rules = p2m__img_count(x, e->n_rules, P2M__MAX_RULES);
    if (x->load) e->rules = (p2m__rule *)p2m__img_take(x, e->n_rules, sizeof *e->rules);
    for (i = 0; i < e->n_rules; i++) {
        p2m__rule r;
        P2M_MEMSET(&r, 0, sizeof r);
        if (!x->load && e->rules) r = e->rules[i];
        p2m__img_rule(x, e, &r);
        if (x->load && e->rules) e->rules[i] = r;
    }
    for (i = 0; i < 4u; i++) {
        p2m__filter f;
        P2M_MEMSET(&f, 0, sizeof f);
        if (!x->load && i < P2M__NFILTER) f = e->filter[i];
        p2m__img_filter(x, e, &f, i);
        if (x->load && i < P2M__NFILTER) e->filter[i] = f;
    }
    e->n_type_rules = p2m__img_count(x, e->n_type_rules, UINT32_MAX);
    if (x->load)
        e->type_rules = (p2m__type_rule *)p2m__img_take(x, e->n_type_rules, sizeof *e->type_rules);
    for (i = 0; i < e->n_type_rules; i++) {
        p2m__type_rule t;
        P2M_MEMSET(&t, 0, sizeof t);
        if (!x->load && e->type_rules) t = e->type_rules[i];
        t.type = p2m__img_str(x, t.type);
        t.unit = p2m__img_str(x, t.unit);
        t.metric = (p2m_metric_kind)p2m__img_u32(x, (uint32_t)t.metric, P2M_METRIC_MEMORY);
        t.scale = p2m__img_f64(x, t.scale);
        if (x->load && t.metric != P2M_METRIC_NONE && !p2m__pos_finite(t.scale))
            p2m__img_bad(x, P2M_ERR_IMAGE, P2M__MSG("a type rule's scale is not positive"));
        p2m__type_rule_ints(&t);
#ifdef P2M_NO_FLOAT
        if (x->load && t.metric != P2M_METRIC_NONE && !t.iscale)
            p2m__img_bad(x, P2M_ERR_UNSUPPORTED,
                         P2M__MSG("a type rule's scale is not a whole number: floating point is "
                                  "compiled out (P2M_NO_FLOAT)"));
#endif
        if (e->type_rules) e->type_rules[i] = t;
    }
}

/* What the compiler derives, derived again for a loaded engine. */
static void p2m__img_derive(p2m__img *x, p2m_engine *e) {
    uint32_t i;
    e->magic = P2M__MAGIC;
    e->need_stacks = e->metric[P2M_METRIC_FUNCTION].enabled;
    for (i = 0; i < e->n_rules; i++) {
        if (e->rules[i].type != P2M_RULE_REGEX) continue;
        e->rules[i].rx_index = e->n_rx_rules++;
        if (e->rules[i].source == P2M__SRC_FUNCTION) e->need_stacks = e->rx_function = 1;
    }
    for (i = 0; i < P2M__NFILTER; i++) e->any_filter |= e->filter[i].enabled;
    e->plain_rules = p2m__rules_plain(e);
    for (i = 0; i < e->n_extra; i++)
        if (e->metric[P2M_METRIC_EXTRA + i].stack_rx) e->xstack_mask |= (uint64_t)1 << i;
    e->rx_scratch = x->scratch;
#ifndef P2M_NO_FUNCTION /* the key is there: p2m__img_rule checked */
    p2m__build_stack_props(e, p2m__slot_of(e, p2m__frame_type));
#endif
}

/* CRC-32 (reflected, polynomial 0xEDB88320): bit by bit, no table. */
static uint32_t p2m__crc32(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    while (n--) {
        int k;
        c ^= *p++;
        for (k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}
static void p2m__le32_put(uint8_t *d, uint32_t v) {
    d[0] = (uint8_t)v;
    d[1] = (uint8_t)(v >> 8);
    d[2] = (uint8_t)(v >> 16);
    d[3] = (uint8_t)(v >> 24);
}
static uint32_t p2m__le32_get(const uint8_t *s) {
    return (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24;
}

P2M_API p2m_status p2m_engine_save(const p2m_engine *engine, void *out, size_t cap,
                                   size_t *out_size, p2m_error *err) {
    p2m__img x;
    p2m_engine e;
    uint8_t *o = (uint8_t *)out;
    p2m__clear(err);
    if (out_size) *out_size = 0;
    if (!engine || engine->magic != P2M__MAGIC)
        return p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("not an engine"));
    P2M_MEMSET(&x, 0, sizeof x);
    x.n = P2M__IMG_HEAD;
    e = *engine; /* the walk assigns every field what it holds: on a copy */
    p2m__img_engine(&x, &e);
    if (x.st != P2M_OK) return p2m__fail(err, x.st, 0, x.why);
    if (x.n > 0xFFFFFFFFu)
        return p2m__fail(err, P2M_ERR_UNSUPPORTED, 0, P2M__MSG("the image would be over 4 GiB"));
    if (!o || cap < x.n)
        return p2m__need(err, P2M_ERR_OUTPUT_TOO_SMALL, x.n, P2M__MSG("image buffer too small"));
    x.out = o;
    x.cap = x.n;
    x.n = P2M__IMG_HEAD;
    e = *engine;
    p2m__img_engine(&x, &e);
    o[0] = 'p'; o[1] = '2'; o[2] = 'm'; o[3] = 'E';
    p2m__le32_put(o + 4, P2M__IMG_VERSION);
    p2m__le32_put(o + 8, (uint32_t)x.n);
    p2m__le32_put(o + 12, p2m__crc32(o + P2M__IMG_HEAD, x.n - P2M__IMG_HEAD));
    if (out_size) *out_size = x.n;
    return P2M_OK;
}

/* One pass of the loader over a checked header: a dry run (mem NULL) sizes
   the engine, the real one builds it. */
static p2m_engine *p2m__img_load(p2m__img *x, const uint8_t *img, size_t size, void *mem,
                                 size_t mem_size, p2m_engine *dry) {
    p2m_engine *e;
    x->load = 1;
    x->base = img;
    x->p = img + P2M__IMG_HEAD;
    x->end = img + size;
    x->st = P2M_OK;
    x->scratch = 0;
    x->ftype = 0;
    if (mem) p2m__arena_over(&x->a, mem, mem_size);
    else x->a.base = 0, x->a.cap = 0, x->a.used = 0;
    e = (p2m_engine *)p2m__take(&x->a, sizeof *e);
    if (!e) e = dry;
    P2M_MEMSET(e, 0, sizeof *e);
    p2m__img_engine(x, e);
    if (x->st == P2M_OK && x->p != x->end)
        p2m__img_bad(x, P2M_ERR_IMAGE, P2M__MSG("bytes after the engine"));
    if (x->st == P2M_OK && mem) p2m__img_derive(x, e);
    return e;
}

P2M_API p2m_status p2m_engine_load(const void *image, size_t image_size, void *mem,
                                   size_t mem_size, const p2m_engine **engine, p2m_error *err) {
    const uint8_t *img = (const uint8_t *)image;
    p2m__img x;
    p2m_engine dry, *e;
    size_t need;
    p2m__clear(err);
    if (engine) *engine = 0;
    if (!engine || (!image && image_size))
        return p2m__fail(err, P2M_ERR_ARGUMENT, 0, P2M__MSG("image and engine must not be NULL"));
    if (image_size < P2M__IMG_HEAD || img[0] != 'p' || img[1] != '2' || img[2] != 'm' ||
        img[3] != 'E')
        return p2m__fail(err, P2M_ERR_IMAGE, 0,
                         P2M__MSG("not an engine image: an image starts with \"p2mE\""));
    if (p2m__le32_get(img + 4) != P2M__IMG_VERSION)
        return p2m__fail(err, P2M_ERR_IMAGE, 4,
                         P2M__MSG("an engine image of another version: make it again with "
                                  "this version's p2m compile"));
    if (p2m__le32_get(img + 8) != image_size)
        return p2m__fail(err, P2M_ERR_IMAGE, 8,
                         P2M__MSG("the image's size field is not the size given: truncated, "
                                  "or bytes after it"));
    if (p2m__le32_get(img + 12) != p2m__crc32(img + P2M__IMG_HEAD, image_size - P2M__IMG_HEAD))
        return p2m__fail(err, P2M_ERR_IMAGE, 12,
                         P2M__MSG("the image's checksum does not match: it is damaged"));
    P2M_MEMSET(&x, 0, sizeof x);
    (void)p2m__img_load(&x, img, image_size, 0, 0, &dry);
    if (x.st != P2M_OK) return p2m__fail(err, x.st, x.at, x.why);
    need = x.a.used + 7u; /* the arena starts at the first 8-byte aligned byte of mem */
    if (!mem || mem_size < need)
        return p2m__need(err, P2M_ERR_MEMORY, need, P2M__MSG("engine memory too small"));
    e = p2m__img_load(&x, img, image_size, mem, mem_size, &dry);
    if (x.st != P2M_OK) return p2m__fail(err, x.st, x.at, x.why);
    *engine = e;
    return P2M_OK;
}


/* ======================================================================== */
/* ---- regular expressions ------------------------------------------------
   The pattern language of filters and regex rules (docs/regex.md): a parser
   and compiler to a Pike VM program, the VM (linear time), the PCRE2
   backend (P2M_USE_PCRE2) and the stubs when compiled out (P2M_NO_REGEX).
   Self-contained: it calls nothing of the request flow. Tests:
   tests/suite-regex.sh (against PCRE2), tests/fuzz. */

/* ---- regex: compiler and Pike VM ---------------------------------------- */

#if defined(P2M_NO_REGEX) || defined(P2M_NO_COMPILE)
/* p2m_regex_compile of a build without the regex parser: its answer. */
static void p2m__regex_refused(const p2m_regex **re, p2m_error *err, const char *why) {
    if (re) *re = NULL;
    p2m__clear(err);
    (void)p2m__fail(err, P2M_ERR_UNSUPPORTED, 0, why);
}
#endif

#ifndef P2M_NO_REGEX

/* The parser reads the pattern once, left to right, with an explicit stack
   of open groups (no recursion), and emits code directly. Every jump is
   relative to its own instruction, so a finished piece of code (an atom, a
   closed group) is position independent: a quantifier can insert a SPLIT in
   front of it or copy it for {m,n} with plain instruction moves. The same
   parser runs twice: a dry run (no code buffer) that only counts instructions
   and classes, then the real run into the caller's memory. */


enum {
    P2M__RX_CHAR = 1,  /* a or b */
    P2M__RX_ANY,       /* any byte but \n */
    P2M__RX_ANYNL,     /* any byte */
    P2M__RX_CLASS,     /* x = class index */
    P2M__RX_MATCH,
    P2M__RX_SPLIT,     /* x preferred, y second; both relative */
    P2M__RX_JMP,       /* x relative */
    P2M__RX_SAVE,      /* x = capture slot (0..3 while compiling, 0..1 after) */
    P2M__RX_BOT,       /* ^ \A: start of text */
    P2M__RX_EOT,       /* $ \z: end of text */
    P2M__RX_BOL,       /* (?m)^ */
    P2M__RX_EOL,       /* (?m)$ */
    P2M__RX_WORDB,     /* \b */
    P2M__RX_NWORDB     /* \B */
};

#define P2M__RXF_I 1u  /* (?i) ASCII case-insensitive */
#define P2M__RXF_M 2u  /* (?m) ^ $ at line boundaries */
#define P2M__RXF_S 4u  /* (?s) . matches \n */
#define P2M__RXF_U 8u  /* (?U) swap greedy and lazy */

#define P2M__RX_MAGIC 0x78723270u /* "p2rx" */
#define P2M__RX_ALIGN 16u
#define P2M__RX_NONE ((size_t)-1)

typedef struct p2m__rinst {
    uint8_t op, a, b, pad;
    int32_t x, y;
} p2m__rinst;

struct p2m_regex {
    uint32_t magic;
    uint32_t ninst;
    uint32_t nclass;
    uint32_t has_group;   /* pattern has a capturing group: report slots 2,3 */
    uint32_t backend;     /* 0 = built-in */
    uint32_t anchored;    /* program starts with ^ / \A: only position 0 can start */
    uint32_t use_first;   /* first[] is valid: a match must start with one of these bytes */
    uint8_t first[32];
    size_t code_off;      /* from the struct: instructions, then classes */
    size_t class_off;
    size_t extra;         /* PCRE2 backend: scratch bytes; else 0 */
    void *pcre;           /* PCRE2 backend: the pcre2_code; else NULL */
};

/* what the VM asks of bytes */
static int p2m__rset_has(const uint8_t *set, unsigned c) { return (set[c >> 3] >> (c & 7u)) & 1; }
static int p2m__rx_isword(unsigned c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

#ifndef P2M_NO_COMPILE /* the parser and compiler of patterns */
/* An open group while parsing: 8 bytes with the default program size limit
   (positions fit 16 bits), so that the group stack stays small. */
#if P2M_REGEX_MAX_INSTS < 32767
typedef uint16_t p2m__rpos;
typedef int16_t p2m__rspos;
#else
typedef uint32_t p2m__rpos;
typedef int32_t p2m__rspos;
#endif
typedef struct p2m__rframe {
    p2m__rpos group_start; /* first instruction of the group (its SAVE) */
    p2m__rpos alt_start;   /* first instruction of the current alternative */
    p2m__rspos pending;    /* chain of JMPs to the group's end, -1 = none */
    uint8_t save;          /* 1: group 1, emit SAVE 3 at the close */
    uint8_t flags;         /* flags to restore at the close */
} p2m__rframe;

typedef struct p2m__rcomp {
    p2m__rinst *code;     /* NULL in the dry run */
    uint8_t *cls;         /* 32 bytes per class; NULL in the dry run */
    uint32_t pc, ncls;
    uint32_t maxpc;       /* high-water mark: x{0} and fixes can shrink pc */
    p2m_error *err;
    int failed;
} p2m__rcomp;

#define p2m__rx_fail(e, st, off, m) p2m__rx_fail_((e), (st), (off), P2M__MSG(m))
static void p2m__rx_fail_(p2m_error *err, p2m_status st, size_t off, const char *msg) {
    size_t i = 0;
    if (!err) return;
    err->status = st;
    err->offset = off;
    err->needed = 0;
    err->field[0] = '\0';
    for (; msg[i] && i + 1 < sizeof err->message; i++) err->message[i] = msg[i];
    err->message[i] = '\0';
}

static void p2m__rx_ok(p2m_error *err) {
    if (!err) return;
    err->status = P2M_OK;
    err->offset = 0;
    err->needed = 0;
    err->field[0] = '\0';
    err->message[0] = '\0';
}

/* ---- byte sets ---- */

static void p2m__rset_add(uint8_t *set, unsigned c) {
    set[c >> 3] = (uint8_t)(set[c >> 3] | (1u << (c & 7u)));
}
static unsigned p2m__rx_other_case(unsigned c) {
    if (c >= 'a' && c <= 'z') return c - 32u;
    if (c >= 'A' && c <= 'Z') return c + 32u;
    return c;
}

/* Is byte c in named set k (an index into the names of p2m__rset_named)? */
static int p2m__rset_in(size_t k, unsigned c) {
    switch (k) {
    case 0: case 8: return c >= '0' && c <= '9';                          /* d digit */
    case 1:
        return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '; /* s (RE2: no \v) */
    case 2: case 15: return p2m__rx_isword(c);                             /* w word */
    case 3: return p2m__rx_isword(c) && c != '_';                          /* alnum */
    case 4: return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');      /* alpha */
    case 5: return c < 128;                                                /* ascii */
    case 6: return c == ' ' || c == '\t';                                  /* blank */
    case 7: return c < 32 || c == 127;                                     /* cntrl */
    case 9: return c > 32 && c < 127;                                      /* graph */
    case 10: return c >= 'a' && c <= 'z';                                 /* lower */
    case 11: return c >= 32 && c < 127;                                    /* print */
    case 12:
        return c > 32 && c < 127 && !(p2m__rx_isword(c) && c != '_'); /* punct: graph, not alnum */
    case 13: return (c >= 9 && c <= 13) || c == ' ';                       /* space (with \v) */
    case 14: return c >= 'A' && c <= 'Z';                                  /* upper */
    default:
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
               (c >= 'A' && c <= 'F'); /* xdigit */
    }
}

/* Adds a named ASCII set to set: d s w (Perl) and the POSIX names; negate
   adds its complement. Under (?i) (fold) the set is case-folded before it is
   complemented, as RE2 and PCRE2 do: (?i)[[:^lower:]] excludes 'A' too.
   Returns 0 if the name is unknown. */
static int p2m__rset_named(uint8_t *set, const char *name, size_t len, int negate, int fold) {
    static const char *const names[] = {
        "d", "s", "w", "alnum", "alpha", "ascii", "blank", "cntrl", "digit",
        "graph", "lower", "print", "punct", "space", "upper", "word", "xdigit"};
    size_t k, j;
    unsigned c;
    for (k = 0; k < sizeof names / sizeof names[0]; k++) {
        for (j = 0; j < len && names[k][j] && names[k][j] == name[j]; j++) {}
        if (j == len && names[k][j] == '\0') break;
    }
    if (k == sizeof names / sizeof names[0]) return 0;
    for (c = 0; c < 256; c++) {
        int in = p2m__rset_in(k, c) || (fold && p2m__rset_in(k, p2m__rx_other_case(c)));
        if (in != negate) p2m__rset_add(set, c);
    }
    return 1;
}

/* ---- emitting ---- */

static void p2m__rx_too_big(p2m__rcomp *c, size_t off) {
    if (!c->failed)
        p2m__rx_fail(c->err, P2M_ERR_CONFIG, off, "pattern too large (program size limit)");
    c->failed = 1;
}

/* Room for k more instructions? */
static int p2m__rx_room(p2m__rcomp *c, size_t k, size_t off) {
    if ((size_t)c->pc + k > (size_t)P2M_REGEX_MAX_INSTS) {
        p2m__rx_too_big(c, off);
        return 0;
    }
    if (c->pc + (uint32_t)k > c->maxpc) c->maxpc = c->pc + (uint32_t)k;
    return 1;
}

static void p2m__rx_set(p2m__rcomp *c, uint32_t at, unsigned op, unsigned a, unsigned b, int32_t x,
                        int32_t y) {
    if (c->code) {
        p2m__rinst *in = &c->code[at];
        in->op = (uint8_t)op;
        in->a = (uint8_t)a;
        in->b = (uint8_t)b;
        in->pad = 0;
        in->x = x;
        in->y = y;
    }
}

static P2M__MUST int p2m__rx_emit(p2m__rcomp *c, size_t off, unsigned op, unsigned a, unsigned b,
                                  int32_t x, int32_t y) {
    if (!p2m__rx_room(c, 1, off)) return 0;
    p2m__rx_set(c, c->pc, op, a, b, x, y);
    c->pc++;
    return 1;
}

/* Opens k free instructions at `at`, moving [at, pc) up. */
static P2M__MUST int p2m__rx_insert(p2m__rcomp *c, uint32_t at, uint32_t k, size_t off) {
    uint32_t i;
    if (!p2m__rx_room(c, k, off)) return 0;
    if (c->code)
        for (i = c->pc; i > at; i--) c->code[i - 1 + k] = c->code[i - 1];
    c->pc += k;
    return 1;
}

/* Appends a copy of [from, from+len). */
static void p2m__rx_copy(p2m__rcomp *c, uint32_t from, uint32_t len) {
    uint32_t i;
    if (c->code)
        for (i = 0; i < len; i++) c->code[c->pc + i] = c->code[from + i];
    c->pc += len;
}

static void p2m__rx_split(p2m__rcomp *c, uint32_t at, int32_t into, int32_t skip, int greedy) {
    if (greedy) p2m__rx_set(c, at, P2M__RX_SPLIT, 0, 0, into, skip);
    else p2m__rx_set(c, at, P2M__RX_SPLIT, 0, 0, skip, into);
}

/* Applies {min,max} (max -1 = unbounded) to the code [s, pc). */
static P2M__MUST int p2m__rx_repeat(p2m__rcomp *c, uint32_t s, long min, long max, int greedy,
                                    size_t off) {
    uint32_t len = c->pc - s, last, i, end;
    size_t total;
    long k;
    if (max == 0) { /* x{0}: nothing at all */
        c->pc = s;
        return 1;
    }
    if (min == 0 && max == 1) { /* x? */
        if (!p2m__rx_insert(c, s, 1, off)) return 0;
        p2m__rx_split(c, s, 1, (int32_t)len + 1, greedy);
        return 1;
    }
    /* Size check before any copying so huge nestings fail fast. */
    if (max < 0) total = (size_t)(min > 0 ? min : 1) * len + 1 + (min == 0 ? 1 : 0);
    else total = (size_t)min * len + (size_t)(max - min) * (len + 1);
    if (total > (size_t)P2M_REGEX_MAX_INSTS || !p2m__rx_room(c, total - len, off)) {
        p2m__rx_too_big(c, off);
        return 0;
    }
    if (max < 0) {
        /* x{m,}: m-1 copies then x+, or for m == 0 (x+)?: a nullable x* stays
           leftmost-first correct in this shape (a loop back to x's start can
           never re-enter x at the same position). */
        last = s;
        for (k = 1; k < min; k++) {
            last = c->pc;
            p2m__rx_copy(c, s, len);
        }
        p2m__rx_set(c, c->pc, P2M__RX_SPLIT, 0, 0, 0, 0);
        p2m__rx_split(c, c->pc, (int32_t)last - (int32_t)c->pc, 1, greedy);
        c->pc++;
        if (min == 0) {
            if (!p2m__rx_insert(c, s, 1, off)) return 0;
            p2m__rx_split(c, s, 1, (int32_t)(c->pc - s), greedy);
        }
        return 1;
    }
    /* x{m,n}: m copies, then n-m times [SPLIT x], every SPLIT skipping to
       the end. For m == 0 the first SPLIT goes in front of the original. */
    if (min == 0) {
        if (!p2m__rx_insert(c, s, 1, off)) return 0;
        s++;
    }
    for (k = 1; k < min; k++) p2m__rx_copy(c, s, len);
    for (k = (min == 0 ? 1 : min); k < max; k++) {
        c->pc++; /* the SPLIT, written below */
        p2m__rx_copy(c, s, len);
    }
    end = c->pc;
    /* Write the SPLITs: they sit every len+1 instructions. */
    i = (min == 0) ? s - 1 : s + (uint32_t)min * len;
    for (k = (min == 0 ? 0 : min); k < max; k++, i += len + 1)
        p2m__rx_split(c, i, 1, (int32_t)(end - i), greedy);
    return 1;
}

/* Parses {m}, {m,}, {m,n} at p[i] == '{'. Returns the length consumed, 0 if
   this is not a repetition (then '{' is a literal, as in RE2). Counts above
   the limit are returned as P2M_REGEX_MAX_REPEAT + 1. */
static size_t p2m__rx_parse_brace(const char *p, size_t len, size_t i, long *min, long *max) {
    size_t j = i + 1, d;
    long v = 0;
    for (d = 0; j < len && p[j] >= '0' && p[j] <= '9'; j++, d++)
        if (v <= P2M_REGEX_MAX_REPEAT) v = v * 10 + (p[j] - '0');
    if (d == 0 || j >= len) return 0;
    *min = v > P2M_REGEX_MAX_REPEAT ? P2M_REGEX_MAX_REPEAT + 1 : v;
    if (p[j] == '}') {
        *max = *min;
        return j + 1 - i;
    }
    if (p[j] != ',') return 0;
    j++;
    if (j < len && p[j] == '}') {
        *max = -1;
        return j + 1 - i;
    }
    v = 0;
    for (d = 0; j < len && p[j] >= '0' && p[j] <= '9'; j++, d++)
        if (v <= P2M_REGEX_MAX_REPEAT) v = v * 10 + (p[j] - '0');
    if (d == 0 || j >= len || p[j] != '}') return 0;
    *max = v > P2M_REGEX_MAX_REPEAT ? P2M_REGEX_MAX_REPEAT + 1 : v;
    return j + 1 - i;
}

static int p2m__rx_hex(int ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* An escape at p[i] == '\\'. Sets *len_out to its length. Returns the byte it
   stands for (0..255), or 256 + one of 'd' 'D' 'w' 'W' 's' 'S' for a set,
   or 256 + 'b' 'B' 'A' 'z' 'C' for the zero-width / any-byte escapes
   (outside classes), or -1 with *msg set on an error. */
static int p2m__rx_escape(const char *p, size_t len, size_t i, size_t *len_out, const char **msg) {
    int ch;
    *len_out = 2;
    if (i + 1 >= len) {
        *msg = P2M__MSG("trailing \\ at end of pattern");
        return -1;
    }
    ch = (unsigned char)p[i + 1];
    switch (ch) {
    case 't': return '\t';
    case 'n': return '\n';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    case 'a': return 7;
    case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
    case 'b': case 'B': case 'A': case 'z': case 'C':
        return 256 + ch;
    case 'x': {
        int h1, h2, v = 0;
        size_t j;
        if (i + 2 < len && p[i + 2] == '{') {
            for (j = i + 3; j < len && p2m__rx_hex((unsigned char)p[j]) >= 0 && v < 0x100; j++)
                v = v * 16 + p2m__rx_hex((unsigned char)p[j]);
            if (j >= len || p[j] != '}' || j == i + 3) {
                *msg = P2M__MSG("invalid \\x{...} escape");
                return -1;
            }
            *len_out = j + 1 - i;
        } else {
            h1 = i + 2 < len ? p2m__rx_hex((unsigned char)p[i + 2]) : -1;
            h2 = i + 3 < len ? p2m__rx_hex((unsigned char)p[i + 3]) : -1;
            if (h1 < 0 || h2 < 0) {
                *msg = P2M__MSG("invalid \\x escape (want two hex digits)");
                return -1;
            }
            v = h1 * 16 + h2;
            *len_out = 4;
        }
        if (v > 0x7f) {
            *msg =
                P2M__MSG("\\x above 7F not supported (patterns match bytes, not UTF-8 characters)");
            return -1;
        }
        return v;
    }
    case 'p': case 'P':
        *msg = P2M__MSG("Unicode classes \\p \\P not supported");
        return -1;
    case 'Q':
        *msg = P2M__MSG("\\Q...\\E not supported");
        return -1;
    default: break;
    }
    if (ch >= '1' && ch <= '9') {
        *msg = P2M__MSG("back-references not supported");
        return -1;
    }
    if (ch < 128 && !p2m__rx_isword((unsigned)ch) && ch > 32 && ch < 127) return ch;
    *msg = P2M__MSG("invalid escape sequence");
    return -1;
}

/* A POSIX class [:name:] or [:^name:] at p[j] inside a class: adds it to
   set. Returns the index after it, j when there is none at j, 0 on error
   (err filled). */
static size_t p2m__rx_class_posix(p2m__rcomp *c, const char *p, size_t len, size_t j,
                                  uint32_t flags, uint8_t *set) {
    size_t e = j + 2, nb = j + 2;
    int neg = 0;
    if (!(p[j] == '[' && j + 1 < len && p[j + 1] == ':')) return j;
    while (e + 1 < len && !(p[e] == ':' && p[e + 1] == ']')) e++;
    if (e + 1 >= len) return j; /* no closing :], so a plain [ */
    if (nb < e && p[nb] == '^') {
        neg = 1;
        nb++;
    }
    if (e - nb < 2 || !p2m__rset_named(set, p + nb, e - nb, neg, (flags & P2M__RXF_I) != 0)) {
        p2m__rx_fail(c->err, P2M_ERR_CONFIG, j, "invalid POSIX class name");
        return 0;
    }
    return e + 2;
}

/* One item of a class at p[j] (not its closing ]): a POSIX class, a class
   escape (\d \w \s and their negations), or a character or range, added to
   set. Returns the index after it, 0 on error (err filled). */
static size_t p2m__rx_class_item(p2m__rcomp *c, const char *p, size_t len, size_t j,
                                 uint32_t flags, uint8_t *set) {
    const size_t at = j;
    const char *msg = P2M__MSG("");
    size_t el, next = p2m__rx_class_posix(c, p, len, j, flags, set);
    int lo, hi;
    if (next != j) return next;
    if (p[j] == '\\') {
        lo = p2m__rx_escape(p, len, j, &el, &msg);
        if (lo < 0) {
            p2m__rx_fail(c->err, P2M_ERR_CONFIG, j, msg);
            return 0;
        }
        if (lo >= 256) {
            int e = lo - 256;
            if (e == 'b' || e == 'B' || e == 'A' || e == 'z' || e == 'C') {
                p2m__rx_fail(c->err, P2M_ERR_CONFIG, j, "invalid escape in character class");
                return 0;
            }
            p2m__rset_named(set, e == 'd' || e == 'D' ? "d" : e == 'w' || e == 'W' ? "w" : "s", 1,
                            e == 'D' || e == 'W' || e == 'S', (flags & P2M__RXF_I) != 0);
            return j + el;
        }
        j += el;
    } else {
        lo = (unsigned char)p[j];
        j++;
    }
    hi = lo;
    if (j + 1 < len && p[j] == '-' && p[j + 1] != ']') {
        j++;
        if (p[j] == '\\') {
            hi = p2m__rx_escape(p, len, j, &el, &msg);
            if (hi < 0 || hi >= 256) {
                p2m__rx_fail(c->err, P2M_ERR_CONFIG, j,
                             hi < 0 ? msg : "invalid character class range");
                return 0;
            }
            j += el;
        } else {
            hi = (unsigned char)p[j];
            j++;
        }
        if (hi < lo) {
            p2m__rx_fail(c->err, P2M_ERR_CONFIG, at, "invalid character class range");
            return 0;
        }
    }
    for (; lo <= hi; lo++) p2m__rset_add(set, (unsigned)lo);
    return j;
}

/* Parses a class at p[i] == '['; fills set (folded and negated as needed).
   Returns the length, 0 on error (err filled). */
static size_t p2m__rx_parse_class(p2m__rcomp *c, const char *p, size_t len, size_t i,
                                  uint32_t flags, uint8_t *set) {
    size_t j = i + 1;
    int negate = 0, first = 1;
    unsigned k;
    for (k = 0; k < 32; k++) set[k] = 0;
    if (j < len && p[j] == '^') {
        negate = 1;
        j++;
    }
    for (;;) {
        if (j >= len) {
            p2m__rx_fail(c->err, P2M_ERR_CONFIG, len, "missing ]");
            return 0;
        }
        if (p[j] == ']' && !first) break;
        first = 0;
        if ((j = p2m__rx_class_item(c, p, len, j, flags, set)) == 0) return 0;
    }
    if (flags & P2M__RXF_I)
        for (k = 0; k < 256; k++)
            if (p2m__rset_has(set, k)) p2m__rset_add(set, p2m__rx_other_case(k));
    if (negate)
        for (k = 0; k < 32; k++) set[k] = (uint8_t)~set[k];
    return j + 1 - i;
}

static P2M__MUST int p2m__rx_emit_class(p2m__rcomp *c, size_t off, const uint8_t *set) {
    unsigned k;
    if (!p2m__rx_emit(c, off, P2M__RX_CLASS, 0, 0, (int32_t)c->ncls, 0)) return 0;
    if (c->cls)
        for (k = 0; k < 32; k++) c->cls[(size_t)c->ncls * 32u + k] = set[k];
    c->ncls++;
    return 1;
}

/* Parses "(?flags)" / "(?flags:" at p[i] == '(' p[i+1] == '?'. Returns the
   length, 0 on error; *open = 1 for the group form. */
static size_t p2m__rx_parse_flags(p2m__rcomp *c, const char *p, size_t len, size_t i,
                                  uint32_t *flags, int *open) {
    size_t j = i + 2;
    int neg = 0, any = 0;
    uint32_t f = *flags, bit;
    for (; j < len; j++) {
        switch (p[j]) {
        case 'i': bit = P2M__RXF_I; break;
        case 'm': bit = P2M__RXF_M; break;
        case 's': bit = P2M__RXF_S; break;
        case 'U': bit = P2M__RXF_U; break;
        case '-':
            if (neg) goto bad;
            neg = 1;
            any = 0;
            continue;
        case ')': case ':':
            if (!any && (neg || (j == i + 2 && p[j] == ')'))) goto bad;
            *open = p[j] == ':';
            *flags = f;
            return j + 1 - i;
        default: goto bad;
        }
        any = 1;
        if (neg) f &= ~bit;
        else f |= bit;
    }
    p2m__rx_fail(c->err, P2M_ERR_CONFIG, len, "missing )");
    return 0;
bad:
    p2m__rx_fail(c->err, P2M_ERR_CONFIG, j, "invalid or unsupported group flag");
    return 0;
}

/* One parse: dry run when c->code is NULL. Returns 1 on success. */
/* The parser's state: the pattern, the position, the open groups. Its
   steps below are inlined into p2m__rx_parse even under -Os: one frame
   on the deepest path of p2m_engine_compile, which a firmware stack budget
   bounds. */
typedef struct p2m__rparse {
    p2m__rcomp *c;
    const char *p;
    size_t len, i;
    p2m__rframe st[P2M_REGEX_MAX_DEPTH + 1];
    size_t names_at[16], names_len[16], nnames;
    uint32_t depth, flags, ngroups;
    long last;      /* start of the last atom, -1 = none */
    int last_quant; /* the last thing was a quantifier */
    uint32_t *has_group;
    uint8_t set[32];
} p2m__rparse;

#if defined(__GNUC__) || defined(__clang__)
#define P2M__RX_STEP static inline __attribute__((always_inline))
#else
#define P2M__RX_STEP static
#endif

/* A syntax error at byte at of the pattern; evaluates to 0. */
#define p2m__rx_err(x, at, m) (p2m__rx_fail((x)->c->err, P2M_ERR_CONFIG, (at), m), 0)

/* Points the group's pending JMPs (its alternatives' ends) here. */
static void p2m__rx_patch_pending(p2m__rcomp *c, int32_t at) {
    while (at >= 0) {
        int32_t next = c->code ? c->code[at].x : -1;
        p2m__rx_set(c, (uint32_t)at, P2M__RX_JMP, 0, 0, (int32_t)c->pc - at, 0);
        at = next;
    }
}

/* Opens a group frame (save: it is group 1) with the flags to restore. */
P2M__RX_STEP int p2m__rx_push(p2m__rparse *x, int save) {
    p2m__rframe *f;
    if (x->depth >= P2M_REGEX_MAX_DEPTH) return p2m__rx_err(x, x->i, "groups nested too deeply");
    f = &x->st[++x->depth];
    f->group_start = (p2m__rpos)x->c->pc;
    f->save = (uint8_t)save;
    if (save && !p2m__rx_emit(x->c, x->i, P2M__RX_SAVE, 0, 0, 2, 0)) return 0;
    f->alt_start = (p2m__rpos)x->c->pc;
    f->pending = -1;
    f->flags = (uint8_t)x->flags;
    x->last = -1;
    return 1;
}

/* A quantifier of qlen bytes at x->i applied to the last atom. */
P2M__RX_STEP int p2m__rx_quantifier(p2m__rparse *x, size_t qlen, long min, long max) {
    const char *p = x->p;
    const size_t i = x->i;
    int greedy = 1;
    if (x->last < 0) return p2m__rx_err(x, i, "missing argument to repetition operator");
    if (x->last_quant) return p2m__rx_err(x, i, "bad repetition operator (repeated quantifier)");
    if (min > P2M_REGEX_MAX_REPEAT || max > P2M_REGEX_MAX_REPEAT)
        return p2m__rx_err(x, i, "repetition count too large (max 1000)");
    if (max >= 0 && min > max) return p2m__rx_err(x, i, "bad repetition range (min > max)");
    if (i + qlen < x->len && p[i + qlen] == '?') {
        greedy = 0;
        qlen++;
    } else if (i + qlen < x->len && p[i + qlen] == '+') {
        return p2m__rx_err(x, i + qlen, "possessive quantifiers not supported");
    }
    if (x->flags & P2M__RXF_U) greedy = !greedy;
    if (!p2m__rx_repeat(x->c, (uint32_t)x->last, min, max, greedy, i)) return 0;
    x->last_quant = 1;
    x->i += qlen;
    return 1;
}

/* A named group's name p[nb..ne): new, and room for it. */
P2M__RX_STEP int p2m__rx_name(p2m__rparse *x, size_t nb, size_t ne) {
    size_t k;
    for (k = 0; k < x->nnames; k++) {
        size_t q = 0;
        if (x->names_len[k] != ne - nb) continue;
        while (q < ne - nb && x->p[x->names_at[k] + q] == x->p[nb + q]) q++;
        if (q == ne - nb) return p2m__rx_err(x, x->i, "duplicate capture group name");
    }
    if (x->nnames == 16) return p2m__rx_err(x, x->i, "too many named groups (max 16)");
    x->names_at[x->nnames] = nb;
    x->names_len[x->nnames++] = ne - nb;
    return 1;
}

/* '(' at x->i: a capturing group, a named one, a flag group, or one of the
   constructs RE2 rejects. */
P2M__RX_STEP int p2m__rx_open(p2m__rparse *x) {
    const char *p = x->p;
    const size_t i = x->i, len = x->len;
    size_t el = 1;
    if (i + 1 < len && p[i + 1] == '?') {
        if (i + 2 < len &&
            (p[i + 2] == '=' || p[i + 2] == '!' ||
             (p[i + 2] == '<' && i + 3 < len && (p[i + 3] == '=' || p[i + 3] == '!'))))
            return p2m__rx_err(x, i, "look-around (?= (?! (?<= (?<! not supported");
        if (i + 2 < len &&
            (p[i + 2] == '<' || (p[i + 2] == 'P' && i + 3 < len && p[i + 3] == '<'))) {
            const size_t nb = i + (p[i + 2] == '<' ? 3 : 4); /* named group: capturing */
            size_t ne;
            for (ne = nb; ne < len && p2m__rx_isword((unsigned char)p[ne]); ne++) {}
            if (ne >= len || p[ne] != '>' || ne == nb || (p[nb] >= '0' && p[nb] <= '9'))
                return p2m__rx_err(x, i, "invalid named capture group");
            if (!p2m__rx_name(x, nb, ne)) return 0;
            el = ne + 1 - i;
        } else if (i + 2 < len && p[i + 2] == 'P') {
            return p2m__rx_err(x, i, i + 3 < len && p[i + 3] == '='
                                         ? "(?P=name) back-references not supported"
                                         : "invalid named capture group");
        } else {
            uint32_t nf = x->flags;
            int open = 0;
            el = p2m__rx_parse_flags(x->c, p, len, i, &nf, &open);
            if (!el) return 0;
            if (open && !p2m__rx_push(x, 0)) return 0;
            x->flags = nf; /* (?flags) alone: for the rest of the current group */
            x->last = -1;
            x->i += el;
            return 1;
        }
    }
    x->ngroups++;
    if (x->ngroups == 1) *x->has_group = 1;
    if (!p2m__rx_push(x, x->ngroups == 1)) return 0;
    x->i += el;
    return 1;
}

/* ')' at x->i: closes the group; it becomes the last atom. */
P2M__RX_STEP int p2m__rx_close(p2m__rparse *x) {
    p2m__rframe *f = &x->st[x->depth];
    if (x->depth == 0) return p2m__rx_err(x, x->i, "unexpected )");
    p2m__rx_patch_pending(x->c, f->pending);
    if (f->save && !p2m__rx_emit(x->c, x->i, P2M__RX_SAVE, 0, 0, 3, 0)) return 0;
    x->last = (long)f->group_start;
    x->flags = f->flags;
    x->depth--;
    x->i++;
    return 1;
}

/* '|' at x->i: the alternative so far becomes a SPLIT's first branch. */
P2M__RX_STEP int p2m__rx_alternative(p2m__rparse *x) {
    p2m__rframe *f = &x->st[x->depth];
    uint32_t a = f->alt_start;
    if (!p2m__rx_insert(x->c, a, 1, x->i)) return 0;
    if (!p2m__rx_emit(x->c, x->i, P2M__RX_JMP, 0, 0, f->pending, 0)) return 0;
    f->pending = (p2m__rspos)((int32_t)x->c->pc - 1);
    p2m__rx_set(x->c, a, P2M__RX_SPLIT, 0, 0, 1, (int32_t)(x->c->pc - a));
    f->alt_start = (p2m__rpos)x->c->pc;
    x->last = -1;
    x->i++;
    return 1;
}

/* '\' at x->i: an assertion, a class, or a literal (then *ch, return 2). */
P2M__RX_STEP int p2m__rx_backslash(p2m__rparse *x, unsigned *ch) {
    const char *msg = P2M__MSG("");
    size_t el;
    unsigned op = 0, k;
    int e = p2m__rx_escape(x->p, x->len, x->i, &el, &msg);
    if (e < 0) return p2m__rx_err(x, x->i, msg);
    x->i += el;
    if (e < 256) {
        *ch = (unsigned)e;
        return 2;
    }
    e -= 256;
    switch (e) {
    case 'b': op = P2M__RX_WORDB; break;
    case 'B': op = P2M__RX_NWORDB; break;
    case 'A': op = P2M__RX_BOT; break;
    case 'z': op = P2M__RX_EOT; break;
    case 'C': op = P2M__RX_ANYNL; break;
    default: break;
    }
    if (op) return p2m__rx_emit(x->c, x->i - el, op, 0, 0, 0, 0);
    for (k = 0; k < 32; k++) x->set[k] = 0;
    p2m__rset_named(x->set, e == 'd' || e == 'D' ? "d" : e == 'w' || e == 'W' ? "w" : "s", 1,
                    e == 'D' || e == 'W' || e == 'S', 0);
    return p2m__rx_emit_class(x->c, x->i - el, x->set);
}

/* One atom at x->i (a literal, '.', '^', '$', a class, an escape); it
   becomes the last atom. */
P2M__RX_STEP int p2m__rx_atom(p2m__rparse *x, unsigned ch) {
    p2m__rcomp *c = x->c;
    const uint32_t atom = c->pc, fl = x->flags;
    size_t el;
    int r = 1;
    switch (ch) {
    case '^':
        r = p2m__rx_emit(c, x->i++, (fl & P2M__RXF_M) ? P2M__RX_BOL : P2M__RX_BOT, 0, 0, 0, 0);
        break;
    case '$':
        r = p2m__rx_emit(c, x->i++, (fl & P2M__RXF_M) ? P2M__RX_EOL : P2M__RX_EOT, 0, 0, 0, 0);
        break;
    case '.':
        r = p2m__rx_emit(c, x->i++, (fl & P2M__RXF_S) ? P2M__RX_ANYNL : P2M__RX_ANY, 0, 0, 0, 0);
        break;
    case '[':
        el = p2m__rx_parse_class(c, x->p, x->len, x->i, fl, x->set);
        r = el && p2m__rx_emit_class(c, x->i, x->set);
        x->i += el;
        break;
    case '\\':
        r = p2m__rx_backslash(x, &ch);
        if (r != 2) break;
        /* an escaped literal */
        r = p2m__rx_emit(c, x->i, P2M__RX_CHAR, ch, (fl & P2M__RXF_I) ? p2m__rx_other_case(ch) : ch,
                         0, 0);
        break;
    default:
        x->i++;
        r = p2m__rx_emit(c, x->i, P2M__RX_CHAR, ch, (fl & P2M__RXF_I) ? p2m__rx_other_case(ch) : ch,
                         0, 0);
        break;
    }
    x->last = (long)atom;
    return r;
}

/* Parses and compiles the pattern p[0..len) (RE2 syntax) into c: SAVE 0,
   the pattern, SAVE 1, MATCH. 0 on an error (reported through c->err). */
static P2M__MUST int p2m__rx_parse(p2m__rcomp *c, const char *p, size_t len, uint32_t *has_group) {
    p2m__rparse x;
    x.c = c;
    x.p = p;
    x.len = len;
    x.i = 0;
    x.nnames = 0;
    x.depth = x.flags = x.ngroups = 0;
    x.last = -1;
    x.last_quant = 0;
    x.has_group = has_group;
    *has_group = 0;
    if (!p2m__rx_emit(c, 0, P2M__RX_SAVE, 0, 0, 0, 0)) return 0;
    x.st[0].group_start = x.st[0].alt_start = (p2m__rpos)c->pc;
    x.st[0].pending = -1;
    x.st[0].save = 0;
    x.st[0].flags = 0;
    while (x.i < len) {
        const unsigned ch = (unsigned char)p[x.i];
        long min = 0, max = 0;
        size_t qlen = 0;
        int ok;
        if (ch == '*' || ch == '+' || ch == '?') {
            qlen = 1;
            min = ch == '+' ? 1 : 0;
            max = ch == '?' ? 1 : -1;
        } else if (ch == '{') {
            qlen = p2m__rx_parse_brace(p, len, x.i, &min, &max);
        }
        if (qlen) {
            if (!p2m__rx_quantifier(&x, qlen, min, max)) return 0;
            continue;
        }
        x.last_quant = 0;
        ok = ch == '('   ? p2m__rx_open(&x)
             : ch == ')' ? p2m__rx_close(&x)
             : ch == '|' ? p2m__rx_alternative(&x)
                         : p2m__rx_atom(&x, ch);
        if (!ok) return 0;
    }
    if (x.depth > 0) return p2m__rx_err(&x, len, "missing )");
    p2m__rx_patch_pending(c, x.st[0].pending);
    if (!p2m__rx_emit(c, len, P2M__RX_SAVE, 0, 0, 1, 0)) return 0;
    return p2m__rx_emit(c, len, P2M__RX_MATCH, 0, 0, 0, 0);
}

#endif /* !P2M_NO_COMPILE */

static size_t p2m__rx_align(size_t v) {
    return (v + (P2M__RX_ALIGN - 1)) & ~(size_t)(P2M__RX_ALIGN - 1);
}

#ifndef P2M_NO_COMPILE
/* Dry run: validates and sizes. On success *ninst, *ncls, *bytes (the exact
   footprint from an aligned start). */
static P2M__MUST int p2m__rx_measure(const char *pattern, size_t len, p2m_error *err,
                           uint32_t *ninst, uint32_t *ncls, size_t *bytes) {
    p2m__rcomp c;
    uint32_t hg;
    c.code = NULL;
    c.cls = NULL;
    c.pc = 0;
    c.maxpc = 0;
    c.ncls = 0;
    c.err = err;
    c.failed = 0;
    if (!p2m__rx_parse(&c, pattern, len, &hg)) return 0;
    *ninst = c.maxpc;
    *ncls = c.ncls;
    *bytes = p2m__rx_align(sizeof(p2m_regex)) +
             p2m__rx_align((size_t)c.maxpc * sizeof(p2m__rinst)) + (size_t)c.ncls * 32u;
    return 1;
}

/* What both backends' p2m_regex_compile do first: check the arguments and
   measure the pattern (P2M_OK, or the status to return). */
static P2M__MUST p2m_status p2m__rx_begin(const char **pattern, size_t len, const p2m_regex **re,
                                p2m_error *err, uint32_t *ninst, uint32_t *ncls, size_t *bytes) {
    if (re) *re = NULL;
    if (!re || (!*pattern && len)) {
        p2m__rx_fail(err, P2M_ERR_ARGUMENT, 0, "p2m_regex_compile: NULL argument");
        return P2M_ERR_ARGUMENT;
    }
    if (!*pattern) *pattern = "";
    return p2m__rx_measure(*pattern, len, err, ninst, ncls, bytes) ? P2M_OK : P2M_ERR_CONFIG;
}

#endif /* !P2M_NO_COMPILE */

/* A compiled pattern's header for both backends: ninst instructions and
   ncls classes of the built-in program after it (PCRE2 keeps its own code
   and sets backend, the offsets and pcre), nothing known of the program
   yet. */
static void p2m__rx_header(p2m_regex *r, uint32_t ninst, uint32_t ncls) {
    r->magic = P2M__RX_MAGIC;
    r->ninst = ninst;
    r->nclass = ncls;
    r->backend = 0;
    r->anchored = 0;
    r->use_first = 0;
    r->extra = 0;
    r->pcre = NULL;
    r->code_off = p2m__rx_align(sizeof(p2m_regex));
    r->class_off = r->code_off + p2m__rx_align((size_t)ninst * sizeof(p2m__rinst));
}

/* ---- the Pike VM (the built-in backend; PCRE2 replaces it) ---- */
#ifndef P2M_USE_PCRE2

/* A thread carries two capture slots: the reported span (group 1, or the
   whole match when there is no group; compile renumbers the SAVEs). */
typedef struct p2m__rthread {
    size_t cap[2];
    uint32_t pc;
} p2m__rthread;

typedef struct p2m__rstack {
    size_t val;
    uint32_t pc;   /* instruction to explore, or the slot to restore */
    uint32_t restore;
} p2m__rstack;

typedef struct p2m__rvm {
    const p2m__rinst *code;
    const uint8_t *cls;
    const unsigned char *s;
    size_t n;
    size_t *mark;          /* per instruction: position + 1 of its last visit */
    p2m__rstack *stack;
    uint64_t steps;
} p2m__rvm;

static size_t p2m__rx_scratch_builtin(uint32_t ninst) {
    return P2M__RX_ALIGN + p2m__rx_align((size_t)ninst * sizeof(size_t)) +
           2u * p2m__rx_align((size_t)ninst * sizeof(p2m__rthread)) +
           p2m__rx_align(((size_t)ninst + 1u) * sizeof(p2m__rstack));
}

/* Follows the empty transitions from pc at text position pos (stamp pos+1),
   appending the threads that wait for a byte (or MATCH) to list in priority
   order. cap is the thread's capture array, modified and restored. */
static void p2m__rx_add(p2m__rvm *vm, p2m__rthread *list, uint32_t *count, uint32_t pc0,
                        size_t *cap, size_t pos) {
    size_t sp = 0, stamp = pos + 1;
    const unsigned char *s = vm->s;
    vm->stack[sp].pc = pc0;
    vm->stack[sp].restore = 0;
    sp++;
    while (sp > 0) {
        uint32_t pc;
        sp--;
        if (vm->stack[sp].restore) {
            cap[vm->stack[sp].pc] = vm->stack[sp].val;
            continue;
        }
        pc = vm->stack[sp].pc;
        for (;;) {
            const p2m__rinst *in;
            int ok;
            if (vm->mark[pc] == stamp) break;
            vm->mark[pc] = stamp;
            vm->steps++;
            in = &vm->code[pc];
            switch (in->op) {
            case P2M__RX_JMP:
                pc = (uint32_t)((int32_t)pc + in->x);
                continue;
            case P2M__RX_SPLIT:
                vm->stack[sp].pc = (uint32_t)((int32_t)pc + in->y);
                vm->stack[sp].restore = 0;
                sp++;
                pc = (uint32_t)((int32_t)pc + in->x);
                continue;
            case P2M__RX_SAVE:
                vm->stack[sp].pc = (uint32_t)in->x;
                vm->stack[sp].val = cap[in->x];
                vm->stack[sp].restore = 1;
                sp++;
                cap[in->x] = pos;
                pc++;
                continue;
            case P2M__RX_BOT: ok = pos == 0; break;
            case P2M__RX_EOT: ok = pos == vm->n; break;
            case P2M__RX_BOL: ok = pos == 0 || s[pos - 1] == '\n'; break;
            case P2M__RX_EOL: ok = pos == vm->n || s[pos] == '\n'; break;
            case P2M__RX_WORDB: case P2M__RX_NWORDB: {
                int w1 = pos > 0 && p2m__rx_isword(s[pos - 1]);
                int w2 = pos < vm->n && p2m__rx_isword(s[pos]);
                ok = (w1 != w2) == (in->op == P2M__RX_WORDB);
                break;
            }
            default: { /* waits for a byte, or MATCH */
                p2m__rthread *t = &list[(*count)++];
                t->pc = pc;
                t->cap[0] = cap[0];
                t->cap[1] = cap[1];
                ok = 0;
                break;
            }
            }
            if (!ok) break;
            pc++;
        }
    }
}

/* Does the one-byte matcher in (CHAR, CLASS, ANY, ANYNL; classes at cls)
   take byte b? 0 for any other instruction. */
P2M__INLINE int p2m__rx_takes(const p2m__rinst *in, const uint8_t *cls, unsigned b) {
    switch (in->op) {
    case P2M__RX_CHAR: return b == in->a || b == in->b;
    case P2M__RX_ANY: return b != '\n';
    case P2M__RX_ANYNL: return 1;
    case P2M__RX_CLASS: return p2m__rset_has(cls + (size_t)in->x * 32u, b);
    default: return 0;
    }
}

/* The Pike VM's search: one pass over the subject, the current and next
   thread lists in the caller's scratch, leftmost-first. One function on
   purpose: it is the hot loop of every regex rule and filter, and its
   per-byte step shares the lists, the position and the best match, which a
   split would pass through memory on every byte. */
static int p2m__rx_search_builtin(const p2m_regex *re, const char *subject, size_t n,
                                  void *scratch, size_t scratch_size, size_t *start, size_t *end,
                                  uint64_t *steps) {
    p2m__rvm vm;
    p2m__rthread *clist, *nlist, *tmp;
    uint32_t ccount = 0, ncount, k, ninst = re->ninst;
    size_t pos, cap[2], best[2];
    int matched = 0;
    uintptr_t base;
    unsigned char *m;

    if (scratch == NULL || scratch_size < p2m__rx_scratch_builtin(ninst)) return -1;
    if (!P2M__FOR_SIZE && re->anchored && re->use_first &&
        (n == 0 || !p2m__rset_has(re->first, (unsigned char)subject[0]))) {
        /* a match must start at 0 with a byte of the first set: one step
           (builds for size let the machine find it out) */
        if (steps) *steps = 1;
        return 0;
    }
    if (!P2M__FOR_SIZE && re->anchored) {
        /* a pattern of ^ and one-byte matchers only (a literal or class
           prefix: ^java, ^[a-p]) is its bytes at 0: tested here, without the
           machine, with the match's span the machine gives */
        const p2m__rinst *c = (const p2m__rinst *)(const void *)((const unsigned char *)re +
                                                                  re->code_off);
        uint32_t j = 2; /* SAVE 0, BOT, the matchers, SAVE 1, MATCH */
        while (j < ninst && (c[j].op == P2M__RX_CHAR || c[j].op == P2M__RX_CLASS ||
                             c[j].op == P2M__RX_ANY || c[j].op == P2M__RX_ANYNL))
            j++;
        if (j + 2u == ninst && c[0].op == P2M__RX_SAVE && c[0].x == 0 && c[1].op == P2M__RX_BOT &&
            c[j].op == P2M__RX_SAVE && c[j].x == 1 && c[j + 1].op == P2M__RX_MATCH) {
            const uint8_t *cls = (const uint8_t *)re + re->class_off;
            const unsigned char *s = (const unsigned char *)subject;
            const size_t len = j - 2u;
            size_t i;
            for (i = 0; i < len && i < n && p2m__rx_takes(&c[2u + i], cls, s[i]); i++) {}
            if (steps) *steps = i + 1u;
            if (i < len) return 0;
            *start = 0;
            *end = len;
            return 1;
        }
    }
    base = (uintptr_t)scratch;
    m = (unsigned char *)scratch + (p2m__rx_align((size_t)base) - (size_t)base);
    vm.code = (const p2m__rinst *)(const void *)((const unsigned char *)re + re->code_off);
    vm.cls = (const uint8_t *)re + re->class_off;
    vm.s = (const unsigned char *)subject;
    vm.n = n;
    vm.steps = 0;
    vm.mark = (size_t *)(void *)m;
    m += p2m__rx_align((size_t)ninst * sizeof(size_t));
    clist = (p2m__rthread *)(void *)m;
    m += p2m__rx_align((size_t)ninst * sizeof(p2m__rthread));
    nlist = (p2m__rthread *)(void *)m;
    m += p2m__rx_align((size_t)ninst * sizeof(p2m__rthread));
    vm.stack = (p2m__rstack *)(void *)m;
    for (k = 0; k < ninst; k++) vm.mark[k] = 0;
    best[0] = best[1] = P2M__RX_NONE;

    for (pos = 0;; pos++) {
        if (!matched) {
            if (ccount == 0 && re->use_first) { /* nothing alive: skip to a possible start */
                while (pos < n && !p2m__rset_has(re->first, vm.s[pos])) pos++;
                if (pos >= n) break;
            }
            cap[0] = cap[1] = P2M__RX_NONE;
            p2m__rx_add(&vm, clist, &ccount, 0, cap, pos);
        }
        if (ccount == 0 && (matched || pos >= n || (re->anchored && pos > 0))) break;
        ncount = 0;
        for (k = 0; k < ccount; k++) {
            p2m__rthread *t = &clist[k];
            const p2m__rinst *in = &vm.code[t->pc];
            vm.steps++;
            if (in->op == P2M__RX_MATCH) {
                best[0] = t->cap[0];
                best[1] = t->cap[1];
                matched = 1;
                break; /* lower-priority threads lose */
            }
            if (pos < n && p2m__rx_takes(in, vm.cls, vm.s[pos])) {
                cap[0] = t->cap[0];
                cap[1] = t->cap[1];
                p2m__rx_add(&vm, nlist, &ncount, t->pc + 1, cap, pos + 1);
            }
        }
        tmp = clist;
        clist = nlist;
        nlist = tmp;
        ccount = ncount;
        if (pos >= n) break; /* nothing can be consumed past the end */
    }
    if (steps) *steps = vm.steps;
    if (!matched) return 0;
    if (best[0] == P2M__RX_NONE || best[1] == P2M__RX_NONE) { /* group 1 took no part */
        *start = *end = P2M__RX_NONE;
    } else {
        *start = best[0];
        *end = best[1];
    }
    return 1;
}

#ifndef P2M_NO_COMPILE
/* The bytes a match can start with, for skipping ahead while no thread is
   alive: a bounded walk of the start's empty transitions (assertions are
   passed through, so the set may be too large, never too small). Gives up
   (returns 0) when a match can be empty, on any-byte, or when the walk is
   longer than its small fixed budget (no memory to mark visits). */
static int p2m__rx_first_set(const p2m__rinst *code, uint32_t pc_end, const uint8_t *cls,
                             uint8_t *first) {
    uint32_t stack[16], sp = 0, budget = 256, pc = 0, k;
    for (k = 0; k < 32; k++) first[k] = 0;
    for (;;) {
        const p2m__rinst *in;
        if (pc >= pc_end || budget-- == 0) return 0;
        in = &code[pc];
        switch (in->op) {
        case P2M__RX_JMP: pc = (uint32_t)((int32_t)pc + in->x); continue;
        case P2M__RX_SPLIT:
            if (sp == sizeof stack / sizeof stack[0]) return 0;
            stack[sp++] = (uint32_t)((int32_t)pc + in->y);
            pc = (uint32_t)((int32_t)pc + in->x);
            continue;
        case P2M__RX_SAVE: case P2M__RX_BOT: case P2M__RX_EOT: case P2M__RX_BOL: case P2M__RX_EOL:
        case P2M__RX_WORDB: case P2M__RX_NWORDB:
            pc++;
            continue;
        case P2M__RX_CHAR:
            p2m__rset_add(first, in->a);
            p2m__rset_add(first, in->b);
            break;
        case P2M__RX_CLASS:
            for (k = 0; k < 32; k++) first[k] = (uint8_t)(first[k] | cls[(size_t)in->x * 32u + k]);
            break;
        default: /* MATCH (can be empty), ANY, ANYNL */
            return 0;
        }
        if (sp == 0) return 1;
        pc = stack[--sp];
    }
}
#endif /* !P2M_NO_COMPILE */
#endif /* !P2M_USE_PCRE2 */

#if !defined(P2M_NO_REGEX) && !defined(P2M_USE_PCRE2)
#ifndef P2M_NO_COMPILE

/* Bytes p2m_regex_compile asks for (0: not a valid pattern). */
static size_t p2m__regex_need(const char *pattern, size_t len) {
    uint32_t ninst, ncls;
    size_t bytes;
    return p2m__rx_measure(pattern, len, 0, &ninst, &ncls, &bytes) ? bytes + P2M__RX_ALIGN - 1 : 0;
}

/* Threads carry only the reported span: in a pattern with a group, SAVE 2
   and 3 become slots 0 and 1, and the whole match's SAVEs do nothing (JMP
   +1). */
static void p2m__rx_group_span(p2m__rinst *code, uint32_t n) {
    uint32_t k;
    for (k = 0; k < n; k++) {
        if (code[k].op != P2M__RX_SAVE) continue;
        if (code[k].x >= 2) {
            code[k].x -= 2;
        } else {
            code[k].op = P2M__RX_JMP;
            code[k].x = 1;
        }
    }
}

P2M_API p2m_status p2m_regex_compile(const char *pattern, size_t len, void *mem, size_t mem_size,
                                     const p2m_regex **re, p2m_error *err) {
    p2m__rcomp c;
    uint32_t ninst, ncls, hg;
    size_t bytes, pad;
    p2m_status st;
    p2m_regex *r;
    if ((st = p2m__rx_begin(&pattern, len, re, err, &ninst, &ncls, &bytes)) != P2M_OK) return st;
    pad = mem ? p2m__rx_align((size_t)(uintptr_t)mem) - (size_t)(uintptr_t)mem : 0;
    if (!mem || mem_size < pad + bytes) {
        p2m__rx_fail(err, P2M_ERR_MEMORY, 0, "regex memory too small");
        if (err) err->needed = bytes + P2M__RX_ALIGN - 1;
        return P2M_ERR_MEMORY;
    }
    r = (p2m_regex *)(void *)((unsigned char *)mem + pad);
    p2m__rx_header(r, ninst, ncls);
    c.code = (p2m__rinst *)(void *)((unsigned char *)r + r->code_off);
    c.cls = (uint8_t *)r + r->class_off;
    c.pc = 0;
    c.maxpc = 0;
    c.ncls = 0;
    c.err = err;
    c.failed = 0;
    if (!p2m__rx_parse(&c, pattern, len, &hg) || c.maxpc != ninst || c.ncls != ncls) {
        /* cannot happen: the dry run accepted the same pattern */
        p2m__rx_fail(err, P2M_ERR_CONFIG, 0, "internal error: regex dry run disagrees");
        return P2M_ERR_CONFIG;
    }
    r->has_group = hg;
    r->anchored = ninst > 1 && c.code[1].op == P2M__RX_BOT;
    r->use_first = (uint32_t)p2m__rx_first_set(c.code, c.pc, c.cls, r->first);
    if (hg) p2m__rx_group_span(c.code, c.pc);
    *re = r;
    p2m__rx_ok(err);
    return P2M_OK;
}
#else  /* P2M_NO_COMPILE */
P2M_API p2m_status p2m_regex_compile(const char *pattern, size_t len, void *mem, size_t mem_size,
                                     const p2m_regex **re, p2m_error *err) {
    (void)pattern;
    (void)len;
    (void)mem;
    (void)mem_size;
    p2m__regex_refused(re, err,
                       P2M__MSG("the regex parser is compiled out (P2M_NO_COMPILE): patterns "
                                "come in images"));
    return P2M_ERR_UNSUPPORTED; /* a constant: callers' error paths fold away */
}
#endif /* P2M_NO_COMPILE */

P2M_API size_t p2m_regex_scratch_size(const p2m_regex *re) {
    return re ? p2m__rx_scratch_builtin(re->ninst) : 0;
}

P2M_API int p2m_regex_search(const p2m_regex *re, const char *s, size_t n, void *scratch,
                             size_t scratch_size, size_t *start, size_t *end, uint64_t *steps) {
    size_t st0, en0;
    int r;
    if (steps) *steps = 0;
    if (!re || re->magic != P2M__RX_MAGIC || (!s && n)) return -1;
    if (!s) s = "";
    r = p2m__rx_search_builtin(re, s, n, scratch, scratch_size, &st0, &en0, steps);
    if (r == 1) {
        if (start) *start = st0;
        if (end) *end = en0;
    }
    return r;
}

/* ---- regex: programs in engine images -------------------------------------
   A program as p2m__img_regex writes it: ninst, nclass, has_group,
   anchored, use_first, first (32 bytes), each instruction's op, a, b, x and
   y (x and y zigzag-coded), then the classes (32 bytes each). Loading
   checks what the VM relies on, so that no image can make it read outside
   the program: known opcodes, every jump and every next instruction inside
   the program, class indices in range, capture slots 0 and 1. */

static int32_t p2m__img_i32(p2m__img *x, int32_t v) {
    const uint32_t z = ((uint32_t)v << 1) ^ (uint32_t)-(int32_t)((uint32_t)v >> 31);
    const uint32_t r = p2m__img_u32(x, z, UINT32_MAX);
    return (int32_t)((r >> 1) ^ (0u - (r & 1u)));
}

/* Does instruction k of n (classes ncls) keep the VM inside the program? */
static int p2m__rx_inst_ok(const p2m__rinst *in, uint32_t k, uint32_t n, uint32_t ncls) {
    const int64_t next = (int64_t)k + 1, tx = (int64_t)k + in->x, ty = (int64_t)k + in->y;
    switch (in->op) {
    case P2M__RX_MATCH: return 1;
    case P2M__RX_JMP: return tx >= 0 && tx < n;
    case P2M__RX_SPLIT: return tx >= 0 && tx < n && ty >= 0 && ty < n;
    case P2M__RX_SAVE: return (in->x == 0 || in->x == 1) && next < n;
    case P2M__RX_CLASS: return in->x >= 0 && (uint32_t)in->x < ncls && next < n;
    case P2M__RX_CHAR: case P2M__RX_ANY: case P2M__RX_ANYNL: case P2M__RX_BOT: case P2M__RX_EOT:
    case P2M__RX_BOL: case P2M__RX_EOL: case P2M__RX_WORDB: case P2M__RX_NWORDB: return next < n;
    default: return 0;
    }
}

static void p2m__img_regex(p2m__img *x, const p2m_regex **re) {
    const p2m_regex *src = x->load ? 0 : *re;
    p2m_regex *r = 0;
    const p2m__rinst *code = 0;
    const uint8_t *cls = 0;
    uint8_t first[32];
    uint32_t ninst, ncls, k;
    int hg, anch, usef;
    if (src && src->backend != 0) {
        p2m__img_bad(x, P2M_ERR_UNSUPPORTED,
                     P2M__MSG("a PCRE2 pattern has no image: images hold built-in programs"));
        return;
    }
    if (src) {
        code = (const p2m__rinst *)(const void *)((const uint8_t *)src + src->code_off);
        cls = (const uint8_t *)src + src->class_off;
        P2M_MEMCPY(first, src->first, 32);
    }
    ninst = p2m__img_u32(x, src ? src->ninst : 0u, P2M_REGEX_MAX_INSTS);
    ncls = p2m__img_u32(x, src ? src->nclass : 0u, 0xFFFFu);
    hg = p2m__img_flag(x, src && src->has_group);
    anch = p2m__img_flag(x, src && src->anchored);
    usef = p2m__img_flag(x, src && src->use_first);
    p2m__img_raw(x, first, 32);
    if (x->load) {
        const size_t bytes = p2m__rx_align(sizeof(p2m_regex)) +
                             p2m__rx_align((size_t)ninst * sizeof(p2m__rinst)) + (size_t)ncls * 32u;
        uint8_t *m;
        if (!ninst || (size_t)ncls * 32u > p2m__img_left(x)) {
            p2m__img_bad(x, P2M_ERR_IMAGE, P2M__MSG("a pattern's program has a wrong size"));
            return;
        }
        m = (uint8_t *)p2m__take(&x->a, bytes + P2M__RX_ALIGN - 1u);
        if (m) {
            const size_t at = (size_t)(uintptr_t)m;
            r = (p2m_regex *)(void *)(m + (p2m__rx_align(at) - at));
            p2m__rx_header(r, ninst, ncls);
            r->has_group = (uint32_t)hg;
            r->anchored = (uint32_t)anch;
            r->use_first = (uint32_t)usef;
            P2M_MEMCPY(r->first, first, 32);
        }
        if (p2m__rx_scratch_builtin(ninst) > x->scratch)
            x->scratch = p2m__rx_scratch_builtin(ninst);
    }
    for (k = 0; k < ninst && x->st == P2M_OK; k++) {
        p2m__rinst in;
        P2M_MEMSET(&in, 0, sizeof in);
        if (code) in = code[k];
        in.op = (uint8_t)p2m__img_u32(x, in.op, 255u);
        in.a = (uint8_t)p2m__img_u32(x, in.a, 255u);
        in.b = (uint8_t)p2m__img_u32(x, in.b, 255u);
        in.x = p2m__img_i32(x, in.x);
        in.y = p2m__img_i32(x, in.y);
        if (x->load && x->st == P2M_OK && !p2m__rx_inst_ok(&in, k, ninst, ncls))
            p2m__img_bad(x, P2M_ERR_IMAGE, P2M__MSG("a pattern's program leaves the program"));
        if (r) ((p2m__rinst *)(void *)((uint8_t *)r + r->code_off))[k] = in;
    }
    p2m__img_raw(x, r ? (uint8_t *)r + r->class_off : (void *)(uintptr_t)cls, (size_t)ncls * 32u);
    if (r) *re = r;
}

#endif /* built-in backend */

#ifdef P2M_USE_PCRE2
#ifdef P2M_NO_COMPILE
#error "P2M_NO_COMPILE needs the built-in regex engine: images hold its programs, not PCRE2's"
#endif
/* ---- regex: PCRE2 backend (P2M_USE_PCRE2, link -lpcre2-8) ----------------
   The same three functions backed by libpcre2-8. The pattern is first checked
   by the built-in parser, so both backends accept the same language with the
   same error messages; then it is rewritten where PCRE2 reads RE2 syntax
   differently (\s \S without \v, \v as the VT byte, a literal {, a class
   escape followed by -, a quantified assertion) and compiled with RE2's
   defaults (DOLLAR_ENDONLY, ALT_CIRCUMFLEX, LF newline, no UTF, no UCP).
   PCRE2 gets a bump allocator over the caller's memory: compile-time data in
   mem, match-time data (the match data and PCRE2's backtracking frames) in
   scratch, so still no heap. Match, depth and heap limits bound hostile
   patterns; a search that hits one returns -2. Semantics are PCRE2's where
   it differs from RE2 (loops over bodies that can match empty, see
   docs/regex.md). */
#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#ifndef P2M_PCRE2_MATCH_LIMIT
#define P2M_PCRE2_MATCH_LIMIT 1000000u  /* pcre2_set_match_limit */
#endif
#ifndef P2M_PCRE2_DEPTH_LIMIT
#define P2M_PCRE2_DEPTH_LIMIT 10000u    /* pcre2_set_depth_limit */
#endif
#ifndef P2M_PCRE2_HEAP_LIMIT_KB
#define P2M_PCRE2_HEAP_LIMIT_KB 256u    /* pcre2_set_heap_limit, KiB */
#endif

/* RE2's $ and (?m)^, bytes; and PCRE2's start-of-match optimisations off:
   10.42 gets them wrong for groups repeated {0} ((?:a|.*){0}\w). */
#define P2M__RX_PCRE_OPTIONS                                                                   \
    (PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_CIRCUMFLEX | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP |         \
     PCRE2_NO_START_OPTIMIZE | PCRE2_NO_DOTSTAR_ANCHOR)

typedef struct p2m__rx_arena {
    unsigned char *base;
    size_t size, used;
    int failed;
} p2m__rx_arena;

static void *p2m__rx_arena_alloc(PCRE2_SIZE n, void *ud) {
    p2m__rx_arena *a = (p2m__rx_arena *)ud;
    size_t at = p2m__rx_align(a->used);
    if (at > a->size || a->size - at < n) {
        a->failed = 1;
        return NULL;
    }
    a->used = at + n;
    return a->base + at;
}

static void p2m__rx_arena_free(void *ptr, void *ud) {
    (void)ptr; /* everything goes when the caller's block goes */
    (void)ud;
}

/* Appends n bytes of str at *o of out (NULL: only counts). */
static void p2m__pcre_put(char *out, size_t *o, const char *str, size_t n) {
    size_t k;
    if (out)
        for (k = 0; k < n; k++) out[*o + k] = str[k];
    *o += n;
}

/* One item inside a bracket class, at p[i], in PCRE2 form: RE2's \s and \S
   spelled out, \v as \x0b, and a - after a class escape made literal.
   Returns the index after the item; *in_class is cleared by the closing ]. */
static size_t p2m__pcre_class_item(const char *p, size_t len, size_t i, char *out, size_t *o,
                                   int *in_class, int *class_first) {
    static const char s_in[] = "\\t\\n\\f\\r ", S_in[] = "\\x00-\\x08\\x0b\\x0e-\\x1f\\x21-\\xff";
    const char ch = p[i];
    const char *msg = "";
    size_t el;
    int v;
    if (ch == ']' && !*class_first) {
        *in_class = 0;
        p2m__pcre_put(out, o, p + i, 1);
        return i + 1;
    }
    *class_first = 0;
    if (ch == '[' && i + 1 < len && p[i + 1] == ':') { /* [:name:] */
        size_t e = i + 2;
        while (e + 1 < len && !(p[e] == ':' && p[e + 1] == ']')) e++;
        if (e + 1 < len) {
            p2m__pcre_put(out, o, p + i, e + 2 - i);
            return e + 2;
        }
    }
    if (ch != '\\') {
        p2m__pcre_put(out, o, p + i, 1);
        return i + 1;
    }
    v = p2m__rx_escape(p, len, i, &el, &msg);
    if (v == 256 + 's' || v == 256 + 'S' || v == 256 + 'd' || v == 256 + 'D' || v == 256 + 'w' ||
        v == 256 + 'W') {
        if (v == 256 + 's') p2m__pcre_put(out, o, s_in, sizeof s_in - 1);
        else if (v == 256 + 'S') p2m__pcre_put(out, o, S_in, sizeof S_in - 1);
        else p2m__pcre_put(out, o, p + i, el);
        i += el;
        if (i + 1 < len && p[i] == '-' && p[i + 1] != ']') { /* RE2: a literal - */
            p2m__pcre_put(out, o, "\\-", 2);
            i++;
        }
        return i;
    }
    if (v == '\v') p2m__pcre_put(out, o, "\\x0b", 4);
    else p2m__pcre_put(out, o, p + i, el);
    return i + el;
}

/* An escape or an assertion (^, $) outside a class, at p[i], in PCRE2 form:
   \s, \S and \v spelled out, and an assertion that a quantifier follows
   wrapped in a group (RE2 lets a quantifier follow an assertion, ^* \b+;
   PCRE2 only a group: (?:^)*). Returns the index after it. */
static size_t p2m__pcre_escape(const char *p, size_t len, size_t i, char *out, size_t *o) {
    static const char s_out[] = "[\\t\\n\\f\\r ]", S_out[] = "[^\\t\\n\\f\\r ]";
    const char ch = p[i];
    const char *msg = "";
    size_t el = 1;
    long mn, mx;
    const int v = ch == '\\' ? p2m__rx_escape(p, len, i, &el, &msg) : 256 + ch;
    int wrap = (v == 256 + '^' || v == 256 + '$' || v == 256 + 'b' || v == 256 + 'B' ||
                v == 256 + 'A' || v == 256 + 'z');
    wrap = wrap && i + el < len &&
           (p[i + el] == '*' || p[i + el] == '+' || p[i + el] == '?' ||
            (p[i + el] == '{' && p2m__rx_parse_brace(p, len, i + el, &mn, &mx)));
    if (wrap) p2m__pcre_put(out, o, "(?:", 3);
    if (v == 256 + 's') p2m__pcre_put(out, o, s_out, sizeof s_out - 1);
    else if (v == 256 + 'S') p2m__pcre_put(out, o, S_out, sizeof S_out - 1);
    else if (v == '\v') p2m__pcre_put(out, o, "\\x0b", 4);
    else p2m__pcre_put(out, o, p + i, el);
    if (wrap) p2m__pcre_put(out, o, ")", 1);
    return i + el;
}

/* Writes the PCRE2 form of a pattern the built-in parser accepted into out
   (NULL: only count). Returns its length. */
static size_t p2m__rx_to_pcre(const char *p, size_t len, char *out) {
    size_t i = 0, o = 0;
    int in_class = 0, class_first = 0;
    long mn, mx;
    while (i < len) {
        const char ch = p[i];
        if (in_class) {
            i = p2m__pcre_class_item(p, len, i, out, &o, &in_class, &class_first);
        } else if (ch == '[') {
            in_class = 1;
            class_first = 1;
            p2m__pcre_put(out, &o, p + i, 1);
            i++;
            if (i < len && p[i] == '^') {
                p2m__pcre_put(out, &o, p + i, 1);
                i++;
            }
        } else if (ch == '\\' || ch == '^' || ch == '$') {
            i = p2m__pcre_escape(p, len, i, out, &o);
        } else if (ch == '{' && !p2m__rx_parse_brace(p, len, i, &mn, &mx)) {
            p2m__pcre_put(out, &o, "\\{", 2);
            i++;
        } else {
            p2m__pcre_put(out, &o, p + i, 1);
            i++;
        }
    }
    return o;
}

/* Compile-time arena needed: a generous bound from the built-in program size
   (PCRE2's code is never larger than ours by more than these factors; the
   backend test checks the bound on every pattern it compiles). */
static size_t p2m__rx_pcre_estimate(uint32_t ninst, uint32_t ncls, size_t plen) {
    return 16384u + 64u * (size_t)ninst + 48u * (size_t)ncls + 32u * plen;
}

/* Bytes p2m_regex_compile asks for (0: not a valid pattern). */
static size_t p2m__regex_need(const char *pattern, size_t len) {
    uint32_t ninst, ncls;
    size_t bytes, plen;
    if (!p2m__rx_measure(pattern, len, 0, &ninst, &ncls, &bytes)) return 0;
    plen = p2m__rx_to_pcre(pattern, len, NULL);
    return p2m__rx_align(sizeof(p2m_regex)) + p2m__rx_align(plen + 1) +
           p2m__rx_pcre_estimate(ninst, ncls, plen) + P2M__RX_ALIGN - 1;
}

/* err for a pattern PCRE2 rejected, with PCRE2's message for code ec. */
static void p2m__rx_pcre_rejected(p2m_error *err, int ec) {
    PCRE2_UCHAR buf[96];
    size_t k = 0, m = 0;
    p2m__rx_fail(err, P2M_ERR_CONFIG, 0, "PCRE2 rejected the pattern");
    if (!err) return;
    while (err->message[m]) m++;
    if (pcre2_get_error_message(ec, buf, sizeof buf) > 0) {
        if (m + 2 < sizeof err->message) {
            err->message[m++] = ':';
            err->message[m++] = ' ';
        }
        for (; buf[k] && m + 1 < sizeof err->message; k++) err->message[m++] = (char)buf[k];
        err->message[m] = '\0';
    }
}

P2M_API p2m_status p2m_regex_compile(const char *pattern, size_t len, void *mem, size_t mem_size,
                                     const p2m_regex **re, p2m_error *err) {
    uint32_t ninst, ncls;
    size_t bytes, plen, head, needed, pad;
    p2m_regex *r;
    char *ptext;
    p2m__rx_arena arena;
    pcre2_general_context *gc;
    pcre2_compile_context *cc;
    pcre2_code *code;
    int ec = 0;
    PCRE2_SIZE eo = 0;
    p2m_status st;
    if ((st = p2m__rx_begin(&pattern, len, re, err, &ninst, &ncls, &bytes)) != P2M_OK) return st;
    plen = p2m__rx_to_pcre(pattern, len, NULL);
    head = p2m__rx_align(sizeof(p2m_regex)) + p2m__rx_align(plen + 1);
    needed = head + p2m__rx_pcre_estimate(ninst, ncls, plen) + P2M__RX_ALIGN - 1;
    pad = mem ? p2m__rx_align((size_t)(uintptr_t)mem) - (size_t)(uintptr_t)mem : 0;
    if (!mem || mem_size < needed) {
        p2m__rx_fail(err, P2M_ERR_MEMORY, 0, "regex memory too small");
        if (err) err->needed = needed;
        return P2M_ERR_MEMORY;
    }
    r = (p2m_regex *)(void *)((unsigned char *)mem + pad);
    ptext = (char *)r + p2m__rx_align(sizeof(p2m_regex));
    p2m__rx_to_pcre(pattern, len, ptext);
    ptext[plen] = '\0';
    arena.base = (unsigned char *)r + head;
    arena.size = mem_size - pad - head;
    arena.used = 0;
    arena.failed = 0;
    gc = pcre2_general_context_create(p2m__rx_arena_alloc, p2m__rx_arena_free, &arena);
    cc = gc ? pcre2_compile_context_create(gc) : NULL;
    if (cc) pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
    code = cc ? pcre2_compile((PCRE2_SPTR)ptext, plen, P2M__RX_PCRE_OPTIONS, &ec, &eo, cc) : NULL;
    if (!code) {
        if (arena.failed) { /* the estimate was too small: a bug to report */
            p2m__rx_fail(err, P2M_ERR_MEMORY, 0, "regex memory too small (PCRE2 estimate)");
            if (err) err->needed = mem_size * 2u;
            return P2M_ERR_MEMORY;
        }
        /* the built-in parser accepted it: PCRE2 has a limit we lack */
        p2m__rx_pcre_rejected(err, ec);
        return P2M_ERR_CONFIG;
    }
    p2m__rx_header(r, ninst, ncls);
    r->backend = 1;
    r->code_off = 0;
    r->class_off = 0;
    {
        uint32_t cap = 0;
        pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &cap);
        r->has_group = cap > 0;
    }
    /* general + match context, match data (2 pairs), and the frames: PCRE2
       grows them by doubling up to the heap limit; freed blocks are not
       reused by the bump allocator, so three times the limit. */
    r->extra = P2M__RX_ALIGN + 4096u + 3u * (size_t)P2M_PCRE2_HEAP_LIMIT_KB * 1024u;
    r->pcre = code;
    *re = r;
    p2m__rx_ok(err);
    return P2M_OK;
}

P2M_API size_t p2m_regex_scratch_size(const p2m_regex *re) {
    return re ? re->extra : 0;
}

P2M_API int p2m_regex_search(const p2m_regex *re, const char *s, size_t n, void *scratch,
                             size_t scratch_size, size_t *start, size_t *end, uint64_t *steps) {
    p2m__rx_arena arena;
    pcre2_general_context *gc;
    pcre2_match_context *mc;
    pcre2_match_data *md;
    PCRE2_SIZE *ov;
    int rc;
    if (steps) *steps = 0; /* PCRE2 does not count steps */
    if (!re || re->magic != P2M__RX_MAGIC || re->backend != 1 || (!s && n)) return -1;
    if (!scratch || scratch_size < re->extra) return -1;
    if (!s) s = "";
    arena.base = (unsigned char *)scratch;
    arena.size = scratch_size;
    arena.used = (size_t)(p2m__rx_align((size_t)(uintptr_t)scratch) - (size_t)(uintptr_t)scratch);
    arena.failed = 0;
    gc = pcre2_general_context_create(p2m__rx_arena_alloc, p2m__rx_arena_free, &arena);
    mc = gc ? pcre2_match_context_create(gc) : NULL;
    md = gc ? pcre2_match_data_create(2, gc) : NULL;
    if (!mc || !md) return -1;
    pcre2_set_match_limit(mc, P2M_PCRE2_MATCH_LIMIT);
    pcre2_set_depth_limit(mc, P2M_PCRE2_DEPTH_LIMIT);
    pcre2_set_heap_limit(mc, P2M_PCRE2_HEAP_LIMIT_KB);
    rc = pcre2_match((const pcre2_code *)re->pcre, (PCRE2_SPTR)s, n, 0, 0, md, mc);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc == PCRE2_ERROR_NOMEMORY) return -1;
    if (rc < 0) return -2;
    ov = pcre2_get_ovector_pointer(md);
    if (re->has_group) {
        if (ov[2] == PCRE2_UNSET || ov[3] == PCRE2_UNSET) {
            if (start) *start = P2M__RX_NONE;
            if (end) *end = P2M__RX_NONE;
        } else {
            if (start) *start = (size_t)ov[2];
            if (end) *end = (size_t)ov[3];
        }
    } else {
        if (start) *start = (size_t)ov[0];
        if (end) *end = (size_t)ov[1];
    }
    return 1;
}
#define P2M__STUB_IMG_MSG                                                                          \
    P2M__MSG("an engine image's patterns need the built-in regex engine, not PCRE2")
/* Engine images hold built-in programs, which this build cannot run. */
static void p2m__img_regex(p2m__img *x, const p2m_regex **re) {
    (void)re;
    p2m__img_bad(x, P2M_ERR_UNSUPPORTED, P2M__STUB_IMG_MSG);
}
#endif /* P2M_USE_PCRE2 */

#else /* P2M_NO_REGEX */

/* ---- regex: compiled out (P2M_NO_REGEX) ---------------------------------- */

#ifndef P2M_NO_COMPILE
static size_t p2m__regex_need(const char *pattern, size_t len) {
    (void)pattern;
    (void)len;
    return 0;
}
#endif

P2M_API p2m_status p2m_regex_compile(const char *pattern, size_t len, void *mem, size_t mem_size,
                                     const p2m_regex **re, p2m_error *err) {
    (void)pattern;
    (void)len;
    (void)mem;
    (void)mem_size;
    p2m__regex_refused(re, err, P2M__MSG("regular expressions are compiled out (P2M_NO_REGEX)"));
    return P2M_ERR_UNSUPPORTED; /* a constant: callers' error paths fold away */
}

P2M_API size_t p2m_regex_scratch_size(const p2m_regex *re) {
    (void)re;
    return 0;
}

P2M_API int p2m_regex_search(const p2m_regex *re, const char *s, size_t n, void *scratch,
                             size_t scratch_size, size_t *start, size_t *end, uint64_t *steps) {
    (void)re;
    (void)s;
    (void)n;
    (void)scratch;
    (void)scratch_size;
    (void)start;
    (void)end;
    if (steps) *steps = 0;
    return -1;
}

#define P2M__STUB_IMG_MSG P2M__MSG("regular expressions are compiled out (P2M_NO_REGEX)")
/* Engine images hold built-in programs, which this build cannot run. */
static void p2m__img_regex(p2m__img *x, const p2m_regex **re) {
    (void)re;
    p2m__img_bad(x, P2M_ERR_UNSUPPORTED, P2M__STUB_IMG_MSG);
}

#endif /* P2M_NO_REGEX */


#endif /* P2M_IMPLEMENTATION_DONE */
#endif /* P2M_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
MIT License

Copyright (c) 2026 the profile2metrics authors

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
*/
