/* SPDX-License-Identifier: MIT
   Hand-built OTLP profiles requests (docs/spec.md section 1 field numbers) whose
   metrics are worked out by hand below, from docs/spec.md sections 2, 3 and 7.

   The main request, same content in each layout (v1.8 / v1.9 / v1.10):

   string_table: see the S_* enum.  attribute_table:
     1 process.executable.name = "app"     2 thread.name = "worker"
     3 thread.name = "main"                4 profile.kind = "test"
     5 thread.name = "worker" (a duplicate of 2; in v1.10 written with
       string_value_strindex)
   ResourceProfiles #1  resource {service.name="svc", res.int=42},
                        schema_url "https://example.com/schema/1"
     ScopeProfiles #1
       Profile A  (cpu, nanoseconds)  time 1000 duration 500, attrs [4]
         S1  attrs [1,2] values [100,50]           -> cpu (app,worker) +150
         S2  attrs [1,3] timestamps [1100,1200,1300] -> cpu (app,main) +3
         S3  attrs [1,5] values [7]                -> cpu (app,worker) +7
         S4  attrs [1,2] nothing                   -> empty sample
         S5  attrs [1,99] values [1000]            -> invalid reference
         S6  attrs [1,3] values [0]                -> cpu (app,main) +0
     ScopeProfiles #2
       Profile B  (samples, count) period (cpu, milliseconds) 10, time 2000 duration 100
         S7  attrs [1,2] values [3]                -> cpu (app,worker) +3*10ms
         S8  attrs [1,3] timestamps [2010,2020]    -> cpu (app,main) +2*10ms
       Profile C  (alloc_space, bytes)  time 3000 duration 10
         S9  attrs [1,2] values [4096]             -> memory (app,worker)
         S10 attrs [1,2] values [1000,24]          -> memory (app,worker)
         S11 attrs [1]   values [64]               -> memory (app)
   ResourceProfiles #2  resource {service.name="idle"}
       Profile D  (wall, nanoseconds) time 4000, no samples -> unclassified
   ResourceProfiles #3  resource {service.name="other"}
       Profile E  (cpu, nanoseconds) time 5000 duration 0
         S12 attrs [1,2] values [5]                -> cpu (app,worker) +5

   Expected metrics (defaults: delta, cpu_time ns as_int, memory_allocation By):
     resource 1 (svc):
       cpu_time:  (app,worker) 30000157  start 1000 time 2100
                  (app,main)   20000003  start 1000 time 2100
       memory_allocation: (app,worker) 5120 start 3000 time 3010
                          (app)        64   start 3000 time 3010
     resource 2 (other):
       cpu_time:  (app,worker) 5  start 5000 time 5000
   stats: profiles 5, profiles_unclassified 1, samples 12, empty_samples 1,
          invalid_references 1, series 5 */
#ifndef P2M_TEST_REQUESTS_H
#define P2M_TEST_REQUESTS_H

#include "pbwrite.h"
#include "profile2metrics.h"

enum {
    S_EMPTY, S_CPU, S_NS, S_SAMPLES, S_COUNT, S_MS, S_ALLOC, S_BYTES, S_WALL,
    S_PROC, S_THREAD, S_APP, S_WORKER, S_MAIN, S_PKIND, S_TEST, S__N
};

static const char *const rq_strings[S__N] = {
    "", "cpu", "nanoseconds", "samples", "count", "milliseconds", "alloc_space",
    "bytes", "wall", "process.executable.name", "thread.name", "app", "worker",
    "main", "profile.kind", "test"
};

/* Field numbers that differ between layouts. */
static inline uint32_t rq_f_sample_values(int layout)
{
    return layout == P2M_LAYOUT_V1_10 ? 4u : 2u;
}
static inline uint32_t rq_f_sample_attrs(int layout)
{
    return layout == P2M_LAYOUT_V1_10 ? 2u : 3u;
}
static inline uint32_t rq_f_profile_attrs(int layout)
{
    return layout == P2M_LAYOUT_V1_8 ? 12u : 11u;
}

static inline void rq_valuetype(pbw *w, uint32_t field, int64_t type, int64_t unit)
{
    pbw vt;
    pbw_init(&vt);
    pbw_int(&vt, 1, type);
    pbw_int(&vt, 2, unit);
    pbw_msg(w, field, &vt);
}

static inline void rq_anyvalue_str(pbw *w, uint32_t field, const char *s)
{
    pbw av;
    pbw_init(&av);
    pbw_str(&av, 1, s);
    pbw_msg(w, field, &av);
}

