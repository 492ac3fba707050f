"""Each bad input gives one clear error naming the file, field or line — and writes nothing."""
import numpy as np
import pytest

from designer.audio import write_wav
from designer.errors import InputError
from designer.formats import read_curve
from designer.speaker import load_speaker
from tunerig.cli import main

GOOD = """[speaker]
name = "t"
re_ohm = 6.0
fs_hz = 80.0
qms = 3.0
qes = 0.6
mms_g = 5.0
sd_cm2 = 30.0
xmax_mm = 3.0
[enclosure]
type = "sealed"
vb_l = 1.0
[amplifier]
vmax_peak_v = 10.0
v_at_full_scale = 10.0
"""


def _spk(tmp_path, text):
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("edit, match", [
    (("re_ohm = 6.0\n", ""), r"re_ohm"),
    (("re_ohm = 6.0", "re_ohm = -6.0"), r"speaker\.re_ohm.*positive"),
    (("re_ohm = 6.0", "re_ohm = nan"), r"speaker\.re_ohm.*finite"),
    (("qes = 0.6", "qes = 0.6\nqts = 0.9"), r"inconsistent T/S parameters"),
    (("mms_g = 5.0", "mms_g = 5.0\nvas_l = 9.0"), r"inconsistent T/S parameters"),
    (('type = "sealed"', 'type = "horn"'), r"enclosure\.type.*unknown enclosure type 'horn'"),
    (("vmax_peak_v = 10.0", "vmax_peak_v = 0.001"), r"cannot reach an audible level"),
    (("xmax_mm = 3.0", "xmax_mm = 3.0\ncolour = 2"), r"unknown key.*colour"),
])
def test_bad_speaker_files(tmp_path, edit, match):
    with pytest.raises(InputError, match=match):
        load_speaker(_spk(tmp_path, GOOD.replace(*edit)))


def test_good_speaker_loads(tmp_path):
    assert load_speaker(_spk(tmp_path, GOOD)).driver.bl > 0


def test_non_monotonic_zma_names_the_line(tmp_path):
    p = tmp_path / "z.zma"
    rows = [f"{f} 8.0 0.0" for f in (10, 20, 30, 40, 50, 45, 60, 70, 80, 90)]
    p.write_text("* header\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"z\.zma:7.*does not increase"):
        read_curve(p, "impedance")


def test_design_cli_error_writes_nothing(tmp_path, capsys):
    out = tmp_path / "profile.toml"
    assert main(["design", str(_spk(tmp_path, GOOD.replace('"sealed"', '"horn"'))), "-o", str(out)]) == 2
    assert "unknown enclosure type" in capsys.readouterr().err
    assert not out.exists()


def test_render_refuses_wrong_sample_rate(tmp_path, capsys):
    from pathlib import Path
    prof = Path(__file__).resolve().parents[1] / "examples" / "echo4-reference.toml"
    write_wav(tmp_path / "in.wav", np.zeros(4410), 44100)
    assert main(["render", str(prof), str(tmp_path / "in.wav"), str(tmp_path / "out.wav")]) == 2
    assert "44100 Hz but 48000 Hz is required" in capsys.readouterr().err
    assert not (tmp_path / "out.wav").exists()
