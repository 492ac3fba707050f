"""The link codec: the Python side (hil/protocol.py) against published COBS examples and zlib, and
against the firmware's C implementation (host build of tr_frame.c / tr_crc32.c) in both directions."""
import zlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from hil import protocol as P
from hil.hostlink import load_host_link


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    return load_host_link(tmp_path_factory.mktemp("hostlink"))


# Examples from Cheshire & Baker, "Consistent Overhead Byte Stuffing" (and its Wikipedia table).
COBS_VECTORS = [
    (b"\x00", b"\x01\x01"),
    (b"\x00\x00", b"\x01\x01\x01"),
    (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33"),
    (b"\x11\x22\x33\x44", b"\x05\x11\x22\x33\x44"),
    (b"\x11\x00\x00\x00", b"\x02\x11\x01\x01\x01"),
    (bytes(range(1, 255)), b"\xff" + bytes(range(1, 255)) + b"\x01"),
    (bytes(range(0, 255)), b"\x01\xff" + bytes(range(1, 255)) + b"\x01"),
]


@pytest.mark.parametrize("raw, enc", COBS_VECTORS)
def test_cobs_published_vectors(raw, enc, host):
    assert P.cobs_encode(raw) == enc
    assert P.cobs_decode(enc) == raw
    assert host.cobs_decode(enc) == raw


def test_crc_matches_zlib(host):
    assert host.crc32(b"123456789") == 0xCBF43926 == zlib.crc32(b"123456789")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_cobs_roundtrip_both_sides(host, data):
    enc = P.cobs_encode(data)
    assert b"\x00" not in enc
    assert P.cobs_decode(enc) == data
    assert host.cobs_decode(enc) == data
    assert host.crc32(data) == zlib.crc32(data)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 255), st.integers(0, 0xFFFF), st.binary(max_size=P.MAX_BODY))
def test_c_and_python_frames_identical(host, msg_type, seq, body):
    wire = P.encode_frame(msg_type, seq, body)
    assert host.encode_frame(msg_type, seq, body) == wire
    frames = list(P.FrameReader().feed(wire))
    assert frames == [P.Frame(msg_type, seq, body)]


def test_damaged_frames_are_rejected():
    original = P.Frame(P.DATA, 7, b"\x01\x02\x03\x04")
    wire = P.encode_frame(original.type, original.seq, original.body)
    for k in range(len(wire) - 1):
        for flip in (0x01, 0x80):
            bad = bytearray(wire)
            bad[k] ^= flip
            assert original not in list(P.FrameReader().feed(bytes(bad)))


def test_reader_resynchronises_after_garbage():
    good = P.encode_frame(P.OUT, 3, b"\x00" * 8)
    r = P.FrameReader()
    out = list(r.feed(b"\x05garbage" + b"\x00" + good))
    assert isinstance(out[0], P.FrameError) and out[-1] == P.Frame(P.OUT, 3, b"\x00" * 8)


def test_out_body_parsing():
    body = (1234).to_bytes(4, "little") + np.array([-32768, 0, 32767], dtype="<i2").tobytes()
    cost, y = P.parse_out(body)
    assert cost == 1234 and y.tolist() == [-32768, 0, 32767]
    with pytest.raises(P.FrameError):
        P.parse_out(body[:-1])
