"""The NMI agent: sequencer, driver and monitor around the BFM (``tb/uvm/bfm.py``)."""

from __future__ import annotations

from pyuvm import ConfigDB, uvm_agent, uvm_analysis_port, uvm_driver, uvm_monitor, uvm_sequencer

from py_model.hardware import IDLE
from tb.uvm.items import Driven, HostCycleItem, Idled, IdleItem, RegsSeen, RunStartItem, StateSeen, TxnSeen


class HostDriver(uvm_driver):
    """Executes items through the BFM and answers each with what the host sees next. Publishes the
    run boundaries and every cycle's driven inputs (the reference predicts from them)."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.bfm = ConfigDB().get(self, "", "BFM")

    async def run_phase(self):
        await self.bfm.idle_in_reset()
        while True:
            item = await self.seq_item_port.get_next_item()
            if isinstance(item, HostCycleItem):
                self.bfm.drive(item.inputs)
                self.ap.write(Driven(item.cycle, item.inputs))
                await self.bfm.next_cycle()
                item.state, item.edge, _ = self.bfm.sample(item.cycle + 1)
            elif isinstance(item, IdleItem):
                self.bfm.drive(IDLE)
                item.woke = await self.bfm.next_wake(item.cycles)
                self.ap.write(Idled(item.cycle, item.woke - item.cycle))
                item.state, item.edge, _ = self.bfm.sample(item.woke)
            elif isinstance(item, RunStartItem):
                self.ap.write(item)
                item.start_ns = await self.bfm.reset(item.scenario, item.run)
                item.state, _, _ = self.bfm.sample(0)
            else:  # RunEndItem
                await self.bfm.idle_in_reset()  # the monitor has published the last cycle by now
                self.ap.write(item)
            self.seq_item_port.item_done()


class PinMonitor(uvm_monitor):
    """Publishes every transaction, register-file change and state sample, stamped with the
    design's cycle counter. It samples cycle 0 of each run, then only the cycles whose previous
    edge raised ``trace.wake`` (the state changes only then: ``make formal``), or every cycle
    under ``STRICT`` (the per-cycle reference the tests compare against)."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.bfm = ConfigDB().get(self, "", "BFM")
        self.strict = ConfigDB().get(self, "", "SETTINGS").strict

    async def run_phase(self):
        bfm = self.bfm
        while True:
            await bfm.released()
            self.publish(0)
            while True:
                if self.strict:
                    await bfm.next_cycle()
                else:
                    await bfm.next_wake()  # returns early, in reset, when the run ends
                if bfm.in_reset():
                    break
                if self.strict or bfm.woke():
                    self.publish(bfm.cycle())

    def publish(self, cycle: int) -> None:
        state, edge, regs = self.bfm.sample(cycle)
        for txn in edge:
            self.ap.write(TxnSeen(txn))
        if regs is not None:
            self.ap.write(RegsSeen(cycle - 1, regs))
        self.ap.write(StateSeen(cycle, state))


class NmiAgent(uvm_agent):
    def build_phase(self):
        self.seqr = uvm_sequencer("seqr", self)
        self.driver = HostDriver.create("driver", self)
        self.monitor = PinMonitor.create("monitor", self)

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.seqr.seq_item_export)
