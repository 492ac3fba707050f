/* Audio pipeline: one call of the generated MBDP per block (see tr_audio.h). */
#include "tr_audio.h"
#include "tr_cost.h"

void tr_audio_init(tr_audio_instance *S)
{
    tr_mbdp_init_q31(&S->mbdp);
}

uint32_t tr_audio_process(void *ctx, const int16_t *in, int16_t *out, size_t n)
{
    tr_audio_instance *S = (tr_audio_instance *)ctx;
    uint32_t t0 = tr_cost_now();
    tr_mbdp_process_q15(&S->mbdp, in, out, n);
    return tr_cost_now() - t0;
}

void tr_audio_reset(void *ctx)
{
    tr_audio_instance *S = (tr_audio_instance *)ctx;
    tr_mbdp_reset_q31(&S->mbdp);
}
