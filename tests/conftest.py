"""Shared pytest set-up: the HIL plugin (--board / --board-url / --board-profile, `board` fixture)
and, for the link/firmware tests, firmware built around the labelled stand-in DSP plus that
stand-in's independent numpy reference."""
import numpy as np
import pytest

from hil.pytest_plugin import board, pytest_addoption  # noqa: F401  (pytest discovers them here)


def standin_reference_q15(x_q15) -> np.ndarray:
    """Reference for hil/standin.py, written from its definition: y = sat_q31(x[n] - floor(x[n-1]/2))
    on x in Q31 (= q15 << 16), then round-half-up to Q15 and saturate."""
    x = np.asarray(x_q15, dtype=np.int64) * 65536
    prev = np.concatenate([[0], x[:-1]])
    y = np.clip(x - np.floor_divide(prev, 2), -(2**31), 2**31 - 1)
    return np.clip(np.floor_divide(y + 32768, 65536), -32768, 32767).astype(np.int16)


@pytest.fixture(scope="session")
def standin_model():
    return standin_reference_q15


@pytest.fixture(scope="session")
def standin_elf(tmp_path_factory):
    """standin_elf(board_name) -> Path of a firmware ELF with the stand-in DSP (built once per board)."""
    from hil.build import build_firmware
    from hil.standin import write_standin_mbdp

    root = tmp_path_factory.mktemp("standin-fw")
    mbdp = write_standin_mbdp(root / "mbdp")
    cache = {}

    def get(board_name: str):
        if board_name not in cache:
            cache[board_name] = build_firmware(board_name, mbdp, root / board_name)
        return cache[board_name].elf

    return get
