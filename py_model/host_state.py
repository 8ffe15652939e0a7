"""Host state across TDH.VP.ENTER (shared/SPEC.md §7): what the module leaves, what KVM restores.

Hardware side: ``module_exit_value`` is the TDX module's effect on each register at SEAMRET
(MOD ``load_vmm_state_before_td_exit``). Software side: ``HostStateSw`` holds the host values,
the TD's attributes, KVM's restore switches and Linux's user-return MSR cache, and says which
register writes KVM makes after an exit, at vcpu_put and on return to user space.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The register file, in address order (the RTL's write-port addresses).
REGISTERS = ("DR0", "DR1", "DR2", "DR3", "DR6", "DR7", "DEBUGCTL", "KERNEL_GS_BASE", "STAR", "LSTAR",
             "FMASK", "TSC_AUX", "XFD", "XFD_ERR", "UARCH_MISC_CTL", "CR2", "TSX_CTRL", "UMWAIT_CONTROL",
             "XCR0", "XSS", "PKRU")
ADDRESS = {name: i for i, name in enumerate(REGISTERS)}

# Left at the module's value and never restored, because the kernel does not rely on them
# between uses (seed thread: XFD_ERR "fine for the kernel", UARCH_MISC_CTL "not utilized by the
# kernel"; CR2 only means something inside the #PF handler). Reported apart, not as differences.
SCRATCH = ("XFD_ERR", "UARCH_MISC_CTL", "CR2")

DEBUGCTL_PRESERVED = (1 << 1) | (1 << 12) | (1 << 14)  # the bits the module keeps
DR6_INIT, DR7_INIT = 0xFFFF0FF0, 0x400
FMASK_DEFAULT = 0x20200

URET_SLOTS = ("STAR", "LSTAR", "FMASK", "TSC_AUX")  # KVM's user-return MSRs for TDX

RESTORE_STEPS = ("debugctl", "dr", "xsave", "uret_update", "kernel_gs_base", "xfd", "refuse", "uret_tsx")
PRESETS = {
    # The merged code: every restore step, TDs asking for TSX or WAITPKG refused.
    "merged": {step: step != "uret_tsx" for step in RESTORE_STEPS},
    # The first posting: no DEBUGCTL restore, no refusal, TSX_CTRL in the user-return list.
    "first_posting": {**{step: True for step in RESTORE_STEPS}, "debugctl": False, "refuse": False},
}

# Typical values (documented in docs/scenarios.md): a host with breakpoints and user-return MSRs set,
# and a TD whose own values differ from every one of them.
DEFAULT_HOST = {
    "DR0": 0xFFFF_8000_0010_0000, "DR1": 0, "DR2": 0, "DR3": 0, "DR6": DR6_INIT, "DR7": DR7_INIT | 1,  # L0 on
    "DEBUGCTL": 0, "KERNEL_GS_BASE": 0x7F00_1234_0000, "STAR": 0x0023_0010_0000_0000,
    "LSTAR": 0xFFFF_FFFF_8160_0000, "FMASK": 0x47700, "TSC_AUX": 1, "XFD": 0, "XFD_ERR": 0,
    "UARCH_MISC_CTL": 0, "CR2": 0, "TSX_CTRL": 0, "UMWAIT_CONTROL": 0x186A0, "XCR0": 0x2E7, "XSS": 0x1800,
    "PKRU": 0x55555554,
}
DEFAULT_GUEST = {**{name: (0x6000 + 0x111 * i) for i, name in enumerate(REGISTERS)},
                 "DEBUGCTL": 1 << 12}  # differs from a typical host's in the preserved bits too


def module_exit_value(name: str, current: int, at_seamcall: int, td_tsx: bool, td_waitpkg: bool) -> int:
    """The value the TDX module leaves in ``name`` at SEAMRET (SPEC §7).

    ``current`` is what the TD left; ``at_seamcall`` the host's value when SEAMCALL began.
    """
    if name in ("DR0", "DR1", "DR2", "DR3", "KERNEL_GS_BASE", "STAR", "LSTAR", "TSC_AUX", "XFD", "XFD_ERR",
                "UARCH_MISC_CTL", "CR2"):
        return 0
    if name == "DR6":
        return DR6_INIT
    if name == "DR7":
        return DR7_INIT
    if name == "DEBUGCTL":
        return at_seamcall & DEBUGCTL_PRESERVED  # the host's bits 1, 12 and 14 survive
    if name == "FMASK":
        return FMASK_DEFAULT
    if name == "TSX_CTRL":
        return 0 if td_tsx else current
    return current  # UMWAIT_CONTROL (the guest's if WAITPKG), XCR0, XSS, PKRU: as the TD left them


@dataclass
class HostStateConfig:
    """The ``host_state`` section of a scenario (docs/scenarios.md)."""

    preset: str = "merged"
    td_tsx: bool = False
    td_waitpkg: bool = False
    host_breakpoints: bool = True
    host: dict = field(default_factory=dict)
    guest: dict = field(default_factory=dict)
    restore: dict = field(default_factory=dict)

    def steps(self) -> dict:
        return {**PRESETS[self.preset], **self.restore}

    def host_values(self) -> dict:
        values = {**DEFAULT_HOST, **self.host}
        if not self.host_breakpoints:
            values.update(DR0=0, DR1=0, DR2=0, DR3=0, DR6=DR6_INIT, DR7=DR7_INIT)
        return values

    def guest_values(self) -> dict:
        """What the TD writes while it runs: its own value of every register it can touch."""
        values = {**DEFAULT_GUEST, **self.guest}
        if not self.td_waitpkg:
            values.pop("UMWAIT_CONTROL")  # no WAITPKG: the TD cannot write it
        if not self.td_tsx:
            values.pop("TSX_CTRL")
        return values

    def to_json(self) -> dict:
        return {"preset": self.preset, "td": {"tsx": self.td_tsx, "waitpkg": self.td_waitpkg},
                "host_breakpoints": self.host_breakpoints, "restore": self.steps()}


class HostStateSw:
    """KVM's and Linux's side: the writes they make, and the user-return MSR cache."""

    def __init__(self, cfg: HostStateConfig):
        self.cfg = cfg
        self.steps = cfg.steps()
        self.host = cfg.host_values()
        self.refused = self.steps["refuse"] and (cfg.td_tsx or cfg.td_waitpkg)
        slots = URET_SLOTS + (("TSX_CTRL",) if self.steps["uret_tsx"] else ())
        self.uret_curr = {slot: self.host[slot] for slot in slots}  # Linux's "current value" per slot
        self.notifier_registered = False

    def setup_writes(self) -> list[tuple[str, int]]:
        """The host's values, loaded before anything runs (the RTL's register file starts at 0)."""
        return [(name, self.host[name]) for name in REGISTERS]

    def guest_writes(self) -> list[tuple[str, int]]:
        return sorted(self.cfg.guest_values().items(), key=lambda kv: ADDRESS[kv[0]])

    def after_exit_writes(self) -> list[tuple[str, int]]:
        """KVM right after TDH.VP.ENTER returns (tdx_vcpu_run / vcpu_enter_guest)."""
        writes = []
        td = self.cfg
        if self.steps["debugctl"] and self.host["DEBUGCTL"] & ~DEBUGCTL_PRESERVED:
            writes.append(("DEBUGCTL", self.host["DEBUGCTL"]))  # update_debugctlmsr()
        if self.steps["dr"] and td.host_breakpoints:
            writes += [(dr, self.host[dr]) for dr in ("DR0", "DR1", "DR2", "DR3", "DR6", "DR7")]
        if self.steps["xsave"]:
            guest = td.guest_values()
            for name in ("PKRU", "XCR0", "XSS"):  # restored when they differ from the host's
                if guest.get(name, self.host[name]) != self.host[name]:
                    writes.append((name, self.host[name]))
        if self.steps["uret_update"]:
            # Update the cache to what the module left, without WRMSR; the notifier restores later.
            for slot in self.uret_curr:
                self.uret_curr[slot] = module_exit_value(slot, 0, 0, td.td_tsx, td.td_waitpkg)
            self.notifier_registered = True
        return writes

    def vcpu_put_writes(self) -> list[tuple[str, int]]:
        writes = []
        if self.steps["kernel_gs_base"]:
            writes.append(("KERNEL_GS_BASE", self.host["KERNEL_GS_BASE"]))
        if self.steps["xfd"]:
            writes.append(("XFD", self.host["XFD"]))  # kvm_put_guest_fpu()
        return writes

    def user_return_writes(self) -> list[tuple[str, int]]:
        """kvm_on_user_return(): restore the host value where the cache says it differs."""
        if not self.notifier_registered:
            return []
        writes = []
        for slot, curr in self.uret_curr.items():
            if curr != self.host[slot]:
                writes.append((slot, self.host[slot]))
                self.uret_curr[slot] = self.host[slot]
        return writes

    def result(self, regs: dict) -> dict:
        """At return to user space: which registers differ from their value before entry."""
        differs = [n for n in REGISTERS if n not in SCRATCH and regs[n] != self.host[n]]
        scratch = [n for n in SCRATCH if regs[n] != self.host[n]]
        return {"refused": self.refused, "differs": differs, "scratch_clobbered": scratch,
                "values": {n: regs[n] for n in REGISTERS}}
