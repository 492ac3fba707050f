/*
 * tunerig's own implementation of the CMSIS-NN public types used by generated networks.
 *
 * Names, members and their order follow the public CMSIS-NN API (arm_nn_types.h) so that a build
 * with CMSIS_NN_PATH=/path/to/CMSIS-NN compiles the same generated code against Arm's library.
 * Written here from the public API description; only the subset tunerig calls is declared.
 */
#ifndef ARM_NN_TYPES_H
#define ARM_NN_TYPES_H

#include <stdint.h>

/** Activation selector of arm_nn_activation_s16 (declared for API completeness). */
typedef enum
{
    ARM_SIGMOID = 0,
    ARM_TANH = 1,
} arm_nn_activation_type;

/** Return codes of every CMSIS-NN function. */
typedef enum
{
    ARM_CMSIS_NN_SUCCESS = 0,
    ARM_CMSIS_NN_ARG_ERROR = -1,
    ARM_CMSIS_NN_NO_IMPL_ERROR = -2,
    ARM_CMSIS_NN_FAILURE = -3,
} arm_cmsis_nn_status;

/** Scratch/auxiliary buffer handed to a kernel (for fully connected: per-row kernel sums). */
typedef struct
{
    void *buf;
    int32_t size; /* bytes */
} cmsis_nn_context;

/** Tensor dimensions; meaning of each member is per function (see arm_nnfunctions.h). */
typedef struct
{
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t c;
} cmsis_nn_dims;

/** Per-channel requantisation: one (multiplier Q31, shift) pair per output channel. */
typedef struct
{
    int32_t *multiplier;
    int32_t *shift;
} cmsis_nn_per_channel_quant_params;

/** Per-tensor requantisation: real = multiplier * 2^(shift - 31), shift > 0 is a left shift. */
typedef struct
{
    int32_t multiplier;
    int32_t shift;
} cmsis_nn_per_tensor_quant_params;

/** Output clamp in the quantised domain (fused ReLU etc.). */
typedef struct
{
    int32_t min;
    int32_t max;
} cmsis_nn_activation;

/** Fully connected parameters. TFLM passes input_offset = -zp_in, output_offset = +zp_out. */
typedef struct
{
    int32_t input_offset;
    int32_t filter_offset;
    int32_t output_offset;
    cmsis_nn_activation activation;
} cmsis_nn_fc_params;

#endif /* ARM_NN_TYPES_H */
