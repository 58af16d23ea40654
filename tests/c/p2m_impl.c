/* SPDX-License-Identifier: MIT
   The one translation unit of the C tests that holds the implementation. */
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
