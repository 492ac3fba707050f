"""Putting firmware on a board. Emulated boards need no flashing (QEMU loads the ELF at start, see
hil/qemu.py); real boards are programmed through pyOCD's Python API (CMSIS-DAP / ST-LINK probes).
The STM32F446 / STM32F746 targets come from CMSIS packs: `pyocd pack install stm32f446re`."""
from __future__ import annotations

from pathlib import Path

from designer.errors import TunerigError
from hil.boards import Board, load_board

try:   # pyOCD is only needed for real boards
    from pyocd.core.helpers import ConnectHelper
    from pyocd.flash.file_programmer import FileProgrammer
except ImportError:  # pragma: no cover - reported when used
    ConnectHelper = FileProgrammer = None


def flash(board: Board | str, elf, *, probe_uid: str | None = None) -> str:
    """Program `elf` into a real board and reset it. Returns a one-line summary."""
    board = load_board(board) if isinstance(board, str) else board
    elf = Path(elf)
    if not elf.is_file():
        raise TunerigError(f"{elf}: no such firmware ELF")
    if board.flash_method == "qemu":
        raise TunerigError(f"board '{board.name}' is emulated: nothing to flash; `tunerig board start {board.name} {elf}` "
                           "runs the ELF in QEMU")
    if ConnectHelper is None:
        raise TunerigError("pyOCD is not installed (pip install pyocd==0.46.0)")
    try:
        session = ConnectHelper.session_with_chosen_probe(
            blocking=False, return_first=True, unique_id=probe_uid,
            options={"target_override": board.pyocd_target, "hide_programming_progress": True})
    except Exception as exc:
        raise TunerigError(f"pyOCD could not open a probe for target '{board.pyocd_target}': {exc}") from None
    if session is None:
        raise TunerigError(f"no debug probe found for board '{board.name}'"
                           f"{' with unique id ' + probe_uid if probe_uid else ''}: connect its ST-LINK / CMSIS-DAP "
                           "USB port (and check udev permissions)")
    try:
        with session:
            FileProgrammer(session).program(str(elf), file_format="elf")
            session.target.reset()
    except TunerigError:
        raise
    except Exception as exc:
        raise TunerigError(f"flashing {elf} to '{board.name}' (pyOCD target {board.pyocd_target}) failed: {exc}") from None
    return f"flashed {elf} to {board.name} via pyOCD ({board.pyocd_target})"
