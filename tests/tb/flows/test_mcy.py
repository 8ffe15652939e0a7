"""`make mcy` pieces: source lines, waivers, the mutant list's reproducibility, the formal stage,
the equivalence stage's undecided outcome (a check stopped by its time limit) and the report.
The whole flow (mutants, one Verilator build, campaign, equivalence) runs in CI as `make mcy N=30`."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tb.flows import mcy, mcy_stages
from tb.flows.mcy_netlist import PREP, Netlist, list_mutations, read_netlist, source_of, yosys
from tb.flows.mcy_report import report
from tb.flows.mcy_stages import EQ_DEPTH, EQ_RETRY_TIMEOUT_S, EQ_TIMEOUT_S, UNDECIDED, check_equivalence
from tb.flows.mcy_waivers import WAIVERS, waiver


def test_mutations_are_reproducible_from_their_seed(tmp_path):
    first = list_mutations(tmp_path, 12, 1)
    assert len(first) == 12 and first == list_mutations(tmp_path, 12, 1)
    assert first != list_mutations(tmp_path, 12, 2)
    assert all(m.startswith("mutate -mode ") and "-module nmi_top" in m for m in first)
    assert any(source_of(m).startswith("rtl/") for m in first)


# Each waiver of the table, with a mutation it waives and a near one it must not (the same signal
# forced the other way, or another bit): a waiver too broad or too narrow fails here.
EMPTY = Netlist()
AT_HOST = "mutate -mode const1 -module nmi_top -cell $flatten\\seq.$33 -port Y -portbit 0 -wire at_host -wirebit 0"
SAVED = "mutate -mode const0 -module nmi_top -cell $flatten\\seq.$74 -port Q -portbit 0 -wire saved_blocked -wirebit 0"
DEBUGCTL = ("mutate -mode const0 -module nmi_top -cell $flatten\\hs.$110 -port Q -portbit {0} "
            "-wire hs.debugctl_at_seamcall -wirebit {0}")
CYCLE = "mutate -mode const0 -module nmi_top -cell $54 -port A -portbit {0} -wire trace__cycle -wirebit {0} -src x"
WAIVED = {  # waiver name: (waived, not waived, a fragment of its reason)
    "at_host_forced_one": (AT_HOST, AT_HOST.replace("const1", "const0"), "B1"),
    "enters_unblocked": (SAVED, SAVED.replace("const0", "const1"), "B4"),
    "debugctl_bits_never_read": (DEBUGCTL.format(29), DEBUGCTL.format(12), "bits 1, 12 and 14"),
    "cycle_bit_beyond_the_run_bound": (CYCLE.format(21), CYCLE.format(5), "beyond the run bound"),
}


@pytest.mark.parametrize("name", sorted(WAIVED))
def test_a_waiver_waives_what_it_says_and_no_more(name):
    waived, kept, reason = WAIVED[name]
    assert reason in waiver(waived, EMPTY) and waiver(kept, EMPTY) is None
    rule = next(w for w in WAIVERS if w.name == name)
    from tb.flows.mcy_waivers import Mutation

    assert rule.applies(Mutation.read(waived, EMPTY)) and not rule.applies(Mutation.read(kept, EMPTY))


def test_every_waiver_is_tested():
    """The four above, and the two that need the netlist's facts (tests below), are the whole table."""
    assert {w.name for w in WAIVERS} == set(WAIVED) | {"reset_value_of_an_event_output", "host_never_at_delivery",
                                                       "nmi_seen_read_only_while_stepping",
                                                       "td_exit_request_never_an_nmi",
                                                       "pushed_back_interrupt_never_starts_stepping"}


def test_a_mutant_with_no_known_reason_is_not_waived():
    assert waiver("mutate -mode inv -module nmi_top -cell $flatten\\nmi.$62 -port Q -portbit 7 -wire bitmap", EMPTY) is None


def test_a_mutated_and_input_is_waived_by_the_signal_it_carries(tmp_path):
    """A constant on the at_host input of the delivery AND (no -wire in the mutation) is the at_host
    rule; the same constant on its latch input is not waived."""
    list_mutations(tmp_path, 1, 1)  # writes the design's RTLIL
    netlist = read_netlist(tmp_path)
    cell = next(c for c, ports in netlist.and_inputs.items() if ports.get("A", "").endswith("seam__at_host")
                and ports.get("B", "").endswith(".latch"))
    mutation = f"mutate -mode const1 -module nmi_top -cell {cell} -port A -portbit 0"
    assert "B1" in waiver(mutation, netlist)
    assert waiver(mutation.replace("-port A", "-port B"), netlist) is None


