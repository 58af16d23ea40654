/* SPDX-License-Identifier: MIT
   p2m: the human-readable table (`p2m convert -f table`), drawn from the
   result view of the library (p2m_result_*), never from the protobuf.

   Layout, for 80 columns:
     resource 1 of 2: service.name=checkout, host.name=node-1
       cpu_time (ns), delta sum, 2 points
         time: 2026-11-22 12:00:00.000 .. 12:00:10.000 UTC
         process.executable.name=java, thread.name=main         1.25 s   78.1 %
         process.executable.name=java, thread.name=gc            350 ms   21.9 %
         total: 1600000000 ns                                    1.6 s  100.0 %
   Rows are sorted by value, largest first; each shows its share of the
   metric's total in this resource (one decimal, "<0.1 %" for a share that
   would show as 0.0; none when the total is 0), so a breakdown by frame
   type, library or thread reads at a glance. Attribute lists that do not
   fit their column wrap at ", ". */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */

#include "p2m_table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TABLE_WIDTH 79
#define ROW_INDENT 4
#define SHARE_WIDTH 7 /* "100.0 %" */

/* ---- numbers with human units ------------------------------------------- */

/* Three significant digits, trailing zeros dropped: 1.25, 12.5, 350, 3.4. */
static void three_digits(char *buf, size_t cap, double x)
{
    char *dot;
    size_t n;
    if (x >= 99.95 || x == 0)
        snprintf(buf, cap, "%.0f", x);
    else if (x >= 9.995)
        snprintf(buf, cap, "%.1f", x);
    else
        snprintf(buf, cap, "%.2f", x);
    dot = strchr(buf, '.');
    if (dot == NULL)
        return;
    n = strlen(buf);
    while (n > 0 && buf[n - 1] == '0')
        buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '.')
        buf[--n] = '\0';
}

static int unit_is(p2m_str unit, const char *s)
{
    return unit.len == strlen(s) && memcmp(unit.ptr, s, unit.len) == 0;
}

void p2m_table_human(char *buf, size_t cap, double value, p2m_str unit)
{
    static const char *const time_units[] = {"ns", "us", "ms", "s"};
    static const char *const byte_units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    const char *sign = value < 0 ? "-" : "";
    double x = fabs(value), scale = 0;
    char digits[64];
    size_t i;

    if (unit_is(unit, "ns"))
        scale = 1;
    else if (unit_is(unit, "us"))
        scale = 1e3;
    else if (unit_is(unit, "ms"))
        scale = 1e6;
    else if (unit_is(unit, "s"))
        scale = 1e9;
    if (scale != 0) {
        x *= scale; /* in ns from here */
        for (i = 0; i < 3 && x >= 999.5; i++)
            x /= 1000;
        three_digits(digits, sizeof digits, x);
        snprintf(buf, cap, "%s%s %s", sign, digits, time_units[i]);
        return;
    }
    scale = unit_is(unit, "By") ? 1 : unit_is(unit, "KiBy") ? 1024.0
          : unit_is(unit, "MiBy") ? 1048576.0 : unit_is(unit, "GiBy") ? 1073741824.0 : 0;
    if (scale != 0) {
        x *= scale; /* in bytes from here */
        for (i = 0; i < 5 && x >= 1023.5; i++)
            x /= 1024;
        three_digits(digits, sizeof digits, x);
        snprintf(buf, cap, "%s%s %s", sign, digits, byte_units[i]);
        return;
    }
    if (x == floor(x) && x < 9007199254740992.0)
        snprintf(digits, sizeof digits, "%.0f", x);
    else
        snprintf(digits, sizeof digits, "%g", x);
    if (unit.len == 0 || unit_is(unit, "1"))
        snprintf(buf, cap, "%s%s", sign, digits);
    else
        snprintf(buf, cap, "%s%s %.*s", sign, digits, (int)unit.len, unit.ptr);
}

/* ---- attribute text ----------------------------------------------------- */

