"""Run a scenario on the reference model alone."""

from __future__ import annotations

from .hardware import NmiHardware
from .outcome import Outcome
from .scenario import Scenario
from .session import HostLoop, RunError


class ModelRun:
    """The reference hardware and the host software in lockstep: the one model loop, used by
    ``run_model`` and by the program-mode compiler (``tb/protocol/program.py``).

    With ``skip_idle`` the loop jumps over stretches where neither the hardware nor the session
    would do anything but count (the result is identical; see tests).
    """

    def __init__(self, scenario: Scenario, skip_idle: bool = True, bound: int | None = None):
        hs = scenario.host_state
        self.scenario, self.skip_idle = scenario, skip_idle
        self.hw = NmiHardware(scenario.config, hs.td_tsx if hs else False, hs.td_waitpkg if hs else False)
        self.loop = HostLoop(scenario, bound)
        self.session = self.loop.session
        self.end = 0  # the cycle in which the session finished

    def cycles(self):
        """Yield (cycle, inputs, edge) for every cycle stepped: the inputs driven in ``cycle`` and the
        transactions of its edge. Raises RunError when the session cannot go on or passes the bound."""
        hw, loop, edge = self.hw, self.loop, []
        while True:
            cycle = loop.cycle
            inputs = loop.step(hw.state(), edge)
            if inputs is None:
                if loop.error:
                    raise RunError(loop.error)
                self.end = cycle
                return
            edge = hw.step(cycle, inputs)
            yield cycle, inputs, edge
            if self.skip_idle and not edge and inputs.idle():  # cheap test first: this is the hot loop
                state = hw.state()
                n = min(hw.quiet_cycles(), loop.quiet_stretch(inputs, edge, state))
                if n > 0:
                    loop.skip(n, state)
                    hw.skip(n)

    def outcome(self) -> Outcome:
        return self.session.outcome(list(self.hw.regs))


def run_model(scenario: Scenario, skip_idle: bool = True, bound: int | None = None) -> Outcome:
    """Run ``scenario`` on the reference hardware with the host software; return its outcome.

    ``bound``: the cycle limit (default: the shared run bound, ``py_model.config.run_cycle_bound``)."""
    run = ModelRun(scenario, skip_idle, bound)
    for _ in run.cycles():
        pass
    return run.outcome()
