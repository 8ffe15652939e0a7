"""Softcore mode: the firmware (KVM's exit path, Linux's NMI handler) on VexRiscv against the RTL,
checked by the reference hardware cycle for cycle and by the model's software pass for pass."""

import pytest

from py_model import Config, Scenario, load_scenario
from rtl.bugs import BUGS, TRACE_BUGS
from rtl.soc import abi
from tb.sim.firmware import FirmwareError, build_firmware
from tb.sim.verilator import run_test
from tb.stimulus.catalog import TESTS
from tb.stimulus.softcore import EnvPlayer, NotApplicable, softcore_case
from conftest import SCENARIO_DIR


def rows(report):
    return {r["scenario"]: r for r in report["runs"]}


def test_the_spec6_rows_run_as_firmware_and_end_as_the_spec_says():
    report = run_test("nmi_seamret", 1, quiet=True, mode="softcore")
    assert report["error"] is None and report["runs"], report.get("error")
    by_name = rows(report)
    assert all(r["ok"] for r in by_name.values()), [r["failure"] for r in by_name.values() if not r["ok"]]
    legacy = by_name["nmi_seamret[legacy/noinstr/idt]"]["firmware"]
    # The inversion on real interrupts: X+1 lands at R_seam first and claims both; KVM's pass is unknown.
    assert [(p["via"], p["rip"], p["result"]) for p in legacy["passes"]] == [
        ("idt", "R_seam", "handled"), ("kvm", "R_kvm", "unknown")]
    assert legacy["counts"]["unknown"] == 1
    fixed = by_name["nmi_seamret[fixed/noinstr/idt]"]["firmware"]
    assert [(p["via"], p["rip"], p["result"]) for p in fixed["passes"]] == [
        ("kvm", "R_kvm", "handled"), ("idt", "R_kvm", "swallowed")] and fixed["counts"]["unknown"] == 0
    # Every row runs, none timed: SPEC §6's whole table on the firmware.
    assert len(report["runs"]) == len(TESTS["nmi_seamret"].scenarios(1)) == 14 and not report["not_applicable"]
    assert not any(r["timed"] for r in report["runs"])
    # +nested: NMIs 3 and 5 placed in KVM's second pass (`until: handler`) nest into it through FRED;
    # KVM's pass, back to back since it began, is swallowed once the nested pass has armed swallow.
    nested = by_name["nmi_seamret[legacy/noinstr/fred +nested]"]["firmware"]
    assert [(p["via"], p["rip"], p["claimed"], p["result"]) for p in nested["passes"]] == [
        ("fred", "R_seam", [3, 5], "handled"), ("kvm", "R_kvm", [], "unknown"), ("kvm", "R_kvm", [], "swallowed"),
        ("fred", "host:1", [3, 5], "handled"), ("fred", "host:1", [], "swallowed")]
    # The instrumentation fault as a real trap: under IDT its IRET lets X+1 in early, at the fault's RIP.
    late_fault = by_name["nmi_seamret[fixed/late/idt +fault]"]["firmware"]
    assert [(p["via"], p["rip"], p["result"]) for p in late_fault["passes"]] == [
        ("idt", "host:1", "handled"), ("kvm", "R_kvm", "unknown")]


def test_an_rtl_defect_fails_the_softcore_run_on_the_hardware_check():
    report = run_test("nmi_seamret", 1, quiet=True, mode="softcore", bugs=["seamret_always_restore"])
    failed = [r for r in report["runs"] if not r["ok"]]
    assert failed and all("seamret" in r["failure"] or "B5" in r["failure"] for r in failed), [r["failure"] for r in failed]


# Softcore mode samples every cycle (trace.wake unread); every other defect, the host-state unit's
# included, is in the SoC's design.
NOT_ON_THE_SOC = set(TRACE_BUGS)


@pytest.mark.parametrize("bug", sorted(set(BUGS) - NOT_ON_THE_SOC))
def test_every_rtl_defect_fails_the_hardware_check_in_softcore_mode(bug):
    """The firmware drives the design; the reference, fed the inputs the CPU drove, names the first
    wrong transaction or state, or an invariant names the broken rule (before any software check)."""
    report = run_test("library", 1, quiet=True, mode="softcore", bugs=[bug])
    failed = [r for r in report["runs"] if not r["ok"]]
    assert failed, f"{bug}: every softcore run passed"
    hardware_words = ("txn #", "state #", "regs #", "invariant broken", "the rtl never produced", "the rtl produced unpredicted")
    hardware = [r for r in failed if any(word in r["failure"] for word in hardware_words)]
    assert hardware, (bug, [r["failure"] for r in failed][:3])


