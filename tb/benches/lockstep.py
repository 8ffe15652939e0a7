"""One co-simulation run in a single loop, simulator-independent (the amaranth.sim and board benches).

Per cycle the bench hands ``step`` a pin getter; ``step`` decodes the previous edge's events and
this cycle's state, gives them to the checker, lets the session (stimulus + KVM + Linux)
react, and returns the input pins to drive (None when the run is over).
"""

from __future__ import annotations

from py_model import Scenario
from py_model.session import HostLoop
from tb.check.checker import RunChecker, RunResult
from tb.protocol.pins import config_pins, input_pins


class Lockstep:
    def __init__(self, scenario: Scenario, label: str = "", verdict=None):
        self.scenario = scenario
        self.loop = HostLoop(scenario)
        self.checker = RunChecker(scenario, label, verdict)

    def config_pins(self) -> dict[str, int]:
        return config_pins(self.scenario)

    def step(self, get) -> dict[str, int] | None:
        t = self.loop.cycle
        state, edge = self.checker.observed_pins(t, get)
        if self.checker.failed:
            return None  # stop at the first divergence
        inputs = self.loop.step(state, edge)
        if inputs is None:
            self.checker.run_error = self.loop.error
            return None
        self.checker.driven(t, inputs)
        return input_pins(inputs)

    def finish(self) -> RunResult:
        return self.checker.end(self.loop.session, self.loop.cycle)