/* A KeyValue with a plain key and string value. */
static inline void rq_keyvalue_str(pbw *w, uint32_t field, const char *k, const char *v)
{
    pbw kv;
    pbw_init(&kv);
    pbw_str(&kv, 1, k);
    rq_anyvalue_str(&kv, 2, v);
    pbw_msg(w, field, &kv);
}

static inline void rq_keyvalue_int(pbw *w, uint32_t field, const char *k, int64_t v)
{
    pbw kv, av;
    pbw_init(&kv);
    pbw_init(&av);
    pbw_int(&av, 3, v);
    pbw_str(&kv, 1, k);
    pbw_msg(&kv, 2, &av);
    pbw_msg(w, field, &kv);
}

/* attribute_table entry (KeyValueAndUnit) with a string value. */
static inline void rq_attr_entry(pbw *dict, int64_t key_strindex, const char *v)
{
    pbw e;
    pbw_init(&e);
    pbw_int(&e, 1, key_strindex);
    rq_anyvalue_str(&e, 2, v);
    pbw_msg(dict, 6, &e);
}

static inline void rq_sample(pbw *prof, int layout, const int64_t *attrs, size_t na,
                             const int64_t *vals, size_t nv, const uint64_t *ts, size_t nt)
{
    pbw s;
    pbw_init(&s);
    if (na)
        pbw_packed_ints(&s, rq_f_sample_attrs(layout), attrs, na);
    if (nv)
        pbw_packed_ints(&s, rq_f_sample_values(layout), vals, nv);
    if (nt)
        pbw_packed_fixed64(&s, 5, ts, nt);
    pbw_msg(prof, 2, &s);
}

static inline void rq_resource(pbw *rp, const char *service)
{
    pbw res;
    pbw_init(&res);
    rq_keyvalue_str(&res, 1, "service.name", service);
    pbw_msg(rp, 1, &res);
}

static inline void rq_dictionary(pbw *req, int layout)
{
    pbw dict, e, av;
    int i;
    pbw_init(&dict);
    for (i = 0; i < S__N; i++)
        pbw_str(&dict, 5, rq_strings[i]);
    pbw_init(&e);
    pbw_msg(&dict, 6, &e); /* entry 0: the zero value */
    rq_attr_entry(&dict, S_PROC, "app");
    rq_attr_entry(&dict, S_THREAD, "worker");
    rq_attr_entry(&dict, S_THREAD, "main");
    rq_attr_entry(&dict, S_PKIND, "test");
    if (layout == P2M_LAYOUT_V1_10) {
        pbw_init(&e);
        pbw_init(&av);
        pbw_int(&av, 8, S_WORKER); /* string_value_strindex */
        pbw_int(&e, 1, S_THREAD);
        pbw_msg(&e, 2, &av);
        pbw_msg(&dict, 6, &e);
    } else {
        rq_attr_entry(&dict, S_THREAD, "worker");
    }
    pbw_init(&e);
    pbw_msg(&dict, 7, &e); /* stack_table[0] */
    pbw_msg(req, 2, &dict);
}

/* A profile up to its samples: sample type type/unit, time 1000, duration
   500, a period of 10 cpu nanoseconds. */
static inline void rq_profile_head(pbw *prof, int64_t type, int64_t unit)
{
    pbw_init(prof);
    rq_valuetype(prof, 1, type, unit);
    pbw_fixed64(prof, 3, 1000);
    pbw_uint(prof, 4, 500);
    rq_valuetype(prof, 5, S_CPU, S_NS);
    pbw_int(prof, 6, 10);
}

/* A request of the dictionary, then one resource (service "svc") whose one
   scope holds profile prof: prof's last field is the input's last. */
static inline void rq_one_profile_request(pbw *req, int layout, pbw *prof)
{
    pbw rp, sp;
    pbw_init(req);
    rq_dictionary(req, layout);
    pbw_init(&rp);
    rq_resource(&rp, "svc");
    pbw_init(&sp);
    pbw_msg(&sp, 2, prof);
    pbw_msg(&rp, 2, &sp);
    pbw_msg(req, 1, &rp);
}

