/*
 * The int8 matrix-vector product behind both fully connected kernels.
 *
 * acc[r] = bias[r] + sum_c (lhs[c] + lhs_offset) * rhs[r][c], then TFLite requantisation
 * (arm_nn_requantize), + dst_offset, clamp. Integer arithmetic is exact, so the three code paths
 * below give identical results; they differ only in speed:
 *  - portable C;
 *  - ARM_MATH_DSP: 4 rows at a time, 4 columns per step; inputs are widened to int16 pairs with
 *    the offset added once (SXTB16 + SADD16) and shared by the 4 rows, weights widened with SXTB16,
 *    two SMLAD per row per 4 columns;
 *  - ARM_MATH_MVEI (Helium): 16 columns per VMLADAVA with tail predication; the input offset is
 *    applied through kernel_sum (input_offset * row sum), precomputed by the caller or computed
 *    here with VADDVA.
 */
#include <string.h>

#include "arm_nnsupportfunctions.h"

#if defined(ARM_MATH_MVEI)
#include <arm_mve.h>
#elif defined(ARM_MATH_DSP)
#include <arm_acle.h>
#endif

static inline int8_t requantize_out(int32_t acc, int32_t mult, int32_t shift, int32_t dst_offset,
                                    int32_t act_min, int32_t act_max)
{
    int32_t v = arm_nn_requantize(acc, mult, shift) + dst_offset;
    return (int8_t)arm_nn_clamp(v, act_min, act_max);
}

#if defined(ARM_MATH_DSP) && !defined(ARM_MATH_MVEI)
static inline int32_t read_s8x4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4); /* single LDR: unaligned word loads are allowed on Cortex-M4 normal memory */
    return v;
}

/* Sign-extend bytes 1 and 3 into two int16 lanes: SXTB16 with its ROR #8 operand, one instruction.
 * ACLE's __sxtb16 has no rotate form and gcc 12 does not fold a separate rotate into it. */
