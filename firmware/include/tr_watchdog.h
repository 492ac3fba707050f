/* Hang detection: a software watchdog counted down by the SysTick interrupt. The main loop kicks
   it; a block that never returns stops the kicks, and the interrupt then reports a FAULT frame on
   the UART and resets the core. The reset reason survives the reset in .noinit RAM and the next
   BOOT frame reports it. Boards with a hardware watchdog in board.toml ([watchdog], STM32 IWDG)
   also run it as a backstop (~1 s), refreshed by the same kick. */
#ifndef TR_WATCHDOG_H
#define TR_WATCHDOG_H
#include <stdint.h>
#include "tr_uart.h"

#define TR_WDG_TIMEOUT_TICKS 20u   /* SysTick periods (TR_SYSTICK_HZ): 200 ms */

void tr_wdg_init(tr_uart_instance *uart);
void tr_wdg_kick(void);
void tr_wdg_tick(void);                 /* from the SysTick handler */

/* Reason for the last reset (TR_RESET_*), read once at boot. */
uint8_t tr_wdg_reset_reason(void);

/* Report a fault on the UART (blocking) and reset the core. */
void tr_fault_reset(uint8_t reason) __attribute__((noreturn));

#endif
