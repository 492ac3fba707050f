"""Prove the MBDP's claims on a simulated device: loudness, bass, excursion, distortion and echo cancellation.

A program set (music-like, speech-like, a 100 Hz tone, a 60 Hz + 1 kHz two-tone, a full-scale bass
sweep; all normalised to 0 dBFS peak) is played at a ladder of volumes through a processor (ours: the
fitted MBDP, float `render`; or a baseline), the amplifier and the nonlinear loudspeaker
(designer.nonlinear). Volume is a digital input gain from -24 dB to +6 dB in 3 dB steps; above 0 dB
it is pre-gain into the processor, whose limiters bring the level back under full scale (every
processor here ends in a look-ahead limiter). The processor output saturates at digital full scale.

Baselines, matched in loudness: at the middle volume MATCH_VOLUME_DB, each baseline's input gain is
offset (secant search, to 0.05 dB) so the A-weighted level of the music program's radiated pressure,
through the LINEAR speaker model, equals ours; the same offset applies at every volume.
- single-limiter: one full-band look-ahead limiter at designer.fit.single_limiter_threshold_db
  (safe for any sine up to 0 dBFS, no high-pass), release 50 ms, the profile's block and look-ahead.
- conventional: a fixed 3-band processor not fitted to the speaker: 4th-order Butterworth low/high
  splits at 200 Hz and 2 kHz built straight from scipy (no all-pass compensation, so the sum is not
  flat), a look-ahead limiter at -6 dBFS in each band (release 100/50/20 ms, low to high), the
  bands summed into a full-band limiter at -0.5 dBFS (release 50 ms). No high-pass, no compressors.

Metrics (pressure on axis at 1 m, half space):
- loudness: A-weighted Leq in dB SPL (IEC 61672 weighting applied in the frequency domain);
- bass: 40-200 Hz Leq in dB SPL (music program);
- peak excursion over all programs, against Xmax;
- THD of the 100 Hz tone: harmonics 2..10 of the pressure against the fundamental (Hann window,
  steady second half); the same of the processor's digital output (what the processing itself adds),
  and speaker THD: harmonics of p - p_linear (what the speaker's nonlinearity adds);
- nonlinear residual (music): energy of p - p_linear (same drive through the linear model) relative
  to p_linear, dB: the echo no linear canceller can model;
- IMD, SMPTE style on 60 Hz + 1 kHz at 4:1 amplitude: sidebands 1 kHz +- k*60 Hz (k = 1..3) against
  the 1 kHz line;
- ERLE of Speex's MDF echo canceller (libspeexdsp via ctypes; 16 kHz int16, 20 ms frames, 256 ms filter).
  Reference: the processor's output (what is sent to the amplifier). Microphone: the radiated
  pressure convolved with a room response (pyroomacoustics image method if installed, else a
  synthetic exponentially decaying response), mic 15 cm from the speaker, plus near-end pink noise
  at 40 dB SPL, the mic clipping at 130 dB SPL. Both are resampled 48 -> 16 kHz with
  scipy.signal.resample_poly (evaluation only). The program plays twice (same echo, same noise) and
  ERLE = 10 log10(sum mic^2 / sum out^2) over the second pass: steady state, after convergence.
  The same run on the linear speaker model gives the ceiling.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import json
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy import signal

from designer import nonlinear, physics, signals
from designer.dynamics import LimiterParams, limit
from designer.errors import InputError, TunerigError
from designer.fit import a_weighting_power, single_limiter_threshold_db
from designer.mbdp import render
from designer.profile import Profile
from designer.speaker import Speaker

LADDER_DB = tuple(float(v) for v in np.arange(-24.0, 6.01, 3.0))
MATCH_VOLUME_DB = -12.0
BASELINES = ("single-limiter", "conventional")
BASS_BAND_HZ = (40.0, 200.0)
P_REF_PA = physics.P_REF_PA
GAP_S = 0.3                     # silence between programs in the speaker simulation (state decays)

TONE_HZ = 100.0
TWO_TONE_HZ = (60.0, 1000.0)
TWO_TONE_RATIO = 4.0            # SMPTE: low tone 4x the high tone's amplitude
THD_HARMONICS = 10
IMD_ORDERS = 3

# The conventional baseline: fixed, not fitted to the speaker.
CONVENTIONAL_CROSSOVERS_HZ = (200.0, 2000.0)
CONVENTIONAL_ORDER = 4
CONVENTIONAL_BAND_LIMIT_DB = -6.0
CONVENTIONAL_BAND_RELEASE_MS = (100.0, 50.0, 20.0)
CONVENTIONAL_OUTPUT = LimiterParams(-0.5, 50.0)
SINGLE_LIMITER_RELEASE_MS = 50.0

# Echo path and echo canceller.
AEC_RATE_HZ = 16000
AEC_FRAME = 320                 # 20 ms (10 ms frames converged erratically on compressed programs: +-4 dB)
AEC_FILTER = 4096               # 256 ms
AEC_SKIP_S = 3.0                # convergence time skipped when the program plays once
AEC_PASSES = 2                  # the program plays twice; ERLE is measured on the second pass
MIC_DISTANCE_M = 0.15
MIC_FULL_SCALE_DB_SPL = 130.0
NOISE_DB_SPL = 40.0
ROOM_DIM_M = (4.0, 3.5, 2.6)
ROOM_RT60_S = 0.25
_SPEEX_SET_SAMPLING_RATE = 24   # speex_echo.h: SPEEX_ECHO_SET_SAMPLING_RATE


# ---------------------------------------------------------------- programs
@dataclass(frozen=True)
class ProgramSet:
    """Test programs at fs, each 0 dBFS peak."""
    signals: dict[str, np.ndarray]
    fs_hz: int


def program_set(fs_hz: int, seconds_scale: float = 1.0, seed: int = 7) -> ProgramSet:
    """music 8 s, speech 4 s, tone 1 s, two-tone 1 s, bass sweep 2 s (times seconds_scale)."""
    if not 0.05 <= seconds_scale <= 10:
        raise InputError(f"seconds scale must be in [0.05, 10], got {seconds_scale}", field="seconds_scale")
    s = seconds_scale
    t1 = max(0.5, 1.0 * s)
    return ProgramSet({
        "music": signals.music_like(8.0 * s, fs_hz, seed=seed),
        "speech": signals.speech_like(4.0 * s, fs_hz, seed=seed),
        "tone": signals.tone(TONE_HZ, t1, fs_hz),
        "two_tone": _two_tone(t1, fs_hz),
        "bass": signals.log_sweep(20.0, 250.0, max(1.0, 2.0 * s), fs_hz),
    }, fs_hz)


def _two_tone(duration_s: float, fs_hz: int) -> np.ndarray:
    f_lo, f_hi = TWO_TONE_HZ
    x = TWO_TONE_RATIO * signals.tone(f_lo, duration_s, fs_hz) + signals.tone(f_hi, duration_s, fs_hz)
    return x / (TWO_TONE_RATIO + 1)


# ---------------------------------------------------------------- processors
def process_ours(profile: Profile, x: np.ndarray) -> np.ndarray:
    return render(profile, x)


def _limit_padded(x, block, lookahead_blocks, block_ms, p: LimiterParams):
    pad = np.concatenate([x, np.zeros((-len(x)) % block)])
    return limit(pad, block, lookahead_blocks, block_ms, p)[: len(x)]


def process_single_limiter(profile: Profile, spk: Speaker, x: np.ndarray) -> np.ndarray:
    p = LimiterParams(single_limiter_threshold_db(spk), SINGLE_LIMITER_RELEASE_MS)
    return _limit_padded(x, profile.block_samples, profile.lookahead_blocks, profile.block_ms, p)


def conventional_bands(x: np.ndarray, fs_hz: float) -> np.ndarray:
    """Butterworth tree, no all-pass compensation: LP(f1) | HP(f1)->LP(f2) | HP(f1)->HP(f2)."""
    bands, rest = [], np.asarray(x, dtype=np.float64)
    for fc in CONVENTIONAL_CROSSOVERS_HZ:
        bands.append(signal.sosfilt(signal.butter(CONVENTIONAL_ORDER, fc, "lowpass", fs=fs_hz, output="sos"), rest))
        rest = signal.sosfilt(signal.butter(CONVENTIONAL_ORDER, fc, "highpass", fs=fs_hz, output="sos"), rest)
    bands.append(rest)
    return np.array(bands)


def process_conventional(profile: Profile, x: np.ndarray) -> np.ndarray:
    block, la, bms = profile.block_samples, profile.lookahead_blocks, profile.block_ms
    bands = conventional_bands(x, profile.sample_rate_hz)
    total = sum(_limit_padded(b, block, la, bms, LimiterParams(CONVENTIONAL_BAND_LIMIT_DB, rel))
                for b, rel in zip(bands, CONVENTIONAL_BAND_RELEASE_MS))
    return _limit_padded(total, block, la, bms, CONVENTIONAL_OUTPUT)


def process(name: str, profile: Profile, spk: Speaker, x: np.ndarray) -> np.ndarray:
    if name == "ours":
        return process_ours(profile, x)
    if name == "single-limiter":
        return process_single_limiter(profile, spk, x)
    if name == "conventional":
        return process_conventional(profile, x)
    raise InputError(f"unknown processor {name!r}; use ours or one of {list(BASELINES)}", field="baseline")


# ---------------------------------------------------------------- acoustic metrics
def linear_pressure_pa(spk: Speaker, volts: np.ndarray, fs_hz: float) -> np.ndarray:
    """Pressure at 1 m of the LINEAR model (physics.pressure_per_volt), by FFT with zero padding."""
    n = len(volts)
    m = int(2 ** math.ceil(math.log2(n + fs_hz // 2)))
    f = np.fft.rfftfreq(m, 1 / fs_hz)
    h = np.zeros(len(f), dtype=complex)
    h[1:] = physics.pressure_per_volt(spk, f[1:])
    return np.fft.irfft(np.fft.rfft(volts, m) * h, m)[:n]


def _weighted_level_db(p: np.ndarray, fs_hz: float, weight) -> float:
    spec = np.abs(np.fft.rfft(p)) ** 2
    f = np.fft.rfftfreq(len(p), 1 / fs_hz)
    w = weight(np.maximum(f, 1e-3))
    # Parseval for a real signal: mean(p^2) = (|X0|^2 + 2 sum |Xk|^2 (+ Nyquist)) / N^2, approx 2 sum / N^2.
    ms = 2.0 * np.sum(spec[1:] * w[1:]) / len(p) ** 2
    return float(10 * np.log10(ms / P_REF_PA**2 + 1e-30))


def a_weighted_spl_db(p: np.ndarray, fs_hz: float) -> float:
    """A-weighted Leq (dB SPL) of a pressure signal in pascal."""
    return _weighted_level_db(p, fs_hz, a_weighting_power)


def band_spl_db(p: np.ndarray, fs_hz: float, band_hz=BASS_BAND_HZ) -> float:
    """Leq (dB SPL) of the part of p inside band_hz (brick-wall in the frequency domain)."""
    lo, hi = band_hz
    return _weighted_level_db(p, fs_hz, lambda f: ((f >= lo) & (f <= hi)).astype(float))


def _line_power(spec: np.ndarray, f_bins: np.ndarray, f_hz: float, half_width: int = 3) -> float:
    k = int(round(f_hz / (f_bins[1] - f_bins[0])))
    lo, hi = max(k - half_width, 1), min(k + half_width + 1, len(spec))
    return float(np.sum(spec[lo:hi])) if lo < hi else 0.0


def _steady_spectrum(p: np.ndarray, fs_hz: float, period_hz: float):
    """Hann-windowed power spectrum of the last whole number of periods of period_hz within the second
    half (transients have died, and every line falls on a bin)."""
    n = len(p) // 2
    periods = int(n * period_hz / fs_hz)
    if periods >= 2:
        n = int(round(periods * fs_hz / period_hz))
    seg = p[len(p) - n:]
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg)))) ** 2
    return spec, np.fft.rfftfreq(len(seg), 1 / fs_hz)


def thd_percent(p: np.ndarray, fs_hz: float, f0_hz: float, harmonics: int = THD_HARMONICS) -> float:
    """Total harmonic distortion (harmonics 2..N below Nyquist vs the fundamental), percent."""
    spec, f = _steady_spectrum(p, fs_hz, f0_hz)
    fund = _line_power(spec, f, f0_hz)
    harm = sum(_line_power(spec, f, k * f0_hz) for k in range(2, harmonics + 1) if k * f0_hz < 0.45 * fs_hz)
    return float(100 * math.sqrt(harm / fund)) if fund > 0 else float("nan")


def speaker_thd_percent(p: np.ndarray, p_linear: np.ndarray, fs_hz: float, f0_hz: float,
                        harmonics: int = THD_HARMONICS) -> float:
    """Harmonics the speaker itself adds: harmonics 2..N of p - p_linear (the same drive through the
    linear model) against the fundamental of p, percent. Harmonics already in the drive (processing)
    and the linear response's tilt cancel out."""
    spec, f = _steady_spectrum(p, fs_hz, f0_hz)
    spec_d, _ = _steady_spectrum(p - p_linear, fs_hz, f0_hz)
    fund = _line_power(spec, f, f0_hz)
    harm = sum(_line_power(spec_d, f, k * f0_hz) for k in range(2, harmonics + 1) if k * f0_hz < 0.45 * fs_hz)
    return float(100 * math.sqrt(harm / fund)) if fund > 0 else float("nan")