# Deliberately broken firmware (issue 14's three, and two of KVM's host-state restores), each with a
# row its software check must fail and a row that stays clean (the defect does not matter there).
FIRMWARE_DEFECTS = {
    # swallow_nmi never armed: the fixed module's back-to-back NMI becomes an unknown NMI.
    "swallow_never_armed": (("if (handled > 1) swallow_nmi = 1;", ""),
                            "nmi_seamret[fixed/noinstr/idt]", "nmi_seamret[legacy/noinstr/idt]"),
    # The back-to-back test compares the interrupted PC with the wrong one (an instruction off).
    "b2b_compares_wrong_pc": (("int b2b = rip == last_nmi_rip;", "int b2b = rip == last_nmi_rip + 4;"),
                              "nmi_seamret[fixed/noinstr/idt]", "nmi_seamret[legacy/noinstr/idt]"),
    # KVM's manual pass moved after the instrumentable code: under noinstr the fault's IRET now
    # unblocks NMIs before the pass runs.
    "pass_after_fault_window": (("            kvm_manual_nmi(exit >> 16);\n            instrumentable_point();",
                                 "            instrumentable_point();\n            kvm_manual_nmi(exit >> 16);"),
                                "nmi_seamret[fixed/noinstr/idt +fault]", "nmi_seamret[fixed/noinstr/idt]"),
    # KVM never arms its user-return notifier: STAR, LSTAR, FMASK and TSC_AUX stay the module's in user
    # space (the bug hs_uret_cache_forgotten models by switching the step off, which the patch leaves alone).
    "uret_notifier_never_armed": (("        uret_registered = 1;\n", ""), "hs_merged", "hs_uret_cache_forgotten"),
    # update_debugctlmsr() skipped: a host DEBUGCTL beyond bits 1/12/14 stays cleared.
    "debugctl_never_restored": (("restore(HR_DEBUGCTL); /* update_debugctlmsr() */", "; /* skipped */"),
                                "hs_merged", "hs_debugctl_preserved_bits"),
}


@pytest.mark.parametrize("defect", sorted(FIRMWARE_DEFECTS))
def test_a_firmware_defect_fails_on_the_software_check(defect):
    patch, broken_row, clean_row = FIRMWARE_DEFECTS[defect]
    broken = build_firmware(quiet=True, patch=patch)
    if broken_row.startswith("hs_"):
        files = [str(SCENARIO_DIR / f"{name}.yaml") for name in (broken_row, clean_row)]
        report = run_test("scenario", 1, quiet=True, mode="softcore", firmware=broken, scenario_files=files)
    else:
        report = run_test("nmi_seamret", 1, quiet=True, mode="softcore", firmware=broken)
    row = rows(report)[broken_row]
    assert not row["ok"] and "differs from the model's software" in row["failure"], row["failure"]
    assert rows(report)[clean_row]["ok"], rows(report)[clean_row]["failure"]


def test_a_firmware_patch_that_does_not_apply_is_refused():
    with pytest.raises(FirmwareError, match="exactly once"):
        build_firmware(quiet=True, patch=("no such text", ""))


def test_scenarios_the_softcore_cannot_run_yet_say_why():
    fault = Scenario("f", Config(), [("enter", None), ("until", "guest"), ("fault", None)], "")
    with pytest.raises(NotApplicable, match="fault"):
        softcore_case(fault)
    assert softcore_case(Scenario("n", Config(), [("nmi", 3)], "")).entries == 0  # the firmware idles instead


def test_a_host_state_case_carries_what_the_host_knows_and_what_the_td_writes():
    from py_model.host_state import ADDRESS, DEFAULT_GUEST

    case = softcore_case(load_scenario(SCENARIO_DIR / "hs_first_posting.yaml"))
    assert case.sw_cfg & abi.CFG_BITS["CFG_HOST_STATE"] and len(case.hs_table) == abi.HS_TABLE_WORDS
    flags = case.hs_table[0]
    assert not flags & abi.HS_FLAGS["HS_DEBUGCTL"] and flags & abi.HS_FLAGS["HS_TD_WAITPKG"]  # first posting
    debugctl = abi.HS_TABLE["HS_HOST"] + 2 * ADDRESS["DEBUGCTL"]
    assert case.hs_table[debugctl:debugctl + 2] == [0x4003, 0]
    # The TD writes UMWAIT_CONTROL (it has WAITPKG), not TSX_CTRL (no TSX).
    assert (ADDRESS["UMWAIT_CONTROL"], DEFAULT_GUEST["UMWAIT_CONTROL"]) in case.guest_writes
    assert ADDRESS["TSX_CTRL"] not in [addr for addr, _ in case.guest_writes]
    # A TD KVM refuses never runs: the environment has nothing to play.
    assert softcore_case(load_scenario(SCENARIO_DIR / "hs_refused_waitpkg.yaml")).steps == []


def test_the_td_writes_its_registers_in_each_guest_phase_one_per_cycle():
    from py_model.hardware import GUEST, HOST

    case = softcore_case(load_scenario(SCENARIO_DIR / "hs_merged.yaml"))
    env = EnvPlayer(case)
    phases = [HOST] + [GUEST] * 3 + [HOST] + [GUEST] * 2
    writes = [(d["env__reg__we"], d["env__reg__addr"]) for d in (env.cycle(p) for p in phases)]
    first, second = case.guest_writes[0][0], case.guest_writes[1][0]
    third = case.guest_writes[2][0]
    assert writes == [(0, 0), (1, first), (1, second), (1, third), (0, 0), (1, first), (1, second)]


