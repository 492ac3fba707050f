/* Byte ring buffer (single producer, single consumer), static storage, power-of-two size. */
#ifndef TR_RING_H
#define TR_RING_H
#include <stddef.h>
#include <stdint.h>

#define TR_RING_SIZE 2048u   /* must be a power of two; holds almost four full-size frames */

typedef struct {
    uint8_t buf[TR_RING_SIZE];
    volatile uint32_t head;  /* written by the producer */
    volatile uint32_t tail;  /* written by the consumer */
} tr_ring_instance;

static inline void tr_ring_init(tr_ring_instance *S) { S->head = 0u; S->tail = 0u; }
static inline size_t tr_ring_count(const tr_ring_instance *S) { return (size_t)(S->head - S->tail); }
static inline size_t tr_ring_free(const tr_ring_instance *S) { return TR_RING_SIZE - tr_ring_count(S); }

/* Append n bytes; returns 0 (and appends nothing) when they do not all fit. */
static inline int tr_ring_write(tr_ring_instance *S, const uint8_t *data, size_t n)
{
    if (n > tr_ring_free(S)) {
        return 0;
    }
    for (size_t k = 0; k < n; k++) {
        S->buf[(S->head + k) & (TR_RING_SIZE - 1u)] = data[k];
    }
    S->head += (uint32_t)n;
    return 1;
}

/* Remove and return the oldest byte; the caller checks tr_ring_count first. */
static inline uint8_t tr_ring_pop(tr_ring_instance *S)
{
    uint8_t b = S->buf[S->tail & (TR_RING_SIZE - 1u)];
    S->tail++;
    return b;
}

static inline uint8_t tr_ring_peek(const tr_ring_instance *S)
{
    return S->buf[S->tail & (TR_RING_SIZE - 1u)];
}

#endif
