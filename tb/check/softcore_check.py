"""The softcore's software, checked: the firmware's log against the scenario's expectation.

The hardware half (the RTL against the reference fed the inputs the CPU and environment drove, and
the invariants) is ``HardwareChecker``; this is the software half: every handler pass the firmware
logged (entry path, interrupted RIP mapped to ``R_seam``/``R_kvm``/``host:N``, claimed sources,
result) and Linux's counters, against the model's software on the same scenario (the NMIs are
placed by phase, so the outcome must not depend on whose timing the software has) and against the
scenario's ``expect``.
"""

from __future__ import annotations

from rtl.soc import abi

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
    passes, counts = [], None
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
    return {"passes": passes, "counts": counts}


def model_expectation(scenario) -> dict:
    """What the model's software does on the same scenario: its passes and counters, as ``expect``."""
    from py_model import run_model

    outcome = run_model(scenario).to_json()
    return {"passes": outcome["passes"], "counts": outcome["counts"]}


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
    return None
