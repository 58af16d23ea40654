// SPDX-License-Identifier: MIT
// Benchmark peer: a full walk of the profiles schema with protozero 1.7
// (Debian libprotozero-dev, header-only). Every field of every message is
// decoded by its schema type (varints, fixed, doubles, each element of packed
// fields; strings and bytes as views) and folded into a sum: the practical
// floor for a parser that reads everything, with nothing kept. Both layouts
// (v1.8 and v1.10 differ in Profile and Sample field numbers), and the pprof
// schema (profile.proto) for the pprof workloads.
#include "bench.h"

#include <cstdio>
#include <utility>
#include <vector>

#include <protozero/exception.hpp>
#include <protozero/pbf_reader.hpp>

namespace {

using protozero::pbf_reader;
using protozero::pbf_wire_type;

char pz_err[128];

struct walker {
    int layout;  // 8 or 10
    uint64_t sum = 0;

    void view(pbf_reader &m) { sum += m.get_view().size(); }
    void i32(pbf_reader &m) { sum += static_cast<uint32_t>(m.get_int32()); }
    void i64(pbf_reader &m) { sum += static_cast<uint64_t>(m.get_int64()); }
    void u32(pbf_reader &m) { sum += m.get_uint32(); }
    void u64(pbf_reader &m) { sum += m.get_uint64(); }
    void f64(pbf_reader &m) { sum += m.get_fixed64(); }

    // Repeated scalars: packed (one length-delimited run) or one by one.
    void rep_i32(pbf_reader &m) {
        if (m.wire_type() == pbf_wire_type::length_delimited) {
            for (int32_t v : m.get_packed_int32()) sum += static_cast<uint32_t>(v);
        } else {
            i32(m);
        }
    }
    void rep_i64(pbf_reader &m) {
        if (m.wire_type() == pbf_wire_type::length_delimited) {
            for (int64_t v : m.get_packed_int64()) sum += static_cast<uint64_t>(v);
        } else {
            i64(m);
        }
    }
    void rep_f64(pbf_reader &m) {
        if (m.wire_type() == pbf_wire_type::length_delimited) {
            for (uint64_t v : m.get_packed_fixed64()) sum += v;
        } else {
            f64(m);
        }
    }

