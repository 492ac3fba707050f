"""Designer subcommands: fit-ts, design, plot. (render lives in tunerig/render.py: it spans engines.)"""
from __future__ import annotations

import argparse
from pathlib import Path

from designer.errors import InputError


def _fit_ts(args) -> int:
    from designer.fit_ts import fit_ts, plot_fit
    from designer.speaker import speaker_to_toml

    added = [(float(g), p) for g, p in (args.added_mass or [])]
    ts = fit_ts(args.z0, added, args.sd_cm2)
    out = Path(args.output)
    body = speaker_to_toml(args.name or Path(args.z0).stem, ts.as_si())
    text = (f"# Fitted by `tunerig fit-ts` from {Path(args.z0).name}"
            + "".join(f" + {g:g} g added mass ({Path(p).name})" for g, p in added)
            + f"; rms fit error {ts.free.rms_error_db:.2f} dB.\n"
            + "# Add xmax_mm (and the tables below) before `tunerig design`.\n" + body
            + "# xmax_mm = ?\n\n[enclosure]\ntype = \"free-air\"\n\n"
            + "# [amplifier]\n# vmax_peak_v = ?\n# v_at_full_scale = ?\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    png = out.with_suffix(".impedance.png")
    plot_fit(ts, args.z0, png)
    f = ts.free
    print(f"Re {f.re:.3f} ohm  fs {f.fs:.2f} Hz  Qms {f.qms:.3f}  Qes {f.qes:.3f}  Qts {f.qts:.3f}  Le {f.le * 1e3:.3f} mH")
    if ts.mms is not None:
        print(f"Mms {ts.mms * 1e3:.3f} g  Cms {ts.cms * 1e3:.4f} mm/N  Bl {ts.bl:.3f} T*m"
              + (f"  Vas {ts.vas * 1e3:.3f} L" if ts.vas else ""))
    print(f"wrote {out} and {png}")
    return 0


def _design(args) -> int:
    from designer.fit import design
    from designer.profile import save_profile
    from designer.speaker import load_speaker

    spk = load_speaker(args.speaker)
    bands = args.bands if args.bands in (None, "auto") else int(args.bands)
    fit = design(spk, bands, program=args.program, progress=True)
    save_profile(fit.profile, args.output)
    p = fit.profile
    print(f"{spk.name}: {p.n_bands} bands, high-pass {p.highpass_hz} Hz, crossovers {list(p.crossovers_hz)} Hz")
    print(f"band limits {[b.limiter.threshold_db for b in p.bands]} dBFS, full-band {p.output_limiter.threshold_db} dBFS, "
          f"excursion guard at {p.guard_threshold:.0%} of Xmax")
    print(f"stress-set peak excursion {fit.verified_peak_excursion_mm:.2f} mm of Xmax {spk.driver.xmax * 1e3:.2f} mm")
    print(f"wrote {args.output}")
    return 0


def _plot(args) -> int:
    from designer.plots import plot_profile
    from designer.profile import load_profile
    from designer.speaker import load_speaker

    p = load_profile(args.profile)
    spk = load_speaker(args.speaker) if args.speaker else None
    for path in plot_profile(p, spk, args.output):
        print(f"wrote {path}")
    return 0


def _bands_arg(v: str):
    if v == "auto":
        return v
    try:
        n = int(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 2..8 or 'auto', got {v!r}") from None
    if not 2 <= n <= 8:
        raise argparse.ArgumentTypeError(f"expected 2..8 or 'auto', got {n}")
    return n


def register(sub) -> None:
    p = sub.add_parser("fit-ts", help="fit Thiele-Small parameters to measured impedance (.zma)")
    p.add_argument("z0", help="free-air impedance sweep (.zma)")
    p.add_argument("--added-mass", nargs=2, action="append", metavar=("GRAMS", "ZMA"),
                   help="a sweep with GRAMS of mass added to the cone (repeatable)")
    p.add_argument("--sd-cm2", type=float, help="effective cone area, for Vas")
    p.add_argument("--name", help="speaker name in the output")
    p.add_argument("-o", "--output", required=True, help="speaker TOML to write")
    p.set_defaults(func=_fit_ts)

    p = sub.add_parser("design", help="fit a multiband dynamics profile to a speaker description")
    p.add_argument("speaker", help="speaker TOML")
    p.add_argument("-o", "--output", required=True, help="profile TOML to write")
    p.add_argument("--bands", type=_bands_arg, help="2..8 or auto (default: the speaker file's [design] bands)")
    p.add_argument("--program", choices=("music", "speech", "pink"), help="program material to optimise for")
    p.set_defaults(func=_design)

    p = sub.add_parser("plot", help="plot a profile (bands, static curves; with --speaker: limits, excursion)")
    p.add_argument("profile")
    p.add_argument("--speaker", help="speaker TOML the profile was fitted to")
    p.add_argument("-o", "--output", required=True, help="directory for the PNGs")
    p.set_defaults(func=_plot)


__all__ = ["register", "InputError"]
