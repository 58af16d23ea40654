/* SPDX-License-Identifier: MIT
   The library itself, compiled by build.rs into the crate, and the
   bindings' shim (bindings/shim): the one C function a conversion calls,
   and p2mb_layout, the sizes and offsets of the C structs that src/ffi.rs
   declares again in Rust (its tests compare them, so a header change that
   moves a field fails there instead of corrupting memory). */
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
#include "../../shim/p2m_shim.c"
