"""The user's commands for the RTL: ``python -m tb.flows.runner {sim,scenario,list,lint}``.

One Verilator build per RTL version: the Verilog's hash names the build folder
(``build/sim/<hash>``), and configuration travels on input pins, so tests, seeds and
configurations never rebuild. Every simulation runs under a wall-clock limit.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

from py_model.atomic import write_output
from py_model.config import set_run_cycle_bound
from py_model.table import table_text
from tb import ROOT
from tb.flows.cli import OneLineParser, UsageError, check_out_path, fresh_seed, run_command, stop_children
from tb.sim.verilator import run_test, verilator_env


# ----- presentation --------------------------------------------------------------------
def print_softcore_report(report: dict, reproduce: str) -> bool:
    """Softcore mode: each scenario's passes as Linux's rules give them for the firmware's history (the
    firmware's own log must match them), its counters, and which checks applied to it."""
    runs = report.get("runs", [])
    table = [["scenario", "passes (entry@rip claimed -> result)", "normal", "unknown", "swallow", "inv", "lost",
              "cycles", "software", "model", "expect", "result"]]
    for r in runs:
        o, checks = r.get("outcome") or {}, r.get("checks") or {}
        passes = " | ".join(f"{p['via']}@{p['rip']} {p['claimed']} -> {p['result']}" for p in o.get("passes", []))
        hs = o.get("host_state")
        if hs:  # SPEC §7: what the host sees in user space after the firmware's restores
            state = "KVM refused the TD" if hs["refused"] else f"differs: {', '.join(hs['differs']) or 'none'}"
            passes = " | ".join(filter(None, [passes, f"host state {state} ({hs['writes']} writes)"]))
        counts = o.get("counts") or {}
        table.append([r["scenario"], passes or "-", *(str(counts.get(k, "-")) for k in ("normal", "unknown", "swallow")),
                      str(o.get("inversions", "-")), str(o.get("lost", "-")), str(r.get("cycles", "-")),
                      *(checks.get(k, "-") for k in ("software", "model", "expect")), "PASS" if r["ok"] else "FAIL"])
    print(table_text(table))
    for skipped in report.get("not_applicable", []):
        print(f"not applicable in softcore mode: {skipped['scenario']}: {skipped['reason']}")
    for r in runs:
        if not r["ok"]:
            print(f"FAIL {r['scenario']}: {r['failure']}")
            where = location_text(r)
            if where:
                print(f"     {where}")
    def tally(key, value):
        return sum(1 for r in runs if (r.get("checks") or {}).get(key) == value)
    skipped = len(report.get("not_applicable", []))
    print(f"{len(runs)} runs ({skipped} scenario{'' if skipped == 1 else 's'} not run: not applicable in softcore mode, "
          f"listed above): software checked in {tally('software', 'PASS') + tally('software', 'FAIL')}; model "
          f"compared in {tally('model', 'PASS') + tally('model', 'FAIL')}, not applicable in {tally('model', 'n/a')}; "
          f"expect checked in {tally('expect', 'PASS') + tally('expect', 'FAIL')}, not applicable in "
          f"{tally('expect', 'n/a')} (n/a: an NMI placed by time into the host's software, so where it lands is "
          "the firmware's timing)")
    cycles, sim_s = report.get("cycles", 0), report.get("seconds") or 0
    where = {"harness": "on the raw Verilator harness (the environment played by the hardware player, checked "
                        "from the trace)", "vboard": "on the virtual board, over the UART bridge",
             "board": "on the board, over the UART bridge"}.get(report.get("target"))
    if where:
        print(f"the firmware on VexRiscv {where}")
    print(f"{len(runs)} runs of the firmware on VexRiscv, {cycles} cycles, "
          f"{sum(r.get('transactions') or 0 for r in runs)} transactions compared RTL vs reference; "
          f"{cycles / sim_s if sim_s else 0:,.0f} cycles/s, {report.get('wall_seconds', 0):.1f} s wall"
          + (f"; {report['bench']} bench: Python looked at {report['visited_cycles']:,} cycles"
             if report.get("bench") else ""))
    expected = report.get("expected_runs", len(runs))
    if len(runs) < expected:
        print(f"FAIL {expected - len(runs)} of {expected} runs did not complete")
    ok = report.get("error") is None and bool(runs) and all(r["ok"] for r in runs) and len(runs) == expected
    if not ok:
        if report.get("error"):
            print(f"ERROR {report['error']} (log: {report.get('log')})")
        print(f"reproduce: {reproduce}")
    return ok


