"""The softcore's software checked against Linux's rules for the history it actually had.

The hardware half of a softcore run is checked cycle for cycle elsewhere (``HardwareChecker``).
This is the software half, and it is independent of where an NMI lands in time: the reference is
fed what happened on the softcore and derives what Linux and KVM must have done with it.

What the reference is fed:

- from the hardware (its transactions, already checked against the reference hardware): every NMI
  arrival, latch, drop and delivery (with its entry path and bitmap), every NMI exit (with its
  qualification), and every SEAMRET and IRET, so the arrivals each entry stands for and whether a
  delivery was owed at a SEAMRET/IRET boundary (C3) are the hardware's facts;
- from the firmware's log: where each handler entry landed (``mepc``), the cycles each pass
  started, polled and ended, and the sources it read at its poll.

What it requires (``replay``): each delivery handled by exactly one firmware entry and each NMI exit
by one KVM pass; E1's guard (an IDT entry while a guarded pass runs is LATCHED, a LATCHED mark
re-runs the pass, no re-run without one, no fresh IDT pass inside a guarded one); C3's RIP for
every entry (``R_seam``/``R_kvm`` only at their boundary; at an IRET's boundary the RIP that IRET
returned to; else the landing, the idle loop being a fresh place each time: local_touch_nmi);
E3's back-to-back test on those RIPs, E4's claim rule on the sources read (and that those sources
were the hardware's), swallow, unknown and external; the firmware's counters. The result is the
run's ``Outcome`` (the documented format), which the scenario's ``expect`` and, where NMIs are
placed by phase, the model-alone run are then held to. Plain Python; no simulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from py_model.arrivals import ArrivalBook
from py_model.host import Pass
from py_model.linux_nmi import EXTERNAL_VECTOR, HANDLED_VECTORS, LinuxNmi, NmiSources
from py_model.outcome import Outcome, find_inversions
from py_model.transactions import Txn, bitmap_vectors
from rtl.soc import abi

ENTRY_NAMES = {code: name.split("_", 1)[1].lower() for name, code in abi.ENTRIES.items()}
RESULT_NAMES = {code: name.split("_", 1)[1].lower() for name, code in abi.RESULTS.items()}
RERUN, AT_SHIFT = abi.PASS_FLAGS["PASS_RERUN"], abi.PASS_FLAGS["PASS_AT_SHIFT"]
BOUNDARY_FLAGS = {"seamret": abi.BOUNDARIES["AT_SEAMRET"], "iret": abi.BOUNDARIES["AT_IRET"]}
# The SOURCES read follows the CYCLE read the log stamps as the poll by a few instructions: an arrival
# in this many cycles after that stamp may be on either side of the read.
POLL_SLACK = 8


class SoftwareMismatch(Exception):
    """The firmware did something Linux's rules do not give for the history it had (one line)."""


@dataclass
class Entry:
    """One handler entry the firmware logged: a pass of default_do_nmi, or exc_nmi's LATCHED mark."""

    kind: str  # "pass" | "latched"
    via: str
    fields: dict
    index: int  # position in the log
    key: object = None  # the RIP the back-to-back test compares (E3): a boundary, or the real address
    place: object = None  # its name in the outcome (C3): a boundary, or a new host place unless at an IRET's
    arrivals: list[int] = field(default_factory=list)
    record: Pass | None = None
    chain: Chain | None = None  # the guarded chain (first run and its E1 re-runs) a pass belongs to
    delivery: object = None  # the hardware's Delivery (or NmiExit, for KVM's pass) it handles
    b2b: bool = False  # what the back-to-back test found as the pass began

    @property
    def start(self) -> int:
        return self.fields["cycle"]

    @property
    def rerun(self) -> bool:
        return self.kind == "pass" and bool(self.fields["flags"] & RERUN)

    def describe(self) -> str:
        f = self.fields
        what = "LATCHED mark" if self.kind == "latched" else f"{self.via} pass{' (re-run)' if self.rerun else ''}"
        return f"log record {self.index} ({what} at cycle {f['cycle']}, landing 0x{f['landing']:x})"


