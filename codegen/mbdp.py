"""Generate the fixed-point MBDP C module from a profile, and run it on the host.

`generate_mbdp(profile, target, out_dir)` renders codegen/templates/mbdp/ into a self-contained C
module (tr_mbdp.h/.c, tr_mbdp_coeffs.h/.c, tr_biquad.h, tr_mbdp.cmake; plus the portable biquads for
`c99`, or the CMSIS-DSP sources and our cmsis_compiler.h shim for the Arm targets).
`render_c_host_q31` compiles that module with the host gcc into a shared library and runs it via
ctypes: the `c-host` engine, bit-exact with codegen.mbdp_fixed.render_fixed_q31.
"""
from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import jinja2
import numpy as np

from codegen.cmsis_dsp import CMSISDSP_VERSION, fetch_cmsis_dsp
from codegen.fixedpoint import Q31_MAX, Q31_MIN, q15_to_q31, q31_to_q15
from codegen.mbdp_fixed import EF, EF2, EXP2_POLY, HIGH, LOG2_POLY, STD, MbdpPlan, plan_mbdp
from designer.errors import InputError, TunerigError
from designer.profile import Profile

TEMPLATES = Path(__file__).resolve().parent / "templates" / "mbdp"

# target -> (uses CMSIS-DSP, gcc -mcpu/-mfpu flags for arm-none-eabi-gcc)
TARGETS = {
    "c99": (False, ()),
    "cortex-m4": (True, ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft")),
    "cortex-m7": (True, ("-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=soft")),
    "cortex-m33": (True, ("-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=soft")),
    "cortex-m55": (True, ("-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard")),
}
CMSIS_DEFINES = ("ARM_MATH_LOOPUNROLL",)
WARN_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror")


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, trim_blocks=False, lstrip_blocks=False)


def _groups(plan: MbdpPlan) -> list[dict]:
    out = []
    for chain in plan.chains() + ([plan.guard] if plan.guard else []):
        for j, (precision, secs) in enumerate(chain.groups()):
            kind = {HIGH: "high", STD: "std", EF: "ef", EF2: "ef2"}[precision]
            impl = {HIGH: "arm_biquad_cas_df1_32x64_q31", STD: "arm_biquad_cascade_df1_q31", EF: "tr_biquad_ef_q31",
                    EF2: "tr_biquad_ef2_q31"}[precision]
            out.append(dict(
                name=f"{chain.name}_g{j}", chain=chain.name, stages=len(secs), sections=secs,
                post_shift=secs[0].post_shift, precision=precision,
                inst_type=f"tr_biquad_{kind}_inst", state_type="int64_t" if kind == "high" else "int32_t",
                state_len={"ef": 5, "ef2": 6}.get(kind, 4) * len(secs),
                init=f"tr_biquad_{kind}_init", run=f"tr_biquad_{kind}_q31",
                comment=f"{chain.name}: {len(secs)} x {impl}",
            ))
    return out


def _filter_steps(plan: MbdpPlan, groups: list[dict]) -> list[str]:
    by_chain: dict[str, list[dict]] = {}
    for g in groups:
        by_chain.setdefault(g["chain"], []).append(g)
    steps = []

    def run(chain: str, dest: str):
        for j, g in enumerate(by_chain[chain]):
            src = "src" if j == 0 else dest
            steps.append(f"{g['run']}(&S->{g['name']}, {src}, {dest}, n);")

    if plan.highpass is not None:
        run("highpass", "S->rest")
        steps.append("src = S->rest;")
    n_x = len(plan.lp)
    for i in range(n_x):
        run(f"lp{i}", f"S->band[{i}]")
        dest = f"S->band[{n_x}]" if i == n_x - 1 else "S->rest"
        run(f"hp{i}", dest)
        steps.append(f"src = {dest};")
    return steps


