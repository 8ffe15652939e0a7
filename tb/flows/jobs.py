"""Regression jobs: a test at a seed, bounded and stoppable; the seeds of a test share simulator
processes (``run_job_group``; start-up is paid once per process), each seed judged on its own runs.

The same ``run_job_group`` runs on this machine's process pool (``run_jobs``) and on a Dask
cluster's workers (``tb/flows/cluster.py``), so a job's result does not depend on where it ran,
nor on which seeds shared its process (a test checks the trace hashes agree).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from tb import ROOT

JOB_TIMEOUT_S = 300
SECONDS_PER_BATCHED_SEED = 30  # more time for each further seed a process runs
MAX_SEEDS_PER_PROCESS = 50


@dataclass
class Job:
    test: str
    seed: int
    bugs: tuple = ()
    overlay: str | None = None  # a directory put first on PYTHONPATH (a model mutant)
    tag: str = ""
    mode: str = "interactive"
    fw_bugs: tuple = ()  # deliberate firmware defects (softcore mode)
    coverage: bool = False  # the code-coverage build (make regress COVERAGE=1)
    target: str = "sim"  # softcore mode also runs on the raw harness (TARGET=harness) and the virtual board

    def command(self) -> str:
        return (f"make sim TEST={self.test} SEED={self.seed}" + (f" BUG={','.join(self.bugs)}" if self.bugs else "")
                + (f" MODE={self.mode}" if self.mode != "interactive" else "")
                + (f" TARGET={self.target}" if self.target != "sim" else "")
                + (f" FW_BUG={','.join(self.fw_bugs)}" if self.fw_bugs else ""))


@dataclass
class JobResult:
    job: Job
    ok: bool
    seconds: float
    message: str
    trace_hash: str = ""
    runs: list | None = None
    error_type: str | None = None  # the job itself failed: "crash", "timeout", "infrastructure" (JUnit <error>)
    output_tail: list = field(default_factory=list)  # the job's last output lines (JUnit <system-out>)
    log: str | None = None  # the simulator's log of the job's process
    coverage_dat: str | None = None  # Verilator's coverage counters of the job's process (COVERAGE=1)
    not_applicable: list = field(default_factory=list)  # scenarios this mode does not run, with why (softcore)


def trace_hash(report: dict) -> str:
    traces = [(r.get("outcome") or {}).get("trace") for r in report.get("runs", [])]
    return hashlib.sha256(json.dumps(traces, sort_keys=True).encode()).hexdigest()[:16]


class Stop:
    """Shared by a regression's worker threads: set on Ctrl-C/SIGTERM; running jobs are killed."""

    def __init__(self):
        self.event = threading.Event()
        self.lock = threading.Lock()
        self.running: set[subprocess.Popen] = set()

    def kill_running(self, grace_s: float = 5.0) -> None:
        """Stop every running job's process group (runner, `timeout`, simulator), SIGKILL after ``grace_s``."""
        self.event.set()
        with self.lock:
            procs = list(self.running)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for proc in procs:
                try:
                    os.killpg(proc.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline and any(p.poll() is None for p in procs):
                time.sleep(0.05)


def prepare_builds(modes: set, targets: set = frozenset({"sim"})) -> None:
    """Each mode's and target's Verilator build (and the softcore's firmware) once, before parallel jobs
    could race to make them."""
    from rtl.generate import SOC_TOP_NAME
    from tb.sim.verilator import ensure_build

    ensure_build(quiet=True)
    if "softcore" in modes:
        from tb.sim.firmware import build_firmware

        build_firmware(quiet=True)
        if "sim" in targets:
            ensure_build(quiet=True, top=SOC_TOP_NAME)
        if "harness" in targets:
            from tb.benches.softcore_harness import build

            build()
        if "vboard" in targets:
            from rtl.generate import SOFTCORE_BOARD_NAME
            from tb.benches.vboard import build

            build(top=SOFTCORE_BOARD_NAME)


def run_job(job: Job, workdir: Path, stop: Stop | None = None) -> JobResult | None:
    """One simulator run in its own process, bounded in time; a crash or hang is a failure.

    Returns None when the regression was stopped before or while the job ran (it did not finish).
    """
    results = run_job_group([job], workdir, stop)
    return None if results is None else results[0]


def group_jobs(jobs: list[Job], per_process: int) -> list[list[Job]]:
    """Jobs in groups that share one simulator process: the same test, defects, overlay and tag,
    at most ``per_process`` seeds each (start-up is paid once per group, #15)."""
    groups, open_groups = [], {}
    for job in jobs:
        key = (job.test, job.bugs, job.overlay, job.tag, job.mode, job.fw_bugs, job.coverage, job.target)
        group = open_groups.get(key)
        # A batch of seeds in one process: the interactive and the softcore bench (not program mode's).
        if group is None or len(group) >= (per_process if job.mode in ("interactive", "softcore") else 1):
            group = open_groups[key] = []
            groups.append(group)
        group.append(job)
    return groups


def run_job_group(jobs: list[Job], workdir: Path, stop: Stop | None = None) -> list[JobResult] | None:
    """The seeds of ``jobs`` (one test) in one simulator process; one result per job, judged on that
    seed's own runs. A crash, a hang or a simulator error fails every job of the group (the process
    did not finish cleanly, so none of its seeds is passed). None when the regression was stopped."""
    if stop is not None and stop.event.is_set():
        return None
    first = jobs[0]
    batch = len(jobs) > 1
    name = f"{first.test}-{first.seed}" + (f"-{jobs[-1].seed}" if batch else "") + first.tag
    out = workdir / f"{name}.json"
    out.unlink(missing_ok=True)
    timeout = JOB_TIMEOUT_S + SECONDS_PER_BATCHED_SEED * (len(jobs) - 1)
    env = dict(os.environ, TB_SIM_TIMEOUT=str(timeout - 30))
    args = ["sim", first.test, "--json", str(out), "--no-svg"]
    args += ["--seeds", ",".join(str(j.seed) for j in jobs)] if batch else ["--seed", str(first.seed)]
    if first.overlay:
        # The overlay must come before the working directory on sys.path (cocotb hands the
        # runner's sys.path to the simulator's Python as well).
        boot = (f"import runpy, sys; sys.path.insert(0, {first.overlay!r}); "
                f"sys.argv = ['tb.flows.runner'] + sys.argv[1:]; runpy.run_module('tb.flows.runner', run_name='__main__')")
        cmd = [sys.executable, "-c", boot, *args]
    else:
        cmd = [sys.executable, "-m", "tb.flows.runner", *args]
    for bug in first.bugs:
        cmd += ["--bug", bug]
    if first.mode != "interactive":
        cmd += ["--mode", first.mode]
    if first.target != "sim":
        cmd += ["--target", first.target]
    for bug in first.fw_bugs:
        cmd += ["--fw-bug", bug]
    if first.coverage:
        cmd += ["--coverage"]
    start = time.perf_counter()
    # Its own session: a terminal's Ctrl-C reaches the regression, which stops the jobs itself.
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    if stop is not None:
        # Registered and checked under the lock that kill_running takes after setting the event: a
        # process started while the regression was being stopped is killed here, never left to run
        # its whole batch (Ctrl-C must end the regression within a bounded time).
        with stop.lock:
            stop.running.add(proc)
            stopping = stop.event.is_set()
        if stopping:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            with stop.lock:
                stop.running.discard(proc)
            return None
    def share():  # each job's part of the process's time
        return (time.perf_counter() - start) / len(jobs)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        tail = (output or "").strip().splitlines()[-TAIL_LINES:]
        return [JobResult(j, False, share(), f"timed out after {timeout} s", error_type="timeout", output_tail=tail)
                for j in jobs]
    finally:
        if stop is not None:
            with stop.lock:
                stop.running.discard(proc)
    seconds = share()
    if stop is not None and stop.event.is_set():
        return None  # stopped by the regression: not a result
    tail = output.strip().splitlines()[-TAIL_LINES:]
    if not out.exists():
        return [JobResult(j, False, seconds, f"crashed (exit {proc.returncode}): {' | '.join(tail[-3:])}",
                          error_type="crash", output_tail=tail) for j in jobs]
    try:
        report = json.loads(out.read_text())
    except ValueError as err:
        return [JobResult(j, False, seconds, f"unreadable report {out}: {err}", error_type="infrastructure",
                          output_tail=tail) for j in jobs]
    if not batch:
        return [_judge(first, report, report.get("runs", []), report.get("expected_runs"),
                       bool(report.get("ok")) and proc.returncode == 0, proc.returncode, seconds, tail)]
    expected = {seed: n for seed, n in report.get("expected_runs_per_seed", [])}
    results = []
    for job in jobs:
        runs = [r for r in report.get("runs", []) if r.get("seed") == job.seed]
        results.append(_judge(job, report, runs, expected.get(job.seed), True, proc.returncode, seconds, tail))
    return results


def _judge(job: Job, report: dict, runs: list, expected: int | None, process_ok: bool, returncode: int,
           seconds: float, tail: list | None = None) -> JobResult:
    """A job passes only if the process finished cleanly and every run of its seed ran and passed. A
    run that failed a check is a failure; a job whose runs did not all report, or that failed with
    none of its runs failing, is an error of the job itself."""
    failures = [r["failure"] for r in runs if not r["ok"]]
    complete = expected is not None and len(runs) == expected
    ok = process_ok and not report.get("error") and complete and not failures and bool(runs)
    message = failures[0] if failures else (report.get("error") or "")
    if not ok and not message:
        message = (f"{len(runs)} of {expected} runs completed" if not complete else f"exit {returncode}")
    error_type = None if ok or (failures and complete) else "infrastructure"
    if error_type and failures:
        message = f"{len(runs)} of {expected} runs completed; {message}"
    skipped = [s for s in report.get("not_applicable", []) if s.get("seed", job.seed) == job.seed]
    return JobResult(job, ok, seconds, message, trace_hash({"runs": runs}), runs, error_type, list(tail or []),
                     report.get("log"), report.get("coverage_dat"), skipped)


TAIL_LINES = 60  # a job's output kept for its report (JUnit <system-out>)


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


def run_jobs(jobs: list[Job], parallel: int, workdir: Path, on_result=None, stop: Stop | None = None,
             per_process: int = 1) -> list[JobResult]:
    """Run ``jobs``, up to ``per_process`` seeds of a test in each simulator process; on
    Ctrl-C/SIGTERM stop the running ones, drop the queued ones, and raise ``Interrupted`` carrying
    every result that finished."""
    workdir.mkdir(parents=True, exist_ok=True)
    stop = stop or Stop()
    results = []
    pool = ThreadPoolExecutor(max_workers=parallel)
    try:
        futures = [pool.submit(run_job_group, group, workdir, stop) for group in group_jobs(jobs, per_process)]
        for future in as_completed(futures):
            for result in future.result() or []:
                results.append(result)
                if on_result:
                    on_result(result)
    except KeyboardInterrupt:
        stop.kill_running()
        pool.shutdown(wait=True, cancel_futures=True)
        raise Interrupted(results) from None
    pool.shutdown(wait=True)
    return results


class Interrupted(Exception):
    """The regression was stopped; ``results`` are the jobs that finished before."""

    def __init__(self, results: list[JobResult]):
        super().__init__(f"{len(results)} jobs finished")
        self.results = results
