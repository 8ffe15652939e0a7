"""Softcore mode: the firmware (KVM's exit path, Linux's NMI handler) on VexRiscv against the RTL,
checked by the reference hardware cycle for cycle and by the model's software pass for pass."""

import pytest

from conftest import SCENARIO_DIR
from py_model import Config, Scenario, load_scenario
from rtl.bugs import BUGS
from rtl.soc import abi
from rtl.soc.firmware_defects import FIRMWARE_DEFECTS, firmware_patch
from tb.sim.firmware import FirmwareError, build_firmware
from tb.sim.verilator import run_test
from tb.stimulus.catalog import TESTS
from tb.stimulus.softcore import EnvPlayer, Handler, NotApplicable, softcore_case


def rows(report):
    return {r["scenario"]: r for r in report["runs"]}


def test_the_spec6_rows_run_as_firmware_and_end_as_the_spec_says():
    report = run_test("nmi_seamret", 1, quiet=True, mode="softcore")
    assert report["error"] is None and report["runs"], report.get("error")
    by_name = rows(report)
    assert all(r["ok"] for r in by_name.values()), [r["failure"] for r in by_name.values() if not r["ok"]]
    assert all(r["checks"] == {"hardware": "PASS", "software": "PASS", "model": "PASS", "expect": "PASS"}
               for r in by_name.values())
    legacy = by_name["nmi_seamret[legacy/noinstr/idt]"]["outcome"]
    # The inversion on real interrupts: X+1 lands at R_seam first and claims both; KVM's pass is unknown.
    assert [(p["via"], p["rip"], p["result"]) for p in legacy["passes"]] == [
        ("idt", "R_seam", "handled"), ("kvm", "R_kvm", "unknown")]
    assert legacy["counts"]["unknown"] == 1
    fixed = by_name["nmi_seamret[fixed/noinstr/idt]"]["outcome"]
    assert [(p["via"], p["rip"], p["result"]) for p in fixed["passes"]] == [
        ("kvm", "R_kvm", "handled"), ("idt", "R_kvm", "swallowed")] and fixed["counts"]["unknown"] == 0
    # Every row runs, none timed: SPEC §6's whole table on the firmware.
    assert len(report["runs"]) == len(TESTS["nmi_seamret"].scenarios(1)) == 14 and not report["not_applicable"]
    assert not any(r["timed"] for r in report["runs"])
    # +nested: NMIs 3 and 5 placed in KVM's second pass before its poll (`until: poll`) nest into it through FRED;
    # KVM's pass, back to back since it began, is swallowed once the nested pass has armed swallow.
    nested = by_name["nmi_seamret[legacy/noinstr/fred +nested]"]["outcome"]
    assert [(p["via"], p["rip"], p["claimed"], p["result"]) for p in nested["passes"]] == [
        ("fred", "R_seam", [3, 5], "handled"), ("kvm", "R_kvm", [], "unknown"), ("kvm", "R_kvm", [], "swallowed"),
        ("fred", "host:1", [3, 5], "handled"), ("fred", "host:1", [], "swallowed")]
    # The instrumentation fault as a real trap: under IDT its IRET lets X+1 in early, at the fault's RIP.
    late_fault = by_name["nmi_seamret[fixed/late/idt +fault]"]["outcome"]
    assert [(p["via"], p["rip"], p["result"]) for p in late_fault["passes"]] == [
        ("idt", "host:1", "handled"), ("kvm", "R_kvm", "unknown")]


def test_an_rtl_defect_fails_the_softcore_run_on_the_hardware_check():
    report = run_test("nmi_seamret", 1, quiet=True, mode="softcore", bugs=["seamret_always_restore"])
    failed = [r for r in report["runs"] if not r["ok"]]
    assert failed and all("seamret" in r["failure"] or "B5" in r["failure"] for r in failed), [r["failure"] for r in failed]


# Every defect is in the SoC's design, the host-state unit's included; the trace's own (trace.wake)
# too, since the event-driven softcore bench sleeps on the SoC's wake, which includes it.
@pytest.mark.parametrize("bug", sorted(BUGS))
def test_every_rtl_defect_fails_the_hardware_check_in_softcore_mode(bug):
    """The firmware drives the design; the reference, fed the inputs the CPU drove, names the first
    wrong transaction or state, or an invariant names the broken rule (before any software check)."""
    report = run_test("library", 1, quiet=True, mode="softcore", bugs=[bug])
    failed = [r for r in report["runs"] if not r["ok"]]
    assert failed, f"{bug}: every softcore run passed"
    hardware_words = ("txn #", "state #", "regs #", "invariant broken", "the rtl never produced",
                      "the rtl produced unpredicted")
    hardware = [r for r in failed if any(word in r["failure"] for word in hardware_words)]
    assert hardware, (bug, [r["failure"] for r in failed][:3])


