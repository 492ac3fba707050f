/*
 * s8 element-wise multiply with the TFLite MUL int8 arithmetic:
 * out = clamp(requantize((in1 + off1) * (in2 + off2)) + out_offset).
 * Helium: 4 lanes per step, exact for every parameter set. DSP: the product is below 2^17 in
 * magnitude, so the fast scalar form applies for out_shift in [-29, 0], and for a left shift up
 * to 11 (requantising product << shift with shift 0).
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

#if defined(TR_NN_DSP) && !defined(TR_NN_MVE)
/* One element for mul_dsp_full: r11 = 2 (in1 + off1) * (in2 + off2), then requantised with the
 * SMMULR / SMMLAR rounding of tr_nn_add_sub_args (tr_nn_math.h): offset + round(y / 2^e) =
 * SMMLAR(4y - [y < 0], 2^(30 - e), offset), |y| < 2^17. */
#define TR_NN_MUL_ELEM                                                                                              \
    "ldrsb  r11, [%[a]], #1\n\t"                                                                                   \
    "ldrsb  r12, [%[b]], #1\n\t"                                                                                   \
    "add    r11, %[o1d], r11, lsl #1\n\t" /* 2 (in1 + off1) */                                                   \
    "add    r12, r12, %[o2]\n\t"                                                                                   \
    "mul    r11, r11, r12\n\t"                                                                                     \
    "smmulr r11, r11, %[m]\n\t"           /* y */                                                                 \
    "lsl    r12, r11, #2\n\t"                                                                                      \
    "sub    r12, r12, r11, lsr #31\n\t"   /* 4y - [y < 0] */                                                      \
    "smmlar r11, r12, %[p], %[off]\n\t"   /* offset + round(y / 2^e) */                                           \
    "ssat   r11, #8, r11\n\t"                                                                                      \
    "strb   r11, [%[o]], #1\n\t"

/* Full output range, out_shift in [-29, 0], n >= 1: two elements per loop turn (an odd count
 * enters at the second); 12 instructions per element. */
static void mul_dsp_full(const int8_t *in1, const int8_t *in2, int32_t off1, int32_t off2, int8_t *out,
                         int32_t out_offset, int32_t out_mult, int32_t out_shift, int32_t n)
{
    const int8_t *end = out + n;
    const int32_t pow2 = (int32_t)(0x40000000u >> (uint32_t)(-out_shift)), off1d = 2 * off1;
    __asm__ volatile("tst    %[n], #1\n\t"
                     "bne    2f\n"
                     "1:\n\t" TR_NN_MUL_ELEM "2:\n\t" TR_NN_MUL_ELEM
                     "cmp    %[o], %[end]\n\t"
                     "bne    1b\n"
                     : [a] "+r"(in1), [b] "+r"(in2), [o] "+r"(out)
                     : [n] "r"(n), [end] "r"(end), [o1d] "r"(off1d), [o2] "r"(off2), [m] "r"(out_mult),
                       [p] "r"(pow2), [off] "r"(out_offset)
                     : "r11", "r12", "cc", "memory");
}
#undef TR_NN_MUL_ELEM

/* Arguments of mul4_full (9 words, read by LDM in this order). */
typedef struct
{
    const int8_t *in1;
    const int8_t *in2;
    int8_t *out;
    int8_t *end;   /* out + a multiple of 4 (>= 4) */
    uint32_t off1; /* input 1's offset in both 16-bit lanes */
    uint32_t off2;
    int32_t mult;
    int32_t pow2;  /* 2^(30 - e) */
    int32_t out_offset;
} tr_nn_mul4_args;

/* The requantisation of one product p (2 (in1 + off1) (in2 + off2)), stored at out + k:
 * y = SMMULR(p, mult), t = 4y - [y < 0] in tmp, offset + round(y / 2^e), SSAT 8. */
#define TR_NN_MUL4_RQ(p, tmp, k)                                                                                    \
    "smmulr " p ", " p ", r6\n\t"                                                                                  \
    "lsl    " tmp ", " p ", #2\n\t"                                                                                \
    "sub    " tmp ", " tmp ", " p ", lsr #31\n\t"                                                                  \
    "smmlar " p ", " tmp ", r7, r8\n\t"                                                                            \
    "ssat   " p ", #8, " p "\n\t"                                                                                  \
    "strb   " p ", [r2, #" k "]\n\t"

