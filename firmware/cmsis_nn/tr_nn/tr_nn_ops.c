/*
 * tunerig int8 operators outside CMSIS-NN (see tr_nn_ops.h). Integer arithmetic matches TFLite
 * Micro's reference kernels: double rounding (saturating rounding doubling high multiply, then
 * rounding divide by a power of two, ties away from zero).
 */
#include "tr_nn_ops.h"

#include <math.h>
#include <string.h>

#include "tr_nn_math.h"

void tr_nn_lut_s8(const int8_t *in, const int8_t *table, int8_t *out, int32_t n)
{
#if defined(TR_NN_MVE)
    /* 16 lanes per step: the index in + 128 is the input byte with its top bit flipped */
    const uint8x16_t flip = vdupq_n_u8(0x80u);
    for (int32_t i = 0; i < n; i += 16)
    {
        const mve_pred16_t p = vctp8q((uint32_t)(n - i));
        const uint8x16_t idx = veorq_u8(vldrbq_z_u8((const uint8_t *)in + i, p), flip);
        vstrbq_p_s8(out + i, vldrbq_gather_offset_z_s8(table, idx, p), p);
    }
#else
    const uint8_t *centre = (const uint8_t *)table + 128;
    int32_t i = 0;
#if defined(TR_NN_DSP)
    if (n >= 8)
    {
        /* 8 bytes per turn: per byte, SXTB (with rotation) gives the signed index, LDRB looks it up
         * around the table's centre, STRB stores it: 3.5 instructions per element */
        const int8_t *end = in + (n & ~7);
        const int8_t *src = in;
        int8_t *dst = out;
        uint32_t w, t;
#define TR_NN_LUT_BYTE(rot, k)                                                                                     \
    "sxtb   %[t], %[w]" rot "\n\t"                                                                                 \
    "ldrb   %[t], [%[c], %[t]]\n\t"                                                                                \
    "strb   %[t], [%[d], #" k "]\n\t"
        __asm__ volatile("1:\n\t"
                         "ldr    %[w], [%[s]], #4\n\t" TR_NN_LUT_BYTE("", "0") TR_NN_LUT_BYTE(", ror #8", "1")
                             TR_NN_LUT_BYTE(", ror #16", "2") TR_NN_LUT_BYTE(", ror #24", "3")
                         "ldr    %[w], [%[s]], #4\n\t" TR_NN_LUT_BYTE("", "4") TR_NN_LUT_BYTE(", ror #8", "5")
                             TR_NN_LUT_BYTE(", ror #16", "6")
                         "sxtb   %[t], %[w], ror #24\n\t"
                         "ldrb   %[t], [%[c], %[t]]\n\t"
                         "strb   %[t], [%[d], #7]\n\t"
                         "adds   %[d], %[d], #8\n\t"
                         "cmp    %[s], %[e]\n\t"
                         "bne    1b\n"
                         : [s] "+r"(src), [d] "+r"(dst), [w] "=&r"(w), [t] "=&r"(t)
                         : [e] "r"(end), [c] "r"(centre)
                         : "cc", "memory");
#undef TR_NN_LUT_BYTE
        i = n & ~7;
    }
    /* 4 bytes per word load/store; each lane is sign-extended straight into the index */
    for (; i + 4 <= n; i += 4)
    {
        uint32_t w;
        memcpy(&w, in + i, 4);
        const uint32_t o = (uint32_t)centre[(int8_t)w] | ((uint32_t)centre[(int8_t)(w >> 8)] << 8) |
                           ((uint32_t)centre[(int8_t)(w >> 16)] << 16) | ((uint32_t)centre[(int8_t)(w >> 24)] << 24);
        memcpy(out + i, &o, 4);
    }
#endif
    for (; i < n; i++)
    {
        out[i] = (int8_t)centre[in[i]];
    }
#endif
}

#if defined(TR_NN_DSP) && !defined(TR_NN_MVE)
/* One element of tr_nn_add_sub_asm (r0 plain, r1 other, r2 out, r4-r10 the constants in
 * tr_nn_add_sub_args order from other_c; r11, r12 temporaries); COMBINE forms s2 in r11 from
 * r1' (r11) and the plain input (r12). */
