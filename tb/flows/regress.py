"""Regressions: every test x seeds in parallel, with coverage, JUnit XML and reproduce commands.

    python -m tb.flows.regress run [--seeds N] [--jobs J] [--tests REGEX]
    python -m tb.flows.regress plan          # the testplan with each entry's status from the last regression

Seeded tests (the catalog's ``seeded``) run with seeds 1..N; directed tests, whose stimulus does not
depend on the seed, run once. Each job is one simulator process under a wall-clock bound; its
result is appended to ``results.jsonl`` as it finishes, so an interrupted regression keeps what it
did (Ctrl-C stops the running jobs, prints the partial summary marked INTERRUPTED, exits 130).
At the end the first seed of every seeded test runs again and must give the same trace hash.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from datetime import datetime
from pathlib import Path

import yaml

from py_model.atomic import write_output
from py_model.table import table_text
from tb import ROOT
from tb.flows.jobs import (
    MAX_SEEDS_PER_PROCESS,
    Interrupted,
    Job,
    JobResult,
    Progress,
    group_jobs,
    prepare_builds,
    run_jobs,
)
from tb.reports import dashboard, results_db, ucis_export
from tb.reports.junit import junit_xml

OUT = ROOT / "build" / "regress"
def summary_table(results: list[JobResult]) -> str:
    rows = [("test", "seeds run", "failed", "first failing seed", "reproduce")]
    for test in sorted({r.job.test for r in results}):
        mine = sorted((r for r in results if r.job.test == test), key=lambda r: r.job.seed)
        failed = [r for r in mine if not r.ok]
        rows.append((test, str(len(mine)), str(len(failed)), str(failed[0].job.seed) if failed else "-",
                     failed[0].job.command() if failed else ""))
    return table_text(rows)


def plan_jobs(seeds: int, tests_regex: str | None, coverage: bool = False, mode: str = "interactive",
              target: str = "sim") -> list[Job]:
    from tb.stimulus.catalog import TESTS

    jobs = []
    for name, test in TESTS.items():
        if tests_regex and not re.search(tests_regex, name):
            continue
        for seed in range(1, (seeds if test.seeded else 1) + 1):
            jobs.append(Job(name, seed, coverage=coverage, mode=mode, target=target))
    return jobs


def seeds_per_process(seeds: int, parallel: int) -> int:
    """Seeds of one test per simulator process: at least two processes per worker, at most 50 seeds."""
    return max(1, min(MAX_SEEDS_PER_PROCESS, seeds // (2 * parallel)))


def check_arguments(seeds: int, parallel: int, tests_regex: str | None, mode: str = "interactive",
                    coverage: bool = False, target: str = "sim") -> str | None:
    """The first bad argument as one line, or None; checked before anything is built or written."""
    if mode not in REGRESSION_MODES:
        return f"MODE={mode}: a regression runs MODE={' or MODE='.join(REGRESSION_MODES)}"
    if target not in REGRESSION_TARGETS:
        return f"TARGET={target}: a regression runs on TARGET={' or TARGET='.join(REGRESSION_TARGETS)}"
    if target != "sim" and mode != "softcore":
        return f"TARGET={target}: off the simulator a regression runs MODE=softcore (the firmware and the hardware player)"
    if coverage and mode != "interactive":
        return f"COVERAGE=1 with MODE={mode}: code coverage is measured on the interactive build; drop MODE or COVERAGE"
    if seeds < 1:
        return f"SEEDS={seeds}: expected an integer >= 1"
    if not 1 <= parallel <= 64:
        return f"JOBS={parallel}: expected an integer 1..64"
    if tests_regex is not None:
        try:
            re.compile(tests_regex)
        except re.error as err:
            return f"TESTS={tests_regex!r}: not a regular expression ({err})"
    return None


def publish(name: str, text: str) -> None:
    """Replace ``OUT/name`` whole (write aside, rename)."""
    write_output(OUT / name, text)


# What a regression runs: Python against the RTL every cycle (cocotb + pyuvm), or the product's firmware on
# the SoC's CPU (softcore: KVM's exit path and Linux's handler as C, checked by the model at both levels).
REGRESSION_MODES = ("interactive", "softcore")
REGRESSION_TARGETS = ("sim", "harness", "vboard")  # softcore mode off cocotb: the raw harness, the virtual board


def regress(seeds: int, parallel: int, tests_regex: str | None, cluster: str | None = None,
            coverage: bool = False, mode: str = "interactive", target: str = "sim") -> int:
    problem = check_arguments(seeds, parallel, tests_regex, mode, coverage, target)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    jobs = plan_jobs(seeds, tests_regex, coverage, mode, target)
    if not jobs:
        print(f"error: TESTS={tests_regex!r}: no test matches", file=sys.stderr)
        return 2
    return run_on(jobs, seeds, parallel, cluster)


def status_key(job: Job) -> str:
    """A test's status name: the test (interactive mode, what ``make plan`` reads), or ``test[mode]``, so
    a softcore regression never overwrites the interactive status of the same test, nor the reverse."""
    return job.test if job.mode == "interactive" else f"{job.test}[{job.mode}]"


def not_applicable_counts(results: list[JobResult]) -> dict:
    """What did not apply, counted (a softcore regression): scenarios not run, and runs where the model
    comparison or the scenario's expect was not applicable. Never folded into the passes."""
    runs = [r for res in results for r in res.runs or []]
    return {"scenarios_not_run": sum(len(r.not_applicable) for r in results),
            "model_not_compared": sum((r.get("checks") or {}).get("model") == "n/a" for r in runs),
            "expect_not_checked": sum((r.get("checks") or {}).get("expect") == "n/a" for r in runs)}


