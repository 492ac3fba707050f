"""Fit an MBDP profile to a speaker: as loud and as bass-rich as physics allows, safe for any input.

Three mechanisms keep the speaker safe, each with an exact or verified bound:
1. The full-band limiter's peak ceiling is exact, so its threshold (the rail, the supply current limit
   and digital full scale, less a true-peak margin) keeps the amplifier out of clipping and brownout.
2. Each band limiter's ceiling L_k is exact, and a sine of input amplitude <= 1 moves the cone by at
   most c_k(L_k) = max_f |X(f)| v_fs min(L_k, G_k |H_k(f)|) through band k (G_k its make-up gain, H_k
   its response incl. the high-pass). L_k is the highest level with c_k <= 90 % of Xmax.
3. Excursion is linear in the drive, so tones in different bands ADD. The excursion guard, a side-chain
   of the full-band limiter that filters the output through the speaker's excursion model, pulls the
   whole output down whenever the predicted excursion passes 85 % of Xmax (FIELD_NOTES §1.2).
   Its peak is held for half a period of the high-pass frequency (the longest period it acts on), so
   a bass tone sees a steady gain instead of one modulated at twice its frequency (distortion).
The high-pass and the crossovers are chosen by multi-start coordinate descent on an objective that
estimates A-weighted loudness through the speaker plus (per program) the 40-200 Hz output level.
Finally the designer renders a stress set (sweeps, bursts at each band's worst frequency, in-phase
tones across bands, bass-heavy noise) through the float model and its excursion filter, and lowers
the guard threshold until every signal stays under 95 % of Xmax.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import signal

from designer import physics, signals
from designer.crossover import band_responses, design_crossover, highpass_sos
from designer.dynamics import CompressorParams, LimiterParams
from designer.errors import InputError
from designer.profile import BandParams, Profile
from designer.speaker import Speaker

BAND_XMAX_FRACTION = 0.90   # one band alone may use 90 % of Xmax
GUARD_THRESHOLD = 0.85      # the excursion guard starts limiting at 85 % of Xmax
VERIFY_MARGIN = 0.95        # rendered stress signals must stay below 95 % of Xmax
TRUE_PEAK_MARGIN_DB = 0.5   # inter-sample peaks after the DAC can exceed sample peaks
BLOCK_MS = 1.0
LOOKAHEAD_MS = 2.0
OUTPUT_LOOKAHEAD_MS = 2.0   # 6-12 ms buys the guard only ~0.1 dB of bass: not worth the latency
MIN_XOVER_RATIO = 2 ** (2 / 3)   # crossovers at least 2/3 octave apart
PROGRAM_CREST_DB = 12.0          # peak-to-RMS of a band's program signal (noise-like)
BASS_BAND_HZ = (40.0, 200.0)
_L_GRID_DB = np.arange(-40.0, 0.01, 0.25)


@dataclass(frozen=True)
class Program:
    name: str
    bass_weight: float           # weight of 40-200 Hz output level against overall loudness
    compressor_headroom_db: float
    bass_ratio: float
    upper_ratio: float

    def spectrum(self, f: np.ndarray) -> np.ndarray:
        """Long-term power spectral density shape (arbitrary scale)."""
        pink = 1.0 / f
        if self.name == "music":     # pink with a +10 dB low shelf below ~150 Hz (as signals.music_like)
            shelf = np.abs(1 + (10 ** 0.5 - 1) / (1 + 1j * f / 150.0)) ** 2
            return pink * shelf
        if self.name == "speech":    # voice band: 100 Hz - 4 kHz
            return pink / (1 + (100.0 / f) ** 4) / (1 + (f / 4000.0) ** 4)
        return pink


PROGRAMS = {
    "music": Program("music", 1.0, 10.0, 4.0, 2.0),
    "speech": Program("speech", 0.2, 8.0, 3.0, 3.0),
    "pink": Program("pink", 0.5, 8.0, 2.0, 2.0),
}


def a_weighting_power(f: np.ndarray) -> np.ndarray:
    """IEC 61672 A-weighting, power (|A(f)|^2), normalised to 1 at 1 kHz."""
    f2 = f**2
    ra = (12194.0**2 * f2**2) / ((f2 + 20.6**2) * np.sqrt((f2 + 107.7**2) * (f2 + 737.9**2)) * (f2 + 12194.0**2))
    return (ra / 0.7943282347242815) ** 2


@dataclass
class _Context:
    spk: Speaker
    fs: int
    f: np.ndarray                # analysis grid
    x_fs: np.ndarray             # |excursion| per digital full scale, metres
    spl_fs: np.ndarray           # |pressure|^2 per digital full scale (relative)
    ceiling: float               # full-band limiter threshold, linear
    program: Program
    s_prog: np.ndarray


def _context(spk: Speaker, program: str) -> _Context:
    fs = spk.design.sample_rate_hz
    f = physics.log_grid(10.0, min(20000.0, 0.45 * fs), 480)
    amp = spk.amplifier
    x_fs = np.abs(physics.excursion_per_volt(spk, f)) * amp.v_at_full_scale
    spl_fs = np.abs(physics.pressure_per_volt(spk, f)) ** 2 * amp.v_at_full_scale**2
    volts = min(amp.vmax_peak_v, amp.v_at_full_scale)
    if amp.imax_peak_a is not None:
        volts = min(volts, amp.imax_peak_a * float(np.min(physics.impedance_magnitude(spk, f[f >= 20]))))
    ceiling = volts / amp.v_at_full_scale * 10 ** (-TRUE_PEAK_MARGIN_DB / 20)
    prog = PROGRAMS[program]
    return _Context(spk, fs, f, x_fs, spl_fs, min(ceiling, 10 ** (-TRUE_PEAK_MARGIN_DB / 20)), prog, prog.spectrum(f))


def _band_magnitudes(ctx: _Context, hp_hz: float, xovers: tuple[float, ...]) -> np.ndarray:
    h = np.abs(band_responses(design_crossover(xovers, ctx.fs), ctx.f))
    hp = np.abs(signal.sosfreqz(highpass_sos(hp_hz, 4, ctx.fs), worN=ctx.f, fs=ctx.fs)[1])
    return h * hp[None, :]


def _excursion_cost(ctx: _Context, mag: np.ndarray, levels: np.ndarray, makeup: np.ndarray) -> np.ndarray:
    """c_k(L) for every band k and candidate level L: shape (n_bands, len(levels)), metres.
    A sine of amplitude <= 1 at f reaches band k at |H_k(f)|, at most G_k |H_k(f)| after make-up
    (the compressor only ever reduces below that), and the limiter caps it at L."""
    drive = np.minimum(levels[None, :, None], makeup[:, None, None] * mag[:, None, :])
    return np.max(ctx.x_fs[None, None, :] * drive, axis=2)


def _band_limits(ctx: _Context, mag: np.ndarray, makeup: np.ndarray) -> np.ndarray:
    """Highest limit per band that keeps that band ALONE within BAND_XMAX_FRACTION of Xmax for any
    sine up to 0 dBFS. Sums across bands are the excursion guard's job."""
    levels = np.unique(np.minimum(10 ** (_L_GRID_DB / 20), ctx.ceiling))
    cost = _excursion_cost(ctx, mag, levels, makeup)
    ok = cost <= BAND_XMAX_FRACTION * ctx.spk.driver.xmax
    idx = np.where(ok.any(axis=1), len(levels) - 1 - np.argmax(ok[:, ::-1], axis=1), 0)
    return levels[idx]


