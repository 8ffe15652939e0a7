"""Scenarios as softcore runs: the firmware's parameters and the environment's part of the timeline.

In softcore mode the host software is the firmware (``rtl/soc/firmware/kvm_nmi.c``): KVM's loop
enters the TD by itself and its handlers take their own time, so a scenario keeps only what the
environment does (NMI arrivals, placed by phase with ``until:`` steps) and the firmware's
parameters. Software timing knobs become firmware behaviour: ``handler``/``poll``/``nest`` are the
firmware's own code, ``late`` is a loop of ``late`` iterations, and a ``fault`` placed after an
entry's NMIs is the firmware's one instrumentation fault, taken in KVM's first instrumentable code
after SEAMRET (where the model's host takes it too). Host state (SPEC §7): the firmware does KVM's
restores from a table of what the host knows (``host_state_table``, loaded into RAM), and the
environment plays the TD's own register writes while it runs, as the model's TD does. What the
firmware does not do yet is refused with the reason (``NotApplicable``), never run differently from
the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from py_model import Scenario
from py_model.hardware import EXIT, GUEST, HOST, SEAMCALL, STEP, VMENTRY
from py_model.host_state import ADDRESS, REGISTERS, RESTORE_STEPS, HostStateConfig, HostStateSw
from py_model.transactions import EXIT_REASONS
from rtl.soc import abi


class NotApplicable(Exception):
    """The scenario needs something the softcore's firmware or environment does not model yet."""


# The phases an ``until:`` step waits for (the environment sees the hardware's phase, and the
# firmware's HANDLER register for ``until: handler``, ``until: poll`` and ``until: polled``).
UNTIL_PHASES = {"guest": {GUEST}, "seam_root": {SEAMCALL, VMENTRY, EXIT, STEP}, "host": {HOST}}
UNTIL_POLL = {"poll": abi.POLL_STATES["POLL_AHEAD"], "polled": abi.POLL_STATES["POLL_DONE"]}
UNTIL_STATES = (*UNTIL_PHASES, "handler", *UNTIL_POLL)


@dataclass
class SoftcoreCase:
    scenario: Scenario
    sw_cfg: int  # the firmware's CONFIG word
    entries: int
    steps: list  # the environment's steps: ("until", phases), ("nmi", vector), ("exit", reason), ("wait", n)
    hs_table: list = ()  # the host-state table the firmware reads at abi.HS_TABLE_ADDR (host-state scenarios)
    guest_writes: list = ()  # the TD's own register writes, (address, value), played in each guest phase


def host_state_table(hs: HostStateConfig) -> list[int]:
    """What the host knows (``abi``'s table layout): KVM's restore steps and the TD's attributes as
    flags, the host's value of every register, the TD's XSAVE values from its parameters."""
    steps = hs.steps()
    flags = sum(abi.HS_FLAGS[f"HS_{step.upper()}"] for step in RESTORE_STEPS if steps[step])
    flags |= ((abi.HS_FLAGS["HS_TD_TSX"] if hs.td_tsx else 0) | (abi.HS_FLAGS["HS_TD_WAITPKG"] if hs.td_waitpkg else 0)
              | (abi.HS_FLAGS["HS_HOST_BREAKPOINTS"] if hs.host_breakpoints else 0))
    host, guest = hs.host_values(), hs.guest_values()
    words = [flags]
    for value in [host[name] for name in REGISTERS] + [guest.get(name, host[name]) for name in abi.HS_XSAVE]:
        words += [value & 0xFFFF_FFFF, value >> 32]
    assert len(words) == abi.HS_TABLE_WORDS
    return words


def softcore_case(scenario: Scenario) -> SoftcoreCase:
    cfg, hs = scenario.config, scenario.host_state
    entries, steps, fault = 0, [], False
    for kind, arg in scenario.steps:
        if kind == "enter":
            entries += 1  # KVM's loop in the firmware enters by itself
        elif kind == "until" and arg in UNTIL_STATES:
            steps.append(("until", arg))
        elif kind == "nmi":
            steps.append(("nmi", arg))
        elif kind == "wait":
            steps.append(("wait", arg))
        elif kind == "fault" and not fault and entries and steps and steps[-1][0] == "nmi":
            fault = True  # after the exit's NMIs: the firmware's first instrumentable code after SEAMRET
        elif kind == "exit" and arg in EXIT_REASONS:
            steps.append(("exit", EXIT_REASONS[arg]))  # the TD's own exit (taken in the TD, B3)
        else:
            raise NotApplicable(f"step {kind}: {arg!r}: not in the softcore yet (a fault anywhere but after an "
                                "entry's NMIs is firmware work to come)")
    sw_cfg = abi.sw_config(cfg.kvm, cfg.entry, cfg.nmi_source, entries, cfg.late if cfg.kvm == "late" else 0, fault,
                           host_state=hs is not None)
    if hs is None:
        return SoftcoreCase(scenario, sw_cfg, entries, steps)
    software = HostStateSw(hs)
    if software.refused:
        steps = []  # KVM refuses the TD (the firmware decides so itself): it never runs, nothing to play
    guest = [(ADDRESS[name], value) for name, value in software.guest_writes()]
    return SoftcoreCase(scenario, sw_cfg, entries, steps, host_state_table(hs), guest)


