"""Everything checked about one run, free of any simulator: used by every bench.

``HardwareChecker`` predicts with the reference hardware from the inputs actually driven and
scores the DUT's observed transactions and states against it, with the invariants; ``RunChecker``
adds, at the end, the run against a model-alone run, the scenario's ``expect`` and the verdict.

The state is compared as a function of the cycle: each side's stream holds the cycles in which the
state changed, with the new state, so a bench that samples every cycle and one that samples only
when the design's ``trace.wake`` is high (the state provably changes only then: ``make formal``,
``state_changes_only_at_wake``) give the same streams and the same verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from py_model import NmiHardware, Scenario, check_expect, run_model
from py_model.hardware import IDLE
from py_model.outcome import Outcome
from py_model.transactions import first_difference
from tb.check.invariants import InvariantChecker
from tb.check.scoreboard import Mismatch, Scoreboard
from tb.check.where import Location, problem_cycle
from tb.protocol.pins import changes_registers, read_events, read_regs, read_state


class RegSample(tuple):
    """(cycle, register values) after an edge that wrote the register file or ran SEAMRET."""

    def __str__(self):
        from py_model.host_state import REGISTERS
        cycle, values = self
        return f"@{cycle} " + " ".join(f"{n}=0x{v:x}" for n, v in zip(REGISTERS, values, strict=True))

    def diff(self, other) -> str:
        """Only the registers that differ, reference first."""
        from py_model.host_state import REGISTERS
        if self[0] != other[0]:
            return f"sampled after edge {self[0]} | rtl after edge {other[0]}"
        wrong = [f"{n}: reference 0x{a:x}, rtl 0x{b:x}"
                 for n, a, b in zip(REGISTERS, self[1], other[1], strict=True) if a != b]
        return f"register file after edge {self[0]}: " + "; ".join(wrong)


class StateSample(tuple):
    """(cycle, HwState), printed readably in a mismatch."""

    def __str__(self):
        cycle, s = self
        return (f"@{cycle} phase={s.phase} blocked={int(s.blocked)} latch={int(s.latch)} "
                f"saved={int(s.saved_blocked)} bitmap=0x{s.bitmap:04x}")


@dataclass
class RunResult:
    scenario: Scenario
    outcome: Outcome  # of the RTL run
    failure: str | None  # the first problem, or None
    verdict: object = None  # catalog.Verdict where the test has one
    transactions: int = 0
    cycles: int = 0
    violations: list[str] = field(default_factory=list)  # protocol invariants the DUT broke (tb/check/invariants.py)
    seed: int | None = None  # the seed the scenario was made from (several seeds share one process)
    problem_cycle: int | None = None  # the cycle of the first difference or broken invariant, if it has one
    where: Location | None = None  # set by the bench: the run's place in the test's waves

    @property
    def ok(self) -> bool:
        return self.failure is None

    def row(self) -> dict:
        """The run's row in a report (the same shape from every bench)."""
        s = self.scenario
        return {"scenario": s.name, "seed": self.seed, "config": s.config.to_json(), "ok": self.ok,
                "failure": self.failure,
                "cycles": self.cycles, "transactions": self.transactions,
                "verdict": self.verdict.columns if self.verdict else None,
                "host_state_config": s.host_state.to_json() if s.host_state else None,
                "outcome": self.outcome.to_json(),
                **({"where": self.where.to_json()} if self.where is not None and not self.ok else {})}