/*
 * Four elements per turn with both inputs read a word at a time: SXTAB16 sign-extends two bytes
 * and adds the offset in one instruction, SADD16 doubles input 1's lanes, SMULBB / SMULTT form
 * the products of lanes 0 and 2 (then 1 and 3): 9.75 instructions per element. The lanes hold
 * 2 (in1 + off1) and in2 + off2 exactly for offsets in CMSIS-NN's range [-127, 128]. Registers:
 * r0-r8 the arguments, r9/r10 the input words, r11, r12, lr products and temporaries. Naked: 14.
 */
__attribute__((naked, noinline)) static void mul4_full(const tr_nn_mul4_args *args __attribute__((unused)))
{
    __asm__ volatile("push   {r4-r11, lr}\n\t"
                     "ldm    r0, {r0-r8}\n"
                     "1:\n\t"
                     "ldr    r9, [r0], #4\n\t"
                     "ldr    r10, [r1], #4\n\t"
                     "sxtab16 r11, r4, r9\n\t"          /* (a0, a2) + off1 */
                     "sadd16 r11, r11, r11\n\t"         /* doubled */
                     "sxtab16 r12, r5, r10\n\t"         /* (b0, b2) + off2 */
                     "smulbb lr, r11, r12\n\t"          /* element 0 */
                     "smultt r11, r11, r12\n\t"         /* element 2 */
                     TR_NN_MUL4_RQ("lr", "r12", "0") TR_NN_MUL4_RQ("r11", "r12", "2")
                     "sxtab16 r11, r4, r9, ror #8\n\t"  /* (a1, a3) + off1 */
                     "sadd16 r11, r11, r11\n\t"
                     "sxtab16 r12, r5, r10, ror #8\n\t" /* (b1, b3) + off2 */
                     "smulbb lr, r11, r12\n\t"          /* element 1 */
                     "smultt r11, r11, r12\n\t"         /* element 3 */
                     TR_NN_MUL4_RQ("lr", "r12", "1") TR_NN_MUL4_RQ("r11", "r12", "3")
                     "adds   r2, r2, #4\n\t"
                     "cmp    r2, r3\n\t"
                     "bne    1b\n\t"
                     "pop    {r4-r11, pc}\n");
}
#undef TR_NN_MUL4_RQ

/* tr_nn_rq_small inlined with the doubled product (2 * |prod| < 2^17) and the output offset folded
 * into the rounding constant (out_shift in [-21, 0]: |2y| < 2^17, |offset| * 2^(e+1) <= 2^29). */
