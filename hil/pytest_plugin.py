"""pytest plugin: `--board NAME` (default mps2-an386), `--board-url URL` (attach to a running board,
flash nothing), `--board-profile PROFILE` (firmware built around that profile's generated MBDP;
without it the labelled stand-in module from hil/standin.py is used).

The `board` fixture yields a `BoardHandle` with a connected `session`; emulated boards are built and
started in QEMU once per test session. Activated from tests/conftest.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from hil.boards import DEFAULT_BOARD, Board, load_board


def pytest_addoption(parser):
    group = parser.getgroup("tunerig-hil")
    group.addoption("--board", default=DEFAULT_BOARD, help="board to run HIL tests on (boards/<name>)")
    group.addoption("--board-url", default=None, help="serial URL of an already running board (flashes nothing)")
    group.addoption("--board-profile", default=None, help="MBDP profile TOML to build the firmware from")


@dataclass
class BoardHandle:
    board: Board
    url: str
    session: object           # hil.session.BoardSession
    qemu: object | None       # hil.qemu.QemuBoard when emulated here
    elf: object | None
    profile: object | None    # the loaded --board-profile; None: the stand-in DSP (or unknown, attached)


@pytest.fixture(scope="session")
def board(request, tmp_path_factory):
    from hil.build import build, build_firmware
    from hil.qemu import QemuBoard
    from hil.session import BoardSession
    from hil.standin import write_standin_mbdp

    name = request.config.getoption("--board")
    url = request.config.getoption("--board-url")
    profile = request.config.getoption("--board-profile")
    b = load_board(name)
    qemu = elf = loaded = None
    if profile:
        from designer.profile import load_profile
        loaded = load_profile(profile)
    if url is None:
        if not b.emulated:
            pytest.skip(f"board '{name}' is real hardware: pass --board-url /dev/ttyACM0 (after `tunerig flash`)")
        out = tmp_path_factory.mktemp(f"fw-{name}")
        if profile:
            fw = build(name, loaded, out)
        else:
            fw = build_firmware(b, write_standin_mbdp(out / "standin"), out)
        elf = fw.elf
        qemu = QemuBoard(b, elf)
        url = qemu.url
    session = BoardSession(url, baudrate=b.uart_baud)
    try:
        yield BoardHandle(b, url, session, qemu, elf, profile=loaded)
    finally:
        session.close()
        if qemu is not None:
            qemu.stop()
