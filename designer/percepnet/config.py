"""The front-end configuration: every number the signal processing depends on, in one place.

It is saved as JSON next to the model so the fixed-point C generator (issue 6) rebuilds exactly the
same band layout, window, pitch range and comb filter as the float reference used in training.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from designer.errors import InputError


@dataclass(frozen=True)
class FrontEndConfig:
    """PercepNet-style front end parameters.

    sample_rate_hz : audio rate (16000 default, 48000 fullband as in the paper)
    window_ms / hop_ms : analysis window (20 ms) and hop (10 ms); the window is the power-complementary
        Vorbis window, used for analysis AND synthesis, so overlap-add reconstructs exactly.
    n_bands : triangular ERB bands with 50 % overlap (centre of band b = edge of bands b-1 and b+1).
    min_band_bins : narrowest centre spacing in FFT bins (low ERB bands would be narrower than a bin).
    pitch_min_hz / pitch_max_hz : pitch search range (RNNoise/Opus style, 62.5-800 Hz).
    pitch_corr_ms : length of the correlation window of the pitch search.
    comb_order : M, the comb filter uses taps k = -M..M at multiples of the pitch period.
    lookahead_ms : future samples available to the comb filter beyond the current window.
    viterbi_jump_cost : transition cost per octave of pitch change in the Viterbi tracker.
    postfilter_beta : b of the envelope post-filter's energy-restoring global gain.
    """

    sample_rate_hz: int = 16000
    window_ms: float = 20.0
    hop_ms: float = 10.0
    n_bands: int = 32
    min_band_bins: int = 1
    pitch_min_hz: float = 62.5
    pitch_max_hz: float = 800.0
    pitch_corr_ms: float = 20.0
    comb_order: int = 5
    lookahead_ms: float = 10.0
    viterbi_jump_cost: float = 0.7
    postfilter_beta: float = 0.02

    # ---- derived sizes (samples, bins) ----
    @property
    def window_len(self) -> int:
        return int(round(self.sample_rate_hz * self.window_ms / 1000.0))

    @property
    def hop_len(self) -> int:
        return int(round(self.sample_rate_hz * self.hop_ms / 1000.0))

    @property
    def n_fft(self) -> int:
        return self.window_len

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def pitch_min_lag(self) -> int:
        return int(round(self.sample_rate_hz / self.pitch_max_hz))

    @property
    def pitch_max_lag(self) -> int:
        return int(round(self.sample_rate_hz / self.pitch_min_hz))

    @property
    def pitch_corr_len(self) -> int:
        return int(round(self.sample_rate_hz * self.pitch_corr_ms / 1000.0))

    @property
    def lookahead_len(self) -> int:
        return int(round(self.sample_rate_hz * self.lookahead_ms / 1000.0))

    @property
    def n_features(self) -> int:
        """log band energies (n_bands) + band pitch coherences (n_bands) + pitch period + pitch correlation."""
        return 2 * self.n_bands + 2

    @property
    def delay_len(self) -> int:
        """Algorithmic delay in samples: (window - hop) of overlap-add plus the comb-filter look-ahead."""
        return self.window_len - self.hop_len + self.lookahead_len

    def validate(self, where="config") -> "FrontEndConfig":
        """Raise InputError naming the field when a value cannot work."""
        def bad(field, msg):
            raise InputError(msg, file=where, field=field)

        if self.sample_rate_hz not in (8000, 16000, 24000, 32000, 48000):
            bad("sample_rate_hz", f"{self.sample_rate_hz} Hz is not supported (8000/16000/24000/32000/48000)")
        if self.window_len != 2 * self.hop_len:
            bad("window_ms", "the window must be exactly two hops (50 % overlap) for exact overlap-add")
        if self.hop_len % 2:
            bad("hop_ms", "hop must be an even number of samples")
        if not 8 <= self.n_bands <= 64:
            bad("n_bands", f"{self.n_bands} bands: use 8..64")
        if not 0 < self.pitch_min_hz < self.pitch_max_hz < self.sample_rate_hz / 4:
            bad("pitch_min_hz", "need 0 < pitch_min_hz < pitch_max_hz < fs/4")
        if not 1 <= self.comb_order <= 10:
            bad("comb_order", "use 1..10")
        if self.lookahead_ms < 0:
            bad("lookahead_ms", "must be >= 0 ms")
        return self

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["derived"] = {
            "window_len": self.window_len, "hop_len": self.hop_len, "n_fft": self.n_fft,
            "n_bins": self.n_bins, "pitch_min_lag": self.pitch_min_lag, "pitch_max_lag": self.pitch_max_lag,
            "pitch_corr_len": self.pitch_corr_len, "lookahead_len": self.lookahead_len,
            "n_features": self.n_features, "delay_len": self.delay_len,
        }
        return d

    def save(self, path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_dict(cls, d: dict, where="config") -> "FrontEndConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names - {"derived"}
        if unknown:
            raise InputError(f"unknown front-end field(s): {', '.join(sorted(unknown))}", file=where)
        kw = {k: v for k, v in d.items() if k in names}
        try:
            cfg = cls(**kw)
        except TypeError as exc:
            raise InputError(str(exc), file=where) from None
        return cfg.validate(where)

    @classmethod
    def load(cls, path) -> "FrontEndConfig":
        path = Path(path)
        if not path.is_file():
            raise InputError("no such front-end config file", file=path)
        try:
            d = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON ({exc.msg})", file=path, line=exc.lineno) from None
        if "frontend" in d:
            d = d["frontend"]
        return cls.from_dict(d, where=path)


FULLBAND_48K = FrontEndConfig(sample_rate_hz=48000, n_bands=34, lookahead_ms=10.0)
