/* UART driver interface. One implementation per peripheral family is linked in:
   uart_cmsdk.c (Arm CMSDK APB UART, MPS2/MPS3) or uart_stm32.c (STM32 USART, both register layouts).
   Reception is interrupt-driven through tr_uart_rx.c; transmission is polled from the main loop. */
#ifndef TR_UART_H
#define TR_UART_H
#include <stdint.h>

typedef struct {
    uintptr_t base;
} tr_uart_instance;

void tr_uart_init(tr_uart_instance *S, uintptr_t base, uint32_t clock_hz, uint32_t baud);

/* Returns the received byte (0..255), or -1 when none is waiting. */
int tr_uart_getc(tr_uart_instance *S);

/* Sends b if the transmitter can take it: returns 1 when sent, 0 when busy (try again). */
int tr_uart_putc(tr_uart_instance *S, uint8_t b);

/* Enable the receive interrupt in the peripheral (the NVIC line is tr_uart_rx.c's business). */
void tr_uart_enable_rx_irq(tr_uart_instance *S);

/* Acknowledge the receive interrupt where the peripheral needs it (CMSDK); no-op on STM32,
   where reading the data register clears it. */
void tr_uart_ack_irq(tr_uart_instance *S);

/* Blocking write, for the fault path only. */
void tr_uart_write_blocking(tr_uart_instance *S, const uint8_t *data, uint32_t n);

#endif
