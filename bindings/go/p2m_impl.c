/* SPDX-License-Identifier: MIT
   The library itself, compiled by cgo with the package (CFLAGS in
   profile2metrics.go point at the repository's profile2metrics.h), and the
   bindings' shim (bindings/shim), the one C function a conversion calls. */
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
#include "../shim/p2m_shim.c"
