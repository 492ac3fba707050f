"""`tunerig percepnet ...` end to end on small files: oracle improves, enhance writes a file of the
same length, bad input gives exit status 2 and a message naming the file."""
from __future__ import annotations

import numpy as np
import pytest

from designer.audio import read_wav, write_wav
from designer.percepnet.engine import SHIPPED_STEM
from designer.percepnet.metrics import si_sdr_db
from tunerig.cli import main


def _voiced(fs, seconds=1.5):
    t = np.arange(int(fs * seconds)) / fs
    x = sum(np.sin(2 * np.pi * h * 150 * t) / h for h in range(1, 30) if h * 150 < fs / 2)
    return 0.1 * x / np.std(x) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))


def test_oracle_cli(tmp_path):
    fs = 16000
    clean = _voiced(fs)
    noise = 0.05 * np.random.default_rng(0).standard_normal(len(clean))
    write_wav(tmp_path / "c.wav", clean, fs, "float32")
    write_wav(tmp_path / "n.wav", noise, fs, "float32")
    assert main(["percepnet", "oracle", str(tmp_path / "c.wav"), str(tmp_path / "n.wav"),
                 "-o", str(tmp_path / "o.wav")]) == 0
    y, rate = read_wav(tmp_path / "o.wav")
    assert rate == fs and len(y) == len(clean)
    assert si_sdr_db(clean, y) > si_sdr_db(clean, clean + noise) + 5


def test_oracle_cli_rejects_mismatched_lengths(tmp_path, capsys):
    write_wav(tmp_path / "c.wav", np.zeros(8000), 16000)
    write_wav(tmp_path / "n.wav", np.zeros(9000), 16000)
    assert main(["percepnet", "oracle", str(tmp_path / "c.wav"), str(tmp_path / "n.wav"), "-o",
                 str(tmp_path / "o.wav")]) == 2
    assert "n.wav" in capsys.readouterr().err
    assert not (tmp_path / "o.wav").exists()


shipped = pytest.mark.skipif(not SHIPPED_STEM.with_suffix(".tflite").is_file(), reason="no shipped model yet")


@shipped
@pytest.mark.parametrize("case, samples, rate, message", [
    ("rate", np.zeros(16000), 48000, "48000 Hz but the model runs at 16000 Hz"),
    ("short", np.zeros(200), 16000, "too short"),
])
def test_enhance_cli_bad_input(tmp_path, capsys, case, samples, rate, message):
    write_wav(tmp_path / f"{case}.wav", samples, rate)
    code = main(["percepnet", "enhance", str(SHIPPED_STEM.with_suffix(".tflite")), str(tmp_path / f"{case}.wav"),
                 str(tmp_path / "out.wav"), "--engine", "float"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and f"{case}.wav" in err
    assert not (tmp_path / "out.wav").exists()


@shipped
def test_enhance_cli_nan_input(tmp_path, capsys):
    x = np.zeros(16000, np.float32)
    x[77] = np.nan
    from scipy.io import wavfile
    wavfile.write(tmp_path / "nan.wav", 16000, x)
    assert main(["percepnet", "enhance", str(SHIPPED_STEM.with_suffix(".tflite")), str(tmp_path / "nan.wav"),
                 str(tmp_path / "out.wav"), "--engine", "float"]) == 2
    assert "sample 77" in capsys.readouterr().err


@shipped
def test_enhance_cli_float_engine_silence_and_speech(tmp_path):
    fs = 16000
    write_wav(tmp_path / "silence.wav", np.zeros(fs), fs)
    assert main(["percepnet", "enhance", str(SHIPPED_STEM.with_suffix(".tflite")), str(tmp_path / "silence.wav"),
                 str(tmp_path / "s_out.wav"), "--engine", "float"]) == 0
    y, _ = read_wav(tmp_path / "s_out.wav")
    assert len(y) == fs and np.all(y == 0)
    x = _voiced(fs) + 0.01 * np.random.default_rng(1).standard_normal(int(1.5 * fs))
    write_wav(tmp_path / "v.wav", x, fs)
    assert main(["percepnet", "enhance", str(SHIPPED_STEM.with_suffix(".tflite")), str(tmp_path / "v.wav"),
                 str(tmp_path / "v_out.wav"), "--engine", "float"]) == 0
    y, _ = read_wav(tmp_path / "v_out.wav")
    assert len(y) == len(x) and np.all(np.isfinite(y))
