/* Time base: per-block cost counter and the 100 Hz SysTick that drives the software watchdog.

   Cost ticks come from SysTick (QEMU: no DWT; with -icount shift=0 one instruction is 1 ns of
   virtual time, so a tick is 1e9 / TR_CLOCK_HZ instructions) or from the DWT cycle counter on real
   boards (TR_COST_DWT = 1: a tick is one core clock cycle). */
#ifndef TR_COST_H
#define TR_COST_H
#include <stdint.h>

#define TR_SYSTICK_HZ 100u

void tr_cost_init(uint32_t clock_hz);

/* Free-running tick counter (wraps at 2^32: subtract two readings as uint32_t). */
uint32_t tr_cost_now(void);

/* Ticks spent in a loop of exactly 2 * loops instructions (subs + bne), for calibration. */
uint32_t tr_cost_calibrate(uint32_t loops);

#endif
