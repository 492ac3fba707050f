/* Interrupt-driven UART reception into a ring buffer. The UART holds one byte (CMSDK) or one byte
   plus shift register (STM32): on silicon, bytes arriving while a block is being processed would
   overrun it. The RX interrupt moves each byte into this ring at once, and the main loop reads
   the ring when it has time. The host bounds the bytes it has in flight (hil/session.py) below
   TR_UART_RX_RING, so the ring never overflows in normal operation; if it does, bytes are dropped
   and counted, and the link's CRC/NAK machinery repairs the damage. */
#ifndef TR_UART_RX_H
#define TR_UART_RX_H
#include <stdint.h>
#include "tr_uart.h"

#define TR_UART_RX_RING 4096u   /* power of two */

/* Enable the UART's RX interrupt and its NVIC line (device interrupt number irq). */
void tr_uart_rx_init(tr_uart_instance *S, uint32_t irq);

/* Next received byte (0..255) or -1 when the ring is empty. */
int tr_uart_rx_pop(void);

uint32_t tr_uart_rx_irq_count(void);
uint32_t tr_uart_rx_overflow_count(void);

/* The UART's interrupt handler (placed in the vector table at 16 + irq). */
void tr_uart_irq_handler(void);

#endif
