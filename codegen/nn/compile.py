"""`tunerig nn compile`: an int8 TFLite model -> C99 that calls the CMSIS-NN public API.

What the generator does, in order:
1. read the flatbuffer (codegen.nn.tflite, no TensorFlow);
2. check every operator is one we lower, else a TunerigError naming the operator, its index in
   the graph and its output tensor;
3. pair recurrent state inputs with state outputs (explicit state: the state struct keeps the state
   in the state INPUT's quantisation; the state output is requantised into it after each call);
4. lower each operator to a step with all quantisation parameters precomputed exactly as TFLite
   Micro's Prepare() computes them (codegen.nn.quant);
5. plan the activation arena statically: tensor lifetimes from the operator order, RESHAPE as an
   alias, greedy first-fit by size (largest first) with 16-byte aligned offsets; the plan is
   reported (arena bytes, per-tensor offsets) in plan.json;
6. render Jinja2 templates: NAME.h (API), NAME.c (one invoke function), NAME_weights.c (aligned
   const weights, biases, kernel sums, per-channel multipliers, activation tables).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codegen.nn import quant
from codegen.nn.tflite import Model, Tensor, read_tflite
from codegen.templating import template_env
from designer.errors import InputError, TunerigError

SUPPORTED_OPS = ("FULLY_CONNECTED", "ADD", "SUB", "MUL", "LOGISTIC", "TANH", "SPLIT", "SPLIT_V",
                 "STRIDED_SLICE", "UNPACK", "PACK", "RESHAPE", "SQUEEZE", "EXPAND_DIMS",
                 "CONCATENATION", "QUANTIZE", "DEQUANTIZE")
ALIAS_OPS = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
SLICE_OPS = ("SPLIT", "SPLIT_V", "STRIDED_SLICE", "UNPACK")   # a contiguous slice becomes a view
ARENA_ALIGN = 16
TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "nn"


@dataclass
class CompiledModel:
    """What `compile_model` produced: file paths plus the figures reports and the verifier need."""
    name: str
    out_dir: Path
    files: list[Path]
    arena_bytes: int
    state_bytes: int
    weight_bytes: int
    macs: int
    inputs: list[dict]          # non-state inputs, in C argument order
    outputs: list[dict]         # all model outputs, in C argument order
    states: list[dict]          # state pairs
    plan: dict = field(default_factory=dict)


def _c_ident(text: str) -> str:
    s = re.sub(r"[^0-9A-Za-z_]", "_", text)
    return ("m_" + s) if not s or s[0].isdigit() else s


def _where(model: Model, op) -> str:
    out = model.tensors[op.outputs[0]].name if op.outputs else "?"
    return f"operator #{op.index} {op.opcode} (output tensor '{out}')"


def _qparams(t: Tensor, model: Model, op=None) -> tuple[float, int]:
    if t.scale.size == 0:
        where = f" at {_where(model, op)}" if op is not None else ""
        raise InputError(f"tensor '{t.name}' is not quantised{where}: only int8 models are supported",
                         file=model.path)
    return float(t.scale[0]), int(t.zero_point[0]) if t.zero_point.size else 0


def find_state_pairs(model: Model, explicit: list[str] | None = None) -> list[tuple[int, int]]:
    """Pair state inputs with state outputs (tensor indices).

    explicit: ["IN_NAME:OUT_NAME", ...] using signature or tensor names. Otherwise: every input
    whose signature name contains 'state' (case-insensitive) takes, in order, the first unpaired
    output of the same shape, preferring outputs whose name also says 'state'.
    """
    def lookup(name, indices, names):
        for i in indices:
            if names.get(i) == name or model.tensors[i].name == name:
                return i
        raise InputError(f"no model {'input' if names is model.input_names else 'output'} named '{name}' "
                         f"(have: {', '.join(names[i] for i in indices)})", file=model.path, field="--state")
    pairs = []
    if explicit:
        for spec in explicit:
            if ":" not in spec:
                raise InputError(f"state pair '{spec}' must be IN_NAME:OUT_NAME", field="--state")
            a, b = spec.split(":", 1)
            pairs.append((lookup(a, model.inputs, model.input_names), lookup(b, model.outputs, model.output_names)))
    else:
        used = set()
        for i in model.inputs:
            if "state" not in model.input_names[i].lower():
                continue
            shape = model.tensors[i].shape
            cands = [o for o in model.outputs if o not in used and model.tensors[o].shape == shape]
            in_name = model.input_names[i].lower()
            cands.sort(key=lambda o: (0 if in_name in model.output_names[o].lower() else
                                      1 if "state" in model.output_names[o].lower() else 2))
            if not cands:
                raise InputError(f"state input '{model.input_names[i]}' {shape} has no output of the same shape "
                                 "to feed back; name the pair with --state IN:OUT", file=model.path)
            used.add(cands[0])
            pairs.append((i, cands[0]))
    for i, o in pairs:
        ti, to = model.tensors[i], model.tensors[o]
        if ti.shape != to.shape or ti.dtype != "int8" or to.dtype != "int8":
            raise InputError(f"state pair '{ti.name}' -> '{to.name}' must be int8 tensors of equal shape "
                             f"(got {ti.dtype}{list(ti.shape)} and {to.dtype}{list(to.shape)})", file=model.path)
    return pairs


# ------------------------------------------------------------------------------------------
# Data-movement helpers: every slicing/joining op becomes contiguous (src, dst, bytes) runs.

def _runs_from_index_map(src_index: np.ndarray, itemsize: int) -> list[tuple[int, int, int]]:
    """src_index[k] = flat source element of destination element k -> merged contiguous runs (bytes)."""
    runs = []
    flat = src_index.ravel()
    start = 0
    for k in range(1, len(flat) + 1):
        if k == len(flat) or flat[k] != flat[k - 1] + 1:
            runs.append((int(flat[start]) * itemsize, start * itemsize, (k - start) * itemsize))
            start = k
    return runs


def _strided_slice_index(shape, begin, end, strides, opts) -> tuple[np.ndarray, tuple]:
    idx = np.arange(int(np.prod(shape)) if shape else 1).reshape(shape)
    if opts.get("ellipsis_mask") or opts.get("new_axis_mask"):
        raise ValueError("ellipsis/new-axis masks")
    slices = []
    shrink = opts.get("shrink_axis_mask", 0)
    for d in range(len(shape)):
        b, e, s = int(begin[d]), int(end[d]), int(strides[d])
        if opts.get("offset"):
            e = b + e
        if opts.get("begin_mask", 0) >> d & 1:
            b = None
        if opts.get("end_mask", 0) >> d & 1 and not (shrink >> d & 1):
            e = None
        if shrink >> d & 1:
            b = b if b is not None else 0
            slices.append(b if b >= 0 else b + shape[d])
        else:
            slices.append(slice(b, e, s))
    out = idx[tuple(slices)]
    return np.asarray(out), np.asarray(out).shape


class _Emitter:
    """Collects constant arrays and steps while lowering operators."""

    def __init__(self, model: Model, name: str):
        self.model, self.name = model, name
        self.consts: list[dict] = []          # {cname, ctype, values, align}
        self.steps: list[dict] = []
        self.const_names: dict[int, str] = {}
        self.macs = 0

    def const(self, tag: str, ctype: str, values, comment: str = "") -> str:
        cname = f"{self.name}_{tag}"
        vals = [int(v) for v in np.asarray(values).ravel()]
        per_line = 16 if ctype == "int8_t" else 8
        body = ",\n".join("    " + ", ".join(str(v) for v in vals[k:k + per_line])
                           for k in range(0, len(vals), per_line))
        self.consts.append({"cname": cname, "ctype": ctype, "values": vals, "comment": comment, "body": body,
                            "bytes": len(vals) * {"int8_t": 1, "int16_t": 2, "int32_t": 4}[ctype]})
        return cname

    def const_tensor(self, tid: int, tag: str) -> str:
        if tid not in self.const_names:
            t = self.model.tensors[tid]
            ctype = {"int8": "int8_t", "int32": "int32_t", "int16": "int16_t"}.get(t.dtype)
            if ctype is None:
                raise InputError(f"constant tensor '{t.name}' has unsupported type {t.dtype}", file=self.model.path)
            self.const_names[tid] = self.const(f"{tag}_t{tid}", ctype, t.data, t.name)
        return self.const_names[tid]


def _lower(model: Model, em: _Emitter, op, ref) -> None:
    """Append the step(s) for one operator. ref(tid) gives the tensor's C expression later."""
    T = model.tensors
    code = op.opcode
    where = _where(model, op)
    outs = [T[o] for o in op.outputs]
    step = {"op": code, "index": op.index, "where": where, "out": op.outputs[0] if op.outputs else -1}

    def need_int8(t):
        if t.dtype != "int8":
            raise InputError(f"{where}: tensor '{t.name}' is {t.dtype}; only int8 activations are supported "
                             "(convert with full-integer quantisation)", file=model.path)

    if code == "FULLY_CONNECTED":
        inp, flt = T[op.inputs[0]], T[op.inputs[1]]
        bias = T[op.inputs[2]] if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        out = outs[0]
        for t in (inp, out):
            need_int8(t)
        if not flt.is_const or flt.dtype != "int8" or len(flt.shape) != 2:
            raise InputError(f"{where}: weights must be a constant int8 matrix", file=model.path)
        if op.options.get("weights_format", 0) != 0:
            raise InputError(f"{where}: shuffled weights format is not supported", file=model.path)
        if np.any(flt.zero_point != 0):
            raise InputError(f"{where}: weights zero point must be 0 (symmetric int8)", file=model.path)
        rows, cols = flt.shape
        if inp.size % cols:
            raise InputError(f"{where}: input size {inp.size} is not a multiple of the weights' {cols} columns",
                             file=model.path)
        batches = inp.size // cols
        s_in, zp_in = _qparams(inp, model, op)
        s_out, zp_out = _qparams(out, model, op)
        act_min, act_max = quant.activation_range(op.options.get("activation", "NONE"), s_out, zp_out)
        if op.options.get("activation", "NONE") not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
            raise InputError(f"{where}: fused activation {op.options['activation']} not supported", file=model.path)
        w = flt.data.astype(np.int64)
        ksum = (-zp_in) * w.sum(axis=1)
        step.update(input=op.inputs[0], batches=batches, rows=rows, cols=cols, input_offset=-zp_in,
                    output_offset=zp_out, act_min=act_min, act_max=act_max,
                    weights=em.const_tensor(op.inputs[1], "w"),
                    bias=(em.const_tensor(op.inputs[2], "b") if bias is not None else None),
                    kernel_sum=em.const(f"ksum{op.index}", "int32_t", ksum, "input_offset * row sum"))
        if bias is not None and bias.dtype != "int32":
            raise InputError(f"{where}: bias must be int32", file=model.path)
        if flt.scale.size > 1:
            if flt.scale.size != rows or flt.quantized_dimension != 0:
                raise InputError(f"{where}: per-channel scales must run along the output channels", file=model.path)
            mults, shifts = zip(*(quant.quantize_multiplier(quant.f32(s_in) * quant.f32(fs) / quant.f32(s_out))
                                  for fs in flt.scale))
            step.update(per_channel=True, mults=em.const(f"mult{op.index}", "int32_t", mults),
                        shifts=em.const(f"shift{op.index}", "int32_t", shifts))
        else:
            real = quant.f32_mul(s_in, flt.scale[0]) / quant.f32(s_out)
            m, s = quant.quantize_multiplier(real)
            step.update(per_channel=False, mult=m, shift=s)
        em.macs += batches * rows * cols
    elif code in ("ADD", "SUB", "MUL"):
        a, b, out = T[op.inputs[0]], T[op.inputs[1]], outs[0]
        for t in (a, b, out):
            need_int8(t)
        operands = []
        for tid, t in ((op.inputs[0], a), (op.inputs[1], b)):
            if t.size == out.size:
                operands.append(em.const_tensor(tid, "k") if t.is_const else tid)
            elif t.is_const:
                try:
                    full = np.broadcast_to(t.data, out.shape)
                except ValueError:
                    raise InputError(f"{where}: cannot broadcast constant '{t.name}' {list(t.shape)} to "
                                     f"{list(out.shape)}", file=model.path) from None
                operands.append(em.const(f"bc{op.index}_{tid}", "int8_t", full, f"{t.name} broadcast"))
            else:
                raise InputError(f"{where}: broadcasting between two activations ({list(a.shape)} vs "
                                 f"{list(b.shape)}) is not supported", file=model.path)
        (s1, z1), (s2, z2), (so, zo) = (_qparams(t, model, op) for t in (a, b, out))
        act = op.options.get("activation", "NONE")
        if act not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
            raise InputError(f"{where}: fused activation {act} not supported", file=model.path)
        act_min, act_max = quant.activation_range(act, so, zo)
        step.update(a=operands[0], b=operands[1], n=out.size, off1=-z1, off2=-z2, out_offset=zo,
                    act_min=act_min, act_max=act_max)
        if code == "MUL":
            m, s = quant.quantize_multiplier(quant.f32(s1) * quant.f32(s2) / quant.f32(so))
            step.update(mult=m, shift=s)
        else:
            if code == "ADD":        # TFLM add_common.cc: double arithmetic
                twice = 2.0 * max(quant.f32(s1), quant.f32(s2))
                r1, r2 = quant.f32(s1) / twice, quant.f32(s2) / twice
                ro = twice / ((1 << 20) * quant.f32(so))
            else:                    # TFLM sub_common.cc: float arithmetic, then widened
                f = np.float32
                twice = f(2) * max(f(s1), f(s2))
                r1, r2 = float(f(s1) / twice), float(f(s2) / twice)
                ro = float(twice / (f(1 << 20) * f(so)))
            m1, sh1 = quant.quantize_multiplier_smaller_than_one(r1) if r1 < 1 else quant.quantize_multiplier(r1)
            m2, sh2 = quant.quantize_multiplier_smaller_than_one(r2) if r2 < 1 else quant.quantize_multiplier(r2)
            mo, sho = quant.quantize_multiplier(ro)
            step.update(m1=m1, sh1=sh1, m2=m2, sh2=sh2, left_shift=20, mult=mo, shift=sho)
    elif code in ("LOGISTIC", "TANH"):
        inp, out = T[op.inputs[0]], outs[0]
        for t in (inp, out):
            need_int8(t)
        s_in, zp_in = _qparams(inp, model, op)
        s_out, zp_out = _qparams(out, model, op)
        expect = (1 / 256, -128) if code == "LOGISTIC" else (1 / 128, 0)
        if abs(s_out - expect[0]) > 1e-9 or zp_out != expect[1]:
            raise InputError(f"{where}: int8 {code} output must have scale {expect[0]} and zero point "
                             f"{expect[1]} (got {s_out}, {zp_out})", file=model.path)
        table = (quant.logistic_table_s8 if code == "LOGISTIC" else quant.tanh_table_s8)(s_in, zp_in)
        step.update(input=op.inputs[0], n=inp.size,
                    table=em.const(f"lut{op.index}", "int8_t", table, f"{code} for input scale {s_in:.8g}, zp {zp_in}"))
    elif code in ("SPLIT", "SPLIT_V", "STRIDED_SLICE", "UNPACK", "PACK", "CONCATENATION"):
        _lower_movement(model, em, op, step)
        return
    elif code in ALIAS_OPS:
        inp, out = T[op.inputs[0]], outs[0]
        if inp.size != out.size:
            raise InputError(f"{where}: reshape changes the element count", file=model.path)
        step.update(alias=True, input=op.inputs[0])
    elif code == "QUANTIZE":
        inp, out = T[op.inputs[0]], outs[0]
        need_int8(out)
        so, zo = _qparams(out, model, op)
        if inp.dtype == "float32":
            step.update(kind="quantize_f32", input=op.inputs[0], n=out.size, scale=repr(float(np.float32(so))) + "f",
                        zp=zo)
        elif inp.dtype == "int8":
            si, zi = _qparams(inp, model, op)
            m, s = quant.quantize_multiplier(quant.f32(si) / quant.f32(so))
            step.update(kind="requantize", input=op.inputs[0], n=out.size, in_zp=zi, mult=m, shift=s, out_zp=zo)
        else:
            raise InputError(f"{where}: QUANTIZE from {inp.dtype} is not supported", file=model.path)
    elif code == "DEQUANTIZE":
        inp, out = T[op.inputs[0]], outs[0]
        need_int8(inp)
        if out.dtype != "float32":
            raise InputError(f"{where}: DEQUANTIZE to {out.dtype} is not supported", file=model.path)
        si, zi = _qparams(inp, model, op)
        step.update(input=op.inputs[0], n=inp.size, scale=repr(quant.f32(si)), zp=zi)
    else:
        raise TunerigError(f"{model.path}: {where} is not supported; supported operators: "
                           + ", ".join(SUPPORTED_OPS))
    em.steps.append(step)