/* A string with control characters escaped, so a row stays one line. */
static void put_text(p2m_outbuf *o, p2m_str s)
{
    size_t i;
    for (i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        if (ch < 0x20 || ch == 0x7f)
            p2m_out_printf(o, "\\x%02x", ch);
        else
            p2m_out_append(o, &s.ptr[i], 1);
    }
}

/* An array or key-value list as JSON, its string indices resolved
   (p2m_result_nested_value); its size when that cannot be done. */
static void put_nested(p2m_outbuf *o, const p2m_result *r, const p2m_value *v)
{
    size_t n = r ? p2m_result_nested_value(r, v, NULL, 0) : 0;
    unsigned char *buf = n ? (unsigned char *)malloc(n) : NULL;
    if (buf != NULL && p2m_result_nested_value(r, v, buf, n) == n) {
        p2m_value rv = *v;
        size_t len;
        rv.str.ptr = (const char *)buf;
        rv.str.len = n;
        len = p2m_write_value_text(&rv, NULL, 0);
        if (len != (size_t)-1) {
            unsigned char *dst = p2m_out_reserve(o, len);
            if (dst != NULL)
                o->len += p2m_write_value_text(&rv, dst, len);
            free(buf);
            return;
        }
    }
    free(buf);
    p2m_out_printf(o, v->type == P2M_VALUE_ARRAY ? "[array of %lu bytes]" : "{kvlist of %lu bytes}",
                   (unsigned long)v->str.len);
}

static void put_value(p2m_outbuf *o, const p2m_result *r, const p2m_value *v)
{
    size_t i;
    switch (v->type) {
    case P2M_VALUE_STRING:
        if (v->str.len == 0)
            p2m_out_str(o, "\"\"");
        put_text(o, v->str);
        break;
    case P2M_VALUE_BOOL:
        p2m_out_str(o, v->i ? "true" : "false");
        break;
    case P2M_VALUE_INT:
        p2m_out_printf(o, "%lld", (long long)v->i);
        break;
    case P2M_VALUE_DOUBLE:
        p2m_out_printf(o, "%g", v->d);
        break;
    case P2M_VALUE_BYTES:
        p2m_out_str(o, "0x");
        for (i = 0; i < v->str.len && i < 16; i++)
            p2m_out_printf(o, "%02x", (unsigned)(unsigned char)v->str.ptr[i]);
        if (v->str.len > 16)
            p2m_out_str(o, "...");
        break;
    case P2M_VALUE_ARRAY:
    case P2M_VALUE_KVLIST:
        put_nested(o, r, v);
        break;
    default:
        p2m_out_str(o, "(none)");
        break;
    }
}

/* Scratch memory reused across rows. */
typedef struct scratch {
    const p2m_result *r;   /* the result the rows come from */
    p2m_attribute *attrs;
    size_t cap;
    p2m_outbuf text;       /* "k=v, k=v" of one row */
    size_t *cuts;          /* where each "k=v" ends in text */
    size_t n_cuts, cap_cuts;
} scratch;

static int grow_attrs(scratch *s, size_t n)
{
    p2m_attribute *a;
    if (n <= s->cap)
        return 0;
    a = (p2m_attribute *)realloc(s->attrs, n * sizeof *a);
    if (a == NULL)
        return -1;
    s->attrs = a;
    s->cap = n;
    return 0;
}

/* Writes the first n of s->attrs as "k=v, k=v" into s->text, remembering where each
   entry ends so the list can wrap between entries. first_key, when given,
   is written first (service.name in a resource header). */
static void attrs_text(scratch *s, size_t n, const char *first_key)
{
    const p2m_attribute *a = s->attrs;
    size_t pass, i;
    s->text.len = 0;
    s->n_cuts = 0;
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < n; i++) {
            int is_first = first_key != NULL && a[i].key.len == strlen(first_key) &&
                           memcmp(a[i].key.ptr, first_key, a[i].key.len) == 0;
            if ((pass == 0) != is_first)
                continue;
            if (s->text.len > 0)
                p2m_out_str(&s->text, ", ");
            put_text(&s->text, a[i].key);
            p2m_out_str(&s->text, "=");
            put_value(&s->text, s->r, &a[i].value);
            if (s->n_cuts == s->cap_cuts) {
                size_t cap = s->cap_cuts ? s->cap_cuts * 2 : 16;
                size_t *c = (size_t *)realloc(s->cuts, cap * sizeof *c);
                if (c == NULL) {
                    s->text.failed = 1;
                    return;
                }
                s->cuts = c;
                s->cap_cuts = cap;
            }
            s->cuts[s->n_cuts++] = s->text.len;
        }
    }
}

