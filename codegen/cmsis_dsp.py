"""CMSIS-DSP sources for the Arm targets, fetched on demand into build/cache/ (never committed).

The PyPI source distribution of the `cmsisdsp` Python wrapper carries the full C `Source/` and
`Include/` trees (FIELD_NOTES §3). We pin it by version AND sha256 so every build compiles the same
biquad code, and we fetch it with pip's ordinary client (`pip download --no-binary`).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from designer.errors import TunerigError

CMSISDSP_VERSION = "1.10.3"
CMSISDSP_SHA256 = "307d32298faa7c58db912851027fce35f886fec7eb1a27c4b309ce1a97f47519"

# The only CMSIS-DSP translation units the MBDP needs (biquads and their init functions).
BIQUAD_SOURCES = (
    "Source/FilteringFunctions/arm_biquad_cascade_df1_q31.c",
    "Source/FilteringFunctions/arm_biquad_cascade_df1_init_q31.c",
    "Source/FilteringFunctions/arm_biquad_cascade_df1_32x64_q31.c",
    "Source/FilteringFunctions/arm_biquad_cascade_df1_32x64_init_q31.c",
)

# The Q31 complex FFT the PercepNet front end builds its mixed-radix transform from: arm_cfft_q31,
# set up with the per-length arm_cfft_init_<N>_q31 (the only set-up that also fills the Helium
# instance fields on MVE cores, and it references only that length's tables). Tables live in the
# CommonTables files; on Arm, -ffunction-sections/-fdata-sections + --gc-sections keep only the
# length used (on the host the whole tables file is linked, which is fine).
FFT_Q31_SOURCES = (
    "Source/TransformFunctions/arm_cfft_q31.c",
    "Source/TransformFunctions/arm_cfft_init_q31.c",
    "Source/TransformFunctions/arm_cfft_radix4_q31.c",
    "Source/TransformFunctions/arm_bitreversal.c",
    "Source/TransformFunctions/arm_bitreversal2.c",
    "Source/CommonTables/arm_const_structs.c",
    "Source/CommonTables/arm_common_tables.c",
    "Source/CommonTables/arm_mve_tables.c",
)


@dataclass(frozen=True)
class CmsisDsp:
    root: Path            # the unpacked cmsisdsp-VERSION directory

    @property
    def include_dirs(self) -> tuple[Path, ...]:
        return (self.root / "Include", self.root / "PrivateInclude")

    @property
    def biquad_sources(self) -> tuple[Path, ...]:
        return tuple(self.root / s for s in BIQUAD_SOURCES)

    @property
    def fft_q31_sources(self) -> tuple[Path, ...]:
        return tuple(self.root / s for s in FFT_Q31_SOURCES)


def default_cache_dir() -> Path:
    """build/cache/ at the repository root (overridable with TUNERIG_CACHE for out-of-tree use)."""
    env = os.environ.get("TUNERIG_CACHE")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "build" / "cache"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_cmsis_dsp(cache_dir: Path | None = None) -> CmsisDsp:
    """Return the unpacked, checksum-verified CMSIS-DSP tree, downloading it once if needed."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    root = cache / f"cmsisdsp-{CMSISDSP_VERSION}"
    marker = root / ".tunerig-verified"
    if marker.is_file():
        return CmsisDsp(root)
    dl = cache / "downloads"
    dl.mkdir(parents=True, exist_ok=True)
    archive = dl / f"cmsisdsp-{CMSISDSP_VERSION}.tar.gz"
    if not archive.is_file():
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "--no-build-isolation", "--disable-pip-version-check", "-q", "-d", str(dl),
               f"cmsisdsp=={CMSISDSP_VERSION}"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not archive.is_file():
            raise TunerigError(f"could not fetch cmsisdsp=={CMSISDSP_VERSION} from PyPI (needs network and the "
                               f"'wheel' package): {proc.stderr.strip()[-500:]}")
    digest = _sha256(archive)
    if digest != CMSISDSP_SHA256:
        archive.unlink()
        raise TunerigError(f"{archive}: sha256 {digest} does not match the pinned {CMSISDSP_SHA256}; "
                           "deleted it, run again to re-download")
    tmp = cache / f".cmsisdsp-{CMSISDSP_VERSION}.tmp"
    if tmp.exists():
        import shutil
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers()
                   if m.name.split("/", 1)[-1].startswith(("Include/", "PrivateInclude/", "Source/", "LICENSE"))]
        tar.extractall(tmp, members=members, filter="data")
    unpacked = tmp / f"cmsisdsp-{CMSISDSP_VERSION}"
    if root.exists():
        import shutil
        shutil.rmtree(root)
    unpacked.rename(root)
    tmp.rmdir()
    marker.write_text(CMSISDSP_SHA256 + "\n")
    return CmsisDsp(root)