# Every deliberate firmware defect (rtl/soc/firmware_defects.py), with a scenario it must fail, the
# check that must catch it (the software check: Linux's rules for the history the firmware had; the
# model: the model-alone run; for host state the scenario's expect), and a scenario that stays clean.
# "timing/..." files are the timing probes (make sim TEST=timing_probes MODE=softcore).
DEFECT_CASES = {
    "swallow_never_armed": ("nmi_seamret[fixed/noinstr/idt]", "software", "nmi_seamret[legacy/noinstr/idt]"),
    "b2b_compares_wrong_pc": ("nmi_seamret[fixed/noinstr/idt]", "software", "nmi_seamret[legacy/noinstr/idt]"),
    "pass_after_fault_window": ("nmi_seamret[fixed/noinstr/idt +fault]", "model", "nmi_seamret[fixed/noinstr/idt]"),
    "uret_notifier_never_armed": ("hs_merged", "model", "hs_uret_cache_forgotten"),
    "debugctl_never_restored": ("hs_merged", "model", "hs_debugctl_preserved_bits"),
    "no_rerun_after_latched": ("e1_idt_latched_rerun", "software", "e2_fred_nesting"),
    "kvm_pass_outside_guard": ("e1_idt_latched_rerun", "software", "e2_fred_nesting"),
    "swallow_without_b2b": ("e3_swallow_needs_back_to_back", "software", "e5_poll_before"),
    "non_atomic_decrement": ("timing/decrement_window_early", "software", "e2_fred_nesting"),
    "idle_never_touches": ("timing/idle_after_swallow_armed", "software", "e5_poll_before"),
    "pad_always_r_seam": ("c3_nmi_after_seamret_is_a_host_rip", "software", "spec6_legacy_noinstr_idt"),
}


def test_every_firmware_defect_has_a_case():
    assert set(DEFECT_CASES) == set(FIRMWARE_DEFECTS)


@pytest.mark.parametrize("defect", sorted(DEFECT_CASES))
def test_a_firmware_defect_fails_on_the_software_check(defect):
    broken_row, check, clean_row = DEFECT_CASES[defect]
    broken = build_firmware(quiet=True, patch=firmware_patch(defect))
    if broken_row.startswith("nmi_seamret["):
        report = run_test("nmi_seamret", 1, quiet=True, mode="softcore", firmware=broken)
    else:
        files = [str(SCENARIO_DIR / f"{name}.yaml") for name in (broken_row, clean_row)]
        report = run_test("scenario", 1, quiet=True, mode="softcore", firmware=broken, scenario_files=files)
    name = broken_row.split("/")[-1] if broken_row.startswith("timing/") else broken_row
    row = rows(report)[name]
    assert not row["ok"] and row["checks"][check] == "FAIL", (row["checks"], row["failure"])
    words = {"software": "software check: ", "model": "differs from the model's software"}[check]
    assert words in row["failure"], row["failure"]  # the first difference, printed
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
    def tag(kind):
        return abi.LOG_TAG | abi.LOG_KINDS[kind] << 8 | len(abi.LOG_FIELDS[kind])
    words = [tag("LOG_MARKS"), 0x100, 0x120, 0x200, 0x220, 0x300, 0x310, tag("LOG_COUNTS"), 2, 1, 0, 0, 3]
    assert abi.decode_log(words) == [("LOG_MARKS", {"r_seam": 0x100, "r_seam_end": 0x120, "r_kvm": 0x200,
                                                    "r_kvm_end": 0x220, "r_idle": 0x300, "r_idle_end": 0x310}),
                                     ("LOG_COUNTS", {"normal": 2, "unknown": 1, "swallow": 0, "external": 0,
                                                     "passes": 3})]
    with pytest.raises(ValueError, match="not a record tag"):
        abi.decode_log([0x12345678])
    with pytest.raises(ValueError, match="cut short"):
        abi.decode_log(words[:9])


def test_every_library_scenario_runs_on_the_firmware():
    """Every library scenario runs as firmware and passes (handler-phase waits, scenarios without a TD
    entry and the host-state ones included)."""
    report = run_test("library", 1, quiet=True, mode="softcore")
    assert report["error"] is None, report["error"]
    assert all(r["ok"] for r in report["runs"]), [r["failure"] for r in report["runs"] if not r["ok"]]
    assert not report["not_applicable"] and len(report["runs"]) == len(TESTS["library"].scenarios(1))
    # SPEC §7 on the CPU: the first posting leaves exactly DEBUGCTL and UMWAIT_CONTROL wrong; the
    # merged code refuses a WAITPKG TD; the forgotten user-return cache leaves the four slots wrong.
    hs = {name: rows(report)[name]["outcome"]["host_state"] for name in
          ("hs_first_posting", "hs_refused_waitpkg", "hs_uret_cache_forgotten", "hs_merged")}
    assert hs["hs_first_posting"]["differs"] == ["DEBUGCTL", "UMWAIT_CONTROL"] and not hs["hs_merged"]["differs"]
    assert hs["hs_refused_waitpkg"]["refused"] and hs["hs_refused_waitpkg"]["writes"] == 21  # the host's values only
    assert hs["hs_uret_cache_forgotten"]["differs"] == ["STAR", "LSTAR", "FMASK", "TSC_AUX"]
    no_entry = rows(report)["a1_host_nmi_no_td"]  # the firmware idles at r_idle until the environment is done
    assert no_entry["ok"] and no_entry["outcome"]["passes"] and not no_entry["timed"]
    # Every run had every check: none placed an NMI by time, so nothing is "not applicable".
    assert all(set(r["checks"].values()) == {"PASS"} for r in report["runs"]), [
        (r["scenario"], r["checks"]) for r in report["runs"] if set(r["checks"].values()) != {"PASS"}]


