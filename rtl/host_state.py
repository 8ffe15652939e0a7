"""Host-state unit: the register file that TDH.VP.ENTER clobbers, and the module's policy at SEAMRET.

shared/SPEC.md §7. Host software (KVM's restores) and the TD write registers through one
write port; at SEAMRET the unit applies the TDX module's exit policy to every register in
one edge (a write on the same edge wins; none happens then, the CPU being in SEAM root).
"""

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

# Address map of the write port (the model's py_model.host_state.REGISTERS; a test checks they agree).
REGISTER_MAP = ("DR0", "DR1", "DR2", "DR3", "DR6", "DR7", "DEBUGCTL", "KERNEL_GS_BASE", "STAR", "LSTAR",
                "FMASK", "TSC_AUX", "XFD", "XFD_ERR", "UARCH_MISC_CTL", "CR2", "TSX_CTRL", "UMWAIT_CONTROL",
                "XCR0", "XSS", "PKRU")

ZEROED = ("DR0", "DR1", "DR2", "DR3", "KERNEL_GS_BASE", "STAR", "LSTAR", "TSC_AUX", "XFD", "XFD_ERR",
          "UARCH_MISC_CTL", "CR2")
CONSTANTS = {"DR6": 0xFFFF0FF0, "DR7": 0x400, "FMASK": 0x20200}
DEBUGCTL_KEEP = (1 << 1) | (1 << 12) | (1 << 14)


class HostStateUnit(wiring.Component):
    """Register file with the TDX module's SEAMRET policy.

    Parameters
    ----------
    bugs : frozenset of str
        Deliberate defects (``rtl/bugs.py``); empty in the product.

    Attributes
    ----------
    we, addr, data : In
        Write port: one register per cycle.
    seamcall : In
        SEAMCALL edge: the module notes the host's DEBUGCTL.
    seamret : In
        SEAMRET edge: apply the exit policy.
    td_tsx, td_waitpkg : In
        The TD's attributes (TSX_CTRL is zeroed for a TD that may use TSX).
    regs : Out
        Every register, named as in ``REGISTER_MAP``.
    """

    def __init__(self, bugs=frozenset()):
        self.bugs = frozenset(bugs)
        members = dict(we=In(1), addr=In(5), data=In(64), seamcall=In(1), seamret=In(1),
                       td_tsx=In(1), td_waitpkg=In(1))
        members.update({f"reg_{name}": Out(64) for name in REGISTER_MAP})
        super().__init__(wiring.Signature(members))
        self.regs = {name: getattr(self, f"reg_{name}") for name in REGISTER_MAP}
        self.debugctl_at_seamcall = Signal(64)  # the host's DEBUGCTL when SEAMCALL began

    def elaborate(self, platform):
        m = Module()
        debugctl_at_seamcall = self.debugctl_at_seamcall
        with m.If(self.seamcall):
            m.d.sync += debugctl_at_seamcall.eq(self.regs["DEBUGCTL"])
        for index, name in enumerate(REGISTER_MAP):
            reg = self.regs[name]
            with m.If(self.we & (self.addr == index)):
                m.d.sync += reg.eq(self.data)
            with m.Elif(self.seamret):
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
