"""Host-state unit: the register file that TDH.VP.ENTER clobbers, and the module's policy at SEAMRET.

shared/SPEC.md §7. Host software (KVM's restores) and the TD write registers through one
write port; at SEAMRET the unit applies the TDX module's exit policy to every register in
one edge (a write on the same edge wins; none happens then, the CPU being in SEAM root).
"""

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .interfaces import REGISTER_MAP, RegWriteSignature, SeamEdgesSignature

ZEROED = ("DR0", "DR1", "DR2", "DR3", "KERNEL_GS_BASE", "STAR", "LSTAR", "TSC_AUX", "XFD", "XFD_ERR",
          "UARCH_MISC_CTL", "CR2")
CONSTANTS = {"DR6": 0xFFFF0FF0, "DR7": 0x400, "FMASK": 0x20200}
DEBUGCTL_KEEP = (1 << 1) | (1 << 12) | (1 << 14)


class HostStateUnit(wiring.Component):
    """Register file with the TDX module's SEAMRET policy.

    Parameters
    ----------
    bugs : frozenset of str
        Deliberate defects of the SEAMRET policy (``star_not_cleared``, ``debugctl_keep_guest``;
        ``rtl/bugs.py``); empty in the product.

    Attributes
    ----------
    write : In(RegWriteSignature)
        Write port: one register per cycle.
    edges : In(SeamEdgesSignature)
        SEAMCALL (the module notes the host's DEBUGCTL) and SEAMRET (apply the exit policy).
    td_tsx, td_waitpkg : In
        The TD's attributes (TSX_CTRL is zeroed for a TD that may use TSX).
    regs : Out
        Every register, named as in ``REGISTER_MAP``.
    """

    def __init__(self, bugs=frozenset()):
        self.bugs = frozenset(bugs)
        members = dict(write=In(RegWriteSignature()), edges=In(SeamEdgesSignature()), td_tsx=In(1),
                       td_waitpkg=In(1))
        members.update({f"reg_{name}": Out(64) for name in REGISTER_MAP})
        super().__init__(wiring.Signature(members))
        self.regs = {name: getattr(self, f"reg_{name}") for name in REGISTER_MAP}
        self.debugctl_at_seamcall = Signal(64)  # the host's DEBUGCTL when SEAMCALL began

    def elaborate(self, platform):
        m = Module()
        debugctl_at_seamcall = self.debugctl_at_seamcall
        with m.If(self.edges.seamcall):
            m.d.sync += debugctl_at_seamcall.eq(self.regs["DEBUGCTL"])
        for index, name in enumerate(REGISTER_MAP):
            reg = self.regs[name]
            with m.If(self.write.we & (self.write.addr == index)):
                m.d.sync += reg.eq(self.write.data)
            with m.Elif(self.edges.seamret):
                if name == "STAR" and "star_not_cleared" in self.bugs:
                    pass
                elif name in ZEROED:
                    m.d.sync += reg.eq(0)
                elif name in CONSTANTS:
                    m.d.sync += reg.eq(CONSTANTS[name])
                elif name == "DEBUGCTL":
                    source = reg if "debugctl_keep_guest" in self.bugs else debugctl_at_seamcall
                    m.d.sync += reg.eq(source & DEBUGCTL_KEEP)  # the host's bits 1, 12, 14 survive
                elif name == "TSX_CTRL":
                    with m.If(self.td_tsx):
                        m.d.sync += reg.eq(0)
                # UMWAIT_CONTROL, XCR0, XSS, PKRU: as the TD left them
        return m
