"""The real generated MBDP (codegen.mbdp) inside the HIL firmware on all five emulated boards:
output bit-exact with codegen's Python fixed-point model (`--engine fixed`), through the public
`hil.render_on_board` path (build, QEMU, link)."""
from pathlib import Path

import numpy as np
import pytest

from codegen.fixedpoint import float_to_q15
from designer import signals
from designer.profile import load_profile

pytestmark = pytest.mark.qemu

PROFILE = Path(__file__).resolve().parent.parent / "examples" / "echo4-reference.toml"
BOARDS = ["mps2-an386", "mps2-an500", "mps2-an505", "mps3-an547", "netduinoplus2"]


def _fixed_model(profile, x):
    from codegen.mbdp_fixed import render_fixed_q15
    return np.asarray(render_fixed_q15(profile, x))


@pytest.fixture(scope="module")
def profile():
    return load_profile(PROFILE)


@pytest.fixture(scope="module")
def vector(profile):
    fs = profile.sample_rate_hz
    parts = [signals.music_like(0.03, fs, seed=1), signals.tone_bursts(60, 0.02, fs, on_s=0.01, off_s=0.005),
             signals.square(150, 0.01, fs), signals.impulse(0.005, fs), np.zeros(96)]
    x = float_to_q15(np.concatenate(parts)).astype(np.int16)
    x[-40:-30] = [32767, -32768] * 5                       # full-scale alternation at the end
    return x


@pytest.mark.parametrize("name", BOARDS)
def test_board_bit_exact_with_fixed_model(name, profile, vector, tmp_path):
    from hil import render_on_board
    y = render_on_board(name, profile, vector, build_dir=tmp_path / name, progress=False)
    ref = _fixed_model(profile, vector)
    assert y.shape == ref.shape
    bad = np.flatnonzero(y != ref)
    assert bad.size == 0, f"{bad.size} samples differ, first at {bad[:1]}: board {y[bad[:3]]}, model {ref[bad[:3]]}"
    assert np.any(ref != 0) and np.any(ref != vector)     # the DSP did something
