"""Thiele-Small parameters from measured impedance (free air), with the added-mass method.

Model (free-air driver; the voice coil's lossy inductance as Le in series with L2 || R2, the usual
"LR2" model of measurement tools, so eddy-current losses are not mistaken for DC resistance):
    Z(f) = Re + j w Le + j w L2 R2 / (R2 + j w L2) + Res / (1 + j Qms (f/fs - fs/f)),   Res = Re Qms / Qes
Initial values come from the classic graphical method (Re from the low-frequency asymptote, fs at
the impedance peak, Qms and Qes from the sqrt(r0) points); a least-squares fit on log|Z| (and phase,
when the file has it) then refines all five. Each added-mass sweep (known mass m glued to the cone)
lowers the resonance: 1/(2 pi f_m)^2 = Cms (Mms + m), a straight line in m whose slope is Cms and
intercept Cms*Mms. With Sd that gives Bl and Vas.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from designer.errors import InputError
from designer.formats import Curve, read_curve
from designer.speaker import C_M_S, RHO_KG_M3


def impedance_model(f_hz, re, le, fs, qms, qes, l2=0.0, r2=0.0) -> np.ndarray:
    f = np.asarray(f_hz, dtype=np.float64)
    jw = 2j * np.pi * f
    res = re * qms / qes
    lossy = jw * l2 * r2 / (r2 + jw * l2) if l2 > 0 and r2 > 0 else 0.0
    return re + jw * le + lossy + res / (1 + 1j * qms * (f / fs - fs / f))


@dataclass(frozen=True)
class ImpedanceFit:
    re: float
    le: float
    fs: float
    qms: float
    qes: float
    rms_error_db: float
    l2: float = 0.0
    r2: float = 0.0

    @property
    def qts(self) -> float:
        return self.qms * self.qes / (self.qms + self.qes)


def _classic(c: Curve) -> tuple[float, float, float, float]:
    """Graphical estimates: (Re, fs, Qms, Qes)."""
    f, z = c.freqs_hz, c.values
    band = (f >= 10) & (f <= 1000)
    if band.sum() < 5:
        raise InputError("needs points between 10 Hz and 1 kHz to find the resonance", file=c.path)
    i_peak = np.flatnonzero(band)[np.argmax(z[band])]
    fs, zmax = f[i_peak], z[i_peak]
    # Re: the low-frequency asymptote is below the measured range for most sweeps; the minimum above
    # resonance (before the inductance rises) is the usual, slightly high, estimate.
    above = (f > fs) & (f < 20 * fs)
    re = float(np.min(z[above])) if above.any() else float(np.min(z))
    r0 = zmax / re
    if r0 < 1.5:
        raise InputError(f"no clear impedance peak (max/min = {r0:.2f}); is this a free-air sweep?", file=c.path)
    target = re * math.sqrt(r0)
    below_i = np.flatnonzero((f < fs) & (z <= target))
    above_i = np.flatnonzero((f > fs) & (z <= target))
    if not len(below_i) or not len(above_i):
        raise InputError("the sweep does not reach the -3 dB points around resonance; extend its range", file=c.path)
    f1 = np.interp(target, [z[below_i[-1]], z[below_i[-1] + 1]], [f[below_i[-1]], f[below_i[-1] + 1]])
    j = above_i[0]
    f2 = np.interp(target, [z[j], z[j - 1]], [f[j], f[j - 1]])
    fs = math.sqrt(f1 * f2)
    qms = fs * math.sqrt(r0) / (f2 - f1)
    qes = qms / (r0 - 1)
    return re, fs, qms, qes


def fit_impedance(c: Curve) -> ImpedanceFit:
    re0, fs0, qms0, qes0 = _classic(c)
    f = c.freqs_hz
    sel = f <= 20000
    zc = c.complex()[sel] if c.phase_deg is not None else None
    zm = c.values[sel]

    def unpack(p):
        re, fs, qms, qes, le, l2, r2 = np.exp(p)
        return re, le, fs, qms, qes, l2, r2

    def residual(p):
        model = impedance_model(f[sel], *unpack(p))
        r = [20 * np.log10(np.abs(model) / zm)]
        if zc is not None:
            r.append(np.angle(model / zc) * (20 / np.log(10)))   # radians scaled like dB (1 Np ~ 8.7 dB)
        return np.concatenate(r)

    # Inductances start from the rise of |Z| at the top of the sweep.
    top = f[sel][-1]
    l_guess = max(np.sqrt(max(zm[-1] ** 2 - re0**2, 1e-6)) / (2 * np.pi * top), 1e-6)
    p0 = np.log([re0, fs0, qms0, qes0, 0.3 * l_guess, l_guess, max(re0, 1.0)])
    sol = optimize.least_squares(residual, p0, method="trf", x_scale="jac", max_nfev=4000)
    re, le, fs, qms, qes, l2, r2 = unpack(sol.x)
    rms = float(np.sqrt(np.mean(residual(sol.x) ** 2)))
    return ImpedanceFit(float(re), float(le), float(fs), float(qms), float(qes), rms, float(l2), float(r2))


def added_mass(fs_free_hz: float, sweeps: list[tuple[float, float]]) -> tuple[float, float]:
    """(Mms kg, Cms m/N) from the free resonance and [(added mass kg, resonance Hz), ...]."""
    m = np.array([0.0] + [s[0] for s in sweeps])
    y = 1 / (2 * np.pi * np.array([fs_free_hz] + [s[1] for s in sweeps])) ** 2
    slope, intercept = np.polyfit(m, y, 1)
    if slope <= 0 or intercept <= 0:
        raise InputError("added-mass sweeps do not lower the resonance as expected: check the masses and files")
    return intercept / slope, slope


@dataclass(frozen=True)
class TSFit:
    free: ImpedanceFit
    mms: float | None
    cms: float | None
    bl: float | None
    vas: float | None
    sd: float | None
    loaded: list[ImpedanceFit]

    def as_si(self) -> dict[str, float]:
        d = {"re": self.free.re, "fs": self.free.fs, "qms": self.free.qms, "qes": self.free.qes, "qts": self.free.qts}
        if self.free.le > 0:
            d["le"] = self.free.le
        for k in ("mms", "cms", "bl", "vas", "sd"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        return d


def fit_ts(z0_path, added: list[tuple[float, str]] = (), sd_cm2: float | None = None) -> TSFit:
    """Fit the free-air sweep z0_path; each (grams, path) in `added` is an added-mass sweep."""
    if sd_cm2 is not None and not (math.isfinite(sd_cm2) and sd_cm2 > 0):
        raise InputError(f"--sd-cm2 must be a positive area, got {sd_cm2}")
    free = fit_impedance(read_curve(z0_path, "impedance"))
    loaded = []
    for grams, path in added:
        if not (math.isfinite(grams) and grams > 0):
            raise InputError(f"added mass must be positive grams, got {grams}", file=path)
        loaded.append(fit_impedance(read_curve(path, "impedance")))
    mms = cms = bl = vas = None
    if loaded:
        mms, cms = added_mass(free.fs, [(g * 1e-3, fit.fs) for (g, _), fit in zip(added, loaded)])
        bl = math.sqrt(2 * math.pi * free.fs * mms * free.re / free.qes)
        if sd_cm2:
            vas = RHO_KG_M3 * C_M_S**2 * cms * (sd_cm2 * 1e-4) ** 2
    return TSFit(free, mms, cms, bl, vas, sd_cm2 * 1e-4 if sd_cm2 else None, loaded)


def plot_fit(ts: TSFit, z0_path, out_png) -> None:
    """Measured against fitted impedance magnitude and phase."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = read_curve(z0_path, "impedance")
    model = impedance_model(c.freqs_hz, ts.free.re, ts.free.le, ts.free.fs, ts.free.qms, ts.free.qes, ts.free.l2, ts.free.r2)
    fig, ax = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    ax[0].semilogx(c.freqs_hz, c.values, label="measured")
    ax[0].semilogx(c.freqs_hz, np.abs(model), "--", label=f"fit: Re {ts.free.re:.2f} ohm, fs {ts.free.fs:.1f} Hz, "
                   f"Qms {ts.free.qms:.2f}, Qes {ts.free.qes:.2f}")
    ax[0].set_ylabel("|Z| (ohm)")
    ax[0].legend(fontsize=8)
    if c.phase_deg is not None:
        ax[1].semilogx(c.freqs_hz, c.phase_deg, label="measured")
    ax[1].semilogx(c.freqs_hz, np.degrees(np.angle(model)), "--", label="fit")
    ax[1].set_ylabel("phase (deg)")
    ax[1].set_xlabel("frequency (Hz)")
    ax[1].legend(fontsize=8)
    for a in ax:
        a.grid(True, which="both", alpha=0.3)
    fig.suptitle(f"fit-ts: {c.path.name} (rms error {ts.free.rms_error_db:.2f} dB)")
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