@dataclass
class Chain:
    """A pass run under exc_nmi's nmi_state guard (IDT entry, or KVM's pass under IDT), with its re-runs."""

    runs: list[Entry]
    latched: list[Entry] = field(default_factory=list)
    iret: int | None = None  # the cycle of the IRET that ended it

    def active_at(self, cycle: int) -> bool:
        """Inside the guard: from the first run's start to the last run's end."""
        return self.runs[0].start <= cycle <= self.runs[-1].fields["end"]

    def marks_during(self, k: int) -> list[Entry]:
        """The LATCHED marks made while run ``k`` ran (or after it, before run k+1 began)."""
        later = self.runs[k + 1].start if k + 1 < len(self.runs) else None
        return [m for m in self.latched if self.runs[k].start <= m.start and (later is None or m.start < later)]


@dataclass
class Delivery:
    cycle: int
    via: str
    bitmap: int
    arrivals: list[int]
    boundary: tuple | None  # ("seamret",) or ("iret", index of the IRET txn), owed at that boundary


@dataclass
class NmiExit:
    cycle: int
    qual: int
    arrivals: list[int]


class History:
    """What the hardware did, from its transactions: the arrivals and what became of them (the
    model's own ``ArrivalBook``), deliveries and their boundaries, NMI exits, IRETs."""

    def __init__(self, txns: list[Txn]):
        self.arrival_vector: dict[int, int] = {}
        self.arrival_cycle: dict[int, int] = {}
        self.deliveries: list[Delivery] = []
        self.exits: list[NmiExit] = []
        self.irets: list[Txn] = []
        self.book = ArrivalBook()  # the model's own bookkeeping of what each NMI stands for
        last_boundary = None
        for txn in sorted(txns, key=Txn.sort_key):
            kind, arrival = txn.kind, None
            if kind == "nmi":
                arrival = len(self.arrival_vector) + 1
                self.arrival_vector[arrival], self.arrival_cycle[arrival] = txn.get("vector"), txn.cycle
            taken = self.book.edge(txn, arrival)
            if kind == "exit" and taken is not None:
                self.exits.append(NmiExit(txn.cycle, txn.get("qual"), taken))
            elif kind == "deliver":
                at = last_boundary[1:] if last_boundary and last_boundary[0] == txn.cycle - 1 else None
                self.deliveries.append(Delivery(txn.cycle, txn.get("via"), txn.get("bitmap"), taken, at))
            elif kind == "seamret":
                last_boundary = (txn.cycle, "seamret")
            elif kind == "iret":
                last_boundary = (txn.cycle, "iret", len(self.irets))
                self.irets.append(txn)

    @property
    def dropped(self) -> list[int]:
        return self.book.dropped


def replay(config, txns: list[Txn], log: list[int], offset: int = 0) -> tuple[Outcome, dict]:
    """The run's outcome by Linux's rules for its history, checked against what the firmware logged.
    ``offset``: the firmware's CYCLE at the run's cycle 0. Returns (outcome, the firmware's own report);
    raises ``SoftwareMismatch`` at the first difference and ``ValueError`` on a malformed log."""
    records = abi.decode_log(log)
    for kind, fields in records:
        for stamp in ("cycle", "poll", "end"):
            if kind in ("LOG_PASS", "LOG_LATCHED") and stamp in fields:
                fields[stamp] -= offset
    return _Replay(config, History(txns), records).run()


