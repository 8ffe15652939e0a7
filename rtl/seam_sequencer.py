"""SEAM mode sequencer: SEAMCALL, VM entry, VM exits, SEAMRET and the module's blocking policy.

shared/SPEC.md B1-B6. Phases: HOST (VMX root), SEAMCALL and VMENTRY (SEAM root on the way
in), GUEST (SEAM non-root), EXIT (SEAM-root work after a VM exit), STEP (the zero-step mitigation:
the module single-steps the TD after an NMI or interrupt exit that came too soon, B6, as
intel/tdx-module's ``td_exit_stepping.c`` has it). Phase lengths and the mitigation's knobs are
run-time inputs, so one netlist serves every configuration.
"""

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .bugs import check_bugs
from .interfaces import Mode, NmiLinkSignature, Phase, SeamEdgesSignature

NMI_EXIT_REASON = 0  # basic exit reason EXCEPTION_NMI
INTR_EXIT_REASON = 1  # basic exit reason EXTERNAL_INTERRUPT



class SeamSequencer(wiring.Component):
    """The mode state machine of one logical CPU.

    Parameters
    ----------
    bugs : frozenset of str
        Deliberate defects (``rtl/bugs.py``); empty in the product.

    Attributes
    ----------
    seamcall : In
        KVM executes SEAMCALL(TDH.VP.ENTER); taken in HOST unless a delivery takes the boundary.
    exit_req, exit_reason : In
        The TD exits for a reason other than an NMI (taken in GUEST; an NMI exit wins).
    fixed : In
        The module keeps NMIs blocked at SEAMRET after an NMI exit (B5); else legacy (B4).
    len_seamcall, len_vmentry, len_exit : In
        Phase lengths in cycles, 1..255.
    steps, len_step, step_window : In
        B6: the TD's resumptions while stepping (0: the mitigation is off), cycles per single step
        (SEAM root, then the step's VM entry on its last edge), and the cycles after the TD starts
        within which an asynchronous (NMI or interrupt) exit is too early.
    nmi : Out(NmiLinkSignature)
        The link to the NMI controller: where the CPU is, blocking changes at SEAMCALL and SEAMRET;
        back: delivery, NMI exit and its qualification, blocking.
    phase, mode : Out
        Where the CPU is during this cycle.
    saved_blocked : Out
        Blocking at the last SEAMCALL (B1).
    edges : Out(SeamEdgesSignature)
        This cycle's edge is a SEAMCALL / a SEAMRET (to the host-state unit).
    vmentry_done, exit_taken : Out
        This cycle's edge completes VM entry / takes a VM exit.
    exit_reason_now, exit_qual_now : Out
        The exit information of an ``exit_taken`` edge.
    step_started, step_intr, absorbed, absorb_intr, unstep, unstep_mtf, self_nmi : Out
        B6, this cycle's edge: starts stepping instead of an NMI (or, ``step_intr``, interrupt) exit /
        counts an NMI (``absorb_intr``: interrupt) exit and resumes the TD / ends stepping (at a
        single step's MTF exit, ``unstep_mtf``, else at the exit it reports) / sends the module's
        self-NMI.
    """

    seamcall: In(1)
    exit_req: In(1)
    exit_reason: In(7)
    fixed: In(1)
    len_seamcall: In(8)
    len_vmentry: In(8)
    len_exit: In(8)
    steps: In(8)
    len_step: In(8)
    step_window: In(8)

    nmi: Out(NmiLinkSignature())
    phase: Out(Phase)
    mode: Out(Mode)
    saved_blocked: Out(1)
    edges: Out(SeamEdgesSignature())
    vmentry_done: Out(1)
    exit_taken: Out(1)
    exit_reason_now: Out(7)
    exit_qual_now: Out(16)
    step_started: Out(1)
    step_intr: Out(1)
    absorbed: Out(1)
    absorb_intr: Out(1)
    unstep: Out(1)
    unstep_mtf: Out(1)
    self_nmi: Out(1)

    def __init__(self, bugs=frozenset()):
        self.bugs = check_bugs(bugs)
        super().__init__()
        self.count = Signal(8)  # cycles left in a timed phase
        self.last_exit_nmi = Signal()  # the last VM exit was an NMI exit (B5)
        self.guest_cycles = Signal(8)  # cycles the TD has run since its VM entry, saturating (B6)
        self.no_step = Signal()  # re-entered after stepping: the next exit is not too early (B6)
        self.steps_left = Signal(8)  # resumptions left while stepping (the source's num_inst_step + 1)
        self.nmi_seen = Signal()  # an NMI exit started stepping or was absorbed (nmi_exit_occured)
        self.intr_pending = Signal()  # the interrupt that started stepping, pushed back to the APIC

    def elaborate(self, platform):
        m = Module()
        count, last_exit_nmi = self.count, self.last_exit_nmi
        expired = count == 0
        link = self.nmi

        m.d.comb += [
            link.at_host.eq(self.phase == Phase.HOST),
            link.in_guest.eq(self.phase == Phase.GUEST),
            # A step's VM entry: the last edge of STEP's cycles, unless the TD's own exit takes it.
            link.step_entry.eq((self.phase == Phase.STEP) & expired & ~self.exit_req),
            link.self_nmi.eq(self.self_nmi),
        ]
        with m.Switch(self.phase):
            with m.Case(Phase.HOST):
                m.d.comb += self.mode.eq(Mode.VMX_ROOT)
            with m.Case(Phase.GUEST):
                m.d.comb += self.mode.eq(Mode.SEAM_NONROOT)
            with m.Default():
                m.d.comb += self.mode.eq(Mode.SEAM_ROOT)

        def exit_to_kvm(reason, qual):
            # B3: the exit KVM sees. A pushed-back interrupt still pending then reaches the host after
            # SEAMRET, outside this design (it has no host interrupts).
            m.d.comb += [self.exit_taken.eq(1), self.exit_reason_now.eq(reason), self.exit_qual_now.eq(qual)]
            m.d.sync += [last_exit_nmi.eq(reason == NMI_EXIT_REASON), self.intr_pending.eq(0), self.nmi_seen.eq(0)]
            enter(Phase.EXIT, self.len_exit)

        def enter(phase, length):
            # The untimed phases (GUEST, HOST) enter with length 0: their count wraps and is never read;
            # the next timed phase loads its own.
            m.d.sync += [self.phase.eq(phase), count.eq(length - 1)]

        with m.Switch(self.phase):
            with m.Case(Phase.HOST):
                with m.If(self.seamcall & ~link.deliver):
                    m.d.comb += [self.edges.seamcall.eq(1), link.block.eq("seamcall_no_block" not in self.bugs)]
                    m.d.sync += self.saved_blocked.eq(link.blocked)
                    enter(Phase.SEAMCALL, self.len_seamcall)
            with m.Case(Phase.SEAMCALL):
                with m.If(expired):
                    enter(Phase.VMENTRY, self.len_vmentry)
                with m.Else():
                    m.d.sync += count.eq(count - 1)
            with m.Case(Phase.VMENTRY):
                with m.If(expired):
                    m.d.comb += self.vmentry_done.eq(1)
                    m.d.sync += [self.guest_cycles.eq(0), self.no_step.eq(0)]
                    enter(Phase.GUEST, 0)
                with m.Else():
                    m.d.sync += count.eq(count - 1)
            with m.Case(Phase.GUEST):
                window = 1 if "zero_step_window_ignored" in self.bugs else self.guest_cycles < self.step_window
                too_soon = (self.steps != 0) & window & ~self.no_step
                intr_req = self.exit_req & (self.exit_reason == INTR_EXIT_REASON)
                if "zero_step_intr_ignored" in self.bugs:
                    starts = link.nmi_exit
                else:
                    starts = link.nmi_exit | self.intr_pending | intr_req
                with m.If(self.guest_cycles != 0xFF):
                    m.d.sync += self.guest_cycles.eq(self.guest_cycles + 1)
                with m.If(starts & too_soon):  # B6: step the TD instead of exiting
                    m.d.comb += [self.step_started.eq(1), self.step_intr.eq(~link.nmi_exit)]
                    m.d.sync += [self.steps_left.eq(self.steps), self.nmi_seen.eq(link.nmi_exit),
                                 self.intr_pending.eq(~link.nmi_exit)]
                    enter(Phase.STEP, self.len_step)
                with m.Elif(link.nmi_exit):
                    exit_to_kvm(NMI_EXIT_REASON, link.exit_qual)
                with m.Elif(self.intr_pending):  # the pushed-back interrupt exits at once (B6)
                    exit_to_kvm(INTR_EXIT_REASON, 0)
                with m.Elif(self.exit_req):
                    exit_to_kvm(self.exit_reason, 0)
            with m.Case(Phase.STEP):
                last = self.steps_left == 1
                intr_counted = self.exit_req & (self.exit_reason == INTR_EXIT_REASON)
                if "zero_step_intr_ends" in self.bugs:
                    intr_counted = 0
                with m.If((link.nmi_exit | intr_counted) & ~last):  # counted, the TD resumed: absorbed
                    m.d.comb += [self.absorbed.eq(1), self.absorb_intr.eq(~link.nmi_exit)]
                    m.d.sync += [self.steps_left.eq(self.steps_left - 1), self.nmi_seen.eq(self.nmi_seen | link.nmi_exit)]
                    enter(Phase.STEP, self.len_step)
                with m.Elif(link.nmi_exit | self.exit_req):  # the count ran out at this exit, or the TD's own
                    # td_exit_stepping.c:274-278: the self-NMI if an NMI exit was seen and this is not one
                    m.d.comb += [self.unstep.eq(1), self.self_nmi.eq(self.nmi_seen & ~link.nmi_exit)]
                    with m.If(link.nmi_exit):
                        exit_to_kvm(NMI_EXIT_REASON, link.exit_qual)
                    with m.Else():
                        exit_to_kvm(self.exit_reason, 0)
                with m.Elif(expired):  # a single step's MTF exit
                    with m.If(last):  # stepping ends; back into the TD, not stepped again (last_entry_tsc = 0)
                        m.d.comb += [self.unstep.eq(1), self.unstep_mtf.eq(1),
                                     self.self_nmi.eq(self.nmi_seen & ("self_nmi_not_sent" not in self.bugs))]
                        m.d.sync += [self.no_step.eq(1), self.nmi_seen.eq(0)]
                        enter(Phase.GUEST, 0)
                    with m.Else():
                        m.d.sync += self.steps_left.eq(self.steps_left - 1)
                        enter(Phase.STEP, self.len_step)
                with m.Else():
                    m.d.sync += count.eq(count - 1)
            with m.Case(Phase.EXIT):
                with m.If(expired):
                    keep = self.fixed & last_exit_nmi
                    if "seamret_always_restore" in self.bugs:
                        keep = 0
                    m.d.comb += [self.edges.seamret.eq(1), link.load_blocked.eq(1),
                                 link.load_value.eq(Mux(keep, 1, self.saved_blocked))]
                    enter(Phase.HOST, 0)
                with m.Else():
                    m.d.sync += count.eq(count - 1)
        return m
