"""Limiter ceilings are exact; compressor follows its static curve; processing is causal-block exact."""
import numpy as np

from designer import signals
from designer.dynamics import CompressorParams, LimiterParams, compress, limit, static_curve_db

FS, B = 48000, 48


def test_limiter_never_exceeds_threshold_and_delays_exactly():
    rng = np.random.default_rng(1)
    for thr_db in (-20.0, -6.0, -0.5):
        x = rng.standard_normal(FS) * 0.5
        x[1000:1003] = [1.0, -1.0, 1.0]                       # isolated full-scale spikes
        y = limit(x, B, 2, 1.0, LimiterParams(thr_db, 50.0))
        assert np.max(np.abs(y)) <= 10 ** (thr_db / 20) * (1 + 1e-12)
    quiet = 0.01 * signals.tone(1000, 0.5, FS)
    y = limit(quiet, B, 2, 1.0, LimiterParams(-6.0, 50.0))
    np.testing.assert_allclose(y[2 * B:], quiet[:-2 * B], atol=1e-15)   # idle limiter = pure delay


def test_compressor_settles_on_static_curve():
    p = CompressorParams(-20.0, 4.0, 0.0, 5.0, 50.0, 0.0, -40.0)
    for level_db in (-30.0, -10.0, 0.0):
        x = signals.tone(1000, 2.0, FS, peak_dbfs=level_db)
        y = compress(x, B, 1.0, p)
        out_db = 20 * np.log10(np.max(np.abs(y[-FS // 4:])))
        expected = static_curve_db(np.array([level_db]), p)[0]      # a sine's RMS level = its peak dBFS
        assert abs(out_db - expected) < 0.1, (level_db, out_db, expected)
