/* SPDX-License-Identifier: MIT
   Compile test for one option (its -D flags come from the command line):
   the implementation with a main that uses only a few functions, so a
   P2M_STATIC build must not warn about the many it leaves unused. Options
   that compile a feature out are checked to refuse it with
   P2M_ERR_UNSUPPORTED, naming the configuration field. */
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
#include <stdio.h>
#include <string.h>

#if (defined(P2M_NO_CUMULATIVE) || defined(P2M_NO_FUNCTION)) && !defined(P2M_NO_COMPILE)
static int refused(const p2m_config *cfg, const char *field)
{
    static unsigned char mem[1 << 14];
    const p2m_engine *e = 0;
    p2m_error err;
    p2m_status st = p2m_engine_compile(cfg, mem, sizeof mem, &e, &err);
    if (st != P2M_ERR_UNSUPPORTED || strncmp(err.field, field, strlen(field)) != 0) {
        printf("expected P2M_ERR_UNSUPPORTED at %s, got status %d field '%s'\n", field, (int)st, err.field);
        return 0;
    }
    return 1;
}
#endif

int main(void)
{
    p2m_config cfg;
    int ok = 1;
    p2m_config_init(&cfg);
    ok = p2m_version()[0] == P2M_VERSION_STRING[0] && cfg.cpu.enabled;
#ifdef P2M_NO_COMPILE
    { /* no compiler, no regex parser: both say so */
        static unsigned char mem[1 << 14];
        const p2m_engine *e = 0;
        const p2m_regex *re = 0;
        p2m_error err;
        ok = ok && p2m_engine_compile(&cfg, mem, sizeof mem, &e, &err) == P2M_ERR_UNSUPPORTED &&
             e == 0;
#ifndef P2M_NO_ERRMSG
        ok = ok && strstr(err.message, "P2M_NO_COMPILE") != 0;
#endif
        ok = ok && p2m_regex_compile("a", 1, mem, sizeof mem, &re, &err) == P2M_ERR_UNSUPPORTED &&
             re == 0;
        if (!ok) printf("P2M_NO_COMPILE: compile or regex_compile did not answer UNSUPPORTED\n");
    }
#else
#ifdef P2M_NO_CUMULATIVE
    {
        p2m_config c = cfg;
        p2m_state *st = 0;
        unsigned char mem[64];
        p2m_error err;
        c.temporality = P2M_TEMPORALITY_CUMULATIVE;
        ok = ok && refused(&c, "temporality");
        ok = ok && p2m_state_init(0, mem, sizeof mem, &st, &err) == P2M_ERR_UNSUPPORTED && st == 0;
    }
#endif
#ifdef P2M_NO_FUNCTION
    {
        p2m_config c = cfg;
        p2m_rule frame = {"k", P2M_RULE_FRAME, 0, "type", 0, 0, 0};
        c.function.enabled = 1;
        ok = ok && refused(&c, "metrics.function");
        c = cfg;
        c.attributes = &frame;
        c.n_attributes = 1;
        ok = ok && refused(&c, "attributes[0]");
        c = cfg;
        c.stack_filter.enabled = 1;
        c.stack_filter.pattern = "a";
        ok = ok && refused(&c, "stack_filter");
#if P2M_MAX_EXTRA > 0
        {
            static const char *const types[] = {"samples/count"};
            p2m_extra_metric x = {"under", 0, 0, types, 1, "a"};
            c = cfg;
            c.extra = &x;
            c.n_extra = 1;
            ok = ok && refused(&c, "metrics.extra[0].stack_pattern");
        }
#endif
    }
#endif
#endif /* P2M_NO_COMPILE */
    return ok ? 0 : 1;
}
