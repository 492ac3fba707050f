"""Board session: handshake, block streaming with a sliding window and retransmission, raw echo,
cost calibration, and hang provocation — everything above bytes and below test logic.

Streaming (go-back-N with a board-side cache): up to `window` DATA blocks are in flight. The board
answers each in-order block with an OUT frame, re-sends a cached OUT for a repeated block, and NAKs
once per gap. The host accepts any OUT inside the window, rewinds to the NAKed block, and rewinds to
the oldest unanswered block after `retransmit_timeout_s` of silence. A board reset (BOOT frame or
"no session" NAK) restarts the stream from a fresh DSP state, so the output is still exact; after
`max_restarts`, or `max_retries` silent timeouts in a row, the stream fails with a diagnostic.
"""
from __future__ import annotations

import os
import struct
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from codegen.fixedpoint import require_q15
from designer.errors import TunerigError
from hil import protocol as P
from hil.transport import Transport


# Bytes of DATA frames the host keeps unanswered: below the firmware's 4 KiB RX ring
# (firmware/include/tr_uart_rx.h), so a board busy with a block never drops input.
MAX_IN_FLIGHT_BYTES = 3072


class LinkError(TunerigError):
    """The link failed in a way retransmission could not repair."""


class BoardNotResponding(LinkError):
    """No valid answer within the stated timeout."""


class BoardReset(LinkError):
    """The board restarted (BOOT frame, or it had no session)."""


class BoardFault(LinkError):
    """The board reported a FAULT (watchdog or hard fault) and reset itself."""

    def __init__(self, message: str, reason: int):
        super().__init__(message)
        self.reason = reason


@dataclass
class StreamStats:
    blocks: int = 0
    frames_sent: int = 0
    retransmitted_blocks: int = 0
    timeouts: int = 0
    naks: int = 0
    nak_reasons: dict = field(default_factory=dict)
    bad_frames: int = 0
    duplicate_outs: int = 0
    restarts: int = 0
    restart_causes: list = field(default_factory=list)
    duration_s: float = 0.0
    tx_bytes: int = 0
    rx_bytes: int = 0

    @property
    def faults_seen(self) -> int:
        """Every symptom of a link fault the harness noticed (0 on a clean link)."""
        return self.timeouts + self.naks + self.bad_frames + self.duplicate_outs + self.restarts


@dataclass
class StreamResult:
    y_q15: np.ndarray
    cost_ticks: np.ndarray      # per block
    block_len: int
    stats: StreamStats
    hello: P.Hello


