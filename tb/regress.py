"""Regressions: every test x seeds in parallel, with coverage, JUnit XML and reproduce commands.

    python -m tb.regress run [--seeds N] [--jobs J] [--tests REGEX]
    python -m tb.regress plan          # the testplan with each entry's status from the last regression

Seeded tests (the catalog's ``seeded``) run with seeds 1..N; directed tests, whose stimulus does not
depend on the seed, run once. Each job is one simulator process under a wall-clock bound; its
result is appended to ``results.jsonl`` as it finishes, so an interrupted regression keeps what it
did. At the end the first seed of every seeded test runs again and must give the same trace hash.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "regress"
JOB_TIMEOUT_S = 300


@dataclass
class Job:
    test: str
    seed: int
    bugs: tuple = ()
    overlay: str | None = None  # a directory put first on PYTHONPATH (a model mutant)
    tag: str = ""

    def command(self) -> str:
        return f"make sim TEST={self.test} SEED={self.seed}" + (f" BUG={','.join(self.bugs)}" if self.bugs else "")


@dataclass
class JobResult:
    job: Job
    ok: bool
    seconds: float
    message: str
    trace_hash: str = ""
    runs: list | None = None


def trace_hash(report: dict) -> str:
    traces = [r["outcome"]["trace"] for r in report.get("runs", [])]
    return hashlib.sha256(json.dumps(traces, sort_keys=True).encode()).hexdigest()[:16]


def run_job(job: Job, workdir: Path) -> JobResult:
    """One simulator run in its own process, bounded in time; a crash or hang is a failure."""
    out = workdir / f"{job.test}-{job.seed}{job.tag}.json"
    out.unlink(missing_ok=True)
    env = dict(os.environ, TB_SIM_TIMEOUT=str(JOB_TIMEOUT_S - 30), TB_RUN_TAG=job.tag)
    args = ["sim", job.test, "--seed", str(job.seed), "--json", str(out), "--no-svg"]
    if job.overlay:
        # The overlay must come before the working directory on sys.path (cocotb hands the
        # runner's sys.path to the simulator's Python as well).
        boot = (f"import runpy, sys; sys.path.insert(0, {job.overlay!r}); "
                f"sys.argv = ['tb.runner'] + sys.argv[1:]; runpy.run_module('tb.runner', run_name='__main__')")
        cmd = [sys.executable, "-c", boot, *args]
    else:
        cmd = [sys.executable, "-m", "tb.runner", *args]
    for bug in job.bugs:
        cmd += ["--bug", bug]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=JOB_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return JobResult(job, False, time.perf_counter() - start, f"timed out after {JOB_TIMEOUT_S} s")
    seconds = time.perf_counter() - start
    if not out.exists():
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        return JobResult(job, False, seconds, f"crashed (exit {proc.returncode}): {' | '.join(tail)}")
    report = json.loads(out.read_text())
    failures = [r["failure"] for r in report.get("runs", []) if not r["ok"]]
    message = failures[0] if failures else (report.get("error") or "")
    ok = bool(report.get("ok")) and proc.returncode == 0
    if not ok and not message:
        message = f"exit {proc.returncode}"
    return JobResult(job, ok, seconds, message, trace_hash(report), report.get("runs", []))


class Progress:
    def __init__(self, total: int):
        self.total, self.done, self.failed, self.start = total, 0, 0, time.perf_counter()
        self.tty = sys.stdout.isatty()

    def step(self, result: JobResult) -> None:
        self.done += 1
        self.failed += not result.ok
        if not result.ok:
            print(f"\nFAIL {result.job.test} seed {result.job.seed}: {result.message}\n"
                  f"     reproduce: {result.job.command()}", flush=True)
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        width = 30
        bar = "#" * (width * self.done // self.total) + "." * (width - width * self.done // self.total)
        line = (f"[{bar}] {self.done}/{self.total} failed={self.failed} "
                f"elapsed={elapsed:.0f}s eta={eta:.0f}s")
        if self.tty:
            print("\r" + line, end="", flush=True)
        elif self.done == self.total or self.done % max(1, self.total // 10) == 0:
            print(line, flush=True)


def run_jobs(jobs: list[Job], parallel: int, workdir: Path, on_result=None) -> list[JobResult]:
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = {pool.submit(run_job, job, workdir): job for job in jobs}
        for future in as_completed(futures):
            result = future.result()
            results.append(result)
            if on_result:
                on_result(result)
    return results


def junit_xml(results: list[JobResult]) -> str:
    cases = []
    for r in sorted(results, key=lambda r: (r.job.test, r.job.seed)):
        body = "" if r.ok else (f"<failure message={quoteattr(r.message[:500])}>"
                                f"{escape(r.message)}\nreproduce: {escape(r.job.command())}</failure>")
        cases.append(f'  <testcase classname="tdx_nmi.{r.job.test}" name="seed{r.job.seed}" '
                     f'time="{r.seconds:.3f}">{body}</testcase>')
    failures = sum(not r.ok for r in results)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="regress" tests="{len(results)}" '
            f'failures="{failures}">\n' + "\n".join(cases) + "\n</testsuite>\n")


def summary_table(results: list[JobResult]) -> str:
    rows = [("test", "seeds run", "failed", "first failing seed", "reproduce")]
    for test in sorted({r.job.test for r in results}):
        mine = sorted((r for r in results if r.job.test == test), key=lambda r: r.job.seed)
        failed = [r for r in mine if not r.ok]
        rows.append((test, str(len(mine)), str(len(failed)), str(failed[0].job.seed) if failed else "-",
                     failed[0].job.command() if failed else ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def plan_jobs(seeds: int, tests_regex: str | None) -> list[Job]:
    from tb.catalog import TESTS

    jobs = []
    for name, test in TESTS.items():
        if tests_regex and not re.search(tests_regex, name):
            continue
        for seed in range(1, (seeds if test.seeded else 1) + 1):
            jobs.append(Job(name, seed))
    return jobs


def regress(seeds: int, parallel: int, tests_regex: str | None) -> int:
    from tb import coverage
    from tb.runner import ensure_build

    jobs = plan_jobs(seeds, tests_regex)
    if not jobs:
        print(f"no test matches {tests_regex!r}", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    ensure_build()  # once, before the workers start
    stream = OUT / "results.jsonl"
    stream.write_text("")
    print(f"regression: {len(jobs)} jobs ({seeds} seeds for seeded tests), {parallel} in parallel", flush=True)
    progress = Progress(len(jobs))
    start = time.perf_counter()

    def record(result: JobResult) -> None:
        with stream.open("a") as f:
            f.write(json.dumps({"test": result.job.test, "seed": result.job.seed, "ok": result.ok,
                                "seconds": round(result.seconds, 3), "message": result.message,
                                "trace_hash": result.trace_hash, "reproduce": result.job.command()}) + "\n")
        progress.step(result)

    results = run_jobs(jobs, parallel, OUT / "jobs", record)
    wall = time.perf_counter() - start
    print()

    # The same seed must give the same transactions.
    from tb.catalog import TESTS
    again = [Job(r.job.test, r.job.seed, tag="-again") for r in results
             if r.ok and r.job.seed == 1 and TESTS[r.job.test].seeded]
    repeat = run_jobs(again, parallel, OUT / "jobs")
    first = {(r.job.test, r.job.seed): r.trace_hash for r in results}
    nondeterministic = [r.job for r in repeat if not r.ok or r.trace_hash != first[(r.job.test, r.job.seed)]]

    for r in results:
        for run in r.runs or []:
            coverage.sample_run(run)
    cov = coverage.summary()
    coverage.export(OUT / "coverage.yml")
    (OUT / "coverage.txt").write_text(coverage.report_text(cov) + "\n")
    (OUT / "junit.xml").write_text(junit_xml(results))
    statuses = {}
    for r in results:
        statuses[r.job.test] = statuses.get(r.job.test, True) and r.ok
    runs = sum(len(r.runs or []) for r in results)
    latest = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "tests": statuses, "coverage": cov["total"],
              "jobs": len(results), "runs": runs, "wall_seconds": round(wall, 1),
              "determinism": {"rerun": len(repeat), "differ": [j.test for j in nondeterministic]}}
    (OUT / "latest.json").write_text(json.dumps(latest, indent=1))

    print(summary_table(results))
    print(coverage.report_text(cov))
    print(f"determinism: {len(repeat)} seeded test(s) re-run with their first seed: "
          + ("identical trace hashes" if not nondeterministic else f"DIFFERENT: {[j.test for j in nondeterministic]}"))
    failed = [r for r in results if not r.ok]
    print(f"{len(results)} jobs ({runs} scenario runs) in {wall:.1f} s on {parallel} workers: "
          f"{len(results) - len(failed)} passed, {len(failed)} failed; {60 * len(results) / wall:.1f} jobs/min")
    print(f"wrote {OUT.relative_to(ROOT)}/junit.xml, results.jsonl, coverage.yml, coverage.txt, latest.json")
    for r in failed:
        print(f"reproduce: {r.job.command()}")
    return 1 if failed or nondeterministic else 0


def print_plan() -> int:
    plan = yaml.safe_load((ROOT / "tb" / "testplan.yaml").read_text())
    latest_path = OUT / "latest.json"
    latest = json.loads(latest_path.read_text()) if latest_path.exists() else {"tests": {}}
    from tb.catalog import TESTS

    print(f"testplan ({len(plan['features'])} features); status from the regression of {latest.get('when', 'never')}")
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tb.regress")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--seeds", type=int, default=20)
    run.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    run.add_argument("--tests", default=None, help="regular expression over test names")
    sub.add_parser("plan")
    args = parser.parse_args(argv)
    if args.command == "plan":
        return print_plan()
    return regress(args.seeds, args.jobs, args.tests)


if __name__ == "__main__":
    sys.exit(main())
