"""The generated MBDP on emulated Cortex-M cores: bit-exact with the host build (c-host), and the
bench reports a plausible cost. Arm builds use CMSIS-DSP and, on the M55, Helium code paths."""
from __future__ import annotations

import dataclasses
import shutil

import pytest

from bench.mbdp import bench_mbdp, mac_floor, with_demo_guard
from designer.profile import load_profile

pytestmark = [
    pytest.mark.qemu,
    pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                       reason="needs qemu-system-arm and arm-none-eabi-gcc"),
]


def _profile(which: str):
    if which == "demo":     # the fitted demo profile: second-order error-feedback loops, guard
        return load_profile("tests/data/ns3-vented-1.5l-fitted.toml")
    prof = load_profile("examples/echo4-reference.toml")
    if which == "5band":
        b = prof.bands
        prof = dataclasses.replace(prof, crossovers_hz=(70.0, 200.0, 1000.0, 3250.0), bands=(b[0], b[1], b[2], b[2], b[3]))
    elif which == "guard":
        prof = with_demo_guard(prof)
    elif which == "wide":
        # A 19 kHz crossover: quiet enough sections run as CMSIS arm_biquad_cascade_df1_q31 inside
        # the tree; band ceilings of 0 dBFS make the output stage take its 64-bit limiter product
        # instead of SMMULR (the band sum can reach 2^30).
        bands = tuple(dataclasses.replace(b, limiter=dataclasses.replace(b.limiter, threshold_db=0.0)) for b in prof.bands)
        prof = dataclasses.replace(prof, crossovers_hz=(70.0, 3250.0, 19000.0), bands=bands)
    return prof


@pytest.mark.parametrize("board,which,chunk", [("mps2-an386", "guard", 480), ("mps3-an547", "echo", 480),
                                               ("mps2-an386", "echo", 39), ("mps2-an386", "5band", 39),
                                               ("mps2-an386", "wide", 39),
                                               ("mps2-an386", "demo", 39), ("mps2-an386", "demo", 480),
                                               ("mps2-an386", "demo", 40), ("mps2-an386", "echo", 40)])
def test_board_bit_exact_with_c_host(board, which, chunk, tmp_path):
    """chunk 39: calls that end mid-block and lengths that are not multiples of 4, so the C tails
    around the Thumb-2 loops run too; chunk 40: lengths of 8 mod 16, which enter the 16-sample
    Thumb-2 loops halfway through; 5 bands: the output stage's C path (its Thumb-2 loop takes
    at most 4 bands); wide: CMSIS q31 sections and the output stage's 64-bit product (see _profile); demo: the fitted demo
    profile, whose low sections run the delta-form Thumb-2 loops."""
    prof = _profile(which)
    res = bench_mbdp(prof, [board], seconds=0.05, work_dir=tmp_path, chunk=chunk)
    r = res["boards"][board]
    assert r["bit_exact_with_c_host"]
    assert r["instructions_per_sample"] > mac_floor(prof)      # cannot beat one instruction per MAC
    assert 0 < r["flash_bytes"] < 64 * 1024 and 0 < r["ram_bytes"] < 64 * 1024


def test_demo_full_scale_stress_bit_exact(tmp_path):
    """The fitted demo profile on the M4 with full-scale squares, noise, impulses and DC: the Thumb-2
    loops (delta forms, and the SMMULR compressor product of its fast_gain bands) stay bit-exact
    with c-host where saturation and the limiters' extremes are exercised."""
    import numpy as np

    from codegen.fixedpoint import float_to_q31
    from designer import signals
    prof = _profile("demo")
    fs = prof.sample_rate_hz
    rng = np.random.default_rng(5)
    x = np.concatenate([signals.square(60.0, 0.03, fs, peak_dbfs=0.0), np.clip(rng.standard_normal(fs // 40) * 2, -1, 1),
                        signals.impulse(0.02, fs, peak_dbfs=0.0, at_s=0.001), np.ones(fs // 50), -np.ones(fs // 50)])
    res = bench_mbdp(prof, ["mps2-an386"], work_dir=tmp_path, chunk=39, x_q31=float_to_q31(np.clip(x, -1, 1)))
    assert res["boards"]["mps2-an386"]["bit_exact_with_c_host"]
