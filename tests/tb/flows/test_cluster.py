"""`make regress CLUSTER=...` on a real Dask scheduler and two worker processes on this machine:
the same per-job results as the local runner, a killed worker's batch retried, clear refusals."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT

PY = sys.executable
DASK = os.path.join(os.path.dirname(PY), "dask")
RESULTS = ROOT / "build" / "regress" / "results.jsonl"
LATEST = ROOT / "build" / "regress" / "latest.json"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dask")
    env = dict(os.environ, PYTHONPATH=str(ROOT), DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="1")
    scheduler_file = folder / "scheduler.json"
    procs = [subprocess.Popen([DASK, "scheduler", "--port", "0", "--no-dashboard", "--scheduler-file",
                               str(scheduler_file)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    deadline = time.monotonic() + 60
    while not scheduler_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    address = json.loads(scheduler_file.read_text())["address"]
    workers = {}
    for name in ("w1", "w2"):
        workers[name] = subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                          "--name", name], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        procs.append(workers[name])
    from distributed import Client

    with Client(address, timeout=30) as client:
        while len(client.scheduler_info()["workers"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(client.scheduler_info()["workers"]) == 2
    yield address, workers
    for proc in procs:
        proc.kill()
        proc.wait()


def regress(*args, timeout=900):
    return subprocess.run([PY, "-m", "tb.flows.regress", "run", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def per_job():
    return {(r["test"], r["seed"]): (r["ok"], r["trace_hash"]) for r in map(json.loads, RESULTS.read_text().splitlines())}


def test_cluster_gives_the_local_results(cluster):
    address, _ = cluster
    local = regress("--seeds", "3", "--jobs", "2", "--tests", "^(no_td|random)$")
    assert local.returncode == 0, local.stdout + local.stderr
    local_jobs, local_cov = per_job(), json.loads(LATEST.read_text())["coverage"]
    remote = regress("--seeds", "3", "--tests", "^(no_td|random)$", "--cluster", address)
    assert remote.returncode == 0, remote.stdout + remote.stderr
    assert "on the Dask cluster" in remote.stdout and "2 cluster workers" in remote.stdout
    assert per_job() == local_jobs and len(local_jobs) == 4  # trace hashes job for job
    assert json.loads(LATEST.read_text())["coverage"] == local_cov


def test_a_worker_refuses_a_different_clone(cluster):
    from distributed import Client

    from tb.flows.cluster import run_batch

    address, _ = cluster
    with Client(address, timeout=30) as client:
        future = client.submit(run_batch, "x" * 32, [], {"rtl": "000000000000", "code": "0" * 16}, "stop-none",
                               pure=False)
        with pytest.raises(RuntimeError, match="refused the batch: its clone differs"):
            future.result(timeout=120)


def test_an_unreachable_scheduler_is_a_bounded_error():
    start = time.monotonic()
    proc = regress("--seeds", "1", "--tests", "^no_td$", "--cluster", "tcp://127.0.0.1:9", timeout=120)
    assert proc.returncode == 2 and "no Dask scheduler answered" in proc.stderr, proc.stderr
    assert time.monotonic() - start < 60 and "Traceback" not in proc.stderr


def test_a_killed_worker_is_retried_and_every_job_accounted_for(cluster):
    """Runs last: it kills one of the two workers."""
    address, workers = cluster
    from distributed import Client

    proc = subprocess.Popen([PY, "-m", "tb.flows.regress", "run", "--seeds", "8", "--tests", "^random$", "--cluster",
                             address], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed = None
    with Client(address, timeout=30) as client:
        deadline = time.monotonic() + 300
        while killed is None and time.monotonic() < deadline and proc.poll() is None:
            info = client.scheduler_info()["workers"]
            for addr, keys in client.processing().items():
                if any("regress-batch" in str(k) for k in keys) and addr in info:
                    time.sleep(1.5)  # into the batch: a simulator is running
                    killed = info[addr]["name"]
                    workers[killed].send_signal(signal.SIGKILL)
                    break
            time.sleep(0.1)
    output, _ = proc.communicate(timeout=900)
    assert killed is not None, output
    assert proc.returncode == 0, output
    assert "retried: the batch" in output, output
    jobs = per_job()
    assert sorted(jobs) == [("random", s) for s in range(1, 9)] and all(ok for ok, _ in jobs.values())