def location_text(row: dict) -> str | None:
    from tb.check.where import location_text as text

    return text(row)


def print_report(report: dict, test: str, seed: int, reproduce: str | None = None) -> bool:
    if report.get("mode") == "softcore":
        return print_softcore_report(report, reproduce or f"make sim TEST={test} SEED={seed} MODE=softcore")
    runs = report.get("runs", [])
    verdict_rows = [r for r in runs if r.get("verdict")]
    if verdict_rows:  # every run keeps its row; one that failed before its verdict shows "-"
        names = list(verdict_rows[0]["verdict"])
        cols = ["case", *names, "result"]
        def short(name):
            return name.split("[", 1)[1].rstrip("]") if name.startswith(f"{test}[") else name

        table = [cols] + [[short(r["scenario"]), *(str((r.get("verdict") or {}).get(c, "-")) for c in names),
                           "PASS" if r["ok"] else "FAIL"] for r in runs]
    else:
        cols = ["scenario", "config", "passes", "inv", "unknown", "lost", "cycles", "txns", "result"]
        table = [cols]
        for r in runs:
            o, cfg = r.get("outcome"), r.get("config")
            label = f"{cfg['module']}/{cfg['kvm']}/{'fred+ns' if cfg['nmi_source'] else cfg['entry']}" if cfg else "-"
            counts = ([str(len(o["passes"])), str(o["inversions"]), str(o["counts"]["unknown"]), str(o["lost"])]
                      if o else ["-"] * 4)
            table.append([r["scenario"], label, *counts, str(r.get("cycles", "-")), str(r.get("transactions", "-")),
                          "PASS" if r["ok"] else "FAIL"])
    print(table_text(table))
    for r in runs:
        if not r["ok"]:
            print(f"FAIL {r['scenario']}: {r['failure']}")
            where = location_text(r)
            if where:
                print(f"     {where}")
    expected = report.get("expected_runs")
    if expected is not None and len(runs) < expected:
        print(f"FAIL {expected - len(runs)} of {expected} runs did not complete (see the log)")
    cycles = report.get("cycles", 0)
    sim_s = report.get("seconds") or 0
    txns = sum(r.get("transactions") or 0 for r in runs)
    print(f"{len(runs)} runs, {cycles} cycles, {txns} transactions compared RTL vs reference; "
          f"{cycles / sim_s if sim_s else 0:,.0f} cycles/s in simulation, {report.get('wall_seconds', 0):.1f} s wall")
    if report.get("coverage"):
        cov = report["coverage"]
        print(f"functional coverage of this run: {cov['hit']}/{cov['bins']} bins ({cov['percent']}%); "
              "make regress merges every test and seed")
    if report.get("waves"):
        print(f"waves: {report['waves']}")
    ok = report.get("error") is None and runs and all(r["ok"] for r in runs) and len(runs) == report["expected_runs"]
    if not ok:
        if report.get("error"):
            print(f"ERROR {report['error']} (log: {report.get('log')})")
        print(f"reproduce: {reproduce or f'make sim TEST={test} SEED={seed}'}")
    return bool(ok)


def main(argv=None) -> int:
    """The command line: arguments checked before any work; Ctrl-C/SIGTERM stop the simulator first
    (``timeout`` forwards SIGTERM to it); every failure is one line and a status (``run_command``)."""
    return run_command(lambda: _main(argv), interrupted="the run was stopped; nothing from it was reported as passing",
                       on_interrupt=stop_children)


