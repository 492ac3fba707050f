"""Full-int8 TFLite conversion of the streaming model, calibrated on real state trajectories.

The representative dataset is made by running the float SEQUENCE model over real (validation)
feature sequences and recording, per frame, the 3-frame window and the GRU states that the streaming
model would receive at that frame. It is keyed by signature input name (the flatbuffer's input order
is not the Keras order, FIELD_NOTES §2). The resulting input/output order, shapes and int8
scale/zero-point of every tensor are written to model.json under "tflite" so runtimes (and the C
generator) do not have to rediscover them.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from designer.errors import TunerigError
from designer.percepnet.model import CONV_TAPS, ModelConfig, build_state_model, build_streaming_model

MAX_TFLITE_BYTES = 300 * 1024


def calibration_samples(seq_model, feats_norm: np.ndarray, mc: ModelConfig, n_samples: int = 2000, seed: int = 0):
    """List of dicts {window, h1, h2} taken from real trajectories of the float model."""
    sm = build_state_model(seq_model)
    rng = np.random.default_rng(seed)
    seqs = feats_norm[: min(len(feats_norm), 24)]
    out = sm.predict(seqs, verbose=0, batch_size=8)
    h1, h2 = out["h1"], out["h2"]
    n, t, f = seqs.shape
    pad = np.concatenate([np.zeros((n, CONV_TAPS - 1, f), np.float32), seqs], axis=1)
    samples = []
    for _ in range(n_samples):
        i, j = int(rng.integers(n)), int(rng.integers(t))
        samples.append({
            "window": pad[i, j:j + CONV_TAPS][None].astype(np.float32),
            "h1": (h1[i, j - 1] if j > 0 else np.zeros(mc.gru_units))[None].astype(np.float32),
            "h2": (h2[i, j - 1] if j > 0 else np.zeros(mc.gru_units))[None].astype(np.float32),
        })
    return samples


def convert_int8(stem, seq_model, feats_norm: np.ndarray, n_calibration: int = 2000) -> Path:
    """Write STEM.tflite and add its tensor layout to STEM.json (written by training)."""
    import tensorflow as tf

    stem = Path(stem)
    meta = json.loads(stem.with_suffix(".json").read_text())
    mc = ModelConfig(**meta["model"])
    stream = build_streaming_model(mc, seq_model)

    samples = calibration_samples(seq_model, feats_norm, mc, n_samples=n_calibration)
    # from_keras_model freezes the weights into constants (the saved-model / concrete-function routes
    # left READ_VARIABLE ops that the calibrator cannot run, measured with TF 2.21).
    if True:
        conv = tf.lite.TFLiteConverter.from_keras_model(stream)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
        conv.representative_dataset = lambda: iter(samples)
        blob = conv.convert()
    if len(blob) > MAX_TFLITE_BYTES:
        raise TunerigError(f"int8 model is {len(blob)} bytes, over the {MAX_TFLITE_BYTES}-byte budget")
    path = stem.with_suffix(".tflite")
    path.write_bytes(blob)
    meta["tflite"] = tflite_layout(blob)
    meta["tflite"]["bytes"] = len(blob)
    stem.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    return path


def tflite_layout(blob: bytes) -> dict:
    """Inputs/outputs in flatbuffer order with names, shapes, scales, zero points; op list."""
    import tensorflow as tf
    it = tf.lite.Interpreter(model_content=blob)
    sig = it._get_full_signature_list()["serving_default"]
    by_idx_in = {v: k for k, v in sig["inputs"].items()}
    by_idx_out = {v: k for k, v in sig["outputs"].items()}

    def desc(d, names):
        scale, zp = d["quantization"]
        return {"name": names[d["index"]], "shape": [int(s) for s in d["shape"]], "dtype": np.dtype(d["dtype"]).name,
                "scale": float(scale), "zero_point": int(zp)}

    ops = sorted({op["op_name"] for op in it._get_ops_details()})
    return {"inputs": [desc(d, by_idx_in) for d in it.get_input_details()],
            "outputs": [desc(d, by_idx_out) for d in it.get_output_details()], "ops": ops}
