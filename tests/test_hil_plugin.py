"""The pytest plugin's `board` fixture (board chosen by --board, default mps2-an386): a connected
session to a freshly built and started board. Without --board-profile the firmware carries the
stand-in DSP; with it, the profile's generated MBDP, checked against codegen's fixed model."""
import numpy as np
import pytest

pytestmark = pytest.mark.qemu


def test_board_fixture_streams(board, standin_model):
    info = board.session.hello()
    assert info.board_name == board.board.name
    x = np.random.default_rng(4).integers(-32768, 32768, 500).astype(np.int16)
    y = board.session.process(x, 100).y_q15
    if board.profile is None:
        assert np.array_equal(y, standin_model(x))
    else:
        from codegen.mbdp_fixed import render_fixed_q15
        assert np.array_equal(y, render_fixed_q15(board.profile, x))
