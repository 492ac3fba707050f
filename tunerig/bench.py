"""`tunerig bench NAME [ARGS...]`: run bench/NAME.py (its main(argv)). Benchmarks are commands, not tests."""
from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from designer.errors import InputError

BENCH_DIR = Path(__file__).resolve().parents[1] / "bench"


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("*.py") if not p.name.startswith("_"))


def run(name: str, argv: list[str]) -> int:
    path = BENCH_DIR / f"{name}.py"
    if not path.is_file():
        path = BENCH_DIR / f"bench_{name}.py"
    if not path.is_file():
        raise InputError(f"no benchmark {name!r}; available: {', '.join(available())}")
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return int(mod.main(argv) or 0)


def _cli(args) -> int:
    if args.name == "all":
        return max((run(n, list(args.args)) for n in available()), default=0)
    return run(args.name, list(args.args))


def register(sub) -> None:
    p = sub.add_parser("bench", help="run a benchmark from bench/ (e.g. design, mbdp, hil, nn) or all")
    p.add_argument("name")
    p.add_argument("args", nargs=argparse.REMAINDER, help="passed to the benchmark (e.g. --json FILE)")
    p.set_defaults(func=_cli)