def test_formal_stage_holds_on_the_original_and_names_the_property_a_mutant_breaks(tmp_path):
    """The property set over a netlist's ports: the original holds to the depth, a mutant that
    raises the exit event without its reason breaks the NMI-exit qualification property."""
    from tb.flows.mcy_stages import FORMAL_DEPTH, formal_check

    list_mutations(tmp_path, 1, 1)  # writes the design's RTLIL (top.il)
    assert formal_check(tmp_path, 0, None)["formal"] == f"holds to {FORMAL_DEPTH}"
    dump = subprocess.run([yosys(), "-p", f"{PREP}; dump t:$dff t:$sdff"], cwd=tmp_path, capture_output=True,
                          text=True).stdout
    cell, = re.findall(r"cell \$s?dff (\S+)\n(?:\s+(?:parameter|connect \\(?!Q)).*\n)*\s+connect \\Q \\ev__exit\n", dump)
    stuck_exit = f"mutate -mode const1 -module nmi_top -cell {cell} -port Q -portbit 0 -wire ev__exit -wirebit 0"
    got = formal_check(tmp_path, 1, stuck_exit)
    assert got["formal"] == "killed" and "exit_qual_reports_bitmap" in got["property"], got


def test_a_reset_select_is_waived_by_the_register_it_resets(tmp_path):
    """Reset never applied to the SEAMCALL-time blocking register changes nothing a legal host sees
    (it only ever holds 0); reset always applied is observable."""
    list_mutations(tmp_path, 1, 1)
    netlist = read_netlist(tmp_path)
    cell = next(c for c, ports in netlist.muxes.items() if ports.get("S") == "\\rst"
                and netlist.held_register(c) == "seq.saved_blocked")
    mutation = f"mutate -mode const0 -module nmi_top -cell {cell} -port S -portbit 0"
    assert "B4" in waiver(mutation, netlist)
    assert waiver(mutation.replace("const0", "const1"), netlist) is None


def test_writes_of_nmi_seen_outside_stepping_are_waived_and_the_kept_value_is_not(tmp_path):
    """The two survivors of make mcy N=300 on nmi_seen (its reset skipped; its clear at an MTF end
    made a set): waived; the same clear's select forced to 1 (a clear inside stepping) or its kept
    value forced to 1 are seen, not waived."""
    list_mutations(tmp_path, 1, 1)
    netlist = read_netlist(tmp_path)
    reset = next(c for c, p in netlist.muxes.items()
                 if p.get("S") == "\\rst" and netlist.held_register(c) == "seq.nmi_seen")
    clear = next(c for c, p in netlist.muxes.items() if p.get("A") == "\\seq.nmi_seen" and p.get("B") == "1'0")
    def mutation(mode, cell, port):
        return f"mutate -mode {mode} -module nmi_top -cell {cell} -port {port} -portbit 0"

    assert "every entry into stepping loads it" in waiver(mutation("const0", reset, "S"), netlist)
    assert waiver(mutation("const1", reset, "S"), netlist) is None
    assert "never read" in waiver(mutation("const1", clear, "B"), netlist)
    assert waiver(mutation("const1", clear, "S"), netlist) is None
    assert waiver(mutation("const1", clear, "A"), netlist) is None


def test_last_exit_nmi_forced_to_zero_at_the_tds_exit_request_is_waived_and_forced_to_one_is_not(tmp_path):
    list_mutations(tmp_path, 1, 1)
    netlist = read_netlist(tmp_path)
    cell = next(c for c, p in netlist.muxes.items() if p.get("S") == "\\stim__exit_req"
                and p.get("A") == "\\seq.last_exit_nmi")
    assert "harness.py" in waiver(f"mutate -mode const0 -module nmi_top -cell {cell} -port Y -portbit 0", netlist)
    assert waiver(f"mutate -mode const1 -module nmi_top -cell {cell} -port Y -portbit 0", netlist) is None
    assert waiver(f"mutate -mode const0 -module nmi_top -cell {cell} -port S -portbit 0", netlist) is None


def test_the_reset_value_of_an_event_output_is_waived_and_its_select_is_not(tmp_path):
    list_mutations(tmp_path, 1, 1)
    netlist = read_netlist(tmp_path)
    cell = sorted(netlist.reset_muxes)[0]
    assert "while reset is asserted" in waiver(f"mutate -mode const1 -module nmi_top -cell {cell} -port B -portbit 0",
                                                 netlist)
    assert waiver(f"mutate -mode inv -module nmi_top -cell {cell} -port A -portbit 0", netlist) is None


def test_a_gating_term_forced_to_what_a_legal_host_makes_it_is_waived(tmp_path):
    """The IRET gate (rtl/top.py's iret_taken): forced to 1 it changes nothing a legal host does."""
    from tb import ROOT
    from tb.flows.mcy_waivers import _line

    line = _line("rtl/top.py", "iret_taken = ")  # as a cell's src attribute names it: the file's path, its line
    mutation = f"mutate -mode const1 -module nmi_top -cell $x -port Y -portbit 0 -src {ROOT}/{line}"
    assert "every term gating IRET and SEAMCALL" in waiver(mutation, EMPTY)
    assert waiver(mutation.replace("const1", "inv"), EMPTY) is None


