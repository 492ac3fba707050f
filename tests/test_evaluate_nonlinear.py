"""The nonlinear loudspeaker simulator against independent references: the linear lumped model
(designer.physics closed forms and FIELD_NOTES §1.2), first-order perturbation theory for a
stiffening suspension, and bad-input errors."""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from designer import nonlinear, physics
from designer.errors import InputError
from designer.speaker import C_M_S, RHO_KG_M3, load_speaker

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FS = 48000


def _lockin(y, f_hz, fs=FS):
    """Complex amplitude of the f_hz component over the second half (whole number of periods)."""
    n = len(y) // 2
    periods = int(n * f_hz / fs)
    n = int(round(periods * fs / f_hz))
    t = np.arange(len(y) - n, len(y)) / fs
    return 2 * np.mean(y[-n:] * np.exp(-2j * np.pi * f_hz * t))


@pytest.fixture(scope="module", params=["ns3-sealed-0.5l", "fr89ex-vented-1.0l"])
def spk(request):
    return load_speaker(EXAMPLES / f"{request.param}.toml")


@pytest.mark.parametrize("f_hz", [30.0, 100.0, 400.0, 1000.0])
def test_flat_polynomials_equal_the_linear_model(spk, f_hz):
    t = np.arange(int(0.4 * FS)) / FS
    e = 2.0 * np.sin(2 * np.pi * f_hz * t)
    r = nonlinear.simulate(spk, e, FS, nonlinear.linear_large_signal(spk))
    # sin = Im(exp): complex amplitude of the response to sin is H * (-1j) * 2 V
    want_x = 2.0 * -1j * physics.excursion_per_volt(spk, [f_hz])[0]
    want_p = 2.0 * -1j * physics.pressure_per_volt(spk, [f_hz])[0]
    got_x, got_p = _lockin(r.excursion_m, f_hz), _lockin(r.pressure_pa, f_hz)
    # Linear interpolation of the drive between samples attenuates by about (pi f / fs)^2 / 3.
    tol = 1e-3 + (np.pi * f_hz / FS) ** 2 / 3
    assert abs(got_x / want_x - 1) < tol
    assert abs(got_p / want_p - 1) < tol
    i_want = 2.0 * -1j / physics.impedance(spk, [f_hz])[0]
    assert abs(_lockin(r.current_a, f_hz) / i_want - 1) < tol


def test_sealed_low_frequency_excursion_matches_closed_form():
    """FIELD_NOTES §1.2: sealed box, far below fc X = x0 / (1 + a) with a = Vas / Vb."""
    spk = load_speaker(EXAMPLES / "ns3-sealed-0.5l.toml")
    d = spk.driver
    x0 = d.bl * d.cms / d.re
    a = RHO_KG_M3 * C_M_S**2 * d.cms * d.sd**2 / spk.enclosure.vb      # Vas / Vb, Vas from its identity
    e = np.full(int(0.3 * FS), 1.0)        # a DC step settles to the static excursion
    r = nonlinear.simulate(spk, e, FS, nonlinear.linear_large_signal(spk))
    assert r.excursion_m[-1] == pytest.approx(x0 / (1 + a), rel=1e-3)