def imd_percent(p: np.ndarray, fs_hz: float, f_lo_hz: float = TWO_TONE_HZ[0], f_hi_hz: float = TWO_TONE_HZ[1],
                orders: int = IMD_ORDERS) -> float:
    """SMPTE-style intermodulation: sidebands f_hi +- k f_lo (k = 1..orders) against the f_hi line, percent."""
    spec, f = _steady_spectrum(p, fs_hz, math.gcd(int(round(f_lo_hz)), int(round(f_hi_hz))) or f_lo_hz)
    carrier = _line_power(spec, f, f_hi_hz)
    side = sum(_line_power(spec, f, f_hi_hz + s * k * f_lo_hz) for k in range(1, orders + 1) for s in (-1, 1))
    return float(100 * math.sqrt(side / carrier)) if carrier > 0 else float("nan")


def nonlinear_residual_db(p: np.ndarray, p_linear: np.ndarray) -> float:
    """Energy of what the speaker's nonlinearity adds (p - p_linear, the part no linear echo canceller
    can model) relative to the linear pressure, dB."""
    return float(10 * np.log10((np.sum((p - p_linear) ** 2) + 1e-30) / (np.sum(p_linear**2) + 1e-30)))


# ---------------------------------------------------------------- echo canceller (Speex MDF)
def _speex_lib():
    name = ctypes.util.find_library("speexdsp")
    if name is None:
        raise TunerigError("libspeexdsp not found: install the Debian package libspeexdsp1 (apt-get install libspeexdsp1)")
    lib = ctypes.CDLL(name)
    lib.speex_echo_state_init.restype = ctypes.c_void_p
    lib.speex_echo_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.speex_echo_cancellation.restype = None
    i16p = ctypes.POINTER(ctypes.c_int16)
    lib.speex_echo_cancellation.argtypes = [ctypes.c_void_p, i16p, i16p, i16p]
    lib.speex_echo_ctl.restype = ctypes.c_int
    lib.speex_echo_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lib.speex_echo_state_destroy.restype = None
    lib.speex_echo_state_destroy.argtypes = [ctypes.c_void_p]
    return lib


