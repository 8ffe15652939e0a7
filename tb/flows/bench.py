"""``make bench``: simulated cycles/s of four ways of running the same workload, and their ratios.

(a) the model alone, (b) cocotb + pyuvm interactive (Python reacts at the design's events and where the
session acts; the per-cycle STRICT=1 bench beside it, with the same rows required), (c) cocotb program
mode (the host engine plays compiled programs; Python loads them and reads traces), (d) the raw
Verilator C++ harness running the same programs. All on the same RTL and the same scenarios, in one
command; each figure is simulated cycles divided by the time of that way's simulation (cocotb's
start-up and the one-time builds are left out and reported apart).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from py_model import run_model
from py_model.atomic import write_output
from tb import ROOT

ENTRIES = 30
SOFTCORE_RAW_S = 5  # seconds of the soak core on raw Verilator (the softcore's raw figure)
NIGHTLY_SEEDS = 1000
NIGHTLY_TARGET_S = 600


def nightly(mode: str = "interactive", target: str = "sim") -> tuple[bool, str]:
    """``make regress SEEDS=1000 TESTS=random JOBS=2 [MODE=softcore [TARGET=harness]]`` as its own process,
    timed; its figures come from the regression's own summary (build/regress/latest.json)."""
    from tb import ROOT

    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tb.flows.regress", "run", "--seeds", str(NIGHTLY_SEEDS),
                           "--tests", "^random$", "--jobs", "2", "--mode", mode, "--target", target], cwd=ROOT,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        tail = " | ".join(proc.stdout.strip().splitlines()[-3:])
        return False, f"the regression failed (exit {proc.returncode}): {tail}"
    latest = json.loads((ROOT / "build" / "regress" / "latest.json").read_text())
    return wall <= NIGHTLY_TARGET_S, (f"{wall:.0f} s wall: {latest['jobs']} jobs, {latest['runs']} scenario runs, "
                                      f"{latest['runs'] / wall:.1f} runs/s")


def main(argv=None) -> int:
    from tb.flows.cli import run_command

    return run_command(lambda: _main(argv), interrupted="the figures measured so far are above")


