"""Independent excursion reference for tests: Small's closed-form, normalised transfer functions
(FIELD_NOTES §1.2), built from Qts, fs, Vas/Vb and x0 = Bl*Cms/Re with scipy.signal only. It shares
no code with designer.physics (a lumped-element circuit model), so agreement means something."""
from __future__ import annotations

import numpy as np
from scipy import signal


def excursion_tf_closed_form(spk):
    """(b, a) in s of X/e (m/V) for the speaker's enclosure, ignoring Le (as the closed forms do)."""
    d, e = spk.driver, spk.enclosure
    x0 = d.bl * d.cms / d.re
    ws = 2 * np.pi * d.fs
    if e.type == "free-air":
        return [x0], [1 / ws**2, 1 / (d.qts * ws), 1.0]
    a = d.vas / e.vb
    if e.type == "sealed":
        wc, qtc = ws * np.sqrt(1 + a), d.qts * np.sqrt(1 + a)
        return [x0 / (1 + a)], [1 / wc**2, 1 / (qtc * wc), 1.0]
    ts, tb, ql, qts = 1 / ws, 1 / (2 * np.pi * e.fb), e.ql, d.qts
    num = [x0 * tb**2, x0 * tb / ql, x0]
    den = [ts**2 * tb**2, ts**2 * tb / ql + ts * tb**2 / qts, (a + 1) * tb**2 + ts * tb / (ql * qts) + ts**2,
           tb / ql + ts / qts, 1.0]
    return num, den


def peak_excursion_mm(spk, y: np.ndarray, fs_hz: float) -> float:
    b, a = excursion_tf_closed_form(spk)
    z, p, k = signal.tf2zpk(b, a)
    sos = signal.zpk2sos(*signal.bilinear_zpk(z, p, k, fs_hz))
    return float(np.max(np.abs(signal.sosfilt(sos, y * spk.amplifier.v_at_full_scale)))) * 1e3


def sine_excursion_mm_per_v(spk, f_hz):
    b, a = excursion_tf_closed_form(spk)
    return np.abs(signal.freqs(b, a, worN=2 * np.pi * np.asarray(f_hz))[1]) * 1e3
