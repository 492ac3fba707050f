"""Subcommands of the codegen stage: `tunerig generate`."""
from __future__ import annotations

from pathlib import Path


def _generate(args) -> int:
    from codegen.mbdp import generate_mbdp
    from codegen.mbdp_fixed import plan_mbdp
    from designer.profile import load_profile

    profile = load_profile(args.profile)
    out = generate_mbdp(profile, args.target, Path(args.out), precise=args.precise)
    plan = plan_mbdp(profile, precise=args.precise)
    kinds = {}
    for chain in plan.chains():
        for s in chain.sections:
            kinds[s.precision] = kinds.get(s.precision, 0) + 1
    print(f"{out}: {profile.name} for {args.target}, {plan.n_bands} bands, "
          f"{sum(kinds.values())} biquads ({', '.join(f'{n} {k}' for k, n in kinds.items())}), "
          f"{plan.headroom} headroom bits, latency {profile.latency_samples} samples")
    return 0


def register(subparsers) -> None:
    """Add this stage's subcommands to the tunerig parser."""
    from codegen.mbdp import TARGETS
    from codegen.mbdp_fixed import EF, HIGH

    p = subparsers.add_parser(
        "generate", help="fixed-point C for a profile's multiband dynamics processor",
        description="Render the MBDP of a profile into a self-contained C module (tr_mbdp.h/.c, coefficients, "
                    "tr_mbdp.cmake). Arm targets use CMSIS-DSP biquads, fetched once into build/cache/.")
    p.add_argument("profile", help="profile TOML (e.g. examples/echo4-reference.toml)")
    p.add_argument("--target", required=True, choices=sorted(TARGETS))
    p.add_argument("-o", "--out", required=True, help="output directory (created)")
    p.add_argument("--precise", choices=[EF, HIGH], default=EF,
                   help=f"biquad form for low-frequency sections: {EF} (error feedback, default) or "
                        f"{HIGH} (CMSIS arm_biquad_cas_df1_32x64_q31)")
    p.set_defaults(func=_generate)
