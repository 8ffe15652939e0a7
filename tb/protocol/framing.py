"""Byte streams of frames that each begin with a sync byte: the resynchronising loop, written once
for the board bridge's responses (``board_protocol``) and the soak core's snapshots (``soak_frames``)."""

from __future__ import annotations

from abc import ABC, abstractmethod


class SyncDecoder(ABC):
    """Feed bytes, get decoded frames. Bytes before a sync byte are skipped (``on_garbage``); at a sync
    byte the subclass says how long the frame is (``frame_length``: None while too few bytes have
    come to tell, 0 when this sync byte cannot start a frame) and decodes it (``decode``: None when
    it does not check out, ``on_damaged`` is then called); after a bad start or a damaged frame the
    search goes on from the next byte, so a sync byte inside a frame never hides the next frame."""

    sync: int

    def __init__(self):
        self.buffer = bytearray()

    @abstractmethod
    def frame_length(self, buffer: bytearray) -> int | None:
        """The length of the frame at the start of ``buffer`` (a sync byte), None, or 0."""

    @abstractmethod
    def decode(self, frame: bytes):
        """The frame's content, or None when its check fails."""

    def on_garbage(self, count: int) -> None:
        """``count`` bytes before a sync byte were skipped (by default nothing counts them)."""
        return None

    def on_damaged(self, out: list) -> None:
        """A frame's check failed (it was skipped; by default nothing is reported)."""
        return None

    def feed(self, data: bytes) -> list:
        self.buffer += data
        out = []
        while True:
            start = self.buffer.find(self.sync)
            if start < 0:
                self.buffer.clear()
                return out
            if start:
                self.on_garbage(start)
                del self.buffer[:start]
            length = self.frame_length(self.buffer)
            if length is None or (length and len(self.buffer) < length):
                return out  # the rest has not come yet
            got = self.decode(bytes(self.buffer[:length])) if length else None
            if got is None:
                if length:
                    self.on_damaged(out)
                del self.buffer[:1]  # resynchronise on the next sync byte
                continue
            out.append(got)
            del self.buffer[:length]
