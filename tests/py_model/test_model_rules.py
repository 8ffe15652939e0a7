"""One test per rule of shared/SPEC.md, named after the rule it checks."""

from helpers import RACE, brief, kinds, run

from py_model import Config, Inputs, NmiHardware
from py_model.hardware import GUEST, HOST, SEAMCALL
from py_model.transactions import EXIT_REASONS


def hw_run(config, script):
    """Drive the hardware reference directly: script is a list of Inputs per cycle."""
    hw = NmiHardware(config)
    trace = []
    for cycle, inp in enumerate(script):
        trace += hw.step(cycle, inp)
    return hw, trace


def test_A1_iret_unblocks_any_iret():
    hw, trace = hw_run(Config(), [Inputs(nmi=True, vector=3), Inputs(), Inputs(iret=True)])
    assert [t.kind for t in trace] == ["nmi", "latch", "deliver", "iret"]
    assert not hw.blocked
    # A fault's IRET in the host unblocks too: the late-policy inversion depends on it.
    out = run(RACE[:5] + ["fault"] + RACE[5:], module="fixed", kvm="late")
    assert out.passes[0].rip.startswith("host:") and out.inversions == 1


def test_A2_latch_is_binary_and_later_arrivals_drop():
    script = [Inputs(nmi=True, vector=3), Inputs(), Inputs(nmi=True, vector=4), Inputs(nmi=True, vector=5)]
    hw, trace = hw_run(Config(), script)
    assert [t.kind for t in trace] == ["nmi", "latch", "deliver", "nmi", "latch", "nmi", "drop"]
    assert hw.latch and hw.blocked


def test_A3_latched_nmi_delivered_once_unblocked():
    script = [Inputs(nmi=True, vector=3), Inputs(), Inputs(nmi=True, vector=4), Inputs(), Inputs(iret=True), Inputs()]
    hw, trace = hw_run(Config(), script)
    delivers = [t.cycle for t in trace if t.kind == "deliver"]
    assert delivers == [1, 5]  # one cycle after the IRET edge
    assert not hw.latch


def test_A4_nmi_in_guest_always_exits_and_is_not_delivered():
    out = run(["enter", {"until": "guest"}, {"nmi": 7}, {"until": "host"}])
    assert "deliver" not in kinds(out)
    exits = [t for t in out.trace if t.kind == "exit"]
    assert exits and exits[0].get("reason") == EXIT_REASONS["nmi"]
    assert brief(out) == [("kvm", "R_kvm", [7], "handled")]


def test_A5_bitmap_accumulates_and_goes_to_exit_qualification():
    cfg = Config(entry="fred", nmi_source=True)
    out = run(["enter", {"until": "seam_root"}, {"nmi": 3}, {"nmi": 0}, {"until": "host"}], **cfg.to_json())
    exit_txn = next(t for t in out.trace if t.kind == "exit")
    assert exit_txn.get("qual") == (1 << 3) | 1  # vector 0 sets bit 0
    assert out.passes[0].bitmap == [0, 3] and out.passes[0].claimed == [3]  # bit 0 means "call all"


def test_B1_seamcall_saves_blocking_and_blocks():
    hw, trace = hw_run(Config(), [Inputs(seamcall=True), Inputs(nmi=True, vector=3)])
    assert hw.phase == SEAMCALL and hw.blocked and not hw.saved_blocked
    assert [t.kind for t in trace] == ["seamcall", "nmi", "latch"]


def test_B2_latched_nmi_exits_td_at_once():
    out = run(["enter", {"until": "seam_root"}, {"nmi": 6}, {"until": "host"}])
    entry = next(t.cycle for t in out.trace if t.kind == "vmentry")
    exit_ = next(t.cycle for t in out.trace if t.kind == "exit")
    assert exit_ == entry + 1


def test_B3_exit_reason_and_qualification():
    out = run(["enter", {"until": "guest"}, {"exit": "ept"}, {"until": "host"}])
    exit_txn = next(t for t in out.trace if t.kind == "exit")
    assert exit_txn.get("reason") == EXIT_REASONS["ept"] and exit_txn.get("qual") == 0
    assert out.passes == []  # KVM runs no NMI pass for a non-NMI exit


def test_B4_legacy_seamret_restores_unblocked():
    out = run(RACE, module="legacy")
    assert next(t for t in out.trace if t.kind == "seamret").get("blocked") == 0
    assert brief(out)[0] == ("idt", "R_seam", [3, 5], "handled")


def test_B5_fixed_seamret_keeps_blocked_after_nmi_exit_only():
    out = run(RACE, module="fixed")
    assert next(t for t in out.trace if t.kind == "seamret").get("blocked") == 1
    other = run(["enter", {"until": "guest"}, {"exit": "tdvmcall"}, {"until": "host"}], module="fixed")
    assert next(t for t in other.trace if t.kind == "seamret").get("blocked") == 0


