/* SPDX-License-Identifier: MIT
   fw_symbolize.h - the firmware example's symboliser: address ranges of
   the image (fw_symbols of requests.h, generated from the image's symbol
   table) to function names. Shared by app.c (target and host) and
   stream_test.c; include requests.h and profile2metrics.h first. */
#ifndef FW_SYMBOLIZE_H
#define FW_SYMBOLIZE_H

typedef struct fw_symctx {
    unsigned long calls;
} fw_symctx;

static int fw_str_eq(p2m_str s, const char *z)
{
    size_t i;
    for (i = 0; i < s.len; i++)
        if (z[i] == '\0' || z[i] != s.ptr[i]) return 0;
    return z[i] == '\0';
}

/* Binary search of fw_symbols (sorted, non-overlapping [start, end)). The
   names are string literals in flash, so the returned view outlives the
   call as the API asks. A frame of another image (its build id differs)
   is not ours to name. user_data is a fw_symctx that counts the calls. */
static p2m_str fw_symbolize(void *user_data, uint64_t address, p2m_str mapping_file,
                            p2m_str build_id)
{
    fw_symctx *ctx = (fw_symctx *)user_data;
    p2m_str none = {"", 0};
    size_t lo = 0, hi = sizeof fw_symbols / sizeof fw_symbols[0];
    (void)mapping_file;
    ctx->calls++;
    if (build_id.len != 0 && !fw_str_eq(build_id, FW_BUILD_ID)) return none;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (address < fw_symbols[mid].start) {
            hi = mid;
        } else if (address >= fw_symbols[mid].end) {
            lo = mid + 1;
        } else {
            p2m_str name;
            const char *n = fw_symbols[mid].name;
            name.ptr = n;
            name.len = 0;
            while (n[name.len] != '\0') name.len++;
            return name;
        }
    }
    return none;
}

#endif
