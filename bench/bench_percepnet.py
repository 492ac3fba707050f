"""Host timing of the PercepNet float reference: front end, float network and int8 (tflite-micro)
network per 10 ms frame. Not a test; run `python bench/bench_percepnet.py [MODEL_STEM]`.

These are host-Python numbers, useful to compare stages with each other, not Cortex-M estimates.
"""
from __future__ import annotations

import time

import numpy as np

from designer.percepnet.engine import SHIPPED_STEM, PercepNetModel
from designer.percepnet.frontend import FrontEnd


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="tunerig bench percepnet", description=__doc__.splitlines()[0])
    ap.add_argument("stem", nargs="?", default=SHIPPED_STEM, help="model stem (default: the shipped model)")
    ap.add_argument("--json", help="write the per-frame timings here")
    args = ap.parse_args(argv)
    m = PercepNetModel(args.stem)
    fe = FrontEnd(m.cfg)
    fs = m.cfg.sample_rate_hz
    x = 0.05 * np.random.default_rng(0).standard_normal(fs * 10)
    t0 = time.perf_counter()
    a = fe.analyse(x)
    feats = ((fe.features(a) - m.mean) / m.std).astype(np.float32)
    t1 = time.perf_counter()
    g, r = m.run_float(feats)
    t2 = time.perf_counter()
    gq, rq = m.run_tflm(feats)
    t3 = time.perf_counter()
    fe.apply_gains(a, g, r)
    t4 = time.perf_counter()
    n = feats.shape[0]
    print(f"{n} frames of {m.cfg.hop_ms:g} ms at {fs} Hz; model {m.meta['params']} weights, "
          f"{m.meta['macs_per_frame']} MACs/frame, {m.meta['tflite']['bytes']} B int8")
    for name, dt in (("analysis+features (vectorised)", t1 - t0), ("float network (numpy, per frame)", t2 - t1),
                     ("int8 network (tflite-micro)", t3 - t2), ("synthesis (vectorised)", t4 - t3)):
        print(f"  {name:34s} {1e6 * dt / n:8.1f} us/frame")
    print(f"  int8 vs float gains: mean |diff| {np.mean(np.abs(g - gq)):.4f}, strengths {np.mean(np.abs(r - rq)):.4f}")
    if args.json:
        import json
        from pathlib import Path
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"frames": int(n), "us_per_frame": {
            "frontend": 1e6 * (t1 - t0) / n, "float_network": 1e6 * (t2 - t1) / n,
            "int8_tflm": 1e6 * (t3 - t2) / n, "synthesis": 1e6 * (t4 - t3) / n}}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
