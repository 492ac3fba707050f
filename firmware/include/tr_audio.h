/* The audio pipeline: q15 blocks from the link through a generated module and back, with the cost
   of every block measured. One pipeline per firmware build (CMake TR_PIPELINE):
     mbdp       playback path: the multiband dynamics processor (tr_mbdp.h, codegen.mbdp)
     percepnet  capture path: the PercepNet noise suppressor (tr_pn.h, codegen.percepnet)
   TR_AUDIO_* name what the link announces in its HELLO reply. */
#ifndef TR_AUDIO_H
#define TR_AUDIO_H
#include <stddef.h>
#include <stdint.h>

#if defined(TR_PIPELINE_PERCEPNET)
#include "tr_pn.h"
typedef struct {
    tr_pn_instance pn;
} tr_audio_instance;
#define TR_AUDIO_SAMPLE_RATE_HZ TR_PN_SAMPLE_RATE_HZ
#define TR_AUDIO_LATENCY_SAMPLES TR_PN_LATENCY_SAMPLES
#define TR_AUDIO_PROFILE_HASH TR_PN_MODEL_HASH
#else
#include "tr_mbdp.h"
typedef struct {
    tr_mbdp_instance_q31 mbdp;
} tr_audio_instance;
#define TR_AUDIO_SAMPLE_RATE_HZ TR_MBDP_SAMPLE_RATE_HZ
#define TR_AUDIO_LATENCY_SAMPLES TR_MBDP_LATENCY_SAMPLES
#define TR_AUDIO_PROFILE_HASH TR_MBDP_PROFILE_HASH
#endif

void tr_audio_init(tr_audio_instance *S);

/* Link callbacks (ctx is the tr_audio_instance). process returns cost counter ticks. */
uint32_t tr_audio_process(void *ctx, const int16_t *in, int16_t *out, size_t n);
void tr_audio_reset(void *ctx);

#endif
