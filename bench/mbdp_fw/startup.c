/* Minimal bench start-up for Armv7-M and Armv8-M: vector table, .data/.bss set-up, FPU/MVE enable,
 * then main(). Faults report over semihosting and stop QEMU. Deliberately tiny: the full HIL
 * firmware lives in firmware/. */
#include <stdint.h>

#include "bench_io.h"

extern uint32_t __stack_top, __data_load, __data_start, __data_end, __bss_start, __bss_end;
int main(void);
void bench_reset(void);
void bench_fault(void);

typedef void (*bench_vector)(void);

__attribute__((section(".vectors"), used)) const bench_vector bench_vectors[16] = {
    (bench_vector)(uintptr_t)&__stack_top, bench_reset, bench_fault, bench_fault, bench_fault,
    bench_fault, bench_fault, bench_fault, 0, 0, 0, bench_fault, bench_fault, 0, bench_fault, bench_fault,
};

void bench_fault(void)
{
    bench_puts("FAULT\n");
    bench_exit(1);
}

void bench_reset(void)
{
    uint32_t *src = &__data_load, *dst = &__data_start;
    while (dst < &__data_end) {
        *dst++ = *src++;
    }
    for (dst = &__bss_start; dst < &__bss_end; dst++) {
        *dst = 0;
    }
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    /* CPACR: full access to CP10/CP11 (FPU, and MVE on Armv8.1-M) before any FP/vector instruction. */
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20);
    __asm volatile("dsb\n isb" ::: "memory");
#endif
    bench_exit(main());
}
