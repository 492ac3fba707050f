"""Build and run a generated network on the host (gcc), the `c-host` engine of `tunerig nn verify`.

The runner is a small executable (stdin frames in, stdout outputs out) rather than a ctypes
library so that the same build can run under -fsanitize=address,undefined.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from codegen.nn.compile import TEMPLATE_DIR, CompiledModel
from codegen.templating import template_env
from designer.errors import TunerigError

REPO = Path(__file__).resolve().parents[2]
CMSIS_NN_DIR = REPO / "firmware" / "cmsis_nn"
WARN_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror"]


def kernel_sources(cmsis_nn_path: str | os.PathLike | None = None) -> tuple[list[Path], list[Path]]:
    """(sources, include dirs) of the kernels: tunerig's own CMSIS-NN subset, or Arm's CMSIS-NN
    when cmsis_nn_path (or the CMSIS_NN_PATH environment variable) names a checkout of it."""
    cmsis_nn_path = cmsis_nn_path or os.environ.get("CMSIS_NN_PATH")
    tr = [CMSIS_NN_DIR / "tr_nn" / "tr_nn_ops.c"]
    if cmsis_nn_path:
        root = Path(cmsis_nn_path)
        if not (root / "Include" / "arm_nnfunctions.h").is_file():
            raise TunerigError(f"CMSIS_NN_PATH={root}: Include/arm_nnfunctions.h not found")
        srcs = sorted(p for p in (root / "Source").rglob("*.c"))
        return tr + srcs, [CMSIS_NN_DIR / "tr_nn", root / "Include", root]
    return tr + sorted((CMSIS_NN_DIR / "Source").glob("*.c")), [CMSIS_NN_DIR / "tr_nn", CMSIS_NN_DIR / "Include"]


def build_host_runner(cm: CompiledModel, build_dir, *, sanitize: bool = False, cc: str = "gcc",
                      opt: str = "-O2", cmsis_nn_path=None) -> Path:
    """Compile the generated C + kernels + a stdin/stdout runner into an executable."""
    if shutil.which(cc) is None:
        raise TunerigError(f"host C compiler '{cc}' not found (install gcc)")
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    env = template_env(TEMPLATE_DIR)
    main_c = build_dir / f"{cm.name}_host_main.c"
    main_c.write_text(env.get_template("host_main.c.j2").render(name=cm.name, inputs=cm.inputs, outputs=cm.outputs))
    srcs, incs = kernel_sources(cmsis_nn_path)
    exe = build_dir / (f"{cm.name}_host" + ("_san" if sanitize else ""))
    cmd = [cc, *WARN_FLAGS, opt, "-ffp-contract=off", *[f"-I{p}" for p in [cm.out_dir, *incs]],
           str(cm.out_dir / f"{cm.name}.c"), str(cm.out_dir / f"{cm.name}_weights.c"), str(main_c),
           *map(str, srcs), "-o", str(exe), "-lm"]
    if sanitize:
        cmd[1:1] = ["-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise TunerigError(f"host build of {cm.name} failed:\n{proc.stderr[-4000:]}")
    return exe


def run_host(exe: Path, cm: CompiledModel, frames: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    """Run all frames through one process (state carried inside); frames[k][j] = input j of frame k."""
    blob = b"".join(np.ascontiguousarray(x, dtype=_np_type(spec)).tobytes()
                    for fr in frames for x, spec in zip(fr, cm.inputs))
    proc = subprocess.run([str(exe)], input=blob, capture_output=True)
    if proc.returncode != 0:
        raise TunerigError(f"host runner {exe.name} failed (exit {proc.returncode}):\n"
                           + proc.stderr.decode(errors="replace")[-4000:])
    if proc.stderr:
        raise TunerigError(f"host runner {exe.name} reported:\n" + proc.stderr.decode(errors="replace")[-4000:])
    sizes = [o["size"] * np.dtype(_np_type(o)).itemsize for o in cm.outputs]
    per = sum(sizes)
    if len(proc.stdout) != per * len(frames):
        raise TunerigError(f"host runner produced {len(proc.stdout)} bytes, expected {per * len(frames)}")
    out = []
    for k in range(len(frames)):
        pos = k * per
        row = []
        for o, n in zip(cm.outputs, sizes):
            row.append(np.frombuffer(proc.stdout[pos:pos + n], dtype=_np_type(o)).reshape(o["shape"]))
            pos += n
        out.append(row)
    return out


def _np_type(spec: dict):
    return np.float32 if spec["dtype"] == "float32" else np.int8
