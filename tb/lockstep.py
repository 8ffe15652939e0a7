"""One co-simulation run, simulator-independent: the session drives the DUT, the reference predicts.

Per cycle the bench hands ``step`` a pin getter; ``step`` decodes the previous edge's events and
this cycle's state, scores them against the reference, lets the session (stimulus + KVM +
Linux) react, predicts the coming edge, and returns the input pins to drive (None when done).
"""

from __future__ import annotations

from py_model import NmiHardware, Scenario, Session, check_expect, run_model
from py_model.hardware import HwState

from .pins import config_pins, input_pins, read_events, read_state
from .scoreboard import Mismatch, Scoreboard


class StateSample(tuple):
    """(cycle, HwState), printed readably in a mismatch."""

    def __str__(self):
        cycle, s = self
        return (f"@{cycle} phase={s.phase} blocked={int(s.blocked)} latch={int(s.latch)} "
                f"saved={int(s.saved_blocked)} bitmap=0x{s.bitmap:04x}")


class Lockstep:
    def __init__(self, scenario: Scenario, label: str = ""):
        self.scenario = scenario
        self.session = Session(scenario)
        self.reference = NmiHardware(scenario.config)
        self.scoreboard = Scoreboard(label or scenario.name)
        self.cycle = 0
        self.rtl_trace = []

    def config_pins(self) -> dict[str, int]:
        return config_pins(self.scenario.config)

    def step(self, get) -> dict[str, int] | None:
        t = self.cycle
        edge = read_events(t - 1, get) if t else []
        state = read_state(get)
        self.rtl_trace += edge
        for txn in edge:
            self.scoreboard.observe("txn", txn)
        self.scoreboard.expect("state", StateSample((t, self.reference.state())))
        self.scoreboard.observe("state", StateSample((t, state)))
        inputs = self.session.cycle(t, state, edge)
        if self.session.done:
            return None
        for txn in self.reference.step(t, inputs):
            self.scoreboard.expect("txn", txn)
        self.cycle += 1
        return input_pins(inputs)

    def finish(self):
        """Close the scoreboard; compare with a model-alone run; return (outcome, miss or None)."""
        self.scoreboard.finish()
        outcome = self.session.outcome()
        alone = run_model(self.scenario)
        if alone.to_json() != outcome.to_json():
            from py_model.transactions import first_difference
            diff = first_difference(alone.trace, outcome.trace) or "pass records differ"
            raise Mismatch(f"{self.scoreboard.label}: RTL run differs from the model-alone run: {diff}")
        return outcome, check_expect(self.scenario.expect, outcome)