def _lower_movement(model: Model, em: _Emitter, op, step: dict) -> None:
    """SPLIT/SPLIT_V/STRIDED_SLICE/UNPACK/PACK/CONCATENATION as byte-run copies planned here."""
    T = model.tensors
    code, where = op.opcode, _where(model, op)

    def same_q(x: Tensor, y: Tensor):
        if x.dtype != "int8" or y.dtype != "int8":
            raise InputError(f"{where}: only int8 tensors are supported", file=model.path)
        if _qparams(x, model, op) != _qparams(y, model, op):
            raise InputError(f"{where}: input '{x.name}' and output '{y.name}' have different quantisation; "
                             "requantising data movement is not supported", file=model.path)

    def axis_of(a, rank):
        return a + rank if a < 0 else a

    moves = []       # (src tid, dst tid, runs)
    if code in ("SPLIT", "SPLIT_V"):
        data_tid = op.inputs[1] if code == "SPLIT" else op.inputs[0]
        axis_tid = op.inputs[0] if code == "SPLIT" else op.inputs[2]
        src = T[data_tid]
        if not T[axis_tid].is_const:
            raise InputError(f"{where}: split axis must be constant", file=model.path)
        axis = axis_of(int(T[axis_tid].data.ravel()[0]), len(src.shape))
        idx = np.arange(src.size).reshape(src.shape)
        start = 0
        for o in op.outputs:
            n = T[o].shape[axis]
            part = np.take(idx, np.arange(start, start + n), axis=axis)
            start += n
            same_q(src, T[o])
            moves.append((data_tid, o, _runs_from_index_map(part, 1)))
    elif code == "STRIDED_SLICE":
        src = T[op.inputs[0]]
        for k in (1, 2, 3):
            if not T[op.inputs[k]].is_const:
                raise InputError(f"{where}: begin/end/strides must be constant", file=model.path)
        try:
            part, _ = _strided_slice_index(src.shape, *(T[op.inputs[k]].data for k in (1, 2, 3)), op.options)
        except ValueError as exc:
            raise InputError(f"{where}: unsupported strided slice ({exc})", file=model.path) from None
        if part.size != T[op.outputs[0]].size:
            raise InputError(f"{where}: slice size {part.size} does not match output {T[op.outputs[0]].size}",
                             file=model.path)
        same_q(src, T[op.outputs[0]])
        moves.append((op.inputs[0], op.outputs[0], _runs_from_index_map(part, 1)))
    elif code == "UNPACK":
        src = T[op.inputs[0]]
        axis = axis_of(op.options.get("axis", 0), len(src.shape))
        idx = np.arange(src.size).reshape(src.shape)
        for k, o in enumerate(op.outputs):
            same_q(src, T[o])
            moves.append((op.inputs[0], o, _runs_from_index_map(np.take(idx, k, axis=axis), 1)))
    elif code in ("PACK", "CONCATENATION"):
        out = T[op.outputs[0]]
        rank = len(out.shape)
        axis = axis_of(op.options.get("axis", 0), rank)
        if op.options.get("activation", "NONE") not in ("NONE",):
            raise InputError(f"{where}: fused activation on concatenation not supported", file=model.path)
        idx = np.arange(out.size).reshape(out.shape)
        start = 0
        for k, tid in enumerate(op.inputs):
            t = T[tid]
            same_q(t, out)
            if code == "PACK":
                dst = np.take(idx, k, axis=axis)
            else:
                n = t.shape[axis]
                dst = np.take(idx, np.arange(start, start + n), axis=axis)
                start += n
            # runs map source (contiguous input) -> destination positions
            flat = dst.ravel()
            runs, s0 = [], 0
            for j in range(1, len(flat) + 1):
                if j == len(flat) or flat[j] != flat[j - 1] + 1:
                    runs.append((s0, int(flat[s0]), j - s0))
                    s0 = j
            src_ref = em.const_tensor(tid, "k") if t.is_const else tid
            moves.append((src_ref, op.outputs[0], runs))
    for n_move, (src, dst, runs) in enumerate(moves):
        s = dict(step)
        s.update(op="COPY", what=code, src=src, dst=dst, out=dst, runs=runs,
                 table=(em.const(f"runs{op.index}_{n_move}", "int32_t", [v for r in runs for v in r])
                        if len(runs) > 2 else None))
        em.steps.append(s)