def _shown(path: Path | str) -> str:
    """A path as the user reads it: relative to the tree when inside it."""
    try:
        return str(Path(path).relative_to(ROOT))
    except ValueError:
        return str(path)


def run_on(jobs: list[Job], seeds: int, parallel: int, cluster: str | None) -> int:
    """``jobs`` on this machine, or on the Dask cluster at ``cluster`` (connected, then closed)."""
    client = None
    if cluster:
        from tb.flows.cluster import ClusterError, connect

        try:
            client = connect(cluster)
        except ClusterError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    try:
        return _regress(jobs, seeds, parallel, client)
    finally:
        if client is not None:
            client.close()


def _regress(jobs: list[Job], seeds: int, parallel: int, client) -> int:
    from tb.reports import coverage
    from tb.sim.verilator import new_run_dir

    # once, before the workers start (a cluster's workers build in their own clones)
    prepare_builds({j.mode for j in jobs}, {j.target for j in jobs})
    # Everything of this regression lives in its own folder; the top-level files are replaced
    # (whole) only as results arrive, so a run that fails to start touches nothing.
    run_dir = new_run_dir(OUT / "runs", "regress")
    stream = run_dir / "results.jsonl"
    stream.write_text("")
    # Start-up is paid once per simulator process: a test's seeds share processes, enough of them
    # to keep every worker busy to the end (per-seed results, reproduce commands and hashes stay).
    per_process = seeds_per_process(seeds, parallel)
    processes = len(group_jobs(jobs, per_process))
    where = (f"on the Dask cluster at {client.scheduler.address} ({len(client.scheduler_info()['workers'])} workers; "
             f"a batch's seeds of a test share a simulator process, up to {MAX_SEEDS_PER_PROCESS})"
             if client is not None else f"{parallel} in parallel, {processes} simulator processes "
                                        f"(up to {per_process} seeds each)")
    modes = sorted({j.mode for j in jobs})
    print(f"regression: {len(jobs)} jobs ({seeds} seeds for seeded tests"
          + ("" if modes == ["interactive"] else f", MODE={','.join(modes)}") + f"), {where}; "
          f"files in {_shown(run_dir)}", flush=True)
    cluster_stats = {"retried": []}

    def execute(batch: list[Job], on_result=None) -> list[JobResult]:
        """The jobs on this machine's processes, or on the cluster: the same job function either way."""
        if client is None:
            return run_jobs(batch, parallel, run_dir / "jobs", on_result, per_process=per_process)
        from tb.flows.cluster import run_jobs_on_cluster

        results, stats = run_jobs_on_cluster(client, batch, on_result)
        cluster_stats["retried"] += stats["retried"]
        cluster_stats.setdefault("workers", stats["workers"])  # the main run's figures, not the re-run's
        cluster_stats.setdefault("batches", stats["batches"])
        cluster_stats.setdefault("batch_size", stats["batch_size"])
        return results

    progress = Progress(len(jobs))
    start, started = time.perf_counter(), datetime.now()

    def record(result: JobResult) -> None:
        with stream.open("a") as f:
            f.write(json.dumps({"test": result.job.test, "seed": result.job.seed, "ok": result.ok,
                                "seconds": round(result.seconds, 3), "message": result.message,
                                "trace_hash": result.trace_hash, "reproduce": result.job.command(),
                                "log": result.log}) + "\n")
        publish("results.jsonl", stream.read_text())
        progress.step(result)

    try:
        results = execute(jobs, record)
    except Interrupted as stopped:
        return report_interrupted(stopped.results, jobs, run_dir, time.perf_counter() - start)
    wall = time.perf_counter() - start
    print()

    # The same seed must give the same transactions.
    from tb.stimulus.catalog import TESTS
    again = [Job(r.job.test, r.job.seed, tag="-again", mode=r.job.mode, target=r.job.target) for r in results
             if r.ok and r.job.seed == 1 and TESTS[r.job.test].seeded]
    try:
        repeat = execute(again)
    except Interrupted as stopped:
        return report_interrupted(results, jobs, run_dir, time.perf_counter() - start,
                                  note=f"determinism re-run stopped after {len(stopped.results)} of {len(again)}")
    first = {(r.job.test, r.job.seed): r.trace_hash for r in results}
    nondeterministic = [r.job for r in repeat if not r.ok or r.trace_hash != first[(r.job.test, r.job.seed)]]

    for r in results:
        for run in r.runs or []:
            if (run.get("outcome") or {}).get("trace") is not None:  # a run stopped by a failure has no outcome
                coverage.sample_run(run)
    this = coverage.summary()
    publish("junit.xml", junit_xml(results, started))
    statuses = {}
    for r in results:
        key = status_key(r.job)
        statuses[key] = statuses.get(key, True) and r.ok
    runs = sum(len(r.runs or []) for r in results)
    latest = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "tests": statuses, "coverage": this["total"],
              "jobs": len(results), "failed": sum(not r.ok for r in results), "runs": runs,
              "wall_seconds": round(wall, 1), "cluster": dict(cluster_stats) if client is not None else None,
              "determinism": {"rerun": len(repeat), "differ": [j.test for j in nondeterministic]},
              "modes": sorted({r.job.mode for r in results}), "not_applicable": not_applicable_counts(results),
              "failed_jobs": [{"test": r.job.test, "seed": r.job.seed, "mode": r.job.mode, "target": r.job.target}
                              for r in results if not r.ok]}
    # Accumulated: this design's coverage and test status across regressions (build/results/).
    merged, started_new = results_db.merge(results_db.current_hits(), statuses, latest)
    cov = coverage.summary(merged)
    latest["coverage_merged"] = cov["total"]
    coverage.export(OUT / "coverage.yml", cov)
    ucis_export.export(merged, OUT / "coverage.ucis.xml")
    publish("coverage.txt", coverage.report_text(cov) + "\n")
    code = code_coverage_of(results)
    if code is not None:
        latest["code_coverage"] = code
    publish("latest.json", json.dumps(latest, indent=1))

    print(summary_table(results))
    if started_new:
        print(started_new)
    print(f"this regression's functional coverage: {coverage.figure(this)}; merged over this design's regressions "
          f"(make coverage):")
    print(coverage.report_text(cov))
    if code is not None:
        print("code coverage of the RTL, merged over the regression's processes: " + ", ".join(
            f"{k} {v['hit']}/{v['points']} ({v['percent']}%)" for k, v in sorted(code["figures"].items()))
            + f"; lcov (Amaranth lines): {_shown(code['lcov'])}"
            + (f"; html: {_shown(code['html'])}" if code.get("html") else f"; {code.get('html_note')}")
            + f"; {len(code['unreached'])} line points never reached, listed in {_shown(code['unreached_file'])}")
    if "softcore" in latest["modes"]:
        na = latest["not_applicable"]
        print(f"not applicable in softcore mode (counted, not passed): {na['scenarios_not_run']} scenario(s) not run; "
              f"the model comparison in {na['model_not_compared']} run(s), the scenario's expect in "
              f"{na['expect_not_checked']} (an NMI placed by time into the host's software lands where the "
              "firmware's timing puts it)")
    print(f"determinism: {len(repeat)} seeded test(s) re-run with their first seed: "
          + ("identical trace hashes" if not nondeterministic else f"DIFFERENT: {[j.test for j in nondeterministic]}"))
    failed = [r for r in results if not r.ok]
    pictures = draw_failures(failed, run_dir / "timelines")
    if pictures:
        latest["failures"] = [{"test": r.job.test, "seed": r.job.seed, "reproduce": r.job.command(),
                               "timelines": [_shown(p) for p in pictures.get(id(r), [])]}
                              for r in failed]
        publish("latest.json", json.dumps(latest, indent=1))
    workers = (f"{cluster_stats['workers']} cluster workers ({cluster_stats['batches']} batches of up to "
               f"{cluster_stats['batch_size']})" if client is not None else f"{parallel} workers")
    print(f"{len(results)} jobs ({runs} scenario runs) in {wall:.1f} s on {workers}: "
          f"{len(results) - len(failed)} passed, {len(failed)} failed; {60 * len(results) / wall:.1f} jobs/min")
    for retry in cluster_stats["retried"]:
        print(f"retried: the batch {', '.join(retry['jobs'])} ran again after its worker died "
              f"(workers: {' -> '.join(retry['workers'])})")
    print(f"wrote {_shown(OUT)}/junit.xml, results.jsonl, coverage.yml, coverage.ucis.xml, coverage.txt, latest.json; "
          f"merged into {_shown(results_db.folder())} and {_shown(results_db.HISTORY)}")
    for r in failed:
        print(f"reproduce: {r.job.command()}")
        for path in pictures.get(id(r), []):
            print(f"  timeline: {_shown(path)}")
    print(f"dashboard: {_shown(dashboard.build(OUT))}")
    return 1 if failed or nondeterministic else 0


