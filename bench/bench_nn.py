"""Cost of generated int8 networks: MACs, memory, and instructions on the emulated boards.

For each model: MACs per invocation counted from the graph; our static arena, state and constants
from the generation-time plan; tflite-micro's arena for the same model (its RecordingMicroAllocator
report: total, and head = activation tensors); flash and static RAM of the bare-metal ELF from
arm-none-eabi-size; instructions per invocation and per MAC under QEMU -icount shift=0 on the
Cortex-M4 (mps2-an386) and Cortex-M55/Helium (mps3-an547) boards.

    python bench/bench_nn.py [--model X.tflite|NAME ...] [--frames 100] [--json out/bench_nn.json] [--profile]

--profile adds where the instructions of one frame go, per function, on each board (QEMU run one
instruction per translation block with its execution log: the same count as -icount, attributed
to the symbol of each instruction's address; start-up and the runner's own code are listed too).

--model takes a .tflite file or the name of a built-in network (percepnet_size_pc, gru_pc, ...).

Without --model it benchmarks the test networks plus a PercepNet-sized GRU (built with TF, cached
under build/test_nn_models).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BENCH_SPECS = {
    # about the size FIELD_NOTES §1.3 gives for a microcontroller PercepNet: 70 features, two GRUs
    "percepnet_size_pc": {"kind": "gru", "features": 70, "hidden": [128, 96], "outputs": 68, "per_channel": True,
                          "concat": True, "relu_head": 96},
}
BOARDS = ("mps2-an386", "mps3-an547")


def tflm_arena(model_bytes: bytes) -> dict:
    """tflite-micro's arena use for the model (parsed from print_allocations on fd 2)."""
    from tflite_micro.python.tflite_micro import runtime
    it = runtime.Interpreter.from_bytes(model_bytes, arena_size=max(len(model_bytes) * 10, 1 << 16))
    it.invoke()
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            it.print_allocations()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode(errors="replace")
    vals = {k: int(v) for k, v in re.findall(r"Arena allocation (\w+) (\d+) bytes", text)}
    return {"total": vals.get("total"), "head": vals.get("head"), "tail": vals.get("tail")}


def profile_frame(elf: Path, board_name: str, cm, frame, work: Path) -> dict:
    """Instructions per function for one invocation (plus the runner around it), from QEMU's
    -d exec log with one instruction per translation block (-singlestep)."""
    import collections
    import shutil
    import subprocess
    import numpy as np
    from codegen.nn.board import _board
    work.mkdir(parents=True, exist_ok=True)
    blob = b"".join(np.ascontiguousarray(x, dtype=np.float32 if sp["dtype"] == "float32" else np.int8).tobytes()
                    for x, sp in zip(frame, cm.inputs))
    (work / "nn_in.bin").write_bytes(blob)
    log = work / "exec.log"
    cmd = [shutil.which("qemu-system-arm"), "-M", _board(board_name).qemu_machine, "-kernel", str(elf.resolve()),
           "-nographic", "-monitor", "none", "-serial", "null", "-semihosting-config", "enable=on,target=native",
           "-icount", "shift=0", "-singlestep", "-d", "exec,nochain", "-D", str(log)]
    subprocess.run(cmd, cwd=work, capture_output=True, timeout=300, check=True)
    counts = collections.Counter()
    with open(log, errors="replace") as f:
        for line in f:
            if line.startswith("Trace"):
                counts[line.rsplit(None, 1)[-1]] += 1
    log.unlink()
    return dict(counts.most_common())


def bench_model(path: Path, frames: int, work: Path, profile: bool = False) -> dict:
    from codegen.nn.board import build_board_elf, run_board_elf
    from codegen.nn.compile import compile_model
    from codegen.nn.verify import compare, make_frames, run_tflm
    cm = compile_model(path, work / "gen")
    fr = make_frames(cm, frames)
    ref = run_tflm(path.read_bytes(), cm, fr)
    row = {"model": path.name, "macs": cm.macs, "weights_bytes": cm.weight_bytes, "arena_bytes": cm.arena_bytes,
           "arena_no_reuse_bytes": cm.plan["unplanned_bytes"], "state_bytes": cm.state_bytes,
           "tflite_bytes": path.stat().st_size, "tflm_arena": tflm_arena(path.read_bytes())}
    for b in BOARDS:
        elf, sizes = build_board_elf(cm, b, work / b)
        run = run_board_elf(elf, b, cm, fr)
        rep = compare(cm, run.outputs, ref, f"board:{b}")
        row[b] = {"instructions_per_invoke": round(run.instructions_per_invoke),
                  "instructions_per_mac": round(run.instructions_per_invoke / cm.macs, 3),
                  "flash_bytes": sizes["flash"], "ram_static_bytes": sizes["ram_static"],
                  "bit_exact_frames": frames if rep.bit_exact else 0, "mismatches": rep.mismatches}
        if profile:
            row[b]["profile"] = profile_frame(elf, b, cm, fr[0], work / b / "profile")
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", help=".tflite file, or a built-in network name: "
                    + ", ".join(BENCH_SPECS) + " or a test network (codegen/nn/models.py)")
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--work", type=Path, default=REPO / "build" / "bench_nn", help="build directory")
    ap.add_argument("--profile", action="store_true", help="instructions per function for one frame")
    args = ap.parse_args(argv)
    from tqdm import tqdm
    from codegen.nn import models
    models.MODEL_SPECS.update(BENCH_SPECS)
    cache = REPO / "build" / "test_nn_models"
    if args.model:
        paths = []
        for m in args.model:
            if Path(m).is_file() or m not in models.MODEL_SPECS:
                paths.append(Path(m))      # a missing file is reported by the reader, with its name
            else:
                paths.append(models.cached_model(m, cache))
    else:
        paths = [models.cached_model(n, cache) for n in models.MODEL_SPECS]
    work = args.work.resolve()   # QEMU runs in the build directory: paths must not be relative
    rows = [bench_model(p, args.frames, work / p.stem, args.profile) for p in tqdm(paths, desc="bench nn")]
    hdr = (f"{'model':34s} {'MACs':>7s} {'weights':>8s} {'arena':>6s} {'TFLM arena':>10s} "
           + " ".join(f"{b + ' instr/MAC':>22s} {'flash':>7s} {'RAM':>6s}" for b in BOARDS))
    print(hdr)
    for r in rows:
        print(f"{r['model'][:34]:34s} {r['macs']:7d} {r['weights_bytes']:8d} {r['arena_bytes']:6d} "
              f"{r['tflm_arena']['total'] or 0:10d} "
              + " ".join(f"{r[b]['instructions_per_mac']:22.3f} {r[b]['flash_bytes']:7d} {r[b]['ram_static_bytes']:6d}"
                         for b in BOARDS))
    if args.profile:
        for r in rows:
            for b in BOARDS:
                prof = r[b]["profile"]
                total = sum(prof.values())
                print(f"\n{r['model']} on {b}: {total} instructions in the run, per function:")
                for name, n in list(prof.items())[:14]:
                    print(f"  {n:8d}  {100.0 * n / total:5.1f} %  {name}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1))
    return 0 if all(r[b]["mismatches"] == 0 for r in rows for b in BOARDS) else 1


if __name__ == "__main__":
    sys.exit(main())