def _main(argv=None) -> int:
    from rtl.bugs import BUGS, PLAYER_BUGS, SOC_BUGS
    from tb.stimulus.catalog import TESTS

    parser = OneLineParser(prog="python -m tb.flows.runner")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    sim = sub.add_parser("sim", help="run a test on the RTL")
    sim.add_argument("test")
    sim.add_argument("--seed", type=int, default=None)
    sim.add_argument("--seeds", help="a batch of seeds (a,b,c) in one simulator process, for regressions")
    sim.add_argument("--waves", action="store_true", help="record a wave dump (FST, or VCD without lz4) and a GTKWave view")
    sim.add_argument("--bug", action="append", default=[], help="elaborate the RTL with a deliberate defect")
    sim.add_argument("--json", help="write the run report here (for regressions)")
    sim.add_argument("--out", help="write every run's record (the Outcome format) here, as a JSON list")
    sim.add_argument("--no-svg", action="store_true")
    sim.add_argument("--coverage", action="store_true",
                     help="the coverage build: Verilator line and toggle coverage of the RTL (COVERAGE=1)")
    sim.add_argument("--strict", action="store_true",
                     help="interactive and softcore mode: drive and sample every cycle instead of sleeping "
                          "between events")
    scen = sub.add_parser("scenario", help="run scenario files (or folders of them) on the RTL and the model")
    scen.add_argument("files", nargs="+")
    scen.add_argument("--out")
    scen.add_argument("--bug", action="append", default=[])
    scen.add_argument("--waves", action="store_true", help="record a wave dump and a GTKWave view")
    for p in (sim, scen):
        p.add_argument("--max-cycles", type=int, default=None, help="the run bound (MAX_CYCLES=), shared by model and RTL")
        p.add_argument("--fw-bug", action="append", default=[],
                       help="softcore mode: build the firmware with a deliberate defect (rtl/soc/firmware_defects.py)")
        p.add_argument("--mode", choices=["interactive", "program", "softcore"], default=None,
                       help="interactive (the default on the simulator), program (the default on a board), softcore")
        p.add_argument("--target", choices=["sim", "harness", "vboard", "board"], default=None,
                       help="sim: Verilator under cocotb; harness: the raw Verilator C++ harness (program mode's "
                            "default); vboard: the virtual board on a pty; board: a real board")
        p.add_argument("--port", help="the board's serial port (TARGET=board)")
        p.add_argument("--baud", type=int, default=1_000_000)
    sub.add_parser("list", help="list the tests")
    sub.add_parser("lint", help="verilator --lint-only -Wall on the generated Verilog")
    args = parser.parse_args(argv)

    if args.command == "list":
        for name, test in TESTS.items():
            print(f"{name:<16} {test.doc}")
        print(f"{'scenario':<16} a scenario file: make scenario FILE=<file>")
        return 0
    if args.command == "lint":
        return lint()
    if args.command in ("sim", "scenario"):
        unknown = [b for b in args.bug if b not in BUGS and b not in SOC_BUGS]
        if unknown:
            raise UsageError(f"BUG={','.join(unknown)}: unknown RTL bug; known: {', '.join(sorted(BUGS))} "
                             f"(and, MODE=softcore only, the SoC's {', '.join(sorted(SOC_BUGS))})")
        if args.target == "board" and not args.port:
            raise UsageError("TARGET=board needs PORT=<serial port> (e.g. /dev/ttyUSB1)")
        if args.max_cycles is not None:
            try:
                set_run_cycle_bound(args.max_cycles)  # the model's runs here (board targets) and the bench's
            except ValueError as err:
                raise UsageError(str(err)) from None
        args.target = resolve_target(args.mode, args.target, args.waves or getattr(args, "coverage", False))
        args.mode = resolve_mode(args.mode, args.target)
        soc = [b for b in args.bug if b in SOC_BUGS]
        if soc and args.mode != "softcore":
            raise UsageError(f"BUG={','.join(soc)}: a defect of the softcore's SoC, which runs only in MODE=softcore")
        player = [b for b in args.bug if b in PLAYER_BUGS]
        if player and args.target == "sim":
            raise UsageError(f"BUG={','.join(player)}: a defect of the hardware environment player, which runs on "
                             "TARGET=harness|vboard|board (under cocotb Python plays the environment)")
        args.firmware = firmware_with_defects(args.fw_bug, args.mode)
    if args.command == "scenario":
        return run_scenario_files(args)
    if args.test not in TESTS:
        print(f"unknown test {args.test!r}; the tests are:", file=sys.stderr)
        for name, test in TESTS.items():
            print(f"  {name:<16} {test.doc}", file=sys.stderr)
        return 2
    if args.seed is not None and args.seed < 0:
        raise UsageError(f"SEED={args.seed}: expected an integer >= 0")
    if args.json:
        check_out_path(args.json)
    if args.out:
        check_out_path(args.out)
    if args.strict and args.mode not in ("interactive", "softcore"):
        raise UsageError("STRICT=1 applies to interactive and softcore mode (the benches that can sleep between events)")
    if args.seeds is not None:
        return run_seed_batch(args)
    seed = args.seed if args.seed is not None else fresh_seed()
    if args.target in ("vboard", "board") and args.mode != "softcore":
        refuse_on_board(args.test, args.target, seed)
    print(f"TEST={args.test} SEED={seed}" + (f" BUG={','.join(args.bug)}" if args.bug else ""), flush=True)
    if args.mode == "softcore" and args.target != "sim":
        return run_softcore_target(args, seed)
    if args.target == "harness":
        return run_harness_target(args, seed)
    if args.target != "sim":
        return run_board_target(args, seed)
    if args.mode == "program":
        print("MODE=program: the host engine plays compiled programs at clock speed", flush=True)
    if args.mode == "softcore":
        print("MODE=softcore: KVM's exit path and Linux's NMI handler as firmware on a VexRiscv CPU", flush=True)
    report = run_test(args.test, seed, waves=args.waves, bugs=args.bug, quiet=bool(args.json), mode=args.mode,
                      strict=args.strict, firmware=args.firmware, coverage=args.coverage)
    reproduce = sim_command(args, seed)
    ok = print_report(report, args.test, seed, reproduce)
    if args.coverage:
        show_code_coverage(report)
    publish(args, report, ok)
    if not args.no_svg:
        show_debug(report, args.test, seed, (), args.mode, ok,
                   debug=f"make debug TEST={args.test} SEED={seed}" + reproduce.split(f"SEED={seed}", 1)[1])
    return 0 if ok else 1


