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


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A quick 2-band profile for the vented NS3 (excursion-limited), saved as TOML."""
    from designer.fit import design
    from designer.profile import save_profile

    spk = load_speaker(EXAMPLES / "ns3-vented-1.5l.toml")
    prof = design(spk, 2, verify=False).profile
    path = tmp_path_factory.mktemp("evaluate") / "profile.toml"
    save_profile(prof, path)
    return spk, prof, path


def test_evaluate_rejects_bad_arguments(fitted):
    spk, prof, _ = fitted
    with pytest.raises(InputError, match="baseline"):
        evaluate.evaluate(prof, spk, ("compressor",), progress=False)
    with pytest.raises(InputError, match="ladder"):
        evaluate.evaluate(prof, spk, ladder_db=(0.0, 40.0), progress=False)
    with pytest.raises(InputError, match="seconds"):
        evaluate.evaluate(prof, spk, seconds_scale=0.0, progress=False)


def test_cli_end_to_end(fitted, tmp_path, capsys):
    """`tunerig evaluate` through its own register(): a short run, JSON and PNGs, and the physics
    it must get right: ours stays within Xmax, the fixed -6 dBFS conventional processor does not
    (this vented box passes Xmax near 40 Hz and below the port tuning)."""
    import argparse
    import json

    from designer import evaluate_cli

    spk, _, profile_path = fitted
    parser = argparse.ArgumentParser()
    evaluate_cli.register(parser.add_subparsers())
    args = parser.parse_args(["evaluate", str(profile_path), str(EXAMPLES / "ns3-vented-1.5l.toml"),
                              "--baseline", "conventional", "--ladder", "0", "--seconds-scale", "0.05",
                              "--no-aec", "--json", str(tmp_path / "r.json"), "--report", str(tmp_path / "rep")])
    assert args.func(args) == 0
    r = json.loads((tmp_path / "r.json").read_text())
    ours, conv = r["processors"]["ours"], r["processors"]["conventional"]
    assert set(r["processors"]) == {"ours", "conventional"}
    assert r["claims"]["ours_within_xmax"] and ours["peak_excursion_mm"][0] <= spk.driver.xmax * 1e3
    assert conv["peak_excursion_mm"][0] > spk.driver.xmax * 1e3
    assert r["claims"]["conventional"]["exceeds_xmax_or_gives_up_3db_bass"]
    for png in ("excursion.png", "thd.png", "erle.png", "levels.png"):
        assert (tmp_path / "rep" / png).stat().st_size > 10_000
    assert "within Xmax" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        parser.parse_args(["evaluate", "p.toml", "s.toml", "--baseline", "multiband"])


def test_claims_logic_on_a_hand_made_result():
    def proc(bass, peak, erle, thd=1.0):
        return {"bass_db": bass, "peak_excursion_mm": peak, "erle_music_db": erle, "thd_percent": [thd] * 2,
                "erle_linear_music_db": [30.0, 30.0],
                "speaker_thd_percent": [thd] * 2, "loudness_dba": [70.0, 80.0]}
    result = {"xmax_mm": 2.0, "processors": {
        "ours": proc([60.0, 70.0], [1.0, 1.9], [30.0, 28.0]),
        "single-limiter": proc([60.0, 66.5], [1.0, 1.5], [30.0, 27.0]),     # 3.5 dB less bass, safe
        "conventional": proc([60.0, 69.0], [1.5, 2.4], [30.0, 24.5]),       # over Xmax, ERLE 3.5 dB worse
    }}
    c = evaluate.claims(result)
    assert c["ours_within_xmax"] and c["ours_max_excursion_mm"] == 1.9
    assert c["single-limiter"]["exceeds_xmax_or_gives_up_3db_bass"] and not c["single-limiter"]["exceeds_xmax"]
    assert c["conventional"]["exceeds_xmax"] and c["conventional"]["bass_deficit_at_top_db"] == 1.0
    assert c["conventional"]["erle_3db_better_at_top"] and not c["single-limiter"]["erle_3db_better_at_top"]
    assert c["conventional"]["erle_nonlinear_loss_at_top_db"] == 5.5
    assert c["conventional"]["ours_erle_nonlinear_loss_at_top_db"] == 2.0
    result["processors"]["ours"]["peak_excursion_mm"] = [1.0, 2.1]
    assert not evaluate.claims(result)["ours_within_xmax"]
