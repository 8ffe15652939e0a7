"""The design under test: NMI controller plus SEAM sequencer, with registered event outputs.

Configuration (module policy, entry path, NMI-source, phase lengths) arrives on input ports
so one Verilator build serves every configuration. Each ``ev`` output is registered: it
shows, during cycle t+1, what the edge ending cycle t did. The monitors turn these into the
transactions of ``py_model/transactions.py``. The port groups are declared in ``interfaces.py``.
"""

from amaranth import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out, connect, flipped

from .bugs import check_bugs
from .host_state import HostStateUnit
from .interfaces import (
    REGISTER_MAP,
    ConfigSignature,
    EventSignature,
    StatusSignature,
    StimulusSignature,
    TraceSignature,
    port_table,
)
from .nmi_controller import NmiController
from .seam_sequencer import SeamSequencer


class NmiTop(wiring.Component):
    """Top of the design under test.

    Parameters
    ----------
    bugs : iterable of str
        Deliberate defects (``rtl/bugs.py``); empty in the product.
    host_state : bool
        Include the host-state register file (the board leaves it out).

    Attributes
    ----------
    cfg : In(ConfigSignature)
        Module policy, entry path, NMI-source reporting, phase lengths, the TD's attributes.
    stim : In(StimulusSignature)
        NMIs, the host software's SEAMCALL and IRET, the TD's exits, register writes.
    status : Out(StatusSignature)
        The state during this cycle; ``status.deliverable``: a delivery ends this cycle.
    ev : Out(EventSignature)
        Registered events of the previous edge.
    trace : Out(TraceSignature)
        ``wake``: the previous edge had an event or moved the phase; ``cycle``: edges since reset
        (for monitors that sleep between events).
    """

    cfg: In(ConfigSignature())
    stim: In(StimulusSignature())
    status: Out(StatusSignature())
    ev: Out(EventSignature())
    trace: Out(TraceSignature())

    def __init__(self, bugs=(), host_state=True):
        self.bugs = check_bugs(bugs)
        super().__init__()
        # Built here, not in elaborate, so a formal harness can refer to their state.
        self.nmi_ctl = NmiController(self.bugs)
        self.seq = SeamSequencer(self.bugs)
        self.hs = HostStateUnit(self.bugs) if host_state else None

    def elaborate(self, platform):
        m = Module()
        m.submodules.nmi_ctl = nmi = self.nmi_ctl
        m.submodules.seq = seq = self.seq
        connect(m, seq.nmi, nmi.seam)
        cfg, stim, status = self.cfg, self.stim, self.status
        if self.hs is not None:
            m.submodules.hs = hs = self.hs
            connect(m, flipped(stim.reg), hs.write)
            connect(m, seq.edges, hs.edges)
            m.d.comb += [hs.td_tsx.eq(cfg.td_tsx), hs.td_waitpkg.eq(cfg.td_waitpkg),
                         *(status.host_regs[i].eq(hs.regs[name]) for i, name in enumerate(REGISTER_MAP))]

        m.d.comb += [
            nmi.nmi.eq(stim.nmi), nmi.vector.eq(stim.nmi_vector), nmi.nmi_source.eq(cfg.nmi_source),
            nmi.iret.eq(stim.iret), nmi.iret_nmi.eq(stim.iret_nmi), nmi.fred.eq(cfg.fred),
            seq.seamcall.eq(stim.seamcall), seq.exit_req.eq(stim.exit_req), seq.exit_reason.eq(stim.exit_reason),
            seq.fixed.eq(cfg.fixed), seq.len_seamcall.eq(cfg.seamcall),
            seq.len_vmentry.eq(cfg.vmentry), seq.len_exit.eq(cfg.exit),
            seq.steps.eq(cfg.steps), seq.len_step.eq(cfg.step), seq.step_window.eq(cfg.step_window),
            status.mode.eq(seq.mode), status.phase.eq(seq.phase), status.blocked.eq(nmi.seam.blocked),
            status.latch.eq(nmi.latch), status.saved_blocked.eq(seq.saved_blocked), status.bitmap.eq(nmi.bitmap),
            status.deliverable.eq(nmi.seam.deliver),
        ]
        self._events(m, nmi, seq)
        self._trace(m)
        return m

    def _trace(self, m):
        """``trace``: the one silent state change, SEAMCALL -> VM entry, joins the event strobes."""
        last_phase = Signal.like(self.status.phase)
        m.d.sync += [last_phase.eq(self.status.phase), self.trace.cycle.eq(self.trace.cycle + 1)]
        strobes = [getattr(self.ev, name) for name in EventSignature.STROBES]
        stepped = 0 if "wake_ignores_phase" in self.bugs else self.status.phase != last_phase
        m.d.comb += self.trace.wake.eq(Cat(*strobes).any() | stepped)

    def _events(self, m, nmi, seq):
        """The ``ev`` outputs: this edge's events, registered."""
        cfg, stim, ev = self.cfg, self.stim, self.ev
        deliver = nmi.seam.deliver
        # IRET only counts in the host at a boundary not taken by a delivery.
        iret_taken = stim.iret & seq.nmi.at_host & ~deliver & ~stim.seamcall
        m.d.sync += [
            ev.deliver.eq(deliver),
            ev.deliver_fred.eq(~cfg.fred if "fred_via_swapped" in self.bugs else cfg.fred),
            ev.deliver_bitmap.eq(nmi.bitmap),
            ev.nmi.eq(stim.nmi),
            ev.nmi_vector.eq(stim.nmi_vector + 1 if "vector_reported_wrong" in self.bugs else stim.nmi_vector),
            ev.latch.eq(nmi.latched),
            ev.drop.eq(nmi.dropped),
            ev.iret.eq(iret_taken),
            ev.iret_nmi.eq(iret_taken & stim.iret_nmi),
            ev.seamcall.eq(seq.edges.seamcall),
            ev.seamcall_saved.eq(nmi.seam.blocked),
            ev.vmentry.eq(seq.vmentry_done),
            ev.exit.eq(seq.exit_taken),
            ev.exit_reason.eq(seq.exit_reason_now),
            ev.exit_qual.eq(seq.exit_qual_now),
            ev.seamret.eq(seq.edges.seamret),
            ev.seamret_blocked.eq(seq.nmi.load_value),
            ev.write.eq(stim.reg.we),
            ev.write_addr.eq(stim.reg.addr),
            ev.write_data.eq(stim.reg.data),
            ev.step.eq(seq.step_started),
            ev.step_intr.eq(seq.step_intr),
            ev.absorb.eq(seq.absorbed),
            ev.absorb_intr.eq(seq.absorb_intr),
            ev.unstep.eq(seq.unstep),
            ev.unstep_mtf.eq(seq.unstep_mtf),
            ev.self_nmi.eq(seq.self_nmi),
        ]


# NmiTop's ports (pin name -> wiring.Member, in declaration order), read from the class without
# elaborating: the one list from which the benches' pin tables (tb/protocol/pins.py), the formal
# netlist harness and the C++ harness's configuration are derived.
PORTS = port_table(wiring.Signature(NmiTop.__annotations__))
