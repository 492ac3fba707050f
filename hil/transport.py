"""Byte transport to a board: pyserial's serial_for_url, so /dev/ttyACM0, socket://host:port and
rfc2217://host:port all work the same way. A reader thread drains the port continuously (the
writer may block on a full link, and a board that cannot send would stall: FIELD_NOTES §4)."""
from __future__ import annotations

import queue
import threading
import time

import serial

from designer.errors import TunerigError


class Transport:
    def __init__(self, url: str, baudrate: int = 115200, open_timeout_s: float = 5.0):
        self.url = url
        self._is_socket = url.startswith("socket://")
        try:
            self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.05, write_timeout=None,
                                               do_not_open=True)
            deadline = time.monotonic() + open_timeout_s
            while True:
                try:
                    self._port.open()
                    break
                except serial.SerialException:
                    # A TCP server (QEMU, ser2net) may still be starting: retry until the deadline.
                    if not url.startswith(("socket://", "rfc2217://")) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise TunerigError(f"cannot open serial port {url}: {exc}") from None
        self.rx_bytes = 0
        self.tx_bytes = 0
        self._chunks: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._error: Exception | None = None
        self._reader = threading.Thread(target=self._read_loop, name=f"rx {url}", daemon=True)
        self._reader.start()

    def _read_loop(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._read_available()
            except Exception as exc:       # port closed under us or link dropped: report, stop
                if not self._stop.is_set():
                    self._error = exc
                    self._chunks.put(None)
                return
            if data:
                self.rx_bytes += len(data)
                self._chunks.put(bytes(data))

    def _read_available(self) -> bytes:
        """Wait up to the port timeout for one byte, then take everything already waiting.

        read(4096) would block until 4096 bytes or the timeout arrive: 50 ms of added latency per
        chunk, which caps a windowed protocol far below the link rate."""
        data = self._port.read(1)
        if not data:
            return data
        if self._is_socket:
            # socket:// reports in_waiting as 0/1 only; a zero timeout makes read() take one recv().
            self._port.timeout = 0
            try:
                return data + self._port.read(65536)
            finally:
                self._port.timeout = 0.05
        waiting = self._port.in_waiting
        return data + (self._port.read(waiting) if waiting else b"")

    def write(self, data: bytes) -> None:
        if self._error is not None:
            raise TunerigError(f"serial link {self.url} failed: {self._error}")
        try:
            self._port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise TunerigError(f"write to {self.url} failed: {exc}") from None
        self.tx_bytes += len(data)

    def read_chunk(self, timeout_s: float) -> bytes | None:
        """The next received chunk, or None after timeout_s without data."""
        try:
            chunk = self._chunks.get(timeout=timeout_s)
        except queue.Empty:
            return None
        if chunk is None:
            raise TunerigError(f"serial link {self.url} failed: {self._error}")
        return chunk

    def drain(self) -> int:
        """Discard everything received so far; returns the byte count."""
        n = 0
        while True:
            try:
                chunk = self._chunks.get_nowait()
            except queue.Empty:
                return n
            if chunk:
                n += len(chunk)

    def close(self) -> None:
        self._stop.set()
        try:
            self._port.close()
        except Exception:
            pass
        self._reader.join(timeout=1.0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
