"""The picture of a failure: the reference's run above the RTL's, one cycle axis, the first
difference marked; a regression draws one for every failing run of every failing job."""

from __future__ import annotations

import copy

from py_model import load_scenario, run_model
from tb import ROOT
from tb.flows.jobs import Job, JobResult
from tb.flows.regress import draw_failures
from tb.reports.timeline_svg import first_trace_difference, write_run_timelines

SCENARIO = ROOT / "tb" / "scenarios" / "spec6_fixed_noinstr_idt.yaml"


def failing_row():
    scenario = load_scenario(SCENARIO)
    outcome = run_model(scenario).to_json()
    broken = copy.deepcopy(outcome)
    seamret = next(t for t in broken["trace"] if t["kind"] == "seamret")
    seamret["blocked"] = 1 - seamret["blocked"]  # what seamret_always_restore does
    return scenario, {"scenario": scenario.name, "ok": False, "failure": "txn #6 differs", "outcome": broken}, seamret


def test_the_first_difference_is_marked_on_a_cycle_axis(tmp_path):
    scenario, row, seamret = failing_row()
    drawn = write_run_timelines({"runs": [row]}, {scenario.name: scenario}, tmp_path)
    picture = drawn[1].read_text()
    assert ">reference<" in picture and ">RTL<" in picture and ">cycle<" in picture
    assert f"first difference @{seamret['cycle']}" in picture
    assert first_trace_difference(run_model(scenario).to_json()["trace"], row["outcome"]["trace"]) == seamret["cycle"]


def test_a_passing_run_is_drawn_without_a_difference(tmp_path):
    scenario = load_scenario(SCENARIO)
    row = {"scenario": scenario.name, "ok": True, "failure": None, "outcome": run_model(scenario).to_json()}
    picture = write_run_timelines({"runs": [row]}, {scenario.name: scenario}, tmp_path)[1].read_text()
    assert "first difference" not in picture and "(PASS)" in picture


def test_a_regression_draws_every_failing_run(tmp_path):
    scenario, row, seamret = failing_row()
    row["scenario"] = "nmi_seamret[fixed/noinstr/idt]"  # as the catalog names it
    passing = {**row, "ok": True, "scenario": "nmi_seamret[legacy/noinstr/idt]"}
    result = JobResult(Job("nmi_seamret", 1), ok=False, seconds=1.0, message="1 run failed", runs=[passing, row])
    pictures = draw_failures([result], tmp_path)[id(result)]
    assert len(pictures) == 1 and pictures[0].parent == tmp_path / "nmi_seamret-seed1"
    assert "first difference @" in pictures[0].read_text()