def test_the_environment_places_nmis_and_exits_by_phase():
    from py_model.hardware import EXIT, GUEST, HOST

    case = softcore_case(Scenario("s", Config(), [("enter", None), ("until", "guest"), ("nmi", 3),
                                                  ("until", "seam_root"), ("nmi", 5), ("exit", "tdvmcall")], ""))
    env = EnvPlayer(case)
    driven = [env.cycle(phase) for phase in (HOST, GUEST, EXIT, EXIT, HOST)]
    assert [(d["env__nmi"], d["env__nmi_vector"], d["env__exit_req"]) for d in driven] == [
        (0, 0, 0), (1, 3, 0), (1, 5, 0), (0, 0, 1), (0, 0, 0)]


def test_the_firmware_log_is_decoded_and_a_damaged_one_refused():
    tag = lambda kind: abi.LOG_TAG | abi.LOG_KINDS[kind] << 8 | len(abi.LOG_FIELDS[kind])
    words = [tag("LOG_MARKS"), 0x100, 0x200, tag("LOG_COUNTS"), 2, 1, 0, 0, 3]
    assert abi.decode_log(words) == [("LOG_MARKS", {"r_seam": 0x100, "r_kvm": 0x200}),
                                     ("LOG_COUNTS", {"normal": 2, "unknown": 1, "swallow": 0, "external": 0,
                                                     "passes": 3})]
    with pytest.raises(ValueError, match="not a record tag"):
        abi.decode_log([0x12345678])
    with pytest.raises(ValueError, match="cut short"):
        abi.decode_log(words[:5])


def test_every_library_scenario_runs_on_the_firmware():
    """Every library scenario runs as firmware and passes (handler-phase waits, scenarios without a TD
    entry and the host-state ones included)."""
    report = run_test("library", 1, quiet=True, mode="softcore")
    assert report["error"] is None, report["error"]
    assert all(r["ok"] for r in report["runs"]), [r["failure"] for r in report["runs"] if not r["ok"]]
    assert not report["not_applicable"] and len(report["runs"]) == len(TESTS["library"].scenarios(1))
    # SPEC §7 on the CPU: the first posting leaves exactly DEBUGCTL and UMWAIT_CONTROL wrong; the
    # merged code refuses a WAITPKG TD; the forgotten user-return cache leaves the four slots wrong.
    hs = {name: rows(report)[name]["firmware"]["host_state"] for name in
          ("hs_first_posting", "hs_refused_waitpkg", "hs_uret_cache_forgotten", "hs_merged")}
    assert hs["hs_first_posting"]["differs"] == ["DEBUGCTL", "UMWAIT_CONTROL"] and not hs["hs_merged"]["differs"]
    assert hs["hs_refused_waitpkg"]["refused"] and hs["hs_refused_waitpkg"]["writes"] == 21  # the host's values only
    assert hs["hs_uret_cache_forgotten"]["differs"] == ["STAR", "LSTAR", "FMASK", "TSC_AUX"]
    no_entry = rows(report)["a1_host_nmi_no_td"]  # the firmware idles at r_idle until the environment is done
    assert no_entry["ok"] and no_entry["firmware"]["passes"] and not no_entry["timed"]


def test_an_arrival_at_or_after_the_models_poll_in_a_handler_is_flagged_timed():
    """`until: handler` places an NMI relative to the pass's start; the model polls ``poll`` cycles in,
    the firmware where its code polls, so an arrival ``poll`` or more cycles in is placed by time."""
    from py_model.hardware import HOST

    steps = [("nmi", 3), ("until", "handler"), ("nmi", 4), ("nmi", 5)]
    early = EnvPlayer(softcore_case(Scenario("e", Config(poll=4), steps, "")))
    late = EnvPlayer(softcore_case(Scenario("l", Config(poll=1), steps, "")))
    for env in (early, late):
        env.cycle(HOST)
        for _ in range(3):
            env.cycle(HOST, in_handler=True)
    assert not early.timed and late.timed


def test_an_nmi_placed_by_time_into_the_hosts_run_is_flagged_timed():
    """After a wait, an arrival in VMX root lands where the firmware's own timing puts it: the run is
    flagged (its software is not held to the model's timing), never silently compared or dropped."""
    from py_model.hardware import EXIT, HOST

    steps = [("enter", None), ("until", "seam_root"), ("wait", 1), ("nmi", 8)]
    in_seam = EnvPlayer(softcore_case(Scenario("s", Config(), steps, "")))
    for phase in (EXIT, EXIT, EXIT):
        in_seam.cycle(phase)
    assert not in_seam.timed  # the host cannot run in SEAM root: the phase alone places it
    in_host = EnvPlayer(softcore_case(Scenario("h", Config(), steps, "")))
    for phase in (EXIT, HOST, HOST):
        in_host.cycle(phase)
    assert in_host.timed
    # Two NMIs placed in SEAM root, the second spilling over into VMX root: placed by time too.
    spill = EnvPlayer(softcore_case(Scenario("p", Config(), [("enter", None), ("until", "seam_root"), ("nmi", 3),
                                                             ("nmi", 5)], "")))
    spill.cycle(EXIT)
    assert not spill.timed
    spill.cycle(HOST)
    assert spill.timed
