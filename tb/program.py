"""Program mode: compile a scenario into a host-engine program, and check the trace it produces.

The compiler runs the model cycle by cycle and turns the host software's decisions (and the
stimulus) into the engine's instructions (``rtl/program_top.py``): each pin drive is anchored to
the latest design event before it (AWAIT that event, DELAY the rest), so the program follows the
design's timing rather than a fixed clock. The run's trace must equal the model's element for
element; the outcome (passes, counts, inversions, losses) is then the model's, since KVM's and
Linux's decisions are a function of that trace. No simulator import here.
"""

from __future__ import annotations

from dataclasses import dataclass

from py_model import HwState, NmiHardware, Scenario, Session, check_expect
from py_model.transactions import Txn, first_difference
from rtl.program_top import (AWAIT_LIMIT, DATA_DEPTH, EVENTS, OP_AWAIT, OP_DELAY, OP_DRIVE, OP_END, OP_NMI_FRAME,
                             trace_fields)

from .invariants import InvariantChecker
from .pins import read_events

MAX_DELAY = (1 << 24) - 1


class ProgramError(Exception):
    """The scenario cannot be run in program mode (the message says why)."""


@dataclass
class Compiled:
    scenario: Scenario
    words: list[int]
    trace: list[Txn]  # what the design must record
    outcome: object  # the model's outcome
    cycles: int  # the cycle at which the program ends
    data: list[int] = None  # the 64-bit values register writes take (host-state scenarios)
    final_regs: list[int] | None = None  # the register file the design must hold at the end

    @property
    def host_state(self) -> bool:
        return self.final_regs is not None


def _drive_word(inp, data: list[int]) -> int:
    word = (OP_DRIVE | (OP_NMI_FRAME if inp.iret and inp.iret_nmi else 0)) << 28
    word |= int(inp.nmi) | (inp.vector if inp.nmi else 0) << 1 | int(inp.seamcall) << 5 | int(inp.iret) << 6
    word |= int(inp.exit_req) << 7 | (inp.exit_reason if inp.exit_req else 0) << 8
    if inp.reg_we:
        if inp.reg_data not in data:
            data.append(inp.reg_data)
        word |= 1 << 15 | inp.reg_addr << 16 | data.index(inp.reg_data) << 21
    return word


def _delay(n: int) -> list[int]:
    out = []
    while n > 0:
        step = min(n, MAX_DELAY)
        out.append(OP_DELAY << 28 | step)
        n -= step
    return out


def compile_scenario(scenario: Scenario, program_depth: int = 1024, host_state: bool = True) -> Compiled:
    """``host_state``: the target has the host-state unit (simulation does; the board does not)."""
    hs = scenario.host_state
    if hs is not None and not host_state:
        raise ProgramError(f"{scenario.name}: this target has no host-state unit (the board leaves it out); "
                           "run host-state scenarios in simulation")
    hw = NmiHardware(scenario.config, bool(hs and hs.td_tsx), bool(hs and hs.td_waitpkg))
    session = Session(scenario)
    drives, edges, trace = [], {}, []
    cycle, edge = 0, []
    while True:
        inputs = session.cycle(cycle, hw.state(), edge)
        if session.done:
            break
        edge = hw.step(cycle, inputs)
        if edge:
            edges[cycle] = {t.kind for t in edge}
            trace += edge
        if not inputs.idle():
            drives.append((cycle, inputs))
        cycle += 1
    end = cycle

    words, data, prev = [], [], -1  # prev: the cycle of the previous drive
    for t, inp in drives:
        anchor = _anchor(edges, prev, t)
        if anchor is not None:
            edge_cycle, kind = anchor
            if t - (edge_cycle + 1) > AWAIT_LIMIT:
                anchor = None
        if anchor is not None:
            words.append(OP_AWAIT << 28 | EVENTS.index(kind))
            words += _delay(t - (edge_cycle + 1))
        else:
            words += _delay(t - (prev + 1))
        words.append(_drive_word(inp, data))
        prev = t
    words += _delay(end - (prev + 1))
    words.append(OP_END << 28)
    if len(words) > program_depth - 2:
        raise ProgramError(f"{scenario.name}: {len(words)} instructions do not fit {program_depth - 2} words")
    if len(data) > DATA_DEPTH:
        raise ProgramError(f"{scenario.name}: {len(data)} distinct register values do not fit {DATA_DEPTH}")
    final_regs = list(hw.regs) if hs is not None else None
    return Compiled(scenario, words, trace, session.outcome(list(hw.regs)), end, data, final_regs)


def _anchor(edges: dict, prev: int, t: int):
    """The latest edge a in [prev, t-1] with an event kind that no earlier edge in [prev, a) has."""
    for a in range(t - 1, max(prev, 0) - 1, -1):
        if a not in edges:
            continue
        earlier = set().union(*(edges.get(e, set()) for e in range(max(prev, 0), a)))
        for kind in EVENTS:
            if kind in edges[a] and kind not in earlier:
                return a, kind
        return None
    return None


def decode_entry(value: int, host_state: bool = False) -> dict[str, int]:
    fields, shift = {}, 0
    for name, width in trace_fields(host_state):
        fields[name] = (value >> shift) & ((1 << width) - 1)
        shift += width
    return fields


def decode_trace(entries: list[int], host_state: bool = False) -> list[Txn]:
    trace = []
    for value in entries:
        fields = decode_entry(value, host_state)
        trace += read_events(fields["cycle"], lambda name: fields.get(name, 0))  # no register writes here
    return trace


def trace_violations(config, entries: list[int], host_state: bool = False) -> list[str]:
    """The reference-free invariants (``tb/invariants.py``) over a program-mode trace.

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
        txns = read_events(t, lambda name: f.get(name, 0))
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

        wrong = [f"{n}: model 0x{a:x}, rtl 0x{b:x}" for n, a, b in zip(REGISTERS, compiled.final_regs, regs or [])
                 if a != b] or ["not read back"]
        return f"{name}: register file at the end: {'; '.join(wrong)}"
    # The design's trace equals the model's, and the program replays the model's software
    # decisions: the scenario's hand-derived `expect` holds for this run exactly when it holds there.
    miss = check_expect(compiled.scenario.expect, compiled.outcome)
    return f"{name}: {miss}" if miss else None
