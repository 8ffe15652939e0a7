"""The scoreboard component: a thin adapter from analysis FIFOs to ``tb.check.checker.RunChecker``."""

from __future__ import annotations

from pyuvm import ConfigDB, uvm_analysis_port, uvm_component, uvm_get_port, uvm_tlm_analysis_fifo

from tb.check.checker import RunChecker
from tb.check.where import Location
from tb.uvm.bfm import CLOCK_NS
from tb.uvm.items import Driven, Idled, RegsSeen, RunStartItem, StateSeen, TxnSeen


class NmiScoreboard(uvm_component):
    """Predicts from what the driver drove, compares with what the monitor saw. Each finished run's
    result is kept (``results``) and published on ``result_ap`` (coverage subscribes)."""

    def build_phase(self):
        self.driver_fifo = uvm_tlm_analysis_fifo("driver_fifo", self)
        self.monitor_fifo = uvm_tlm_analysis_fifo("monitor_fifo", self)
        self.driver_export = self.driver_fifo.analysis_export
        self.monitor_export = self.monitor_fifo.analysis_export
        self.driver_get = uvm_get_port("driver_get", self)
        self.monitor_get = uvm_get_port("monitor_get", self)
        self.result_ap = uvm_analysis_port("result_ap", self)
        self.results = []
        self.run_starts_ns = []  # each run's cycle-0 edge in the simulation (the waves' markers)

    def connect_phase(self):
        self.driver_get.connect(self.driver_fifo.get_export)
        self.monitor_get.connect(self.monitor_fifo.get_export)

    async def run_phase(self):
        checker, seed, start = None, None, None
        while True:
            item = await self.driver_get.get()
            if isinstance(item, Driven):
                checker.driven(item.cycle, item.inputs)
            elif isinstance(item, Idled):
                checker.idle(item.cycle, item.cycles)
            elif isinstance(item, RunStartItem):
                while self.monitor_get.can_get():  # samples from before this run's reset
                    self.monitor_get.try_get()
                checker, seed, start = RunChecker(item.scenario, verdict=item.verdict), item.seed, item
            else:  # RunEndItem
                self._observe_all(checker)
                if item.error and not checker.failed:
                    checker.run_error = item.error
                result = checker.end(item.session, item.cycle)
                result.seed = seed
                self.run_starts_ns.append(start.start_ns)
                if not result.ok and start.start_ns is not None:
                    result.where = Location(start.run, start.runs, start.start_ns, CLOCK_NS, result.problem_cycle,
                                            ConfigDB().get(self, "", "SETTINGS").dump)
                self.results.append(result)
                self.result_ap.write(result)
                summary = f"{result.scenario.name}: {result.cycles} cycles, {result.transactions} transactions compared"
                if result.ok:
                    self.logger.info(f"{summary}: ok")
                else:
                    self.logger.error(f"{summary}: FAIL {result.failure}")
                    if result.where is not None:
                        self.logger.error(result.where.text())

    def _observe_all(self, checker):
        while self.monitor_get.can_get():
            _, seen = self.monitor_get.try_get()
            if isinstance(seen, TxnSeen):
                checker.observed_txn(seen.txn)
            elif isinstance(seen, RegsSeen):
                checker.observed_regs(seen.cycle, seen.regs)
            elif isinstance(seen, StateSeen):
                checker.observed_state(seen.cycle, seen.state)
