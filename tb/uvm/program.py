"""cocotb entry points for program mode: Python only loads programs and reads traces back.

One test per catalog entry, as in ``tests.py``; the report has the same shape, so the
runner prints the same table.
"""

from __future__ import annotations

import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, First, RisingEdge, Timer
from cocotb.utils import get_sim_time

from tb.check.program_check import check_result, program_row
from tb.check.where import Location, problem_cycle
from tb.protocol.program import ProgramError, compile_scenario, decode_trace
from tb.protocol.program_session import HOST_REGISTERS, RunStatus, run_on_async_port
from tb.sim.settings import RunSettings, publish_result
from tb.stimulus.catalog import TESTS, planned
from tb.uvm.bfm import mark_run

CLOCK_NS = 10


class CocotbProgramPort:
    """The program-mode port on ProgramTop's pins (``tb/protocol/program_session.py``)."""

    def __init__(self, dut):
        self.dut = dut
        self.seconds = {"load": 0.0, "run": 0.0, "read back": 0.0}  # the simulation's own split

    def _took(self, what: str, since: float) -> None:
        self.seconds[what] += time.perf_counter() - since

    async def configure(self, pins: dict) -> None:
        for name, value in pins.items():
            getattr(self.dut, name).value = value
        await FallingEdge(self.dut.clk)

    async def load(self, words: list[int], data: list[int]) -> None:
        dut, start = self.dut, time.perf_counter()
        for addr, word in enumerate(words):
            dut.prog_we.value, dut.prog_addr.value, dut.prog_data.value = 1, addr, word
            await FallingEdge(dut.clk)
        dut.prog_we.value = 0
        for addr, value in enumerate(data):
            dut.data_we.value, dut.data_addr.value, dut.data_data.value = 1, addr, value
            await FallingEdge(dut.clk)
        dut.data_we.value = 0
        self._took("load", start)

    async def run(self, bound: int) -> RunStatus:
        dut, start = self.dut, time.perf_counter()
        dut.start.value = 1
        # The engine takes start at the next rising edge; its cycle 0 ends one clock later (the trace's
        # stamps count from there: tests/tb/sim/test_waves.py finds each stamped edge at this time).
        self.start_ns = int(get_sim_time("ns")) + CLOCK_NS // 2 + CLOCK_NS
        await FallingEdge(dut.clk)
        dut.start.value = 0
        await First(RisingEdge(dut.done), RisingEdge(dut.error), Timer(bound * CLOCK_NS, unit="ns"))
        await FallingEdge(dut.clk)
        self._took("run", start)
        return RunStatus(bool(int(dut.done.value)), bool(int(dut.error.value)), bool(int(dut.trace_overflow.value)),
                         int(dut.trace_count.value), int(dut.cycle.value))

    async def read_trace(self, count: int) -> list[int]:
        entries, start = [], time.perf_counter()
        for addr in range(count):
            self.dut.trace_addr.value = addr
            await FallingEdge(self.dut.clk)  # the trace buffer reads synchronously
            entries.append(int(self.dut.trace_data.value))
        self._took("read back", start)
        return entries

    async def read_regs(self) -> list[int]:
        regs = []
        for index in range(HOST_REGISTERS):
            self.dut.regs_addr.value = index
            await Timer(1, unit="ns")
            regs.append(int(self.dut.regs_data.value))
        return regs


async def program_test(dut, name: str) -> None:
    settings = RunSettings.from_env()
    seed = settings.seed
    scenarios, verdict = planned(name, seed, settings.scenario_files)
    if not settings.hdl_clock:  # else the toplevel's HDL drives clk (tb/sim/verilator.py)
        cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns", impl="gpi").start())  # no Python per cycle
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    rows, cycles = [], 0
    split = {"compile": 0.0, "simulate": 0.0, "check": 0.0}  # where the time goes (make bench prints it)
    port = CocotbProgramPort(dut)
    starts = []  # each run's cycle-0 edge in the simulation (the waves' markers)
    for index, scenario in enumerate(scenarios, 1):
        t0 = time.perf_counter()
        try:
            compiled = compile_scenario(scenario)
        except ProgramError as err:
            rows.append(program_row(scenario, None, str(err)))
            continue
        t1 = time.perf_counter()
        mark_run(dut, index)
        result = await run_on_async_port(port, compiled)
        starts.append(port.start_ns)
        t2 = time.perf_counter()
        cycles += result.status.cycles
        row = program_row(scenario, compiled, check_result(compiled, result, host_state=True), result.status.cycles,
                          verdict)
        if not row["ok"]:  # what the design did, for the picture of the failure
            row["rtl_trace"] = [t.to_json() for t in decode_trace(result.entries, True)]
            row["where"] = Location(index, len(scenarios), port.start_ns, CLOCK_NS, problem_cycle(None, [row["failure"]]),
                                    settings.dump).to_json()
        rows.append(row)
        split["compile"] += t1 - t0
        split["simulate"] += t2 - t1
        split["check"] += time.perf_counter() - t2
    # "seconds" is the simulation (load, run, read back), as the C++ harness's figure is.
    report = {"test": name, "seed": seed, "mode": "program", "runs": rows, "expected_runs": len(scenarios),
              "run_starts_ns": starts,
              "seconds": split["simulate"], "split": {**split, **port.seconds}, "cycles": cycles}
    publish_result(settings, report)
    failures = [r["failure"] for r in rows if not r["ok"]]
    assert not failures, f"{len(failures)} run(s) failed; first: {failures[0]}"


def _make(name):
    async def test(dut):
        await program_test(dut, name)
    test.__name__ = test.__qualname__ = name
    return cocotb.test(name=name)(test)


for _name in [*TESTS, "scenario"]:
    globals()[f"_program_{_name}"] = _make(_name)
