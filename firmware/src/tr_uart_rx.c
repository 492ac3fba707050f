/* Interrupt-driven UART reception (see tr_uart_rx.h). Single producer (the ISR) and single
   consumer (the main loop): head is written only by the ISR, tail only by the main loop. */
#include "tr_uart_rx.h"
#include "tr_cmsis_min.h"

static tr_uart_instance *tr_rx_uart;
static uint8_t tr_rx_buf[TR_UART_RX_RING];
static volatile uint32_t tr_rx_head, tr_rx_tail;
static volatile uint32_t tr_rx_irqs, tr_rx_overflows;

void tr_uart_rx_init(tr_uart_instance *S, uint32_t irq)
{
    tr_rx_uart = S;
    tr_rx_head = tr_rx_tail = 0u;
    tr_rx_irqs = tr_rx_overflows = 0u;
    tr_uart_enable_rx_irq(S);
    TR_REG32(0xE000E100u + 4u * (irq / 32u)) = 1u << (irq % 32u);   /* NVIC_ISER */
    /* A byte that arrived before the interrupt was enabled raised no interrupt, and the UART takes
       no more until it is read: pend the handler once so it collects that byte. */
    TR_REG32(0xE000E200u + 4u * (irq / 32u)) = 1u << (irq % 32u);   /* NVIC_ISPR */
}

void tr_uart_irq_handler(void)
{
    tr_rx_irqs++;
    tr_uart_ack_irq(tr_rx_uart);          /* clear first: a byte arriving later raises it again */
    int c;
    while ((c = tr_uart_getc(tr_rx_uart)) >= 0) {
        if (tr_rx_head - tr_rx_tail < TR_UART_RX_RING) {
            tr_rx_buf[tr_rx_head & (TR_UART_RX_RING - 1u)] = (uint8_t)c;
            tr_rx_head++;
        } else {
            tr_rx_overflows++;
        }
    }
}

int tr_uart_rx_pop(void)
{
    if (tr_rx_tail == tr_rx_head) {
        return -1;
    }
    uint8_t b = tr_rx_buf[tr_rx_tail & (TR_UART_RX_RING - 1u)];
    tr_rx_tail++;
    return b;
}

uint32_t tr_uart_rx_irq_count(void) { return tr_rx_irqs; }
uint32_t tr_uart_rx_overflow_count(void) { return tr_rx_overflows; }