/* Writes s->text wrapped: the first line holds at most first_w columns, the
   others start with cont_indent spaces and hold at most cont_w. Returns the
   length of the last line (without its indent); *wrapped says whether there
   was more than one line. */
static size_t put_wrapped(p2m_outbuf *o, const scratch *s, size_t first_w, size_t cont_w,
                          size_t cont_indent, int *wrapped)
{
    size_t start = 0, line_start = 0, width = first_w, i;
    *wrapped = 0;
    for (i = 0; i < s->n_cuts; i++) {
        size_t end = s->cuts[i];
        /* wrap before this entry when it would pass the width */
        if (end - line_start > width && start > line_start) {
            p2m_out_append(o, s->text.data + line_start, start - line_start);
            p2m_out_str(o, ",\n");
            p2m_out_spaces(o, cont_indent);
            line_start = start + 2; /* skip ", " */
            width = cont_w;
            *wrapped = 1;
        }
        start = end;
    }
    if (start > line_start)
        p2m_out_append(o, s->text.data + line_start, start - line_start);
    return start - line_start;
}

/* "2025-10-31 12:00:00.000 .. 12:00:05.000 UTC" (the date repeated only
   when the span crosses midnight). Returns 0 when a time is out of range. */
static int time_span(char *buf, size_t cap, uint64_t start, uint64_t end)
{
    struct tm a, b;
    time_t ta = (time_t)(start / 1000000000u), tb = (time_t)(end / 1000000000u);
    unsigned ma = (unsigned)(start % 1000000000u / 1000000u);
    unsigned mb = (unsigned)(end % 1000000000u / 1000000u);
    if (gmtime_r(&ta, &a) == NULL || gmtime_r(&tb, &b) == NULL)
        return 0;
    if (start == 0) /* a gauge's point: one instant, no start */
        snprintf(buf, cap, "%04d-%02d-%02d %02d:%02d:%02d.%03u UTC (snapshot)", b.tm_year + 1900,
                 b.tm_mon + 1, b.tm_mday, b.tm_hour, b.tm_min, b.tm_sec, mb);
    else if (a.tm_year == b.tm_year && a.tm_yday == b.tm_yday)
        snprintf(buf, cap, "%04d-%02d-%02d %02d:%02d:%02d.%03u .. %02d:%02d:%02d.%03u UTC",
                 a.tm_year + 1900, a.tm_mon + 1, a.tm_mday, a.tm_hour, a.tm_min, a.tm_sec, ma,
                 b.tm_hour, b.tm_min, b.tm_sec, mb);
    else
        snprintf(buf, cap,
                 "%04d-%02d-%02d %02d:%02d:%02d.%03u .. %04d-%02d-%02d %02d:%02d:%02d.%03u UTC",
                 a.tm_year + 1900, a.tm_mon + 1, a.tm_mday, a.tm_hour, a.tm_min, a.tm_sec, ma,
                 b.tm_year + 1900, b.tm_mon + 1, b.tm_mday, b.tm_hour, b.tm_min, b.tm_sec, mb);
    return 1;
}

/* ---- one metric --------------------------------------------------------- */

static double point_value(const p2m_point *p)
{
    return p->is_double ? p->as_double : (double)p->as_int;
}

/* value's share of total in percent, right-aligned in SHARE_WIDTH columns
   after two spaces; nothing when the total is not positive. */
static void put_share(p2m_outbuf *o, double value, double total)
{
    double pct;
    char buf[32];
    if (!(total > 0))
        return;
    pct = 100.0 * value / total;
    if (pct > 0 && pct < 0.05)
        snprintf(buf, sizeof buf, "<0.1 %%");
    else
        snprintf(buf, sizeof buf, "%.1f %%", pct);
    p2m_out_printf(o, "  %*s", SHARE_WIDTH, buf);
}

