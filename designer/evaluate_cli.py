"""`tunerig evaluate PROFILE SPEAKER`: the MBDP's claims measured on the simulated device (designer.evaluate)."""
from __future__ import annotations

import argparse
from pathlib import Path


def _evaluate(args) -> int:
    from designer import evaluate, nonlinear
    from designer.profile import load_profile
    from designer.speaker import load_speaker

    profile = load_profile(args.profile)
    spk = load_speaker(args.speaker)
    large = nonlinear.load_large_signal(args.large_signal, spk) if args.large_signal else None
    baselines = tuple(args.baseline) if args.baseline else evaluate.BASELINES
    result = evaluate.evaluate(profile, spk, baselines, args.ladder, large=large, seconds_scale=args.seconds_scale,
                               clip=args.clip, aec=not args.no_aec, progress=True)
    for line in evaluate.summary_lines(result):
        print(line)
    if args.json:
        print(f"wrote {evaluate.write_json(result, args.json)}")
    if args.report:
        evaluate.write_json(result, Path(args.report) / "evaluate.json")
        for p in evaluate.plot_report(result, args.report):
            print(f"wrote {p}")
    return 0


def _ladder(v: str) -> tuple[float, ...]:
    try:
        return tuple(float(s) for s in v.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated dB values, got {v!r}") from None


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="measure loudness, bass, excursion, THD/IMD and echo cancellation on a "
                                        "simulated nonlinear speaker, against baselines")
    p.add_argument("profile", help="profile TOML (from `tunerig design`)")
    p.add_argument("speaker", help="speaker TOML the profile was fitted to")
    p.add_argument("--baseline", action="append", choices=("conventional", "single-limiter"),
                   help="baseline to compare with (repeatable; default: both)")
    p.add_argument("--json", help="write the results as JSON here")
    p.add_argument("--report", help="directory for the PNG plots (and evaluate.json)")
    p.add_argument("--large-signal", help="TOML with [large_signal] Bl/Kms/Le polynomials (default: shapes "
                                          "derived from Xmax, see designer/nonlinear.py)")
    p.add_argument("--clip", choices=("hard", "soft"), default="hard", help="amplifier clipping at the rail")
    p.add_argument("--seconds-scale", type=float, default=1.0, help="scale the program durations (default 1)")
    p.add_argument("--ladder", type=_ladder, default=None,
                   help="volumes in dB input gain, comma-separated (default -24,-21,...,+6)")
    p.add_argument("--no-aec", action="store_true", help="skip the echo canceller")
    p.set_defaults(func=_evaluate)
