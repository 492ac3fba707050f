"""Fixed-point MBDP: Python model vs generated C (bit-exact), vs the float reference (SNR), and the
fixed-point guarantees (silence, saturation, exact ceiling, clear errors for bad profiles).

References are independent of the code under test: numpy/scipy for log2/exp2 and filters,
designer.mbdp.render (float) for the processor, the profile's dB values for the ceiling.
"""
from __future__ import annotations

import dataclasses
import shutil
import subprocess

import numpy as np
import pytest
from scipy import signal

from bench.mbdp import with_demo_guard
from codegen.fixedpoint import float_to_q31, q15_to_q31, q31_to_float, q31_to_q15
from codegen.mbdp import TARGETS, generate_mbdp
from codegen.mbdp_fixed import (EF, HIGH, STD, _biquad_ef, _biquad_high, _biquad_std, compressor_gain_q27, exp2_q27,
                                log2_q24, plan_mbdp, quantize_section, render_fixed_q15, render_fixed_q31)
from codegen.mbdp_host import HostMbdp, render_c_host_q15, render_c_host_q31, run_sanitized
from designer import signals
from designer.errors import InputError
from designer.mbdp import render
from designer.profile import load_profile, profile_from_dict

FS = 48000
ECHO = "examples/echo4-reference.toml"
DEMO = "tests/data/ns3-vented-1.5l-fitted.toml"   # what `make demo` fits (see the file's header)


@pytest.fixture(scope="module")
def echo():
    return load_profile(ECHO)


@pytest.fixture(scope="module")
def hp3(echo):
    """A second profile: 32 kHz, protective high-pass, 3 bands, longer look-ahead, hard knee."""
    d = {
        "profile": {"name": "hp3", "sample_rate_hz": 32000, "block_ms": 1.0},
        "highpass": {"frequency_hz": 45.0, "order": 4},
        "crossover": {"frequencies_hz": [150.0, 2500.0]},
        "band_limiter": {"lookahead_ms": 3.0},
        "band": [dict(compressor_threshold_db=t, compressor_ratio=4.0, compressor_knee_db=k,
                      compressor_attack_ms=10.0, compressor_release_ms=200.0, compressor_makeup_db=2.0,
                      compressor_floor_db=-30.0, limiter_threshold_db=-6.0, limiter_release_ms=50.0)
                 for t, k in ((-20.0, 0.0), (-15.0, 3.0), (-12.0, 10.0))],
        "output_limiter": {"threshold_db": -1.0, "lookahead_ms": 2.0, "release_ms": 30.0},
    }
    return profile_from_dict(d)


@pytest.fixture(scope="module")
def demo():
    """The fitted demo profile: 37.5 Hz 4th-order high-pass, crossovers 60 / 108 / 864 Hz, excursion
    guard. Its low sections run as second-order error-feedback biquads (checked below)."""
    return load_profile(DEMO)


@pytest.fixture(scope="module")
def guarded(echo):
    """Echo tuning with the band-1 limiter opened up and an excursion guard built by the designer's
    physics for the NS3 driver in a 1.5 L vented box (threshold 0.5 Xmax, so it engages)."""
    return with_demo_guard(echo)


def _q31(x):
    return float_to_q31(np.clip(x, -1.0, 1.0))


def _test_signals(fs, seconds=0.25, crossovers_hz=()):
    n = int(fs * seconds)
    rng = np.random.default_rng(7)
    stress = {f"stress_{k}": v[:n] for k, v in signals.stress_set(fs, crossovers_hz, duration_s=seconds).items()}
    return {
        **stress,
        "music": signals.music_like(seconds, fs, seed=1, peak_dbfs=-1.0),
        "sweep": signals.log_sweep(20.0, 20000.0, seconds, fs, peak_dbfs=-3.0),
        "bursts": signals.tone_bursts(100.0, seconds, fs, on_s=0.03, off_s=0.05),
        "square_fs": signals.square(60.0, seconds, fs, peak_dbfs=0.0),
        "impulse_fs": signals.impulse(seconds, fs, peak_dbfs=0.0, at_s=0.01),
        "dc_fs": np.ones(n),
        "dc_neg_fs": -np.ones(n),
        "noise_fs": np.clip(rng.standard_normal(n) * 2.0, -1, 1),
        "quiet": signals.music_like(seconds, fs, seed=4, peak_dbfs=-60.0),
    }


