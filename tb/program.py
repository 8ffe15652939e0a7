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

from py_model import NmiHardware, Scenario, Session
from py_model.transactions import Txn, first_difference
from rtl.program_top import AWAIT_LIMIT, EVENTS, OP_AWAIT, OP_DELAY, OP_DRIVE, OP_END, TRACE_FIELDS

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


def _drive_word(inp) -> int:
    word = OP_DRIVE << 28
    word |= int(inp.nmi) | (inp.vector if inp.nmi else 0) << 1 | int(inp.seamcall) << 5 | int(inp.iret) << 6
    word |= int(inp.exit_req) << 7 | (inp.exit_reason if inp.exit_req else 0) << 8
    return word


def _delay(n: int) -> list[int]:
    out = []
    while n > 0:
        step = min(n, MAX_DELAY)
        out.append(OP_DELAY << 28 | step)
        n -= step
    return out


def compile_scenario(scenario: Scenario, program_depth: int = 1024) -> Compiled:
    if scenario.host_state is not None:
        raise ProgramError(f"{scenario.name}: program mode does not run host-state scenarios "
                           "(the engine has no register-write instruction); run it interactively")
    hw, session = NmiHardware(scenario.config), Session(scenario)
    drives, edges, trace = [], {}, []
    cycle, edge = 0, []
    while True:
        inputs = session.cycle(cycle, hw.state(), edge)
        if session.done:
            break
        if inputs.reg_we:
            raise ProgramError(f"{scenario.name}: register writes are not supported in program mode")
        edge = hw.step(cycle, inputs)
        if edge:
            edges[cycle] = {t.kind for t in edge}
            trace += edge
        if not inputs.idle():
            drives.append((cycle, inputs))
        cycle += 1
    end = cycle

    words, prev = [], -1  # prev: the cycle of the previous drive
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
        words.append(_drive_word(inp))
        prev = t
    words += _delay(end - (prev + 1))
    words.append(OP_END << 28)
    if len(words) > program_depth - 2:
        raise ProgramError(f"{scenario.name}: {len(words)} instructions do not fit {program_depth - 2} words")
    return Compiled(scenario, words, trace, session.outcome(), end)


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


def decode_entry(value: int) -> dict[str, int]:
    fields, shift = {}, 0
    for name, width in TRACE_FIELDS:
        fields[name] = (value >> shift) & ((1 << width) - 1)
        shift += width
    return fields


def decode_trace(entries: list[int]) -> list[Txn]:
    trace = []
    for value in entries:
        fields = decode_entry(value)
        trace += read_events(fields["cycle"], lambda name: fields.get(name, 0))  # no register writes here
    return trace


def check_run(compiled: Compiled, entries: list[int], done: bool, error: bool, overflow: bool) -> str | None:
    """The first problem with a program-mode run, or None when its trace equals the model's."""
    name = compiled.scenario.name
    if overflow:
        return f"{name}: the trace buffer overflowed; the run is not checked on a partial trace"
    diff = first_difference(compiled.trace, decode_trace(entries))
    if error:
        # The run failed; the first difference (on what was recorded) says why.
        return (f"{name}: {diff + '; then ' if diff else ''}the engine stopped: an AWAIT timed out "
                "(the design never produced the event the program waited for)")
    if not done:
        return f"{name}: the program did not finish"
    return f"{name}: {diff}" if diff else None
