"""Regression machinery: job planning, JUnit, summaries, the testplan, coverage closure, mutants."""

import json
import xml.etree.ElementTree as ET

import pytest
import yaml

from conftest import ROOT
from py_model import run_model
from tb.flows import regress
from tb.flows.jobs import Job, JobResult
from tb.flows.mutants import MODEL_MUTANTS, hunt, make_overlay
from tb.flows.regress import junit_xml, plan_jobs, summary_table
from tb.formal.harness import PROPERTIES
from tb.reports import coverage
from tb.stimulus.catalog import TESTS, random_host_state, random_scenarios


def test_plan_runs_seeded_tests_over_seeds_and_directed_once():
    jobs = plan_jobs(5, None)
    per_test = {name: sum(j.test == name for j in jobs) for name in TESTS}
    assert all(per_test[n] == (5 if t.seeded else 1) for n, t in TESTS.items())
    assert {j.test for j in plan_jobs(5, "^random$")} == {"random"}


def test_junit_and_summary_name_the_failing_seed_and_its_command():
    results = [JobResult(Job("random", 1), True, 1.0, ""), JobResult(Job("random", 2), False, 1.0, "boom <&>"),
               JobResult(Job("random", 3), False, 1.0, "bang")]
    root = ET.fromstring(junit_xml(results))
    assert root.get("tests") == "3" and root.get("errors") == "2"  # failed with no run to show: the job's error
    error = root.find("testsuite/testcase[@classname='tdx_nmi.random.seed2']/error")
    assert "boom <&>" in error.get("message") and "make sim TEST=random SEED=2" in error.text
    table = summary_table(results)
    row = table.splitlines()[1].split()
    assert row[:4] == ["random", "3", "2", "2"] and table.endswith("make sim TEST=random SEED=2")


def test_testplan_names_only_real_tests_properties_and_files():
    plan = yaml.safe_load((ROOT / "tb" / "testplan.yaml").read_text())
    for feature in plan["features"]:
        assert {"id", "goal", "stimulus", "check", "tests"} <= set(feature)
        for test in feature["tests"]:
            if test.startswith("formal:"):
                assert test[7:] in PROPERTIES, test
            elif test.startswith("pytest:"):
                assert (ROOT / test[7:]).exists(), test
            else:
                assert test in TESTS, test
        for item in feature.get("coverage", []):
            assert item.startswith(tuple(coverage.ITEMS)) or item in coverage.ITEMS, item


def test_coverage_model_closes_on_a_nightly_sized_stimulus():
    """Every bin not excluded is reachable: the model over the nightly's stimulus hits them all."""
    for seed in range(1, 21):
        for s in random_scenarios(seed) + random_host_state(seed):
            record = {"config": s.config.to_json(), "outcome": run_model(s).to_json(),
                      "host_state_config": s.host_state.to_json() if s.host_state else None}
            coverage.sample_run(record)
    for name in ("nmi_seamret", "library"):
        for s in TESTS[name].scenarios(1):
            coverage.sample_run({"config": s.config.to_json(), "outcome": run_model(s).to_json(),
                                 "host_state_config": s.host_state.to_json() if s.host_state else None})
    total = coverage.summary()["total"]
    assert total["percent"] == 100.0, coverage.report_text(coverage.summary())


def test_small_regression_end_to_end():
    assert regress.regress(seeds=2, parallel=2, tests_regex="^(no_td|random)$") == 0
    junit = ET.parse(regress.OUT / "junit.xml").getroot()
    lines = (regress.OUT / "results.jsonl").read_text().splitlines()
    runs = json.loads((regress.OUT / "latest.json").read_text())["runs"]
    # One testcase per scenario run (not per job), none failed or errored.
    assert junit.get("tests") == str(runs) and (junit.get("failures"), junit.get("errors")) == ("0", "0")
    assert len(lines) == 3 and all('"trace_hash"' in line for line in lines)


