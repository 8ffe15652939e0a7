"""The firmware's interface with the testbench, declared once: the CONFIG word the testbench sets,
the log records the firmware writes to LOG, and their codes. The firmware's ``soc.h`` is generated
from this module and ``nmi_periph.REGISTERS`` (``tb/sim/firmware.py``); the testbench decodes the
log with the same tables.
"""

from ..interfaces import REGISTER_MAP

# CONFIG (the SoC's ``sw_cfg``): the firmware's parameters.
CFG_BITS = {
    "CFG_KVM_LATE": 1 << 0,  # KVM's policy after an NMI exit: 1 late (C1'), 0 noinstr (C1)
    "CFG_FRED": 1 << 1,  # the host's NMI entry is FRED (else IDT)
    "CFG_NMI_SOURCE": 1 << 2,  # FRED NMI-source reporting is on
    "CFG_FAULT": 1 << 3,  # one instrumentation fault in KVM's first instrumentable code after SEAMRET
    "CFG_SOAK": 1 << 4,  # soak: enter the TD forever, log the counters every 16 entries (with CFG_FAULT: a
                         # fault after every NMI exit)
    "CFG_HOST_STATE": 1 << 5,  # the host-state register file is modelled: KVM's restores run, from the table at
                               # HS_TABLE_ADDR
}
CFG_SHIFTS = {
    "CFG_ENTRIES_SHIFT": 8,  # bits 15..8: how many TD entries the KVM loop makes
    "CFG_LATE_SHIFT": 16,  # bits 31..16: iterations of the late policy's instrumentable window
}

# The host-state table (SPEC §7): what the host knows, loaded by the testbench into RAM at
# HS_TABLE_ADDR (at the top of the 4 KiB RAM, above the stack) when CFG_HOST_STATE is set. Word 0: flags
# (HS_FLAGS); words HS_HOST..: the host's value of every register (REGISTER_MAP order), low word first;
# words HS_GUEST_XSAVE..: the TD's PKRU, XCR0 and XSS (KVM knows them from the TD's parameters).
HS_TABLE_ADDR = 0xF38  # the stack grows down from here; the linker script keeps STACK_BYTES free below it
STACK_BYTES = 400  # the deepest nesting, from the compiler's frames: main 80 + kvm_manual_nmi 32 + default_do_nmi 80
# + exc_nmi's trap frame 96 + default_do_nmi 80 + handler_enter 16 = 384 bytes (tests/tb/sim/test_firmware_stack.py
# sums them from the compiler's output), and a margin
HS_TABLE = {"HS_HOST": 1, "HS_GUEST_XSAVE": 1 + 2 * len(REGISTER_MAP)}
HS_TABLE_WORDS = HS_TABLE["HS_GUEST_XSAVE"] + 2 * 3
HS_XSAVE = ("PKRU", "XCR0", "XSS")
# Flags: KVM's restore steps (py_model.host_state.RESTORE_STEPS, in order), the TD's attributes, and
# whether the host has hardware breakpoints set.
HS_FLAGS = {f"HS_{step.upper()}": 1 << i for i, step in enumerate(
    ("debugctl", "dr", "xsave", "uret_update", "kernel_gs_base", "xfd", "refuse", "uret_tsx"))}
HS_FLAGS.update(HS_TD_TSX=1 << 8, HS_TD_WAITPKG=1 << 9, HS_HOST_BREAKPOINTS=1 << 10)

