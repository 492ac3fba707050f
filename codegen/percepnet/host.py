"""Build and run the generated PercepNet pipeline on the host: the `c-host` engine.

The runner is a small executable (stdin int16 in, stdout int16 out; argv: call sizes, cycled) so the
same build runs under ASan/UBSan and the tests can cut the stream differently. Builds are cached
under build/percepnet_c/ by a hash of the model files and the generator's code.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from codegen.nn.host import WARN_FLAGS
from codegen.percepnet.generate import TEMPLATES, generate_pipeline, pipeline_define, source_lists
from codegen.templating import template_env
from designer.errors import TunerigError

REPO = Path(__file__).resolve().parents[2]


def _key(src_dir: Path, target: str, sanitize: bool) -> str:
    """Hash of what the executable is made of: every generated file (not tr_pn.cmake, which names
    its own folder), the runner template, the compiler flags and the sources it links from outside
    the generated folder (the CMSIS-NN kernels, the pinned CMSIS-DSP version)."""
    from codegen.cmsis_dsp import CMSISDSP_SHA256
    h = hashlib.sha256(f"{target}:{sanitize}:{' '.join(WARN_FLAGS)}:{CMSISDSP_SHA256}".encode())
    files = [p for p in sorted(src_dir.rglob("*")) if p.is_file() and p.name != "tr_pn.cmake"]
    files += [TEMPLATES / "host_main.c.j2", *sorted((REPO / "firmware" / "cmsis_nn").rglob("*.[chS]"))]
    for p in files:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def compile_host(src_dir: Path, exe: Path, *, sanitize: bool = False, cc: str = "gcc", opt: str = "-O2",
                 target: str = "host", main_template: str = "host_main.c.j2") -> Path:
    """Compile a generated pipeline + a runner (host_main.c.j2: the stream runner; fft_main.c.j2:
    the FFT alone) into `exe`. Our files with -Werror; the third-party CMSIS-DSP sources without
    (their warnings are not ours to fix)."""
    if shutil.which(cc) is None:
        raise TunerigError(f"host C compiler '{cc}' not found (install gcc)")
    env = template_env(TEMPLATES)
    main_c = exe.parent / ("tr_pn_" + main_template[:-3])
    main_c.write_text(env.get_template(main_template).render())
    own, third, incs, defines = source_lists(src_dir, target)
    san = ["-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"] if sanitize else []
    common = [opt, "-ffp-contract=off", *san, *[f"-D{d}" for d in defines], *[f"-I{p}" for p in incs]]
    objs = []
    for src in [*own, main_c, *third]:
        obj = exe.parent / (src.stem + ".o")
        ours = src in own or src == main_c or "cmsis_nn" in str(src)
        flags = WARN_FLAGS if ours else ["-std=c99", "-w"]
        # CMSIS-DSP's radix-4 butterflies left-shift negative values (UB in ISO C, arithmetic on every
        # compiler we use): the sanitizers check our code and the kernels, not that third-party file.
        tu = common if ours else [c for c in common if c not in san]
        r = subprocess.run([cc, *flags, *tu, "-c", str(src), "-o", str(obj)], capture_output=True, text=True)
        if r.returncode != 0:
            raise TunerigError(f"host build of {src.name} failed:\n{r.stderr[-4000:]}")
        objs.append(str(obj))
    r = subprocess.run([cc, *san, *objs, "-o", str(exe), "-lm"], capture_output=True, text=True)
    if r.returncode != 0:
        raise TunerigError(f"host link failed:\n{r.stderr[-4000:]}")
    return exe


def build_host(model_path, build_dir=None, *, sanitize: bool = False) -> Path:
    """Generate (target host) and compile the pipeline runner. Cached by the content of the generated
    code (so any change to the generator, the model or the templates rebuilds). Returns the executable."""
    base = Path(build_dir) if build_dir else REPO / "build" / "percepnet_c"
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".pn-", dir=base))
    try:
        generate_pipeline(model_path, tmp / "src", target="host")
        d = base / f"pn-{_key(tmp / 'src', 'host', sanitize)}"
        exe = d / ("tr_pn_run_san" if sanitize else "tr_pn_run")
        if not exe.is_file():
            compile_host(tmp / "src", tmp / exe.name, sanitize=sanitize)
            if d.is_dir():              # the other variant (sanitized or not) is there: add this one
                os.replace(tmp / exe.name, exe)
            else:
                try:
                    tmp.rename(d)
                except OSError:         # a parallel worker won the race: use its build
                    pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not exe.is_file():
        raise TunerigError(f"host build cache {d} has no {exe.name}; delete the folder and retry")
    return exe


def latency_samples(exe: Path) -> int:
    return int(pipeline_define(exe.parent / "src", "TR_PN_LATENCY_SAMPLES"))


def run_exe(exe: Path, x_int16: np.ndarray, chunks=(160,), trace: Path | None = None) -> np.ndarray:
    """Stream x through the runner; returns the raw (delayed) output, same length."""
    x = np.ascontiguousarray(x_int16, dtype="<i2")
    env = dict(os.environ)
    if trace is not None:
        env["TR_PN_TRACE"] = str(trace)
    p = subprocess.run([str(exe), *map(str, chunks)], input=x.tobytes(), capture_output=True, env=env)
    if p.returncode != 0 or p.stderr:
        raise TunerigError(f"{exe.name} failed (exit {p.returncode}):\n" + p.stderr.decode(errors="replace")[-4000:])
    y = np.frombuffer(p.stdout, dtype="<i2")
    if len(y) != len(x):
        raise TunerigError(f"{exe.name} returned {len(y)} samples for {len(x)}")
    return y.astype(np.int16)


def run_c_host(model_path, x_int16: np.ndarray, *, sanitize: bool = False, chunks=(160,)) -> np.ndarray:
    """Enhance int16 audio with the C pipeline on the host, time-aligned with the input (the
    streaming latency is removed, as the float engines do)."""
    from codegen.fixedpoint import require_q15
    x = require_q15(x_int16, "c-host input")
    exe = build_host(model_path, sanitize=sanitize)
    lat = latency_samples(exe)
    y = run_exe(exe, np.concatenate([x, np.zeros(lat, np.int16)]), chunks)
    return y[lat:]
