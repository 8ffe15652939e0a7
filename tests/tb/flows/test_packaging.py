"""`pip install .` gives every package and the files they read (scenarios, firmware sources, the C++
harness, Verilator configuration, the JUnit schema); the installed model runs from outside the tree."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

from tb import ROOT


def test_the_wheel_holds_every_package_and_data_file(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    tree = {str(p.relative_to(ROOT)) for top in ("py_model", "rtl", "tb") for p in (ROOT / top).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}
    assert tree <= names, sorted(tree - names)[:10]

    # Installed apart (not the editable checkout) and run from elsewhere: the model's own entry points.
    target = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                           str(wheel)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    env = {**os.environ, "PYTHONPATH": str(target)}
    scenario = target / "tb" / "scenarios" / "spec6_legacy_noinstr_idt.yaml"
    run = subprocess.run([sys.executable, "-c", "import runpy, sys, py_model; print(py_model.__file__); "
                          "sys.argv = ['py_model', 'run', sys.argv[1]]; runpy.run_module('py_model', run_name='__main__')",
                          str(scenario)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert run.stdout.splitlines()[0].startswith(str(target)) and f"PASS    {scenario}" in run.stdout
