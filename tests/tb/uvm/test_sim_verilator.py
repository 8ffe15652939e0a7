"""The RTL in Verilator under cocotb + pyuvm: the user's entry point, the library, a bug, the CLI.

One Verilator build per RTL hash is shared by all of these (and by `make sim`).
"""

import subprocess
import sys

import pytest

from conftest import ROOT, SCENARIO_DIR
from tb.sim.verilator import run_test


def ok_runs(report):
    return [r for r in report["runs"] if r["ok"]]


def test_nmi_seamret_matches_spec_table():
    report = run_test("nmi_seamret", seed=1, quiet=True)
    assert report["error"] is None, report
    assert len(ok_runs(report)) == report["expected_runs"] == 14
    legacy = [r for r in report["runs"] if r["config"]["module"] == "legacy"]
    assert legacy and all(r["verdict"]["inversions"] > 0 for r in legacy)  # expected failures, asserted
    fred_late_fault = next(r for r in report["runs"] if r["scenario"] == "nmi_seamret[fixed/late/fred +fault]")
    assert fred_late_fault["verdict"]["inversions"] == 0  # SPEC §6's FRED row: the fault's ERETS keeps NMIs blocked
    assert report["cycles"] > 0 and sum(r["transactions"] for r in report["runs"]) > 50


@pytest.mark.parametrize("bug", ["seamret_blocking_ignored", "delivery_one_cycle_late"])
def test_rtl_timing_and_blocking_defects_fail_the_users_command(bug):
    """`make sim TEST=nmi_seamret BUG=...` fails, and the failing rows stay in the table as FAIL."""
    result = subprocess.run([sys.executable, "-m", "tb.flows.runner", "sim", "nmi_seamret", "--seed", "1", "--bug", bug,
                             "--no-svg"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if line.rstrip().endswith(("PASS", "FAIL"))]
    assert len(rows) == 14 and any(row.rstrip().endswith("FAIL") for row in rows), result.stdout
    assert "FAIL nmi_seamret[legacy/noinstr/idt]: " in result.stdout


@pytest.mark.parametrize("test", ["library", "no_td", "nmi_during_pass", "nonnmi_exit", "single_exit", "host_state"])
def test_directed_tests_pass(test):
    report = run_test(test, seed=1, quiet=True)
    assert report["error"] is None and len(ok_runs(report)) == report["expected_runs"] > 0, report


@pytest.mark.parametrize("seed", [1, 2])
def test_random_seeds_pass_and_repeat(seed):
    first = run_test("random", seed=seed, quiet=True)
    assert first["error"] is None and len(ok_runs(first)) == first["expected_runs"]
    again = run_test("random", seed=seed, quiet=True)
    assert [r["outcome"]["trace"] for r in again["runs"]] == [r["outcome"]["trace"] for r in first["runs"]]


def test_verilator_bench_catches_seamret_bug():
    report = run_test("nmi_seamret", seed=1, quiet=True, bugs=["seamret_always_restore"])
    assert report["error"] is not None
    failed = [r for r in report["runs"] if not r["ok"]]
    assert failed and all(r["config"]["module"] == "fixed" for r in failed)
    assert "seamret  blocked=1 | rtl" in failed[0]["failure"]


def make(*args):
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_make_scenario_rejects_wrong_expect_and_invalid_file(tmp_path):
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text((SCENARIO_DIR / "b3_single_nmi_exit.yaml").read_text().replace("claimed: [7]", "claimed: [6]"))
    result = make("scenario", f"FILE={wrong}")
    assert result.returncode != 0
    assert "expect.passes[0].claimed: expected [6], got [7]" in result.stdout
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("timeline: [{until: never}]\n")
    result = make("scenario", f"FILE={invalid}")
    assert result.returncode != 0 and "timeline[0].until" in result.stderr


def test_unknown_test_lists_the_tests():
    result = subprocess.run([sys.executable, "-m", "tb.flows.runner", "sim", "nope"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "nmi_seamret" in result.stderr


def test_generated_verilog_is_lint_clean():
    result = subprocess.run([sys.executable, "-m", "tb.flows.runner", "lint"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout.count("lint clean with -Wall") == 3, result.stdout
