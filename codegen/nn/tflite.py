"""A small TFLite flatbuffer reader: just the schema subset the int8 code generator needs.

Why not TensorFlow or the `flatbuffers` package: `tunerig nn compile` must run on a build machine
with neither installed, and the subset we need (model -> subgraph -> tensors/operators/buffers,
quantisation, a handful of builtin option tables) is a few dozen lines of `struct` reads.

Flatbuffer layout used here (tflite schema.fbs, file identifier "TFL3"):
- a table starts with an int32 soffset to its vtable (vtable = table - soffset); the vtable is
  uint16 [vtable bytes, table bytes, field0 offset, field1 offset, ...] and offset 0 means "absent,
  use the schema default";
- references (tables, vectors, strings) are uint32 offsets relative to where they are stored;
- a vector is a uint32 length followed by its elements; a string is a vector of bytes.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from designer.errors import InputError

# BuiltinOperator codes from tflite schema.fbs (only the ones we name; any other code is reported
# by number and, where known, by name).
BUILTIN_NAMES = {
    0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D",
    6: "DEQUANTIZE", 9: "FULLY_CONNECTED", 14: "LOGISTIC", 16: "LSTM", 17: "MAX_POOL_2D", 18: "MUL",
    19: "RELU", 21: "RELU6", 22: "RESHAPE", 25: "SOFTMAX", 27: "SVDF", 28: "TANH", 32: "CUSTOM",
    34: "PAD", 36: "GATHER", 39: "TRANSPOSE", 40: "MEAN", 41: "SUB", 42: "DIV", 43: "SQUEEZE",
    44: "UNIDIRECTIONAL_SEQUENCE_LSTM", 45: "STRIDED_SLICE", 47: "EXP", 49: "SPLIT", 53: "CAST",
    55: "MAXIMUM", 57: "MINIMUM", 65: "SLICE", 70: "EXPAND_DIMS", 83: "PACK", 88: "UNPACK",
    98: "LEAKY_RELU", 102: "SPLIT_V", 114: "QUANTIZE", 117: "HARD_SWISH", 118: "IF", 119: "WHILE",
    126: "BATCH_MATMUL", 130: "BROADCAST_TO",
}

# TensorType enum.
TYPE_NAMES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool",
              7: "int16", 9: "int8"}
NUMPY_TYPES = {0: np.float32, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16, 9: np.int8}

# ActivationFunctionType enum.
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


class _Table:
    """One flatbuffer table: typed field access by field index (schema order)."""

    def __init__(self, buf: bytes, pos: int):
        self.buf, self.pos = buf, pos
        vt = pos - struct.unpack_from("<i", buf, pos)[0]
        vt_len = struct.unpack_from("<H", buf, vt)[0]
        self._fields = struct.unpack_from(f"<{(vt_len - 4) // 2}H", buf, vt + 4)

    def _off(self, idx: int) -> int:
        return self._fields[idx] if idx < len(self._fields) else 0

    def scalar(self, idx: int, fmt: str, default=0):
        off = self._off(idx)
        return struct.unpack_from("<" + fmt, self.buf, self.pos + off)[0] if off else default

    def _ref(self, idx: int) -> int | None:
        off = self._off(idx)
        if not off:
            return None
        at = self.pos + off
        return at + struct.unpack_from("<I", self.buf, at)[0]

    def table(self, idx: int) -> "_Table | None":
        at = self._ref(idx)
        return None if at is None else _Table(self.buf, at)

    def vector(self, idx: int, dtype) -> np.ndarray | None:
        at = self._ref(idx)
        if at is None:
            return None
        n = struct.unpack_from("<I", self.buf, at)[0]
        return np.frombuffer(self.buf, dtype=np.dtype(dtype).newbyteorder("<"), count=n, offset=at + 4)

    def tables(self, idx: int) -> list["_Table"]:
        at = self._ref(idx)
        if at is None:
            return []
        n = struct.unpack_from("<I", self.buf, at)[0]
        out = []
        for i in range(n):
            el = at + 4 + 4 * i
            out.append(_Table(self.buf, el + struct.unpack_from("<I", self.buf, el)[0]))
        return out

    def string(self, idx: int) -> str | None:
        at = self._ref(idx)
        if at is None:
            return None
        n = struct.unpack_from("<I", self.buf, at)[0]
        return self.buf[at + 4: at + 4 + n].decode("utf-8", "replace")


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str                      # "int8", "int32", "float32", ...
    scale: np.ndarray               # float32, one per tensor or one per channel (empty: not quantised)
    zero_point: np.ndarray          # int64, same length as scale
    quantized_dimension: int
    data: np.ndarray | None         # constant data (already shaped), None for activations
    is_variable: bool = False

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(NUMPY_TYPES.get(TYPE_CODES[self.dtype], np.int8)).itemsize

    @property
    def is_const(self) -> bool:
        return self.data is not None


TYPE_CODES = {v: k for k, v in TYPE_NAMES.items()}


@dataclass
class Operator:
    index: int
    opcode: str                     # "FULLY_CONNECTED", ... or "BUILTIN_<n>" / "CUSTOM:<name>"
    inputs: list[int]               # tensor indices, -1 for an omitted optional input
    outputs: list[int]
    options: dict = field(default_factory=dict)


@dataclass
class Model:
    path: str
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    input_names: dict[int, str]     # tensor index -> signature name ("state", "x", ...)
    output_names: dict[int, str]
    description: str = ""


def _options(opcode: str, opt: _Table | None) -> dict:
    """Decode the builtin options tables we use (field order from schema.fbs)."""
    if opt is None:
        return {}
    if opcode == "FULLY_CONNECTED":
        return {"activation": ACTIVATIONS.get(opt.scalar(0, "b"), "?"), "weights_format": opt.scalar(1, "b"),
                "keep_num_dims": bool(opt.scalar(2, "B"))}
    if opcode in ("ADD", "SUB", "MUL"):
        return {"activation": ACTIVATIONS.get(opt.scalar(0, "b"), "?")}
    if opcode == "CONCATENATION":
        return {"axis": opt.scalar(0, "i"), "activation": ACTIVATIONS.get(opt.scalar(1, "b"), "?")}
    if opcode == "SPLIT":
        return {"num_splits": opt.scalar(0, "i")}
    if opcode == "STRIDED_SLICE":
        return {"begin_mask": opt.scalar(0, "i"), "end_mask": opt.scalar(1, "i"),
                "ellipsis_mask": opt.scalar(2, "i"), "new_axis_mask": opt.scalar(3, "i"),
                "shrink_axis_mask": opt.scalar(4, "i"), "offset": bool(opt.scalar(5, "B"))}
    if opcode == "UNPACK":
        return {"num": opt.scalar(0, "i"), "axis": opt.scalar(1, "i")}
    if opcode == "PACK":
        return {"values_count": opt.scalar(0, "i"), "axis": opt.scalar(1, "i")}
    return {}


def read_tflite(path) -> Model:
    """Parse a .tflite file into plain Python objects; raise InputError naming the file if it is not one."""
    path = Path(path)
    try:
        buf = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read model: {exc.strerror}", file=path) from None
    return parse_tflite(buf, str(path))


def parse_tflite(buf: bytes, name: str = "<bytes>") -> Model:
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise InputError("not a TFLite flatbuffer (file identifier 'TFL3' missing at byte 4)", file=name)
    try:
        return _parse(buf, name)
    except (struct.error, IndexError, ValueError) as exc:
        raise InputError(f"corrupt TFLite flatbuffer ({exc})", file=name) from None


def _parse(buf: bytes, name: str) -> Model:
    model = _Table(buf, struct.unpack_from("<I", buf, 0)[0])
    opcodes = []
    for oc in model.tables(1):
        code = max(oc.scalar(0, "b"), oc.scalar(3, "i"))   # deprecated_builtin_code vs builtin_code
        if code == 32:
            opcodes.append("CUSTOM:" + (oc.string(1) or "?"))
        else:
            opcodes.append(BUILTIN_NAMES.get(code, f"BUILTIN_{code}"))
    subgraphs = model.tables(2)
    if len(subgraphs) != 1:
        raise InputError(f"expected exactly one subgraph, found {len(subgraphs)} "
                         "(control flow such as WHILE is not supported: export a single-step model)",
                         file=name, field="subgraphs")
    buffers = []
    for b in model.tables(4):
        data = b.vector(0, np.uint8)
        off, size = b.scalar(1, "Q"), b.scalar(2, "Q")
        if (data is None or len(data) == 0) and off > 1:
            data = np.frombuffer(buf, dtype=np.uint8, count=size, offset=off)
        buffers.append(data)
    sg = subgraphs[0]
    tensors = []
    for i, t in enumerate(sg.tables(0)):
        shape = tuple(int(s) for s in (t.vector(0, np.int32) if t.vector(0, np.int32) is not None else ()))
        tcode = t.scalar(1, "b")
        dtype = TYPE_NAMES.get(tcode, f"type{tcode}")
        q = t.table(4)
        scale = np.zeros(0, np.float32)
        zp = np.zeros(0, np.int64)
        qdim = 0
        if q is not None:
            s = q.vector(2, np.float32)
            z = q.vector(3, np.int64)
            scale = np.array(s if s is not None else [], dtype=np.float32)
            zp = np.array(z if z is not None else [], dtype=np.int64)
            qdim = q.scalar(6, "i")
        data = None
        bidx = t.scalar(2, "I")
        raw = buffers[bidx] if bidx < len(buffers) else None
        if raw is not None and len(raw) > 0:
            if tcode not in NUMPY_TYPES:
                data = np.frombuffer(bytes(raw), dtype=np.uint8)
            else:
                data = np.frombuffer(bytes(raw), dtype=np.dtype(NUMPY_TYPES[tcode]).newbyteorder("<"))
                data = data.astype(NUMPY_TYPES[tcode]).reshape(shape if shape else ())
        tensors.append(Tensor(i, t.string(3) or f"tensor{i}", shape, dtype, scale, zp, qdim, data,
                              bool(t.scalar(5, "B"))))
    operators = []
    for i, op in enumerate(sg.tables(3)):
        opcode = opcodes[op.scalar(0, "I")]
        ins = [int(v) for v in (op.vector(1, np.int32) if op.vector(1, np.int32) is not None else [])]
        outs = [int(v) for v in (op.vector(2, np.int32) if op.vector(2, np.int32) is not None else [])]
        operators.append(Operator(i, opcode, ins, outs, _options(opcode, op.table(4))))
    inputs = [int(v) for v in sg.vector(1, np.int32)]
    outputs = [int(v) for v in sg.vector(2, np.int32)]
    in_names, out_names = {}, {}
    for sig in model.tables(7):            # SignatureDef: inputs(0), outputs(1), signature_key(2)
        for tm in sig.tables(0):           # TensorMap: name(0), tensor_index(1)
            in_names[tm.scalar(1, "I")] = tm.string(0)
        for tm in sig.tables(1):
            out_names[tm.scalar(1, "I")] = tm.string(0)
        break
    for i in inputs:
        in_names.setdefault(i, tensors[i].name)
    for i in outputs:
        out_names.setdefault(i, tensors[i].name)
    return Model(name, tensors, operators, inputs, outputs, in_names, out_names, model.string(3) or "")
