/*
 * tunerig's own implementation of the subset of the CMSIS-NN public API that generated networks
 * call. Prototypes and semantics follow CMSIS-NN (int8 TFLite Micro quantisation, double rounding:
 * saturating rounding doubling high multiply, then rounding divide by a power of two).
 *
 * Code paths are chosen by predefined macros, like CMSIS-NN: ARM_MATH_MVEI (Helium, e.g.
 * Cortex-M55 with -mcpu=cortex-m55), ARM_MATH_DSP (DSP extension, e.g. Cortex-M4), else portable C.
 * (see arm_nn_math_types.h).
 */
#ifndef _ARM_NNFUNCTIONS_H
#define _ARM_NNFUNCTIONS_H

#include "arm_nn_math_types.h"
#include "arm_nn_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * s8 fully connected layer, per-tensor requantisation.
 * ctx          ctx->buf: optional int32 kernel sums, one per output row, each equal to
 *              input_offset * sum(filter row) (bias NOT included); Helium uses them (without
 *              them it sums the rows itself, slower); the DSP and portable paths ignore them.
 *              Size from arm_fully_connected_s8_get_buffer_size(). The DSP path uses about
 *              1.7 KB of stack at most (widened input, row sums, frames).
 * fc_params    input_offset in [-127, 128], filter_offset 0, output_offset in [-128, 127].
 * input_dims   n = batches; input is [n, filter_dims->n].
 * filter_dims  n = accumulation depth (columns); filter is [output_dims->c, filter_dims->n].
 * bias_data    int32 [output_dims->c] or NULL.
 * output_dims  c = output depth.
 */
arm_cmsis_nn_status arm_fully_connected_s8(const cmsis_nn_context *ctx,
                                           const cmsis_nn_fc_params *fc_params,
                                           const cmsis_nn_per_tensor_quant_params *quant_params,
                                           const cmsis_nn_dims *input_dims,
                                           const int8_t *input_data,
                                           const cmsis_nn_dims *filter_dims,
                                           const int8_t *filter_data,
                                           const cmsis_nn_dims *bias_dims,
                                           const int32_t *bias_data,
                                           const cmsis_nn_dims *output_dims,
                                           int8_t *output_data);

/** As arm_fully_connected_s8, with one multiplier/shift per output channel. */
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
                                                       int8_t *output_data);

/** Bytes of ctx->buf arm_fully_connected_s8 wants (kernel sums on Helium; 0 elsewhere). */
int32_t arm_fully_connected_s8_get_buffer_size(const cmsis_nn_dims *filter_dims);

/**
 * s8 element-wise add (TFLite ADD): each input is offset, shifted left by left_shift, scaled by its
 * (multiplier, shift <= 0); the sum is scaled by (out_mult, out_shift), offset and clamped.
 */
arm_cmsis_nn_status arm_elementwise_add_s8(const int8_t *input_1_vect,
                                           const int8_t *input_2_vect,
                                           const int32_t input_1_offset,
                                           const int32_t input_1_mult,
                                           const int32_t input_1_shift,
                                           const int32_t input_2_offset,
                                           const int32_t input_2_mult,
                                           const int32_t input_2_shift,
                                           const int32_t left_shift,
                                           int8_t *output,
                                           const int32_t out_offset,
                                           const int32_t out_mult,
                                           const int32_t out_shift,
                                           const int32_t out_activation_min,
                                           const int32_t out_activation_max,
                                           const int32_t block_size);

/** s8 element-wise multiply (TFLite MUL): ((in1 + off1) * (in2 + off2)) requantised, offset, clamped. */
arm_cmsis_nn_status arm_elementwise_mul_s8(const int8_t *input_1_vect,
                                           const int8_t *input_2_vect,
                                           const int32_t input_1_offset,
                                           const int32_t input_2_offset,
                                           int8_t *output,
                                           const int32_t out_offset,
                                           const int32_t out_mult,
                                           const int32_t out_shift,
                                           const int32_t out_activation_min,
                                           const int32_t out_activation_max,
                                           const int32_t block_size);

#ifdef __cplusplus
}
#endif

#endif /* _ARM_NNFUNCTIONS_H */
