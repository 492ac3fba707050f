"""Designer benchmark: design time per example profile, float render speed, and the bass figure.

    tunerig bench design [--json FILE]

Render speed: seconds of 48 kHz audio processed per second of wall time on one core (best of 3),
for each fitted profile. Bass figure: 40-200 Hz output level on 10 s of bass-heavy music-like noise
at 0 dBFS against a single full-band limiter safe for any sine (tunerig.demo.bass_advantage_db).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SPEAKERS = ("ns3-sealed-0.5l", "ns3-vented-1.5l", "fr88ex-sealed-0.5l", "fr89ex-vented-1.0l")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="tunerig bench design", description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write results here")
    args = ap.parse_args(argv)

    from tqdm import tqdm

    from designer import signals
    from designer.fit import design
    from designer.mbdp import render
    from designer.speaker import load_speaker
    from tunerig.demo import bass_advantage_db

    rows = []
    for name in tqdm(SPEAKERS, desc="speakers"):
        spk = load_speaker(EXAMPLES / f"{name}.toml")
        t0 = time.perf_counter()
        fit = design(spk)
        t_design = time.perf_counter() - t0
        p = fit.profile
        x = signals.music_like(10.0, p.sample_rate_hz, seed=1)
        best = min(_timed(render, p, x) for _ in range(3))
        fig = bass_advantage_db(spk, p)
        rows.append({"speaker": name, "bands": p.n_bands, "design_s": round(t_design, 2),
                     "render_x_realtime": round(10.0 / best, 1), **{k: float(v) for k, v in fig.items()}})
    print("| speaker | bands | design (s) | float render (x real time, 48 kHz) | bass 40-200 Hz vs single limiter (dB) | peak excursion / Xmax (mm) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['speaker']} | {r['bands']} | {r['design_s']} | {r['render_x_realtime']} | "
              f"{r['bass_advantage_db']:+.2f} | {r['peak_excursion_mm']:.2f} / {r['xmax_mm']:.2f} |")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


def _timed(fn, *a):
    t = time.perf_counter()
    fn(*a)
    return time.perf_counter() - t


if __name__ == "__main__":
    raise SystemExit(main())
