"""The `c-host` engine: the generated c99 MBDP module compiled by the host gcc and run via ctypes.

Bit-exact with codegen.mbdp_fixed.render_fixed_q31 (the tests check it on every signal). Builds are
cached under build/host/ by a hash of the profile and the generator code; parallel workers never see
a half-written library. `run_sanitized` builds a stdin/stdout executable under ASan/UBSan instead.
"""
from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from codegen.fixedpoint import Q31_MAX, Q31_MIN
from codegen.mbdp import TEMPLATES, WARN_FLAGS, generate_mbdp
from codegen.mbdp_fixed import EF
from designer.errors import InputError, TunerigError
from designer.profile import Profile

_HOST_SHIM = r"""
#include "tr_mbdp.h"
size_t tr_host_instance_size(void) { return sizeof(tr_mbdp_instance_q31); }
"""


def build_host(profile: Profile, build_dir=None, *, sanitize: bool = False, target: str = "c99",
               precise: str = EF) -> Path:
    """Generate the module for `target` (c99 by default) and compile it with the host gcc into a
    shared library (cached by profile hash). With sanitize=True builds an ASan/UBSan executable
    `tr_mbdp_run` instead (stdin: int32 samples, argv[1]: chunk size; stdout: int32 samples)."""
    code = [*sorted(TEMPLATES.iterdir()), Path(__file__), Path(__file__).with_name("mbdp.py"),
            Path(__file__).with_name("mbdp_fixed.py")]
    key = hashlib.sha256(f"{profile.hash()}:{target}:{sanitize}:{precise}".encode()
                         + b"".join(p.read_bytes() for p in code)).hexdigest()[:16]
    base = Path(build_dir) if build_dir else Path(__file__).resolve().parent.parent / "build" / "host"
    d = base / f"mbdp-{key}"
    name = "tr_mbdp_run" if sanitize else "libtr_mbdp.so"
    if (d / name).is_file():
        return d / name
    # Build in a private directory, then rename it into place: parallel test workers never see a
    # half-written library.
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".mbdp-{key}.", dir=base))
    src = generate_mbdp(profile, target, tmp / "src", precise=precise)
    srcs = [str(s) for s in sorted(src.glob("*.c"))]
    flags = [*WARN_FLAGS, "-O2", f"-I{src}"]
    if sanitize:
        (tmp / "run.c").write_text(_RUNNER)
        cmd = ["gcc", *flags, "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
               *srcs, str(tmp / "run.c"), "-o", str(tmp / name)]
    else:
        (tmp / "shim.c").write_text(_HOST_SHIM)
        cmd = ["gcc", *flags, "-fPIC", "-shared", *srcs, str(tmp / "shim.c"), "-o", str(tmp / name)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise TunerigError(f"host build failed: {' '.join(cmd)}\n{proc.stderr}")
    try:
        tmp.rename(d)
    except OSError:                      # another process won the race: use its build
        shutil.rmtree(tmp, ignore_errors=True)
    return d / name


_RUNNER = r"""
#include <stdio.h>
#include <stdlib.h>
#include "tr_mbdp.h"
static tr_mbdp_instance_q31 inst;
int main(int argc, char **argv)
{
    const size_t chunk = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 64u;
    int32_t *in = malloc(chunk * sizeof(int32_t)), *out = malloc(chunk * sizeof(int32_t));
    size_t n;
    if (!in || !out || chunk == 0) return 2;
    tr_mbdp_init_q31(&inst);
    while ((n = fread(in, sizeof(int32_t), chunk, stdin)) > 0) {
        tr_mbdp_process_q31(&inst, in, out, n);
        fwrite(out, sizeof(int32_t), n, stdout);
    }
    free(in);
    free(out);
    return 0;
}
"""


def _check_q31(x) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
        raise InputError(f"expected a 1-D integer array of Q31 samples, got {a.dtype} {a.shape}")
    if a.size and (a.min() < Q31_MIN or a.max() > Q31_MAX):
        raise InputError("Q31 sample out of range")
    return np.ascontiguousarray(a, dtype=np.int32)


class HostMbdp:
    """One instance of the host-built module (ctypes): init on construction, reset(), process_*()."""

    def __init__(self, profile: Profile, *, build_dir=None, precise: str = EF):
        self.lib = ctypes.CDLL(str(build_host(profile, build_dir, precise=precise)))
        self.lib.tr_host_instance_size.restype = ctypes.c_size_t
        self.inst = ctypes.create_string_buffer(self.lib.tr_host_instance_size() + 16)
        self.lib.tr_mbdp_init_q31(self.inst)

    def reset(self) -> None:
        self.lib.tr_mbdp_reset_q31(self.inst)

    def _run(self, fn, x: np.ndarray, ctype, chunk: int | None) -> np.ndarray:
        y = np.zeros_like(x)
        step = max(1, len(x) if not chunk else int(chunk))
        ptr = ctypes.POINTER(ctype)
        for s in range(0, len(x), step):
            xs, ys = x[s:s + step], y[s:s + step]
            fn(self.inst, xs.ctypes.data_as(ptr), ys.ctypes.data_as(ptr), ctypes.c_size_t(len(xs)))
        return y.astype(np.int64)

    def process_q31(self, x_q31, chunk: int | None = None) -> np.ndarray:
        return self._run(self.lib.tr_mbdp_process_q31, _check_q31(x_q31), ctypes.c_int32, chunk)

    def process_q15(self, x_q15, chunk: int | None = None) -> np.ndarray:
        a = np.asarray(x_q15)
        if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer) or (a.size and (a.min() < -32768 or a.max() > 32767)):
            raise InputError("expected a 1-D integer array of Q15 samples")
        return self._run(self.lib.tr_mbdp_process_q15, np.ascontiguousarray(a, dtype=np.int16), ctypes.c_int16, chunk)


def render_c_host_q31(profile: Profile, x_q31, *, chunk: int | None = None, build_dir=None,
                      precise: str = EF) -> np.ndarray:
    """Run the generated C (host gcc, ctypes) over Q31 samples from a fresh instance. chunk: samples
    per process call (default: everything in one call); the result must not depend on it."""
    return HostMbdp(profile, build_dir=build_dir, precise=precise).process_q31(x_q31, chunk)


def render_c_host_q15(profile: Profile, x_q15, *, chunk: int | None = None, build_dir=None,
                      precise: str = EF) -> np.ndarray:
    """As render_c_host_q31 through the module's own tr_mbdp_process_q15."""
    return HostMbdp(profile, build_dir=build_dir, precise=precise).process_q15(x_q15, chunk)


def run_sanitized(profile: Profile, x_q31, chunk: int = 64, build_dir=None) -> np.ndarray:
    """Run the generated c99 module under -fsanitize=address,undefined (a separate executable)."""
    exe = build_host(profile, build_dir, sanitize=True)
    x = _check_q31(x_q31)
    proc = subprocess.run([str(exe), str(chunk)], input=x.tobytes(), capture_output=True)
    if proc.returncode != 0:
        raise TunerigError(f"sanitized run failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return np.frombuffer(proc.stdout, dtype=np.int32).astype(np.int64)