# ------------------------------------------------------------------ arithmetic against numpy
def test_log2_matches_numpy():
    v = np.unique(np.geomspace(1, 2.0**62, 5000).astype(np.int64))
    got = np.array([log2_q24(int(x)) for x in v]) / 2.0**24
    assert np.max(np.abs(got - np.log2(v.astype(np.float64)))) < 5e-7


def test_exp2_matches_numpy():
    v = np.arange(-12 * 2**25, 4 * 2**25 - 1, 7919)
    got = np.array([exp2_q27(int(x)) for x in v]) / 2.0**27
    want = np.exp2(v / 2.0**25)
    big = want > 0.05
    assert np.max(np.abs(got[big] / want[big] - 1)) < 3e-7
    assert np.max(np.abs(got - want) - 3e-7 * want) < 2.0**-27   # small gains: within an LSB of Q5.27


def test_idle_power_shortcut_is_exact_and_tight(echo, hp3):
    """The C skips log2/exp2 for smoothed powers <= idle_power: there the full gain computer must give
    g_idle (checked over the 5000 powers below the bound), and the bound must sit just below the
    knee's lower edge, threshold - knee / 2 from the profile (level in dB from numpy)."""
    for prof in (echo, hp3):
        plan = plan_mbdp(prof)
        for band, c in zip(prof.bands, plan.compressors):
            assert c.idle_power > 0
            assert all(compressor_gain_q27(ps, c, plan.level_offset) == c.g_idle
                       for ps in range(c.idle_power - 5000, c.idle_power + 1))
            level_db = 10 * np.log10(2.0) * (np.log2(float(c.idle_power)) + plan.level_offset / 2.0**24)
            knee = band.compressor.knee_db if band.compressor.knee_db >= 0.06 else 0.0
            edge_db = band.compressor.threshold_db - knee / 2
            assert edge_db - 0.01 < level_db < edge_db


@pytest.mark.parametrize("form", [STD, EF, HIGH])
def test_biquad_forms_follow_scipy(form):
    """Each integer biquad equals scipy's float filter of the same quantised coefficients within its
    truncation noise (a few LSB; EF and 32x64 much less at DC than STD)."""
    row = signal.butter(2, 200.0, fs=FS, output="sos")[0]
    q, s = quantize_section(row, "t", scale=0.25, kind="lp")
    x = _q31(signals.music_like(0.2, FS, seed=3, peak_dbfs=-1.0))
    y = np.array({STD: _biquad_std, EF: _biquad_ef, HIGH: _biquad_high}[form](x.tolist(), q, s))
    unit = 2.0 ** (31 - s)
    ref = signal.lfilter(np.array(q[:3]) / unit, [1.0, -q[3] / unit, -q[4] / unit], x.astype(np.float64))
    err = y - ref
    limit = {STD: 2000.0, EF: 40.0, HIGH: 2.0}[form]
    assert np.max(np.abs(err)) < limit
    assert abs(np.mean(err)) < (limit / 2 if form == STD else 1.0)


