"""Program mode on a raw Verilator C++ harness (no cocotb): the fastest way to run campaigns.

    python -m tb.cpp_harness campaign [--seeds N] [--first S]

The harness (``tb/harness/program_main.cpp``) is built once per RTL hash without VPI or public
signals; Python compiles the programs, streams them in, and checks every returned trace with the
same code as the other benches (``tb.program.check_run``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from .program import Compiled, ProgramError, check_run, compile_scenario

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tb" / "harness" / "program_main.cpp"


def build(bugs=()) -> Path:
    from rtl.generate import PROGRAM_TOP_NAME

    from .harness.build import build_harness

    return build_harness(PROGRAM_TOP_NAME, SOURCE, "program_harness", bugs)


def run(compiled: list[Compiled], bugs=()) -> tuple[list[str | None], int, float]:
    """Run the programs in one harness process; return (problem per program, cycles, seconds)."""
    binary = build(bugs)
    lines = []
    for c in compiled:
        cfg, hs = c.scenario.config, c.scenario.host_state
        lines.append(f"P {int(cfg.module == 'fixed')} {int(cfg.entry == 'fred')} {int(cfg.nmi_source)} "
                     f"{cfg.seamcall} {cfg.vmentry} {cfg.exit} {c.cycles + 70000} "
                     f"{int(bool(hs and hs.td_tsx))} {int(bool(hs and hs.td_waitpkg))}")
        lines += [f"W {w:08x}" for w in c.words]
        lines += [f"D {v:016x}" for v in c.data or []]
        lines.append("R")
    start = time.perf_counter()
    proc = subprocess.run([str(binary)], input="\n".join(lines) + "\n", capture_output=True, text=True,
                          timeout=600)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"harness failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    out = proc.stdout.splitlines()
    problems, cycles, i = [], 0, 0
    for c in compiled:
        _, count, done, error, overflow, ran = out[i].split()
        entries = [int(line[1:].strip(), 16) for line in out[i + 1:i + 1 + int(count)]]
        i += 1 + int(count)
        regs = [int(line[2:], 16) for line in out[i:i + 21]]
        i += 21
        cycles += int(ran)
        problems.append(check_run(c, entries, done == "1", error == "1", overflow == "1", regs, host_state=True))
    return problems, cycles, seconds


def campaign(seeds: int, first: int = 1, bugs=()) -> int:
    from .catalog import random_scenarios

    compiled = []
    for seed in range(first, first + seeds):
        for scenario in random_scenarios(seed):
            try:
                compiled.append(compile_scenario(scenario))
            except ProgramError as err:
                print(f"skipped: {err}")
    problems, cycles, seconds = run(compiled, bugs)
    failed = [(c, p) for c, p in zip(compiled, problems) if p]
    print(f"C++ harness campaign: {len(compiled)} programs from seeds {first}..{first + seeds - 1}, "
          f"{cycles:,} cycles in {seconds:.2f} s ({cycles / seconds:,.0f} cycles/s incl. process start)")
    for c, p in failed[:10]:
        print(f"FAIL {p}\n     reproduce: make sim TEST=random SEED={c.scenario.name.split('=')[1].split('.')[0]} MODE=program")
    print(f"{len(compiled) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    camp = sub.add_parser("campaign")
    camp.add_argument("--seeds", type=int, default=50)
    camp.add_argument("--first", type=int, default=1)
    camp.add_argument("--bug", action="append", default=[])
    args = parser.parse_args(argv)
    return campaign(args.seeds, args.first, args.bug)


if __name__ == "__main__":
    sys.exit(main())
