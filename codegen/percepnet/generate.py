"""`generate_pipeline`: a trained PercepNet model (STEM.json + STEM.tflite) -> fixed-point C.

The front end (framing, FFT, bands, pitch, comb filter, gains, post-filter, synthesis) is rendered
from Jinja2 templates (codegen/templates/percepnet/) parameterised by the model's JSON, so the C
rebuilds exactly the band layout, window, pitch range and comb taps the float reference
(designer.percepnet.frontend) used in training. The network comes from codegen.nn.compile into
the subfolder `net/` (named tr_pn_net, recurrent state pairs h*:h*_out).

Number formats (every table states its own in the generated header):
- audio in/out Q15; analysis frames Q31 block-normalised (shift s per frame, exponent tracked);
- spectra int32 with X_fix = X_true * 2^(TR_PN_SPEC_LOG2 + s);
- per-band quantities in the log2 domain, Q16 (int32), which covers the > 100 dB range of band
  energies without 128-bit arithmetic; integer log2 / exp2 by fitted polynomials (Q30 Horner);
- gains Q30; comb taps Q30; twiddles Q30.

The FFT: n_fft = r * 2^m (r odd): r CMSIS-DSP arm_cfft_q31 transforms of length 2^m on the
decimated inputs, twiddles and an r-point DFT (tr_pn_fft.c). Two real frames (X and the comb
output P) share one complex transform (x + j p).
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from codegen.templating import template_env
from designer.errors import InputError, TunerigError
from designer.percepnet.model import CONV_TAPS

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "percepnet"
CMSIS_COMPILER_SHIM = Path(__file__).resolve().parent.parent / "templates" / "mbdp" / "cmsis_compiler.h"
NET_NAME = "tr_pn_net"
LOG2_ZERO_Q16 = -(1 << 28)          # "log2(0)": far below anything a real energy reaches
OLA_FRAC_BITS = 18                  # overlap-add accumulator: y_true * 2^18 (int32)
LOG2_POLY_DEGREE = 6                # |error| 2e-6 in log2, 1.4e-6 relative: the per-band arithmetic;
EXP2_POLY_DEGREE = 5                # 2^x relative error 1e-7 (the pitch search needs neither)
CMSIS_MIN_CFFT, CMSIS_MAX_CFFT = 16, 4096

# target -> (host or Arm, C defines for the whole pipeline). __GNUC_PYTHON__ is CMSIS-DSP's own switch
# for building without CMSIS-Core on a host. On the M55, ARM_MATH_AUTOVECTORIZE keeps CMSIS-DSP's
# scalar Q31 FFT: its Helium FFT rounds differently, and host and board must agree bit for bit
# (the network still uses the Helium kernels).
TARGETS = {
    "host": ("host", ["__GNUC_PYTHON__"]),
    "c99": ("host", ["__GNUC_PYTHON__"]),
    "cortex-m4": ("arm", ["ARM_MATH_LOOPUNROLL"]),
    "cortex-m7": ("arm", ["ARM_MATH_LOOPUNROLL"]),
    "cortex-m33": ("arm", ["ARM_MATH_LOOPUNROLL"]),
    "cortex-m55": ("arm", ["ARM_MATH_LOOPUNROLL", "ARM_MATH_AUTOVECTORIZE"]),
}


def factor_fft(n_fft: int, where="model JSON") -> tuple[int, int]:
    """n_fft = r * 2^m with r odd and 2^m a CMSIS-DSP complex FFT length (16..4096)."""
    n = int(n_fft)
    m = 0
    while n % 2 == 0 and n > 1:
        n //= 2
        m += 1
    r = n
    if not (CMSIS_MIN_CFFT <= 2 ** m <= CMSIS_MAX_CFFT) or r > 15:
        raise InputError(f"n_fft = {n_fft} = {r} x 2^{m}: the fixed-point FFT needs n_fft = r * 2^m with r odd "
                         f"<= 15 and 2^m in {CMSIS_MIN_CFFT}..{CMSIS_MAX_CFFT} (CMSIS-DSP arm_cfft_q31 lengths)",
                         file=where, field="frontend.window_ms (n_fft)")
    return r, m


def _poly_q29(fn, degree) -> list[int]:
    """Least-squares fit on Chebyshev nodes of fn over [0, 1], coefficients Q29 (c0 first): Q29
    keeps every Horner partial sum (at most 2.0 for 2^x) inside int32."""
    k = np.arange(400)
    x = 0.5 - 0.5 * np.cos(np.pi * (k + 0.5) / len(k))
    c = np.polynomial.polynomial.polyfit(x, fn(x), degree)
    return [int(round(v * 2 ** 29)) for v in c]


def _sin_poly_q30() -> list[int]:
    """sin(pi/2 x) on [0, 1] as x * P(x^2): odd coefficients, Q30."""
    k = np.arange(400)
    x = 0.5 - 0.5 * np.cos(np.pi * (k + 0.5) / len(k))
    A = np.stack([x ** (2 * j + 1) for j in range(5)], axis=1)
    c, *_ = np.linalg.lstsq(A, np.sin(0.5 * np.pi * x), rcond=None)
    return [int(round(v * 2 ** 30)) for v in c]


def _q(v, bits, lo=-2 ** 31, hi=2 ** 31 - 1):
    return np.clip(np.round(np.asarray(v, dtype=np.float64) * 2.0 ** bits), lo, hi).astype(np.int64)


def _eps_mantissa(v: float) -> tuple[int, int]:
    """v = m 2^e with the integer m in [2^62, 2^64)."""
    e = int(np.floor(np.log2(v))) - 63
    m = int(round(v / 2.0 ** e))
    return (m, e) if m < 2 ** 64 else (m // 2, e + 1)


def _load_model(model_path):
    from designer.percepnet.engine import PercepNetModel
    m = PercepNetModel(model_path)
    if not m.tflite_path.is_file():
        raise InputError("int8 model not found next to the model description", file=m.tflite_path)
    return m


def c_latency_samples(cfg) -> int:
    """Streaming delay of the C pipeline: (N - H) of overlap-add + the comb look-ahead + (H - 1) of
    hop buffering (output leaves sample by sample at a constant delay), whatever the prefill."""
    return cfg.window_len + cfg.lookahead_len - 1


def pipeline_plan(model, cm) -> dict:
    """Every constant and table of the front end, as Python numbers (also written to plan.json)."""
    from designer.percepnet.frontend import (PITCH_OCTAVE_BIAS, N_PITCH_CANDIDATES, band_centres_bins,
                                             band_matrix, comb_taps, vorbis_window)
    cfg = model.cfg
    where = model.json_path
    N, H, K = cfg.window_len, cfg.hop_len, cfg.n_bands
    r, m = factor_fft(cfg.n_fft, where)
    sub = 2 ** m
    rs = int(np.ceil(np.log2(r))) if r > 1 else 0
    nb = cfg.n_bins
    tmin, tmax, L, M, LA = cfg.pitch_min_lag, cfg.pitch_max_lag, cfg.pitch_corr_len, cfg.comb_order, cfg.lookahead_len
    if L > N:
        raise InputError(f"pitch_corr_ms gives {L} samples, more than the {N}-sample window", file=where,
                         field="frontend.pitch_corr_ms")
    # network I/O
    spec_in = [i for i in cm.inputs]
    if len(spec_in) != 1 or spec_in[0]["size"] != CONV_TAPS * cfg.n_features:
        raise InputError(f"expected one non-state network input of {CONV_TAPS} x {cfg.n_features} features, got "
                         + ", ".join(f"{i['name']}{i['shape']}" for i in spec_in), file=model.tflite_path)
    win = spec_in[0]
    outs = {o["name"]: (k, o) for k, o in enumerate(cm.outputs)}
    for name in ("gains", "strengths"):
        if name not in outs or outs[name][1]["size"] != K:
            raise InputError(f"network output '{name}' with {K} values not found", file=model.tflite_path)
    # bands: per bin, the lower band and its weight (Q15); the upper band gets 1 - w
    W = band_matrix(cfg)
    centres = band_centres_bins(cfg)
    lo = np.zeros(nb, dtype=int)
    wl = np.zeros(nb)
    for k in range(nb):
        nz = np.flatnonzero(W[:, k] > 0)
        b = int(nz[0])
        if b == K - 1:
            b = K - 2
        lo[k] = b
        wl[k] = W[b, k]
        if abs(W[b, k] + W[b + 1, k] - 1.0) > 1e-9 or np.count_nonzero(W[:, k]) > 2:
            raise TunerigError(f"band matrix column {k} is not a two-band interpolation")
    # comb taps for 0..M usable future taps (k < 0 with |k| T <= look-ahead), Q15
    w0 = comb_taps(cfg)
    ks = np.arange(-M, M + 1)
    taps = []
    for nf in range(M + 1):
        w = w0 * ~((ks < 0) & (-ks > nf))
        taps.append(w / w.sum())
    # feature folding: q = round(A v + B), v Q16
    mean, std = model.mean.astype(np.float64), model.std.astype(np.float64)
    scale, zp = win["scale"], win["zero_point"]
    conv = np.ones(cfg.n_features)
    conv[:K] = np.log10(2.0)            # energies come as log2
    a_real = conv / (std * scale)
    b_real = -mean / (std * scale) + zp
    bad = np.flatnonzero(~(std > 0) | ~np.isfinite(a_real) | ~np.isfinite(b_real) | (np.abs(a_real) >= 2.0 ** 31 - 1))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"feature {i}: std {std[i]:.3g} gives the coefficient 1 / (std * input scale) = "
                         f"{a_real[i]:.3g}, which a Q31 integer cannot hold (std must be > 0 and not tiny)",
                         file=getattr(model, "json_path", None), field=f"feature_std[{i}]")
    a_shift = int(np.clip(np.floor(np.log2((2 ** 31 - 1) / np.max(np.abs(a_real)))), 0, 16))
    lags = np.arange(tmin, tmax + 1)
    gk, go = outs["gains"]
    sk, so = outs["strengths"]
    E = int(np.floor(np.log2(N)))      # 2^E / N in (0.5, 1]: the synthesis window scale fits Q31
    F = 30 - 2 * (m + rs)
    p = (H - LA % H) % H
    window = vorbis_window(N)
    plan = dict(
        N=N, H=H, K=K, n_bins=nb, n_features=cfg.n_features, fs=cfg.sample_rate_hz,
        fft_r=r, fft_m=m, fft_sub=sub, fft_rshift=rs,
        spec_log2=30 - m - rs,                  # X_fix = X_true * 2^(spec_log2 + s)
        ola_shift=13 + E + F, ola_frac=OLA_FRAC_BITS,
        tmin=tmin, tmax=tmax, n_lags=len(lags), corr_len=L, corr_off=N - L, M=M, LA=LA,
        buf_len=M * tmax + N + LA, prefill=p, skip_frames=(LA + p) // H,
        latency=c_latency_samples(cfg), n_cand=N_PITCH_CANDIDATES,
        jump_q16=int(round(cfg.viterbi_jump_cost * 65536)),
        beta=cfg.postfilter_beta,
        log2_1pb_q16=int(round(np.log2(1 + cfg.postfilter_beta) * 65536)),
        log2_b_q16=int(round(np.log2(cfg.postfilter_beta) * 65536)),
        log2_eps_feat_q16=int(round(np.log2(1e-10) * 65536)),
        log2_eps_q16=int(round(np.log2(1e-12) * 65536)),
        eps_pitch_m=_eps_mantissa(1e-9 * L * 2.0 ** 60)[0], eps_pitch_e=_eps_mantissa(1e-9 * L * 2.0 ** 60)[1],
        rsqrt_q30=[int(round(2 ** 30 / np.sqrt((i + 64.5) / 256))) for i in range(192)],
        log2_zero_q16=LOG2_ZERO_Q16,
        window_q31=_q(window, 31).tolist(),
        wsyn_q31=_q(window * 2.0 ** E / N, 31).tolist(),
        twiddle_q30=[[int(v) for v in row] for row in np.stack(
            [_q(np.cos(2 * np.pi * np.arange(N) / N), 30, -2 ** 30, 2 ** 30),
             _q(-np.sin(2 * np.pi * np.arange(N) / N), 30, -2 ** 30, 2 ** 30)], axis=1).tolist()],
        wr_q30=[[int(v) for v in row] for row in np.stack(
            [_q(np.cos(2 * np.pi * np.arange(r) / r), 30, -2 ** 30, 2 ** 30),
             _q(np.sin(2 * np.pi * np.arange(r) / r), 30, -2 ** 30, 2 ** 30)], axis=1).tolist()],
        band_lo=lo.tolist(), band_w_q15=_q(wl, 15, 0, 32768).tolist(), band_centres=centres.tolist(),
        comb_taps_q30=[_q(t, 30).tolist() for t in taps],
        pitch_bias_q28=_q(PITCH_OCTAVE_BIAS * np.log2(lags / tmin), 28).tolist(),
        log2_lag_q16=_q(np.log2(lags), 16).tolist(),
        feat_a=_q(a_real, a_shift).tolist(), feat_b=_q(b_real, 16 + a_shift, -2 ** 63, 2 ** 63 - 1).tolist(),
        feat_shift=16 + a_shift,
        log2_poly=_poly_q29(lambda x: np.log2(1 + x), LOG2_POLY_DEGREE),
        exp2_poly=_poly_q29(lambda x: 2.0 ** x, EXP2_POLY_DEGREE),
        sin_poly=_sin_poly_q30(),
        gains_index=gk, strengths_index=sk,
        gains_zp=go["zero_point"], gains_mult_q30=int(round(go["scale"] * 2 ** 30)),
        strengths_zp=so["zero_point"], strengths_mult_q30=int(round(so["scale"] * 2 ** 30)),
        n_outputs=len(cm.outputs), window_zp=zp, window_scale=scale,
        n_states=len(cm.states),
    )
    return plan


def _state_pairs(model) -> list[str]:
    """State pairs from the model JSON's tflite layout: input X fed from output X_out."""
    lay = model.meta.get("tflite") or {}
    ins = [d["name"] for d in lay.get("inputs", [])]
    outs = {d["name"] for d in lay.get("outputs", [])}
    return [f"{n}:{n}_out" for n in ins if f"{n}_out" in outs]


