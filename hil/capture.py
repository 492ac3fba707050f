"""The capture path on a board: the PercepNet noise suppressor (network + fixed-point front end,
codegen.percepnet) built into the HIL firmware in place of the MBDP, and audio streamed through it.

    build_capture(board, model, out_dir)        generate the pipeline for the board's core + build
    stream_capture(board, model, x_q15)         raw board output, same length as x (delayed)
    enhance_on_board(board, model, x_q15)       time-aligned output (delay removed), like the
                                                host engines of `tunerig percepnet enhance`

The same framed link, session and QEMU runner as the MBDP path (hil.session, hil.qemu): only the
module linked into the firmware differs. The board's HELLO carries the model hash of the pipeline it
runs; it is checked against the generated header before any audio is sent.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from codegen.percepnet.generate import pipeline_define
from designer.errors import TunerigError
from hil import BUILD_ROOT, stream_on_board
from hil.boards import Board, load_board
from hil.build import FirmwareBuild, build_firmware

# The front end and the network keep their buffers in the instance or in static memory; the stack only
# holds the call chain of one hop. 8 KiB leaves room; the firmware's STATS reply reports the real use.
CAPTURE_STACK_BYTES = 8 * 1024


def _generate(board: Board, model_path, out_dir: Path) -> Path:
    try:
        from codegen.percepnet.generate import TARGETS, generate_pipeline
    except ImportError as exc:
        raise TunerigError(f"the PercepNet pipeline generator (codegen.percepnet) is not available: {exc}") from None
    if board.core not in TARGETS:
        raise TunerigError(f"board '{board.name}': no PercepNet target for core '{board.core}' "
                           f"(known: {', '.join(sorted(TARGETS))})")
    return Path(generate_pipeline(model_path, out_dir, target=board.core))


def build_capture(board_name: str, model_path, out_dir, pn_dir=None) -> tuple[FirmwareBuild, Path]:
    """Generate the PercepNet pipeline for the board's core (unless pn_dir holds it already) and
    build the capture firmware. Returns the build and the pipeline directory."""
    board = load_board(board_name)
    out_dir = Path(out_dir)
    pn_dir = Path(pn_dir) if pn_dir else _generate(board, model_path, out_dir / "percepnet")
    fw = build_firmware(board, pn_dir, out_dir, pipeline="percepnet", stack_bytes=CAPTURE_STACK_BYTES)
    return fw, pn_dir


def stream_capture(board_name: str, model_path, x_q15, url: str | None = None, *, block_len: int = 160,
                   build_dir=None, progress: bool = True, pn_dir=None) -> np.ndarray:
    """Stream q15 samples through the capture firmware; returns the board's raw q15 output (same
    length as x, lagging it by the pipeline's latency).

    url=None: build the firmware (under build/hil/capture/<board>/ unless build_dir) and run it in
    QEMU. With url: attach to a running board; its firmware must carry this model (hash checked).
    pn_dir: the already generated pipeline for this board's core (generated here when None).
    """
    board = load_board(board_name)
    out_dir = Path(build_dir) if build_dir else BUILD_ROOT / "capture" / board_name
    pn_dir = Path(pn_dir) if pn_dir else _generate(board, model_path, out_dir / "percepnet")
    return stream_on_board(board_name, x_q15, url, lambda: build_capture(board_name, model_path, out_dir, pn_dir)[0].elf,
                           pipeline_define(pn_dir, "TR_PN_MODEL_HASH"), f"model ({Path(model_path).name})",
                           block_len=block_len, progress=progress)


def enhance_on_board(board_name: str, model_path, x_q15, url: str | None = None, *, block_len: int = 160,
                     build_dir=None, progress: bool = True) -> np.ndarray:
    """Enhance x on the board; output time-aligned with x (the pipeline's latency removed), q15."""
    from codegen.fixedpoint import require_q15

    x = require_q15(x_q15, "capture input")
    board = load_board(board_name)
    out_dir = Path(build_dir) if build_dir else BUILD_ROOT / "capture" / board_name
    pn_dir = _generate(board, model_path, out_dir / "percepnet")
    latency = int(pipeline_define(pn_dir, "TR_PN_LATENCY_SAMPLES"))
    padded = np.concatenate([x, np.zeros(latency, np.int16)])
    y = stream_capture(board_name, model_path, padded, url, block_len=block_len, build_dir=out_dir,
                       progress=progress, pn_dir=pn_dir)
    return y[latency:latency + x.size]