def code_coverage_of(results: list[JobResult]) -> dict | None:
    """COVERAGE=1: every process's counters merged (a batch's seeds share one file, counted once),
    reported in build/regress/code_coverage/; None when no job ran the coverage build."""
    from tb.reports import code_coverage

    dats = sorted({r.coverage_dat for r in results if r.coverage_dat})
    if not any(r.job.coverage for r in results):
        return None
    if not dats:
        return {"figures": {}, "lcov": "", "unreached": [], "unreached_file": "",
                "html_note": "no process wrote coverage counters"}
    out = code_coverage.report(code_coverage.merge(Path(d) for d in dats), OUT / "code_coverage")
    listing = OUT / "code_coverage" / "unreached.txt"
    write_output(listing, "".join(line + "\n" for line in out["unreached"]))
    return {**out, "processes": len(dats), "unreached_file": str(listing)}


def draw_failures(failed: list[JobResult], folder: Path) -> dict[int, list[Path]]:
    """A timeline (reference above RTL, the first difference marked) for every failing run of every
    failing job, in the regression's folder: {id(job result): [paths]}."""
    from tb.reports.timeline_svg import write_run_timelines
    from tb.stimulus.catalog import planned

    out = {}
    for r in failed:
        rows = [row for row in r.runs or [] if not row["ok"]]
        if not rows:
            continue
        try:
            scenarios = {s.name: s for s in planned(r.job.test, r.job.seed)[0]}
        except Exception as err:  # noqa: BLE001 - the picture is extra; the failure is reported anyway
            print(f"timeline of {r.job.test} seed {r.job.seed}: not drawn ({err})")
            continue
        drawn = write_run_timelines({"runs": rows}, scenarios, folder / f"{r.job.test}-seed{r.job.seed}")
        out[id(r)] = list(drawn.values())
    return out


