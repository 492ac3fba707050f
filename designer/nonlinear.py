"""Nonlinear lumped-parameter loudspeaker: voltage in; excursion, velocity, current and pressure out.

The linear model of designer.physics with the large-signal parameters of Klippel's LSI made functions
of the cone excursion x (FIELD_NOTES §1.2):

    electrical   e = Re*i + d(Le(x)*i)/dt + Bl(x)*v
    mechanical   Mms*dv/dt = Bl(x)*i - Rms*v - Kms(x)*x - Sd*p_b (+ i^2/2 * dLe/dx)
    box          sealed:  p_b = Sd*x / Cab
                 vented:  Cab*dp_b/dt = Sd*v - U_p - p_b/Ral,   Map*dU_p/dt = p_b
    radiation    p(1 m) = rho/(2 pi) * d(Sd*v - U_p)/dt          (half space, as physics.pressure_per_volt)

p_b is the box pressure the cone works against and U_p the port's volume velocity (into the box).
Bl, Kms and Le are polynomials in x, lowest order first, as Klippel LSI reports them. With constant
polynomials the equations are exactly those of physics.excursion_tf.

Default shapes (used when no polynomial is given), from the Klippel Xmax definition (Bl falls to 82 %
and compliance to 75 % at Xmax): symmetric and quadratic,
    Bl(x)  = Bl0 * (1 - 0.18 * (x / X_Bl)^2)     floored at 20 % of Bl0 (far beyond the data range)
    Kms(x) = Kms0 * (1 + (1/3) * (x / X_C)^2)     Cms(X_C) = Cms0 / (1 + 1/3) = 0.75 * Cms0
    Le(x)  = Le (constant)
with X_Bl and X_C the speaker file's xmax_bl_mm and xmax_c_mm when it gives them, else both = Xmax
(for a datasheet Xmax this is an assumption: the same 82 % / 75 % at the datasheet value).

Amplifier: the digital signal saturates at full scale (|y| <= 1, as int16 does), is scaled by
v_at_full_scale and clipped at the rail vmax_peak_v: hard clip by default (class-D output stage),
or soft: rail * tanh(v / rail).

Solver: classic fixed-step Runge-Kutta 4 at the sample rate (times `oversample`), the input voltage
interpolated linearly between samples. All time constants of the mechanical and acoustic parts are
far slower than a 48 kHz step; a voice-coil inductance makes the current stiff (time constant Le/Re),
so the step is subdivided until h*Re/Le <= 2 (RK4 is stable to about 2.8). The state update is plain
arithmetic, so the same code runs on Python floats (one signal, fastest) or on numpy arrays (a
batch of signals side by side, e.g. a whole volume ladder in one pass).
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from designer.errors import InputError, read_toml
from designer.speaker import C_M_S, RHO_KG_M3, Speaker

BL_DROP_AT_XMAX = 0.82        # Klippel: Bl(X_Bl) = 82 % of Bl(0)
COMPLIANCE_AT_XMAX = 0.75     # Klippel: Cms(X_C) = 75 % of Cms(0)
BL_FLOOR_FRACTION = 0.2       # the default Bl(x) never drops below 20 % of Bl(0)
SMALL_SIGNAL_TOLERANCE = 0.05  # large-signal data at x = 0 must match the T/S values this well
CLIP_MODES = ("hard", "soft")
SCALAR_BATCH_MAX = 6          # batches up to this width run column by column on Python floats


@dataclass(frozen=True)
class LargeSignal:
    """Large-signal parameters as polynomials in excursion x (metres), lowest order first, SI units.

    bl: Bl(x) in T*m; kms: Kms(x) in N/m; le: Le(x) in H (empty: the driver's constant Le).
    bl_floor: lowest Bl the motor can reach (T*m), a guard for polynomials used beyond their range."""
    bl: tuple[float, ...]
    kms: tuple[float, ...]
    le: tuple[float, ...] = ()
    bl_floor: float = 0.0

    def bl_at(self, x):
        return np.maximum(np.polyval(self.bl[::-1], x), self.bl_floor)

    def kms_at(self, x):
        return np.polyval(self.kms[::-1], x)


def _klippel_limits_m(spk: Speaker) -> tuple[float, float]:
    """(X_Bl, X_C) in metres: the speaker file's separate Klippel limits if it has them, else Xmax."""
    x_bl = x_c = spk.driver.xmax
    if spk.path is not None and Path(spk.path).is_file():
        s = tomllib.loads(Path(spk.path).read_text()).get("speaker", {})
        x_bl = float(s.get("xmax_bl_mm", x_bl * 1e3)) * 1e-3
        x_c = float(s.get("xmax_c_mm", x_c * 1e3)) * 1e-3
    return x_bl, x_c


def default_large_signal(spk: Speaker) -> LargeSignal:
    """The symmetric quadratic shapes of the module docstring, derived from the speaker's Xmax."""
    d = spk.driver
    x_bl, x_c = _klippel_limits_m(spk)
    kms0 = 1.0 / d.cms
    return LargeSignal(
        bl=(d.bl, 0.0, -d.bl * (1 - BL_DROP_AT_XMAX) / x_bl**2),
        kms=(kms0, 0.0, kms0 * (1 / COMPLIANCE_AT_XMAX - 1) / x_c**2),
        le=(),
        bl_floor=BL_FLOOR_FRACTION * d.bl,
    )


def linear_large_signal(spk: Speaker) -> LargeSignal:
    """Flat polynomials: the simulator then is the linear model of designer.physics."""
    return LargeSignal(bl=(spk.driver.bl,), kms=(1.0 / spk.driver.cms,))


def _coeffs(table: dict, key: str, scale_per_mm: float, path) -> tuple[float, ...] | None:
    """Polynomial for x in mm (Klippel style) -> SI polynomial for x in metres."""
    if key not in table:
        return None
    v = table[key]
    if not isinstance(v, list) or not v or any(isinstance(c, bool) or not isinstance(c, (int, float))
                                               or not math.isfinite(c) for c in v):
        raise InputError(f"must be a non-empty list of finite numbers (coefficients, lowest order first), got {v!r}",
                         file=path, field=f"large_signal.{key}")
    return tuple(float(c) * scale_per_mm * 1e3**k for k, c in enumerate(v))


def load_large_signal(path, spk: Speaker) -> LargeSignal:
    """Read a [large_signal] TOML table: polynomials lowest order first for excursion x in mm,
    as Klippel LSI reports them:

        [large_signal]
        bl_tm = [4.51, -0.02, -0.0066]     # Bl(x) in T*m
        kms_n_per_mm = [1.255, 0.0, 0.0216] # Kms(x) in N/mm
        le_mh = [0.05, -0.004]              # optional, Le(x) in mH

    Missing Bl or Kms take the default shapes. Their x = 0 values must match the speaker's T/S
    Bl and 1/Cms within 5 % (else the data is for another driver)."""
    path = Path(path)
    d = read_toml(path, "large-signal")
    if set(d) != {"large_signal"}:
        raise InputError(f"expected exactly one table [large_signal], got {sorted(d)}", file=path)
    t = d["large_signal"]
    allowed = {"bl_tm", "kms_n_per_mm", "le_mh"}
    extra = sorted(set(t) - allowed)
    if extra:
        raise InputError(f"unknown key(s) {extra}; allowed: {sorted(allowed)}", file=path, field="large_signal")
    default = default_large_signal(spk)
    bl = _coeffs(t, "bl_tm", 1.0, path) or default.bl
    kms = _coeffs(t, "kms_n_per_mm", 1e3, path) or default.kms
    le = _coeffs(t, "le_mh", 1e-3, path) or ()
    for key, got, want, unit, scale in (("bl_tm", bl[0], spk.driver.bl, "T*m", 1.0),
                                        ("kms_n_per_mm", kms[0], 1 / spk.driver.cms, "N/mm", 1e-3)):
        if abs(got / want - 1) > SMALL_SIGNAL_TOLERANCE:
            raise InputError(f"value at x = 0 is {got * scale:.4g} {unit} but the speaker's T/S data give "
                             f"{want * scale:.4g} {unit} (mismatch above {SMALL_SIGNAL_TOLERANCE:.0%})",
                             file=path, field=f"large_signal.{key}")
    if le and le[0] <= 0:
        raise InputError(f"Le(0) must be positive, got {le[0] * 1e3:g} mH", file=path, field="large_signal.le_mh")
    return LargeSignal(bl, kms, le, default.bl_floor)


def amplifier_volts(spk: Speaker, y: np.ndarray, clip: str = "hard") -> np.ndarray:
    """Digital samples (full scale 1) -> amplifier output volts: DAC saturation at full scale, then
    the rail (hard clip, or rail * tanh(v / rail) for clip='soft')."""
    if clip not in CLIP_MODES:
        raise InputError(f"amplifier clip must be one of {list(CLIP_MODES)}, got {clip!r}", field="clip")
    amp = spk.amplifier
    v = np.clip(np.asarray(y, dtype=np.float64), -1.0, 1.0) * amp.v_at_full_scale
    if clip == "soft":
        return amp.vmax_peak_v * np.tanh(v / amp.vmax_peak_v)
    return np.clip(v, -amp.vmax_peak_v, amp.vmax_peak_v)


@dataclass
class Response:
    """Simulated signals at the sample rate; shape (n,) for one input, (n, batch) for a batch."""
    excursion_m: np.ndarray
    velocity_m_s: np.ndarray
    current_a: np.ndarray
    pressure_pa: np.ndarray       # on axis at 1 m, half space
    fs_hz: float


def _horner(c: tuple[float, ...], x):
    acc = c[-1]
    for a in c[-2::-1]:
        acc = acc * x + a
    return acc


def simulate(spk: Speaker, volts: np.ndarray, fs_hz: float, large: LargeSignal | None = None,
             oversample: int = 1, progress: bool = False) -> Response:
    """Integrate the nonlinear model for the amplifier output `volts` (V, shape (n,) or (n, batch)).

    large: LargeSignal polynomials (None: default_large_signal(spk)). oversample: RK4 steps per
    sample (raised automatically for a stiff voice-coil inductance). progress: a tqdm bar."""
    volts = np.asarray(volts, dtype=np.float64)
    if volts.ndim not in (1, 2) or volts.shape[0] < 1:
        raise InputError(f"expected volts of shape (n,) or (n, batch), got {volts.shape}", field="volts")
    if not np.all(np.isfinite(volts)):
        raise InputError(f"sample {int(np.flatnonzero(~np.isfinite(volts.ravel()))[0])} of the drive is NaN or infinite",
                         field="volts")
    if not (isinstance(oversample, int) and oversample >= 1):
        raise InputError(f"oversample must be a whole number >= 1, got {oversample!r}", field="oversample")
    if not fs_hz > 0:
        raise InputError(f"sample rate must be positive, got {fs_hz}", field="fs_hz")
    large = default_large_signal(spk) if large is None else large
    if volts.ndim == 2 and volts.shape[1] <= SCALAR_BATCH_MAX:
        # Python floats beat numpy on a few columns (numpy's per-call overhead dominates).
        runs = [simulate(spk, volts[:, k], fs_hz, large, oversample, progress) for k in range(volts.shape[1])]
        return Response(*(np.stack([getattr(r, name) for r in runs], axis=1)
                          for name in ("excursion_m", "velocity_m_s", "current_a", "pressure_pa")), float(fs_hz))
    d, enc = spk.driver, spk.enclosure
    le_poly = large.le if large.le else ((d.le,) if d.le > 0 else ())
    inductive = bool(le_poly) and le_poly[0] > 0
    if inductive:   # keep h * Re / Le within RK4's stability region
        oversample = max(oversample, math.ceil(d.re / (min(le_poly[0], 1.0) * fs_hz * 2.0)))
    h = 1.0 / (fs_hz * oversample)

    re, mms, rms, sd = d.re, d.mms, d.rms, d.sd
    bl_c, kms_c, floor = large.bl, large.kms, large.bl_floor
    dle_c = tuple(k * c for k, c in enumerate(le_poly))[1:] or (0.0,)
    vented = enc.type == "vented"
    k_box = sd**2 * RHO_KG_M3 * C_M_S**2 / enc.vb if enc.type == "sealed" else 0.0
    if vented:
        cab = enc.vb / (RHO_KG_M3 * C_M_S**2)
        map_ = 1 / ((2 * np.pi * enc.fb) ** 2 * cab)
        ral = enc.ql / (2 * np.pi * enc.fb * cab)
    else:
        cab = map_ = ral = 1.0

    batch = volts.ndim == 2
    mx = np.maximum if batch else max
    zero = np.zeros(volts.shape[1]) if batch else 0.0

    def deriv(x, v, pb, up, i, e):
        """Time derivatives and (acceleration, current) of the state at drive e."""
        bl = _horner(bl_c, x)
        bl = mx(bl, floor)
        if inductive:
            le = _horner(le_poly, x)
            dle = _horner(dle_c, x)
            di = (e - re * i - bl * v - dle * v * i) / le
            force = bl * i + 0.5 * dle * i * i
        else:
            i = (e - bl * v) / re
            di = 0.0
            force = bl * i
        a = (force - rms * v - _horner(kms_c, x) * x - k_box * x - sd * pb) / mms
        if vented:
            dpb = (sd * v - up - pb / ral) / cab
            dup = pb / map_
        else:
            dpb = dup = 0.0
        return v, a, dpb, dup, di, i

    n = volts.shape[0]
    out_x = np.empty_like(volts)
    out_v = np.empty_like(volts)
    out_i = np.empty_like(volts)
    out_p = np.empty_like(volts)
    x = v = pb = up = i = zero
    e_next = volts[0] if batch else float(volts[0])
    drive = volts if batch else volts.tolist()
    half = 0.5 * h
    k_p = RHO_KG_M3 / (2 * np.pi)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=n, desc="loudspeaker simulation", unit="sample", unit_scale=True, leave=False)
    for t in range(n):
        if bar is not None and t % 4800 == 0:
            bar.update(min(4800, n - t))
        e0 = e_next
        e_next = drive[t + 1] if t + 1 < n else e0
        for s in range(oversample):
            ea = e0 + (e_next - e0) * (s / oversample)
            eb = e0 + (e_next - e0) * ((s + 0.5) / oversample)
            ec = e0 + (e_next - e0) * ((s + 1.0) / oversample)
            d1 = deriv(x, v, pb, up, i, ea)
            if s == 0:
                out_x[t], out_v[t], out_i[t] = x, v, d1[5]
                out_p[t] = k_p * (sd * d1[1] - pb / map_) if vented else k_p * sd * d1[1]
            d2 = deriv(x + half * d1[0], v + half * d1[1], pb + half * d1[2], up + half * d1[3], i + half * d1[4], eb)
            d3 = deriv(x + half * d2[0], v + half * d2[1], pb + half * d2[2], up + half * d2[3], i + half * d2[4], eb)
            d4 = deriv(x + h * d3[0], v + h * d3[1], pb + h * d3[2], up + h * d3[3], i + h * d3[4], ec)
            w = h / 6.0
            x = x + w * (d1[0] + 2 * d2[0] + 2 * d3[0] + d4[0])
            v = v + w * (d1[1] + 2 * d2[1] + 2 * d3[1] + d4[1])
            if vented:
                pb = pb + w * (d1[2] + 2 * d2[2] + 2 * d3[2] + d4[2])
                up = up + w * (d1[3] + 2 * d2[3] + 2 * d3[3] + d4[3])
            if inductive:
                i = i + w * (d1[4] + 2 * d2[4] + 2 * d3[4] + d4[4])
    if bar is not None:
        bar.close()
    return Response(out_x, out_v, out_i, out_p, float(fs_hz))


def simulate_digital(spk: Speaker, y: np.ndarray, fs_hz: float, large: LargeSignal | None = None,
                     clip: str = "hard", oversample: int = 1, progress: bool = False) -> Response:
    """Digital output samples -> amplifier (saturation, rail clip) -> nonlinear speaker."""
    return simulate(spk, amplifier_volts(spk, y, clip), fs_hz, large, oversample, progress)
