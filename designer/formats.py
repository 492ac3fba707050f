"""Readers for measured loudspeaker curves: .zma (impedance) and .frd (response), incl. REW text exports.

Both are text: one point per line, `frequency value [phase_deg]`, separated by white space, commas or
semicolons. Lines starting with `*`, `#`, `;` or `"` (and blank lines) are comments. Two-column files
(no phase) are accepted. Frequencies must increase strictly; every problem names the file and line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from designer.errors import InputError

_COMMENT = ("*", "#", ";", '"', "//")
_SPLIT = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class Curve:
    freqs_hz: np.ndarray
    values: np.ndarray           # ohm (.zma) or dB SPL (.frd)
    phase_deg: np.ndarray | None
    path: Path

    def complex(self) -> np.ndarray:
        """Complex value (impedance); requires phase."""
        if self.phase_deg is None:
            raise InputError("has no phase column; a complex value needs one", file=self.path)
        return self.values * np.exp(1j * np.deg2rad(self.phase_deg))


def read_curve(path, kind: str) -> Curve:
    """kind: 'impedance' (values in ohm, must be > 0) or 'response' (dB SPL)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such {kind} file", file=path)
    rows: list[tuple[int, list[float]]] = []
    ncols = None
    for lineno, raw in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(_COMMENT):
            continue
        fields = [f for f in _SPLIT.split(line) if f]
        try:
            nums = [float(f) for f in fields]
        except ValueError:
            if not rows:      # a header line without a comment marker, before any data
                continue
            raise InputError(f"expected numbers, got {line[:60]!r}", file=path, line=lineno) from None
        if len(nums) < 2:
            raise InputError(f"expected 'frequency value [phase]', got {len(nums)} column(s)", file=path, line=lineno)
        nums = nums[:3]
        if ncols is None:
            ncols = len(nums)
        elif len(nums) != ncols:
            raise InputError(f"has {len(nums)} columns where earlier lines have {ncols}", file=path, line=lineno)
        if not all(np.isfinite(nums)):
            raise InputError("contains NaN or infinity", file=path, line=lineno)
        if nums[0] <= 0:
            raise InputError(f"frequency {nums[0]:g} Hz is not positive", file=path, line=lineno)
        if kind == "impedance" and nums[1] <= 0:
            raise InputError(f"impedance {nums[1]:g} ohm is not positive", file=path, line=lineno)
        if rows and nums[0] <= rows[-1][1][0]:
            raise InputError(f"frequency {nums[0]:g} Hz does not increase (previous {rows[-1][1][0]:g} Hz "
                             f"on line {rows[-1][0]})", file=path, line=lineno)
        rows.append((lineno, nums))
    if len(rows) < 8:
        raise InputError(f"has only {len(rows)} data points; at least 8 are needed", file=path)
    data = np.array([r for _, r in rows])
    return Curve(data[:, 0], data[:, 1], data[:, 2] if ncols == 3 else None, path)


def write_curve(path, freqs_hz, values, phase_deg=None, header: str = "") -> None:
    """Write a .zma/.frd text file (used for simulated measurements and fitted curves)."""
    path = Path(path)
    lines = [f"* {h}" for h in header.splitlines()]
    for i, f in enumerate(freqs_hz):
        cols = [f"{f:.4f}", f"{values[i]:.6f}"] + ([f"{phase_deg[i]:.4f}"] if phase_deg is not None else [])
        lines.append(" ".join(cols))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
