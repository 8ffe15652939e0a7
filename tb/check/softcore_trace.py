"""A softcore run checked from its recorded trace (the harness and the boards): the same checks as the
cocotb bench's, fed the same samples, plus the environment player's own check.

The trace holds every cycle an event-driven bench looks at (``rtl/soc/trace.py``); it goes through
``SoftcoreRun`` as the cocotb scoreboard's samples do (the reference hardware fed the inputs the CPU
and the environment drove, the invariants, then the software replay, the model and ``expect``).
The hardware player is held to its specification on every run: the Python player
(``EnvPlayer``) replays the run from the recorded phases and HANDLER values and must drive the
same NMI arrivals, TD exits and TD register writes in the same cycles, and nothing in between.
Its ``timed`` (an NMI placed by time) decides, as in cocotb, whether ``expect`` and the model apply.
"""

from __future__ import annotations

from py_model.hardware import GUEST
from tb.check.softcore_check import SoftcoreRun
from tb.protocol.pins import read_state
from tb.stimulus.softcore import EnvPlayer, Handler

ENV_PINS = {"env__nmi": "stim__nmi", "env__nmi_vector": "stim__nmi_vector", "env__exit_req": "stim__exit_req",
            "env__exit_reason": "stim__exit_reason"}
TD_PINS = {"env__reg__we": "stim__reg__we", "env__reg__addr": "stim__reg__addr", "env__reg__data": "stim__reg__data"}


class EnvReplay:
    """The Python player replayed over a run's samples; ``problem`` is the first cycle where the
    hardware player drove something else."""

    def __init__(self, case):
        self.env = EnvPlayer(case)
        self.last, self.held, self.problem = -1, None, None

    def observe(self, cycle: int, sample: dict) -> None:
        if self.problem is not None:
            return
        if self.held is not None:
            self._through(cycle)
        phase = read_state(sample.__getitem__).phase
        handler = Handler(bool(sample["in_handler"]), sample["poll_state"], sample["poll_index"], sample["polls"])
        pins = self.env.cycle(phase, handler)
        self._compare(cycle, pins, sample, phase)
        self.last, self.held = cycle, (phase, handler)

    def _through(self, cycle: int) -> None:
        """The cycles between two samples: the phase and HANDLER held, the hardware drove nothing."""
        phase, handler = self.held
        gap = cycle - self.last - 1
        while gap > 0 and self.problem is None:
            quiet = self.env.quiet_for(phase)
            if quiet is None or quiet >= gap:
                self.env.skip(gap)
                return
            self.env.skip(quiet)
            gap -= quiet + 1
            pins = self.env.cycle(phase, handler)
            if EnvPlayer.strobes(pins):
                self.problem = (f"the environment player drove nothing at cycle {cycle - gap - 1}; its "
                                f"specification drives {_strobed(pins)}")

    def _compare(self, cycle: int, pins: dict, sample: dict, phase: int) -> None:
        wanted = dict(ENV_PINS)
        if phase == GUEST:  # the register port is the TD's only while it runs, the CPU's otherwise
            wanted.update(TD_PINS)
        differs = {env: (pins[env], sample[stim]) for env, stim in wanted.items() if pins[env] != sample[stim]}
        if differs:
            self.problem = (f"the environment player at cycle {cycle}: "
                            + ", ".join(f"{env[5:]} specification {a}, hardware {b}" for env, (a, b) in differs.items()))


def _strobed(pins: dict) -> str:
    return ", ".join(f"{name[5:]}={value}" for name, value in pins.items() if value and name != "env__done")


def check_trace(case, trace, bound: int) -> dict:
    """The run's row, as the cocotb bench makes it (``SoftcoreRun.result``), from a ``CaseTrace``."""
    run, replay = SoftcoreRun(case), EnvReplay(case)
    samples = trace.samples
    base = samples[0]["cycle"] if samples else 0
    for sample in samples:
        cycle = (sample["cycle"] - base) & 0xFFFF_FFFF
        replay.observe(cycle, sample)
        if not run.done:
            run.cycle(cycle, sample.__getitem__)
        if run.broken or replay.problem:
            break
    row = run.result(replay.env.timed, bound, trace.instructions, trace.done_value)
    row["records"] = len(samples)
    if not samples or trace.overflow or replay.problem:
        reason = ("the run left no trace" if not samples else
                  f"the trace overflowed after {len(samples):,} records: the run is not checked whole"
                  if trace.overflow else replay.problem)
        row.update(ok=False, failure=f"{case.scenario.name}: {reason}")
        row["checks"] = {**row["checks"], "hardware": "FAIL"}
    elif row["ok"] and run.done and replay.env.index < len(replay.env.steps):
        # The firmware ends its run once the ENV register says the timeline is played: the hardware
        # player said so before its specification had played every step.
        row.update(ok=False, failure=f"{case.scenario.name}: the firmware ended its run with the environment's "
                                     f"step {replay.env.index + 1} of {len(replay.env.steps)} not played (the "
                                     "environment player said it was done)")
        row["checks"] = {**row["checks"], "hardware": "FAIL"}
    elif row["ok"] and trace.done != run.done:
        said = "did" if trace.done else "did not"
        row.update(ok=False, failure=f"{case.scenario.name}: the core says the firmware {said} finish; its trace "
                                     "says otherwise")
    if not row["ok"] and not row.get("outcome"):
        row["rtl_trace"] = [t.to_json() for t in run.txns]
    return row