def _objective(ctx: _Context, mag: np.ndarray, limits: np.ndarray, makeup: np.ndarray) -> float:
    """Estimated program loudness (A-weighted, through the speaker) + bass_weight x 40-200 Hz level, dB."""
    df = np.gradient(ctx.f)
    rms2 = (ctx.s_prog[None, :] * mag**2 * df[None, :]).sum(axis=1)
    # Input normalised so the full-band program peaks at 0 dBFS with a 12 dB crest factor.
    scale = 10 ** (-PROGRAM_CREST_DB / 10) / (ctx.s_prog * df).sum()
    peak = np.sqrt(rms2 * scale) * 10 ** (PROGRAM_CREST_DB / 20)
    g2 = np.minimum(makeup, limits / np.maximum(peak, 1e-12)) ** 2
    s_out = scale * ctx.s_prog[None, :] * mag**2 * g2[:, None] * df[None, :]
    loud = (s_out.sum(axis=0) * ctx.spl_fs * a_weighting_power(ctx.f)).sum()
    in_bass = (ctx.f >= BASS_BAND_HZ[0]) & (ctx.f <= BASS_BAND_HZ[1])
    bass = s_out[:, in_bass].sum()
    return 10 * np.log10(loud + 1e-300) + ctx.program.bass_weight * 10 * np.log10(bass + 1e-300)


