"""Why a surviving ``make mcy`` mutant cannot be seen by any legal host: a table, as MCY's tags are.

Each ``Waiver`` names the legal host's behaviour that keeps the mutated signal at the value the mutant
forces (the BMC's counterexample drives an input the host never drives in that state), as a predicate
over the mutation's facts (``Mutation``, read with the netlist's facts) and the reason it prints.
``tests/tb/flows/test_mcy.py`` holds each waiver to a mutation it waives and one it must not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from py_model.config import DEFAULT_RUN_CYCLE_BOUND
from tb import ROOT
from tb.flows.mcy_netlist import Netlist, source_of


def _line(path: str, marker: str) -> str:
    """``path:N`` of the first line of ``path`` holding ``marker`` (waivers follow the code as it moves)."""
    for n, text in enumerate((ROOT / path).read_text().splitlines(), 1):
        if marker in text:
            return f"{path}:{n}"
    return f"{path}:?"


@dataclass
class Mutation:
    """What a waiver reads of one ``mutate`` command."""

    text: str
    wire: str | None  # the mutated signal's own name ("seq.nmi__at_host" -> "at_host"), where known
    cell: str | None
    source: list[str]  # the Amaranth source lines of the mutated cell
    bit: int | None  # the wire or port bit
    wire_bit: int | None  # the wire bit
    forced_one: bool
    forced_zero: bool
    frozen: bool  # a register that never clocks (keeps its reset value, 0)
    reset_mux_input_b: bool  # the reset value input of one of nmi_top's own reset multiplexers
    mux: dict  # the mutated cell's ports where it is a multiplexer ({"A": "\\seq.nmi_seen", ...}), else {}
    resets: str | None  # the register a mutated reset multiplexer resets ("seq.nmi_seen")
    or_input: str | None  # the signal on the mutated input of an OR cell ("\\seq.intr_pending"), else None

    @classmethod
    def read(cls, text: str, netlist: Netlist) -> Mutation:
        wire = re.search(r"-wire (\S+) ", text)
        wire = wire.group(1) if wire else None
        cell = re.search(r"-cell (\S+)", text)
        cell = cell.group(1) if cell else None
        port = re.search(r"-port (A|B) ", text)
        if wire is None and cell and port and port.group(1) in netlist.and_inputs.get(cell, {}):
            wire = netlist.and_inputs[cell][port.group(1)].lstrip("\\")  # the signal on the mutated AND input
        if wire is None and cell and "-port S " in text and netlist.muxes.get(cell, {}).get("S") == "\\rst":
            wire = netlist.held_register(cell)  # a reset multiplexer's select: the register it resets
        bit, wire_bit = re.search(r"-(?:wire|port)bit (\d+)", text), re.search(r"-wirebit (\d+)", text)
        return cls(text, wire.split(".")[-1].split("__")[-1] if wire else None, cell, source_of(text).split(", "),
                   int(bit.group(1)) if bit else None, int(wire_bit.group(1)) if wire_bit else None,
                   "-mode const1" in text, "-mode const0" in text,
                   "-port CLK " in text, bool(cell in netlist.reset_muxes and "-port B " in text),
                   netlist.muxes.get(cell, {}),
                   netlist.held_register(cell) if netlist.muxes.get(cell, {}).get("S") == "\\rst" else None,
                   netlist.or_inputs.get(cell, {}).get(port.group(1)) if cell and port else None)


@dataclass
class Waiver:
    name: str
    applies: Callable[[Mutation], bool]
    reason: Callable[[Mutation], str]


def _gating(m: Mutation) -> bool:
    """The terms that gate IRET and SEAMCALL, forced to a value a legal host makes them anyway."""
    lines = {_line("rtl/top.py", "iret_taken = "), _line("rtl/top.py", "ev.iret_nmi.eq("),
             _line("rtl/seam_sequencer.py", "self.seamcall & ~link.deliver")}
    return any(line in lines for line in m.source) and (
        m.forced_one or (m.forced_zero and "-port A " in m.text and "seam_sequencer" in m.source[0]))


def _saved_blocking(m: Mutation) -> bool:
    lines = {_line("rtl/seam_sequencer.py", "Mux(keep, 1, self.saved_blocked)"),
             _line("rtl/top.py", "ev.seamcall_saved.eq("), _line("rtl/interfaces.py", '"seamcall_saved": Out(1)')}
    return (m.forced_zero or m.frozen) and (m.wire in ("saved_blocked", "seamcall_saved")
                                            or any(line in lines for line in m.source))


def _nmi_seen_unread(m: Mutation) -> bool:
    """A write of nmi_seen outside stepping (its reset, the clears at an exit to KVM and at an MTF end)
    changed: its value or its select kept from taking it (forcing the select to 1 elsewhere is seen)."""
    clear = m.mux.get("A") == "\\seq.nmi_seen" and m.mux.get("B") == "1'0"
    return (clear or m.resets == "seq.nmi_seen") and ("-port B " in m.text or ("-port S " in m.text and m.forced_zero))


def _nmi_seen_reason() -> str:
    seq = "rtl/seam_sequencer.py"
    reads = ", ".join(_line(seq, marker) for marker in (
        "self.nmi_seen.eq(self.nmi_seen | link.nmi_exit)", "self.self_nmi.eq(self.nmi_seen & ~link.nmi_exit)",
        'self.self_nmi.eq(self.nmi_seen & ("self_nmi_not_sent"'))
    return (f"nmi_seen is read only while the module steps ({reads}) and every entry into stepping loads it "
            f"({_line(seq, 'self.nmi_seen.eq(link.nmi_exit)')}): what a reset or a clear outside stepping "
            "leaves is never read")


def _td_exit_request_as_nmi(m: Mutation) -> bool:
    """last_exit_nmi forced to 0 where the TD's own exit request writes (exit_reason == NMI) or keeps it."""
    return (m.mux.get("S") == "\\stim__exit_req" and m.mux.get("A") == "\\seq.last_exit_nmi" and m.forced_zero
            and ("-port Y " in m.text or "-port B " in m.text))


