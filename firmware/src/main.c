/* tunerig HIL firmware: bring the board up, announce the boot, then serve the link forever.
   Received bytes arrive by interrupt (tr_uart_rx.c); the main loop hands one to the link and sends
   one reply byte per turn, so reception and transmission run concurrently. */
#include "tr_audio.h"
#include "tr_board.h"
#include "tr_board_config.h"
#include "tr_cmsis_min.h"
#include "tr_cost.h"
#include "tr_link.h"
#include "tr_uart.h"
#include "tr_uart_rx.h"
#include "tr_watchdog.h"

#ifndef TR_BUILD_ID
#define TR_BUILD_ID "unknown"
#endif

static tr_uart_instance tr_uart;
static tr_audio_instance tr_audio;
static tr_link_instance tr_link;

static void tr_hang(void)
{
    for (;;) {
        __asm volatile("nop");
    }
}

static const tr_link_config tr_link_cfg = {
    .process = tr_audio_process,
    .reset = tr_audio_reset,
    .calibrate = tr_cost_calibrate,
    .hang = tr_hang,
    .ctx = &tr_audio,
    .sample_rate_hz = TR_AUDIO_SAMPLE_RATE_HZ,
    .latency_samples = TR_AUDIO_LATENCY_SAMPLES,
    .tick_hz = TR_CLOCK_HZ,
    .cost_kind = TR_COST_DWT,
    .build_id = TR_BUILD_ID,
    .profile_hash = TR_AUDIO_PROFILE_HASH,
    .board_name = TR_BOARD_NAME,
    .rx_irq_count = tr_uart_rx_irq_count,
    .rx_overflow_count = tr_uart_rx_overflow_count,
    .stack_used = tr_stack_used_bytes,
};

int main(void)
{
    tr_board_init();
    tr_uart_init(&tr_uart, TR_UART_BASE, TR_CLOCK_HZ, TR_UART_BAUD);
    tr_wdg_init(&tr_uart);
    tr_cost_init(TR_CLOCK_HZ);
    tr_audio_init(&tr_audio);
    tr_link_init(&tr_link, &tr_link_cfg);
    tr_link_send_boot(&tr_link, tr_wdg_reset_reason());
    tr_uart_rx_init(&tr_uart, TR_UART_RX_IRQ);
    tr_irq_enable();
    for (;;) {
        tr_wdg_kick();
        if (tr_link_can_accept(&tr_link)) {
            int c = tr_uart_rx_pop();
            if (c >= 0) {
                tr_link_rx_byte(&tr_link, (uint8_t)c);
            }
        }
        if (tr_ring_count(&tr_link.tx) && tr_uart_putc(&tr_uart, tr_ring_peek(&tr_link.tx))) {
            (void)tr_ring_pop(&tr_link.tx);
        }
    }
}
