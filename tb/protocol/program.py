"""Program mode: compile a scenario into a host-engine program, and decode the trace it records.

The compiler runs the model cycle by cycle and turns the host software's decisions (and the
stimulus) into the engine's instructions (``rtl/program_top.py``): each pin drive is anchored to
the latest design event before it (AWAIT that event, DELAY the rest), so the program follows the
design's timing rather than a fixed clock. The run's trace must equal the model's element for
element; the outcome (passes, counts, inversions, losses) is then the model's, since KVM's and
Linux's decisions are a function of that trace. No simulator import here.
"""

from __future__ import annotations

from dataclasses import dataclass

from py_model import Scenario
from py_model.run import ModelRun
from py_model.transactions import Txn
from rtl.program_top import AWAIT_LIMIT, DATA_DEPTH, DRIVE_FIELDS, EVENTS, OP_AWAIT, OP_DELAY, OP_DRIVE, OP_END, trace_fields
from tb.protocol.pins import input_pins, read_events

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
    """A DRIVE word for one cycle's inputs (``DRIVE_FIELDS``); a register write's value joins ``data``."""
    fields = input_pins(inp)
    if inp.reg_we:
        if inp.reg_data not in data:
            data.append(inp.reg_data)
        fields["data_index"] = data.index(inp.reg_data)
    word = OP_DRIVE << 28
    for name, (low, width) in DRIVE_FIELDS.items():
        word |= (fields.get(name, 0) & ((1 << width) - 1)) << low
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
    run = ModelRun(scenario, skip_idle=False)  # every cycle: drives are anchored cycle by cycle
    drives, edges, trace = [], {}, []
    for cycle, inputs, edge in run.cycles():
        if edge:
            edges[cycle] = {t.kind for t in edge}
            trace += edge
        if not inputs.idle():
            drives.append((cycle, inputs))
    end, hw = run.end, run.hw

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
    return Compiled(scenario, words, trace, run.outcome(), end, data, final_regs)


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
        trace += read_events(fields["cycle"], lambda name, f=fields: f.get(name, 0))  # no register writes here
    return trace