@pytest.mark.parametrize("form", ["ef2", "d2", "d2x", "d2x_ap"])
def test_second_order_forms_follow_scipy(form):
    """The second-order-shaping biquads (ef2; the delta forms d2, d2x, and d2x for an all-pass) equal
    scipy's float filter of their own quantised coefficients within a few LSB, with no DC error."""
    from codegen.mbdp_fixed import (D2_UNIT, _biquad_d2, _biquad_d2x, _biquad_ef2, _delta_stored,
                                    quantize_delta)
    lp = signal.butter(2, 60.0, fs=FS, output="sos")[0]
    hp = signal.butter(2, 60.0, btype="highpass", fs=FS, output="sos")[0]
    ap = np.array([hp[5], hp[4], 1.0, 1.0, hp[4], hp[5]])
    x = _q31(0.5 * signals.music_like(0.2, FS, seed=3, peak_dbfs=-1.0))
    if form == "ef2":
        q, s = quantize_section(lp, "t", scale=0.25, kind="lp")
        y = _biquad_ef2(x.tolist(), q, s)
        b, a = np.array(q[:3]) / 2.0**30, [1.0, -q[3] / 2.0**30, -q[4] / 2.0**30]
    else:
        row, kind = {"d2": (lp, "lp"), "d2x": (hp, "hp"), "d2x_ap": (ap, "ap")}[form]
        full, s = quantize_delta(row, "t", kind=kind)
        prec, stored = _delta_stored(list(full[:3]), full[3], full[4])
        assert prec == {"d2": "q31d2", "d2x": "q31d2x", "d2x_ap": "q31d2x"}[form]
        if form == "d2x_ap":
            assert stored[2] == 0
        y = (_biquad_d2 if form == "d2" else _biquad_d2x)(x.tolist(), stored, s)
        b, a = np.array(full[:3]) / D2_UNIT, [1.0, -full[3] / D2_UNIT, -full[4] / D2_UNIT]
    err = np.array(y) - signal.lfilter(b, a, x.astype(np.float64))
    assert np.max(np.abs(err)) < 40.0
    assert abs(np.mean(err)) < 1.0


# ------------------------------------------------------------------ bit-exactness
@pytest.mark.parametrize("which", ["echo", "hp3", "guarded", "demo"])
def test_fixed_and_c_host_bit_exact(which, echo, hp3, guarded, demo):
    prof = {"echo": echo, "hp3": hp3, "guarded": guarded, "demo": demo}[which]
    for name, x in _test_signals(prof.sample_rate_hz, crossovers_hz=prof.crossovers_hz).items():
        xq = _q31(x)
        want = render_fixed_q31(prof, xq)
        assert np.array_equal(render_c_host_q31(prof, xq), want), name
        if name == "music":
            for chunk in (1, 37, 480):
                assert np.array_equal(render_c_host_q31(prof, xq, chunk=chunk), want), chunk


def test_32x64_variant_bit_exact(echo, tmp_path):
    """The CMSIS 32x64 form (--precise 32x64) is modelled bit for bit too."""
    plan = plan_mbdp(echo, precise=HIGH)
    assert any(s.precision == HIGH for c in plan.chains() for s in c.sections)
    x = _q31(signals.music_like(0.1, FS, seed=5, peak_dbfs=-1.0))
    out = generate_mbdp(echo, "c99", tmp_path / "t32x64", precise=HIGH)
    so = out / "lib.so"
    subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", f"-I{out}",
                    *map(str, out.glob("*.c")), "-o", str(so)], check=True)
    import ctypes
    lib = ctypes.CDLL(str(so))
    inst = ctypes.create_string_buffer(1 << 16)
    lib.tr_mbdp_init_q31(inst)
    xs = np.ascontiguousarray(x, dtype=np.int32)
    ys = np.zeros_like(xs)
    p = ctypes.POINTER(ctypes.c_int32)
    lib.tr_mbdp_process_q31(inst, xs.ctypes.data_as(p), ys.ctypes.data_as(p), ctypes.c_size_t(len(xs)))
    assert np.array_equal(ys.astype(np.int64), render_fixed_q31(plan, x))


def test_q15_wrappers(echo):
    x16 = q31_to_q15(_q31(signals.music_like(0.1, FS, seed=6, peak_dbfs=0.0)))
    want = q31_to_q15(render_fixed_q31(echo, q15_to_q31(x16)))
    assert np.array_equal(render_fixed_q15(echo, x16), want)
    assert np.array_equal(render_c_host_q15(echo, x16), want)
    assert np.array_equal(render_c_host_q15(echo, x16, chunk=77), want)


def test_reset_restores_initial_state(echo):
    x = _q31(signals.music_like(0.1, FS, seed=9, peak_dbfs=0.0))
    host = HostMbdp(echo)
    first = host.process_q31(x, chunk=100)
    host.reset()
    assert np.array_equal(host.process_q31(x), first)


