"""Bit-exact Python model of the fixed-point MBDP, and the quantisation plan the C is generated from.

The plan (`plan_mbdp`) turns a float Profile into integers: biquad coefficients for the CMSIS-DSP
DF1 forms, Q-format constants for the dynamics, the headroom shift. `render_fixed_q31` runs those
integers through exactly the arithmetic the generated C runs (same truncations, same order), so the
two agree to the bit. Structure follows designer/mbdp.py block for block; only arithmetic differs.

Q-formats (also stated in the generated tr_mbdp.h):
  audio in/out             Q1.31
  inside the tree/bands    Q(1+H).(31-H): value v is v * 2^(31-H); H headroom bits (>= 2) chosen so no
                           filter state can overflow (bound: L1 norm of every prefix of every chain)
  biquad coefficients      Q(1+s).(31-s) with CMSIS postShift s; delta forms (D2, D2X, the h of d2h):
                           units of 2^-32, a1 and a2 stored as a1 - 2 and a2 + 1 (quantize_delta)
  level / gain computer    log2 of power, Q7.24 (1.0 = a factor 2 in power = 3.0103 dB)
  compressor gain          Q5.27 (max < 16 = +24.08 dB)
  limiter gain             Q2.30 (1.0 = 2^30) per block; applied as Q1.31 ramps, min(2 e, 2^31 - 1)
  band limiter outputs,    Q(2+H).(30-H): half the band resolution, so a band limiter is one rounded
  output stage, guard      high-word multiply (SMMULR) per sample; the output shifts by H+1
  smoothing coefficients   Q1.31
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import signal

from codegen.fixedpoint import Q31_MAX, Q31_MIN, float_to_q, q15_to_q31, q31_to_q15
from designer.crossover import check_crossovers, design_crossover, highpass_sos
from designer.dynamics import CompressorParams, LimiterParams
from designer.errors import InputError
from designer.profile import Profile

LOG_FRAC = 24         # Q7.24 log2-power
GAIN_FRAC = 27        # Q5.27 compressor gain
LIM_FRAC = 30         # Q2.30 limiter gain
COEF_FRAC = 31        # Q1.31 smoothing coefficients
POLY_FRAC = 30        # polynomial coefficients
MIN_KNEE_LOG2 = 0.02  # knees narrower than this (0.06 dB) are treated as hard knees
HIGH, STD, EF, EF2, D2, D2X = "32x64", "q31", "q31ef", "q31ef2", "q31d2", "q31d2x"
EF1_NOISE_LIMIT_DBFS = -168.0   # first-order error feedback noisier than this: second order
COEF_ERROR_LIMIT_DB = -90.0     # largest band response error (vs float, full scale) a plan may have
H_FORM_ERROR_LIMIT_DB = -110.0  # a split takes the one-section AP - LP high-pass only if it is this close to float
H_FORM_NOISE_LIMIT_DBFS = -162.0  # ... and if 2 h (first-order error feedback) adds at most this much noise
STD_NOISE_LIMIT_DBFS = -170.0   # a std (32-bit state) section may add at most this much error (bias incl.)


# ------------------------------------------------------------------ log2 / exp2 polynomials
def _fit_poly(func, degree: int, frac: int, lo: float, hi: float) -> tuple[int, ...]:
    """Least-squares fit on Chebyshev nodes of [lo, hi), quantised to Q(frac); lowest order first."""
    t = 0.5 * (lo + hi) - 0.5 * (hi - lo) * np.cos(np.pi * (np.arange(4000) + 0.5) / 4000)
    c = np.polynomial.polynomial.polyfit(t, func(t), degree)
    return tuple(int(v) for v in float_to_q(c, frac))


# Both polynomials run on a signed fraction f in Q32 (|f| < 0.5, so it fits an int32) with Horner
# steps p = c + (p f) >> 32: one 32 x 32 -> high-word multiply and an add per step on a Cortex-M.
LOG2_POLY = _fit_poly(lambda t: np.log2(1.0 + t), 7, POLY_FRAC, -0.25, 0.5)   # log2(1+f), f in [-1/4, 1/2): |err| < 3.3e-7
EXP2_POLY = _fit_poly(lambda t: np.exp2(t), 5, POLY_FRAC, -0.5, 0.5)           # 2^f, f in [-1/2, 1/2): rel err < 1.1e-7


def _horner_q32(poly, f):
    """Horner with Q32 fractions: p = c + floor(p f / 2^32), partial sums returned for the range check."""
    p = poly[-1]
    sums = [p]
    for c in poly[-2::-1]:
        p = c + ((p * f) >> 32)
        sums.append(p)
    return p, sums


def _check_horner(poly, lo: float, hi: float) -> None:
    """The C keeps Horner partial sums in int32: prove it over the whole fraction range."""
    f = np.arange(int(lo * 2**32), int(hi * 2**32), 1 << 17, dtype=np.int64)
    f = np.concatenate([f, [int(hi * 2**32) - 1]])
    _, sums = _horner_q32(poly, f)
    assert max(int(np.abs(np.asarray(v)).max()) for v in sums) < 2**31, "polynomial partial sums overflow int32"


_check_horner(LOG2_POLY, -0.25, 0.5)
_check_horner(EXP2_POLY, -0.5, 0.5)


def log2_q24(v: int) -> int:
    """log2 of an integer 1 <= v < 2^63, in Q7.24. Normalise to a mantissa in [3/4, 3/2) (top bit
    of a 64-bit word, halved when the top 32 bits reach 3 * 2^30), polynomial on f = mantissa - 1."""
    n = v.bit_length() - 1
    m = v << (63 - n)                               # bit 63 set
    t = m >> 32
    if t >= 3 << 30:
        n += 1
        f = t - (1 << 32)                           # mantissa / 2 - 1, in [-1/4, 0), Q32
    else:
        f = (m >> 31) - (1 << 32)                   # mantissa - 1, in [0, 1/2), Q32
    p, _ = _horner_q32(LOG2_POLY, f)
    return (n << LOG_FRAC) + (p >> (POLY_FRAC - LOG_FRAC))


def exp2_q27(v: int) -> int:
    """2^(v / 2^25) in Q5.27 for v < 4 * 2^25 (result < 16). v is a log2-power value in Q7.24, so
    reading it as Q25 halves it: the amplitude gain of a power gain. v = n + f with n the nearest
    integer, f in [-1/2, 1/2) (Q32), 2^f by polynomial in Q30, then shifted by n."""
    n = (v + (1 << 24)) >> 25
    f = (v - (n << 25)) << 7
    p, _ = _horner_q32(EXP2_POLY, f)                # Q30, in [0.70, 1.42)
    shift = (POLY_FRAC - GAIN_FRAC) - n             # >= -1 because n <= 4
    if shift <= 0:
        return p << (-shift)
    if shift >= 62:
        return 0
    return (p + (1 << (shift - 1))) >> shift


# ------------------------------------------------------------------ biquads
@dataclass(frozen=True)
class Section:
    """One biquad in CMSIS layout: y = (b0 x + b1 x1 + b2 x2 + a1 y1 + a2 y2) * 2^post_shift."""
    coeffs: tuple[int, int, int, int, int]
    post_shift: int
    precision: str          # STD (arm_biquad_cascade_df1_q31), EF (ours: DF1 + error feedback),
                            # EF2 (second-order error feedback), D2 (ours: the delta form below) or
                            # HIGH (arm_biquad_cas_df1_32x64_q31). D2 sections have post_shift -1 and
                            # coeffs {b0, b1, b2, a1 - 2^33, a2 + 2^32} in units of 2^-32
    label: str


@dataclass(frozen=True)
class Chain:
    """Sections applied in series; consecutive sections of one precision form one CMSIS instance."""
    name: str
    sections: tuple[Section, ...]

    def groups(self) -> list[tuple[str, list[Section]]]:
        out: list[tuple[str, list[Section]]] = []
        for s in self.sections:
            if out and out[-1][0] == s.precision and out[-1][1][0].post_shift == s.post_shift:
                out[-1][1].append(s)
            else:
                out.append((s.precision, [s]))
        return out


def _post_shift(values) -> int:
    peak = max(abs(float(v)) for v in values)
    s = 0
    while peak * 2.0 ** (31 - s) + 0.5 >= 2.0 ** 31:
        s += 1
    if s > 8:
        raise InputError(f"biquad coefficient {peak:g} needs postShift {s}; outside the Q31 biquad range")
    return s


def quantize_section(sos_row, label: str, *, scale: float = 1.0, kind: str = "general") -> tuple[tuple[int, ...], int]:
    """Quantise one scipy sos row [b0 b1 b2 1 a1 a2] (times `scale` on b) to CMSIS Q31 coefficients.

    The feedback taps are rounded first; the feed-forward taps are then chosen so the response is
    exact where it matters with the quantised poles: unity DC gain for a low-pass ('lp'), unity gain
    at Nyquist for a high-pass ('hp'), and mirrored taps for the all-pass ('ap', |H| = 1 exactly).
    Raises InputError when the quantised poles are not strictly inside the unit circle.
    """
    b = np.asarray(sos_row[:3], dtype=np.float64) * scale
    a1, a2 = float(sos_row[4]), float(sos_row[5])
    s = 1 if kind in ("lp", "hp", "ap") else max(1, _post_shift([*b, a1, a2]))
    if s != 1:
        raise InputError(f"{label}: coefficients need postShift {s}; the MBDP biquads run at postShift 1 "
                         "(Q2.30, |coefficient| < 2)", field=label)
    unit = 2 ** (31 - s)
    qa1, qa2 = int(round(-a1 * unit)), int(round(-a2 * unit))
    if max(abs(qa1), abs(qa2)) > Q31_MAX:
        raise InputError(f"{label}: feedback taps a1 = {a1:.12g}, a2 = {a2:.12g} do not fit Q2.30: the poles are "
                         "at or beyond the unit circle, the filter would be unstable", field=label)
    # Poles of 1 - qa1 z^-1 - qa2 z^-2 (CMSIS sign convention).
    poles = np.roots([1.0, -qa1 / unit, -qa2 / unit])
    if np.max(np.abs(poles)) >= 1.0 - 1e-12:
        raise InputError(f"{label}: poles at radius {np.max(np.abs(poles)):.12f} after quantising to "
                         f"Q{1 + s}.{31 - s}: the filter would be unstable (frequency too low for the "
                         "sample rate?)", field=label)
    den = unit - qa1 - qa2            # A(1) in coefficient units
    if kind == "lp":                  # b = g [1 2 1] with g = scale * A(1) / 4, exact DC gain
        g = scale * den / 4.0
        qb0 = int(round(g))
        qb = [qb0, int(round(scale * den)) - 2 * qb0, qb0]
    elif kind == "hp":                # b = g [1 -2 1] with 4g = scale * A(-1), rounded
        # Exactly g [1 -2 1]: the double zero stays exactly at z = 1. Matching the Nyquist gain to
        # the LSB instead (b1 = -(round(4g) - 2 g)) moves a zero off DC by up to 2 LSB, which near
        # z = 1 poles (A(1) ~ 1e-5 at 37 Hz / 48 kHz) is an error of -75 dB; the Nyquist gain is off
        # by at most 2 LSB (< -160 dB) this way.
        den_ny = unit + qa1 - qa2
        qb0 = int(round(scale * den_ny / 4.0))
        qb = [qb0, -2 * qb0, qb0]
    elif kind == "ap" and scale == 1.0:
        qb = [-qa2, -qa1, unit]
    elif kind == "aph":               # (1 - AP) / 2 = c (1 - z^-2) / A with 2c = 1 - a2 = A(1) + A(-1) / 2
        c = int(round((unit + qa2) / 2.0))
        qb = [c, 0, -c]
    else:
        qb = [int(round(v * unit)) for v in b]
    q = (*qb, qa1, qa2)
    if max(abs(v) for v in q) > Q31_MAX:
        raise InputError(f"{label}: a coefficient does not fit Q{1 + s}.{31 - s}", field=label)
    return q, s


D2_UNIT = 2 ** 32


def quantize_delta(sos_row, label: str, *, scale: float = 1.0, kind: str = "general") -> tuple[tuple[int, ...], int]:
    """Quantise one section for the delta form (D2): every coefficient in units of 2^-32 (two bits
    finer than Q2.30), the feedback taps stored as their distance from the double pole at z = 1,
    a1 - 2 and a2 + 1 (CMSIS sign), which are small for the low sections this form is for. Returns
    ((b0, b1, b2, qa1, qa2), -1) with qa1, qa2 the full taps in 2^-32 units (so _as_sos reads them);
    raises InputError if a stored value does not fit an int32 or the poles are not inside the circle.
    Kinds as quantize_section ('lp': exact DC gain; 'hp': exactly g [1 -2 1])."""
    b = np.asarray(sos_row[:3], dtype=np.float64) * scale
    a1, a2 = float(sos_row[4]), float(sos_row[5])
    unit = D2_UNIT
    qa1, qa2 = int(round(-a1 * unit)), int(round(-a2 * unit))
    poles = np.roots([1.0, -qa1 / unit, -qa2 / unit])
    if np.max(np.abs(poles)) >= 1.0 - 1e-12:
        raise InputError(f"{label}: poles at radius {np.max(np.abs(poles)):.12f} after quantising: unstable", field=label)
    den = unit - qa1 - qa2
    if kind == "lp":
        qb0 = int(round(scale * den / 4.0))
        qb = [qb0, int(round(scale * den)) - 2 * qb0, qb0]
    elif kind == "hp":
        qb0 = int(round(scale * (unit + qa1 - qa2) / 4.0))
        qb = [qb0, -2 * qb0, qb0]
    elif kind == "aph":
        c = int(round((unit + qa2) / 2.0))
        qb = [c, 0, -c]
    elif kind == "ap" and scale == 1.0:   # mirrored taps: |H| = 1 exactly; stored as D2X with b2 = 0
        qb = [-qa2, -qa1, unit]
    else:
        qb = [int(round(v * unit)) for v in b]
    if _delta_stored(qb, qa1, qa2) is None:
        raise InputError(f"{label}: does not fit the delta form (a coefficient or pole distance >= 0.5)", field=label)
    return (*qb, qa1, qa2), -1


def _delta_stored(qb, qa1: int, qa2: int):
    """(precision, stored coefficients) of a delta-form section, or None if it fits neither form:
    D2 stores b as is; D2X (high-pass sections, b = g [1 -2 1] with g near 1) stores
    b - 2^32 [1 -2 1] and adds x[n] to the output (acc = C + 2^32 x: the same integers)."""
    tail = (qa1 - 2 * D2_UNIT, qa2 + D2_UNIT)
    for prec, ff in ((D2, tuple(qb)), (D2X, (qb[0] - D2_UNIT, qb[1] + 2 * D2_UNIT, qb[2] - D2_UNIT))):
        if max(abs(v) for v in (*ff, *tail)) <= Q31_MAX:
            return prec, (*ff, *tail)
    return None


def _refine(secs, fs_hz: float, radius: int = 2, quantizer=None):
    """Choose the feedback roundings of one or two sections jointly so the quantised response is
    closest to the float one (max complex error over 5 Hz..0.49 fs): the sections' pole errors can
    cancel to first order, which independent rounding leaves to chance. secs: (row, kind, label,
    scale) per section. Returns one (q, s, label) per section. quantizer: quantize_section (default)
    or quantize_delta."""
    quantizer = quantizer or quantize_section
    f = np.geomspace(5.0, 0.49 * fs_hz, 600)
    z1 = np.exp(-2j * np.pi * f / fs_hz)

    def resp(b, a):
        return (b[0] + b[1] * z1 + b[2] * z1 ** 2) / (a[0] + a[1] * z1 + a[2] * z1 ** 2)

    target = np.ones(len(f), dtype=complex)
    options = []
    for row, kind, label, sc in secs:
        target = target * resp(np.asarray(row[:3]) * sc, row[3:])
        base, s = quantizer(row, label, scale=sc, kind=kind)
        unit = 2 ** (31 - s)
        cand_q, cand_r = [], []
        for d1 in range(-radius, radius + 1):
            for d2 in range(-radius, radius + 1):
                qa1, qa2 = base[3] + d1, base[4] + d2
                try:
                    q = quantizer(np.array([*row[:3], 1.0, -qa1 / unit, -qa2 / unit]), label, scale=sc, kind=kind)
                except InputError:
                    continue
                cand_q.append((*q, label))
                cand_r.append(resp(np.array(q[0][:3]) / unit, [1.0, -q[0][3] / unit, -q[0][4] / unit]))
        options.append((cand_q, np.array(cand_r)))
    if len(options) == 1:
        i = int(np.argmin(np.max(np.abs(options[0][1] - target[None, :]), axis=1)))
        return [options[0][0][i]]
    (q0, r0), (q1, r1) = options
    err = np.max(np.abs(r0[:, None, :] * r1[None, :, :] - target[None, None, :]), axis=2)
    i, j = np.unravel_index(np.argmin(err), err.shape)
    return [q0[i], q1[j]]


def _refine_h(sec, lp_q, hp_sos, fs_hz: float, radius: int = 3, delta: bool = False):
    """The h section of a high-pass branch (1 - 2 h - LP): choose its feedback roundings and its
    numerator c so that branch, with the already quantised low-pass, is closest to the float LR4
    high-pass (max complex error over 5 Hz..0.49 fs). Its poles then track the low-pass's rounding
    and the low-frequency cancellation stays as good as two separately quantised high-passes.

    One rounded pole pair near z = 1 is too coarse on its own (A(1) off by up to an LSB, -100 dB
    at 70 Hz / 48 kHz): a sixth coefficient F adds F / 2^32 LSB to a1 (the C adds round(y1 F / 2^32)
    to the accumulator's seed, one SMMLAR), chosen so the two roundings' errors cancel at z = 1.
    delta=True: the section in the delta form instead (quantize_delta: 2^-32 units, no F)."""
    row, kind, label, _ = sec
    f = np.geomspace(5.0, 0.49 * fs_hz, 600)
    target = signal.sosfreqz(hp_sos, worN=f, fs=fs_hz)[1]
    low = np.ones(len(f), dtype=complex)
    for q, s, _ in lp_q:
        low *= signal.sosfreqz(_as_sos(q, s)[None, :], worN=f, fs=fs_hz)[1]
    scale = 1.0                  # 2^-H when the low-pass carries the input scale, else 1: its DC gain
    for q, s, _ in lp_q:
        scale *= sum(q[:3]) / (2.0 ** (31 - s) - q[3] - q[4])
    base, s = (quantize_delta if delta else quantize_section)(row, label, kind=kind)
    unit = 2 ** (31 - s)
    exact1, exact2 = -float(row[4]) * unit, -float(row[5]) * unit     # CMSIS sign
    z1 = np.exp(-2j * np.pi * f / fs_hz)
    best = None
    for d1 in range(-radius, radius + 1):
        for d2 in range(-radius, radius + 1):
            qa1, qa2 = base[3] + d1, base[4] + d2
            fine = 0 if delta else int(np.clip(round(-((qa1 - exact1) + (qa2 - exact2)) * 2.0 ** 32), -2 ** 31, 2 ** 31 - 1))
            if delta and max(abs(qa1 - 2 * unit), abs(qa2 + unit)) > Q31_MAX:
                continue
            a1 = qa1 + fine / 2.0 ** 32
            if np.max(np.abs(np.roots([1.0, -a1 / unit, -qa2 / unit]))) >= 1.0 - 1e-12:
                continue
            a = 1.0 - a1 / unit * z1 - qa2 / unit * z1 ** 2
            # The error is affine in c, its maximum convex: integer ternary search. The pole rounding
            # moves A near z = 1 by a relative error that a numerator tweak of many LSB undoes.
            g = 2.0 * scale / unit * (1.0 - z1 ** 2) / a
            r = scale - low - scale * target
            err = lambda c: float(np.max(np.abs(r - c * g)))
            lo, hi = int(round((unit + qa2) / 2.0)) - (1 << 16), int(round((unit + qa2) / 2.0)) + (1 << 16)
            while hi - lo > 2:
                m1, m2 = lo + (hi - lo) // 3, hi - (hi - lo) // 3
                if err(m1) <= err(m2):
                    hi = m2
                else:
                    lo = m1
            for c in range(lo, hi + 1):
                e = err(c)
                if best is None or e < best[0]:
                    best = (e, (c, 0, -c, qa1, qa2) if delta else (c, 0, -c, qa1, qa2, fine))
    if best is None or (delta and abs(best[1][0]) > Q31_MAX):
        raise InputError(f"{label}: no stable quantisation", field=label)
    return (best[1], s, label), 20 * math.log10(best[0] / scale + 1e-300)


def _impulse_len(sections: list[tuple[tuple[int, ...], int]]) -> int:
    r = 0.0
    for q, s in sections:
        unit = 2.0 ** (31 - s)
        r = max(r, float(np.max(np.abs(np.roots([1.0, -q[3] / unit, -q[4] / unit])))))
    n = int(math.log(1e-12) / math.log(max(r, 1e-6))) + 64
    return min(max(n, 256), 1 << 22)


def _as_sos(q, s) -> np.ndarray:
    """scipy sos row of CMSIS-layout coefficients (a sixth entry: an h section's a1 fraction)."""
    unit = 2.0 ** (31 - s)
    a1 = q[3] + (q[5] / 2.0 ** 32 if len(q) > 5 else 0.0)
    return np.array([q[0] / unit, q[1] / unit, q[2] / unit, 1.0, -a1 / unit, -q[4] / unit])


def std_noise_dbfs(q, s, headroom: int) -> float:
    """Error a 32-bit-state DF1 section adds (truncation bias + noise through 1/A), in dBFS."""
    sos = _as_sos(q, s)
    n = _impulse_len([(q, s)])
    imp = np.zeros(n)
    imp[0] = 1.0
    h = signal.lfilter([1.0], sos[3:], imp)
    lsb = 2.0 ** (headroom - 31)
    err = (0.5 * abs(h.sum()) + math.sqrt(np.sum(h ** 2) / 12.0)) * lsb
    return 20 * math.log10(err)


# ------------------------------------------------------------------ dynamics constants
@dataclass(frozen=True)
class CompressorQ:
    threshold: int        # Q7.24 log2-power
    knee: int             # full width, Q7.24 (0: hard knee)
    knee_c: int           # (1 - 1/ratio) / (2 knee), Q24 per log2-unit
    slope: int            # (1 - 1/ratio), Q2.30
    floor: int            # most reduction, Q7.24 (negative)
    makeup: int           # Q7.24
    a_att: int            # Q1.31
    a_rel: int            # Q1.31
    g_idle: int           # Q5.27 gain at silence
    idle_power: int = 0   # smoothed power sums <= this are below the knee: the gain is g_idle (the C
                          # skips its log2/exp2 there; _idle_power proves the value is the same)


@dataclass(frozen=True)
class LimiterQ:
    threshold: int        # ceiling in the input's units: bands Q(1+H).(31-H), output Q(2+H).(30-H)
    release_step: int     # Q2.30 gain recovered per block
    k: int                # lookahead_blocks - 1
    delay: int            # samples


@dataclass(frozen=True)
class MbdpPlan:
    profile: Profile
    block: int
    headroom: int                    # H
    power_shift: int                 # p: detectors square x >> p
    level_offset: int                # Q7.24, added to log2(sum) to give log2(2 * mean power)
    highpass: Chain | None
    lp: tuple[Chain, ...]            # lp[i]: the two LP(f_i) sections
    hp: tuple[Chain, ...]            # hp[i]: the all-pass AP(f_i); the high-pass branch is AP - LP
    comp: tuple[Chain, ...]          # comp[i]: band i's compensating all-passes (may be empty)
    compressors: tuple[CompressorQ, ...]
    band_limiters: tuple[LimiterQ, ...]
    out_limiter: LimiterQ
    guard: Chain | None = None       # excursion guard side-chain of the full-band limiter
    split_h: tuple[bool, ...] = ()   # split_h[i]: hp[i] is the h section of AP - LP, else two HP sections
    guard_threshold: int = 0         # guard_threshold in the guard chain's integer output units
    fast_gain: tuple[bool, ...] = () # per band: |v| < 2^30 and g < 2^28 proven, so the compressor
                                     # product never saturates (the C may use SMMLAR(2 v, G, v))
    notes: dict = field(default_factory=dict, compare=False)

    @property
    def n_bands(self) -> int:
        return len(self.compressors)

    def chains(self) -> list[Chain]:
        """The signal tree's chains (the guard side-chain is separate: plan.guard)."""
        return ([self.highpass] if self.highpass else []) + [
            c for trio in zip(self.lp, self.hp, self.comp) for c in trio if c.sections]


def _q_range(value: float, frac: int, what: str, field_name: str, bits: int = 32) -> int:
    q = int(np.floor(value * 2.0 ** frac + 0.5))
    if not -(2 ** (bits - 1)) <= q < 2 ** (bits - 1):
        raise InputError(f"{what} = {value:g} is outside the range of its Q{bits - frac}.{frac} format",
                         field=field_name)
    return q


def _log2_units(db: float) -> float:
    """dB (power or amplitude, both are 10*log10 power) -> log2 of power."""
    return db / (10.0 * math.log10(2.0))


def compressor_gain_q27(ps: int, c: CompressorQ, level_offset: int) -> int:
    """Gain computer for a smoothed block power sum ps (integer). Mirrors dynamics.compressor_gain_db."""
    level = log2_q24(max(ps, 1)) + level_offset
    over = level - c.threshold
    if c.knee > 0 and 2 * abs(over) <= c.knee:
        u = over + (c.knee >> 1)
        red = -((((u * u) >> LOG_FRAC) * c.knee_c) >> LOG_FRAC)
    elif over > 0:
        red = -((over * c.slope) >> LIM_FRAC)
    else:
        red = 0
    return exp2_q27(max(red, c.floor) + c.makeup)


def _idle_power(c: CompressorQ, level_offset: int) -> int:
    """Largest smoothed power sum for which the gain computer certainly returns g_idle: the level is
    below the knee (over <= -(knee // 2) - 1; hard knee: over <= 0), with 64 LSB (Q7.24) to spare for
    log2_q24's approximation error (< 6 LSB). Checked here at the bound and below it."""
    edge = (-(c.knee // 2) - 1 if c.knee > 0 else 0) + c.threshold - level_offset - 64   # log2_q24 limit
    if edge < 0:
        return 0
    ps = min(int(math.floor(2.0 ** (edge / 2.0 ** LOG_FRAC))), 2**63 - 1)
    probe = {max(1, ps - d) for d in (0, 1, 2, 3, 1000)} | {max(1, ps >> k) for k in range(1, 63)}
    if any(compressor_gain_q27(v, c, level_offset) != c.g_idle for v in probe):
        return 0
    return ps


def _check_profile(p: Profile) -> None:
    try:
        check_crossovers(p.crossovers_hz, p.sample_rate_hz)
    except InputError as exc:
        raise InputError(str(exc), field="crossover.frequencies_hz") from None
    if p.highpass_hz is not None and not 0 < p.highpass_hz < 0.45 * p.sample_rate_hz:
        raise InputError(f"{p.highpass_hz:g} Hz is not below 0.45 * fs", field="highpass.frequency_hz")
    if p.block_samples < 1 or abs(p.block_samples - p.sample_rate_hz * p.block_ms / 1000) > 1e-6:
        raise InputError(f"{p.block_ms:g} ms is not a whole number of samples", field="profile.block_ms")
    for key, la in (("band_limiter.lookahead_ms", p.lookahead_blocks), ("output_limiter.lookahead_ms", p.output_lookahead_blocks)):
        if la < 2:
            raise InputError("look-ahead must be at least 2 blocks", field=key)
    if len(p.bands) != len(p.crossovers_hz) + 1:
        raise InputError(f"{len(p.crossovers_hz)} crossovers need {len(p.crossovers_hz) + 1} bands", field="band")


def _limiter_q(lp: LimiterParams, la_blocks: int, p: Profile, headroom: int, where: str) -> LimiterQ:
    if lp.threshold_db > 0.0:
        raise InputError(f"{lp.threshold_db:g} dB: a limiter ceiling above 0 dBFS does not fit the Q1.31 output",
                         field=f"{where}.threshold_db")
    thr = int(math.floor(10.0 ** (lp.threshold_db / 20.0) * 2.0 ** (31 - headroom)))
    if thr < 1:
        raise InputError(f"{lp.threshold_db:g} dB is below the smallest representable level", field=f"{where}.threshold_db")
    step = int(math.floor(2.0 ** LIM_FRAC * p.block_ms / lp.release_ms))
    if not 1 <= step <= 2 ** LIM_FRAC:
        raise InputError(f"release {lp.release_ms:g} ms gives a per-block step of {step} in Q2.30 (must be 1..2^30)",
                         field=f"{where}.release_ms")
    return LimiterQ(threshold=thr, release_step=step, k=la_blocks - 1, delay=la_blocks * p.block_samples)


def _compressor_q(c: CompressorParams, p: Profile, headroom: int, power_shift: int, where: str) -> CompressorQ:
    if c.ratio < 1.0:
        raise InputError(f"ratio {c.ratio:g} must be >= 1", field=f"{where}.compressor_ratio")
    slope = 1.0 - 1.0 / c.ratio
    knee = _log2_units(c.knee_db)
    if knee < MIN_KNEE_LOG2:
        knee = 0.0
    def coef(ms, key):
        a = 1.0 - math.exp(-p.block_ms / ms)
        q = _q_range(a, COEF_FRAC, f"{key} coefficient", f"{where}.{key}")
        if q < 1:
            raise InputError(f"{ms:g} ms is too slow for Q1.31 smoothing at {p.block_ms:g} ms blocks", field=f"{where}.{key}")
        return min(q, Q31_MAX)
    makeup = _log2_units(c.makeup_db)
    if 0.5 * makeup >= 4.0 - 1e-6:
        raise InputError(f"{c.makeup_db:g} dB make-up exceeds the Q5.27 gain range (< +24.08 dB)", field=f"{where}.compressor_makeup_db")
    if c.floor_db < -180.0 or c.floor_db > 0.0:
        raise InputError(f"{c.floor_db:g} dB is outside [-180, 0]", field=f"{where}.compressor_floor_db")
    cq = CompressorQ(
        threshold=_q_range(_log2_units(c.threshold_db), LOG_FRAC, "threshold", f"{where}.compressor_threshold_db"),
        knee=_q_range(knee, LOG_FRAC, "knee", f"{where}.compressor_knee_db"),
        knee_c=_q_range(slope / (2.0 * knee), LOG_FRAC, "knee curvature", f"{where}.compressor_knee_db") if knee > 0 else 0,
        slope=_q_range(slope, LIM_FRAC, "1 - 1/ratio", f"{where}.compressor_ratio"),
        floor=_q_range(_log2_units(c.floor_db), LOG_FRAC, "floor", f"{where}.compressor_floor_db"),
        makeup=_q_range(makeup, LOG_FRAC, "make-up", f"{where}.compressor_makeup_db"),
        a_att=coef(c.attack_ms, "compressor_attack_ms"), a_rel=coef(c.release_ms, "compressor_release_ms"),
        g_idle=0,
    )
    return cq


def _section_l1(row) -> float:
    n = _impulse_len([((0, 0, 0, int(round(-row[4] * 2**30)), int(round(-row[5] * 2**30))), 1)])
    imp = np.zeros(n)
    imp[0] = 1.0
    return float(np.sum(np.abs(signal.lfilter(row[:3], row[3:], imp))))


def _guard_plan(p: Profile, headroom: int, precise: str) -> tuple[Chain | None, int]:
    """Quantise the excursion guard (designer: sosfilt(guard_sos, total), limit |s| <= threshold).

    Each section's feed-forward taps are divided by its own L1 gain (times 0.45 for the first), so
    no prefix can exceed 0.45 of full scale for any input; the gains taken out move into the integer
    threshold: |s| > thr  <=>  |s_int| > thr / K * 2^(31-H), K the product of the removed gains."""
    if not p.guard_sos:
        return None, 0
    rows = np.array(p.guard_sos, dtype=np.float64)
    secs, k_gain = [], 1.0
    for j, row in enumerate(rows):
        l1 = _section_l1(row)
        if not np.isfinite(l1) or l1 <= 0:
            raise InputError(f"section {j + 1} has no finite L1 gain", field="excursion_guard.sos")
        scale = (0.45 if j == 0 else 0.999) / l1
        k_gain /= scale
        label = f"excursion guard section {j + 1}"
        try:
            (q, s, lab), = _refine([(row, "general", label, scale)], p.sample_rate_hz)
        except InputError as exc:
            raise InputError(str(exc), field="excursion_guard.sos") from None
        # The guard is only a detector: first-order error feedback is plenty (its noise moves the
        # limiter gain by far less than an LSB), so no second-order sections here.
        prec = _precision(q, s, headroom, precise)
        secs.append(Section(coeffs=tuple(int(v) for v in q), post_shift=s,
                            precision=EF if prec == EF2 else prec, label=lab))
    thr = int(math.floor(p.guard_threshold / k_gain * 2.0 ** (31 - headroom)))
    if thr < 1 << 12:
        raise InputError(f"the guard filter's gain ({k_gain:.3g} Xmax per full scale) leaves its threshold only "
                         f"{thr} steps in Q31: too coarse", field="excursion_guard.threshold")
    return Chain("guard", tuple(secs)), thr


def plan_mbdp(profile: Profile, *, precise: str = EF) -> MbdpPlan:
    """Quantise a profile. Every range and stability problem is an InputError naming the field.

    Sections whose 32-bit-state noise (std_noise_dbfs) stays below STD_NOISE_LIMIT_DBFS use CMSIS
    arm_biquad_cascade_df1_q31; the others use `precise`: EF (our error-feedback DF1, default: about
    8.4 instructions per sample on a Cortex-M4) or HIGH (CMSIS arm_biquad_cas_df1_32x64_q31, measured
    at 56 instructions per sample per stage on a Cortex-M4 with gcc 12). With EF, sections whose
    first-order noise exceeds EF1_NOISE_LIMIT_DBFS get second-order shaping: low- and high-pass
    sections in the delta forms D2 / D2X (8.4 / 10.1 instructions per sample, 2^-32 coefficient
    units) where their coefficients fit, others (all-passes) EF2 (11.9).

    Each crossover's high-pass branch is AP - LP = u - 2 h(u) - LP (split_h[i]) where that stays
    within H_FORM_ERROR_LIMIT_DB of the float LR4 high-pass and 2h's noise within
    H_FORM_NOISE_LIMIT_DBFS: h in the delta form (d2h, ~12.5 instructions per sample) where it fits,
    else one ef section with a1 refined by F / 2^32 (efh, ~14.6); otherwise the two high-pass
    sections as designed. The excursion guard (a detector) never uses second-order shaping."""
    if precise not in (EF, HIGH):
        raise InputError(f"precise biquad form must be '{EF}' or '{HIGH}', got {precise!r}")
    p = profile
    _check_profile(p)
    fs = p.sample_rate_hz
    xo = design_crossover(p.crossovers_hz, fs)
    n_x = len(p.crossovers_hz)
    block = p.block_samples

    def build(headroom: int):
        scale0 = 2.0 ** -headroom
        sections: dict[str, list] = {}
        hp_rows: dict[int, list] = {}
        split_h.clear()
        if p.highpass_hz is not None:
            hp_sos = highpass_sos(p.highpass_hz, p.highpass_order, fs)
            # Each Butterworth section has its zeros at z = 1: quantised as 'hp' with unity gain at
            # Nyquist per section (the product's, as for the float design).
            sections["highpass"] = [(row, "hp", f"highpass {p.highpass_hz:g} Hz section {j + 1}", scale0 if j == 0 else 1.0)
                                    for j, row in enumerate(hp_sos)]
            scale0 = 1.0
        for i, fc in enumerate(p.crossovers_hz):
            first = scale0 if i == 0 else 1.0
            sections[f"lp{i}"] = [(xo.lp_sos[i][j], "lp", f"crossover {i + 1} ({fc:g} Hz) low-pass {j + 1}", first if j == 0 else 1.0) for j in range(2)]
            # LR4: LP + HP = AP exactly (designer/crossover.py), so the high-pass branch is AP - LP,
            # and AP = 1 - 2 h with h = (1 - AP) / 2 = c (1 - z^-2) / A: one section instead of two
            # high-pass sections, and h (L1 gain < 2) cannot overflow where the all-pass itself could.
            # rest' = u - 2 h(u) - LP(x), u the rest (x >> H for the first split without high-pass).
            a = xo.ap_sos[i][0]
            h_row = np.array([(1.0 - a[5]) / 2.0, 0.0, -(1.0 - a[5]) / 2.0, 1.0, a[4], a[5]])
            sections[f"hp{i}"] = [(h_row, "aph", f"crossover {i + 1} ({fc:g} Hz) high-pass = 1 - 2 h - low-pass, h section", 1.0)]
            hp_rows[i] = [(xo.hp_sos[i][j], "hp", f"crossover {i + 1} ({fc:g} Hz) high-pass {j + 1}", first if j == 0 else 1.0) for j in range(2)]
            sections[f"ap{i}"] = [(xo.ap_sos[m][0], "ap", f"band {i + 1} all-pass {p.crossovers_hz[m]:g} Hz", 1.0)
                                  for m in xo.allpass_indices(i)]
        quant = {}
        for name, secs in sections.items():
            q = [(*quantize_section(row, label, scale=sc, kind=kind), label) for row, kind, label, sc in secs]
            # An LR4 pair (two identical sections), and the high-pass (one or two sections), get their
            # feedback roundings tuned jointly.
            if name == "highpass":
                q = _refine(secs, fs)
                if precise == EF and any(_precision(q_, s_, headroom, precise) == EF2 for q_, s_, _ in q):
                    try:
                        q = _refine(secs, fs, quantizer=quantize_delta)
                    except InputError:
                        pass
            elif name.startswith("lp"):
                q[0], q[1] = _refine(secs, fs)
                # Sections that would need second-order error feedback run in the delta form when
                # they fit it: the same noise shaping at first-order cost, 2 more coefficient bits.
                if precise == EF and any(_precision(q_, s_, headroom, precise) == EF2 for q_, s_, _ in q):
                    try:
                        q[0], q[1] = _refine(secs, fs, quantizer=quantize_delta)
                    except InputError:
                        pass
            elif name.startswith("hp"):
                # The one-section form where its single rounded pole pair keeps the branch within
                # H_FORM_ERROR_LIMIT_DB of float (poles near z = 1 are too coarse in Q2.30 for
                # that: there the two jointly rounded high-pass sections stay).
                i = int(name[2:])
                # First choice the h section in the delta form (d2h: second-order shaping, 2^-32
                # coefficient units, cheaper than efh); where its coefficients do not fit (high
                # crossovers) or it is not accurate enough, efh (first-order error feedback).
                ok = False
                if precise == EF:
                    try:
                        q_h, err_db = _refine_h(secs[0], quant[f"lp{i}"], xo.hp_sos[i], fs, delta=True)
                        noise_db = ef2_noise_dbfs(q_h[0], q_h[1], headroom) + 20 * math.log10(2.0)
                        ok = err_db <= H_FORM_ERROR_LIMIT_DB and noise_db <= H_FORM_NOISE_LIMIT_DBFS
                    except InputError:
                        pass
                if not ok:
                    q_h, err_db = _refine_h(secs[0], quant[f"lp{i}"], xo.hp_sos[i], fs)
                    noise_db = ef1_noise_dbfs(q_h[0], q_h[1], headroom) + 20 * math.log10(2.0)
                    ok = err_db <= H_FORM_ERROR_LIMIT_DB and noise_db <= H_FORM_NOISE_LIMIT_DBFS
                split_h.append(ok)
                if split_h[-1]:
                    q = [q_h]
                else:
                    q = _refine(hp_rows[i], fs)
                    if precise == EF and any(_precision(q_, s_, headroom, precise) == EF2 for q_, s_, _ in q):
                        try:
                            q = _refine(hp_rows[i], fs, quantizer=quantize_delta)
                        except InputError:
                            pass
            if name.startswith("ap") and precise == EF:
                # All-passes that need second-order shaping: the delta form D2X (b2 - 2^32 = 0, so
                # four products per sample instead of ef2's five plus its residue handling).
                for j, (row, kind, label, sc) in enumerate(secs):
                    if _precision(q[j][0], q[j][1], headroom, precise) == EF2:
                        try:
                            q[j] = (*quantize_delta(row, label, scale=sc, kind=kind), label)
                        except InputError:
                            pass
            quant[name] = q
        return quant

    # Headroom: smallest H >= 2 for which every filter output in the tree (every prefix of every
    # chain, and the AP - LP high-pass branches) has an L1 gain <= 0.9: no state or sum overflows.
    split_h: list[bool] = []
    for headroom in range(2, 9):
        quant = build(headroom)
        n = _impulse_len([(q, s_) for secs in quant.values() for q, s_, _ in secs])
        worst = 0.0

        def through(imp, secs):
            nonlocal worst
            for q, s_, _ in secs:
                imp = signal.lfilter(_as_sos(q, s_)[:3], _as_sos(q, s_)[3:], imp)
                # Accumulator bound: |b| * max|x| + |a| * max|y| must stay below 2^63 / 2^(s+1).
                worst = max(worst, float(np.sum(np.abs(imp))))
            return imp

        x = np.zeros(n)
        x[0] = 1.0
        band_l1 = []                     # L1 gain of each band signal (the compressors' inputs)
        if "highpass" in quant:
            x = through(x, quant["highpass"])
            u = x
        else:
            u = x * 2.0 ** -headroom     # the first low-pass carries the scale, the h branch shifts
        for i in range(n_x):
            low = through(x, quant[f"lp{i}"])
            band_l1.append(float(np.sum(np.abs(through(low, quant[f"ap{i}"])))))
            # u - 2 h - low is computed modulo 2^32: only h and the result must fit.
            if split_h[i]:
                x = u = u - 2.0 * through(u, quant[f"hp{i}"]) - low
            else:
                x = u = through(x, quant[f"hp{i}"])
            worst = max(worst, float(np.sum(np.abs(x))))
        band_l1.append(float(np.sum(np.abs(x))))
        if worst <= 0.9:
            break
    else:
        raise InputError(f"the filter tree has an L1 gain of {worst * 2 ** headroom:.1f}: more than 8 bits of headroom needed")

    # How far the quantised tree is from the float design: per band, the largest complex response
    # error (5 Hz .. 0.45 fs, relative to full scale). Q2.30 poles cannot follow crossovers or
    # high-passes very far below fs/1000: refuse those rather than generate a quietly wrong filter.
    f = np.geomspace(5.0, 0.45 * fs, 800)
    def resp(sections, scale=1.0):
        h = np.ones(len(f), dtype=complex)
        for q, s_, _ in sections:
            h *= signal.sosfreqz(_as_sos(q, s_)[None, :], worN=f, fs=fs)[1]
        return h * scale
    hp_f = signal.sosfreqz(highpass_sos(p.highpass_hz, p.highpass_order, fs), worN=f, fs=fs)[1] if p.highpass_hz else 1.0
    hp_q = resp(quant["highpass"]) if p.highpass_hz else 1.0
    u_q = hp_q if p.highpass_hz else 2.0 ** -headroom
    coef_err = []
    up_f, up_q = hp_f, hp_q
    for k in range(n_x + 1):
        band_f = up_f * (signal.sosfreqz(xo.band_chain(k, compensated=True)[2 * k:], worN=f, fs=fs)[1] if k < n_x else 1.0)
        band_q = up_q * (resp(quant[f"lp{k}"]) * resp(quant[f"ap{k}"]) if k < n_x else 1.0)
        coef_err.append(float(20 * np.log10(np.max(np.abs(band_q * 2.0 ** headroom - band_f)) + 1e-300)))
        if k < n_x:
            up_f = up_f * signal.sosfreqz(xo.hp_sos[k], worN=f, fs=fs)[1]
            if split_h[k]:
                up_q = u_q = u_q * (1.0 - 2.0 * resp(quant[f"hp{k}"])) - up_q * resp(quant[f"lp{k}"])
            else:
                up_q = u_q = up_q * resp(quant[f"hp{k}"])
    worst_band = int(np.argmax(coef_err))
    if coef_err[worst_band] > COEF_ERROR_LIMIT_DB:
        lowest = min([*p.crossovers_hz, *( [p.highpass_hz] if p.highpass_hz else [])])
        raise InputError(f"band {worst_band + 1} differs from the float design by {coef_err[worst_band]:.0f} dB after "
                         f"quantising its filters to Q2.30 (limit {COEF_ERROR_LIMIT_DB:.0f} dB): {lowest:g} Hz is too low a "
                         f"frequency for {fs} Hz; use a lower sample rate or a higher frequency",
                         field="crossover.frequencies_hz" if lowest in p.crossovers_hz else "highpass.frequency_hz")

    def chain(name: str) -> Chain:
        secs = []
        for q, s, label in quant[name]:
            if s == -1:         # delta form: a1, a2 stored as distances from the double pole at z = 1
                prec, stored = _delta_stored([int(v) for v in q[:3]], int(q[3]), int(q[4]))
                secs.append(Section(coeffs=tuple(int(v) for v in stored), post_shift=-1, precision=prec, label=label))
                continue
            # The h sections of the high-pass branches always run in the fused error-feedback kernel.
            prec = EF if name.startswith("hp") and split_h[int(name[2:])] else _precision(q, s, headroom, precise)
            secs.append(Section(coeffs=tuple(int(v) for v in q), post_shift=s, precision=prec, label=label))
        return Chain(name, tuple(secs))

    power_shift = max(0, math.ceil((math.log2(block) + 1) / 2))
    # sum over a block of (x >> p)^2, x in Q(31-H): mean power = sum / block / 2^(2(31-H-p)).
    level_offset = float_to_q(1.0 - math.log2(block) - 2 * (31 - headroom - power_shift), LOG_FRAC).item()
    comps = []
    for k, b in enumerate(p.bands):
        cq = _compressor_q(b.compressor, p, headroom, power_shift, f"band {k + 1}")
        g_idle = compressor_gain_q27(0, cq, level_offset)
        cq = CompressorQ(**{**cq.__dict__, "g_idle": g_idle})
        comps.append(CompressorQ(**{**cq.__dict__, "idle_power": _idle_power(cq, level_offset)}))
    for k, c in enumerate(comps):
        if c.makeup + 0 >= (4 << 25) * 2:
            raise InputError("make-up gain out of range", field=f"band {k + 1}.compressor_makeup_db")
    # Where a band's input provably stays below 2^30 (its L1 gain, 2 % and 2^20 LSB spare for the
    # filters' rounding) and its gain below 2^28 (2.0: the gain is at most exp2(make-up), the
    # static curve only reduces), round(v g / 2^27) never saturates: the C may take it as
    # v + round(2 v G / 2^32) with G = 16 (g - 2^27), one SMMLAR, the same integer.
    fast_gain = tuple(
        l1 * 2.0 ** 31 * 1.02 + 2.0 ** 20 < 2.0 ** 30
        and max(exp2_q27(c.makeup), c.g_idle) * 1.0001 + 64 < 2.0 ** 28
        for l1, c in zip(band_l1, comps))
    # The output stage (and the guard reading its delay line) works at half the band resolution.
    guard, guard_thr = _guard_plan(p, headroom + 1, precise)
    plan = MbdpPlan(
        profile=p, block=block, headroom=headroom, power_shift=power_shift, level_offset=level_offset,
        highpass=chain("highpass") if p.highpass_hz is not None else None,
        lp=tuple(chain(f"lp{i}") for i in range(n_x)), hp=tuple(chain(f"hp{i}") for i in range(n_x)),
        comp=tuple(chain(f"ap{i}") for i in range(n_x)), split_h=tuple(split_h),
        compressors=tuple(comps),
        band_limiters=tuple(_limiter_q(b.limiter, p.lookahead_blocks, p, headroom, f"band {k + 1}.limiter")
                            for k, b in enumerate(p.bands)),
        out_limiter=_limiter_q(p.output_limiter, p.output_lookahead_blocks, p, headroom + 1, "output_limiter"),
        guard=guard, guard_threshold=guard_thr, fast_gain=fast_gain,
        notes={"worst_l1": worst * 2 ** headroom, "coefficient_error_db": coef_err},
    )
    return plan


# ------------------------------------------------------------------ the model
def _biquad_std(x: list, q, s) -> list:
    """arm_biquad_cascade_df1_q31, one stage: 64-bit accumulator, output truncated to 32 bits."""
    b0, b1, b2, a1, a2 = q
    sh = 31 - s
    x1 = x2 = y1 = y2 = 0
    out = [0] * len(x)
    for n, x0 in enumerate(x):
        y0 = (b0 * x0 + b1 * x1 + b2 * x2 + a1 * y1 + a2 * y2) >> sh
        out[n] = y0
        x2, x1, y2, y1 = x1, x0, y1, y0
    return out


def _biquad_high(x: list, q, s) -> list:
    """arm_biquad_cas_df1_32x64_q31, one stage: Q63 output state, mult32x64 on the feedback."""
    b0, b1, b2, a1, a2 = q
    sh = s + 1
    m = 0xFFFFFFFF
    x1 = x2 = 0
    y1 = y2 = 0
    out = [0] * len(x)
    for n, x0 in enumerate(x):
        acc = (b0 * x0 + b1 * x1 + b2 * x2 + (((y1 & m) * a1) >> 32) + (y1 >> 32) * a1
               + (((y2 & m) * a2) >> 32) + (y2 >> 32) * a2)
        y0 = acc << sh
        out[n] = y0 >> 32
        x2, x1, y2, y1 = x1, x0, y1, y0
    return out


def _biquad_ef(x: list, q, s) -> list:
    """tr_biquad_ef_q31, one stage: DF1 with first-order error feedback ("fraction saving"): the bits
    truncated off one output are added to the next accumulator, so the truncation error is shaped by
    (1 - z^-1) and has no DC part. Near-z=1 poles then cost ~16 dB of noise gain instead of ~57 dB."""
    b0, b1, b2, a1, a2 = q[:5]
    fine = q[5] if len(q) > 5 else 0     # h sections: a1 + fine / 2^32, seeded into the residue
    assert s == 1
    sh = 30
    x1 = x2 = y1 = y2 = e = 0
    out = [0] * len(x)
    for n, x0 in enumerate(x):
        acc = e + ((y1 * fine + (1 << 31)) >> 32) + b0 * x0 + b1 * x1 + b2 * x2 + a1 * y1 + a2 * y2
        y0 = acc >> sh
        e = acc - (y0 << sh)
        out[n] = y0
        x2, x1, y2, y1 = x1, x0, y1, y0
    return out


def _biquad_ef2(x: list, q, s) -> list:
    """tr_biquad_ef2_q31: DF1 with second-order error feedback: 2 e[n-1] - e[n-2] joins the
    accumulator, so the truncation error is shaped by (1 - z^-1)^2 -- what high-Q sections near
    z = 1 (a 4th-order high-pass at 60 Hz) need to stay near the Q31 noise floor."""
    b0, b1, b2, a1, a2 = q
    assert s == 1
    x1 = x2 = y1 = y2 = e1 = e2 = 0
    out = [0] * len(x)
    for n, x0 in enumerate(x):
        acc = 2 * e1 - e2 + b0 * x0 + b1 * x1 + b2 * x2 + a1 * y1 + a2 * y2
        y0 = acc >> 30
        e2, e1 = e1, acc - (y0 << 30)
        out[n] = y0
        x2, x1, y2, y1 = x1, x0, y1, y0
    return out


def _biquad_d2(x: list, q, s) -> list:
    """tr_biquad_d2_q31, the delta form: with coefficients in 2^-32 units and the feedback taps as
    a1' = a1 - 2, a2' = a2 + 1, the accumulator of second-order error feedback obeys
    acc[n] = 2 acc[n-1] - acc[n-2] + S[n], S the five products with a1', a2'; kept as two running
    sums D += S, acc += D (64-bit, modulo 2^64: only acc's true value must fit), y = acc >> 32.
    The same integers as DF1 with error feedback 2 e[n-1] - e[n-2] (e the 32 bits cut off), so the
    truncation error is shaped by (1 - z^-1)^2; on a Cortex-M the output is the high word of acc."""
    b0, b1, b2, a1, a2 = q
    assert s == -1
    x1 = x2 = y1 = y2 = acc = d = 0
    out = [0] * len(x)
    for n, x0 in enumerate(x):
        d += b0 * x0 + b1 * x1 + b2 * x2 + a1 * y1 + a2 * y2
        acc += d
        y0 = acc >> 32
        out[n] = y0
        x2, x1, y2, y1 = x1, x0, y1, y0
    return out


def _biquad_d2x(x: list, q, s) -> list:
    """tr_biquad_d2x_q31: the delta form with b = stored + 2^32 [1 -2 1] (see _delta_stored); the C
    keeps C = acc - 2^32 x[n] and outputs (C >> 32) + x[n], the same integers."""
    u = D2_UNIT
    return _biquad_d2(x, (q[0] + u, q[1] - 2 * u, q[2] + u, q[3], q[4]), s)


def ef1_noise_dbfs(q, s, headroom: int) -> float:
    """Error a first-order error-feedback section adds: noise through (1 - z^-1) / A, in dBFS."""
    sos = _as_sos(q, s)
    n = _impulse_len([(q, s)])
    imp = np.zeros(n)
    imp[0] = 1.0
    h = signal.lfilter([1.0, -1.0], sos[3:], imp)
    return 20 * math.log10(math.sqrt(np.sum(h ** 2) / 12.0) * 2.0 ** (headroom - 31))


def ef2_noise_dbfs(q, s, headroom: int) -> float:
    """Error a second-order error-feedback (or delta-form) section adds: noise through (1 - z^-1)^2 / A."""
    sos = _as_sos(q, s)
    n = _impulse_len([(q, s)])
    imp = np.zeros(n)
    imp[0] = 1.0
    h = signal.lfilter([1.0, -2.0, 1.0], sos[3:], imp)
    return 20 * math.log10(math.sqrt(np.sum(h ** 2) / 12.0) * 2.0 ** (headroom - 31))


def _precision(q, s, headroom: int, precise: str) -> str:
    if std_noise_dbfs(q, s, headroom) <= STD_NOISE_LIMIT_DBFS:
        return STD
    if precise == EF and ef1_noise_dbfs(q, s, headroom) > EF1_NOISE_LIMIT_DBFS:
        return EF2
    return precise


_BIQUADS = {STD: _biquad_std, HIGH: _biquad_high, EF: _biquad_ef, EF2: _biquad_ef2, D2: _biquad_d2, D2X: _biquad_d2x}


def run_chain(x: list, chain: Chain) -> list:
    for sec in chain.sections:
        x = _BIQUADS[sec.precision](x, sec.coeffs, sec.post_shift)
    return x


def _trunc_div(d: np.ndarray, n: int) -> np.ndarray:
    """C99 integer division (toward zero)."""
    return np.sign(d) * (np.abs(d) // n)


def _ramps(start: np.ndarray, end: np.ndarray, block: int) -> np.ndarray:
    """Per-sample gains: start + step * i, i = 1..block, step = (end - start) / block toward zero."""
    step = _trunc_div(end - start, block)
    return start[:, None] + step[:, None] * np.arange(1, block + 1, dtype=np.int64)[None, :]


def compress_fixed(x: np.ndarray, plan: MbdpPlan, c: CompressorQ) -> np.ndarray:
    """Compressor output in band units Q(1+H).(31-H): round(x g / 2^27), g in Q5.27, saturated."""
    block = plan.block
    xb = x.reshape(-1, block)
    xs = xb >> plan.power_shift
    sums = np.sum(xs * xs, axis=1)
    ps = 0
    gains = []
    for s in sums.tolist():
        d = s - ps
        ps += (d * (c.a_att if s > ps else c.a_rel)) >> COEF_FRAC
        gains.append(compressor_gain_q27(ps, c, plan.level_offset))
    g = np.array(gains, dtype=np.int64)
    end = np.concatenate([[c.g_idle], g[:-1]])
    start = np.concatenate([[c.g_idle], end[:-1]])
    # Rounded (no DC bias). Saturation as the C does it in one SSAT: clip the high word of the 64-bit
    # product to 27 bits and keep the 5 bits below it, so an overload lands within 31 LSB of full scale.
    p = xb * _ramps(start, end, block) + (1 << (GAIN_FRAC - 1))
    hi = np.clip(p >> 32, -(1 << 26), (1 << 26) - 1)
    return ((hi << 5) | ((p & 0xFFFFFFFF) >> GAIN_FRAC)).reshape(-1)


def block_peak(x: np.ndarray, block: int) -> np.ndarray:
    """Per block 1 + max(x ^ (x >> 31)): the ones' complement magnitude (|x|, or |x| - 1 for x < 0;
    one EOR on a Cortex-M instead of a compare and a negate), plus one so it bounds every |x|. The
    limiter's ceiling stays exact; a block peaking at exactly -T asks for 1 LSB more reduction."""
    return np.max(x.reshape(-1, block) ^ (x.reshape(-1, block) >> 63), axis=1) + 1


def limit_gain_q31(e_q30: np.ndarray) -> np.ndarray:
    """Limiter gain as applied: Q1.31, min(2 e, 2^31 - 1) of the Q2.30 gain (1.0 becomes 1 - 2^-31)."""
    return np.minimum(2 * e_q30, Q31_MAX)


def limit_fixed(x: np.ndarray, plan: MbdpPlan, lim: LimiterQ, side: np.ndarray | None = None,
                side_threshold: int = 0, *, out_shift: int = 31, side_hold: int = 1) -> np.ndarray:
    """Look-ahead limiter; with a side-chain (the excursion guard) a block also needs
    r <= side_threshold / max|side| over the last side_hold blocks (both integers, rounded down like
    the ceiling).

    The gain ramps in Q1.31 (limit_gain_q31 of the block gains) and y = round(x E / 2^out_shift):
    31 keeps x's units, 32 (the band limiters) gives half x's resolution, one SMMULR on a Cortex-M."""
    block = plan.block
    one = 1 << LIM_FRAC
    k = lim.k
    peak = block_peak(x, block)
    r = np.where(peak <= lim.threshold, one, (lim.threshold << LIM_FRAC) // peak)
    if side is not None:
        speak = block_peak(side, block)
        if side_hold > 1:      # the guard's peak hold (designer.dynamics.limiter_gains); peaks start at 0
            padded = np.concatenate([np.zeros(side_hold - 1, dtype=speak.dtype), speak])
            speak = np.lib.stride_tricks.sliding_window_view(padded, side_hold).max(axis=1)
        r = np.minimum(r, np.where(speak <= side_threshold, one, (side_threshold << LIM_FRAC) // speak))
    padded = np.concatenate([np.full(k, one, dtype=np.int64), r])
    h = np.lib.stride_tricks.sliding_window_view(padded, k + 1).min(axis=1)
    idx = np.arange(-1, len(h), dtype=np.int64)
    hh = np.concatenate([[one], h])
    step = lim.release_step
    h_rel = (idx * step + np.minimum.accumulate(hh - idx * step))[1:]
    padded = np.concatenate([np.full(k - 1, one, dtype=np.int64), h_rel])
    e = np.lib.stride_tricks.sliding_window_view(padded, k).sum(axis=1) // k
    e_prev = limit_gain_q31(np.concatenate([[one, one], e]))
    start, end = e_prev[:-2], e_prev[1:-1]
    delayed = np.concatenate([np.zeros(lim.delay, dtype=np.int64), x[: len(x) - lim.delay]])
    # Rounded, not floored (no DC bias); |x| E <= T 2^31 still bounds |y| by T (out_shift 31) or
    # by (T + 1) // 2 (out_shift 32).
    return ((delayed.reshape(-1, block) * _ramps(start, end, block) + (1 << (out_shift - 1))) >> out_shift).reshape(-1)


def _as_int_array(x, lo: int, hi: int, what: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1:
        raise InputError(f"expected mono {what} samples (1-D), got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.integer):
        raise InputError(f"expected integer {what} samples, got dtype {a.dtype}")
    a = a.astype(np.int64)
    if a.size and (a.min() < lo or a.max() > hi):
        raise InputError(f"{what} sample out of range [{lo}, {hi}]")
    return a


def tree_bands_fixed(plan: MbdpPlan, x_q31: np.ndarray) -> list[list[int]]:
    """The filter tree alone: band signals as the compressors see them, Q(1+H).(31-H), one list
    per band (x padded to whole blocks)."""
    x = _as_int_array(x_q31, Q31_MIN, Q31_MAX, "Q31")
    n = len(x)
    block = plan.block
    rest = np.concatenate([x, np.zeros((-n) % block, dtype=np.int64)]).tolist()
    if plan.highpass is not None:
        rest = run_chain(rest, plan.highpass)
    bands = []
    u = rest if plan.highpass is not None else [v >> plan.headroom for v in rest]
    for lp, hp, comp, h_form in zip(plan.lp, plan.hp, plan.comp, plan.split_h):
        low = run_chain(rest, lp)
        if h_form:
            # High-pass branch = all-pass - low-pass = u - 2 h(u) - low; the C computes it modulo
            # 2^32, the result fits (the plan's L1 bound), so no wrap shows.
            rest = u = [a - 2 * b - c for a, b, c in zip(u, run_chain(u, hp), low)]
        else:
            rest = u = run_chain(rest, hp)
        bands.append(run_chain(low, comp))
    bands.append(rest)
    return bands


def render_bands_fixed(plan: MbdpPlan, x_q31: np.ndarray) -> np.ndarray:
    """Band signals after compressor and limiter, Q(2+H).(30-H), shape (n_bands, len(x))."""
    n = len(x_q31)
    bands = tree_bands_fixed(plan, x_q31)
    out = np.empty((len(bands), len(bands[0])), dtype=np.int64)
    for k, b in enumerate(bands):
        c = compress_fixed(np.array(b, dtype=np.int64), plan, plan.compressors[k])
        out[k] = limit_fixed(c, plan, plan.band_limiters[k], out_shift=32)
    return out[:, :n]


def render_fixed_q31(profile_or_plan, x_q31) -> np.ndarray:
    """The fixed-point MBDP on Q31 samples (int array in, int64 array of Q31 values out), bit-exact
    with the generated C (tr_mbdp_process_q31) for any chunking."""
    plan = profile_or_plan if isinstance(profile_or_plan, MbdpPlan) else plan_mbdp(profile_or_plan)
    x = _as_int_array(x_q31, Q31_MIN, Q31_MAX, "Q31")
    n = len(x)
    block = plan.block
    padded = np.concatenate([x, np.zeros((-n) % block, dtype=np.int64)])
    total = np.clip(render_bands_fixed(plan, padded).sum(axis=0), Q31_MIN, Q31_MAX)
    side = np.array(run_chain(total.tolist(), plan.guard), dtype=np.int64) if plan.guard else None
    y = limit_fixed(total, plan, plan.out_limiter, side, plan.guard_threshold, side_hold=plan.profile.guard_hold_blocks)
    return np.clip(y << (plan.headroom + 1), Q31_MIN, Q31_MAX)[:n]


def render_fixed_q15(profile_or_plan, x_q15) -> np.ndarray:
    """Q15 wrapper, as tr_mbdp_process_q15: in << 16, process, (q + 2^15) >> 16 saturated."""
    x = _as_int_array(x_q15, -(2 ** 15), 2 ** 15 - 1, "Q15")
    return q31_to_q15(render_fixed_q31(profile_or_plan, q15_to_q31(x)))
