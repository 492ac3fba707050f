"""Training-data generator: held-out split is really disjoint, noises are sane, SNR is as stated,
and one seed reproduces the same mixture."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from designer.percepnet import data as D

needs_tts = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def test_test_split_is_disjoint_from_training():
    assert not set(D.TRAIN_NOISES) & set(D.TEST_NOISES)
    assert not set(D.TRAIN_TEXTS) & set(D.TEST_TEXTS)
    assert not set(D.FLITE_TRAIN) & set(D.FLITE_TEST)
    assert not set(D.FESTIVAL_TRAIN) & set(D.FESTIVAL_TEST)
    assert not set(D.ESPEAK_LANGS) & set(D.ESPEAK_TEST_LANGS)


@needs_tts
def test_speech_sources_use_disjoint_voices():
    tr = D.SpeechSource("train", 16000, np.random.default_rng(0))
    te = D.SpeechSource("test", 16000, np.random.default_rng(0))
    assert tr.espeak and te.espeak and not set(tr.espeak) & set(te.espeak)
    assert not set(tr.klettres) & set(te.klettres)
    assert not set(tr.texts) & set(te.texts) or len(set(tr.texts) & set(te.texts)) < 0.05 * len(te.texts)
    x, label = te.utterance()
    assert x.ndim == 1 and len(x) > 8000 and np.all(np.isfinite(x)) and np.max(np.abs(x)) <= 1.0 + 1e-9


@pytest.mark.parametrize("kind", [k for k in D.TRAIN_NOISES + D.TEST_NOISES if k not in ("babble", "cafe")])
def test_noise_generators(kind):
    fs, n = 16000, 16000
    a = D.make_noise(kind, n, fs, np.random.default_rng(3))
    b = D.make_noise(kind, n, fs, np.random.default_rng(3))
    assert a.shape == (n,) and np.all(np.isfinite(a))
    assert np.std(a) == pytest.approx(1.0, rel=1e-6) and abs(np.mean(a)) < 1e-9
    np.testing.assert_array_equal(a, b)


@needs_tts
@pytest.mark.parametrize("snr", [-5.0, 0.0, 12.5, 30.0])
def test_mixture_snr_is_as_stated_and_reproducible(snr):
    fs = 16000

    def mix():
        rng = np.random.default_rng([9, int(snr * 10) + 100])
        sp = D.SpeechSource("train", fs, rng)
        return D.make_mixture(sp, ("coloured",), fs, 3.0, rng, rirs=[], snr_db=snr)

    clean, noise, info = mix()
    clean2, noise2, _ = mix()
    np.testing.assert_array_equal(clean, clean2)
    np.testing.assert_array_equal(noise, noise2)
    # independent SNR: 10 ms frames whose power is within 40 dB of the loudest count as speech
    p = np.mean(clean[: len(clean) // 160 * 160].reshape(-1, 160) ** 2, axis=1)
    speech_power = p[p > p.max() * 1e-4].mean()
    assert 10 * np.log10(speech_power / np.mean(noise ** 2)) == pytest.approx(snr, abs=0.01)
    assert np.max(np.abs(clean + noise)) <= 0.95 + 1e-9
    assert info["snr_db"] == snr
