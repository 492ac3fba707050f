/* Fuzz driver for the sanitizer build (-fsanitize=address,undefined): reads length-prefixed
   inputs (u32 LE length, then bytes) from stdin; each input is one stream fed into a fresh link.
   Exits 0 when every input was consumed; a sanitizer report aborts with a non-zero status. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

void tr_host_init(void);
size_t tr_host_feed(const uint8_t *data, size_t n, uint8_t *out, size_t cap);

int main(void)
{
    static uint8_t in[1u << 20];
    static uint8_t out[1u << 22];
    unsigned count = 0;
    for (;;) {
        uint8_t len_le[4];
        if (fread(len_le, 1, 4, stdin) != 4) {
            break;
        }
        size_t n = (size_t)len_le[0] | ((size_t)len_le[1] << 8) | ((size_t)len_le[2] << 16) | ((size_t)len_le[3] << 24);
        if (n > sizeof in || fread(in, 1, n, stdin) != n) {
            fprintf(stderr, "truncated input %u\n", count);
            return 2;
        }
        tr_host_init();
        if (tr_host_feed(in, n, out, sizeof out) == (size_t)-1) {
            fprintf(stderr, "back-pressure violated in input %u\n", count);
            return 3;
        }
        count++;
    }
    printf("%u inputs\n", count);
    return 0;
}
