/* SPDX-License-Identifier: MIT
   Doubles and their text as the header's writers give it with a libc (the
   shortest of %.15g, %.16g, %.17g that strtod reads back), one per line as
   "<16 hex digits of the bits> <text>", for the JavaScript binding's test of
   formatDouble (the .wasm has no libc and takes that text from the host).
   Fixed edge cases, then pseudo-random values of three kinds: short
   decimals, values around 1e15 (halfway cases of %.17g), and any bits. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void line(double d)
{
    char buf[40];
    uint64_t u;
    int prec, n = 0;
    for (prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, 0) == d)
            break;
    }
    (void)n;
    memcpy(&u, &d, sizeof u);
    printf("%016llx %s\n", (unsigned long long)u, buf);
}

int main(int argc, char **argv)
{
    static const double fixed[] = {0.0, -0.0, 0.1, 1.0 / 3, 1e21, 1e-7, 123456789012345678.0,
                                   5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
                                   0.25, 100, 1e15, 1e16, 1e17, 123.456, -2.5e-5, 1e-4, 1e-5,
                                   1097718834198879.25, 0.5, 9007199254740993.0};
    uint64_t s = 88172645463325252ull;
    long i, count = argc > 1 ? atol(argv[1]) : 100000;
    size_t k;
    for (k = 0; k < sizeof fixed / sizeof *fixed; k++)
        line(fixed[k]);
    for (i = 0; i < count; i++) {
        double d;
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        if (i % 3 == 0) {
            d = (double)(s % 1000000) / 1000.0;
        } else if (i % 3 == 1) {
            d = (double)(s % 4000000000000000ull) / 4.0;
        } else {
            memcpy(&d, &s, sizeof d);
            if (d != d || d - d != 0)
                continue;
        }
        line(d);
    }
    return 0;
}