def test_sanitizers_clean(echo, hp3):
    """The c99 module under -fsanitize=address,undefined, on the saturating signals, odd chunks
    (the demo profile: the d2 / d2h forms' modulo-2^64 sums and modulo-2^32 branch too)."""
    for prof in (echo, hp3, load_profile(DEMO)):
        sig = _test_signals(prof.sample_rate_hz, 0.1)
        x = np.concatenate([_q31(sig[k]) for k in ("square_fs", "noise_fs", "impulse_fs", "dc_neg_fs")])
        assert np.array_equal(run_sanitized(prof, x, chunk=13), render_c_host_q31(prof, x))


# ------------------------------------------------------------------ against the float reference
def _snr_db(prof, x):
    xq = _q31(x)
    y = q31_to_float(render_c_host_q31(prof, xq))   # == render_fixed_q31, checked above
    ref = render(prof, q31_to_float(xq))
    return 10 * np.log10(np.sum(ref**2) / np.sum((y - ref) ** 2))


@pytest.mark.parametrize("which", ["echo", "demo"])
def test_snr_dynamics_idle(which, echo, demo):
    """Below every threshold (-40 dBFS peaks; the demo's lowest compressor threshold is -21 dB) the
    fixed chain is the float chain to >= 100 dB."""
    prof = {"echo": echo, "demo": demo}[which]
    assert _snr_db(prof, signals.music_like(2.0, FS, seed=1, peak_dbfs=-40.0)) >= 100.0
    assert _snr_db(prof, signals.multitone([50.0, 300.0, 1000.0, 5000.0], 1.0, FS, peak_dbfs=-40.0)) >= 100.0


@pytest.mark.parametrize("which", ["echo", "demo"])
def test_snr_dynamics_working(which, echo, demo):
    """Music-like signals driving compressors and limiters: >= 70 dB against float."""
    prof = {"echo": echo, "demo": demo}[which]
    x = signals.music_like(3.0, FS, seed=2, peak_dbfs=0.0)
    y = render(prof, x)
    ceiling = 10 ** (prof.output_limiter.threshold_db / 20)
    assert np.max(np.abs(y)) > 0.5 * ceiling    # the limiters really work on this signal
    assert _snr_db(prof, x) >= 70.0


def test_demo_profile_exercises_second_order_error_feedback(demo):
    """The demo's low sections need second-order noise shaping, so the tests above cover every delta
    form and its Thumb-2 loop: d2 (60 / 108 Hz low-passes, the scaled first high-pass section), d2x
    (the 37.5 Hz high-pass's second section; and the 108 Hz all-pass of band 1, b2 stored as 0),
    d2h (the 60 / 108 Hz high-pass branches as all-pass - low-pass)."""
    from codegen.mbdp_fixed import D2, D2X
    plan = plan_mbdp(demo)
    assert [s.precision for s in plan.highpass.sections] == [D2, D2X]
    assert all(s.precision == D2 for s in plan.lp[0].sections + plan.lp[1].sections)
    assert plan.split_h[:2] == (True, True) and plan.hp[0].sections[0].precision == D2
    ap108 = plan.comp[0].sections[0]
    assert ap108.precision == D2X and ap108.coeffs[2] == 0 and ap108.coeffs[0] != 0


def test_fast_gain_bands_cannot_saturate(demo):
    """Bands marked fast_gain run the compressor product as SMMLAR(2 v, 16 (g - 2^27), v) on Arm,
    exact only if |v| < 2^30 and 0 <= g < 2^28 always. Drive each such band with its worst-case full-scale input (the
    sign pattern of the float design's band impulse response, reversed: it reaches the L1 gain) and
    check the fixed-point band signal stays below 2^30 while reaching 90 % of that L1 bound; the
    gain bound follows from the profile's make-up (dB)."""
    from codegen.mbdp_fixed import tree_bands_fixed
    from designer.crossover import design_crossover, highpass_sos
    plan = plan_mbdp(demo)
    assert all(plan.fast_gain)
    xo = design_crossover(demo.crossovers_hz, FS)
    n = FS // 2
    imp = np.zeros(n)
    imp[0] = 1.0
    for k, fast in enumerate(plan.fast_gain):
        if not fast:
            continue
        assert 10 ** (demo.bands[k].compressor.makeup_db / 20) < 2.0
        h = signal.sosfilt(np.vstack([highpass_sos(demo.highpass_hz, demo.highpass_order, FS), xo.band_chain(k)]), imp)
        x = np.sign(h[::-1]) * (1 - 2.0**-31)
        peak = np.max(np.abs(np.array(tree_bands_fixed(plan, float_to_q31(x))[k])))
        assert 0.9 * np.sum(np.abs(h)) * 2.0 ** (31 - plan.headroom) < peak < 2**30


