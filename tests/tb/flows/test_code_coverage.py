"""Code coverage of the RTL: the coverage build's counters, merged by summing point by point (a
batch's shared file counted once), as line and toggle figures and an lcov file on the Amaranth lines."""

from __future__ import annotations

import subprocess
import sys

from tb import ROOT
from tb.reports import code_coverage


def point(page: str, file: str, line: int, h: str = "TOP.x") -> str:
    return f"\x01t\x02{page.split('/')[0][2:]}\x01page\x02{page}\x01f\x02{file}\x01l\x02{line}\x01h\x02{h}\x01"


def test_merge_sums_points_and_the_figures_count_each_kind(tmp_path):
    a, b = tmp_path / "a.dat", tmp_path / "b.dat"
    code_coverage.write_dat({point("v_line/m", "x.v", 1): 3, point("v_line/m", "x.v", 2): 0,
                             point("v_toggle/m", "x.v", 1): 0}, a)
    code_coverage.write_dat({point("v_line/m", "x.v", 2): 1, point("v_toggle/m", "x.v", 1): 0}, b)
    merged = code_coverage.merge([a, b])
    assert merged[point("v_line/m", "x.v", 2)] == 1 and merged[point("v_line/m", "x.v", 1)] == 3
    f = code_coverage.figures(merged)
    assert f["line"] == {"hit": 2, "points": 2, "percent": 100.0} and f["toggle"]["hit"] == 0
    assert code_coverage.unreached(merged) == []  # every line point hit once merged
    assert code_coverage.unreached(code_coverage.parse(a)) == ["x.v:2 TOP.x (?)"]


def test_the_coverage_build_measures_a_run_on_the_amaranth_lines():
    proc = subprocess.run([sys.executable, "-m", "tb.flows.runner", "sim", "no_td", "--seed", "1", "--coverage",
                           "--no-svg"], cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("code coverage of the RTL in this run"))
    assert "line " in line and "toggle " in line
    info = next(x for x in proc.stdout.splitlines() if "lcov (Amaranth lines)" in x).split(": ", 1)[1].split(";")[0]
    text = (ROOT / info).read_text()
    assert f"SF:{ROOT / 'rtl' / 'seam_sequencer.py'}" in text and "DA:" in text
