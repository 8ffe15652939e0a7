"""What travels between the bench's components: sequence items at the level of host actions, and
the typed observations the monitor and driver publish. No pins here."""

from __future__ import annotations

from dataclasses import dataclass

from pyuvm import uvm_sequence_item

from py_model.hardware import HwState, Inputs
from py_model.transactions import Txn


class RunStartItem(uvm_sequence_item):
    """Reset the design into a scenario's configuration (made from ``seed``). Response: the state of
    cycle 0."""

    def __init__(self, name, scenario, verdict=None, seed: int | None = None, run: int = 1, runs: int = 1):
        super().__init__(name)
        self.scenario, self.verdict, self.seed = scenario, verdict, seed
        self.run, self.runs = run, runs  # this run's number in the test (the waves' tb_run), of how many
        self.state: HwState | None = None
        self.start_ns: int | None = None  # simulation time of the edge that ends the run's cycle 0


class HostCycleItem(uvm_sequence_item):
    """One cycle of the host's actions (SEAMCALL, IRET, register writes) and of the environment's
    (NMI arrivals, TD exits): the inputs for cycle ``cycle``. Response: what the host sees next,
    the state of the following cycle and the transactions of this cycle's edge."""

    def __init__(self, name, cycle: int, inputs: Inputs):
        super().__init__(name)
        self.cycle, self.inputs = cycle, inputs
        self.state: HwState | None = None
        self.edge: list[Txn] = []

    def __str__(self):
        return f"@{self.cycle} {self.inputs}"


class IdleItem(uvm_sequence_item):
    """The host and the environment do nothing for up to ``cycles`` cycles from ``cycle`` on (the
    session said so: ``Session.quiet_cycles``), unless the design acts first. Response: ``woke``,
    the cycle the design or the limit ended the stretch in, its state and the previous edge's
    transactions."""

    def __init__(self, name, cycle: int, cycles: int):
        super().__init__(name)
        self.cycle, self.cycles = cycle, cycles
        self.woke: int | None = None
        self.state: HwState | None = None
        self.edge: list[Txn] = []

    def __str__(self):
        return f"@{self.cycle} idle up to {self.cycles}"


class RunEndItem(uvm_sequence_item):
    """The run is over (``error``: it could not go on): the design goes back into reset."""

    def __init__(self, name, session, cycle: int, error: str | None):
        super().__init__(name)
        self.session, self.cycle, self.error = session, cycle, error


# ----- published on analysis ports ------------------------------------------------------
@dataclass
class Driven:
    """The driver drove ``inputs`` in ``cycle`` (the scoreboard's reference predicts from these)."""
    cycle: int
    inputs: Inputs


@dataclass
class Idled:
    """The driver drove idle inputs in ``cycles`` cycles from ``cycle`` on."""
    cycle: int
    cycles: int


@dataclass
class TxnSeen:
    txn: Txn


@dataclass
class StateSeen:
    cycle: int
    state: HwState


@dataclass
class RegsSeen:
    cycle: int  # the edge that changed the register file
    regs: list[int]
