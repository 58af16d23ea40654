/* SPDX-License-Identifier: MIT
   Compile test: the implementation translation unit. */
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
