"""The generated PercepNet pipeline as a bare-metal ELF on an emulated board (QEMU), for cost and
host/board bit-exactness: templates/percepnet/board_main.c.j2 + the pipeline + CMSIS-DSP FFT +
CMSIS-NN kernels + firmware/semihost start-up, linked with firmware/ld/tunerig.ld and the board's
memory.ld. Audio moves through semihosting files; SysTick under -icount shift=0 counts instructions.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codegen.nn.board import CPU_FLAGS
from codegen.percepnet.generate import TARGETS, TEMPLATES, generate_pipeline, source_lists
from codegen.templating import template_env
from designer.errors import TunerigError

STAGES = ("pitch_search", "pitch_track", "comb", "analysis_fft", "features", "network", "gains_postfilter",
          "synthesis", "other")


@dataclass
class PipelineRun:
    y: np.ndarray                   # raw (delayed) int16 output
    instr_per_hop: float            # whole tr_pn_process_q15 per hop of audio
    net_instr_per_hop: float        # of which inside the network's invoke
    stages: dict                    # instructions per hop by stage (STAGES)
    hops: int
    sizes: dict                     # measured at run time: stack_used (bytes, high-water mark)
    elf: Path


def _board(board_name: str):
    from hil.boards import load_board
    return load_board(board_name)


def build_pipeline_elf(model_path, board_name: str, build_dir, opt: str = "-O2") -> tuple[Path, dict]:
    from hil.build import build_semihosted, measured_sizes
    board = _board(board_name)
    core = getattr(board, "core", None)
    if core not in CPU_FLAGS:
        raise TunerigError(f"board '{board_name}': core {core!r} has no compiler flags")
    build_dir = Path(build_dir).resolve()
    target = core if core in TARGETS else "c99"
    src = generate_pipeline(model_path, build_dir / "src", target=target)
    main_c = build_dir / "tr_pn_board_main.c"
    main_c.write_text(template_env(TEMPLATES).get_template("board_main.c.j2").render())
    own, third, incs, defines = source_lists(src, target)
    ours = [*own, main_c, *(s for s in third if "cmsis_nn" in str(s))]      # our CMSIS-NN kernels too
    elf, _ = build_semihosted(board, build_dir / f"tr_pn_{board_name}.elf", ours,
                              third_party=[s for s in third if s not in ours], cpu_flags=CPU_FLAGS[core],
                              cflags=(opt, "-ffp-contract=off", "-DTR_PN_PROFILE", *(f"-D{d}" for d in defines)),
                              includes=incs)
    return elf, measured_sizes(elf)


def run_pipeline_elf(elf: Path, board_name: str, x_int16: np.ndarray, hop: int, timeout_s: float = 600.0) -> PipelineRun:
    from hil.qemu import run_semihosted
    board = _board(board_name)
    work = elf.parent
    x = np.asarray(x_int16, dtype="<i2")
    x = np.concatenate([x, np.zeros((-len(x)) % hop, "<i2")])
    (work / "pn_in.bin").write_bytes(x.tobytes())
    for f in ("pn_out.bin", "pn_cost.txt"):
        (work / f).unlink(missing_ok=True)
    run_semihosted(board, elf, cwd=work, timeout_s=timeout_s, what="PercepNet pipeline run")
    if not (work / "pn_cost.txt").is_file():
        raise TunerigError(f"the PercepNet pipeline run on {board_name} wrote no pn_cost.txt")
    spent, hops, overhead, stack, *stage_ticks = (int(v) for v in (work / "pn_cost.txt").read_text().split())
    y = np.frombuffer((work / "pn_out.bin").read_bytes(), "<i2").astype(np.int16)
    if hops != len(x) // hop or len(y) != len(x):
        raise TunerigError(f"board processed {hops} hops / {len(y)} samples, expected {len(x) // hop} / {len(x)}")
    k = 1e9 / float(board.clock_hz)
    stages = {name: t * k / hops for name, t in zip(STAGES, stage_ticks)}
    return PipelineRun(y, (spent - hops * overhead) * k / hops, stages["network"], stages, hops,
                       {"stack_used": stack}, elf)
