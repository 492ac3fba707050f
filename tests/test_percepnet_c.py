"""The generated fixed-point C PercepNet pipeline (codegen.percepnet) against independent references:
numpy.fft for the mixed-radix FFT, and the float front end + tflite-micro int8 network
(PercepNetModel.enhance(x, "tflm")) for the whole pipeline. Signals are made here (designer.signals),
no dependency on build/percepnet/data."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from codegen.percepnet.generate import generate_pipeline, source_lists
from codegen.percepnet.host import build_host, compile_host, latency_samples, run_exe
from designer.errors import InputError
from designer.percepnet.engine import SHIPPED_STEM, PercepNetModel
from designer.signals import coloured_noise, speech_like

pytestmark = pytest.mark.nn
FS = 16000


@pytest.fixture(scope="module")
def model():
    return PercepNetModel(SHIPPED_STEM)


@pytest.fixture(scope="module")
def exe():
    return build_host(SHIPPED_STEM)


def _noisy(seconds=3.0, snr_db=5.0, seed=0, peak=0.3):
    s = speech_like(seconds, FS, seed=seed)
    n = coloured_noise(seconds, FS, seed=seed + 1)
    n *= np.sqrt(np.mean(s ** 2) / np.mean(n ** 2)) * 10 ** (-snr_db / 20)
    x = s + n
    return s, np.round(x / np.max(np.abs(x)) * peak * 32767).astype(np.int16)


def _c(exe, xq, chunks=(160,)):
    lat = latency_samples(exe)
    return run_exe(exe, np.concatenate([xq, np.zeros(lat, np.int16)]), chunks)[lat:]


def test_mixed_radix_fft_matches_numpy(exe, tmp_path):
    """320 = 5 x 64: both directions equal the unnormalised DFT / 512 to better than -100 dB."""
    runner = compile_host(exe.parent / "src", tmp_path / "fft_run", main_template="fft_main.c.j2")
    n = 320
    rng = np.random.default_rng(3)
    for inverse in (0, 1):
        x = (rng.standard_normal((4, n)) + 1j * rng.standard_normal((4, n))) * 2 ** 27
        x[3] = 0
        x[3, 7] = 2 ** 30                                  # a single bin / impulse at full scale
        z = np.stack([x.real, x.imag], axis=-1).round().astype("<i4")
        out = subprocess.run([str(runner), str(inverse)], input=z.tobytes(), capture_output=True, check=True).stdout
        c = np.frombuffer(out, "<i4").reshape(4, n, 2)
        c = c[..., 0] + 1j * c[..., 1]
        ref = (np.fft.fft(x, axis=1) if inverse == 0 else np.fft.ifft(x, axis=1) * n) / 512
        err_db = 10 * np.log10(np.sum(np.abs(c - ref) ** 2, axis=1) / np.sum(np.abs(ref) ** 2, axis=1))
        assert np.all(err_db < -100), err_db


def test_pipeline_matches_float_frontend_plus_tflm(model, exe):
    from designer.percepnet.metrics import pesq_wb
    clean, xq = _noisy(4.0, snr_db=5.0, seed=2)
    x = xq / 32768.0
    y_ref = model.enhance(x, "tflm")
    y_c = _c(exe, xq) / 32768.0
    snr = 10 * np.log10(np.sum(y_ref ** 2) / np.sum((y_c - y_ref) ** 2))
    assert snr > 25.0, f"C vs reference only {snr:.1f} dB"
    ref_gain = np.sum(y_ref ** 2) / np.sum(x ** 2)
    assert ref_gain < 0.9                                  # the suppressor does something on this input
    clean_scaled = clean / np.max(np.abs(clean)) * np.max(np.abs(x))
    d = pesq_wb(clean_scaled, y_c, FS) - pesq_wb(clean_scaled, y_ref, FS)
    assert abs(d) <= 0.05, d


def test_output_independent_of_call_sizes(exe):
    _, xq = _noisy(1.5, seed=4)
    a = _c(exe, xq, (160,))
    for chunks in ((1,), (7, 333, 1, 4096), (159, 161)):
        assert np.array_equal(_c(exe, xq, chunks), a), chunks


def test_silence_gives_silence(exe):
    assert not np.any(_c(exe, np.zeros(8000, np.int16)))


def test_full_scale_input_saturates_never_wraps(model, exe):
    """Loud clipped speech and a full-scale square: where the float reference goes beyond full
    scale the C output must sit at the rail, never jump to the other sign."""
    _, xq = _noisy(1.0, snr_db=20, seed=5, peak=1.0)
    xl = np.clip(xq.astype(np.int32) * 4, -32768, 32767).astype(np.int16)
    sq = np.where(np.sin(2 * np.pi * 97 * np.arange(8000) / FS) >= 0, 32767, -32768).astype(np.int16)
    for x in (xl, sq):
        y_ref = np.clip(model.enhance(x / 32768.0, "tflm"), -1, 32767 / 32768)
        y_c = _c(exe, x) / 32768.0
        assert np.max(np.abs(y_c - y_ref)) < 0.25
        over = np.abs(y_ref) > 0.999
        if over.any():
            assert np.all(np.sign(y_c[over]) == np.sign(y_ref[over]))


def test_sanitizers_clean_and_same_output(exe):
    san = build_host(SHIPPED_STEM, sanitize=True)
    _, xq = _noisy(0.8, seed=6, peak=0.9)
    assert np.array_equal(_c(san, xq, (37, 160)), _c(exe, xq))


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
@pytest.mark.parametrize("target,flags", [("cortex-m4", ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]),
                                          ("cortex-m55", ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"])])
def test_arm_builds_warning_free(tmp_path, target, flags):
    src = generate_pipeline(SHIPPED_STEM, tmp_path / "pn", target=target)
    own, _, incs, defines = source_lists(src, target)
    for s in own:
        r = subprocess.run(["arm-none-eabi-gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", *flags,
                            *[f"-D{d}" for d in defines], *[f"-I{i}" for i in incs], "-c", str(s),
                            "-o", str(tmp_path / (s.stem + ".o"))], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    cm = (src / "tr_pn.cmake").read_text()
    assert "set(TR_PN_SOURCES" in cm and "arm_cfft_q31.c" in cm and "tr_pn_net.c" in cm


def _make_model(tmp: Path, cfg, seed=0, units=24, seconds=4.0) -> Path:
    """An untrained small network for another front-end configuration, normalised and calibrated
    on that front end's features of a test signal, converted to int8 like a trained one."""
    import keras

    from designer.percepnet.convert import convert_int8
    from designer.percepnet.frontend import FrontEnd
    from designer.percepnet.model import ModelConfig, build_sequence_model
    keras.utils.set_random_seed(seed)
    mc = ModelConfig(n_features=cfg.n_features, n_bands=cfg.n_bands, conv_units=units, gru_units=units)
    seq = build_sequence_model(mc)
    fs = cfg.sample_rate_hz
    x = speech_like(seconds, fs, seed=seed) + 0.1 * coloured_noise(seconds, fs, seed=seed + 1)
    fe = FrontEnd(cfg)
    f = fe.features(fe.analyse(0.3 * x / np.max(np.abs(x))))
    mean, std = f.mean(0), f.std(0) + 1e-3
    seqs = ((f - mean) / std).astype(np.float32)
    seqs = seqs[: (len(seqs) // 50) * 50].reshape(-1, 50, cfg.n_features)
    tmp.mkdir(parents=True, exist_ok=True)
    stem = tmp / "m"
    stem.with_suffix(".json").write_text(json.dumps({"frontend": cfg.to_dict(), "model": mc.to_dict(),
                                                     "feature_mean": mean.tolist(), "feature_std": std.tolist()}))
    convert_int8(stem, seq, seqs, n_calibration=200)
    return stem


@pytest.mark.parametrize("fe_kw", [
    # 48 kHz: n_fft 960 = 15 x 64, 34 bands, look-ahead half a hop (hops start mid-stream)
    dict(sample_rate_hz=48000, n_bands=34, lookahead_ms=5.0),
    # 8 kHz: n_fft 160 = 5 x 32, no look-ahead (no future comb taps), correlation shorter than the window
    dict(sample_rate_hz=8000, n_bands=16, lookahead_ms=0.0, pitch_corr_ms=12.5, comb_order=3,
         viterbi_jump_cost=0.3),
    # 16 kHz with a power-of-two FFT: 32 ms window, n_fft 512 (no odd radix stage), 20 bands
    dict(sample_rate_hz=16000, window_ms=32.0, hop_ms=16.0, n_bands=20, lookahead_ms=16.0),
], ids=["48k", "8k", "16k-pow2"])
def test_other_front_end_configurations(tmp_path, fe_kw):
    from designer.percepnet.config import FrontEndConfig
    from codegen.percepnet.host import run_c_host
    cfg = FrontEndConfig(**fe_kw)
    stem = _make_model(tmp_path / "model", cfg)
    m = PercepNetModel(stem)
    fs = cfg.sample_rate_hz
    x = speech_like(1.5, fs, seed=5) + 0.2 * coloured_noise(1.5, fs, seed=6)
    xq = np.round(0.3 * x / np.max(np.abs(x)) * 32767).astype(np.int16)
    y_ref = m.enhance(xq / 32768.0, "tflm")
    y_c = run_c_host(stem, xq) / 32768.0
    snr = 10 * np.log10(np.sum(y_ref ** 2) / np.sum((y_c - y_ref) ** 2))
    assert snr > 30.0, f"C vs reference {snr:.1f} dB"


@pytest.mark.qemu
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="needs qemu-system-arm")
def test_m4_board_bit_exact_with_host(exe, tmp_path):
    from codegen.percepnet.board import build_pipeline_elf, run_pipeline_elf
    _, xq = _noisy(0.6, seed=8)
    xq = xq[: len(xq) // 160 * 160]
    elf, sizes = build_pipeline_elf(SHIPPED_STEM, "mps2-an386", tmp_path / "m4")
    run = run_pipeline_elf(elf, "mps2-an386", xq, 160)
    assert np.array_equal(run.y, run_exe(exe, xq))
    assert 0 < run.net_instr_per_hop < run.instr_per_hop
    assert sizes["ram_static"] <= 32 * 1024 and sizes["flash"] <= 300 * 1024


def test_generation_rejects_fft_size_that_does_not_factor(tmp_path):
    """hop 10.5 ms at 16 kHz: window 336 = 21 x 16 (odd factor above 15): named error, nothing written."""
    stem = tmp_path / "m"
    shutil.copy(SHIPPED_STEM.with_suffix(".tflite"), stem.with_suffix(".tflite"))
    meta = json.loads(SHIPPED_STEM.with_suffix(".json").read_text())
    meta["frontend"].update(hop_ms=10.5, window_ms=21.0)
    meta["frontend"].pop("derived", None)
    stem.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="n_fft") as e:
        generate_pipeline(stem, tmp_path / "out")
    assert "window_ms" in str(e.value) and "336" in str(e.value)
    assert not (tmp_path / "out").exists()


def test_generation_rejects_unknown_target(tmp_path):
    with pytest.raises(InputError, match="target"):
        generate_pipeline(SHIPPED_STEM, tmp_path / "out", target="z80")


def test_generation_rejects_feature_std_a_q31_coefficient_cannot_hold(tmp_path):
    """A near-constant feature (std ~ 0) would saturate its Q31 coefficient: named error, nothing written."""
    stem = tmp_path / "m"
    shutil.copy(SHIPPED_STEM.with_suffix(".tflite"), stem.with_suffix(".tflite"))
    meta = json.loads(SHIPPED_STEM.with_suffix(".json").read_text())
    meta["feature_std"][5] = 1e-12
    stem.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match=r"feature_std\[5\]"):
        generate_pipeline(stem, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("samples", [np.array([0, 40000, 1], np.int32), np.array([0.5, 0.1]), np.zeros((2, 2), np.int16)])
def test_c_engines_refuse_what_is_not_q15(samples, tmp_path):
    """Out-of-range integers are an error naming the sample, never a silent wrap to int16 (host and
    board engines; the board one fails before building anything)."""
    from codegen.percepnet.host import run_c_host
    from hil.capture import enhance_on_board
    with pytest.raises(InputError, match="Q15"):
        run_c_host(SHIPPED_STEM, samples)
    with pytest.raises(InputError, match="Q15"):
        enhance_on_board("mps2-an386", SHIPPED_STEM, samples, build_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_board_engine_spec_with_a_port():
    from hil.boards import parse_board_engine
    assert parse_board_engine("board:nucleo-f446re@/dev/ttyACM0") == ("nucleo-f446re", "/dev/ttyACM0")
    assert parse_board_engine("board:mps2-an386") == ("mps2-an386", None)
    with pytest.raises(InputError, match="board:NAME"):
        parse_board_engine("board:@/dev/ttyACM0")
