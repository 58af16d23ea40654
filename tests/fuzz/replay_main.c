/* SPDX-License-Identifier: MIT
   A main() for a fuzz target without libFuzzer (another compiler, another
   CPU: tests/suite-s390x.sh): runs every file named on the command line
   through LLVMFuzzerTestOneInput once, in order. A broken invariant aborts
   (the target's own checks). Prints "PASS <name> (N inputs)" at the end;
   argv[1] is the name. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int i, n = 0;
    for (i = 2; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        unsigned char *buf = NULL;
        size_t len = 0, cap = 0, got;
        if (!f) {
            printf("FAIL %s: cannot read %s\n", argv[1], argv[i]);
            return 1;
        }
        do {
            if (len == cap) {
                unsigned char *nb = (unsigned char *)realloc(buf, cap ? cap * 2 : 65536);
                if (!nb) {
                    printf("FAIL %s: out of memory\n", argv[1]);
                    return 1;
                }
                buf = nb;
                cap = cap ? cap * 2 : 65536;
            }
            got = fread(buf + len, 1, cap - len, f);
            len += got;
        } while (got > 0);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        n++;
    }
    printf("PASS %s (%d inputs, every invariant of the target held)\n", argc > 1 ? argv[1] : "replay", n);
    return 0;
}