typedef struct row_order {
    double value;
    size_t point;
} row_order;

/* largest value first; equal values in point order */
static int row_cmp(const void *a, const void *b)
{
    const row_order *x = (const row_order *)a, *y = (const row_order *)b;
    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return x->point < y->point ? -1 : x->point > y->point;
}

static void put_metric(p2m_outbuf *o, scratch *s, const p2m_result *r, size_t res, size_t m)
{
    row_order *order;
    p2m_metric_info info;
    size_t i, value_w = 5, attr_w = 0, attr_max = 0;
    uint64_t t_start = 0, t_end = 0;
    int64_t total_i = 0;
    double total_d = 0;
    char human[64];

    p2m_result_metric(r, res, m, &info);
    order = (row_order *)malloc((info.n_points + 1) * sizeof *order);
    if (order == NULL) {
        o->failed = 1;
        return;
    }

    /* first pass: column widths, the total and the time span */
    for (i = 0; i < info.n_points; i++) {
        p2m_point p;
        size_t n, got;
        p2m_result_point(r, res, m, i, &p);
        if (i == 0 || p.start_time_unix_nano < t_start)
            t_start = p.start_time_unix_nano;
        if (i == 0 || p.time_unix_nano > t_end)
            t_end = p.time_unix_nano;
        if (p.is_double)
            total_d += p.as_double;
        else
            total_i += p.as_int;
        order[i].value = point_value(&p);
        order[i].point = i;
        p2m_table_human(human, sizeof human, point_value(&p), info.unit);
        if (strlen(human) > value_w)
            value_w = strlen(human);
        n = p2m_result_point_attributes(r, res, m, i, NULL, 0);
        if (grow_attrs(s, n) != 0) {
            o->failed = 1;
            free(order);
            return;
        }
        /* the count again, and never more than the room asked for above */
        got = p2m_result_point_attributes(r, res, m, i, s->attrs, n);
        attrs_text(s, got < n ? got : n, NULL);
        if (s->text.len > attr_max)
            attr_max = s->text.len;
    }
    /* the metric's heading, then its time span */
    {
        char span[160];
        p2m_out_str(o, "  ");
        put_text(o, info.name);
        p2m_out_str(o, " (");
        put_text(o, info.unit);
        if (info.is_gauge) /* a snapshot (inuse_*): the latest value, not a sum */
            p2m_out_printf(o, "), gauge, %lu point%s", (unsigned long)info.n_points,
                           info.n_points == 1 ? "" : "s");
        else
            p2m_out_printf(o, "), %s sum, %lu point%s",
                           info.temporality == P2M_TEMPORALITY_CUMULATIVE ? "cumulative"
                                                                           : "delta",
                           (unsigned long)info.n_points, info.n_points == 1 ? "" : "s");
        p2m_out_str(o, "\n");
        if (info.n_points > 0 && time_span(span, sizeof span, t_start, t_end))
            p2m_out_printf(o, "    time: %s\n", span);
    }

    p2m_table_human(human, sizeof human, info.is_double ? total_d : (double)total_i, info.unit);
    if (strlen(human) > value_w)
        value_w = strlen(human);
    attr_w = TABLE_WIDTH - ROW_INDENT - 2 - value_w - 2 - SHARE_WIDTH;
    if (attr_max < attr_w)
        attr_w = attr_max < 24 ? 24 : attr_max;

    /* second pass: the rows, largest value first */
    if (info.n_points > 1)
        qsort(order, info.n_points, sizeof *order, row_cmp);
    for (i = 0; i < info.n_points; i++) {
        p2m_point p;
        size_t n, last, pt = order[i].point;
        p2m_result_point(r, res, m, pt, &p);
        n = p2m_result_point_attributes(r, res, m, pt, s->attrs, s->cap);
        attrs_text(s, n, NULL);
        p2m_out_spaces(o, ROW_INDENT);
        if (n == 0) {
            p2m_out_str(o, "(no attributes)");
            last = strlen("(no attributes)");
        } else {
            int wrapped;
            last = put_wrapped(o, s, attr_w, attr_w - 2, ROW_INDENT + 2, &wrapped);
            if (wrapped)
                last += 2;
        }
        if (last > attr_w) { /* one entry wider than the column */
            p2m_out_str(o, "\n");
            p2m_out_spaces(o, ROW_INDENT);
            last = 0;
        }
        p2m_table_human(human, sizeof human, point_value(&p), info.unit);
        p2m_out_spaces(o, attr_w - last + 2 + value_w - strlen(human));
        p2m_out_str(o, human);
        put_share(o, point_value(&p), info.is_double ? total_d : (double)total_i);
        p2m_out_str(o, "\n");
    }

    /* the totals line, with the exact sum */
    {
        char label[96];
        size_t len;
        if (info.is_double)
            snprintf(label, sizeof label, "total: %.15g %.*s", total_d, (int)info.unit.len,
                     info.unit.ptr);
        else
            snprintf(label, sizeof label, "total: %lld %.*s", (long long)total_i,
                     (int)info.unit.len, info.unit.ptr);
        len = strlen(label);
        p2m_table_human(human, sizeof human, info.is_double ? total_d : (double)total_i,
                        info.unit);
        p2m_out_spaces(o, ROW_INDENT);
        p2m_out_str(o, label);
        if (len > attr_w) {
            p2m_out_str(o, "\n");
            p2m_out_spaces(o, ROW_INDENT);
            len = 0;
        }
        p2m_out_spaces(o, attr_w - len + 2 + value_w - strlen(human));
        p2m_out_str(o, human);
        put_share(o, info.is_double ? total_d : (double)total_i,
                  info.is_double ? total_d : (double)total_i);
        p2m_out_str(o, "\n");
    }
    free(order);
}

