"""The capture path on emulated boards: the PercepNet pipeline (codegen.percepnet) built into the HIL
firmware (TR_PIPELINE=percepnet) and streamed over the framed link must give exactly what the same C
gives on the host. How close that C is to the float front end + tflite-micro is tests/test_percepnet_c.py.
"""
import numpy as np
import pytest

from codegen.fixedpoint import float_to_q15
from designer.errors import TunerigError
from designer.percepnet.engine import SHIPPED_STEM

MODEL = SHIPPED_STEM.with_suffix(".json")
FS = 16000


def noisy_voiced(seconds: float, seed: int) -> np.ndarray:
    """A voiced, pitch-gliding harmonic signal with syllable-like bursts in white noise, q15."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FS)) / FS
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / FS
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None) ** 2
    x = 0.3 * env * voiced / np.abs(voiced).max() + 0.03 * rng.standard_normal(t.size)
    return float_to_q15(x).astype(np.int16)


@pytest.mark.qemu
@pytest.mark.nn
@pytest.mark.parametrize("board", ["mps2-an386", "mps3-an547"])
def test_capture_path_on_board_is_bit_exact_with_c_host(board, tmp_path):
    from codegen.percepnet.host import run_c_host
    from hil.capture import enhance_on_board

    x = noisy_voiced(1.5, seed=3)
    # A level step to full scale at the end: saturation must match too.
    x[-2000:] = np.where(x[-2000:] >= 0, 32767, -32768)
    want = run_c_host(MODEL, x)
    got = enhance_on_board(board, MODEL, x, build_dir=tmp_path, progress=False)
    assert got.dtype == np.int16 and got.shape == x.shape
    assert np.abs(want).max() > 1000, "the reference output is (nearly) silent: the test would prove nothing"
    mismatch = np.flatnonzero(got != want)
    assert mismatch.size == 0, f"{mismatch.size} samples differ, first at {mismatch[:1]}"


@pytest.mark.qemu
@pytest.mark.nn
def test_capture_refuses_a_board_running_other_firmware(standin_elf, tmp_path):
    """A board that runs the MBDP (here the stand-in) firmware is not silently used as a denoiser."""
    from hil.capture import stream_capture
    from hil.qemu import QemuBoard

    with QemuBoard("mps2-an386", standin_elf("mps2-an386")) as q:
        with pytest.raises(TunerigError, match="not model"):
            stream_capture("mps2-an386", MODEL, np.zeros(320, np.int16), url=q.url, build_dir=tmp_path, progress=False)
