"""The MBDP profile: what the designer produces and every later stage consumes.

A profile is human-editable TOML with units in the key names. Loading is strict: unknown keys,
missing keys, wrong types and out-of-range values are errors naming the file and the field.
"""
from __future__ import annotations

import hashlib
import json
import math

import numpy as np
from dataclasses import asdict, dataclass, field
from pathlib import Path

from designer.crossover import check_crossovers
from designer.dynamics import CompressorParams, LimiterParams
from designer.errors import InputError, read_toml

FORMAT_VERSION = 1


@dataclass(frozen=True)
class BandParams:
    compressor: CompressorParams
    limiter: LimiterParams


@dataclass(frozen=True)
class Profile:
    name: str
    sample_rate_hz: int
    block_ms: float
    highpass_hz: float | None          # None: no protective high-pass
    highpass_order: int
    crossovers_hz: tuple[float, ...]
    lookahead_ms: float                # band limiters (identical in every band)
    bands: tuple[BandParams, ...]
    output_limiter: LimiterParams
    output_lookahead_ms: float
    # Excursion guard: side-chain of the full-band limiter. guard_sos maps the digital output
    # (full scale = 1) to predicted cone excursion in units of Xmax; the limiter keeps it within
    # guard_threshold. Empty: no guard.
    guard_sos: tuple[tuple[float, ...], ...] = ()
    guard_threshold: float = 1.0
    # The guard's block peak is held (max over the last guard_hold_ms) so that its gain request does
    # not follow each half-wave of a bass tone (that modulation is distortion). 0: no hold (one block).
    guard_hold_ms: float = 0.0
    notes: dict = field(default_factory=dict, compare=False)   # informational [design] table

    # Derived sizes, in samples/blocks.
    @property
    def block_samples(self) -> int:
        return int(round(self.sample_rate_hz * self.block_ms / 1000.0))

    @property
    def lookahead_blocks(self) -> int:
        return int(round(self.lookahead_ms / self.block_ms))

    @property
    def output_lookahead_blocks(self) -> int:
        return int(round(self.output_lookahead_ms / self.block_ms))

    @property
    def guard_hold_blocks(self) -> int:
        """H: the guard's side-chain bound for block j uses its peaks over blocks j-H+1..j."""
        return max(1, int(round(self.guard_hold_ms / self.block_ms)))

    @property
    def latency_samples(self) -> int:
        """Delay added by the look-ahead limiters (band + output); filters add only phase."""
        return (self.lookahead_blocks + self.output_lookahead_blocks) * self.block_samples

    @property
    def n_bands(self) -> int:
        return len(self.bands)

    def hash(self) -> str:
        """SHA-256 over the processing parameters (not the notes): identifies a profile on a board."""
        d = asdict(self)
        d.pop("notes")
        if not d["guard_hold_ms"]:
            d.pop("guard_hold_ms")      # no hold: the same hash as before the field existed
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


# ---------------------------------------------------------------- validation
_BAND_KEYS = {
    "compressor_threshold_db": (-120.0, 0.0),
    "compressor_ratio": (1.0, 100.0),
    "compressor_knee_db": (0.0, 24.0),
    "compressor_attack_ms": (0.1, 5000.0),
    "compressor_release_ms": (1.0, 10000.0),
    "compressor_makeup_db": (0.0, 24.0),
    "compressor_floor_db": (-60.0, 0.0),
    "limiter_threshold_db": (-60.0, 0.0),
    "limiter_release_ms": (1.0, 10000.0),
}
_OUT_KEYS = {"threshold_db": (-60.0, 0.0), "lookahead_ms": (0.0, 50.0), "release_ms": (1.0, 10000.0)}


