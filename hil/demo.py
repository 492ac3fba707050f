"""The board part of `make demo`: build the firmware for a profile, start the emulated board, run the
HIL regression, write JUnit XML and the HTML report. Called by tunerig/demo.py."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def run_board_demo(profile_path, board: str, out_dir, *, speaker=None, duration_s: float = 0.25) -> dict:
    from designer.profile import load_profile
    from hil.build import build
    from hil.qemu import QemuBoard
    from hil.report import write_html, write_junit
    from hil.runner import default_vectors, instr_per_sample, run_hil
    from hil.session import BoardSession

    out = Path(out_dir)
    profile = load_profile(profile_path)
    fw = build(board, profile, out / "build" / board)
    with QemuBoard(board, fw.elf) as q, BoardSession(q.url) as session:
        rep = run_hil(session, board, profile, vectors=default_vectors(profile, duration_s), speaker=speaker,
                      expected_build_id=fw.build_id)
    junit = write_junit(rep, out / "junit.xml")
    html = write_html(rep, out / "report")
    ips = np.concatenate([instr_per_sample(rep.board, rep.hello, v.result.cost_ticks, v.result.block_len)
                          for v in rep.vectors]) if rep.vectors else np.zeros(1)
    samples = sum(v.x_q15.size for v in rep.vectors)
    seconds = sum(v.result.stats.duration_s for v in rep.vectors)
    for c in rep.failures:
        print(f"HIL FAIL {c.check} [{c.vector}]: {c.message}")
    print(f"HIL {board}: {'PASS' if rep.passed else 'FAIL'} ({len(rep.checks) - len(rep.failures)}/{len(rep.checks)} "
          f"checks), report {html}")
    return {
        "board": board, "passed": rep.passed, "checks": len(rep.checks), "failed": len(rep.failures),
        "junit": str(junit), "report": str(html), "elf": str(fw.elf), "build_id": fw.build_id,
        "flash_bytes": fw.flash_bytes, "ram_bytes": fw.ram_bytes,
        "instr_per_sample_median": round(float(np.median(ips)), 1), "instr_per_sample_max": round(float(ips.max()), 1),
        "stream_samples_per_s": round(samples / max(seconds, 1e-9)),
    }
