"""Random campaigns on the raw Verilator C++ harness (no cocotb): the fastest way to run many programs.

    python -m tb.flows.campaign [--seeds N] [--first S] [--bug NAME]
"""

from __future__ import annotations

import sys

from tb.benches import cpp_harness
from tb.flows.cli import OneLineParser, UsageError, run_command
from tb.protocol.program import ProgramError, compile_scenario
from tb.stimulus.catalog import random_scenarios


def campaign(seeds: int, first: int = 1, bugs=()) -> int:
    compiled = []
    for seed in range(first, first + seeds):
        for scenario in random_scenarios(seed):
            try:
                compiled.append(compile_scenario(scenario))
            except ProgramError as err:
                print(f"skipped: {err}")
    problems, cycles, seconds = cpp_harness.run(compiled, bugs)
    failed = [(c, p) for c, p in zip(compiled, problems, strict=True) if p]
    print(f"C++ harness campaign: {len(compiled)} programs from seeds {first}..{first + seeds - 1}, "
          f"{cycles:,} cycles in {seconds:.2f} s ({cycles / seconds:,.0f} cycles/s incl. process start)")
    for c, p in failed[:10]:
        print(f"FAIL {p}\n     reproduce: make sim TEST=random "
              f"SEED={c.scenario.name.split('=')[1].split('.')[0]} MODE=program")
    print(f"{len(compiled) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def main(argv=None) -> int:
    return run_command(lambda: _main(argv))


def _main(argv=None) -> int:
    from rtl.bugs import BUGS

    parser = OneLineParser(prog="python -m tb.flows.campaign", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--first", type=int, default=1)
    parser.add_argument("--bug", action="append", default=[])
    args = parser.parse_args(argv)
    unknown = [b for b in args.bug if b not in BUGS]
    if args.seeds < 1 or args.first < 0 or unknown:
        raise UsageError(f"SEEDS >= 1, FIRST >= 0, BUG a name in rtl/bugs.py (got {args.seeds}, {args.first}, "
                         f"{', '.join(unknown) or '-'})")
    return campaign(args.seeds, args.first, args.bug)


if __name__ == "__main__":
    sys.exit(main())
