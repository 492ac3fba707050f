"""Small int8 test networks built with TensorFlow/Keras 3 (FIELD_NOTES §2): single-step GRUs with
explicit state in and out, of several widths and depths, per-channel or per-tensor quantised, and
a stateless float-I/O network. Used by the tests and the benchmark; needs the [nn] extra.

Calibration follows the field notes: the representative dataset is keyed by signature input name
and uses states collected by running the float model over smooth input sequences.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

# name -> builder parameters. Kinds: "gru" (stack of GRUCells, optional concat skip), "gru_layer"
# (keras GRU(unroll=True) on one timestep: UNPACK/RESHAPE), "mlp_float" (float I/O, PACK, no state).
MODEL_SPECS = {
    "gru_pc": {"kind": "gru", "features": 10, "hidden": [24], "outputs": 5, "per_channel": True},
    "gru_pt": {"kind": "gru", "features": 16, "hidden": [32], "outputs": 8, "per_channel": False},
    "gru2_concat_pc": {"kind": "gru", "features": 20, "hidden": [48, 32], "outputs": 12, "per_channel": True,
                       "concat": True, "relu_head": 24},
    "gru_layer_pt": {"kind": "gru_layer", "features": 12, "hidden": [20], "outputs": 6, "per_channel": False},
    "mlp_float_pc": {"kind": "mlp_float", "features": 14, "hidden": [32], "outputs": 4, "per_channel": True},
}


def _keras_model(spec: dict):
    import keras
    from keras import layers, ops
    F, hs, n_out = spec["features"], spec["hidden"], spec["outputs"]
    x = keras.Input((F,), batch_size=1, name="x")
    if spec["kind"] == "mlp_float":
        a = layers.Dense(hs[0], activation="relu")(x)
        b = layers.Dense(hs[0], activation="tanh")(x)
        st = ops.reshape(ops.stack([a, b], axis=1), (1, 2 * hs[0]))
        y = layers.Dense(n_out, activation="sigmoid")(st)
        return keras.Model([x], {"y": y}), []
    states_in = [keras.Input((h,), batch_size=1, name=f"state{k}") for k, h in enumerate(hs)]
    outs = {}
    inp = x
    for k, h in enumerate(hs):
        if spec["kind"] == "gru_layer":
            seq = ops.reshape(inp, (1, 1, inp.shape[-1]))
            y, hn = layers.GRU(h, unroll=True, return_state=True)(seq, initial_state=states_in[k])
        else:
            y, hn = layers.GRUCell(h)(inp, states_in[k])
            hn = hn[0] if isinstance(hn, (list, tuple)) else hn
        outs[f"state{k}_out"] = hn
        inp = layers.Concatenate()([x, y]) if spec.get("concat") else y
    if spec.get("relu_head"):
        inp = layers.Dense(spec["relu_head"], activation="relu")(inp)
    outs["y"] = layers.Dense(n_out, activation="sigmoid")(inp)
    return keras.Model([x, *states_in], outs), [f"state{k}" for k in range(len(hs))]


def _calibration(model, spec: dict, state_names: list[str], steps: int = 150, seed: int = 0):
    rng = np.random.default_rng(seed)
    F = spec["features"]
    samples = []
    for seq in range(2):
        x = np.zeros((1, F), np.float32)
        states = {n: np.zeros((1, h), np.float32) for n, h in zip(state_names, spec["hidden"])}
        for t in range(steps):
            x = (0.9 * x + 0.45 * rng.standard_normal((1, F))).astype(np.float32)
            feed = {"x": x, **states}
            samples.append({k: v.copy() for k, v in feed.items()})
            out = model(feed)
            states = {n: np.asarray(out[f"{n}_out"]).astype(np.float32) for n in state_names}
    return samples


def build_tflite(spec: dict, seed: int = 0) -> bytes:
    """Build, calibrate and fully int8-convert one spec; returns the flatbuffer bytes."""
    import keras
    import tensorflow as tf
    keras.utils.set_random_seed(seed)
    model, state_names = _keras_model(spec)
    samples = _calibration(model, spec, state_names, seed=seed)

    def rep():
        for s in samples:
            yield s
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if spec["kind"] != "mlp_float":
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    if not spec["per_channel"]:
        conv._experimental_disable_per_channel = True
    return conv.convert()


def cached_model(name: str, cache_dir) -> Path:
    """Path of MODEL_SPECS[name] as .tflite, built once and cached (keyed by spec and TF version)."""
    import fcntl
    spec = MODEL_SPECS[name]
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    import tensorflow as tf
    key = hashlib.sha1(json.dumps([spec, tf.__version__, 2], sort_keys=True).encode()).hexdigest()[:10]
    path = cache_dir / f"{name}_{key}.tflite"
    with open(cache_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.is_file():
            blob = build_tflite(spec)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(blob)
            tmp.replace(path)
    return path
