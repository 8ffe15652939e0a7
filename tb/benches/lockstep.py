"""One co-simulation run in a single loop, simulator-independent (the amaranth.sim and board benches).

Per cycle the bench hands ``step`` a pin getter; ``step`` decodes the previous edge's events and
this cycle's state, gives them to the checker, lets the session (stimulus + KVM + Linux)
react, and returns the input pins to drive (None when the run is over).
"""

from __future__ import annotations

from py_model import RunError, Scenario, Session

from tb.check.checker import RunChecker, RunResult
from tb.protocol.pins import changes_registers, config_pins, input_pins, read_events, read_regs, read_state


class Lockstep:
    def __init__(self, scenario: Scenario, label: str = "", verdict=None):
        self.scenario = scenario
        self.session = Session(scenario)
        self.checker = RunChecker(scenario, label, verdict)
        self.cycle = 0

    def config_pins(self) -> dict[str, int]:
        return config_pins(self.scenario)

    def step(self, get) -> dict[str, int] | None:
        t = self.cycle
        edge = read_events(t - 1, get) if t else []
        state = read_state(get)
        for txn in edge:
            self.checker.observed_txn(txn)
        if changes_registers(edge):
            self.checker.observed_regs(t - 1, read_regs(get))
        self.checker.observed_state(t, state)
        if self.checker.failed:
            return None  # stop at the first divergence
        try:
            inputs = self.session.cycle(t, state, edge)
        except RunError as err:
            self.checker.run_error = str(err)
            return None
        if self.session.done:
            return None
        self.checker.driven(t, inputs)
        self.cycle += 1
        return input_pins(inputs)

    def finish(self) -> RunResult:
        return self.checker.end(self.session, self.cycle)
