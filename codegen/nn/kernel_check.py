"""Cross-check of the optimised kernels (DSP and Helium paths, in QEMU) against the portable C path.

The test networks exercise the kernels only at their own shapes; the optimised paths have edges
(3/4/6-row blocks, 8/16-column groups entered at any count, rows not word aligned or 2 mod 4 bytes
long, the last rows of a matrix, bias-less chunks, 64-row chunks, 512-column slices, predicated
tails, the fast requantisation ranges and the general path they hand over to) that a network may
never hit. firmware/cmsis_nn/check/tr_nn_kernel_check.c
runs thousands of pseudo-random cases over those edges and prints one hash per group of cases;
the host build (gcc, portable C: the reference, itself checked bit-exact against tflite-micro by
the network tests) and each board build must print the same hashes.

    python -m codegen.nn.kernel_check [--board B ...] [--work DIR]

Also reports the kernels' instruction costs on each board (informational).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from codegen.nn.board import CPU_FLAGS, _board
from codegen.nn.host import CMSIS_NN_DIR, REPO, WARN_FLAGS, kernel_sources
from designer.errors import TunerigError

CHECK_SOURCE = CMSIS_NN_DIR / "check" / "tr_nn_kernel_check.c"
BOARDS = ("mps2-an386", "mps3-an547")


@dataclass
class KernelCheck:
    board: str
    reference: dict            # tag -> hash, host portable build
    got: dict                  # tag -> hash, board build
    costs: dict = field(default_factory=dict)   # kernel -> instructions per unit

    @property
    def mismatches(self) -> list[str]:
        tags = sorted(set(self.reference) | set(self.got))
        bad = [t for t in tags if self.reference.get(t) != self.got.get(t)]
        # the fast requantisation form against the reference form, counted inside each build
        if self.got.get("requantize_fast_mismatches") != (0,) and "requantize_fast_mismatches" not in bad:
            bad.append("requantize_fast_mismatches")
        return bad


def _parse(text: str) -> tuple[dict, dict]:
    hashes, costs = {}, {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "cost":
            costs[parts[1]] = int(parts[2]) / 1000.0
        elif len(parts) == 2 and parts[1].isdigit():
            hashes.setdefault(parts[0], []).append(int(parts[1]))
    if "done" not in text:
        raise TunerigError("kernel check did not run to the end:\n" + text[-2000:])
    return {k: tuple(v) for k, v in hashes.items()}, costs


def run_host_reference(work: Path) -> dict:
    cc = shutil.which("gcc")
    if cc is None:
        raise TunerigError("host C compiler 'gcc' not found")
    srcs, incs = kernel_sources(None)
    exe = work / "tr_nn_kernel_check_host"
    work.mkdir(parents=True, exist_ok=True)
    cmd = [cc, *WARN_FLAGS, "-O2", *[f"-I{p}" for p in incs], str(CHECK_SOURCE), *map(str, srcs), "-o", str(exe), "-lm"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise TunerigError(f"host build of the kernel check failed:\n{r.stderr[-4000:]}")
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    return _parse(out.stdout)[0]


def run_board(board_name: str, work: Path, timeout_s: float = 300.0) -> tuple[dict, dict]:
    board = _board(board_name)
    if board.core not in CPU_FLAGS or not getattr(board, "qemu_machine", None):
        raise TunerigError(f"board '{board_name}' is not an emulated board with a supported core")
    work.mkdir(parents=True, exist_ok=True)
    srcs, incs = kernel_sources(None)
    from hil.build import build_semihosted
    elf, _ = build_semihosted(board, work / f"tr_nn_kernel_check_{board_name}.elf", [CHECK_SOURCE, *srcs],
                              cpu_flags=CPU_FLAGS[board.core], includes=incs,
                              cflags=("-O2", "-ffp-contract=off", f"-DTR_NN_CHECK_CLOCK_HZ={board.clock_hz}u"))
    from hil.qemu import run_semihosted
    out = run_semihosted(board, elf, cwd=work, timeout_s=timeout_s, what="kernel check")
    return _parse((out.stdout + out.stderr).decode(errors="replace"))   # SYS_WRITE0 goes to QEMU's stderr


def check_kernels(boards=BOARDS, work=None) -> list[KernelCheck]:
    """Host reference vs each board; see the module docstring."""
    work = Path(work or REPO / "build" / "nn_kernel_check").resolve()
    ref = run_host_reference(work)
    results = []
    for b in boards:
        got, costs = run_board(b, work / b)
        results.append(KernelCheck(b, ref, got, costs))
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--board", action="append", help=f"emulated board (default: {', '.join(BOARDS)})")
    ap.add_argument("--work", type=Path, help="build directory (default build/nn_kernel_check)")
    args = ap.parse_args(argv)
    ok = True
    for res in check_kernels(args.board or BOARDS, args.work):
        bad = res.mismatches
        ok &= not bad
        costs = ", ".join(f"{k} {v:g}" for k, v in res.costs.items())
        print(f"{res.board}: {'bit-exact with the portable path' if not bad else 'MISMATCH in ' + ', '.join(bad)}"
              f" ({sum(len(v) for v in res.reference.values())} hash groups); instructions: {costs}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
