"""Ideal (oracle) band gains and comb-filter strengths from the clean speech and the noise.

These are the training targets of the network and, applied through the front end, the upper bound
the model aims at (`tunerig percepnet oracle`).
"""
from __future__ import annotations

import numpy as np

from designer.percepnet.frontend import EPS, Analysis, FrontEnd


def ideal_strength(q_clean: np.ndarray, q_noisy: np.ndarray) -> np.ndarray:
    """Comb strength r that gives the mixed signal Z = (1-r) Y + r P_hat the clean pitch coherence.

    Model: Y (unit band energy) = q_y H + sqrt(1 - q_y^2) N with H the harmonic part (which P_hat,
    scaled to Y's energy, reproduces) and N noise orthogonal to it. Then Z has harmonic amplitude
    (1-r) q_y + r and noise amplitude (1-r) s, s = sqrt(1 - q_y^2). Asking their ratio to equal the
    clean ratio rho = q_x / sqrt(1 - q_x^2) gives r = (rho s - q_y) / (1 - q_y + rho s), clipped to
    [0, 1]; r = 0 when the noisy band is already as harmonic as the clean one.
    """
    qx = np.clip(q_clean, 0.0, 0.999)
    qy = np.clip(q_noisy, 0.0, 0.999)
    rho = qx / np.sqrt(1.0 - qx * qx)
    s = np.sqrt(1.0 - qy * qy)
    r = (rho * s - qy) / (1.0 - qy + rho * s + EPS)
    return np.clip(r, 0.0, 1.0)


def oracle_targets(fe: FrontEnd, clean: np.ndarray, noise: np.ndarray):
    """(analysis of the mixture, gains (F, K), strengths (F, K)) for noisy = clean + noise.

    Gains: sqrt(clean band energy / noisy band energy), clipped to [0, 1] (a silent noisy band gets 1).
    Strengths: from the band pitch coherence of the clean speech (comb-filtered with the pitch the
    tracker finds on the MIXTURE, as the deployed system will) and of the mixture.
    """
    noisy = clean + noise
    a = fe.analyse(noisy)
    s = fe.analyse(clean, period=a.period)
    es = fe.band_energy(s.X)
    ey = fe.band_energy(a.X)
    g = np.where(ey > 1e-10, np.sqrt(es / (ey + EPS)), 1.0)
    g = np.clip(g, 0.0, 1.0)
    r = ideal_strength(fe.band_coherence(s.X, s.P), fe.band_coherence(a.X, a.P))
    return a, g, r


def oracle_enhance(fe: FrontEnd, clean: np.ndarray, noise: np.ndarray, postfilter: bool = False) -> np.ndarray:
    """Enhance clean + noise with the ideal gains and strengths (time-aligned output)."""
    a, g, r = oracle_targets(fe, clean, noise)
    return fe.apply_gains(a, g, r, postfilter=postfilter)


def analysis_to_targets(a: Analysis, g: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Pack targets as (F, 2K) [gains | strengths] float32 for training."""
    return np.concatenate([g, r], axis=1).astype(np.float32)