def show_code_coverage(report: dict) -> None:
    """The run's line and toggle coverage of the RTL, written beside its log (lcov, HTML)."""
    from tb.reports import code_coverage

    dat = report.get("coverage_dat")
    if not dat:
        print("code coverage: the simulator wrote no coverage.dat")
        return
    out = code_coverage.report(code_coverage.parse(Path(dat)), Path(dat).parent / "code_coverage")
    f = out["figures"]
    print("code coverage of the RTL in this run: " + ", ".join(
        f"{k} {v['hit']}/{v['points']} ({v['percent']}%)" for k, v in sorted(f.items())))
    print(f"  lcov (Amaranth lines): {_shown(Path(out['lcov']))}"
          + (f"; html: {_shown(Path(out['html']))}" if out.get("html") else f"; {out.get('html_note')}"))


def show_debug(report: dict, test: str, seed: int, files, mode: str, ok: bool, debug: str) -> None:
    """After a run: a timeline per run (reference above RTL or firmware) in the run's folder, named for
    each failing run; with waves, the GTKWave view beside the dump (markers at the failures and the
    runs' starts) and the commands that open them; without, the command that re-runs with them."""
    from tb.reports.timeline_svg import write_run_timelines
    from tb.reports.waves import WaveError, write_view
    from tb.stimulus.catalog import planned

    log = report.get("log")
    if not log or not report.get("runs"):
        return
    folder = Path(log).parent
    seeds = sorted({r.get("seed") for r in report["runs"] if r.get("seed") is not None}) or [seed]
    scenarios = {}
    for s in seeds:
        for scenario in planned(test, s, files)[0]:
            scenarios.setdefault(scenario.name, scenario)
    drawn = write_run_timelines(report, scenarios, folder / "timelines",
                                "firmware (softcore)" if mode == "softcore" else "RTL")
    for index, row in enumerate(report["runs"], 1):
        if not row["ok"] and index in drawn:
            print(f"timeline: {_shown(drawn[index])}")
    if drawn:
        print(f"timelines of every run: {_shown(folder / 'timelines')}")
    dump = report.get("waves")
    if dump and Path(dump).exists():
        failures = [r["where"]["time_ns"] for r in report["runs"] if not r["ok"] and (r.get("where") or {}).get("cycle")
                    is not None]
        try:
            view = write_view(Path(dump), failures, report.get("run_starts_ns") or [])
        except WaveError as err:
            print(f"waves: {err}")
            return
        print(f"open the waves: gtkwave {_shown(Path(dump))} {_shown(view)}   (or: surfer {_shown(Path(dump))}); "
              "tb_run is the run's number, the markers are the failures then the runs' starts")
    elif dump:
        print(f"waves: the simulator wrote no dump at {dump}")
    elif not ok:
        print(f"debug: {debug}   (re-runs it with waves and a GTKWave view)")