def report_interrupted(results: list[JobResult], jobs: list[Job], run_dir: Path, wall: float, note: str = "") -> int:
    """The partial summary of a stopped regression: every finished job recorded, what did not run listed."""
    done = {(r.job.test, r.job.seed) for r in results}
    not_run = [j for j in jobs if (j.test, j.seed) not in done]
    publish("junit.xml", junit_xml(results))
    print()
    if results:
        print(summary_table(results))
    failed = [r for r in results if not r.ok]
    print(f"INTERRUPTED after {wall:.1f} s: {len(results)} of {len(jobs)} jobs finished and are recorded in "
          f"{(_shown(OUT / 'results.jsonl'))} ({len(results) - len(failed)} passed, {len(failed)} failed); "
          f"{len(not_run)} did not run{': ' + note if note else ''}")
    if not_run:
        shown = ", ".join(f"{j.test}:{j.seed}" for j in not_run[:12])
        print(f"not run: {shown}{' ...' if len(not_run) > 12 else ''}")
    for r in failed:
        print(f"reproduce: {r.job.command()}")
    return 130


def print_plan() -> int:
    plan = yaml.safe_load((ROOT / "tb" / "testplan.yaml").read_text())
    # Every regression of this design counts: each test's status is the one its last regression gave.
    status = results_db.test_status()
    latest = {"tests": {t: v["ok"] for t, v in status.items()}}
    last = max((v["when"] or "" for v in status.values()), default="")
    from tb.stimulus.catalog import TESTS

    print(f"testplan ({len(plan['features'])} features); status from this design's regressions "
          f"({len(status)} tests run, the last on {last or 'never'}; build/results/)")
    bad = 0
    for feature in plan["features"]:
        unknown = [t for t in feature["tests"] if t not in TESTS and not t.startswith(("pytest:", "formal:"))]
        sim_tests = [t for t in feature["tests"] if t in TESTS]
        if unknown:
            status, bad = f"PLAN ERROR: unknown tests {unknown}", bad + 1
        elif not sim_tests:
            status = "covered by make test"
        elif any(t not in latest["tests"] for t in sim_tests):
            status = "not run"
        else:
            status = "PASS" if all(latest["tests"][t] for t in sim_tests) else "FAIL"
        print(f"{feature['id']:<22} {status:<20} {feature['goal']}")
        print(f"{'':<22} tests: {', '.join(feature['tests'])}; coverage: {', '.join(feature.get('coverage', []) or ['-'])}")
    return 1 if bad else 0


