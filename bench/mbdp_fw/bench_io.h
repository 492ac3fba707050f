/* Semihosting console and exit, and the SysTick instruction counter, for the MBDP bench. */
#ifndef BENCH_IO_H
#define BENCH_IO_H

#include <stdint.h>

void bench_puts(const char *s);
void bench_put_u32(uint32_t v);
void bench_put_hex32(uint32_t v);
void bench_exit(int code);

/* SysTick running from the processor clock, reload 2^24-1; read as an up-counter. */
void bench_systick_start(void);
static inline uint32_t bench_systick_now(void)
{
    return 0xFFFFFFu - *(volatile uint32_t *)0xE000E018u;
}

#endif
