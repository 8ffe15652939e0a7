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
from tb.protocol.framing import SyncDecoder

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


class ResponseDecoder(SyncDecoder):
    """Turns a byte stream into responses, skipping garbage and resynchronising on the sync byte.

    ``feed`` returns complete frames as (status, payload); a frame whose CRC fails is returned
    as ("corrupt", b"") so the caller can retry; an impossible length is treated as garbage.
    """

    sync = SYNC_RESPONSE

    def frame_length(self, buffer: bytearray) -> int | None:
        if len(buffer) < 3:
            return None
        status, length = buffer[1], buffer[2]
        if length > MAX_RESPONSE_PAYLOAD or length % 4 or status not in STATUS_NAMES:
            return 0  # not a real frame start
        return 4 + length

    def decode(self, frame: bytes):
        body, crc = frame[1:-1], frame[-1]
        return (body[0], bytes(body[2:])) if crc8(body) == crc else None

    def on_damaged(self, out: list) -> None:
        out.append(("corrupt", b""))
