"""Deliberate RTL defects, chosen at elaboration, to show that the checks catch them.

Each name selects one defect; the product is elaborated with none. Every defect here has a
test in ``tests/rtl/test_rtl_amaranth.py`` that runs the co-simulation and expects the scoreboard to
name the first wrong transaction and the invariant checker the broken rule, and a formal property
that fails (``tests/tb/formal/test_formal.py``).
"""

BUGS = {
    "seamret_always_restore": "SEAMRET restores SEAMCALL-time blocking even after an NMI exit (the fixed policy lost)",
    "latch_counts": "the NMI latch counts arrivals instead of holding one",
    "deliver_while_blocked": "a latched NMI is delivered to the host while NMIs are blocked",
    "bitmap_not_cleared": "the NMI-source bitmap is not cleared on delivery or NMI exit",
    "exit_qual_zero": "the NMI exit qualification is always zero (the bitmap is not reported)",
    "seamcall_no_block": "SEAMCALL does not block NMIs in SEAM root",
    "nmi_exit_ignores_latch": "an NMI latched in SEAM root does not exit the TD at VM entry (only new arrivals do)",
    "iret_ignored": "IRET in VMX root does not unblock NMIs",
    "fred_return_ignores_frame": "under FRED every return unblocks NMIs, a fault's too (A1 as for IDT)",
    "seamret_blocking_ignored": "the NMI controller ignores the blocking SEAMRET loads (NMIs stay blocked from SEAMCALL)",
    "delivery_one_cycle_late": "a deliverable NMI is delivered one host boundary late",
    "fred_via_swapped": "deliveries are reported through the wrong entry path (IDT for FRED and back)",
    "vector_reported_wrong": "the NMI arrival event reports the source vector off by one",
    "debugctl_keep_guest": "SEAMRET keeps the TD's DEBUGCTL bits 1/12/14 instead of the host's",
    "star_not_cleared": "SEAMRET leaves the TD's STAR in place instead of zeroing it",
    "zero_step_window_ignored": "the module steps the TD after every NMI exit, however long the TD has run (B6)",
    "self_nmi_not_sent": "stepping ends at its last MTF exit without the self-NMI: the absorbed NMI is lost (B6)",
    "zero_step_intr_ignored": "an interrupt exit too soon after VM entry is reported instead of starting stepping "
                              "(B6: only NMI exits step)",
    "zero_step_intr_ends": "an interrupt exit while the module steps ends stepping instead of being counted and "
                           "resumed from (B6)",
    "wake_ignores_phase": "trace.wake misses the silent SEAMCALL -> VM entry step (an event-driven monitor sleeps "
                          "through it)",
}

# Defects of the trace outputs alone: a bench that samples every cycle never reads them, so only the
# event-driven monitor (tests/tb/uvm/test_event_driven.py) and formal catch them.
TRACE_BUGS = ("wake_ignores_phase",)


# Defects of the softcore SoC around the design (``rtl/soc``), elaborated only there: each is tried in
# softcore mode (``make mutants``; tests/tb/uvm/test_softcore_events.py).
SOC_BUGS = {
    "soc_wake_ignores_cpu": "the SoC's wake misses the CPU's strobes to the design (SEAMCALL, IRET, register "
                            "writes): an event-driven softcore bench sleeps through them",
    "player_wait_one_short": "the hardware environment player's WAIT runs out a cycle early (the player of "
                             "TARGET=harness|vboard|board; under cocotb Python plays the environment)",
}
PLAYER_BUGS = {"player_wait_one_short"}  # defects of rtl/soc/env_player.py: off the simulator only


def check_bugs(bugs, soc: bool = False) -> frozenset:
    """``bugs`` as a set, refused if one is unknown; ``soc``: the SoC's own defects are known too."""
    bugs = frozenset(bugs)
    known = BUGS.keys() | (SOC_BUGS.keys() if soc else set())
    unknown = bugs - known
    if unknown:
        where = "" if soc else (" (a SoC defect: MODE=softcore only)" if unknown <= SOC_BUGS.keys() else "")
        raise ValueError(f"unknown RTL bug(s) {sorted(unknown)}{where}; known: {', '.join(sorted(known))}")
    return bugs