# Log records: a tag word (LOG_TAG | kind << 8 | n), then n words.
LOG_TAG = 0xC0DE0000
LOG_KINDS = {"LOG_MARKS": 1, "LOG_PASS": 2, "LOG_LATCHED": 3, "LOG_COUNTS": 4, "LOG_HOST_STATE": 5}
LOG_FIELDS = {
    # The code addresses that stand for R_seam and R_kvm (each the start of its pad) and the idle loop.
    "LOG_MARKS": ("r_seam", "r_seam_end", "r_kvm", "r_kvm_end", "r_idle", "r_idle_end"),
    # One pass of default_do_nmi: its entry, the RIP it reported (a boundary or the landing) and the
    # landing (mepc), its bitmap, the SOURCES it read at its poll and (nothing claimed) for the external
    # reason, what it claimed and concluded, the cycles it started, polled and ended, PASS_* flags.
    "LOG_PASS": ("entry", "rip", "landing", "bitmap", "pending", "recheck", "claimed", "result", "cycle", "poll",
                 "end", "flags"),
    "LOG_LATCHED": ("entry", "rip", "landing", "cycle", "flags"),
    "LOG_COUNTS": ("normal", "unknown", "swallow", "external", "passes"),
    "LOG_HOST_STATE": ("refused", "writes"),  # KVM refused the TD; the register writes the host made
}
ENTRIES = {"ENTRY_IDT": 0, "ENTRY_FRED": 1, "ENTRY_KVM": 2}
# The boundary a delivery was owed at (DELIVERED's bits from DELIVERED_AT_SHIFT, a record's flags from
# PASS_AT_SHIFT): the first cycle after a SEAMRET, or after an IRET; neither: the host had run on.
BOUNDARIES = {"AT_SEAMRET": 1 << 0, "AT_IRET": 1 << 1}
PASS_FLAGS = {"PASS_RERUN": 1 << 0,  # an E1 re-run (LATCHED was found when the run before it ended)
              "PASS_AT_SHIFT": 1}  # BOUNDARIES, shifted
# HANDLER: the firmware's handler depth (bits 7..0), its innermost context's poll state (9..8: a pass
# that has not started its poll, one polling (either side), one that has polled, a LATCHED mark), the
# number of that pass's poll (15..10) and of polls so far (21..16), both mod 64.
HANDLER_POLL_SHIFT = 8
HANDLER_INDEX_SHIFT = 10
HANDLER_POLLS_SHIFT = 16
POLL_STATES = {"POLL_AHEAD": 0, "POLL_POLLING": 1, "POLL_DONE": 2, "POLL_LATCHED": 3}
# DELIVERED: the delivery's NMI-source bitmap (15..0), FRED (16), the boundary it was owed at (18..17).
DELIVERED_BITS = {"DELIVERED_FRED_BIT": 16, "DELIVERED_AT_SHIFT": 17}
RESULTS = {"RESULT_HANDLED": 0, "RESULT_EXTERNAL": 1, "RESULT_SWALLOWED": 2, "RESULT_UNKNOWN": 3}
NO_BITMAP = 0xFFFFFFFF  # a pass without NMI-source reporting
EXIT_REASON_NMI = 0


def sw_config(kvm: str, entry: str, nmi_source: bool, entries: int, late_loops: int = 0, fault: bool = False,
              soak: bool = False, host_state: bool = False) -> int:
    """The CONFIG word for a run (``soak``: the endless loop of ``make soak``; ``entries`` is then ignored)."""
    if not 0 <= entries < 256 or not 0 <= late_loops < 1 << 16:
        raise ValueError(f"entries {entries} (0..255), late_loops {late_loops} (0..65535)")
    return ((CFG_BITS["CFG_KVM_LATE"] if kvm == "late" else 0) | (CFG_BITS["CFG_FRED"] if entry == "fred" else 0)
            | (CFG_BITS["CFG_NMI_SOURCE"] if nmi_source else 0) | (CFG_BITS["CFG_FAULT"] if fault else 0)
            | (CFG_BITS["CFG_SOAK"] if soak else 0) | (CFG_BITS["CFG_HOST_STATE"] if host_state else 0)
            | entries << CFG_SHIFTS["CFG_ENTRIES_SHIFT"]
            | late_loops << CFG_SHIFTS["CFG_LATE_SHIFT"])


def decode_log(words: list[int]) -> list[tuple[str, dict]]:
    """The firmware's log words as (record kind, fields); raises ValueError on a malformed log."""
    kinds = {code: name for name, code in LOG_KINDS.items()}
    out, i = [], 0
    while i < len(words):
        tag = words[i]
        kind, n = tag >> 8 & 0xFF, tag & 0xFF
        if tag & 0xFFFF0000 != LOG_TAG or kind not in kinds or n != len(LOG_FIELDS[kinds[kind]]):
            raise ValueError(f"log word {i}: 0x{tag:08x} is not a record tag")
        if i + 1 + n > len(words):
            raise ValueError(f"log word {i}: a {kinds[kind]} record cut short")
        out.append((kinds[kind], dict(zip(LOG_FIELDS[kinds[kind]], words[i + 1:i + 1 + n], strict=True))))
        i += 1 + n
    return out
