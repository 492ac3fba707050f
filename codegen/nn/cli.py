"""`tunerig nn ...`: compile an int8 TFLite model to C, verify it against tflite-micro."""
from __future__ import annotations

from pathlib import Path


def _compile(args) -> int:
    from codegen.nn.compile import compile_model
    cm = compile_model(args.model, args.out, name=args.name, state=args.state)
    print(f"{cm.name}: {cm.macs} MACs/invocation, weights {cm.weight_bytes} B, arena {cm.arena_bytes} B "
          f"(no reuse: {cm.plan['unplanned_bytes']} B), state {cm.state_bytes} B")
    for s in cm.states:
        print(f"  state '{s['in_name']}' <- '{s['out_name']}' ({s['size']} values)")
    for f in cm.files:
        print(f"  wrote {f}")
    return 0


def _verify(args) -> int:
    import numpy as np
    from codegen.nn.verify import verify_model
    feats = np.load(args.features) if args.features else None
    rep = verify_model(args.model, n_frames=args.frames, engine=args.engine, build_dir=args.build_dir,
                       state=args.state, features=feats, sanitize=args.sanitize)
    print(rep.summary())
    return 0 if rep.bit_exact else 1


def register(subparsers) -> None:
    """Add `nn compile` and `nn verify`."""
    p = subparsers.add_parser("nn", help="int8 TFLite network -> C on CMSIS-NN kernels")
    sub = p.add_subparsers(dest="nn_command", required=True, metavar="NN_COMMAND")

    c = sub.add_parser("compile", help="generate C (weights, static arena plan, one invoke function)")
    c.add_argument("model", type=Path, help="int8 .tflite file")
    c.add_argument("-o", "--out", type=Path, required=True, help="output directory for the C files")
    c.add_argument("--name", help="C identifier prefix (default: model file stem)")
    c.add_argument("--state", action="append", metavar="IN:OUT",
                   help="recurrent state pair by signature/tensor name (repeatable; default: inputs named *state*)")
    c.set_defaults(func=_compile)

    v = sub.add_parser("verify", help="compare every output of the generated C with tflite-micro")
    v.add_argument("model", type=Path)
    v.add_argument("--frames", type=int, default=1000, help="consecutive frames with state fed back (default 1000)")
    v.add_argument("--engine", default="c-host", help="c-host (gcc on this machine) or board:BOARD")
    v.add_argument("--state", action="append", metavar="IN:OUT")
    v.add_argument("--features", type=Path, help=".npy [frames, input size] float features (single-input models)")
    v.add_argument("--sanitize", action="store_true", help="host build with -fsanitize=address,undefined")
    v.add_argument("--build-dir", type=Path, help="default build/nn_verify/<model>")
    v.set_defaults(func=_verify)
