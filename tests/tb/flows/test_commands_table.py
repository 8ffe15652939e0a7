"""`make help` prints the command table (the Makefile's own header, so it cannot drift from it), and
`make rtl` writes the design's Verilog under stable names a tool can point at."""

from __future__ import annotations

import re
import subprocess
import sys

from tb import ROOT


def test_make_help_lists_every_user_target():
    out = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60).stdout
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.M)) - {"venv"}
    missing = [t for t in sorted(targets) if not re.search(rf"\bmake {t}\b|\| {t}\b", out)]
    assert not missing, missing


def test_make_rtl_writes_stable_names(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rtl"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for top in ("nmi_top", "nmi_soc"):
        stable = ROOT / "build" / "rtl" / f"{top}.v"
        assert f"module {top}(" in stable.read_text()
        assert f"wrote build/rtl/{top}.v" in proc.stdout
