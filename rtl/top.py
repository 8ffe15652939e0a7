"""The design under test: NMI controller plus SEAM sequencer, with registered event outputs.

Configuration (module policy, entry path, NMI-source, phase lengths) arrives on input ports
so one Verilator build serves every configuration. Each ``ev_*`` output is registered: it
shows, during cycle t+1, what the edge ending cycle t did. The monitors turn these into the
transactions of ``py_model/transactions.py``.
"""

from amaranth import Cat, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .bugs import check_bugs
from .host_state import REGISTER_MAP, HostStateUnit
from .nmi_controller import NmiController
from .seam_sequencer import Mode, Phase, SeamSequencer


class NmiTop(wiring.Component):
    """Top of the design under test.

    Parameters
    ----------
    bugs : iterable of str
        Deliberate defects (``rtl/bugs.py``); empty in the product.

    Attributes
    ----------
    cfg_fixed, cfg_fred, cfg_nmi_source : In
        Module policy (1: fixed), entry path (1: FRED), NMI-source reporting.
    cfg_seamcall, cfg_vmentry, cfg_exit : In
        Phase lengths in cycles (1..255).
    nmi, nmi_vector : In
        A physical NMI from a source vector.
    seamcall, iret : In
        Host software's SEAMCALL(TDH.VP.ENTER) and IRET (ERETS/ERETU under FRED).
    iret_nmi : In
        The frame IRET returns through is an NMI frame (FRED unblocks NMIs only then, A1).
    exit_req, exit_reason : In
        A non-NMI TD exit with its basic exit reason.
    mode, phase, blocked, latch, saved_blocked, bitmap, deliverable : Out
        The state during this cycle; ``deliverable``: a delivery ends this cycle.
    cfg_td_tsx, cfg_td_waitpkg : In
        The TD's attributes, for the module's host-state policy.
    reg_we, reg_addr, reg_data : In
        The host-state register file's write port (KVM's restores, the TD's own writes).
    ev_* : Out
        Registered events of the previous edge.
    host_regs : Out
        The host-state register file, 64 bits per register in ``REGISTER_MAP`` order.
    """

    cfg_fixed: In(1)
    cfg_fred: In(1)
    cfg_nmi_source: In(1)
    cfg_seamcall: In(8)
    cfg_vmentry: In(8)
    cfg_exit: In(8)
    nmi: In(1)
    nmi_vector: In(4)
    seamcall: In(1)
    iret: In(1)
    iret_nmi: In(1)
    exit_req: In(1)
    exit_reason: In(7)
    cfg_td_tsx: In(1)
    cfg_td_waitpkg: In(1)
    reg_we: In(1)
    reg_addr: In(5)
    reg_data: In(64)

    mode: Out(Mode)
    phase: Out(Phase)
    blocked: Out(1)
    latch: Out(1)
    saved_blocked: Out(1)
    bitmap: Out(16)
    deliverable: Out(1)

    ev_deliver: Out(1)
    ev_deliver_fred: Out(1)
    ev_deliver_bitmap: Out(16)
    ev_nmi: Out(1)
    ev_nmi_vector: Out(4)
    ev_latch: Out(1)
    ev_drop: Out(1)
    ev_iret: Out(1)
    ev_iret_nmi: Out(1)
    ev_seamcall: Out(1)
    ev_seamcall_saved: Out(1)
    ev_vmentry: Out(1)
    ev_exit: Out(1)
    ev_exit_reason: Out(7)
    ev_exit_qual: Out(16)
    ev_seamret: Out(1)
    ev_seamret_blocked: Out(1)
    ev_write: Out(1)
    ev_write_addr: Out(5)
    ev_write_data: Out(64)

    # The host-state register file, register i in bits [64*i, 64*i+63] (order: REGISTER_MAP).
    host_regs: Out(64 * len(REGISTER_MAP))

    def __init__(self, bugs=(), host_state=True):
        self.bugs = check_bugs(bugs)
        super().__init__()
        # Built here, not in elaborate, so a formal harness can refer to their state.
        self.nmi_ctl = NmiController(self.bugs)
        self.seq = SeamSequencer(self.bugs)
        self.hs = HostStateUnit(self.bugs) if host_state else None

    def elaborate(self, platform):
        m = Module()
        m.submodules.nmi = nmi = self.nmi_ctl
        m.submodules.seq = seq = self.seq
        hs = self.hs
        if hs is not None:
            m.submodules.hs = hs
            m.d.comb += [
                hs.we.eq(self.reg_we), hs.addr.eq(self.reg_addr), hs.data.eq(self.reg_data),
                hs.seamcall.eq(seq.seamcall_taken), hs.seamret.eq(seq.seamret_taken),
                hs.td_tsx.eq(self.cfg_td_tsx), hs.td_waitpkg.eq(self.cfg_td_waitpkg),
            ]
            m.d.comb += self.host_regs.eq(Cat(*(hs.regs[name] for name in REGISTER_MAP)))

        m.d.comb += [
            nmi.nmi.eq(self.nmi), nmi.vector.eq(self.nmi_vector), nmi.nmi_source.eq(self.cfg_nmi_source),
            nmi.at_host.eq(seq.at_host), nmi.in_guest.eq(seq.in_guest), nmi.iret.eq(self.iret),
            nmi.iret_nmi.eq(self.iret_nmi), nmi.fred.eq(self.cfg_fred),
            nmi.block.eq(seq.block), nmi.load_blocked.eq(seq.load_blocked), nmi.load_value.eq(seq.load_value),
            seq.seamcall.eq(self.seamcall), seq.exit_req.eq(self.exit_req), seq.exit_reason.eq(self.exit_reason),
            seq.fixed.eq(self.cfg_fixed), seq.len_seamcall.eq(self.cfg_seamcall),
            seq.len_vmentry.eq(self.cfg_vmentry), seq.len_exit.eq(self.cfg_exit),
            seq.deliver.eq(nmi.deliver), seq.nmi_exit.eq(nmi.nmi_exit), seq.exit_qual.eq(nmi.exit_qual),
            seq.blocked.eq(nmi.blocked),
            self.mode.eq(seq.mode), self.phase.eq(seq.phase), self.blocked.eq(nmi.blocked),
            self.latch.eq(nmi.latch), self.saved_blocked.eq(seq.saved_blocked), self.bitmap.eq(nmi.bitmap),
            self.deliverable.eq(nmi.deliver),
        ]

        # IRET only counts in the host at a boundary not taken by a delivery.
        iret_taken = self.iret & seq.at_host & ~nmi.deliver & ~self.seamcall
        m.d.sync += [
            self.ev_deliver.eq(nmi.deliver),
            self.ev_deliver_fred.eq(~self.cfg_fred if "fred_via_swapped" in self.bugs else self.cfg_fred),
            self.ev_deliver_bitmap.eq(nmi.bitmap),
            self.ev_nmi.eq(self.nmi),
            self.ev_nmi_vector.eq(self.nmi_vector + 1 if "vector_reported_wrong" in self.bugs else self.nmi_vector),
            self.ev_latch.eq(nmi.latched),
            self.ev_drop.eq(nmi.dropped),
            self.ev_iret.eq(iret_taken),
            self.ev_iret_nmi.eq(iret_taken & self.iret_nmi),
            self.ev_seamcall.eq(seq.seamcall_taken),
            self.ev_seamcall_saved.eq(nmi.blocked),
            self.ev_vmentry.eq(seq.vmentry_done),
            self.ev_exit.eq(seq.exit_taken),
            self.ev_exit_reason.eq(seq.exit_reason_now),
            self.ev_exit_qual.eq(seq.exit_qual_now),
            self.ev_seamret.eq(seq.seamret_taken),
            self.ev_seamret_blocked.eq(seq.load_value),
            self.ev_write.eq(self.reg_we),
            self.ev_write_addr.eq(self.reg_addr),
            self.ev_write_data.eq(self.reg_data),
        ]
        return m


# NmiTop's ports as declared above (name -> wiring.Member, in order): the one list from which the
# benches' pin tables (tb/protocol/pins.py) and the formal netlist harness are derived.
PORTS = {name: member for name, member in NmiTop.__annotations__.items() if isinstance(member, wiring.Member)}
