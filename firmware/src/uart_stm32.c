/* STM32 USART, polled. Two register layouts exist:
   v1 (F1/F2/F4): SR +0x00 (RXNE bit5, TXE bit7, ORE bit3), DR +0x04, BRR +0x08, CR1 +0x0C
                  (UE bit13, TE bit3, RE bit2).
   v2 (F0/F3/F7/L4/H7): CR1 +0x00 (UE bit0, RE bit2, TE bit3), BRR +0x0C, ISR +0x1C, ICR +0x20,
                  RDR +0x24, TDR +0x28; ISR has the same RXNE/TXE/ORE bits.
   TR_STM32_USART_V2 selects the second. With 16x oversampling BRR = f_clk / baud in both. */
#include "tr_uart.h"

#define REG(b, off) (*(volatile uint32_t *)((b) + (off)))

#if defined(TR_STM32_USART_V2)
#define USART_STATUS 0x1Cu
#define USART_RXD    0x24u
#define USART_TXD    0x28u
#define USART_BRR    0x0Cu
#define USART_CR1    0x00u
#define USART_CR1_EN ((1u << 0) | (1u << 2) | (1u << 3))
#else
#define USART_STATUS 0x00u
#define USART_RXD    0x04u
#define USART_TXD    0x04u
#define USART_BRR    0x08u
#define USART_CR1    0x0Cu
#define USART_CR1_EN ((1u << 13) | (1u << 2) | (1u << 3))
#endif
#define USART_RXNE (1u << 5)
#define USART_TXE  (1u << 7)
#define USART_ORE  (1u << 3)

void tr_uart_init(tr_uart_instance *S, uintptr_t base, uint32_t clock_hz, uint32_t baud)
{
    S->base = base;
    REG(base, USART_CR1) = 0u;
    REG(base, USART_BRR) = (clock_hz + baud / 2u) / baud;
    REG(base, USART_CR1) = USART_CR1_EN;
}

int tr_uart_getc(tr_uart_instance *S)
{
    uint32_t sr = REG(S->base, USART_STATUS);
    if (sr & USART_RXNE) {
        return (int)(REG(S->base, USART_RXD) & 0xFFu);
    }
    if (sr & USART_ORE) {
        /* An overrun lost bytes; clear it (the link's CRC and NAK handle the loss). */
#if defined(TR_STM32_USART_V2)
        REG(S->base, 0x20u) = USART_ORE;
#else
        (void)REG(S->base, USART_RXD);
#endif
    }
    return -1;
}

int tr_uart_putc(tr_uart_instance *S, uint8_t b)
{
    if (!(REG(S->base, USART_STATUS) & USART_TXE)) {
        return 0;
    }
    REG(S->base, USART_TXD) = b;
    return 1;
}

void tr_uart_enable_rx_irq(tr_uart_instance *S)
{
    REG(S->base, USART_CR1) |= (1u << 5);     /* RXNEIE (also raises the interrupt on overrun) */
}

void tr_uart_ack_irq(tr_uart_instance *S)
{
    (void)S;                                  /* reading the data register clears RXNE */
}

void tr_uart_write_blocking(tr_uart_instance *S, const uint8_t *data, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++) {
        while (!tr_uart_putc(S, data[k])) {
        }
    }
}
