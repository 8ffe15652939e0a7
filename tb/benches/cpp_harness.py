"""Program mode on a raw Verilator C++ harness (no cocotb): the fastest way to run campaigns.

    used by ``python -m tb.flows.campaign``

The harness (``tb/sim/harness/program_main.cpp``) is built once per RTL hash without VPI or public
signals; Python compiles the programs, streams them in, and checks every returned trace with the
same code as the other benches (``tb.check.program_check.check_run``).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

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


def run(compiled: list[Compiled], bugs=()) -> tuple[list[str | None], int, float]:
    """Run the programs in one harness process; return (problem per program, cycles, seconds)."""
    binary = build(bugs)
    lines = []
    for c in compiled:
        pins = config_pins(c.scenario)
        lines.append(f"P {run_bound(c)} " + " ".join(str(pins[name]) for name in CONFIG_PINS))
        lines += [f"W {w:08x}" for w in c.words]
        lines += [f"D {v:016x}" for v in c.data or []]
        lines.append("R")
    start = time.perf_counter()
    proc = subprocess.run([str(binary)], input="\n".join(lines) + "\n", capture_output=True, text=True,
                          timeout=600)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"harness failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    out = proc.stdout.splitlines()
    problems, cycles, i = [], 0, 0
    for c in compiled:
        _, count, done, error, overflow, ran = out[i].split()
        entries = [int(line[1:].strip(), 16) for line in out[i + 1:i + 1 + int(count)]]
        i += 1 + int(count)
        regs = [int(line[2:], 16) for line in out[i:i + HOST_REGISTERS]]
        i += HOST_REGISTERS
        cycles += int(ran)
        problems.append(check_run(c, entries, done == "1", error == "1", overflow == "1", regs, host_state=True))
    return problems, cycles, seconds
