"""Firmware build: board definition + generated module -> ELF, through CMake.

`build(board, profile, out_dir)` is what `tunerig build` runs: generate the MBDP C for the board's
core (codegen.mbdp.generate_mbdp), write tr_board_config.h from board.toml, configure and build
firmware/ with the core's toolchain file, and report flash/RAM from arm-none-eabi-size.
The same firmware carries the capture path instead (pipeline="percepnet", a module written by
codegen.percepnet.generate_pipeline): hil/capture.py builds that one.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from designer.errors import TunerigError
from hil.boards import Board, load_board

FIRMWARE_DIR = Path(__file__).resolve().parent.parent / "firmware"


@dataclass(frozen=True)
class FirmwareBuild:
    board: str
    elf: Path
    build_id: str
    text: int
    data: int
    bss: int

    @property
    def flash_bytes(self) -> int:
        return self.text + self.data

    @property
    def ram_bytes(self) -> int:
        """Static RAM including the 4 KiB stack (.bss, .noinit and .stack all count as bss)."""
        return self.data + self.bss


def _require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise TunerigError(f"'{name}' not found on PATH: run `make setup` (installs gcc-arm-none-eabi, cmake, qemu-system-arm)")
    return path


def board_config_header(board: Board) -> str:
    """tr_board_config.h: the board.toml facts the C runtime needs, as macros."""
    lines = [
        f"/* Generated from boards/{board.name}/board.toml by hil/build.py. Do not edit. */",
        "#ifndef TR_BOARD_CONFIG_H", "#define TR_BOARD_CONFIG_H",
        f'#define TR_BOARD_NAME "{board.name}"',
        f"#define TR_CLOCK_HZ {board.clock_hz}u",
        f"#define TR_UART_BASE 0x{board.uart_base:08X}u",
        f"#define TR_UART_BAUD {board.uart_baud}u",
        f"#define TR_UART_RX_IRQ {board.uart_rx_irq}",
        f"#define TR_COST_DWT {1 if board.cost_counter == 'dwt' else 0}",
        f"#define TR_BOARD_N_CLOCK_ENABLES {len(board.clock_enables)}",
        "#define TR_BOARD_CLOCK_ENABLES {" + ", ".join(f"{{0x{r:08X}u, {b}u}}" for r, b in board.clock_enables) + "}",
        f"#define TR_BOARD_N_PINS {len(board.uart_pins)}",
        "#define TR_BOARD_PINS {" + ", ".join(f"{{0x{g:08X}u, {p}u, {a}u}}" for g, p, a in board.uart_pins) + "}",
    ]
    if board.iwdg_base is not None:
        lines += [f"#define TR_IWDG_BASE 0x{board.iwdg_base:08X}u", f"#define TR_RCC_CSR 0x{board.reset_flags_reg:08X}u"]
    lines += ["#endif", ""]
    return "\n".join(lines)


def _hash_tree(h, root: Path, patterns=("*.c", "*.h", "*.cmake", "*.ld", "*.txt", "*.toml")) -> None:
    for pattern in patterns:
        for p in sorted(root.rglob(pattern)):
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())


def compute_build_id(board: Board, module_dir: Path, pipeline: str = "mbdp", stack_bytes: int | None = None) -> str:
    """Content hash of everything that goes into the ELF (firmware, board, generated module, options)."""
    h = hashlib.sha256()
    h.update(f"{pipeline}:{stack_bytes}".encode())
    _hash_tree(h, FIRMWARE_DIR)
    _hash_tree(h, board.directory)
    _hash_tree(h, Path(module_dir))
    return h.hexdigest()[:16]


def elf_sizes(elf: Path) -> dict:
    """text/data/bss of an ELF (Berkeley format of arm-none-eabi-size)."""
    size = _require_tool("arm-none-eabi-size")
    out = subprocess.run([size, "-B", str(elf)], capture_output=True, text=True, check=True).stdout
    fields = out.splitlines()[1].split()
    return {"text": int(fields[0]), "data": int(fields[1]), "bss": int(fields[2])}


# pipeline -> (CMake variable naming the module directory, the module's CMake fragment)
PIPELINES = {"mbdp": ("TR_MBDP_DIR", "tr_mbdp.cmake"), "percepnet": ("TR_PN_DIR", "tr_pn.cmake")}


def elf_section_sizes(elf: Path) -> dict:
    """Section name -> size in bytes (SysV format of arm-none-eabi-size), for the measurement ELFs
    whose flash and RAM are reported section by section."""
    size = _require_tool("arm-none-eabi-size")
    out = subprocess.run([size, "-A", str(elf)], capture_output=True, text=True, check=True).stdout
    sec = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sec[parts[0]] = int(parts[1])
    return sec


def measured_sizes(elf: Path) -> dict:
    """Flash (vectors, code, constants, unwind table, initialised data), static RAM (.data + .bss) and
    the reserved stack of an ELF linked with firmware/ld/tunerig.ld; the same arithmetic as the
    Berkeley text + data / data + bss of elf_sizes, plus the per-section table."""
    sec = elf_section_sizes(elf)
    return {"flash": sum(sec.get(k, 0) for k in (".vectors", ".text", ".ARM.exidx", ".data")),
            "ram_static": sec.get(".data", 0) + sec.get(".bss", 0), "stack_reserved": sec.get(".stack", 0),
            "sections": sec}


SEMIHOST_DIR = FIRMWARE_DIR / "semihost"
MEASURE_LINK_SCRIPT = FIRMWARE_DIR / "ld" / "tunerig.ld"


def build_semihosted(board: Board | str, elf: Path, sources, *, cpu_flags, cflags=(), includes=(),
                     third_party=(), source_flags=None) -> tuple[Path, dict]:
    """Compile and link a measurement program for QEMU (run it with hil.qemu.run_semihosted).

    `sources` (code written here: -Wall -Wextra -Werror) and `third_party` (e.g. CMSIS-DSP: -w) are
    compiled one by one with cpu_flags + cflags, -ffunction-sections/-fdata-sections and the include
    directories; source_flags maps a source to extra flags of its own. The firmware's semihosting
    start-up is added, and the link uses firmware/ld/tunerig.ld with the board's memory.ld and
    --gc-sections. Returns (elf, {source: object file})."""
    from codegen.nn.host import WARN_FLAGS
    board = load_board(board) if isinstance(board, str) else board
    gcc = _require_tool("arm-none-eabi-gcc")
    elf = Path(elf)
    obj_dir = elf.parent / f"{elf.stem}.obj"
    obj_dir.mkdir(parents=True, exist_ok=True)
    ours = [*map(Path, sources), SEMIHOST_DIR / "tr_semihost_startup.c", SEMIHOST_DIR / "tr_semihost.c"]
    common = [*cpu_flags, *cflags, "-ffunction-sections", "-fdata-sections",
              *(f"-I{d}" for d in [*includes, SEMIHOST_DIR])]
    objs = {}
    for src in [*ours, *map(Path, third_party)]:
        obj = obj_dir / f"{len(objs):03d}_{src.stem}.o"
        warn = WARN_FLAGS if src in ours else ("-std=c99", "-w")
        extra = (source_flags or {}).get(src, ())
        proc = subprocess.run([gcc, *warn, *common, *extra, "-c", str(src), "-o", str(obj)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise TunerigError(f"{board.name}: compiling {src.name} failed:\n{proc.stderr[-4000:]}")
        objs[src] = obj
    proc = subprocess.run([gcc, *cpu_flags, "-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs",
                           *map(str, objs.values()), f"-L{board.directory}", "-T", str(MEASURE_LINK_SCRIPT),
                           "-Wl,--gc-sections", "-o", str(elf), "-lm"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise TunerigError(f"{board.name}: linking {elf.name} failed:\n{proc.stderr[-4000:]}")
    return elf, objs


def build_firmware(board: Board | str, mbdp_dir, out_dir, *, jobs: int = 2, pipeline: str = "mbdp",
                   stack_bytes: int | None = None) -> FirmwareBuild:
    """Build the firmware for `board` around an already generated module in mbdp_dir (an MBDP
    module, or a PercepNet pipeline with pipeline="percepnet"). stack_bytes overrides the 4 KiB stack."""
    board = load_board(board) if isinstance(board, str) else board
    if pipeline not in PIPELINES:
        raise TunerigError(f"unknown firmware pipeline '{pipeline}' (use {' or '.join(PIPELINES)})")
    dir_var, fragment = PIPELINES[pipeline]
    mbdp_dir = Path(mbdp_dir).resolve()
    if not (mbdp_dir / fragment).is_file():
        raise TunerigError(f"{mbdp_dir}: no {fragment} (generate the {pipeline} module first)")
    out_dir = Path(out_dir).resolve()
    cmake = _require_tool("cmake")
    _require_tool("arm-none-eabi-gcc")
    config_dir = out_dir / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    header = config_dir / "tr_board_config.h"
    text = board_config_header(board)
    if not header.is_file() or header.read_text() != text:
        header.write_text(text)
    build_id = compute_build_id(board, mbdp_dir, pipeline, stack_bytes)
    cmake_dir = out_dir / "cmake"
    configure = [
        cmake, "-S", str(FIRMWARE_DIR), "-B", str(cmake_dir),
        f"-DCMAKE_TOOLCHAIN_FILE={FIRMWARE_DIR / 'cmake' / f'toolchain-{board.core}.cmake'}",
        "-DCMAKE_BUILD_TYPE=", f"-DTR_BOARD_DIR={board.directory}", f"-DTR_CONFIG_DIR={config_dir}",
        f"-DTR_PIPELINE={pipeline}", f"-D{dir_var}={mbdp_dir}",
        f"-DTR_STARTUP={board.startup}", f"-DTR_UART_KIND={board.uart_kind}",
        f"-DTR_BUILD_ID={build_id}",
    ]
    if stack_bytes is not None:
        configure.append(f"-DTR_STACK_SIZE={int(stack_bytes)}")
    for cmd in (configure, [cmake, "--build", str(cmake_dir), "-j", str(jobs)]):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
            raise TunerigError(f"firmware build for board '{board.name}' failed ({' '.join(cmd[:2])} ...):\n{tail}")
    elf = out_dir / "firmware.elf"
    shutil.copyfile(cmake_dir / "firmware.elf", elf)
    sizes = elf_sizes(elf)
    result = FirmwareBuild(board=board.name, elf=elf, build_id=build_id, **sizes)
    info = {**asdict(result), "elf": str(elf), "flash_bytes": result.flash_bytes, "ram_bytes": result.ram_bytes}
    (out_dir / "build.json").write_text(json.dumps(info, indent=2) + "\n")
    return result


def generate_mbdp_for(board: Board, profile, out_dir) -> Path:
    """Run the MBDP code generator for the board's core into out_dir."""
    try:
        from codegen.mbdp import generate_mbdp
    except ImportError as exc:
        raise TunerigError(f"the MBDP code generator (codegen.mbdp) is not available: {exc}") from None
    out_dir = Path(out_dir)
    generate_mbdp(profile, board.core, out_dir)
    return out_dir


def build(board_name: str, profile, out_dir) -> FirmwareBuild:
    """`tunerig build`: generate + compile. profile is a loaded profile object or a path to one."""
    board = load_board(board_name)
    if isinstance(profile, (str, Path)):
        from designer.profile import load_profile
        profile = load_profile(profile)
    out_dir = Path(out_dir)
    mbdp_dir = generate_mbdp_for(board, profile, out_dir / "mbdp")
    return build_firmware(board, mbdp_dir, out_dir)
