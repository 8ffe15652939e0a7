"""Mutation testing (``make mutants``): is every deliberate defect killed by the regression's tests?

RTL mutants are the elaboration-time defects of ``rtl/bugs.py`` (one Verilator build each).
Firmware mutants are the source edits of ``rtl/soc/firmware_defects.py``, run in softcore mode,
where only the software check can kill them (the hardware is unchanged).
Model/software mutants are source edits of ``py_model`` applied in a temporary copy put first on
PYTHONPATH: both the model-alone run and the RTL run then use the mutated software, so only the
hand-derived expectations (scenario ``expect``, SPEC §6 verdicts, host-state checks) can kill them.
Each mutant runs the tests in ``KILL_ORDER`` until one fails; the report gives the kill ratio and
the killing test of each.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from py_model.table import table_text
from rtl.bugs import BUGS, PLAYER_BUGS, SOC_BUGS
from rtl.soc.firmware_defects import FIRMWARE_DEFECTS
from tb import ROOT
from tb.flows.jobs import Job, run_job
from tb.stimulus.catalog import KILL_ORDER

# Firmware mutants run in softcore mode: the SPEC §6 rows, the library, then the timing probes.
FIRMWARE_KILL_ORDER = ["nmi_seamret", "library", "timing_probes"]

# name: (file under py_model/, text to replace (exactly once), replacement, what the defect means)
MODEL_MUTANTS = {
    "b2b_inverted": ("linux_nmi.py", "b2b = rip == self.last_nmi_rip", "b2b = rip != self.last_nmi_rip",
                     "the back-to-back test of default_do_nmi inverted"),
    "swallow_never_armed": ("linux_nmi.py", "if handled > 1:", "if handled > 99:",
                            "swallow_nmi never armed by a pass that claims two events"),
    "swallow_armed_at_one": ("linux_nmi.py", "if handled > 1:", "if handled >= 1:",
                             "swallow_nmi armed by a pass that claims a single event"),
    "b2b_compared_at_poll": ("host.py", 'if ctx.kind == Ctx.PASS and ctx.elapsed == 0:',
                             'if ctx.kind == Ctx.PASS and ctx.elapsed == self.cfg.poll:',
                             "the back-to-back test and last_nmi_rip write at the poll point, not as the pass starts"),
    "fred_fault_return_unblocks": ("hardware.py", 'return entry == "idt" or nmi_frame', "return True",
                                   "under FRED, the return from a fault unblocks NMIs too (the model before A1's fix)"),
    "nmi_state_guard_missing": ("host.py", 'if via == "idt" and self.linux.nmi_state != NOT_RUNNING:', "if False:",
                                "exc_nmi without the nmi_state guard: IDT NMIs nest like FRED"),
    "external_path_skipped": ("linux_nmi.py", "arrivals = sources.claim(EXTERNAL_VECTOR)", "arrivals = []",
                              "the external reason port never read"),
    "noinstr_region_ignored": ("host.py", 'return self.cfg.kvm == "noinstr" and self.kvm in (Kvm.MANUAL_PASS, Kvm.IN_PASS)',
                               "return False", "faults taken inside KVM's noinstr region"),
    "nmi_source_filter_ignored": ("linux_nmi.py", "call_all = bitmap is None or bitmap == 0 or bitmap & 1",
                                  "call_all = True", "NMI-source bitmap ignored: every handler runs"),
    "rip_after_seamret_fresh": ("host.py", "self.boundary_rip = R_SEAM  # C3", "self.boundary_rip = None",
                                "a delivery right after SEAMRET lands on a fresh RIP instead of R_seam"),
    "debugctl_restore_inverted": ("host_state.py", 'self.host["DEBUGCTL"] & ~DEBUGCTL_PRESERVED',
                                  'self.host["DEBUGCTL"] & DEBUGCTL_PRESERVED',
                                  "KVM restores DEBUGCTL only when it did not need to"),
    "uret_cache_not_updated": ("host_state.py", "            self.notifier_registered = True\n",
                               "            self.notifier_registered = False\n",
                               "the user-return notifier is not registered after the exit"),
}


@dataclass
class MutantResult:
    name: str
    kind: str
    what: str
    killed_by: str | None
    message: str
    seconds: float


def make_overlay(name: str) -> Path:
    """A copy of py_model with one mutation applied (the text must occur exactly once)."""
    file, old, new, _ = MODEL_MUTANTS[name]
    root = Path(tempfile.mkdtemp(prefix=f"mutant-{name}-"))
    shutil.copytree(ROOT / "py_model", root / "py_model", ignore=shutil.ignore_patterns("__pycache__"))
    path = root / "py_model" / file
    text = path.read_text()
    if text.count(old) != 1:
        raise ValueError(f"model mutant {name}: {old!r} occurs {text.count(old)} times in py_model/{file}")
    path.write_text(text.replace(old, new))
    return root


def hunt(name: str, kind: str, workdir: Path) -> MutantResult:
    start = time.perf_counter()
    overlay = make_overlay(name) if kind == "model" else None
    what = {"model": lambda: MODEL_MUTANTS[name][3], "rtl": lambda: BUGS[name], "soc": lambda: SOC_BUGS[name],
            "firmware": lambda: FIRMWARE_DEFECTS[name][2]}[kind]()
    softcore = kind in ("firmware", "soc")  # the SoC and its firmware run in softcore mode only
    try:
        for test in FIRMWARE_KILL_ORDER if softcore else KILL_ORDER:
            job = Job(test, 1, bugs=(name,) if kind in ("rtl", "soc") else (), overlay=str(overlay) if overlay else None,
                      tag=f"-mutant-{name}", mode="softcore" if softcore else "interactive",
                      fw_bugs=(name,) if kind == "firmware" else (),
                      target="harness" if name in PLAYER_BUGS else "sim")  # the hardware player runs off cocotb
            result = run_job(job, workdir)
            if not result.ok:
                return MutantResult(name, kind, what, test, result.message.splitlines()[0][:160],
                                    time.perf_counter() - start)
        return MutantResult(name, kind, what, None, "survived every test", time.perf_counter() - start)
    finally:
        if overlay:
            shutil.rmtree(overlay, ignore_errors=True)


def main(argv=None) -> int:
    from tb.flows.cli import run_command

    return run_command(lambda: _main(argv), interrupted="the mutants finished so far are above")


def _main(argv=None) -> int:
    from tb.flows.cli import OneLineParser, UsageError

    parser = OneLineParser(prog="python -m tb.flows.mutants", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", action="append", default=[])
    args = parser.parse_args(argv)
    mutants = ([(n, "rtl") for n in BUGS] + [(n, "soc") for n in SOC_BUGS] + [(n, "model") for n in MODEL_MUTANTS]
               + [(n, "firmware") for n in FIRMWARE_DEFECTS])
    unknown = [n for n in args.only if n not in {m for m, _ in mutants}]
    if unknown or args.jobs < 1:
        raise UsageError('unknown mutant ' + ', '.join(unknown) if unknown else f'JOBS={args.jobs}: expected >= 1')
    if args.only:
        mutants = [(n, k) for n, k in mutants if n in args.only]
    workdir = ROOT / "build" / "mutants"
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"{len(mutants)} mutants ({sum(k == 'rtl' for _, k in mutants)} RTL, {sum(k == 'soc' for _, k in mutants)} "
          f"SoC, {sum(k == 'model' for _, k in mutants)} model, {sum(k == 'firmware' for _, k in mutants)} firmware); "
          f"tests tried in order: {', '.join(KILL_ORDER)} (SoC and firmware, in softcore mode: "
          f"{', '.join(FIRMWARE_KILL_ORDER)})", flush=True)
    start = time.perf_counter()
    results = []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for result in pool.map(lambda m: hunt(m[0], m[1], workdir), mutants):
            results.append(result)
            print(f"  {result.kind:<8} {result.name:<26} "
                  f"{'killed by ' + result.killed_by if result.killed_by else 'SURVIVED'}"
                  f" ({result.seconds:.1f} s)", flush=True)
    killed = [r for r in results if r.killed_by]
    rows = [("mutant", "kind", "killed by", "first failure")]
    rows += [(r.name, r.kind, r.killed_by or "SURVIVED", r.message) for r in results]
    print()
    print(table_text(rows))
    print(f"kill ratio: {len(killed)}/{len(results)} in {time.perf_counter() - start:.0f} s")
    (workdir / "report.txt").write_text("\n".join(" | ".join(row) for row in rows) + "\n")
    return 0 if len(killed) == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
