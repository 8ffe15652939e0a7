"""``make formal``: prove each NMI property of the RTL (SymbiYosys + Yices), cover the seed's race.

    python -m tb.flows.formal [--bug NAME] [--only PROPERTY]
"""

from __future__ import annotations

import sys

from rtl.bugs import BUGS
from tb.flows.cli import OneLineParser, UsageError, run_command
from tb.formal.harness import ASSUMPTIONS, COVERS, PROPERTIES, cover, prove, table


def main(argv=None) -> int:
    return run_command(lambda: _main(argv), interrupted="the proofs finished so far are above")


def _main(argv=None) -> int:
    parser = OneLineParser(prog="python -m tb.flows.formal", description=__doc__.splitlines()[0])
    parser.add_argument("--bug", action="append", default=[])
    parser.add_argument("--only", action="append", default=[])
    args = parser.parse_args(argv)
    unknown = [b for b in args.bug if b not in BUGS] + [p for p in args.only if p not in PROPERTIES]
    if unknown:
        raise UsageError(f"unknown RTL bug or property {', '.join(unknown)}; bugs: {', '.join(sorted(BUGS))}; "
                         f"properties: {', '.join(PROPERTIES)}")
    names = args.only or list(PROPERTIES)
    print("assumptions: " + "; ".join(ASSUMPTIONS))
    results = []
    for name in names:
        result = prove(name, args.bug)
        results.append(result)
        print(f"  {name}: {result.status} ({result.seconds:.1f} s)"
              f"{' counterexample: ' + result.detail if result.detail else ''}", flush=True)
    if not args.bug and not args.only:
        for name in COVERS:
            results.append(cover(name))
    print(table(results))
    bad = [r for r in results if r.status not in ("PASS", "PASS (bounded)", "REACHED")]
    if not args.bug and not args.only:  # the product's whole proof: what the regression dashboard shows
        import json
        import time
        from dataclasses import asdict

        from py_model.atomic import write_output
        from tb import ROOT

        (ROOT / "build" / "formal").mkdir(parents=True, exist_ok=True)
        write_output(ROOT / "build" / "formal" / "summary.json",
                     json.dumps({"when": time.strftime("%Y-%m-%d %H:%M:%S"), "results": [asdict(r) for r in results],
                                 "failed": [r.name for r in bad]}, indent=1))
    return 1 if bad and not args.bug else 0




if __name__ == "__main__":
    sys.exit(main())
