"""From a failing row to the cycle in the waves (issue: debugging as a verification engineer does it).

A deliberate defect run with waves in each mode must leave: a failure line naming the dump, the
absolute time and the run; a dump whose signals carry the design's names and change as the run did,
in which that time is the failing edge of that run (``tb_run``); a GTKWave view naming only signals
the dump holds, which GTKWave itself opens; and a timeline per run with the first difference marked.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tb import ROOT

LOCATION = re.compile(r"first difference at ([\d,]+) ns \(cycle (\d+) of run (\d+)/(\d+)\) in (\S+)")
GTKWAVE = shutil.which("gtkwave") and shutil.which("xvfb-run")


def run_with_waves(mode: str, fmt: str = "") -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if fmt:
        env["TB_WAVES_FORMAT"] = fmt
    proc = subprocess.run([sys.executable, "-m", "tb.flows.runner", "sim", "nmi_seamret", "--seed", "5", "--waves",
                           "--bug", "seamret_always_restore", "--mode", mode], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def variables(dump: Path) -> dict:
    import pywellen

    return {v.full_name: v for v in pywellen.Waveform(str(dump)).all_vars()}


def one(found: dict, suffix: str):
    names = sorted((n for n in found if n.endswith(suffix)), key=lambda n: n.count("."))
    assert names, f"no signal named *{suffix} in the dump"
    return found[names[0]]


def changes(var, end_ps: int, step_ps: int = 5_000) -> bool:
    values = {var.signal.value_at(t) for t in range(0, end_ps, step_ps)}
    return len(values - {None}) > 1


def check_gtkwave_opens(dump: Path, view: Path, tmp_path: Path) -> None:
    script = tmp_path / "quit.tcl"
    script.write_text("puts \"traces [gtkwave::getTotalNumTraces]\"\ngtkwave::/File/Quit\n")
    proc = subprocess.run(["xvfb-run", "-a", "gtkwave", "-S", str(script), str(dump), str(view)],
                          capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "parse error" not in out.lower(), out[-2000:]
    shown = int(re.search(r"traces (\d+)", out).group(1))
    assert shown > 20, out[-2000:]


@pytest.mark.parametrize("mode,fmt", [("interactive", ""), ("interactive", "vcd"), ("program", ""), ("softcore", "")])
def test_a_failure_leads_to_its_edge_in_the_waves(mode, fmt, tmp_path):
    out = run_with_waves(mode, fmt)
    locations = LOCATION.findall(out)
    assert locations, out[-3000:]
    dump = ROOT / locations[0][4]
    from tb.sim.verilator import trace_format

    # FST where lz4's header is there (CI installs it), VCD otherwise or when forced.
    assert dump.suffix == (".vcd" if fmt == "vcd" else "." + trace_format()[1]) and dump.exists()
    found = variables(dump)

    # The design's names only: no "$..." identifier, no anonymous "_<n>_" net, no "$rootio" scope.
    odd = [n for n in found if any(part.startswith("$") or re.fullmatch(r"_\d+_", part) for part in n.split("."))]
    assert not odd, odd[:5]
    run_index = one(found, "_bench.tb_run")
    end_ps = max(int(t.replace(",", "")) for t, *_ in locations) * 1000 + 1_000_000
    for name in ("seq.phase", "nmi_ctl.latch", "status__blocked", ".ev__deliver"):
        assert changes(one(found, name), end_ps), f"{name} never changes"
    if mode == "softcore":
        assert changes(one(found, "cpu.lastStagePc"), end_ps, 1_000), "the CPU's PC never changes"

    # Each failure line's time is the failing edge (a SEAMRET that released NMIs) of the run it names.
    seamret, blocked = one(found, ".ev__seamret"), one(found, ".ev__seamret_blocked")
    for time_ns, _cycle, run, runs, _ in locations:
        t = int(time_ns.replace(",", "")) * 1000
        assert run_index.signal.value_at(t) == int(run) and int(run) <= int(runs)
        assert seamret.signal.value_at(t) == 1 and blocked.signal.value_at(t) == 0, (mode, time_ns)

    # The view names only what the dump holds, grouped by block, phase translated; GTKWave opens it.
    view = dump.with_name("view.gtkw")
    text = view.read_text()
    traces = [line for line in text.splitlines() if line and line[0] not in "@-^[*"]
    plain = {re.sub(r"\[\d+:0\]$", "", t) for t in traces}
    assert plain <= set(found), sorted(plain - set(found))[:5]
    for group in ("-SEAM sequencer", "-NMI controller", "-events", "-bench") + (("-CPU",) if mode == "softcore" else ()):
        assert group in text
    assert "phase.gtkw-filter" in text and len((dump.parent / "phase.gtkw-filter").read_text().splitlines()) == 6
    if GTKWAVE:
        check_gtkwave_opens(dump, view, tmp_path)

    # The timeline of the first failing run: reference above RTL (or firmware), the difference marked.
    svg = re.search(r"^timeline: (\S+)$", out, re.M)
    assert svg, out[-2000:]
    picture = (ROOT / svg.group(1)).read_text()
    assert ">reference<" in picture and ("firmware" if mode == "softcore" else ">RTL<") in picture
    assert f"first difference @{locations[0][1]}" in picture


@pytest.mark.skipif(not GTKWAVE, reason="GTKWave or xvfb-run not installed (Debian: gtkwave xvfb); CI installs them")
def test_gtkwave_refuses_what_the_dumps_no_longer_contain(tmp_path):
    """The check above can fail: GTKWave refuses a dump with a Yosys auto-name (what the dumps held)."""
    bad = tmp_path / "bad.vcd"
    bad.write_text("$timescale 1ps $end\n$scope module top $end\n$var wire 1 ! $auto$verilog_backend.cc:1$1 $end\n"
                   "$upscope $end\n$enddefinitions $end\n#0\n0!\n#10\n1!\n")
    view = tmp_path / "empty.gtkw"
    view.write_text("")
    with pytest.raises(AssertionError, match="parse error"):
        check_gtkwave_opens(bad, view, tmp_path)


def test_generated_verilog_has_no_anonymous_names():
    from rtl.generate import PROGRAM_TOP_NAME, SOC_TOP_NAME, TOP_NAME, hide_anonymous, verilog_text

    for top in (TOP_NAME, PROGRAM_TOP_NAME, SOC_TOP_NAME):
        text = verilog_text(top=top)
        assert not re.search(r"\\\$", text), top
    assert hide_anonymous("wire \\$1 ;\nassign \\$1 = _0_;\nwire \\$auto$x:1$2 ;") == \
        "wire _1_ ;\nassign _1_ = _0_;\nwire _2_ ;"


def test_the_soak_on_the_simulator_leaves_waves_that_open(tmp_path):
    """The soak core (the firmware under an NMI storm) with waves: the design's names, the CPU's PC."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "tb.flows.soak", "--target", "sim", "--seconds", "1", "--config",
                           "fixed-noinstr", "--waves"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    found_line = re.search(r"open the waves: gtkwave (\S+) (\S+)", proc.stdout)
    assert found_line, proc.stdout[-2000:] + proc.stderr[-2000:]
    dump, view = ROOT / found_line.group(1), Path(found_line.group(2))
    found = variables(dump)
    odd = [n for n in found if any(part.startswith("$") or re.fullmatch(r"_\d+_", part) for part in n.split("."))]
    assert not odd, odd[:5]
    assert changes(one(found, "cpu.lastStagePc"), 200_000_000, 1_000)
    assert changes(one(found, "seq.phase"), 2_000_000_000, 100_000)
    if GTKWAVE:
        check_gtkwave_opens(dump, view if view.is_absolute() else ROOT / view, tmp_path)
