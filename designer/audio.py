"""WAV input/output: the one place audio files are read and written.

Samples are returned as float64 in [-1, 1) (int16 is scaled by 2**-15; float32 is taken as is).
Nothing is resampled: a file at another rate is an error that names the file and both rates.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from designer.errors import InputError

SUPPORTED = ("int16", "float32")


def read_wav(path, expected_rate_hz: int | None = None, *, allow_clipped: bool = True,
             mix_to_mono: bool = False) -> tuple[np.ndarray, int]:
    """Read a mono WAV (int16 or float32). Returns (samples float64, sample_rate_hz).

    Raises InputError for a missing/unreadable file, a wrong sample rate, more than one channel
    (unless mix_to_mono, for material from third-party tools), an unsupported sample type, or
    NaN/Inf samples.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such WAV file", file=path)
    try:
        rate, data = wavfile.read(path)
    except (ValueError, OSError) as exc:
        raise InputError(f"not a readable WAV file ({exc})", file=path) from None
    if expected_rate_hz is not None and rate != expected_rate_hz:
        raise InputError(
            f"sample rate is {rate} Hz but {expected_rate_hz} Hz is required (tunerig never resamples silently)",
            file=path,
        )
    if data.ndim != 1:
        if not mix_to_mono:
            raise InputError(f"has {data.shape[1]} channels; tunerig processes mono audio", file=path)
        data = data.mean(axis=1).astype(data.dtype)
    if data.dtype == np.int16:
        x = data.astype(np.float64) / 32768.0
    elif data.dtype == np.float32:
        x = data.astype(np.float64)
        if not np.all(np.isfinite(x)):
            bad = int(np.flatnonzero(~np.isfinite(x))[0])
            raise InputError(f"sample {bad} is NaN or infinite", file=path)
        if not allow_clipped and np.max(np.abs(x), initial=0.0) > 1.0:
            raise InputError("float samples exceed full scale (|x| > 1.0)", file=path)
    else:
        raise InputError(f"sample type {data.dtype} is not supported (use {' or '.join(SUPPORTED)})", file=path)
    return x, int(rate)


def wav_sample_type(path) -> str:
    """'int16' or 'float32' (other types are rejected by read_wav), read from the header only."""
    try:
        _, data = wavfile.read(path, mmap=True)
    except (ValueError, OSError) as exc:
        raise InputError(f"not a readable WAV file ({exc})", file=path) from None
    return str(data.dtype)


def write_wav(path, samples: np.ndarray, sample_rate_hz: int, dtype: str = "int16") -> None:
    """Write mono samples (float in [-1, 1], or int16 already quantised) atomically.

    int16 output rounds to nearest and saturates; the file appears only when complete.
    """
    if dtype not in SUPPORTED:
        raise InputError(f"unsupported output sample type '{dtype}' (use {' or '.join(SUPPORTED)})")
    x = np.asarray(samples)
    if x.dtype == np.int16:
        data = x if dtype == "int16" else (x.astype(np.float32) / 32768.0)
    else:
        x = x.astype(np.float64)
        if not np.all(np.isfinite(x)):
            raise InputError("refusing to write NaN or infinite samples", file=path)
        if dtype == "int16":
            data = np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)
        else:
            data = x.astype(np.float32)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".wav")
    os.close(fd)
    try:
        wavfile.write(tmp, int(sample_rate_hz), data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
