"""The designer's lumped-element model agrees with Small's closed forms; T/S derivation and fit-ts."""
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from designer import physics
from designer.fit_ts import fit_ts
from designer.formats import write_curve
from designer.speaker import load_speaker, speaker_from_dict
from reference_speaker import sine_excursion_mm_per_v

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("name", ["ns3-sealed-0.5l", "ns3-vented-1.5l", "fr89ex-vented-1.0l"])
def test_lumped_model_matches_closed_form(name):
    spk = load_speaker(EXAMPLES / f"{name}.toml")
    f = np.geomspace(10, 5000, 300)
    ours = np.abs(physics.excursion_per_volt(spk, f)) * 1e3
    np.testing.assert_allclose(ours, sine_excursion_mm_per_v(spk, f), rtol=0.02)
    # and the digital filter the designer renders with matches its analog model where excursion
    # matters (bilinear warping grows above ~1 kHz, where the cone barely moves)
    lo = f <= 1000
    w, h = signal.sosfreqz(physics.excursion_sos(spk, 48000), worN=f[lo], fs=48000)
    np.testing.assert_allclose(np.abs(h) * 1e3, ours[lo], rtol=0.01)


def test_worked_example_x0():
    spk = load_speaker(EXAMPLES / "ns3-sealed-0.5l.toml")
    assert spk.driver.x0_m_per_v * 1e3 == pytest.approx(0.483, abs=0.002)     # FIELD_NOTES §1.2


def _free_air(re=6.2, fs=82.0, qms=3.4, qes=0.58, mms_g=5.5, sd_cm2=33.0, le_mh=0.0):
    d = {"speaker": {"re_ohm": re, "fs_hz": fs, "qms": qms, "qes": qes, "mms_g": mms_g, "sd_cm2": sd_cm2,
                     "xmax_mm": 3.0, **({"le_mh": le_mh} if le_mh else {})},
         "enclosure": {"type": "free-air"}, "amplifier": {"vmax_peak_v": 10.0, "v_at_full_scale": 10.0}}
    return speaker_from_dict(d)


def test_fit_ts_recovers_parameters_within_2_percent(tmp_path):
    """Simulated sweeps from the lumped model (with Le), free air plus two added masses."""
    spk = _free_air(le_mh=0.08)
    f = np.geomspace(5, 20000, 500)
    z = physics.impedance(spk, f)
    write_curve(tmp_path / "z0.zma", f, np.abs(z), np.degrees(np.angle(z)))
    added = []
    for g in (3.0, 6.0):
        d = {"speaker": {"re_ohm": 6.2, "bl_tm": spk.driver.bl, "mms_g": spk.driver.mms * 1e3 + g,
                         "cms_mm_per_n": spk.driver.cms * 1e3, "qms": None, "sd_cm2": 33.0, "xmax_mm": 3.0, "le_mh": 0.08},
             "enclosure": {"type": "free-air"}, "amplifier": {"vmax_peak_v": 10.0, "v_at_full_scale": 10.0}}
        rms = spk.driver.rms
        m = spk.driver.mms + g * 1e-3
        fs_m = 1 / (2 * np.pi * np.sqrt(m * spk.driver.cms))
        d["speaker"]["qms"] = 2 * np.pi * fs_m * m / rms
        zm = physics.impedance(speaker_from_dict(d), f)
        write_curve(tmp_path / f"z{g}.zma", f, np.abs(zm), np.degrees(np.angle(zm)))
        added.append((g, tmp_path / f"z{g}.zma"))
    ts = fit_ts(tmp_path / "z0.zma", added, 33.0)
    d = spk.driver
    for got, want in [(ts.free.re, d.re), (ts.free.fs, d.fs), (ts.free.qms, d.qms), (ts.free.qes, d.qes),
                      (ts.mms, d.mms), (ts.cms, d.cms), (ts.bl, d.bl), (ts.vas, d.vas)]:
        assert got == pytest.approx(want, rel=0.02)


def test_fit_ts_magnitude_only_file(tmp_path):
    spk = _free_air()
    f = np.geomspace(10, 20000, 300)
    write_curve(tmp_path / "z.zma", f, np.abs(physics.impedance(spk, f)))
    ts = fit_ts(tmp_path / "z.zma")
    assert ts.free.fs == pytest.approx(82.0, rel=0.02) and ts.free.qts == pytest.approx(spk.driver.qts, rel=0.02)


def test_fit_ts_on_realistic_sweep_with_lossy_inductance_and_noise(tmp_path):
    """No real .zma is available offline, so this is the closest stand-in: the FR88EX's published
    motional parameters with its published two-part voice-coil model (L1 0.042 mH in series with
    L2 0.299 mH || R2 2.53 ohm, Erin's Audio Corner) and 0.5 dB / 2 degree measurement noise. A plain
    Le cannot fit that inductance; the resonance parameters must still come out sensible."""
    f = np.geomspace(10, 20000, 600)
    w = 2 * np.pi * f
    re, fs, qms, qes = 6.43, 107.2, 2.714, 0.737
    z_vc = re + 1j * w * 0.042e-3 + (1j * w * 0.299e-3 * 2.53) / (2.53 + 1j * w * 0.299e-3)
    z = z_vc + (re * qms / qes) / (1 + 1j * qms * (f / fs - fs / f))
    rng = np.random.default_rng(3)
    mag = np.abs(z) * 10 ** (rng.normal(0, 0.5, f.size) / 20)
    ph = np.degrees(np.angle(z)) + rng.normal(0, 2.0, f.size)
    write_curve(tmp_path / "fr88ex.zma", f, mag, ph, header="Freq(Hz) Impedance(ohm) Phase(deg)")
    ts = fit_ts(tmp_path / "fr88ex.zma")
    assert ts.free.fs == pytest.approx(fs, rel=0.02)
    assert ts.free.re == pytest.approx(re, rel=0.05)
    assert ts.free.qts == pytest.approx(qms * qes / (qms + qes), rel=0.08)
