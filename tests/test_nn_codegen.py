"""int8 TFLite -> C (CMSIS-NN API) code generator: bit-exactness against tflite-micro and the
generator's contracts (no TensorFlow needed to compile, clear errors, static memory plan, clean
C99 for host and Cortex-M).

References are independent of the code under test: tflite-micro's Python wheel (golden int8
runtime), TensorFlow's own flatbuffer interpreter for the reader, numpy for the memory plan.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from designer.errors import TunerigError

REPO = Path(__file__).resolve().parents[1]
MODEL_CACHE = REPO / "build" / "test_nn_models"
ARM_GCC = shutil.which("arm-none-eabi-gcc")

nn = pytest.mark.nn


@pytest.fixture(scope="session")
def models():
    """The test networks (built with TF once, cached under build/ across sessions and workers)."""
    pytest.importorskip("tensorflow")
    pytest.importorskip("tflite_micro")
    from codegen.nn.models import MODEL_SPECS, cached_model
    return {name: cached_model(name, MODEL_CACHE) for name in MODEL_SPECS}


@nn
@pytest.mark.parametrize("name", ["gru_pc", "gru_pt", "gru2_concat_pc", "gru_layer_pt", "mlp_float_pc"])
def test_generated_c_bit_exact_with_tflite_micro(models, name, tmp_path):
    """Every output of 1000 consecutive frames, state fed back, equals tflite-micro's."""
    from codegen.nn.compile import compile_model
    from codegen.nn.host import build_host_runner, run_host
    from codegen.nn.verify import compare, make_frames, run_tflm
    path = models[name]
    cm = compile_model(path, tmp_path / "gen")
    frames = make_frames(cm, 1000)
    ref = run_tflm(path.read_bytes(), cm, frames)
    got = run_host(build_host_runner(cm, tmp_path / "host"), cm, frames)
    rep = compare(cm, got, ref, "c-host")
    assert rep.frames == 1000 and rep.outputs_compared == 1000 * sum(o["size"] for o in cm.outputs)
    assert rep.bit_exact, rep.summary()
    # the comparison is not vacuous: outputs move over the sequence, and the state actually evolves
    for k in range(len(cm.outputs)):
        assert len(np.unique(np.concatenate([r[k].ravel() for r in ref]))) > 20
    for s in cm.states:
        traj = np.array([r[s["out_position"]].ravel() for r in ref], dtype=float)
        assert len(np.unique(traj)) > 20 and np.std(np.diff(traj, axis=0)) > 0.5


@nn
def test_quantisation_variants_present(models):
    """The model set really covers per-channel and per-tensor FULLY_CONNECTED and the listed ops."""
    from codegen.nn.tflite import read_tflite
    ops, per_channel = set(), set()
    for path in models.values():
        m = read_tflite(path)
        for op in m.operators:
            ops.add(op.opcode)
            if op.opcode == "FULLY_CONNECTED":
                per_channel.add(m.tensors[op.inputs[1]].scale.size > 1)
    assert per_channel == {True, False}
    assert {"FULLY_CONNECTED", "ADD", "SUB", "MUL", "LOGISTIC", "TANH", "SPLIT", "STRIDED_SLICE", "UNPACK",
            "PACK", "RESHAPE", "CONCATENATION", "QUANTIZE", "DEQUANTIZE"} <= ops


