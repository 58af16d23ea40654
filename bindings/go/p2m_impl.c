/* SPDX-License-Identifier: MIT
   The library itself, compiled by cgo with the package (CFLAGS in
   profile2metrics.go point at the repository's profile2metrics.h). */
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
