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

#define NN_Q31_MAX ((int32_t)0x7FFFFFFF)
#define NN_Q31_MIN ((int32_t)0x80000000)

/* Saturating rounding doubling high multiply: round(a * b / 2^31), ties away from zero. */
static inline int32_t arm_nn_doubling_high_mult(const int32_t a, const int32_t b)
{
    if (a == NN_Q31_MIN && b == NN_Q31_MIN)
    {
        return NN_Q31_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? (1LL << 30) : (1LL - (1LL << 30));
    return (int32_t)((ab + nudge) / (1LL << 31));
}

/* Rounding arithmetic right shift by exponent in [0, 31], ties away from zero. */
static inline int32_t arm_nn_divide_by_power_of_two(const int32_t dividend, const int32_t exponent)
{
    const int32_t mask = (int32_t)((1UL << exponent) - 1UL);
    const int32_t remainder = dividend & mask;
    const int32_t threshold = (mask >> 1) + (dividend < 0 ? 1 : 0);
    return (dividend >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite MultiplyByQuantizedMultiplier: shift > 0 shifts left before the multiply, < 0 right after. */
static inline int32_t arm_nn_requantize(const int32_t val, const int32_t multiplier, const int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return arm_nn_divide_by_power_of_two(arm_nn_doubling_high_mult((int32_t)((uint32_t)val << left), multiplier),
                                         right);
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
