"""Emulated boards: start a firmware ELF in qemu-system-arm and hand back a serial URL.

The UART is a TCP server (`-serial tcp:127.0.0.1:PORT,server=on,wait=on,nodelay=on`): the guest
starts only when the harness connects, so its BOOT frame is never lost. `-icount shift=0` makes
virtual time count instructions (1 ns each), which is what the SysTick cost counter measures.
A QMP socket allows a reset from outside (the "board reset mid-stream" fault).
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from designer.errors import TunerigError
from hil.boards import Board, load_board


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QemuBoard:
    """A running emulated board. Use as a context manager; `url` is the serial URL."""

    def __init__(self, board: Board | str, elf, *, icount: bool = True, port: int | None = None):
        self.board = load_board(board) if isinstance(board, str) else board
        if not self.board.emulated:
            raise TunerigError(f"board '{self.board.name}' is real hardware (flash method {self.board.flash_method}); "
                               "only boards with a [qemu] machine can be emulated")
        self.elf = Path(elf)
        if not self.elf.is_file():
            raise TunerigError(f"{self.elf}: no such firmware ELF")
        qemu = shutil.which("qemu-system-arm")
        if qemu is None:
            raise TunerigError("qemu-system-arm not found on PATH: run `make setup`")
        self._tmp = tempfile.TemporaryDirectory(prefix="tunerig-qemu-")
        self.qmp_path = Path(self._tmp.name) / "qmp.sock"
        self.log_path = Path(self._tmp.name) / "qemu.log"
        # A free port can be taken by someone else before QEMU binds it: then try another one.
        for attempt in range(1 if port else 3):
            self.port = port or free_tcp_port()
            self.cmd = [
                qemu, "-M", self.board.qemu_machine, "-kernel", str(self.elf), "-nographic", "-monitor", "none",
                "-serial", f"tcp:127.0.0.1:{self.port},server=on,wait=on,nodelay=on",
                "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
            ] + (["-icount", "shift=0"] if icount else [])
            self._log = open(self.log_path, "wb")
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
            try:
                self._wait_listening()
                return
            except TunerigError:
                self._log.close()
                if "in use" not in self.log_tail() or attempt == 2 or port:
                    self._tmp.cleanup()
                    raise

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def _wait_listening(self, timeout_s: float = 10.0) -> None:
        """Wait until QEMU has its serial server up (it prints a notice before blocking on accept)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise TunerigError(f"qemu-system-arm exited with status {self.proc.returncode} for board "
                                   f"'{self.board.name}':\n{self.log_tail()}")
            if b"QEMU waiting for connection" in self.log_path.read_bytes():
                return
            time.sleep(0.02)
        raise TunerigError(f"qemu-system-arm did not open its serial port within {timeout_s} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _qmp(self, command: str) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5.0)
            s.connect(str(self.qmp_path))
            f = s.makefile("rwb")
            f.readline()                                        # greeting
            for cmd in ("qmp_capabilities", command):
                f.write(json.dumps({"execute": cmd}).encode() + b"\n")
                f.flush()
                while True:                                     # skip asynchronous events
                    reply = json.loads(f.readline())
                    if "return" in reply or "error" in reply:
                        break
                if "error" in reply:
                    raise TunerigError(f"QEMU refused '{cmd}': {reply['error']}")

    def reset(self) -> None:
        """Press the reset button: the core restarts the firmware (RAM state is lost)."""
        self._qmp("system_reset")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        self._tmp.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def run_semihosted(board: Board | str, elf, *, cwd, timeout_s: float = 300.0, what: str = "run",
                   stdio: bool = False) -> subprocess.CompletedProcess:
    """Run a measurement ELF (firmware/semihost/ start-up) on an emulated board until it exits.

    The program reads and writes its files in `cwd` through semihosting; `-icount shift=0` makes its
    SysTick count instructions. stdio=True routes semihosting console output to QEMU's stdout. Raises
    TunerigError naming the board if QEMU is missing, times out or exits with an error."""
    board = load_board(board) if isinstance(board, str) else board
    if not board.emulated:
        raise TunerigError(f"board '{board.name}' has no QEMU machine: measurement runs need an emulated board")
    qemu = shutil.which("qemu-system-arm")
    if qemu is None:
        raise TunerigError("qemu-system-arm not found on PATH: run `make setup`")
    semi = "enable=on,target=native" + (",chardev=semi" if stdio else "")
    cmd = [qemu, "-M", board.qemu_machine, "-kernel", str(Path(elf).resolve()), "-nographic", "-monitor", "none",
           "-serial", "null", "-icount", "shift=0", "-semihosting-config", semi]
    if stdio:
        cmd += ["-chardev", "stdio,id=semi"]
    try:
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise TunerigError(f"{what} on {board.name} ({board.qemu_machine}) did not finish in {timeout_s:g} s") from None
    if r.returncode != 0:
        raise TunerigError(f"{what} on {board.name} failed (QEMU exit {r.returncode}):\n"
                           + r.stdout.decode(errors="replace")[-2000:] + r.stderr.decode(errors="replace")[-2000:])
    return r