def _compressor(limit_db: float, f_lo: float, f_hi: float, prog: Program) -> CompressorParams:
    """Per-band compressor that lifts quiet material and hands loud material to the limiter: an input
    at the limiter's level leaves at that level (make-up = headroom x (1 - 1/ratio), at most 6 dB).
    Make-up counts in the band's excursion cost; a burst after silence that passes with full make-up
    while the compressor attacks is what the excursion guard is for."""
    bass = f_hi <= 250.0
    ratio = prog.bass_ratio if bass else prog.upper_ratio
    headroom = prog.compressor_headroom_db
    return CompressorParams(
        threshold_db=round(limit_db - headroom, 2), ratio=ratio, knee_db=6.0,
        attack_ms=10.0 if bass else 5.0, release_ms=200.0 if bass else 100.0,
        makeup_db=round(min(6.0, headroom * (1 - 1 / ratio)), 2), floor_db=-40.0)


def _limiter_release_ms(f_lo: float) -> float:
    """About ten periods of the band's lowest frequency, 20-200 ms: slow enough not to distort it."""
    return float(np.clip(10_000.0 / max(f_lo, 1.0), 20.0, 200.0))


@dataclass
class Fit:
    profile: Profile
    objective_db: float
    limits_db: np.ndarray
    excursion_costs_mm: np.ndarray
    verified_peak_excursion_mm: float
    allowed: physics.AllowedLevel


def _build_profile(ctx: _Context, name: str, hp_hz: float, xovers, limits: np.ndarray, comps) -> Profile:
    edges = [hp_hz, *xovers, ctx.fs / 2]
    bands = tuple(BandParams(comps[k], LimiterParams(round(20 * math.log10(lim), 2), _limiter_release_ms(edges[k])))
                  for k, lim in enumerate(limits))
    return Profile(
        name=name, sample_rate_hz=ctx.fs, block_ms=BLOCK_MS, highpass_hz=round(hp_hz, 1), highpass_order=4,
        crossovers_hz=tuple(round(x, 1) for x in xovers), lookahead_ms=LOOKAHEAD_MS, bands=bands,
        output_limiter=LimiterParams(round(20 * math.log10(ctx.ceiling), 2), 50.0), output_lookahead_ms=OUTPUT_LOOKAHEAD_MS,
    )


def _evaluate(ctx: _Context, hp_hz: float, xovers: tuple[float, ...]):
    """Objective, band limits, compressors and band magnitudes for one high-pass/crossover choice."""
    mag = _band_magnitudes(ctx, hp_hz, xovers)
    edges = [hp_hz, *xovers, ctx.fs / 2]
    makeup_db = min(_compressor(0.0, edges[k], edges[k + 1], ctx.program).makeup_db for k in range(len(mag)))
    makeup = np.full(len(mag), 10 ** (makeup_db / 20))
    limits = _band_limits(ctx, mag, makeup)
    comps = [_compressor(round(20 * math.log10(limits[k]), 2), edges[k], edges[k + 1], ctx.program)
             for k in range(len(mag))]
    # One make-up for all bands, so quiet material passes with a flat response.
    common = min(c.makeup_db for c in comps)
    comps = [replace(c, makeup_db=common) for c in comps]
    makeup = np.full(len(mag), 10 ** (common / 20))
    return _objective(ctx, mag, limits, makeup), limits, comps, mag


def _valid(hp_hz, xovers, fs) -> bool:
    pts = [hp_hz * 1.5, *xovers]
    return all(b >= a * MIN_XOVER_RATIO for a, b in zip(pts[1:], pts[2:])) and pts[1] >= pts[0] \
        and xovers[-1] <= 0.4 * fs


def _descend(ctx: _Context, params: list[float], progress=None):
    hp_grid = np.geomspace(20.0, 200.0, 16)
    x_grid = np.geomspace(50.0, min(8000.0, 0.4 * ctx.fs), 40)
    best = _evaluate(ctx, params[0], tuple(params[1:]))[0]
    for _sweep in range(3):
        improved = False
        for i in range(len(params)):
            for cand in (hp_grid if i == 0 else x_grid):
                trial = list(params)
                trial[i] = float(cand)
                if not _valid(trial[0], tuple(trial[1:]), ctx.fs):
                    continue
                j = _evaluate(ctx, trial[0], tuple(trial[1:]))[0]
                if j > best + 0.01:    # move only for a real gain (0.01 dB)
                    best, params, improved = j, trial, True
            if progress is not None:
                progress.update(1)
        if not improved:
            break
    return params, best