static inline __attribute__((always_inline)) void mul_dsp(const int8_t *in1, const int8_t *in2, const int32_t off1,
                                                          const int32_t off2, int8_t *out, const int32_t out_offset,
                                                          const tr_nn_rq_t rq, const int32_t act_min,
                                                          const int32_t act_max, const int32_t n,
                                                          const int32_t full_range)
{
    const int32_t round_out = rq.half + out_offset * (1 << rq.exp1);
    const int32_t off1d = off1 * 2;
    for (int32_t i = 0; i < n; i++)
    {
        const int32_t prod2 = (off1d + in1[i] * 2) * (in2[i] + off2);
        const int32_t y = tr_nn_smmulr(prod2, rq.mult);
        const int32_t q = (y * 2 + round_out - (int32_t)((uint32_t)y >> 31)) >> rq.exp1;
        out[i] = full_range ? (int8_t)__ssat(q, 8) : tr_nn_sat(q, act_min, act_max);
    }
}
#endif

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
                                           const int32_t block_size)
{
#if defined(TR_NN_MVE)
    const int32x4_t ns = vdupq_n_s32(out_shift < 0 ? out_shift : 0);
    const int32x4_t lo = vdupq_n_s32(out_activation_min), hi = vdupq_n_s32(out_activation_max);
    const int32_t left = out_shift > 0 ? out_shift : 0;
    int32_t i = 0;
#define TR_NN_MUL_STEP(tail)                                                                                        \
    do                                                                                                              \
    {                                                                                                               \
        const mve_pred16_t p = vctp32q((uint32_t)(block_size - i));                                                 \
        const int32x4_t a = vaddq_n_s32(tail ? vldrbq_z_s32(input_1_vect + i, p) : vldrbq_s32(input_1_vect + i),    \
                                        input_1_offset);                                                            \
        const int32x4_t b = vaddq_n_s32(tail ? vldrbq_z_s32(input_2_vect + i, p) : vldrbq_s32(input_2_vect + i),    \
                                        input_2_offset);                                                            \
        int32x4_t s = tr_nn_requantize_x4(vmulq_s32(a, b), out_mult, left, ns);                                     \
        s = vminq_s32(vmaxq_s32(vaddq_n_s32(s, out_offset), lo), hi);                                               \
        if (tail)                                                                                                   \
        {                                                                                                           \
            vstrbq_p_s32(output + i, s, p);                                                                         \
        }                                                                                                           \
        else                                                                                                        \
        {                                                                                                           \
            vstrbq_s32(output + i, s);                                                                              \
        }                                                                                                           \
    } while (0)
    for (; i + 4 <= block_size; i += 4)
    {
        TR_NN_MUL_STEP(0);
    }
    if (i < block_size)
    {
        TR_NN_MUL_STEP(1);
    }
#undef TR_NN_MUL_STEP
#else
#if defined(TR_NN_DSP)
    if (out_shift <= 0 && out_shift >= -29 && out_activation_min == -128 && out_activation_max == 127 &&
        block_size > 0 && input_1_offset >= -128 && input_1_offset <= 128 && input_2_offset >= -128 &&
        input_2_offset <= 128)
    {
        const int32_t n4 = block_size & ~3;
        if (n4 > 0)
        {
            const uint32_t o1 = (uint32_t)input_1_offset & 0xFFFFu, o2 = (uint32_t)input_2_offset & 0xFFFFu;
            const tr_nn_mul4_args a = {input_1_vect, input_2_vect, output, output + n4, o1 | (o1 << 16),
                                       o2 | (o2 << 16), out_mult,
                                       (int32_t)(0x40000000u >> (uint32_t)(-out_shift)), out_offset};
            mul4_full(&a);
        }
        if (n4 < block_size)
        {
            mul_dsp_full(input_1_vect + n4, input_2_vect + n4, input_1_offset, input_2_offset, output + n4,
                         out_offset, out_mult, out_shift, block_size - n4);
        }
        return ARM_CMSIS_NN_SUCCESS;
    }
    if (out_shift <= 0 && out_shift >= -21)
    {
        const tr_nn_rq_t rq = tr_nn_rq_init(out_mult, out_shift);
        if (out_activation_min == -128 && out_activation_max == 127)
        {
            mul_dsp(input_1_vect, input_2_vect, input_1_offset, input_2_offset, output, out_offset, rq, -128, 127,
                    block_size, 1);
        }
        else
        {
            mul_dsp(input_1_vect, input_2_vect, input_1_offset, input_2_offset, output, out_offset, rq,
                    out_activation_min, out_activation_max, block_size, 0);
        }
        return ARM_CMSIS_NN_SUCCESS;
    }
#endif
    const int32_t left = out_shift > 0 ? out_shift : 0;
    if (left <= 11 && out_shift >= -29)
    {
        const tr_nn_rq_t rq = tr_nn_rq_init(out_mult, out_shift - left);
        for (int32_t i = 0; i < block_size; i++)
        {
            const int32_t prod = (input_1_vect[i] + input_1_offset) * (input_2_vect[i] + input_2_offset);
            output[i] = tr_nn_sat(tr_nn_rq_small(rq, prod * (1 << left)) + out_offset, out_activation_min,
                                  out_activation_max);
        }
        return ARM_CMSIS_NN_SUCCESS;
    }
    for (int32_t i = 0; i < block_size; i++)
    {
        const int32_t prod = (input_1_vect[i] + input_1_offset) * (input_2_vect[i] + input_2_offset);
        output[i] = tr_nn_sat(arm_nn_requantize(prod, out_mult, out_shift) + out_offset, out_activation_min,
                              out_activation_max);
    }
#endif
    return ARM_CMSIS_NN_SUCCESS;
}
