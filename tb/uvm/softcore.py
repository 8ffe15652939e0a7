"""Softcore mode under cocotb + pyuvm on Verilator: the firmware on VexRiscv against the design.

Components talk in typed messages (``CaseStarted``, ``SocSample``, ``CaseEnded``, ``StopCase``), are
made through the factory (``create``), and the scoreboard stops a diverged run through an analysis
path to the driver, as the interactive bench's components do.

item (one scenario as a softcore case) -> sequence (the test's scenarios; the ones the softcore
cannot run are listed with the reason) -> driver (loads the firmware, configures, and plays the
environment side each cycle: NMI arrivals and TD exits from ``tb.stimulus.softcore.EnvPlayer``) ->
monitor (each cycle, the design's pins as the CPU and the environment drive them, its events and
state, and the CPU's LOG stores on the bus) -> scoreboard (``tb.check.softcore_check.SoftcoreRun``:
the reference hardware fed the same inputs cycle for cycle, the invariants, then the firmware's
passes and counters against the model's software and the scenario's ``expect``) -> test.
Only the adapters here touch the simulator; the checking is plain Python.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cocotb
import pyuvm
from cocotb.clock import Clock
from cocotb.triggers import Event, FallingEdge, First, ReadOnly, RisingEdge, Timer
from cocotb.utils import get_sim_time
from pyuvm import (
    ConfigDB,
    uvm_agent,
    uvm_analysis_port,
    uvm_component,
    uvm_driver,
    uvm_env,
    uvm_get_port,
    uvm_monitor,
    uvm_sequence,
    uvm_sequence_item,
    uvm_sequencer,
    uvm_test,
    uvm_tlm_analysis_fifo,
)

from rtl.soc.abi import HS_TABLE_ADDR
from tb.check.softcore_check import SoftcoreRun
from tb.check.where import Location, problem_cycle
from tb.protocol.pins import REGISTER_CHECKPOINTS, REGS_PIN, SOC_PACKED, SOC_SAMPLED, config_pins, read_state
from tb.sim.firmware import firmware_words
from tb.sim.settings import RunSettings, SettingsError, publish_result
from tb.stimulus.catalog import planned
from tb.stimulus.softcore import EnvPlayer, Handler, NotApplicable, softcore_case
from tb.uvm.bfm import mark_run

CLOCK_NS = 10


class SocBfm:
    """Pin access for the SoC (``nmi_soc``): the loader, the configuration, the environment's inputs,
    the monitor port (``mon__*``). The driver marks the cycle a run is in (``cycle``; None between
    runs) so the monitor numbers its samples the same way."""

    # What the checks read each cycle (tb/check/softcore_check.SoftcoreRun), in one read of the
    # wrapper's packed port: each name's (shift, mask) in it.
    SAMPLED = SOC_SAMPLED

    def __init__(self, dut):
        self.dut = dut
        self.cycle: int | None = None
        self.visit = Event()  # set by the driver in each cycle the monitor is to sample
        self.visits = 0  # cycles the bench looked at (all of them with STRICT=1)
        self.loaded: list[int] | None = None  # the image in the RAM
        self.handles = {name: getattr(dut, "mon__" + name) for name in (*self.SAMPLED, "done_value", REGS_PIN)}
        self.packed, self.layout, shift = getattr(dut, SOC_PACKED), [], 0
        for name in self.SAMPLED:
            width = len(self.handles[name])
            self.layout.append((name, shift, (1 << width) - 1))
            shift += width

    def get(self, name: str) -> int:
        return int(self.handles[name].value)

    def peek(self) -> dict:
        """The packed pins now (one read)."""
        word = self.packed.value.to_unsigned()
        return {name: (word >> shift) & mask for name, shift, mask in self.layout}

    def sample(self) -> dict:
        """The monitor port's values now, for the checks; the register file (1,344 bits) only as reset
        left it (cycle 0) and after an edge that can have changed it, where the checks read it."""
        pins = self.peek()
        if self.cycle == 0 or any(pins[f"ev__{kind}"] for kind in REGISTER_CHECKPOINTS):
            pins[REGS_PIN] = int(self.handles[REGS_PIN].value)
        return pins

    def drive(self, pins: dict) -> None:
        for name, value in pins.items():
            getattr(self.dut, name).value = value

    def retired(self) -> int:
        """The CPU's retired-instruction counter (VexRiscv's minstret, made readable by
        tb/sim/public_ports.vlt; it counts from power-on, the CPU's reset does not clear it)."""
        design = getattr(self.dut, "dut", self.dut)  # inside the bench wrapper (tb/sim/verilator.py)
        return int(design.cpu.cpu.CsrPlugin_minstret.value)

    async def reset_and_load(self, words: list[int], case) -> None:
        """The CPU held in reset while the RAM gets the image (once per process: it is code and
        constants only, tb/sim/firmware.py's linker script asserts so) and the case's host-state table."""
        dut = self.dut
        dut.hold.value, dut.rst.value = 1, 1
        self.drive({**config_pins(case.scenario), "sw_cfg": case.sw_cfg, **EnvPlayer.IDLE})
        await FallingEdge(dut.clk)
        dut.rst.value = 0
        table = dict(enumerate(case.hs_table, HS_TABLE_ADDR // 4))  # what the host knows (host-state runs)
        image = [] if words == self.loaded else list(enumerate(words))
        self.loaded = list(words)
        for addr, word in [*image, *table.items()]:
            dut.load_we.value, dut.load_addr.value, dut.load_data.value = 1, addr, word
            await FallingEdge(dut.clk)
        dut.load_we.value, dut.hold.value = 0, 0


class CaseItem(uvm_sequence_item):
    """One scenario on the softcore. Response: how the run ended (``done``, ``cycles``, ``timed``,
    ``instructions``, ``done_value``)."""

    def __init__(self, name, case):
        super().__init__(name)
        self.case = case
        self.done, self.cycles, self.timed, self.instructions, self.done_value = False, 0, False, 0, 0
        self.run, self.runs, self.start_ns = 1, 1, None  # its number in the test, of how many; its cycle 0's edge
        self.seed = 0  # the seed its scenario was made with


@dataclass
class CaseStarted:
    """The driver has loaded and configured a case: its cycles follow."""

    item: CaseItem


@dataclass
class SocSample:
    """The monitor port's pins during one cycle of a case."""

    cycle: int
    pins: dict


@dataclass
class CaseEnded:
    """The case is over (the firmware finished, the bound passed, or the scoreboard stopped it)."""

    item: CaseItem


@dataclass
class StopCase:
    """The scoreboard to the driver: the hardware has diverged or broken a rule; the run can end."""

    reason: str


class CasesSeq(uvm_sequence):
    """The test's scenarios (the settings' test at each of its seeds, or scenario files) that apply to
    the softcore; the rest go to ``skipped`` with the reason. A regression runs a batch of seeds in
    one simulator process (``settings.seeds``); each case keeps its seed."""

    async def body(self):
        settings = ConfigDB().get(None, "", "SETTINGS")
        self.skipped, self.planned, self.per_seed = [], 0, {}
        cases = []
        for seed in settings.all_seeds:
            scenarios, _ = planned(settings.test, seed, settings.scenario_files)
            self.per_seed[seed] = 0
            for scenario in scenarios:
                try:
                    cases.append((seed, softcore_case(scenario)))
                    self.per_seed[seed] += 1
                except NotApplicable as why:
                    self.skipped.append({"scenario": scenario.name, "reason": str(why), "seed": seed})
        self.planned = len(cases)
        for index, (seed, case) in enumerate(cases, 1):
            item = CaseItem(case.scenario.name, case)
            item.run, item.runs, item.seed = index, len(cases), seed
            await self.start_item(item)
            await self.finish_item(item)


class EnvDriver(uvm_driver):
    """Loads and configures, then plays the environment until the firmware is done (bounded by the
    shared run bound) or the scoreboard says stop (``stop_export``). Publishes each run's start and
    end (``CaseStarted``, ``CaseEnded``) and tells the monitor which cycles to sample (``bfm.visit``).

    Event-driven (the default): Python looks at a cycle only when the SoC's ``wake`` says something
    happened, after every such cycle (what it changed shows in the next one), and when the
    environment has something due (``EnvPlayer.quiet_for``); between them the simulator runs alone.
    ``STRICT=1``: every cycle, as a reference for the event-driven bench (the same rows)."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.stop_fifo = uvm_tlm_analysis_fifo("stop_fifo", self)
        self.stop_export = self.stop_fifo.analysis_export
        self.bfm = ConfigDB().get(self, "", "BFM")
        self.words = ConfigDB().get(self, "", "FIRMWARE")
        self.settings = ConfigDB().get(self, "", "SETTINGS")

    async def run_phase(self):
        bfm = self.bfm
        while True:
            item = await self.seq_item_port.get_next_item()
            mark_run(bfm.dut, item.run)
            await bfm.reset_and_load(self.words, item.case)
            item.start_ns = int(get_sim_time("ns")) + CLOCK_NS // 2  # sampled at the falling edge: cycle 0's edge
            env, bound, start = EnvPlayer(item.case), self.settings.max_cycles, bfm.retired()
            while self.stop_fifo.can_get():  # a stop meant for the run before
                self.stop_fifo.try_get()
            self.ap.write(CaseStarted(item))
            cycle, base = 0, bfm.get("cycle")  # the SoC's free-running CYCLE numbers the skipped cycles
            while cycle <= bound and not self.stop_fifo.can_get():
                bfm.cycle = cycle
                bfm.visit.set()
                bfm.visits += 1
                now = bfm.peek()
                if now["done"]:
                    item.done = True
                    break
                state, in_handler = read_state(now.__getitem__), bool(now["in_handler"])
                pins = env.cycle(state.phase, Handler(in_handler, now["poll_state"], now["poll_index"], now["polls"]))
                pins["env__done"] = int(env.finished(state.phase, state.latch, bool(now["irq"]), in_handler))
                bfm.drive(pins)
                quiet = env.quiet_for(state.phase)
                if self.settings.strict or quiet == 0 or now["wake"] or env.strobes(pins):
                    await FallingEdge(bfm.dut.clk)  # the next cycle: due, or it shows what this one did
                    cycle += 1
                    continue
                # Asleep until the SoC wakes or the environment is due, or the run's last cycle (looked at,
                # as the per-cycle bench does: a run that does not finish ends with the same row).
                due = min(max(bound - cycle, 1), quiet + 1 if quiet is not None else bound)
                # A timer, not ClockCycles (which wakes Python at every edge it counts): to just before
                # the falling edge ``due`` cycles on, then that edge.
                await First(RisingEdge(bfm.handles["wake"]), Timer(CLOCK_NS * due - 2, unit="ns"))
                await FallingEdge(bfm.dut.clk)
                slept = bfm.get("cycle") - base - cycle
                env.skip(slept - 1)
                cycle += slept
            item.cycles, item.timed = min(cycle, bound), env.timed
            if not item.done:  # a run that went astray may have written over its code: load it whole next
                bfm.loaded = None
            item.instructions, item.done_value = bfm.retired() - start, bfm.get("done_value")
            await FallingEdge(bfm.dut.clk)  # the monitor has published the run's last cycle by now
            bfm.cycle = None
            self.ap.write(CaseEnded(item))
            self.seq_item_port.item_done()


class SocMonitor(uvm_monitor):
    """Each cycle the driver looks at, once the CPU's and the environment's inputs have settled: the
    pins of the SoC's monitor port (the design's stimulus, state, events; the CPU's LOG stores and
    status)."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.bfm = ConfigDB().get(self, "", "BFM")

    async def run_phase(self):
        visit = self.bfm.visit
        while True:
            await visit.wait()  # the driver's cycles: every one (STRICT=1), or those it wakes for
            visit.clear()
            await ReadOnly()
            if self.bfm.cycle is not None:
                self.ap.write(SocSample(self.bfm.cycle, self.bfm.sample()))


class SoftcoreAgent(uvm_agent):
    def build_phase(self):
        self.seqr = uvm_sequencer("seqr", self)
        self.driver = EnvDriver.create("driver", self)
        self.monitor = SocMonitor.create("monitor", self)

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.seqr.seq_item_export)


