"""Speech quality metrics for evaluation: SI-SDR (numpy), PESQ-WB (`pesq`), STOI (`pystoi`).

PESQ-WB is defined at 16 kHz: 48 kHz signals are resampled to 16 kHz here with
scipy.signal.resample_poly (evaluation only, stated explicitly).
"""
from __future__ import annotations

import numpy as np
from scipy.signal import resample_poly

from designer.errors import TunerigError


def si_sdr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR (Le Roux et al. 2019): project the zero-mean estimate on the zero-mean
    reference, SDR of that projection against the rest."""
    s = np.asarray(reference, float) - np.mean(reference)
    e = np.asarray(estimate, float) - np.mean(estimate)
    alpha = np.dot(e, s) / (np.dot(s, s) + 1e-20)
    target = alpha * s
    return float(10 * np.log10((np.dot(target, target) + 1e-20) / (np.dot(e - target, e - target) + 1e-20)))


def _to16k(x, rate_hz):
    if rate_hz == 16000:
        return np.asarray(x, float)
    if rate_hz == 48000:
        return resample_poly(x, 1, 3)
    g = np.gcd(int(rate_hz), 16000)
    return resample_poly(x, 16000 // g, int(rate_hz) // g)


def pesq_wb(reference: np.ndarray, estimate: np.ndarray, rate_hz: int) -> float:
    """Wide-band PESQ (ITU-T P.862.2) via the `pesq` package; NaN if PESQ finds no speech."""
    try:
        from pesq import pesq
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise TunerigError("PESQ needs the `pesq` package (pip install pesq)") from exc
    try:
        return float(pesq(16000, _to16k(reference, rate_hz), _to16k(estimate, rate_hz), "wb"))
    except Exception:  # noqa: BLE001 - pesq raises its own NoUtterancesError etc.
        return float("nan")


def stoi(reference: np.ndarray, estimate: np.ndarray, rate_hz: int) -> float:
    try:
        from pystoi import stoi as _stoi
    except ImportError as exc:  # pragma: no cover
        raise TunerigError("STOI needs the `pystoi` package (pip install pystoi)") from exc
    return float(_stoi(np.asarray(reference, float), np.asarray(estimate, float), rate_hz, extended=False))
