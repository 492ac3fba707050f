/* Audio pipeline: one call of the generated module per block (see tr_audio.h). */
#include "tr_audio.h"
#include "tr_cost.h"

void tr_audio_init(tr_audio_instance *S)
{
#if defined(TR_PIPELINE_PERCEPNET)
    tr_pn_init(&S->pn);
#else
    tr_mbdp_init_q31(&S->mbdp);
#endif
}

uint32_t tr_audio_process(void *ctx, const int16_t *in, int16_t *out, size_t n)
{
    tr_audio_instance *S = (tr_audio_instance *)ctx;
    uint32_t t0 = tr_cost_now();
#if defined(TR_PIPELINE_PERCEPNET)
    tr_pn_process_q15(&S->pn, in, out, n);
#else
    tr_mbdp_process_q15(&S->mbdp, in, out, n);
#endif
    return tr_cost_now() - t0;
}

void tr_audio_reset(void *ctx)
{
    tr_audio_instance *S = (tr_audio_instance *)ctx;
#if defined(TR_PIPELINE_PERCEPNET)
    tr_pn_reset(&S->pn);
#else
    tr_mbdp_reset_q31(&S->mbdp);
#endif
}
