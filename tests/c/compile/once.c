/* SPDX-License-Identifier: MIT
   Compile test: the header first without, then twice with
   P2M_IMPLEMENTATION in one translation unit (the implementation is
   compiled once). */
#include "profile2metrics.h"
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
#include "profile2metrics.h"

int main(void)
{
    p2m_config cfg;
    p2m_config_init(&cfg);
    return cfg.cpu.enabled ? 0 : 1;
}
