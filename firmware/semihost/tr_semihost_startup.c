/* Start-up for semihosted measurement runs on Armv7-M and Armv8-M: vector table, .data/.bss set-up,
 * FPU/MVE enable, then main(); its return value ends the run. Any fault prints FAULT and exits 1.
 * Links with firmware/ld/tunerig.ld (ENTRY Reset_Handler, .vectors first in CODE). */
#include <stdint.h>

#include "tr_semihost.h"

extern uint32_t __stack_top, __data_load, __data_start, __data_end, __bss_start, __bss_end;
int main(void);
void Reset_Handler(void);
void tr_semihost_fault(void);

typedef void (*tr_vector)(void);

__attribute__((section(".vectors"), used)) const tr_vector tr_semihost_vectors[16] = {
    (tr_vector)(uintptr_t)&__stack_top, Reset_Handler, tr_semihost_fault, tr_semihost_fault,
    tr_semihost_fault, tr_semihost_fault, tr_semihost_fault, tr_semihost_fault, 0, 0, 0,
    tr_semihost_fault, tr_semihost_fault, 0, tr_semihost_fault, tr_semihost_fault,
};

void tr_semihost_fault(void)
{
    tr_semihost_puts("FAULT\n");
    tr_semihost_exit(1);
}

void Reset_Handler(void)
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
    tr_semihost_exit(main());
}