def model_hash(model) -> str:
    h = hashlib.sha256(model.tflite_path.read_bytes() + model.json_path.read_bytes())
    return h.hexdigest()[:16]


def generate_pipeline(model_path, out_dir, target: str = "host", cache_dir=None) -> Path:
    """Generate the whole C pipeline into out_dir (front end + net/ + tr_pn.cmake); returns out_dir.

    Errors in the model (fields the C cannot implement, e.g. an n_fft that does not factor as
    r * 2^m) raise InputError naming the field before any file is written.
    """
    from codegen.cmsis_dsp import CMSISDSP_VERSION, fetch_cmsis_dsp
    from codegen.nn.compile import compile_model
    from codegen.nn.host import kernel_sources
    if target not in TARGETS:
        raise InputError(f"unknown target '{target}'; choose one of {', '.join(TARGETS)}", field="target")
    model = _load_model(model_path)
    factor_fft(model.cfg.n_fft, model.json_path)       # fail before compiling anything
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        cm = compile_model(model.tflite_path, tmp / "net", name=NET_NAME, state=_state_pairs(model) or None)
        plan = pipeline_plan(model, cm)
        dsp = fetch_cmsis_dsp(cache_dir)
        ctx = dict(plan, target=target, model_file=model.tflite_path.name, model_hash=model_hash(model),
                   net=NET_NAME, cmsis_version=CMSISDSP_VERSION, arm=TARGETS[target][0] == "arm")
        env = template_env(TEMPLATES)
        names = sorted(t[:-3] for t in env.list_templates() if t.endswith(".j2") and t.startswith("tr_pn")
                       and not t.startswith("tr_pn.cmake"))
        for n in names:
            (tmp / n).write_text(env.get_template(n + ".j2").render(**ctx))
        shutil.copy(CMSIS_COMPILER_SHIM, tmp / "cmsis_compiler.h")
        ksrc, kinc = kernel_sources()
        own = [out_dir / n for n in names if n.endswith(".c")]
        net = [out_dir / "net" / f"{NET_NAME}.c", out_dir / "net" / f"{NET_NAME}_weights.c"]
        sources = [*own, *net, *dsp.fft_q31_sources, *ksrc]
        include_dirs = [out_dir, out_dir / "net", *dsp.include_dirs, *kinc]
        (tmp / "tr_pn.cmake").write_text(env.get_template("tr_pn.cmake.j2").render(
            **ctx, out_dir=str(out_dir), sources=[str(s) for s in sources],
            own_sources=[str(s) for s in own + net], include_dirs=[str(d) for d in include_dirs],
            defines=TARGETS[target][1]))
        (tmp / "plan.json").write_text(json.dumps({k: v for k, v in plan.items()
                                                   if not isinstance(v, list)}, indent=1) + "\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def source_lists(out_dir, target: str = "host", cache_dir=None) -> tuple[list[Path], list[Path], list[Path], list[str]]:
    """(our sources, third-party sources, include dirs, defines) of a generated pipeline: what
    tr_pn.cmake lists, for the Python build helpers (host runner, board bench)."""
    from codegen.cmsis_dsp import fetch_cmsis_dsp
    from codegen.nn.host import kernel_sources
    out_dir = Path(out_dir)
    dsp = fetch_cmsis_dsp(cache_dir)
    ksrc, kinc = kernel_sources()
    own = sorted(out_dir.glob("tr_pn*.c")) + [out_dir / "net" / f"{NET_NAME}.c", out_dir / "net" / f"{NET_NAME}_weights.c"]
    return own, [*dsp.fft_q31_sources, *ksrc], [out_dir, out_dir / "net", *dsp.include_dirs, *kinc], TARGETS[target][1]


def pipeline_define(pn_dir, name: str) -> str:
    """The value of `#define name ...` in the generated tr_pn.h (string quotes removed)."""
    header = Path(pn_dir) / "tr_pn.h"
    if not header.is_file():
        raise TunerigError(f"{pn_dir}: no tr_pn.h (generate the PercepNet pipeline first)")
    m = re.search(rf"^#define\s+{name}\s+(.+?)\s*$", header.read_text(), re.M)
    if m is None:
        raise TunerigError(f"{header}: no #define {name}")
    return m.group(1).strip('"').rstrip("u")