def _starts(ctx: _Context, n_bands: int) -> list[list[float]]:
    """Starting points: the high-pass at a few multiples of the system's low-frequency corner
    (resonance, or port tuning where the cone unloads below it), crossovers spread above it."""
    spk = ctx.spk
    corner = spk.enclosure.fb if spk.enclosure.type == "vented" else spk.driver.fs * (
        math.sqrt(1 + spk.driver.vas / spk.enclosure.vb) if spk.enclosure.type == "sealed" else 1.0)
    starts = []
    for hp in (0.5 * corner, 0.8 * corner, 1.0 * corner):
        hp = float(np.clip(hp, 20.0, 200.0))
        x = np.geomspace(max(2.0 * hp, 80.0), 4000.0, n_bands - 1) if n_bands > 2 else np.array([max(2.0 * hp, 80.0)])
        if _valid(hp, tuple(x), ctx.fs):
            starts.append([hp, *map(float, x)])
    return starts or [[30.0, *np.geomspace(100.0, 4000.0, n_bands - 1)]]


def _search(ctx: _Context, n_bands: int, progress=None) -> list[list[float]]:
    """Candidates for one band count: multi-start coordinate descent on the analytic objective, plus
    layouts that stack bands at the low end (where the analytic model undervalues a limited low band)."""
    cands = [_descend(ctx, start, progress)[0] for start in _starts(ctx, n_bands)]
    for params in _starts(ctx, n_bands):
        hp = params[0]
        x = [hp * 1.6]
        while len(x) < n_bands - 1:
            x.append(x[-1] * (1.8 if len(x) < 2 else 8.0))
        if _valid(hp, tuple(x), ctx.fs):
            cands.append([hp, *x])
    return cands


def _program_signal(program: str, fs: int) -> np.ndarray:
    if program == "speech":
        return signals.speech_like(3.0, fs, seed=21)
    if program == "pink":
        return signals.coloured_noise(3.0, fs, -3.0, seed=21)
    return signals.music_like(3.0, fs, seed=21)


def rendered_score_db(profile: Profile, ctx: _Context, x: np.ndarray) -> float:
    """What the fit finally maximises: A-weighted output level + bass_weight x 40-200 Hz output level,
    rendered through the float model for the program's signal at 0 dBFS."""
    from designer.mbdp import render

    y = render(profile, x)
    spec = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(len(y), 1 / ctx.fs)
    f[0] = 1.0
    loud = np.sum(spec * a_weighting_power(f))
    bass = np.sum(spec[(f >= BASS_BAND_HZ[0]) & (f <= BASS_BAND_HZ[1])])
    return float(10 * np.log10(loud + 1e-300) + ctx.program.bass_weight * 10 * np.log10(bass + 1e-300))


def guard_hold_ms(highpass_hz: float, block_ms: float) -> float:
    """Half a period of the lowest frequency the guard acts on (the high-pass: below it the excursion
    response no longer matters), rounded up to whole blocks: between the half-wave peaks of any tone
    above it the held peak cannot fall, so the release cannot modulate the gain."""
    return math.ceil(500.0 / highpass_hz / block_ms - 1e-9) * block_ms


def _with_guard(profile: Profile, spk: Speaker, threshold: float) -> Profile:
    guard = physics.excursion_sos(spk, profile.sample_rate_hz)
    guard[0, :3] *= spk.amplifier.v_at_full_scale / spk.driver.xmax      # output in units of Xmax
    return replace(profile, guard_sos=tuple(tuple(float(v) for v in row) for row in guard), guard_threshold=threshold,
                   guard_hold_ms=guard_hold_ms(profile.highpass_hz or 20.0, profile.block_ms))


def stress_signals(profile: Profile, ctx: _Context) -> dict[str, np.ndarray]:
    """Stress set plus, per band, bursts at the frequency where that band moves the cone most."""
    sigs = signals.stress_set(profile.sample_rate_hz, profile.crossovers_hz, duration_s=1.0)
    mag = _band_magnitudes(ctx, profile.highpass_hz, profile.crossovers_hz)
    worst = [float(ctx.f[np.argmax(ctx.x_fs * m)]) for m in mag]
    for k, fw in enumerate(worst):
        sigs[f"bursts_band{k + 1}_{fw:.0f}hz"] = signals.tone_bursts(fw, 1.0, profile.sample_rate_hz, 0.1, 0.15)
    sigs["worst_per_band_in_phase"] = signals.multitone(worst, 1.0, profile.sample_rate_hz)
    return sigs


