"""Deliberate firmware defects: source edits of ``firmware/kvm_nmi.c`` that the softcore's software
check must catch (``make sim MODE=softcore FW_BUG=<name>``, ``make mutants``).

name -> (text to replace, exactly once; replacement; what the defect means). Each is a plausible
mistake in KVM's exit path or Linux's NMI handler that the hardware check cannot see.
"""

FIRMWARE_DEFECTS = {
    "swallow_never_armed": ("if (handled > 1) swallow_nmi = 1;", "",
                            "swallow_nmi never armed: the fixed module's back-to-back NMI becomes an unknown NMI"),
    "b2b_compares_wrong_pc": ("int b2b = rip == last_nmi_rip;", "int b2b = rip == last_nmi_rip + 4;",
                              "the back-to-back test compares the interrupted PC with the wrong one"),
    "pass_after_fault_window": ("            kvm_manual_nmi(exit >> 16);\n            instrumentable_point();",
                                "            instrumentable_point();\n            kvm_manual_nmi(exit >> 16);",
                                "KVM's manual pass after its instrumentable code: a fault's IRET unblocks NMIs first"),
    "uret_notifier_never_armed": ("        uret_registered = 1;\n", "",
                                  "KVM never arms its user-return notifier: the module's MSR values reach user space"),
    "debugctl_never_restored": ("restore(HR_DEBUGCTL); /* update_debugctlmsr() */", "; /* skipped */",
                                "update_debugctlmsr() skipped: host DEBUGCTL bits beyond 1/12/14 stay cleared"),
    "no_rerun_after_latched": ("    } while (idt && nmi_state_dec() != NOT_RUNNING);",
                               "    } while (0);\n    if (idt) nmi_state = NOT_RUNNING;",
                               "KVM's pass never re-runs after exc_nmi marked it LATCHED (E1)"),
    "kvm_pass_outside_guard": ("    if (idt) nmi_state = EXECUTING;\n    do {\n"
                               "        default_do_nmi(ENTRY_KVM, rip, rip, qual, (cfg & CFG_NMI_SOURCE) != 0, flags);\n"
                               "        flags = PASS_RERUN;\n    } while (idt && nmi_state_dec() != NOT_RUNNING);",
                               "    (void)idt;\n"
                               "    default_do_nmi(ENTRY_KVM, rip, rip, qual, (cfg & CFG_NMI_SOURCE) != 0, flags);",
                               "KVM's manual pass outside exc_nmi's nmi_state guard: an IDT NMI runs a nested pass"),
    "swallow_without_b2b": ("} else if (b2b && swallow_nmi) {", "} else if (swallow_nmi) {",
                            "the swallow test without its back-to-back condition"),
    "non_atomic_decrement": ("    unsigned was = irq_save();\n    int left = --nmi_state;\n    irq_restore(was);\n",
                             "    int left = nmi_state - 1; /* load ... */\n"
                             "    __asm__ volatile(\"li t0, 64\\n1: addi t0, t0, -1\\nbnez t0, 1b\" ::: \"t0\");\n"
                             "    nmi_state = left; /* ... store: an NMI in between is overwritten */\n",
                             "nmi_state's decrement as a load and a later store (the window widened so a probe "
                             "lands in it): a LATCHED mark in between is lost, the pass never re-runs"),
    "pad_always_r_seam": ("    if ((at & AT_SEAMRET) && rip >= ADDR(r_seam) && rip <= ADDR(r_seam_end)) "
                          "return ADDR(r_seam);",
                          "    if (rip >= ADDR(r_seam) && rip <= ADDR(r_seam_end)) return ADDR(r_seam);",
                          "every landing in R_seam's pad reported as R_seam, also an NMI that arrived after SEAMRET "
                          "(a back-to-back match Linux would not make)"),
    "idle_never_touches": ('        "r_idle:\\n"\n        "sw zero, 0(%1)\\n"\n', '        "r_idle:\\n"\n',
                           "the idle loop never forgets the last NMI's RIP (no local_touch_nmi): two separate "
                           "idle NMIs look back to back"),
}


def firmware_patch(name: str) -> tuple[str, str]:
    """The (text, replacement) edit of one defect, for ``tb.sim.firmware.build_firmware``."""
    old, new, _ = FIRMWARE_DEFECTS[name]
    return old, new
