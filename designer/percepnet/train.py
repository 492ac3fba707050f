"""Training: `tunerig percepnet train --config FILE` (TOML).

Config keys (all optional except `data`):
    data = "build/percepnet/data"        # made by `tunerig percepnet data`
    out = "build/percepnet/run"          # weights, model.json, int8 .tflite, plots
    minutes = 15.0                       # wall-clock budget for the epochs (training stops after the
                                         # epoch that crosses it; conversion takes ~1 more minute)
    max_epochs = 200
    batch_size = 32
    seq_frames = 200                     # training sequences are cut to this many frames
    learning_rate = 2e-3
    seed = 1
    patience = 10                        # stop after this many epochs without a better validation loss
    [model]  conv_units = 128, gru_units = 128, weight_clip = 0.5
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from designer.errors import InputError, read_toml
from designer.percepnet.config import FrontEndConfig
from designer.percepnet.model import ModelConfig, count_macs, count_params

TRAIN_DEFAULTS = {"out": "build/percepnet/run", "minutes": 15.0, "max_epochs": 200, "batch_size": 32,
                  "seq_frames": 200, "learning_rate": 2e-3, "seed": 1, "patience": 10, "model": {}}
MAX_PARAMS = 250_000
MAX_MACS = 250_000


def load_train_config(path) -> dict:
    path = Path(path)
    cfg = read_toml(path, "training config")
    unknown = set(cfg) - set(TRAIN_DEFAULTS) - {"data"}
    if unknown:
        raise InputError(f"unknown key(s) {', '.join(sorted(unknown))}", file=path)
    if "data" not in cfg:
        raise InputError("missing the dataset directory", file=path, field="data")
    out = {**TRAIN_DEFAULTS, **cfg}
    base = path.parent
    for key in ("data", "out"):
        p = Path(out[key])
        out[key] = p if p.is_absolute() or (Path.cwd() / p).exists() or key == "out" else base / p
    return out


def _chunks(feats, targs, seq_frames):
    n, t, _ = feats.shape
    k = t // seq_frames
    f = feats[:, : k * seq_frames].reshape(n * k, seq_frames, -1)
    y = targs[:, : k * seq_frames].reshape(n * k, seq_frames, -1)
    return f, y


def _prepare(cfg: dict):
    """Load the data set, normalise features, split train/validation (deterministic from the seed)."""
    data = Path(cfg["data"])
    if not (data / "train.npz").is_file():
        raise InputError("no train.npz here: run `tunerig percepnet data` first", file=data)
    fcfg = FrontEndConfig.load(data / "frontend.json")
    d = np.load(data / "train.npz")
    feats, targs = d["features"], d["targets"]
    k = fcfg.n_bands
    mc = ModelConfig(n_features=fcfg.n_features, n_bands=k, **cfg["model"])
    if count_params(mc) > MAX_PARAMS or count_macs(mc) > MAX_MACS:
        raise InputError(f"model has {count_params(mc)} weights / {count_macs(mc)} MACs per frame; "
                         f"the limit is {MAX_PARAMS} / {MAX_MACS}", field="model")
    mean = feats.reshape(-1, feats.shape[-1]).mean(axis=0)
    std = feats.reshape(-1, feats.shape[-1]).std(axis=0) + 1e-3
    fn = ((feats - mean) / std).astype(np.float32)
    rng = np.random.default_rng(int(cfg["seed"]))
    order = rng.permutation(len(fn))
    n_val = max(1, len(fn) // 20)
    val_idx, tr_idx = order[:n_val], order[n_val:]
    xtr, ytr = _chunks(fn[tr_idx], targs[tr_idx], int(cfg["seq_frames"]))
    xva, yva = _chunks(fn[val_idx], targs[val_idx], int(cfg["seq_frames"]))
    return fcfg, mc, mean, std, fn[val_idx], (xtr, ytr), (xva, yva)


def train(cfg: dict, progress: bool = True) -> Path:
    """Train, save float weights, model description and int8 TFLite. Returns the model stem (out/percepnetNNk_int8)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    from tqdm import tqdm

    from designer.percepnet.model import build_sequence_model, gain_loss, strength_loss

    fcfg, mc, mean, std, val_feats, (xtr, ytr), (xva, yva) = _prepare(cfg)
    k = mc.n_bands
    out = Path(cfg["out"])
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(int(cfg["seed"]))
    model = build_sequence_model(mc)
    model.compile(optimizer=keras.optimizers.Adam(float(cfg["learning_rate"]), clipnorm=1.0),
                  loss={"gains": gain_loss, "strengths": strength_loss}, loss_weights={"gains": 1.0, "strengths": 0.5})

    class Bar(keras.callbacks.Callback):
        """One tqdm bar per epoch (batches), with the epoch count and the last validation loss."""

        def __init__(self, steps):
            super().__init__()
            self.steps, self.bar, self.val = steps, None, float("nan")

        def on_epoch_begin(self, epoch, logs=None):
            self.bar = tqdm(total=self.steps, desc=f"epoch {epoch + 1}", unit="batch", disable=not progress)

        def on_train_batch_end(self, batch, logs=None):
            self.bar.update(1)
            if logs:
                self.bar.set_postfix(loss=f"{logs.get('loss', 0):.4f}", val=f"{self.val:.4f}")

        def on_epoch_end(self, epoch, logs=None):
            self.val = (logs or {}).get("val_loss", float("nan"))
            self.bar.set_postfix(loss=f"{(logs or {}).get('loss', 0):.4f}", val=f"{self.val:.4f}")
            self.bar.close()

    class Budget(keras.callbacks.Callback):
        def __init__(self, minutes):
            super().__init__()
            self.t0 = time.time()
            self.minutes = minutes

        def on_epoch_end(self, epoch, logs=None):
            if time.time() - self.t0 > 60 * self.minutes:
                self.model.stop_training = True

    bs = int(cfg["batch_size"])
    steps = int(np.ceil(len(xtr) / bs))
    bar = Bar(steps)
    ckpt = keras.callbacks.ModelCheckpoint(str(out / "best.weights.h5"), save_weights_only=True,
                                           save_best_only=True, monitor="val_loss")
    lr = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=3, min_lr=1e-4)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=int(cfg["patience"]))
    t0 = time.time()
    hist = model.fit(xtr, {"gains": ytr[..., :k], "strengths": ytr[..., k:]}, batch_size=bs,
                     epochs=int(cfg["max_epochs"]), verbose=0, shuffle=True,
                     validation_data=(xva, {"gains": yva[..., :k], "strengths": yva[..., k:]}),
                     callbacks=[bar, Budget(float(cfg["minutes"])), ckpt, lr, stop])
    model.load_weights(str(out / "best.weights.h5"))
    return export(cfg, model, hist.history, time.time() - t0, (fcfg, mc, mean, std, val_feats, xtr))


