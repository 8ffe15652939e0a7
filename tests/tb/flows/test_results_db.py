"""Results that accumulate: two regressions of one design merge their coverage and test status (the
second a subset: nothing it did not run is reported "not run" again); a changed design starts a new
store and says so; one coverage figure everywhere; RERUN=failed runs exactly the last failures."""

from __future__ import annotations

import json

import pytest

from py_model.command import CommandError
from tb.flows import regress
from tb.reports import coverage, results_db


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setattr(results_db, "STORE", tmp_path / "results")
    monkeypatch.setattr(results_db, "HISTORY", tmp_path / "results" / "history.jsonl")
    monkeypatch.setattr(results_db, "design_key", lambda: "rtl1-model1")
    return tmp_path


def hits_with(item: str, bin_: str, n: int = 1) -> dict:
    hits = {name: {b: 0 for b in bins} for name, bins in results_db.current_hits().items()}
    hits[item][bin_] = n
    return hits


def test_two_regressions_merge_and_the_figure_is_one(store):
    first = hits_with("top.corner", json.dumps("drop_in_host"))
    merged, started = results_db.merge(first, {"nmi_seamret": True, "random": True}, {"when": "day 1"})
    assert started and "a new database" in started
    second = hits_with("top.corner", json.dumps("nmi_at_iret_edge"))
    merged, started = results_db.merge(second, {"random": False}, {"when": "day 2"})  # a subset
    assert started is None
    s = coverage.summary(merged)
    assert s["top.corner"]["hit"] == 2 and s["total"]["hit"] == 2
    assert coverage.figure(s) in coverage.report_text(s)
    status = results_db.test_status()
    assert status["nmi_seamret"]["ok"] is True and status["random"] == {"ok": False, "when": "day 2"}
    assert [h["when"] for h in results_db.history()] == ["day 1", "day 2"]


def test_the_merged_coverage_as_ucis_xml_reads_back_with_the_same_figure(store, tmp_path):
    from tb.reports import ucis_export

    results_db.merge(hits_with("top.corner", json.dumps("drop_in_host"), 3), {}, {"when": "d1"})
    merged, _ = results_db.merge(hits_with("top.zero_step", json.dumps("started_by_interrupt")), {}, {"when": "d2"})
    path = ucis_export.export(merged, tmp_path / "coverage.ucis.xml")
    s = coverage.summary(merged)
    assert ucis_export.read_back(path) == {item: (s[item]["hit"], s[item]["bins"]) for item in coverage.ITEMS}


def test_a_changed_design_starts_a_new_store_and_says_so(store, monkeypatch):
    results_db.merge(hits_with("top.corner", json.dumps("drop_in_host")), {"random": True}, {"when": "day 1"})
    monkeypatch.setattr(results_db, "design_key", lambda: "rtl2-model1")
    merged, started = results_db.merge(hits_with("top.corner", json.dumps("nmi_at_iret_edge")), {}, {"when": "d2"})
    assert "a new database" in started and "rtl1-model1" in started
    assert coverage.summary(merged)["top.corner"]["hit"] == 1  # nothing carried over from the old design


def test_a_damaged_store_is_one_line_naming_the_file(store):
    folder = results_db.folder()
    folder.mkdir(parents=True)
    (folder / "coverage.json").write_text("{not json")
    with pytest.raises(CommandError, match="coverage.json is damaged"):
        results_db.merged_hits()


def test_the_plan_reads_every_regression_of_the_design(store, capsys):
    results_db.merge(hits_with("top.corner", json.dumps("drop_in_host")), {"nmi_seamret": True}, {"when": "d1"})
    results_db.merge(hits_with("top.corner", json.dumps("drop_in_host")), {"random": True}, {"when": "d2"})
    regress.print_plan()
    out = capsys.readouterr().out
    spec6 = next(line for line in out.splitlines() if line.startswith("spec6_race"))
    assert "PASS" in spec6, out


def test_rerun_failed_runs_exactly_the_last_failures(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(regress, "OUT", tmp_path)
    (tmp_path / "latest.json").write_text(json.dumps({"failed_jobs": [{"test": "random", "seed": 7},
                                                                      {"test": "library", "seed": 1}]}))
    ran = {}
    monkeypatch.setattr(regress, "run_on", lambda jobs, seeds, parallel, cluster: ran.setdefault("jobs", jobs) and 0)
    assert regress.rerun_failed(2, None) == 0
    assert [(j.test, j.seed) for j in ran["jobs"]] == [("random", 7), ("library", 1)]
    (tmp_path / "latest.json").write_text(json.dumps({"failed_jobs": []}))
    assert regress.rerun_failed(2, None) == 0 and "nothing to run" in capsys.readouterr().out
    (tmp_path / "latest.json").write_text(json.dumps({"tests": {}}))  # from before RERUN existed
    assert regress.rerun_failed(2, None) == 2 and "names no failed jobs" in capsys.readouterr().err
    (tmp_path / "latest.json").unlink()
    assert regress.rerun_failed(2, None) == 2
