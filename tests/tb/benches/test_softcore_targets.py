"""The softcore off cocotb: the raw harness and the virtual board, the environment played by the
hardware player, every run checked from its trace. The same rows as the cocotb bench, the same
failures for a firmware defect, and every check of the trace shown to fail."""

import contextlib
import dataclasses
import subprocess
import sys

import pytest

from conftest import ROOT
from tb.benches.softcore_harness import HarnessPort, build, run_test, softcore_cases
from tb.check.softcore_trace import check_trace
from tb.protocol.softcore_session import depths, reload_firmware, run_case, words_to_int
from tb.sim.firmware import build_firmware, firmware_words

# What a row says about the run; ``instructions`` is left out: the harness counts the CPU's retired
# instructions over the whole run, cocotb from its first cycle to the cycle it saw DONE (one apart).
ROW_KEYS = ("scenario", "ok", "failure", "cycles", "transactions", "checks", "outcome", "timed", "done_value")


def _events(row):
    """The row's events without the firmware's log words (they carry the SoC's free-running CYCLE,
    whose count at the run's start differs between benches; the checks use it relative to it)."""
    return [e for e in row["events"] if " log " not in e]


def _cli(*args, timeout=900):
    return subprocess.run([sys.executable, "-m", "tb.flows.runner", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def _failures(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("FAIL ")]


def test_the_harness_gives_the_cocotb_rows_on_the_library():
    from tb.sim.verilator import run_test as run_cocotb

    cocotb = run_cocotb("library", 1, quiet=True, mode="softcore")
    harness = run_test("library", [1])
    assert cocotb["error"] is None and harness["error"] is None
    assert harness["not_applicable"] == cocotb["not_applicable"]
    assert len(harness["runs"]) == len(cocotb["runs"]) > 30
    for a, b in zip(cocotb["runs"], harness["runs"], strict=True):
        assert {k: a[k] for k in ROW_KEYS} == {k: b[k] for k in ROW_KEYS}, a["scenario"]
        assert _events(a) == _events(b), a["scenario"]
        assert abs(a["instructions"] - b["instructions"]) <= 1
    assert all(r["ok"] for r in harness["runs"])


def test_the_virtual_board_passes_nmi_seamret_and_a_firmware_defect_fails_it_as_on_the_harness():
    good = _cli("sim", "nmi_seamret", "--seed", "1", "--mode", "softcore", "--target", "vboard")
    assert good.returncode == 0, good.stdout[-3000:] + good.stderr[-2000:]
    assert "on the virtual board, over the UART bridge" in good.stdout and "14 runs of the firmware" in good.stdout
    vboard = _cli("sim", "nmi_seamret", "--seed", "1", "--mode", "softcore", "--target", "vboard",
                  "--fw-bug", "swallow_never_armed")
    harness = _cli("sim", "nmi_seamret", "--seed", "1", "--mode", "softcore", "--target", "harness",
                   "--fw-bug", "swallow_never_armed")
    assert vboard.returncode == 1 and harness.returncode == 1
    assert _failures(vboard.stdout) == _failures(harness.stdout)
    assert len(_failures(vboard.stdout)) >= 3 and all("software check" in f for f in _failures(vboard.stdout))
    assert "reproduce: make sim TEST=nmi_seamret SEED=1 MODE=softcore TARGET=vboard FW_BUG=swallow_never_armed" \
        in vboard.stdout
    assert "Traceback" not in vboard.stderr + harness.stderr


def test_a_defect_of_the_hardware_player_fails_on_its_replay():
    """The player's WAIT one cycle short: the Python player, replayed over the trace, drives the
    arrival a cycle later than the hardware did."""
    report = run_test("library", [1], bugs=("player_wait_one_short",))
    failed = [r for r in report["runs"] if not r["ok"]]
    assert failed and all("environment player" in r["failure"] for r in failed), [r["failure"] for r in failed][:3]
    refused = _cli("sim", "library", "--seed", "1", "--mode", "softcore", "--bug", "player_wait_one_short", timeout=120)
    assert refused.returncode == 2 and "TARGET=harness|vboard|board" in refused.stderr


def test_an_rtl_defect_fails_on_the_harness_on_the_hardware_check():
    report = run_test("nmi_seamret", [1], bugs=("seamret_always_restore",))
    failed = [r for r in report["runs"] if not r["ok"]]
    assert failed and all(r["checks"]["hardware"] == "FAIL" for r in failed)


@contextlib.contextmanager
def _first_run():
    """The harness with nmi_seamret's first case run on it: (port, case, trace); the port closed after."""
    words = firmware_words(build_firmware(quiet=True))
    (seed, case), = softcore_cases("nmi_seamret", [1])[0][:1]
    port = HarnessPort(build())
    try:
        depth = depths(port)
        reload_firmware(port, words)
        yield port, case, run_case(port, case, 200_000, depth)
    finally:
        port.close()


def test_a_trace_that_overflowed_or_was_cut_is_never_passed():
    with _first_run() as (_, case, trace):
        pass
    assert check_trace(case, trace, 200_000)["ok"]
    overflowed = check_trace(case, dataclasses.replace(trace, overflow=True), 200_000)
    assert not overflowed["ok"] and "overflowed" in overflowed["failure"]
    cut = check_trace(case, dataclasses.replace(trace, samples=trace.samples[:len(trace.samples) // 2]), 200_000)
    assert not cut["ok"]
    unplayed = dataclasses.replace(case, steps=[*case.steps, ("until", "guest"), ("nmi", 3)])
    early = check_trace(unplayed, trace, 200_000)  # the player's ENV said done before these were played
    assert not early["ok"] and "not played" in early["failure"], early["failure"]
    moved = [dict(s) for s in trace.samples]
    arrival = next(i for i, s in enumerate(moved) if s["stim__nmi"])
    moved[arrival]["stim__nmi"] = 0  # the hardware player "did not" drive the arrival
    dropped = check_trace(case, dataclasses.replace(trace, samples=moved), 200_000)
    assert not dropped["ok"] and "environment player" in dropped["failure"]


def test_the_pipelined_record_read_answers_what_single_reads_do():
    """The harness reads a trace a word per cycle (an address every cycle, its answer two cycles
    later); each record must hold what the port gives one word at a time."""
    from tb.protocol.softcore_session import ADDRESS, REGS_STRIDE, REGS_WORDS, SAMPLE_WORDS, TRACE_STRIDE, records

    with _first_run() as (port, _, trace):
        n = min(len(trace.samples), 40)
        for base, stride, width, count in ((ADDRESS["TRACE"], TRACE_STRIDE, SAMPLE_WORDS, n),
                                           (ADDRESS["REGS"], REGS_STRIDE, REGS_WORDS, 2)):
            piped = port.read_records(base, count, stride, width)
            single = [words_to_int(port.read(base + stride * i, width)) for i in range(len(piped))]
            assert piped == single and len(set(piped)) > 1
        assert port.read_records(ADDRESS["TRACE"], 0, TRACE_STRIDE, SAMPLE_WORDS) == []
        assert records(port, ADDRESS["TRACE"], 0, TRACE_STRIDE, SAMPLE_WORDS) == []


@pytest.mark.parametrize("args, message", [
    (("sim", "nmi_seamret", "--mode", "interactive", "--target", "vboard"), "MODE=interactive does not run"),
    (("sim", "nmi_seamret", "--mode", "softcore", "--target", "harness", "--waves"), "TARGET=harness records"),
])
def test_what_a_target_cannot_run_is_refused(args, message):
    proc = _cli(*args, timeout=120)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
