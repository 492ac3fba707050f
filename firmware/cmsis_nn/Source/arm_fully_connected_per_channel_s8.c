/*
 * s8 fully connected, per-output-channel requantisation (TFLM FULLY_CONNECTED with per-channel
 * filter scales, the TF 2.x converter's default for Dense layers).
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

arm_cmsis_nn_status arm_fully_connected_per_channel_s8(const cmsis_nn_context *ctx,
                                                       const cmsis_nn_fc_params *fc_params,
                                                       const cmsis_nn_per_channel_quant_params *quant_params,
                                                       const cmsis_nn_dims *input_dims,
                                                       const int8_t *input_data,
                                                       const cmsis_nn_dims *filter_dims,
                                                       const int8_t *filter_data,
                                                       const cmsis_nn_dims *bias_dims,
                                                       const int32_t *bias_data,
                                                       const cmsis_nn_dims *output_dims,
                                                       int8_t *output_data)
{
    (void)bias_dims;
    if (fc_params->filter_offset != 0)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    const int32_t *kernel_sum = (ctx != NULL && ctx->buf != NULL && ctx->size > 0) ? (const int32_t *)ctx->buf : NULL;
    for (int32_t b = 0; b < input_dims->n; b++)
    {
        arm_nn_vec_mat_mult_t_s8_tr(input_data + b * filter_dims->n, filter_data, kernel_sum, bias_data,
                                    output_data + b * output_dims->c, fc_params->input_offset,
                                    fc_params->output_offset, quant_params->multiplier, quant_params->shift, 1,
                                    filter_dims->n, output_dims->c, fc_params->activation.min,
                                    fc_params->activation.max);
    }
    return ARM_CMSIS_NN_SUCCESS;
}
