"""The soak core's snapshot frames (``rtl/soc/soak.py``), decoded from a byte stream.

Simulator- and transport-independent: the virtual board's pty and a real board's serial port feed
the same decoder. A frame is 0xA5, the word count, the words (little-endian), and a checksum byte
(the sum of the bytes after 0xA5). A damaged frame is counted and skipped, never decoded.
"""

from __future__ import annotations

from rtl.soc.soak import SNAPSHOT, SYNC

WORDS = len(SNAPSHOT)
FRAME_BYTES = 2 + 4 * WORDS + 1


class SnapshotDecoder:
    """Feed bytes; collect ``{counter: value}`` snapshots, in order."""

    def __init__(self):
        self.buffer = bytearray()
        self.damaged = 0

    def feed(self, data: bytes) -> list[dict]:
        self.buffer += data
        out = []
        while True:
            start = self.buffer.find(SYNC)
            if start < 0:
                self.buffer.clear()
                return out
            if start:
                self.damaged += 1  # bytes before a sync byte: the tail of a frame we could not read
                del self.buffer[:start]
            if len(self.buffer) < FRAME_BYTES:
                return out
            frame = bytes(self.buffer[:FRAME_BYTES])
            if frame[1] != WORDS or sum(frame[1:-1]) & 0xFF != frame[-1]:
                self.damaged += 1
                del self.buffer[:1]  # resynchronise on the next sync byte
                continue
            del self.buffer[:FRAME_BYTES]
            words = [int.from_bytes(frame[2 + 4 * i:6 + 4 * i], "little") for i in range(WORDS)]
            out.append(dict(zip(SNAPSHOT, words, strict=True)))


def encode(values: dict) -> bytes:
    """A frame, as the core sends it (for tests)."""
    body = bytes([WORDS]) + b"".join(values[name].to_bytes(4, "little") for name in SNAPSHOT)
    return bytes([SYNC]) + body + bytes([sum(body) & 0xFF])


def progress_line(config: str, seconds: float, snapshot: dict) -> str:
    """A soak's progress, printed as it runs (every target prints the same line)."""
    s = snapshot
    return (f"  {config:<18} {seconds:5.0f} s  NMIs {s['nmis']:,}  passes {s['passes']:,}  unknown {s['unknown']:,}  "
            f"swallowed {s['swallow']:,}  inversions {s['inversions']:,}  dropped {s['drops']:,}")
