"""NMI controller: the binary latch, blocking-by-NMI, the FRED NMI-source bitmap, delivery.

shared/SPEC.md A1-A5. The SEAM sequencer (``seam_sequencer.py``) tells it where the CPU is
and when SEAMCALL/SEAMRET change blocking; it answers whether an NMI is delivered to the
host or consumed by a VM exit this cycle.
"""

from amaranth import Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .bugs import check_bugs
from .interfaces import NmiLinkSignature


class NmiController(wiring.Component):
    """Latch, blocking and bitmap of one logical CPU.

    Parameters
    ----------
    bugs : frozenset of str
        Deliberate defects for bug-detection tests (``rtl/bugs.py``); empty in the product.

    Attributes
    ----------
    nmi, vector : In
        A physical NMI arrives this cycle from source ``vector`` (0: no source).
    nmi_source : In
        FRED NMI-source reporting is on: arrivals accumulate in ``bitmap``.
    seam : In(NmiLinkSignature)
        The SEAM sequencer's link: where the CPU is (at a VMX-root boundary, deliveries happen; in
        SEAM non-root, an NMI exits the TD instead, A4; while the module steps the TD, an arrival is
        an NMI exit too, and the module may send itself an NMI, B6), blocking changes at SEAMCALL (B1) and
        SEAMRET (B4/B5); back: ``deliver``, ``nmi_exit``, ``exit_qual``, ``blocked``.
    fred : In
        The host takes NMIs through FRED: a return unblocks NMIs only from an NMI frame (A1).
    iret, iret_nmi : In
        Host software returns from an event (IRET, or ERETS/ERETU under FRED), and whether the
        frame it returns through is an NMI frame; ignored in a cycle with a delivery (A1).
    latch, bitmap : Out
        The state during this cycle (blocking is on the link: ``seam.blocked``).
    latched, dropped : Out
        This cycle's arrival went into the empty latch / found it full (A2).
    """

    nmi: In(1)
    vector: In(4)
    nmi_source: In(1)
    fred: In(1)
    iret: In(1)
    iret_nmi: In(1)
    seam: In(NmiLinkSignature())

    latch: Out(1)
    bitmap: Out(16)
    latched: Out(1)
    dropped: Out(1)

    def __init__(self, bugs=frozenset()):
        self.bugs = check_bugs(bugs)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        bugs = self.bugs
        seam = self.seam

        # The latch holds one NMI; the "latch_counts" defect makes it a counter.
        count = Signal(2)
        m.d.comb += self.latch.eq(count != 0)

        unblocked = Const(1) if "deliver_while_blocked" in bugs else ~seam.blocked
        ready = seam.at_host & self.latch & unblocked
        if "delivery_one_cycle_late" in bugs:
            was_ready = Signal()
            m.d.sync += was_ready.eq(ready)
            ready = ready & was_ready
        m.d.comb += seam.deliver.eq(ready)
        latched_exits = Const(0) if "nmi_exit_ignores_latch" in bugs else self.latch
        m.d.comb += seam.nmi_exit.eq((seam.in_guest | seam.step_entry) & (latched_exits | self.nmi))

        # A5: vectors 1..15 set their own bit, no vector sets bit 0.
        arrival_bit = Signal(16)
        with m.If(self.nmi & self.nmi_source):
            m.d.comb += arrival_bit.eq(Mux(self.vector == 0, 1, Const(1, 16) << self.vector))
        merged = Signal(16)
        m.d.comb += merged.eq(self.bitmap | arrival_bit)
        qual = Const(0, 16) if "exit_qual_zero" in bugs else Mux(self.nmi_source, merged, 0)
        m.d.comb += seam.exit_qual.eq(qual)

        consumed = seam.deliver | seam.nmi_exit
        held = Signal()  # the latch still holds an NMI after this cycle's consumption
        m.d.comb += held.eq(self.latch & ~consumed)
        arriving = self.nmi & ~seam.nmi_exit
        m.d.comb += [
            self.latched.eq(arriving & ~held),
            self.dropped.eq(arriving & held),
        ]

        # B6: the module's self-NMI latches like an arrival with no source; it merges with an NMI latched
        # while the module stepped (A2: one NMI, the bitmaps joined). Its edge never consumes the latch
        # (the sequencer sends it only on an edge without an NMI exit).
        self_bit = Mux(self.nmi_source, 1, 0)
        if "latch_counts" in bugs:
            after = Mux(consumed, count - 1, count)
            m.d.sync += count.eq(Mux((arriving | seam.self_nmi) & (after != 3), after + 1, after))
        else:
            m.d.sync += count.eq(arriving | held | seam.self_nmi)

        keep_bitmap = "bitmap_not_cleared" in bugs
        with m.If(seam.self_nmi):
            m.d.sync += self.bitmap.eq(merged | self_bit)
        with m.Elif(seam.nmi_exit):
            m.d.sync += self.bitmap.eq(merged if keep_bitmap else 0)
        with m.Elif(seam.deliver):
            m.d.sync += self.bitmap.eq(merged if keep_bitmap else arrival_bit)
        with m.Else():
            m.d.sync += self.bitmap.eq(merged)

        with m.If(seam.deliver):
            m.d.sync += seam.blocked.eq(1)
        with m.Elif(seam.block):
            m.d.sync += seam.blocked.eq(1)
        with m.Elif(seam.load_blocked & ("seamret_blocking_ignored" not in bugs)):
            m.d.sync += seam.blocked.eq(seam.load_value)
        nmi_frame = Const(1) if "fred_return_ignores_frame" in bugs else self.iret_nmi
        with m.Elif(self.iret & seam.at_host & (~self.fred | nmi_frame) & ("iret_ignored" not in bugs)):
            m.d.sync += seam.blocked.eq(0)  # A1: any IRET; under FRED only a return from an NMI frame
        return m
