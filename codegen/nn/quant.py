"""Integer quantisation arithmetic of TFLite Micro's reference kernels, in plain Python ints.

Why Python ints: the generator must compute, at generation time, exactly the multipliers and
shifts TFLM computes in Prepare() (QuantizeMultiplier over doubles, frexp, round half away from
zero), and the int8 LOGISTIC/TANH tables that TFLM evaluates with gemmlowp's fixed-point
exp/reciprocal. An int8 element-wise function has only 256 possible inputs, so the C side is a
256-entry table made here, and it is bit-exact as long as this file reproduces gemmlowp's
arithmetic: int32 wrap-around, truncating division, SaturatingRoundingDoublingHighMul and
RoundingDivideByPOT (round half away from zero) — the "double rounding" of FIELD_NOTES §2.
"""
from __future__ import annotations

import math

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def wrap32(x: int) -> int:
    """Two's complement int32 wrap-around (what the C++ code does on overflow in practice)."""
    return ((x + 2**31) % 2**32) - 2**31


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def srdhm(a: int, b: int) -> int:
    """SaturatingRoundingDoublingHighMul for int32 (ARM VQRDMULH semantics)."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return wrap32(_trunc_div(ab + nudge, 1 << 31))


def rdbp(x: int, exponent: int) -> int:
    """RoundingDivideByPOT: arithmetic right shift rounding to nearest, ties away from zero."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def srmbpot(x: int, exponent: int) -> int:
    """SaturatingRoundingMultiplyByPOT<exponent> for int32."""
    if exponent == 0:
        return x
    if exponent < 0:
        return rdbp(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return wrap32(x << exponent)


def multiply_by_quantized_multiplier(x: int, multiplier: int, shift: int) -> int:
    """TFLite MultiplyByQuantizedMultiplier (double rounding), shift > 0 is a left shift."""
    left = shift if shift > 0 else 0
    right = -shift if shift < 0 else 0
    return rdbp(srdhm(wrap32(x * (1 << left)), multiplier), right)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: real = multiplier * 2^(shift - 31), multiplier in [2^30, 2^31)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = int(math.floor(abs(q) * 2**31 + 0.5)) * (1 if q >= 0 else -1)   # TfLiteRound
    if q_fixed == 2**31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return q_fixed, shift


def quantize_multiplier_smaller_than_one(real: float) -> tuple[int, int]:
    """QuantizeMultiplierSmallerThanOneExp: same as quantize_multiplier, for 0 < real < 1."""
    if not 0.0 < real < 1.0:
        raise ValueError(f"multiplier {real} not in (0, 1)")
    return quantize_multiplier(real)


def f32(x) -> float:
    """A float32 value (as stored in the flatbuffer) widened to double."""
    import numpy as np
    return float(np.float32(x))


def f32_mul(a, b) -> float:
    """float32 * float32 rounded to float32 (C++ `a.scale * b.scale` on floats)."""
    import numpy as np
    return float(np.float32(a) * np.float32(b))


# --- gemmlowp fixed-point transcendental functions (raw int32 values) -----------------------

def _rounding_half_sum(a: int, b: int) -> int:
    s = a + b
    return _trunc_div(s + (1 if s >= 0 else -1), 2)


def _exp_on_interval_between_negative_one_quarter_and_0_excl(a: int) -> int:
    """exp(a) for a in [-1/4, 0), Q0.31 in and out (Taylor series around -1/8)."""
    const_term = 1895147668          # exp(-1/8) in Q0.31
    const_1_over_3 = 715827883
    x = wrap32(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = srmbpot(x4, -2)
    poly = srmbpot(wrap32(srdhm(wrap32(x4_over_4 + x3), const_1_over_3) + x2), -1)
    return wrap32(const_term + srdhm(const_term, wrap32(x + poly)))


_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))


def _exp_on_negative_values(a: int, integer_bits: int) -> int:
    """exp(a) for a <= 0 given with `integer_bits` integer bits; result in Q0.31."""
    frac = 31 - integer_bits
    one_quarter = 1 << (frac - 2)
    mask = one_quarter - 1
    a_mod_q_minus_q = wrap32((a & mask) - one_quarter)
    result = _exp_on_interval_between_negative_one_quarter_and_0_excl(srmbpot(a_mod_q_minus_q, integer_bits))
    remainder = wrap32(a_mod_q_minus_q - a)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            if remainder & (1 << (frac + exponent)):
                result = srdhm(result, multiplier)
    if integer_bits > 5:
        clamp = -(1 << (36 - integer_bits))
        if a < clamp:
            result = 0
    if a == 0:
        result = INT32_MAX
    return result