def plan_memory(model: Model, steps: list[dict], arena_tids: set[int], alias_of: dict[int, int]) -> dict:
    """Static arena plan: lifetimes [first write, last read] per buffer, greedy first-fit, largest first."""
    n_steps = len(steps)
    first, last = {}, {}
    for k, st in enumerate(steps):
        for key in ("input", "a", "b", "src"):
            v = st.get(key)
            if isinstance(v, int) and not isinstance(v, bool):
                r = alias_of.get(v, v)
                last[r] = max(last.get(r, k), k)
        dst = st.get("dst", st.get("out"))
        if isinstance(dst, int) and dst >= 0:
            r = alias_of.get(dst, dst)
            first.setdefault(r, k)
            last[r] = max(last.get(r, k), k)
    for o in model.outputs:
        r = alias_of.get(o, o)
        last[r] = n_steps
    buffers = []
    for r in sorted(arena_tids):
        t = model.tensors[r]
        buffers.append({"tid": r, "name": t.name, "bytes": t.size * (4 if t.dtype == "float32" else 1),
                        "first": first.get(r, 0), "last": last.get(r, n_steps)})
    placed = []
    for b in sorted(buffers, key=lambda b: (-b["bytes"], b["first"], b["tid"])):
        conflicts = sorted((p for p in placed if not (p["last"] < b["first"] or b["last"] < p["first"])),
                           key=lambda p: p["offset"])
        off = 0
        for p in conflicts:
            if off + b["bytes"] <= p["offset"]:
                break
            off = max(off, -(-(p["offset"] + p["bytes"]) // ARENA_ALIGN) * ARENA_ALIGN)
        b["offset"] = off
        placed.append(b)
    arena = max((b["offset"] + b["bytes"] for b in placed), default=0)
    naive = sum(b["bytes"] for b in buffers)
    return {"arena_bytes": int(-(-arena // ARENA_ALIGN) * ARENA_ALIGN) if arena else 0, "unplanned_bytes": naive,
            "buffers": sorted(placed, key=lambda b: b["offset"])}


def compile_model(model_path, out_dir, name: str | None = None, state: list[str] | None = None) -> CompiledModel:
    """Generate C for `model_path` into `out_dir`; see the module docstring for what is produced."""
    model = read_tflite(model_path)
    name = _c_ident(name or Path(model_path).stem).lower()
    T = model.tensors
    # 1. every operator supported?
    for op in model.operators:
        if op.opcode not in SUPPORTED_OPS:
            raise TunerigError(f"{model.path}: {_where(model, op)} is not supported; supported operators: "
                               + ", ".join(SUPPORTED_OPS))
    pairs = find_state_pairs(model, state)
    state_in = {i: k for k, (i, _) in enumerate(pairs)}
    # 2. lower
    em = _Emitter(model, name)
    for op in model.operators:
        _lower(model, em, op, None)
    # 3. aliases, arena tensors. RESHAPE and friends view the same bytes; a slice (SPLIT,
    #    STRIDED_SLICE, UNPACK) whose output is one contiguous run of its source is a view at a byte
    #    offset (no copy). Tensors are written once, so the view stays valid while the source lives;
    #    the plan extends the source's lifetime to the view's last use (uses map to the root).
    alias_of, alias_off = {}, {}
    for st in em.steps:
        if (st["op"] == "COPY" and st["what"] in SLICE_OPS and len(st["runs"]) == 1
                and isinstance(st["src"], int) and not isinstance(st["src"], bool)):
            st.update(alias=True, input=st["src"], offset=st["runs"][0][0])
        if st.get("alias"):
            src = st["input"]
            alias_of[st["out"]] = alias_of.get(src, src)
            alias_off[st["out"]] = alias_off.get(src, 0) + st.get("offset", 0)
    produced = {st.get("dst", st.get("out")) for st in em.steps if not st.get("alias")}
    arena_tids = {t for t in produced if isinstance(t, int) and t >= 0}
    plan = plan_memory(model, [s for s in em.steps if not s.get("alias")], arena_tids, alias_of)
    offsets = {b["tid"]: b["offset"] for b in plan["buffers"]}
    in_args = [i for i in model.inputs if i not in state_in]

    def ctype(t: Tensor) -> str:
        return "float" if t.dtype == "float32" else "int8_t"

    def ref(tid) -> str:
        """C expression for a tensor's data."""
        if isinstance(tid, str):
            return tid
        r = alias_of.get(tid, tid)
        off = alias_off.get(tid, 0)
        t = T[r]
        if r in state_in:
            base = f"state->s{state_in[r]}"
        elif r in in_args:
            base = f"in{in_args.index(r)}"
        elif T[r].is_const:
            base = em.const_tensor(r, "k")
        elif r in offsets:
            if t.dtype == "float32":
                return f"((float *)(void *)(s_arena + {offsets[r]}))"
            return f"(s_arena + {offsets[r] + off})"
        else:
            raise TunerigError(f"{model.path}: tensor '{t.name}' is read before any operator writes it")
        return f"({base} + {off})" if off else base

    for st in em.steps:
        for key in ("input", "a", "b", "src", "dst", "out"):
            if key in st and st[key] is not None and not (isinstance(st[key], int) and st[key] < 0):
                st[key + "_c"] = ref(st[key])
    inputs = [{"index": i, "name": model.input_names[i], "tensor": T[i].name, "cname": f"in{k}",
               "ctype": ctype(T[i]), "size": T[i].size, "shape": list(T[i].shape), "dtype": T[i].dtype,
               "scale": float(T[i].scale[0]) if T[i].scale.size else 0.0,
               "zero_point": int(T[i].zero_point[0]) if T[i].zero_point.size else 0,
               "position": model.inputs.index(i)} for k, i in enumerate(in_args)]
    outputs = [{"index": o, "name": model.output_names[o], "tensor": T[o].name, "cname": f"out{k}",
                "ctype": ctype(T[o]), "size": T[o].size, "shape": list(T[o].shape), "dtype": T[o].dtype,
                "src": ref(o), "scale": float(T[o].scale[0]) if T[o].scale.size else 0.0,
                "zero_point": int(T[o].zero_point[0]) if T[o].zero_point.size else 0,
                "position": k} for k, o in enumerate(model.outputs)]
    states = []
    for k, (i, o) in enumerate(pairs):
        si, zi = _qparams(T[i], model)
        so, zo = _qparams(T[o], model)
        m, s = quant.quantize_multiplier(quant.f32(so) / quant.f32(si))
        states.append({"k": k, "in": i, "out": o, "in_name": model.input_names[i], "out_name": model.output_names[o],
                       "size": T[i].size, "in_zp": zi, "in_scale": si, "out_zp": zo, "out_scale": so,
                       "mult": m, "shift": s, "src": ref(o), "position": model.inputs.index(i),
                       "out_position": model.outputs.index(o)})
    weight_bytes = sum(c["bytes"] for c in em.consts)
    ctx = {"name": name, "NAME": name.upper(), "model_file": Path(model_path).name, "steps": em.steps,
           "consts": em.consts, "inputs": inputs, "outputs": outputs, "states": states,
           "arena_bytes": max(plan["arena_bytes"], ARENA_ALIGN), "plan": plan, "macs": em.macs,
           "weight_bytes": weight_bytes, "n_ops": len(model.operators)}
    env = template_env(TEMPLATE_DIR)
    out_dir = Path(out_dir)
    rendered = {f"{name}.h": env.get_template("model.h.j2").render(**ctx),
                f"{name}.c": env.get_template("model.c.j2").render(**ctx),
                f"{name}_weights.c": env.get_template("model_weights.c.j2").render(**ctx)}
    plan_json = {"model": str(model_path), "name": name, "arena_bytes": plan["arena_bytes"],
                 "unplanned_bytes": plan["unplanned_bytes"], "state_bytes": sum(s["size"] for s in states),
                 "weight_bytes": weight_bytes, "macs": em.macs, "operators": len(model.operators),
                 "buffers": plan["buffers"], "inputs": inputs, "outputs": outputs, "states": states}
    rendered["plan.json"] = json.dumps(plan_json, indent=1, default=int) + "\n"
    # write only after everything rendered: nothing half-written on error
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for fname, text in rendered.items():
        p = out_dir / fname
        tmp = p.with_suffix(p.suffix + ".tmp")
        tmp.write_text(text)
        tmp.replace(p)
        files.append(p)
    return CompiledModel(name, out_dir, files, plan["arena_bytes"], plan_json["state_bytes"], weight_bytes,
                         em.macs, inputs, outputs, states, plan_json)
