"""Host builds of the firmware's link layer (the real tr_link.c / tr_frame.c / tr_crc32.c):

* `load_host_link(build_dir)`: a shared library for ctypes (with UBSan), used by the codec
  cross-checks and the hypothesis fuzz test;
* `build_fuzz_driver(build_dir)`: an AddressSanitizer + UBSan executable fed length-prefixed streams.
"""
from __future__ import annotations

import ctypes
import shutil
import struct
import subprocess
from pathlib import Path

from designer.errors import TunerigError

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware"
SOURCES = ["src/tr_link.c", "src/tr_frame.c", "src/tr_crc32.c", "host/tr_host_link.c"]
CFLAGS = ["-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-fno-omit-frame-pointer", f"-I{FIRMWARE / 'include'}"]


def _cc() -> str:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise TunerigError("no host C compiler (gcc) found: run `make setup`")
    return cc


def _compile(args: list[str]) -> None:
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise TunerigError(f"host build failed: {' '.join(args[:3])} ...\n{proc.stderr[-3000:]}")


class HostLink:
    """ctypes wrapper: feed bytes to the board's link layer, get its reply bytes."""

    def __init__(self, lib_path: Path):
        self.lib = ctypes.CDLL(str(lib_path))
        self.lib.tr_host_feed.restype = ctypes.c_size_t
        self.lib.tr_host_feed.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
        self.lib.tr_host_blocks_processed.restype = ctypes.c_uint32
        self.lib.tr_crc32_update.restype = ctypes.c_uint32
        self.lib.tr_crc32_update.argtypes = [ctypes.c_uint32, ctypes.c_char_p, ctypes.c_size_t]
        self.lib.tr_frame_encode.restype = ctypes.c_size_t
        self.lib.tr_frame_encode.argtypes = [ctypes.c_uint8, ctypes.c_uint16, ctypes.c_char_p, ctypes.c_size_t,
                                             ctypes.c_char_p, ctypes.c_size_t]
        self.lib.tr_cobs_decode.restype = ctypes.c_long
        self.lib.tr_cobs_decode.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
        self.reset()

    def reset(self) -> None:
        self.lib.tr_host_init()

    def feed(self, data: bytes, cap: int = 1 << 20) -> bytes:
        out = ctypes.create_string_buffer(cap)
        n = self.lib.tr_host_feed(data, len(data), out, cap)
        if n == ctypes.c_size_t(-1).value:
            raise AssertionError("link accepted a byte without room for its reply")
        if n > cap:
            raise AssertionError(f"reply of {n} bytes overflowed the {cap}-byte capture buffer")
        return out.raw[:n]

    @property
    def blocks_processed(self) -> int:
        return self.lib.tr_host_blocks_processed()

    def crc32(self, data: bytes) -> int:
        return self.lib.tr_crc32_update(0, data, len(data))

    def encode_frame(self, msg_type: int, seq: int, body: bytes) -> bytes:
        out = ctypes.create_string_buffer(2048)
        n = self.lib.tr_frame_encode(msg_type, seq, body, len(body), out, 2048)
        return out.raw[:n]

    def cobs_decode(self, data: bytes) -> bytes | None:
        out = ctypes.create_string_buffer(len(data) + 16)
        n = self.lib.tr_cobs_decode(data, len(data), out, len(data) + 16)
        return None if n < 0 else out.raw[:n]


def load_host_link(build_dir) -> HostLink:
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    lib = build_dir / "libtr_hostlink.so"
    _compile([_cc(), *CFLAGS, "-fPIC", "-shared", "-fsanitize=undefined", "-fno-sanitize-recover=undefined",
              *[str(FIRMWARE / s) for s in SOURCES], "-o", str(lib)])
    return HostLink(lib)


def build_fuzz_driver(build_dir) -> Path:
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    exe = build_dir / "tr_host_fuzz"
    _compile([_cc(), *CFLAGS, "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
              *[str(FIRMWARE / s) for s in SOURCES], str(FIRMWARE / "host" / "tr_host_fuzz_main.c"), "-o", str(exe)])
    return exe


def run_fuzz_driver(exe: Path, streams: list[bytes], timeout_s: float = 60.0) -> str:
    """Feed streams to the sanitizer build; returns its stdout, raises AssertionError on any report."""
    blob = b"".join(struct.pack("<I", len(s)) + s for s in streams)
    proc = subprocess.run([str(exe)], input=blob, capture_output=True, timeout=timeout_s)
    if proc.returncode != 0:
        raise AssertionError(f"fuzz driver failed with status {proc.returncode}:\n{proc.stderr.decode(errors='replace')[-4000:]}")
    return proc.stdout.decode()