def peak_excursion_m(spk: Speaker, y: np.ndarray, fs_hz: float) -> float:
    """Peak |excursion| (m) for digital output y, through the designer's excursion filter."""
    x = signal.sosfilt(physics.excursion_sos(spk, fs_hz), y * spk.amplifier.v_at_full_scale)
    return float(np.max(np.abs(x)))


def design(spk: Speaker, bands: int | str | None = None, *, program: str | None = None, verify: bool = True,
           progress: bool = False) -> Fit:
    """Fit a profile to spk. bands: 2..8, "auto", or None for the speaker file's [design] value."""
    from designer.mbdp import render

    program = program or spk.design.program
    if program not in PROGRAMS:
        raise InputError(f"unknown program {program!r}; use one of {sorted(PROGRAMS)}", field="program")
    bands = spk.design.bands if bands is None else bands
    ctx = _context(spk, program)
    candidates = range(2, 7) if bands == "auto" else [int(bands)]
    if any(not 2 <= n <= 8 for n in candidates):
        raise InputError(f"bands must be 2..8 or 'auto', got {bands!r}", field="bands")
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=sum(9 * n for n in candidates), desc="fitting crossovers", unit="step", leave=False)
    cands = [(n, c) for n in candidates for c in _search(ctx, n, bar)]
    if bar is not None:
        bar.close()
    x_prog = _program_signal(program, ctx.fs)
    scored = []
    for n, c in cands:
        j, limits, comps, mag = _evaluate(ctx, c[0], tuple(c[1:]))
        prof = _with_guard(_build_profile(ctx, spk.name, c[0], tuple(c[1:]), limits, comps), spk, GUARD_THRESHOLD)
        scored.append((rendered_score_db(prof, ctx, x_prog), n, c))
    best_score = max(sc for sc, _, _ in scored)
    # Fewest bands whose best candidate is within 0.5 dB of the best overall (simpler C, less cost).
    _, n_bands, params = max(((sc, n, c) for sc, n, c in scored if sc >= best_score - 0.5), key=lambda t: (-t[1], t[0]))
    hp_hz, xovers = params[0], tuple(params[1:])
    j, limits, comps, mag = _evaluate(ctx, hp_hz, xovers)
    makeup = 10 ** (np.array([c.makeup_db for c in comps]) / 20)
    profile = _with_guard(_build_profile(ctx, spk.name, hp_hz, xovers, limits, comps), spk, GUARD_THRESHOLD)
    peak = float("nan")
    if verify:
        sigs = stress_signals(profile, ctx)
        for _ in range(8):
            peak = max(peak_excursion_m(spk, render(profile, x), ctx.fs) for x in sigs.values())
            if peak <= VERIFY_MARGIN * spk.driver.xmax:
                break
            thr = profile.guard_threshold * VERIFY_MARGIN * spk.driver.xmax / peak * 0.98
            profile = replace(profile, guard_threshold=round(max(thr, 0.05), 4))
        else:
            raise InputError(f"could not make the design safe: stress peak excursion {peak * 1e3:.2f} mm "
                             f"> {VERIFY_MARGIN:.0%} of Xmax {spk.driver.xmax * 1e3:.2f} mm")
    allowed = physics.allowed_level(spk, ctx.f)
    costs = np.diag(_excursion_cost(ctx, mag, limits, makeup))
    notes = {
        "speaker": spk.name, "program": program,
        "xmax_mm": round(spk.driver.xmax * 1e3, 3),
        "band_excursion_mm": [round(float(c) * 1e3, 3) for c in costs],
        "guard_threshold_of_xmax": profile.guard_threshold,
        "guard_hold_ms": profile.guard_hold_ms,
        "stress_peak_excursion_mm": round(peak * 1e3, 3) if verify else -1.0,
        "binding_constraints": "; ".join(f"{n} {lo:.0f}-{hi:.0f} Hz" for n, lo, hi in allowed.binding_ranges()),
        "objective_db": round(float(j), 2),
    }
    profile = replace(profile, notes=notes)
    return Fit(profile, float(j), 20 * np.log10(limits), costs * 1e3, peak * 1e3, allowed)


def single_limiter_threshold_db(spk: Speaker) -> float:
    """Threshold of the baseline: one full-band limiter made safe for any sine up to 0 dBFS, with no
    high-pass (most favourable to the baseline: it protects only against steady tones)."""
    f = physics.log_grid(10.0, min(20000.0, 0.45 * spk.design.sample_rate_hz), 960)
    return float(min(np.min(physics.allowed_level(spk, f).dbfs), 0.0)) - TRUE_PEAK_MARGIN_DB
