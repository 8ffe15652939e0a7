"""The soak core's snapshot frames (``rtl/soc/soak.py``), decoded from a byte stream.

Simulator- and transport-independent: the virtual board's pty and a real board's serial port feed
the same decoder. A frame is 0xA5, the word count, the words (little-endian), and a checksum byte
(the sum of the bytes after 0xA5). A damaged frame is counted and skipped, never decoded.
"""

from __future__ import annotations

from rtl.soc.soak import SNAPSHOT, SYNC
from tb.protocol.framing import SyncDecoder

WORDS = len(SNAPSHOT)
FRAME_BYTES = 2 + 4 * WORDS + 1


class SnapshotDecoder(SyncDecoder):
    """Feed bytes; collect ``{counter: value}`` snapshots, in order. ``damaged`` counts the frames
    (and runs of bytes before a sync byte: the tail of a frame we could not read) skipped."""

    sync = SYNC

    def __init__(self):
        super().__init__()
        self.damaged = 0

    def frame_length(self, buffer: bytearray) -> int | None:
        return FRAME_BYTES if len(buffer) >= FRAME_BYTES else None

    def decode(self, frame: bytes):
        if frame[1] != WORDS or sum(frame[1:-1]) & 0xFF != frame[-1]:
            return None
        words = [int.from_bytes(frame[2 + 4 * i:6 + 4 * i], "little") for i in range(WORDS)]
        return dict(zip(SNAPSHOT, words, strict=True))

    def on_garbage(self, count: int) -> None:
        self.damaged += 1

    def on_damaged(self, out: list) -> None:
        self.damaged += 1


def encode(values: dict) -> bytes:
    """A frame, as the core sends it (for tests)."""
    body = bytes([WORDS]) + b"".join(values[name].to_bytes(4, "little") for name in SNAPSHOT)
    return bytes([SYNC]) + body + bytes([sum(body) & 0xFF])


def progress_line(config: str, seconds: float, snapshot: dict) -> str:
    """A soak's progress, printed as it runs (every target prints the same line)."""
    s = snapshot
    return (f"  {config:<18} {seconds:5.0f} s  NMIs {s['nmis']:,}  passes {s['passes']:,}  unknown {s['unknown']:,}  "
            f"swallowed {s['swallow']:,}  inversions {s['inversions']:,}  dropped {s['drops']:,}")


def judgeable(snapshots: list[dict]) -> bool:
    """The firmware has logged its counters twice (its LOG_COUNTS every 16 TD entries): a judgement of
    growth needs two records. A soak runs at least its SECONDS, and on until this holds (``run_cap``)."""
    return len({s["passes"] for s in snapshots if s["passes"]}) >= 2


def run_cap(seconds: float, limit: float) -> float:
    """How long a soak may go on past SECONDS for ``judgeable`` (``limit``: the process's own bound)."""
    return max(seconds, min(4 * seconds + 30, limit))
