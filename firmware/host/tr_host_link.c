/* Host build of the link layer (tr_link.c + tr_frame.c + tr_crc32.c) for the fuzz and codec tests:
   the board's real parser and dispatcher, with a stub DSP and the TX ring drained into the caller's
   buffer. Loaded from Python with ctypes (hil/hostlink.py) or linked into the ASan fuzz driver.
   Stub DSP: out[k] = in[k] ^ (number of blocks processed so far, low 16 bits), so a block processed
   twice, skipped or reordered shows up in the output. */
#include <stddef.h>
#include <stdint.h>
#include "tr_link.h"

static uint32_t tr_host_blocks;
static uint32_t tr_host_resets;

static uint32_t tr_host_process(void *ctx, const int16_t *in, int16_t *out, size_t n)
{
    (void)ctx;
    for (size_t k = 0; k < n; k++) {
        out[k] = (int16_t)(in[k] ^ (int16_t)(tr_host_blocks & 0xFFFFu));
    }
    tr_host_blocks++;
    return (uint32_t)n;
}

static void tr_host_reset(void *ctx) { (void)ctx; tr_host_blocks = 0; tr_host_resets++; }
static uint32_t tr_host_calibrate(uint32_t loops) { return 2u * loops; }

static const tr_link_config tr_host_cfg = {
    .process = tr_host_process, .reset = tr_host_reset, .calibrate = tr_host_calibrate, .hang = 0,
    .ctx = 0, .sample_rate_hz = 48000, .latency_samples = 0, .tick_hz = 1000000000u, .cost_kind = 0,
    .build_id = "host", .profile_hash = "host-stub", .board_name = "host",
    .rx_irq_count = 0, .rx_overflow_count = 0, .stack_used = 0,
};

static tr_link_instance tr_host_link;

void tr_host_init(void)
{
    tr_host_blocks = 0;
    tr_host_resets = 0;
    tr_link_init(&tr_host_link, &tr_host_cfg);
}

uint32_t tr_host_blocks_processed(void) { return tr_host_blocks; }

/* Feed n bytes; replies go to out (at most cap bytes, the rest are counted but dropped).
   Returns the number of reply bytes produced. */
size_t tr_host_feed(const uint8_t *data, size_t n, uint8_t *out, size_t cap)
{
    size_t produced = 0;
    for (size_t k = 0; k < n; k++) {
        if (!tr_link_can_accept(&tr_host_link)) {
            return (size_t)-1;           /* cannot happen: the ring is drained after every byte */
        }
        tr_link_rx_byte(&tr_host_link, data[k]);
        while (tr_ring_count(&tr_host_link.tx)) {
            uint8_t b = tr_ring_pop(&tr_host_link.tx);
            if (produced < cap) {
                out[produced] = b;
            }
            produced++;
        }
    }
    return produced;
}
