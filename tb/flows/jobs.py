"""One regression job: a test at a seed in its own simulator process, bounded, stoppable.

The same ``run_job`` runs on this machine's process pool (``run_jobs``) and on a Dask cluster's
workers (``tb/flows/cluster.py``), so a job's result does not depend on where it ran.
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
from dataclasses import dataclass
from pathlib import Path

from tb import ROOT

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


def run_job(job: Job, workdir: Path, stop: Stop | None = None) -> JobResult | None:
    """One simulator run in its own process, bounded in time; a crash or hang is a failure.

    Returns None when the regression was stopped before or while the job ran (it did not finish).
    """
    if stop is not None and stop.event.is_set():
        return None
    out = workdir / f"{job.test}-{job.seed}{job.tag}.json"
    out.unlink(missing_ok=True)
    env = dict(os.environ, TB_SIM_TIMEOUT=str(JOB_TIMEOUT_S - 30))
    args = ["sim", job.test, "--seed", str(job.seed), "--json", str(out), "--no-svg"]
    if job.overlay:
        # The overlay must come before the working directory on sys.path (cocotb hands the
        # runner's sys.path to the simulator's Python as well).
        boot = (f"import runpy, sys; sys.path.insert(0, {job.overlay!r}); "
                f"sys.argv = ['tb.flows.runner'] + sys.argv[1:]; runpy.run_module('tb.flows.runner', run_name='__main__')")
        cmd = [sys.executable, "-c", boot, *args]
    else:
        cmd = [sys.executable, "-m", "tb.flows.runner", *args]
    for bug in job.bugs:
        cmd += ["--bug", bug]
    start = time.perf_counter()
    # Its own session: a terminal's Ctrl-C reaches the regression, which stops the jobs itself.
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    if stop is not None:
        with stop.lock:
            stop.running.add(proc)
    try:
        output, _ = proc.communicate(timeout=JOB_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return JobResult(job, False, time.perf_counter() - start, f"timed out after {JOB_TIMEOUT_S} s")
    finally:
        if stop is not None:
            with stop.lock:
                stop.running.discard(proc)
    seconds = time.perf_counter() - start
    if stop is not None and stop.event.is_set():
        return None  # stopped by the regression: not a result
    if not out.exists():
        tail = output.strip().splitlines()[-3:]
        return JobResult(job, False, seconds, f"crashed (exit {proc.returncode}): {' | '.join(tail)}")
    try:
        report = json.loads(out.read_text())
    except ValueError as err:
        return JobResult(job, False, seconds, f"unreadable report {out}: {err}")
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


def run_jobs(jobs: list[Job], parallel: int, workdir: Path, on_result=None, stop: Stop | None = None) -> list[JobResult]:
    """Run ``jobs``; on Ctrl-C/SIGTERM stop the running ones, drop the queued ones, and raise
    ``Interrupted`` carrying every result that finished."""
    workdir.mkdir(parents=True, exist_ok=True)
    stop = stop or Stop()
    results = []
    pool = ThreadPoolExecutor(max_workers=parallel)
    try:
        futures = [pool.submit(run_job, job, workdir, stop) for job in jobs]
        for future in as_completed(futures):
            result = future.result()
            if result is not None:
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