    void any_value(pbf_reader m) {
        while (m.next()) {
            switch (m.tag()) {
            case 1: case 7: view(m); break;
            case 2: sum += m.get_bool(); break;
            case 3: i64(m); break;
            case 4: sum += static_cast<uint64_t>(m.get_double()); break;
            case 5: array_value(m.get_message()); break;
            case 6: kvlist(m.get_message()); break;
            case 8: i32(m); break;
            default: m.skip();
            }
        }
    }
    void array_value(pbf_reader m) {
        while (m.next()) {
            if (m.tag() == 1) any_value(m.get_message());
            else m.skip();
        }
    }
    void key_value(pbf_reader m) {
        while (m.next()) {
            switch (m.tag()) {
            case 1: view(m); break;
            case 2: any_value(m.get_message()); break;
            case 3: i32(m); break;
            default: m.skip();
            }
        }
    }
    void kvlist(pbf_reader m) {
        while (m.next()) {
            if (m.tag() == 1) key_value(m.get_message());
            else m.skip();
        }
    }
    void kv_and_unit(pbf_reader m) {
        while (m.next()) {
            switch (m.tag()) {
            case 1: case 3: i32(m); break;
            case 2: any_value(m.get_message()); break;
            default: m.skip();
            }
        }
    }
    void entity_ref(pbf_reader m) {
        while (m.next()) {
            if (m.tag() >= 1 && m.tag() <= 4) view(m);
            else m.skip();
        }
    }
    void resource(pbf_reader m) {
        while (m.next()) {
            switch (m.tag()) {
            case 1: key_value(m.get_message()); break;
            case 2: u32(m); break;
            case 3: entity_ref(m.get_message()); break;
            default: m.skip();
            }
        }
    }
    void scope(pbf_reader m) {
        while (m.next()) {
            switch (m.tag()) {
            case 1: case 2: view(m); break;
            case 3: key_value(m.get_message()); break;
            case 4: u32(m); break;
            default: m.skip();
            }
        }
    }
    void value_type(pbf_reader m) {
        while (m.next()) {
            if (m.tag() >= 1 && m.tag() <= 3) i32(m);
            else m.skip();
        }
    }
    void sample(pbf_reader m) {
        const bool v10 = layout == 10;
        while (m.next()) {
            switch (m.tag()) {
            case 1: i32(m); break;
            case 2: if (v10) rep_i32(m); else rep_i64(m); break;
            case 3: if (v10) i32(m); else rep_i32(m); break;
            case 4: if (v10) rep_i64(m); else i32(m); break;
            case 5: rep_f64(m); break;
            default: m.skip();
            }
        }
    }
    void profile(pbf_reader m) {
        const uint32_t shift = layout == 8 ? 1 : 0;  // v1.8 has comment_strindices = 7
        while (m.next()) {
            const uint32_t t = m.tag();
            if (t == 1 || t == 5) value_type(m.get_message());
            else if (t == 2) sample(m.get_message());
            else if (t == 3) f64(m);
            else if (t == 4) u64(m);
            else if (t == 6) i64(m);
            else if (shift && t == 7) rep_i32(m);
            else if (t == 7 + shift || t == 9 + shift || t == 10 + shift) view(m);
            else if (t == 8 + shift) u32(m);
            else if (t == 11 + shift) rep_i32(m);
            else m.skip();
        }
    }
    void scope_profiles(pbf_reader m) {
        while (m.next()) {
            switch (m.tag()) {
            case 1: scope(m.get_message()); break;
            case 2: profile(m.get_message()); break;
            case 3: view(m); break;
            default: m.skip();
            }
        }
    }
    void resource_profiles(pbf_reader m) {
        while (m.next()) {
            switch (m.tag()) {
            case 1: resource(m.get_message()); break;
            case 2: scope_profiles(m.get_message()); break;
            case 3: view(m); break;
            default: m.skip();
            }
        }
    }
    void mapping(pbf_reader m) {
        while (m.next()) {
            switch (m.tag()) {
            case 1: case 2: case 3: u64(m); break;
            case 4: i32(m); break;
            case 5: rep_i32(m); break;
            default: m.skip();
            }
        }
    }
    void line(pbf_reader m) {
        while (m.next()) {
            switch (m.tag()) {
            case 1: i32(m); break;
            case 2: case 3: i64(m); break;
            default: m.skip();
            }
        }
    }
    void location(pbf_reader m) {
        while (m.next()) {
            switch (m.tag()) {
            case 1: i32(m); break;
            case 2: u64(m); break;
            case 3: line(m.get_message()); break;
            case 4: rep_i32(m); break;
            default: m.skip();
            }
        }
    }
    void function(pbf_reader m) {
        while (m.next()) {
            switch (m.tag()) {
            case 1: case 2: case 3: i32(m); break;
            case 4: i64(m); break;
            default: m.skip();
            }
        }
    }
    void link(pbf_reader m) {
        while (m.next()) {
            if (m.tag() == 1 || m.tag() == 2) view(m);
            else m.skip();
        }
    }
    void stack(pbf_reader m) {
        while (m.next()) {
            if (m.tag() == 1) rep_i32(m);
            else m.skip();
        }
    }
    void dictionary(pbf_reader m) {
        while (m.next()) {
            switch (m.tag()) {
            case 1: mapping(m.get_message()); break;
            case 2: location(m.get_message()); break;
            case 3: function(m.get_message()); break;
            case 4: link(m.get_message()); break;
            case 5: view(m); break;
            case 6: kv_and_unit(m.get_message()); break;
            case 7: stack(m.get_message()); break;
            default: m.skip();
            }
        }
    }
    void request(pbf_reader m) {
        while (m.next()) {
            switch (m.tag()) {
            case 1: resource_profiles(m.get_message()); break;
            case 2: dictionary(m.get_message()); break;
            default: m.skip();
            }
        }
    }
};

// The pprof schema (profile.proto), every field decoded by its type, the
// same way: a separate walker, as a pprof decoder would be.
struct pprof_walker {
    uint64_t sum = 0;

    void view(pbf_reader &m) { sum += m.get_view().size(); }
    void i64(pbf_reader &m) { sum += static_cast<uint64_t>(m.get_int64()); }
    void u64(pbf_reader &m) { sum += m.get_uint64(); }
    void flag(pbf_reader &m) { sum += m.get_bool(); }
    void rep_i64(pbf_reader &m) {
        if (m.wire_type() == pbf_wire_type::length_delimited) {
            for (int64_t v : m.get_packed_int64()) sum += static_cast<uint64_t>(v);
        } else {
            i64(m);
        }
    }
    void rep_u64(pbf_reader &m) {
        if (m.wire_type() == pbf_wire_type::length_delimited) {
            for (uint64_t v : m.get_packed_uint64()) sum += v;
        } else {
            u64(m);
        }
    }