def test_inside_a_handler_only_the_poll_anchors_place_an_nmi():
    """`until: handler` says nothing about the pass's poll, so an arrival there is placed by time;
    `until: poll` places its first arrival before the poll (the next may be after it), `until: polled`
    its first after a poll made since the last NMI. The firmware's HANDLER register says which holds."""
    from py_model.hardware import HOST

    ahead, done = abi.POLL_STATES["POLL_AHEAD"], abi.POLL_STATES["POLL_DONE"]

    def play(steps, handler):
        env = EnvPlayer(softcore_case(Scenario("s", Config(), [("nmi", 3)] + steps, "")))
        env.cycle(HOST)
        for _ in range(4):
            env.cycle(HOST, handler)
        return env.timed

    assert play([("until", "handler"), ("nmi", 4)], Handler(True, ahead))
    assert not play([("until", "poll"), ("nmi", 4)], Handler(True, ahead))
    assert play([("until", "poll"), ("nmi", 4), ("nmi", 5)], Handler(True, ahead))
    assert not play([("until", "polled"), ("nmi", 4)], Handler(True, done, poll_index=1, polls=1))
    # `until: polled` waits for a poll after the last NMI: not the pass that polled before it.
    env = EnvPlayer(softcore_case(Scenario("w", Config(), [("nmi", 3), ("until", "polled"), ("nmi", 4),
                                                           ("until", "polled"), ("nmi", 5)], "")))
    assert env.cycle(HOST, Handler(False, polls=0))["env__nmi_vector"] == 3
    assert env.cycle(HOST, Handler(True, ahead, polls=0))["env__nmi"] == 0
    assert env.cycle(HOST, Handler(True, done, poll_index=1, polls=1))["env__nmi_vector"] == 4
    assert env.cycle(HOST, Handler(True, done, poll_index=1, polls=1))["env__nmi"] == 0  # the same poll
    assert env.cycle(HOST, Handler(True, done, poll_index=2, polls=2))["env__nmi_vector"] == 5
    assert not env.timed
    # An arrival the cycle after an anchored one, before any handler began, is placed as well.
    assert not play([("nmi", 0)], Handler(False))


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


def read_outcome(path) -> dict:
    """One reader for what OUT= writes in every mode: the verdict, the documented Outcome at the top
    level, the mode's own part under its name."""
    import json

    record = json.loads(path.read_text())
    for key in ("scenario", "config", "ok", "failure", "mode", "passes", "counts", "inversions", "lost"):
        assert key in record, (record.get("mode"), key)
    assert record["mode"] in record  # the mode's own sub-object
    for p in record["passes"]:
        assert {"via", "rip", "bitmap", "claimed", "result", "arrivals", "cycle"} <= set(p), p
    return record


def test_out_is_one_format_in_every_mode(tmp_path):
    """The same scenario's OUT from the model alone, interactive and program mode, the virtual board
    and the softcore: one reader, and the same Outcome (a phase-placed scenario: every mode agrees)."""
    import subprocess

    from conftest import ROOT

    scenario = SCENARIO_DIR / "spec6_legacy_noinstr_idt.yaml"
    how = {"model": ["model"], "interactive": ["scenario"], "program": ["scenario", "MODE=program"],
           "vboard": ["scenario", "TARGET=vboard"], "softcore": ["scenario", "MODE=softcore"]}
    records = {}
    for name, args in how.items():
        out = tmp_path / f"{name}.json"
        proc = subprocess.run(["make", "--no-print-directory", *args, f"FILE={scenario}", f"OUT={out}"], cwd=ROOT,
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, (name, proc.stdout[-2000:], proc.stderr[-2000:])
        records[name] = read_outcome(out)
    assert {r["mode"] for r in records.values()} == {"model", "interactive", "program", "softcore"}
    def same(r):
        return ([{k: p[k] for k in ("via", "rip", "bitmap", "claimed", "result", "arrivals")} for p in r["passes"]],
                r["counts"], r["inversions"], r["lost"])

    assert all(same(r) == same(records["model"]) for r in records.values()), {n: same(r) for n, r in records.items()}
    assert records["softcore"]["softcore"]["checks"] == {"hardware": "PASS", "software": "PASS", "model": "PASS",
                                                         "expect": "PASS"}