def _pushed_back_interrupt_in_starts(m: Mutation) -> bool:
    """The pushed-back interrupt's term among what starts stepping, forced to 0."""
    return (m.or_input == "\\seq.intr_pending" and m.forced_zero
            and _line("rtl/seam_sequencer.py", "starts = link.nmi_exit | self.intr_pending") in m.source)


def _pushed_back_interrupt_reason() -> str:
    seq = "rtl/seam_sequencer.py"
    return ("intr_pending is 1 in the TD only after stepping ended at its last MTF exit: only entering stepping "
            f"sets it ({_line(seq, 'self.intr_pending.eq(~link.nmi_exit)')}), every exit to KVM clears it "
            f"({_line(seq, 'self.intr_pending.eq(0), self.nmi_seen.eq(0)')}), and the MTF end that re-enters "
            f"the TD sets no_step ({_line(seq, 'self.no_step.eq(1), self.nmi_seen.eq(0)')}), so too_soon is 0 "
            f"there and the interrupt exits at once ({_line(seq, 'with m.Elif(self.intr_pending)')}) whether or "
            "not its term is among what starts stepping: equivalent, by an invariant the equivalence check's "
            "4-step induction does not find")


WAIVERS = [
    Waiver("reset_value_of_an_event_output", lambda m: m.reset_mux_input_b,
           lambda m: "only the value a registered event output takes while reset is asserted: the bench reads "
                     "events from the first edge after reset, which loads the register anew"),
    Waiver("debugctl_bits_never_read",
           lambda m: m.wire == "debugctl_at_seamcall" and m.wire_bit is not None and m.wire_bit not in (1, 12, 14),
           lambda m: "only bits 1, 12 and 14 of the DEBUGCTL saved at SEAMCALL ever reach a register (SEAMRET "
                     "keeps those of the host's value, SPEC 7); the other bits are never read"),
    Waiver("cycle_bit_beyond_the_run_bound",
           lambda m: m.wire == "cycle" and m.bit is not None and 1 << m.bit > DEFAULT_RUN_CYCLE_BOUND,
           lambda m: f"trace.cycle bit {m.bit} first changes after {1 << m.bit:,} cycles, beyond the run bound "
                     f"({DEFAULT_RUN_CYCLE_BOUND:,}) of every test; cycle_counts_edges proves the increment of every "
                     "bit by induction, which no bounded run from reset reaches"),
    Waiver("at_host_forced_one", lambda m: m.wire == "at_host" and m.forced_one,
           lambda m: "at_host gates only IRET and delivery; in SEAM NMIs are always blocked (B1) and the host "
                     "cannot execute IRET there"),
    Waiver("enters_unblocked", _saved_blocking,
           lambda m: "SEAMCALL-time blocking is 1 only if KVM entered with NMIs blocked; KVM always enters with "
                     "them unblocked (SPEC B4), so the saved and reported value is always 0"),
    Waiver("nmi_seen_read_only_while_stepping", _nmi_seen_unread, lambda m: _nmi_seen_reason()),
    Waiver("td_exit_request_never_an_nmi", _td_exit_request_as_nmi,
           lambda m: "last_exit_nmi is read only at SEAMRET and every exit to KVM writes it; forced to 0 at the "
                     "TD's own exit request it differs only for a request with the NMI exit reason, which no "
                     "legal environment drives (an NMI exit is the design's own; the formal harness assumes it, "
                     f"{_line('tb/formal/harness.py', 'Assume(~dut.stim.exit_req | (dut.stim.exit_reason')})"),
    Waiver("pushed_back_interrupt_never_starts_stepping", _pushed_back_interrupt_in_starts,
           lambda m: _pushed_back_interrupt_reason()),
    Waiver("host_never_at_delivery", _gating,
           lambda m: "the host makes no progress in a cycle whose boundary a delivery takes, and executes IRET "
                     "(with its NMI-frame flag) only in VMX root, never with SEAMCALL: every term gating IRET and "
                     "SEAMCALL is 1 whenever they are"),
]


def waiver(mutation: str, netlist: Netlist) -> str | None:
    """The reason of the first waiver that applies to ``mutation``, or None (docs/regressions.md)."""
    facts = Mutation.read(mutation, netlist)
    for w in WAIVERS:
        if w.applies(facts):
            return w.reason(facts)
    return None
