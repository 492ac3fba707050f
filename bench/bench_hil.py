"""HIL bench: link throughput against the raw UART, per-block cost, flash and RAM, per board.

    tunerig bench hil [--boards a,b] [--profile P] [--rounds N] [--seconds S] [--json FILE] [--png FILE]

Throughput: on each emulated board, many short rounds alternate (so the load other processes put
on the host hits both alike; on a shared 2-core machine single runs vary by 2x) between
  raw echo  the firmware echoes unframed bytes (4 KiB per round); writer and reader concurrent,
            at most 2 KiB in flight (the best setting measured: 1 KiB starves, unbounded stalls);
  harness   BoardSession.process streaming q15 audio (framing, CRC, ACKs, window) through the
            generated MBDP (--seconds of audio per round, default 2048 samples' worth), counted as
            audio payload bytes (2 per sample), one way; each round includes its HELLO/START.
Reported: the ratio of the totals (bytes / seconds summed over rounds), of the upper quartiles, and
of the best rounds; issue 4 asks for >= 80 %. On a loaded host the totals mostly measure the load.
Paired (supplementary, hil/throughput.py): echo on one instance of the board and the harness on
another at the same time, for --paired-s seconds, twice. On a 2-core host the two QEMU instances
also compete with each other, so in practice this is not steadier than the interleaved rounds. Flash/RAM come from arm-none-eabi-size
of the same firmware (for every board, real ones included: they build but cannot run here).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    from tqdm import tqdm

    from designer.profile import load_profile
    from hil.boards import board_names, load_board
    from hil.build import build
    from hil.qemu import QemuBoard
    from hil.runner import instr_per_sample
    from hil.session import BoardSession
    from hil.throughput import paired_throughput

    ap = argparse.ArgumentParser(prog="tunerig bench hil")
    ap.add_argument("--boards", default=",".join(board_names()))
    ap.add_argument("--profile", default=str(ROOT / "examples" / "echo4-reference.toml"))
    ap.add_argument("--rounds", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=2048 / 48000, help="audio per harness round")
    ap.add_argument("--json", default="out/bench_hil.json")
    ap.add_argument("--png", default="out/bench_hil.png")
    ap.add_argument("--build-dir", default="build/bench_hil")
    ap.add_argument("--paired-s", type=float, default=8.0,
                    help="seconds per half of the paired measurement (0: skip it)")
    args = ap.parse_args(argv)

    profile = load_profile(args.profile)
    fs = profile.sample_rate_hz
    x = (np.random.default_rng(0).standard_normal(int(args.seconds * fs)) * 6000).clip(-32768, 32767).astype(np.int16)
    results = {}
    for name in tqdm(args.boards.split(","), desc="boards", unit="board"):
        b = load_board(name)
        fw = build(name, profile, Path(args.build_dir) / name)
        row = {"core": b.core, "emulated": b.emulated, "flash_bytes": fw.flash_bytes, "ram_bytes": fw.ram_bytes,
               "text": fw.text, "data": fw.data, "bss": fw.bss}
        if b.emulated:
            echo_t, harness_t, ips = [], [], []
            echo_n, harness_n = 4096, 2 * x.size
            with QemuBoard(b, fw.elf) as q, BoardSession(q.url) as s:
                hello = s.hello()
                for _ in range(args.rounds):
                    echo_t.append(echo_n / s.echo_throughput(echo_n, max_in_flight=2048))
                    t0 = time.monotonic()
                    res = s.process(x, 128)
                    harness_t.append(time.monotonic() - t0)
                    ips.append(instr_per_sample(b, hello, res.cost_ticks, 128))
            ips = np.concatenate(ips)
            if args.paired_s > 0:
                row["paired"] = paired_throughput(name, fw.elf, x, args.paired_s)
            echo_rate = echo_n * len(echo_t) / sum(echo_t)
            harness_rate = harness_n * len(harness_t) / sum(harness_t)
            row.update({
                "echo_bytes_per_s_per_round": [round(echo_n / t) for t in echo_t],
                "harness_bytes_per_s_per_round": [round(harness_n / t) for t in harness_t],
                "echo_bytes_per_s": round(echo_rate), "harness_bytes_per_s": round(harness_rate),
                "harness_over_echo": round(harness_rate / echo_rate, 3),
                # Rates only ever drop when other processes take the CPU: the best rounds show what
                # the link can do, the upper quartile is a less lucky but still load-robust view.
                "best_round_ratio": round(max(harness_n / t for t in harness_t) / max(echo_n / t for t in echo_t), 3),
                "p75_ratio": round(float(np.percentile([harness_n / t for t in harness_t], 75)
                                         / np.percentile([echo_n / t for t in echo_t], 75)), 3),
                "harness_samples_per_s": round(harness_rate / 2),
                "instr_per_sample_median": round(float(np.median(ips)), 1),
                "instr_per_sample_max": round(float(ips.max()), 1),
            })
        results[name] = row
    out = {"profile": profile.name, "profile_hash": profile.hash(), "boards": results}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    _plot(results, Path(args.png))
    print("| board | core | flash (B) | RAM (B) | paired: raw echo / harness audio (B/s) | harness/echo paired | sequential: total, p75, best round | instr/sample (median) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        if r["emulated"]:
            pr = r.get("paired", {})
            paired = (f"{pr['echo_bytes_per_s']} / {pr['harness_bytes_per_s']} | {pr['harness_over_echo']:.0%}"
                      if pr else "- | -")
            print(f"| {name} | {r['core']} | {r['flash_bytes']} | {r['ram_bytes']} | {paired} | "
                  f"{r['harness_over_echo']:.0%}, {r['p75_ratio']:.0%}, "
                  f"{r['best_round_ratio']:.0%} | {r['instr_per_sample_median']:.0f} |")
        else:
            print(f"| {name} | {r['core']} | {r['flash_bytes']} | {r['ram_bytes']} | (real board) | | | |")
    print(f"wrote {args.json} and {args.png}")
    return 0


def _plot(results: dict, png: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    emu = [n for n, r in results.items() if r["emulated"]]
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.6))
    if emu:
        i = np.arange(len(emu))
        pick = lambda n: results[n]                               # the interleaved-round totals
        ax[0].bar(i - 0.2, [pick(n)["echo_bytes_per_s"] for n in emu], 0.4, label="raw UART echo")
        ax[0].bar(i + 0.2, [pick(n)["harness_bytes_per_s"] for n in emu], 0.4, label="harness audio payload")
        for k, n in enumerate(emu):
            ax[0].text(k + 0.2, pick(n)["harness_bytes_per_s"], f"{pick(n)['harness_over_echo']:.0%}", ha="center",
                       va="bottom", fontsize=8)
        ax[0].set_xticks(i, emu, rotation=20, fontsize=8)
        ax[0].set_ylabel("bytes/s, one way")
        ax[0].legend(fontsize=8)
        ax[0].set_title("link throughput (QEMU, interleaved rounds)")
    names = list(results)
    j = np.arange(len(names))
    ax[1].bar(j - 0.2, [results[n]["flash_bytes"] / 1024 for n in names], 0.4, label="flash")
    ax[1].bar(j + 0.2, [results[n]["ram_bytes"] / 1024 for n in names], 0.4, label="RAM (incl. 4 KiB stack)")
    ax[1].set_xticks(j, names, rotation=20, fontsize=8)
    ax[1].set_ylabel("KiB")
    ax[1].legend(fontsize=8)
    ax[1].set_title("firmware size")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