@dataclass
class Handler:
    """What the firmware's HANDLER register says: whether a handler runs, the innermost pass's poll
    state and the number of its poll, and how many polls there have been (both mod 64)."""

    running: bool = False
    poll_state: int = 0
    poll_index: int = 0
    polls: int = 0


def polled_since(handler: Handler, polls_at_arrival: int | None) -> bool:
    """The innermost pass polled after the environment's last NMI (``polls_at_arrival``: the polls
    there had been then; None: no NMI yet)."""
    return polls_at_arrival is None or 0 < (handler.poll_index - polls_at_arrival) % 64 < 32


def holds(until: str, phase: int, handler: Handler, polls_at_arrival: int | None = None) -> bool:
    """An ``until:`` condition as the environment sees it: the phase, or the firmware's HANDLER.
    ``polled`` holds once the innermost pass has polled after the last NMI placed (as in the model):
    a pass that polled before it is not the one a scenario means."""
    if until == "handler":
        return handler.running
    if until == "poll":
        return handler.running and handler.poll_state == UNTIL_POLL["poll"]
    if until == "polled":
        return (handler.running and handler.poll_state == UNTIL_POLL["polled"]
                and polled_since(handler, polls_at_arrival))
    return phase in UNTIL_PHASES[until]


class EnvPlayer:
    """Plays a case's environment steps against the hardware's phase, one cycle at a time."""

    IDLE = {"env__nmi": 0, "env__nmi_vector": 0, "env__exit_req": 0, "env__exit_reason": 0, "env__done": 0,
            "env__reg__we": 0, "env__reg__addr": 0, "env__reg__data": 0}

    def __init__(self, case: SoftcoreCase):
        self.steps, self.index, self.wait_left = list(case.steps), 0, None
        # The TD's own register writes: all of them again in each guest phase, one per cycle from its
        # first (as the model's TD writes them).
        self.guest_writes, self.td_queue, self.last_phase = list(case.guest_writes), [], None
        # What the last ``until`` waited for; None once a ``wait`` has run since. An NMI that
        # arrives while the host runs without an ``until`` having placed it there (after a wait, or
        # spilling over from a phase that ended) is placed by time: where it lands depends on the
        # software's own timing, which is the firmware's here and the model's there. An ``until``
        # places only the first arrival after it while the host runs (by the next, a pass may have
        # polled or returned). Inside a handler only the poll anchors place one (``until: poll``,
        # ``until: polled``): ``until: handler`` says nothing about the poll, so an arrival there is timed.
        self.anchor: str | None = "host"  # the timeline starts in VMX root, before the first entry
        self.timed = False
        self.polls_at_arrival: int | None = None  # the firmware's poll count when the last NMI was placed
        self.now = 0  # cycles played

    def finished(self, phase: int, latch: bool, irq: bool, in_handler: bool) -> bool:
        """The timeline is played and the system has settled (what the firmware's ENV reads): in VMX
        root, nothing latched or being delivered, no handler running."""
        return self.index >= len(self.steps) and phase == HOST and not (latch or irq or in_handler)

    def cycle(self, phase: int, handler: Handler | None = None) -> dict[str, int]:
        """The environment's pins for this cycle (``env__*``), given the phase during it and what the
        firmware's HANDLER register says."""
        pins = self._steps(phase, handler or Handler())
        if phase == GUEST and self.last_phase != GUEST:
            self.td_queue = list(self.guest_writes)
        self.last_phase = phase
        if phase == GUEST and self.td_queue:
            addr, value = self.td_queue.pop(0)
            pins.update({"env__reg__we": 1, "env__reg__addr": addr, "env__reg__data": value})
        return pins

    STROBES = ("env__nmi", "env__exit_req", "env__reg__we")  # the pins that drive something into the design

    @classmethod
    def strobes(cls, pins: dict[str, int]) -> bool:
        """This cycle's pins drive something into the design (what it did shows in the next cycle)."""
        return any(pins[name] for name in cls.STROBES)

    def quiet_for(self, phase: int) -> int | None:
        """After this cycle's ``cycle()``: how many following cycles the environment certainly leaves
        idle while the phase and the firmware's HANDLER hold (an event-driven bench sleeps through
        them; a change of either wakes it). 0: it acts next cycle; None: only a change can make it act."""
        if phase == GUEST and self.td_queue:
            return 0  # the TD's register writes, one per cycle
        if self.index >= len(self.steps):
            return None
        kind, _ = self.steps[self.index]
        if kind == "wait":
            return self.wait_left  # it counts down these cycles, then moves on
        if kind == "until":
            return None  # its condition did not hold this cycle, and holds on what has not changed
        return 0  # an arrival or an exit is due

    def skip(self, n: int) -> None:
        """``n`` cycles passed in which ``cycle()`` would have returned idle pins (``quiet_for``)."""
        if n <= 0:
            return
        self.now += n
        if self.index < len(self.steps) and self.steps[self.index][0] == "wait":
            if self.wait_left is None or n > self.wait_left:
                raise ValueError(f"skip({n}) past the wait's {self.wait_left} cycles left")
            self.wait_left -= n

    def _steps(self, phase: int, handler: Handler) -> dict[str, int]:
        pins = dict(self.IDLE)
        self.now += 1
        while self.index < len(self.steps):
            kind, arg = self.steps[self.index]
            if kind == "until":
                if not holds(arg, phase, handler, self.polls_at_arrival):
                    return pins
                self.anchor = arg
                self.index += 1
            elif kind == "wait":
                if self.wait_left is None:
                    self.wait_left = arg
                if self.wait_left > 0:
                    self.wait_left -= 1
                    return pins
                self.wait_left, self.anchor = None, None
                self.index += 1
            elif kind == "exit":
                self.index += 1
                return {**pins, "env__exit_req": 1, "env__exit_reason": arg}
            else:  # nmi: one arrival per cycle
                # The arrival right after an anchored one, before any handler has begun, is placed too:
                # no software has run between them, in the model or on the CPU.
                chained = self.anchor == ("arrival", self.now - 1) and not handler.running
                self.timed |= phase == HOST and self.anchor not in ("host", "poll", "polled") and not chained
                if phase == HOST:  # the next arrival may already be past a poll or an IRET
                    self.anchor = ("arrival", self.now) if not self.timed else None
                self.polls_at_arrival = handler.polls
                self.index += 1
                return {**pins, "env__nmi": 1, "env__nmi_vector": arg}
        return pins


