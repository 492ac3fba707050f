/*
 * tunerig int8 operators outside CMSIS-NN (see tr_nn_ops.h). Integer arithmetic matches TFLite
 * Micro's reference kernels: double rounding (saturating rounding doubling high multiply, then
 * rounding divide by a power of two, ties away from zero).
 */
#include "tr_nn_ops.h"

#include <math.h>
#include <string.h>

static inline int32_t tr_high_mul(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN)
    {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? (1LL << 30) : (1LL - (1LL << 30));
    return (int32_t)((ab + nudge) / (1LL << 31));
}

static inline int32_t tr_div_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)((1UL << exponent) - 1UL);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

static inline int32_t tr_requantize(int32_t x, int32_t mult, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return tr_div_pot(tr_high_mul((int32_t)((uint32_t)x << left), mult), right);
}

static inline int8_t tr_sat8(int32_t v, int32_t lo, int32_t hi)
{
    return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

void tr_nn_lut_s8(const int8_t *in, const int8_t *table, int8_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
    {
        out[i] = table[(int32_t)in[i] + 128];
    }
}

void tr_nn_sub_s8(const int8_t *in1, const int8_t *in2, int32_t in1_offset, int32_t in1_mult, int32_t in1_shift,
                  int32_t in2_offset, int32_t in2_mult, int32_t in2_shift, int32_t left_shift, int8_t *out,
                  int32_t out_offset, int32_t out_mult, int32_t out_shift, int32_t act_min, int32_t act_max,
                  int32_t n)
{
    for (int32_t i = 0; i < n; i++)
    {
        const int32_t a = tr_requantize((in1[i] + in1_offset) * (1 << left_shift), in1_mult, in1_shift);
        const int32_t b = tr_requantize((in2[i] + in2_offset) * (1 << left_shift), in2_mult, in2_shift);
        out[i] = tr_sat8(tr_requantize(a - b, out_mult, out_shift) + out_offset, act_min, act_max);
    }
}

void tr_nn_requantize_s8(const int8_t *in, int8_t *out, int32_t n, int32_t in_zp, int32_t mult, int32_t shift,
                         int32_t out_zp)
{
    for (int32_t i = 0; i < n; i++)
    {
        out[i] = tr_sat8(tr_requantize(in[i] - in_zp, mult, shift) + out_zp, -128, 127);
    }
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
        out[i] = tr_sat8(q > INT32_MAX - 128 ? INT32_MAX : q + zp, -128, 127);
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