static inline void build_main_request(pbw *req, int layout, int dict_first)
{
    static const int64_t a12[] = {1, 2}, a13[] = {1, 3}, a15[] = {1, 5}, a1_99[] = {1, 99},
                         a1[] = {1}, a4[] = {4};
    static const int64_t v100_50[] = {100, 50}, v7[] = {7}, v1000[] = {1000}, v0[] = {0},
                         v3[] = {3}, v4096[] = {4096}, v1000_24[] = {1000, 24}, v64[] = {64},
                         v5[] = {5};
    static const uint64_t ts3[] = {1100, 1200, 1300}, ts2[] = {2010, 2020};
    pbw rp, sp, prof, res;

    pbw_init(req);
    if (dict_first)
        rq_dictionary(req, layout);

    /* ResourceProfiles #1 */
    pbw_init(&rp);
    pbw_init(&res);
    rq_keyvalue_str(&res, 1, "service.name", "svc");
    rq_keyvalue_int(&res, 1, "res.int", 42);
    pbw_msg(&rp, 1, &res);

    pbw_init(&sp);
    { pbw scope; pbw_init(&scope); pbw_str(&scope, 1, "s1"); pbw_msg(&sp, 1, &scope); }
    pbw_init(&prof); /* Profile A */
    rq_valuetype(&prof, 1, S_CPU, S_NS);
    rq_sample(&prof, layout, a12, 2, v100_50, 2, NULL, 0);
    rq_sample(&prof, layout, a13, 2, NULL, 0, ts3, 3);
    rq_sample(&prof, layout, a15, 2, v7, 1, NULL, 0);
    rq_sample(&prof, layout, a12, 2, NULL, 0, NULL, 0);
    rq_sample(&prof, layout, a1_99, 2, v1000, 1, NULL, 0);
    rq_sample(&prof, layout, a13, 2, v0, 1, NULL, 0);
    pbw_fixed64(&prof, 3, 1000);
    pbw_uint(&prof, 4, 500);
    rq_valuetype(&prof, 5, S_CPU, S_NS);
    pbw_int(&prof, 6, 10);
    pbw_packed_ints(&prof, rq_f_profile_attrs(layout), a4, 1);
    pbw_msg(&sp, 2, &prof);
    pbw_msg(&rp, 2, &sp);

    pbw_init(&sp);
    pbw_init(&prof); /* Profile B */
    rq_valuetype(&prof, 1, S_SAMPLES, S_COUNT);
    rq_sample(&prof, layout, a12, 2, v3, 1, NULL, 0);
    rq_sample(&prof, layout, a13, 2, NULL, 0, ts2, 2);
    pbw_fixed64(&prof, 3, 2000);
    pbw_uint(&prof, 4, 100);
    rq_valuetype(&prof, 5, S_CPU, S_MS);
    pbw_int(&prof, 6, 10);
    pbw_packed_ints(&prof, rq_f_profile_attrs(layout), a4, 1);
    pbw_msg(&sp, 2, &prof);
    pbw_init(&prof); /* Profile C */
    rq_valuetype(&prof, 1, S_ALLOC, S_BYTES);
    rq_sample(&prof, layout, a12, 2, v4096, 1, NULL, 0);
    rq_sample(&prof, layout, a12, 2, v1000_24, 2, NULL, 0);
    rq_sample(&prof, layout, a1, 1, v64, 1, NULL, 0);
    pbw_fixed64(&prof, 3, 3000);
    pbw_uint(&prof, 4, 10);
    pbw_packed_ints(&prof, rq_f_profile_attrs(layout), a4, 1);
    pbw_msg(&sp, 2, &prof);
    pbw_msg(&rp, 2, &sp);
    pbw_str(&rp, 3, "https://example.com/schema/1");
    pbw_msg(req, 1, &rp);

    /* ResourceProfiles #2: nothing the metrics use */
    pbw_init(&rp);
    rq_resource(&rp, "idle");
    pbw_init(&sp);
    pbw_init(&prof); /* Profile D */
    rq_valuetype(&prof, 1, S_WALL, S_NS);
    pbw_fixed64(&prof, 3, 4000);
    pbw_packed_ints(&prof, rq_f_profile_attrs(layout), a4, 1);
    pbw_msg(&sp, 2, &prof);
    pbw_msg(&rp, 2, &sp);
    pbw_msg(req, 1, &rp);

    /* ResourceProfiles #3 */
    pbw_init(&rp);
    rq_resource(&rp, "other");
    pbw_init(&sp);
    pbw_init(&prof); /* Profile E */
    rq_valuetype(&prof, 1, S_CPU, S_NS);
    rq_sample(&prof, layout, a12, 2, v5, 1, NULL, 0);
    pbw_fixed64(&prof, 3, 5000);
    pbw_packed_ints(&prof, rq_f_profile_attrs(layout), a4, 1);
    pbw_msg(&sp, 2, &prof);
    pbw_msg(&rp, 2, &sp);
    pbw_msg(req, 1, &rp);

    if (!dict_first)
        rq_dictionary(req, layout);
}

/* The bytes of sample S5 (the invalid reference) as they appear in the
   request, to locate it for the strict-mode offset check. */
