"""HIL reports: JUnit XML (for CI) and an HTML page with matplotlib plots (for people)."""
from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from codegen.fixedpoint import q15_to_float
from hil.runner import HilReport, instr_per_sample


def write_junit(rep: HilReport, path) -> Path:
    path = Path(path)
    suite = ET.Element("testsuite", name=f"tunerig-hil.{rep.board.name}", tests=str(len(rep.checks)),
                       failures=str(len(rep.failures)), skipped=str(sum(c.passed is None for c in rep.checks)),
                       time=f"{rep.duration_s:.3f}")
    props = ET.SubElement(suite, "properties")
    for k, v in (("board", rep.board.name), ("url", rep.url), ("profile", rep.profile_name),
                 ("profile_hash", rep.profile_hash), ("build_id", getattr(rep.hello, "build_id", ""))):
        ET.SubElement(props, "property", name=k, value=str(v))
    for c in rep.checks:
        case = ET.SubElement(suite, "testcase", classname=f"{rep.board.name}.{c.check}", name=c.vector)
        if c.passed is False:
            ET.SubElement(case, "failure", message=c.message[:200]).text = c.message
        elif c.passed is None:
            ET.SubElement(case, "skipped", message=c.message)
        else:
            ET.SubElement(case, "system-out").text = c.message
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
    return path


def _plot_vector(v, fs: float, speaker, png: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.arange(v.x_q15.size) / fs * 1e3
    rows = 3 if speaker is not None else 2
    fig, ax = plt.subplots(rows, 1, figsize=(9, 2.2 * rows), sharex=True)
    ax[0].plot(t, q15_to_float(v.x_q15), lw=0.6, label="input")
    ax[0].plot(t, q15_to_float(v.y_q15), lw=0.6, label="board output")
    ax[0].set_ylabel("full scale")
    ax[0].legend(loc="upper right", fontsize=8)
    ax[0].set_title(v.name)
    ax[1].plot(t, v.y_q15.astype(np.int32) - v.ref_q15.astype(np.int32), lw=0.8, color="C3")
    ax[1].set_ylabel("board - fixed\n(q15 LSB)")
    if speaker is not None:
        from scipy import signal as sps

        from designer import physics
        volts = q15_to_float(v.y_q15) * speaker.amplifier.v_at_full_scale
        x_mm = sps.sosfilt(physics.excursion_sos(speaker, fs), volts) * 1e3
        ax[2].plot(t, x_mm, lw=0.6, color="C2")
        for s in (1, -1):
            ax[2].axhline(s * speaker.driver.xmax * 1e3, color="k", ls="--", lw=0.8)
        ax[2].set_ylabel("excursion (mm)")
    ax[-1].set_xlabel("time (ms)")
    fig.tight_layout()
    fig.savefig(png, dpi=90)
    plt.close(fig)


def _plot_cost(rep: HilReport, png: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3))
    for v in rep.vectors:
        ax.plot(instr_per_sample(rep.board, rep.hello, v.result.cost_ticks, v.result.block_len), ".", ms=2, label=v.name)
    unit = "instructions" if rep.hello.cost_kind == "systick" else "cycles"
    ax.set_ylabel(f"{unit} / sample")
    ax.set_xlabel("block")
    ax.set_title(f"per-block cost on {rep.board.name}")
    ax.legend(fontsize=6, ncol=3)
    fig.tight_layout()
    fig.savefig(png, dpi=90)
    plt.close(fig)


def write_html(rep: HilReport, out_dir) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fs = rep.hello.sample_rate_hz
    rows = "\n".join(
        f"<tr class='{'pass' if c.passed else 'skip' if c.passed is None else 'fail'}'><td>{html.escape(c.check)}</td>"
        f"<td>{html.escape(c.vector)}</td><td>{'PASS' if c.passed else 'SKIP' if c.passed is None else 'FAIL'}</td>"
        f"<td>{html.escape(c.message)}</td></tr>" for c in rep.checks)
    figs = []
    if rep.vectors:
        _plot_cost(rep, out / "cost.png")
        figs.append("<h2>Per-block cost</h2><img src='cost.png'>")
    for v in rep.vectors:
        png = f"vector_{v.name}.png"
        _plot_vector(v, fs, rep.speaker, out / png)
        s = v.result.stats
        figs.append(f"<h3>{html.escape(v.name)}</h3><p>{v.x_q15.size} samples in {s.duration_s:.2f} s "
                    f"({v.x_q15.size / max(s.duration_s, 1e-9):.0f} samples/s); {s.retransmitted_blocks} retransmitted "
                    f"blocks, {s.naks} NAKs, {s.bad_frames} damaged frames, {s.restarts} restarts</p><img src='{png}'>")
    verdict = "PASS" if rep.passed else f"FAIL ({len(rep.failures)} failed checks)"
    h = rep.hello
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>tunerig HIL {html.escape(rep.board.name)}</title>
<style>body{{font-family:sans-serif;margin:2em}} td{{padding:2px 8px;vertical-align:top}}
tr.pass td:nth-child(3){{color:#080}} tr.fail td:nth-child(3){{color:#c00;font-weight:bold}} tr.skip td:nth-child(3){{color:#888}}</style>
</head><body><h1>HIL regression: {html.escape(rep.board.description)} — {verdict}</h1>
<p>profile <b>{html.escape(rep.profile_name)}</b> ({rep.profile_hash[:16]}), board at {html.escape(rep.url)},
firmware build {html.escape(getattr(h, 'build_id', ''))}, protocol v{getattr(h, 'version', '?')}, run time {rep.duration_s:.1f} s</p>
<table><tr><th>check</th><th>vector</th><th>result</th><th>details</th></tr>{rows}</table>
{''.join(figs)}</body></html>"""
    path = out / "index.html"
    path.write_text(page)
    return path
