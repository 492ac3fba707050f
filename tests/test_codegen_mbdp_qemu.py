"""The generated MBDP on emulated Cortex-M cores: bit-exact with the host build (c-host), and the
bench reports a plausible cost. Arm builds use CMSIS-DSP and, on the M55, Helium code paths."""
from __future__ import annotations

import shutil

import pytest

from bench.mbdp import bench_mbdp, mac_floor, with_demo_guard
from designer.profile import load_profile

pytestmark = [
    pytest.mark.qemu,
    pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                       reason="needs qemu-system-arm and arm-none-eabi-gcc"),
]


@pytest.mark.parametrize("board,guard,chunk", [("mps2-an386", True, 480), ("mps3-an547", False, 480),
                                               ("mps2-an386", False, 39)])
def test_board_bit_exact_with_c_host(board, guard, chunk, tmp_path):
    """chunk 39: calls that end mid-block and lengths that are not multiples of 4, so the C tails
    around the Thumb-2 loops run too."""
    prof = load_profile("examples/echo4-reference.toml")
    if guard:
        prof = with_demo_guard(prof)
    res = bench_mbdp(prof, [board], seconds=0.05, work_dir=tmp_path, chunk=chunk)
    r = res["boards"][board]
    assert r["bit_exact_with_c_host"]
    assert r["instructions_per_sample"] > mac_floor(prof)      # cannot beat one instruction per MAC
    assert 0 < r["flash_bytes"] < 64 * 1024 and 0 < r["ram_bytes"] < 64 * 1024
