"""The `tunerig` console command: a thin layer of subcommands over importable functions.

Each stage owns its subcommands in its own `cli.py` with a `register(subparsers)` function;
this module only collects them and turns `TunerigError` into a one-line message and exit code 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from designer.errors import TunerigError

# Stage modules that contribute subcommands, in data-flow order.
STAGE_CLIS = (
    "designer.cli",
    "designer.evaluate_cli",
    "designer.percepnet.cli",
    "codegen.cli",
    "codegen.nn.cli",
    "hil.cli",
    "tunerig.render",
    "tunerig.bench",
    "tunerig.demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tunerig",
        description="Fit loudspeaker dynamics, generate fixed-point C, build firmware and test it on boards.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in STAGE_CLIS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except TunerigError as exc:
        print(f"tunerig {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return int(result or 0)
