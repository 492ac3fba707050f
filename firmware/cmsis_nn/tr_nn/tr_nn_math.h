/*
 * tunerig's integer requantisation arithmetic, shared by its CMSIS-NN subset (firmware/cmsis_nn/
 * Source) and the tr_nn operators: TFLite Micro's double rounding (saturating rounding doubling high
 * multiply, then rounding divide by a power of two, ties away from zero).
 *
 * The reference forms below define the arithmetic. The fast forms give the same result for every
 * input they accept (callers check the stated ranges, usually once per call) in fewer
 * instructions: SMMULR on cores with the DSP extension, VQRDMULH/VRSHL on Helium.
 *
 * Multipliers are Q31 with a power-of-two shift (real = mult * 2^(shift - 31)), as TFLite's
 * QuantizeMultiplier produces them. Self-contained (ACLE feature macros only), so the tr_nn
 * operators build the same way against Arm's CMSIS-NN (CMSIS_NN_PATH).
 */
#ifndef TR_NN_MATH_H
#define TR_NN_MATH_H

#include <stdint.h>

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define TR_NN_MVE 1
#include <arm_mve.h>
#endif
#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1)
#define TR_NN_DSP 1
#include <arm_acle.h>
#endif

/* Saturating rounding doubling high multiply: floor((a * b + 2^30) / 2^31); INT32_MAX for
 * a = b = INT32_MIN. (TFLM's form adds a sign-dependent nudge and truncates; for every product the
 * two are the same number.) */
static inline int32_t tr_nn_high_mul(const int32_t a, const int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN)
    {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? (1LL << 30) : (1LL - (1LL << 30));
    return (int32_t)((ab + nudge) / (1LL << 31));
}