class HardwareChecker:
    """The RTL against the reference hardware, edge by edge, fed the inputs that were driven, plus
    the reference-free invariants: the hardware half of every check (the softcore's too, where the
    inputs come from a CPU rather than from the model's software)."""

    def __init__(self, config, label: str, host_state=None, registers: bool = True):
        """``registers``: the design has the host-state register file (the softcore's and the board's do not)."""
        hs = host_state
        self.registers = registers
        self.reference = NmiHardware(config, bool(hs and hs.td_tsx), bool(hs and hs.td_waitpkg))
        self.last_regs = tuple(self.reference.regs)
        self.scoreboard = Scoreboard(label, stop_on_first=False)
        if registers:  # the register file reset leaves, sampled at cycle 0 (after no edge: "edge -1")
            self.scoreboard.expect("regs", RegSample((-1, self.last_regs)))
        self.invariants = InvariantChecker(config)
        self._held = []
        self._expected_state = None  # the reference's state at the last change point
        self._seen = None  # (cycle, state) of the last observation

    @property
    def failed(self) -> bool:
        return bool(self.scoreboard.mismatches)

    def _expect_state(self, cycle: int) -> None:
        state = self.reference.state()
        if state != self._expected_state:
            self.scoreboard.expect("state", StateSample((cycle, state)))
            self._expected_state = state

    # The inputs driven in cycle t: expect the reference's state of t and the transactions of edge t.
    def driven(self, cycle: int, inputs) -> None:
        self._expect_state(cycle)
        for txn in self.reference.step(cycle, inputs):
            self.scoreboard.expect("txn", txn)
        if self.registers and self.reference.regs_changed:
            self.scoreboard.expect("regs", RegSample((cycle, tuple(self.reference.regs))))

    def idle(self, cycle: int, n: int) -> None:
        """Idle inputs were driven in cycles ``cycle`` .. ``cycle + n - 1``. The reference jumps over
        the stretches in which it would only count (``NmiHardware.quiet_cycles``: no transaction,
        no state change) and steps the rest."""
        end, t = cycle + n, cycle
        while t < end:
            quiet = min(self.reference.quiet_cycles(), end - t)
            if quiet:
                self._expect_state(t)
                self.reference.skip(quiet)
                t += quiet
            else:
                self.driven(t, IDLE)
                t += 1

    def observed_regs(self, cycle: int, regs) -> None:
        """The register file after edge ``cycle``, sampled because that edge changed it (-1: as reset
        left it, sampled at cycle 0)."""
        self.scoreboard.observe("regs", RegSample((cycle, tuple(regs))))
        self.last_regs = tuple(regs)

    def observed_state(self, cycle: int, state) -> None:
        """The state during ``cycle``. A bench may skip cycles whose previous edge left ``trace.wake``
        low: their state is the last one observed, and their edges had no transaction."""
        self._silent_edges_until(cycle - 1)
        if self._seen is None or state != self._seen[1]:
            self.scoreboard.observe("state", StateSample((cycle, state)))
        self._seen = (cycle, state)
        self.invariants.state(cycle, state)
        for txn in self._held:
            self.invariants.txn(txn)
        self.invariants.edge(cycle - 1, self._held)
        self._held = []

    def _silent_edges_until(self, cycle: int) -> None:
        """Cycles after the last observed one up to ``cycle`` were not sampled: the state held and
        the edges in between were silent. The per-edge rules give the same answer on each such edge,
        so the first is checked, and the last cycle's state is recorded for the next edge's rules."""
        if self._seen is None or self._seen[0] >= cycle:
            return
        last, held = self._seen
        self.invariants.edge(last, [])
        self.invariants.state(cycle, held)
        self._seen = (cycle, held)

    def observed_txn(self, txn) -> None:
        self.scoreboard.observe("txn", txn)
        self._held.append(txn)  # checked once the state after its edge is known

    def observed_pins(self, cycle: int, get) -> tuple:
        """What the pins show during ``cycle``: the registered events of edge ``cycle - 1``, the
        register file after it where that edge changed it, and the state; all observed. Returns
        (state, edge) for whoever acts on them next."""
        edge = read_events(cycle - 1, get) if cycle else []
        state = read_state(get)
        for txn in edge:
            self.observed_txn(txn)
        if self.registers and (cycle == 0 or changes_registers(edge)):
            self.observed_regs(cycle - 1, read_regs(get))
        self.observed_state(cycle, state)
        return state, edge

    def early_problem(self) -> str | None:
        """The first divergence or broken invariant seen so far (a run may stop there), or None."""
        if self.failed:
            return self.scoreboard.mismatches[0]
        if self.invariants.violations:
            return f"{self.scoreboard.label}: invariant broken: {self.invariants.violations[0]}"
        return None

    def problem(self, last_cycle: int) -> str | None:
        """At the end (``last_cycle``'s state still to compare): the first divergence or broken
        invariant, or None."""
        if self.early_problem():
            return self.early_problem()
        self._expect_state(last_cycle)
        self._silent_edges_until(last_cycle)  # the rules on a trailing silent stretch
        if self.early_problem():
            return self.early_problem()
        try:
            self.scoreboard.finish()
        except Mismatch as err:
            return str(err)
        return None


class RunChecker(HardwareChecker):
    """A scenario's run: the hardware half, then the software's outcome against the model-alone
    run, the scenario's ``expect`` and the test's verdict."""

    def __init__(self, scenario: Scenario, label: str = "", verdict=None):
        super().__init__(scenario.config, label or scenario.name, scenario.host_state)
        self.scenario = scenario
        self.verdict_fn = verdict
        self.run_error: str | None = None  # the session could not go on (often a consequence of a mismatch)

    def end(self, session, last_cycle: int) -> RunResult:
        """The session ended at ``last_cycle``: finished (its last state still to compare) or stopped."""
        outcome = session.outcome(list(self.last_regs))
        result = RunResult(self.scenario, outcome, None, transactions=self.scoreboard.compared["txn"],
                           cycles=last_cycle, violations=self.invariants.violations)
        if self.verdict_fn:  # the row's columns, even for a run that fails earlier (it stays in the table)
            result.verdict = self.verdict_fn(self.scenario, outcome)
        if self.run_error and not self.invariants.violations and not self.failed:
            result.failure = self.run_error  # stopped early, the hardware agreeing so far
            return result
        # Stopped early or not: the first divergence explains whatever came after it.
        result.failure = self.problem(last_cycle)
        if result.failure:
            result.problem_cycle = problem_cycle(self.scoreboard.first_cycle, self.invariants.violations)
            return result
        alone = run_model(self.scenario)
        if alone.to_json() != outcome.to_json():
            diff = first_difference(alone.trace, outcome.trace) or "the pass records differ"
            result.failure = f"{self.scoreboard.label}: RTL run differs from the model-alone run: {diff}"
            result.problem_cycle = problem_cycle(None, [diff])
            return result
        miss = check_expect(self.scenario.expect, outcome)
        if miss:
            result.failure = f"{self.scenario.name}: {miss}"
        if result.verdict is not None:
            if not result.verdict.ok and not result.failure:
                result.failure = f"{self.scenario.name}: {result.verdict.message}"
        return result
