"""`tunerig percepnet ...`: data, oracle, train, enhance, evaluate, compare-c, frontend.

TensorFlow is imported only by `train` (the other commands run without it; `enhance --engine tflm`
needs tflite-micro).
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path


def _data(args):
    from designer.percepnet.config import FULLBAND_48K, FrontEndConfig
    from designer.percepnet.data import build_dataset
    cfg = FULLBAND_48K if args.rate == 48000 else FrontEndConfig()
    out = build_dataset(args.out, seed=args.seed, cfg=cfg, train_minutes=args.minutes,
                        test_files_per_snr=args.test_files, test_only=args.test_only)
    print(f"data set written to {out}")


def _oracle(args):
    from designer.audio import read_wav, write_wav
    from designer.errors import InputError
    from designer.percepnet.config import FrontEndConfig
    from designer.percepnet.frontend import FrontEnd, check_audio
    from designer.percepnet.oracle import oracle_enhance
    cfg = FrontEndConfig.load(args.config) if args.config else FrontEndConfig()
    fe = FrontEnd(cfg)
    clean, fs = read_wav(args.clean, cfg.sample_rate_hz)
    second, _ = read_wav(args.noise, cfg.sample_rate_hz)
    clean = check_audio(clean, fs, cfg, file=args.clean)
    second = check_audio(second, fs, cfg, file=args.noise)
    if len(second) != len(clean):
        raise InputError(f"has {len(second)} samples but the clean file has {len(clean)}", file=args.noise)
    noise = second - clean if args.mixed else second
    y = oracle_enhance(fe, clean, noise, postfilter=args.postfilter)
    write_wav(args.output, y, fs)
    if args.noisy_out:
        write_wav(args.noisy_out, clean + noise, fs)
    from designer.percepnet.metrics import si_sdr_db
    print(f"SI-SDR: noisy {si_sdr_db(clean, clean + noise):.2f} dB -> oracle {si_sdr_db(clean, y):.2f} dB")


def _train(args):
    from designer.percepnet.engine import SHIPPED_DIR
    from designer.percepnet.train import load_train_config, train
    cfg = load_train_config(args.config)
    if args.minutes is not None:
        cfg["minutes"] = args.minutes
    stem = train(cfg)
    print(f"model: {stem}.tflite / .json / .npz")
    if args.ship:
        SHIPPED_DIR.mkdir(exist_ok=True)
        for ext in (".tflite", ".json", ".npz"):
            shutil.copy2(stem.with_suffix(ext), SHIPPED_DIR / (stem.name + ext))
        shutil.copy2(stem.parent / "training.png", SHIPPED_DIR / "training.png")
        print(f"shipped to {SHIPPED_DIR}")


def _enhance(args):
    from designer.audio import read_wav, write_wav
    from designer.percepnet.engine import PercepNetModel
    from designer.percepnet.frontend import check_audio
    m = PercepNetModel(args.model)
    x, fs = read_wav(args.input)
    x = check_audio(x, fs, m.cfg, file=args.input)
    y = m.enhance(x, args.engine, postfilter=not args.no_postfilter)
    write_wav(args.output, y, fs, "float32" if args.float32 else "int16")
    if args.plot:
        spectrogram_png(args.plot, fs, [("input", x), (f"enhanced ({args.engine})", y)])
    if args.engine in ("float", "tflm"):
        delay = m.cfg.delay_len
    else:                       # the C pipeline adds one hop less one sample of buffering (tr_pn.h)
        from codegen.percepnet.generate import c_latency_samples
        delay = c_latency_samples(m.cfg)
    print(f"{args.output}: {len(y) / fs:.2f} s enhanced with the {args.engine} engine "
          f"(time-aligned; streaming delay {delay} samples = {1000 * delay / fs:g} ms)")


def _engine(text: str) -> str:
    """argparse type of --engine: float, tflm, c-host or board:NAME[@URL]."""
    import argparse
    if text in ("float", "tflm", "c-host") or (text.startswith("board:") and len(text) > 6):
        return text
    raise argparse.ArgumentTypeError(f"unknown engine '{text}' (use float, tflm, c-host or board:NAME[@URL])")


def _compare_c(args):
    from codegen.percepnet.compare import compare_c, format_compare, plot_compare
    from designer.percepnet.engine import SHIPPED_STEM
    res = compare_c(args.data, args.model or SHIPPED_STEM, max_files_per_snr=args.max_files)
    _report(args, res, format_compare, plot_compare)


def _report(args, res: dict, format_table, plot) -> None:
    """Print a results table; write the JSON (--json) and the plot (--plot) when asked."""
    print(format_table(res))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=1))
    if args.plot:
        plot(res, args.plot)


def spectrogram_png(path, fs, signals):
    """Stacked spectrograms (dB) of the given (title, signal) pairs (also used by `make demo`)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    fig, axes = plt.subplots(len(signals), 1, figsize=(9, 2.6 * len(signals)), sharex=True)
    for ax, (title, sig) in zip(np.atleast_1d(axes), signals):
        with np.errstate(divide="ignore"):   # digital silence: -inf dB, drawn as the floor colour
            ax.specgram(sig, NFFT=512, Fs=fs, noverlap=384, cmap="magma", vmin=-130, vmax=-20)
        ax.set_title(title)
        ax.set_ylabel("Hz")
    np.atleast_1d(axes)[-1].set_xlabel("s")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _evaluate(args):
    from designer.percepnet.engine import SHIPPED_STEM
    from designer.percepnet.evaluate import SYSTEMS, evaluate, format_table, plot_results
    model = None if args.no_model else (args.model or SHIPPED_STEM)
    systems = tuple(args.systems.split(",")) if args.systems else SYSTEMS
    res = evaluate(args.data, model, systems=systems, max_files_per_snr=args.max_files)
    _report(args, res, format_table, plot_results)