def _number(table: dict, key: str, where: str, path, lo=None, hi=None) -> float:
    if key not in table:
        raise InputError(f"missing '{key}' in [{where}]", file=path, field=f"{where}.{key}")
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InputError(f"must be a number, got {v!r}", file=path, field=f"{where}.{key}")
    v = float(v)
    if not math.isfinite(v):
        raise InputError("must be finite", file=path, field=f"{where}.{key}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise InputError(f"{v:g} is outside [{lo:g}, {hi:g}]", file=path, field=f"{where}.{key}")
    return v


def _only(table: dict, allowed, where: str, path) -> None:
    extra = sorted(set(table) - set(allowed))
    if extra:
        raise InputError(f"unknown key(s) {extra} in [{where}]; allowed: {sorted(allowed)}", file=path, field=where)


def profile_from_dict(d: dict, path=None) -> Profile:
    _only(d, {"profile", "highpass", "crossover", "band_limiter", "band", "output_limiter", "excursion_guard",
              "design"}, "top level", path)
    for t in ("profile", "crossover", "band_limiter", "band", "output_limiter"):
        if t not in d:
            raise InputError(f"missing table [{t}]", file=path, field=t)
    p = d["profile"]
    _only(p, {"name", "format_version", "sample_rate_hz", "block_ms"}, "profile", path)
    if p.get("format_version", FORMAT_VERSION) != FORMAT_VERSION:
        raise InputError(f"format_version {p.get('format_version')} is not {FORMAT_VERSION}", file=path, field="profile.format_version")
    fs = _number(p, "sample_rate_hz", "profile", path, 8000, 192000)
    if fs != int(fs):
        raise InputError("must be a whole number of Hz", file=path, field="profile.sample_rate_hz")
    fs = int(fs)
    block_ms = _number(p, "block_ms", "profile", path, 0.1, 20.0)
    block = fs * block_ms / 1000.0
    if abs(block - round(block)) > 1e-9:
        raise InputError(f"{block_ms} ms is {block:g} samples at {fs} Hz; it must be a whole number of samples",
                         file=path, field="profile.block_ms")

    hp = d.get("highpass", {})
    _only(hp, {"frequency_hz", "order"}, "highpass", path)
    hp_hz = None
    hp_order = 4
    if hp:
        hp_hz = _number(hp, "frequency_hz", "highpass", path, 5.0, fs * 0.45)
        hp_order = int(_number(hp, "order", "highpass", path, 2, 4))
        if hp_order not in (2, 4):
            raise InputError(f"order must be 2 or 4, got {hp_order}", file=path, field="highpass.order")

    xo = d["crossover"]
    _only(xo, {"frequencies_hz"}, "crossover", path)
    freqs = xo.get("frequencies_hz")
    if not isinstance(freqs, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in freqs):
        raise InputError("must be a list of numbers", file=path, field="crossover.frequencies_hz")
    try:
        freqs = check_crossovers(freqs, fs)
    except InputError as exc:
        raise InputError(str(exc), file=path, field="crossover.frequencies_hz") from None
    if not 2 <= len(freqs) + 1 <= 8:
        raise InputError(f"{len(freqs) + 1} bands; tunerig supports 2 to 8", file=path, field="crossover.frequencies_hz")

    bl = d["band_limiter"]
    _only(bl, {"lookahead_ms"}, "band_limiter", path)
    lookahead_ms = _number(bl, "lookahead_ms", "band_limiter", path, 0.0, 50.0)

    bands_raw = d["band"]
    if not isinstance(bands_raw, list) or len(bands_raw) != len(freqs) + 1:
        raise InputError(f"{len(freqs)} crossovers need {len(freqs) + 1} [[band]] tables, found "
                         f"{len(bands_raw) if isinstance(bands_raw, list) else 'none'}", file=path, field="band")
    bands = []
    for i, b in enumerate(bands_raw):
        where = f"band {i + 1}"
        _only(b, _BAND_KEYS, where, path)
        v = {k: _number(b, k, where, path, *rng) for k, rng in _BAND_KEYS.items()}
        bands.append(BandParams(
            compressor=CompressorParams(
                threshold_db=v["compressor_threshold_db"], ratio=v["compressor_ratio"],
                knee_db=v["compressor_knee_db"], attack_ms=v["compressor_attack_ms"],
                release_ms=v["compressor_release_ms"], makeup_db=v["compressor_makeup_db"],
                floor_db=v["compressor_floor_db"]),
            limiter=LimiterParams(threshold_db=v["limiter_threshold_db"], release_ms=v["limiter_release_ms"]),
        ))

    ol = d["output_limiter"]
    _only(ol, _OUT_KEYS, "output_limiter", path)
    o = {k: _number(ol, k, "output_limiter", path, *rng) for k, rng in _OUT_KEYS.items()}

    guard = d.get("excursion_guard", {})
    _only(guard, {"sos", "threshold", "hold_ms"}, "excursion_guard", path)
    guard_sos: tuple = ()
    guard_thr = 1.0
    guard_hold_ms = 0.0
    if guard:
        rows = guard.get("sos")
        if (not isinstance(rows, list) or not rows
                or not all(isinstance(r, list) and len(r) == 6 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                                     and math.isfinite(v) for v in r) for r in rows)):
            raise InputError("must be a non-empty list of [b0, b1, b2, 1, a1, a2] rows", file=path, field="excursion_guard.sos")
        for i, r in enumerate(rows):
            if r[3] != 1.0:
                raise InputError(f"row {i + 1}: a0 must be 1", file=path, field="excursion_guard.sos")
            if np.any(np.abs(np.roots([1.0, r[4], r[5]])) >= 1.0):
                raise InputError(f"row {i + 1} is unstable (a pole on or outside the unit circle)", file=path,
                                 field="excursion_guard.sos")
        guard_sos = tuple(tuple(float(v) for v in r) for r in rows)
        guard_thr = _number(guard, "threshold", "excursion_guard", path, 0.05, 1.0)
        if "hold_ms" in guard:
            guard_hold_ms = _number(guard, "hold_ms", "excursion_guard", path, 0.0, 200.0)
            n = guard_hold_ms / block_ms
            if abs(n - round(n)) > 1e-9:
                raise InputError(f"{guard_hold_ms:g} ms must be a whole number of {block_ms:g} ms blocks",
                                 file=path, field="excursion_guard.hold_ms")

    prof = Profile(
        name=str(p.get("name", "unnamed")), sample_rate_hz=fs, block_ms=block_ms,
        highpass_hz=hp_hz, highpass_order=hp_order, crossovers_hz=freqs, lookahead_ms=lookahead_ms,
        bands=tuple(bands),
        output_limiter=LimiterParams(threshold_db=o["threshold_db"], release_ms=o["release_ms"]),
        output_lookahead_ms=o["lookahead_ms"], guard_sos=guard_sos, guard_threshold=guard_thr,
        guard_hold_ms=guard_hold_ms, notes=dict(d.get("design", {})),
    )
    for key, ms in (("band_limiter.lookahead_ms", lookahead_ms), ("output_limiter.lookahead_ms", o["lookahead_ms"])):
        n = ms / block_ms
        if abs(n - round(n)) > 1e-9 or round(n) < 2:
            raise InputError(f"{ms:g} ms must be a whole number (>= 2) of {block_ms:g} ms blocks", file=path, field=key)
    return prof


