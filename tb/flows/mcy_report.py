"""``make mcy``'s report: how every mutant ended, the kill ratio, every survivor and every undecided
mutant explained or open; the counts also in ``summary.json`` beside the database."""

from __future__ import annotations

import json
from pathlib import Path

from py_model.atomic import write_output
from tb import ROOT
from tb.flows.mcy_netlist import Netlist
from tb.flows.mcy_stages import EQ_DEPTH, UNDECIDED
from tb.flows.mcy_waivers import waiver


def report(mutations: list[str], db: dict, folder: Path, seconds: float, netlist: Netlist) -> int:
    """The classification of every mutant, the kill ratio over the non-equivalent ones, and each
    survivor with its counterexample and its waiver (or OPEN), then each undecided mutant (its
    equivalence check reached no verdict: not equivalent, so it counts as not killed). Exit status 0
    only at 95% with every survivor and every undecided mutant explained."""
    missing = [m for m in mutations if "outcome" not in db.get(m, {})]
    db = {**db, **{m: {"source": "?", "outcome": "error: never classified (run make mcy)"} for m in missing}}
    rows = [db[m] for m in mutations]
    equivalent = [r for r in rows if r["outcome"].startswith("equivalent")]
    killed = [r for r in rows if r["outcome"].startswith("killed")]
    by_formal = [r for r in killed if r["outcome"].startswith("killed by formal")]
    survived = [(m, db[m]) for m in mutations if db[m]["outcome"] == "survived"]
    # "not killed": the simulation left it and its equivalence check has not run yet (an interrupted run).
    undecided = [(m, db[m]) for m in mutations if db[m]["outcome"] in (UNDECIDED, "not killed")]
    errors = [r for r in rows if r["outcome"].startswith("error")]
    by_test: dict[str, int] = {}
    for r in killed:
        by_test[r["outcome"]] = by_test.get(r["outcome"], 0) + 1
    relevant = len(rows) - len(equivalent)  # an undecided mutant is in, as not killed
    ratio = len(killed) / relevant if relevant else 1.0
    proved = sum(r["outcome"] == "equivalent" for r in rows)
    print(f"\n{len(rows)} mutants: {len(equivalent)} equivalent ({proved} proved, the rest to {EQ_DEPTH} cycles), "
          f"{len(by_formal)} killed by formal, {len(killed) - len(by_formal)} killed by simulation, "
          f"{len(survived)} survived, {len(undecided)} undecided, {len(errors)} errors")
    for outcome, count in sorted(by_test.items(), key=lambda kv: -kv[1]):
        print(f"  {outcome:<60} {count}")
    for m, r in survived:
        how = (f"observable: {r['counterexample']}" if r.get("counterexample")
               else f"equivalence check: {r.get('equivalence')}")
        why = waiver(m, netlist)
        print(f"SURVIVED {r['source']}: {m}\n         {how}\n         "
              + (f"not observable by a legal host: {why}" if why else "OPEN: no test kills it and no reason is known"))
    for m, r in undecided:
        how = ("no verdict: its equivalence check has not run" if r["outcome"] == "not killed" else
               f"no verdict: {r.get('stopped', 'the check')} did not finish within {r.get('limit_s', '?')} s"
               + (" (its retry, alone)" if r.get("retried") else ""))
        why = waiver(m, netlist)
        print(f"UNDECIDED {r['source']}: {m}\n         {how}; counted as not killed\n         "
              + (f"not observable by a legal host: {why}" if why
                 else "OPEN: no test kills it, and whether it is observable is not known"))
    explained = sum(bool(waiver(m, netlist)) for m, _ in survived + undecided)
    where = folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder
    print(f"kill ratio over non-equivalent mutants: {len(killed)}/{relevant} = {100 * ratio:.1f}% "
          f"(target 95%) in {seconds:.0f} s; {explained} of {len(survived) + len(undecided)} survivors and "
          f"undecided mutants have a stated reason; database {where}/results.json")
    summary = {"mutants": len(rows), "equivalent": len(equivalent), "proved_equivalent": proved,
               "killed_by_formal": len(by_formal), "killed_by_simulation": len(killed) - len(by_formal),
               "survived": len(survived), "undecided": len(undecided), "errors": len(errors),
               "kill_ratio": {"killed": len(killed), "of": relevant, "ratio": round(ratio, 4)},
               "explained": explained, "survivors": [m for m, _ in survived],
               "undecided_mutants": [m for m, _ in undecided]}
    write_output(folder / "summary.json", json.dumps(summary, indent=1))
    return 0 if ratio >= 0.95 and not errors and explained == len(survived) + len(undecided) else 1
