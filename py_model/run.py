"""Run a scenario on the reference model alone."""

from __future__ import annotations

from .hardware import NmiHardware
from .outcome import Outcome
from .scenario import Scenario
from .session import Session


def run_model(scenario: Scenario, skip_idle: bool = True) -> Outcome:
    """Run ``scenario`` on the reference hardware with the host software; return its outcome.

    With ``skip_idle`` the loop jumps over stretches where neither the hardware nor the
    session would do anything but count (the result is identical; see tests).
    """
    hs = scenario.host_state
    hw = NmiHardware(scenario.config, hs.td_tsx if hs else False, hs.td_waitpkg if hs else False)
    session = Session(scenario)
    cycle, edge = 0, []
    while True:
        state = hw.state()
        inputs = session.cycle(cycle, state, edge)
        if session.done:
            return session.outcome(list(hw.regs))
        edge = hw.step(cycle, inputs)
        cycle += 1
        if skip_idle and not edge and inputs.idle():
            state = hw.state()
            n = min(hw.quiet_cycles(), session.quiet_cycles(state))
            if n > 0:
                session.skip(n, state)
                hw.skip(n)
                cycle += n