def print_coverage(reset: bool) -> int:
    from tb.reports import coverage

    if reset:
        print(f"coverage: started again ({_shown(results_db.reset())} removed)")
        return 0
    here = results_db.folder()
    runs = [h for h in results_db.history() if h.get("design") == here.name]
    cov = coverage.summary(results_db.merged_hits())
    print(f"this design (rtl {here.name.split('-')[0]}, model {here.name.split('-')[1]}): {len(runs)} regression(s) "
          f"merged{', the last on ' + runs[-1]['when'] if runs else ' (none yet: make regress)'}")
    print(coverage.report_text(cov))
    here.mkdir(parents=True, exist_ok=True)
    coverage.export(here / "coverage.yml", cov)
    coverage.export_html(here / "coverage.html", cov, f"functional coverage, design {here.name}")
    ucis_export.export(results_db.merged_hits(), here / "coverage.ucis.xml")
    print(f"wrote {_shown(here / 'coverage.yml')}, {_shown(here / 'coverage.html')}, "
          f"{_shown(here / 'coverage.ucis.xml')} (UCIS)")
    return 0


def rerun_failed(parallel: int, cluster: str | None) -> int:
    """``make regress RERUN=failed``: the failed jobs of the last regression, each with its seed."""
    path = OUT / "latest.json"
    if not path.exists():
        print("error: RERUN=failed: no regression has run here yet (build/regress/latest.json)", file=sys.stderr)
        return 2
    try:
        failed = json.loads(path.read_text())["failed_jobs"]
    except (ValueError, KeyError):
        print(f"error: RERUN=failed: {_shown(path)} names no failed jobs (a regression from before "
              "RERUN existed, or a damaged file): run make regress", file=sys.stderr)
        return 2
    if not failed:
        print("RERUN=failed: the last regression had no failed job; nothing to run")
        return 0
    jobs = [Job(f["test"], f["seed"], mode=f.get("mode", "interactive"), target=f.get("target", "sim")) for f in failed]
    print(f"RERUN=failed: {len(jobs)} job(s) of the last regression: "
          + ", ".join(f"{j.test} SEED={j.seed}" for j in jobs[:8]) + (" ..." if len(jobs) > 8 else ""))
    return run_on(jobs, max(f["seed"] for f in failed), parallel, cluster)


