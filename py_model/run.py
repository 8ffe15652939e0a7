"""Run a scenario on the reference model alone."""

from __future__ import annotations

from .config import beyond_bound, run_cycle_bound
from .hardware import NmiHardware
from .outcome import Outcome
from .scenario import Scenario
from .session import RunError, Session


def run_model(scenario: Scenario, skip_idle: bool = True) -> Outcome:
    """Run ``scenario`` on the reference hardware with the host software; return its outcome.

    With ``skip_idle`` the loop jumps over stretches where neither the hardware nor the
    session would do anything but count (the result is identical; see tests).
    """
    hs = scenario.host_state
    hw = NmiHardware(scenario.config, hs.td_tsx if hs else False, hs.td_waitpkg if hs else False)
    session = Session(scenario)
    cycle, edge, bound = 0, [], run_cycle_bound()
    while True:
        if cycle > bound:
            raise RunError(beyond_bound(scenario.name, bound))
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
