"""The softcore's software, checked on every run: the firmware's log against Linux's rules for the
history it had, then against the scenario's ``expect`` and (NMIs placed by phase) the model.

The hardware half (the RTL against the reference fed the inputs the CPU and environment drove, and
the invariants) is ``HardwareChecker``. The software half is ``software_replay.replay``: the model's
Linux logic fed what happened on the softcore (deliveries, arrivals, boundaries from the hardware;
landings, pass boundaries and polls from the firmware), which every logged pass and counter must
match. That check does not depend on where an NMI lands in time, so no run is exempt. Its result is
the run's ``Outcome`` (the documented format); the scenario's whole ``expect`` is held to it, and
where every NMI is placed by phase, so is the model-alone run (a run with an NMI placed by time into
the host's software has its ``expect`` and the model comparison reported *not applicable*).
"""

from __future__ import annotations

from py_model.host_state import REGISTERS, HostStateSw
from py_model.outcome import check_expect
from tb.check.checker import HardwareChecker
from tb.check.software_replay import SoftwareMismatch, replay
from tb.protocol.pins import read_inputs

NOT_APPLICABLE = "n/a"


def unjudged_expect(expect: dict, software_timed: list[int]) -> str | None:
    """An ``expect`` key softcore mode cannot judge, named with the reason; None if there is none.
    The one such key: ``cycle`` of a pass whose start is the firmware's timing (KVM's manual pass, an
    E1 re-run); a delivered pass starts at the hardware's delivery, which is judged."""
    for i, entry in enumerate(expect.get("passes") or []):
        if "cycle" in entry and i in software_timed:
            return (f"expect.passes[{i}].cycle: softcore mode cannot judge when KVM's pass or a re-run starts (the "
                    "firmware's timing is its own); remove it, or run this file in interactive or program mode")
    return None


def judge_expect(expect: dict, outcome, software_timed: list[int], timed: bool) -> tuple[str, str | None]:
    """The scenario's ``expect`` on a softcore run: (PASS | FAIL | n/a, the first difference or the
    key this mode cannot judge). Any subset of the format's keys; only ``cycle`` of a software-timed
    pass is refused. ``timed``: an NMI was placed by time, so the file's expectation does not apply."""
    unjudged = unjudged_expect(expect, software_timed)
    if unjudged:
        return "FAIL", unjudged
    if timed:
        return NOT_APPLICABLE, None
    miss = check_expect(expect, outcome)
    return ("FAIL", miss) if miss else ("PASS", None)


def host_state_outcome(scenario, log: dict | None, regs) -> dict:
    """At the end of a host-state run: the firmware's refusal (from its log) and the registers that
    differ from the host's values in the register file the hardware holds (``regs``), shaped as the
    model's ``Outcome.host_state``."""
    if log is None:
        raise ValueError("the firmware logged no host-state record (it never reached return to user space)")
    # the host's values, differences
    result = HostStateSw(scenario.host_state).result(dict(zip(REGISTERS, regs, strict=True)))
    return {**result, "refused": log["refused"], "writes": log["writes"]}


def model_expectation(scenario) -> dict:
    """What the model alone gives on the same scenario, as an ``expect`` (every key but the cycles)."""
    from py_model import run_model

    outcome = run_model(scenario).to_json(with_trace=False)
    expect = {"passes": [{k: v for k, v in p.items() if k not in ("cycle", "end")} for p in outcome["passes"]],
              "counts": outcome["counts"], "inversions": outcome["inversions"], "lost": outcome["lost"]}
    if "host_state" in outcome:
        expect["host_state"] = {k: v for k, v in outcome["host_state"].items() if k != "writes"}
    return expect