def _main(argv=None) -> int:
    from tb.flows.cli import OneLineParser

    OneLineParser(prog="make bench", description="speed: the model, the four ways of running, the targets "
                  "(NIGHTLY=1 in the environment adds the 1000-seed nightly)").parse_args(argv)
    from rtl.generate import PROGRAM_TOP_NAME
    from tb.benches import cpp_harness
    from tb.protocol.program import compile_scenario
    from tb.sim.verilator import ensure_build, run_test
    from tb.stimulus import catalog

    scenarios = catalog.bench_scenarios()

    start = time.perf_counter()
    model_cycles = sum(run_model(s).cycles for s in scenarios)
    model_s = time.perf_counter() - start

    ensure_build(quiet=True)
    ensure_build(quiet=True, top=PROGRAM_TOP_NAME, hdl_clock=True)
    compiled = [compile_scenario(s) for s in scenarios]
    cpp_harness.build()

    figures, reports = {}, {}
    for mode in ("interactive", "strict", "program"):
        report = run_test("bench", 1, quiet=True, mode="interactive" if mode == "strict" else mode,
                          strict=mode == "strict")
        if report["error"] or not all(r["ok"] for r in report["runs"]):
            print(f"bench: the {mode} run failed: {report['error']}", file=sys.stderr)
            return 1
        figures[mode], reports[mode] = (report["cycles"], report["seconds"], report["wall_seconds"]), report
        if mode == "program":
            split = report["split"]
    if [r["outcome"] for r in reports["interactive"]["runs"]] != [r["outcome"] for r in reports["strict"]["runs"]]:
        print("bench: the event-driven and the per-cycle interactive runs differ", file=sys.stderr)
        return 1
    library = run_test("library", 1, quiet=True)
    if library["error"] or not all(r["ok"] for r in library["runs"]):
        print(f"bench: the library run failed: {library['error']}", file=sys.stderr)
        return 1
    softcore = run_test("nmi_seamret", 1, quiet=True, mode="softcore")
    softcore_strict = run_test("nmi_seamret", 1, quiet=True, mode="softcore", strict=True)
    for run, how in ((softcore, "event-driven"), (softcore_strict, "per-cycle")):
        if run["error"] or not all(r["ok"] for r in run["runs"]):
            print(f"bench: the {how} softcore run failed: {run['error']}", file=sys.stderr)
            return 1
    if [r["events"] for r in softcore["runs"]] != [r["events"] for r in softcore_strict["runs"]]:
        print("bench: the event-driven and the per-cycle softcore runs differ", file=sys.stderr)
        return 1
    # The softcore off cocotb: the raw harness, the hardware player, every check from the trace.
    from tb.benches import softcore_harness

    on_softcore_harness = softcore_harness.run_test("nmi_seamret", [1], binary=softcore_harness.build())
    if not all(r["ok"] for r in on_softcore_harness["runs"]) or len(on_softcore_harness["runs"]) != len(softcore["runs"]):
        print("bench: the softcore run on the raw harness failed", file=sys.stderr)
        return 1
    if [r["outcome"] for r in on_softcore_harness["runs"]] != [r["outcome"] for r in softcore["runs"]]:
        print("bench: the softcore on the raw harness and under cocotb differ", file=sys.stderr)
        return 1
    from tb.flows import soak

    binary, names = soak.build_vboard()
    raw_softcore = soak.run_vboard("fixed-noinstr", SOFTCORE_RAW_S, binary, names, progress=False).get("harness")
    if raw_softcore is None:
        print("bench: the soak harness did not report its totals", file=sys.stderr)
        return 1
    problems, cpp_cycles, cpp_s = cpp_harness.run(compiled)
    if any(problems):
        print(f"bench: the C++ harness run failed: {[p for p in problems if p][0]}", file=sys.stderr)
        return 1
    # make sim MODE=program's own path (program mode's default target): compile, harness, check, rows.
    try:
        on_harness = cpp_harness.run_test("bench", 1)
    except cpp_harness.HarnessError as err:
        print(f"bench: make sim MODE=program (harness) failed: {err}", file=sys.stderr)
        return 1
    if not all(r["ok"] for r in on_harness["runs"]):
        print(f"bench: make sim MODE=program (harness) failed: {on_harness['runs']}", file=sys.stderr)
        return 1
    harness_mode = on_harness["cycles"] / on_harness["seconds"]  # simulation, as (c) and (d) count it
    split_h = on_harness["split"]
    harness_run = on_harness["cycles"] / (on_harness["wall_seconds"] - split_h["build check"])

    rate = {
        "a model": model_cycles / model_s,
        "b cocotb interactive": figures["interactive"][0] / figures["interactive"][1],
        "c cocotb program mode": figures["program"][0] / figures["program"][1],
        "d verilator C++ harness": cpp_cycles / cpp_s,
    }
    cycles = {"a model": model_cycles, "b cocotb interactive": figures["interactive"][0],
              "c cocotb program mode": figures["program"][0], "d verilator C++ harness": cpp_cycles}
    print(f"workload: {len(scenarios)} scenarios x {ENTRIES} TD entries (py_model.bench.long_timeline), "
          f"{model_cycles:,} cycles each way")
    for name, value in rate.items():
        print(f"  ({name[0]}) {name[2:]:<22} {value:>14,.0f} cycles/s   ({cycles[name]:,} cycles)")
    b = rate["b cocotb interactive"]
    strict = figures["strict"][0] / figures["strict"][1]
    print(f"      per-cycle interactive (STRICT=1) {strict:>12,.0f} cycles/s: the event-driven bench is "
          f"{b / strict:.1f}x faster, same outcomes")
    print(f"  ratios: c/b = {rate['c cocotb program mode'] / b:.1f}x   d/b = {rate['d verilator C++ harness'] / b:.1f}x"
          f"   d/c = {rate['d verilator C++ harness'] / rate['c cocotb program mode']:.1f}x"
          f"   a/b = {rate['a model'] / b:.1f}x")
    print(f"  (wall time incl. cocotb start-up: interactive {figures['interactive'][2]:.1f} s, "
          f"program {figures['program'][2]:.1f} s; harness process {cpp_s:.2f} s)")
    print("  (c) split: " + ", ".join(f"{k} {v:.2f} s" for k, v in split.items())
          + " (compile: the model picks the program; check: trace, invariants, expect)")
    runs = len(library["runs"])
    short = runs / library["seconds"]
    print(f"  short scenarios: the {runs} library scenarios in one interactive process: {short:.1f} runs/s in "
          f"simulation, {runs / library['wall_seconds']:.1f} runs/s wall incl. start-up")
    soft = softcore["cycles"] / softcore["seconds"]
    soft_strict = softcore_strict["cycles"] / softcore_strict["seconds"]
    print(f"  softcore, cocotb + pyuvm (TEST=nmi_seamret MODE=softcore, event-driven, every check): "
          f"{soft:,.0f} cycles/s, {softcore['instructions'] / softcore['seconds']:,.0f} firmware instructions/s "
          f"({softcore['instructions']:,} retired in {softcore['cycles']:,} cycles; Python looked at "
          f"{softcore['visited_cycles']:,} of them)")
    print(f"      per-cycle softcore (STRICT=1)        {soft_strict:>12,.0f} cycles/s: the event-driven bench is "
          f"{soft / soft_strict:.1f}x faster, the same events")
    cycles_raw, retired_raw, wall_raw = raw_softcore
    print(f"  softcore, raw Verilator (the soak core on the virtual board, fixed-noinstr, {SOFTCORE_RAW_S} s): "
          f"{cycles_raw / wall_raw:,.0f} cycles/s, {retired_raw / wall_raw:,.0f} firmware instructions/s "
          f"({retired_raw:,} retired in {cycles_raw:,} cycles; wall time incl. start-up)")
    sc = on_softcore_harness
    sc_sim = sc["cycles"] / sc["seconds"]
    sc_checked = sc["cycles"] / sc["split"]["run and check"]
    soak_raw = cycles_raw / wall_raw
    print(f"  softcore, raw harness (TEST=nmi_seamret MODE=softcore TARGET=harness, every check from the trace): "
          f"{sc_checked:,.0f} cycles/s with the session and the checks = {sc_checked / soak_raw:.2f} of the soak "
          f"core; {sc_sim:,.0f} cycles/s in the harness's runs alone (its own clock) = {sc_sim / soak_raw:.2f} "
          f"of the soak core; {sc['instructions']:,} instructions retired; "
          f"Python looked at {sc['visited_cycles']:,} recorded cycles; the same outcomes as under cocotb")
    print(f"  make sim MODE=program (the raw harness, program mode's default): {harness_mode:,.0f} cycles/s in "
          f"simulation = {harness_mode / rate['d verilator C++ harness']:.2f} of (d); {harness_run:,.0f} cycles/s "
          "with the model's compile and the checks (" + ", ".join(f"{k} {v:.2f} s" for k, v in split_h.items()) + ")")
    targets = [  # issue 15's targets, measured in this run
        ("(b) cocotb interactive >= 100k cycles/s", b >= 100_000, f"{b:,.0f}"),
        ("(c)/(d) program mode within 2x of the raw harness",
         rate["c cocotb program mode"] / rate["d verilator C++ harness"] >= 0.5,
         f"{rate['c cocotb program mode'] / rate['d verilator C++ harness']:.3f}"),
        ("short scenarios >= 50 runs/s interactive", short >= 50, f"{short:.1f}"),
        ("make sim MODE=program >= 0.5 of the raw harness", harness_mode / rate["d verilator C++ harness"] >= 0.5,
         f"{harness_mode / rate['d verilator C++ harness']:.3f}"),
        ("softcore under cocotb, checked: >= 100k cycles/s", soft >= 100_000, f"{soft:,.0f}"),
        ("softcore event-driven >= 20x the per-cycle bench", soft >= 20 * soft_strict, f"{soft / soft_strict:.1f}x"),
        ("softcore on the raw harness, every check: >= 0.5 of the soak core", sc_checked >= 0.5 * soak_raw,
         f"{sc_checked / soak_raw:.2f}"),
    ]
    if os.environ.get("NIGHTLY") == "1":
        for mode, target in (("interactive", "sim"), ("softcore", "sim"), ("softcore", "harness")):
            met, value = nightly(mode, target)
            targets.append((f"regress SEEDS={NIGHTLY_SEEDS} TESTS=random{' MODE=softcore' if mode == 'softcore' else ''}"
                            f"{' TARGET=' + target if target != 'sim' else ''} under {NIGHTLY_TARGET_S // 60} min",
                            met, value))
    print("targets:")
    for name, met, value in targets:
        print(f"  {'met   ' if met else 'MISSED'} {name:<52} measured {value}")
    if os.environ.get("NIGHTLY") != "1":
        print(f"  not run  the {NIGHTLY_SEEDS}-seed nightlies (interactive, softcore, softcore on the harness) under "
              f"{NIGHTLY_TARGET_S // 60} "
              "min each: make bench NIGHTLY=1 runs them too (minutes)")
    figures_now = {**{name[2:]: value for name, value in rate.items()}, "per-cycle interactive": strict,
                   "short scenarios runs/s": short, "make sim MODE=program cycles/s": harness_mode,
                   "softcore cocotb cycles/s": soft, "softcore per-cycle cycles/s": soft_strict,
                   "softcore raw cycles/s": cycles_raw / wall_raw, "softcore harness checked cycles/s": sc_checked,
                   "softcore harness simulation cycles/s": sc_sim}
    print(f"history: {record_history(figures_now, {name: met for name, met, _ in targets}).relative_to(ROOT)}")
    return 0


