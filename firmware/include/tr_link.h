/* The board side of the HIL link protocol: frames in (tr_frame), replies out through a TX ring.

   Portable C: the same file runs on the boards and in the host build the parser fuzz test drives.
   Message types and bodies (all integers little-endian; host side: hil/protocol.py):

   host -> board
     HELLO   0x01  (empty)                      -> HELLO_ACK (request seq echoed in every ACK)
     START   0x02  block_len u16                -> START_ACK; resets the DSP state, next DATA seq = 0
     DATA    0x03  seq = block number, q15 samples (block_len of them) -> OUT with the same seq
     ECHO    0x04  n u32                        -> ECHO_ACK, then the next n raw bytes are echoed
     CAL     0x05  loops u32                    -> CAL_ACK ticks u32 for a loop of 2*loops instructions
     HANG    0x06  (empty)                      -> never answers: the watchdog must catch it
     STATS   0x07  (empty)                      -> STATS_ACK frames_ok u32, frames_bad u32,
                                                   rx_irqs u32, rx_overflows u32, stack_used u32
   board -> host
     HELLO_ACK 0x81  version u16, max_block u16, window u16, sample_rate_hz u32, latency u32,
                     tick_hz u32, cost_kind u8, then build id, profile hash, board name (NUL-ended)
     START_ACK 0x82  block_len u16
     OUT       0x83  cost_ticks u32, q15 samples
     ECHO_ACK  0x84  n u32
     CAL_ACK   0x85  ticks u32
     STATS_ACK 0x87  see STATS
     BOOT      0x90  reset_reason u8 (sent once after every reset)
     NAK       0x91  seq = next DATA seq expected, reason u8
     FAULT     0x92  reason u8 (sent by the watchdog / fault handler just before a reset)

   Reliability: DATA frames are processed strictly in sequence order. A DATA frame that is already
   processed (a retransmission) gets its cached OUT frame again, so the DSP state never advances
   twice; a frame from the future gets one NAK (then silence until the gap is filled). */
#ifndef TR_LINK_H
#define TR_LINK_H
#include <stddef.h>
#include <stdint.h>
#include "tr_frame.h"
#include "tr_ring.h"

#define TR_LINK_VERSION     1u
#define TR_LINK_MAX_BLOCK   256u     /* samples per DATA frame */
#define TR_LINK_WINDOW      8u       /* DATA frames the host may have in flight = OUT cache depth */

enum {
    TR_MSG_HELLO = 0x01, TR_MSG_START = 0x02, TR_MSG_DATA = 0x03, TR_MSG_ECHO = 0x04,
    TR_MSG_CAL = 0x05, TR_MSG_HANG = 0x06, TR_MSG_STATS = 0x07, TR_MSG_STATS_ACK = 0x87,
    TR_MSG_HELLO_ACK = 0x81, TR_MSG_START_ACK = 0x82, TR_MSG_OUT = 0x83, TR_MSG_ECHO_ACK = 0x84,
    TR_MSG_CAL_ACK = 0x85, TR_MSG_BOOT = 0x90, TR_MSG_NAK = 0x91, TR_MSG_FAULT = 0x92,
};

enum {
    TR_NAK_BAD_CRC = 1, TR_NAK_BAD_COBS = 2, TR_NAK_TOO_SHORT = 3, TR_NAK_OVERFLOW = 4,
    TR_NAK_OUT_OF_ORDER = 5, TR_NAK_NO_SESSION = 6, TR_NAK_BAD_LENGTH = 7, TR_NAK_UNKNOWN_TYPE = 8,
    TR_NAK_STALE = 9,
};

enum { TR_RESET_POWER_ON = 0, TR_RESET_WATCHDOG = 1, TR_RESET_HARDFAULT = 2 };

/* What the link needs from the rest of the firmware. */
typedef struct {
    /* Process n q15 samples through the DSP; returns the cost counter ticks spent. */
    uint32_t (*process)(void *ctx, const int16_t *in, int16_t *out, size_t n);
    void (*reset)(void *ctx);                    /* reset the DSP state */
    uint32_t (*calibrate)(uint32_t loops);       /* ticks for a 2*loops instruction loop */
    void (*hang)(void);                          /* never returns (debug) */
    uint32_t (*rx_irq_count)(void);              /* optional (NULL: reported as 0) */
    uint32_t (*rx_overflow_count)(void);
    uint32_t (*stack_used)(void);                /* optional: stack high-water mark in bytes */
    void *ctx;
    uint32_t sample_rate_hz;
    uint32_t latency_samples;
    uint32_t tick_hz;
    uint8_t cost_kind;                           /* 0 = SysTick (QEMU -icount), 1 = DWT cycles */
    const char *build_id;
    const char *profile_hash;
    const char *board_name;
} tr_link_config;

typedef struct {
    const tr_link_config *cfg;
    tr_frame_rx_instance rx;
    tr_ring_instance tx;
    uint8_t session;              /* 1 after START */
    uint16_t block_len;
    uint16_t expected_seq;        /* next DATA seq to process */
    uint8_t nak_sent;             /* one NAK per gap */
    uint32_t echo_remaining;      /* raw echo mode when > 0 */
    /* OUT frames already sent, for retransmission: slot = seq % TR_LINK_WINDOW */
    uint16_t cache_seq[TR_LINK_WINDOW];
    uint8_t cache_valid[TR_LINK_WINDOW];
    uint32_t cache_cost[TR_LINK_WINDOW];
    int16_t cache_out[TR_LINK_WINDOW][TR_LINK_MAX_BLOCK];
    int16_t in_block[TR_LINK_MAX_BLOCK];
    uint8_t scratch[TR_FRAME_MAX_WIRE];
    uint32_t frames_ok, frames_bad;
} tr_link_instance;

void tr_link_init(tr_link_instance *S, const tr_link_config *cfg);

/* 1 when the TX ring has room for the largest reply, i.e. the next RX byte may be fed. Waiting for
   this (instead of dropping replies) is the board's back-pressure: unread bytes wait in the RX ring. */
int tr_link_can_accept(const tr_link_instance *S);

/* Feed one received byte. */
void tr_link_rx_byte(tr_link_instance *S, uint8_t byte);

/* Queue the BOOT announcement (call once after reset). */
void tr_link_send_boot(tr_link_instance *S, uint8_t reset_reason);

/* Encode a frame into buf (for the fault path, which bypasses the ring). */
size_t tr_link_encode_fault(uint8_t reason, uint8_t *buf, size_t cap);

#endif
