"""Host side of the link protocol: COBS framing, CRC-32 and the message layouts.

Independent of the C implementation (firmware/src/tr_frame.c, tr_link.c) on purpose: CRC-32 is
zlib's, COBS is written from its definition (Cheshire & Baker 1999). See firmware/include/tr_link.h
for the message table.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

VERSION = 1
MAX_BODY = 528

HELLO, START, DATA, ECHO, CAL, HANG, STATS = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
HELLO_ACK, START_ACK, OUT, ECHO_ACK, CAL_ACK, STATS_ACK = 0x81, 0x82, 0x83, 0x84, 0x85, 0x87
BOOT, NAK, FAULT = 0x90, 0x91, 0x92

NAK_REASONS = {
    1: "bad CRC", 2: "bad COBS", 3: "frame too short", 4: "frame overflow", 5: "out of order",
    6: "no session (board was reset?)", 7: "bad length", 8: "unknown message type",
    9: "stale block (older than the board's cache)",
}
RESET_REASONS = {0: "power-on", 1: "watchdog (hang detected)", 2: "hard fault"}


class FrameError(ValueError):
    """A frame that failed COBS decoding, length or CRC checks."""


def cobs_encode(data: bytes) -> bytes:
    """COBS-encode data (no delimiter): the result contains no 0x00 byte."""
    out = bytearray()
    block = bytearray()
    for b in data:
        if b == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
        else:
            block.append(b)
            if len(block) == 254:
                out.append(255)
                out += block
                block.clear()
    out.append(len(block) + 1)
    out += block
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        i += 1
        if code == 0 or i + code - 1 > n:
            raise FrameError("inconsistent COBS code byte")
        run = data[i:i + code - 1]
        if 0 in run:
            raise FrameError("zero byte inside a COBS block")
        out += run
        i += code - 1
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


def encode_frame(msg_type: int, seq: int, body: bytes = b"") -> bytes:
    """One frame on the wire: COBS(type, seq, body, crc32) followed by the 0x00 delimiter."""
    if len(body) > MAX_BODY:
        raise ValueError(f"frame body of {len(body)} bytes exceeds {MAX_BODY}")
    payload = struct.pack("<BH", msg_type, seq & 0xFFFF) + bytes(body)
    payload += struct.pack("<I", zlib.crc32(payload))
    return cobs_encode(payload) + b"\x00"


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    body: bytes


def decode_frame(cobs_block: bytes) -> Frame:
    """Decode one frame (without its delimiter); FrameError when damaged."""
    payload = cobs_decode(cobs_block)
    if len(payload) < 7:
        raise FrameError(f"frame of {len(payload)} bytes is shorter than header + CRC")
    (crc,) = struct.unpack_from("<I", payload, len(payload) - 4)
    if zlib.crc32(payload[:-4]) != crc:
        raise FrameError("CRC mismatch")
    msg_type, seq = struct.unpack_from("<BH", payload, 0)
    return Frame(msg_type, seq, payload[3:-4])


class FrameReader:
    """Splits a byte stream at 0x00 delimiters; keeps partial frames between feeds."""

    def __init__(self, max_frame: int = 2 * MAX_BODY):
        self._buf = bytearray()
        self._max = max_frame
        self.bad_frames = 0

    def feed(self, data: bytes):
        """Yield Frame objects (good) and FrameError instances (damaged) in arrival order."""
        self._buf += data
        while True:
            end = self._buf.find(0)
            if end < 0:
                if len(self._buf) > self._max:       # garbage without a delimiter: drop it
                    self._buf.clear()
                    self.bad_frames += 1
                    yield FrameError("overlong frame without delimiter")
                return
            block = bytes(self._buf[:end])
            del self._buf[:end + 1]
            if not block:
                continue
            try:
                yield decode_frame(block)
            except FrameError as exc:
                self.bad_frames += 1
                yield exc


@dataclass(frozen=True)
class Hello:
    version: int
    max_block: int
    window: int
    sample_rate_hz: int
    latency_samples: int
    tick_hz: int
    cost_kind: str        # "systick" (QEMU -icount instructions) or "dwt" (cycles)
    build_id: str
    profile_hash: str
    board_name: str


def parse_hello(body: bytes) -> Hello:
    if len(body) < 19:
        raise FrameError(f"HELLO_ACK body of {len(body)} bytes is too short")
    version, max_block, window, rate, latency, tick_hz, kind = struct.unpack_from("<HHHIIIB", body, 0)
    strings = body[19:].split(b"\x00")
    if len(strings) < 3:
        raise FrameError("HELLO_ACK strings are not NUL-terminated")
    build_id, profile_hash, board = (s.decode("ascii", "replace") for s in strings[:3])
    return Hello(version, max_block, window, rate, latency, tick_hz, "dwt" if kind else "systick",
                 build_id, profile_hash, board)


def data_body(samples_q15: np.ndarray) -> bytes:
    return np.asarray(samples_q15, dtype="<i2").tobytes()


def parse_out(body: bytes) -> tuple[int, np.ndarray]:
    """OUT body -> (cost ticks, q15 samples)."""
    if len(body) < 4 or (len(body) - 4) % 2:
        raise FrameError(f"OUT body of {len(body)} bytes is malformed")
    (cost,) = struct.unpack_from("<I", body, 0)
    return cost, np.frombuffer(body, dtype="<i2", offset=4).astype(np.int16)
