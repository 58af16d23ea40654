/* SPDX-License-Identifier: MIT
   The translation unit `make lint` checks the header through: the whole
   implementation, compiled as a user of the header would. */
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
