"""The UART bridge's wire protocol on the host side (see ``rtl/board_top.py``). No I/O here."""

from __future__ import annotations

import struct

from rtl.board_top import (
    BAD_COMMAND,
    BAD_CRC,
    BAD_LENGTH,
    BRIDGE_CRC,
    CMD_READ,
    CMD_WRITE,
    MAX_READ_WORDS,
    OK,
    SYNC_REQUEST,
    SYNC_RESPONSE,
)

STATUS_NAMES = {OK: "OK", BAD_CRC: "BAD_CRC", BAD_LENGTH: "BAD_LENGTH", BAD_COMMAND: "BAD_COMMAND"}
MAX_RESPONSE_PAYLOAD = 4 * MAX_READ_WORDS


def crc8(data: bytes) -> int:
    """The frame check over ``data``: the gateware's own algorithm (``rtl.board_top.BRIDGE_CRC``)."""
    return BRIDGE_CRC.compute(data)


def frame(sync: int, code: int, payload: bytes) -> bytes:
    body = bytes([code, len(payload)]) + payload
    return bytes([sync]) + body + bytes([crc8(body)])


def write_request(addr: int, value: int) -> bytes:
    return frame(SYNC_REQUEST, CMD_WRITE, struct.pack("<HI", addr, value & 0xFFFFFFFF))


def read_request(addr: int, count: int) -> bytes:
    if not 1 <= count <= MAX_READ_WORDS:
        raise ValueError(f"a read takes 1..{MAX_READ_WORDS} words, not {count}")
    return frame(SYNC_REQUEST, CMD_READ, struct.pack("<HB", addr, count))


class ResponseDecoder:
    """Turns a byte stream into responses, skipping garbage and resynchronising on the sync byte.

    ``feed`` returns complete frames as (status, payload); a frame whose CRC fails is returned
    as ("corrupt", b"") so the caller can retry; an impossible length is treated as garbage.
    """

    def __init__(self):
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[object, bytes]]:
        self.buffer += data
        out = []
        while True:
            start = self.buffer.find(SYNC_RESPONSE)
            if start < 0:
                self.buffer.clear()
                return out
            del self.buffer[:start]
            if len(self.buffer) < 3:
                return out
            status, length = self.buffer[1], self.buffer[2]
            if length > MAX_RESPONSE_PAYLOAD or length % 4 or status not in STATUS_NAMES:
                del self.buffer[:1]  # not a real frame start: resynchronise on the next sync byte
                continue
            if len(self.buffer) < 4 + length:
                return out
            body, crc = bytes(self.buffer[1:3 + length]), self.buffer[3 + length]
            if crc8(body) != crc:
                del self.buffer[:1]
                out.append(("corrupt", b""))
                continue
            out.append((status, bytes(body[2:])))
            del self.buffer[:4 + length]
