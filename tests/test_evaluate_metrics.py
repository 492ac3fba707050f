"""Evaluation metrics, baselines and the Speex echo canceller against independent references
(synthetic signals with known distortion, IEC 61672 A-weighting values, analytic filter sums)."""
from pathlib import Path

import numpy as np
import pytest

from designer import evaluate, signals
from designer.errors import InputError
from designer.speaker import load_speaker

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FS = 48000


def _t(seconds):
    return np.arange(int(seconds * FS)) / FS


def test_thd_of_a_known_waveform():
    t = _t(1.0)
    p = np.sin(2 * np.pi * 100 * t) + 0.03 * np.sin(2 * np.pi * 200 * t) + 0.04 * np.sin(2 * np.pi * 300 * t + 1)
    assert evaluate.thd_percent(p, FS, 100.0) == pytest.approx(5.0, rel=1e-3)
    assert evaluate.thd_percent(np.sin(2 * np.pi * 100 * t), FS, 100.0) < 1e-4


def test_speaker_thd_counts_only_what_the_speaker_adds():
    t = _t(1.0)
    drive = np.sin(2 * np.pi * 100 * t) + 0.1 * np.sin(2 * np.pi * 300 * t)      # distortion already in the drive
    p = drive + 0.02 * np.sin(2 * np.pi * 200 * t)
    assert evaluate.speaker_thd_percent(p, drive, FS, 100.0) == pytest.approx(2.0, rel=1e-3)


def test_smpte_imd_of_an_amplitude_modulated_tone():
    t = _t(1.0)
    m = 0.05        # AM depth: sidebands of m/2 each around the 1 kHz line -> IMD = m / sqrt(2)
    p = 4 * np.sin(2 * np.pi * 60 * t) + (1 + m * np.cos(2 * np.pi * 60 * t)) * np.sin(2 * np.pi * 1000 * t)
    assert evaluate.imd_percent(p, FS) == pytest.approx(100 * m / np.sqrt(2), rel=1e-3)


def test_a_weighted_and_band_levels():
    t = _t(1.0)
    one_pa = np.sin(2 * np.pi * 1000 * t)                   # 1 Pa peak = 0.707 Pa rms = 90.97 dB SPL
    assert evaluate.a_weighted_spl_db(one_pa, FS) == pytest.approx(90.97, abs=0.02)
    # IEC 61672-1 table: A(100 Hz) = -19.1 dB, A(63 Hz) = -26.2 dB
    assert evaluate.a_weighted_spl_db(np.sin(2 * np.pi * 100 * t), FS) == pytest.approx(90.97 - 19.1, abs=0.1)
    assert evaluate.a_weighted_spl_db(np.sin(2 * np.pi * 63 * t), FS) == pytest.approx(90.97 - 26.2, abs=0.1)
    assert evaluate.band_spl_db(np.sin(2 * np.pi * 100 * t), FS) == pytest.approx(90.97, abs=0.02)
    assert evaluate.band_spl_db(one_pa, FS) < 0.0


def test_conventional_split_is_uncompensated_butterworth():
    """4th-order Butterworth LP + HP at fc are both -3 dB and in phase (4 x 90 degrees apart):
    the naive sum peaks +3 dB at each crossover, and is flat far from them."""
    x = np.zeros(FS)
    x[0] = 1.0
    total = evaluate.conventional_bands(x, FS).sum(axis=0)
    spec = np.abs(np.fft.rfft(total))
    f = np.fft.rfftfreq(FS, 1 / FS)
    db = lambda fr: 20 * np.log10(spec[np.argmin(np.abs(f - fr))])
    assert db(200) == pytest.approx(3.01, abs=0.1)
    assert db(2000) == pytest.approx(3.01, abs=0.15)
    assert abs(db(20)) < 0.1 and abs(db(15000)) < 0.1


def test_erle_high_on_a_linear_path_and_lower_when_clipped():
    spk = load_speaker(EXAMPLES / "ns3-vented-1.5l.toml")
    rir, _ = evaluate.room_response()
    x = 0.3 * signals.music_like(3.0, FS, seed=3)
    volts = x * spk.amplifier.v_at_full_scale
    linear, clipped_mic = evaluate.echo_erle_db(x, evaluate.linear_pressure_pa(spk, volts, FS), FS, rir)
    rail = 0.25 * np.max(np.abs(volts))                 # the echo path clips hard; the reference does not
    clipped, _ = evaluate.echo_erle_db(x, evaluate.linear_pressure_pa(spk, np.clip(volts, -rail, rail), FS), FS, rir)
    assert clipped_mic == 0
    assert linear > 20.0
    assert clipped < linear - 8.0


def test_speex_wrapper_rejects_bad_buffers():
    with pytest.raises(InputError, match="int16"):
        evaluate.speex_aec(np.zeros(320), np.zeros(320, dtype=np.int16))
    with pytest.raises(InputError, match="equal length"):
        evaluate.speex_aec(np.zeros(320, dtype=np.int16), np.zeros(160, dtype=np.int16))


def test_evaluate_rejects_bad_arguments():
    from designer.fit import design

    spk = load_speaker(EXAMPLES / "ns3-sealed-0.5l.toml")
    prof = design(spk, 2, verify=False).profile
    with pytest.raises(InputError, match="baseline"):
        evaluate.evaluate(prof, spk, ("compressor",), progress=False)
    with pytest.raises(InputError, match="ladder"):
        evaluate.evaluate(prof, spk, ladder_db=(0.0, 40.0), progress=False)
    with pytest.raises(InputError, match="seconds"):
        evaluate.evaluate(prof, spk, seconds_scale=0.0, progress=False)
