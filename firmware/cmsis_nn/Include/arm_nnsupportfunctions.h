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

#if defined(ARM_MATH_DSP) && !defined(ARM_MATH_MVEI)
/*
 * Arguments of arm_nn_vec_mat_mult_t_s8_tr_rows3 (the Cortex-M4 fast path, 3 rows per block; its
 * assembly reads them by offset: 13 words, in this order).
 */
typedef struct
{
    const uint32_t *x16; /* input + offset widened to int16 pairs (x0, x2), (x1, x3) per 4 columns,
                            zero-padded to 8 columns, then 4 readable words */
    const int8_t *rhs;   /* first row, rows cols bytes apart; the 8-column groups of the last row
                            must stay inside readable memory */
    int32_t cols;        /* row pointer stride within a block */
    const int32_t *bias; /* one per row */
    int32_t pad;         /* set by arm_nn_vec_mat_mult_t_s8_tr_rows3 (columns read past each row) */
    union
    {
        const int32_t *per_channel; /* multipliers, one per row */
        int32_t value;              /* per-tensor multiplier */
    } mult;
    union
    {
        const int32_t *per_channel; /* shifts */
        int32_t pow2;               /* per-tensor: 2^(31 + shift), shift in [-31, -1] */
    } shift;
    int8_t *dst;
    int32_t dst_offset;
    int32_t act_min;
    int32_t act_max;
    int8_t *dst_end;     /* dst + 3 * step * blocks, blocks >= 1 */
    uintptr_t entry;     /* set by arm_nn_vec_mat_mult_t_s8_tr_rows3 */
} tr_nn_rows3_args;

/*
 * Blocks of 3 rows rhs, rhs + cols, rhs + 2 cols (cols = the row pointer stride here), their 8-column
 * groups covering span bytes from each row pointer (span <= 512; x16 holds that many columns);
 * step 1: bias/multipliers/shifts/outputs of consecutive rows; step 2 (full output range only):
 * of every other row (the rows are 2 matrix rows apart). Returns 0, or 1 (outputs not reliable)
 * when an accumulator or a shift left the fast form's range.
 */
int32_t arm_nn_vec_mat_mult_t_s8_tr_rows3(tr_nn_rows3_args *args, int32_t per_channel, int32_t span, int32_t step);
#endif

#endif /* ARM_NNSUPPORTFUNCTIONS_H */
