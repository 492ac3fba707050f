"""Run a generated network on an emulated board (QEMU), the `board:B` engine of `tunerig nn verify`.

A self-contained bare-metal ELF per board: the generated network + kernels + a small runner
(templates/nn/board_main.c.j2) linked with the firmware's linker script and the board's memory
map (boards/B/memory.ld). Frames move through Arm semihosting files, so 1000 frames take well
under a second of host time; the cost counter is SysTick under `-icount shift=0` (one instruction
= 1 ns of virtual time), converted to instructions with the board's clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codegen.nn.compile import TEMPLATE_DIR, CompiledModel
from codegen.nn.host import kernel_sources
from codegen.templating import template_env
from designer.errors import TunerigError

CPU_FLAGS = {
    "cortex-m4": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    "cortex-m7": ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
    "cortex-m33": ["-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"],
    "cortex-m55": ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"],
}


@dataclass
class BoardRun:
    outputs: list
    instructions_per_invoke: float
    elf: Path
    sizes: dict


def _board(board_name: str):
    from hil.boards import load_board
    return load_board(board_name)


def build_board_elf(cm: CompiledModel, board_name: str, build_dir, opt: str = "-O2", cmsis_nn_path=None) -> tuple[Path, dict]:
    from hil.build import build_semihosted, measured_sizes
    board = _board(board_name)
    core = getattr(board, "core", None)
    if core not in CPU_FLAGS:
        raise TunerigError(f"board '{board_name}': core {core!r} not supported by the nn runner")
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    main_c = build_dir / f"{cm.name}_board_main.c"
    main_c.write_text(template_env(TEMPLATE_DIR).get_template("board_main.c.j2")
                      .render(name=cm.name, inputs=cm.inputs, outputs=cm.outputs))
    srcs, incs = kernel_sources(cmsis_nn_path)
    ours = [cm.out_dir / f"{cm.name}.c", cm.out_dir / f"{cm.name}_weights.c", main_c]
    # our kernels are code written here; a real CMSIS-NN (cmsis_nn_path) is third-party
    elf, _ = build_semihosted(board, build_dir / f"{cm.name}_{board_name}.elf",
                              ours + ([] if cmsis_nn_path else srcs), third_party=srcs if cmsis_nn_path else (),
                              cpu_flags=CPU_FLAGS[core], cflags=(opt, "-ffp-contract=off"), includes=[cm.out_dir, *incs])
    return elf, measured_sizes(elf)


def run_board_elf(elf: Path, board_name: str, cm: CompiledModel, frames, timeout_s: float = 300.0) -> BoardRun:
    from hil.qemu import run_semihosted
    board = _board(board_name)
    work = elf.parent
    blob = b"".join(np.ascontiguousarray(x, dtype=np.float32 if s["dtype"] == "float32" else np.int8).tobytes()
                    for fr in frames for x, s in zip(fr, cm.inputs))
    (work / "nn_in.bin").write_bytes(blob)
    for f in ("nn_out.bin", "nn_cost.txt"):
        (work / f).unlink(missing_ok=True)
    run_semihosted(board, elf, cwd=work, timeout_s=timeout_s, what=f"{len(frames)} frames of {cm.name}")
    if not (work / "nn_cost.txt").is_file():
        raise TunerigError(f"the run of {cm.name} on {board_name} wrote no nn_cost.txt")
    ticks, n, overhead = (int(v) for v in (work / "nn_cost.txt").read_text().split())
    data = (work / "nn_out.bin").read_bytes()
    sizes = [o["size"] * (4 if o["dtype"] == "float32" else 1) for o in cm.outputs]
    per = sum(sizes)
    if n != len(frames) or len(data) != per * n:
        raise TunerigError(f"board returned {n} frames / {len(data)} bytes, expected {len(frames)} / {per * len(frames)}")
    outs = []
    for k in range(n):
        pos, row = k * per, []
        for o, sz in zip(cm.outputs, sizes):
            row.append(np.frombuffer(data[pos:pos + sz], dtype=np.float32 if o["dtype"] == "float32" else np.int8)
                       .reshape(o["shape"]))
            pos += sz
        outs.append(row)
    clock = float(board.clock_hz)
    instr = (ticks - n * overhead) / n * 1e9 / clock
    return BoardRun(outs, instr, elf, {})


def run_board(cm: CompiledModel, board_name: str, frames, build_dir) -> list:
    elf, _ = build_board_elf(cm, board_name, build_dir)
    return run_board_elf(elf, board_name, cm, frames).outputs