/* Rounding arithmetic right shift by exponent in [0, 31], ties away from zero. */
static inline int32_t tr_nn_div_pot(const int32_t x, const int32_t exponent)
{
    const int32_t mask = (int32_t)((1UL << exponent) - 1UL);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite MultiplyByQuantizedMultiplier: shift > 0 shifts left before the multiply, < 0 right after. */
static inline int32_t tr_nn_requantize(const int32_t x, const int32_t mult, const int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return tr_nn_div_pot(tr_nn_high_mul((int32_t)((uint32_t)x << left), mult), right);
}

/*
 * The fast scalar form, valid for |x| < 2^29 (TR_NN_SMALL) and shift in [-29, 0] (TR_NN_FAST_OK):
 *  - tr_nn_high_mul(x, m) = floor((2x * m + 2^31) / 2^32) = SMMULR(2x, m) (2x does not overflow and
 *    the saturating case needs x = INT32_MIN);
 *  - with y that product (|y| < 2^29) and e = -shift, the rounding divide
 *    floor((y + 2^(e-1) - [y < 0]) / 2^e) (y itself for e = 0) equals
 *    floor((2y + 2^e - [y < 0]) / 2^(e+1)) for every e >= 0: doubling numerator and divisor changes
 *    nothing, and the numerator 2y + 2^e - 1 is odd when the divisor is even, so subtracting 1
 *    instead of 2 never crosses a multiple of it. |2y + 2^e| < 2^31: no intermediate overflows.
 * rq holds the per-(mult, shift) constants: 2^e and e + 1.
 */
typedef struct
{
    int32_t mult;
    int32_t half; /* 2^e */
    int32_t exp1; /* e + 1 */
} tr_nn_rq_t;

#define TR_NN_FAST_OK(shift) ((uint32_t)((shift) + 29) <= 29u)
#define TR_NN_SMALL(x) ((uint32_t)(x) + 0x20000000u < 0x40000000u) /* |x| < 2^29 */

static inline tr_nn_rq_t tr_nn_rq_init(const int32_t mult, const int32_t shift)
{
    const tr_nn_rq_t rq = {mult, (int32_t)(1u << (uint32_t)(-shift)), 1 - shift};
    return rq;
}

static inline int32_t tr_nn_smmulr(const int32_t a, const int32_t b)
{
#if defined(TR_NN_DSP)
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (int32_t)(((int64_t)a * b + 0x80000000LL) >> 32);
#endif
}

/* tr_nn_requantize(x, rq.mult, shift) for TR_NN_SMALL(x) and TR_NN_FAST_OK(shift). */
static inline int32_t tr_nn_rq_small(const tr_nn_rq_t rq, const int32_t x)
{
    const int32_t y = tr_nn_smmulr(x * 2, rq.mult);
    return (y * 2 + rq.half - (int32_t)((uint32_t)y >> 31)) >> rq.exp1;
}

/* tr_nn_requantize for every input; the fast form where it applies. */
static inline int32_t tr_nn_requantize_fast(const int32_t x, const int32_t mult, const int32_t shift)
{
    if (TR_NN_FAST_OK(shift) && TR_NN_SMALL(x))
    {
        return tr_nn_rq_small(tr_nn_rq_init(mult, shift), x);
    }
    return tr_nn_requantize(x, mult, shift);
}

#if defined(TR_NN_MVE)
/*
 * tr_nn_requantize on 4 lanes, for every input: shift left by max(shift, 0) (wrapping, like the
 * scalar form), VQRDMULH (exactly tr_nn_high_mul, saturation included), then the rounding divide
 * as VRSHL by -e after subtracting 1 from negative lanes (VRSHL rounds ties up; x - 1 turns
 * ties-away-from-zero into ties-up for negative x, and is saturating so INT32_MIN stays put, where
 * both forms agree). neg_shift = min(shift, 0) broadcast; ANDing it with x selects the sign only
 * when e > 0, so e = 0 subtracts nothing.
 */
static inline int32x4_t tr_nn_requantize_x4(int32x4_t x, const int32_t mult, const int32_t left,
                                            const int32x4_t neg_shift)
{
    x = vshlq_r_s32(x, left);
    x = vqrdmulhq_n_s32(x, mult);
    const int32x4_t fix = vshrq_n_s32(vandq_s32(x, neg_shift), 31);
    x = vqaddq_s32(x, fix);
    return vrshlq_s32(x, neg_shift);
}
#endif


static inline int8_t tr_nn_sat(const int32_t v, const int32_t lo, const int32_t hi)
{
    return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

#if defined(TR_NN_DSP) && !defined(TR_NN_MVE)
/*
 * Arguments of tr_nn_add_sub_asm (tr_nn_ops.c), the full-output-range form of tr_nn_add_sub_dsp
 * below in assembly (11 words, read by offset). With r1 = the requantised other input and K1 a
 * constant that carries the exact input's offset, each element is
 *   y1 = SMMULR(other_c + other * 2^21, other_mult)
 *   r1' = SMMLAR(4 y1 - [y1 < 0], 2^(30 - e1), k1)      = r1 + k1
 * (floor((4y - [y<0] + 2^(e+1)) / 2^(e+2)) = floor((2y - [y<0] + 2^e) / 2^(e+1)), the rounding
 * divide of tr_nn_rq_small: doubling numerator and divisor changes nothing, and subtracting 1
 * rather than 2 from the even numerator never crosses a multiple of the divisor; |4y| < 2^31 here
 * because |y| < 2^29, and SMMLAR forms t * 2^(30 - e) in 64 bits)
 *   s2 = plain_sign * plain * 2^20 + other_sign * 2 r1'  (= the doubled sum of tr_nn_add_sub_dsp)
 *   q = SMMLAR(4 y - [y < 0], 2^(30 - eo), out_offset), y = SMMULR(s2, out_mult); SSAT 8.
 */
typedef struct
{
    const int8_t *plain; /* the input rescaled by exactly 0.5 */
    const int8_t *other;
    int8_t *out;
    int8_t *end;         /* out + n, n >= 1 */
    int32_t other_c;     /* other's offset * 2^21 */
    int32_t other_mult;
    int32_t other_pow2;  /* 2^(30 - e1), e1 = -other's shift in [0, 29] */
    int32_t k1;          /* plain_sign * other_sign * plain's offset * 2^19 */
    int32_t out_mult;
    int32_t out_pow2;    /* 2^(30 - eo), eo in [0, 29] */
    int32_t out_offset;
} tr_nn_add_sub_args;

/* signs: 0 = (+plain, +other), 1 = (+plain, -other), 2 = (-plain, +other) */
void tr_nn_add_sub_asm(const tr_nn_add_sub_args *args, int32_t signs);
#endif

#if defined(TR_NN_DSP)
/*
 * The DSP loop of tr_nn_add_sub_s8 for TFLite's usual parameters: left_shift 20, and one input
 * whose multiplier is exactly 2^30 with shift 0 (TFLM rescales both inputs to twice the larger
 * input scale, so the larger one always gets 0.5). Requantising a (an even number) by (2^30, 0)
 * is exactly a / 2, so that input contributes (x + offset) * 2^19 with no multiply. Everything
 * enters doubled, ready for SMMULR (tr_nn_rq_small's 2x): each input term is below 2^28, the sum
 * below 2^29. The output offset is folded into the rounding constant (a multiple of 2^(e+1)
 * changes nothing; the caller checks e <= 21 so that it cannot overflow).
 *   plain_sign: +1 or -1 for the exact input; other_sign likewise for the requantised one.
 */
static inline __attribute__((always_inline)) void
tr_nn_add_sub_dsp(const int8_t *plain, const int8_t *other, const int32_t plain_off, const int32_t other_off,
                  const tr_nn_rq_t ro_other, const tr_nn_rq_t ro_out, const int32_t out_offset, int8_t *out,
                  const int32_t act_min, const int32_t act_max, const int32_t n, const int32_t plain_sign,
                  const int32_t other_sign, const int32_t full_range)
{
    const int32_t plain_c = plain_sign * plain_off * (1 << 20);
    const int32_t other_c = other_off * (1 << 21);
    const int32_t round_out = ro_out.half + out_offset * (1 << ro_out.exp1);
    for (int32_t i = 0; i < n; i++)
    {
        const int32_t y1 = tr_nn_smmulr(other_c + other[i] * (1 << 21), ro_other.mult);
        const int32_t r1 = (y1 * 2 + ro_other.half - (int32_t)((uint32_t)y1 >> 31)) >> ro_other.exp1;
        const int32_t s2 = plain_c + plain_sign * plain[i] * (1 << 20) + other_sign * r1 * 2;
        const int32_t y = tr_nn_smmulr(s2, ro_out.mult);
        const int32_t q = (y * 2 + round_out - (int32_t)((uint32_t)y >> 31)) >> ro_out.exp1;
        out[i] = full_range ? (int8_t)__ssat(q, 8) : tr_nn_sat(q, act_min, act_max);
    }
}
#endif

/*
 * TFLite int8 ADD (subtract = 0) and SUB (subtract = 1), TFLM arithmetic: each input is offset,
 * shifted left by left_shift, requantised by its (multiplier, shift <= 0); the sum or difference
 * is requantised by (out_mult, out_shift), offset and clamped. One body for both operators
 * (arm_elementwise_add_s8 and tr_nn_sub_s8) so they cannot drift apart.
 *
 * Helium: 4 lanes per step, exact for every parameter set. DSP: the fast scalar form when the
 * ranges hold, which they do for TFLite's parameters: |(x + offset) << left_shift| <= 255 * 2^20
 * < 2^28 for left_shift <= 20, each requantised input is no larger, so the sum is below 2^29.
 */
static inline __attribute__((always_inline)) void
tr_nn_add_sub_s8(const int8_t *in1, const int8_t *in2, const int32_t off1, const int32_t mult1, const int32_t shift1,
                 const int32_t off2, const int32_t mult2, const int32_t shift2, const int32_t left_shift, int8_t *out,
                 const int32_t out_offset, const int32_t out_mult, const int32_t out_shift, const int32_t act_min,
                 const int32_t act_max, const int32_t n, const int32_t subtract)
{
#if defined(TR_NN_MVE)
    const int32x4_t ns1 = vdupq_n_s32(shift1 < 0 ? shift1 : 0), ns2 = vdupq_n_s32(shift2 < 0 ? shift2 : 0);
    const int32x4_t nso = vdupq_n_s32(out_shift < 0 ? out_shift : 0);
    const int32x4_t lo_v = vdupq_n_s32(act_min), hi_v = vdupq_n_s32(act_max);
    const int32_t l1 = shift1 > 0 ? shift1 : 0, l2 = shift2 > 0 ? shift2 : 0, lo = out_shift > 0 ? out_shift : 0;
    /* TFLite's usual case (see tr_nn_add_sub_dsp): left_shift 20 and input 1 rescaled by exactly
     * 0.5, i.e. (x + off1) * 2^19; input 2 is then the only one multiplied. */
    const int32_t plain1 = left_shift == 20 && mult1 == (1 << 30) && shift1 == 0 && l2 == 0;
    int32_t i = 0;
#define TR_NN_ADD_SUB_STEP(tail)                                                                                    \
    do                                                                                                              \
    {                                                                                                               \
        const mve_pred16_t p = vctp32q((uint32_t)(n - i));                                                          \
        const int32x4_t x1 = tail ? vldrbq_z_s32(in1 + i, p) : vldrbq_s32(in1 + i);                                  \
        const int32x4_t x2 = tail ? vldrbq_z_s32(in2 + i, p) : vldrbq_s32(in2 + i);                                  \
        int32x4_t a, b;                                                                                             \
        if (plain1)                                                                                                 \
        {                                                                                                           \
            a = vshlq_n_s32(vaddq_n_s32(x1, off1), 19);                                                             \
            b = vqrdmulhq_n_s32(vshlq_n_s32(vaddq_n_s32(x2, off2), 20), mult2);                                      \
            b = vrshlq_s32(vqaddq_s32(b, vshrq_n_s32(vandq_s32(b, ns2), 31)), ns2);                                  \
        }                                                                                                           \
        else                                                                                                        \
        {                                                                                                           \
            a = tr_nn_requantize_x4(vshlq_r_s32(vaddq_n_s32(x1, off1), left_shift), mult1, l1, ns1);                \
            b = tr_nn_requantize_x4(vshlq_r_s32(vaddq_n_s32(x2, off2), left_shift), mult2, l2, ns2);                \
        }                                                                                                           \
        int32x4_t s = tr_nn_requantize_x4(subtract ? vsubq_s32(a, b) : vaddq_s32(a, b), out_mult, lo, nso);        \
        s = vminq_s32(vmaxq_s32(vaddq_n_s32(s, out_offset), lo_v), hi_v);                                           \
        if (tail)                                                                                                   \
        {                                                                                                           \
            vstrbq_p_s32(out + i, s, p);                                                                            \
        }                                                                                                           \
        else                                                                                                        \
        {                                                                                                           \
            vstrbq_s32(out + i, s);                                                                                 \
        }                                                                                                           \
    } while (0)
    for (; i + 4 <= n; i += 4)
    {
        TR_NN_ADD_SUB_STEP(0);
    }
    if (i < n)
    {
        TR_NN_ADD_SUB_STEP(1);
    }
#undef TR_NN_ADD_SUB_STEP
#else
#if defined(TR_NN_DSP)
    const int32_t plain1 = mult1 == (1 << 30) && shift1 == 0, plain2 = mult2 == (1 << 30) && shift2 == 0;
    if (left_shift == 20 && (plain1 || plain2) && TR_NN_FAST_OK(shift1) && TR_NN_FAST_OK(shift2) &&
        TR_NN_FAST_OK(out_shift) && out_shift >= -21)
    {
        /* |2y| < 2^30, 2^e + |out_offset| * 2^(e+1) <= 2^21 + 2^29: the rounding sum stays below 2^31 */
        const int32_t full = act_min == -128 && act_max == 127;
#if !defined(TR_NN_MVE)
        if (full && n > 0 && off1 >= -128 && off1 <= 128 && off2 >= -128 && off2 <= 128)
        {
            /* the same arithmetic in assembly, four elements per loop turn (offsets in CMSIS-NN's
             * range keep |other + offset| * 2^21 below 2^29, so |4 y1| < 2^31) */
            const int32_t other_shift = plain1 ? shift2 : shift1, plain_off = plain1 ? off1 : off2;
            const int32_t plain_sign = (!plain1 && subtract) ? -1 : 1, other_sign = (plain1 && subtract) ? -1 : 1;
            const tr_nn_add_sub_args a = {plain1 ? in1 : in2, plain1 ? in2 : in1, out, out + n,
                                          (plain1 ? off2 : off1) * (1 << 21), plain1 ? mult2 : mult1,
                                          (int32_t)(0x40000000u >> (uint32_t)(-other_shift)),
                                          plain_sign * other_sign * plain_off * (1 << 19), out_mult,
                                          (int32_t)(0x40000000u >> (uint32_t)(-out_shift)), out_offset};
            tr_nn_add_sub_asm(&a, other_sign < 0 ? 1 : (plain_sign < 0 ? 2 : 0));
            return;
        }
#endif
        const tr_nn_rq_t ro = tr_nn_rq_init(out_mult, out_shift);
        const int32_t sign2 = subtract ? -1 : 1;
        if (plain1)
        {
            const tr_nn_rq_t r2 = tr_nn_rq_init(mult2, shift2);
            if (full)
                tr_nn_add_sub_dsp(in1, in2, off1, off2, r2, ro, out_offset, out, act_min, act_max, n, 1, sign2, 1);
            else if (subtract)
                tr_nn_add_sub_dsp(in1, in2, off1, off2, r2, ro, out_offset, out, act_min, act_max, n, 1, -1, 0);
            else
                tr_nn_add_sub_dsp(in1, in2, off1, off2, r2, ro, out_offset, out, act_min, act_max, n, 1, 1, 0);
        }
        else
        {
            const tr_nn_rq_t r1 = tr_nn_rq_init(mult1, shift1);
            if (full)
                tr_nn_add_sub_dsp(in2, in1, off2, off1, r1, ro, out_offset, out, act_min, act_max, n, sign2, 1, 1);
            else if (subtract)
                tr_nn_add_sub_dsp(in2, in1, off2, off1, r1, ro, out_offset, out, act_min, act_max, n, -1, 1, 0);
            else
                tr_nn_add_sub_dsp(in2, in1, off2, off1, r1, ro, out_offset, out, act_min, act_max, n, 1, 1, 0);
        }
        return;
    }
#endif
    if (left_shift >= 0 && left_shift <= 20 && TR_NN_FAST_OK(shift1) && TR_NN_FAST_OK(shift2) &&
        TR_NN_FAST_OK(out_shift))
    {
        const tr_nn_rq_t r1 = tr_nn_rq_init(mult1, shift1), r2 = tr_nn_rq_init(mult2, shift2);
        const tr_nn_rq_t ro = tr_nn_rq_init(out_mult, out_shift);
        for (int32_t i = 0; i < n; i++)
        {
            const int32_t a = tr_nn_rq_small(r1, (in1[i] + off1) * (1 << left_shift));
            const int32_t b = tr_nn_rq_small(r2, (in2[i] + off2) * (1 << left_shift));
            out[i] = tr_nn_sat(tr_nn_rq_small(ro, subtract ? a - b : a + b) + out_offset, act_min, act_max);
        }
        return;
    }
    for (int32_t i = 0; i < n; i++)
    {
        const int32_t a = tr_nn_requantize((int32_t)((uint32_t)(in1[i] + off1) << left_shift), mult1, shift1);
        const int32_t b = tr_nn_requantize((int32_t)((uint32_t)(in2[i] + off2) << left_shift), mult2, shift2);
        out[i] = tr_nn_sat(tr_nn_requantize(subtract ? a - b : a + b, out_mult, out_shift) + out_offset, act_min,
                           act_max);
    }
#endif
}

#endif /* TR_NN_MATH_H */
