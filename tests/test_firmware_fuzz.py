"""Fuzzing the firmware's protocol parser and dispatcher (firmware/src/tr_link.c + tr_frame.c,
built for the host): hypothesis drives it through ctypes (UBSan build), and a batch of mutated
streams goes through an AddressSanitizer build. Properties: no crash, no hang (every call returns
promptly), every reply is a well-formed frame, and no block is ever processed twice or out of order."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hil import protocol as P
from hil.hostlink import build_fuzz_driver, load_host_link, run_fuzz_driver

REPLY_TYPES = {P.HELLO_ACK, P.START_ACK, P.OUT, P.ECHO_ACK, P.CAL_ACK, P.STATS_ACK, P.BOOT, P.NAK, P.FAULT}


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    return load_host_link(tmp_path_factory.mktemp("hostlink-fuzz"))


def _frames(reply: bytes) -> list:
    out = list(P.FrameReader(max_frame=1 << 20).feed(reply))
    bad = [f for f in out if not isinstance(f, P.Frame)]
    assert not bad, f"board emitted damaged frames: {bad[:3]}"
    assert all(f.type in REPLY_TYPES for f in out)
    return out


def _valid_frame():
    return st.one_of(
        st.builds(lambda s: P.encode_frame(P.HELLO, s), st.integers(0, 0xFFFF)),
        st.builds(lambda s, n: P.encode_frame(P.START, s, n.to_bytes(2, "little")), st.integers(0, 0xFFFF),
                  st.integers(0, 300)),
        st.builds(lambda s, b: P.encode_frame(P.DATA, s, b), st.integers(0, 12), st.binary(max_size=P.MAX_BODY)),
        st.builds(lambda s, n: P.encode_frame(P.CAL, s, n.to_bytes(4, "little")), st.integers(0, 0xFFFF),
                  st.integers(0, 1000)),
        st.builds(lambda s, b: P.encode_frame(s, 0, b), st.integers(0, 255).filter(lambda t: t not in (P.HANG, P.ECHO)),
                  st.binary(max_size=40)),
    )


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    b = bytearray(data)
    for _ in range(int(rng.integers(0, 4))):
        if not b:
            break
        k = int(rng.integers(0, len(b)))
        op = int(rng.integers(0, 4))
        if op == 0:
            b[k] ^= int(rng.integers(1, 256))
        elif op == 1:
            del b[k]
        elif op == 2:
            b.insert(k, b[k])
        else:
            b.insert(k, 0)
    return bytes(b)


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_random_bytes(host, data):
    host.reset()
    _frames(host.feed(data))


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_valid_frame(), max_size=12), st.integers(0, 2**32 - 1))
def test_mutated_frame_streams(host, frames, seed):
    host.reset()
    rng = np.random.default_rng(seed)
    _frames(host.feed(_mutate(b"".join(frames), rng)))


def test_overlong_garbage_then_resync(host):
    host.reset()
    reply = _frames(host.feed(b"\x55" * 10_000 + b"\x00" + P.encode_frame(P.HELLO, 9)))
    assert reply[0].type == P.NAK and reply[0].body[0] == 4        # overflow reported once
    assert reply[-1].type == P.HELLO_ACK and reply[-1].seq == 9


BLOCK = 4


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=60), st.lists(st.booleans(), max_size=60))
def test_each_block_processed_once_in_order(host, steps, corrupt):
    """A sender wandering back and forth over sequence numbers (retransmissions, gaps, corrupted
    frames): the stub DSP marks each output with how many blocks it had processed before, so a
    block processed twice, skipped or reordered gives a wrong mark."""
    host.reset()
    assert _frames(host.feed(P.encode_frame(P.START, 1, BLOCK.to_bytes(2, "little"))))[0].type == P.START_ACK
    rng = np.random.default_rng(len(steps))
    blocks = rng.integers(-32768, 32768, (64, BLOCK)).astype(np.int16)
    seq = 0
    for i, step in enumerate(steps):
        seq = min(max(seq + step, 0), 63)
        wire = P.encode_frame(P.DATA, seq, blocks[seq].astype("<i2").tobytes())
        if i < len(corrupt) and corrupt[i]:
            wire = wire[:3] + bytes([wire[3] ^ 0x10]) + wire[4:]
        for f in _frames(host.feed(wire)):
            if f.type == P.OUT:
                y = np.frombuffer(f.body[4:], dtype="<i2")
                assert np.array_equal(y, blocks[f.seq] ^ np.int16(f.seq)), f"block {f.seq} processed out of turn"
            else:
                assert f.type == P.NAK
    assert host.blocks_processed <= 64


def test_asan_build_survives_mutated_streams(tmp_path):
    exe = build_fuzz_driver(tmp_path)
    rng = np.random.default_rng(2026)
    seeds = [P.encode_frame(P.START, 0, b"\x08\x00")] + [
        P.encode_frame(P.DATA, k, rng.integers(0, 256, 16, dtype=np.uint8).tobytes()) for k in range(8)
    ] + [P.encode_frame(P.HELLO, 1), P.encode_frame(P.CAL, 2, b"\x10\x00\x00\x00"),
         P.encode_frame(P.START, 3, b"\x00\x01"), P.encode_frame(P.DATA, 0, b"\x01" * 512)]
    streams = [rng.integers(0, 256, int(rng.integers(0, 4000)), dtype=np.uint8).tobytes() for _ in range(200)]
    for _ in range(400):
        picks = [seeds[int(i)] for i in rng.integers(0, len(seeds), int(rng.integers(1, 20)))]
        streams.append(_mutate(b"".join(picks), rng))
    streams.append(b"\xff" * 70_000)
    assert run_fuzz_driver(exe, streams).strip() == f"{len(streams)} inputs"
