"""Board definitions: one folder per board under boards/ with board.toml and memory.ld.

`load_board(name)` validates the TOML and returns a `Board`; every problem is an InputError that
names the file and field. Emulated boards have a [qemu] table; real boards a pyOCD target.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from designer.errors import InputError

BOARDS_DIR = Path(__file__).resolve().parent.parent / "boards"
DEFAULT_BOARD = "mps2-an386"

CORES = ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
STARTUPS = {"cortex-m4": "armv7m", "cortex-m7": "armv7m", "cortex-m33": "armv8m", "cortex-m55": "armv8m"}
UART_KINDS = ("cmsdk", "stm32-usart-v1", "stm32-usart-v2")
COST_COUNTERS = ("systick", "dwt")
FLASH_METHODS = ("qemu", "pyocd")


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    directory: Path
    core: str
    startup: str
    clock_hz: int
    fpu: str | None
    dsp: bool
    mve: bool
    code_origin: int
    code_length: int
    ram_origin: int
    ram_length: int
    uart_kind: str
    uart_base: int
    uart_baud: int
    uart_rx_irq: int                  # device interrupt number of the UART's receive interrupt
    cost_counter: str
    flash_method: str
    qemu_machine: str | None = None
    pyocd_target: str | None = None
    clock_enables: tuple = field(default_factory=tuple)   # ((register address, bit), ...)
    uart_pins: tuple = field(default_factory=tuple)       # ((gpio base, pin, alternate function), ...)
    iwdg_base: int | None = None          # STM32 independent watchdog (real boards), None: software only
    reset_flags_reg: int | None = None    # RCC_CSR on STM32

    @property
    def emulated(self) -> bool:
        return self.qemu_machine is not None

    @property
    def instructions_per_tick(self) -> float | None:
        """Under QEMU -icount shift=0 a SysTick tick is 1e9/clock_hz instructions; None for cycles."""
        return 1e9 / self.clock_hz if self.cost_counter == "systick" else None


def parse_board_engine(engine: str, field: str = "--engine") -> tuple[str, str | None]:
    """'board:NAME' -> (NAME, None): build and emulate; 'board:NAME@URL' -> (NAME, URL): attach to a
    running board at a serial URL or port (e.g. /dev/ttyACM0, socket://host:port)."""
    kind, _, spec = engine.partition(":")
    name, _, url = spec.partition("@")
    if kind != "board" or not name:
        raise InputError(f"engine {engine!r} is not of the form board:NAME[@URL]", field=field)
    return name, url or None


def board_names() -> list[str]:
    return sorted(p.parent.name for p in BOARDS_DIR.glob("*/board.toml"))


def emulated_board_names() -> list[str]:
    return [n for n in board_names() if load_board(n).emulated]


def _get(table: dict, key: str, kind, path: Path, prefix: str, choices=None, default=...):
    name = f"{prefix}{key}"
    if key not in table:
        if default is not ...:
            return default
        raise InputError("missing", file=path, field=name)
    value = table[key]
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise InputError(f"expected {getattr(kind, '__name__', kind)}, got {value!r}", file=path, field=name)
    if choices is not None and value not in choices:
        raise InputError(f"'{value}' is not one of {', '.join(map(str, choices))}", file=path, field=name)
    return value


def _rx_irq(uart: dict, path: Path) -> int:
    irq = _get(uart, "rx_irq", int, path, "uart.")
    if not 0 <= irq < 96:
        raise InputError(f"interrupt number {irq} is outside 0..95 (the firmware's vector tables)", file=path,
                         field="uart.rx_irq")
    return irq


def load_board(name: str, boards_dir: Path | None = None) -> Board:
    """Read and check boards/<name>/board.toml."""
    root = Path(boards_dir) if boards_dir else BOARDS_DIR
    directory = root / name
    path = directory / "board.toml"
    if not path.is_file():
        raise InputError(f"unknown board '{name}' (known: {', '.join(board_names())})", file=path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({exc})", file=path) from None
    if not (directory / "memory.ld").is_file():
        raise InputError("linker fragment memory.ld is missing next to board.toml", file=path)
    core = _get(data, "core", str, path, "", CORES)
    features = _get(data, "features", dict, path, "")
    memory = _get(data, "memory", dict, path, "")
    uart = _get(data, "uart", dict, path, "")
    cost = _get(data, "cost", dict, path, "")
    flash = _get(data, "flash", dict, path, "")
    regions = {}
    for region in ("code", "ram"):
        r = _get(memory, region, dict, path, "memory.")
        regions[region] = (_get(r, "origin", int, path, f"memory.{region}."), _get(r, "length", int, path, f"memory.{region}."))
        if regions[region][1] <= 0:
            raise InputError("length must be positive (bytes)", file=path, field=f"memory.{region}.length")
    clock_hz = _get(data, "clock_hz", int, path, "")
    if not 1_000_000 <= clock_hz <= 1_000_000_000:
        raise InputError(f"{clock_hz} Hz is not a plausible core clock (1 MHz .. 1 GHz)", file=path, field="clock_hz")
    startup = _get(data, "startup", str, path, "", ("armv7m", "armv8m"))
    if startup != STARTUPS[core]:
        raise InputError(f"{core} needs startup '{STARTUPS[core]}'", file=path, field="startup")
    method = _get(flash, "method", str, path, "flash.", FLASH_METHODS)
    qemu = data.get("qemu")
    machine = _get(qemu, "machine", str, path, "qemu.") if qemu is not None else None
    if method == "qemu" and machine is None:
        raise InputError("flash method 'qemu' needs a [qemu] machine", file=path, field="qemu.machine")
    target = _get(flash, "target", str, path, "flash.") if method == "pyocd" else None
    enables = tuple(
        (_get(e, "reg", int, path, f"uart.clock_enable[{i}]."), _get(e, "bit", int, path, f"uart.clock_enable[{i}]."))
        for i, e in enumerate(uart.get("clock_enable", []))
    )
    pins = tuple(
        (_get(p, "gpio", int, path, f"uart.pins[{i}]."), _get(p, "pin", int, path, f"uart.pins[{i}]."),
         _get(p, "af", int, path, f"uart.pins[{i}]."))
        for i, p in enumerate(uart.get("pins", []))
    )
    wdg = data.get("watchdog")
    iwdg = flags = None
    if wdg is not None:
        _get(wdg, "kind", str, path, "watchdog.", ("stm32-iwdg",))
        iwdg = _get(wdg, "base", int, path, "watchdog.")
        flags = _get(wdg, "reset_flags", int, path, "watchdog.")
    return Board(
        name=_get(data, "name", str, path, "", (name,)),
        description=_get(data, "description", str, path, ""),
        directory=directory,
        core=core,
        startup=startup,
        clock_hz=clock_hz,
        fpu=features.get("fpu"),
        dsp=bool(features.get("dsp", False)),
        mve=bool(features.get("mve", False)),
        code_origin=regions["code"][0],
        code_length=regions["code"][1],
        ram_origin=regions["ram"][0],
        ram_length=regions["ram"][1],
        uart_kind=_get(uart, "kind", str, path, "uart.", UART_KINDS),
        uart_base=_get(uart, "base", int, path, "uart."),
        uart_baud=_get(uart, "baud", int, path, "uart."),
        uart_rx_irq=_rx_irq(uart, path),
        cost_counter=_get(cost, "counter", str, path, "cost.", COST_COUNTERS),
        flash_method=method,
        qemu_machine=machine,
        pyocd_target=target,
        clock_enables=enables,
        uart_pins=pins,
        iwdg_base=iwdg,
        reset_flags_reg=flags,
    )
