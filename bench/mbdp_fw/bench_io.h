/* Console, exit and the SysTick instruction counter for the MBDP bench (semihosting: firmware/semihost). */
#ifndef BENCH_IO_H
#define BENCH_IO_H

#include <stdint.h>

#include "tr_semihost.h"

#define bench_puts tr_semihost_puts
#define bench_put_u32 tr_semihost_put_u32
#define bench_put_hex32 tr_semihost_put_hex32

/* SysTick from the processor clock, reload 2^24-1, no interrupt; read as an up-counter. */
static inline void bench_systick_start(void)
{
    volatile uint32_t *st = (volatile uint32_t *)0xE000E010u;
    st[1] = 0xFFFFFFu; /* LOAD */
    st[2] = 0;         /* VAL */
    st[0] = 0x5u;      /* CTRL: ENABLE, CLKSOURCE = processor */
}

static inline uint32_t bench_systick_now(void)
{
    return 0xFFFFFFu - *(volatile uint32_t *)0xE000E018u;
}

#endif
