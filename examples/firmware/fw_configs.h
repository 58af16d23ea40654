/* SPDX-License-Identifier: MIT
   fw_configs.h - the configurations of the firmware example's cases, as
   p2m_config values. Used on the host only: mkimage.c compiles them into
   engine images for the firmware (which has no configuration compiler:
   P2M_NO_COMPILE), and stream_test.c compiles them to convert the same
   requests. check_output.py spells the same configurations out in Python.

     small               the eBPF-shaped request, default configuration
     small-max8          the same with max_series 8 (less working memory)
     firmware            unsymbolised firmware frames, function metric (self)
     firmware-inclusive  the same with function mode inclusive
     firmware-filtered   function mode self, a thread filter and a regex
                         attribute rule (the regex matcher on the target) */
#ifndef FW_CONFIGS_H
#define FW_CONFIGS_H

#include "profile2metrics.h"

#define FW_N_CONFIGS 5

/* The case names, in the order of fw_config's index; also the names of the
   engine images in engines.h (fw_engine_<name with '-' as '_'>). */
static const char *const fw_config_names[FW_N_CONFIGS] = {
    "small", "small-max8", "firmware", "firmware-inclusive", "firmware-filtered"};

/* Fills cfg with the configuration of case i (0 to FW_N_CONFIGS - 1). The
   pattern and rule arrays are static: cfg points into them. */
static void fw_config(int i, p2m_config *cfg)
{
    /* Keep the application tasks only and derive a task.kind attribute
       from the task name; copy a nested resource attribute (a key-value
       list) onto the points. */
    static const char *const tasks[] = {"^sensor$", "radio"};
    static const p2m_rule rules[] = {
        {"process.executable.name", P2M_RULE_ATTRIBUTE, 0, "process.executable.name", 0, 0, 0},
        {"thread.name", P2M_RULE_ATTRIBUTE, 0, "thread.name", 0, 0, 0},
        {"task.kind", P2M_RULE_REGEX, "^([a-z]+)", 0, "thread.name", 0, 0},
        {"device.config", P2M_RULE_ATTRIBUTE, 0, "device.config", 0, 0, 0},
    };
    /* Defaults: cpu and memory metrics, process.executable.name and
       thread.name on the points. */
    p2m_config_init(cfg);
    switch (i) {
    case 1:
        /* A cardinality limit sized for a microcontroller: the series
           table is planned for min(samples, metrics x max_series) series,
           so the working memory shrinks while the output stays the same
           (this request has 2 series). */
        cfg->max_series = 8;
        break;
    case 2:
    case 3:
    case 4:
        /* Firmware frames carry addresses only: the function metric names
           them through the symboliser. */
        cfg->function.enabled = 1;
        cfg->function_mode = i == 3 ? P2M_FUNCTION_INCLUSIVE : P2M_FUNCTION_SELF;
        if (i == 4) {
            cfg->thread_filter.enabled = 1;
            cfg->thread_filter.patterns = tasks;
            cfg->thread_filter.n_patterns = sizeof tasks / sizeof tasks[0];
            cfg->attributes = rules;
            cfg->n_attributes = sizeof rules / sizeof rules[0];
        }
        break;
    default:
        break;
    }
}

#endif
