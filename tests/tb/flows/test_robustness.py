"""Runs that cannot lie (docs/robustness.md): concurrent runs in one tree, Ctrl-C, a damaged
build cache, bad arguments and OUT paths, board refusals, the shared cycle bound.

Each test drives the user's commands as separate processes, the way a user or CI would.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, SCENARIO_DIR

PY = sys.executable


def runner(*args, timeout=600):
    return subprocess.run([PY, "-m", "tb.flows.runner", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def make(*args, timeout=600):
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_concurrent_scenario_runs_each_report_their_own_outcome(tmp_path):
    good = SCENARIO_DIR / "b3_single_nmi_exit.yaml"
    bad = tmp_path / "wrong expect.yaml"  # a space in the name, through the Makefile
    bad.write_text(good.read_text().replace("claimed: [7]", "claimed: [6]"))
    runs = [(f, tmp_path / f"out{i}.json") for i, f in enumerate((good, bad, good, bad))]  # all at once
    procs = [(f, out, subprocess.Popen(["make", "--no-print-directory", "scenario", f"FILE={f}", f"OUT={out}"],
                                       cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
             for f, out in runs]
    for f, out, proc in procs:
        output, _ = proc.communicate(timeout=600)
        assert (proc.returncode != 0) == (f == bad), output  # make exits 2 when the runner exits 1
        report = json.loads(out.read_text())
        assert report["scenario"] == "b3_single_nmi_exit" and report["ok"] == (f == good)
        if f == bad:
            assert "expect.passes[0].claimed: expected [6], got [7]" in output
            assert f"reproduce: make scenario FILE='{bad}'" in output


def test_the_printed_reproduce_command_works_as_printed(tmp_path):
    bad = tmp_path / "it's wrong.yaml"
    bad.write_text((SCENARIO_DIR / "b3_single_nmi_exit.yaml").read_text().replace("claimed: [7]", "claimed: [6]"))
    first = make("scenario", f"FILE={bad}")
    line = next(s for s in first.stdout.splitlines() if s.startswith("reproduce: "))
    again = subprocess.run(line[len("reproduce: "):], shell=True, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert first.returncode == again.returncode == 2  # make's status for a failed recipe
    assert "expect.passes[0].claimed: expected [6], got [7]" in again.stdout


def test_two_sims_without_a_seed_get_different_seeds():
    seeds = set()
    procs = [subprocess.Popen([PY, "-m", "tb.flows.runner", "sim", "no_td", "--no-svg"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    for proc in procs:
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, output
        seeds.add(next(s for s in output.splitlines() if s.startswith("TEST=")))
    assert len(seeds) == 2


def test_ctrl_c_during_a_regression_keeps_every_finished_job(tmp_path):
    results = ROOT / "build" / "regress" / "results.jsonl"
    before = results.stat().st_mtime_ns if results.exists() else 0
    # 5,000 seeds (minutes of work: the event-driven bench runs ~25 seeds/s), so the signal lands mid-run.
    proc = subprocess.Popen([PY, "-m", "tb.flows.regress", "run", "--seeds", "5000", "--jobs", "2", "--tests", "^random$"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # wait until this regression has recorded a few jobs
        if (results.exists() and results.stat().st_mtime_ns != before and proc.poll() is None
                and len(results.read_text().splitlines()) >= 2):
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    start = time.monotonic()
    output, _ = proc.communicate(timeout=60)
    assert time.monotonic() - start < 30, "the regression did not stop within a bounded time"
    assert proc.returncode == 130, output
    assert "INTERRUPTED" in output and "Traceback" not in output
    recorded = [json.loads(line) for line in results.read_text().splitlines()]
    finished = int(output.split("INTERRUPTED after")[1].split(":")[1].split("of")[0])
    assert len(recorded) == finished >= 2 and all(r["ok"] for r in recorded)
    assert "did not run" in output
    time.sleep(1)
    assert subprocess.run(["pgrep", "-f", "sim_build|nmi_top"], capture_output=True).stdout.strip() == b""


def test_a_regression_that_cannot_start_touches_nothing():
    results = ROOT / "build" / "regress" / "results.jsonl"
    before = results.read_bytes() if results.exists() else None
    for args, fragment in ((["--jobs", "0"], "JOBS=0"), (["--seeds", "0"], "SEEDS=0"),
                           (["--tests", "["], "TESTS='['"), (["--tests", "^nothing$"], "no test matches")):
        proc = subprocess.run([PY, "-m", "tb.flows.regress", "run", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 2 and fragment in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    assert (results.read_bytes() if results.exists() else None) == before


@pytest.mark.parametrize("args, fragment", [
    (["sim", "nmi_seamret", "--bug", "nonsense"], "BUG=nonsense: unknown RTL bug"),
    (["sim", "nmi_seamret", "--mode", "bogus"], "invalid choice: 'bogus'"),
    (["sim", "nmi_seamret", "--target", "moon"], "invalid choice: 'moon'"),
    (["sim", "nmi_seamret", "--target", "board"], "TARGET=board needs PORT"),
    (["sim", "nmi_seamret", "--seed", "x"], "invalid int value: 'x'"),
    (["sim", "nmi_seamret", "--json", "/no/such/folder/r.json"], "does not exist"),
    (["sim", "nmi_seamret", "--json", "/"], "is a directory"),
    (["sim", "library", "--target", "vboard"], "TEST=library cannot run on TARGET=vboard"),
    (["sim", "host_state", "--target", "vboard"], "the board has no host-state register file"),
    (["scenario", "tb/scenarios/b3_single_nmi_exit.yaml", "--out", "/no/such/folder/o.json"], "does not exist"),
    (["scenario", "tb/scenarios/b3_single_nmi_exit.yaml", "--out", "tb"], "is a directory"),
    (["sim", "nmi_seamret", "--fw-bug", "nonsense", "--mode", "softcore"], "FW_BUG=nonsense: unknown firmware defect"),
    (["sim", "nmi_seamret", "--fw-bug", "swallow_without_b2b"], "FW_BUG= applies to MODE=softcore only"),
])
def test_bad_arguments_are_one_line_before_any_work(args, fragment):
    proc = runner(*args, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert fragment in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "building" not in proc.stdout and "runs," not in proc.stdout


def test_a_damaged_cached_build_is_rebuilt():
    from tb.sim.verilator import ensure_build

    _, build_dir, _, _, top = ensure_build(quiet=True)
    binary = build_dir / top  # the bench wrapper's binary (nmi_top_bench)
    binary.write_bytes(os.urandom(4096))  # a damaged binary (a disk error, an interrupted copy)
    proc = runner("sim", "no_td", "--seed", "1", "--no-svg")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "incomplete or damaged: rebuilding" in proc.stdout
    proc = runner("sim", "no_td", "--seed", "1", "--no-svg")
    assert proc.returncode == 0 and "using the cached Verilator build" in proc.stdout


def test_model_and_rtl_share_one_cycle_bound(tmp_path):
    long_wait = tmp_path / "long.yaml"
    long_wait.write_text("timeline: [{nmi: 3}, {wait: 60000}, {nmi: 5}]\n"
                         "expect: {counts: {normal: 2}}\n")
    assert make("model", f"FILE={long_wait}").returncode == 0
    assert make("scenario", f"FILE={long_wait}").returncode == 0
    model = make("model", f"FILE={long_wait}", "MAX_CYCLES=1000")
    rtl = make("scenario", f"FILE={long_wait}", "MAX_CYCLES=1000")
    message = "did not end within 1,000 cycles (the run bound; raise it with MAX_CYCLES=)"
    assert model.returncode != 0 and message in model.stderr
    assert rtl.returncode != 0 and message in rtl.stdout
    bad = make("model", f"FILE={long_wait}", "MAX_CYCLES=0")
    assert bad.returncode != 0 and "MAX_CYCLES=0: expected a positive integer" in bad.stderr


def test_make_passes_awkward_file_names_through(tmp_path):
    odd = tmp_path / "a b'c.yaml"
    odd.write_text((SCENARIO_DIR / "b3_single_nmi_exit.yaml").read_text())
    out = tmp_path / "o u t.json"
    proc = make("model", f"FILE={odd}", f"OUT={out}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(out.read_text())["ok"] is True


@pytest.mark.parametrize("module, args, fragment", [
    ("tb.flows.formal", ["--bug", "nonsense"], "unknown RTL bug or property nonsense"),
    ("tb.flows.mutants", ["--jobs", "0"], "JOBS=0"),
    ("tb.flows.mutants", ["--only", "nonsense"], "unknown mutant nonsense"),
    ("tb.flows.soak", ["--config", "nonsense"], "CONFIG one of all"),
    ("tb.flows.soak", ["--seconds", "-3"], "SECONDS > 0"),
    ("tb.flows.soak", ["--bug", "nonsense"], "BUG a name in rtl/bugs.py"),
    ("tb.flows.bitstream", ["icebreaker", "--soak", "nonsense"], "SOAK=nonsense: one of legacy"),
    ("py_model", ["run", "tb/scenarios/b3_single_nmi_exit.yaml", "--out", "/no/such/folder/o.json"], "does not exist"),
])
def test_other_commands_refuse_bad_arguments_in_one_line(module, args, fragment):
    proc = subprocess.run([PY, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and fragment in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_ctrl_c_during_a_sim_stops_it_with_130():
    # The per-cycle bench (--strict) on the long bench workload: ~10 s, so the signal lands mid-run.
    proc = subprocess.Popen([PY, "-m", "tb.flows.runner", "sim", "bench", "--seed", "1", "--no-svg", "--strict"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(4)  # the simulator is running the long bench workload by now
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert "INTERRUPTED" in output and "Traceback" not in output and "PASS" not in output


# Every MODE x TARGET: what was asked runs, or one line refuses it before any work (issue 25: the
# softcore asked for on a board once ran program mode silently).
MATRIX = {("interactive", "sim"): "runs", ("program", "sim"): "runs", ("softcore", "sim"): "runs",
          ("interactive", "vboard"): "MODE=interactive does not run on TARGET=vboard",
          ("program", "vboard"): "runs",
          ("softcore", "vboard"): "runs",
          ("interactive", "board"): "MODE=interactive does not run on TARGET=board",
          ("program", "board"): "runs",
          ("softcore", "board"): "runs",
          ("interactive", "harness"): "MODE=interactive does not run on TARGET=harness",
          ("program", "harness"): "runs",
          ("softcore", "harness"): "runs"}


@pytest.mark.parametrize("mode, target", sorted(MATRIX))
def test_every_mode_and_target_runs_what_was_asked_or_refuses(mode, target):
    from tb.flows.cli import UsageError
    from tb.flows.runner import TARGET_MODES, resolve_mode

    assert set(MATRIX) == {(m, t) for t in TARGET_MODES for m in ("interactive", "program", "softcore")}
    want = MATRIX[mode, target]
    if want == "runs":
        assert resolve_mode(mode, target) == mode
    else:
        with pytest.raises(UsageError, match=want):
            resolve_mode(mode, target)
        port = ["--port", "/dev/null"] if target == "board" else []
        proc = runner("sim", "nmi_seamret", "--seed", "1", "--mode", mode, "--target", target, *port, timeout=120)
        assert proc.returncode == 2 and want in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "TEST=" not in proc.stdout  # refused before anything started


def test_a_mode_not_given_is_the_targets_own():
    from tb.flows.runner import resolve_mode

    assert [resolve_mode(None, t) for t in ("sim", "harness", "vboard", "board")] == [
        "interactive", "program", "program", "program"]


def test_program_mode_runs_on_the_harness_unless_waves_or_coverage_need_cocotb(capsys):
    from tb.flows.cli import UsageError
    from tb.flows.runner import resolve_target

    assert resolve_target("program", None, traced=False) == "harness"
    assert resolve_target("program", None, traced=True) == "sim" and "TARGET=sim (cocotb)" in capsys.readouterr().out
    assert resolve_target("program", "sim", traced=False) == "sim"
    assert [resolve_target(m, None, False) for m in (None, "interactive", "softcore")] == ["sim"] * 3
    with pytest.raises(UsageError, match="TARGET=harness records neither waves nor code coverage"):
        resolve_target("program", "harness", traced=True)


def test_the_interactive_bench_on_the_virtual_board_is_refused_through_make():
    proc = make("sim", "TEST=nmi_seamret", "MODE=interactive", "TARGET=vboard", timeout=120)
    assert proc.returncode != 0 and "MODE=interactive does not run on TARGET=vboard" in proc.stderr, proc.stderr
