"""Cost of the whole fixed-point PercepNet pipeline (front end + int8 network) per 10 ms hop on the
emulated Cortex-M4 (mps2-an386) and Cortex-M55/Helium (mps3-an547) boards, instructions under QEMU
-icount shift=0 (SysTick), split front end / network; flash and static RAM from arm-none-eabi-size;
the board output checked bit-exact against the host build; tflite-micro's arena for the network.

    python bench/bench_pn_pipeline.py [--model STEM] [--seconds 3] [--boards mps2-an386,mps3-an547] [--json FILE]

Targets (issue 6): whole pipeline <= 1.0 M instructions per frame, static RAM <= 32 KB, flash <= 300 KB.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

TARGET_INSTR, TARGET_RAM, TARGET_FLASH = 1_000_000, 32 * 1024, 300 * 1024


def test_signal(seconds: float, fs: int, peak_dbfs: float = -6.0):
    import numpy as np

    from designer.signals import coloured_noise, speech_like
    s = speech_like(seconds, fs, seed=11)
    n = coloured_noise(seconds, fs, seed=12)
    x = s + n * np.sqrt(np.mean(s ** 2) / np.mean(n ** 2)) * 10 ** (-5 / 20)
    return np.round(x / np.max(np.abs(x)) * 10 ** (peak_dbfs / 20) * 32767).astype(np.int16)


def main(argv=None) -> int:
    import numpy as np
    from tqdm import tqdm

    from codegen.percepnet.board import build_pipeline_elf, run_pipeline_elf
    from codegen.percepnet.host import build_host, run_exe
    from designer.percepnet.engine import SHIPPED_STEM, PercepNetModel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(SHIPPED_STEM))
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--peak-dbfs", type=float, default=-30.0,
                    help="input level: quiet input is the costly case (the pitch search's 1e-9 L term matters)")
    ap.add_argument("--boards", default="mps2-an386,mps3-an547")
    ap.add_argument("--build-dir", default=str(REPO / "build" / "bench_pn"))
    ap.add_argument("--json")
    args = ap.parse_args(argv)

    m = PercepNetModel(args.model)
    hop = m.cfg.hop_len
    x = test_signal(args.seconds, m.cfg.sample_rate_hz, args.peak_dbfs)
    x = np.concatenate([x, np.zeros((-len(x)) % hop, np.int16)])
    y_host = run_exe(build_host(args.model), x)
    macs = int(m.meta.get("macs_per_frame", 0))
    res = {"model": Path(args.model).name, "hop_samples": hop, "seconds": len(x) / m.cfg.sample_rate_hz,
           "input_peak_dbfs": args.peak_dbfs,
           "macs_per_frame": macs, "boards": {}}
    for board in tqdm(args.boards.split(","), desc="boards"):
        elf, sizes = build_pipeline_elf(args.model, board, Path(args.build_dir) / board)
        run = run_pipeline_elf(elf, board, x, hop)
        front = run.instr_per_hop - run.net_instr_per_hop
        res["boards"][board] = {
            "instr_per_frame": round(run.instr_per_hop), "front_end_instr_per_frame": round(front),
            "network_instr_per_frame": round(run.net_instr_per_hop),
            "network_instr_per_mac": round(run.net_instr_per_hop / macs, 3) if macs else None,
            "stages_instr_per_frame": {k: round(v) for k, v in run.stages.items()},
            "hops": run.hops, "bit_exact_with_host": bool(np.array_equal(run.y, y_host)),
            "flash_bytes": sizes["flash"], "ram_static_bytes": sizes["ram_static"],
            "stack_reserved_bytes": sizes["stack_reserved"], "stack_used_bytes": run.sizes["stack_used"],
            "sections": sizes["sections"],
            "meets": {"instr": run.instr_per_hop <= TARGET_INSTR, "ram": sizes["ram_static"] <= TARGET_RAM,
                      "flash": sizes["flash"] <= TARGET_FLASH}}
    try:
        from bench_nn import tflm_arena
        res["tflm_arena_bytes"] = tflm_arena(m.tflite_path.read_bytes())
    except Exception as exc:            # tflite-micro missing: report, do not fail the bench
        res["tflm_arena_bytes"] = f"unavailable ({exc})"
    plan = json.loads((Path(args.build_dir) / args.boards.split(",")[0] / "src" / "net" / "plan.json").read_text())
    res["network_arena_bytes"] = plan["arena_bytes"]
    res["network_state_bytes"] = plan["state_bytes"]
    print(f"{'board':<12} {'instr/frame':>11} {'front end':>10} {'network':>10} {'instr/MAC':>9} "
          f"{'flash':>8} {'RAM':>7} {'stack':>6} {'bit-exact':>9}")
    for b, r in res["boards"].items():
        print(f"{b:<12} {r['instr_per_frame']:>11,} {r['front_end_instr_per_frame']:>10,} "
              f"{r['network_instr_per_frame']:>10,} {r['network_instr_per_mac'] or 0:>9.3f} "
              f"{r['flash_bytes']:>8,} {r['ram_static_bytes']:>7,} {r['stack_used_bytes']:>6,} "
              f"{str(r['bit_exact_with_host']):>9}")
    for b, r in res["boards"].items():
        print(f"{b} by stage: " + ", ".join(f"{k} {v:,}" for k, v in r["stages_instr_per_frame"].items()))
    print(f"network arena {res['network_arena_bytes']} B + state {res['network_state_bytes']} B; "
          f"tflite-micro arena {res['tflm_arena_bytes']}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
