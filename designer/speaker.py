"""Speaker description (TOML): Thiele-Small parameters, enclosure, amplifier and design options.

Units are in the key names; internally everything is SI. Missing T/S parameters are derived from the
identities of Small (1972, FIELD_NOTES §1.2); when the user over-determines them and they disagree by
more than 5 %, loading fails naming the parameters and the mismatch. Unknown keys are an error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from designer.errors import InputError, read_toml

RHO_KG_M3 = 1.184      # air density at 25 degC
C_M_S = 346.1          # speed of sound at 25 degC
TOLERANCE = 0.05       # over-determined T/S values must agree this well

# key -> (internal name, scale to SI)
_TS_KEYS = {
    "re_ohm": ("re", 1.0), "fs_hz": ("fs", 1.0), "qms": ("qms", 1.0), "qes": ("qes", 1.0),
    "qts": ("qts", 1.0), "vas_l": ("vas", 1e-3), "mms_g": ("mms", 1e-3), "cms_mm_per_n": ("cms", 1e-3),
    "bl_tm": ("bl", 1.0), "sd_cm2": ("sd", 1e-4), "le_mh": ("le", 1e-3),
}
_SPEAKER_KEYS = set(_TS_KEYS) | {"name", "xmax_mm", "xmax_definition", "xmax_bl_mm", "xmax_c_mm",
                                 "impedance_file", "response_file", "source"}
_ENCLOSURE_KEYS = {"type", "vb_l", "fb_hz", "ql"}
_AMP_KEYS = {"vmax_peak_v", "v_at_full_scale", "imax_peak_a"}
_DESIGN_KEYS = {"sample_rate_hz", "bands", "program"}
ENCLOSURES = ("sealed", "vented", "free-air")
PROGRAMS = ("music", "speech", "pink")


@dataclass(frozen=True)
class Driver:
    """Thiele-Small parameters in SI units (Mms includes air load)."""
    re: float
    fs: float
    qms: float
    qes: float
    qts: float
    vas: float     # m^3
    mms: float     # kg
    cms: float     # m/N
    bl: float      # T*m
    sd: float      # m^2
    le: float      # H (0 when unknown)
    xmax: float    # m, one-way peak
    xmax_definition: str

    @property
    def rms(self) -> float:
        """Mechanical resistance, N*s/m."""
        return 2 * math.pi * self.fs * self.mms / self.qms

    @property
    def x0_m_per_v(self) -> float:
        """Low-frequency excursion per volt in free air: Bl*Cms/Re."""
        return self.bl * self.cms / self.re

    @property
    def efficiency(self) -> float:
        """Reference efficiency eta0 = 4 pi^2 fs^3 Vas / (c^3 Qes)."""
        return 4 * math.pi**2 * self.fs**3 * self.vas / (C_M_S**3 * self.qes)


@dataclass(frozen=True)
class Enclosure:
    type: str
    vb: float | None = None     # m^3
    fb: float | None = None     # Hz
    ql: float = 7.0


@dataclass(frozen=True)
class Amplifier:
    vmax_peak_v: float
    v_at_full_scale: float
    imax_peak_a: float | None = None


@dataclass(frozen=True)
class DesignOptions:
    sample_rate_hz: int = 48000
    bands: int | str = "auto"
    program: str = "music"


@dataclass(frozen=True)
class Speaker:
    name: str
    driver: Driver
    enclosure: Enclosure
    amplifier: Amplifier
    design: DesignOptions = field(default_factory=DesignOptions)
    impedance_file: Path | None = None
    response_file: Path | None = None
    path: Path | None = None


# ---------------------------------------------------------------- T/S identities
# Each identity: (the parameter it yields, the parameters it needs, function). Used both to derive
# missing values and to check over-determined inputs.
def _identities():
    tau = 2 * math.pi
    rc2 = RHO_KG_M3 * C_M_S**2
    return [
        ("qts", ("qes", "qms"), lambda p: p["qes"] * p["qms"] / (p["qes"] + p["qms"])),
        ("qes", ("qts", "qms"), lambda p: p["qts"] * p["qms"] / (p["qms"] - p["qts"]) if p["qms"] > p["qts"] else None),
        ("qms", ("qts", "qes"), lambda p: p["qts"] * p["qes"] / (p["qes"] - p["qts"]) if p["qes"] > p["qts"] else None),
        ("fs", ("mms", "cms"), lambda p: 1 / (tau * math.sqrt(p["mms"] * p["cms"]))),
        ("mms", ("fs", "cms"), lambda p: 1 / ((tau * p["fs"]) ** 2 * p["cms"])),
        ("cms", ("fs", "mms"), lambda p: 1 / ((tau * p["fs"]) ** 2 * p["mms"])),
        ("vas", ("cms", "sd"), lambda p: rc2 * p["cms"] * p["sd"] ** 2),
        ("cms", ("vas", "sd"), lambda p: p["vas"] / (rc2 * p["sd"] ** 2)),
        ("sd", ("vas", "cms"), lambda p: math.sqrt(p["vas"] / (rc2 * p["cms"]))),
        ("qes", ("fs", "mms", "re", "bl"), lambda p: tau * p["fs"] * p["mms"] * p["re"] / p["bl"] ** 2),
        ("bl", ("fs", "mms", "re", "qes"), lambda p: math.sqrt(tau * p["fs"] * p["mms"] * p["re"] / p["qes"])),
        ("mms", ("fs", "bl", "re", "qes"), lambda p: p["qes"] * p["bl"] ** 2 / (tau * p["fs"] * p["re"])),
        ("re", ("fs", "mms", "bl", "qes"), lambda p: p["qes"] * p["bl"] ** 2 / (tau * p["fs"] * p["mms"])),
    ]


_UNIT_KEY = {name: key for key, (name, _) in _TS_KEYS.items()}


def derive_ts(given: dict[str, float], path=None) -> dict[str, float]:
    """Fill in missing T/S parameters from the identities, then check every identity whose inputs are
    all known: a mismatch above 5 % among user-given values is an InputError naming them."""
    p = dict(given)
    changed = True
    while changed:
        changed = False
        for out, needs, fn in _identities():
            if out not in p and all(n in p for n in needs):
                v = fn(p)
                if v is not None and math.isfinite(v) and v > 0:
                    p[out] = v
                    changed = True
    # Every identity whose parameters are all known must hold; those used for deriving hold exactly,
    # so a violation means the user over-determined the set with values that disagree.
    for out, needs, fn in _identities():
        if out in p and all(n in p for n in needs):
            v = fn(p)
            if v is None or abs(v / p[out] - 1) > TOLERANCE:
                names = ", ".join(_UNIT_KEY[n] + ("" if n in given else " (derived)") for n in (*needs, out))
                unit = _TS_KEYS[_UNIT_KEY[out]][1]
                want = "no valid value" if v is None else f"{v / unit:.4g}"
                raise InputError(
                    f"inconsistent T/S parameters ({names}): {_UNIT_KEY[out]} is {p[out] / unit:.4g} "
                    f"but the others imply {want} (mismatch above {TOLERANCE:.0%})",
                    file=path, field=f"speaker.{_UNIT_KEY[out]}")
    return p


# ---------------------------------------------------------------- loading
def _only(table, allowed, where, path):
    extra = sorted(set(table) - set(allowed))
    if extra:
        raise InputError(f"unknown key(s) {extra} in [{where}]; allowed: {sorted(allowed)}", file=path, field=where)


def _pos(table, key, where, path, required=True):
    if key not in table:
        if required:
            raise InputError(f"missing '{key}'", file=path, field=f"{where}.{key}")
        return None
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InputError(f"must be a number, got {v!r}", file=path, field=f"{where}.{key}")
    if not math.isfinite(v):
        raise InputError(f"must be finite, got {v}", file=path, field=f"{where}.{key}")
    if v <= 0:
        raise InputError(f"must be positive, got {v:g}", file=path, field=f"{where}.{key}")
    return float(v)


def speaker_from_dict(d: dict, path=None) -> Speaker:
    base = Path(path).parent if path else Path(".")
    _only(d, {"speaker", "enclosure", "amplifier", "design"}, "top level", path)
    for t in ("speaker", "enclosure", "amplifier"):
        if t not in d:
            raise InputError(f"missing table [{t}]", file=path, field=t)
    s = d["speaker"]
    _only(s, _SPEAKER_KEYS, "speaker", path)
    given = {}
    for key, (name, scale) in _TS_KEYS.items():
        v = _pos(s, key, "speaker", path, required=False)
        if v is not None:
            given[name] = v * scale
    ts = derive_ts(given, path)
    for name, hint in (("re", "re_ohm"), ("fs", "fs_hz"), ("qes", "qes, or qts with qms"),
                       ("qms", "qms, or qts with qes"), ("mms", "mms_g, cms_mm_per_n, or vas_l with sd_cm2"),
                       ("cms", "cms_mm_per_n, mms_g, or vas_l with sd_cm2"), ("bl", "bl_tm, or mms with qes"),
                       ("sd", "sd_cm2")):
        if name not in ts:
            raise InputError(f"cannot determine {_UNIT_KEY[name]} from what is given; provide {hint}",
                             file=path, field=f"speaker.{_UNIT_KEY[name]}")
    xdef = s.get("xmax_definition", "datasheet")
    if xdef not in ("datasheet", "klippel"):
        raise InputError(f"must be 'datasheet' or 'klippel', got {xdef!r}", file=path, field="speaker.xmax_definition")
    xmax = _pos(s, "xmax_mm", "speaker", path, required=False)
    x_bl = _pos(s, "xmax_bl_mm", "speaker", path, required=False)
    x_c = _pos(s, "xmax_c_mm", "speaker", path, required=False)
    if xdef == "klippel" and (x_bl or x_c):
        limits = [v for v in (xmax, x_bl, x_c) if v]
        xmax = min(limits)   # Klippel: the tighter of the Bl (82 %) and compliance (75 %) limits
    if xmax is None:
        raise InputError("missing 'xmax_mm' (one-way peak excursion limit)", file=path, field="speaker.xmax_mm")
    driver = Driver(re=ts["re"], fs=ts["fs"], qms=ts["qms"], qes=ts["qes"], qts=ts["qts"], vas=ts["vas"],
                    mms=ts["mms"], cms=ts["cms"], bl=ts["bl"], sd=ts["sd"], le=ts.get("le", 0.0),
                    xmax=xmax * 1e-3, xmax_definition=xdef)

    e = d["enclosure"]
    _only(e, _ENCLOSURE_KEYS, "enclosure", path)
    etype = e.get("type")
    if etype not in ENCLOSURES:
        raise InputError(f"unknown enclosure type {etype!r}; use one of {list(ENCLOSURES)}", file=path, field="enclosure.type")
    vb = _pos(e, "vb_l", "enclosure", path, required=etype != "free-air")
    fb = _pos(e, "fb_hz", "enclosure", path, required=etype == "vented")
    ql = _pos(e, "ql", "enclosure", path, required=False) or 7.0
    if etype == "free-air" and (vb or fb):
        raise InputError("a free-air driver has no box: remove vb_l / fb_hz", file=path, field="enclosure")
    if etype == "sealed" and fb:
        raise InputError("a sealed box has no port tuning: remove fb_hz", file=path, field="enclosure.fb_hz")
    enclosure = Enclosure(etype, vb * 1e-3 if vb else None, fb, ql)

    a = d["amplifier"]
    _only(a, _AMP_KEYS, "amplifier", path)
    amp = Amplifier(_pos(a, "vmax_peak_v", "amplifier", path), _pos(a, "v_at_full_scale", "amplifier", path),
                    _pos(a, "imax_peak_a", "amplifier", path, required=False))

    g = d.get("design", {})
    _only(g, _DESIGN_KEYS, "design", path)
    fs_rate = g.get("sample_rate_hz", 48000)
    if isinstance(fs_rate, bool) or not isinstance(fs_rate, int) or not 8000 <= fs_rate <= 192000:
        raise InputError(f"must be a whole number of Hz in [8000, 192000], got {fs_rate!r}", file=path, field="design.sample_rate_hz")
    bands = g.get("bands", "auto")
    if bands != "auto" and (isinstance(bands, bool) or not isinstance(bands, int) or not 2 <= bands <= 8):
        raise InputError(f"must be 2..8 or \"auto\", got {bands!r}", file=path, field="design.bands")
    program = g.get("program", "music")
    if program not in PROGRAMS:
        raise InputError(f"must be one of {list(PROGRAMS)}, got {program!r}", file=path, field="design.program")

    def _file(key):
        if key not in s:
            return None
        fp = base / str(s[key])
        if not fp.is_file():
            raise InputError(f"file {fp} does not exist", file=path, field=f"speaker.{key}")
        return fp

    spk = Speaker(name=str(s.get("name", Path(path).stem if path else "speaker")), driver=driver,
                  enclosure=enclosure, amplifier=amp, design=DesignOptions(fs_rate, bands, program),
                  impedance_file=_file("impedance_file"), response_file=_file("response_file"),
                  path=Path(path) if path else None)
    check_audible(spk)
    return spk


def load_speaker(path) -> Speaker:
    return speaker_from_dict(read_toml(path, "speaker"), Path(path))


# Below this the amplifier cannot make the speaker audible in a room (dB SPL at 1 m, midband).
MIN_AUDIBLE_SPL_DB = 60.0


def max_midband_spl_db(spk: Speaker) -> float:
    """Midband SPL at 1 m (half space) at the highest voltage the amplifier delivers."""
    v = min(spk.amplifier.vmax_peak_v, spk.amplifier.v_at_full_scale) / math.sqrt(2)
    watts = v**2 / spk.driver.re
    return 112.0 + 10 * math.log10(spk.driver.efficiency) + 10 * math.log10(watts)


def check_audible(spk: Speaker) -> None:
    spl = max_midband_spl_db(spk)
    if spl < MIN_AUDIBLE_SPL_DB:
        raise InputError(
            f"the amplifier cannot reach an audible level: at most {spl:.1f} dB SPL at 1 m midband "
            f"(vmax_peak_v {spk.amplifier.vmax_peak_v:g} V, v_at_full_scale {spk.amplifier.v_at_full_scale:g} V); "
            f"at least {MIN_AUDIBLE_SPL_DB:.0f} dB is needed", file=spk.path, field="amplifier")


def speaker_to_toml(name: str, ts: dict[str, float], extra: dict | None = None) -> str:
    """TOML [speaker] table from SI T/S values (used by fit-ts)."""
    lines = ["[speaker]", f'name = "{name}"']
    for key, (n, scale) in _TS_KEYS.items():
        if n in ts:
            lines.append(f"{key} = {ts[n] / scale:.5g}")
    for k, v in (extra or {}).items():
        lines.append(f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"')
    return "\n".join(lines) + "\n"
