/* COBS framing with CRC-32 (see tr_frame.h for the format). No allocation; the receiver keeps one
   frame of COBS bytes and decodes it when the delimiter arrives. */
#include "tr_frame.h"
#include "tr_crc32.h"

void tr_frame_rx_init(tr_frame_rx_instance *S)
{
    S->raw_len = 0;
    S->overflowed = 0;
    S->type = 0;
    S->seq = 0;
    S->body_len = 0;
}

long tr_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < n) {
        uint8_t code = in[i++];
        if (code == 0u) {
            return -1;                      /* a zero can never appear inside a COBS block */
        }
        size_t run = (size_t)code - 1u;
        if (run > n - i || o + run > cap) {
            return -1;                      /* code points past the end of the block */
        }
        for (size_t k = 0; k < run; k++) {
            if (in[i] == 0u) {
                return -1;
            }
            out[o++] = in[i++];
        }
        /* A code below 0xFF stands for "run, then a zero", except at the very end of the block. */
        if (code != 0xFFu && i < n) {
            if (o >= cap) {
                return -1;
            }
            out[o++] = 0u;
        }
    }
    return (long)o;
}

static tr_frame_status tr_frame_rx_finish(tr_frame_rx_instance *S)
{
    long n = tr_cobs_decode(S->raw, S->raw_len, S->body, sizeof S->body);
    S->raw_len = 0;
    if (n < 0) {
        return TR_FRAME_BAD_COBS;
    }
    if ((size_t)n < TR_FRAME_HEADER + TR_FRAME_CRC) {
        return TR_FRAME_TOO_SHORT;
    }
    size_t len = (size_t)n - TR_FRAME_CRC;
    uint32_t want = (uint32_t)S->body[len] | ((uint32_t)S->body[len + 1] << 8) |
                    ((uint32_t)S->body[len + 2] << 16) | ((uint32_t)S->body[len + 3] << 24);
    if (tr_crc32_update(0u, S->body, len) != want) {
        return TR_FRAME_BAD_CRC;
    }
    S->type = S->body[0];
    S->seq = (uint16_t)(S->body[1] | (S->body[2] << 8));
    /* Move the body to the front so callers see body[0..body_len). */
    S->body_len = len - TR_FRAME_HEADER;
    for (size_t k = 0; k < S->body_len; k++) {
        S->body[k] = S->body[k + TR_FRAME_HEADER];
    }
    return TR_FRAME_OK;
}

tr_frame_status tr_frame_rx_feed(tr_frame_rx_instance *S, uint8_t byte)
{
    if (byte == 0u) {
        if (S->overflowed) {
            S->overflowed = 0;
            S->raw_len = 0;
            return TR_FRAME_OVERFLOW;
        }
        if (S->raw_len == 0u) {
            return TR_FRAME_NONE;            /* empty frame: idle line / resync filler */
        }
        return tr_frame_rx_finish(S);
    }
    if (S->overflowed) {
        return TR_FRAME_NONE;
    }
    if (S->raw_len >= sizeof S->raw) {
        S->overflowed = 1;
        return TR_FRAME_NONE;
    }
    S->raw[S->raw_len++] = byte;
    return TR_FRAME_NONE;
}

/* Streaming COBS encoder: bytes go in one at a time, code bytes are patched in place. */
typedef struct {
    uint8_t *out;
    size_t cap;
    size_t pos;       /* next write position */
    size_t code_pos;  /* position of the current code byte */
    uint8_t code;     /* 1 + bytes in the current run */
    int failed;
} tr_cobs_encoder;

static void tr_cobs_start(tr_cobs_encoder *E, uint8_t *out, size_t cap)
{
    E->out = out;
    E->cap = cap;
    E->failed = (cap < 2u);
    E->code_pos = 0;
    E->pos = 1;
    E->code = 1;
}

static void tr_cobs_put(tr_cobs_encoder *E, uint8_t b)
{
    if (E->failed) {
        return;
    }
    if (b != 0u) {
        if (E->pos >= E->cap) {
            E->failed = 1;
            return;
        }
        E->out[E->pos++] = b;
        E->code++;
    }
    if (b == 0u || E->code == 0xFFu) {
        if (E->pos >= E->cap) {
            E->failed = 1;
            return;
        }
        E->out[E->code_pos] = E->code;
        E->code_pos = E->pos++;
        E->code = 1;
    }
}

static size_t tr_cobs_end(tr_cobs_encoder *E)
{
    if (E->failed || E->pos >= E->cap) {
        return 0;
    }
    E->out[E->code_pos] = E->code;
    E->out[E->pos++] = 0u;            /* frame delimiter */
    return E->pos;
}

size_t tr_frame_encode(uint8_t type, uint16_t seq, const uint8_t *body, size_t body_len,
                       uint8_t *out, size_t cap)
{
    if (body_len > TR_FRAME_MAX_BODY) {
        return 0;
    }
    uint8_t head[TR_FRAME_HEADER] = {type, (uint8_t)(seq & 0xFFu), (uint8_t)(seq >> 8)};
    uint32_t crc = tr_crc32_update(0u, head, sizeof head);
    crc = tr_crc32_update(crc, body, body_len);
    tr_cobs_encoder E;
    tr_cobs_start(&E, out, cap);
    for (size_t k = 0; k < sizeof head; k++) {
        tr_cobs_put(&E, head[k]);
    }
    for (size_t k = 0; k < body_len; k++) {
        tr_cobs_put(&E, body[k]);
    }
    for (int k = 0; k < 4; k++) {
        tr_cobs_put(&E, (uint8_t)(crc >> (8 * k)));
    }
    return tr_cobs_end(&E);
}