    void value_type(pbf_reader m) {  // type, unit
        while (m.next()) {
            if (m.tag() == 1 || m.tag() == 2) i64(m);
            else m.skip();
        }
    }
    void label(pbf_reader m) {  // key, str, num, num_unit
        while (m.next()) {
            if (m.tag() >= 1 && m.tag() <= 4) i64(m);
            else m.skip();
        }
    }
    void sample(pbf_reader m) {
        while (m.next()) {
            switch (m.tag()) {
            case 1: rep_u64(m); break;  // location_id
            case 2: rep_i64(m); break;  // value
            case 3: label(m.get_message()); break;
            default: m.skip();
            }
        }
    }
    void mapping(pbf_reader m) {
        while (m.next()) {
            const uint32_t t = m.tag();
            if (t >= 1 && t <= 4) u64(m);            // id, memory_start/limit, file_offset
            else if (t == 5 || t == 6) i64(m);       // filename, build_id
            else if (t >= 7 && t <= 10) flag(m);     // has_*
            else m.skip();
        }
    }
    void line(pbf_reader m) {
        while (m.next()) {
            switch (m.tag()) {
            case 1: u64(m); break;          // function_id
            case 2: case 3: i64(m); break;  // line, column
            default: m.skip();
            }
        }
    }
    void location(pbf_reader m) {
        while (m.next()) {
            switch (m.tag()) {
            case 1: case 2: case 3: u64(m); break;  // id, mapping_id, address
            case 4: line(m.get_message()); break;
            case 5: flag(m); break;                 // is_folded
            default: m.skip();
            }
        }
    }
    void function(pbf_reader m) {
        while (m.next()) {
            const uint32_t t = m.tag();
            if (t == 1) u64(m);                 // id
            else if (t >= 2 && t <= 5) i64(m);  // name, system_name, filename, start_line
            else m.skip();
        }
    }
    void profile(pbf_reader m) {
        while (m.next()) {
            switch (m.tag()) {
            case 1: case 11: value_type(m.get_message()); break;  // sample_type, period_type
            case 2: sample(m.get_message()); break;
            case 3: mapping(m.get_message()); break;
            case 4: location(m.get_message()); break;
            case 5: function(m.get_message()); break;
            case 6: view(m); break;  // string_table
            case 7: case 8: case 9: case 10: case 12: case 14: i64(m); break;
            case 13: rep_i64(m); break;  // comment
            default: m.skip();
            }
        }
    }
};

}  // namespace

extern "C" int pz_walk_pprof(const uint8_t *p, size_t n, uint64_t *sum) {
    pprof_walker w;
    try {
        w.profile(pbf_reader{reinterpret_cast<const char *>(p), n});
    } catch (const protozero::exception &e) {
        std::snprintf(pz_err, sizeof pz_err, "protozero: %s", e.what());
        return -1;
    }
    *sum += w.sum;
    return 0;
}

// The cross-check of the pprof scenario: the profile's cpu/nanoseconds and
// alloc_space/bytes column sums (the columns docs/spec.md section 3 sends to
// cpu and memory in Go's profiles), decoded by protozero on their own.
extern "C" int pz_pprof_totals(const uint8_t *p, size_t n, uint64_t *cpu_ns,
                               uint64_t *alloc_bytes) {
    std::vector<std::pair<int64_t, int64_t>> types;
    std::vector<protozero::data_view> strings;
    std::vector<uint64_t> sums;
    try {
        pbf_reader m{reinterpret_cast<const char *>(p), n};
        while (m.next()) {
            if (m.tag() == 1) {
                pbf_reader vt = m.get_message();
                int64_t t = 0, u = 0;
                while (vt.next()) {
                    if (vt.tag() == 1) t = vt.get_int64();
                    else if (vt.tag() == 2) u = vt.get_int64();
                    else vt.skip();
                }
                types.emplace_back(t, u);
            } else if (m.tag() == 2) {
                pbf_reader s = m.get_message();
                size_t col = 0;
                while (s.next()) {
                    if (s.tag() != 2) {
                        s.skip();
                        continue;
                    }
                    auto add = [&](int64_t v) {
                        if (sums.size() <= col) sums.resize(col + 1);
                        sums[col++] += static_cast<uint64_t>(v);
                    };
                    if (s.wire_type() == pbf_wire_type::length_delimited) {
                        for (int64_t v : s.get_packed_int64()) add(v);
                    } else {
                        add(s.get_int64());
                    }
                }
            } else if (m.tag() == 6) {
                strings.push_back(m.get_view());
            } else {
                m.skip();
            }
        }
    } catch (const protozero::exception &e) {
        std::snprintf(pz_err, sizeof pz_err, "protozero: %s", e.what());
        return -1;
    }
    auto is = [&](int64_t i, const char *want) {
        return i >= 0 && static_cast<size_t>(i) < strings.size() &&
               strings[static_cast<size_t>(i)] == protozero::data_view{want};
    };
    *cpu_ns = *alloc_bytes = 0;
    for (size_t c = 0; c < types.size() && c < sums.size(); c++) {
        if (is(types[c].first, "cpu") && is(types[c].second, "nanoseconds")) *cpu_ns += sums[c];
        if (is(types[c].first, "alloc_space") && is(types[c].second, "bytes"))
            *alloc_bytes += sums[c];
    }
    return 0;
}

extern "C" int pz_walk(const uint8_t *p, size_t n, int layout, uint64_t *sum) {
    walker w;
    w.layout = layout;
    try {
        w.request(pbf_reader{reinterpret_cast<const char *>(p), n});
    } catch (const protozero::exception &e) {
        std::snprintf(pz_err, sizeof pz_err, "protozero: %s", e.what());
        return -1;
    }
    *sum += w.sum;
    return 0;
}

extern "C" const char *pz_error(void) { return pz_err; }
