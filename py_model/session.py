"""A run of one scenario against any hardware: the stimulus plus the host software.

``Session`` is simulator-independent. Each cycle the caller hands it the hardware state of
this cycle and the transactions of the previous edge; it returns the inputs to drive this
cycle. The model runner (``run.py``) calls it with the reference hardware; the cocotb
testbench calls it with the RTL's pins.
"""

from __future__ import annotations

from .config import SETTLE_BOUND, UNTIL_BOUND, beyond_bound, run_cycle_bound
from .hardware import HOST, MODE_NAMES, SEAM_NONROOT, SEAM_ROOT, STEP, VMX_ROOT, HwState, Inputs
from .host import HostCpu, Kvm, ScenarioError
from .host_state import HostStateSw
from .outcome import Outcome
from .scenario import Scenario
from .transactions import EXIT_REASONS, Txn


class RunError(Exception):
    """The run could not go on: a step's condition never held, or a step was illegal then."""


class Session:
    """Stimulus (the scenario's timeline) plus ``HostCpu``; one per run."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.cfg = scenario.config
        self.host_state = HostStateSw(scenario.host_state) if scenario.host_state else None
        self.host = HostCpu(self.cfg, self.host_state)
        self.trace: list[Txn] = []
        self.index = 0
        self.wait_left: int | None = None
        self.until_elapsed = 0
        self.settle_elapsed = 0
        self.done = False
        self.cycle_now = 0
        self.polls_at_arrival: int | None = None  # the host's poll count when the last NMI was placed

    # ----- per cycle -------------------------------------------------------------------
    def cycle(self, cycle: int, hw: HwState, prev_edge: list[Txn]) -> Inputs:
        self.cycle_now = cycle
        self.trace += prev_edge
        try:
            self.host.on_edge(cycle, prev_edge)
            pins = self._stimulus(cycle, hw)
            inputs = self.host.act(cycle, hw)
        except ScenarioError as err:
            raise RunError(self._where(str(err))) from None
        inputs.nmi, inputs.vector = pins.nmi, pins.vector
        inputs.exit_req, inputs.exit_reason = pins.exit_req, pins.exit_reason
        return inputs

    def quiet_cycles(self, hw: HwState) -> int:
        """Cycles ahead in which this session would only count (0 if it acts now)."""
        host = self.host.quiet_cycles(hw)
        if self.index >= len(self.scenario.steps):
            settled = hw.phase == HOST and not hw.latch and (self.host.settled() or self.host.kvm == Kvm.RETURNED)
            stim = 0 if settled else SETTLE_BOUND - self.settle_elapsed - 1
        else:
            kind, arg = self.scenario.steps[self.index]
            if kind == "wait" and self.wait_left:
                stim = self.wait_left - 1
            elif kind == "until":
                stim = 0 if self._holds(arg, hw) else UNTIL_BOUND - self.until_elapsed - 1
            else:
                stim = 0
        return max(0, min(host, stim))

    def skip(self, n: int, hw: HwState) -> None:
        self.host.skip(n, hw)
        if self.index >= len(self.scenario.steps):
            self.settle_elapsed += n
        else:
            kind, _ = self.scenario.steps[self.index]
            if kind == "wait":
                self.wait_left -= n
            elif kind == "until":
                self.until_elapsed += n

    def outcome(self, regs=None) -> Outcome:
        """``regs``: the register file at the end (host-state scenarios), as the hardware holds it."""
        return Outcome.from_host(self.host, self.trace, self.cycle_now, regs)

    # ----- the timeline ----------------------------------------------------------------
    def _stimulus(self, cycle: int, hw: HwState) -> Inputs:
        pins = Inputs()
        steps = self.scenario.steps
        if self.host_state is not None:
            if self.host.kvm == Kvm.SETUP:
                return pins  # host values still loading
            if self.host_state.refused:
                self.done = True  # KVM refused to create the TD: nothing runs
                return pins
        while self.index < len(steps):
            kind, arg = steps[self.index]
            if kind == "until":
                if self._holds(arg, hw):
                    self._next()
                    continue
                self.until_elapsed += 1
                if self.until_elapsed > UNTIL_BOUND:
                    raise RunError(self._where(f"until: {arg} did not hold within {UNTIL_BOUND} cycles"))
                return pins
            if kind == "wait":
                if self.wait_left is None:
                    self.wait_left = arg
                if self.wait_left == 0:
                    self._next()
                    continue
                self.wait_left -= 1
                if self.wait_left == 0:
                    self._next()
                return pins
            if kind == "nmi":
                self.host.raise_nmi(arg)
                self.polls_at_arrival = self.host.polls
                pins.nmi, pins.vector = True, arg
            elif kind == "exit":
                if hw.mode != SEAM_NONROOT and hw.phase != STEP:  # the TD runs, or the module steps it (B6)
                    raise RunError(self._where(f"exit: {arg}: no TD is running (mode {MODE_NAMES[hw.mode]})"))
                pins.exit_req, pins.exit_reason = True, EXIT_REASONS[arg]
            elif kind == "enter":
                self.host.request_enter()
            elif kind == "fault":
                self.host.request_fault()
            self._next()
            return pins
        # After the last step: run on until nothing is pending and no pass runs.
        if hw.phase == HOST and not hw.latch and self.host.settled():
            if self.host_state is not None:
                self.host.return_to_user()
            else:
                self.done = True
        elif self.host.kvm == Kvm.RETURNED:
            self.done = True
        else:
            self.settle_elapsed += 1
            if self.settle_elapsed > SETTLE_BOUND:
                raise RunError(f"{self.scenario.name}: did not settle within {SETTLE_BOUND} cycles after the last step")
        return pins

    def _holds(self, state: str, hw: HwState) -> bool:
        if state == "guest":
            return hw.mode == SEAM_NONROOT
        if state == "seam_root":
            return hw.mode == SEAM_ROOT
        if state == "host":
            return hw.mode == VMX_ROOT and self.host.kvm_idle()
        if state == "poll":
            return self.host.pass_polled() is False
        if state == "polled":  # a poll after the last NMI the timeline placed (not one before it)
            return self.host.pass_polled(self.polls_at_arrival) is True
        return self.host.in_handler()  # "handler"

    def _next(self) -> None:
        self.index += 1
        self.wait_left = None
        self.until_elapsed = 0

    def _where(self, message: str) -> str:
        return f"{self.scenario.name}: timeline[{self.index}] at cycle {self.cycle_now}: {message}"


class HostLoop:
    """A session run cycle by cycle against any hardware, under the shared cycle bound: the one
    loop that the reference runner (``run.py``), the lockstep bench (``tb/benches/lockstep.py``)
    and the pyuvm sequence (``tb/uvm/seq_lib.py``) all drive.

    Each cycle the caller passes the state during ``cycle`` and the previous edge's transactions to
    ``step``, and drives what it returns; ``None`` ends the run: the session finished, or
    ``error`` says why it could not go on (a step's condition never held, or the bound was passed).
    """

    def __init__(self, scenario: Scenario, bound: int | None = None):
        self.session = Session(scenario)
        self.bound = run_cycle_bound() if bound is None else bound
        self.cycle = 0  # the cycle the next step is for; when over, the cycle the run ended in
        self.error: str | None = None

    def step(self, state: HwState, edge: list[Txn]) -> Inputs | None:
        if self.cycle > self.bound:
            self.error = beyond_bound(self.session.scenario.name, self.bound)
            return None
        try:
            inputs = self.session.cycle(self.cycle, state, edge)
        except RunError as err:
            self.error = str(err)
            return None
        if self.session.done:
            return None
        self.cycle += 1
        return inputs

    def quiet_stretch(self, inputs: Inputs, edge: list[Txn], state: HwState) -> int:
        """After a cycle whose inputs were idle and whose edge had no transaction, how many cycles from
        now the session would only count (``Session.quiet_cycles``), within the run bound; else 0.
        A caller may jump over them (``skip``) as long as the hardware stays quiet too."""
        if edge or not inputs.idle():
            return 0
        return max(0, min(self.session.quiet_cycles(state), self.bound + 1 - self.cycle))

    def skip(self, n: int, state: HwState) -> None:
        """Jump over ``n`` cycles in which the session would only count (``Session.quiet_cycles``)."""
        self.session.skip(n, state)
        self.cycle += n