#define TR_NN_AS_ELEM(COMBINE)                                                                                     \
    "ldrsb  r11, [r1], #1\n\t"                                                                                     \
    "add    r11, r4, r11, lsl #21\n\t"  /* (other + offset) * 2^21 */                                             \
    "smmulr r11, r11, r5\n\t"           /* y1 */                                                                  \
    "lsl    r12, r11, #2\n\t"                                                                                      \
    "sub    r12, r12, r11, lsr #31\n\t" /* 4 y1 - [y1 < 0] */                                                     \
    "smmlar r11, r12, r6, r7\n\t"       /* r1' = round(y1 / 2^e1) + k1 */                                          \
    "ldrsb  r12, [r0], #1\n\t" COMBINE  /* s2 */                                                                  \
    "smmulr r11, r11, r8\n\t"           /* y */                                                                   \
    "lsl    r12, r11, #2\n\t"                                                                                      \
    "sub    r12, r12, r11, lsr #31\n\t"                                                                           \
    "smmlar r11, r12, r9, r10\n\t"      /* offset + round(y / 2^eo) */                                             \
    "ssat   r11, #8, r11\n\t"                                                                                      \
    "strb   r11, [r2], #1\n\t"

/* Four elements per turn; a count of 4k + j (j = 1..3) enters at element 4 - j + 1. Naked: 13
 * registers. */
#define TR_NN_AS_BODY(COMBINE)                                                                                     \
    __asm__ volatile("push   {r4-r11, lr}\n\t"                                                                    \
                     "ldm    r0, {r0-r10}\n\t"                                                                    \
                     "sub    r11, r3, r2\n\t"                                                                     \
                     "ands   r11, r11, #3\n\t"                                                                    \
                     "beq    1f\n\t"                                                                              \
                     "cmp    r11, #2\n\t"                                                                         \
                     "beq    3f\n\t"                                                                              \
                     "bhi    2f\n\t"                                                                              \
                     "b      4f\n"                                                                                \
                     "1:\n\t" TR_NN_AS_ELEM(COMBINE) "2:\n\t" TR_NN_AS_ELEM(COMBINE)                             \
                     "3:\n\t" TR_NN_AS_ELEM(COMBINE) "4:\n\t" TR_NN_AS_ELEM(COMBINE)                             \
                     "cmp    r2, r3\n\t"                                                                          \
                     "bne    1b\n\t"                                                                              \
                     "pop    {r4-r11, pc}\n")

/* s2 = 2 r1' + plain * 2^20, plain * 2^20 - 2 r1', 2 r1' - plain * 2^20 */
__attribute__((naked, noinline)) static void add_sub_pp(const tr_nn_add_sub_args *a __attribute__((unused)))
{
    TR_NN_AS_BODY("lsl    r11, r11, #1\n\t"
                  "add    r11, r11, r12, lsl #20\n\t");
}

__attribute__((naked, noinline)) static void add_sub_pm(const tr_nn_add_sub_args *a __attribute__((unused)))
{
    TR_NN_AS_BODY("lsl    r12, r12, #20\n\t"
                  "sub    r11, r12, r11, lsl #1\n\t");
}

__attribute__((naked, noinline)) static void add_sub_mp(const tr_nn_add_sub_args *a __attribute__((unused)))
{
    TR_NN_AS_BODY("lsl    r11, r11, #1\n\t"
                  "sub    r11, r11, r12, lsl #20\n\t");
}

void tr_nn_add_sub_asm(const tr_nn_add_sub_args *args, int32_t signs)
{
    if (signs == 1)
    {
        add_sub_pm(args);
    }
    else if (signs == 2)
    {
        add_sub_mp(args);
    }
    else
    {
        add_sub_pp(args);
    }
}
#endif

void tr_nn_sub_s8(const int8_t *in1, const int8_t *in2, int32_t in1_offset, int32_t in1_mult, int32_t in1_shift,
                  int32_t in2_offset, int32_t in2_mult, int32_t in2_shift, int32_t left_shift, int8_t *out,
                  int32_t out_offset, int32_t out_mult, int32_t out_shift, int32_t act_min, int32_t act_max,
                  int32_t n)
{
    tr_nn_add_sub_s8(in1, in2, in1_offset, in1_mult, in1_shift, in2_offset, in2_mult, in2_shift, left_shift, out,
                     out_offset, out_mult, out_shift, act_min, act_max, n, 1);
}

void tr_nn_requantize_s8(const int8_t *in, int8_t *out, int32_t n, int32_t in_zp, int32_t mult, int32_t shift,
                         int32_t out_zp)
{
#if defined(TR_NN_MVE)
    const int32x4_t ns = vdupq_n_s32(shift < 0 ? shift : 0);
    const int32x4_t lo = vdupq_n_s32(-128), hi = vdupq_n_s32(127);
    const int32_t left = shift > 0 ? shift : 0;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4)
    {
        const int32x4_t v = tr_nn_requantize_x4(vsubq_n_s32(vldrbq_s32(in + i), in_zp), mult, left, ns);
        vstrbq_s32(out + i, vminq_s32(vmaxq_s32(vaddq_n_s32(v, out_zp), lo), hi));
    }
    if (i < n)
    {
        const mve_pred16_t p = vctp32q((uint32_t)(n - i));
        const int32x4_t v = tr_nn_requantize_x4(vsubq_n_s32(vldrbq_z_s32(in + i, p), in_zp), mult, left, ns);
        vstrbq_p_s32(out + i, vminq_s32(vmaxq_s32(vaddq_n_s32(v, out_zp), lo), hi), p);
    }
