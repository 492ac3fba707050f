"""Float reference model of the multiband dynamics processor (MBDP).

Signal chain (FIELD_NOTES §1.1, Yang et al. ICASSP 2019):

    x -> high-pass -> LR4 crossover tree (+ all-pass compensation)
      -> per band: compressor -> look-ahead limiter (same delay in every band)
      -> sum -> full-band look-ahead limiter (peak ceiling + excursion guard side-chain) -> y

The algorithms live in designer.crossover and designer.dynamics; this module wires them together.
Everything is vectorised over the signal except the compressor's one-pole level smoother.
The fixed-point generator (codegen/) implements exactly this chain.
"""
from __future__ import annotations

import numpy as np
from scipy import signal

from designer.crossover import design_crossover, highpass_sos, split_bands
from designer.dynamics import compress, limit
from designer.errors import InputError
from designer.profile import Profile


def _check_input(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise InputError(f"expected mono samples (1-D), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise InputError(f"sample {int(np.flatnonzero(~np.isfinite(x))[0])} is NaN or infinite")
    return x


def render_bands(profile: Profile, x: np.ndarray, *, dynamics: bool = True) -> np.ndarray:
    """Band signals after compressor and limiter, shape (n_bands, len(x)). Input: float in [-1, 1]."""
    x = _check_input(x)
    n = len(x)
    block = profile.block_samples
    padded = np.concatenate([x, np.zeros((-n) % block)])
    if profile.highpass_hz is not None:
        padded = signal.sosfilt(highpass_sos(profile.highpass_hz, profile.highpass_order, profile.sample_rate_hz), padded)
    bands = split_bands(padded, design_crossover(profile.crossovers_hz, profile.sample_rate_hz))
    if dynamics:
        for k, b in enumerate(profile.bands):
            bands[k] = compress(bands[k], block, profile.block_ms, b.compressor)
            bands[k] = limit(bands[k], block, profile.lookahead_blocks, profile.block_ms, b.limiter)
    else:
        delay = profile.lookahead_blocks * block
        bands = np.concatenate([np.zeros((len(bands), delay)), bands[:, : bands.shape[1] - delay]], axis=1)
    return bands[:, :n]


def render(profile: Profile, x: np.ndarray, *, dynamics: bool = True) -> np.ndarray:
    """Process mono float samples through the MBDP. Output has the same length; the latency is
    profile.latency_samples (the look-ahead delays), so y[n] responds to x[n - latency]."""
    x = _check_input(x)
    n = len(x)
    block = profile.block_samples
    total = render_bands(profile, np.concatenate([x, np.zeros((-n) % block)]), dynamics=dynamics).sum(axis=0)
    if dynamics:
        guard = signal.sosfilt(np.array(profile.guard_sos), total) if profile.guard_sos else None
        y = limit(total, block, profile.output_lookahead_blocks, profile.block_ms, profile.output_limiter,
                  guard, profile.guard_threshold, profile.guard_hold_blocks)
    else:
        delay = profile.output_lookahead_blocks * block
        y = np.concatenate([np.zeros(delay), total[: len(total) - delay]])
    return y[:n]
