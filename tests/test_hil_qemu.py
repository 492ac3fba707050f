"""The firmware on all five emulated boards (real QEMU, real arm-none-eabi-gcc builds), with the
stand-in DSP whose numpy reference is in conftest.py: exact output, handshake facts, calibrated
cost counter, watchdog hang detection, flash/RAM within the board's memory."""
import numpy as np
import pytest

from hil.boards import load_board
from hil.qemu import QemuBoard
from hil.session import BoardSession
from hil.standin import STANDIN_PROFILE_HASH

pytestmark = pytest.mark.qemu

EMULATED = ["mps2-an386", "mps2-an500", "mps2-an505", "mps3-an547", "netduinoplus2"]


def _vector(n: int, seed: int) -> np.ndarray:
    """Random q15 with full-scale edges at the start (saturation paths) and a block-boundary length."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-32768, 32768, n).astype(np.int16)
    x[:6] = [32767, -32768, 32767, 32767, -32768, -32768]
    return x


@pytest.mark.parametrize("name", EMULATED)
def test_board_exact_and_counters(name, standin_elf, standin_model):
    elf = standin_elf(name)
    b = load_board(name)
    with QemuBoard(b, elf) as q, BoardSession(q.url) as s:
        info = s.hello()
        assert info.board_name == name and info.profile_hash == STANDIN_PROFILE_HASH
        assert s.boots_seen == [0]                        # power-on BOOT frame came first
        before = s.board_stats()
        x = _vector(1000, seed=len(name))                 # 1000 = 7 full blocks of 128 + a partial one
        res = s.process(x, block_len=128)
        assert np.array_equal(res.y_q15, standin_model(x))
        # Clean link: nothing damaged or lost (a retransmission after a timeout can happen when the
        # host is starved of CPU, so timeouts are not counted here).
        assert res.stats.naks == res.stats.bad_frames == res.stats.restarts == 0
        st = s.board_stats()          # bytes came in through the UART's RX interrupt, none lost
        assert st["rx_irqs"] > before["rx_irqs"] and st["rx_overflows"] == 0
        assert st["frames_bad"] == before["frames_bad"]   # (a HELLO racing the boot may be cut)
        assert 64 < st["stack_used"] < 4096                # painted stack: used, and within its 4 KiB
        assert res.cost_ticks.size == 8 and np.all(res.cost_ticks > 0)
        # Cost counter: a loop of exactly 2*loops instructions, measured in SysTick ticks under -icount.
        loops = 50_000
        instr = s.calibrate(loops) * b.instructions_per_tick
        assert instr == pytest.approx(2 * loops, rel=0.01)
        # Block cost in instructions: the stand-in is a few instructions per sample (not 0, not 1000s).
        per_sample = np.median(res.cost_ticks) * b.instructions_per_tick / 128
        assert 2 < per_sample < 200


def test_block_length_does_not_change_output(standin_elf, standin_model):
    x = _vector(700, seed=5)
    with QemuBoard("mps2-an386", standin_elf("mps2-an386")) as q, BoardSession(q.url) as s:
        outs = [s.process(x, block_len=bl).y_q15 for bl in (1, 37, 256)]
    for y in outs:
        assert np.array_equal(y, standin_model(x))


@pytest.mark.parametrize("name", ["mps2-an386", "mps2-an505", "netduinoplus2"])
def test_watchdog_catches_hang(name, standin_elf, standin_model):
    with QemuBoard(name, standin_elf(name)) as q, BoardSession(q.url) as s:
        s.hello()
        fault, boot = s.provoke_hang(timeout_s=20)
        assert (fault, boot) == (1, 1)                    # FAULT watchdog, then BOOT reason watchdog
        x = _vector(300, seed=1)
        assert np.array_equal(s.process(x, 64).y_q15, standin_model(x))   # and it works again


@pytest.mark.parametrize("name", EMULATED + ["nucleo-f446re", "stm32f746g-disco"])
def test_firmware_fits_board(name, standin_elf):
    from hil.build import elf_sizes
    b = load_board(name)
    sizes = elf_sizes(standin_elf(name))
    assert 0 < sizes["text"] + sizes["data"] <= b.code_length
    assert sizes["data"] + sizes["bss"] <= b.ram_length
    # Static memory only: nothing in the image can allocate.
    import subprocess
    symbols = subprocess.run(["arm-none-eabi-nm", str(standin_elf(name))], capture_output=True, text=True,
                             check=True).stdout.split()
    assert not {"malloc", "_malloc_r", "_sbrk", "_sbrk_r", "free"} & set(symbols)
