"""Link throughput measured so that host load cancels out (used by bench/bench_hil.py).

On a shared machine the emulated UART's rate swings 2-10x with other processes' load, so
sequential echo-then-stream rounds mostly measure the load. Here the raw echo (16 KiB transfers,
2 KiB in flight) and the harness run at the same time on two instances of the same board (separate
processes: no shared GIL), twice with fresh instances; their rates see the same outside load (but
on 2 cores the two emulators also compete with each other, which adds noise of its own).
"""
from __future__ import annotations

import numpy as np


def _role(board: str, elf: str, role: str, x, seconds: float, queue) -> None:
    """One process, one QEMU board: raw echo or harness streaming, repeated for `seconds`."""
    import time as _t

    from hil.qemu import QemuBoard
    from hil.session import BoardSession

    with QemuBoard(board, elf) as q, BoardSession(q.url) as s:
        s.hello()
        nbytes, spent = 0, 0.0
        end = _t.monotonic() + seconds
        while _t.monotonic() < end:
            if role == "echo":
                rate = s.echo_throughput(16384, max_in_flight=2048)
                nbytes += 16384
                spent += 16384 / rate
            else:
                t0 = _t.monotonic()
                s.process(x, 128)
                spent += _t.monotonic() - t0
                nbytes += 2 * x.size
    queue.put((role, nbytes / spent))


def paired_throughput(board: str, elf, x, seconds: float) -> dict:
    """Echo and harness at the same time on two instances of the same board, twice: whatever load
    the host is under hits both alike, so their ratio is stable where sequential rounds are not."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    rates = {"echo": [], "harness": []}
    for _half in range(2):
        q = ctx.Queue()
        procs = [ctx.Process(target=_role, args=(board, str(elf), role, x, seconds, q)) for role in ("echo", "harness")]
        for p in procs:
            p.start()
        for _ in procs:
            role, rate = q.get(timeout=seconds * 4 + 60)
            rates[role].append(rate)
        for p in procs:
            p.join()
    echo, harness = float(np.mean(rates["echo"])), float(np.mean(rates["harness"]))
    return {"echo_bytes_per_s": round(echo), "harness_bytes_per_s": round(harness),
            "harness_over_echo": round(harness / echo, 3), "halves": {k: [round(v) for v in r] for k, r in rates.items()}}
