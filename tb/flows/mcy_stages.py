"""``make mcy``'s stages on each mutant: the formal property set, the simulation campaign, the
equivalence check; and the progress line every stage prints at least every ``PROGRESS_S`` seconds."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from py_model.command import children_of
from tb import ROOT
from tb.flows.mcy_netlist import PREP, yosys
from tb.sim.settings import RunSettings
from tb.stimulus.catalog import KILL_ORDER

RANDOM_SEEDS = [1, 2, 3]
EQ_DEPTH = 12
EQ_SEQ = 4  # equiv_simple/equiv_induct steps
FORMAL_DEPTH = 16  # cycles from reset: a whole SEAMCALL .. SEAMRET round trip and the NMIs around it
# The equivalence check is bounded in steps (EQ_SEQ, EQ_DEPTH), not in seconds: these limits only stop
# a tool run that would not end. A run they stop leaves the mutant UNDECIDED, retried once alone.
EQ_TIMEOUT_S = 240
EQ_RETRY_TIMEOUT_S = 4 * EQ_TIMEOUT_S
UNDECIDED = "undecided"
PROGRESS_S = 10


class Heartbeat:
    """A stage's progress: ``done/total``, the time it has taken and an estimate of the time left,
    printed every ``PROGRESS_S`` seconds while it runs (``count``: how many are done, read each time)."""

    def __init__(self, stage: str, total: int, count):
        self.stage, self.total, self.count, self.start = stage, total, count, time.perf_counter()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join()

    def line(self) -> str:
        done, elapsed = self.count(), time.perf_counter() - self.start
        left = f", about {elapsed / done * (self.total - done):.0f} s left" if done else ""
        return f"  {self.stage}: {done}/{self.total} in {elapsed:.0f} s{left}"

    def _beat(self):
        while not self.stopped.wait(PROGRESS_S):
            print(self.line(), flush=True)


def check_equivalence(folder: Path, index: int, mutation: str, limit: float = EQ_TIMEOUT_S) -> dict:
    """Mutant ``index`` against the original: proved equal, equal to ``EQ_DEPTH`` cycles, a
    counterexample, or ``UNDECIDED``.

    The verdict is bounded in steps (``EQ_SEQ`` steps of induction, ``EQ_DEPTH`` cycles of BMC), so
    it does not depend on the machine's load. ``limit`` (seconds, each tool run) is a safety net
    only: a run it stops gives ``UNDECIDED`` with what was stopped, never a verdict.
    """
    job = folder / "eq" / str(index)
    shutil.rmtree(job, ignore_errors=True)
    job.mkdir(parents=True)
    shutil.copy(folder / "top.il", job / "top.il")
    both = f"{PREP}\ncopy nmi_top gate\nrename nmi_top gold\n{mutation.replace('-module nmi_top', '-module gate')}\n"
    start = time.perf_counter()
    def seconds():
        return round(time.perf_counter() - start, 1)

    def undecided(stopped: str) -> dict:
        return {"equivalence": UNDECIDED, "stopped": stopped, "limit_s": limit, "seconds": seconds()}

    # Yosys' structural equivalence first (registers matched by name, then temporal induction):
    # it proves a local, unobservable change in seconds, unbounded.
    (job / "equiv.ys").write_text(both + "opt -fast gold gate\nequiv_make gold gate equiv\nhierarchy -top equiv\n"
                                  f"equiv_simple -seq {EQ_SEQ}\nequiv_induct -seq {EQ_SEQ}\nequiv_status -assert\n")
    induct_stopped = False
    try:
        proc = _tool([yosys(), "-q", "-s", "equiv.ys"], job, limit)
        if proc.returncode == 0:
            return {"equivalence": "equivalent", "method": "equiv_induct", "seconds": seconds()}
    except subprocess.TimeoutExpired:
        induct_stopped = True

    # Else a BMC of the miter. Optimised first: identical gold and gate cells with the same inputs
    # merge, so only the mutated cone is left twice.
    (job / "miter.ys").write_text(both + "miter -equiv -flatten -make_assert -ignore_gold_x gold gate miter\n"
                                  "hierarchy -top miter\nopt -full\nopt_clean\nwrite_rtlil miter.il\n")
    try:
        proc = _tool([yosys(), "-q", "-s", "miter.ys"], job, limit)
    except subprocess.TimeoutExpired:
        return undecided("building the miter")
    if proc.returncode != 0:
        return {"equivalence": "error", "detail": proc.stderr.strip().splitlines()[-1:]}
    (job / "eq.sby").write_text(f"[options]\nmode bmc\ndepth {EQ_DEPTH}\n\n[engines]\nsmtbmc yices\n\n"
                                "[script]\nread_rtlil miter.il\nprep -top miter\n\n[files]\nmiter.il\n")
    from tb.formal.harness import tool_env

    try:
        run = _tool([str(Path(sys.executable).parent / "yowasp-sby"), "-f", "eq.sby"], job, limit, env=tool_env())
    except subprocess.TimeoutExpired:
        return undecided(f"the BMC to {EQ_DEPTH} cycles")
    log = run.stdout + run.stderr
    if "DONE (FAIL" in log:  # a counterexample is a verdict, whatever the induction would have said
        traces = sorted((job / "eq").rglob("*.vcd"))
        return {"equivalence": "different", "counterexample": _rel(str(traces[0])) if traces else "",
                "seconds": seconds()}
    if "DONE (PASS" in log:
        if induct_stopped:  # proved or only bounded is not known: either answer would depend on the load
            return undecided("equiv_induct (the BMC found no difference to "
                             f"{EQ_DEPTH} cycles)")
        return {"equivalence": f"equivalent (bounded {EQ_DEPTH})", "method": "bmc", "seconds": seconds()}
    return {"equivalence": "error", "detail": log.strip().splitlines()[-3:]}


def _tool(args: list[str], cwd: Path, limit: float, env: dict | None = None) -> subprocess.CompletedProcess:
    """``args`` run in ``cwd``, output captured; past ``limit`` seconds stopped with every process it
    started (SymbiYosys starts smtbmc, smtbmc starts Yices: left running, they would load the machine
    and stop the next checks too) and ``subprocess.TimeoutExpired`` raised."""
    with subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        try:
            out, err = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_tree(proc.pid)
            proc.communicate()
            raise
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def _kill_tree(pid: int) -> None:
    """``pid`` and its descendants, each stopped (SIGSTOP: it can start no more) before its children
    are read, then all killed."""
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            os.kill(p, signal.SIGSTOP)
        except ProcessLookupError:
            continue
        tree.append(p)
        todo += children_of(p)
    for p in tree:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def formal_check(folder: Path, index: int, mutation: str | None) -> dict:
    """Mutant ``index`` (None: the original) under the formal property set: the first property a BMC
    from reset breaks, or none to ``FORMAL_DEPTH`` cycles."""
    from tb.formal.harness import PROPERTIES, FormalHarness, run_sby

    job = folder / "formal" / str(index)
    shutil.rmtree(job, ignore_errors=True)
    job.mkdir(parents=True)
    shutil.copy(folder / "top.il", job / "top.il")
    script = f"{PREP}\n{mutation or ''}\nopt_clean\nwrite_rtlil mutant.il\n"
    proc = subprocess.run([yosys(), "-q", "-p", script.replace("\n", "; ")], cwd=job, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"formal": "error", "detail": proc.stderr.strip().splitlines()[-1:]}
    harness = FormalHarness(props=[p for p in PROPERTIES if p != "aux_invariants"], netlist_module="nmi_top")
    status, seconds, detail = run_sby(job, harness, "bmc", FORMAL_DEPTH, netlists=["mutant.il"])
    if status == "FAIL":
        log = (job / "sby.log").read_text()
        lines = {int(n) for n in re.findall(r"Assert failed in top: \S*harness\.py:(\d+)", log)}
        broken = sorted({harness.assert_lines.get(n, f"line {n}") for n in lines}) or ["?"]
        return {"formal": "killed", "property": ", ".join(broken), "counterexample": _rel(detail),
                "formal_seconds": round(seconds, 1)}
    if status == "PASS":
        return {"formal": f"holds to {FORMAL_DEPTH}", "formal_seconds": round(seconds, 1)}
    return {"formal": status.lower(), "detail": detail[-300:], "formal_seconds": round(seconds, 1)}


def _rel(path: str) -> str:
    return str(Path(path).relative_to(ROOT)) if path and path.startswith(str(ROOT)) else path


def simulate(folder: Path, netlist: Path, mutants: list[int], jobs: int) -> dict[int, dict | None]:
    """The kill campaign on the mutant netlist: one Verilator build, ``jobs`` simulator processes."""
    from tb.sim.verilator import new_run_dir, verified_build, verilator_env

    verilator_env()
    # Yosys marks its case statements parallel_case; a mutant may break that promise, which must be
    # simulated (first match), not stop the simulator and with it every later mutant of the process.
    args = ["-Wno-fatal", "--no-assert-case"]
    key = hashlib.sha256(netlist.read_bytes() + " ".join(args).encode()).hexdigest()[:12]
    build_dir = folder / f"sim-{key}"  # one build per netlist and recipe
    build = dict(sources=[netlist], top="nmi_top", build_dir=build_dir, build_args=args,
                 what=f"the mutant netlist ({netlist.name})", quiet=True)
    verified_build(**build)

    groups = [mutants[i::jobs] for i in range(jobs) if mutants[i::jobs]]
    outs: list[Path] = []  # each process's results, written after every mutant: the progress line reads them

    def run_group(group: list[int]) -> dict:
        runner = verified_build(**build)  # one runner per thread: cocotb's runner keeps per-run state
        run_dir = new_run_dir(folder / "runs", "campaign")
        out = run_dir / "results.json"
        outs.append(out)
        settings = RunSettings(test="mcy_campaign", mutants=tuple(group), kill_tests=tuple(KILL_ORDER),
                               seeds=tuple(RANDOM_SEEDS), results=str(out))
        env = {**settings.to_env(), "PYTHONPATH": str(ROOT), "COCOTB_LOG_LEVEL": "WARNING"}
        try:
            runner.test(test_module="tb.uvm.mcy_campaign", hdl_toplevel="nmi_top", build_dir=build_dir, test_dir=run_dir,
                        extra_env=env, results_xml=str(run_dir / "results.xml"), log_file=run_dir / "sim.log")
        except (Exception, SystemExit):
            pass  # judged by what the results file holds
        got = json.loads(out.read_text()) if out.exists() else {}
        return {int(k): v for k, v in got.items()}

    def simulated() -> int:
        done = 0
        for out in list(outs):
            try:
                done += len(json.loads(out.read_text()))
            except (OSError, ValueError):
                pass  # not written yet, or being replaced
        return done

    results: dict[int, dict | None] = {}
    with Heartbeat("simulation", len(mutants), simulated), ThreadPoolExecutor(max_workers=len(groups) or 1) as pool:
        for got in pool.map(run_group, groups):
            results.update(got)
    return results
