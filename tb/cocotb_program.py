"""cocotb entry points for program mode: Python only loads programs and reads traces back.

One test per catalog entry, as in ``cocotb_tests.py``; the report has the same shape, so the
runner prints the same table.
"""

from __future__ import annotations

import json
import os
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, First, FallingEdge, RisingEdge, Timer

from py_model.atomic import write_atomically

from .catalog import TESTS
from .pins import config_pins
from .program import ProgramError, check_run, compile_scenario

CLOCK_NS = 10


async def run_program(dut, compiled) -> tuple[str | None, int]:
    """Load, start, wait (bounded), read back; return (first problem or None, cycles run)."""
    for name, value in config_pins(compiled.scenario).items():
        if hasattr(dut, name):
            getattr(dut, name).value = value
    await FallingEdge(dut.clk)
    for addr, word in enumerate(compiled.words):
        dut.prog_we.value, dut.prog_addr.value, dut.prog_data.value = 1, addr, word
        await FallingEdge(dut.clk)
    dut.prog_we.value = 0
    for addr, value in enumerate(compiled.data or []):
        dut.data_we.value, dut.data_addr.value, dut.data_data.value = 1, addr, value
        await FallingEdge(dut.clk)
    dut.data_we.value, dut.start.value = 0, 1
    await FallingEdge(dut.clk)
    dut.start.value = 0
    bound = Timer((compiled.cycles + 70_000) * CLOCK_NS, unit="ns")
    await First(RisingEdge(dut.done), RisingEdge(dut.error), bound)
    await FallingEdge(dut.clk)
    entries = []
    for addr in range(int(dut.trace_count.value)):
        dut.trace_addr.value = addr
        await FallingEdge(dut.clk)  # the trace buffer reads synchronously
        entries.append(int(dut.trace_data.value))
    regs = []
    for index in range(21):
        dut.regs_addr.value = index
        await Timer(1, unit="ns")
        regs.append(int(dut.regs_data.value))
    problem = check_run(compiled, entries, bool(int(dut.done.value)), bool(int(dut.error.value)),
                        bool(int(dut.trace_overflow.value)), regs, host_state=True)
    return problem, int(dut.cycle.value)


async def program_test(dut, name: str) -> None:
    seed = int(os.environ.get("TB_SEED", "1"))
    test = TESTS[name]
    scenarios = test.scenarios(seed)
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    rows, cycles, start = [], 0, time.perf_counter()
    for scenario in scenarios:
        try:
            compiled = compile_scenario(scenario)
        except ProgramError as err:
            rows.append({"scenario": scenario.name, "config": scenario.config.to_json(), "ok": False,
                         "failure": str(err), "cycles": 0, "transactions": 0, "verdict": None, "outcome": None})
            continue
        problem, ran = await run_program(dut, compiled)
        cycles += ran
        verdict = test.verdict(scenario, compiled.outcome) if test.verdict and not problem else None
        if verdict is not None and not verdict.ok:
            problem = f"{scenario.name}: {verdict.message}"
        rows.append({"scenario": scenario.name, "config": scenario.config.to_json(), "ok": problem is None,
                     "failure": problem, "cycles": ran, "transactions": len(compiled.trace),
                     "verdict": verdict.columns if verdict else None,
                     "host_state_config": scenario.host_state.to_json() if scenario.host_state else None,
                     "outcome": compiled.outcome.to_json()})
    report = {"test": name, "seed": seed, "mode": "program", "runs": rows, "expected_runs": len(scenarios),
              "seconds": time.perf_counter() - start, "cycles": cycles}
    path = os.environ.get("TB_RESULTS")
    if path:  # published whole
        write_atomically(path, json.dumps(report))
    failures = [r["failure"] for r in rows if not r["ok"]]
    assert not failures, f"{len(failures)} run(s) failed; first: {failures[0]}"


def _make(name):
    async def test(dut):
        await program_test(dut, name)
    test.__name__ = test.__qualname__ = name
    return cocotb.test(name=name)(test)


for _name in TESTS:
    globals()[f"_program_{_name}"] = _make(_name)
