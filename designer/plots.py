"""Plots of a profile (and the speaker it was fitted to): what people would rather see than read."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import signal  # noqa: E402

from designer import physics, signals  # noqa: E402
from designer.crossover import band_responses, design_crossover, highpass_sos  # noqa: E402
from designer.dynamics import compressor_gain_db  # noqa: E402
from designer.mbdp import render  # noqa: E402
from designer.profile import Profile  # noqa: E402
from designer.speaker import Speaker  # noqa: E402


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_bands(p: Profile, out: Path) -> Path:
    fs = p.sample_rate_hz
    f = physics.log_grid(10, min(20000, 0.45 * fs), 800)
    xo = design_crossover(p.crossovers_hz, fs)
    fig, ax = plt.subplots(figsize=(9, 5))
    hp = np.ones_like(f, dtype=complex)
    if p.highpass_hz:
        hp = signal.sosfreqz(highpass_sos(p.highpass_hz, p.highpass_order, fs), worN=f, fs=fs)[1]
    bands = band_responses(xo, f) * hp
    for k, h in enumerate(bands):
        ax.semilogx(f, 20 * np.log10(np.abs(h) + 1e-12), label=f"band {k + 1}")
    ax.semilogx(f, 20 * np.log10(np.abs(bands.sum(axis=0))), "k", lw=2, label="sum (all-pass compensated)")
    naive = (band_responses(xo, f, compensated=False) * hp).sum(axis=0)
    ax.semilogx(f, 20 * np.log10(np.abs(naive)), "r:", lw=1.5, label="sum without compensation")
    ax.set(ylim=(-40, 6), xlabel="frequency (Hz)", ylabel="dB", title=f"{p.name}: crossover bands and their sum")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out / "bands.png")


def plot_allowed(p: Profile, spk: Speaker, out: Path) -> Path:
    f = physics.log_grid(10, min(20000, 0.45 * p.sample_rate_hz), 800)
    a = physics.allowed_level(spk, f)
    fig, ax = plt.subplots(figsize=(9, 5))
    for name, v in a.constraints_dbfs.items():
        ax.semilogx(f, v, "--", lw=1, label=f"{name} limit")
    ax.semilogx(f, a.dbfs, "k", lw=2.5, label="allowed sine level")
    edges = [p.highpass_hz or 10, *p.crossovers_hz, f[-1]]
    for k, b in enumerate(p.bands):
        ax.hlines(b.limiter.threshold_db, edges[k], edges[k + 1], colors="C3", lw=3,
                  label="band limiter thresholds" if k == 0 else None)
    for lo, hi, name in [(r[1], r[2], r[0]) for r in a.binding_ranges()]:
        ax.annotate(name, ((lo * hi) ** 0.5, 1.5), ha="center", fontsize=8)
    ax.set(ylim=(-40, 4), xlabel="frequency (Hz)", ylabel="dBFS (peak)",
           title=f"{spk.name}: allowed digital level per frequency and what binds")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, out / "allowed_level.png")


def plot_static_curves(p: Profile, out: Path) -> Path:
    lvl = np.linspace(-70, 0, 281)
    fig, ax = plt.subplots(figsize=(7, 6))
    for k, b in enumerate(p.bands):
        y = lvl + compressor_gain_db(lvl, b.compressor)
        y = np.minimum(y, b.limiter.threshold_db)
        ax.plot(lvl, y, label=f"band {k + 1}: {b.compressor.ratio:g}:1 from {b.compressor.threshold_db:g} dB, "
                f"limit {b.limiter.threshold_db:g} dB")
    ax.plot(lvl, lvl, "k:", lw=1, label="unity")
    ax.axhline(p.output_limiter.threshold_db, color="k", lw=1.5, label="full-band limiter")
    ax.set(xlabel="band input level (dBFS)", ylabel="band output level (dBFS)", title="static curves")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, out / "static_curves.png")


def plot_excursion(p: Profile, spk: Speaker, out: Path) -> Path:
    fs = p.sample_rate_hz
    x = signals.music_like(4.0, fs, seed=7)
    y = render(p, x)
    sos = physics.excursion_sos(spk, fs)
    v = spk.amplifier.v_at_full_scale
    before = signal.sosfilt(sos, np.clip(x, -1, 1) * v) * 1e3
    after = signal.sosfilt(sos, y * v) * 1e3
    t = np.arange(len(x)) / fs
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.plot(t, before, lw=0.6, alpha=0.7, label=f"unprocessed (peak {np.max(np.abs(before)):.2f} mm)")
    ax.plot(t, after, lw=0.6, label=f"through the profile (peak {np.max(np.abs(after)):.2f} mm)")
    for s in (1, -1):
        ax.axhline(s * spk.driver.xmax * 1e3, color="r", lw=1.2, label="Xmax" if s > 0 else None)
    ax.set(xlabel="time (s)", ylabel="cone excursion (mm)", title="predicted excursion, bass-heavy music-like signal at 0 dBFS")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(True, alpha=0.3)
    return _save(fig, out / "excursion.png")


def plot_profile(p: Profile, spk: Speaker | None, out_dir) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [plot_bands(p, out), plot_static_curves(p, out)]
    if spk is not None:
        paths += [plot_allowed(p, spk, out), plot_excursion(p, spk, out)]
    return paths
