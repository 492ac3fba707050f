"""Evaluation benchmark: the MBDP's claims on the simulated device, for every example speaker.

    tunerig bench evaluate [--out DIR] [--json FILE] [--speakers a,b] [--seconds-scale S]

For each example: design the profile, run designer.evaluate (volume ladder, baselines, nonlinear
speaker, Speex echo canceller), write DIR/<speaker>/ (evaluate.json and the PNGs), and print the
Markdown table for the README.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SPEAKERS = ("ns3-sealed-0.5l", "ns3-vented-1.5l", "fr88ex-sealed-0.5l", "fr89ex-vented-1.0l")


def table(rows: list[dict]) -> str:
    """README table: one row per speaker, figures at the top volume unless stated."""
    head = ("| speaker | Xmax mm | peak excursion mm: ours / single-limiter / conventional "
            "| bass at top, ours minus single / conventional (dB) | THD 100 Hz at top, ours / conv (%) (speaker's own) "
            "| ERLE at top, ours / conv (dB) | ERLE lost to speaker nonlinearity, ours / conv (dB) | claims |")
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        c = r["claims"]
        sl, cv = c.get("single-limiter", {}), c.get("conventional", {})
        ok = [("ours within Xmax", c["ours_within_xmax"]),
              ("single-limiter over Xmax or -3 dB bass", sl.get("exceeds_xmax_or_gives_up_3db_bass")),
              ("conventional over Xmax or -3 dB bass", cv.get("exceeds_xmax_or_gives_up_3db_bass")),
              ("ERLE +3 dB vs conventional", cv.get("erle_3db_better_at_top"))]
        claims = "; ".join(f"{n}: {'yes' if v else 'NO'}" for n, v in ok if v is not None)
        lines.append(
            f"| {r['name']} | {r['xmax_mm']:.2f} | {c['ours_max_excursion_mm']:.2f} / {sl.get('max_excursion_mm', float('nan')):.2f}"
            f" / {cv.get('max_excursion_mm', float('nan')):.2f} | {sl.get('bass_deficit_at_top_db', float('nan')):+.1f} / "
            f"{cv.get('bass_deficit_at_top_db', float('nan')):+.1f} | {cv.get('ours_thd_at_top_percent', float('nan')):.2f} / "
            f"{cv.get('thd_at_top_percent', float('nan')):.2f} ({cv.get('ours_speaker_thd_at_top_percent', float('nan')):.2f}"
            f" / {cv.get('speaker_thd_at_top_percent', float('nan')):.2f}) | {cv.get('ours_erle_at_top_db', float('nan')):.1f} / "
            f"{cv.get('erle_at_top_db', float('nan')):.1f} | {cv.get('ours_erle_nonlinear_loss_at_top_db', float('nan')):.1f}"
            f" / {cv.get('erle_nonlinear_loss_at_top_db', float('nan')):.1f} | {claims} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="tunerig bench evaluate", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/evaluate", help="report directory (default out/evaluate)")
    ap.add_argument("--json", help="also write all results here")
    ap.add_argument("--speakers", default=",".join(SPEAKERS), help="comma-separated example names")
    ap.add_argument("--seconds-scale", type=float, default=1.0)
    args = ap.parse_args(argv)

    from designer import evaluate
    from designer.fit import design
    from designer.profile import save_profile
    from designer.speaker import load_speaker

    rows = []
    for name in args.speakers.split(","):
        spk = load_speaker(EXAMPLES / f"{name}.toml")
        out = Path(args.out) / name
        t0 = time.perf_counter()
        fit = design(spk)
        save_profile(fit.profile, out / "profile.toml")
        result = evaluate.evaluate(fit.profile, spk, seconds_scale=args.seconds_scale, progress=True)
        evaluate.write_json(result, out / "evaluate.json")
        evaluate.plot_report(result, out)
        for line in evaluate.summary_lines(result):
            print(line, flush=True)
        rows.append({"name": name, "xmax_mm": result["xmax_mm"], "claims": result["claims"],
                     "seconds": round(time.perf_counter() - t0, 1)})
        print(f"{name}: {rows[-1]['seconds']} s, report in {out}", flush=True)
    print()
    print(table(rows))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
