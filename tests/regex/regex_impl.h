/* SPDX-License-Identifier: MIT */
/* Brings in the regex API and its implementation for the regex tests.
   Before the regex lands in profile2metrics.h, build with
   -DP2M_TEST_DRAFT_REGEX -I<draft dir>: the header gives the types only and
   the draft (p2m_regex.h) the regex code. Afterwards the header alone. */
#ifndef P2M_TEST_REGEX_IMPL_H
#define P2M_TEST_REGEX_IMPL_H
#ifdef P2M_TEST_DRAFT_REGEX
#include "profile2metrics.h"
#define P2M_IMPLEMENTATION
#include "p2m_regex.h"
#else
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
#endif
#endif
