"""Host driver for the board (real or virtual) over a serial port: program upload, run, trace download.

Every wait is bounded, idempotent requests are retried, and a trace is only returned when the
board says the program finished without error or overflow and the whole trace came back.
The run follows ``tb/protocol/program_session.py`` and is checked by ``tb.check.program_check``, as
every simulation bench's.
"""

from __future__ import annotations

import time

from py_model.command import CommandError
from rtl.board_top import BOARD_ID, CFG_FIELDS, LENS_FIELDS, MAX_READ_WORDS, OK, REGISTERS, STEPS_FIELDS, pack_fields
from tb.check.program_check import check_result
from tb.protocol.board_protocol import STATUS_NAMES, ResponseDecoder, read_request, write_request
from tb.protocol.program import Compiled
from tb.protocol.program_session import RunStatus, run_on_port


class BoardError(CommandError):
    """The board could not be reached or gave an answer that cannot be trusted."""


class BoardLink:
    """Request/response over any byte transport with ``write(bytes)`` and ``read(n)`` (pyserial's API)."""

    def __init__(self, transport, timeout: float = 0.5, retries: int = 3):
        self.io, self.timeout, self.retries = transport, timeout, retries
        self.decoder = ResponseDecoder()
        self.stats = {"requests": 0, "retries": 0, "bytes_out": 0, "bytes_in": 0}

    @classmethod
    def open(cls, port: str, baud: int = 1_000_000, **options) -> BoardLink:
        import serial

        return cls(serial.Serial(port, baudrate=baud, timeout=0.02), **options)

    def _transact(self, request: bytes, expect_words: int) -> bytes:
        last = "no response"
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
            self.io.write(request)
            self.stats["requests"] += 1
            self.stats["bytes_out"] += len(request)
            deadline = time.monotonic() + self.timeout
            while time.monotonic() < deadline:
                data = self.io.read(max(1, getattr(self.io, "in_waiting", 0)))  # return as soon as bytes come
                self.stats["bytes_in"] += len(data)
                for status, payload in self.decoder.feed(data):
                    if status == "corrupt":
                        last = "a response with a bad CRC"
                        break
                    if status != OK:
                        last = f"the board answered {STATUS_NAMES[status]}"
                        break
                    if len(payload) != 4 * expect_words:
                        last = f"a response of {len(payload)} bytes, expected {4 * expect_words}"
                        break
                    return payload
                else:
                    continue
                break  # a bad answer: retry
            else:
                last = f"no response within {self.timeout} s"
            self.decoder = ResponseDecoder()  # drop half-received bytes before retrying
        raise BoardError(f"request failed after {self.retries + 1} attempts: {last}")

    def write(self, addr: int, value: int) -> None:
        self._transact(write_request(addr, value), 0)

    def read(self, addr: int, count: int = 1) -> list[int]:
        words = []
        while count > 0:
            n = min(count, MAX_READ_WORDS)
            payload = self._transact(read_request(addr, n), n)
            words += [int.from_bytes(payload[i:i + 4], "little") for i in range(0, len(payload), 4)]
            addr, count = addr + n, count - n
        return words

    def identify(self) -> dict:
        board_id, = self.read(REGISTERS["ID"])
        if board_id != BOARD_ID:
            raise BoardError(f"unexpected board id 0x{board_id:08x} (expected 0x{BOARD_ID:08x})")
        info, = self.read(REGISTERS["INFO"])
        return {"program_words": info & 0xFFFF, "trace_entries": info >> 16}

    def run_program(self, compiled: Compiled, limits: dict, poll_timeout: float = 10.0) -> str | None:
        """Upload, start, wait (bounded), download; return the first problem or None."""
        if len(compiled.words) > limits["program_words"] - 2:
            raise BoardError(f"{compiled.scenario.name}: {len(compiled.words)} words do not fit the board's "
                             f"{limits['program_words'] - 2}")
        result = run_on_port(BoardProgramPort(self, compiled.scenario.name, poll_timeout), compiled)
        return check_result(compiled, result, host_state=False)


class BoardProgramPort:
    """The program-mode port on the board's register map (``tb/protocol/program_session.py``)."""

    def __init__(self, link: BoardLink, name: str, poll_timeout: float):
        self.link, self.name, self.poll_timeout = link, name, poll_timeout
        self.status = None

    def configure(self, pins: dict) -> None:
        self.link.write(REGISTERS["CFG"], pack_fields(CFG_FIELDS, pins))
        self.link.write(REGISTERS["LENS"], pack_fields(LENS_FIELDS, pins))
        self.link.write(REGISTERS["STEPS"], pack_fields(STEPS_FIELDS, pins))

    def load(self, words: list[int], data: list[int]) -> None:
        assert not data, "the board has no host-state unit (compile_scenario refuses such scenarios)"
        for i, word in enumerate(words):
            self.link.write(REGISTERS["PROGRAM"] + i, word)

    def run(self, bound: int) -> RunStatus:
        # ``bound`` is in cycles; at the board's clock any program ends in milliseconds, so the wait
        # is bounded in wall time instead.
        self.link.write(REGISTERS["CTRL"], 1)  # start also resets the design: a retried start repeats the run
        deadline = time.monotonic() + self.poll_timeout
        while True:
            status, = self.link.read(REGISTERS["STATUS"])
            if status & 0b11:
                break
            if time.monotonic() > deadline:
                raise BoardError(f"{self.name}: the program did not finish within {self.poll_timeout} s")
        self.status = status
        count, = self.link.read(REGISTERS["TRACE_COUNT"])
        cycles, = self.link.read(REGISTERS["CYCLE"])
        return RunStatus(bool(status & 1), bool(status & 2), bool(status & 4), count, cycles)

    def read_trace(self, count: int) -> list[int]:
        raw = self.link.read(REGISTERS["TRACE"], 4 * count) if count else []  # 4 words per entry
        again, = self.link.read(REGISTERS["STATUS"])
        if again != self.status:
            raise BoardError(f"{self.name}: the board's status changed during the download "
                             "(a reset?): the trace is not trusted")
        return [raw[4 * i] | raw[4 * i + 1] << 32 | raw[4 * i + 2] << 64 | raw[4 * i + 3] << 96 for i in range(count)]

    def read_regs(self) -> None:
        return None  # the board leaves the host-state unit out
