/* Vector table and reset code for Armv7-M cores (Cortex-M4, Cortex-M7).
   16 system vectors, then TR_N_IRQ device interrupts (unused here: all go to the default handler,
   which reports a fault rather than spinning silently). */
#include <stdint.h>
#include "tr_cmsis_min.h"
#include "tr_link.h"
#include "tr_watchdog.h"
#include "tr_uart_rx.h"
#include "tr_board_config.h"

#define TR_N_IRQ 96

extern uint32_t __stack_top, __data_load, __data_start, __data_end, __bss_start, __bss_end;
int main(void);
void tr_stack_paint(void);

void Reset_Handler(void);
void Default_Handler(void) { tr_fault_reset(TR_RESET_HARDFAULT); }
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void HardFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("Default_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

typedef void (*tr_vector)(void);

#if TR_UART_RX_IRQ >= TR_N_IRQ
#error "TR_UART_RX_IRQ is beyond this vector table"
#endif
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"

__attribute__((section(".vectors"), used)) const tr_vector tr_vector_table[16 + TR_N_IRQ] = {
    (tr_vector)(uintptr_t)&__stack_top,
    Reset_Handler, NMI_Handler, HardFault_Handler, MemManage_Handler, BusFault_Handler,
    UsageFault_Handler, 0, 0, 0, 0, SVC_Handler, DebugMon_Handler, 0, PendSV_Handler, SysTick_Handler,
    [16 ... 16 + TR_N_IRQ - 1] = Default_Handler,
    /* The one device interrupt in use; overrides its slot in the range above. */
    [16 + TR_UART_RX_IRQ] = tr_uart_irq_handler,
};
#pragma GCC diagnostic pop

void Reset_Handler(void)
{
    uint32_t *src = &__data_load, *dst = &__data_start;
    while (dst < &__data_end) {
        *dst++ = *src++;
    }
    for (dst = &__bss_start; dst < &__bss_end;) {
        *dst++ = 0u;
    }
    tr_stack_paint();
#if defined(__ARM_FP)
    TR_SCB_CPACR |= (0xFu << 20);   /* CP10/CP11 full access: the FPU is usable */
    tr_dsb();
    tr_isb();
#endif
    (void)main();
    for (;;) {
    }
}
