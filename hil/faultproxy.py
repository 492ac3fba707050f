"""A TCP man-in-the-middle between the harness and a board's serial server that damages the byte
stream on purpose: drops, corrupts (XOR with a random non-zero byte), duplicates and delays bytes,
each with its own probability per byte, seeded so a failing run can be replayed. It can also go
silent after a number of bytes (a link that dies). Used by the fault tests and `tunerig hil run
--faults`; the harness connects to `proxy.url` instead of the board's URL."""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from designer.errors import TunerigError


@dataclass
class Faults:
    drop: float = 0.0         # probability per byte
    corrupt: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0        # probability per received chunk of holding it back delay_s
    delay_s: float = 0.05
    silent_after: int | None = None   # forward this many bytes, then swallow everything

    def any(self) -> bool:
        return bool(self.drop or self.corrupt or self.duplicate or self.delay or self.silent_after is not None)


@dataclass
class FaultCounts:
    dropped: int = 0
    corrupted: int = 0
    duplicated: int = 0
    delayed_chunks: int = 0
    forwarded: int = 0
    swallowed: int = 0

    @property
    def injected(self) -> int:
        return self.dropped + self.corrupted + self.duplicated + self.delayed_chunks + self.swallowed


@dataclass
class FaultProxy:
    """Proxy socket://127.0.0.1:<port> -> upstream socket URL, damaging bytes in both directions."""

    upstream_url: str
    to_board: Faults = field(default_factory=Faults)
    to_host: Faults = field(default_factory=Faults)
    seed: int = 0

    def __post_init__(self):
        if not self.upstream_url.startswith("socket://"):
            raise TunerigError(f"the fault proxy needs a socket:// upstream, got {self.upstream_url}")
        host, port = self.upstream_url[len("socket://"):].rsplit(":", 1)
        self._upstream = (host, int(port))
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1)
        self.port = self._listener.getsockname()[1]
        self.counts_to_board = FaultCounts()
        self.counts_to_host = FaultCounts()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True, name="faultproxy-accept").start()

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        deadline = time.monotonic() + 10
        while True:
            try:
                board = socket.create_connection(self._upstream, timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    client.close()
                    return
                time.sleep(0.05)
        for s in (client, board):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.settimeout(0.1)
        self._socks = [client, board]
        rng = np.random.default_rng(self.seed)
        seeds = rng.integers(0, 2**32, 2)
        for src, dst, faults, counts, s in ((client, board, self.to_board, self.counts_to_board, seeds[0]),
                                             (board, client, self.to_host, self.counts_to_host, seeds[1])):
            t = threading.Thread(target=self._pump, args=(src, dst, faults, counts, np.random.default_rng(s)),
                                 daemon=True)
            t.start()
            self._threads.append(t)

    def _pump(self, src, dst, f: Faults, c: FaultCounts, rng) -> None:
        while not self._stop.is_set():
            try:
                data = src.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            out = self._damage(np.frombuffer(data, dtype=np.uint8), f, c, rng)
            if f.delay and rng.random() < f.delay:
                c.delayed_chunks += 1
                time.sleep(f.delay_s)
            if out:
                try:
                    dst.sendall(out)
                except OSError:
                    break
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @staticmethod
    def _damage(b: np.ndarray, f: Faults, c: FaultCounts, rng) -> bytes:
        n = b.size
        if f.silent_after is not None:
            room = max(0, f.silent_after - c.forwarded)
            c.swallowed += max(0, n - room)
            b = b[:room]
            n = b.size
        b = b.copy()
        if f.corrupt:
            hit = rng.random(n) < f.corrupt
            b[hit] ^= rng.integers(1, 256, int(hit.sum()), dtype=np.uint8)
            c.corrupted += int(hit.sum())
        keep = np.ones(n, dtype=bool)
        if f.drop:
            keep = rng.random(n) >= f.drop
            c.dropped += int(n - keep.sum())
        reps = keep.astype(np.int64)
        if f.duplicate:
            dup = (rng.random(n) < f.duplicate) & keep
            reps += dup
            c.duplicated += int(dup.sum())
        out = np.repeat(b, reps)
        c.forwarded += n
        return out.tobytes()

    def close(self) -> None:
        self._stop.set()
        for s in self._socks + [self._listener]:
            try:
                s.close()
            except OSError:
                pass
        for t in self._threads:
            t.join(timeout=1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