def _shown(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def run_seed_batch(args) -> int:
    """Several seeds of a test in one simulator process (``make regress`` splits the report by seed)."""
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        raise UsageError(f"--seeds {args.seeds!r}: expected comma-separated integers") from None
    softcore_off_sim = args.mode == "softcore" and args.target in ("harness", "vboard")
    if not seeds or min(seeds) < 0 or args.mode not in ("interactive", "softcore") or not (
            args.target == "sim" or softcore_off_sim):
        raise UsageError("--seeds: integers >= 0, in interactive or softcore mode on the simulator (softcore also "
                         "on TARGET=harness|vboard)")
    print(f"TEST={args.test} SEEDS={args.seeds}" + (f" BUG={','.join(args.bug)}" if args.bug else ""), flush=True)
    if softcore_off_sim:
        report = softcore_target_report(args, args.test, seeds, (), sim_command(args, "<the failing run's seed>"))
        if report is None:
            return 1
        ok = print_report(report, args.test, seeds[0], sim_command(args, "<the failing run's seed>"))
        publish(args, report, ok)
        return 0 if ok else 1
    report = run_test(args.test, seeds[0], bugs=args.bug, quiet=bool(args.json), seeds=seeds, coverage=args.coverage,
                      mode=args.mode, firmware=args.firmware)
    ok = print_report(report, args.test, seeds[0], sim_command(args, "<the failing run's seed>"))
    publish(args, report, ok)
    return 0 if ok else 1


def publish(args, report: dict, ok: bool) -> None:
    """``make sim``'s files: the whole report (``--json``, for regressions) and the runs (``OUT=``)."""
    report["ok"] = ok
    if args.json:
        write_output(Path(args.json), json.dumps(report))
    if args.out:
        write_runs(Path(args.out), report.get("runs") or [], report.get("expected_runs") or 0, single=False,
                   mode=args.mode)


def scenario_files(specs: list[str]) -> list[str]:
    """FILE as given: files, folders (their *.yaml, sorted) or comma-separated lists of them."""
    files = []
    for spec in specs:
        for part in [spec] if Path(spec).exists() else spec.split(","):
            path = Path(part)
            if path.is_dir():
                found = sorted(str(p) for p in path.glob("*.yaml"))
                if not found:
                    raise UsageError(f"FILE={part}: the folder holds no *.yaml scenario")
                files += found
            elif path.is_file():
                files.append(part)
            else:
                raise UsageError(f"FILE={part}: no such file or folder")
    return files


def run_scenario_files(args) -> int:
    """``make scenario``: every file checked first, OUT checked before the run, one simulator
    process and one table for all of them, the report saved whole."""
    from py_model import ScenarioFileError, load_scenario

    files = scenario_files(args.files)
    out_path = check_out_path(args.out) if args.out else None
    invalid, host_state = [], []
    for f in files:
        try:
            if load_scenario(f).host_state is not None:
                host_state.append(f)
        except ScenarioFileError as err:
            invalid.append(err)
    for err in invalid:
        print(f"INVALID {err}", file=sys.stderr)
    if invalid:
        return 2
    if args.target in ("vboard", "board") and host_state and args.mode != "softcore":
        raise UsageError(f"TARGET={args.target}: the board has no host-state register file, and "
                         f"{', '.join(host_state[:3])}{', ...' if len(host_state) > 3 else ''} model host registers; "
                         "run them with TARGET=sim")
    reproduce = (f"make scenario FILE={shlex.quote(','.join(args.files))}"
                 + (f" MODE={args.mode}" if args.mode != "interactive" else "")
                 + target_word(args)
                 + (f" BUG={','.join(args.bug)}" if args.bug else "")
                 + (f" FW_BUG={','.join(args.fw_bug)}" if args.fw_bug else ""))
    if args.mode == "softcore" and args.target != "sim":
        report = softcore_target_report(args, "scenario", [1], files, reproduce)
        if report is None:
            return 1
    elif args.target == "harness":
        report = harness_report("scenario", 1, args.bug, files, reproduce)
        if report is None:
            return 1
    elif args.target != "sim":
        report = board_report(args, "scenario", 0, reproduce, files)
        if report is None:
            return 1
    else:
        report = run_test("scenario", 1, scenario_files=files, mode=args.mode, bugs=args.bug, firmware=args.firmware,
                          waves=args.waves)
    ok = print_report(report, "scenario", 1, reproduce)
    if args.target in ("sim", "harness"):
        show_debug(report, "scenario", 1, files, args.mode, ok, debug=reproduce + " WAVES=1")
    if out_path is not None:
        write_runs(out_path, report.get("runs") or [], len(files), single=len(files) == 1, mode=args.mode)
    return 0 if ok else 1


# A run's row: what every mode shares (the rest is the mode's own, kept under its name).
RECORD_KEYS = ("scenario", "config", "ok", "failure")


def outcome_record(row: dict, mode: str) -> dict:
    """One run as OUT= writes it, the same in every mode and target: the scenario, its verdict, the
    documented Outcome at the top level (``passes``, ``counts``, ``inversions``, ``lost``, ...; empty
    when the run never produced one), and what is particular to the mode under ``row[mode]``."""
    outcome = row.get("outcome") or {"passes": None, "counts": None, "inversions": None, "lost": None}
    own = {k: v for k, v in row.items() if k not in RECORD_KEYS and k != "outcome"}
    return {**{k: row.get(k) for k in RECORD_KEYS}, "mode": mode, **outcome, mode: own}


def write_runs(out_path: Path, runs: list, expected: int, single: bool, mode: str) -> None:
    """OUT=: the runs' records (one file given: its object; else a list); nothing when none ran."""
    if not runs:
        print(f"nothing written to {out_path}: the run produced no result")
        return
    records = [outcome_record(row, mode) for row in runs]
    write_output(out_path, json.dumps(records[0] if single else records, indent=1))
    print(f"wrote {out_path}" + ("" if len(runs) == expected else f" ({len(runs)} of {expected} runs)"))


# What each target runs: the simulator under cocotb every mode; the raw C++ harness and a board (virtual
# or real) the host engine's compiled programs (on a board behind the UART bridge). The softcore runs on
# the boards only as the soak (make soak).
TARGET_MODES = {"sim": ("interactive", "program", "softcore"), "harness": ("program", "softcore"),
                "vboard": ("program", "softcore"), "board": ("program", "softcore")}


def resolve_target(mode: str | None, target: str | None, traced: bool) -> str:
    """TARGET as given; unset, program mode runs on the raw harness (cocotb adds nothing when Python does
    nothing per cycle) unless waves or code coverage need the traced build under cocotb, and every other
    mode on the simulator under cocotb."""
    if target is not None:
        if target == "harness" and traced:
            raise UsageError("TARGET=harness records neither waves nor code coverage; use TARGET=sim (cocotb)")
        return target
    if mode == "program" and traced:
        print("MODE=program on TARGET=sim (cocotb): waves and code coverage need its traced build", flush=True)
    return default_target(mode, traced)


def default_target(mode: str | None, traced: bool) -> str:
    """Where a mode runs when TARGET is not given."""
    return "harness" if mode == "program" and not traced else "sim"


def resolve_mode(mode: str | None, target: str) -> str:
    """The mode a MODE/TARGET pair runs, or a one-line refusal: never another mode than the one asked."""
    if mode is None:
        return TARGET_MODES[target][0]
    if mode not in TARGET_MODES[target]:
        why = "it runs the host engine's compiled programs (MODE=program) or the softcore (MODE=softcore), not " \
              "Python per cycle"
        raise UsageError(f"MODE={mode} does not run on TARGET={target}: {why}; use TARGET=sim")
    return mode


def firmware_with_defects(names: list[str], mode: str):
    """FW_BUG=: the firmware image with those deliberate defects (softcore mode only), or None."""
    if not names:
        return None
    from rtl.soc.firmware_defects import FIRMWARE_DEFECTS, firmware_patch
    from tb.sim.firmware import build_firmware

    unknown = [n for n in names if n not in FIRMWARE_DEFECTS]
    if unknown:
        raise UsageError(f"FW_BUG={','.join(unknown)}: unknown firmware defect; "
                         f"known: {', '.join(sorted(FIRMWARE_DEFECTS))}")
    if mode != "softcore":
        raise UsageError("FW_BUG= applies to MODE=softcore only (the firmware runs nowhere else)")
    if len(names) > 1:
        raise UsageError("FW_BUG=: one firmware defect at a time")
    return build_firmware(patch=firmware_patch(names[0]))


def refuse_on_board(test: str, target: str, seed: int) -> None:
    """A test the board cannot run is refused before any work, with the reason."""
    from tb.stimulus.catalog import TESTS

    host_state = [s.name for s in TESTS[test].scenarios(seed) if s.host_state is not None]
    if host_state:
        raise UsageError(f"TEST={test} cannot run on TARGET={target}: the board has no host-state register file, "
                         f"and {len(host_state)} of its scenarios model host registers "
                         f"({', '.join(host_state[:3])}{', ...' if len(host_state) > 3 else ''}); run it with TARGET=sim")


def board_report(args, test: str, seed: int, reproduce: str, files=()) -> dict | None:
    """Program mode over the UART bridge (TARGET=vboard or board); None when the board failed."""
    from tb.benches.board_driver import BoardError, BoardLink
    from tb.benches.board_run import run_on_board

    try:
        if args.target == "board":
            return run_on_board(test, seed, BoardLink.open(args.port, args.baud), files)
        from tb.benches.vboard import VirtualBoard

        with VirtualBoard(args.bug) as board:
            print(f"virtual board on {board.path}", flush=True)
            return run_on_board(test, seed, BoardLink.open(board.path, args.baud), files)
    except (BoardError, OSError) as err:
        print(f"ERROR board: {err}", file=sys.stderr)
        print(f"reproduce: {reproduce}", file=sys.stderr)
        return None


def target_word(args) -> str:
    """`` TARGET=...`` where the target is not the one the mode runs on when TARGET is unset."""
    default = default_target(args.mode, args.waves or getattr(args, "coverage", False))
    return f" TARGET={args.target}" if args.target != default else ""


def sim_command(args, seed) -> str:
    """The ``make sim`` line that runs this again (``seed``: a number, or a placeholder for a batch)."""
    return (f"make sim TEST={args.test} SEED={seed}" + (f" BUG={','.join(args.bug)}" if args.bug else "")
            + (f" MODE={args.mode}" if args.mode != "interactive" else "") + target_word(args)
            + (" STRICT=1" if args.strict else "") + (f" FW_BUG={','.join(args.fw_bug)}" if args.fw_bug else ""))


def harness_report(test: str, seed: int, bugs, files, reproduce: str) -> dict | None:
    """Program mode on the raw harness; None when the harness itself failed (said on one line)."""
    from tb.benches.cpp_harness import HarnessError
    from tb.benches.cpp_harness import run_test as run_on_harness
    from tb.sim.verilator import new_run_dir

    folder = ROOT / "build" / "harness" / "runs"
    try:
        return run_on_harness(test, seed, bugs, files, new_run_dir(folder, f"{test}-seed{seed}"))
    except HarnessError as err:
        print(f"ERROR harness: {err}", file=sys.stderr)
        print(f"reproduce: {reproduce}", file=sys.stderr)
        return None


def run_harness_target(args, seed: int) -> int:
    """MODE=program on the raw harness (TARGET=harness, program mode's default): the same table and files."""
    print("MODE=program on the raw harness: the host engine plays compiled programs at clock speed, no cocotb",
          flush=True)
    reproduce = sim_command(args, seed)
    report = harness_report(args.test, seed, args.bug, (), reproduce)
    if report is None:
        return 1
    ok = print_report(report, args.test, seed, reproduce)
    publish(args, report, ok)
    if not args.no_svg:
        show_debug(report, args.test, seed, (), "program", ok,
                   debug=f"make debug TEST={args.test} SEED={seed} MODE=program"
                         + (f" BUG={','.join(args.bug)}" if args.bug else ""))
    return 0 if ok else 1


def softcore_target_report(args, test: str, seeds: list[int], files, reproduce: str) -> dict | None:
    """MODE=softcore off the simulator: the raw harness, the virtual board or a board; None when the
    harness or the link failed before any run (said on one line)."""
    from tb.benches.board_driver import BoardError, BoardLink
    from tb.benches.softcore_board import run_on_board
    from tb.benches.softcore_harness import HarnessError
    from tb.benches.softcore_harness import run_test as run_on_harness
    from tb.protocol.softcore_session import SessionError

    try:
        if args.target == "harness":
            return keep_report(run_on_harness(test, seeds, args.bug, files, args.firmware), test, seeds[0])
        if args.target == "board":
            report = run_on_board(test, seeds, BoardLink.open(args.port, args.baud), files, args.firmware)
        else:
            from rtl.generate import SOFTCORE_BOARD_NAME
            from tb.benches.vboard import VirtualBoard

            with VirtualBoard(args.bug, SOFTCORE_BOARD_NAME) as board:
                print(f"virtual board on {board.path}", flush=True)
                report = run_on_board(test, seeds, BoardLink.open(board.path, args.baud), files, args.firmware)
        report["target"] = args.target
        return keep_report(report, test, seeds[0])
    except (HarnessError, SessionError, BoardError, OSError, RuntimeError) as err:
        from py_model.command import one_line

        print(f"ERROR {args.target}: {one_line(err)}", file=sys.stderr)
        print(f"reproduce: {reproduce}", file=sys.stderr)
        return None


def keep_report(report: dict, test: str, seed: int) -> dict:
    """A run off the simulator has no simulator log: its report is kept as the log, in a folder of its
    own (the timelines go beside it)."""
    from tb.sim.verilator import new_run_dir

    folder = new_run_dir(ROOT / "build" / "softcore" / "runs", f"{test}-seed{seed}-{report.get('target', 'harness')}")
    report["log"] = str(folder / "report.json")
    write_output(Path(report["log"]), json.dumps(report))
    return report


def run_softcore_target(args, seed: int) -> int:
    """MODE=softcore TARGET=harness|vboard|board: the table of the cocotb bench, the same files."""
    from rtl.bugs import PLAYER_BUGS

    print("MODE=softcore: KVM's exit path and Linux's NMI handler as firmware on a VexRiscv CPU", flush=True)
    reproduce = sim_command(args, seed)
    report = softcore_target_report(args, args.test, [seed], (), reproduce)
    if report is None:
        return 1
    ok = print_report(report, args.test, seed, reproduce)
    if report.get("link"):
        link = report["link"]
        print(f"bridge: {link['requests']:,} requests ({link['retries']} retried), "
              f"{link['bytes_out'] + link['bytes_in']:,} bytes")
    publish(args, report, ok)
    if not args.no_svg:
        # The waves come from cocotb's traced build: the debug run is the same test there.
        player = [b for b in args.bug if b in PLAYER_BUGS]
        debug = (f"make debug TEST={args.test} SEED={seed} MODE=softcore"
                 + (f" BUG={','.join(args.bug)}" if args.bug else "")
                 + (f" FW_BUG={','.join(args.fw_bug)}" if args.fw_bug else ""))
        show_debug(report, args.test, seed, (), "softcore", ok,
                   debug=debug if not player else "the hardware player's defect shows off cocotb only: the "
                   "timelines above (make debug runs cocotb, where Python plays the environment)")
    return 0 if ok else 1


def run_board_target(args, seed: int) -> int:
    """TARGET=vboard or board: program mode over the UART bridge, the same table."""
    reproduce = f"make sim TEST={args.test} SEED={seed} TARGET={args.target}"
    report = board_report(args, args.test, seed, reproduce)
    if report is None:
        return 1
    ok = print_report(report, args.test, seed, reproduce)
    link = report["link"]
    seconds = report["seconds"] or 1e-9
    print(f"bridge: {link['requests']} requests ({link['retries']} retried), {link['bytes_out'] + link['bytes_in']:,} bytes "
          f"in {report['seconds']:.2f} s = {(link['bytes_out'] + link['bytes_in']) / seconds:,.0f} bytes/s, "
          f"{len(report['runs']) / seconds:.1f} traces/s")
    publish(args, report, ok)
    return 0 if ok else 1


def lint() -> int:
    """verilator --lint-only -Wall on every generated top (interactive, program mode, board)."""
    from rtl.generate import BOARD_CORE_NAME, PROGRAM_TOP_NAME, TOP_NAME, generate

    verilator_env()
    waivers = ROOT / "rtl" / "lint_waivers.vlt"
    status = 0
    for top in (TOP_NAME, PROGRAM_TOP_NAME, BOARD_CORE_NAME):
        verilog, digest = generate(top=top)
        result = subprocess.run(["verilator", "--lint-only", "-Wall", str(waivers), str(verilog)],
                                capture_output=True, text=True)
        problems = "\n".join(line for line in (result.stdout + result.stderr).splitlines() if line.startswith("%"))
        print(problems or f"lint clean with -Wall: {verilog.relative_to(ROOT)} (rtl hash {digest})")
        status = status or result.returncode
    print("waivers: rtl/lint_waivers.vlt")
    return status


if __name__ == "__main__":
    sys.exit(main())
