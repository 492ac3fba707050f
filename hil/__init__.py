"""Hardware-in-the-loop: board definitions, firmware build, QEMU/pyOCD flashers, the framed serial
link, the HIL regression and its reports.

Public entry points: `render_on_board`, `hil.build.build`, `hil.qemu.QemuBoard`,
`hil.session.BoardSession`, `hil.runner.run_hil`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

BUILD_ROOT = Path("build") / "hil"


def stream_on_board(board_name: str, x_q15, url: str | None, build_elf, expected_hash: str, what: str, *,
                    block_len: int = 128, progress: bool = True) -> np.ndarray:
    """Stream q15 samples through a board's DSP; returns its raw q15 output (same length).

    url=None: build_elf() -> ELF path is called and the ELF runs in QEMU. With url: attach to a running
    board. Either way the board's HELLO must carry expected_hash (the profile or model the caller
    means, `what` names it in the error), so audio never goes through the wrong firmware.
    """
    from tqdm import tqdm

    from designer.errors import TunerigError
    from hil.boards import load_board
    from hil.qemu import QemuBoard
    from hil.session import BoardSession

    board = load_board(board_name)
    x = np.asarray(x_q15)
    qemu = None
    try:
        if url is None:
            if not board.emulated:
                raise TunerigError(f"board '{board_name}' is real hardware: give its serial port, "
                                   f"e.g. --engine board:{board_name}@/dev/ttyACM0")
            qemu = QemuBoard(board, build_elf())
            url = qemu.url
        with BoardSession(url, baudrate=board.uart_baud) as session:
            hello = session.hello()
            if hello.profile_hash != expected_hash:
                raise TunerigError(f"the board at {url} runs {hello.profile_hash[:16]}, not {what} "
                                   f"{expected_hash[:16]}: build and flash it first")
            with tqdm(total=-(-x.size // block_len), unit="block", desc=f"board {board_name}",
                      disable=not progress) as bar:
                return session.process(x, block_len, progress=bar).y_q15
    finally:
        if qemu is not None:
            qemu.stop()


def render_on_board(board_name: str, profile, x_q15, url: str | None = None, *, block_len: int = 128,
                    build_dir=None, progress: bool = True) -> np.ndarray:
    """Stream q15 samples through a board running `profile`'s MBDP; returns q15 output (same length).

    url=None: build the firmware (under build/hil/<board>/ unless build_dir) and run it in QEMU.
    With url: attach to a running board; its firmware must carry this profile (hash checked).
    """
    from hil.build import build

    out_dir = Path(build_dir) if build_dir else BUILD_ROOT / board_name
    return stream_on_board(board_name, x_q15, url, lambda: build(board_name, profile, out_dir).elf, profile.hash(),
                           f"profile '{profile.name}'", block_len=block_len, progress=progress)
