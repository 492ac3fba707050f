/*
 * s8 element-wise add with the TFLite ADD int8 arithmetic (left_shift 20 for int8); the body is
 * tr_nn_add_sub_s8 (tr_nn_math.h), shared with SUB.
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

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
                                           const int32_t block_size)
{
    tr_nn_add_sub_s8(input_1_vect, input_2_vect, input_1_offset, input_1_mult, input_1_shift, input_2_offset,
                     input_2_mult, input_2_shift, left_shift, output, out_offset, out_mult, out_shift,
                     out_activation_min, out_activation_max, block_size, 0);
    return ARM_CMSIS_NN_SUCCESS;
}
