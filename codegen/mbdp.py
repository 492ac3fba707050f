"""Generate the fixed-point MBDP C module from a profile.

`generate_mbdp(profile, target, out_dir)` renders codegen/templates/mbdp/ into a self-contained C
module (tr_mbdp.h/.c, tr_mbdp_coeffs.h/.c, tr_biquad.h/.c, tr_mbdp.cmake; for the Arm targets also
the CMSIS-DSP biquad sources and our cmsis_compiler.h shim). codegen.mbdp_host builds it for the
host (the `c-host` engine); codegen.mbdp_fixed is its bit-exact Python model.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from codegen.cmsis_dsp import CMSISDSP_VERSION, fetch_cmsis_dsp
from codegen.fixedpoint import Q31_MAX
from codegen.mbdp_fixed import D2, D2X, EF, EF2, EXP2_POLY, HIGH, LOG2_POLY, STD, MbdpPlan, plan_mbdp
from codegen.templating import template_env
from designer.errors import InputError
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
# Samples the filter tree runs over per call (the dynamics then go block segment by block segment):
# fewer biquad calls per sample, for (CHUNK_SAMPLES + 4) * 4 bytes per band buffer.
CHUNK_SAMPLES = 192


def _env():
    return template_env(TEMPLATES, trim_blocks=False)


def _groups(plan: MbdpPlan) -> list[dict]:
    out = []
    for chain in plan.chains() + ([plan.guard] if plan.guard else []):
        for j, (precision, secs) in enumerate(chain.groups()):
            kind = {HIGH: "high", STD: "std", EF: "ef", EF2: "ef2", D2: "d2", D2X: "d2x"}[precision]
            init_arg = max(secs[0].post_shift, 0)      # D2 (post_shift -1) takes no shift
            if chain.name.startswith("hp") and plan.split_h[int(chain.name[2:])]:
                # The fused high-pass branch: rest' = u - 2 h(u) - low, u = in >> init_arg; h in the
                # error-feedback form (efh) or the delta form (d2h).
                kind = "d2h" if precision == D2 else "efh"
                init_arg = plan.headroom if chain.name == "hp0" and plan.highpass is None else 0
            impl = {HIGH: "arm_biquad_cas_df1_32x64_q31", STD: "arm_biquad_cascade_df1_q31", EF: "tr_biquad_ef_q31",
                    EF2: "tr_biquad_ef2_q31", D2: "tr_biquad_d2_q31",
                    D2X: "tr_biquad_d2x_q31"}[precision] if kind not in ("efh", "d2h") \
                else f"tr_biquad_{kind}_q31"
            out.append(dict(
                name=f"{chain.name}_g{j}", chain=chain.name, stages=len(secs), sections=secs,
                coef_len=sum(len(sec.coeffs) for sec in secs),
                post_shift=secs[0].post_shift, precision=precision, kind=kind, init_arg=init_arg,
                inst_type=f"tr_biquad_{kind}_inst", state_type="int64_t" if kind == "high" else "int32_t",
                state_len={"ef": 5, "efh": 5, "ef2": 6, "d2": 7, "d2h": 6, "d2x": 8}.get(kind, 4) * len(secs),
                init=f"tr_biquad_{kind}_init", run=f"tr_biquad_{kind}_q31",
                comment=f"{chain.name}: {len(secs)} x {impl}",
            ))
    return out


def _filter_steps(plan: MbdpPlan, groups: list[dict]) -> list[str]:
    by_chain: dict[str, list[dict]] = {}
    for g in groups:
        by_chain.setdefault(g["chain"], []).append(g)
    steps = []

    def run(chain: str, dest: str, first_src: str = "src"):
        for j, g in enumerate(by_chain.get(chain, [])):
            src = first_src if j == 0 else dest
            steps.append(f"{g['run']}(&S->{g['name']}, {src}, {dest}, n);")

    if plan.highpass is not None:
        run("highpass", "S->rest")
        steps.append("src = S->rest;")
    n_x = len(plan.lp)
    for i in range(n_x):
        run(f"lp{i}", f"S->band[{i}]")
        dest = f"S->band[{n_x}]" if i == n_x - 1 else "S->rest"
        if plan.split_h[i]:
            g, = by_chain[f"hp{i}"]
            steps.append(f"{g['run']}(&S->{g['name']}, src, S->band[{i}], {dest}, n);   /* high-pass = all-pass - low-pass */")
        else:
            run(f"hp{i}", dest)
        run(f"ap{i}", f"S->band[{i}]", f"S->band[{i}]")
        steps.append(f"src = {dest};")
    return steps


def generate_mbdp(profile: Profile, target: str, out_dir, *, cache_dir=None, precise: str = EF,
                  chunk_samples: int = CHUNK_SAMPLES) -> Path:
    """Render the C module for `target` into out_dir (created; files replaced). Returns out_dir.

    chunk_samples: samples the filter tree runs over per call (RAM: 4 bytes per sample and band
    buffer; fewer means more call overhead per sample: 96 costs ~5 instructions per sample more
    than 192 on a Cortex-M4 for a 4-band profile).

    Every problem with the profile (range, stability after quantisation) raises InputError before
    any file is written.
    """
    if target not in TARGETS:
        raise InputError(f"unknown target '{target}'; choose one of {', '.join(TARGETS)}", field="target")
    if not 1 <= int(chunk_samples) <= 4096:
        raise InputError(f"chunk of {chunk_samples} samples: must be 1..4096", field="chunk_samples")
    plan = plan_mbdp(profile, precise=precise)
    cmsis, _ = TARGETS[target]
    out_dir = Path(out_dir).resolve()
    groups = _groups(plan)
    limiters = [*plan.band_limiters, plan.out_limiter]
    ctx = dict(
        target=target, cmsis=cmsis, cmsis_version=CMSISDSP_VERSION, plan=plan, profile=profile,
        hash=profile.hash(), fs=profile.sample_rate_hz, n_bands=plan.n_bands,
        crossovers=" / ".join(f"{f:g}" for f in profile.crossovers_hz), block=plan.block,
        latency=profile.latency_samples, chunk=int(chunk_samples), guard_len=min(plan.block, int(chunk_samples)), groups=groups, limiters=limiters,
        filter_steps=_filter_steps(plan, groups), log2_poly=LOG2_POLY, exp2_poly=EXP2_POLY,
        efh_shifts=sorted({g["init_arg"] for g in groups if g["kind"] == "efh"}),
        d2h_shifts=sorted({g["init_arg"] for g in groups if g["kind"] == "d2h"}),
        fast_gain=[int(f) for f in (plan.fast_gain or (False,) * plan.n_bands)],
        fast_gain_any=any(plan.fast_gain), band_variants=[False, True] if any(plan.fast_gain) else [False],
        guard=plan.guard is not None,
        guard_hold=profile.guard_hold_blocks if plan.guard is not None else 1,
        lim_ks=sorted({lim.k for lim in limiters}),
        guard_steps=[f"{g['run']}(&S->{g['name']}, {'src' if j == 0 else 'S->guard'}, S->guard, n);"
                     for j, g in enumerate(x for x in groups if x["chain"] == "guard")],
        # A guard of one ef group: its last stage keeps only the peak (tr_biquad_ef_peak_q31).
        guard_peak_fused=[g["name"] for g in groups if g["chain"] == "guard"]
        if [g["kind"] for g in groups if g["chain"] == "guard"] == ["ef"] else [],
        # Band limiter outputs are at half the band resolution: |y| <= (T + 1) // 2.
        sum_fits=sum((lim.threshold + 1) // 2 for lim in plan.band_limiters) <= Q31_MAX,
        out_fits=(plan.out_limiter.threshold << (plan.headroom + 1)) <= Q31_MAX,
        out_mulhr=sum((lim.threshold + 1) // 2 for lim in plan.band_limiters) < 2**30,
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
