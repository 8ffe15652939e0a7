"""The softcore's software, checked: the firmware's log against the scenario's expectation.

The hardware half (the RTL against the reference fed the inputs the CPU and environment drove, and
the invariants) is ``HardwareChecker``; this is the software half: every handler pass the firmware
logged (entry path, interrupted RIP mapped to ``R_seam``/``R_kvm``/``host:N``, claimed sources,
result) and Linux's counters, and in host-state scenarios the register file the hardware holds
when the firmware is done (after KVM's restores) and the firmware's refusal, against the model's
software on the same scenario (the NMIs are placed by phase, so the outcome must not depend on whose
timing the software has) and against the scenario's ``expect``.
"""

from __future__ import annotations

from py_model.host_state import REGISTERS, HostStateSw
from rtl.soc import abi
from tb.check.checker import HardwareChecker
from tb.protocol.pins import read_inputs

ENTRY_NAMES = {code: name.split("_", 1)[1].lower() for name, code in abi.ENTRIES.items()}
RESULT_NAMES = {code: name.split("_", 1)[1].lower() for name, code in abi.RESULTS.items()}


def firmware_outcome(words: list[int]) -> dict:
    """The firmware's passes and counters from its log (ValueError if the log is malformed)."""
    records = abi.decode_log(words)
    marks = next((fields for kind, fields in records if kind == "LOG_MARKS"), None)
    if marks is None:
        raise ValueError("the firmware logged no R_seam/R_kvm marks")
    names, hosts = {marks["r_seam"]: "R_seam", marks["r_kvm"]: "R_kvm"}, {}

    def rip_name(rip: int) -> str:
        if rip not in names:
            hosts.setdefault(rip, f"host:{len(hosts) + 1}")  # numbered as the model numbers host RIPs
            return hosts[rip]
        return names[rip]

    # A pass is logged when it ends, the model lists passes as they start: a nested pass ends first,
    # and an IDT NMI marks a running pass LATCHED before that pass ends. Order by the start cycle.
    order = sorted(range(len(records)), key=lambda i: records[i][1].get("cycle", 0) if records[i][0] in
                   ("LOG_PASS", "LOG_LATCHED") else -1)
    records = [records[i] for i in order]
    passes, counts, host_state = [], None, None
    for kind, fields in records:
        if kind == "LOG_PASS":
            claimed = [v for v in range(16) if fields["claimed"] >> v & 1]
            passes.append({"via": ENTRY_NAMES[fields["entry"]], "rip": rip_name(fields["rip"]), "claimed": claimed,
                           "result": RESULT_NAMES[fields["result"]], "cycle": fields["cycle"],
                           "rip_address": f"0x{fields['rip']:x}", "landing": f"0x{fields['landing']:x}"})
        elif kind == "LOG_LATCHED":
            passes.append({"via": ENTRY_NAMES[fields["entry"]], "rip": rip_name(fields["rip"]), "claimed": [],
                           "result": "latched", "cycle": fields["cycle"], "rip_address": f"0x{fields['rip']:x}"})
        elif kind == "LOG_COUNTS":
            counts = dict(fields)
        elif kind == "LOG_HOST_STATE":
            host_state = {"refused": bool(fields["refused"]), "writes": fields["writes"]}
    return {"passes": passes, "counts": counts, "host_state_log": host_state}


def host_state_outcome(scenario, log: dict | None, regs) -> dict:
    """At the end of a host-state run: the firmware's refusal (from its log) and the registers that
    differ from the host's values in the register file the hardware holds (``regs``), shaped as the
    model's ``Outcome.host_state``."""
    if log is None:
        raise ValueError("the firmware logged no host-state record (it never reached return to user space)")
    result = HostStateSw(scenario.host_state).result(dict(zip(REGISTERS, regs)))  # the host's values, differences
    return {**result, "refused": log["refused"], "writes": log["writes"]}


def model_expectation(scenario) -> dict:
    """What the model's software does on the same scenario: its passes and counters, as ``expect``."""
    from py_model import run_model

    outcome = run_model(scenario).to_json()
    expect = {"passes": outcome["passes"], "counts": outcome["counts"]}
    if "host_state" in outcome:
        expect["host_state"] = outcome["host_state"]
    return expect


def check_firmware(expect: dict, outcome: dict) -> str | None:
    """The first difference between the firmware's outcome and ``expect`` (passes, counts), or None."""
    if outcome["counts"] is None:
        return "the firmware did not log its counters (it never finished its loop)"
    for key, value in (expect.get("counts") or {}).items():
        if outcome["counts"].get(key) != value:
            return f"count {key}: expected {value}, the firmware counted {outcome['counts'].get(key)}"
    if "passes" in expect:
        want = [{k: p[k] for k in ("via", "rip", "claimed", "result")} for p in expect["passes"]]
        got = [{k: p[k] for k in ("via", "rip", "claimed", "result")} for p in outcome["passes"]]
        for i, (w, g) in enumerate(zip(want, got)):
            if w != g:
                return f"pass {i + 1}: expected {w}, the firmware ran {g}"
        if len(want) != len(got):
            return f"expected {len(want)} passes, the firmware ran {len(got)}"
    for key, value in (expect.get("host_state") or {}).items():
        got = (outcome.get("host_state") or {}).get(key)
        if got != value:
            return f"host state {key}: expected {value!r}, after the firmware's restores {got!r}"
    return None


class SoftcoreRun:
    """One scenario's run on the softcore, checked at both levels; plain Python, fed cycle by cycle
    by any bench (the pyuvm scoreboard today) with a pin getter over the SoC's monitor port.

    Per cycle ``cycle(t, get)``: the registered events of edge t-1 and the state of t are observed;
    unless the firmware has finished (``done``), the inputs the CPU and the environment drove in t
    are fed to the reference and a LOG store is kept. ``result`` judges the run.
    """

    def __init__(self, case):
        self.case = case
        self.checker = HardwareChecker(case.scenario.config, case.scenario.name, case.scenario.host_state)
        self.log, self.events = [], []
        self.last, self.done = 0, False

    def cycle(self, cycle: int, get) -> None:
        _, edge = self.checker.observed_pins(cycle, get)
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
        """The run's row: the hardware's first problem, else the firmware's outcome against the model's
        software and the scenario's ``expect`` (unless an NMI was placed by time: ``timed``)."""
        scenario = self.case.scenario
        if self.done:
            problem = self.checker.problem(self.last)
        else:  # stopped early (the first divergence explains it) or at the bound
            problem = self.checker.early_problem() or f"{scenario.name}: the firmware did not finish within {bound:,} cycles"
        outcome = {"passes": [], "counts": None}
        if problem is None:
            try:
                outcome = firmware_outcome(self.log)
                if scenario.host_state is not None:
                    outcome["host_state"] = host_state_outcome(scenario, outcome["host_state_log"],
                                                               self.checker.last_regs)
            except ValueError as err:
                problem = f"{scenario.name}: {err}"
        if problem is None and not timed:
            miss = check_firmware(model_expectation(scenario), outcome)
            problem = f"{scenario.name}: the firmware differs from the model's software: {miss}" if miss else None
        if problem is None and not timed:
            miss = check_firmware(scenario.expect, outcome)
            problem = f"{scenario.name}: {miss}" if miss else None
        return {"scenario": scenario.name, "config": scenario.config.to_json(), "ok": problem is None,
                "failure": problem, "cycles": self.last, "instructions": instructions,
                "transactions": self.checker.scoreboard.compared["txn"], "firmware": outcome,
                "done_value": done_value, "events": self.events, "timed": timed}
