"""Run a trained model on audio: `float` (numpy re-implementation of the streaming network from the
saved float weights; needs no TensorFlow), `tflm` (the int8 .tflite through the tflite-micro Python
runtime: the golden reference for the Cortex-M build), `c-host` (the whole generated fixed-point C
pipeline, codegen.percepnet, built with the host gcc) or `board:NAME[@URL]` (the same C on a board, through
hil.capture.enhance_on_board). The C engines take and give Q15 audio: float input is rounded to Q15.

A model is a pair of files with one stem: STEM.tflite (int8) + STEM.json (front-end config, feature
normalisation, model sizes, int8 tensor layout) and, for the float engine, STEM.npz (float weights).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from designer.errors import InputError, TunerigError
from designer.percepnet.config import FrontEndConfig
from designer.percepnet.frontend import FrontEnd
from designer.percepnet.model import CONV_TAPS

ENGINES = ("float", "tflm", "c-host", "board:NAME[@URL]")   # the last one names a pattern
SHIPPED_DIR = Path(__file__).parent / "models"
SHIPPED_STEM = SHIPPED_DIR / "percepnet16k_int8"


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class PercepNetModel:
    """Loaded model files (see module docstring)."""

    def __init__(self, path):
        p = Path(path)
        stem = p.with_suffix("") if p.suffix in (".tflite", ".json", ".npz") else p
        self.tflite_path = stem.with_suffix(".tflite")
        self.json_path = stem.with_suffix(".json")
        self.npz_path = stem.with_suffix(".npz")
        if not self.json_path.is_file():
            raise InputError(f"model description {self.json_path.name} not found next to the model", file=p)
        try:
            self.meta = json.loads(self.json_path.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON ({exc.msg})", file=self.json_path, line=exc.lineno) from None
        self.cfg = FrontEndConfig.from_dict(self.meta["frontend"], where=self.json_path)
        self.mean = np.asarray(self.meta["feature_mean"], np.float32)
        self.std = np.asarray(self.meta["feature_std"], np.float32)
        m = self.meta["model"]
        self.n_bands, self.units, self.n_features = m["n_bands"], m["gru_units"], m["n_features"]

    # ------------------------------------------------------------------ float engine (numpy)
    def float_weights(self) -> dict:
        if not self.npz_path.is_file():
            raise InputError("float weights (.npz) not found: the float engine needs them", file=self.npz_path)
        return dict(np.load(self.npz_path))

    def run_float(self, feats_norm: np.ndarray):
        """Streaming network in numpy float64 (Keras GRU, reset_after=True, gate order z, r, h)."""
        w = self.float_weights()
        T = feats_norm.shape[0]
        H, K = self.units, self.n_bands
        win = np.zeros((CONV_TAPS, self.n_features))
        h1 = np.zeros(H)
        h2 = np.zeros(H)
        g = np.empty((T, K))
        r = np.empty((T, K))

        def gru(x, h, pre):
            k, u, b = w[pre + "_kernel"], w[pre + "_recurrent"], w[pre + "_bias"]
            xi = x @ k + b[0]
            hi = h @ u + b[1]
            z = _sigmoid(xi[:H] + hi[:H])
            rr = _sigmoid(xi[H:2 * H] + hi[H:2 * H])
            hh = np.tanh(xi[2 * H:] + rr * hi[2 * H:])
            return z * h + (1.0 - z) * hh

        for t in range(T):
            win = np.concatenate([win[1:], feats_norm[t:t + 1]], axis=0)
            c = np.tanh(win.reshape(-1) @ w["conv_kernel"] + w["conv_bias"])
            h1 = gru(c, h1, "gru1")
            h2 = gru(h1, h2, "gru2")
            g[t] = _sigmoid(np.concatenate([h1, h2]) @ w["gains_kernel"] + w["gains_bias"])
            r[t] = _sigmoid(np.concatenate([c, h2]) @ w["strengths_kernel"] + w["strengths_bias"])
        return g, r

    # ------------------------------------------------------------------ int8 engine (tflite-micro)
    def run_tflm(self, feats_norm: np.ndarray):
        """Frame-by-frame int8 inference in the tflite-micro runtime; GRU states are dequantised from
        the output scale and requantised to the input scale before being fed back."""
        try:
            from tflite_micro.python.tflite_micro import runtime
        except ImportError as exc:
            raise TunerigError("the tflm engine needs tflite-micro (pip install '.[nn]')") from exc
        if not self.tflite_path.is_file():
            raise InputError("int8 model not found", file=self.tflite_path)
        lay = self.meta.get("tflite")
        if not lay:
            raise InputError("model description has no 'tflite' section (convert the model first)",
                             file=self.json_path, field="tflite")
        it = runtime.Interpreter.from_bytes(self.tflite_path.read_bytes(), arena_size=64 * 1024)
        ins = {d["name"]: (i, d) for i, d in enumerate(lay["inputs"])}
        outs = {d["name"]: (i, d) for i, d in enumerate(lay["outputs"])}

        def q(x, d):
            return np.clip(np.round(x / d["scale"]) + d["zero_point"], -128, 127).astype(np.int8)

        def dq(v, d):
            return (v.astype(np.float32) - d["zero_point"]) * d["scale"]

        T = feats_norm.shape[0]
        win = np.zeros((CONV_TAPS, self.n_features), np.float32)
        h = {"h1": np.zeros(self.units, np.float32), "h2": np.zeros(self.units, np.float32)}
        g = np.empty((T, self.n_bands))
        r = np.empty((T, self.n_bands))
        for t in range(T):
            win = np.concatenate([win[1:], feats_norm[t:t + 1]], axis=0)
            i, d = ins["window"]
            it.set_input(q(win, d).reshape(d["shape"]), i)
            for name in ("h1", "h2"):
                i, d = ins[name]
                it.set_input(q(h[name], d).reshape(d["shape"]), i)
            it.invoke()
            for name in ("h1", "h2"):
                i, d = outs[name + "_out"]
                h[name] = dq(it.get_output(i), d).reshape(-1)
            i, d = outs["gains"]
            g[t] = dq(it.get_output(i), d).reshape(-1)
            i, d = outs["strengths"]
            r[t] = dq(it.get_output(i), d).reshape(-1)
        return g, r

    # ------------------------------------------------------------------ audio in, audio out
    def enhance(self, x: np.ndarray, engine: str = "float", postfilter: bool = True, fe: FrontEnd | None = None):
        """Time-aligned enhanced signal (the streaming delay is cfg.delay_len samples; removed here)."""
        if engine == "c-host" or engine.startswith("board:"):
            return self.enhance_c(x, engine, postfilter=postfilter)
        if engine not in ("float", "tflm"):
            raise InputError(f"unknown engine '{engine}' (use {', '.join(ENGINES)})", field="engine")
        fe = fe or FrontEnd(self.cfg)
        a = fe.analyse(x)
        fn = ((fe.features(a) - self.mean) / self.std).astype(np.float32)
        g, r = self.run_float(fn) if engine == "float" else self.run_tflm(fn)
        return fe.apply_gains(a, g, r, postfilter=postfilter)


    def enhance_c(self, x: np.ndarray, engine: str = "c-host", postfilter: bool = True) -> np.ndarray:
        """The generated fixed-point C pipeline (`c-host` or `board:NAME`), time-aligned float output."""
        from codegen.fixedpoint import float_to_q15, q15_to_float
        if not postfilter:
            raise InputError("the C pipeline always applies the envelope post-filter (drop --no-postfilter)",
                             field="engine")
        xq = float_to_q15(np.asarray(x, dtype=np.float64)).astype(np.int16)
        if engine == "c-host":
            from codegen.percepnet.host import run_c_host
            y = run_c_host(self.json_path, xq)
        elif engine.startswith("board:"):
            from hil.boards import parse_board_engine
            from hil.capture import enhance_on_board
            board, url = parse_board_engine(engine, field="engine")
            y = enhance_on_board(board, self.json_path, xq, url=url)
        else:
            raise InputError(f"unknown engine '{engine}' (use {', '.join(ENGINES)})", field="engine")
        return q15_to_float(y)


def export_float_weights(seq_model, path) -> None:
    """Save the float weights the numpy engine needs, named after the streaming layers."""
    w = {}
    k, b = seq_model.get_layer("conv").get_weights()
    w["conv_kernel"], w["conv_bias"] = k.reshape(-1, k.shape[-1]), b
    for name in ("gru1", "gru2"):
        kk, uu, bb = seq_model.get_layer(name).get_weights()
        w[name + "_kernel"], w[name + "_recurrent"], w[name + "_bias"] = kk, uu, bb
    for name in ("gains", "strengths"):
        kk, bb = seq_model.get_layer(name).get_weights()
        w[name + "_kernel"], w[name + "_bias"] = kk, bb
    np.savez(path, **{k2: v.astype(np.float32) for k2, v in w.items()})