# The equivalence check's three tool runs, each given as the script it reads: a return code and a
# log, or STOPPED (the run passed its time limit).
STOPPED = "stopped"
PASS, FAIL = (0, "", "SBY DONE (PASS, rc=0)"), (2, "", "SBY DONE (FAIL, rc=2)")
NOT_PROVED, MITER = (1, "", "ERROR: Found 1 unproven $equiv cells"), (0, "", "")


def fake_tools(monkeypatch, runs: dict) -> list:
    calls = []

    def tool(args, cwd, limit, env=None):
        calls.append((args[-1], limit))
        if runs[args[-1]] == STOPPED:
            raise subprocess.TimeoutExpired(args, limit)
        return subprocess.CompletedProcess(args, *runs[args[-1]])

    monkeypatch.setattr(mcy_stages, "_tool", tool)
    return calls


@pytest.mark.parametrize("runs, verdict, stopped", [
    ({"equiv.ys": NOT_PROVED, "miter.ys": MITER, "eq.sby": STOPPED}, UNDECIDED, f"the BMC to {EQ_DEPTH} cycles"),
    ({"equiv.ys": NOT_PROVED, "miter.ys": STOPPED}, UNDECIDED, "building the miter"),
    # equiv_induct stopped and the BMC clean: proved or only bounded would depend on the load
    ({"equiv.ys": STOPPED, "miter.ys": MITER, "eq.sby": PASS}, UNDECIDED, "equiv_induct"),
    ({"equiv.ys": STOPPED, "miter.ys": MITER, "eq.sby": FAIL}, "different", None),  # a counterexample is a verdict
    ({"equiv.ys": NOT_PROVED, "miter.ys": MITER, "eq.sby": PASS}, f"equivalent (bounded {EQ_DEPTH})", None),
])
def test_a_check_stopped_by_its_time_limit_is_undecided_never_equivalent(monkeypatch, tmp_path, runs, verdict, stopped):
    (tmp_path / "top.il").write_text("")
    calls = fake_tools(monkeypatch, runs)
    got = check_equivalence(tmp_path, 1, "mutate -mode inv -module nmi_top -cell $x -port Y -portbit 0", limit=7)
    assert got["equivalence"] == verdict, got
    assert got.get("stopped", "").startswith(stopped) if stopped else "stopped" not in got
    assert {limit for _, limit in calls} == {7}  # the limit given is each tool run's


def test_an_undecided_mutant_is_retried_alone_with_the_longer_limit_then_reported_undecided(monkeypatch, tmp_path):
    """The parallel pass with EQ_TIMEOUT_S, then each undecided mutant once more, serially, with
    EQ_RETRY_TIMEOUT_S; what the retry decides stands, what it does not stays undecided (never
    equivalent) and is checked again by the next run."""
    mutations = [f"m{i}" for i in range(1, 6)]
    db = {m: {"source": "rtl/top.py:1", "outcome": "not killed"} for m in mutations}
    db["m4"]["equivalence"] = "timeout"  # an older database's stopped check: checked again
    db["m5"]["equivalence"] = "different"  # decided earlier: it stands
    first = {1: UNDECIDED, 2: "equivalent", 3: "different", 4: UNDECIDED}
    retry = {1: UNDECIDED, 4: f"equivalent (bounded {EQ_DEPTH})"}
    calls = []

    def check(folder, index, mutation, limit=EQ_TIMEOUT_S):
        calls.append((index, limit))
        verdict = (first if limit == EQ_TIMEOUT_S else retry)[index]
        return {"equivalence": verdict, **({"stopped": "the BMC", "limit_s": limit} if verdict == UNDECIDED else {})}

    monkeypatch.setattr(mcy, "check_equivalence", check)
    mcy.check_survivors(tmp_path, mutations, db, 2, lambda: None)
    assert sorted(calls[:4]) == [(i, EQ_TIMEOUT_S) for i in (1, 2, 3, 4)]
    assert calls[4:] == [(1, EQ_RETRY_TIMEOUT_S), (4, EQ_RETRY_TIMEOUT_S)]
    assert [db[m]["outcome"] for m in mutations] == [UNDECIDED, "equivalent", "survived",
                                                     f"equivalent (bounded {EQ_DEPTH})", "survived"]
    assert db["m1"]["retried"] and db["m1"]["limit_s"] == EQ_RETRY_TIMEOUT_S and "retried" not in db["m2"]
    assert "stopped" not in db["m4"]  # nothing of the stopped first check is left beside the verdict
    assert mcy._open(db["m1"]) and not mcy._decided(db["m1"])  # every stage, and the check, see it again


