"""Board definitions: every board loads, its linker fragment agrees with its TOML, and bad board
files fail with errors that name the file and the field."""
import re
from pathlib import Path

import pytest

from designer.errors import InputError
from hil.boards import BOARDS_DIR, board_names, emulated_board_names, load_board
from hil.build import board_config_header

EMULATED = {"mps2-an386", "mps2-an500", "mps2-an505", "mps3-an547", "netduinoplus2"}


def test_board_set():
    assert set(emulated_board_names()) == EMULATED
    real = set(board_names()) - EMULATED
    assert {"nucleo-f446re", "stm32f746g-disco"} <= real
    for name in real:
        b = load_board(name)
        assert b.flash_method == "pyocd" and b.pyocd_target and b.cost_counter == "dwt"


@pytest.mark.parametrize("name", sorted(EMULATED | {"nucleo-f446re", "stm32f746g-disco"}))
def test_memory_ld_matches_toml(name):
    b = load_board(name)
    text = (b.directory / "memory.ld").read_text()
    regions = dict()
    for m in re.finditer(r"(\w+)\s*\([rwx]+\)\s*:\s*ORIGIN\s*=\s*(0x[0-9A-Fa-f]+),\s*LENGTH\s*=\s*(0x[0-9A-Fa-f]+)", text):
        regions[m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16))
    assert regions["CODE"] == (b.code_origin, b.code_length)
    assert regions["RAM"] == (b.ram_origin, b.ram_length)


def test_facts_from_field_notes():
    # FIELD_NOTES §4: UART and memory addresses of the emulated machines.
    assert load_board("mps2-an386").uart_base == 0x40004000 and load_board("mps2-an386").ram_origin == 0x20000000
    assert load_board("mps2-an505").uart_base == 0x40200000 and load_board("mps2-an505").code_origin == 0x10000000
    assert load_board("mps3-an547").uart_base == 0x59303000 and load_board("mps3-an547").mve
    assert load_board("netduinoplus2").uart_kind == "stm32-usart-v1" and load_board("netduinoplus2").code_origin == 0x08000000
    # 25 MHz SysTick under -icount shift=0: 40 instructions per tick.
    assert load_board("mps2-an386").instructions_per_tick == pytest.approx(40.0)


def test_config_header_lists_pins_for_real_boards():
    h = board_config_header(load_board("stm32f746g-disco"))
    assert "#define TR_BOARD_N_PINS 2" in h and "0x40020400u, 7u, 7u" in h
    assert "#define TR_BOARD_N_PINS 0" in board_config_header(load_board("mps2-an386"))
    # Real STM32 boards get the independent watchdog as a hardware backstop; emulated ones do not.
    assert "#define TR_IWDG_BASE 0x40003000u" in board_config_header(load_board("nucleo-f446re"))
    assert "TR_IWDG_BASE" not in board_config_header(load_board("netduinoplus2"))


def _write_board(tmp_path: Path, text: str) -> Path:
    d = tmp_path / "bad"
    d.mkdir()
    (d / "board.toml").write_text(text)
    (d / "memory.ld").write_text("MEMORY {}\n")
    return tmp_path


def _valid_text() -> str:
    return (BOARDS_DIR / "mps2-an386" / "board.toml").read_text().replace('name = "mps2-an386"', 'name = "bad"')


@pytest.mark.parametrize("change, field", [
    (('core = "cortex-m4"', 'core = "cortex-m99"'), "core"),
    (('kind = "cmsdk"', 'kind = "pl011"'), "uart.kind"),
    (('clock_hz = 25_000_000', 'clock_hz = 25'), "clock_hz"),
    (('base = 0x40004000', 'base = "0x40004000"'), "uart.base"),
    (('[qemu]\nmachine = "mps2-an386"', ''), "qemu.machine"),
    (('startup = "armv7m"', 'startup = "armv8m"'), "startup"),
])
def test_bad_board_errors_name_field(tmp_path, change, field):
    root = _write_board(tmp_path, _valid_text().replace(*change))
    with pytest.raises(InputError) as exc:
        load_board("bad", boards_dir=root)
    assert f"field '{field}'" in str(exc.value) and "board.toml" in str(exc.value)


def test_unknown_board_lists_known(tmp_path):
    with pytest.raises(InputError, match="mps2-an386"):
        load_board("no-such-board")
