/* SPDX-License-Identifier: MIT
   target.c - the firmware example's platform on a bare-metal Cortex-M4:
   vector table, reset handler (copy .data, clear .bss, run, exit), ARM
   semihosting for console output and exit, and stack painting for the
   measured stack high-water mark. Memory layout: examples/firmware/fw.ld.

   Semihosting: the program executes "bkpt 0xAB" with the operation in r0
   and its argument in r1; a debugger or QEMU (-semihosting-config
   enable=on,target=native) performs it. Without a host attached the bkpt
   would fault, so this image is for QEMU and debug probes only. */
#include <stdint.h>

#include "fw.h"

/* Symbols of the linker script. */
extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __stack_bottom[], __stack_top[];

#define SEMI_SYS_WRITE0 0x04u
#define SEMI_SYS_EXIT 0x18u
#define SEMI_EXIT_SUCCESS 0x20026u /* ADP_Stopped_ApplicationExit */
#define SEMI_EXIT_FAILURE 0x20023u /* ADP_Stopped_RunTimeErrorUnknown */

static uint32_t semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void fw_write(const char *text)
{
    (void)semihost(SEMI_SYS_WRITE0, text);
}

static void fw_exit(int failed) __attribute__((noreturn));
static void fw_exit(int failed)
{
    /* On 32-bit ARM, SYS_EXIT takes the reason code itself in r1. */
    (void)semihost(SEMI_SYS_EXIT, (const void *)(uintptr_t)(failed ? SEMI_EXIT_FAILURE
                                                                   : SEMI_EXIT_SUCCESS));
    for (;;) {
    }
}

/* ---- stack high-water mark ------------------------------------------------ */

#define STACK_PAINT 0xC0DEFACEu
static uintptr_t stack_mark_at;

/* Paints from the stack's bottom up to a little below the stack pointer of
   this call; everything below the mark is then unused stack. */
__attribute__((noinline)) void fw_stack_mark(void)
{
    uintptr_t sp;
    uint32_t *p = __stack_bottom;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    stack_mark_at = (sp - 64u) & ~(uintptr_t)3u; /* stay clear of this frame */
    while ((uintptr_t)p < stack_mark_at) *p++ = STACK_PAINT;
}

/* Bytes between the mark and the deepest word that lost its paint. */
size_t fw_stack_used(void)
{
    const uint32_t *p = __stack_bottom;
    while ((uintptr_t)p < stack_mark_at && *p == STACK_PAINT) p++;
    return (size_t)(stack_mark_at - (uintptr_t)p);
}

/* ---- reset and faults ----------------------------------------------------- */

void Reset_Handler(void) __attribute__((noreturn));
void Fault_Handler(void) __attribute__((noreturn));

void Reset_Handler(void)
{
    uint32_t *src = __data_load, *dst = __data_start;
    while (dst < __data_end) *dst++ = *src++;
    for (dst = __bss_start; dst < __bss_end; dst++) *dst = 0;
    fw_exit(fw_main());
}

void Fault_Handler(void)
{
    fw_write("FAULT: hard fault or other exception\n");
    fw_exit(1);
}

/* Cortex-M vector table: initial stack pointer, then the handlers of the
   system exceptions (reset, NMI, hard, memory management, bus and usage
   faults, 4 reserved, SVCall, debug monitor, reserved, PendSV, SysTick). */
typedef void (*fw_vector)(void);
__attribute__((section(".vectors"), used)) const fw_vector fw_vectors[16] = {
    (fw_vector)(uintptr_t)__stack_top,
    Reset_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    0, 0, 0, 0,
    Fault_Handler, Fault_Handler, 0, Fault_Handler, Fault_Handler,
};
