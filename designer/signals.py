"""Test and stress signals: the one generator every stage uses (designer checks, codegen tests, HIL vectors).

All functions return float64 mono arrays scaled by peak (`peak_dbfs`, 0 dBFS = full scale) and are
deterministic for a given seed.
"""
from __future__ import annotations

import numpy as np
from scipy import signal


def _to_peak(x: np.ndarray, peak_dbfs: float) -> np.ndarray:
    m = np.max(np.abs(x))
    return x * (10 ** (peak_dbfs / 20) / m) if m > 0 else x


def _samples(duration_s: float, fs_hz: float) -> int:
    return int(round(duration_s * fs_hz))


def log_sweep(f0_hz: float, f1_hz: float, duration_s: float, fs_hz: float, peak_dbfs: float = 0.0) -> np.ndarray:
    """Exponential sine sweep from f0 to f1 at constant amplitude."""
    t = np.arange(_samples(duration_s, fs_hz)) / fs_hz
    return 10 ** (peak_dbfs / 20) * signal.chirp(t, f0_hz, duration_s, f1_hz, method="logarithmic", phi=-90)


def tone(f_hz: float, duration_s: float, fs_hz: float, peak_dbfs: float = 0.0, phase_rad: float = 0.0) -> np.ndarray:
    t = np.arange(_samples(duration_s, fs_hz)) / fs_hz
    return 10 ** (peak_dbfs / 20) * np.sin(2 * np.pi * f_hz * t + phase_rad)


def tone_bursts(f_hz: float, duration_s: float, fs_hz: float, on_s: float = 0.05, off_s: float = 0.2,
                peak_dbfs: float = 0.0) -> np.ndarray:
    """Tone switched on and off abruptly: the hardest case for a limiter's attack (and for excursion)."""
    x = tone(f_hz, duration_s, fs_hz, peak_dbfs)
    t = np.arange(len(x)) / fs_hz
    return x * ((t % (on_s + off_s)) < on_s)


def multitone(freqs_hz, duration_s: float, fs_hz: float, peak_dbfs: float = 0.0, phases_rad=None) -> np.ndarray:
    """Sum of tones (default cosine phase: all peaks align at t=0, the worst case for peak sums)."""
    t = np.arange(_samples(duration_s, fs_hz)) / fs_hz
    phases = np.zeros(len(freqs_hz)) if phases_rad is None else np.asarray(phases_rad)
    x = sum(np.cos(2 * np.pi * f * t + p) for f, p in zip(freqs_hz, phases))
    return _to_peak(x, peak_dbfs)


def coloured_noise(duration_s: float, fs_hz: float, slope_db_per_octave: float = -3.0, seed: int = 0,
                   peak_dbfs: float = 0.0) -> np.ndarray:
    """Gaussian noise with a power spectrum sloping by slope_db_per_octave (-3: pink, 0: white)."""
    n = _samples(duration_s, fs_hz)
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / fs_hz)
    f[0] = f[1]
    spec *= (f / 1000.0) ** (slope_db_per_octave / (20 * np.log10(2)))
    spec[0] = 0
    return _to_peak(np.fft.irfft(spec, n), peak_dbfs)


def music_like(duration_s: float, fs_hz: float, seed: int = 0, peak_dbfs: float = 0.0,
               bass_boost_db: float = 10.0) -> np.ndarray:
    """Bass-heavy music-like signal: pink noise, a low shelf of bass_boost_db below ~150 Hz, a kick-like
    40-90 Hz pulse at 120 BPM and a slow level modulation, normalised to peak_dbfs."""
    n = _samples(duration_s, fs_hz)
    x = coloured_noise(duration_s, fs_hz, -3.0, seed)
    low = signal.sosfilt(signal.butter(2, 150, "lowpass", fs=fs_hz, output="sos"), x)
    x = x + (10 ** (bass_boost_db / 20) - 1) * low
    t = np.arange(n) / fs_hz
    beat = t % 0.5
    kick = np.sin(2 * np.pi * (45 * beat + 60 * (1 - np.exp(-beat / 0.03)) * 0.03)) * np.exp(-beat / 0.12)
    x = x / np.std(x) + 1.5 * kick
    x *= 1 + 0.3 * np.sin(2 * np.pi * 0.25 * t)
    return _to_peak(x, peak_dbfs)


def speech_like(duration_s: float, fs_hz: float, seed: int = 0, peak_dbfs: float = 0.0) -> np.ndarray:
    """Voiced speech stand-in: a 100-200 Hz glottal pulse train through three formant resonators,
    gated at a syllable rate of ~4 Hz. For level and spectrum tests, not for intelligibility."""
    rng = np.random.default_rng(seed)
    n = _samples(duration_s, fs_hz)
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * np.arange(n) / fs_hz)
    phase = np.cumsum(f0 / fs_hz)
    pulses = np.diff(np.floor(phase), prepend=0.0)
    x = pulses + 0.02 * rng.standard_normal(n)
    for fc, bw in ((500, 80), (1500, 120), (2500, 160)):
        r = np.exp(-np.pi * bw / fs_hz)
        a = [1, -2 * r * np.cos(2 * np.pi * fc / fs_hz), r * r]
        x = signal.lfilter([1 - r], a, x) + 0.3 * x
    gate = 0.5 * (1 - np.cos(2 * np.pi * 4 * np.arange(n) / fs_hz)) ** 2
    return _to_peak(x * gate, peak_dbfs)


def impulse(duration_s: float, fs_hz: float, peak_dbfs: float = 0.0, at_s: float = 0.0) -> np.ndarray:
    x = np.zeros(_samples(duration_s, fs_hz))
    x[_samples(at_s, fs_hz)] = 10 ** (peak_dbfs / 20)
    return x


def square(f_hz: float, duration_s: float, fs_hz: float, peak_dbfs: float = 0.0) -> np.ndarray:
    return 10 ** (peak_dbfs / 20) * np.sign(tone(f_hz, duration_s, fs_hz) + 1e-12)


def stress_set(fs_hz: float, crossovers_hz=(), duration_s: float = 2.0, seed: int = 0) -> dict[str, np.ndarray]:
    """Full-scale signals that push an MBDP and a loudspeaker hardest (issue 2's list): a 20 Hz-20 kHz
    sweep, bass-heavy music-like noise, bass tone bursts, and in-phase tone sums across bands."""
    top = min(20000.0, 0.45 * fs_hz)
    edges = [30.0, *crossovers_hz, top]
    centres = [float(np.sqrt(a * b)) for a, b in zip(edges, edges[1:])]
    sigs = {
        "sweep_20hz_20khz": log_sweep(20, top, 4 * duration_s, fs_hz),
        "music_like": music_like(duration_s * 2, fs_hz, seed),
        "white_noise": coloured_noise(duration_s, fs_hz, 0.0, seed + 1),
        "bursts_40hz": tone_bursts(40, duration_s, fs_hz),
        "bursts_80hz": tone_bursts(80, duration_s, fs_hz),
        "bursts_150hz": tone_bursts(150, duration_s, fs_hz),
        "tones_per_band": multitone(centres, duration_s, fs_hz),
        "tones_at_crossovers": multitone([*crossovers_hz, 50.0], duration_s, fs_hz),
    }
    return sigs
