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


def run_capture_demo(board: str, out_dir, *, model=None, seconds: float = 6.0, snr_db: float = 10.0,
                     seed: int = 4) -> dict:
    """The capture path of `make demo`: noisy test speech (held-out voices and noise types) through
    the PercepNet pipeline on the board, checked bit for bit against the same C on the host, scored
    with PESQ against the clean speech next to the reference pipeline (float front end + tflite-micro);
    writes the WAVs and a spectrogram PNG."""
    from codegen.fixedpoint import float_to_q15, q15_to_float
    from codegen.percepnet.host import run_c_host
    from designer.audio import write_wav
    from designer.percepnet.cli import spectrogram_png
    from designer.percepnet.data import TEST_NOISES, SpeechSource, make_mixture
    from designer.percepnet.engine import SHIPPED_STEM, PercepNetModel
    from designer.percepnet.metrics import pesq_wb
    from hil.build import elf_sizes
    from hil.capture import enhance_on_board

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    m = PercepNetModel(model or SHIPPED_STEM)
    fs = m.cfg.sample_rate_hz
    rng = np.random.default_rng(seed)
    clean, noise, info = make_mixture(SpeechSource("test", fs, rng), TEST_NOISES, fs, seconds, rng, rirs=None,
                                      snr_db=snr_db)
    xq = float_to_q15(clean + noise).astype(np.int16)
    y_board = enhance_on_board(board, m.json_path, xq, build_dir=out / "build" / board)
    y_host = run_c_host(m.json_path, xq)
    y_ref = m.enhance(q15_to_float(xq), "tflm")
    bit_exact = bool(np.array_equal(y_board, y_host))
    noisy = q15_to_float(xq)
    wavs = {"noisy": noisy, "clean": clean, f"enhanced_{board}": q15_to_float(y_board), "enhanced_reference": y_ref}
    for name, sig in wavs.items():
        write_wav(out / f"{name}.wav", sig, fs, "int16")
    png = out / "spectrograms.png"
    spectrogram_png(png, fs, [("noisy", noisy), (f"enhanced on {board} (C, int8)", q15_to_float(y_board)),
                               ("clean", clean)])
    score = {k: round(pesq_wb(clean, v, fs), 3) for k, v in wavs.items() if k != "clean"}
    fw = elf_sizes(out / "build" / board / "firmware.elf")
    print(f"capture {board}: {'bit-exact with' if bit_exact else 'DIFFERS from'} the host C; PESQ noisy "
          f"{score['noisy']:.2f} -> board {score[f'enhanced_{board}']:.2f} (reference {score['enhanced_reference']:.2f}), "
          f"{info['noise']} noise at {snr_db:g} dB SNR")
    return {"board": board, "passed": bit_exact, "bit_exact_with_c_host": bit_exact, "noise": info["noise"],
            "snr_db": snr_db, "seconds": seconds, "pesq": score, "spectrograms": str(png),
            "firmware_flash_bytes": fw["text"] + fw["data"], "firmware_ram_bytes": fw["data"] + fw["bss"]}
