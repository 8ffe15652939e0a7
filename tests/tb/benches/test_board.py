"""The board path: protocol, driver, virtual board, bad input on the wire, and the iCE40 bitstream."""

import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtl.board_top import BAD_COMMAND, BAD_CRC, BAD_LENGTH, CMD_READ, OK, REGISTERS, SYNC_REQUEST, SYNC_RESPONSE
from tb.benches.board_driver import BoardError, BoardLink
from tb.benches.board_run import run_on_board
from tb.benches.vboard import VirtualBoard
from tb.protocol.board_protocol import ResponseDecoder, crc8, frame, read_request


def test_crc8_known_value():
    assert crc8(b"123456789") == 0xF4  # CRC-8/SMBUS (poly 0x07, init 0) check value


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.lists(st.tuples(st.sampled_from([OK, BAD_CRC, BAD_LENGTH, BAD_COMMAND]),
                                                   st.integers(0, 16)), max_size=4), st.binary(max_size=50))
def test_decoder_finds_every_frame_among_garbage(prefix, frames, suffix):
    """Garbage before them (without sync bytes) and after them never hides well-formed responses:
    they come out first, complete and in order, however the bytes are split."""
    payloads = [(status, bytes(random.Random(n).getrandbits(8) for _ in range(4 * n))) for status, n in frames]
    wire = (bytes(b for b in prefix if b != SYNC_RESPONSE) + b"".join(frame(SYNC_RESPONSE, s, p) for s, p in payloads)
            + suffix)
    decoded = []
    decoder = ResponseDecoder()
    for i in range(0, len(wire), 7):  # in pieces, as a serial port delivers them
        decoded += [d for d in decoder.feed(wire[i:i + 7]) if d[0] != "corrupt"]
    assert decoded[:len(payloads)] == payloads


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_decoder_never_crashes_on_noise(noise):
    decoder = ResponseDecoder()
    for status, payload in decoder.feed(noise):
        assert status == "corrupt" or len(payload) % 4 == 0


@pytest.fixture(scope="module")
def board():
    with VirtualBoard() as vb:
        yield vb


def raw_exchange(link, data: bytes, wait: float = 0.2) -> bytes:
    link.io.reset_input_buffer()
    link.io.write(data)
    deadline, got = time.monotonic() + wait, b""
    while time.monotonic() < deadline:
        got += link.io.read(max(1, link.io.in_waiting))
    return got


def test_nmi_seamret_on_the_virtual_board(board):
    report = run_on_board("nmi_seamret", 1, BoardLink.open(board.path))
    assert report["error"] is None and all(r["ok"] for r in report["runs"]) and len(report["runs"]) == 14
    legacy = [r for r in report["runs"] if r["config"]["module"] == "legacy"]
    assert all(r["verdict"]["inversions"] > 0 for r in legacy)


def test_bad_frames_get_clear_statuses(board):
    link = BoardLink.open(board.path)
    good = read_request(REGISTERS["ID"], 1)
    corrupted = good[:-1] + bytes([good[-1] ^ 0x55])
    assert raw_exchange(link, corrupted)[:2] == bytes([SYNC_RESPONSE, BAD_CRC])
    oversized = bytes([SYNC_REQUEST, CMD_READ, 40])
    assert raw_exchange(link, oversized)[:2] == bytes([SYNC_RESPONSE, BAD_LENGTH])
    unknown = frame(SYNC_REQUEST, 0x7E, b"")
    assert raw_exchange(link, unknown)[:2] == bytes([SYNC_RESPONSE, BAD_COMMAND])
    too_many = frame(SYNC_REQUEST, CMD_READ, bytes([0, 0, 17]))
    assert raw_exchange(link, too_many)[:2] == bytes([SYNC_RESPONSE, BAD_COMMAND])
    truncated = good[:3]
    assert raw_exchange(link, truncated, wait=0.3) == b""  # no answer; the board drops it after a timeout
    assert link.read(REGISTERS["ID"]) == [0x4E4D4931]  # and still answers the next good request


def test_gateware_parser_survives_random_garbage(board):
    """Fuzz the frame parser in simulation: bursts of random bytes, then a normal request must work."""
    link = BoardLink.open(board.path)
    rng = random.Random(7)
    for _ in range(40):
        raw_exchange(link, bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 40))), wait=0.02)
        link.decoder = ResponseDecoder()
        link.io.reset_input_buffer()
        time.sleep(0.01)
    link.io.reset_input_buffer()
    assert link.read(REGISTERS["ID"]) == [0x4E4D4931]