class SoftcoreScoreboard(uvm_component):
    """Feeds each run's cycles to a ``SoftcoreRun`` as they come; keeps the rows. The driver's run
    boundaries and the monitor's samples arrive on one FIFO, in the order they happened; the first
    divergence is published on ``stop_ap`` (the driver ends the run there)."""

    def build_phase(self):
        self.fifo = uvm_tlm_analysis_fifo("fifo", self)
        self.get_port = uvm_get_port("get_port", self)
        self.stop_ap = uvm_analysis_port("stop_ap", self)
        self.settings = ConfigDB().get(self, "", "SETTINGS")
        self.rows = []
        self.run_starts_ns = []  # each run's cycle-0 edge in the simulation (the waves' markers)

    def connect_phase(self):
        self.get_port.connect(self.fifo.get_export)

    async def run_phase(self):
        run, stopped = None, False
        while True:
            message = await self.get_port.get()
            if isinstance(message, CaseStarted):
                run, stopped = SoftcoreRun(message.item.case), False
            elif isinstance(message, SocSample):
                if run is not None and not run.done:
                    run.cycle(message.cycle, message.pins.__getitem__)
                    if run.broken and not stopped:  # the first divergence decides the run
                        self.stop_ap.write(StopCase(run.checker.early_problem()))
                        stopped = True
            else:  # CaseEnded
                item = message.item
                row = run.result(item.timed, self.settings.max_cycles, item.instructions, item.done_value)
                row["seed"] = item.seed
                self.run_starts_ns.append(item.start_ns)
                if not row["ok"]:
                    if not row.get("outcome"):  # what the hardware did, for the picture of the failure
                        row["rtl_trace"] = [t.to_json() for t in run.txns]
                    cycle = problem_cycle(run.checker.scoreboard.first_cycle, run.checker.invariants.violations)
                    row["where"] = Location(item.run, item.runs, item.start_ns, CLOCK_NS, cycle,
                                            self.settings.dump).to_json()
                    self.logger.error(f"FAIL {row['failure']}")
                    self.logger.error(Location(**{k: v for k, v in row["where"].items() if k != "time_ns"}).text())
                self.rows.append(row)
                run = None