def _newton_reciprocal_x(half_denominator: int) -> int:
    """Three Newton-Raphson steps for 1/half_denominator in Q2.29."""
    x = wrap32(1515870810 + srdhm(half_denominator, -1010580540))
    for _ in range(3):
        hdx = srdhm(half_denominator, x)
        one_minus = wrap32((1 << 29) - hdx)
        x = wrap32(x + srmbpot(srdhm(x, one_minus), 2))
    return x


def _one_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    x = _newton_reciprocal_x(_rounding_half_sum(a, INT32_MAX))
    return srmbpot(x, 1)


def _one_minus_x_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    x = _newton_reciprocal_x(_rounding_half_sum(a, INT32_MAX))
    return srmbpot(wrap32(x - (1 << 29)), 2)


def gemmlowp_logistic(a: int, integer_bits: int) -> int:
    """gemmlowp::logistic on a raw int32 with `integer_bits` integer bits; result Q0.31."""
    if a == 0:
        return 1 << 30
    abs_a = a if a > 0 else wrap32(-a)
    pos = _one_over_one_plus_x_for_x_in_0_1(_exp_on_negative_values(wrap32(-abs_a), integer_bits))
    return pos if a > 0 else wrap32(INT32_MAX - pos)


def gemmlowp_tanh(a: int, integer_bits: int) -> int:
    """gemmlowp::tanh on a raw int32 with `integer_bits` integer bits; result Q0.31."""
    if a == 0:
        return 0
    n = a if a < 0 else wrap32(-a)
    t = _one_minus_x_over_one_plus_x_for_x_in_0_1(_exp_on_negative_values(n, integer_bits + 1))
    return wrap32(-t) if a < 0 else t


def _input_radius(integer_bits: int, left_shift: int, total_signed_bits: int = 31) -> int:
    """TFLite CalculateInputRadius."""
    max_rescaled = (1.0 * ((1 << integer_bits) - 1) * float(1 << (total_signed_bits - integer_bits))
                    / float(2.0 ** left_shift))
    return int(math.floor(max_rescaled))


def _activation_params(input_scale: float) -> tuple[int, int, int]:
    """TFLM Prepare for int8 LOGISTIC/TANH: (multiplier, left_shift, range_radius), 4 integer bits."""
    real = f32(input_scale) * float(1 << (31 - 4))
    q, left_shift = math.frexp(real)
    multiplier = int(math.floor(q * 2**31 + 0.5))
    return multiplier, left_shift, _input_radius(4, left_shift, 31)


def _activation_table_s8(input_scale: float, input_zero_point: int, output_of) -> list[int]:
    """int8 output for every int8 input -128..127: saturate outside the input radius, else output_of(q4)
    on the input rescaled to Q4.27 (TFLM reference_integer_ops::Logistic/Tanh)."""
    multiplier, left_shift, radius = _activation_params(input_scale)
    table = []
    for v in range(-128, 128):
        x = v - input_zero_point
        if x <= -radius:
            table.append(-128)
        elif x >= radius:
            table.append(127)
        else:
            q4 = multiply_by_quantized_multiplier(x, multiplier, left_shift)
            table.append(min(max(output_of(q4), -128), 127))
    return table


def logistic_table_s8(input_scale: float, input_zero_point: int) -> list[int]:
    """int8 LOGISTIC (output scale 1/256, zero point -128)."""
    return _activation_table_s8(input_scale, input_zero_point, lambda q4: rdbp(gemmlowp_logistic(q4, 4), 31 - 8) - 128)


def tanh_table_s8(input_scale: float, input_zero_point: int) -> list[int]:
    """int8 TANH (output scale 1/128, zero point 0)."""
    return _activation_table_s8(input_scale, input_zero_point, lambda q4: rdbp(gemmlowp_tanh(q4, 4), 31 - 7))


def activation_range(activation: str, scale: float, zero_point: int, qmin=-128, qmax=127) -> tuple[int, int]:
    """TFLite CalculateActivationRangeQuantized for a fused activation."""
    import numpy as np

    def q(f):
        return zero_point + int(round_half_away(float(np.float32(f) / np.float32(scale))))
    if activation == "NONE":
        return qmin, qmax
    if activation == "RELU":
        return max(qmin, q(0.0)), qmax
    if activation == "RELU6":
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if activation == "RELU_N1_TO_1":
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    raise ValueError(activation)


def round_half_away(x: float) -> float:
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def requantize_s8(values, in_scale: float, in_zp: int, out_scale: float, out_zp: int):
    """int8 -> int8 requantisation with TFLM QUANTIZE (int8 in, int8 out) arithmetic.

    Used for the recurrent state hand-over (state-out scale -> state-in scale); returns a list.
    """
    mult, shift = quantize_multiplier(f32(in_scale) / f32(out_scale))
    out = []
    for v in values:
        r = multiply_by_quantized_multiplier(int(v) - in_zp, mult, shift) + out_zp
        out.append(min(max(r, -128), 127))
    return out