def test_fresh_demo_fit_plans_like_the_checked_in_one(demo):
    """`make demo` fits its profile afresh: that fit must still generate, with the filter frequencies
    of tests/data's copy (else the copy is stale: regenerate it with `tunerig design`)."""
    from designer.fit import design
    from designer.speaker import load_speaker
    fresh = design(load_speaker("examples/ns3-vented-1.5l.toml")).profile
    plan = plan_mbdp(fresh)
    assert plan.n_bands == 4
    np.testing.assert_allclose(fresh.crossovers_hz, demo.crossovers_hz, rtol=0.01)
    assert fresh.highpass_hz == pytest.approx(demo.highpass_hz, rel=0.01)


@pytest.mark.parametrize("speaker", ["ns3-sealed-0.5l", "fr89ex-vented-1.0l", "fr88ex-sealed-0.5l"])
def test_other_example_speakers_fitted_profiles_plan(speaker):
    """Every example speaker's fitted profile generates (their 37-43 Hz high-passes once failed the
    -90 dB band-accuracy check), within the plan's accuracy limit."""
    from designer.fit import design
    from designer.speaker import load_speaker
    plan = plan_mbdp(design(load_speaker(f"examples/{speaker}.toml")).profile)
    assert max(plan.notes["coefficient_error_db"]) < -100.0


@pytest.mark.parametrize("fc_hz", [37.0, 40.0, 43.1])
def test_quantised_highpass_keeps_dc_zeros(fc_hz):
    """The 4th-order protective high-pass in Q2.30 (first section carrying a 2^-3 headroom scale):
    each numerator is exactly g [1 -2 1] (double zero at DC), and the cascade is within -95 dB of
    scipy's float Butterworth over 5 Hz .. 0.45 fs."""
    from codegen.mbdp_fixed import _refine
    sos = signal.butter(4, fc_hz, btype="highpass", fs=FS, output="sos")
    secs = [(row, "hp", f"s{j}", 0.125 if j == 0 else 1.0) for j, row in enumerate(sos)]
    f = np.geomspace(5.0, 0.45 * FS, 2000)
    h = np.ones(len(f), dtype=complex)
    for q, s_, _ in _refine(secs, FS):
        assert q[1] == -2 * q[0] and q[2] == q[0]
        unit = 2.0 ** (31 - s_)
        h *= signal.freqz(np.array(q[:3]) / unit, [1.0, -q[3] / unit, -q[4] / unit], worN=f, fs=FS)[1]
    want = signal.sosfreqz(sos, worN=f, fs=FS)[1]
    assert 20 * np.log10(np.max(np.abs(8.0 * h - want))) < -95.0


# ------------------------------------------------------------------ fixed-point guarantees
def test_excursion_guard_engages_like_float(guarded, echo):
    """40 Hz bursts: the guard pulls the output down (excursion predicted by scipy with the profile's
    guard filter drops), and the fixed chain follows the float one to >= 90 dB."""
    x = signals.tone_bursts(40.0, 1.0, FS)
    y_guard = q31_to_float(render_c_host_q31(guarded, _q31(x)))
    unguarded = dataclasses.replace(guarded, guard_sos=())
    y_free = q31_to_float(render_c_host_q31(unguarded, _q31(x)))
    exc = lambda y: np.max(np.abs(signal.sosfilt(np.array(guarded.guard_sos), y)))
    assert exc(y_guard) < 0.8 * exc(y_free)
    assert _snr_db(guarded, x) >= 90.0


