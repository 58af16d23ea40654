/* SPDX-License-Identifier: MIT
   fw.h - what the firmware example's program logic (app.c) needs from the
   platform it runs on. Two platforms implement it: target.c (bare-metal
   Cortex-M4, semihosting) and host.c (a POSIX host, stdout), so the same
   app.c runs on both and the bytes it prints can be compared. */
#ifndef FW_H
#define FW_H

#include <stddef.h>

/* Writes one NUL-terminated piece of text to the console. */
void fw_write(const char *text);

/* Stack high-water mark: fw_stack_mark() fills the unused stack below the
   caller with a pattern; fw_stack_used() returns how many bytes below the
   mark have been touched since. The host returns 0 (not measured). */
void fw_stack_mark(void);
size_t fw_stack_used(void);

/* The program: converts the two requests held in flash and prints the
   metrics as hex. Returns 0 when everything converted. */
int fw_main(void);

#endif