class _Replay:
    def __init__(self, config, history: History, records: list[tuple[str, dict]]):
        self.cfg, self.hw = config, history
        marks = next((f for kind, f in records if kind == "LOG_MARKS"), None)
        if marks is None:
            raise ValueError("the firmware logged no R_seam/R_kvm marks")
        self.marks = marks
        self.entries = [Entry("pass" if kind == "LOG_PASS" else "latched", ENTRY_NAMES[f["entry"]], f, i)
                        for i, (kind, f) in enumerate(records) if kind in ("LOG_PASS", "LOG_LATCHED")]
        self.entries.sort(key=lambda e: (e.start, e.index))
        self.counts = next((f for kind, f in records if kind == "LOG_COUNTS"), None)
        host_state = next((f for kind, f in records if kind == "LOG_HOST_STATE"), None)
        self.host_state_log = None if host_state is None else {"refused": bool(host_state["refused"]),
                                                               "writes": host_state["writes"]}
        self.linux = LinuxNmi(nmi_source=config.nmi_source)
        self.sources = NmiSources()
        self.next_arrival = 1  # the first arrival not yet raised into the sources
        self.fresh, self.places = 0, []  # host places (RIP identities other than R_seam/R_kvm), as they came up

    # ----- the whole run --------------------------------------------------------------------
    def run(self) -> tuple[Outcome, dict]:
        if self.counts is None:
            raise SoftwareMismatch("the firmware did not log its counters (it never finished its loop)")
        self._match()
        events = []  # (cycle, order, what, entry): entries begin, poll; IRETs pop contexts
        for e in self.entries:
            events.append((e.start, 1, "begin", e))
            if e.kind == "pass":
                events.append((e.fields["poll"], 2, "poll", e))
        for i, txn in enumerate(self.hw.irets):
            events.append((txn.cycle, 0, "iret", i))
        stack, iret_key = [], {}
        for _, _, what, item in sorted(events, key=lambda ev: (ev[0], ev[1], getattr(ev[3], "index", ev[3]))):
            if what == "iret":
                iret_key[item] = self._iret(item, stack)
            elif what == "begin":
                self._begin(item, stack, iret_key)
            else:
                self._poll(item)
        self._check_chains()
        self._check_counts()
        # Host RIPs numbered as the model numbers them: in the order each new place came up (a fault's
        # included, though no pass may land there).
        names = {key: f"host:{i + 1}" for i, key in enumerate(self.places)}
        for e in self.entries:
            e.record.rip = e.place if e.place in ("R_seam", "R_kvm") else names[e.place]
        passes = [e.record for e in self.entries]
        self.software_timed = [i for i, e in enumerate(self.entries) if e.via == "kvm" or e.rerun]
        self._raise_until(None)
        inverted = find_inversions(passes)
        lost_nmis = [a for a in self.hw.dropped if self.hw.arrival_vector[a] == 0]
        outcome = Outcome(passes, self.linux.counts(), len(inverted), inverted,
                          len(self.sources.covered) + len(lost_nmis),
                          sorted(a for arrivals in self.sources.covered.values() for a in arrivals), lost_nmis,
                          arrival_vector=dict(self.hw.arrival_vector))
        report = self._firmware_report()
        report["software_timed"] = self.software_timed  # passes whose start cycle is the firmware's own
        return outcome, report

    # ----- matching the log to the hardware ---------------------------------------------------
    def _match(self) -> None:
        """Each delivery is one firmware entry (a first pass or a LATCHED mark), each NMI exit one
        KVM pass; re-runs join the chain of the pass they repeat."""
        entered = [e for e in self.entries if e.via != "kvm" and not e.rerun]
        kvm = [e for e in self.entries if e.via == "kvm" and not e.rerun]
        if len(entered) != len(self.hw.deliveries):
            raise SoftwareMismatch(f"the hardware delivered {len(self.hw.deliveries)} NMI(s), the firmware logged "
                                   f"{len(entered)} handler entr{'y' if len(entered) == 1 else 'ies'}")
        if len(kvm) != len(self.hw.exits):
            raise SoftwareMismatch(f"the hardware made {len(self.hw.exits)} NMI exit(s), the firmware ran KVM's "
                                   f"manual pass {len(kvm)} time(s)")
        for e, d in zip(entered, self.hw.deliveries, strict=True):
            if e.via != d.via:
                raise SoftwareMismatch(f"{e.describe()}: the hardware delivered through {d.via}")
            e.delivery, e.arrivals = d, list(d.arrivals)
        for e, x in zip(kvm, self.hw.exits, strict=True):
            e.delivery, e.arrivals = x, list(x.arrivals)
        last_chain = {}
        for e in self.entries:
            if e.kind != "pass":
                continue
            guarded = e.via == "idt" or (e.via == "kvm" and self.cfg.entry == "idt")
            if e.rerun:
                chain = last_chain.get(e.via)
                if chain is None or not guarded:
                    raise SoftwareMismatch(f"{e.describe()}: a re-run with no guarded pass before it")
                chain.runs.append(e)
                e.chain = chain
            elif guarded:
                e.chain = last_chain[e.via] = Chain([e])

    # ----- events in time order ---------------------------------------------------------------
    def _iret(self, index: int, stack: list) -> object:
        """An IRET ends the innermost context (an NMI frame) or a fault (not an NMI frame: the fault's
        own RIP, a fresh place); returns the RIP identity a delivery at its boundary interrupts."""
        txn = self.hw.irets[index]
        if not txn.get("nmi"):
            return self._fresh("fault")
        if not stack:
            raise SoftwareMismatch(f"the IRET at cycle {txn.cycle} returns through an NMI frame, but no NMI "
                                   "handler or KVM pass was running")
        ctx = stack.pop()
        if ctx.chain is not None and ctx.chain.runs[0] is ctx:
            ctx.chain.iret = txn.cycle
        return ctx

    def _begin(self, e: Entry, stack: list, iret_key: dict) -> None:
        """An entry starts: its RIP by C3, then (a pass) the back-to-back test (E3); E1's guard."""
        f = e.fields
        if e.rerun:
            e.key, e.place = e.chain.runs[0].key, e.chain.runs[0].place
            self._expect_rip(e, e.chain.runs[0].fields["rip"], "the RIP of the pass it re-runs")
        elif e.via == "kvm":
            e.key = e.place = "R_kvm"
            self._expect_rip(e, self.marks["r_kvm"], "R_kvm, where KVM's pass returns")
        else:
            self._delivery_rip(e, iret_key)
        opened = self._open_chains(stack)
        if e.kind == "latched":
            if e.via != "idt" or not opened:
                raise SoftwareMismatch(f"{e.describe()}: marked LATCHED with no guarded pass running (E1)")
            opened[-1].latched.append(e)
        elif e.via == "idt" and not e.rerun and any(c.active_at(e.delivery.cycle) for c in opened):
            # Delivered while the guarded pass ran (its last run had not ended): the CPU takes it before
            # the guard's decrement (at the latest right after the masked log record), so exc_nmi must
            # find nmi_state set and mark it LATCHED.
            raise SoftwareMismatch(f"{e.describe()}: an IDT NMI delivered at cycle {e.delivery.cycle} ran a pass inside "
                                   f"the guarded pass that began at cycle {opened[-1].runs[0].start}; exc_nmi's "
                                   "nmi_state guard makes it LATCHED (E1)")
        if not e.rerun:
            stack.append(e)
        vectors = None
        if e.kind == "pass" and f["bitmap"] != abi.NO_BITMAP:
            vectors = bitmap_vectors(f["bitmap"])
        # A delivered entry starts when the hardware hands it over (the edge after the delivery, as the
        # model counts it); KVM's pass and a re-run start when the firmware's code gets there.
        start = e.delivery.cycle + 1 if e.via != "kvm" and not e.rerun else e.start
        e.record = Pass(e.via, "", vectors, start, list(e.arrivals))
        if e.kind == "latched":
            e.record.result = "latched"
            return
        if e.rerun:  # E1: the re-run stands for the NMIs marked LATCHED during the run before it
            k = e.chain.runs.index(e)
            e.record.arrivals = [a for m in e.chain.marks_during(k - 1) for a in m.arrivals]
        e.b2b = self.linux.begin_pass(e.key)

    def _delivery_rip(self, e: Entry, iret_key: dict) -> None:
        f, d = e.fields, e.delivery
        at = d.boundary
        told = f["flags"] >> AT_SHIFT & (BOUNDARY_FLAGS["seamret"] | BOUNDARY_FLAGS["iret"])
        if told != (BOUNDARY_FLAGS[at[0]] if at else 0):
            names = [name for name, bit in BOUNDARY_FLAGS.items() if told & bit] or ["no"]
            raise SoftwareMismatch(f"{e.describe()}: the firmware was told the delivery was at {'/'.join(names)} "
                                   f"boundary; the hardware delivered it at cycle {d.cycle}, "
                                   f"{'right after ' + at[0] if at else 'with no SEAMRET or IRET the cycle before'}")
        if at is not None and at[0] == "seamret":
            e.key = e.place = "R_seam"
            self._expect_rip(e, self.marks["r_seam"], "R_seam (owed at SEAMRET's boundary)")
            if not self.marks["r_seam"] <= f["landing"] <= self.marks["r_seam_end"]:
                raise SoftwareMismatch(f"{e.describe()}: owed at SEAMRET's boundary but landed beyond R_seam's pad")
            return
        if at is not None:
            returned_to = iret_key.get(at[1])
            if isinstance(returned_to, Entry):  # an NMI frame: the RIP that context interrupted
                e.key, e.place = returned_to.key, returned_to.place
                self._expect_rip(e, returned_to.fields["rip"],
                                 f"the RIP the IRET at cycle {self.hw.irets[at[1]].cycle} returned to")
                return
            e.key = e.place = returned_to  # a fault's IRET: the fault's RIP, a fresh place
            self._expect_landing(e)
            return
        self._expect_landing(e)
        in_idle = self.marks["r_idle"] <= f["landing"] < self.marks["r_idle_end"]
        # The idle loop enters idle again on each pass (local_touch_nmi): a fresh place every time.
        # Linux compares real addresses; the outcome names a place the host reached by running on as a
        # new one (C3: the model's host has moved on), whatever address it is.
        e.place = self._fresh("landing")
        e.key = e.place if in_idle else ("landing", f["landing"])

    def _expect_landing(self, e: Entry) -> None:
        f = e.fields
        in_idle = self.marks["r_idle"] <= f["landing"] < self.marks["r_idle_end"]
        want = self.marks["r_idle"] if in_idle else f["landing"]
        self._expect_rip(e, want, "the idle loop" if in_idle else f"its landing 0x{f['landing']:x} (no boundary)")

    def _expect_rip(self, e: Entry, want: int, what: str) -> None:
        if e.fields["rip"] != want:
            raise SoftwareMismatch(f"{e.describe()}: reported RIP 0x{e.fields['rip']:x}; C3 gives {what} "
                                   f"(0x{want:x})")

    def _poll(self, e: Entry) -> None:
        """E4/E3 at the poll: the claim rule on the sources the pass read, and its conclusion."""
        f, poll = e.fields, e.fields["poll"]
        self._raise_until(poll)
        bitmap = None if f["bitmap"] == abi.NO_BITMAP else f["bitmap"]
        call_all = bitmap is None or bitmap == 0 or bitmap & 1
        selected = [v for v in HANDLED_VECTORS if call_all or bitmap >> v & 1]
        for v in selected:  # the read saw what the hardware had raised before it, and nothing it had not
            seen, raised = bool(f["pending"] >> v & 1), v in self.sources.covered
            if seen and not raised and not self._raise_late(v, poll):
                raise SoftwareMismatch(f"{e.describe()}: its poll read source {v} pending, but no NMI from {v} "
                                       "arrived since that source was last claimed")
            if raised and not seen and self.hw.arrival_cycle[self.sources.covered[v][0]] < poll - 1:
                raise SoftwareMismatch(f"{e.describe()}: its poll at cycle {poll} read source {v} clear, pending "
                                       f"since cycle {self.hw.arrival_cycle[self.sources.covered[v][0]]}")
        pending = NmiSources()
        for v in [*selected, EXTERNAL_VECTOR]:
            word = f["pending"] if v != EXTERNAL_VECTOR else f["recheck"]
            if word >> v & 1:
                if v not in self.sources.covered:
                    self._raise_late(v, poll)
                for a in self.sources.covered.get(v, [None]):
                    pending.raise_(v, a)
        result = self.linux.finish_pass(e.b2b, bitmap, pending)
        for v in result.claimed:
            self.sources.claim(v)
        e.record.result, e.record.claimed = result.result, result.claimed
        e.record.end = f["end"]
        got_claimed = [v for v in range(16) if f["claimed"] >> v & 1]
        got_result = RESULT_NAMES[f["result"]]
        if (got_claimed, got_result) != (result.claimed, result.result):
            raise SoftwareMismatch(f"{e.describe()}: claimed {got_claimed} -> {got_result}; Linux's rules give "
                                   f"{result.claimed} -> {result.result} (read sources 0x{f['pending']:04x}, "
                                   f"back-to-back {'yes' if e.b2b else 'no'})")

    # ----- the hardware's arrivals as the sources' status bits ---------------------------------
    def _raise_until(self, cycle: int | None) -> None:
        """Raise every arrival before ``cycle`` (None: all) into the status bits."""
        while self.next_arrival in self.hw.arrival_vector and (
                cycle is None or self.hw.arrival_cycle[self.next_arrival] < cycle):
            self.sources.raise_(self.hw.arrival_vector[self.next_arrival], self.next_arrival)
            self.next_arrival += 1

    def _raise_late(self, vector: int, poll: int) -> bool:
        """An arrival from ``vector`` just after the poll's stamp may have been seen by the read."""
        for a in range(self.next_arrival, len(self.hw.arrival_vector) + 1):
            if self.hw.arrival_cycle[a] > poll + POLL_SLACK:
                break
            if self.hw.arrival_vector[a] == vector:
                self._raise_until(self.hw.arrival_cycle[a] + 1)
                return True
        return False

    # ----- after the run ----------------------------------------------------------------------
    def _open_chains(self, stack: list) -> list[Chain]:
        return [ctx.chain for ctx in stack if ctx.chain is not None and ctx.chain.runs[0] is ctx]

    def _check_chains(self) -> None:
        """E1: a LATCHED mark during run k of a guarded pass makes run k+1; a re-run needs a mark."""
        chains = {id(e.chain): e.chain for e in self.entries if e.chain is not None}
        for chain in chains.values():
            for k, run in enumerate(chain.runs):
                marks = chain.marks_during(k)
                if marks and k + 1 == len(chain.runs):
                    raise SoftwareMismatch(f"{marks[0].describe()}: marked the {run.via} pass that began at cycle "
                                           f"{run.start} LATCHED, but it never re-ran (E1)")
                if k + 1 < len(chain.runs) and not marks:
                    raise SoftwareMismatch(f"{chain.runs[k + 1].describe()}: re-ran with no LATCHED mark since the "
                                           "run before it (E1)")

    def _check_counts(self) -> None:
        want = self.linux.counts()
        got = {"normal": self.counts["normal"], "unknown": self.counts["unknown"], "swallow": self.counts["swallow"],
               "external": self.counts["external"]}
        if got != want:
            raise SoftwareMismatch(f"the firmware counted {got}; Linux's rules give {want}")
        ran = sum(1 for e in self.entries if e.kind == "pass")
        if self.counts["passes"] != ran:
            raise SoftwareMismatch(f"the firmware counted {self.counts['passes']} passes and logged {ran}")

    def _fresh(self, what: str) -> tuple:
        self.fresh += 1
        return self._place((what, self.fresh))

    def _place(self, key: tuple) -> tuple:
        if key not in self.places:
            self.places.append(key)
        return key

    def _firmware_report(self) -> dict:
        """What the firmware itself logged, for the mode's sub-object: addresses and cycles."""
        return {"passes": [{"via": e.via, "result": e.record.result, "rip_address": f"0x{e.fields['rip']:x}",
                            "landing": f"0x{e.fields['landing']:x}", "cycle": e.start,
                            **({"poll": e.fields["poll"], "end": e.fields["end"]} if e.kind == "pass" else {})}
                           for e in self.entries],
                "counts": dict(self.counts), "host_state_log": self.host_state_log}
