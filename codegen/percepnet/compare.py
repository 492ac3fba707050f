"""The C pipeline against its reference on the held-out test set: PESQ-WB of the generated
fixed-point C (host build) vs PercepNetModel.enhance(x, "tflm") (float front end + tflite-micro int8
network) on the same Q15 input, per file and per SNR. `tunerig percepnet compare-c` prints the table.
"""
from __future__ import annotations

import json
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from designer.errors import InputError


def _score(args):
    stem, model_path = args
    from designer.audio import read_wav
    from designer.percepnet.engine import PercepNetModel
    from designer.percepnet.metrics import pesq_wb
    from codegen.fixedpoint import float_to_q15, q15_to_float
    clean, fs = read_wav(f"{stem}_clean.wav")
    noisy, _ = read_wav(f"{stem}_noisy.wav")
    # The test set is float32 WAV; the C pipeline takes Q15. Both sides get the same Q15 samples:
    # with the float file the reference would see band energies below the Q15 floor that no
    # 16-bit input can carry (measured: 22 % of int8 features differ on snr10_015 that way).
    noisy = q15_to_float(float_to_q15(noisy))
    m = PercepNetModel(model_path)
    y_ref = m.enhance(noisy, "tflm")
    y_c = m.enhance(noisy, "c-host")
    err = y_c - y_ref
    snr_db = 10 * np.log10(np.sum(y_ref ** 2) / max(np.sum(err ** 2), 1e-20))
    return Path(stem).name, {"noisy": pesq_wb(clean, noisy, fs), "tflm": pesq_wb(clean, y_ref, fs),
                             "c": pesq_wb(clean, y_c, fs), "c_vs_tflm_snr_db": float(snr_db)}


def compare_c(data_dir, model_path, max_files_per_snr: int | None = None, workers: int = 2,
              progress: bool = True) -> dict:
    """Per-file and per-SNR PESQ of the C pipeline and of the tflm reference."""
    from tqdm import tqdm

    from codegen.percepnet.host import build_host
    tdir = Path(data_dir) / "test"
    man = tdir / "manifest.json"
    if not man.is_file():
        raise InputError("no test/manifest.json: make the data set with `tunerig percepnet data`", file=tdir)
    items = json.loads(man.read_text())
    build_host(model_path)                      # once, before the workers ask for it
    by_snr: dict[int, list] = {}
    for it in items:
        by_snr.setdefault(int(round(it["snr_db"])), []).append(it)
    jobs = [(str(tdir / it["stem"]), str(model_path)) for snr in sorted(by_snr)
            for it in by_snr[snr][: max_files_per_snr or None]]
    per_file = {}
    with Pool(workers) as pool:
        for name, sc in tqdm(pool.imap_unordered(_score, jobs), total=len(jobs), desc="C vs tflm",
                             disable=not progress):
            per_file[name] = sc
    table = {}
    for snr in sorted(by_snr):
        rows = [v for n, v in per_file.items() if n.startswith(f"snr{snr:02d}_")]
        if not rows:
            continue
        d = np.array([r["c"] - r["tflm"] for r in rows])
        table[str(snr)] = {"files": len(rows), "noisy": float(np.mean([r["noisy"] for r in rows])),
                           "tflm": float(np.mean([r["tflm"] for r in rows])), "c": float(np.mean([r["c"] for r in rows])),
                           "mean_abs_diff": float(np.mean(np.abs(d))), "max_abs_diff": float(np.max(np.abs(d))),
                           "c_vs_tflm_snr_db": float(np.median([r["c_vs_tflm_snr_db"] for r in rows]))}
    d_all = np.array([v["c"] - v["tflm"] for v in per_file.values()])
    return {"files": len(per_file), "mean_abs_diff": float(np.mean(np.abs(d_all))),
            "max_abs_diff": float(np.max(np.abs(d_all))), "mean_diff": float(np.mean(d_all)),
            "per_snr": table, "per_file": per_file}


def format_compare(res: dict) -> str:
    lines = [f"{'SNR':>4} {'files':>5} {'noisy':>7} {'tflm':>7} {'C':>7} {'|d| mean':>9} {'|d| max':>8} {'C~tflm dB':>9}"]
    for snr, r in res["per_snr"].items():
        lines.append(f"{snr:>4} {r['files']:>5} {r['noisy']:7.3f} {r['tflm']:7.3f} {r['c']:7.3f} "
                     f"{r['mean_abs_diff']:9.4f} {r['max_abs_diff']:8.4f} {r['c_vs_tflm_snr_db']:9.1f}")
    lines.append(f"all {res['files']} files: mean |PESQ(C) - PESQ(tflm)| = {res['mean_abs_diff']:.4f} "
                 f"(max {res['max_abs_diff']:.4f}, mean signed {res['mean_diff']:+.4f}); criterion <= 0.05: "
                 + ("met" if res["mean_abs_diff"] <= 0.05 else "NOT met"))
    return "\n".join(lines)


def plot_compare(res: dict, path) -> None:
    """Scatter of per-file PESQ, C against tflm (on the diagonal = identical quality)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 5))
    for snr in res["per_snr"]:
        rows = [v for n, v in res["per_file"].items() if n.startswith(f"snr{int(snr):02d}_")]
        ax.plot([r["tflm"] for r in rows], [r["c"] for r in rows], "o", ms=4, label=f"{snr} dB")
    lo = min(min(v["tflm"], v["c"]) for v in res["per_file"].values()) - 0.05
    hi = max(max(v["tflm"], v["c"]) for v in res["per_file"].values()) + 0.05
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
    ax.set_xlabel("PESQ-WB, float front end + tflite-micro")
    ax.set_ylabel("PESQ-WB, fixed-point C pipeline (host)")
    ax.set_title(f"mean |difference| {res['mean_abs_diff']:.4f} over {res['files']} files")
    ax.legend(title="input SNR")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