def test_C1_noinstr_handles_nmi_before_region_ends():
    out = run(RACE[:5] + ["fault"] + RACE[5:], module="fixed", kvm="noinstr")
    assert brief(out) == [("kvm", "R_kvm", [3, 5], "handled"), ("idt", "R_kvm", [], "swallowed")]
    assert out.inversions == 0


def test_C1_prime_late_policy_window_lets_fault_unblock():
    clean = run(RACE, module="fixed", kvm="late")
    assert clean.inversions == 0 and clean.counts["unknown"] == 0
    faulted = run(RACE[:5] + ["fault"] + RACE[5:], module="fixed", kvm="late")
    assert faulted.inversions == 1 and faulted.counts["unknown"] == 1


def test_C2_manual_pass_uses_exit_qualification_with_fred():
    out = run(RACE, module="fixed", entry="fred", nmi_source=True)
    assert out.passes[0].via == "kvm" and out.passes[0].bitmap == [3]
    assert out.passes[1].bitmap == [5]


def test_C3_rips():
    legacy = run(RACE, module="legacy")
    assert [p.rip for p in legacy.passes] == ["R_seam", "R_kvm"]
    fixed = run(RACE, module="fixed")
    assert [p.rip for p in fixed.passes] == ["R_kvm", "R_kvm"]  # delivered at the IRET to R_kvm
    idle = run([{"nmi": 3}, {"wait": 20}, {"nmi": 4}, {"wait": 20}])
    assert [p.rip for p in idle.passes] == ["host:1", "host:2"]  # distinct RIPs


def test_E1_idt_guard_latches_and_reruns():
    out = run(["enter", {"until": "guest"}, {"nmi": 3}, {"until": "handler"}, {"wait": 2}, {"nmi": 5}, {"wait": 40}],
              module="legacy")
    assert brief(out) == [("kvm", "R_kvm", [3], "handled"), ("idt", "host:1", [], "latched"),
                          ("kvm", "R_kvm", [5], "handled")]


def test_E2_fred_nests():
    out = run(["enter", {"until": "guest"}, {"nmi": 3}, {"until": "handler"}, {"wait": 2}, {"nmi": 5}, {"wait": 40}],
              module="legacy", entry="fred")
    assert brief(out) == [("kvm", "R_kvm", [3], "handled"), ("fred", "host:1", [5], "handled")]


def test_E3_unknown_swallow_external():
    assert run(RACE, module="legacy").counts == {"normal": 2, "unknown": 1, "swallow": 0, "external": 0}
    assert run(RACE, module="fixed").counts == {"normal": 2, "unknown": 0, "swallow": 1, "external": 0}
    ext = run(["enter", {"until": "guest"}, {"nmi": 2}, {"until": "host"}])
    assert brief(ext) == [("kvm", "R_kvm", [2], "external")]
    no_source = run([{"nmi": 0}, {"wait": 20}])
    assert brief(no_source) == [("idt", "host:1", [], "unknown")]


def test_E4_nmi_source_filters_handlers():
    out = run(RACE, module="legacy", entry="fred", nmi_source=True)
    assert brief(out) == [("fred", "R_seam", [5], "handled"), ("kvm", "R_kvm", [3], "handled")]
    same = run(RACE[:4] + [{"nmi": 3}] + RACE[5:], module="fixed")
    assert brief(same)[1][3] == "unknown"  # two NMIs, one status bit


def test_E5_poll_point():
    def timeline(wait):
        return [{"nmi": 3}, {"until": "handler"}, {"wait": wait}, {"nmi": 4}, {"wait": 40}]
    before = run(timeline(2), handler=10, poll=5)
    after = run(timeline(7), handler=10, poll=5)
    assert [p.claimed for p in before.passes] == [[3, 4], []]
    assert [p.claimed for p in after.passes] == [[3], [4]]


def test_hardware_phases_follow_timing_knobs():
    cfg = Config(seamcall=3, vmentry=2, exit=5)
    hw = NmiHardware(cfg)
    hw.step(0, Inputs(seamcall=True))
    for cycle in range(1, 6):
        assert hw.phase != GUEST
        hw.step(cycle, Inputs())
    assert hw.phase == GUEST  # cycles 1..3 SEAMCALL, 4..5 VM entry
    hw.step(6, Inputs(exit_req=True, exit_reason=77))
    for cycle in range(7, 12):
        assert hw.phase != HOST
        hw.step(cycle, Inputs())
    assert hw.phase == HOST  # cycles 7..11 of SEAM-root exit work, SEAMRET at edge 11
