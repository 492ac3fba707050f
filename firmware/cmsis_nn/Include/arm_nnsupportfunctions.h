/*
 * Internal helpers of tunerig's CMSIS-NN subset: the TFLite integer requantisation primitives.
 * Not part of the public API the generated code uses.
 */
#ifndef ARM_NNSUPPORTFUNCTIONS_H
#define ARM_NNSUPPORTFUNCTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "arm_nn_math_types.h"
#include "arm_nn_types.h"

#include "tr_nn_math.h" /* the requantisation arithmetic, shared with the tr_nn operators */

#define NN_Q31_MAX ((int32_t)0x7FFFFFFF)
#define NN_Q31_MIN ((int32_t)0x80000000)

/* TFLite MultiplyByQuantizedMultiplier (double rounding): see tr_nn_math.h. */
static inline int32_t arm_nn_requantize(const int32_t val, const int32_t multiplier, const int32_t shift)
{
    return tr_nn_requantize(val, multiplier, shift);
}

static inline int32_t arm_nn_clamp(const int32_t v, const int32_t lo, const int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/*
 * Matrix (rows x cols, int8, row-major) times vector (cols, int8), one output row at a time.
 * kernel_sum: NULL, or per-row input_offset * sum(row). multipliers/shifts are indexed per row when
 * per_channel is non-zero, else entry 0 serves every row.
 */
void arm_nn_vec_mat_mult_t_s8_tr(const int8_t *lhs,
                                 const int8_t *rhs,
                                 const int32_t *kernel_sum,
                                 const int32_t *bias,
                                 int8_t *dst,
                                 int32_t lhs_offset,
                                 int32_t dst_offset,
                                 const int32_t *multipliers,
                                 const int32_t *shifts,
                                 int32_t per_channel,
                                 int32_t rhs_cols,
                                 int32_t rhs_rows,
                                 int32_t activation_min,
                                 int32_t activation_max);

#endif /* ARM_NNSUPPORTFUNCTIONS_H */
