"""Mutation coverage the way MCY does it (``make mcy [N=300] [JOBS=2] [SEED=1]``).

1. Yosys' ``mutate -list N`` picks N mutations of the flattened design under test (the NMI
   controller, the SEAM sequencer and the host-state unit inside ``NmiTop``): an input or output
   bit of a cell inverted or tied to 0/1, a wire's driver swapped; each names its Amaranth source
   line through the RTLIL ``src`` attribute.
2. All mutants go into ONE netlist behind a ``mutsel`` input (``mutate -ctrl``, as MCY does):
   ``mutsel == 0`` is the original design, ``mutsel == i`` switches mutant i on. One Verilator
   build serves the whole campaign.
3. Every mutant is model-checked against the formal property set (``tb/formal/harness.py`` over the
   mutated netlist's ports; SymbiYosys + Yices BMC to ``FORMAL_DEPTH`` cycles from reset, the inputs
   free but for the harness's ``ASSUMPTIONS``, a legal host): a failing property is
   ``killed by formal: <property>``.
4. Every mutant the properties leave runs the simulation campaign (the kill tests, in order, through the same checker
   as every bench: reference cycle for cycle, invariants, expect, verdicts) until a test fails:
   ``killed by <test>``. A killed mutant is observable by definition, so the equivalence check
   is only needed for the rest.
5. Each mutant nothing killed is checked for equivalence with the original: Yosys'
   ``equiv_make``/``equiv_induct`` (registers matched by name, temporal induction: unbounded,
   ``equivalent``), else a SymbiYosys + Yices BMC of the miter (every input free each cycle, both
   copies from the reset state) to ``EQ_DEPTH`` cycles finds a difference (``survived``, with the
   counterexample VCD showing how it is observable) or none (``equivalent (bounded)``). The check is
   bounded in steps, not seconds; ``EQ_TIMEOUT_S`` only stops a tool run that would not end, and a
   mutant whose check it stopped is checked once more, alone, with ``EQ_RETRY_TIMEOUT_S``. Stopped
   again, it is ``undecided``: never equivalent, counted against the kill ratio as not killed,
   reported on its own, and checked again by the next run.

Results are kept in ``build/mcy/<rtl hash>-seed<S>/results.json`` keyed by the mutation text, so a
later run with a larger N only checks the new mutants. The run is reproducible from its seed.

The pieces: ``mcy_netlist`` (mutations, the netlist facts, the mutant netlist), ``mcy_stages``
(formal, simulation, equivalence, the progress line), ``mcy_waivers`` (why a survivor cannot be seen:
a table), ``mcy_report``; this module runs them in order.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from py_model.atomic import write_output
from tb.flows.mcy_netlist import build_mutant_netlist, list_mutations, read_netlist, source_of, workdir
from tb.flows.mcy_report import report
from tb.flows.mcy_stages import (
    EQ_RETRY_TIMEOUT_S,
    EQ_TIMEOUT_S,
    FORMAL_DEPTH,
    RANDOM_SEEDS,
    UNDECIDED,
    Heartbeat,
    check_equivalence,
    formal_check,
    simulate,
)
from tb.stimulus.catalog import KILL_ORDER


def main(argv=None) -> int:
    from tb.flows.cli import run_command

    return run_command(lambda: _main(argv), interrupted="results so far are kept in build/mcy/")


def _main(argv=None) -> int:
    from tb.flows.cli import OneLineParser, UsageError

    parser = OneLineParser(prog="python -m tb.flows.mcy", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report", action="store_true",
                        help="only the report of what the database holds (no stage runs; a mutant not decided "
                             "counts as not killed)")
    args = parser.parse_args(argv)
    if args.n < 1 or args.jobs < 1 or args.seed < 1:
        raise UsageError("N, JOBS and SEED must be integers >= 1")
    return run(args.n, args.jobs, args.seed, report_only=args.report)


def run(n: int, jobs: int, seed: int, report_only: bool = False) -> int:
    start = time.perf_counter()
    folder, digest = workdir(seed)
    mutations = list_mutations(folder, n, seed)
    netlist = read_netlist(folder)
    db_path = folder / "results.json"
    db = json.loads(db_path.read_text()) if db_path.exists() else {}
    print(f"make mcy: {len(mutations)} mutants of nmi_top (rtl {digest}, seed {seed}); "
          f"{sum(m in db and 'outcome' in db[m] for m in mutations)} already classified", flush=True)
    if report_only:
        print("REPORT=1: the database as it stands; no stage runs", flush=True)
        return report(mutations, db, folder, 0.0, netlist)

    def save() -> None:
        write_output(db_path, json.dumps(db, indent=1))

    # The formal property set first, on every mutant not yet judged by it (earlier survivors again:
    # a property added to close one must be shown to kill it).
    to_prove = [i for i, m in enumerate(mutations, 1)
                if "formal" not in db.get(m, {}) or _open(db[m])]
    if to_prove:
        from tb.formal.harness import PROPERTIES

        sanity = formal_check(folder, 0, None)
        if sanity["formal"] != f"holds to {FORMAL_DEPTH}":
            print(f"error: the original design breaks the property set: {sanity}", file=sys.stderr)
            return 1
        print(f"  formal: {len(to_prove)} mutants under {len(PROPERTIES) - 1} properties (BMC, {FORMAL_DEPTH} "
              f"cycles from reset), {jobs} processes ...", flush=True)
        done = 0
        with Heartbeat("formal", len(to_prove), lambda: done), ThreadPoolExecutor(max_workers=jobs) as pool:
            for i, got in zip(to_prove, pool.map(lambda i: formal_check(folder, i, mutations[i - 1]), to_prove),
                              strict=True):
                m = mutations[i - 1]
                entry = db.setdefault(m, {"source": source_of(m)})
                for key in ("formal", "property", "formal_seconds"):
                    entry.pop(key, None)
                entry.update({k: v for k, v in got.items() if k != "counterexample"})
                if got["formal"] == "killed":
                    entry["outcome"] = f"killed by formal: {got['property']}"
                    entry["formal_counterexample"] = got["counterexample"]
                elif entry.get("outcome", "").startswith("killed by formal"):
                    entry["outcome"] = "survived"  # a property that no longer kills it: simulate again
                done += 1
                save()
        print(f"  formal done ({time.perf_counter() - start:.0f} s)", flush=True)

    # Then simulation: a mutant a test kills is observable, so only the survivors need the
    # (much slower) equivalence check to tell an equivalent mutant from a hole in the tests.
    mutants_v, _ = build_mutant_netlist(folder, mutations)
    # New mutants, and earlier survivors again: tests added to close them must be shown to kill them.
    to_simulate = [i for i, m in enumerate(mutations, 1) if _open(db[m])]
    if to_simulate:
        sanity = simulate(folder, mutants_v, [0], 1)
        if 0 not in sanity or sanity[0] is not None:
            print(f"error: the original design (mutsel=0) fails the campaign: {sanity.get(0)}", file=sys.stderr)
            return 1
        print(f"  simulation: {len(to_simulate)} mutants through {', '.join(KILL_ORDER)} (random seeds "
              f"{RANDOM_SEEDS}), {jobs} processes ...", flush=True)
        sims = simulate(folder, mutants_v, to_simulate, jobs)
        for i in to_simulate:
            m = mutations[i - 1]
            entry = db[m]
            if i not in sims:
                entry["outcome"] = "error: the campaign did not report this mutant"
            elif sims[i] is None:
                entry["outcome"] = "not killed"
            else:
                entry["outcome"] = f"killed by {sims[i]['test'].split(':')[0]}"
                entry["first_failure"] = sims[i]["failure"]
        save()
        print(f"  simulation done ({time.perf_counter() - start:.0f} s)", flush=True)

    try:
        check_survivors(folder, mutations, db, jobs, save)
    except KeyboardInterrupt:
        # What was decided is saved; the rest stays undecided and counts as not killed (an honest part).
        print("\nINTERRUPTED in the equivalence stage: the mutants it had not decided are reported undecided",
              flush=True)
        report(mutations, db, folder, time.perf_counter() - start, netlist)
        return 130
    return report(mutations, db, folder, time.perf_counter() - start, netlist)


# What an equivalence check writes into a mutant's entry.
EQ_KEYS = ("equivalence", "method", "counterexample", "detail", "seconds", "stopped", "limit_s", "retried")


def check_survivors(folder: Path, mutations: list[str], db: dict, jobs: int, save: Callable[[], None]) -> None:
    """The equivalence stage: each mutant no test killed and no earlier check decided, ``jobs`` at a
    time; then each one left ``UNDECIDED`` (a tool run stopped at ``EQ_TIMEOUT_S``) once more, alone
    (a loaded machine is what stops a check), with ``EQ_RETRY_TIMEOUT_S``. ``save()`` after each."""
    todo = [(i, m) for i, m in enumerate(mutations, 1) if db[m]["outcome"] == "not killed" and not _decided(db[m])]
    for m in mutations:  # an earlier survivor no test kills yet: its check stands
        if db[m]["outcome"] == "not killed" and _decided(db[m]):
            db[m]["outcome"] = "survived"
    save()

    def record(m: str, eq: dict, retried: bool = False) -> None:
        for key in EQ_KEYS:  # nothing of an earlier check is left beside this one
            db[m].pop(key, None)
        db[m].update(eq, **({"retried": True} if retried else {}))
        verdict = eq["equivalence"]
        db[m]["outcome"] = verdict if verdict.startswith("equivalent") or verdict == UNDECIDED else "survived"
        save()

    if todo:
        print(f"  equivalence: {len(todo)} mutants no test killed, checked against the original ...", flush=True)
    checked = 0
    with Heartbeat("equivalence", len(todo), lambda: checked), ThreadPoolExecutor(max_workers=jobs) as pool:
        for (_, m), eq in zip(todo, pool.map(lambda im: check_equivalence(folder, *im), todo), strict=True):
            record(m, eq)
            checked += 1

    again = [(i, m) for i, m in todo if db[m]["outcome"] == UNDECIDED]
    if again:
        print(f"  equivalence: {len(again)} undecided (a tool run stopped at {EQ_TIMEOUT_S} s), checked again "
              f"one at a time with {EQ_RETRY_TIMEOUT_S} s ...", flush=True)
    retried = 0
    with Heartbeat("equivalence retry", len(again), lambda: retried):
        for i, m in again:
            record(m, check_equivalence(folder, i, m, EQ_RETRY_TIMEOUT_S), retried=True)
            retried += 1


def _decided(entry: dict) -> bool:
    """An equivalence check reached a verdict ("timeout": an older database's undecided)."""
    return entry.get("equivalence", UNDECIDED) not in (UNDECIDED, "timeout")


def _open(entry: dict) -> bool:
    """Nothing has killed this mutant yet (new, an earlier survivor, or undecided): every stage sees it
    again, so a property or test added to close it must be shown to kill it."""
    return entry.get("outcome", "survived") in ("survived", "not killed", UNDECIDED)


if __name__ == "__main__":
    sys.exit(main())
