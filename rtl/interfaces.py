"""The design's interfaces, declared once as ``wiring.Signature``s.

Every signature is written from the side that drives it (``Out``: that side drives the member);
the receiving side declares ``In(signature)``. ``NmiTop``'s four port groups (configuration,
stimulus, status, events) are what the testbenches, the formal harness, the program engine and the
C++ harness read their pin names from (``port_table``); the links join the blocks inside the top
with ``wiring.connect``.

A port's name in the generated Verilog is its path joined with ``__`` (Amaranth's rule):
``cfg__fixed``, ``stim__reg__we``, ``ev__deliver``.
"""

from amaranth.lib import data, enum, wiring
from amaranth.lib.wiring import In, Out


class Phase(enum.Enum, shape=3):
    """Where the sequencer is: HOST (VMX root), SEAMCALL and VMENTRY (SEAM root on the way in),
    GUEST (SEAM non-root), EXIT (SEAM-root work after a VM exit), STEP (the module single-steps
    the TD, B6; SEAM root to the host)."""
    HOST = 0
    SEAMCALL = 1
    VMENTRY = 2
    GUEST = 3
    EXIT = 4
    STEP = 5


class Mode(enum.Enum, shape=2):
    VMX_ROOT = 0
    SEAM_ROOT = 1
    SEAM_NONROOT = 2


# Address map of the host-state write port (the model's py_model.host_state.REGISTERS; a test
# checks they agree).
REGISTER_MAP = ("DR0", "DR1", "DR2", "DR3", "DR6", "DR7", "DEBUGCTL", "KERNEL_GS_BASE", "STAR", "LSTAR",
                "FMASK", "TSC_AUX", "XFD", "XFD_ERR", "UARCH_MISC_CTL", "CR2", "TSX_CTRL", "UMWAIT_CONTROL",
                "XCR0", "XSS", "PKRU")
# The host-state register file as the status port carries it: one 64-bit element per register.
HOST_REGS = data.ArrayLayout(64, len(REGISTER_MAP))


class ConfigSignature(wiring.Signature):
    """The configuration of a run, constant while it runs (one netlist serves every configuration).

    Members
    -------
    fixed, fred, nmi_source : 1 bit
        Module policy (1: fixed, B5), entry path (1: FRED), NMI-source reporting (A5).
    seamcall, vmentry, exit : 8 bits
        Phase lengths in cycles (1..255).
    td_tsx, td_waitpkg : 1 bit
        The TD's attributes, for the module's host-state policy (C).
    steps, step, step_window : 8 bits
        The module's zero-step mitigation (B6): single steps (0: off), cycles per step (1..255), and
        the window after the TD starts in which an NMI exit is too soon (1..255).
    """

    def __init__(self):
        super().__init__({
            "fixed": Out(1), "fred": Out(1), "nmi_source": Out(1),
            "seamcall": Out(8), "vmentry": Out(8), "exit": Out(8),
            "td_tsx": Out(1), "td_waitpkg": Out(1),
            "steps": Out(8), "step": Out(8), "step_window": Out(8),
        })


class RegWriteSignature(wiring.Signature):
    """One register write per cycle to the host-state register file (``addr``: ``REGISTER_MAP`` index)."""

    def __init__(self):
        super().__init__({"we": Out(1), "addr": Out(5), "data": Out(64)})


class StimulusSignature(wiring.Signature):
    """What the environment and the host software do in a cycle.

    Members
    -------
    nmi, nmi_vector
        A physical NMI from a source vector (0: no source).
    seamcall, iret, iret_nmi
        Host software's SEAMCALL(TDH.VP.ENTER) and IRET (ERETS/ERETU under FRED); ``iret_nmi``:
        the frame it returns through is an NMI frame (FRED unblocks NMIs only then, A1).
    exit_req, exit_reason
        A non-NMI TD exit with its basic exit reason.
    reg
        KVM's register restores and the TD's own writes (``RegWriteSignature``).
    """

    def __init__(self):
        super().__init__({
            "nmi": Out(1), "nmi_vector": Out(4),
            "seamcall": Out(1), "iret": Out(1), "iret_nmi": Out(1),
            "exit_req": Out(1), "exit_reason": Out(7),
            "reg": Out(RegWriteSignature()),
        })


class StatusSignature(wiring.Signature):
    """The state during this cycle.

    Members
    -------
    mode, phase, blocked, latch, saved_blocked, bitmap
        Where the CPU is and the NMI state (``saved_blocked``: blocking at the last SEAMCALL).
    deliverable
        A delivery ends this cycle.
    host_regs
        The host-state register file (``HOST_REGS``: element i is register i of ``REGISTER_MAP``; in
        the Verilog port, bits [64*i, 64*i+63]).
    """

    def __init__(self):
        super().__init__({
            "mode": Out(Mode), "phase": Out(Phase), "blocked": Out(1), "latch": Out(1),
            "saved_blocked": Out(1), "bitmap": Out(16), "deliverable": Out(1),
            "host_regs": Out(HOST_REGS),
        })


