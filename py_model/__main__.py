"""Command line: run scenario files on the model alone, or explore every interleaving.

    python -m py_model [run] FILE [FILE ...] [--out OUT.json] [--trace] [--max-cycles N]
    python -m py_model explore [--quick]

Exit status: 0 when every file is valid, runs, and meets its `expect`; 1 on an expectation
miss or a run error; 2 on an invalid file or bad arguments.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .atomic import out_problem, write_output
from .command import OneLineParser, UsageError, run_command
from .config import set_run_cycle_bound
from .outcome import check_expect
from .run import run_model
from .scenario import ScenarioFileError, load_scenario
from .session import RunError


def main(argv=None) -> int:
    return run_command(lambda: _main(argv), interrupted="the files run so far are above")


def _main(argv=None) -> int:
    parser = OneLineParser(prog="python -m py_model", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    run = sub.add_parser("run", help="run scenario files on the model")
    run.add_argument("files", nargs="+", type=Path)
    run.add_argument("--out", type=Path, help="write the outcome as JSON (one file: an object; several: a list)")
    run.add_argument("--trace", action="store_true", help="print the transaction trace")
    run.add_argument("--max-cycles", type=int, help="the run bound in cycles (default 200,000)")
    explore = sub.add_parser("explore", help="enumerate NMI placements in every configuration")
    explore.add_argument("--max-nmis", type=int, default=3)
    explore.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    explore.add_argument("--zero-step", action="store_true",
                         help="the B6 table instead: the mitigation on, with interrupt exits in play")
    bench = sub.add_parser("bench", help="model speed: idle skipping against stepping")
    bench.add_argument("--entries", type=int, default=400)
    bench.add_argument("--seed", type=int, default=1)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in ("run", "explore", "bench", "-h", "--help"):
        argv.insert(0, "run")  # `python -m py_model FILE` means `run FILE`
    args = parser.parse_args(argv)
    if args.command == "explore":
        from .explore import main as explore_main
        from .explore import main_zero_step
        if args.zero_step:
            return main_zero_step(min(args.max_nmis, 2), args.markdown)
        return explore_main(args.max_nmis, args.markdown)
    if args.command == "bench":
        from .bench import main as bench_main
        return bench_main(args.entries, args.seed)
    if args.max_cycles is not None:
        try:
            set_run_cycle_bound(args.max_cycles)
        except ValueError as err:
            raise UsageError(str(err)) from None
    if args.out is not None:
        problem = out_problem(args.out)
        if problem:
            raise UsageError(f"OUT={args.out}: {problem}")
    return run_files(args.files, args.out, args.trace)


def run_files(files, out, show_trace) -> int:
    status, results = 0, []
    for path in files:
        try:
            scenario = load_scenario(path)
            outcome = run_model(scenario)
        except ScenarioFileError as err:
            print(f"INVALID {err}", file=sys.stderr)
            status = max(status, 2)
            continue
        except RunError as err:
            print(f"ERROR   {err}", file=sys.stderr)
            status = max(status, 1)
            continue
        print(f"== {scenario.name} ({scenario.config.label()}) [{path}]")
        print(outcome.table())
        if show_trace:
            print(outcome.trace_text())
        miss = check_expect(scenario.expect, outcome)
        if miss:
            print(f"FAIL    {path}: {miss}")
            status = max(status, 1)
        else:
            print(f"PASS    {path}" + ("" if scenario.expect else " (no expect given)"))
        # The record every mode writes (tb/flows/runner.outcome_record): the verdict, then the Outcome.
        results.append({"scenario": scenario.name, "file": str(path), "config": scenario.config.to_json(),
                        "ok": miss is None, "failure": miss, "mode": "model", **outcome.to_json(), "model": {}})
    if out:
        write_output(out, json.dumps(results[0] if len(results) == 1 else results, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
