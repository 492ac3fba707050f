"""Subcommands of the HIL stage: build, flash, board start, hil run."""
from __future__ import annotations

import signal
import threading
from pathlib import Path

from designer.errors import TunerigError


def _build(args) -> int:
    from hil.build import build
    fw = build(args.board, args.profile, args.out)
    print(f"{fw.elf}  board {fw.board}  build {fw.build_id}  flash {fw.flash_bytes} B  RAM {fw.ram_bytes} B")
    return 0


def _flash(args) -> int:
    from hil.flash import flash
    print(flash(args.board, args.elf, probe_uid=args.probe))
    return 0


def _board_start(args) -> int:
    from hil.qemu import QemuBoard
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with QemuBoard(args.board, args.elf, icount=not args.no_icount, port=args.port) as q:
        print(q.url, flush=True)
        print(f"board {q.board.name} running {args.elf} in QEMU; Ctrl-C stops it", flush=True)
        try:
            while not stop.wait(0.5):
                if q.proc.poll() is not None:
                    raise TunerigError(f"QEMU exited with status {q.proc.returncode}:\n{q.log_tail()}")
        except KeyboardInterrupt:
            pass
    return 0


def _parse_faults(spec: str | None):
    """'drop=1e-4,corrupt=1e-4,duplicate=1e-4,delay=0.05' -> Faults (both directions)."""
    from hil.faultproxy import Faults
    if not spec:
        return None
    kw = {}
    for item in spec.split(","):
        key, _, value = item.partition("=")
        if key not in ("drop", "corrupt", "duplicate", "delay", "delay_s"):
            raise TunerigError(f"--faults: unknown fault '{key}' (drop, corrupt, duplicate, delay, delay_s)")
        try:
            kw[key] = float(value)
        except ValueError:
            raise TunerigError(f"--faults: '{item}' needs a number, e.g. {key}=1e-4") from None
    return Faults(**kw)


def _hil_run(args) -> int:
    from designer.profile import load_profile
    from hil.boards import load_board
    from hil.build import build
    from hil.faultproxy import FaultProxy
    from hil.qemu import QemuBoard
    from hil.report import write_html, write_junit
    from hil.runner import default_vectors, run_hil
    from hil.session import BoardSession

    board = load_board(args.board)
    profile = load_profile(args.profile)
    speaker = None
    if args.speaker:
        from designer.speaker import load_speaker
        speaker = load_speaker(args.speaker)
    faults = _parse_faults(args.faults)
    qemu = proxy = None
    build_id = None
    try:
        url = args.port
        if url is None:
            if not board.emulated:
                raise TunerigError(f"board '{board.name}' is real hardware: flash it (`tunerig flash`) and pass --port")
            fw = build(board.name, profile, Path(args.build_dir) / board.name)
            build_id = fw.build_id
            qemu = QemuBoard(board, fw.elf)
            url = qemu.url
        if faults is not None:
            proxy = FaultProxy(url, to_board=faults, to_host=faults, seed=args.seed)
            url = proxy.url
        with BoardSession(url, baudrate=board.uart_baud) as session:
            rep = run_hil(session, board, profile, vectors=default_vectors(profile, args.duration_s, args.seed),
                          speaker=speaker, block_len=args.block, max_instr_per_sample=args.max_instr_per_sample,
                          expected_build_id=build_id)
    finally:
        if proxy is not None:
            proxy.close()
        if qemu is not None:
            qemu.stop()
    for c in rep.checks:
        if c.passed is False:
            print(f"FAIL {c.check} [{c.vector}]: {c.message}")
    cost = [c for c in rep.checks if c.check == "cost"]
    if cost:
        print(f"cost: {cost[0].message}")
    if args.junit:
        print(f"JUnit XML: {write_junit(rep, args.junit)}")
    if args.report:
        print(f"HTML report: {write_html(rep, args.report)}")
    n_fail = len(rep.failures)
    print(f"HIL {board.name}: {len(rep.checks) - n_fail}/{len(rep.checks)} checks passed in {rep.duration_s:.1f} s"
          + ("" if rep.passed else f", {n_fail} FAILED"))
    return 0 if rep.passed else 1


def register(subparsers) -> None:
    """Add this stage's subcommands to the tunerig parser."""
    from hil.boards import DEFAULT_BOARD

    p = subparsers.add_parser("build", help="build the HIL firmware for a board and profile")
    p.add_argument("--board", default=DEFAULT_BOARD, help=f"board name (boards/<name>, default {DEFAULT_BOARD})")
    p.add_argument("--profile", required=True, help="MBDP profile TOML")
    p.add_argument("-o", "--out", required=True, help="output directory (ELF, build.json)")
    p.set_defaults(func=_build)

    p = subparsers.add_parser("flash", help="program a firmware ELF into a real board (pyOCD)")
    p.add_argument("--board", required=True)
    p.add_argument("elf")
    p.add_argument("--probe", default=None, help="debug probe unique id (default: the first found)")
    p.set_defaults(func=_flash)

    p = subparsers.add_parser("board", help="run emulated boards")
    bsub = p.add_subparsers(dest="board_command", required=True, metavar="ACTION")
    s = bsub.add_parser("start", help="start an ELF in QEMU, print its serial URL, run until stopped")
    s.add_argument("board")
    s.add_argument("elf")
    s.add_argument("--port", type=int, default=None, help="TCP port for the serial URL (default: a free one)")
    s.add_argument("--no-icount", action="store_true", help="run at host speed (cost counters then meaningless)")
    s.set_defaults(func=_board_start)

    p = subparsers.add_parser("hil", help="hardware-in-the-loop regression")
    hsub = p.add_subparsers(dest="hil_command", required=True, metavar="ACTION")
    r = hsub.add_parser("run", help="stream test vectors through a board and check the output")
    r.add_argument("--board", default=DEFAULT_BOARD)
    r.add_argument("--profile", required=True)
    r.add_argument("--port", default=None, help="serial URL of a running board (/dev/ttyACM0, socket://..): flash nothing")
    r.add_argument("--speaker", default=None, help="speaker TOML: adds rail and excursion checks")
    r.add_argument("--junit", default=None, help="write JUnit XML here")
    r.add_argument("--report", default=None, help="write an HTML report with plots into this directory")
    r.add_argument("--duration-s", type=float, default=0.25, help="length of each test vector (default 0.25 s)")
    r.add_argument("--block", type=int, default=128, help="samples per link block (default 128)")
    r.add_argument("--max-instr-per-sample", type=float, default=None, help="fail the cost check above this")
    r.add_argument("--faults", default=None, help="inject link faults, e.g. drop=1e-4,corrupt=1e-4,duplicate=1e-4,delay=0.05")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--build-dir", default="build/hil", help="where firmware is built when no --port is given")
    r.set_defaults(func=_hil_run)
