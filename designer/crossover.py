"""Linkwitz-Riley 4th-order crossover tree with all-pass compensation: the one filter design.

Conventions follow scipy.signal: every filter is an `sos` array of shape (n_sections, 6) with rows
[b0, b1, b2, 1, a1, a2]. The fixed-point code generator quantises exactly these arrays.

Tree (N bands, crossovers f_1 < ... < f_{N-1}):

    x -> LP(f1) ............................................ band 0 -> AP(f2) ... AP(f_{N-1})
      -> HP(f1) -> LP(f2) .................................. band 1 -> AP(f3) ... AP(f_{N-1})
                -> HP(f2) -> LP(f3) ........................ band 2 -> AP(f4) ...
                          -> ...  -> HP(f_{N-1}) ........... band N-1

LR4 = two identical 2nd-order Butterworth sections, so LP(f) + HP(f) is the 2nd-order all-pass
AP(f) with Q = 1/sqrt(2) (the same bilinear mapping keeps this exact in the digital domain). Band k
therefore needs one all-pass per crossover j >= k+2 and the bands sum to AP(f1)...AP(f_{N-1}):
flat magnitude. For 4 bands that is 12 split biquads + 3 all-pass biquads.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from designer.errors import InputError


def butter2_sos(fc_hz: float, fs_hz: float, kind: str) -> np.ndarray:
    """One 2nd-order Butterworth section ('lowpass' or 'highpass') as a (1, 6) sos array."""
    return signal.butter(2, fc_hz, btype=kind, fs=fs_hz, output="sos")


def lr4_sos(fc_hz: float, fs_hz: float, kind: str) -> np.ndarray:
    """Linkwitz-Riley 4th order: two identical Butterworth-2 sections, shape (2, 6)."""
    section = butter2_sos(fc_hz, fs_hz, kind)
    return np.vstack([section, section])


def allpass2_sos(fc_hz: float, fs_hz: float) -> np.ndarray:
    """The all-pass equal to LR4 LP(fc) + HP(fc): Butterworth-2 poles, mirrored zeros. Shape (1, 6)."""
    a = butter2_sos(fc_hz, fs_hz, "lowpass")[0, 3:]
    return np.concatenate([a[::-1], a])[None, :]


def highpass_sos(fc_hz: float, order: int, fs_hz: float) -> np.ndarray:
    """Butterworth high-pass protecting the driver below its usable range (order 2 or 4)."""
    if order not in (2, 4):
        raise InputError(f"high-pass order must be 2 or 4, got {order}", field="highpass_order")
    return signal.butter(order, fc_hz, btype="highpass", fs=fs_hz, output="sos")


def check_crossovers(crossovers_hz, fs_hz: float) -> tuple[float, ...]:
    """Validate crossover frequencies: finite, strictly increasing, inside (0, Nyquist)."""
    f = tuple(float(v) for v in crossovers_hz)
    nyquist = fs_hz / 2
    for i, v in enumerate(f):
        if not np.isfinite(v) or v <= 0:
            raise InputError(f"crossover {i + 1} is {v} Hz; it must be a positive frequency", field="crossovers_hz")
        if v >= 0.45 * fs_hz:
            raise InputError(
                f"crossover {i + 1} at {v:g} Hz is too close to or above Nyquist ({nyquist:g} Hz at fs {fs_hz:g} Hz)",
                field="crossovers_hz",
            )
    if any(b <= a for a, b in zip(f, f[1:])):
        raise InputError(f"crossover frequencies must increase strictly, got {list(f)}", field="crossovers_hz")
    return f


@dataclass(frozen=True)
class Crossover:
    """Designed LR4 tree. Index i refers to crossover frequency crossovers_hz[i]."""

    crossovers_hz: tuple[float, ...]
    fs_hz: float
    lp_sos: tuple[np.ndarray, ...]   # (2, 6) each
    hp_sos: tuple[np.ndarray, ...]   # (2, 6) each
    ap_sos: tuple[np.ndarray, ...]   # (1, 6) each

    @property
    def n_bands(self) -> int:
        return len(self.crossovers_hz) + 1

    def band_chain(self, k: int, *, compensated: bool = True) -> np.ndarray:
        """All sections that shape band k, cascaded in tree order (for responses and checks)."""
        n_x = len(self.crossovers_hz)
        parts = [self.hp_sos[i] for i in range(k)]
        if k < n_x:
            parts.append(self.lp_sos[k])
        if compensated:
            parts += [self.ap_sos[j] for j in range(k + 1, n_x)]
        return np.vstack(parts)

    def allpass_indices(self, k: int) -> range:
        """Crossover indices whose all-pass band k needs (every crossover above its upper edge)."""
        return range(k + 1, len(self.crossovers_hz))


def design_crossover(crossovers_hz, fs_hz: float) -> Crossover:
    f = check_crossovers(crossovers_hz, fs_hz)
    return Crossover(
        crossovers_hz=f,
        fs_hz=float(fs_hz),
        lp_sos=tuple(lr4_sos(fc, fs_hz, "lowpass") for fc in f),
        hp_sos=tuple(lr4_sos(fc, fs_hz, "highpass") for fc in f),
        ap_sos=tuple(allpass2_sos(fc, fs_hz) for fc in f),
    )


def split_bands(x: np.ndarray, xo: Crossover, *, compensated: bool = True) -> np.ndarray:
    """Split x into bands, shape (n_bands, len(x)), walking the tree so each HP output is reused."""
    n_x = len(xo.crossovers_hz)
    bands = np.empty((n_x + 1, len(x)))
    rest = np.asarray(x, dtype=np.float64)
    for i in range(n_x):
        bands[i] = signal.sosfilt(xo.lp_sos[i], rest)
        rest = signal.sosfilt(xo.hp_sos[i], rest)
    bands[n_x] = rest
    if compensated:
        for k in range(n_x + 1):
            idx = list(xo.allpass_indices(k))
            if idx:
                bands[k] = signal.sosfilt(np.vstack([xo.ap_sos[j] for j in idx]), bands[k])
    return bands


def band_responses(xo: Crossover, freqs_hz: np.ndarray, *, compensated: bool = True) -> np.ndarray:
    """Complex frequency response of every band at freqs_hz, shape (n_bands, len(freqs_hz))."""
    return np.array(
        [signal.sosfreqz(xo.band_chain(k, compensated=compensated), worN=freqs_hz, fs=xo.fs_hz)[1]
         for k in range(xo.n_bands)]
    )