def _portable(p) -> str:
    """A path for the record in a shipped model: relative to the working directory when inside it,
    so no machine's absolute paths end up in the repository."""
    p = Path(p)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def export(cfg, model, history: dict, train_s: float, prepared) -> Path:
    """Write STEM.json (config, normalisation, history), STEM.npz (float weights), STEM.tflite (int8)."""
    fcfg, mc, mean, std, val_feats, xtr = prepared
    out, data = Path(cfg["out"]), Path(cfg["data"])
    meta = {
        "frontend": fcfg.to_dict(), "model": mc.to_dict(),
        "feature_mean": mean.tolist(), "feature_std": std.tolist(),
        "params": count_params(mc), "macs_per_frame": count_macs(mc),
        "training": {"epochs": len(history["loss"]), "seconds": round(train_s, 1),
                     "best_epoch": int(np.argmin(history["val_loss"])) + 1,
                     "loss": [float(v) for v in history["loss"]], "val_loss": [float(v) for v in history["val_loss"]],
                     "train_frames": int(xtr.shape[0] * xtr.shape[1]), "data": _portable(data),
                     "config": {k2: (_portable(v) if k2 in ("out", "data") else v) for k2, v in cfg.items()}},
    }
    stem = out / f"percepnet{fcfg.sample_rate_hz // 1000}k_int8"
    stem.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    _plot_history(history, out / "training.png")

    from designer.percepnet.convert import convert_int8
    from designer.percepnet.engine import export_float_weights
    export_float_weights(model, stem.with_suffix(".npz"))
    convert_int8(stem, model, val_feats)
    return stem


def _plot_history(h, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(h["loss"], label="train")
    ax.plot(h["val_loss"], label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (gain + 0.5 strength)")
    ax.set_yscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