def load_profile(path) -> Profile:
    return profile_from_dict(read_toml(path, "profile"), Path(path))


# ---------------------------------------------------------------- writing
def _fmt(v) -> str:
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(round(v, 6))
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    raise TypeError(v)


def profile_to_toml(p: Profile) -> str:
    """Human-editable TOML with a comment on what each table does."""
    edges = [p.highpass_hz or 0.0, *p.crossovers_hz, p.sample_rate_hz / 2]
    out = [
        "# tunerig multiband dynamics profile. Units are in the key names; dB values are dBFS",
        "# (a full-scale sine is 0 dBFS). Edit freely: `tunerig plot` shows what a change does.",
        "", "[profile]", f"name = {_fmt(p.name)}", f"format_version = {FORMAT_VERSION}",
        f"sample_rate_hz = {p.sample_rate_hz}",
        f"block_ms = {_fmt(p.block_ms)}  # detectors and gains update once per block",
    ]
    if p.highpass_hz is not None:
        out += ["", "# Protective Butterworth high-pass: nothing below it is worth the excursion it costs.",
                "[highpass]", f"frequency_hz = {_fmt(p.highpass_hz)}", f"order = {p.highpass_order}"]
    out += ["", "# Linkwitz-Riley 4th-order crossover tree with all-pass compensation (flat sum).",
            "[crossover]", f"frequencies_hz = {_fmt(list(p.crossovers_hz))}",
            "", "[band_limiter]", f"lookahead_ms = {_fmt(p.lookahead_ms)}  # same in every band: equal latency"]
    for i, b in enumerate(p.bands):
        c, lim = b.compressor, b.limiter
        out += ["", f"# band {i + 1}: {edges[i]:.0f} - {edges[i + 1]:.0f} Hz", "[[band]]",
                f"compressor_threshold_db = {_fmt(c.threshold_db)}", f"compressor_ratio = {_fmt(c.ratio)}",
                f"compressor_knee_db = {_fmt(c.knee_db)}", f"compressor_attack_ms = {_fmt(c.attack_ms)}",
                f"compressor_release_ms = {_fmt(c.release_ms)}", f"compressor_makeup_db = {_fmt(c.makeup_db)}",
                f"compressor_floor_db = {_fmt(c.floor_db)}",
                f"limiter_threshold_db = {_fmt(lim.threshold_db)}  # peak ceiling of this band",
                f"limiter_release_ms = {_fmt(lim.release_ms)}"]
    ol = p.output_limiter
    out += ["", "# Full-band look-ahead limiter: the amplifier rail.", "[output_limiter]",
            f"threshold_db = {_fmt(ol.threshold_db)}", f"lookahead_ms = {_fmt(p.output_lookahead_ms)}",
            f"release_ms = {_fmt(ol.release_ms)}"]
    if p.guard_sos:
        out += ["", "# Excursion guard: the full-band limiter also keeps predicted cone excursion (this filter,",
                "# digital full scale in, excursion in units of Xmax out) within threshold.", "[excursion_guard]",
                f"threshold = {_fmt(p.guard_threshold)}",
                f"hold_ms = {_fmt(p.guard_hold_ms)}  # peak hold: at least half the longest period it acts on",
                "sos = ["]
        out += [f"  [{', '.join(repr(float(v)) for v in row)}]," for row in p.guard_sos]
        out += ["]"]
    if p.notes:
        out += ["", "# How the designer got here (informational; not used by the processor).", "[design]"]
        out += [f"{k} = {_fmt(v)}" for k, v in p.notes.items()]
    return "\n".join(out) + "\n"


def save_profile(p: Profile, path) -> None:
    """Write atomically: a failed write leaves no half file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(profile_to_toml(p))
    tmp.replace(path)
