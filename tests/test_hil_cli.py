"""The HIL command line: build + hil run end to end on the default emulated board, attaching with
--port (and refusing a board that runs another profile), `board start`, and flashing."""
import os
import re
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from designer.errors import TunerigError
from hil.session import BoardSession
from tunerig.cli import main

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "examples" / "echo4-reference.toml"
SPEAKER = ROOT / "examples" / "ns3-sealed-0.5l.toml"


@pytest.mark.qemu
def test_hil_run_end_to_end(tmp_path, capsys):
    junit, report = tmp_path / "junit.xml", tmp_path / "report"
    rc = main(["hil", "run", "--board", "mps2-an386", "--profile", str(PROFILE), "--speaker", str(SPEAKER),
               "--duration-s", "0.01", "--junit", str(junit), "--report", str(report), "--build-dir", str(tmp_path / "b"),
               "--faults", "drop=1e-4,corrupt=1e-4,duplicate=1e-4", "--seed", "3"])
    out = capsys.readouterr().out
    assert rc == 0, out
    suite = ET.parse(junit).getroot()
    names = {c.get("classname").split(".")[-1] for c in suite.iter("testcase")}
    assert {"handshake", "exact", "ceiling", "rail", "excursion", "latency", "cost"} <= names
    assert suite.get("failures") == "0" and int(suite.get("tests")) > 40
    assert (report / "index.html").is_file() and (report / "cost.png").stat().st_size > 1000
    assert re.search(r"HIL mps2-an386: (\d+)/\1 checks passed", out)
    # The run went through the fault proxy: the link recovered and every vector is still exact.
    exact = [c for c in suite.iter("testcase") if c.get("classname").endswith(".exact")]
    assert len(exact) >= 12 and all(c.find("failure") is None for c in exact)


@pytest.mark.qemu
def test_hil_run_port_refuses_other_firmware(tmp_path, standin_elf, capsys):
    from hil.qemu import QemuBoard
    junit = tmp_path / "j.xml"
    with QemuBoard("mps2-an386", standin_elf("mps2-an386")) as q:
        rc = main(["hil", "run", "--board", "mps2-an386", "--profile", str(PROFILE), "--port", q.url,
                   "--junit", str(junit)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "FAIL handshake" in out and "wrong firmware" in out
    assert ET.parse(junit).getroot().get("failures") == "1"


@pytest.mark.qemu
def test_board_start_prints_url_and_stops(standin_elf):
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from tunerig.cli import main; sys.exit(main())",
                             "board", "start", "netduinoplus2",
                             str(standin_elf("netduinoplus2"))], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, cwd=ROOT)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("socket://127.0.0.1:")
        with BoardSession(url) as s:
            assert s.hello().board_name == "netduinoplus2"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_faults_option_is_checked():
    from hil.cli import _parse_faults
    assert _parse_faults("drop=1e-4,delay=0.1").drop == 1e-4
    with pytest.raises(TunerigError, match="unknown fault 'jitter'"):
        _parse_faults("jitter=1")
    with pytest.raises(TunerigError, match="needs a number"):
        _parse_faults("drop=lots")


def test_build_rejects_bad_board(tmp_path):
    with pytest.raises(TunerigError, match="unknown board 'nope'"):
        from hil.build import build
        build("nope", PROFILE, tmp_path)


def test_flash_emulated_board_explains(tmp_path):
    from hil.flash import flash
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"\x7fELF")
    with pytest.raises(TunerigError, match="emulated: nothing to flash"):
        flash("mps2-an386", elf)


def test_flash_without_probe_is_a_clear_error(tmp_path):
    """Real pyOCD, real probe discovery: this machine has no debug probe attached."""
    pytest.importorskip("pyocd")
    from hil.flash import flash
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"\x7fELF")
    with pytest.raises(TunerigError, match="no debug probe found for board 'nucleo-f446re'"):
        flash("nucleo-f446re", elf)


def test_flash_drives_pyocd(tmp_path, monkeypatch):
    """TEST DOUBLE at the probe boundary only: no real board can be reached here, so the pyOCD
    session is a fake; what is checked is what hil.flash asks pyOCD to do."""
    pytest.importorskip("pyocd")
    import hil.flash as F
    calls = {}

    class FakeTarget:
        def reset(self):
            calls["reset"] = True

    class FakeSession:
        target = FakeTarget()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            calls["closed"] = True

    class FakeConnect:
        @staticmethod
        def session_with_chosen_probe(**kw):
            calls["connect"] = kw
            return FakeSession()

    class FakeProgrammer:
        def __init__(self, session):
            calls["session"] = session

        def program(self, path, file_format=None):
            calls["program"] = (path, file_format)

    monkeypatch.setattr(F, "ConnectHelper", FakeConnect)
    monkeypatch.setattr(F, "FileProgrammer", FakeProgrammer)
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"\x7fELF")
    msg = F.flash("stm32f746g-disco", elf, probe_uid="0669FF")
    assert calls["connect"]["options"]["target_override"] == "stm32f746nghx"
    assert calls["connect"]["unique_id"] == "0669FF"
    assert calls["program"] == (str(elf), "elf") and calls["reset"] and calls["closed"]
    assert "stm32f746g-disco" in msg
