/* SPDX-License-Identifier: MIT
   Compile test: a second user translation unit, including the header twice
   (include guard), with main. */
#include "profile2metrics.h"
#include "profile2metrics.h"

int p2m_compile_user1(void);

int main(void)
{
    const char *v = p2m_version();
    if (!v || v[0] != P2M_VERSION_STRING[0])
        return 2;
    return p2m_compile_user1();
}