class SoftcoreEnv(uvm_env):
    def build_phase(self):
        self.agent = SoftcoreAgent.create("agent", self)
        self.scoreboard = SoftcoreScoreboard.create("scoreboard", self)

    def connect_phase(self):
        self.agent.driver.ap.connect(self.scoreboard.fifo.analysis_export)
        self.agent.monitor.ap.connect(self.scoreboard.fifo.analysis_export)
        self.scoreboard.stop_ap.connect(self.agent.driver.stop_export)


@pyuvm.test(timeout_time=10, timeout_unit="sec")
class softcore(uvm_test):
    """Every applicable scenario of the settings' test passes both levels of checks; the rest are listed."""

    def build_phase(self):
        self.settings = RunSettings.from_env()
        if not self.settings.firmware:
            raise SettingsError("TB_SETTINGS.firmware: softcore mode needs the firmware image")
        ConfigDB().set(None, "*", "SETTINGS", self.settings)
        ConfigDB().set(None, "*", "BFM", SocBfm(cocotb.top))
        ConfigDB().set(None, "*", "FIRMWARE", firmware_words(Path(self.settings.firmware)))
        self.env = SoftcoreEnv.create("env", self)

    async def run_phase(self):
        self.raise_objection()
        cocotb.start_soon(Clock(cocotb.top.clk, CLOCK_NS, unit="ns").start())
        self.seq = CasesSeq.create("cases")
        start = time.perf_counter()
        await self.seq.start(self.env.agent.seqr)
        await FallingEdge(cocotb.top.clk)  # the scoreboard takes the last run's end
        await FallingEdge(cocotb.top.clk)
        self.seconds = time.perf_counter() - start
        self.drop_objection()

    def report_phase(self):
        rows, skipped = self.env.scoreboard.rows, self.seq.skipped
        report = {"test": self.settings.test, "seed": self.settings.all_seeds[0], "seeds": self.settings.all_seeds,
                  "mode": "softcore", "runs": rows, "expected_runs": self.seq.planned, "not_applicable": skipped,
                  "expected_runs_per_seed": [[seed, n] for seed, n in self.seq.per_seed.items()],
                  "run_starts_ns": self.env.scoreboard.run_starts_ns,
                  "seconds": self.seconds, "cycles": sum(r["cycles"] for r in rows),
                  "bench": "per-cycle" if self.settings.strict else "event-driven",
                  "visited_cycles": ConfigDB().get(None, "", "BFM").visits,
                  "instructions": sum(r["instructions"] for r in rows)}
        publish_result(self.settings, report)  # whole, before the verdict
        assert rows, f"no scenario applies in softcore mode: {skipped[:1]}"
        assert len(rows) == self.seq.planned, f"{len(rows)} of {self.seq.planned} runs were checked"
        failures = [r["failure"] for r in rows if not r["ok"]]
        assert not failures, f"{len(failures)} run(s) failed; first: {failures[0]}"
