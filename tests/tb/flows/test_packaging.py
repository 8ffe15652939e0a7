"""`pip install .` gives every package and the files they read (scenarios, firmware sources, the C++
harness, Verilator configuration, the JUnit schema); installed in a fresh virtual environment, the
model's entry points run from outside the tree."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

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

    # Installed in a fresh virtual environment (with its pinned dependencies) and run from elsewhere.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    # Nothing of the checkout on the path (a build leaves its egg-info there, which pip would take for
    # the installed project).
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-2000:]
    site = subprocess.run([str(python), "-c", "import py_model; print(py_model.__file__)"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120).stdout.strip()
    assert site.startswith(str(venv)), site
    scenario = Path(site).parent.parent / "tb" / "scenarios" / "spec6_legacy_noinstr_idt.yaml"
    for args in (["run", str(scenario)], ["explore", "--max-nmis", "1"]):
        run = subprocess.run([str(python), "-m", "py_model", *args], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=300)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "interleavings/s" in run.stdout
