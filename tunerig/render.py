"""`tunerig render`: one command for every engine that can run a profile.

    float           designer.mbdp (numpy reference)
    fixed           codegen's bit-exact Python model of the fixed-point C
    c-host          the generated C, built for this machine and called through ctypes
    board:B[@URL]   the generated C on board B (emulated unless URL names a running board)

int16 WAVs take the Q15 path (what boards stream), float32 WAVs the Q31 path. The output WAV has the
input's sample type. A sample rate other than the profile's is an error, never a silent resample.
"""
from __future__ import annotations

import numpy as np

from designer.audio import read_wav, wav_sample_type, write_wav
from designer.errors import InputError
from designer.profile import Profile, load_profile

ENGINES = ("float", "fixed", "c-host", "board:B[@URL]")


def render_samples(profile: Profile, x: np.ndarray, engine: str, *, q15: bool = False) -> np.ndarray:
    """Process float samples in [-1, 1) with the named engine; returns float samples."""
    from codegen import fixedpoint as fx

    if engine == "float":
        from designer.mbdp import render
        return render(profile, x)
    if engine in ("fixed", "c-host") or engine.startswith("board:"):
        xq = fx.float_to_q15(x) if q15 else fx.float_to_q31(x)
        if engine == "fixed":
            from codegen.mbdp_fixed import render_fixed_q15, render_fixed_q31
            yq = render_fixed_q15(profile, xq) if q15 else render_fixed_q31(profile, xq)
        elif engine == "c-host":
            from codegen.mbdp_host import render_c_host_q15, render_c_host_q31
            yq = render_c_host_q15(profile, xq) if q15 else render_c_host_q31(profile, xq)
        else:
            from hil import render_on_board
            from hil.boards import parse_board_engine
            board, url = parse_board_engine(engine)
            if not q15:
                xq = fx.float_to_q15(x)      # boards stream Q15
            yq = render_on_board(board, profile, xq, url=url)
            return fx.q15_to_float(yq)
        return fx.q15_to_float(yq) if q15 else fx.q31_to_float(yq)
    raise InputError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}", field="--engine")


def render_file(profile_path, in_wav, out_wav, engine: str = "float") -> None:
    profile = load_profile(profile_path)
    x, rate = read_wav(in_wav, expected_rate_hz=profile.sample_rate_hz)
    is_int16 = wav_sample_type(in_wav) == "int16"
    y = render_samples(profile, x, engine, q15=is_int16)
    write_wav(out_wav, y, rate, "int16" if is_int16 else "float32")


def _cli(args) -> int:
    render_file(args.profile, args.input, args.output, args.engine)
    print(f"wrote {args.output} ({args.engine})")
    return 0


def register(sub) -> None:
    p = sub.add_parser("render", help="process a WAV through a profile (float, fixed, c-host or a board)")
    p.add_argument("profile")
    p.add_argument("input", help="mono WAV, int16 or float32, at the profile's sample rate")
    p.add_argument("output")
    p.add_argument("--engine", default="float", help=f"one of: {', '.join(ENGINES)} (default float)")
    p.set_defaults(func=_cli)
