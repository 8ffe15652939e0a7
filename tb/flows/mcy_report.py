"""``make mcy``'s report: how every mutant ended, the kill ratio, every survivor explained or open."""

from __future__ import annotations

from pathlib import Path

from tb import ROOT
from tb.flows.mcy_netlist import Netlist
from tb.flows.mcy_stages import EQ_DEPTH
from tb.flows.mcy_waivers import waiver


def report(mutations: list[str], db: dict, folder: Path, seconds: float, netlist: Netlist) -> int:
    """The classification of every mutant, the kill ratio over the non-equivalent ones, and each
    survivor with its counterexample and its waiver (or OPEN). Exit status 0 only at 95% with every
    survivor explained."""
    rows = [db[m] for m in mutations]
    equivalent = [r for r in rows if r["outcome"].startswith("equivalent")]
    killed = [r for r in rows if r["outcome"].startswith("killed")]
    by_formal = [r for r in killed if r["outcome"].startswith("killed by formal")]
    survived = [(m, db[m]) for m in mutations if db[m]["outcome"] == "survived"]
    errors = [r for r in rows if r["outcome"].startswith("error")]
    by_test: dict[str, int] = {}
    for r in killed:
        by_test[r["outcome"]] = by_test.get(r["outcome"], 0) + 1
    relevant = len(rows) - len(equivalent)
    ratio = len(killed) / relevant if relevant else 1.0
    print(f"\n{len(rows)} mutants: {len(equivalent)} equivalent "
          f"({sum(r['outcome'] == 'equivalent' for r in rows)} proved, the rest to {EQ_DEPTH} cycles), "
          f"{len(by_formal)} killed by formal, {len(killed) - len(by_formal)} killed by simulation, "
          f"{len(survived)} survived, {len(errors)} errors")
    for outcome, count in sorted(by_test.items(), key=lambda kv: -kv[1]):
        print(f"  {outcome:<60} {count}")
    waived = [(m, r) for m, r in survived if waiver(m, netlist)]
    for m, r in survived:
        how = (f"observable: {r['counterexample']}" if r.get("counterexample")
               else f"equivalence check: {r.get('equivalence')}")
        why = waiver(m, netlist)
        print(f"SURVIVED {r['source']}: {m}\n         {how}\n         "
              + (f"not observable by a legal host: {why}" if why else "OPEN: no test kills it and no reason is known"))
    print(f"kill ratio over non-equivalent mutants: {len(killed)}/{relevant} = {100 * ratio:.1f}% "
          f"(target 95%) in {seconds:.0f} s; {len(waived)} of {len(survived)} survivors have a stated reason; "
          f"database {folder.relative_to(ROOT)}/results.json")
    return 0 if ratio >= 0.95 and not errors and len(waived) == len(survived) else 1