static inline void build_main_s5(pbw *out, int layout)
{
    static const int64_t a1_99[] = {1, 99}, v1000[] = {1000};
    pbw prof;
    pbw_init(&prof);
    rq_sample(&prof, layout, a1_99, 2, v1000, 1, NULL, 0);
    pbw_init(out);
    pbw_raw(out, prof.b, prof.n);
}

/* One scope holding a (cpu, nanoseconds) profile and a (samples, count)
   profile with period (cpu, milliseconds) 1: only the first feeds cpu
   (docs/spec.md section 3, double counting). Expected cpu (app,worker) = 10. */
static inline void build_double_count_request(pbw *req)
{
    static const int64_t a12[] = {1, 2}, v10[] = {10}, v1[] = {1};
    const int layout = P2M_LAYOUT_V1_10;
    pbw rp, sp, prof;
    pbw_init(req);
    pbw_init(&rp);
    rq_resource(&rp, "svc");
    pbw_init(&sp);
    pbw_init(&prof);
    rq_valuetype(&prof, 1, S_CPU, S_NS);
    rq_sample(&prof, layout, a12, 2, v10, 1, NULL, 0);
    pbw_fixed64(&prof, 3, 1000);
    pbw_msg(&sp, 2, &prof);
    pbw_init(&prof);
    rq_valuetype(&prof, 1, S_SAMPLES, S_COUNT);
    rq_sample(&prof, layout, a12, 2, v1, 1, NULL, 0);
    pbw_fixed64(&prof, 3, 1000);
    rq_valuetype(&prof, 5, S_CPU, S_MS);
    pbw_int(&prof, 6, 1);
    pbw_msg(&sp, 2, &prof);
    pbw_msg(&rp, 2, &sp);
    pbw_msg(req, 1, &rp);
    rq_dictionary(req, layout);
}

/* Profiles without time_unix_nano (docs/spec.md section 7, times):
   resource "ts": Profile (cpu, ns) time 0, S attrs [1,2] timestamps [900, 500]
                  -> cpu (app,worker) 2, start 500, time 900
   resource "now": Profile (cpu, ns) time 0, S attrs [1,2] values [4]
                  -> cpu (app,worker) 4, start = time = options.now_unix_nano */
static inline void build_times_request(pbw *req)
{
    static const int64_t a12[] = {1, 2}, v4[] = {4};
    static const uint64_t ts[] = {900, 500};
    const int layout = P2M_LAYOUT_V1_10;
    pbw rp, sp, prof;
    pbw_init(req);
    pbw_init(&rp);
    rq_resource(&rp, "ts");
    pbw_init(&sp);
    pbw_init(&prof);
    rq_valuetype(&prof, 1, S_CPU, S_NS);
    rq_sample(&prof, layout, a12, 2, NULL, 0, ts, 2);
    pbw_msg(&sp, 2, &prof);
    pbw_msg(&rp, 2, &sp);
    pbw_msg(req, 1, &rp);
    pbw_init(&rp);
    rq_resource(&rp, "now");
    pbw_init(&sp);
    pbw_init(&prof);
    rq_valuetype(&prof, 1, S_CPU, S_NS);
    rq_sample(&prof, layout, a12, 2, v4, 1, NULL, 0);
    pbw_msg(&sp, 2, &prof);
    pbw_msg(&rp, 2, &sp);
    pbw_msg(req, 1, &rp);
    rq_dictionary(req, layout);
}

/* Function metric request (v1.10). Extra strings after S__N:
     F_LEAF "leaf_fn", F_MAIN "main_fn", F_LIB "/usr/lib/libfoo.so"
   function_table: 1 leaf_fn, 2 main_fn.  mapping_table: 1 /usr/lib/libfoo.so
   location_table: 1 {line fn 1}, 2 {line fn 2}, 3 {mapping 1, address 0x1234,
                   no line}, 4 {address 0x99, no mapping, no line}
   stack_table:    1 [1,2], 2 [3,2,2], 3 [2], 4 [4]   (leaf first)
   Profile (cpu, ns) time 1000 duration 0:
     S1 attrs [1,2] stack 1 values [100]
     S2 attrs [1,2] stack 2 values [10]
     S3 attrs [1,3] stack 3 values [1]
     S4 attrs [1,2] stack 4 values [5]
   self:      (app,worker,leaf_fn) 100, (app,worker,libfoo.so) 10,
              (app,main,main_fn) 1, (app,worker,[unknown]) 5
   inclusive: (app,worker,leaf_fn) 100, (app,worker,main_fn) 110,
              (app,worker,libfoo.so) 10, (app,main,main_fn) 1,
              (app,worker,[unknown]) 5 */