class EventSignature(wiring.Signature):
    """Registered events: during cycle t+1, what the edge ending cycle t did (one transaction kind
    of ``py_model/transactions.py`` per flag, with its qualifiers).

    ``STROBES``: the members whose being high means the edge did something (the rest qualify them);
    the decoder (``tb/protocol/pins.read_events``) reports a transaction for each.
    """

    STROBES = ("deliver", "nmi", "latch", "drop", "iret", "iret_nmi", "seamcall", "vmentry", "exit", "seamret",
               "write", "step", "absorb", "unstep", "self_nmi")

    def __init__(self):
        super().__init__({
            "deliver": Out(1), "deliver_fred": Out(1), "deliver_bitmap": Out(16),
            "nmi": Out(1), "nmi_vector": Out(4), "latch": Out(1), "drop": Out(1),
            "iret": Out(1), "iret_nmi": Out(1),
            "seamcall": Out(1), "seamcall_saved": Out(1), "vmentry": Out(1),
            "exit": Out(1), "exit_reason": Out(7), "exit_qual": Out(16),
            "seamret": Out(1), "seamret_blocked": Out(1),
            "write": Out(1), "write_addr": Out(5), "write_data": Out(64),
            "step": Out(1), "step_intr": Out(1), "absorb": Out(1), "absorb_intr": Out(1),
            "unstep": Out(1), "unstep_mtf": Out(1), "self_nmi": Out(1),
        })


class TraceSignature(wiring.Signature):
    """What an event-driven monitor needs to sleep between events without missing any.

    Members
    -------
    wake : 1 bit
        During cycle t+1: the edge ending cycle t raised an event strobe or moved the phase. The
        state and the register file change only on such edges (``make formal``:
        ``state_changes_only_at_wake``), so sampling only when ``wake`` is high misses nothing.
    cycle : 32 bits
        Edges since reset: stamps what an event-driven monitor samples.
    """

    def __init__(self):
        super().__init__({"wake": Out(1), "cycle": Out(32)})


class NmiLinkSignature(wiring.Signature):
    """The SEAM sequencer's link to the NMI controller (driven by the sequencer).

    Members
    -------
    at_host, in_guest : Out
        VMX root at an instruction boundary (deliveries happen only there); SEAM non-root (an NMI
        exits the TD instead, A4).
    step_entry, self_nmi : Out
        B6: this edge is a single step's VM entry (an NMI latched or arriving exits the TD at once,
        B2; between steps the module is in SEAM root and arrivals latch); the module sends itself an
        NMI with no source (it latches: SEAM root blocks NMIs).
    block : Out
        SEAMCALL: block NMIs (B1).
    load_blocked, load_value : Out
        SEAMRET: load blocking with the module's choice (B4/B5).
    deliver, nmi_exit, exit_qual, blocked : In
        The controller's answer: a delivery, or an NMI VM exit with its qualification, ends this
        cycle; NMIs are blocked during it.
    """

    def __init__(self):
        super().__init__({
            "at_host": Out(1), "in_guest": Out(1), "step_entry": Out(1), "self_nmi": Out(1),
            "block": Out(1), "load_blocked": Out(1), "load_value": Out(1),
            "deliver": In(1), "nmi_exit": In(1), "exit_qual": In(16), "blocked": In(1),
        })


class SeamEdgesSignature(wiring.Signature):
    """The SEAMCALL and SEAMRET edges, from the sequencer to the host-state unit."""

    def __init__(self):
        super().__init__({"seamcall": Out(1), "seamret": Out(1)})


def pin_name(path) -> str:
    """A port's name in the generated Verilog (and so in every simulator): its path joined by ``__``."""
    return "__".join(path)


def port_table(signature: wiring.Signature) -> dict:
    """``{pin name: wiring.Member}`` for every port of ``signature``, in declaration order; the
    member's ``flow`` is as the component sees it."""
    return {pin_name(path): member for path, member in signature.members.flatten() if member.is_port}


def resolve(obj, pin: str):
    """The signal behind ``pin`` on a component or interface: ``resolve(top, "ev__deliver")``."""
    for part in pin.split("__"):
        obj = getattr(obj, part)
    return obj


def forward(m, source, target, signature: wiring.Signature) -> None:
    """Drive every port of interface ``target`` from the same port of ``source`` (a monitor's copy)."""
    for pin in port_table(signature):
        m.d.comb += resolve(target, pin).eq(resolve(source, pin))
