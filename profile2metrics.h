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
     P2M_MEMCPY/P2M_MEMSET/P2M_MEMMOVE   replace libc (implementation only)
     P2M_ASSERT(x)     replace the internal assertion (default: none)
     P2M_NO_ERRMSG     no message strings, smaller code (implementation only)

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

/* ---- options ------------------------------------------------------------ */

#define P2M_VERSION_MAJOR 0
#define P2M_VERSION_MINOR 1
#define P2M_VERSION_PATCH 0
#define P2M_VERSION_STRING "0.1.0"

#ifndef P2M_API
#ifdef P2M_STATIC
#define P2M_API static
#else
#define P2M_API extern
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- public types ------------------------------------------------------- */

typedef enum p2m_status {
    P2M_OK = 0,
    P2M_ERR_MALFORMED = 1,         /* input is not a valid request; err.offset */
    P2M_ERR_INVALID_REFERENCE = 2, /* strict mode: index outside its table */
    P2M_ERR_CONFIG = 3,            /* configuration rejected; err.field, err.message */
    P2M_ERR_MEMORY = 4,            /* engine or working memory too small; err.needed */
    P2M_ERR_OUTPUT_TOO_SMALL = 5,  /* output buffer too small; err.needed */
    P2M_ERR_ARGUMENT = 6,          /* NULL where a pointer is required, etc. */
    P2M_ERR_UNSUPPORTED = 7        /* feature compiled out (e.g. P2M_NO_REGEX) */
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
    P2M_LAYOUT_AUTO = 0,  /* decide per request from evidence (SPEC section 1) */
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
    P2M_METRIC_FUNCTION = 3
} p2m_metric_kind;

typedef enum p2m_rule_type {
    P2M_RULE_LITERAL = 0,     /* value */
    P2M_RULE_ATTRIBUTE = 1,   /* from */
    P2M_RULE_REGEX = 2,       /* value = pattern, source */
    P2M_RULE_STRING_TABLE = 3 /* index */
} p2m_rule_type;

typedef enum p2m_function_mode {
    P2M_FUNCTION_SELF = 0,
    P2M_FUNCTION_INCLUSIVE = 1
} p2m_function_mode;

/* One data point attribute rule (SPEC section 5). Strings are NUL-terminated
   and copied into the engine; the config may be freed after compiling. */
typedef struct p2m_rule {
    const char *key;           /* attribute key on the data points */
    p2m_rule_type type;
    const char *value;         /* LITERAL: the value; REGEX: the pattern */
    const char *from;          /* ATTRIBUTE: effective attribute key */
    const char *source;        /* REGEX: attribute key, "function" or
                                  "string_table" (NULL = "string_table") */
    uint32_t index;            /* STRING_TABLE: index into the string table */
    const char *default_value; /* used when the rule yields nothing; NULL = none */
} p2m_rule;

/* A filter (SPEC section 4): pattern and every entry of patterns are
   alternatives. keys (pattern filter only) restricts the subjects. */
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
    const char *unit;         /* cpu: ns, us, ms or s; memory: By */
    const char *description;  /* NULL = the default description */
} p2m_metric_config;

/* Maps a profile's sample type (type, unit) to a metric, with a scale factor
   applied to each sample's value. Checked before the built-in table. */
typedef struct p2m_type_rule {
    const char *type;
    const char *unit;
    p2m_metric_kind metric;   /* CPU, MEMORY or NONE */
    double scale;             /* cpu: to nanoseconds; memory: to bytes */
} p2m_type_rule;

typedef struct p2m_config {
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
} p2m_config;

/* The compiled configuration: lives in memory given to p2m_engine_compile,
   read-only afterwards, shareable between threads. */
typedef struct p2m_engine p2m_engine;

/* Symboliser for unsymbolised frames (function metric): write the name of
   the function at address into name (at most cap bytes) and return its
   length, or 0 when unknown. mapping_file / build_id may be empty. */
typedef size_t (*p2m_symbolize_fn)(void *user_data, uint64_t address,
                                   const char *mapping_file, size_t mapping_file_len,
                                   const char *build_id, size_t build_id_len,
                                   char *name, size_t cap);

/* Per-call options; NULL means all zero. */
typedef struct p2m_options {
    uint64_t now_unix_nano;       /* time for profiles that carry none */
    p2m_symbolize_fn symbolize;   /* optional */
    void *user_data;
} p2m_options;

/* Statistics of one call (SPEC section 8). */
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
} p2m_stats;

/* ---- result view (read the metrics without decoding the protobuf) ------- */

typedef struct p2m_str {
    const char *ptr;   /* not NUL-terminated */
    size_t len;
} p2m_str;

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

typedef struct p2m_metric_info {
    p2m_metric_kind kind;
    p2m_str name;
    p2m_str unit;
    p2m_str description;
    p2m_temporality temporality;
    int is_double;        /* points carry as_double, else as_int */
    size_t n_points;
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

/* Fills cfg with the defaults of SPEC section 9. */
P2M_API void p2m_config_init(p2m_config *cfg);

/* Validates and compiles cfg into mem. mem may be NULL with mem_size 0 to ask
   for the size: the call then fails with P2M_ERR_MEMORY and err->needed. */
P2M_API p2m_status p2m_engine_compile(const p2m_config *cfg, void *mem, size_t mem_size,
                                      const p2m_engine **engine, p2m_error *err);

/* Working memory needed to convert this input (an upper bound; the same call
   with at least this much succeeds unless the input is malformed). */
P2M_API p2m_status p2m_work_size(const p2m_engine *engine, const void *input,
                                 size_t input_size, size_t *needed, p2m_error *err);

/* Parses and aggregates; *result points into work. */
P2M_API p2m_status p2m_aggregate(const p2m_engine *engine, const void *input,
                                 size_t input_size, const p2m_options *options,
                                 void *work, size_t work_size,
                                 const p2m_result **result, p2m_stats *stats,
                                 p2m_error *err);

/* Encodes a result as an OTLP ExportMetricsServiceRequest. output may be NULL
   with cap 0 to ask for the size (P2M_ERR_OUTPUT_TOO_SMALL, err->needed). */
P2M_API p2m_status p2m_encode_otlp(const p2m_result *result, void *output, size_t cap,
                                   size_t *output_size, p2m_error *err);

/* p2m_aggregate then p2m_encode_otlp. stats may be NULL. */
P2M_API p2m_status p2m_convert(const p2m_engine *engine, const void *input,
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
P2M_API size_t p2m_result_metric_count(const p2m_result *r, size_t res);
P2M_API void p2m_result_metric(const p2m_result *r, size_t res, size_t metric,
                               p2m_metric_info *out);
P2M_API void p2m_result_point(const p2m_result *r, size_t res, size_t metric,
                              size_t point, p2m_point *out);
/* Writes up to cap attributes of the point; returns how many it has. */
P2M_API size_t p2m_result_point_attributes(const p2m_result *r, size_t res, size_t metric,
                                           size_t point, p2m_attribute *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* PROFILE2METRICS_H */
