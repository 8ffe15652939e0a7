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


def started(*command, env=None, cwd=ROOT):
    """A server in its own process group (make and what it runs), killed as a whole."""
    return subprocess.Popen(list(command), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop_all(procs):
    """Each server's whole process group (make and what it runs)."""
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def scheduler_address(scheduler_file):
    deadline = time.monotonic() + 60
    while not scheduler_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    return json.loads(scheduler_file.read_text())["address"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Started exactly as the README says (make scheduler, make worker), nothing added to the environment."""
    folder = tmp_path_factory.mktemp("dask")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    scheduler_file = folder / "scheduler.json"
    procs = [started("make", "--no-print-directory", "scheduler", "PORT=0", f"SCHEDULER_FILE={scheduler_file}",
                     env=env)]
    deadline = time.monotonic() + 60
    address = scheduler_address(scheduler_file)
    workers = {}
    for name in ("w1", "w2"):
        workers[name] = started("make", "--no-print-directory", "worker", f"SCHEDULER={address}", "THREADS=1",
                                f"NAME={name}", "NANNY=0", env=env)
        procs.append(workers[name])
    from distributed import Client

    with Client(address, timeout=30) as client:
        while len(client.scheduler_info()["workers"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(client.scheduler_info()["workers"]) == 2
    yield address, workers
    stop_all(procs)


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


def test_a_scheduler_that_cannot_import_the_project_is_one_line_saying_how_to_start_it(tmp_path):
    """A scheduler that cannot import the project (started by hand on a machine where it is not on the
    path: here a package named tb that is not the project's comes first) cannot unpickle the
    regression's tasks: the client says so in one line, with the command that works, before
    submitting anything."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    shadow = tmp_path / "elsewhere"
    (shadow / "tb").mkdir(parents=True)
    (shadow / "tb" / "__init__.py").write_text("raise ImportError(\"No module named 'tb'\")\n")
    scheduler_file = tmp_path / "scheduler.json"
    procs = [started(DASK, "scheduler", "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file),
                     env=dict(env, PYTHONPATH=str(shadow)), cwd=tmp_path)]
    try:
        address = scheduler_address(scheduler_file)
        procs.append(started("make", "--no-print-directory", "worker", f"SCHEDULER={address}", "THREADS=1", "NANNY=0",
                             env=env))
        from distributed import Client

        with Client(address, timeout=30) as client:
            deadline = time.monotonic() + 60
            while not client.scheduler_info()["workers"] and time.monotonic() < deadline:
                time.sleep(0.2)
        proc = regress("--seeds", "1", "--tests", "^no_td$", "--cluster", address, timeout=120)
        assert proc.returncode == 2 and "the scheduler cannot import this project" in proc.stderr, proc.stderr
        assert "make scheduler" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    finally:
        stop_all(procs)


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
                    os.killpg(workers[killed].pid, signal.SIGKILL)
                    break
            time.sleep(0.1)
    output, _ = proc.communicate(timeout=900)
    assert killed is not None, output
    assert proc.returncode == 0, output
    assert "retried: the batch" in output, output
    jobs = per_job()
    assert sorted(jobs) == [("random", s) for s in range(1, 9)] and all(ok for ok, _ in jobs.values())