HISTORY = ROOT / "build" / "bench" / "history.jsonl"


def record_history(figures: dict, targets: dict) -> Path:
    """Append this run's figures to ``build/bench/history.jsonl`` and plot every run so far
    (``history.svg``: each figure over the runs, scaled to its own maximum; the RTL hash of each run
    is in the JSONL, so a step in a line can be traced to the change that made it)."""
    from rtl.generate import generate
    from tb.reports.plots import line_chart

    HISTORY.parent.mkdir(parents=True, exist_ok=True)
    entry = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "rtl": generate()[1], "figures": figures,
             "targets": targets}
    with HISTORY.open("a") as f:  # one line appended whole per run
        f.write(json.dumps(entry) + "\n")
    runs = []
    for line in HISTORY.read_text().splitlines():
        try:
            runs.append(json.loads(line))
        except ValueError:
            continue  # a damaged line is skipped in the plot, kept in the file
    series = {name: [(i, run["figures"][name]) for i, run in enumerate(runs) if name in run.get("figures", {})]
              for name in figures}
    write_output(HISTORY.with_suffix(".svg"), line_chart(f"make bench over {len(runs)} run(s)", series,
                                                         "run", "figure", normalise=True))
    return HISTORY


if __name__ == "__main__":
    sys.exit(main())