static inline uint32_t sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
#endif

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
                                 int32_t activation_max)
{
    int32_t row = 0;
#if defined(ARM_MATH_MVEI)
    for (; row < rhs_rows; row++)
    {
        const int8_t *w = rhs + row * rhs_cols;
        const int8_t *x = lhs;
        int32_t acc = 0;
        int32_t wsum = 0;
        int32_t n = rhs_cols;
        while (n > 0)
        {
            const mve_pred16_t p = vctp8q((uint32_t)n);
            const int8x16_t xv = vldrbq_z_s8(x, p);
            const int8x16_t wv = vldrbq_z_s8(w, p);
            acc = vmladavaq_s8(acc, xv, wv);
            if (kernel_sum == NULL)
            {
                wsum = vaddvaq_s8(wsum, wv);
            }
            x += 16;
            w += 16;
            n -= 16;
        }
        acc += kernel_sum != NULL ? kernel_sum[row] : lhs_offset * wsum;
        if (bias != NULL)
        {
            acc += bias[row];
        }
        const int32_t k = per_channel ? row : 0;
        dst[row] = requantize_out(acc, multipliers[k], shifts[k], dst_offset, activation_min, activation_max);
    }
#else
#if defined(ARM_MATH_DSP)
    const int32_t off2 = (int32_t)(((uint32_t)lhs_offset & 0xFFFFu) | ((uint32_t)lhs_offset << 16));
    const int32_t col_blocks = rhs_cols >> 2;
    /* With kernel sums the input offset is added once per row afterwards, which frees the
     * registers the 4-row loop needs (no spills: 4 accumulators, 4 row pointers, 2 input lanes). */
    for (; kernel_sum != NULL && row + 4 <= rhs_rows; row += 4)
    {
        const int8_t *w0 = rhs + row * rhs_cols;
        const int8_t *w1 = w0 + rhs_cols;
        const int8_t *w2 = w1 + rhs_cols;
        const int8_t *w3 = w2 + rhs_cols;
        const int8_t *x = lhs;
        int32_t a0 = kernel_sum[row], a1 = kernel_sum[row + 1], a2 = kernel_sum[row + 2], a3 = kernel_sum[row + 3];
        for (int32_t b = 0; b < col_blocks; b++)
        {
            const uint32_t in = (uint32_t)read_s8x4(x);
            const uint32_t in_e = __sxtb16(in);
            const uint32_t in_o = sxtb16_ror8(in);
            uint32_t wv = (uint32_t)read_s8x4(w0);
            a0 = __smlad(__sxtb16(wv), in_e, a0);
            a0 = __smlad(sxtb16_ror8(wv), in_o, a0);
            wv = (uint32_t)read_s8x4(w1);
            a1 = __smlad(__sxtb16(wv), in_e, a1);
            a1 = __smlad(sxtb16_ror8(wv), in_o, a1);
            wv = (uint32_t)read_s8x4(w2);
            a2 = __smlad(__sxtb16(wv), in_e, a2);
            a2 = __smlad(sxtb16_ror8(wv), in_o, a2);
            wv = (uint32_t)read_s8x4(w3);
            a3 = __smlad(__sxtb16(wv), in_e, a3);
            a3 = __smlad(sxtb16_ror8(wv), in_o, a3);
            x += 4;
            w0 += 4;
            w1 += 4;
            w2 += 4;
            w3 += 4;
        }
        for (int32_t c = col_blocks << 2; c < rhs_cols; c++)
        {
            const int32_t in = lhs[c];
            a0 += in * *w0++;
            a1 += in * *w1++;
            a2 += in * *w2++;
            a3 += in * *w3++;
        }
        int32_t acc[4] = {a0, a1, a2, a3};
        for (int32_t i = 0; i < 4; i++)
        {
            if (bias != NULL)
            {
                acc[i] += bias[row + i];
            }
            const int32_t k = per_channel ? row + i : 0;
            dst[row + i] = requantize_out(acc[i], multipliers[k], shifts[k], dst_offset, activation_min, activation_max);
        }
    }
    for (; row < rhs_rows; row++)
    {
        const int8_t *w = rhs + row * rhs_cols;
        const int8_t *x = lhs;
        int32_t acc = 0;
        for (int32_t b = 0; b < col_blocks; b++)
        {
            const int32_t in = read_s8x4(x);
            const int32_t wv = read_s8x4(w);
            const int32_t in_e = (int32_t)__sadd16((uint32_t)__sxtb16((uint32_t)in), (uint32_t)off2);
            const int32_t in_o = (int32_t)__sadd16((uint32_t)sxtb16_ror8((uint32_t)in), (uint32_t)off2);
            acc = __smlad(__sxtb16((uint32_t)wv), (uint32_t)in_e, acc);
            acc = __smlad(sxtb16_ror8((uint32_t)wv), (uint32_t)in_o, acc);
            x += 4;
            w += 4;
        }
        for (int32_t c = col_blocks << 2; c < rhs_cols; c++)
        {
            acc += (lhs[c] + lhs_offset) * *w++;
        }
        if (bias != NULL)
        {
            acc += bias[row];
        }
        const int32_t k = per_channel ? row : 0;
        dst[row] = requantize_out(acc, multipliers[k], shifts[k], dst_offset, activation_min, activation_max);
    }
#else
    (void)kernel_sum; /* the input offset is applied per element below */
    for (; row < rhs_rows; row++)
    {
        const int8_t *w = rhs + row * rhs_cols;
        int32_t acc = bias != NULL ? bias[row] : 0;
        for (int32_t c = 0; c < rhs_cols; c++)
        {
            acc += (lhs[c] + lhs_offset) * w[c];
        }
        const int32_t k = per_channel ? row : 0;
        dst[row] = requantize_out(acc, multipliers[k], shifts[k], dst_offset, activation_min, activation_max);
    }
#endif
#endif
}