def compile_environment(case: SoftcoreCase) -> tuple[list[int], list[tuple[int, int]]]:
    """The case's environment as the hardware player's program (``rtl/soc/env_player.py``) and its
    table of the TD's register writes; ``NotApplicable`` when the player cannot play it as Python does."""
    from rtl.soc.env_player import CONDITIONS, GUEST_WRITES_DEPTH, OPS, PROGRAM_DEPTH, WAIT_MAX, WINDOW

    words, chain = [], 0
    for kind, arg in case.steps:
        if kind == "until":
            words.append(OPS["UNTIL"] << 28 | CONDITIONS.index(arg))
        elif kind == "wait":
            if not 0 <= arg <= WAIT_MAX:
                raise NotApplicable(f"wait: {arg}: the hardware player waits at most {WAIT_MAX:,} cycles per step")
            words.append(OPS["WAIT"] << 28 | arg)
        elif kind == "nmi":
            words.append(OPS["NMI"] << 28 | arg)
        else:
            words.append(OPS["EXIT"] << 28 | arg)
        # The steps that can all run in one cycle: a WAIT of n > 0 runs out only as the first of them.
        chain = 0 if kind in ("nmi", "exit") else 1 if kind == "wait" and arg > 0 else chain + 1
        if chain >= WINDOW:
            raise NotApplicable(f"{chain} until/wait steps that may all run in one cycle: the hardware player runs "
                                f"at most {WINDOW - 1}, Python all of them")
    if len(words) >= PROGRAM_DEPTH:
        raise NotApplicable(f"{len(words)} environment steps: the hardware player holds {PROGRAM_DEPTH - 1}")
    if len(case.guest_writes) > GUEST_WRITES_DEPTH:
        raise NotApplicable(f"{len(case.guest_writes)} TD register writes: the hardware player holds {GUEST_WRITES_DEPTH}")
    return [*words, OPS["END"] << 28], list(case.guest_writes)
