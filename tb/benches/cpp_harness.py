"""Program mode on a raw Verilator C++ harness (no cocotb): the fastest way to run campaigns.

    used by ``python -m tb.flows.campaign``

The harness (``tb/sim/harness/program_main.cpp``) is built once per RTL hash without VPI or public
signals; Python compiles the programs, streams them in, and checks every returned trace with the
same code as the other benches (``tb.check.program_check.check_run``).
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from py_model.atomic import write_output
from tb import ROOT
from tb.check.program_check import check_run
from tb.protocol.pins import CONFIG_PINS, config_pins
from tb.protocol.program import Compiled
from tb.protocol.program_session import HOST_REGISTERS, harness_header, run_bound

SOURCE = ROOT / "tb" / "sim" / "harness" / "program_main.cpp"


def build(bugs=()) -> Path:
    from rtl.generate import PROGRAM_TOP_NAME
    from tb.sim.harness.build import build_harness

    return build_harness(PROGRAM_TOP_NAME, SOURCE, "program_harness", bugs, header=harness_header())


@dataclass
class HarnessRun:
    """One program's run on the harness: its first problem (None: the trace equals the model's), the
    cycles it ran, and the design's trace entries (the picture of a failure)."""

    problem: str | None
    cycles: int
    entries: list[int]


class HarnessError(RuntimeError):
    """The harness process itself failed (exit status, timeout, output cut short): no verdict."""


def run_programs(compiled: list[Compiled], bugs=(), timeout_s: float = 600, transcript: Path | None = None,
                 binary: Path | None = None) -> tuple[list[HarnessRun], float]:
    """Run the programs in one harness process; return (a run per program, simulation seconds).
    ``transcript``: where the harness's output (traces, registers, errors) is kept, for a failure's log;
    ``binary``: the harness already built for ``bugs``."""
    binary = binary or build(bugs)
    lines = []
    for c in compiled:
        pins = config_pins(c.scenario)
        lines.append(f"P {run_bound(c)} " + " ".join(str(pins[name]) for name in CONFIG_PINS))
        lines += [f"W {w:08x}" for w in c.words]
        lines += [f"D {v:016x}" for v in c.data or []]
        lines.append("R")
    start = time.perf_counter()
    try:
        proc = subprocess.run([str(binary)], input="\n".join(lines) + "\n", capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired as err:
        raise HarnessError(f"the harness did not finish within {timeout_s:.0f} s") from err
    seconds = time.perf_counter() - start
    if transcript is not None:
        write_output(transcript, proc.stdout + (f"\n--- stderr ---\n{proc.stderr}" if proc.stderr else ""))
    if proc.returncode != 0:
        raise HarnessError(f"harness failed (exit {proc.returncode}): {proc.stderr[-2000:].strip()}")
    out = proc.stdout.splitlines()
    runs, i = [], 0
    try:
        for c in compiled:
            _, count, done, error, overflow, ran = out[i].split()
            entries = [int(line[1:].strip(), 16) for line in out[i + 1:i + 1 + int(count)]]
            i += 1 + int(count)
            regs = [int(line[2:], 16) for line in out[i:i + HOST_REGISTERS]]
            i += HOST_REGISTERS
            if len(regs) != HOST_REGISTERS:
                raise ValueError("the register file was cut short")
            problem = check_run(c, entries, done == "1", error == "1", overflow == "1", regs, host_state=True)
            runs.append(HarnessRun(problem, int(ran), entries))
    except (IndexError, ValueError) as err:
        raise HarnessError(f"the harness's output ended or broke after {len(runs)} of {len(compiled)} "
                           f"programs ({err})") from err
    return runs, seconds


def run(compiled: list[Compiled], bugs=()) -> tuple[list[str | None], int, float]:
    """Run the programs in one harness process; return (problem per program, cycles, seconds)."""
    runs, seconds = run_programs(compiled, bugs)
    return [r.problem for r in runs], sum(r.cycles for r in runs), seconds


def run_test(test: str, seed: int, bugs=(), files=(), folder: Path | None = None) -> dict:
    """``make sim MODE=program`` on the harness: a catalog test (or scenario files, ``test`` "scenario")
    compiled, run in one harness process and checked as in cocotb; the report has the same rows.
    ``folder``: the run's folder (the harness's transcript is its log, timelines go beside it).
    Raises ``HarnessError`` when the harness itself failed."""
    from tb.check.program_check import program_row
    from tb.protocol.program import ProgramError, compile_scenario, decode_trace
    from tb.stimulus.catalog import planned

    scenarios, verdict = planned(test, seed, files)
    start = time.perf_counter()
    try:
        binary = build(bugs)  # generates the Verilog to find the cached build (make bench keeps it apart)
    except RuntimeError as err:  # Verilator or the C++ compiler failed: no run, no verdict
        from py_model.command import one_line

        raise HarnessError(one_line(err)) from err
    built = time.perf_counter()
    compiled, refused = [], {}
    for index, scenario in enumerate(scenarios):
        try:
            compiled.append((index, compile_scenario(scenario)))
        except ProgramError as err:
            refused[index] = str(err)
    log = folder / "harness.log" if folder is not None else None
    compiled_at = time.perf_counter()
    runs, seconds = (run_programs([c for _, c in compiled], bugs, transcript=log, binary=binary) if compiled
                     else ([], 0.0))
    ran = time.perf_counter()
    rows = {i: program_row(scenarios[i], None, problem) for i, problem in refused.items()}
    for (index, c), r in zip(compiled, runs, strict=True):
        row = program_row(scenarios[index], c, r.problem, r.cycles, verdict)
        if not row["ok"]:  # what the design did, for the picture of the failure
            row["rtl_trace"] = [t.to_json() for t in decode_trace(r.entries, True)]
        rows[index] = row
    rows = [rows[i] for i in sorted(rows)]
    return {"test": test, "seed": seed, "mode": "program", "target": "harness", "runs": rows,
            "expected_runs": len(scenarios), "seconds": seconds, "cycles": sum(r.cycles for r in runs),
            "wall_seconds": time.perf_counter() - start, "error": None,
            "split": {"build check": built - start, "compile": compiled_at - built, "harness": ran - compiled_at,
                      "check and rows": time.perf_counter() - ran}, "log": str(log) if log else None,
            "results_xml": None}
