"""cocotb entry points: one pyuvm test per catalog entry (``make sim TEST=<name>``), plus ``scenario``.

The runner passes the seed (TB_SEED), a scenario file (TB_SCENARIO) and where to write the
results (TB_RESULTS) through the environment.
"""

from __future__ import annotations

import json
import os
import time

import cocotb
import pyuvm
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from pyuvm import ConfigDB, uvm_test

from py_model import load_scenario
from py_model.atomic import write_atomically

from tb.stimulus.catalog import TESTS
from tb.uvm.env import NmiEnv, ScenarioSeq


class NmiTestBase(uvm_test):
    """Runs the scenarios of one catalog test; fails unless every run passes every check."""

    catalog_name = ""

    def build_phase(self):
        self.seed = int(os.environ.get("TB_SEED", "1"))
        if self.catalog_name == "scenario":
            self.scenarios, verdict = [load_scenario(os.environ["TB_SCENARIO"])], None
        else:
            test = TESTS[self.catalog_name]
            self.scenarios, verdict = test.scenarios(self.seed), test.verdict
        ConfigDB().set(None, "*", "scenarios", self.scenarios)
        ConfigDB().set(None, "*", "verdict", verdict)
        ConfigDB().set(None, "*", "DUT", cocotb.top)
        self.env = NmiEnv("env", self)

    async def run_phase(self):
        self.raise_objection()
        self.start = time.perf_counter()
        cocotb.start_soon(Clock(cocotb.top.clk, 10, unit="ns").start())
        await ScenarioSeq("seq").start(self.env.seqr)
        await ClockCycles(cocotb.top.clk, 2)  # let the scoreboard take the last RunEnd
        self.seconds = time.perf_counter() - self.start
        self.drop_objection()

    def report_phase(self):
        results = self.env.scoreboard.results
        cycles = sum(r.cycles for r in results)
        rows = [{"scenario": r.scenario.name, "config": r.scenario.config.to_json(), "ok": r.ok,
                 "failure": r.failure, "cycles": r.cycles, "transactions": r.transactions,
                 "verdict": r.verdict.columns if r.verdict else None,
                 "host_state_config": r.scenario.host_state.to_json() if r.scenario.host_state else None,
                 "outcome": r.outcome.to_json()} for r in results]
        report = {"test": self.catalog_name, "seed": self.seed, "runs": rows, "expected_runs": len(self.scenarios),
                  "seconds": self.seconds, "cycles": cycles}
        path = os.environ.get("TB_RESULTS")
        if path:  # published whole: a reader never sees half a file
            write_atomically(path, json.dumps(report))
        # Fail after the report is written (check_phase would run before it and stop it).
        assert len(results) == len(self.scenarios), f"{len(results)} of {len(self.scenarios)} runs were checked"
        failures = [r.failure for r in results if not r.ok]
        assert not failures, f"{len(failures)} run(s) failed; first: {failures[0]}"


# Simulated-time backstop per test: 1G cycles of 10 ns (each run is bounded by the shared run
# bound, py_model.config.run_cycle_bound; the runner bounds wall-clock time).
for _name in [*TESTS, "scenario"]:
    pyuvm.test(timeout_time=10, timeout_unit="sec")(type(_name, (NmiTestBase,), {"catalog_name": _name}))
