"""pyuvm environment: thin adapters around the simulator-independent core.

item (one scenario) -> sequence -> driver (the reactive host agent: stimulus, KVM, Linux via
``py_model.Session``) -> monitor (pins -> transactions and state samples) -> scoreboard
(reference prediction and comparison via ``tb.check.checker.RunChecker``) -> env -> test.
Only this file and ``cocotb_tests.py`` import cocotb.
"""

from __future__ import annotations

from dataclasses import dataclass

from cocotb.triggers import FallingEdge
from pyuvm import (ConfigDB, uvm_analysis_port, uvm_component, uvm_driver, uvm_env, uvm_get_port, uvm_monitor,
                   uvm_sequence, uvm_sequence_item, uvm_sequencer, uvm_tlm_analysis_fifo)

from py_model import RunError, Session
from py_model.config import beyond_bound, run_cycle_bound
from py_model.hardware import Inputs

from tb.check.checker import RunChecker
from tb.protocol.pins import (EVENT_PINS, IDLE_PINS, REGS_PIN, STATE_PINS, changes_registers, config_pins, input_pins,
                   read_events, read_regs, read_state)



# ----- transactions between components --------------------------------------------------
class ScenarioItem(uvm_sequence_item):
    """One run: a scenario (configuration + timeline + expect)."""

    def __init__(self, name, scenario, verdict=None):
        super().__init__(name)
        self.scenario = scenario
        self.verdict = verdict


@dataclass
class RunStart:
    item: ScenarioItem


@dataclass
class Driven:
    cycle: int
    inputs: Inputs


@dataclass
class RunEnd:
    session: Session
    cycle: int
    error: str | None


# ----- sequence ------------------------------------------------------------------------
class ScenarioSeq(uvm_sequence):
    """Sends each scenario the test selected (ConfigDB key "scenarios")."""

    async def body(self):
        scenarios, verdict = ConfigDB().get(None, "", "scenarios"), ConfigDB().get(None, "", "verdict")
        for scenario in scenarios:
            item = ScenarioItem(scenario.name, scenario, verdict)
            await self.start_item(item)
            await self.finish_item(item)


def _getter(dut):
    handles = {name: getattr(dut, name) for name in EVENT_PINS + STATE_PINS + (REGS_PIN,)}
    return lambda name: int(handles[name].value)


# ----- agent ---------------------------------------------------------------------------
class HostDriver(uvm_driver):
    """Plays one scenario per item: reset, configure, then one reaction per cycle at the falling edge."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.dut = ConfigDB().get(self, "", "DUT")

    def _drive(self, pins):
        for name, value in pins.items():
            getattr(self.dut, name).value = value

    async def run_phase(self):
        dut, get = self.dut, _getter(self.dut)
        dut.rst.value = 1
        self._drive(IDLE_PINS)
        while True:
            item = await self.seq_item_port.get_next_item()
            scenario = item.scenario
            self.ap.write(RunStart(item))
            await FallingEdge(dut.clk)
            dut.rst.value = 1
            self._drive({**IDLE_PINS, **config_pins(scenario)})
            await FallingEdge(dut.clk)
            dut.rst.value = 0
            await FallingEdge(dut.clk)  # one idle cycle out of reset: the monitor sees cycle 0 here
            session, error, cycle, bound = Session(scenario), None, 0, run_cycle_bound()
            for cycle in range(bound + 1):
                edge = read_events(cycle - 1, get) if cycle else []
                try:
                    inputs = session.cycle(cycle, read_state(get), edge)
                except RunError as err:
                    error = str(err)
                    break
                if session.done:
                    break
                self._drive(input_pins(inputs))
                self.ap.write(Driven(cycle, inputs))
                await FallingEdge(dut.clk)
            else:
                error = beyond_bound(scenario.name, bound)
            self._drive(IDLE_PINS)
            dut.rst.value = 1
            await FallingEdge(dut.clk)  # the monitor has published the last cycle by now
            self.ap.write(RunEnd(session, cycle, error))
            self.seq_item_port.item_done()


class PinMonitor(uvm_monitor):
    """Publishes every transaction and a state sample per cycle, numbered from reset release."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.dut = ConfigDB().get(self, "", "DUT")

    async def run_phase(self):
        dut, get = self.dut, _getter(self.dut)
        cycle, in_reset = 0, True
        while True:
            await FallingEdge(dut.clk)
            if int(dut.rst.value):
                in_reset = True
                continue
            if in_reset:
                in_reset, cycle = False, 0
            else:
                cycle += 1
                edge = read_events(cycle - 1, get)
                for txn in edge:
                    self.ap.write(("txn", txn))
                if changes_registers(edge):
                    self.ap.write(("regs", cycle - 1, read_regs(get)))
            self.ap.write(("state", cycle, read_state(get)))


# ----- scoreboard ----------------------------------------------------------------------
class NmiScoreboard(uvm_component):
    """Predicts from what the driver drove, compares with what the monitor saw (``RunChecker``)."""

    def build_phase(self):
        self.driver_fifo = uvm_tlm_analysis_fifo("driver_fifo", self)
        self.monitor_fifo = uvm_tlm_analysis_fifo("monitor_fifo", self)
        self.driver_export = self.driver_fifo.analysis_export
        self.monitor_export = self.monitor_fifo.analysis_export
        self.driver_get = uvm_get_port("driver_get", self)
        self.monitor_get = uvm_get_port("monitor_get", self)
        self.results = []

    def connect_phase(self):
        self.driver_get.connect(self.driver_fifo.get_export)
        self.monitor_get.connect(self.monitor_fifo.get_export)

    async def run_phase(self):
        checker = None
        while True:
            item = await self.driver_get.get()
            if isinstance(item, RunStart):
                while self.monitor_get.can_get():  # samples from before this run's reset
                    self.monitor_get.try_get()
                checker = RunChecker(item.item.scenario, verdict=item.item.verdict)
            elif isinstance(item, Driven):
                checker.driven(item.cycle, item.inputs)
            else:
                self._observe_all(checker)
                if item.error and not checker.failed:
                    checker.run_error = item.error
                result = checker.end(item.session, item.cycle)
                self.results.append(result)
                status = "ok" if result.ok else f"FAIL {result.failure}"
                self.logger.info(f"{result.scenario.name}: {result.cycles} cycles, "
                                 f"{result.transactions} transactions compared: {status}")

    def _observe_all(self, checker):
        while self.monitor_get.can_get():
            _, sample = self.monitor_get.try_get()
            if sample[0] == "txn":
                checker.observed_txn(sample[1])
            elif sample[0] == "regs":
                checker.observed_regs(sample[1], sample[2])
            else:
                checker.observed_state(sample[1], sample[2])


class NmiEnv(uvm_env):
    def build_phase(self):
        self.seqr = uvm_sequencer("seqr", self)
        ConfigDB().set(None, "*", "SEQR", self.seqr)
        self.driver = HostDriver("driver", self)
        self.monitor = PinMonitor("monitor", self)
        self.scoreboard = NmiScoreboard("scoreboard", self)

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.seqr.seq_item_export)
        self.driver.ap.connect(self.scoreboard.driver_export)
        self.monitor.ap.connect(self.scoreboard.monitor_export)
