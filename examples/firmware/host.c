/* SPDX-License-Identifier: MIT
   host.c - the firmware example's platform on a POSIX host: text goes to
   stdout, the stack is not measured. Built from the same app.c as the
   firmware so the two outputs can be compared byte for byte. */
#include <stdio.h>

#include "fw.h"

void fw_write(const char *text)
{
    fputs(text, stdout);
}

void fw_stack_mark(void)
{
}

size_t fw_stack_used(void)
{
    return 0;
}

int main(void)
{
    int rc = fw_main();
    return fflush(stdout) == 0 ? rc : 1;
}
