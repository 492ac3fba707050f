/* Board side of the HIL link protocol (message list and reliability rules in tr_link.h). */
#include "tr_link.h"

static void tr_put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

static void tr_put_u32(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++) {
        p[k] = (uint8_t)(v >> (8 * k));
    }
}

static uint32_t tr_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Encode one reply straight into the TX ring (through the scratch buffer). */
static void tr_link_send(tr_link_instance *S, uint8_t type, uint16_t seq, const uint8_t *body, size_t n)
{
    size_t len = tr_frame_encode(type, seq, body, n, S->scratch, sizeof S->scratch);
    /* tr_link_can_accept() guaranteed the room before this reply's request byte was fed. */
    (void)tr_ring_write(&S->tx, S->scratch, len);
}

static void tr_link_nak(tr_link_instance *S, uint8_t reason)
{
    uint8_t body[1] = {reason};
    tr_link_send(S, TR_MSG_NAK, S->expected_seq, body, 1);
}

void tr_link_init(tr_link_instance *S, const tr_link_config *cfg)
{
    S->cfg = cfg;
    tr_frame_rx_init(&S->rx);
    tr_ring_init(&S->tx);
    S->session = 0;
    S->block_len = 0;
    S->expected_seq = 0;
    S->nak_sent = 0;
    S->echo_remaining = 0;
    for (unsigned k = 0; k < TR_LINK_WINDOW; k++) {
        S->cache_valid[k] = 0;
        S->cache_seq[k] = 0;
        S->cache_cost[k] = 0;
    }
    S->frames_ok = 0;
    S->frames_bad = 0;
}

int tr_link_can_accept(const tr_link_instance *S)
{
    /* Echo mode needs room for one byte; framed mode for the largest reply. */
    return tr_ring_free(&S->tx) >= (S->echo_remaining ? 1u : TR_FRAME_MAX_WIRE);
}

static size_t tr_append_str(uint8_t *p, size_t pos, size_t cap, const char *s)
{
    while (s && *s && pos + 1u < cap) {
        p[pos++] = (uint8_t)*s++;
    }
    if (pos < cap) {
        p[pos++] = 0u;
    }
    return pos;
}

static void tr_link_hello(tr_link_instance *S, uint16_t seq)
{
    const tr_link_config *c = S->cfg;
    uint8_t body[TR_FRAME_MAX_BODY];
    tr_put_u16(&body[0], TR_LINK_VERSION);
    tr_put_u16(&body[2], TR_LINK_MAX_BLOCK);
    tr_put_u16(&body[4], TR_LINK_WINDOW);
    tr_put_u32(&body[6], c->sample_rate_hz);
    tr_put_u32(&body[10], c->latency_samples);
    tr_put_u32(&body[14], c->tick_hz);
    body[18] = c->cost_kind;
    size_t n = 19;
    n = tr_append_str(body, n, 200, c->build_id);
    n = tr_append_str(body, n, 400, c->profile_hash);
    n = tr_append_str(body, n, sizeof body, c->board_name);
    tr_link_send(S, TR_MSG_HELLO_ACK, seq, body, n);
}

static void tr_link_send_out(tr_link_instance *S, unsigned slot)
{
    /* OUT body: cost u32 then samples, built in place in the frame encoder's input. */
    uint8_t body[4 + 2 * TR_LINK_MAX_BLOCK];
    tr_put_u32(body, S->cache_cost[slot]);
    for (size_t k = 0; k < S->block_len; k++) {
        tr_put_u16(&body[4 + 2 * k], (uint16_t)S->cache_out[slot][k]);
    }
    tr_link_send(S, TR_MSG_OUT, S->cache_seq[slot], body, 4u + 2u * S->block_len);
}

static void tr_link_data(tr_link_instance *S, uint16_t seq, const uint8_t *body, size_t n)
{
    if (!S->session) {
        tr_link_nak(S, TR_NAK_NO_SESSION);
        return;
    }
    if (n != 2u * S->block_len) {
        tr_link_nak(S, TR_NAK_BAD_LENGTH);
        return;
    }
    uint16_t behind = (uint16_t)(S->expected_seq - seq);
    if (seq == S->expected_seq) {
        unsigned slot = seq % TR_LINK_WINDOW;
        for (size_t k = 0; k < S->block_len; k++) {
            S->in_block[k] = (int16_t)(uint16_t)(body[2 * k] | (body[2 * k + 1] << 8));
        }
        S->cache_cost[slot] = S->cfg->process(S->cfg->ctx, S->in_block, S->cache_out[slot], S->block_len);
        S->cache_seq[slot] = seq;
        S->cache_valid[slot] = 1;
        S->expected_seq++;
        S->nak_sent = 0;
        tr_link_send_out(S, slot);
    } else if (behind >= 1u && behind <= TR_LINK_WINDOW) {
        /* Retransmission of a processed block: its OUT was lost or late. Never process twice. */
        unsigned slot = seq % TR_LINK_WINDOW;
        if (S->cache_valid[slot] && S->cache_seq[slot] == seq) {
            tr_link_send_out(S, slot);
        } else {
            tr_link_nak(S, TR_NAK_STALE);
        }
    } else if (behind > TR_LINK_WINDOW && behind < 0x8000u) {
        tr_link_nak(S, TR_NAK_STALE);          /* older than the cache: the host must restart */
    } else if (!S->nak_sent) {
        tr_link_nak(S, TR_NAK_OUT_OF_ORDER);   /* a gap: ask once for expected_seq */
        S->nak_sent = 1;
    }
}

