"""Block-based dynamics: RMS compressor and look-ahead peak limiter (float reference).

Both work on blocks of B samples (B = block_ms * fs; 1 ms by default, as in shipped Echo tunings):
gains are computed once per block and ramped linearly, sample by sample, across the next block.
This is the structure the fixed-point C follows, so float and fixed differ only by arithmetic.
Blocks are counted from the first sample of the stream, so results never depend on how a caller
chunks its buffers.

Compressor (per band, no delay):
    p_j   = mean(x^2) over block j
    P_j   = P_{j-1} + a * (p_j - P_{j-1}),  a = 1 - exp(-block_ms / attack_ms) if p_j > P_{j-1}
                                             else 1 - exp(-block_ms / release_ms)
    L_j   = 10*log10(2 * P_j)                 dBFS, a full-scale sine reads 0 dB (AES17)
    G_j   = max(curve(L_j) - L_j, floor_db) + makeup_db      soft-knee static curve
    block j+1 ramps linearly from G_{j-1} to G_j (in linear gain): causal, one block behind.

Limiter (per band and full-band; delay D = (K + 1) * B samples, K = lookahead blocks - 1 >= 1):
    r_j  = min(1, T / max|x| over block j)           gain block j needs
    h_j  = min(r_{j-K}, ..., r_j)                      attack K blocks early
    h'_j = min(h_j, h'_{j-1} + block_ms / release_ms)  linear release (0 -> 1 in release_ms)
    e_j  = mean(h'_{j-K+1}, ..., h'_j)                 smooth attack over K blocks
    while block j arrives, the delayed block m = j - K - 1 leaves with a ramp from e_{j-2} to e_{j-1}.
Both ramp end points are <= r_m, so no output sample exceeds T (a proof in three lines: every
h'_i that enters e_{j-2} or e_{j-1} has i in [m, m + K] and hence a window containing block m).

Excursion guard (full-band limiter only, optional): a side-chain s = sosfilt(guard_sos, x) predicts
cone excursion in units of Xmax; r_j also honours guard_threshold / max|s| over blocks j-H+1..j.
The hold H (guard_hold_ms in blocks, >= 1) keeps the bound from following the individual half-wave
peaks of a bass tone: with H = 1 the linear release recovers between peaks, the gain is modulated at
twice the tone's frequency and that is harmonic distortion. A hold of half the longest period the
guard acts on makes the bound constant on a steady tone. Holding only delays the release, so the
ceiling proof is unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Power floor: -200 dBFS keeps log10 finite for digital silence.
POWER_FLOOR = 1e-20


@dataclass(frozen=True)
class CompressorParams:
    threshold_db: float     # dBFS (sine RMS convention)
    ratio: float            # >= 1
    knee_db: float          # full knee width, >= 0
    attack_ms: float
    release_ms: float
    makeup_db: float        # added after the gain computer
    floor_db: float         # most gain reduction allowed (negative)


@dataclass(frozen=True)
class LimiterParams:
    threshold_db: float     # dBFS peak ceiling
    release_ms: float       # time to recover from full reduction to unity (linear)


def static_curve_db(level_db: np.ndarray, p: CompressorParams) -> np.ndarray:
    """Soft-knee compressor output level for input level (both dB), Giannoulis et al. form."""
    x = np.asarray(level_db, dtype=np.float64)
    t, r, w = p.threshold_db, p.ratio, p.knee_db
    over = x - t
    y = np.where(over > 0, t + over / r, x)
    if w > 0:
        in_knee = np.abs(over) <= w / 2
        y = np.where(in_knee, x + (1 / r - 1) * (over + w / 2) ** 2 / (2 * w), y)
    return y


def compressor_gain_db(level_db: np.ndarray, p: CompressorParams) -> np.ndarray:
    """Gain (dB) the compressor applies at a steady input level: reduction floored, plus make-up."""
    reduction = static_curve_db(level_db, p) - np.asarray(level_db, dtype=np.float64)
    return np.maximum(reduction, p.floor_db) + p.makeup_db


def _blocks(x: np.ndarray, block: int) -> np.ndarray:
    """View x (length a multiple of block) as (n_blocks, block)."""
    return x.reshape(-1, block)


def _ramp_apply(x: np.ndarray, start: float, end: np.ndarray, block: int) -> np.ndarray:
    """Multiply x by gains ramping linearly within each block j to end[j] at its last sample, from the
    previous block's end (start before block 0). The ramps join up, so one interpolation does it."""
    knots = np.arange(len(end) + 1) * block - 1.0
    return x * np.interp(np.arange(len(x)), knots, np.concatenate([[start], end]))