enum { F_LEAF = S__N, F_MAIN, F_LIB };

/* the address of location 4 (a test may change it: varints of 1 to 10 bytes) */
static uint64_t rq_fn_address = 0x99;
/* set: a location 5 that no stack uses (no lines, no mapping, address 0x77) */
static int rq_fn_unused_location = 0;

static inline void build_function_request(pbw *req)
{
    static const int64_t a12[] = {1, 2}, a13[] = {1, 3};
    static const int64_t v100[] = {100}, v10[] = {10}, v1[] = {1}, v5[] = {5};
    static const int64_t st1[] = {1, 2}, st2[] = {3, 2, 2}, st3[] = {2}, st4[] = {4};
    static const struct { const int64_t *a; const int64_t *v; int64_t stack; } smp[4] = {
        {a12, v100, 1}, {a12, v10, 2}, {a13, v1, 3}, {a12, v5, 4}};
    pbw rp, sp, prof, s, dict, e, line;
    int i;
    pbw_init(req);
    pbw_init(&rp);
    rq_resource(&rp, "svc");
    pbw_init(&sp);
    pbw_init(&prof);
    rq_valuetype(&prof, 1, S_CPU, S_NS);
    for (i = 0; i < 4; i++) {
        pbw_init(&s);
        pbw_int(&s, 1, smp[i].stack);
        pbw_packed_ints(&s, 2, smp[i].a, 2);
        pbw_packed_ints(&s, 4, smp[i].v, 1);
        pbw_msg(&prof, 2, &s);
    }
    pbw_fixed64(&prof, 3, 1000);
    pbw_msg(&sp, 2, &prof);
    pbw_msg(&rp, 2, &sp);
    pbw_msg(req, 1, &rp);

    pbw_init(&dict);
    pbw_init(&e);
    pbw_msg(&dict, 1, &e);          /* mapping 0 */
    pbw_init(&e);
    pbw_int(&e, 4, F_LIB);
    pbw_msg(&dict, 1, &e);          /* mapping 1 */
    pbw_init(&e);
    pbw_msg(&dict, 2, &e);          /* location 0 */
    for (i = 1; i <= 2; i++) {      /* locations 1, 2 */
        pbw_init(&e);
        pbw_init(&line);
        pbw_int(&line, 1, i);
        pbw_int(&line, 2, 10 * i);
        pbw_msg(&e, 3, &line);
        pbw_msg(&dict, 2, &e);
    }
    pbw_init(&e);                   /* location 3 */
    pbw_int(&e, 1, 1);
    pbw_uint(&e, 2, 0x1234);
    pbw_msg(&dict, 2, &e);
    pbw_init(&e);                   /* location 4 */
    pbw_uint(&e, 2, rq_fn_address);
    pbw_msg(&dict, 2, &e);
    if (rq_fn_unused_location) {
        pbw_init(&e);               /* location 5 */
        pbw_uint(&e, 2, 0x77);
        pbw_msg(&dict, 2, &e);
    }
    pbw_init(&e);
    pbw_msg(&dict, 3, &e);          /* function 0 */
    pbw_init(&e);
    pbw_int(&e, 1, F_LEAF);
    pbw_msg(&dict, 3, &e);
    pbw_init(&e);
    pbw_int(&e, 1, F_MAIN);
    pbw_msg(&dict, 3, &e);
    for (i = 0; i < S__N; i++)
        pbw_str(&dict, 5, rq_strings[i]);
    pbw_str(&dict, 5, "leaf_fn");
    pbw_str(&dict, 5, "main_fn");
    pbw_str(&dict, 5, "/usr/lib/libfoo.so");
    pbw_init(&e);
    pbw_msg(&dict, 6, &e);
    rq_attr_entry(&dict, S_PROC, "app");
    rq_attr_entry(&dict, S_THREAD, "worker");
    rq_attr_entry(&dict, S_THREAD, "main");
    pbw_init(&e);
    pbw_msg(&dict, 7, &e);          /* stack 0 */
    pbw_init(&e);
    pbw_packed_ints(&e, 1, st1, 2);
    pbw_msg(&dict, 7, &e);
    pbw_init(&e);
    pbw_packed_ints(&e, 1, st2, 3);
    pbw_msg(&dict, 7, &e);
    pbw_init(&e);
    pbw_packed_ints(&e, 1, st3, 1);
    pbw_msg(&dict, 7, &e);
    pbw_init(&e);
    pbw_packed_ints(&e, 1, st4, 1);
    pbw_msg(&dict, 7, &e);
    pbw_msg(req, 2, &dict);
}

#endif