static void tr_link_dispatch(tr_link_instance *S)
{
    const uint8_t *body = S->rx.body;
    size_t n = S->rx.body_len;
    uint16_t seq = S->rx.seq;
    uint8_t reply[8];
    switch (S->rx.type) {
    case TR_MSG_HELLO:
        tr_link_hello(S, seq);
        break;
    case TR_MSG_START: {
        uint16_t len = (n == 2u) ? (uint16_t)(body[0] | (body[1] << 8)) : 0u;
        if (len == 0u || len > TR_LINK_MAX_BLOCK) {
            tr_link_nak(S, TR_NAK_BAD_LENGTH);
            break;
        }
        S->cfg->reset(S->cfg->ctx);
        S->block_len = len;
        S->expected_seq = 0;
        S->nak_sent = 0;
        S->session = 1;
        for (unsigned k = 0; k < TR_LINK_WINDOW; k++) {
            S->cache_valid[k] = 0;
        }
        tr_put_u16(reply, len);
        tr_link_send(S, TR_MSG_START_ACK, seq, reply, 2);
        break;
    }
    case TR_MSG_DATA:
        tr_link_data(S, seq, body, n);
        break;
    case TR_MSG_ECHO:
        if (n != 4u) {
            tr_link_nak(S, TR_NAK_BAD_LENGTH);
            break;
        }
        tr_put_u32(reply, tr_get_u32(body));
        tr_link_send(S, TR_MSG_ECHO_ACK, seq, reply, 4);
        S->echo_remaining = tr_get_u32(body);
        break;
    case TR_MSG_CAL:
        if (n != 4u) {
            tr_link_nak(S, TR_NAK_BAD_LENGTH);
            break;
        }
        tr_put_u32(reply, S->cfg->calibrate(tr_get_u32(body)));
        tr_link_send(S, TR_MSG_CAL_ACK, seq, reply, 4);
        break;
    case TR_MSG_STATS: {
        uint8_t st[20];
        tr_put_u32(&st[0], S->frames_ok);
        tr_put_u32(&st[4], S->frames_bad);
        tr_put_u32(&st[8], S->cfg->rx_irq_count ? S->cfg->rx_irq_count() : 0u);
        tr_put_u32(&st[12], S->cfg->rx_overflow_count ? S->cfg->rx_overflow_count() : 0u);
        tr_put_u32(&st[16], S->cfg->stack_used ? S->cfg->stack_used() : 0u);
        tr_link_send(S, TR_MSG_STATS_ACK, seq, st, sizeof st);
        break;
    }
    case TR_MSG_HANG:
        if (S->cfg->hang) {
            S->cfg->hang();
        }
        break;
    default:
        tr_link_nak(S, TR_NAK_UNKNOWN_TYPE);
        break;
    }
}

void tr_link_rx_byte(tr_link_instance *S, uint8_t byte)
{
    if (S->echo_remaining) {
        (void)tr_ring_write(&S->tx, &byte, 1);
        S->echo_remaining--;
        return;
    }
    tr_frame_status st = tr_frame_rx_feed(&S->rx, byte);
    switch (st) {
    case TR_FRAME_NONE:
        return;
    case TR_FRAME_OK:
        S->frames_ok++;
        tr_link_dispatch(S);
        return;
    default:
        /* A damaged frame: we cannot trust its seq, so NAK with the seq we expect next. */
        S->frames_bad++;
        if (!S->nak_sent || st == TR_FRAME_OVERFLOW) {
            tr_link_nak(S, st == TR_FRAME_BAD_CRC    ? TR_NAK_BAD_CRC
                           : st == TR_FRAME_BAD_COBS ? TR_NAK_BAD_COBS
                           : st == TR_FRAME_OVERFLOW ? TR_NAK_OVERFLOW
                                                     : TR_NAK_TOO_SHORT);
            S->nak_sent = 1;
        }
        return;
    }
}

void tr_link_send_boot(tr_link_instance *S, uint8_t reset_reason)
{
    uint8_t body[1] = {reset_reason};
    tr_link_send(S, TR_MSG_BOOT, 0, body, 1);
}

size_t tr_link_encode_fault(uint8_t reason, uint8_t *buf, size_t cap)
{
    uint8_t body[1] = {reason};
    return tr_frame_encode(TR_MSG_FAULT, 0, body, 1, buf, cap);
}