def compressor_gains(x: np.ndarray, block: int, block_ms: float, p: CompressorParams) -> tuple[np.ndarray, float]:
    """Per block j, the linear gain its ramp ends at (G_{j-1}: causal), and the idle gain G at silence."""
    power = np.mean(_blocks(x, block) ** 2, axis=1)
    a_att = 1.0 - np.exp(-block_ms / p.attack_ms)
    a_rel = 1.0 - np.exp(-block_ms / p.release_ms)
    smoothed = np.empty_like(power)
    state = 0.0
    for j, pj in enumerate(power.tolist()):
        state += (a_att if pj > state else a_rel) * (pj - state)
        smoothed[j] = state
    level_db = 10.0 * np.log10(2.0 * smoothed + POWER_FLOOR)
    g = 10.0 ** (compressor_gain_db(level_db, p) / 20.0)
    g0 = 10.0 ** (compressor_gain_db(np.array([10 * np.log10(POWER_FLOOR)]), p)[0] / 20.0)
    # Block j ends its ramp at the gain computed from blocks up to j-1.
    return np.concatenate([[g0], g[:-1]]), g0


def compress(x: np.ndarray, block: int, block_ms: float, p: CompressorParams) -> np.ndarray:
    """Apply the compressor to x (length a multiple of block)."""
    end, g0 = compressor_gains(x, block, block_ms, p)
    return _ramp_apply(x, g0, end, block)


def limiter_gains(x: np.ndarray, block: int, lookahead_blocks: int, block_ms: float,
                  p: LimiterParams, sidechain: np.ndarray | None = None, sidechain_threshold: float = 1.0,
                  sidechain_hold_blocks: int = 1) -> np.ndarray:
    """Ramp end points e_j (one per block) of the look-ahead limiter. See the module docstring.

    With a side-chain (the excursion guard: x filtered to predicted cone excursion), a block also needs
    r_j <= sidechain_threshold / max|sidechain| over blocks j-H+1..j (H = sidechain_hold_blocks). That bound is approximate (the gain
    modulates the drive, not the excursion), which is why the designer verifies it by rendering."""
    k = lookahead_blocks - 1
    threshold = 10.0 ** (p.threshold_db / 20.0)
    peak = np.max(np.abs(_blocks(x, block)), axis=1)
    r = np.minimum(1.0, threshold / np.maximum(peak, 1e-300))
    if sidechain is not None:
        sc_peak = np.max(np.abs(_blocks(sidechain, block)), axis=1)
        if sidechain_hold_blocks > 1:      # peak hold; before the stream started the peaks were 0
            padded = np.concatenate([np.zeros(sidechain_hold_blocks - 1), sc_peak])
            sc_peak = np.lib.stride_tricks.sliding_window_view(padded, sidechain_hold_blocks).max(axis=1)
        r = np.minimum(r, sidechain_threshold / np.maximum(sc_peak, 1e-300))
    padded = np.concatenate([np.ones(k), r])
    h = np.lib.stride_tricks.sliding_window_view(padded, k + 1).min(axis=1)
    # Linear release h'_j = min(h_j, h'_{j-1} + step) has the closed form
    # h'_j = j*step + min_{i<=j}(h_i - i*step), with h'_{-1} = 1 folded in as a leading 1.
    step = block_ms / p.release_ms
    idx = np.arange(-1, len(h))
    hh = np.concatenate([[1.0], h])
    h_rel = (idx * step + np.minimum.accumulate(hh - idx * step))[1:]
    padded = np.concatenate([np.ones(k - 1), h_rel])
    return np.lib.stride_tricks.sliding_window_view(padded, k).mean(axis=1)


def limit(x: np.ndarray, block: int, lookahead_blocks: int, block_ms: float, p: LimiterParams,
          sidechain: np.ndarray | None = None, sidechain_threshold: float = 1.0,
          sidechain_hold_blocks: int = 1) -> np.ndarray:
    """Apply the look-ahead limiter: output is x delayed by lookahead_blocks * block samples."""
    delay = lookahead_blocks * block
    e = limiter_gains(x, block, lookahead_blocks, block_ms, p, sidechain, sidechain_threshold, sidechain_hold_blocks)
    # While block j arrives, block j-K-1 leaves with a ramp e_{j-2} -> e_{j-1}.
    end = np.concatenate([[1.0], e[:-1]])            # block j ends at e_{j-1} (starts at e_{j-2})
    delayed = np.concatenate([np.zeros(delay), x[:-delay]]) if delay < len(x) else np.zeros_like(x)
    return _ramp_apply(delayed, 1.0, end, block)
