"""Checking a program-mode run (engine in simulation, C++ harness, board): the same checks as
interactive mode, on the trace the design recorded. No simulator import here.

The design's trace must equal the model's element for element; the reference-free invariants run
on the NMI state recorded around each edge; then the scenario's ``expect`` (the outcome is then the
model's, since KVM's and Linux's decisions are a function of that trace).
"""

from __future__ import annotations

from py_model import HwState, check_expect
from py_model.transactions import first_difference
from tb.check.invariants import InvariantChecker
from tb.protocol.pins import read_events
from tb.protocol.program import Compiled, decode_entry, decode_trace


def trace_violations(config, entries: list[int], host_state: bool = False) -> list[str]:
    """The reference-free invariants (``tb/check/invariants.py``) over a program-mode trace.

    Each entry carries the NMI state before and after its edge, and the design records every edge
    at which a rule could fire (every event, and every edge that began owing a delivery or an NMI
    exit), so the checker sees here what it sees cycle by cycle in interactive mode.
    """
    checker = InvariantChecker(config)
    for value in entries:
        f = decode_entry(value, host_state)
        t = f["cycle"]
        # The state before the edge has no bitmap in the entry: None, so a rule that read it would fail loudly.
        checker.state(t, HwState(f["before_phase"], bool(f["before_blocked"]), bool(f["before_latch"]), None, None))
        checker.state(t + 1, HwState(f["after_phase"], bool(f["after_blocked"]), bool(f["after_latch"]), None,
                                     f["after_bitmap"]))
        txns = read_events(t, lambda name, f=f: f.get(name, 0))
        for txn in txns:
            checker.txn(txn)
        checker.edge(t, txns)
    return checker.violations


def check_run(compiled: Compiled, entries: list[int], done: bool, error: bool, overflow: bool,
              regs: list[int] | None = None, host_state: bool = False) -> str | None:
    """The first problem with a program-mode run, or None when its trace equals the model's.

    The same checks as interactive mode: the design against the reference (here the model's
    trace), the reference-free invariants, and the scenario's ``expect``.
    ``host_state``: the entries have the host-state layout; ``regs``: the register file read back.
    """
    name = compiled.scenario.name
    violations = trace_violations(compiled.scenario.config, entries, host_state)
    if overflow:  # what was recorded still proves a broken rule; nothing else is judged on part of a trace
        found = f"invariant broken: {violations[0]}; " if violations else ""
        return f"{name}: {found}the trace buffer overflowed; the run is not checked on a partial trace"
    diff = first_difference(compiled.trace, decode_trace(entries, host_state))
    if violations:
        broken = f"invariant broken: {violations[0]}"
        diff = f"{diff}; {broken}" if diff else broken
    if error:
        # The run failed; the first difference (on what was recorded) says why.
        return (f"{name}: {diff + '; then ' if diff else ''}the engine stopped: an AWAIT timed out "
                "(the design never produced the event the program waited for)")
    if not done:
        return f"{name}: the program did not finish"
    if diff:
        return f"{name}: {diff}"
    if compiled.final_regs is not None and regs != compiled.final_regs:
        from py_model.host_state import REGISTERS

        wrong = [f"{n}: model 0x{a:x}, rtl 0x{b:x}"
                 for n, a, b in zip(REGISTERS, compiled.final_regs, regs or [], strict=False)
                 if a != b] or ["not read back"]
        return f"{name}: register file at the end: {'; '.join(wrong)}"
    # The design's trace equals the model's, and the program replays the model's software
    # decisions: the scenario's hand-derived `expect` holds for this run exactly when it holds there.
    miss = check_expect(compiled.scenario.expect, compiled.outcome)
    return f"{name}: {miss}" if miss else None


def check_result(compiled: Compiled, result, host_state: bool) -> str | None:
    """``check_run`` on a ``tb.protocol.program_session.ProgramResult``."""
    s = result.status
    return check_run(compiled, result.entries, s.done, s.error, s.overflow, result.regs, host_state=host_state)


def program_row(scenario, compiled: Compiled | None, problem: str | None, cycles: int = 0, verdict_fn=None) -> dict:
    """The report row of one program-mode run (every bench's report has the same rows).

    ``compiled`` is None when the scenario could not be compiled (``problem`` says why); the test's
    verdict is judged only on a run whose trace checked out, since its outcome is then the model's.
    """
    row = {"scenario": scenario.name, "config": scenario.config.to_json(), "ok": False, "failure": problem,
           "cycles": cycles, "transactions": 0, "verdict": None,
           "host_state_config": scenario.host_state.to_json() if scenario.host_state else None, "outcome": None}
    if compiled is None:
        return row
    verdict = verdict_fn(scenario, compiled.outcome) if verdict_fn and not problem else None
    if verdict is not None and not verdict.ok:
        problem = f"{scenario.name}: {verdict.message}"
    row.update(ok=problem is None, failure=problem, transactions=len(compiled.trace),
               verdict=verdict.columns if verdict else None, outcome=compiled.outcome.to_json())
    return row
