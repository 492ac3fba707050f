/* Arm CMSDK APB UART (MPS2 / MPS3 boards). Registers: DATA +0x0, STATE +0x4 (bit0 TX full,
   bit1 RX full), CTRL +0x8 (bit0 TX enable, bit1 RX enable), BAUDDIV +0x10 (>= 16). */
#include "tr_uart.h"

#define CMSDK_DATA(b)    (*(volatile uint32_t *)((b) + 0x00u))
#define CMSDK_STATE(b)   (*(volatile uint32_t *)((b) + 0x04u))
#define CMSDK_CTRL(b)    (*(volatile uint32_t *)((b) + 0x08u))
#define CMSDK_INTCLR(b)  (*(volatile uint32_t *)((b) + 0x0Cu))   /* INTSTATUS / INTCLEAR */
#define CMSDK_BAUDDIV(b) (*(volatile uint32_t *)((b) + 0x10u))
#define CMSDK_CTRL_RXINT 0x8u       /* bit3: RX interrupt enable */
#define CMSDK_INT_RX     0x2u
#define CMSDK_STATE_TXFULL 0x1u
#define CMSDK_STATE_RXFULL 0x2u
#define CMSDK_STATE_OVERRUNS 0xCu   /* TX/RX overrun flags, write 1 to clear */

void tr_uart_init(tr_uart_instance *S, uintptr_t base, uint32_t clock_hz, uint32_t baud)
{
    S->base = base;
    uint32_t div = clock_hz / baud;
    CMSDK_BAUDDIV(base) = (div < 16u) ? 16u : div;   /* below 16 the UART stops */
    CMSDK_STATE(base) = CMSDK_STATE_OVERRUNS;
    CMSDK_CTRL(base) = 0x3u;                          /* TX and RX enabled, no interrupts */
}

int tr_uart_getc(tr_uart_instance *S)
{
    if (CMSDK_STATE(S->base) & CMSDK_STATE_RXFULL) {
        return (int)(CMSDK_DATA(S->base) & 0xFFu);
    }
    return -1;
}

int tr_uart_putc(tr_uart_instance *S, uint8_t b)
{
    if (CMSDK_STATE(S->base) & CMSDK_STATE_TXFULL) {
        return 0;
    }
    CMSDK_DATA(S->base) = b;
    return 1;
}

void tr_uart_enable_rx_irq(tr_uart_instance *S)
{
    CMSDK_CTRL(S->base) |= CMSDK_CTRL_RXINT;
}

void tr_uart_ack_irq(tr_uart_instance *S)
{
    CMSDK_INTCLR(S->base) = CMSDK_INT_RX;
}

void tr_uart_write_blocking(tr_uart_instance *S, const uint8_t *data, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++) {
        while (!tr_uart_putc(S, data[k])) {
        }
    }
}