class BoardSession:
    """Protocol session over a Transport (or a URL)."""

    def __init__(self, transport: Transport | str, *, reply_timeout_s: float = 5.0, baudrate: int = 115200):
        """transport: a Transport or a serial URL (opened at baudrate; TCP URLs ignore it).
        reply_timeout_s bounds every command: a board that never answers fails after it."""
        self.transport = Transport(transport, baudrate=baudrate) if isinstance(transport, str) else transport
        self.reply_timeout_s = reply_timeout_s
        self._reader = P.FrameReader()
        self._pending: deque = deque()
        self._req_seq = int.from_bytes(os.urandom(2), "little")
        self.hello_info: P.Hello | None = None
        self.boots_seen: list[int] = []

    # ---- frame plumbing -------------------------------------------------------------------
    def _next(self, timeout_s: float):
        """Next Frame or FrameError, or None when nothing complete arrived within timeout_s."""
        deadline = time.monotonic() + timeout_s
        while not self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            chunk = self.transport.read_chunk(left)
            if chunk is None:
                return None
            self._pending.extend(self._reader.feed(chunk))
        return self._pending.popleft()

    def _send(self, msg_type: int, seq: int, body: bytes = b"") -> None:
        self.transport.write(P.encode_frame(msg_type, seq, body))

    def _request(self, msg_type: int, body: bytes, reply_type: int, *, timeout_s: float | None = None,
                 attempts: int = 3) -> P.Frame:
        """Send a command until its ACK (matched by seq) arrives; raise BoardNotResponding otherwise."""
        timeout_s = self.reply_timeout_s if timeout_s is None else timeout_s
        seen = []
        start = time.monotonic()
        for _ in range(attempts):
            self._req_seq = (self._req_seq + 1) & 0xFFFF
            self._send(msg_type, self._req_seq, body)
            deadline = time.monotonic() + timeout_s
            while (left := deadline - time.monotonic()) > 0:
                f = self._next(left)
                if f is None:
                    break
                if isinstance(f, P.FrameError):
                    seen.append(f"damaged frame ({f})")
                    continue
                if f.type == reply_type and f.seq == self._req_seq:
                    return f
                if f.type == P.BOOT:
                    self.boots_seen.append(f.body[0] if f.body else -1)
                elif f.type == P.FAULT:
                    reason = f.body[0] if f.body else -1
                    raise BoardFault(f"board reported FAULT: {P.RESET_REASONS.get(reason, reason)}", reason)
                seen.append(f"type 0x{f.type:02X} seq {f.seq}")
        waited = time.monotonic() - start
        raise BoardNotResponding(
            f"board at {self.transport.url} did not answer message 0x{msg_type:02X} within {waited:.1f} s "
            f"({attempts} attempts x {timeout_s:.1f} s): received {self.transport.rx_bytes} bytes in total, "
            f"{len(seen)} unusable frames{': ' + ', '.join(seen[:5]) if seen else ''}. "
            "Check that the firmware is flashed and running, and the port / URL and baud rate."
        )

    # ---- commands --------------------------------------------------------------------------
    def hello(self, timeout_s: float | None = None) -> P.Hello:
        t = self.reply_timeout_s if timeout_s is None else timeout_s
        if self.hello_info is None and self.transport.rx_bytes == 0 and not self._pending:
            # A board that has just been started (QEMU starts the guest when we connect) announces
            # itself with BOOT; bytes sent before its UART is enabled would be lost (STM32 drops
            # them), so give it a moment to say so first. A board already running says nothing.
            f = self._next(0.3)
            if isinstance(f, P.Frame) and f.type == P.BOOT:
                self.boots_seen.append(f.body[0] if f.body else -1)
            elif f is not None:
                self._pending.appendleft(f)
        f = self._request(P.HELLO, b"", P.HELLO_ACK, timeout_s=t / 3, attempts=3)
        info = P.parse_hello(f.body)
        if info.version != P.VERSION:
            raise LinkError(f"board speaks protocol version {info.version}, the harness {P.VERSION}: rebuild the firmware")
        self.hello_info = info
        return info

    def start(self, block_len: int) -> None:
        info = self.hello_info or self.hello()
        if not 1 <= block_len <= info.max_block:
            raise TunerigError(f"block length {block_len} samples is outside 1..{info.max_block} for this firmware")
        self._request(P.START, struct.pack("<H", block_len), P.START_ACK)

    def calibrate(self, loops: int) -> int:
        """SysTick/DWT ticks the board counts for a loop of exactly 2*loops instructions."""
        f = self._request(P.CAL, struct.pack("<I", loops), P.CAL_ACK, timeout_s=max(self.reply_timeout_s, 10.0))
        return struct.unpack("<I", f.body)[0]

    def board_stats(self) -> dict:
        """The board's own counters: frames it accepted / rejected, RX interrupts, RX ring overflows,
        and the stack high-water mark in bytes."""
        f = self._request(P.STATS, b"", P.STATS_ACK)
        ok, bad, irqs, overflows, stack = struct.unpack("<IIIII", f.body)
        return {"frames_ok": ok, "frames_bad": bad, "rx_irqs": irqs, "rx_overflows": overflows, "stack_used": stack}

    def provoke_hang(self, timeout_s: float = 20.0) -> tuple[int, int]:
        """Make the board hang; return (FAULT reason, BOOT reason) once the watchdog has reset it."""
        self._req_seq = (self._req_seq + 1) & 0xFFFF
        self._send(P.HANG, self._req_seq)
        fault = boot = None
        deadline = time.monotonic() + timeout_s
        while (fault is None or boot is None) and (left := deadline - time.monotonic()) > 0:
            f = self._next(left)
            if isinstance(f, P.Frame) and f.type == P.FAULT:
                fault = f.body[0]
            elif isinstance(f, P.Frame) and f.type == P.BOOT:
                boot = f.body[0]
        if fault is None or boot is None:
            raise BoardNotResponding(f"no FAULT/BOOT within {timeout_s} s after HANG (fault={fault}, boot={boot})")
        self.hello_info = None
        return fault, boot

    def echo_throughput(self, nbytes: int = 16384, chunk: int = 256, max_in_flight: int | None = 2048) -> float:
        """Raw UART echo rate in bytes/s (one direction): the board echoes nbytes unframed bytes.
        Writer and reader are concurrent (the transport's reader thread drains the port while this
        thread writes, keeping at most max_in_flight bytes unanswered; None: no limit): the same
        structure as process(), so the two rates compare the protocol, not the threading."""
        self._request(P.ECHO, struct.pack("<I", nbytes), P.ECHO_ACK)
        payload = np.random.default_rng(1).integers(0, 256, nbytes, dtype=np.uint8).tobytes()
        received = bytearray()
        limit = nbytes if max_in_flight is None else max_in_flight
        sent = 0
        t0 = time.monotonic()
        while len(received) < nbytes:
            while sent < nbytes and sent - len(received) < limit:
                k = min(chunk, nbytes - sent, limit - (sent - len(received)))
                self.transport.write(payload[sent:sent + k])
                sent += k
            chunk_in = self.transport.read_chunk(10.0)
            if chunk_in is None:
                raise BoardNotResponding(f"raw echo stalled after {len(received)} of {nbytes} bytes")
            received += chunk_in
        elapsed = time.monotonic() - t0
        if bytes(received[:nbytes]) != payload:
            raise LinkError("raw echo returned different bytes")
        return nbytes / elapsed

    # ---- streaming ------------------------------------------------------------------------
    def process(self, x_q15, block_len: int = 128, *, window: int | None = None, retransmit_timeout_s: float = 0.5,
                max_retries: int = 16, max_restarts: int = 2, progress=None) -> StreamResult:
        """Stream x through the board's DSP; returns exactly len(x) output samples.

        The last block is zero-padded (the padding's output is dropped). progress: optional tqdm-like
        object with update(n_blocks).
        """
        x = require_q15(x_q15, "board input")
        n = x.size
        nblocks = -(-n // block_len)
        padded = np.zeros(nblocks * block_len, dtype=np.int16)
        padded[:n] = x
        stats = StreamStats(blocks=nblocks)
        t0 = time.monotonic()
        rx0, tx0 = self.transport.rx_bytes, self.transport.tx_bytes
        while True:
            try:
                self.hello()
                win = min(window or self.hello_info.window, self.hello_info.window, max(1, MAX_IN_FLIGHT_BYTES // (2 * block_len + 16)))
                self.start(block_len)
                y, costs = self._stream(padded, block_len, nblocks, win, retransmit_timeout_s, max_retries, stats, progress)
                break
            except BoardReset as exc:
                stats.restarts += 1
                stats.restart_causes.append(str(exc))
                if stats.restarts > max_restarts:
                    raise LinkError(f"board reset {stats.restarts} times during the stream; last: {exc}") from None
                self._pending.clear()
        stats.duration_s = time.monotonic() - t0
        stats.rx_bytes = self.transport.rx_bytes - rx0
        stats.tx_bytes = self.transport.tx_bytes - tx0
        return StreamResult(y[:n].copy(), costs, block_len, stats, self.hello_info)

    def _stream(self, padded, B, nblocks, W, rto, max_retries, stats, progress):
        frames = [P.encode_frame(P.DATA, k & 0xFFFF, P.data_body(padded[k * B:(k + 1) * B])) for k in range(nblocks)]
        y = np.zeros(nblocks * B, dtype=np.int16)
        costs = np.zeros(nblocks, dtype=np.int64)
        done = np.zeros(nblocks, dtype=bool)
        sent_once = np.zeros(nblocks, dtype=bool)
        base = next_send = 0
        retries = 0
        while base < nblocks:
            while next_send < min(base + W, nblocks):
                self.transport.write(frames[next_send])
                stats.frames_sent += 1
                if sent_once[next_send]:
                    stats.retransmitted_blocks += 1
                sent_once[next_send] = True
                next_send += 1
            f = self._next(rto)
            if f is None:
                stats.timeouts += 1
                retries += 1
                if retries > max_retries:
                    raise LinkError(
                        f"no progress after {max_retries} retransmissions of block {base} "
                        f"({max_retries * rto:.1f} s): board at {self.transport.url} stopped answering "
                        f"({stats.naks} NAKs, {stats.bad_frames} damaged frames so far)")
                next_send = base
                continue
            if isinstance(f, P.FrameError):
                stats.bad_frames += 1
                continue
            blk = base + ((f.seq - base) & 0xFFFF)
            if f.type == P.OUT:
                if blk < next_send and not done[blk]:
                    try:
                        cost, samples = P.parse_out(f.body)
                    except P.FrameError:
                        stats.bad_frames += 1
                        continue
                    if samples.size != B:
                        raise LinkError(f"board returned {samples.size} samples for block {blk}, expected {B}")
                    y[blk * B:(blk + 1) * B] = samples
                    costs[blk] = cost
                    done[blk] = True
                    old = base
                    while base < nblocks and done[base]:
                        base += 1
                    if base > old:
                        retries = 0
                        if progress is not None:
                            progress.update(base - old)
                else:
                    stats.duplicate_outs += 1
            elif f.type == P.NAK:
                reason = f.body[0] if f.body else 0
                stats.naks += 1
                stats.nak_reasons[P.NAK_REASONS.get(reason, reason)] = stats.nak_reasons.get(P.NAK_REASONS.get(reason, reason), 0) + 1
                if reason == 6:
                    raise BoardReset("board has no session (it was reset)")
                if reason in (7, 8):
                    raise LinkError(f"board rejected block {blk}: {P.NAK_REASONS[reason]}")
                if reason == 9:
                    raise BoardReset("board lost the stream position (stale block)")
                if base <= blk < next_send:
                    next_send = blk
            elif f.type == P.BOOT:
                reason = f.body[0] if f.body else -1
                self.boots_seen.append(reason)
                raise BoardReset(f"board rebooted mid-stream (reset reason: {P.RESET_REASONS.get(reason, reason)})")
            elif f.type == P.FAULT:
                reason = f.body[0] if f.body else -1
                raise BoardFault(f"board reported FAULT mid-stream: {P.RESET_REASONS.get(reason, reason)}", reason)
        return y, costs

    def close(self) -> None:
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
