/* SPDX-License-Identifier: MIT
   The library itself, compiled by build.rs into the crate, and the sizes and
   offsets of the C structs that src/ffi.rs declares again in Rust (its
   tests compare them, so a header change that moves a field fails there
   instead of corrupting memory). */
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"

size_t p2mrs_layout(int what);

size_t p2mrs_layout(int what)
{
    switch (what) {
    case 0: return sizeof(p2m_config);
    case 1: return sizeof(p2m_error);
    case 2: return sizeof(p2m_stats);
    case 3: return sizeof(p2m_options);
    case 4: return sizeof(p2m_rule);
    case 5: return sizeof(p2m_filter);
    case 6: return sizeof(p2m_extra_metric);
    case 7: return sizeof(p2m_type_rule);
    case 8: return sizeof(p2m_metric_config);
    case 9: return offsetof(p2m_config, function_mode);
    case 10: return offsetof(p2m_config, process_filter);
    case 11: return offsetof(p2m_config, temporality);
    case 12: return offsetof(p2m_config, state_bytes);
    case 13: return offsetof(p2m_config, extra);
    case 14: return offsetof(p2m_stats, work_used);
    case 15: return offsetof(p2m_stats, layout_conflict);
    case 16: return offsetof(p2m_error, message);
    case 17: return offsetof(p2m_rule, default_value);
    case 18: return offsetof(p2m_type_rule, scale);
    case 19: return sizeof(p2m_attribute);
    case 20: return offsetof(p2m_attribute, value);
    case 21: return offsetof(p2m_options, resource_attributes);
    case 22: return sizeof(p2m_type_count);
    case 23: return offsetof(p2m_type_count, samples);
    }
    return 0;
}
