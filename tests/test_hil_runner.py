"""The regression runner never passes wrong or missing audio: an impostor firmware that claims the
profile (right hash) but computes something else fails 'exact' and 'latency' with the first
differing sample named; a link that dies mid-run fails with 'no output'."""
from pathlib import Path

import numpy as np
import pytest

from designer.profile import load_profile
from hil.build import build, build_firmware
from hil.faultproxy import FaultProxy, Faults
from hil.qemu import QemuBoard
from hil.runner import default_vectors, run_hil
from hil.session import BoardSession
from hil.standin import write_standin_mbdp

pytestmark = pytest.mark.qemu
PROFILE = Path(__file__).resolve().parent.parent / "examples" / "echo4-reference.toml"


@pytest.fixture(scope="module")
def profile():
    return load_profile(PROFILE)


def test_impostor_firmware_fails_exact(profile, tmp_path):
    mbdp = write_standin_mbdp(tmp_path / "impostor", profile_hash=profile.hash())
    fw = build_firmware("mps2-an386", mbdp, tmp_path / "fw")
    vectors = {k: v for k, v in default_vectors(profile, 0.005).items()
               if k in ("music_like", "impulse_full_scale", "silence")}
    with QemuBoard("mps2-an386", fw.elf) as q, BoardSession(q.url) as s:
        rep = run_hil(s, "mps2-an386", profile, vectors=vectors, progress=False)
    by = {(c.check, c.vector): c for c in rep.checks}
    assert by[("handshake", "-")].passed                       # it lies convincingly...
    assert not by[("exact", "music_like")].passed              # ...but its audio is wrong
    assert "first at sample" in by[("exact", "music_like")].message
    assert not by[("latency", "impulse")].passed
    assert by[("exact", "silence")].passed                     # (silence is silence either way)
    assert not rep.passed


def test_link_dying_mid_run_fails_with_no_output(profile, tmp_path):
    fw = build("mps2-an386", profile, tmp_path / "fw")
    vectors = {"a": np.zeros(2000, dtype=np.int16), "b": np.full(4000, 1000, dtype=np.int16)}
    with QemuBoard("mps2-an386", fw.elf) as q:
        with FaultProxy(q.url, to_host=Faults(silent_after=6000)) as px, BoardSession(px.url, reply_timeout_s=1.0) as s:
            rep = run_hil(s, "mps2-an386", profile, vectors=vectors, progress=False)
    exact = [c for c in rep.checks if c.check == "exact"]
    assert exact[0].passed
    assert not exact[1].passed and "no output" in exact[1].message
    assert not rep.passed