def speex_aec(ref: np.ndarray, mic: np.ndarray, rate_hz: int = AEC_RATE_HZ, frame: int | None = None,
              filter_len: int | None = None) -> np.ndarray:
    """Run Speex's MDF echo canceller over int16 reference (far end) and mic; returns the int16 output.
    The tail that does not fill a whole frame is dropped."""
    ref = np.asarray(ref)
    mic = np.asarray(mic)
    if ref.dtype != np.int16 or mic.dtype != np.int16 or ref.shape != mic.shape or ref.ndim != 1:
        raise InputError(f"speex_aec needs two 1-D int16 arrays of equal length, got {ref.dtype}{ref.shape} "
                         f"and {mic.dtype}{mic.shape}", field="ref/mic")
    frame = AEC_FRAME if frame is None else int(frame)
    filter_len = AEC_FILTER if filter_len is None else int(filter_len)
    lib = _speex_lib()
    st = lib.speex_echo_state_init(frame, filter_len)
    if not st:
        raise TunerigError("speex_echo_state_init failed")
    try:
        rate = ctypes.c_int(int(rate_hz))
        lib.speex_echo_ctl(st, _SPEEX_SET_SAMPLING_RATE, ctypes.byref(rate))
        n = len(ref) // frame * frame
        ref_c = np.ascontiguousarray(ref[:n])
        mic_c = np.ascontiguousarray(mic[:n])
        out = np.zeros(n, dtype=np.int16)
        i16p = ctypes.POINTER(ctypes.c_int16)
        base_r, base_m, base_o = (a.ctypes.data for a in (ref_c, mic_c, out))
        step = frame * 2
        for k in range(n // frame):
            lib.speex_echo_cancellation(st, ctypes.cast(base_m + k * step, i16p),
                                        ctypes.cast(base_r + k * step, i16p), ctypes.cast(base_o + k * step, i16p))
        return out
    finally:
        lib.speex_echo_state_destroy(st)


def erle_db(mic: np.ndarray, out: np.ndarray, rate_hz: int = AEC_RATE_HZ, skip_s: float = AEC_SKIP_S) -> float:
    """Echo return loss enhancement after convergence: 10 log10(sum mic^2 / sum out^2) past skip_s
    (at most half the signal)."""
    n = len(out)
    start = min(int(skip_s * rate_hz), n // 2)
    d = mic[start:n].astype(np.float64)
    e = out[start:n].astype(np.float64)
    return float(10 * np.log10((np.sum(d**2) + 1e-9) / (np.sum(e**2) + 1e-9)))


def room_response(rate_hz: int = AEC_RATE_HZ, distance_m: float = MIC_DISTANCE_M) -> tuple[np.ndarray, str]:
    """Pressure transfer from the speaker's 1 m on-axis pressure to the mic: a room impulse response
    scaled so its direct path is 1/distance (point source). pyroomacoustics image method if installed,
    else a synthetic one: direct path plus exponentially decaying noise with the same RT60."""
    try:
        import pyroomacoustics as pra
    except ImportError:
        pra = None
    if pra is not None:
        absorption, max_order = pra.inverse_sabine(ROOM_RT60_S, list(ROOM_DIM_M))
        room = pra.ShoeBox(list(ROOM_DIM_M), fs=rate_hz, materials=pra.Material(absorption), max_order=max_order)
        src = np.array([1.3, 1.6, 1.0])
        room.add_source(src.tolist())
        room.add_microphone((src + np.array([distance_m, 0.0, 0.0])).tolist())
        room.compute_rir()
        rir = np.asarray(room.rir[0][0], dtype=np.float64)
        rir *= (1.0 / distance_m) / np.max(np.abs(rir))          # direct path (the largest tap) = 1/d
        return rir, f"pyroomacoustics {pra.__version__} shoebox {ROOM_DIM_M} m, RT60 {ROOM_RT60_S} s"
    rng = np.random.default_rng(3)
    n = int(ROOM_RT60_S * rate_hz)
    t = np.arange(n) / rate_hz
    tail = rng.standard_normal(n) * np.exp(-6.91 * t / ROOM_RT60_S) * 0.3
    tail[: int(0.003 * rate_hz)] = 0.0
    delay = max(1, int(round(distance_m / 343.0 * rate_hz)))
    rir = np.concatenate([np.zeros(delay), [1.0 / distance_m], np.zeros(8)])
    return np.concatenate([rir, tail[: max(0, n - len(rir))]]) if n > len(rir) else rir, \
        f"synthetic: direct path + exponential tail, RT60 {ROOM_RT60_S} s"


def _resample(x: np.ndarray, fs_from: int, fs_to: int) -> np.ndarray:
    r = Fraction(int(fs_to), int(fs_from))
    return signal.resample_poly(x, r.numerator, r.denominator)


def _to_int16(x: np.ndarray) -> tuple[np.ndarray, int]:
    q = np.round(x * 32767.0)
    clipped = int(np.sum(np.abs(q) > 32767))
    return np.clip(q, -32768, 32767).astype(np.int16), clipped


def echo_erle_db(ref_digital: np.ndarray, pressure_1m_pa: np.ndarray, fs_hz: int, rir: np.ndarray,
                 noise_db_spl: float = NOISE_DB_SPL, seed: int = 5, passes: int = AEC_PASSES) -> tuple[float, int]:
    """ERLE of Speex MDF for one playback: (ERLE dB, number of clipped mic samples). With passes > 1
    the same playback (echo and noise) repeats and ERLE is measured on the last pass only."""
    ref16 = _resample(np.clip(ref_digital, -1.0, 1.0), fs_hz, AEC_RATE_HZ)
    p16 = _resample(pressure_1m_pa, fs_hz, AEC_RATE_HZ)
    mic_pa = signal.fftconvolve(p16, rir)[: len(p16)]
    noise = signals.coloured_noise(len(p16) / AEC_RATE_HZ, AEC_RATE_HZ, -3.0, seed)[: len(p16)]
    noise *= P_REF_PA * 10 ** (noise_db_spl / 20) / max(np.std(noise), 1e-30)
    full_scale_pa = P_REF_PA * 10 ** (MIC_FULL_SCALE_DB_SPL / 20)
    mic, clipped = _to_int16((mic_pa + noise) / full_scale_pa)
    ref, _ = _to_int16(ref16)
    if passes > 1:      # play the program again: the canceller has converged on the first pass
        mic, ref = np.tile(mic, passes), np.tile(ref, passes)
    out = speex_aec(ref, mic, AEC_RATE_HZ, AEC_FRAME, AEC_FILTER)
    skip_s = (passes - 1) * len(p16) / AEC_RATE_HZ if passes > 1 else AEC_SKIP_S
    return erle_db(mic[: len(out)], out, skip_s=skip_s), clipped


# ---------------------------------------------------------------- the evaluation
def _match_offset_db(name: str, profile: Profile, spk: Speaker, x: np.ndarray, target_dba: float) -> float:
    """Input gain offset (dB) that makes baseline `name` as loud as ours at MATCH_VOLUME_DB (linear model)."""
    fs = profile.sample_rate_hz

    def loud(offset):
        y = process(name, profile, spk, x * 10 ** ((MATCH_VOLUME_DB + offset) / 20))
        return a_weighted_spl_db(linear_pressure_pa(spk, nonlinear.amplifier_volts(spk, y), fs), fs)

    a, la = 0.0, loud(0.0)
    b, lb = 6.0, loud(6.0)
    for _ in range(12):
        if abs(lb - target_dba) < 0.05:
            break
        slope = (lb - la) / (b - a) if b != a else 1.0
        if abs(slope) < 1e-3:       # the baseline is limited flat: it cannot get louder
            break
        c = float(np.clip(b + (target_dba - lb) / slope, b - 24.0, b + 24.0))
        a, la, b, lb = b, lb, c, loud(c)
    return float(b)


def evaluate(profile: Profile, spk: Speaker, baselines=BASELINES, ladder_db=LADDER_DB, *,
             large: nonlinear.LargeSignal | None = None, seconds_scale: float = 1.0, clip: str = "hard",
             aec: bool = True, progress: bool = True) -> dict:
    """Run the whole evaluation; returns a JSON-ready dict (see module docstring for the metrics)."""
    from tqdm import tqdm

    fs = profile.sample_rate_hz
    if fs != spk.design.sample_rate_hz:
        raise InputError(f"profile sample rate {fs} Hz differs from the speaker's design rate "
                         f"{spk.design.sample_rate_hz} Hz", field="sample_rate_hz")
    for b in baselines:
        if b not in BASELINES:
            raise InputError(f"unknown baseline {b!r}; use one of {list(BASELINES)}", field="baseline")
    ladder = sorted(float(v) for v in (LADDER_DB if ladder_db is None else ladder_db))   # top volume last
    if not ladder or any(not math.isfinite(v) or not -60.0 <= v <= 12.0 for v in ladder):
        raise InputError(f"volume ladder must be finite dB values in [-60, +12], got {ladder}", field="ladder_db")
    progs = program_set(fs, seconds_scale)
    names = ["ours", *baselines]
    large = nonlinear.default_large_signal(spk) if large is None else large

    target = a_weighted_spl_db(linear_pressure_pa(
        spk, nonlinear.amplifier_volts(spk, process_ours(profile, progs.signals["music"] * 10 ** (MATCH_VOLUME_DB / 20))),
        fs), fs)
    offsets = {"ours": 0.0}
    for b in baselines:
        offsets[b] = _match_offset_db(b, profile, spk, progs.signals["music"], target)

    # Process every (processor, volume) column, programs one after another with silent gaps.
    gap = np.zeros(int(GAP_S * fs))
    segments, pos = {}, 0
    for pname, x in progs.signals.items():
        segments[pname] = (pos, pos + len(x))
        pos += len(x) + len(gap)
    cols, keys = [], []
    for name in names:
        for vol in ladder:
            g = 10 ** ((vol + offsets[name]) / 20)
            parts = []
            for x in progs.signals.values():
                parts += [np.clip(process(name, profile, spk, g * x), -1.0, 1.0), gap]
            cols.append(np.concatenate(parts))
            keys.append((name, vol))
    y = np.stack(cols, axis=1)
    volts = nonlinear.amplifier_volts(spk, y, clip)
    resp = nonlinear.simulate(spk, volts, fs, large, progress=progress)

    rir, room_desc = room_response() if aec else (None, "")
    out = {name: {k: [] for k in ("volume_db", "loudness_dba", "speech_loudness_dba", "bass_db", "peak_excursion_mm",
                                  "peak_excursion_by_program_mm", "thd_percent", "speaker_thd_percent", "thd_digital_percent",
                                  "imd_percent", "nonlinear_residual_db", "erle_music_db",
                                  "erle_speech_db", "erle_linear_music_db", "mic_clipped_samples")}
           for name in names}
    it = tqdm(list(enumerate(keys)), desc="metrics + echo canceller", unit="run", disable=not progress, leave=False)
    for c, (name, vol) in it:
        r = out[name]
        seg = lambda pname, a: a[segments[pname][0]:segments[pname][1], c]
        p_music = seg("music", resp.pressure_pa)
        r["volume_db"].append(vol)
        r["loudness_dba"].append(round(a_weighted_spl_db(p_music, fs), 2))
        r["speech_loudness_dba"].append(round(a_weighted_spl_db(seg("speech", resp.pressure_pa), fs), 2))
        r["bass_db"].append(round(band_spl_db(p_music, fs), 2))
        by_prog = {pn: round(float(np.max(np.abs(seg(pn, resp.excursion_m)))) * 1e3, 3) for pn in segments}
        r["peak_excursion_by_program_mm"].append(by_prog)
        r["peak_excursion_mm"].append(max(by_prog.values()))
        r["thd_percent"].append(round(thd_percent(seg("tone", resp.pressure_pa), fs, TONE_HZ), 3))
        p_tone = seg("tone", resp.pressure_pa)
        r["speaker_thd_percent"].append(round(speaker_thd_percent(
            p_tone, linear_pressure_pa(spk, seg("tone", volts), fs), fs, TONE_HZ), 3))
        r["thd_digital_percent"].append(round(thd_percent(seg("tone", y), fs, TONE_HZ), 3))
        r["imd_percent"].append(round(imd_percent(seg("two_tone", resp.pressure_pa), fs), 3))
        p_lin = linear_pressure_pa(spk, seg("music", volts), fs)
        r["nonlinear_residual_db"].append(round(nonlinear_residual_db(p_music, p_lin), 2))
        if aec:
            e_music, clipped = echo_erle_db(seg("music", y), p_music, fs, rir)
            e_speech, clipped2 = echo_erle_db(seg("speech", y), seg("speech", resp.pressure_pa), fs, rir)
            e_lin, _ = echo_erle_db(seg("music", y), p_lin, fs, rir)
            r["erle_music_db"].append(round(e_music, 2))
            r["erle_speech_db"].append(round(e_speech, 2))
            r["erle_linear_music_db"].append(round(e_lin, 2))
            r["mic_clipped_samples"].append(clipped + clipped2)
    xmax_mm = spk.driver.xmax * 1e3
    result = {
        "speaker": spk.name, "profile": profile.name, "xmax_mm": round(xmax_mm, 3), "sample_rate_hz": fs,
        "ladder_db": ladder, "match_volume_db": MATCH_VOLUME_DB, "loudness_target_dba": round(target, 2),
        "gain_offsets_db": {k: round(v, 2) for k, v in offsets.items()},
        "room": room_desc, "large_signal": {"bl_tm_si": list(large.bl), "kms_n_per_m_si": list(large.kms),
                                            "le_h_si": list(large.le), "bl_floor_tm": large.bl_floor},
        "amplifier_clip": clip, "processors": out,
    }
    result["claims"] = claims(result)
    result["_excursion_traces"] = {
        pname: {name: resp.excursion_m[segments[pname][0]:segments[pname][1], keys.index((name, ladder[-1]))]
                for name in names} for pname in ("music", "bass")}
    return result


def claims(result: dict) -> dict:
    """The issue's 'must show' list, evaluated on a result dict."""
    xmax = result["xmax_mm"]
    procs = result["processors"]
    ours = procs["ours"]
    c = {"ours_max_excursion_mm": max(ours["peak_excursion_mm"]),
         "ours_within_xmax": max(ours["peak_excursion_mm"]) <= xmax}
    for b in (k for k in procs if k != "ours"):
        base = procs[b]
        deficit = ours["bass_db"][-1] - base["bass_db"][-1]
        exceeds = max(base["peak_excursion_mm"]) > xmax
        c[b] = {"max_excursion_mm": max(base["peak_excursion_mm"]), "exceeds_xmax": exceeds,
                "bass_deficit_at_top_db": round(deficit, 2),
                "bass_deficit_max_db": round(max(o - q for o, q in zip(ours["bass_db"], base["bass_db"])), 2),
                "loudness_deficit_at_top_db":
                round(ours["loudness_dba"][-1] - base["loudness_dba"][-1], 2),
                "exceeds_xmax_or_gives_up_3db_bass": bool(exceeds or deficit >= 3.0)}
        c[b]["exceeds_xmax"] = bool(exceeds)
        if ours["erle_music_db"] and base["erle_music_db"]:
            c[b].update(thd_at_top_percent=base["thd_percent"][-1], ours_thd_at_top_percent=ours["thd_percent"][-1],
                        speaker_thd_at_top_percent=base["speaker_thd_percent"][-1],
                        ours_speaker_thd_at_top_percent=ours["speaker_thd_percent"][-1],
                        erle_at_top_db=base["erle_music_db"][-1], ours_erle_at_top_db=ours["erle_music_db"][-1],
                        erle_advantage_at_top_db=round(ours["erle_music_db"][-1] - base["erle_music_db"][-1], 2))
            c[b]["erle_3db_better_at_top"] = bool(c[b]["erle_advantage_at_top_db"] >= 3.0)
            # What the speaker's nonlinearity costs the canceller: the same playback through the linear
            # model minus through the nonlinear one (the processors' signals differ in how well Speex
            # cancels them even on a linear path; this separates that from the nonlinear echo).
            c[b]["erle_nonlinear_loss_at_top_db"] = round(base["erle_linear_music_db"][-1] - base["erle_music_db"][-1], 2)
            c[b]["ours_erle_nonlinear_loss_at_top_db"] = round(
                ours["erle_linear_music_db"][-1] - ours["erle_music_db"][-1], 2)
    c["ours_within_xmax"] = bool(c["ours_within_xmax"])
    return c


# ---------------------------------------------------------------- report
def write_json(result: dict, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = {k: v for k, v in result.items() if not k.startswith("_")}
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(clean, indent=2))
    tmp.replace(path)
    return path


def plot_report(result: dict, out_dir, fs_hz: float | None = None) -> list[Path]:
    """excursion.png (music at top volume), thd.png (THD and IMD vs volume), erle.png, levels.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fs = fs_hz or result["sample_rate_hz"]
    procs = result["processors"]
    xmax = result["xmax_mm"]
    title = result["speaker"]
    paths = []

    def save(fig, name):
        fig.suptitle(title, fontsize=9)
        fig.tight_layout()
        p = out / name
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)

    traces = result.get("_excursion_traces", {})
    fig, axs = plt.subplots(len(traces) or 1, 1, figsize=(10, 3.2 * max(len(traces), 1)), squeeze=False)
    for ax, (pname, by_proc) in zip(axs[:, 0], traces.items()):
        for name, tr in by_proc.items():
            ax.plot(np.arange(len(tr)) / fs, tr * 1e3, lw=0.6, label=name, alpha=0.8)
        for s in (1, -1):
            ax.axhline(s * xmax, color="k", ls="--", lw=1, label="Xmax" if s > 0 else None)
        what = "music-like program" if pname == "music" else "bass sweep 20-250 Hz, 0 dBFS"
        ax.set(xlabel="time (s)", ylabel="excursion (mm)",
               title=f"cone excursion, {what}, top volume ({result['ladder_db'][-1]:+.0f} dB)")
        ax.legend(loc="upper right", fontsize=8)
    save(fig, "excursion.png")

    fig, axs = plt.subplots(1, 3, figsize=(14, 4))
    for name, r in procs.items():
        line, = axs[0].semilogy(r["volume_db"], r["thd_percent"], "o-", label=f"{name}, pressure")
        axs[0].semilogy(r["volume_db"], r["speaker_thd_percent"], "s--", color=line.get_color(),
                        label=f"{name}, added by the speaker")
        axs[0].semilogy(r["volume_db"], r["thd_digital_percent"], ":", color=line.get_color(),
                        label=f"{name}, processor output")
        axs[1].semilogy(r["volume_db"], r["imd_percent"], "o-", label=name)
        axs[2].plot(r["volume_db"], r["nonlinear_residual_db"], "o-", label=name)
    axs[2].set(xlabel="volume (dB input gain)", ylabel="dB re linear echo",
               title="speaker nonlinear residual (music)")
    axs[0].set(xlabel="volume (dB input gain)", ylabel="THD (%)", title=f"THD of a {TONE_HZ:.0f} Hz tone (pressure)")
    axs[1].set(xlabel="volume (dB input gain)", ylabel="IMD (%)",
               title=f"IMD {TWO_TONE_HZ[0]:.0f} Hz + {TWO_TONE_HZ[1]:.0f} Hz, {TWO_TONE_RATIO:.0f}:1")
    for a in axs:
        a.grid(True, which="both", alpha=0.3)
        a.legend(fontsize=6 if a is axs[0] else 8)
    save(fig, "thd.png")

    fig, ax = plt.subplots(figsize=(6, 4))
    for k, (name, r) in enumerate(procs.items()):
        if r["erle_music_db"]:
            line, = ax.plot(r["volume_db"], r["erle_music_db"], "o-", label=f"{name}, music")
            ax.plot(r["volume_db"], r["erle_speech_db"], "s:", color=line.get_color(), label=f"{name}, speech")
            ax.plot(r["volume_db"], r["erle_linear_music_db"], "--", color=line.get_color(), alpha=0.5,
                    label=f"{name}, music, linear speaker")
    ax.set(xlabel="volume (dB input gain)", ylabel="ERLE (dB)", title="Speex MDF echo cancellation vs volume")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "echo canceller not run (--no-aec)", ha="center", transform=ax.transAxes)
    save(fig, "erle.png")

    fig, axs = plt.subplots(1, 3, figsize=(13, 4))
    for name, r in procs.items():
        axs[0].plot(r["volume_db"], r["loudness_dba"], "o-", label=name)
        axs[1].plot(r["volume_db"], r["bass_db"], "o-", label=name)
        axs[2].plot(r["volume_db"], r["peak_excursion_mm"], "o-", label=name)
    axs[2].axhline(xmax, color="k", ls="--", lw=1, label="Xmax")
    axs[0].set(xlabel="volume (dB input gain)", ylabel="dB(A) SPL at 1 m", title="loudness (music)")
    axs[1].set(xlabel="volume (dB input gain)", ylabel="dB SPL at 1 m", title="bass 40-200 Hz (music)")
    axs[2].set(xlabel="volume (dB input gain)", ylabel="mm", title="peak excursion (all programs)")
    for a in axs:
        a.grid(True, alpha=0.3)
        a.legend(fontsize=8)
    save(fig, "levels.png")
    return paths


def summary_lines(result: dict) -> list[str]:
    """Human-readable summary of the claims."""
    c = result["claims"]
    top = result["ladder_db"][-1]
    lines = [f"{result['speaker']}: Xmax {result['xmax_mm']:.2f} mm; ours peak excursion "
             f"{c['ours_max_excursion_mm']:.2f} mm ({'within' if c['ours_within_xmax'] else 'EXCEEDS'} Xmax)"]
    for b, v in c.items():
        if not isinstance(v, dict):
            continue
        s = (f"  vs {b} (gain offset {result['gain_offsets_db'][b]:+.1f} dB): peak {v['max_excursion_mm']:.2f} mm"
             f"{' > Xmax' if v['exceeds_xmax'] else ''}, bass at {top:+.0f} dB {v['bass_deficit_at_top_db']:+.1f} dB "
             f"in our favour -> {'holds' if v['exceeds_xmax_or_gives_up_3db_bass'] else 'does NOT hold'}")
        if "erle_advantage_at_top_db" in v:
            s += (f"; at top THD {v['ours_thd_at_top_percent']:.2f} % vs {v['thd_at_top_percent']:.2f} % (speaker's own "
                  f"{v['ours_speaker_thd_at_top_percent']:.2f} % vs {v['speaker_thd_at_top_percent']:.2f} %), ERLE "
                  f"{v['ours_erle_at_top_db']:.1f} vs {v['erle_at_top_db']:.1f} dB ({v['erle_advantage_at_top_db']:+.1f}; "
                  f"lost to the speaker's nonlinearity {v['ours_erle_nonlinear_loss_at_top_db']:.1f} vs "
                  f"{v['erle_nonlinear_loss_at_top_db']:.1f} dB)")
        lines.append(s)
    return lines