@nn
def test_a_one_unit_change_is_detected(models, tmp_path):
    """Negative control: nudging one Q31 requantisation multiplier by 2^16 (a relative 4e-5) must
    break bit-exactness somewhere in 300 frames: the comparison sees single rounding flips."""
    import re
    from codegen.nn.compile import compile_model
    from codegen.nn.host import build_host_runner, run_host
    from codegen.nn.verify import compare, make_frames, run_tflm
    path = models["gru_pt"]
    cm = compile_model(path, tmp_path / "gen")
    c_file = cm.out_dir / f"{cm.name}.c"
    text = c_file.read_text()
    m = re.search(r"cmsis_nn_per_tensor_quant_params q = \{(\d{9,10}), (-?\d+)\}", text)
    assert m, "expected a per-tensor FULLY_CONNECTED in the generated code"
    c_file.write_text(text[:m.start(1)] + str(int(m.group(1)) + 65536) + text[m.end(1):])
    frames = make_frames(cm, 300)
    rep = compare(cm, run_host(build_host_runner(cm, tmp_path / "host"), cm, frames),
                  run_tflm(path.read_bytes(), cm, frames), "c-host")
    assert not rep.bit_exact


@nn
def test_sanitizers_clean(models, tmp_path):
    """The generated code and kernels run clean under AddressSanitizer and UBSan."""
    from codegen.nn.compile import compile_model
    from codegen.nn.host import build_host_runner, run_host
    from codegen.nn.verify import make_frames
    cm = compile_model(models["gru2_concat_pc"], tmp_path / "gen")
    exe = build_host_runner(cm, tmp_path / "host", sanitize=True, opt="-O1")
    out = run_host(exe, cm, make_frames(cm, 200))     # raises on any sanitizer report
    assert len(out) == 200


@nn
def test_logistic_and_tanh_tables_match_tflite_micro_exhaustively(tmp_path):
    """All 256 int8 inputs of LOGISTIC and TANH, for the input quantisation the converter chose."""
    import keras
    import tensorflow as tf
    from tflite_micro.python.tflite_micro import runtime
    from codegen.nn import quant
    from codegen.nn.tflite import parse_tflite
    for act, table_fn, seed in (("sigmoid", quant.logistic_table_s8, 1), ("tanh", quant.tanh_table_s8, 2)):
        x = keras.Input((256,), batch_size=1)
        m = keras.Model(x, keras.layers.Activation(act)(x * 1.0))
        rng = np.random.default_rng(seed)
        conv = tf.lite.TFLiteConverter.from_keras_model(m)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([rng.uniform(-7, 5, (1, 256)).astype(np.float32)] for _ in range(20))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
        blob = conv.convert()
        model = parse_tflite(blob)
        op = [o for o in model.operators if o.opcode in ("LOGISTIC", "TANH")][0]
        t_in = model.tensors[op.inputs[0]]
        assert t_in.index == model.inputs[0], "activation must read the model input directly"
        interp = runtime.Interpreter.from_bytes(blob)
        interp.set_input(np.arange(-128, 128, dtype=np.int8).reshape(1, 256), 0)
        interp.invoke()
        got = np.array(interp.get_output(0)).ravel()
        want = table_fn(float(t_in.scale[0]), int(t_in.zero_point[0]))
        assert got.tolist() == want


@nn
def test_reader_matches_tensorflow_interpreter(models):
    """Our flatbuffer reader agrees with TensorFlow's interpreter on names, shapes and quantisation."""
    import tensorflow as tf
    from codegen.nn.tflite import read_tflite
    path = models["gru2_concat_pc"]
    ours = read_tflite(path)
    interp = tf.lite.Interpreter(model_path=str(path))
    details = {d["index"]: d for d in interp.get_tensor_details()}
    for t in ours.tensors:
        d = details[t.index]
        assert d["name"] == t.name
        assert tuple(d["shape"]) == t.shape
        np.testing.assert_array_equal(d["quantization_parameters"]["scales"], t.scale)
        np.testing.assert_array_equal(d["quantization_parameters"]["zero_points"], t.zero_point)
    assert [d["index"] for d in interp.get_input_details()] == ours.inputs
    assert [d["index"] for d in interp.get_output_details()] == ours.outputs


