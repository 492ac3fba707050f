"""`tunerig demo`: the main job end to end, as `make demo` runs it.

speaker data -> profile -> plots and a rendered demo signal -> (when the firmware stages are present)
generated C -> firmware on the default QEMU board -> HIL regression -> report in OUT/; then the capture
path: noisy held-out speech through the PercepNet C pipeline on the same board (OUT/capture/).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DEMO_SPEAKERS = ("ns3-vented-1.5l.toml", "ns3-sealed-0.5l.toml", "fr89ex-vented-1.0l.toml", "fr88ex-sealed-0.5l.toml")
DEFAULT_BOARD = "mps2-an386"


def bass_advantage_db(spk, profile, seconds: float = 10.0) -> dict:
    """40-200 Hz output level of the profile vs a single full-band limiter that is safe for any
    sine up to 0 dBFS, on bass-heavy music-like noise at 0 dBFS (issue 2's figure)."""
    from scipy import signal

    from designer import signals
    from designer.dynamics import LimiterParams, limit
    from designer.fit import peak_excursion_m, single_limiter_threshold_db
    from designer.mbdp import render

    fs = profile.sample_rate_hz
    x = signals.music_like(seconds, fs, seed=11)
    y = render(profile, x)
    t_single = single_limiter_threshold_db(spk)
    pad = np.concatenate([x, np.zeros((-len(x)) % profile.block_samples)])
    yb = limit(pad, profile.block_samples, profile.lookahead_blocks, profile.block_ms, LimiterParams(t_single, 50.0))[: len(x)]
    sos = signal.butter(4, [40, 200], "bandpass", fs=fs, output="sos")
    level = lambda z: 10 * np.log10(np.mean(signal.sosfilt(sos, z) ** 2))
    return {
        "bass_40_200hz_dbfs": round(level(y), 2), "single_limiter_bass_dbfs": round(level(yb), 2),
        "bass_advantage_db": round(level(y) - level(yb), 2), "single_limiter_threshold_dbfs": round(t_single, 2),
        "peak_excursion_mm": round(peak_excursion_m(spk, y, fs) * 1e3, 3),
        "single_limiter_peak_excursion_mm": round(peak_excursion_m(spk, yb, fs) * 1e3, 3),
        "xmax_mm": round(spk.driver.xmax * 1e3, 3),
    }


def run_demo(out_dir, board: str = DEFAULT_BOARD, speakers=DEMO_SPEAKERS) -> dict:
    from designer import signals
    from designer.audio import write_wav
    from designer.fit import design
    from designer.plots import plot_profile
    from designer.profile import save_profile
    from designer.speaker import load_speaker
    from tunerig.render import render_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"speakers": {}}
    for name in speakers:
        spk = load_speaker(EXAMPLES / name)
        stem = Path(name).stem
        d = out / stem
        fit = design(spk, progress=True)
        save_profile(fit.profile, d / "profile.toml")
        plot_profile(fit.profile, spk, d / "plots")
        fig = bass_advantage_db(spk, fit.profile)
        summary["speakers"][stem] = {"profile": str(d / "profile.toml"), **fig}
        print(f"{stem}: bass 40-200 Hz {fig['bass_advantage_db']:+.2f} dB vs single limiter, peak excursion "
              f"{fig['peak_excursion_mm']:.2f} of {fig['xmax_mm']:.2f} mm")
        fs = fit.profile.sample_rate_hz
        write_wav(d / "demo_in.wav", signals.music_like(5.0, fs, seed=5), fs, "int16")
        render_file(d / "profile.toml", d / "demo_in.wav", d / "demo_out_float.wav", "float")
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    try:
        from hil.demo import run_board_demo
    except ImportError:
        run_board_demo = None
    if run_board_demo is not None:
        first = Path(speakers[0]).stem
        summary["board"] = run_board_demo(out / first / "profile.toml", board, out / "hil",
                                          speaker=load_speaker(EXAMPLES / speakers[0]))
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        # The capture path: the PercepNet noise suppressor's C pipeline on the same board.
        from hil.demo import run_capture_demo
        summary["capture"] = run_capture_demo(board, out / "capture")
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"report: {out / 'summary.json'}")
    return summary


def _cli(args) -> int:
    summary = run_demo(args.out, args.board)
    ok = all(summary.get(stage, {}).get("passed", True) for stage in ("board", "capture"))
    return 0 if ok else 1


def register(sub) -> None:
    p = sub.add_parser("demo", help="the main job end to end on the default board (what `make demo` runs)")
    p.add_argument("--out", default="out", help="output directory (default out/)")
    p.add_argument("--board", default=DEFAULT_BOARD)
    p.set_defaults(func=_cli)