def test_guard_peak_hold_bit_exact_and_steadies_bass(guarded):
    """The guard's peak hold (here 13 blocks) in the C equals the fixed model for any chunking, and on a
    bass tone it holds the gain steady where the unheld guard modulates it (independent check: the
    output's 2nd-10th harmonics against the fundamental, numpy FFT over whole periods)."""
    held = dataclasses.replace(guarded, guard_hold_ms=13.0)
    x = np.concatenate([signals.tone_bursts(50.0, 0.3, FS), signals.tone(40.0, 0.6, FS)])
    xq = _q31(x)
    want = render_fixed_q31(held, xq)
    for chunk in (None, 1, 37, 480):
        assert np.array_equal(render_c_host_q31(held, xq, chunk=chunk), want), chunk

    def thd(y):
        spec = np.abs(np.fft.rfft(q31_to_float(y[-int(0.5 * FS):]))) ** 2     # 20 periods of 40 Hz
        return np.sqrt(sum(spec[20 * k] for k in range(2, 11)) / spec[20])
    assert thd(want) < 0.5 * thd(render_fixed_q31(guarded, xq))


@pytest.mark.parametrize("which", ["echo", "demo"])
def test_silence_exact_after_signal(which, echo, demo):
    """1 s of loud music then 10 s of digital silence: the last 9 s are exact zeros (no limit
    cycles, no DC creep) -- or at worst below -130 dBFS. The demo's 37.5 Hz high-pass and 60 Hz
    crossover (poles nearest z = 1) are where error feedback could sustain a limit cycle."""
    prof = {"echo": echo, "demo": demo}[which]
    x = np.concatenate([signals.music_like(1.0, FS, seed=8, peak_dbfs=0.0), np.zeros(10 * FS)])
    y = render_c_host_q31(prof, _q31(x))
    tail = q31_to_float(y[2 * FS:])
    assert np.max(np.abs(tail)) < 10 ** (-130 / 20)
    assert np.count_nonzero(y[-FS:]) == 0
    assert np.count_nonzero(render_c_host_q31(prof, np.zeros(FS, dtype=np.int64))) == 0


@pytest.mark.parametrize("which", ["echo", "hp3", "guarded", "demo"])
def test_saturate_never_wrap_and_exact_ceiling(which, echo, hp3, guarded, demo):
    """Full-scale squares, impulses, DC and noise: no wrap (output stays close to float and never
    flips sign against it where float is large) and |y| never exceeds the output limiter ceiling."""
    prof = {"echo": echo, "hp3": hp3, "guarded": guarded, "demo": demo}[which]
    ceiling = 10 ** (prof.output_limiter.threshold_db / 20) * 2.0**31
    for name, x in _test_signals(prof.sample_rate_hz, crossovers_hz=prof.crossovers_hz).items():
        xq = _q31(x)
        y = render_c_host_q31(prof, xq)
        assert np.max(np.abs(y)) <= ceiling, name
        ref = render(prof, q31_to_float(xq))
        yf = q31_to_float(y)
        assert np.max(np.abs(yf - ref)) < 1e-3, name
        loud = np.abs(ref) > 0.01
        assert not np.any(np.sign(yf[loud]) != np.sign(ref[loud])), name


def test_ceiling_holds_when_pushed(echo):
    """Hot multitone, peaks aligned, output limiter at -3 dB: the ceiling is met exactly and reached."""
    x = signals.multitone([70.0, 190.0, 1000.0, 3300.0, 9000.0], 0.5, FS, peak_dbfs=0.0)
    y = render_c_host_q31(echo, _q31(x))
    ceiling = 10 ** (echo.output_limiter.threshold_db / 20) * 2.0**31
    assert np.max(np.abs(y)) <= ceiling
    assert np.max(np.abs(y)) > 0.98 * ceiling


