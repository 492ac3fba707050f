"""The excursion guard's peak hold: a bass tone through the fitted demo profile comes out clean.

Without a hold the guard's gain request follows each half-wave peak of a bass tone and its release
recovers in between, so the gain is modulated at twice the tone's frequency: harmonics. THD is
measured here with a plain numpy FFT over whole periods (independent of designer.evaluate)."""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from designer import signals
from designer.errors import InputError
from designer.fit import design, guard_hold_ms
from designer.mbdp import render
from designer.profile import load_profile, profile_to_toml
from designer.speaker import load_speaker

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DEMO_FITTED = Path(__file__).resolve().parent / "data" / "ns3-vented-1.5l-fitted.toml"
FS = 48000
F0 = 100.0


@pytest.fixture(scope="module")
def demo():
    return design(load_speaker(EXAMPLES / "ns3-vented-1.5l.toml")).profile


def _thd_percent_fft(y: np.ndarray, fs: int, f0: float, harmonics: int = 10) -> float:
    """THD of the last 0.5 s (a whole number of periods, so every harmonic sits on one FFT bin)."""
    n = int(round(0.5 * fs))
    spec = np.abs(np.fft.rfft(y[-n:])) ** 2
    bin_of = lambda f: int(round(f * n / fs))
    fund = spec[bin_of(f0)]
    harm = sum(spec[bin_of(k * f0)] for k in range(2, harmonics + 1))
    return 100.0 * float(np.sqrt(harm / fund))


@pytest.mark.parametrize("vol_db", [-6.0, 0.0, 6.0])
def test_bass_tone_through_fitted_demo_is_clean(demo, vol_db):
    x = signals.tone(F0, 1.0, FS) * 10 ** (vol_db / 20)
    assert demo.guard_sos and demo.guard_hold_ms >= 500.0 / demo.highpass_hz
    assert _thd_percent_fft(render(demo, x), FS, F0) < 0.5
    # The same profile without the hold distorts: the measurement can tell (1.7-2.7 % before the fix).
    assert _thd_percent_fft(render(replace(demo, guard_hold_ms=0.0), x), FS, F0) > 1.0


def test_hold_is_half_a_highpass_period_in_whole_blocks():
    assert guard_hold_ms(37.5, 1.0) == 14.0      # 13.3 ms rounds up to whole blocks
    assert guard_hold_ms(50.0, 1.0) == 10.0
    assert guard_hold_ms(100.0, 2.0) == 6.0


def test_hold_round_trips_and_is_validated(tmp_path):
    prof = load_profile(DEMO_FITTED)
    assert prof.guard_hold_ms == 14.0 and prof.guard_hold_blocks == 14
    path = tmp_path / "p.toml"
    path.write_text(profile_to_toml(prof))
    assert load_profile(path) == prof
    text = profile_to_toml(prof)
    for bad, match in (("hold_ms = 2.5", "whole number"), ("hold_ms = -1.0", "outside"), ("hold_ms = 1e4", "outside"),
                       ('hold_ms = "14"', None)):
        path.write_text(text.replace("hold_ms = 14.0", bad))
        with pytest.raises(InputError, match=match) as exc:
            load_profile(path)
        assert "excursion_guard.hold_ms" in str(exc.value)
    # Profiles written before the field existed load with no hold and keep their hash.
    path.write_text("\n".join(line for line in text.splitlines() if not line.startswith("hold_ms")))
    old = load_profile(path)
    assert old.guard_hold_ms == 0.0 and old.guard_hold_blocks == 1
    assert old.hash() != prof.hash()