def main(argv=None) -> int:
    from tb.flows.cli import run_command

    return run_command(lambda: _main(argv), interrupted="no job was running; nothing was recorded")


def _main(argv=None) -> int:
    from tb.flows.cli import OneLineParser

    parser = OneLineParser(prog="python -m tb.flows.regress")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    run = sub.add_parser("run")
    run.add_argument("--seeds", type=int, default=20)
    run.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    run.add_argument("--tests", default=None, help="regular expression over test names")
    run.add_argument("--cluster", default=None, help="a Dask scheduler address (tcp://host:8786); default: this machine")
    run.add_argument("--coverage", action="store_true", help="the code-coverage build: line and toggle coverage")
    run.add_argument("--mode", default="interactive",
                     help="interactive (Python every cycle) or softcore (the firmware on the SoC's CPU)")
    run.add_argument("--target", default="sim", help="MODE=softcore: sim (cocotb), harness (the raw Verilator "
                     "harness) or vboard (the virtual board)")
    run.add_argument("--rerun", choices=["failed"], default=None,
                     help="failed: exactly the failed jobs of the last regression, with their seeds")
    sub.add_parser("plan")
    sub.add_parser("report", help="rebuild the regression dashboard from what is on disk")
    cov = sub.add_parser("coverage", help="this design's functional coverage, merged over its regressions")
    cov.add_argument("--reset", action="store_true", help="start this design's database again")
    args = parser.parse_args(argv)
    if args.command == "plan":
        return print_plan()
    if args.command == "coverage":
        return print_coverage(args.reset)
    if args.command == "report":
        print(f"dashboard: {_shown(dashboard.build(OUT))}")
        return 0
    if args.rerun:
        return rerun_failed(args.jobs, args.cluster)
    # Ctrl-C and SIGTERM (run_command: also when SIGINT was inherited ignored) before or after the
    # jobs end here; during them run_jobs stops the running jobs and keeps the finished ones.
    return regress(args.seeds, args.jobs, args.tests, args.cluster, args.coverage, args.mode, args.target)


if __name__ == "__main__":
    sys.exit(main())
