/* SPDX-License-Identifier: MIT
   The three memory primitives clang may call when compiling for wasm32
   without a libc (struct copies, P2M_MEMCPY/P2M_MEMSET as __builtin_*).
   Built with -fno-builtin so that these loops are not turned back into
   calls to themselves. With -mbulk-memory clang emits memory.copy /
   memory.fill for most copies; these serve the rest. */
#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    if (d < s) {
        while (n--)
            *d++ = *s++;
    } else {
        d += n;
        s += n;
        while (n--)
            *--d = *--s;
    }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = (unsigned char *)dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

/* 128-bit multiplication, which clang calls for the 64-bit overflow checks
   (__builtin_mul_overflow) on wasm32; compiler-rt's builtins are not linked.
   The low 128 bits of a * b, from 32-bit partial products. */
typedef unsigned long long u64;
typedef __int128 i128;
typedef unsigned __int128 u128;

/* the name is the compiler's: NOLINTNEXTLINE(bugprone-reserved-identifier) */
i128 __multi3(i128 a, i128 b);

static u64 mul_hi64(u64 x, u64 y)
{
    u64 xl = x & 0xffffffffu, xh = x >> 32, yl = y & 0xffffffffu, yh = y >> 32;
    u64 ll = xl * yl, lh = xl * yh, hl = xh * yl, hh = xh * yh;
    u64 mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
    return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

/* NOLINTNEXTLINE(bugprone-reserved-identifier) */
i128 __multi3(i128 a, i128 b)
{
    u128 ua = (u128)a, ub = (u128)b;
    u64 al = (u64)ua, ah = (u64)(ua >> 64), bl = (u64)ub, bh = (u64)(ub >> 64);
    u64 lo = al * bl;
    u64 hi = mul_hi64(al, bl) + ah * bl + al * bh;
    return (i128)(((u128)hi << 64) | lo);
}
