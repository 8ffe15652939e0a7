"""Regressions on a Dask cluster (``make regress CLUSTER=tcp://host:8786``).

The client submits batches of the same jobs the local runner runs (``jobs.run_job_group``: a
test's seeds share one simulator process, each judged alone) to a Dask scheduler; each batch
runs on one worker, in that worker's clone of the project, and its results stream back as it
ends into the same files, coverage and summary as a local run. Every failure prints the local
``make sim TEST=... SEED=...``.

- A worker checks first that its clone is the client's: the RTL hash and a hash of the Python
  sources (model, testbench, RTL) must both match, else the batch is refused with the reason.
  It builds the Verilator model once per RTL hash into its own cache (``tb/sim/build_cache.py``).
- A worker killed mid-batch: the scheduler runs the batch again on another worker (Dask's own
  rescheduling; start the scheduler with ``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1`` so a
  batch that kills two workers is a recorded failure, not retried forever). Retries are counted
  from the batches' start events in the scheduler's event log and reported.
- An unreachable scheduler is an error within ``CONNECT_TIMEOUT_S``. Ctrl-C cancels the cluster's
  batches, tells running ones to stop their simulators, and keeps every finished result.
"""

from __future__ import annotations

import hashlib
import math
import threading
import uuid

from tb import ROOT
from tb.flows.jobs import MAX_SEEDS_PER_PROCESS, Interrupted, Job, JobResult, Stop, group_jobs, run_job_group

CONNECT_TIMEOUT_S = 15
# Run on the scheduler and the workers (``eval`` and a string travel by reference and value): this module.
IMPORT_PROBE = "__import__('importlib').import_module('tb.flows.cluster').__name__"
PROBE_ANSWER = "tb.flows.cluster"
EVENT_TOPIC = "tdx-nmi-regress"


class ClusterError(Exception):
    """The cluster cannot be used (unreachable scheduler, no workers)."""


def fingerprint() -> dict:
    """What a worker's clone must share with the client's: the RTL, every Python source and the firmware's."""
    from rtl.generate import generate

    _, rtl_hash = generate()
    h = hashlib.sha256()
    for folder in ("py_model", "tb", "rtl"):
        for path in sorted(p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".c", ".h")):
            h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return {"rtl": rtl_hash, "code": h.hexdigest()[:16]}


def run_batch(batch_id: str, jobs: list[Job], client: dict, stop_name: str) -> list[JobResult]:
    """Runs on a worker: refuse a different clone, build once, run the jobs, stop when told."""
    from distributed import Event, get_worker

    worker = get_worker()
    worker.log_event(EVENT_TOPIC, {"batch": batch_id, "worker": worker.address, "state": "start"})
    mine = fingerprint()
    if mine != client:
        raise RuntimeError(f"worker {worker.address} refused the batch: its clone differs from the client's "
                           f"(rtl {mine['rtl']} vs {client['rtl']}, sources {mine['code']} vs {client['code']}); "
                           "run the same commit on every worker")
    from tb.flows.jobs import prepare_builds
    from tb.sim.verilator import new_run_dir

    # once per RTL hash (and firmware) in this worker's clone
    prepare_builds({j.mode for j in jobs}, {j.target for j in jobs})
    workdir = new_run_dir(ROOT / "build" / "regress" / "cluster", f"batch-{batch_id[:8]}")
    stop, stop_event, finished = Stop(), Event(stop_name), threading.Event()

    def watch() -> None:  # the client's Ctrl-C reaches running simulators through this event
        while not finished.is_set():
            try:
                if stop_event.wait(timeout=1):
                    stop.kill_running()
                    return
            except Exception:  # noqa: BLE001 - the scheduler went away: the batch ends on its own
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        results = []
        for group in group_jobs(jobs, MAX_SEEDS_PER_PROCESS):  # a test's seeds share a simulator process
            group_results = run_job_group(group, workdir, stop)
            if group_results is None:
                break  # stopped: the rest of the batch did not run
            results += group_results
        return results
    finally:
        finished.set()


def connect(address: str):
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as err:
        raise ClusterError(f"CLUSTER={address}: no Dask scheduler answered within {CONNECT_TIMEOUT_S} s ({err})") from None
    workers = client.scheduler_info().get("workers", {})
    if not workers:
        client.close()
        raise ClusterError(f"CLUSTER={address}: the scheduler has no workers (start some with "
                           f"`make worker SCHEDULER={address}`)")
    # The scheduler and every worker unpickle the regression's tasks, which name this project's code:
    # each must import it (started by make scheduler / make worker from a clone, which put it on the path).
    try:
        client.run_on_scheduler(eval, IMPORT_PROBE)
    except Exception as err:  # noqa: BLE001 - whatever the scheduler raised: say what to do
        client.close()
        raise ClusterError(f"CLUSTER={address}: the scheduler cannot import this project ({type(err).__name__}: "
                           f"{str(err).splitlines()[0][:120]}); start it with `make scheduler` from a clone") from None
    answers = client.run(eval, IMPORT_PROBE, on_error="return")
    blind = sorted(addr for addr, answer in answers.items() if answer != PROBE_ANSWER)
    if blind:
        client.close()
        raise ClusterError(f"CLUSTER={address}: worker {blind[0]} cannot import this project; start workers with "
                           f"`make worker SCHEDULER={address}` from a clone of the same commit")
    return client


def run_jobs_on_cluster(client, jobs: list[Job], on_result=None, batch_size: int | None = None) -> tuple[list, dict]:
    """Run ``jobs`` on the cluster in batches; return (results, stats). Raises ``Interrupted`` on
    Ctrl-C with the results that finished; a batch that failed (refused, or killed its workers)
    becomes a failed result for each of its jobs, with the reason."""
    from distributed import Event, as_completed

    workers = len(client.scheduler_info()["workers"])
    size = batch_size or max(1, math.ceil(len(jobs) / (4 * workers)))  # ~4 batches per worker
    batches = {uuid.uuid4().hex: jobs[i:i + size] for i in range(0, len(jobs), size)}
    me = fingerprint()
    stop_name = f"tdx-nmi-stop-{uuid.uuid4().hex}"
    futures = {client.submit(run_batch, bid, batch, me, stop_name, key=f"regress-batch-{bid}", pure=False): bid
               for bid, batch in batches.items()}
    results: list[JobResult] = []
    try:
        for future in as_completed(futures):
            bid = futures[future]
            try:
                batch_results = future.result()
            except Exception as err:  # noqa: BLE001 - a refused batch, or one that killed its workers
                reason = f"{type(err).__name__}: {err}".splitlines()[0][:400]
                batch_results = [JobResult(job, False, 0.0, f"cluster: {reason}") for job in batches[bid]]
            for result in batch_results:
                results.append(result)
                if on_result:
                    on_result(result)
    except KeyboardInterrupt:
        Event(stop_name, client=client).set()  # running batches stop their simulators
        client.cancel(list(futures))
        raise Interrupted(results) from None
    starts: dict[str, list[str]] = {}
    for _, event in client.get_events(EVENT_TOPIC):
        if isinstance(event, dict) and event.get("batch") in batches and event.get("state") == "start":
            starts.setdefault(event["batch"], []).append(event["worker"])
    retried = {bid: workers_ for bid, workers_ in starts.items() if len(workers_) > 1}
    stats = {"workers": workers, "batches": len(batches), "batch_size": size,
             "retried": [{"jobs": [f"{j.test}:{j.seed}" for j in batches[b]], "workers": w} for b, w in retried.items()]}
    return results, stats
