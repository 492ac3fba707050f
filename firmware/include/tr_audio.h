/* The audio pipeline: q15 blocks from the link through the generated MBDP module (tr_mbdp.h,
   written by codegen.mbdp.generate_mbdp) and back, with the cost of every block measured. */
#ifndef TR_AUDIO_H
#define TR_AUDIO_H
#include <stddef.h>
#include <stdint.h>
#include "tr_mbdp.h"

typedef struct {
    tr_mbdp_instance_q31 mbdp;
} tr_audio_instance;

void tr_audio_init(tr_audio_instance *S);

/* Link callbacks (ctx is the tr_audio_instance). process returns cost counter ticks. */
uint32_t tr_audio_process(void *ctx, const int16_t *in, int16_t *out, size_t n);
void tr_audio_reset(void *ctx);

#endif
