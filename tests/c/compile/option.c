/* SPDX-License-Identifier: MIT
   Compile test for one option (its -D flags come from the command line):
   the implementation with a main that uses only two functions, so a
   P2M_STATIC build must not warn about the many it leaves unused. */
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"

int main(void)
{
    p2m_config cfg;
    p2m_config_init(&cfg);
    return p2m_version()[0] == P2M_VERSION_STRING[0] && cfg.cpu.enabled ? 0 : 1;
}
