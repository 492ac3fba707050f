"""PercepNet network: streaming form == sequence form, numpy float engine == Keras, budgets,
the shipped int8 model against its float twin, and TensorFlow staying optional."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from designer.percepnet.engine import SHIPPED_STEM, PercepNetModel, export_float_weights
from designer.percepnet.model import ModelConfig, count_macs, count_params

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def test_budgets_of_the_default_model():
    mc = ModelConfig()
    assert count_params(mc) <= 250_000
    assert count_macs(mc) <= 250_000
    assert count_params(mc) <= 2_900_000 // 10  # at most a tenth of RNNoise 0.2's ~2.9 M weights


def test_import_designer_does_not_need_tensorflow():
    code = ("import sys, designer, designer.percepnet.frontend, designer.percepnet.engine, "
            "designer.percepnet.cli, designer.percepnet.model, designer.percepnet.data; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture(scope="module")
def small_models():
    import keras

    from designer.percepnet.model import build_sequence_model, build_streaming_model
    keras.utils.set_random_seed(7)
    mc = ModelConfig(n_features=14, n_bands=6, conv_units=16, gru_units=12)
    seq = build_sequence_model(mc)
    # make biases non-zero so every weight array matters
    for layer in seq.layers:
        ws = layer.get_weights()
        if ws:
            layer.set_weights([w + 0.1 * np.random.default_rng(1).standard_normal(w.shape).astype(np.float32)
                               for w in ws])
    assert seq.count_params() == count_params(mc)
    return mc, seq, build_streaming_model(mc, seq)


@pytest.mark.nn
def test_streaming_model_equals_sequence_model(small_models):
    from designer.percepnet.model import run_streaming_float
    mc, seq, stream = small_models
    x = np.random.default_rng(0).standard_normal((1, 60, mc.n_features)).astype(np.float32)
    ref = seq.predict(x, verbose=0)
    g, r = run_streaming_float(stream, x[0], mc)
    np.testing.assert_allclose(g, ref["gains"][0], atol=2e-6)
    np.testing.assert_allclose(r, ref["strengths"][0], atol=2e-6)


@pytest.mark.nn
def test_numpy_float_engine_equals_keras(small_models, tmp_path):
    mc, seq, _ = small_models
    stem = tmp_path / "m"
    export_float_weights(seq, stem.with_suffix(".npz"))
    from designer.percepnet.config import FrontEndConfig
    meta = {"frontend": {k: v for k, v in FrontEndConfig().to_dict().items() if k != "derived"},
            "model": mc.to_dict(), "feature_mean": [0.0] * mc.n_features, "feature_std": [1.0] * mc.n_features}
    stem.with_suffix(".json").write_text(json.dumps(meta))
    x = np.random.default_rng(1).standard_normal((50, mc.n_features)).astype(np.float32)
    g, r = PercepNetModel(stem).run_float(x)
    ref = seq.predict(x[None], verbose=0)
    np.testing.assert_allclose(g, ref["gains"][0], atol=1e-5)
    np.testing.assert_allclose(r, ref["strengths"][0], atol=1e-5)


shipped = pytest.mark.skipif(not SHIPPED_STEM.with_suffix(".tflite").is_file(), reason="no shipped model yet")


@shipped
def test_shipped_model_files_and_budgets():
    m = PercepNetModel(SHIPPED_STEM)
    assert SHIPPED_STEM.with_suffix(".tflite").stat().st_size <= 300 * 1024
    assert m.meta["params"] <= 250_000 and m.meta["macs_per_frame"] <= 250_000
    names = {d["name"] for d in m.meta["tflite"]["inputs"]}
    assert names == {"window", "h1", "h2"}
    assert all(d["dtype"] == "int8" for d in m.meta["tflite"]["inputs"] + m.meta["tflite"]["outputs"])


@shipped
@pytest.mark.nn
def test_shipped_int8_tracks_float_on_speech_in_noise():
    """int8 (tflite-micro) gains follow the float gains; both suppress noise-only input."""
    m = PercepNetModel(SHIPPED_STEM)
    fs = m.cfg.sample_rate_hz
    rng = np.random.default_rng(5)
    t = np.arange(fs * 2) / fs
    voiced = sum(np.sin(2 * np.pi * h * 140 * t) / h for h in range(1, 20)) * (np.sin(2 * np.pi * 2 * t) > 0)
    x = 0.05 * voiced / np.std(voiced) + 0.01 * rng.standard_normal(len(t))
    from designer.percepnet.frontend import FrontEnd
    fe = FrontEnd(m.cfg)
    feats = (fe.features(fe.analyse(x)) - m.mean) / m.std
    gf, rf = m.run_float(feats.astype(np.float32))
    gq, rq = m.run_tflm(feats.astype(np.float32))
    assert np.mean(np.abs(gf - gq)) < 0.05
    assert np.mean(np.abs(rf - rq)) < 0.08
    # noise-only input is attenuated by both engines
    noise = 0.02 * rng.standard_normal(fs)
    for eng in ("float", "tflm"):
        y = m.enhance(noise, eng)
        assert np.mean(y[fs // 4:] ** 2) < 0.3 * np.mean(noise[fs // 4:] ** 2)


@pytest.mark.nn
def test_int8_conversion_calibrated_on_states_runs_in_tflm(small_models, tmp_path):
    """Convert a small trained-shape model; tflite-micro's int8 outputs follow the float engine and
    the tensor layout recorded in the JSON is what the runtime needs."""
    from designer.percepnet.config import FrontEndConfig
    from designer.percepnet.convert import convert_int8
    mc, seq, _ = small_models
    stem = tmp_path / "small_int8"
    meta = {"frontend": {k: v for k, v in FrontEndConfig().to_dict().items() if k != "derived"},
            "model": mc.to_dict(), "feature_mean": [0.0] * mc.n_features, "feature_std": [1.0] * mc.n_features}
    stem.with_suffix(".json").write_text(json.dumps(meta))
    export_float_weights(seq, stem.with_suffix(".npz"))
    rng = np.random.default_rng(2)
    # smooth random feature trajectories (like real features: correlated over time)
    calib = np.cumsum(rng.standard_normal((8, 120, mc.n_features)), axis=1) * 0.2
    calib = np.clip(calib, -3, 3).astype(np.float32)
    convert_int8(stem, seq, calib, n_calibration=300)
    m = PercepNetModel(stem)
    lay = m.meta["tflite"]
    assert {d["name"] for d in lay["inputs"]} == {"window", "h1", "h2"}
    assert {d["name"] for d in lay["outputs"]} == {"gains", "strengths", "h1_out", "h2_out"}
    assert "FULLY_CONNECTED" in lay["ops"] and "WHILE" not in lay["ops"]
    x = np.clip(np.cumsum(rng.standard_normal((100, mc.n_features)), axis=0) * 0.2, -3, 3).astype(np.float32)
    gf, rf = m.run_float(x)
    gq, rq = m.run_tflm(x)
    assert np.max(np.abs(gf - gq)) < 0.06 and np.mean(np.abs(gf - gq)) < 0.015
    assert np.max(np.abs(rf - rq)) < 0.06 and np.mean(np.abs(rf - rq)) < 0.015


@pytest.mark.nn
def test_training_only_regularisers_do_not_change_the_streaming_twin():
    """Feature noise and GRU dropout act in training only: at inference the sequence model with them
    still equals the streaming model (which has neither)."""
    import keras

    from designer.percepnet.model import build_sequence_model, build_streaming_model, run_streaming_float
    keras.utils.set_random_seed(3)
    mc = ModelConfig(n_features=10, n_bands=4, conv_units=8, gru_units=6, input_noise=0.3, dropout=0.3)
    seq = build_sequence_model(mc)
    x = np.random.default_rng(4).standard_normal((1, 30, mc.n_features)).astype(np.float32)
    ref = seq.predict(x, verbose=0)
    g, r = run_streaming_float(build_streaming_model(mc, seq), x[0], mc)
    np.testing.assert_allclose(g, ref["gains"][0], atol=2e-6)
    np.testing.assert_allclose(r, ref["strengths"][0], atol=2e-6)
