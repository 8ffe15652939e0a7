"""The pyuvm tests: one per catalog entry (``make sim TEST=<name>``), plus ``scenario`` (a file).

Variants are subclasses; ``scenario`` swaps the sequence through the factory, as pyuvm's TinyALU
example does. What the launcher asked for (seeds, scenario files, where the report goes) is one
``RunSettings``, put in ConfigDB for the sequences; the results come from the scoreboard.
"""

from __future__ import annotations

import time

import cocotb
import pyuvm
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from pyuvm import ConfigDB, uvm_factory, uvm_test

from tb.sim.settings import RunSettings, publish_result
from tb.uvm.bfm import CLOCK_NS, NmiBfm
from tb.uvm.env import NmiEnv
from tb.uvm.seq_lib import CatalogSeq, ScenarioFileSeq

# Simulated-time backstop per test: 1G cycles of 10 ns (each run is bounded by the shared run
# bound, py_model.config.run_cycle_bound; the runner bounds wall-clock time).
backstop = pyuvm.test(timeout_time=10, timeout_unit="sec")


class NmiBaseTest(uvm_test):
    """Runs the scenarios of the catalog test named like the class; fails unless every run passes
    every check (reference, invariants, expect, the test's verdict)."""

    def build_phase(self):
        # A batch of seeds in this one process (regressions), or one; strict: drive and sample every
        # cycle (the event-driven bench's per-cycle reference).
        self.settings = RunSettings.from_env()
        self.seeds = self.settings.all_seeds
        ConfigDB().set(None, "*", "SETTINGS", self.settings)
        ConfigDB().set(None, "*", "TEST", type(self).__name__)
        ConfigDB().set(None, "*", "BFM", NmiBfm(cocotb.top))
        self.env = NmiEnv("env", self)

    def end_of_elaboration_phase(self):
        self.seq = CatalogSeq.create("seq")

    async def run_phase(self):
        self.raise_objection()
        self.runs, _ = self.seq.plan()
        self.start = time.perf_counter()
        cocotb.start_soon(Clock(cocotb.top.clk, CLOCK_NS, unit="ns", impl="gpi").start())  # no Python per edge
        await self.seq.start(self.env.agent.seqr)
        await ClockCycles(cocotb.top.clk, 2)  # let the scoreboard take the last run's end
        self.seconds = time.perf_counter() - self.start
        self.drop_objection()

    def report_phase(self):
        results = self.env.scoreboard.results
        expected = {}
        for seed, _ in self.runs:
            expected[seed] = expected.get(seed, 0) + 1
        report = {"test": type(self).__name__, "seed": self.seeds[0], "seeds": self.seeds,
                  "runs": [r.row() for r in results], "expected_runs": len(self.runs),
                  "expected_runs_per_seed": [[seed, n] for seed, n in expected.items()], "seconds": self.seconds,
                  "cycles": sum(r.cycles for r in results), "coverage": self.env.coverage.summary(),
                  "run_starts_ns": self.env.scoreboard.run_starts_ns}
        publish_result(self.settings, report)  # whole: a reader never sees half a file
        # Fail after the report is written (check_phase would run before it and stop it).
        assert len(results) == len(self.runs), f"{len(results)} of {len(self.runs)} runs were checked"
        failures = [r.failure for r in results if not r.ok]
        assert not failures, f"{len(failures)} run(s) failed; first: {failures[0]}"


# One test per catalog entry (tests/test_structure.py checks the two lists agree).
@backstop
class nmi_seamret(NmiBaseTest):
    pass


@backstop
class no_td(NmiBaseTest):
    pass


@backstop
class single_exit(NmiBaseTest):
    pass


@backstop
class nonnmi_exit(NmiBaseTest):
    pass


@backstop
class nmi_during_pass(NmiBaseTest):
    pass


@backstop
class timing_probes(NmiBaseTest):
    pass


@backstop
class host_state(NmiBaseTest):
    pass


@backstop
class library(NmiBaseTest):
    pass


@backstop
class random(NmiBaseTest):
    pass


@backstop
class bench(NmiBaseTest):
    pass


@backstop
class scenario(NmiBaseTest):
    """``make scenario FILE=…``: the file's scenario instead of a catalog entry's."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(CatalogSeq, ScenarioFileSeq)
        super().build_phase()
