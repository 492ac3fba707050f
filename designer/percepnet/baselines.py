"""Baselines the model is compared with: a classical Wiener filter and RNNoise 0.2 (`pyrnnoise`).

Both are evaluation-only. RNNoise runs at 48 kHz: 16 kHz files are resampled to 48 kHz and back with
scipy.signal.resample_poly (explicitly, here only), and its 960-sample output delay is removed.
"""
from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import istft, resample_poly, stft

from designer.errors import TunerigError

RNNOISE_DELAY_48K = 960      # samples of output delay of RNNoise 0.2 at 48 kHz (FIELD_NOTES §1.3)
RNNOISE_FRAME = 480


def wiener_enhance(x: np.ndarray, rate_hz: int, noise_window_s: float = 1.5, floor_db: float = -20.0) -> np.ndarray:
    """Decision-directed Wiener filter (Ephraim-Malah a-priori SNR, alpha = 0.98) with a
    minimum-statistics noise estimate (smoothed power's minimum over `noise_window_s`, times 1.5 to
    undo the minimum's bias). Gain floor `floor_db`. 32 ms Hann frames, 50 % overlap."""
    nper = int(2 ** np.round(np.log2(0.032 * rate_hz)))
    _, _, X = stft(x, fs=rate_hz, window="hann", nperseg=nper, noverlap=nper // 2, boundary="even")
    p = np.abs(X) ** 2
    ps = uniform_filter1d(p, 3, axis=1)
    ps = uniform_filter1d(ps, 3, axis=0)
    frames = max(3, int(noise_window_s * rate_hz / (nper // 2)))
    noise = 1.5 * minimum_filter1d(ps, frames, axis=1, mode="nearest") + 1e-12
    post = p / noise
    g_floor = 10 ** (floor_db / 20)
    gain = np.empty_like(p)
    prev = np.ones(p.shape[0])
    for t in range(p.shape[1]):
        prio = 0.98 * prev + 0.02 * np.maximum(post[:, t] - 1.0, 0.0)
        g = np.maximum(prio / (1.0 + prio), g_floor)
        gain[:, t] = g
        prev = (g ** 2) * post[:, t]
    _, y = istft(gain * X, fs=rate_hz, window="hann", nperseg=nper, noverlap=nper // 2)
    return y[: len(x)] if len(y) >= len(x) else np.pad(y, (0, len(x) - len(y)))


def _rnnoise_lib():
    try:
        import pyrnnoise  # noqa: F401  (only to find the bundled library)
    except Exception:  # noqa: BLE001 - its wrapper may miss extra deps; the .so is what we need
        pass
    import importlib.util
    spec = importlib.util.find_spec("pyrnnoise")
    if spec is None or not spec.submodule_search_locations:
        raise TunerigError("RNNoise baseline needs the `pyrnnoise` wheel (pip install pyrnnoise)")
    so = Path(list(spec.submodule_search_locations)[0]) / "librnnoise.so"
    if not so.is_file():
        raise TunerigError(f"pyrnnoise is installed but {so} is missing")
    lib = ctypes.CDLL(str(so))
    lib.rnnoise_create.argtypes = [ctypes.c_void_p]
    lib.rnnoise_create.restype = ctypes.c_void_p
    lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
    lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float),
                                          ctypes.POINTER(ctypes.c_float)]
    lib.rnnoise_process_frame.restype = ctypes.c_float
    return lib


def rnnoise_enhance(x: np.ndarray, rate_hz: int) -> np.ndarray:
    """RNNoise 0.2 through the library in the `pyrnnoise` wheel; output time-aligned with x."""
    lib = _rnnoise_lib()
    if rate_hz == 48000:
        x48 = np.asarray(x, float)
    else:
        g = np.gcd(int(rate_hz), 48000)
        x48 = resample_poly(x, 48000 // g, int(rate_hz) // g)
    n = len(x48)
    padded = np.concatenate([x48, np.zeros(RNNOISE_DELAY_48K + RNNOISE_FRAME)])
    nfr = int(np.ceil(len(padded) / RNNOISE_FRAME))
    padded = np.pad(padded, (0, nfr * RNNOISE_FRAME - len(padded)))
    buf = (padded * 32768.0).astype(np.float32)
    out = np.empty_like(buf)
    st = lib.rnnoise_create(None)
    try:
        for i in range(nfr):
            fr = np.ascontiguousarray(buf[i * RNNOISE_FRAME:(i + 1) * RNNOISE_FRAME])
            o = np.empty_like(fr)
            lib.rnnoise_process_frame(st, o.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                      fr.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
            out[i * RNNOISE_FRAME:(i + 1) * RNNOISE_FRAME] = o
    finally:
        lib.rnnoise_destroy(st)
    y48 = out[RNNOISE_DELAY_48K:RNNOISE_DELAY_48K + n].astype(float) / 32768.0
    if rate_hz == 48000:
        return y48
    g = np.gcd(int(rate_hz), 48000)
    y = resample_poly(y48, int(rate_hz) // g, 48000 // g)
    return y[: len(x)] if len(y) >= len(x) else np.pad(y, (0, len(x) - len(y)))


RNNOISE_PARAMS = None  # filled in by rnnoise_weight_count() when known


def rnnoise_weight_count() -> int:
    """RNNoise 0.2's weight count as documented (FIELD_NOTES §1.3: ~2.9 M)."""
    return 2_900_000
