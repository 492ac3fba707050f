"""Evaluation on the held-out test set: noisy input, oracle, float model, int8 model (tflite-micro),
RNNoise 0.2 and a Wiener filter; PESQ-WB, STOI and SI-SDR averaged per SNR.

The test set (made by `tunerig percepnet data`) uses voices, texts and noise types never used in
training. All outputs are time-aligned with the clean reference before scoring.
"""
from __future__ import annotations

import json
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from designer.audio import read_wav
from designer.errors import InputError

SYSTEMS = ("noisy", "oracle", "float", "int8", "rnnoise", "wiener")
METRICS = ("pesq", "stoi", "si_sdr")


def _score_file(args):
    stem_path, model_path, systems = args
    from designer.percepnet.baselines import rnnoise_enhance, wiener_enhance
    from designer.percepnet.engine import PercepNetModel
    from designer.percepnet.frontend import FrontEnd
    from designer.percepnet.metrics import pesq_wb, si_sdr_db, stoi
    from designer.percepnet.oracle import oracle_enhance

    clean, fs = read_wav(f"{stem_path}_clean.wav")
    noise, _ = read_wav(f"{stem_path}_noise.wav")
    noisy, _ = read_wav(f"{stem_path}_noisy.wav")
    model = PercepNetModel(model_path) if model_path else None
    fe = FrontEnd(model.cfg) if model else FrontEnd()
    if fe.cfg.sample_rate_hz != fs:
        raise InputError(f"test file is {fs} Hz, model runs at {fe.cfg.sample_rate_hz} Hz", file=f"{stem_path}_noisy.wav")
    out = {}
    for s in systems:
        if s == "noisy":
            y = noisy
        elif s == "oracle":
            y = oracle_enhance(fe, clean, noise)
        elif s == "float":
            y = model.enhance(noisy, "float", fe=fe)
        elif s == "int8":
            y = model.enhance(noisy, "tflm", fe=fe)
        elif s == "rnnoise":
            y = rnnoise_enhance(noisy, fs)
        elif s == "wiener":
            y = wiener_enhance(noisy, fs)
        out[s] = {"pesq": pesq_wb(clean, y, fs), "stoi": stoi(clean, y, fs), "si_sdr": si_sdr_db(clean, y)}
    return Path(stem_path).name, out


def evaluate(data_dir, model_path=None, systems=SYSTEMS, max_files_per_snr: int | None = None,
             workers: int = 2, progress: bool = True) -> dict:
    """Scores per file and means per (SNR, system, metric)."""
    from tqdm import tqdm

    tdir = Path(data_dir) / "test"
    man = tdir / "manifest.json"
    if not man.is_file():
        raise InputError("no test/manifest.json: make the data set with `tunerig percepnet data`", file=tdir)
    items = json.loads(man.read_text())
    if model_path is None:
        systems = tuple(s for s in systems if s not in ("float", "int8"))
    by_snr: dict[int, list] = {}
    for it in items:
        by_snr.setdefault(int(round(it["snr_db"])), []).append(it)
    jobs = []
    for snr in sorted(by_snr):
        for it in by_snr[snr][: max_files_per_snr or None]:
            jobs.append((str(tdir / it["stem"]), str(model_path) if model_path else None, systems))
    per_file = {}
    with Pool(workers) as pool:
        for name, sc in tqdm(pool.imap_unordered(_score_file, jobs), total=len(jobs), desc="evaluating",
                             disable=not progress):
            per_file[name] = sc
    noise_of = {it["stem"]: it["noise"] for it in items}
    speech_of = {it["stem"]: ("real" if all(v.startswith("klettres") for v in it["voices"]) else "tts")
                 for it in items}
    groups = {}
    for n, sc in per_file.items():
        for key in (f"noise={noise_of[n]}", f"speech={speech_of[n]}"):
            groups.setdefault(key, []).append(sc)
    by_group = {k: {s: {m: float(np.nanmean([sc[s][m] for sc in v])) for m in METRICS} for s in systems}
                for k, v in sorted(groups.items())}
    by_group_n = {k: len(v) for k, v in groups.items()}
    table = {}
    for snr in sorted(by_snr):
        names = [n for n in per_file if n.startswith(f"snr{snr:02d}_")]
        table[snr] = {s: {m: float(np.nanmean([per_file[n][s][m] for n in names])) for m in METRICS} for s in systems}
    return {"systems": list(systems), "metrics": list(METRICS), "files": len(per_file),
            "mean": {str(k): v for k, v in table.items()}, "by_group": by_group, "group_files": by_group_n,
            "per_file": per_file, "noise_of": noise_of, "speech_of": speech_of}


def format_table(res: dict) -> str:
    systems = res["systems"]
    lines = []
    head = f"{'SNR':>4} {'metric':>7} " + " ".join(f"{s:>8}" for s in systems)
    lines.append(head)
    lines.append("-" * len(head))
    for snr, row in res["mean"].items():
        for m in res["metrics"]:
            lines.append(f"{snr:>4} {m:>7} " + " ".join(f"{row[s][m]:8.3f}" for s in systems))
    lines.append("")
    lines.append(f"{'PESQ-WB by group (all SNRs)':<28}" + " ".join(f"{s:>8}" for s in systems))
    for g, row in res.get("by_group", {}).items():
        lines.append(f"{g + ' (' + str(res['group_files'][g]) + ')':<28}" + " ".join(f"{row[s]['pesq']:8.3f}" for s in systems))
    return "\n".join(lines)


def plot_results(res: dict, path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    snrs = [int(s) for s in res["mean"]]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, m, label in zip(axes, res["metrics"], ("PESQ-WB", "STOI", "SI-SDR (dB)")):
        for s in res["systems"]:
            ax.plot(snrs, [res["mean"][str(k)][s][m] for k in snrs], "o-", label=s)
        ax.set_xlabel("input SNR (dB)")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Held-out test set ({res['files']} files: unseen voices and noise types)")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
