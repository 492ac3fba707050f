/* Semihosting (BKPT 0xAB) output and SysTick helpers for the MBDP bench. */
#include "bench_io.h"

static int32_t bench_semihost(int32_t op, const void *arg)
{
    register int32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void bench_puts(const char *s)
{
    bench_semihost(0x04, s);          /* SYS_WRITE0 */
}

void bench_put_u32(uint32_t v)
{
    char buf[11];
    int i = 10;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v && i > 0);
    bench_puts(&buf[i]);
}

void bench_put_hex32(uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[9];
    int i;
    for (i = 0; i < 8; i++) {
        buf[i] = digits[(v >> (28 - 4 * i)) & 0xFu];
    }
    buf[8] = 0;
    bench_puts(buf);
}

void bench_exit(int code)
{
    /* SYS_EXIT, 32-bit form: r1 holds the reason. ApplicationExit ends QEMU with status 0,
       RunTimeErrorUnknown with status 1. */
    const uintptr_t reason = code == 0 ? 0x20026u : 0x20024u;
    for (;;) {
        bench_semihost(0x18, (const void *)reason);
    }
}

void bench_systick_start(void)
{
    volatile uint32_t *st = (volatile uint32_t *)0xE000E010u;
    st[1] = 0xFFFFFFu;                /* LOAD */
    st[2] = 0;                        /* VAL */
    st[0] = 0x5u;                     /* CTRL: ENABLE, CLKSOURCE = processor, no interrupt */
}
