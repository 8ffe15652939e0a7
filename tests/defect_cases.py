"""Which scenario shows each deliberate RTL defect to the reference-free invariants, and the words
the broken rule is reported with: shared by the interactive (tests/rtl) and program-mode
(tests/tb/protocol) tests."""

INVARIANT_CASES = {
    "seamret_always_restore": ("spec6_fixed_noinstr_idt", "B5: fixed module keeps NMIs blocked"),
    "latch_counts": ("a2_latch_and_drop", "A2: binary latch"),
    "deliver_while_blocked": ("a2_latch_and_drop", "delivery while NMIs are blocked"),
    "bitmap_not_cleared": ("a5_bitmap_coalesce_fred_ns", "NMI-source bitmap 0x0008 after a delivery/NMI exit"),
    "exit_qual_zero": ("spec6_legacy_noinstr_fred_ns", "NMI exit with an empty NMI-source qualification"),
    "seamcall_no_block": ("b3_single_nmi_exit", "NMIs not blocked after seamcall"),
    "nmi_exit_ignores_latch": ("b2_latched_before_entry", "B2: an NMI latched when the TD ran did not exit it"),
    "iret_ignored": ("a1_host_nmi_no_td", "NMIs still blocked after an IRET (A1)"),
    "fred_via_swapped": ("e2_fred_nesting", "delivery reported via idt, but the host's entry is fred"),
    "seamret_blocking_ignored": ("spec6_legacy_noinstr_idt", "B4: SEAMRET restores SEAMCALL-time blocking "
                                 "(blocking after the edge is 1)"),
    "delivery_one_cycle_late": ("a1_host_nmi_no_td", "A3: an NMI deliverable in VMX root was not delivered on its edge"),
    "fred_return_ignores_frame": ("spec6_fixed_late_fred_fault", "a FRED return from a non-NMI frame changed NMI blocking"),
    "zero_step_window_ignored": ("b6_nmi_after_the_window_exits", "B6: the module stepped the TD after it ran 4 cycles"),
    "self_nmi_not_sent": ("b6_zero_step_nmi_exit", "B6: stepping ended without the self-NMI"),
    "zero_step_intr_ignored": ("b6_interrupt_exit_in_window_steps", "B6: an asynchronous (NMI or interrupt) exit 0 "
                               "cycles after the TD started"),
    "zero_step_intr_ends": ("b6_interrupt_exit_while_stepping_absorbed", "B6: stepping ended at an asynchronous exit "
                            "after 1 of 4 resumptions"),
}