@nn
def test_compile_needs_no_tensorflow(models, tmp_path):
    """`tunerig nn compile` runs with TensorFlow and tflite-micro made unimportable."""
    code = ("import sys; sys.modules['tensorflow'] = None; sys.modules['tflite_micro'] = None; "
            "sys.modules['flatbuffers'] = None; from tunerig.cli import main; "
            f"sys.exit(main(['nn', 'compile', {str(models['gru_pc'])!r}, '-o', {str(tmp_path / 'c')!r}]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "c" / f"{models['gru_pc'].stem.lower()}.c").is_file() or list((tmp_path / "c").glob("*.c"))


@nn
def test_memory_plan_is_valid_and_reuses(models, tmp_path):
    """No two buffers that are live at the same step overlap; reuse makes the arena smaller."""
    from codegen.nn.compile import compile_model
    cm = compile_model(models["gru2_concat_pc"], tmp_path)
    bufs = cm.plan["buffers"]
    for i, a in enumerate(bufs):
        assert a["offset"] % 16 == 0
        for b in bufs[i + 1:]:
            live_together = not (a["last"] < b["first"] or b["last"] < a["first"])
            overlap = a["offset"] < b["offset"] + b["bytes"] and b["offset"] < a["offset"] + a["bytes"]
            assert not (live_together and overlap), (a, b)
    assert cm.arena_bytes < cm.plan["unplanned_bytes"]
    assert cm.arena_bytes >= max(b["bytes"] for b in bufs)


def _tiny_unsupported_model(tmp_path) -> Path:
    import keras
    import tensorflow as tf
    x = keras.Input((8,), batch_size=1, name="x")
    m = keras.Model(x, keras.layers.Softmax()(keras.layers.Dense(4)(x)))
    conv = tf.lite.TFLiteConverter.from_keras_model(m)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([np.random.default_rng(0).normal(size=(1, 8)).astype(np.float32)]
                                           for _ in range(10))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    p = tmp_path / "softmax.tflite"
    p.write_bytes(conv.convert())
    return p


@nn
def test_unsupported_operator_is_named_with_its_position(tmp_path):
    from codegen.nn.compile import compile_model
    path = _tiny_unsupported_model(tmp_path)
    with pytest.raises(TunerigError, match=r"operator #\d+ SOFTMAX \(output tensor '[^']+'\) is not supported"):
        compile_model(path, tmp_path / "out")
    assert not (tmp_path / "out").exists(), "nothing half-written"


def test_not_a_tflite_file_is_a_clear_error(tmp_path):
    from codegen.nn.compile import compile_model
    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(TunerigError, match=r"model\.tflite.*not a TFLite flatbuffer"):
        compile_model(bad, tmp_path / "out")


@nn
@pytest.mark.qemu
@pytest.mark.skipif(ARM_GCC is None, reason="arm-none-eabi-gcc not installed")
@pytest.mark.parametrize("cpu_flags", [
    ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"],
], ids=["m4", "m55"])
def test_generated_c_is_warning_free_for_cortex_m(models, tmp_path, cpu_flags):
    from codegen.nn.compile import compile_model
    from codegen.nn.host import kernel_sources
    srcs, incs = kernel_sources()
    for name in ("gru2_concat_pc", "mlp_float_pc"):
        cm = compile_model(models[name], tmp_path / name)
        for src in [cm.out_dir / f"{cm.name}.c", cm.out_dir / f"{cm.name}_weights.c", *srcs]:
            r = subprocess.run([ARM_GCC, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", *cpu_flags,
                                *[f"-I{p}" for p in [cm.out_dir, *incs]], "-c", str(src), "-o",
                                str(tmp_path / "x.o")], capture_output=True, text=True)
            assert r.returncode == 0, f"{src.name}: {r.stderr}"


@nn
def test_cmsis_nn_path_switches_library_without_touching_generated_code(models, tmp_path):
    """CMSIS_NN_PATH points the build at another CMSIS-NN tree (Include/, Source/); the generated
    files are unchanged. Here the 'other' tree is a copy of ours laid out like Arm's repository."""
    from codegen.nn.compile import compile_model
    from codegen.nn.host import CMSIS_NN_DIR, build_host_runner, run_host
    from codegen.nn.verify import make_frames
    other = tmp_path / "CMSIS-NN"
    shutil.copytree(CMSIS_NN_DIR / "Include", other / "Include")
    shutil.copytree(CMSIS_NN_DIR / "Source", other / "Source" / "FullyConnectedFunctions")
    cm = compile_model(models["gru_pc"], tmp_path / "gen")
    before = {f.name: f.read_bytes() for f in cm.files}
    frames = make_frames(cm, 50)
    a = run_host(build_host_runner(cm, tmp_path / "a"), cm, frames)
    b = run_host(build_host_runner(cm, tmp_path / "b", cmsis_nn_path=other), cm, frames)
    assert all(np.array_equal(x, y) for ra, rb in zip(a, b) for x, y in zip(ra, rb))
    assert before == {f.name: f.read_bytes() for f in cm.files}
    with pytest.raises(TunerigError, match="CMSIS_NN_PATH"):
        build_host_runner(cm, tmp_path / "c", cmsis_nn_path=tmp_path / "nowhere")


@nn
@pytest.mark.qemu
@pytest.mark.skipif(ARM_GCC is None or shutil.which("qemu-system-arm") is None, reason="needs arm gcc + QEMU")
@pytest.mark.parametrize("board", ["mps2-an386", "mps3-an547"])
def test_board_bit_exact_with_tflite_micro(models, tmp_path, board):
    """1000 frames on the emulated Cortex-M4 (DSP/SMLAD path) and Cortex-M55 (Helium path)."""
    from codegen.nn.board import build_board_elf, run_board_elf
    from codegen.nn.compile import compile_model
    from codegen.nn.verify import compare, make_frames, run_tflm
    path = models["gru2_concat_pc"]
    cm = compile_model(path, tmp_path / "gen")
    frames = make_frames(cm, 1000)
    elf, sizes = build_board_elf(cm, board, tmp_path / board)
    run = run_board_elf(elf, board, cm, frames)
    rep = compare(cm, run.outputs, run_tflm(path.read_bytes(), cm, frames), f"board:{board}")
    assert rep.bit_exact, rep.summary()
    assert run.instructions_per_invoke > cm.macs / 16     # a cost was measured, and it is plausible
    assert sizes["flash"] > cm.weight_bytes


@pytest.mark.qemu
def test_optimised_kernels_match_portable_path(tmp_path):
    """The hand-scheduled DSP/Helium kernels agree with the portable C on thousands of edge-case
    shapes and parameters (the model-level board tests cover only a few shapes)."""
    from codegen.nn.kernel_check import check_kernels
    for r in check_kernels(work=tmp_path):
        assert not r.mismatches, (r.board, r.mismatches)


SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "designer" / "percepnet" / "models" / "percepnet16k_int8.tflite"


@pytest.mark.nn
@pytest.mark.qemu
@pytest.mark.parametrize("engine, frames", [("c-host", 1000), ("board:mps2-an386", 1000), ("board:mps3-an547", 1000)])
def test_shipped_percepnet_model_bit_exact(engine, frames):
    """The model we ship, compiled to C, against tflite-micro with state fed back, through the CLI
    from the repository root (relative build paths, as a user runs it)."""
    import subprocess
    import sys
    root = SHIPPED_MODEL.parents[3]
    r = subprocess.run([sys.executable, "-m", "tunerig", "nn", "verify", str(SHIPPED_MODEL.relative_to(root)),
                        "--frames", str(frames), "--engine", engine,
                        # relative, as users pass it; one per case so parallel workers never share it
                        "--build-dir", f"build/test_nn_shipped/{engine.replace(':', '_')}"],
                       cwd=root, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "0 mismatches" in r.stdout and f"{frames} frames" in r.stdout