# ------------------------------------------------------------------ bad profiles
def test_crossover_above_nyquist_fails(echo, tmp_path):
    bad = dataclasses.replace(echo, crossovers_hz=(70.0, 200.0, 30000.0))
    with pytest.raises(InputError, match="crossover"):
        generate_mbdp(bad, "c99", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unstable_after_quantisation_fails():
    r, theta = 1 - 2.0**-33, 0.01   # poles this close to the unit circle round onto it in Q2.30
    row = np.array([1e-9, 2e-9, 1e-9, 1.0, -2 * r * np.cos(theta), r * r])
    with pytest.raises(InputError, match="unstable"):
        quantize_section(row, "crossover 1 low-pass 1", kind="lp")


def test_too_low_for_q30_fails_clearly(echo):
    """A 20 Hz 4th-order high-pass at 192 kHz cannot be held in Q2.30 poles: refused, naming the field."""
    bad = dataclasses.replace(echo, sample_rate_hz=192000, highpass_hz=20.0, highpass_order=4)
    with pytest.raises(InputError, match="highpass.frequency_hz.*too low"):
        plan_mbdp(bad)


def test_designer_style_highpass_is_accurate(echo):
    """The designer's protective 4th-order high-pass (60 Hz) stays within -100 dB of float."""
    plan = plan_mbdp(dataclasses.replace(echo, highpass_hz=60.0, highpass_order=4))
    assert max(plan.notes["coefficient_error_db"]) < -100.0
    prof = dataclasses.replace(echo, highpass_hz=60.0, highpass_order=4)
    assert _snr_db(prof, signals.music_like(1.0, FS, seed=11, peak_dbfs=-40.0)) >= 100.0


def test_out_of_q_range_fails(echo, tmp_path):
    band = dataclasses.replace(echo.bands[0], compressor=dataclasses.replace(echo.bands[0].compressor, makeup_db=30.0))
    bad = dataclasses.replace(echo, bands=(band, *echo.bands[1:]))
    with pytest.raises(InputError, match="make-up"):
        generate_mbdp(bad, "c99", tmp_path / "out")
    bad2 = dataclasses.replace(echo, output_limiter=dataclasses.replace(echo.output_limiter, threshold_db=1.0))
    with pytest.raises(InputError, match="ceiling"):
        plan_mbdp(bad2)
    with pytest.raises(InputError, match="target"):
        generate_mbdp(echo, "cortex-a53", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ generated module
def test_header_api_and_hash(echo, tmp_path):
    out = generate_mbdp(echo, "c99", tmp_path / "m")
    h = (out / "tr_mbdp.h").read_text()
    for token in ("tr_mbdp_instance_q31", "void tr_mbdp_init_q31(tr_mbdp_instance_q31 *S);",
                  "void tr_mbdp_reset_q31(tr_mbdp_instance_q31 *S);",
                  "void tr_mbdp_process_q31(tr_mbdp_instance_q31 *S, const int32_t *in, int32_t *out, size_t n);",
                  "void tr_mbdp_process_q15(tr_mbdp_instance_q31 *S, const int16_t *in, int16_t *out, size_t n);",
                  "#define TR_MBDP_SAMPLE_RATE_HZ 48000", f"#define TR_MBDP_LATENCY_SAMPLES {echo.latency_samples}",
                  f'#define TR_MBDP_PROFILE_HASH "{echo.hash()}"', "Q-formats"):
        assert token in h
    assert "malloc" not in "".join(p.read_text() for p in out.glob("*.c"))
    assert "float" not in (out / "tr_mbdp.c").read_text().replace("float reference", "")


def test_host_gcc_warning_free_pedantic(echo, tmp_path):
    out = generate_mbdp(echo, "c99", tmp_path / "m")
    subprocess.run(["gcc", "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-O2", "-c", f"-I{out}",
                    *map(str, out.glob("*.c"))], cwd=tmp_path, check=True)


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
@pytest.mark.parametrize("target", [t for t in TARGETS if t != "c99"])
def test_arm_targets_warning_free(echo, target, tmp_path):
    out = generate_mbdp(echo, target, tmp_path / "m")
    cmake = (out / "tr_mbdp.cmake").read_text()
    srcs = [s for s in cmake.split("set(TR_MBDP_SOURCES")[1].split(")")[0].split('"') if s.endswith(".c")]
    incs = [s for s in cmake.split("set(TR_MBDP_INCLUDE_DIRS")[1].split(")")[0].split('"') if s.strip()]
    for src in srcs:
        extra = ["-DARM_MATH_AUTOVECTORIZE"] if src.endswith("arm_biquad_cascade_df1_q31.c") else []
        subprocess.run(["arm-none-eabi-gcc", *TARGETS[target][1], "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror",
                        "-DARM_MATH_LOOPUNROLL", *extra, *(f"-I{i}" for i in incs), "-c", src, "-o", str(tmp_path / "x.o")],
                       check=True)
