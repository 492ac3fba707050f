"""PercepNet front end against independent references: exact reconstruction, band algebra,
comb-filter design (paper's ~9 dB), pitch of synthetic voiced signals, post-filter formula,
oracle vs noisy input, and the stated behaviour on bad input."""
from __future__ import annotations

import shutil
import subprocess
import warnings

import numpy as np
import pytest
from scipy.io import wavfile
from scipy.signal import resample_poly

from designer.errors import InputError
from designer.percepnet.config import FULLBAND_48K, FrontEndConfig
from designer.percepnet.frontend import (FrontEnd, band_centres_bins, band_matrix, check_audio, comb_midpoint_gain_db,
                                         comb_noise_gain_db, comb_taps, comb_taps_for_period, envelope_postfilter,
                                         hz_to_erb, vorbis_window)
from designer.percepnet.metrics import pesq_wb, si_sdr_db
from designer.percepnet.oracle import ideal_strength, oracle_enhance

CFGS = [FrontEndConfig(), FULLBAND_48K]


@pytest.mark.parametrize("cfg", CFGS, ids=["16k", "48k"])
def test_bands_sum_to_unity_and_overlap_50_percent(cfg):
    w = band_matrix(cfg)
    assert w.shape == (cfg.n_bands, cfg.n_bins)
    np.testing.assert_allclose(w.sum(axis=0), 1.0, atol=1e-12)
    # each bin is shared by at most two adjacent bands (50 % overlap), each band peaks at 1 on its centre
    assert np.all((w > 0).sum(axis=0) <= 2)
    c = band_centres_bins(cfg)
    assert c[0] == 0 and c[-1] == cfg.n_bins - 1 and np.all(np.diff(c) >= 1)
    np.testing.assert_allclose(w[np.arange(cfg.n_bands), c], 1.0)
    # ERB-like: the upper half of the bands are about equally spaced on the ERB scale
    erb = hz_to_erb(c * cfg.sample_rate_hz / cfg.n_fft)
    step = np.diff(erb)[cfg.n_bands // 2:]
    assert step.max() / step.min() < 1.6


@pytest.mark.parametrize("cfg", CFGS, ids=["16k", "48k"])
def test_unit_gains_reconstruct_the_input(cfg):
    w = vorbis_window(cfg.window_len)
    np.testing.assert_allclose(w[: cfg.hop_len] ** 2 + w[cfg.hop_len:] ** 2, 1.0, atol=1e-12)
    x = np.random.default_rng(1).standard_normal(cfg.sample_rate_hz // 2) * 0.1
    fe = FrontEnd(cfg)
    a = fe.analyse(x)
    f = a.X.shape[0]
    y = fe.apply_gains(a, np.ones((f, cfg.n_bands)), np.zeros((f, cfg.n_bands)), postfilter=False)
    np.testing.assert_allclose(y, x, atol=1e-9)


def test_comb_design_matches_the_paper_and_truncation_rules():
    cfg = FrontEndConfig()
    full = comb_taps(cfg)
    assert abs(full.sum() - 1) < 1e-12 and len(full) == 2 * cfg.comb_order + 1
    assert -9.5 < comb_noise_gain_db(full) < -8.5         # paper: M = 5 gives ~9 dB between harmonics
    t_short = cfg.lookahead_len // 2                       # two future taps fit in the look-ahead
    t_long = cfg.lookahead_len + 1                         # no future tap fits
    w_short, w_long = comb_taps_for_period(cfg, t_short), comb_taps_for_period(cfg, t_long)
    k = np.arange(-cfg.comb_order, cfg.comb_order + 1)
    assert np.all(w_short[k < -2] == 0) and np.all(w_short[(k >= -2)] > 0)
    assert np.all(w_long[k < 0] == 0)
    np.testing.assert_allclose([w_short.sum(), w_long.sum()], 1.0)


@pytest.mark.parametrize("period", [40, 100, 170, 240])
def test_comb_filter_attenuates_between_harmonics_by_the_designed_amount(period):
    """Run the real comb filter: a harmonic passes at 0 dB; white noise loses sum(w^2) (mean |H|^2);
    a tone half-way between harmonics is attenuated by |sum_k w_k (-1)^k|."""
    cfg = FrontEndConfig()
    fe = FrontEnd(cfg)
    fs = cfg.sample_rate_hz
    n = fs * 2
    t = np.arange(n)
    taps = comb_taps_for_period(cfg, period)

    def comb_gain_db(x):
        xp, base = fe._padded(x)
        f = fe.n_frames(n)
        p = fe.comb_frames(xp, base, f, np.full(f, period))
        ref = fe._frames(xp, base, f)
        mid = slice(f // 4, 3 * f // 4)  # away from the zero padding at both ends
        return 10 * np.log10(np.sum(p[mid] ** 2) / np.sum(ref[mid] ** 2))

    harmonic = np.cos(2 * np.pi * 3 * t / period)
    between = np.cos(2 * np.pi * 3.5 * t / period)
    noise = np.random.default_rng(period).standard_normal(n)
    assert abs(comb_gain_db(harmonic)) < 0.05
    assert comb_gain_db(noise) == pytest.approx(comb_noise_gain_db(taps), abs=0.4)
    designed_mid = comb_midpoint_gain_db(taps)
    if designed_mid > -60:
        assert comb_gain_db(between) == pytest.approx(designed_mid, abs=0.3)
    else:
        assert comb_gain_db(between) < -40


def _voiced(f0_hz, fs, seconds=1.0, vibrato=0.0, seed=0):
    """Glottal-pulse-like source: harmonics falling 12 dB/octave, slight vibrato, through a formant."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(fs * seconds)) / fs
    f_inst = f0_hz * (1 + vibrato * np.sin(2 * np.pi * 5 * t))
    ph = 2 * np.pi * np.cumsum(f_inst) / fs
    x = sum(np.cos(h * ph + rng.uniform(0, 6.3)) / h ** 2 * (1 + 2 * np.exp(-((h * f0_hz - 700) / 300) ** 2))
            for h in range(1, 60) if h * f0_hz < fs / 2.2)
    return 0.1 * x / np.std(x) + 0.002 * rng.standard_normal(len(t)), f_inst


@pytest.mark.parametrize("cfg", CFGS, ids=["16k", "48k"])
@pytest.mark.parametrize("f0", [75.0, 110.0, 160.0, 230.0, 330.0, 480.0, 700.0])
def test_pitch_tracker_within_2_percent(cfg, f0):
    fs = cfg.sample_rate_hz
    x, f_inst = _voiced(f0, fs, vibrato=0.01, seed=int(f0))
    fe = FrontEnd(cfg)
    a = fe.analyse(x)
    f = len(a.period)
    frames = np.arange(5, f - 5)[: (len(x) - cfg.window_len) // cfg.hop_len - 5]
    # true f0 at the centre of the correlation window of each frame
    centre = frames * cfg.hop_len + cfg.hop_len - cfg.pitch_corr_len // 2
    true = f_inst[np.clip(centre, 0, len(x) - 1)]
    est = fs / a.period[frames]
    err = np.abs(est / true - 1)
    assert np.max(err) < 0.02, f"worst {100 * np.max(err):.2f} %"
    assert np.median(a.pitch_corr[frames]) > 0.9


def test_envelope_postfilter_formula():
    g = np.full((1, 4), 0.5)
    e = np.ones((1, 4))
    # g' = 0.5 sin(pi/4); E0/E1 = 2; G = sqrt(1.02 * 2 / (1 + 0.02 * 4))
    expect = 0.5 * np.sin(np.pi / 4) * np.sqrt(1.02 * 2 / 1.08)
    np.testing.assert_allclose(envelope_postfilter(g, e, 0.02), expect, rtol=1e-12)
    assert np.all(envelope_postfilter(np.array([[1.0, 0.0]]), np.ones((1, 2))) == [[1.0, 0.0]])


def test_ideal_strength_restores_clean_coherence():
    """Build band vectors with a known harmonic/noise split and check the mixed coherence."""
    rng = np.random.default_rng(3)
    h = rng.standard_normal(400)
    h /= np.linalg.norm(h)
    nz = rng.standard_normal(400)
    nz -= nz @ h * h
    nz /= np.linalg.norm(nz)
    for qy, qx in [(0.2, 0.9), (0.5, 0.7), (0.6, 0.6), (0.8, 0.3)]:
        y = qy * h + np.sqrt(1 - qy ** 2) * nz
        r = float(ideal_strength(np.array(qx), np.array(qy)))
        z = (1 - r) * y + r * h
        qz = z @ h / np.linalg.norm(z)
        assert qz == pytest.approx(max(qx, qy), abs=1e-6)


def _tts(fs, tmp_path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    subprocess.run(["espeak-ng", "-w", str(tmp_path / "s.wav"), "-v", "en-us", "Please call Stella and ask her "
                    "to bring these things with her from the store."], capture_output=True, check=True)
    r, x = wavfile.read(tmp_path / "s.wav")
    x = x.astype(float) / 32768
    return resample_poly(x, fs // np.gcd(fs, r), r // np.gcd(fs, r))


def test_oracle_beats_noisy_input(tmp_path):
    cfg = FrontEndConfig()
    fs = cfg.sample_rate_hz
    clean = _tts(fs, tmp_path) * 0.3
    rng = np.random.default_rng(0)
    noise = np.cumsum(rng.standard_normal(len(clean)))  # brown-ish
    noise = noise - np.convolve(noise, np.ones(400) / 400, "same")
    noise *= np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2))  # 0 dB
    y = oracle_enhance(FrontEnd(cfg), clean, noise)
    assert si_sdr_db(clean, y) > si_sdr_db(clean, clean + noise) + 8
    assert pesq_wb(clean, y, fs) > pesq_wb(clean, clean + noise, fs) + 0.8


def test_bad_input_is_named_or_handled():
    cfg = FrontEndConfig()
    x = np.zeros(16000)
    with pytest.raises(InputError, match="48000 Hz but the model runs at 16000"):
        check_audio(x, 48000, cfg, file="a.wav")
    bad = x.copy()
    bad[123] = np.nan
    with pytest.raises(InputError, match="sample 123 is NaN"):
        check_audio(bad, 16000, cfg, file="a.wav")
    with pytest.raises(InputError, match="too short"):
        check_audio(np.zeros(100), 16000, cfg, file="a.wav")
    with pytest.raises(InputError, match="mono"):
        check_audio(np.zeros((100, 2)), 16000, cfg, file="a.wav")
    with pytest.warns(UserWarning, match="clipped"):
        check_audio(np.sign(np.sin(np.arange(16000))), 16000, cfg, file="a.wav")
    # digital silence goes through and comes out as silence (no NaN from 0/0 in the gains)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fe = FrontEnd(cfg)
        y = oracle_enhance(fe, np.zeros(8000), np.zeros(8000), postfilter=True)
    assert np.all(y == 0)


def test_config_round_trip_and_errors(tmp_path):
    cfg = FULLBAND_48K
    cfg.save(tmp_path / "fe.json")
    assert FrontEndConfig.load(tmp_path / "fe.json") == cfg
    (tmp_path / "bad.json").write_text('{"sample_rate_hz": 44100}')
    with pytest.raises(InputError, match="sample_rate_hz"):
        FrontEndConfig.load(tmp_path / "bad.json")
    (tmp_path / "bad2.json").write_text('{"hop_ms": 5.0}')
    with pytest.raises(InputError, match="window_ms"):
        FrontEndConfig.load(tmp_path / "bad2.json")
    assert FrontEndConfig().delay_len == 320  # 10 ms overlap-add + 10 ms comb look-ahead at 16 kHz
