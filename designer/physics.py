"""Loudspeaker physics: a lumped-element model of driver + enclosure (Small 1972/1973).

Electrical:  e = Ze*i + Bl*v,            Ze = Re + s*Le
Mechanical:  Bl*i = Zm*v,                Zm = Rms + s*Mms + 1/(s*Cms) + Sd^2 * Zbox
Box (acoustic impedance seen by the back of the cone):
    free-air  Zbox = 0
    sealed    Zbox = 1 / (s*Cab)                         Cab = Vb / (rho c^2)
    vented    Zbox = 1 / (s*Cab + 1/(s*Map) + 1/Ral)     Map = 1/(wb^2 Cab), Ral = QL / (wb Cab)
Excursion x = v/s, so x/e = Bl*Dbox / (Ze*Nm + Bl^2*s*Dbox) with Zbox = Nbox/Dbox and
Nm = (Mms s^2 + Rms s + 1/Cms)*Dbox + s*Sd^2*Nbox.

From it: excursion per volt, input impedance, on-axis pressure, the allowed drive per frequency
(Xmax, amplifier rail, supply current) and a digital excursion filter for time-domain checks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from designer.speaker import C_M_S, RHO_KG_M3, Speaker

P_REF_PA = 20e-6


def _box(spk: Speaker):
    """(Nbox, Dbox) polynomials in s (highest power first) of the box impedance, acoustic units."""
    e = spk.enclosure
    if e.type == "free-air":
        return np.array([0.0]), np.array([1.0])
    cab = e.vb / (RHO_KG_M3 * C_M_S**2)
    if e.type == "sealed":
        return np.array([1.0]), np.array([cab, 0.0])
    wb = 2 * np.pi * e.fb
    map_ = 1 / (wb**2 * cab)
    ral = e.ql / (wb * cab)
    return np.array([map_ * ral, 0.0]), np.array([cab * map_ * ral, map_, ral])


def excursion_tf(spk: Speaker) -> tuple[np.ndarray, np.ndarray]:
    """Analog transfer function x/e (m/V) as (num, den) polynomials in s."""
    d = spk.driver
    nbox, dbox = _box(spk)
    nm = np.polyadd(np.polymul([d.mms, d.rms, 1 / d.cms], dbox), np.polymul([d.sd**2, 0.0], nbox))
    ze = np.array([d.le, d.re]) if d.le > 0 else np.array([d.re])
    den = np.polyadd(np.polymul(ze, nm), np.polymul([d.bl**2, 0.0], dbox))
    num = d.bl * dbox
    # A sealed box puts a factor s in both (the box stiffness): cancel it exactly, or the digital
    # filter would carry a pole at z = 1 that rounding never quite cancels.
    while len(num) > 1 and len(den) > 1 and num[-1] == 0.0 and den[-1] == 0.0:
        num, den = num[:-1], den[:-1]
    return num, den


def _s(freqs_hz) -> np.ndarray:
    return 2j * np.pi * np.asarray(freqs_hz, dtype=np.float64)


def excursion_per_volt(spk: Speaker, freqs_hz) -> np.ndarray:
    """Complex cone excursion per volt of drive, m/V."""
    num, den = excursion_tf(spk)
    s = _s(freqs_hz)
    return np.polyval(num, s) / np.polyval(den, s)


def mechanical_impedance(spk: Speaker, freqs_hz) -> np.ndarray:
    d = spk.driver
    s = _s(freqs_hz)
    nbox, dbox = _box(spk)
    zbox = np.polyval(nbox, s) / np.polyval(dbox, s)
    return d.rms + s * d.mms + 1 / (s * d.cms) + d.sd**2 * zbox


def impedance(spk: Speaker, freqs_hz) -> np.ndarray:
    """Electrical input impedance (complex ohm) of the model."""
    d = spk.driver
    s = _s(freqs_hz)
    return d.re + s * d.le + d.bl**2 / mechanical_impedance(spk, freqs_hz)


def impedance_magnitude(spk: Speaker, freqs_hz) -> np.ndarray:
    """|Z| in ohm: from the measured .zma when the speaker has one (interpolated in log f), else the model."""
    f = np.asarray(freqs_hz, dtype=np.float64)
    if spk.impedance_file is not None:
        from designer.formats import read_curve
        c = read_curve(spk.impedance_file, "impedance")
        return np.interp(np.log(f), np.log(c.freqs_hz), c.values)
    return np.abs(impedance(spk, f))


def pressure_per_volt(spk: Speaker, freqs_hz, distance_m: float = 1.0) -> np.ndarray:
    """Complex on-axis pressure (Pa peak per V peak), half-space radiation (baffled), port included."""
    d = spk.driver
    s = _s(freqs_hz)
    v = s * excursion_per_volt(spk, freqs_hz)
    u = d.sd * v
    if spk.enclosure.type == "vented":
        nbox, dbox = _box(spk)
        cab = spk.enclosure.vb / (RHO_KG_M3 * C_M_S**2)
        map_ = 1 / ((2 * np.pi * spk.enclosure.fb) ** 2 * cab)
        u = u * (1 - (np.polyval(nbox, s) / np.polyval(dbox, s)) / (s * map_))
    return RHO_KG_M3 * s * u / (2 * np.pi * distance_m)


def spl_db(spk: Speaker, freqs_hz, volts_rms: float = 2.83) -> np.ndarray:
    """SPL at 1 m for a sine of volts_rms (dB re 20 uPa)."""
    return 20 * np.log10(np.abs(pressure_per_volt(spk, freqs_hz)) * volts_rms / P_REF_PA)


def excursion_sos(spk: Speaker, fs_hz: float) -> np.ndarray:
    """Digital (bilinear, pre-warped near the resonance) filter from volts to metres, as sos."""
    num, den = excursion_tf(spk)
    z, p, k = signal.tf2zpk(num, den)
    zd, pd, kd = signal.bilinear_zpk(z, p, k, fs_hz)
    return signal.zpk2sos(zd, pd, kd)


@dataclass(frozen=True)
class AllowedLevel:
    """Highest digital sine level per frequency that keeps every limit, and which limit binds."""
    freqs_hz: np.ndarray
    dbfs: np.ndarray                      # min of all constraints and 0 dBFS
    constraints_dbfs: dict[str, np.ndarray]

    @property
    def binding(self) -> np.ndarray:
        names = list(self.constraints_dbfs)
        stack = np.vstack([self.constraints_dbfs[n] for n in names])
        return np.array(names)[np.argmin(stack, axis=0)]

    def binding_ranges(self) -> list[tuple[str, float, float]]:
        """[(constraint, f_lo, f_hi)] runs over the frequency grid, for reports."""
        b = self.binding
        runs, start = [], 0
        for i in range(1, len(b) + 1):
            if i == len(b) or b[i] != b[start]:
                runs.append((str(b[start]), float(self.freqs_hz[start]), float(self.freqs_hz[i - 1])))
                start = i
        return runs


def allowed_level(spk: Speaker, freqs_hz) -> AllowedLevel:
    """Allowed digital peak level (dBFS) per frequency from Xmax, the rail and the current limit."""
    f = np.asarray(freqs_hz, dtype=np.float64)
    amp, d = spk.amplifier, spk.driver
    db = lambda volts: 20 * np.log10(np.asarray(volts) / amp.v_at_full_scale)
    cons = {   # on a tie the first listed is reported as binding
        "rail": np.full_like(f, db(amp.vmax_peak_v)),
        "full-scale": np.zeros_like(f),
        "xmax": db(d.xmax / np.abs(excursion_per_volt(spk, f))),
    }
    if amp.imax_peak_a is not None:
        cons["current"] = db(amp.imax_peak_a * impedance_magnitude(spk, f))
    return AllowedLevel(f, np.min(np.vstack(list(cons.values())), axis=0), cons)


def log_grid(f_lo: float = 10.0, f_hi: float = 24000.0, n: int = 600) -> np.ndarray:
    return np.geomspace(f_lo, f_hi, n)