class LossyPort:
    """A transport that drops or corrupts some of the bytes the board sends back."""

    def __init__(self, inner, rng, corrupt=0.02):
        self.inner, self.rng, self.corrupt = inner, rng, corrupt

    @property
    def in_waiting(self):
        return self.inner.in_waiting

    def write(self, data):
        self.inner.write(data)

    def read(self, n):
        data = bytearray(self.inner.read(n))
        for i in range(len(data)):
            if self.rng.random() < self.corrupt:
                data[i] ^= 1 << self.rng.randrange(8)
        return bytes(data)


def test_retries_over_a_lossy_link_recover_every_run(board):
    import serial

    port = serial.Serial(board.path, timeout=0.02)
    link = BoardLink(LossyPort(port, random.Random(3), corrupt=0.005), timeout=0.2, retries=6)
    report = run_on_board("nmi_seamret", 1, link)
    assert link.stats["retries"] > 0  # corruption happened and was retried ...
    assert report["error"] is None and len(report["runs"]) == 14 and all(r["ok"] for r in report["runs"])  # ... away


def test_a_board_that_disappears_is_a_bounded_error():
    with VirtualBoard() as vb:
        link = BoardLink.open(vb.path, timeout=0.2, retries=1)
        assert link.read(REGISTERS["ID"]) == [0x4E4D4931]
        vb.proc.kill()
        vb.proc.wait()
        start = time.monotonic()
        with pytest.raises((BoardError, OSError)):
            link.read(REGISTERS["STATUS"])
        assert time.monotonic() - start < 5


def test_icebreaker_bitstream_meets_timing():
    from tb.flows.bitstream import build

    result = build("icebreaker")
    assert result["bitstream"] and result["fmax"][2] == "PASS"
    assert result["LUTs"][0] < result["LUTs"][1]


def test_the_softcore_soak_core_fits_the_icebreaker_and_meets_timing():
    """The iCE40UP5K holds the CPU, its 4 KiB RAM (firmware built in), the design, the storm and the
    counters: the softcore's board."""
    from tb.flows.bitstream import build

    result = build("icebreaker", soak="fixed-noinstr")
    assert result["bitstream"] and result["fmax"][2] == "PASS", result
    assert result["LUTs"][0] < result["LUTs"][1] and result["BRAM"][0] <= result["BRAM"][1]


def test_a_board_reset_during_download_is_not_trusted(monkeypatch):
    """STATUS read before and after the download must agree; a reset in between clears it."""
    from tb.protocol.program import compile_scenario
    from tb.stimulus.catalog import TESTS

    compiled = compile_scenario(TESTS["nmi_seamret"].scenarios(1)[0])
    link = BoardLink(transport=None)
    statuses = iter([1, 0])  # done before the download, cleared (reset) after it
    monkeypatch.setattr(link, "write", lambda addr, value: None)

    def read(addr, count=1):
        if addr == REGISTERS["STATUS"]:
            return [next(statuses)]
        return [0] * count

    monkeypatch.setattr(link, "read", read)
    with pytest.raises(BoardError, match="status changed during the download"):
        link.run_program(compiled, {"program_words": 512, "trace_entries": 512})


def test_the_virtual_board_checks_the_scenarios_expectation(board):
    from conftest import SCENARIO_DIR
    from py_model import load_scenario
    from tb.protocol.program import compile_scenario

    scenario = load_scenario(SCENARIO_DIR / "spec6_fixed_late_fred_fault.yaml")
    scenario.expect["inversions"] = 1  # wrong on purpose
    link = BoardLink.open(board.path)
    limits = link.identify()
    problem = link.run_program(compile_scenario(scenario, program_depth=limits["program_words"], host_state=False),
                               limits)
    assert problem and "expect.inversions: expected 1, got 0" in problem, problem


def test_the_virtual_board_checks_the_invariants():
    """A defect the trace comparison alone would not name is reported by the reference-free
    invariants on the board's trace too (IRET ignored: NMIs stay blocked)."""
    from conftest import SCENARIO_DIR
    from py_model import load_scenario
    from tb.protocol.program import compile_scenario

    scenario = load_scenario(SCENARIO_DIR / "a1_host_nmi_no_td.yaml")
    with VirtualBoard(bugs=["iret_ignored"]) as buggy:
        link = BoardLink.open(buggy.path)
        limits = link.identify()
        problem = link.run_program(compile_scenario(scenario, program_depth=limits["program_words"],
                                                    host_state=False), limits)
    assert problem and "invariant broken: NMIs still blocked after an IRET (A1)" in problem, problem