def test_model_mutant_overlay_requires_an_exact_match(monkeypatch):
    monkeypatch.setitem(MODEL_MUTANTS, "bogus", ("linux_nmi.py", "no such text", "x", "nothing"))
    with pytest.raises(ValueError, match="occurs 0 times"):
        make_overlay("bogus")


@pytest.mark.parametrize("name", ["nmi_state_guard_missing", "uret_cache_not_updated"])
def test_model_mutants_are_killed(name, tmp_path):
    result = hunt(name, "model", tmp_path)
    assert result.killed_by is not None, result


@pytest.mark.parametrize("name", ["swallow_armed_at_one", "b2b_compared_at_poll", "fred_fault_return_unblocks"])
def test_software_mutants_fail_the_users_command(name, tmp_path):
    """A wrong Linux/KVM model (shared by the RTL run and the model-alone run) fails nmi_seamret's
    hand-derived rows, the first test tried."""
    result = hunt(name, "model", tmp_path)
    assert result.killed_by == "nmi_seamret", result


def test_a_batch_of_seeds_in_one_process_gives_each_seed_the_result_it_gets_alone(tmp_path):
    """A regression runs several seeds of a test in one simulator process (#15): each seed keeps its
    own runs, verdict and trace hash, the same as in a process of its own."""
    from tb.flows.jobs import run_job, run_job_group

    batch = run_job_group([Job("random", 3), Job("random", 4)], tmp_path)
    alone = run_job(Job("random", 4), tmp_path)
    assert [r.job.seed for r in batch] == [3, 4] and all(r.ok for r in batch), [r.message for r in batch]
    assert all(run["seed"] == 4 for run in batch[1].runs)
    assert (batch[1].trace_hash, len(batch[1].runs)) == (alone.trace_hash, len(alone.runs))
    assert batch[0].trace_hash != batch[1].trace_hash


def test_each_seed_of_a_failing_batch_fails_with_its_own_reproduce_command(tmp_path):
    from tb.flows.jobs import run_job_group

    failed = run_job_group([Job("random", s, bugs=("latch_counts",)) for s in (3, 4)], tmp_path)
    assert [(r.ok, r.job.command()) for r in failed] == [
        (False, "make sim TEST=random SEED=3 BUG=latch_counts"), (False, "make sim TEST=random SEED=4 BUG=latch_counts")]
    assert all("latch" in r.message or "A2" in r.message for r in failed), [r.message for r in failed]


def test_a_seed_with_missing_runs_or_a_process_error_is_never_passed():
    from tb.flows.jobs import _judge

    good = {"ok": True, "failure": None, "outcome": {"trace": []}}
    assert _judge(Job("random", 1), {}, [good] * 3, 3, True, 0, 1.0).ok
    short = _judge(Job("random", 1), {}, [good] * 2, 3, True, 0, 1.0)
    assert not short.ok and short.message == "2 of 3 runs completed"
    crashed = _judge(Job("random", 1), {"error": "simulator failed: boom"}, [good] * 3, 3, True, 1, 1.0)
    assert not crashed.ok and crashed.message == "simulator failed: boom"
    assert not _judge(Job("random", 1), {}, [], 0, True, 0, 1.0).ok  # a seed with no runs at all


def test_a_softcore_regression_plans_its_jobs_in_batches_of_seeds_with_its_mode_in_every_command():
    from tb.flows.jobs import group_jobs

    jobs = plan_jobs(4, "^random$", mode="softcore")
    assert {j.mode for j in jobs} == {"softcore"} and len(jobs) == 4
    assert [len(g) for g in group_jobs(jobs, per_process=2)] == [2, 2]  # a test's seeds share a process
    mixed = jobs + plan_jobs(4, "^random$")
    assert [{j.mode for j in g} for g in group_jobs(mixed, per_process=50)] == [{"softcore"}, {"interactive"}]
    assert jobs[1].command() == "make sim TEST=random SEED=2 MODE=softcore"