/* ---- the whole result --------------------------------------------------- */

void p2m_table_write(p2m_outbuf *o, const p2m_result *r)
{
    scratch s;
    size_t res, n_res = p2m_result_resource_count(r);
    memset(&s, 0, sizeof s);
    s.r = r;
    if (n_res == 0)
        p2m_out_str(o, "(no metrics)\n");
    for (res = 0; res < n_res; res++) {
        size_t n, m, n_metrics;
        char head[64];
        p2m_str schema = p2m_result_schema_url(r, res);
        int hl = snprintf(head, sizeof head, "resource %lu of %lu:", (unsigned long)res + 1,
                          (unsigned long)n_res);
        if (res > 0)
            p2m_out_str(o, "\n");
        p2m_out_str(o, head);
        n = p2m_result_resource_attributes(r, res, NULL, 0);
        if (grow_attrs(&s, n) != 0) {
            o->failed = 1;
            break;
        }
        p2m_result_resource_attributes(r, res, s.attrs, n);
        if (n == 0) {
            p2m_out_str(o, " (no attributes)");
        } else {
            /* service.name first; continuation lines indented by 2, and the
               first entry moves down too when it does not fit after the
               heading (64-digit container ids) */
            size_t first_w = TABLE_WIDTH - (size_t)hl - 1;
            int wrapped;
            attrs_text(&s, n, "service.name");
            if (s.n_cuts > 0 && s.cuts[0] > first_w) {
                p2m_out_str(o, "\n  ");
                first_w = TABLE_WIDTH - 2;
            } else {
                p2m_out_str(o, " ");
            }
            put_wrapped(o, &s, first_w, TABLE_WIDTH - 2, 2, &wrapped);
        }
        p2m_out_str(o, "\n");
        if (schema.len > 0) {
            p2m_out_str(o, "  schema_url: ");
            put_text(o, schema);
            p2m_out_str(o, "\n");
        }
        n_metrics = p2m_result_metric_count(r, res);
        for (m = 0; m < n_metrics; m++)
            put_metric(o, &s, r, res, m);
    }
    if (s.text.failed)
        o->failed = 1;
    free(s.attrs);
    free(s.cuts);
    p2m_out_free(&s.text);
}