def _frontend(args):
    from designer.percepnet.config import FULLBAND_48K, FrontEndConfig
    from designer.percepnet.frontend import FrontEnd, band_centres_bins, comb_taps
    cfg = FULLBAND_48K if args.rate == 48000 else FrontEndConfig()
    d = cfg.to_dict()
    d["band_centres_bins"] = band_centres_bins(cfg).tolist()
    d["comb_taps_full"] = comb_taps(cfg).tolist()
    d["window"] = "vorbis: w[i] = sin(pi/2 sin^2(pi (i + 0.5) / N))"
    text = json.dumps(d, indent=1)
    if args.output:
        Path(args.output).write_text(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    FrontEnd(cfg)


def register(subparsers) -> None:
    """Add the `percepnet` subcommand group."""
    p = subparsers.add_parser("percepnet", help="PercepNet-style noise suppressor: data, training, int8, evaluation")
    sub = p.add_subparsers(dest="percepnet_command", required=True, metavar="STEP")

    d = sub.add_parser("data", help="make training features and the held-out test set from a seed")
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("-o", "--out", default="build/percepnet/data")
    d.add_argument("--minutes", type=float, default=120.0, help="minutes of training audio")
    d.add_argument("--test-files", type=int, default=16, help="test files per SNR (0, 5, 10, 20 dB)")
    d.add_argument("--rate", type=int, choices=(16000, 48000), default=16000)
    d.add_argument("--test-only", action="store_true", help="only (re)make the held-out test set")
    d.set_defaults(func=_data)

    o = sub.add_parser("oracle", help="enhance clean+noise with the ideal gains and comb strengths")
    o.add_argument("clean")
    o.add_argument("noise", help="noise WAV (or, with --mixed, the noisy mixture)")
    o.add_argument("-o", "--output", required=True)
    o.add_argument("--mixed", action="store_true", help="the second file is clean+noise, not noise")
    o.add_argument("--noisy-out", help="also write the mixture here")
    o.add_argument("--postfilter", action="store_true", help="apply the envelope post-filter too")
    o.add_argument("--config", help="front-end config JSON (default: 16 kHz)")
    o.set_defaults(func=_oracle)

    t = sub.add_parser("train", help="train, convert to int8 TFLite (needs the [nn] extra)")
    t.add_argument("--config", required=True, help="training TOML (see examples/percepnet/train.toml)")
    t.add_argument("--minutes", type=float, help="override the training time budget")
    t.add_argument("--ship", action="store_true", help="copy the result into designer/percepnet/models/")
    t.set_defaults(func=_train)

    e = sub.add_parser("enhance", help="denoise a WAV with a trained model")
    e.add_argument("model", help="STEM.tflite (STEM.json and, for --engine float, STEM.npz beside it)")
    e.add_argument("input")
    e.add_argument("output")
    e.add_argument("--engine", type=_engine, default="tflm",
                   help="float, tflm (default), c-host (generated fixed-point C on this machine) or board:NAME")
    e.add_argument("--no-postfilter", action="store_true")
    e.add_argument("--float32", action="store_true", help="write float32 instead of int16")
    e.add_argument("--plot", help="write input/output spectrograms to this PNG")
    e.set_defaults(func=_enhance)

    v = sub.add_parser("evaluate", help="PESQ/STOI/SI-SDR table on the held-out test set")
    v.add_argument("--data", default="build/percepnet/data")
    v.add_argument("--model", help="model stem (default: the shipped model)")
    v.add_argument("--no-model", action="store_true", help="baselines only")
    v.add_argument("--systems", help="comma list (default: noisy,oracle,float,int8,rnnoise,wiener)")
    v.add_argument("--max-files", type=int, help="files per SNR")
    v.add_argument("--json", help="write all scores here")
    v.add_argument("--plot", help="write a PNG of the table here")
    v.set_defaults(func=_evaluate)

    c = sub.add_parser("compare-c", help="PESQ of the fixed-point C pipeline vs float front end + tflm")
    c.add_argument("--data", default="build/percepnet/data")
    c.add_argument("--model", help="model stem (default: the shipped model)")
    c.add_argument("--max-files", type=int, help="files per SNR")
    c.add_argument("--json", help="write all scores here")
    c.add_argument("--plot", help="write a PNG (per-file PESQ, C vs tflm) here")
    c.set_defaults(func=_compare_c)

    f = sub.add_parser("frontend", help="print the front-end parameters (for the fixed-point C port)")
    f.add_argument("--rate", type=int, choices=(16000, 48000), default=16000)
    f.add_argument("-o", "--output")
    f.set_defaults(func=_frontend)

