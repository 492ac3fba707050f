"""`tunerig nn verify`: the generated C against tflite-micro, every output of every frame.

Both sides run the same feature sequence with the recurrent state fed back: tflite-micro (the
Python wheel, the int8 golden reference, FIELD_NOTES §2) gets its state input from its own
previous state output, requantised here in numpy with TFLM's QUANTIZE arithmetic; the generated C
does the same hand-over inside the generated code. Any divergence anywhere shows up as a
mismatch in some output of some later frame.

Feature sequences are real: log band energies of speech (espeak-ng when installed, else a
synthetic voiced signal with a moving pitch) plus noise, 10 ms hop, mapped onto each input's
quantised range (or supplied with --features FILE.npy, shape [frames, input size]).
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codegen.nn import quant
from codegen.nn.compile import CompiledModel, compile_model
from codegen.nn.host import build_host_runner, run_host
from designer.errors import InputError, TunerigError

FRAME_HOP_S = 0.010


def speech_like(seconds: float, rate_hz: int = 16000, seed: int = 0) -> np.ndarray:
    """Speech from espeak-ng if installed (else a voiced synthetic signal), plus coloured noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate_hz)
    x = None
    if shutil.which("espeak-ng"):
        text = ("The quick brown fox jumps over the lazy dog. A small loudspeaker needs careful tuning. "
                "Noise suppression runs on a tiny microcontroller in real time. ") * 8
        with tempfile.TemporaryDirectory() as td:
            wav = Path(td) / "s.wav"
            r = subprocess.run(["espeak-ng", "-w", str(wav), "-s", "150", text], capture_output=True)
            if r.returncode == 0 and wav.is_file():
                from designer.audio import read_wav
                y, fs = read_wav(wav)
                y = y if y.ndim == 1 else y[:, 0]
                # espeak speaks at 22.05 kHz; features only need a rate, so keep it (no resampling)
                rate_hz = fs
                n = int(seconds * rate_hz)
                x = np.resize(y.astype(np.float64), n)
    if x is None:
        t = np.arange(n) / rate_hz
        f0 = 140 + 40 * np.sin(2 * np.pi * 0.7 * t)
        phase = 2 * np.pi * np.cumsum(f0) / rate_hz
        x = sum(np.sin(k * phase) / k for k in range(1, 20)) * (0.5 + 0.5 * np.sin(2 * np.pi * 2.3 * t) ** 2)
    noise = np.cumsum(rng.standard_normal(n)) * 0.002 + rng.standard_normal(n) * 0.02
    return (x / (np.max(np.abs(x)) + 1e-9) + noise).astype(np.float64), rate_hz


def band_features(x: np.ndarray, rate_hz: int, n_bands: int, hop_s: float = FRAME_HOP_S) -> np.ndarray:
    """Log energies in n_bands log-spaced bands per hop (20 ms Hann window): [frames, n_bands]."""
    hop = int(hop_s * rate_hz)
    win = 2 * hop
    w = np.hanning(win)
    frames = (len(x) - win) // hop
    spec = np.abs(np.fft.rfft(np.stack([x[k * hop:k * hop + win] * w for k in range(frames)]), axis=1)) ** 2
    edges = np.unique(np.geomspace(1, spec.shape[1] - 1, n_bands + 1).astype(int))
    while len(edges) < n_bands + 1:        # very many bands: fall back to linear edges
        edges = np.linspace(1, spec.shape[1] - 1, n_bands + 1).astype(int)
    e = np.stack([spec[:, edges[b]:max(edges[b + 1], edges[b] + 1)].sum(axis=1) for b in range(n_bands)], axis=1)
    return np.log10(e + 1e-6)


def quantise_features(f: np.ndarray, spec: dict, fill: float = 0.8) -> np.ndarray:
    """Map features (per column) onto `fill` of the tensor's real range and quantise (int8) or keep (float)."""
    lo, hi = np.percentile(f, 1, axis=0), np.percentile(f, 99, axis=0)
    z = (f - (lo + hi) / 2) / np.maximum((hi - lo) / 2, 1e-9)          # about [-1, 1]
    if spec["dtype"] == "float32":
        return z.astype(np.float32)
    s, zp = spec["scale"], spec["zero_point"]
    rmin, rmax = s * (-128 - zp), s * (127 - zp)
    real = (rmin + rmax) / 2 + z * fill * (rmax - rmin) / 2
    return np.clip(np.round(real / s) + zp, -128, 127).astype(np.int8)