def test_broadband_drive_matches_the_linear_filter(spk):
    """Band-limited noise through the simulator vs scipy.signal on the bilinear excursion filter."""
    rng = np.random.default_rng(1)
    e = signal.sosfilt(signal.butter(4, 300, fs=FS, output="sos"), rng.standard_normal(FS // 2)) * 3
    r = nonlinear.simulate(spk, e, FS, nonlinear.linear_large_signal(spk))
    ref = signal.sosfilt(physics.excursion_sos(spk, FS), e)
    err = np.sqrt(np.mean((r.excursion_m - ref) ** 2) / np.mean(ref**2))
    assert err < 0.01


def test_voice_coil_inductance_is_integrated_stably():
    """A 0.5 mH coil (time constant shorter than the sample period) still matches the linear model."""
    spk = load_speaker(EXAMPLES / "ns3-sealed-0.5l.toml")
    spk = replace(spk, driver=replace(spk.driver, le=0.05e-3))
    f_hz = 2000.0
    t = np.arange(int(0.1 * FS)) / FS
    r = nonlinear.simulate(spk, np.sin(2 * np.pi * f_hz * t), FS, nonlinear.linear_large_signal(spk))
    i_want = -1j / physics.impedance(spk, [f_hz])[0]
    assert np.all(np.isfinite(r.current_a))
    assert abs(_lockin(r.current_a, f_hz) / i_want - 1) < 0.01


def test_batch_equals_single_runs(spk):
    rng = np.random.default_rng(2)
    e = rng.standard_normal((2000, 3)) * np.array([0.5, 3.0, 8.0])
    batch = nonlinear.simulate(spk, e, FS)
    for k in range(3):
        one = nonlinear.simulate(spk, e[:, k], FS)
        np.testing.assert_allclose(batch.excursion_m[:, k], one.excursion_m, rtol=1e-12, atol=1e-15)


def test_stiffening_suspension_third_harmonic_matches_perturbation_theory():
    """Kms(x) = K0 (1 + k2 x^2), Bl constant. To first order in k2 the excursion's third harmonic is
    X3 = K0 k2 X1^3 / 4 / |Zm(j 3w)|, Zm(s) = Ktot + s (Rms + Bl^2/Re) + s^2 Mms (voltage drive)."""
    spk = load_speaker(EXAMPLES / "ns3-sealed-0.5l.toml")
    d = spk.driver
    k0 = 1 / d.cms
    k2 = 0.05 / (1e-3) ** 2          # +5 % stiffness at 1 mm
    large = nonlinear.LargeSignal(bl=(d.bl,), kms=(k0, 0.0, k0 * k2))
    f_hz = 40.0
    t = np.arange(int(1.0 * FS)) / FS
    r = nonlinear.simulate(spk, 6.0 * np.sin(2 * np.pi * f_hz * t), FS, large)
    x1 = abs(_lockin(r.excursion_m, f_hz))
    x3 = abs(_lockin(r.excursion_m, 3 * f_hz))
    ktot = k0 + d.sd**2 * RHO_KG_M3 * C_M_S**2 / spk.enclosure.vb
    w3 = 2 * np.pi * 3 * f_hz
    zm3 = abs(ktot - w3**2 * d.mms + 1j * w3 * (d.rms + d.bl**2 / d.re))
    want = k0 * k2 * x1**3 / 4 / zm3
    assert 0.001 < x3 / x1 < 0.05          # a small, clearly measurable distortion
    assert x3 == pytest.approx(want, rel=0.05)


def test_distortion_rises_with_drive():
    from designer.evaluate import thd_percent

    spk = load_speaker(EXAMPLES / "fr89ex-vented-1.0l.toml")
    t = np.arange(int(0.3 * FS)) / FS
    tone = np.sin(2 * np.pi * 50.0 * t)
    runs = [nonlinear.simulate(spk, v * tone, FS) for v in (0.1, 1.0, 8.0)]
    thd = [thd_percent(r.pressure_pa, FS, 50.0) for r in runs]
    lin = nonlinear.simulate(spk, 8.0 * tone, FS, nonlinear.linear_large_signal(spk))
    assert thd_percent(lin.pressure_pa, FS, 50.0) < 0.05      # the linear model adds nothing
    assert thd[0] < thd[1] < thd[2]
    assert thd[0] < 0.5 and thd[2] > 3.0
    assert np.max(np.abs(runs[2].excursion_m)) > spk.driver.xmax   # the top level is past Xmax


def test_default_shapes_follow_the_klippel_definition():
    spk = load_speaker(EXAMPLES / "ns3-sealed-0.5l.toml")       # X_Bl 3.5 mm, X_C 4.4 mm in the file
    large = nonlinear.default_large_signal(spk)
    assert large.bl_at(3.5e-3) / large.bl_at(0.0) == pytest.approx(0.82)
    assert large.bl_at(-3.5e-3) / large.bl_at(0.0) == pytest.approx(0.82)
    assert large.kms_at(0.0) / large.kms_at(4.4e-3) == pytest.approx(0.75)      # compliance ratio
    assert large.bl_at(20e-3) == pytest.approx(0.2 * spk.driver.bl)            # floor far out


def test_amplifier_clips_at_the_rail():
    spk = load_speaker(EXAMPLES / "ns3-sealed-0.5l.toml")
    spk = replace(spk, amplifier=replace(spk.amplifier, vmax_peak_v=3.0))
    y = np.array([-2.0, -1.0, -0.5, 0.0, 0.3, 0.59, 0.61, 1.5])
    np.testing.assert_allclose(nonlinear.amplifier_volts(spk, y), np.clip(np.clip(y, -1, 1) * 5.0, -3, 3))
    soft = nonlinear.amplifier_volts(spk, y, "soft")
    assert np.all(np.abs(soft) < 3.0) and np.all(np.diff(soft) >= 0)


def test_bad_inputs_are_clear_errors(tmp_path):
    spk = load_speaker(EXAMPLES / "ns3-sealed-0.5l.toml")
    with pytest.raises(InputError, match="NaN"):
        nonlinear.simulate(spk, np.array([0.0, np.nan]), FS)
    with pytest.raises(InputError, match="shape"):
        nonlinear.simulate(spk, np.zeros((2, 2, 2)), FS)
    with pytest.raises(InputError, match="oversample"):
        nonlinear.simulate(spk, np.zeros(4), FS, oversample=0)
    with pytest.raises(InputError, match="clip"):
        nonlinear.amplifier_volts(spk, np.zeros(3), "brickwall")
    with pytest.raises(InputError, match="no such"):
        nonlinear.load_large_signal(tmp_path / "missing.toml", spk)
    cases = {
        "bad.toml": ("[large_signal\n", "not valid TOML"),
        "table.toml": ("[klippel]\nbl_tm = [4.5]\n", "exactly one table"),
        "key.toml": ("[large_signal]\nbl = [4.5]\n", "unknown key"),
        "type.toml": ("[large_signal]\nbl_tm = 4.5\n", "large_signal.bl_tm"),
        "other.toml": ("[large_signal]\nbl_tm = [9.0, 0.0, -0.1]\n", "large_signal.bl_tm.*T/S"),
        "kms.toml": ("[large_signal]\nkms_n_per_mm = [3.0]\n", "large_signal.kms_n_per_mm"),
        "le.toml": ("[large_signal]\nle_mh = [-0.1]\n", "large_signal.le_mh"),
    }
    for name, (text, pattern) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(InputError, match=pattern) as exc:
            nonlinear.load_large_signal(tmp_path / name, spk)
        assert name in str(exc.value)


def test_large_signal_file_in_klippel_units(tmp_path):
    spk = load_speaker(EXAMPLES / "ns3-sealed-0.5l.toml")
    (tmp_path / "ls.toml").write_text("[large_signal]\nbl_tm = [4.513, 0.05, -0.0604]\n"
                                      "kms_n_per_mm = [1.2547, 0.0, 0.0216]\nle_mh = [0.05]\n")
    large = nonlinear.load_large_signal(tmp_path / "ls.toml", spk)
    assert large.bl_at(2e-3) == pytest.approx(4.513 + 0.05 * 2 - 0.0604 * 4)
    assert large.kms_at(2e-3) == pytest.approx((1.2547 + 0.0216 * 4) * 1e3)
    assert large.le == pytest.approx((0.05e-3,))
