/* Link framing: COBS-encoded payloads separated by 0x00 bytes.

   Payload (before COBS):  type u8 | seq u16 LE | body (0..TR_FRAME_MAX_BODY bytes) | crc32 u32 LE
   The CRC covers type, seq and body. COBS removes every 0x00 from the payload, so a 0x00 on the wire
   always ends a frame: after any corruption the receiver resynchronises at the next delimiter.
   The host's codec (hil/protocol.py) implements the same format independently. */
#ifndef TR_FRAME_H
#define TR_FRAME_H
#include <stddef.h>
#include <stdint.h>

#define TR_FRAME_MAX_BODY    528u
#define TR_FRAME_HEADER      3u
#define TR_FRAME_CRC         4u
#define TR_FRAME_MAX_PAYLOAD (TR_FRAME_HEADER + TR_FRAME_MAX_BODY + TR_FRAME_CRC)
/* COBS adds one byte per 254 payload bytes plus one; the delimiter adds one more. */
#define TR_FRAME_MAX_WIRE    (TR_FRAME_MAX_PAYLOAD + TR_FRAME_MAX_PAYLOAD / 254u + 2u)

typedef enum {
    TR_FRAME_NONE = 0,      /* byte consumed, no frame finished yet */
    TR_FRAME_OK,            /* a frame with a good CRC is in type/seq/body */
    TR_FRAME_BAD_COBS,      /* frame ended but its COBS code bytes were inconsistent */
    TR_FRAME_BAD_CRC,       /* decoded, but the CRC did not match */
    TR_FRAME_TOO_SHORT,     /* fewer bytes than header + CRC */
    TR_FRAME_OVERFLOW,      /* more bytes than the largest frame before a delimiter */
} tr_frame_status;

typedef struct {
    uint8_t raw[TR_FRAME_MAX_WIRE];   /* COBS bytes of the frame being received */
    size_t raw_len;
    uint8_t overflowed;               /* discarding until the next delimiter */
    /* Result of the last TR_FRAME_OK: */
    uint8_t type;
    uint16_t seq;
    uint8_t body[TR_FRAME_MAX_BODY + TR_FRAME_CRC + TR_FRAME_HEADER];
    size_t body_len;
} tr_frame_rx_instance;

void tr_frame_rx_init(tr_frame_rx_instance *S);

/* Feed one received byte; returns what (if anything) the byte completed. */
tr_frame_status tr_frame_rx_feed(tr_frame_rx_instance *S, uint8_t byte);

/* Encode one frame (COBS + trailing 0x00) into out. Returns the number of bytes written, or 0 when
   body_len exceeds TR_FRAME_MAX_BODY or the frame does not fit in cap. */
size_t tr_frame_encode(uint8_t type, uint16_t seq, const uint8_t *body, size_t body_len,
                       uint8_t *out, size_t cap);

/* Decode a COBS block (no delimiter) of n bytes into out (capacity cap). Returns the decoded length,
   or -1 when the code bytes are inconsistent or the result does not fit. */
long tr_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

#endif
