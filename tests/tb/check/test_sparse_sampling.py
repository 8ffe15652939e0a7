"""The checker fed only the cycles after an edge that did something (the event-driven bench) reaches
the verdicts it reaches fed every cycle: the state is compared at its change points."""

from conftest import SCENARIO_DIR
from py_model import Scenario, load_scenario
from py_model.hardware import IDLE, Inputs, NmiHardware
from tb.check.checker import HardwareChecker


def sampled(checker_factory, hw_trace, every_cycle: bool):
    """Feed a checker a recorded run, sampling every cycle or only after edges that did something."""
    checker = checker_factory()
    last = None
    for cycle, state, edge in hw_trace:
        if every_cycle or cycle == 0 or edge or state != last:
            for txn in edge:
                checker.observed_txn(txn)
            checker.observed_state(cycle, state)
        last = state
    return checker


def record(scenario: Scenario, bug_latch_stays: int | None = None):
    """(cycle, state, previous edge) of a run of the reference on the scenario's idle timeline,
    with NMIs at the given cycles; ``bug_latch_stays``: from that cycle on the observed state
    wrongly keeps the latch (a defect the sampled checker must still see)."""
    hw = NmiHardware(scenario.config)
    trace, edge = [], []
    for cycle in range(40):
        state = hw.state()
        if bug_latch_stays is not None and cycle >= bug_latch_stays:
            state = state.__class__(state.phase, state.blocked, True, state.saved_blocked, state.bitmap)
        trace.append((cycle, state, edge))
        edge = hw.step(cycle, IDLE if cycle != 3 else Inputs(nmi=True, vector=0))
    return trace


def test_sparse_sampling_checks_what_per_cycle_sampling_checks():
    scenario = load_scenario(SCENARIO_DIR / "a1_host_nmi_no_td.yaml")

    def checker():
        c = HardwareChecker(scenario.config, "sparse", registers=False)
        c.idle(0, 3)
        c.driven(3, Inputs(nmi=True, vector=0))
        c.idle(4, 36)
        return c

    good = record(scenario)
    for every in (True, False):
        assert sampled(checker, good, every).problem(40) is None
    # A latch that never clears: both samplings name the same first difference.
    bad = record(scenario, bug_latch_stays=5)
    problems = {every: sampled(checker, bad, every).problem(40) for every in (True, False)}
    assert problems[True] and problems[True] == problems[False], problems