def test_an_undecided_mutant_counts_against_the_kill_ratio_and_is_reported_on_its_own(tmp_path, capsys):
    """19 killed, 1 equivalent, 1 undecided: 19/20 (as an equivalent one it would be 19/19), listed
    under UNDECIDED with its own count, OPEN without a waiver (exit 1), and in summary.json."""
    open_one = "mutate -mode inv -module nmi_top -cell $flatten\\nmi.$62 -port Q -portbit 7 -wire bitmap"
    db = {f"k{i}": {"source": "rtl/top.py:1", "outcome": "killed by nmi_seamret"} for i in range(19)}
    db["e"] = {"source": "rtl/top.py:2", "outcome": "equivalent", "equivalence": "equivalent"}
    db[open_one] = {"source": "rtl/top.py:3", "outcome": UNDECIDED, "equivalence": UNDECIDED,
                    "stopped": f"the BMC to {EQ_DEPTH} cycles", "limit_s": EQ_RETRY_TIMEOUT_S, "retried": True}
    assert report(list(db), db, tmp_path, 1.0, EMPTY) == 1
    out = capsys.readouterr().out
    assert "1 equivalent (1 proved" in out and "0 survived, 1 undecided, 0 errors" in out
    assert f"UNDECIDED rtl/top.py:3: {open_one}" in out and "SURVIVED" not in out
    assert f"did not finish within {EQ_RETRY_TIMEOUT_S} s (its retry, alone)" in out and "OPEN" in out
    assert "19/20 = 95.0%" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["undecided"] == 1 and summary["undecided_mutants"] == [open_one]
    assert summary["equivalent"] == 1 and summary["survived"] == 0
    assert summary["kill_ratio"] == {"killed": 19, "of": 20, "ratio": 0.95}


def test_a_tool_run_past_its_limit_is_stopped_with_every_process_it_started(tmp_path):
    """SymbiYosys starts smtbmc, smtbmc starts Yices: a stopped check must not leave a solver running
    to load the machine (and stop the next checks)."""
    start_child = ("import subprocess, sys, time; child = subprocess.Popen([sys.executable, '-c', "
                   "'import time; time.sleep(60)']); open('child', 'w').write(str(child.pid)); time.sleep(60)")
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        mcy_stages._tool([sys.executable, "-c", start_child], tmp_path, 3)
    assert time.monotonic() - start < 30  # not held until the child ends on its own
    child = int((tmp_path / "child").read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """Running, or stopped: not gone and not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


def test_the_pushed_back_interrupt_forced_out_of_what_starts_stepping_is_waived_and_nothing_near_it_is(tmp_path):
    """The OR of rtl/seam_sequencer.py's ``starts``: its intr_pending input tied to 0 is equivalent (an
    undecided mutant of make mcy N=300); tied to 1, or the NMI exit's input tied to 0, is observable."""
    from tb import ROOT
    from tb.flows.mcy_waivers import _line

    list_mutations(tmp_path, 1, 1)
    netlist = read_netlist(tmp_path)
    cell = next(c for c, p in netlist.or_inputs.items() if p.get("B") == "\\seq.intr_pending")
    src = f"-src {ROOT}/{_line('rtl/seam_sequencer.py', 'starts = link.nmi_exit | self.intr_pending')}"
    mutation = f"mutate -mode const0 -module nmi_top -cell {cell} -port B -portbit 0 {src}"
    assert "no_step" in waiver(mutation, netlist)
    assert waiver(mutation.replace("const0", "const1"), netlist) is None
    assert waiver(mutation.replace("-port B", "-port A"), netlist) is None
    assert waiver(f"mutate -mode const0 -module nmi_top -cell {cell} -port B -portbit 0", netlist) is None  # no source


def test_the_report_counts_a_mutant_left_unchecked_as_not_killed_and_one_never_classified_as_an_error(tmp_path, capsys):
    from tb.flows.mcy_netlist import Netlist
    from tb.flows.mcy_report import report

    mutations = [f"mutate -mode const0 -module nmi_top -cell $x{i} -port Y -portbit 0" for i in range(4)]
    db = {mutations[0]: {"source": "a", "outcome": "killed by formal: p"},
          mutations[1]: {"source": "b", "outcome": "killed by library"},
          mutations[2]: {"source": "c", "outcome": "not killed"}}  # interrupted before its equivalence check
    assert report(mutations, db, tmp_path, 1.0, Netlist()) == 1
    out = capsys.readouterr().out
    assert "1 undecided, 1 errors" in out and "its equivalence check has not run" in out
    assert "kill ratio over non-equivalent mutants: 2/4 = 50.0%" in out