def generate_mbdp(profile: Profile, target: str, out_dir, *, cache_dir=None, precise: str = EF) -> Path:
    """Render the C module for `target` into out_dir (created; files replaced). Returns out_dir.

    Every problem with the profile (range, stability after quantisation) raises InputError before
    any file is written.
    """
    if target not in TARGETS:
        raise InputError(f"unknown target '{target}'; choose one of {', '.join(TARGETS)}", field="target")
    plan = plan_mbdp(profile, precise=precise)
    cmsis, _ = TARGETS[target]
    out_dir = Path(out_dir).resolve()
    groups = _groups(plan)
    limiters = [*plan.band_limiters, plan.out_limiter]
    ctx = dict(
        target=target, cmsis=cmsis, cmsis_version=CMSISDSP_VERSION, plan=plan, profile=profile,
        hash=profile.hash(), fs=profile.sample_rate_hz, n_bands=plan.n_bands,
        crossovers=" / ".join(f"{f:g}" for f in profile.crossovers_hz), block=plan.block,
        latency=profile.latency_samples, chunk=min(plan.block, 64), groups=groups, limiters=limiters,
        filter_steps=_filter_steps(plan, groups), log2_poly=LOG2_POLY, exp2_poly=EXP2_POLY,
        guard=plan.guard is not None,
        guard_steps=[f"{g['run']}(&S->{g['name']}, {'src' if j == 0 else 'S->guard'}, S->guard, n);"
                     for j, g in enumerate(x for x in groups if x["chain"] == "guard")],
        sum_fits=sum(lim.threshold for lim in plan.band_limiters) <= Q31_MAX,
        out_fits=(plan.out_limiter.threshold << plan.headroom) <= Q31_MAX,
    )
    env = _env()
    files = {"tr_mbdp.h": "tr_mbdp.h.j2", "tr_mbdp.c": "tr_mbdp.c.j2", "tr_mbdp_coeffs.h": "tr_mbdp_coeffs.h.j2",
             "tr_mbdp_coeffs.c": "tr_mbdp_coeffs.c.j2", "tr_biquad.h": "tr_biquad.h.j2",
             "tr_biquad.c": "tr_biquad.c.j2"}
    sources = [out_dir / n for n in files if n.endswith(".c")]
    include_dirs = [out_dir]
    std_source = ""
    if cmsis:
        dsp = fetch_cmsis_dsp(cache_dir)
        sources += list(dsp.biquad_sources)
        include_dirs += list(dsp.include_dirs)
        std_source = str(dsp.biquad_sources[0])
    rendered = {name: env.get_template(t).render(**ctx) for name, t in files.items()}
    rendered["tr_mbdp.cmake"] = env.get_template("tr_mbdp.cmake.j2").render(
        **ctx, out_dir=str(out_dir), sources=[str(s) for s in sources], include_dirs=[str(d) for d in include_dirs],
        defines=list(CMSIS_DEFINES) if cmsis else [], std_biquad_source=std_source)
    # Write everything into a temporary sibling first: a failure leaves no half module behind.
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for name, text in rendered.items():
            (tmp / name).write_text(text)
        if cmsis:
            shutil.copy(TEMPLATES / "cmsis_compiler.h", tmp / "cmsis_compiler.h")
        out_dir.mkdir(exist_ok=True)
        for f in tmp.iterdir():
            f.replace(out_dir / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


# ------------------------------------------------------------------ host build (c-host engine)
_HOST_SHIM = r"""
#include "tr_mbdp.h"
size_t tr_host_instance_size(void) { return sizeof(tr_mbdp_instance_q31); }
"""


def build_host(profile: Profile, build_dir=None, *, sanitize: bool = False, target: str = "c99",
               precise: str = EF) -> Path:
    """Generate the module for `target` (c99 by default) and compile it with the host gcc into a
    shared library (cached by profile hash). With sanitize=True builds an ASan/UBSan executable
    `tr_mbdp_run` instead (stdin: int32 samples, argv[1]: chunk size; stdout: int32 samples)."""
    code = [*sorted(TEMPLATES.iterdir()), Path(__file__), Path(__file__).with_name("mbdp_fixed.py")]
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