class SoftcoreRun:
    """One scenario's run on the softcore, checked at both levels; plain Python, fed cycle by cycle
    by any bench (the pyuvm scoreboard today) with a pin getter over the SoC's monitor port.

    Per cycle ``cycle(t, get)``: the registered events of edge t-1 and the state of t are observed;
    unless the firmware has finished (``done``), the inputs the CPU and the environment drove in t
    are fed to the reference and a LOG store is kept. ``result`` judges the run. A bench may skip
    cycles whose SoC ``wake`` was low (idle inputs, the state held, no event): the reference steps
    through them with idle inputs.
    """

    def __init__(self, case):
        self.case = case
        self.checker = HardwareChecker(case.scenario.config, case.scenario.name, case.scenario.host_state)
        self.log, self.events, self.txns = [], [], []
        self.last, self.done = 0, False
        self.offset: int | None = None  # the firmware's CYCLE at the run's cycle 0

    def cycle(self, cycle: int, get) -> None:
        if self.offset is None:
            self.offset = get("cycle") - cycle
        elif cycle > self.last + 1 and not self.done:
            # An event-driven bench skipped the cycles in between: the SoC's ``wake`` was low in each,
            # so nothing was driven into the design (rtl/soc/nmi_periph.py, MonitorSignature).
            self.checker.idle(self.last + 1, cycle - self.last - 1)
        _, edge = self.checker.observed_pins(cycle, get)
        self.txns += edge
        self.events += [str(txn) for txn in edge]
        self.last = cycle
        if get("done"):
            self.done = True
            return
        self.checker.driven(cycle, read_inputs(get))
        if get("log_valid"):
            self.log.append(get("log_data"))
            self.events.append(f"@{cycle} log 0x{self.log[-1]:08x}")

    @property
    def broken(self) -> bool:
        """The hardware has already diverged from the reference or broken a rule: the run can stop."""
        return self.checker.early_problem() is not None

    def result(self, timed: bool, bound: int, instructions: int, done_value: int) -> dict:
        """The run's row: the hardware's first problem, else the software check (always), then the
        scenario's ``expect`` and the model-alone run (unless an NMI was placed by time: ``timed``)."""
        scenario = self.case.scenario
        if self.done:
            problem = self.checker.problem(self.last)
        else:  # stopped early (the first divergence explains it) or at the bound
            problem = self.checker.early_problem() or f"{scenario.name}: the firmware did not finish within {bound:,} cycles"
        checks = {"hardware": "FAIL" if problem else "PASS", "software": "-", "model": "-", "expect": "-"}
        outcome, firmware = None, None
        if problem is None:
            try:
                outcome, firmware = replay(scenario.config, self.txns, self.log, self.offset or 0)
                outcome.trace = list(self.txns)  # the hardware's transactions (the reference's: compared above)
                if scenario.host_state is not None:
                    outcome.host_state = host_state_outcome(scenario, firmware["host_state_log"],
                                                            self.checker.last_regs)
                checks["software"] = "PASS"
            except SoftwareMismatch as err:
                problem, checks["software"] = f"{scenario.name}: software check: {err}", "FAIL"
            except ValueError as err:
                problem, checks["software"] = f"{scenario.name}: {err}", "FAIL"
        if problem is None:
            if timed:
                checks["model"] = NOT_APPLICABLE
            else:
                miss = check_expect(model_expectation(scenario), outcome)
                checks["model"] = "FAIL" if miss else "PASS"
                problem = f"{scenario.name}: the firmware differs from the model's software: {miss}" if miss else None
        if problem is None and scenario.expect:
            checks["expect"], miss = judge_expect(scenario.expect, outcome, firmware["software_timed"], timed)
            problem = f"{scenario.name}: {miss}" if miss else None
        return {"scenario": scenario.name, "config": scenario.config.to_json(), "ok": problem is None,
                "failure": problem, "cycles": self.last, "instructions": instructions,
                "transactions": self.checker.scoreboard.compared["txn"], "checks": checks,
                "outcome": outcome.to_json() if outcome is not None else None,
                "firmware": firmware, "done_value": done_value, "events": self.events, "timed": timed}