@pytest.mark.parametrize("args, fragment", [
    ((1, 2, None, "program"), "MODE=program: a regression runs MODE=interactive or MODE=softcore"),
    ((1, 2, None, "softcore", True), "COVERAGE=1 with MODE=softcore"),
])
def test_a_regression_refuses_a_mode_it_does_not_run_in_one_line(args, fragment):
    assert fragment in regress.check_arguments(*args)


def test_what_did_not_apply_in_a_softcore_regression_is_counted_apart():
    runs = [{"ok": True, "checks": {"model": "n/a", "expect": "PASS"}},
            {"ok": True, "checks": {"model": "PASS", "expect": "n/a"}}, {"ok": True, "checks": {"model": "n/a"}}]
    result = JobResult(Job("library", 1, mode="softcore"), True, 1.0, "", runs=runs,
                       not_applicable=[{"scenario": "x", "reason": "y"}])
    assert regress.not_applicable_counts([result]) == {"scenarios_not_run": 1, "model_not_compared": 2,
                                                       "expect_not_checked": 1}


def test_a_softcore_regression_runs_the_firmware_and_a_firmware_defect_fails_its_jobs(tmp_path):
    """make regress MODE=softcore end to end (its files name the mode), and the same jobs with a
    deliberate firmware defect fail with a reproduce command that rebuilds that firmware."""
    import subprocess

    from tb.flows.jobs import run_job

    proc = subprocess.run(["make", "--no-print-directory", "regress", "MODE=softcore", "SEEDS=1", "JOBS=2",
                           "TESTS=^(nmi_seamret|single_exit)$"], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "MODE=softcore" in proc.stdout and "not applicable in softcore mode" in proc.stdout
    latest = json.loads((ROOT / "build" / "regress" / "latest.json").read_text())
    assert latest["modes"] == ["softcore"] and latest["failed"] == 0 and latest["runs"] > 0
    assert set(latest["not_applicable"]) == {"scenarios_not_run", "model_not_compared", "expect_not_checked"}
    newest = max((ROOT / "build" / "regress" / "runs").glob("regress-*"), key=lambda d: d.stat().st_mtime)
    runs = json.loads(next((newest / "jobs").glob("nmi_seamret-1*.json")).read_text())["runs"]
    # The coverage samples the hardware's transactions: a softcore row carries them, arrivals included.
    assert all(r["outcome"]["trace"] for r in runs) and any(t["kind"] == "nmi" for r in runs for t in r["outcome"]["trace"])
    from tb.flows.jobs import run_job_group

    batch = run_job_group([Job("random", s, mode="softcore") for s in (3, 4)], tmp_path)
    alone = run_job(Job("random", 4, mode="softcore"), tmp_path)
    assert all(r.ok for r in batch) and all(run["seed"] == 4 for run in batch[1].runs), [r.message for r in batch]
    assert (batch[1].trace_hash, len(batch[1].runs)) == (alone.trace_hash, len(alone.runs))  # as alone
    bad = run_job(Job("nmi_seamret", 1, mode="softcore", fw_bugs=("swallow_never_armed",)), tmp_path)
    assert not bad.ok and bad.error_type is None, bad.message
    assert bad.job.command() == "make sim TEST=nmi_seamret SEED=1 MODE=softcore FW_BUG=swallow_never_armed"


def test_the_nightlys_random_stimulus_runs_on_the_model_for_every_seed():
    """Every scenario of seeds 1..1,000 (the nightly's) plays to its end on the model: the generator
    never asks for a phase that cannot come (seed 746 once placed three arrivals in two SEAM-root
    cycles, so the TD had exited before `until: guest`, and every mode failed it)."""
    from py_model.session import RunError

    failures = []
    for seed in range(1, 1001):
        for scenario in random_scenarios(seed):
            try:
                run_model(scenario)
            except RunError as err:
                failures.append(str(err))
    assert not failures, failures[:3]