#else
#if defined(TR_NN_DSP)
    /* |in - in_zp| <= 255: after a left shift up to 20 it is below 2^28, so tr_nn_rq_small applies
     * with shift 0, inlined: the value enters doubled, and for e <= 21 the output zero point folds
     * into the rounding constant (|2y| < 2^29, |out_zp| * 2^(e+1) <= 2^29). */
    const int32_t left = shift > 0 ? shift : 0;
#if !defined(TR_NN_MVE)
    if (left <= 20 && shift >= -29 && n > 0)
    {
        /* the same arithmetic with the SMMULR / SMMLAR rounding (tr_nn_add_sub_asm's), two
         * elements per turn: y = SMMULR((in - in_zp) * 2^(left+1), mult), out_zp + round(y / 2^e) */
        const int32_t scale2 = 1 << (left + 1), c = -in_zp * scale2;
        const int32_t pow2 = (int32_t)(0x40000000u >> (uint32_t)(left - shift));
        const int8_t *end = out + n;
        const int8_t *src = in;
        int8_t *dst = out;
#define TR_NN_RQ_ELEM                                                                                               \
    "ldrsb  r12, [%[s]], #1\n\t"                                                                                   \
    "mla    r12, r12, %[k], %[c]\n\t"                                                                              \
    "smmulr r12, r12, %[m]\n\t"                                                                                    \
    "lsl    lr, r12, #2\n\t"                                                                                       \
    "sub    lr, lr, r12, lsr #31\n\t"                                                                              \
    "smmlar r12, lr, %[p], %[z]\n\t"                                                                               \
    "ssat   r12, #8, r12\n\t"                                                                                      \
    "strb   r12, [%[d]], #1\n\t"
        __asm__ volatile("tst    %[n], #1\n\t"
                         "bne    2f\n"
                         "1:\n\t" TR_NN_RQ_ELEM "2:\n\t" TR_NN_RQ_ELEM
                         "cmp    %[d], %[e]\n\t"
                         "bne    1b\n"
                         : [s] "+r"(src), [d] "+r"(dst)
                         : [n] "r"(n), [e] "r"(end), [k] "r"(scale2), [c] "r"(c), [m] "r"(mult), [p] "r"(pow2),
                           [z] "r"(out_zp)
                         : "r12", "lr", "cc", "memory");
#undef TR_NN_RQ_ELEM
        return;
    }
#endif
    if (left <= 20 && shift >= -21)
    {
        const tr_nn_rq_t rq = tr_nn_rq_init(mult, shift - left);
        const int32_t round_out = rq.half + out_zp * (1 << rq.exp1);
        const int32_t scale2 = 1 << (left + 1), c = -in_zp * scale2;
        for (int32_t i = 0; i < n; i++)
        {
            const int32_t y = tr_nn_smmulr(c + in[i] * scale2, mult);
            out[i] = (int8_t)__ssat((y * 2 + round_out - (int32_t)((uint32_t)y >> 31)) >> rq.exp1, 8);
        }
        return;
    }
#endif
    for (int32_t i = 0; i < n; i++)
    {
        out[i] = tr_nn_sat(tr_nn_requantize(in[i] - in_zp, mult, shift) + out_zp, -128, 127);
    }
#endif
}

void tr_nn_quantize_f32_s8(const float *in, int8_t *out, int32_t n, float scale, int32_t zp)
{
    for (int32_t i = 0; i < n; i++)
    {
        const float r = roundf(in[i] / scale);
        int32_t q;
        if (r >= 2147483520.0f)
        {
            q = INT32_MAX;
        }
        else if (r <= -2147483648.0f)
        {
            q = INT32_MIN;
        }
        else
        {
            q = (int32_t)r;
        }
        out[i] = tr_nn_sat(q > INT32_MAX - 128 ? INT32_MAX : q + zp, -128, 127);
    }
}

void tr_nn_dequantize_s8_f32(const int8_t *in, float *out, int32_t n, double scale, int32_t zp)
{
    for (int32_t i = 0; i < n; i++)
    {
        out[i] = (float)(scale * (double)(in[i] - zp));
    }
}

void tr_nn_copy_runs_s8(const int8_t *src, int8_t *dst, const int32_t *runs, int32_t n_runs)
{
    for (int32_t k = 0; k < n_runs; k++)
    {
        memcpy(dst + runs[3 * k + 1], src + runs[3 * k], (size_t)runs[3 * k + 2]);
    }
}
