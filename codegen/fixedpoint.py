"""Q-format conversions: the one place floats become fixed point and back.

Qm.n naming follows CMSIS: Q31 is a signed 32-bit value in [-1, 1) with 31 fractional bits,
Q15 likewise with 15. Rounding is to nearest (ties toward +inf, i.e. floor(x*2^n + 0.5)), and every
conversion saturates instead of wrapping.
"""
from __future__ import annotations

import numpy as np

Q31_MAX = 2**31 - 1
Q31_MIN = -(2**31)
Q15_MAX = 2**15 - 1
Q15_MIN = -(2**15)


def float_to_q(x, frac_bits: int, total_bits: int = 32) -> np.ndarray:
    """Round float(s) to signed fixed point with `frac_bits` fractional bits, saturating to `total_bits`."""
    lo, hi = -(2 ** (total_bits - 1)), 2 ** (total_bits - 1) - 1
    scaled = np.floor(np.asarray(x, dtype=np.float64) * float(2**frac_bits) + 0.5)
    return np.clip(scaled, lo, hi).astype(np.int64)


def q_to_float(q, frac_bits: int) -> np.ndarray:
    return np.asarray(q, dtype=np.float64) / float(2**frac_bits)


def float_to_q31(x) -> np.ndarray:
    return float_to_q(x, 31, 32)


def float_to_q15(x) -> np.ndarray:
    return float_to_q(x, 15, 16)


def q31_to_float(q) -> np.ndarray:
    return q_to_float(q, 31)


def q15_to_float(q) -> np.ndarray:
    return q_to_float(q, 15)


def q15_to_q31(q) -> np.ndarray:
    """Exact widening: Q15 -> Q31 by a left shift of 16."""
    return np.asarray(q, dtype=np.int64) << 16


def q31_to_q15(q) -> np.ndarray:
    """Narrowing with round-to-nearest and saturation: (q + 2^15) >> 16, clipped to int16."""
    return np.clip((np.asarray(q, dtype=np.int64) + (1 << 15)) >> 16, Q15_MIN, Q15_MAX)


def require_q15(x, what: str = "input") -> np.ndarray:
    """x as int16 if it is a 1-D integer array within the Q15 range, else InputError naming `what` and
    the first bad sample (never a silent wrap of out-of-range integers)."""
    from designer.errors import InputError
    a = np.asarray(x)
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
        raise InputError(f"{what} must be a 1-D array of integer Q15 samples, got {a.dtype} {a.shape}")
    bad = np.flatnonzero((a < Q15_MIN) | (a > Q15_MAX)) if a.size else ()
    if len(bad):
        raise InputError(f"{what}: sample {bad[0]} is {a[bad[0]]}, outside the Q15 range {Q15_MIN}..{Q15_MAX}")
    return a.astype(np.int16)
