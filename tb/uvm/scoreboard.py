"""The scoreboard component: a thin adapter from analysis FIFOs to ``tb.check.checker.RunChecker``."""

from __future__ import annotations

from pyuvm import uvm_analysis_port, uvm_component, uvm_get_port, uvm_tlm_analysis_fifo

from tb.check.checker import RunChecker
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

    def connect_phase(self):
        self.driver_get.connect(self.driver_fifo.get_export)
        self.monitor_get.connect(self.monitor_fifo.get_export)

    async def run_phase(self):
        checker, seed = None, None
        while True:
            item = await self.driver_get.get()
            if isinstance(item, Driven):
                checker.driven(item.cycle, item.inputs)
            elif isinstance(item, Idled):
                checker.idle(item.cycle, item.cycles)
            elif isinstance(item, RunStartItem):
                while self.monitor_get.can_get():  # samples from before this run's reset
                    self.monitor_get.try_get()
                checker, seed = RunChecker(item.scenario, verdict=item.verdict), item.seed
            else:  # RunEndItem
                self._observe_all(checker)
                if item.error and not checker.failed:
                    checker.run_error = item.error
                result = checker.end(item.session, item.cycle)
                result.seed = seed
                self.results.append(result)
                self.result_ap.write(result)
                status = "ok" if result.ok else f"FAIL {result.failure}"
                self.logger.info(f"{result.scenario.name}: {result.cycles} cycles, "
                                 f"{result.transactions} transactions compared: {status}")

    def _observe_all(self, checker):
        while self.monitor_get.can_get():
            _, seen = self.monitor_get.try_get()
            if isinstance(seen, TxnSeen):
                checker.observed_txn(seen.txn)
            elif isinstance(seen, RegsSeen):
                checker.observed_regs(seen.cycle, seen.regs)
            elif isinstance(seen, StateSeen):
                checker.observed_state(seen.cycle, seen.state)
