/* SPDX-License-Identifier: MIT */
/* Stand-alone driver for p2m_cmd_match (the `p2m match` subcommand) so its
   output and exit codes can be tested before and after it joins tools/p2m. */
#include "regex_impl.h"

int p2m_cmd_match(int argc, char **argv);

int main(int argc, char **argv)
{
    argv[0] = (char *)"match";
    return p2m_cmd_match(argc, argv);
}