def make_frames(cm: CompiledModel, n_frames: int, features: np.ndarray | None = None, seed: int = 0):
    """[frame][input] arrays for the non-state inputs of a compiled model."""
    per_input = []
    for k, spec in enumerate(cm.inputs):
        if features is not None and len(cm.inputs) == 1:
            f = np.asarray(features)
            if f.ndim != 2 or f.shape[1] != spec["size"] or len(f) < n_frames:
                raise InputError(f"features must be [>= {n_frames}, {spec['size']}], got {list(f.shape)}",
                                 field="--features")
            q = f[:n_frames].astype(np.float32) if spec["dtype"] == "float32" else None
            if q is None:
                q = np.clip(np.round(f[:n_frames] / spec["scale"]) + spec["zero_point"], -128, 127).astype(np.int8)
        else:
            x, fs = speech_like(n_frames * FRAME_HOP_S + 0.05, seed=seed + k)
            q = quantise_features(band_features(x, fs, spec["size"])[:n_frames], spec)
        if len(q) < n_frames:
            raise TunerigError(f"only {len(q)} feature frames available for {n_frames} requested")
        per_input.append(q.reshape(n_frames, *spec["shape"]))
    return [[per_input[j][k] for j in range(len(cm.inputs))] for k in range(n_frames)]


def run_tflm(model_bytes: bytes, cm: CompiledModel, frames, arena_size: int | None = None):
    """Run frames through tflite-micro with the state fed back (requantised like TFLM QUANTIZE)."""
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError as exc:
        raise TunerigError("tflite-micro is not installed (pip install '.[nn]')") from exc
    interp = runtime.Interpreter.from_bytes(model_bytes, arena_size=arena_size or max(len(model_bytes) * 10, 1 << 16))
    states = [np.full([1] * 0 + [s["size"]], s["in_zp"], dtype=np.int8) for s in cm.states]
    state_shapes = [tuple(cm.plan["states"][k].get("shape", ())) or None for k in range(len(cm.states))]
    del state_shapes
    results = []
    for fr in frames:
        for x, spec in zip(fr, cm.inputs):
            interp.set_input(np.asarray(x).reshape(spec["shape"]), spec["position"])
        for st, s in zip(states, cm.states):
            shape = interp.get_input_details(s["position"])["shape"]
            interp.set_input(st.reshape(shape), s["position"])
        interp.invoke()
        outs = [np.array(interp.get_output(o["position"])) for o in cm.outputs]
        results.append(outs)
        states = [np.array(quant.requantize_s8(outs[s["out_position"]].ravel(), s["out_scale"], s["out_zp"],
                                               s["in_scale"], s["in_zp"]), dtype=np.int8) for s in cm.states]
    return results


@dataclass
class VerifyReport:
    frames: int
    outputs_compared: int
    mismatches: int
    first_mismatch: tuple | None       # (frame, output name, element, c value, tflm value)
    max_abs_diff: float
    engine: str

    @property
    def bit_exact(self) -> bool:
        return self.mismatches == 0

    def summary(self) -> str:
        head = (f"{self.engine}: {self.frames} frames, {self.outputs_compared} output values compared, "
                f"{self.mismatches} mismatches")
        if self.first_mismatch:
            f, name, el, a, b = self.first_mismatch
            head += f"; first at frame {f}, output '{name}'[{el}]: C {a} vs tflite-micro {b}"
        return head + (" -> BIT-EXACT" if self.bit_exact else " -> DIFFERENT")


def compare(cm: CompiledModel, got, ref, engine: str) -> VerifyReport:
    n, bad, first, worst = 0, 0, None, 0.0
    for k, (g_row, r_row) in enumerate(zip(got, ref)):
        for o, g, r in zip(cm.outputs, g_row, r_row):
            g, r = np.asarray(g).ravel(), np.asarray(r).ravel()
            diff = g.astype(np.float64) != r.astype(np.float64)
            n += g.size
            if diff.any():
                bad += int(diff.sum())
                worst = max(worst, float(np.max(np.abs(g.astype(np.float64) - r.astype(np.float64)))))
                if first is None:
                    e = int(np.argmax(diff))
                    first = (k, o["name"], e, g[e].item(), r[e].item())
    return VerifyReport(len(got), n, bad, first, worst, engine)


def verify_model(model_path, n_frames: int = 1000, engine: str = "c-host", build_dir=None, state=None,
                 features=None, sanitize: bool = False, cmsis_nn_path=None) -> VerifyReport:
    """Compile, run both sides on n_frames, compare every output. Returns the report."""
    model_path = Path(model_path)
    build_dir = Path(build_dir) if build_dir else Path("build") / "nn_verify" / model_path.stem
    cm = compile_model(model_path, build_dir / "gen", state=state)
    frames = make_frames(cm, n_frames, features)
    ref = run_tflm(model_path.read_bytes(), cm, frames)
    if engine == "c-host":
        exe = build_host_runner(cm, build_dir / "host", sanitize=sanitize, cmsis_nn_path=cmsis_nn_path)
        got = run_host(exe, cm, frames)
    elif engine.startswith("board:"):
        from codegen.nn.board import run_board
        got = run_board(cm, engine.split(":", 1)[1], frames, build_dir / "board")
    else:
        raise InputError(f"unknown engine '{engine}' (use c-host or board:BOARD)", field="--engine")
    return compare(cm, got, ref, engine)
