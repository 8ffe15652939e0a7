"""OUT= never damages the path it was given (issue 24): a device stays a device, a FIFO's reader
gets the whole text, a symlink stays a link with its target updated, a full device is a one-line
error and a non-zero exit. Device nodes are made with mknod in a temporary folder (CI runs as
root); no test touches the real /dev.
"""

import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading

import pytest

from conftest import ROOT, SCENARIO_DIR
from py_model.atomic import OutputError, out_problem, write_output

SCENARIO = SCENARIO_DIR / "a1_host_nmi_no_td.yaml"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a character device needs root (CI runs as root)")


def device(folder, name, minor):
    """A copy of /dev/null (1, 3) or /dev/full (1, 7) in ``folder``."""
    path = folder / name
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    return path


def make_model(out):
    return subprocess.run(["make", "--no-print-directory", "model", f"FILE={SCENARIO}", f"OUT={out}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def ours(stderr):
    """The command's own error lines (make's "make[1]: *** ... Error 1" is make's)."""
    return [line for line in stderr.splitlines() if not re.match(r"make(\[\d+\])?:", line)]


def fifo_reader(path):
    """A reader on the FIFO in a thread; returns (thread, list that receives what it read)."""
    got = []
    thread = threading.Thread(target=lambda: got.append(path.read_bytes()), daemon=True)
    thread.start()
    return thread, got


# ----- the function ----------------------------------------------------------------------
def test_regular_and_missing_files_are_replaced_whole(tmp_path):
    out = tmp_path / "o.json"
    write_output(out, "one")
    write_output(out, "two")
    assert out.read_text() == "two" and sorted(p.name for p in tmp_path.iterdir()) == ["o.json"]


@needs_root
def test_a_device_is_written_in_place_and_stays_a_device(tmp_path):
    null = device(tmp_path, "null", 3)
    write_output(null, "discarded")
    assert stat.S_ISCHR(null.lstat().st_mode)
    full = device(tmp_path, "full", 7)
    with pytest.raises(OutputError) as err:
        write_output(full, "x" * 100)
    assert str(err.value) == f"cannot write {full}: no space left on device"
    assert stat.S_ISCHR(full.lstat().st_mode)


def test_a_fifo_reader_gets_the_whole_text(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    text = "y" * 300_000  # more than a pipe's buffer: written as the reader reads
    thread, got = fifo_reader(fifo)
    write_output(fifo, text)
    thread.join(10)
    assert got == [text.encode()] and stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_fifo_without_reader_is_an_error_not_a_hang(tmp_path, monkeypatch):
    import py_model.atomic as atomic

    monkeypatch.setattr(atomic, "FIFO_WAIT_SECONDS", 0.3)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="no reader opened the FIFO"):
        write_output(fifo, "lost")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_socket_listener_gets_the_whole_text(tmp_path):
    path = tmp_path / "sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    got = []

    def serve():
        conn, _ = server.accept()
        with conn:
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
            got.append(b"".join(chunks))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    write_output(path, "z" * 100_000)
    thread.join(10)
    server.close()
    assert got == [b"z" * 100_000] and stat.S_ISSOCK(path.lstat().st_mode)


def test_a_symlink_stays_and_its_target_is_written(tmp_path):
    target, link, chain = tmp_path / "target.json", tmp_path / "link", tmp_path / "chain"
    target.write_text("old")
    link.symlink_to(target)
    chain.symlink_to(link)  # a link to a link: followed to the end
    write_output(chain, "new")
    assert link.is_symlink() and chain.is_symlink() and target.read_text() == "new"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "made.json")  # a link to nothing yet: the target is created
    write_output(dangling, "made")
    assert dangling.is_symlink() and (tmp_path / "made.json").read_text() == "made"


def test_a_directory_is_refused_before_and_at_the_write(tmp_path):
    assert out_problem(tmp_path) == "is a directory; give a file name"
    with pytest.raises(OutputError, match="is a directory"):
        write_output(tmp_path, "x")
    link = tmp_path / "to_dir"
    link.symlink_to(tmp_path)
    assert out_problem(link) == "is a directory; give a file name"


# ----- the user's commands -------------------------------------------------------------
@needs_root
def test_make_model_out_to_a_null_device_discards_and_keeps_the_device(tmp_path):
    null = device(tmp_path, "null", 3)
    proc = make_model(null)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISCHR(null.lstat().st_mode) and os.major(null.lstat().st_rdev) == 1


@needs_root
def test_make_model_out_to_a_full_device_fails_with_one_line(tmp_path):
    full = device(tmp_path, "full", 7)
    proc = make_model(full)
    assert proc.returncode != 0
    assert ours(proc.stderr) == [f"error: cannot write {full}: no space left on device"], proc.stderr
    assert stat.S_ISCHR(full.lstat().st_mode)


def test_make_model_out_to_a_fifo_and_a_symlink(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    thread, got = fifo_reader(fifo)
    proc = make_model(fifo)
    thread.join(10)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(got[0])["scenario"] == "a1_host_nmi_no_td" and stat.S_ISFIFO(fifo.lstat().st_mode)
    target, link = tmp_path / "target.json", tmp_path / "link.json"
    link.symlink_to(target)
    proc = make_model(link)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and json.loads(target.read_text())["scenario"] == "a1_host_nmi_no_td"


@needs_root
def test_make_scenario_and_make_sim_out_keep_a_device_and_fail_on_a_full_one(tmp_path):
    null, full = device(tmp_path, "null", 3), device(tmp_path, "full", 7)
    common = ["make", "--no-print-directory"]
    ok = subprocess.run([*common, "scenario", f"FILE={SCENARIO}", f"OUT={null}"], cwd=ROOT, capture_output=True,
                        text=True, timeout=600)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert stat.S_ISCHR(null.lstat().st_mode)
    bad = subprocess.run([*common, "sim", "TEST=no_td", "SEED=1", f"OUT={full}"], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert bad.returncode != 0
    assert ours(bad.stderr) == [
        f"error: cannot write {full}: no space left on device"], bad.stderr
    assert stat.S_ISCHR(full.lstat().st_mode)


def test_make_sim_out_writes_every_run(tmp_path):
    out = tmp_path / "runs.json"
    proc = subprocess.run([sys.executable, "-m", "tb.flows.runner", "sim", "no_td", "--seed", "1", "--no-svg",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = json.loads(out.read_text())
    assert isinstance(runs, list) and runs and all(r["ok"] for r in runs)
