"""Protocol invariants of the NMI hardware, checked on the DUT's own streams (no reference needed).

The scoreboard says *that* the RTL differs from the reference; these say *which rule* it broke,
from the hardware's own state and events, so they fire even if the reference shared the bug
(blocking after IRET and SEAMRET, delivery on the edge at which an NMI becomes deliverable). Fed
with the observed state of each cycle and the transactions of each edge, in order.
"""

from __future__ import annotations

from py_model.hardware import GUEST, HOST, INTR_EXIT, NMI_EXIT, STEP, source_bit, unblocks


class InvariantChecker:
    def __init__(self, config):
        self.cfg = config
        self.states = {}
        self.violations: list[str] = []
        self.saved_at_seamcall = None
        self.last_exit_nmi = None
        self.guest_start = None  # the TD's first cycle after its VM entry (B6's window counts from it)
        self.reentered = False  # the TD was re-entered after stepping: its next exit does not step
        self.resumed = 0  # B6: the module's count, from the knobs: resumptions since stepping started
        self.resumed_at = None  # the edge of the last step or absorb (single steps of cfg.step cycles follow)
        self.nmi_seen = False  # an NMI exit started stepping or was absorbed: its end owes the self-NMI

    def state(self, cycle: int, state) -> None:
        self.states[cycle] = state
        self.states.pop(cycle - 3, None)

    def txn(self, txn) -> None:
        """Rules on one transaction, given the state before its edge (and after, where needed)."""
        before = self.states.get(txn.cycle)  # the state during the cycle this edge ended
        if before is None:
            return
        kind = txn.kind
        if kind == "deliver":
            self._require(txn.get("via") == self.cfg.entry, txn, f"delivery reported via {txn.get('via')}, "
                          f"but the host's entry is {self.cfg.entry}")
            self._require(before.phase == HOST, txn, "delivery outside VMX root (A3)")
            self._require(not before.blocked, txn, "delivery while NMIs are blocked (A2/A3)")
            self._require(before.latch, txn, "delivery with an empty latch (A3)")
        elif kind == "drop":
            self._require(before.latch, txn, "an arrival dropped while the latch was empty (A2: the latch is binary)")
        elif kind == "latch":
            self._require(before.phase != GUEST, txn, "an NMI latched in SEAM non-root instead of exiting (A4)")
        elif kind == "vmentry":
            self.guest_start, self.reentered = txn.cycle + 1, False
        if kind in ("step", "exit") and before.phase == GUEST and self.guest_start is not None and self.cfg.steps:
            ran = txn.cycle - self.guest_start
            soon = ran < self.cfg.step_window and not self.reentered
            if kind == "step":
                self._require(soon, txn, f"B6: the module stepped the TD after it ran {ran} cycles (window "
                              f"{self.cfg.step_window}{', and it was re-entered after stepping' if self.reentered else ''})")
            elif txn.get("reason") in (NMI_EXIT, INTR_EXIT):
                self._require(not soon, txn, f"B6: an asynchronous (NMI or interrupt) exit {ran} cycles after the TD "
                              f"started, within the window ({self.cfg.step_window}): the module steps instead")
        if kind in ("step", "absorb", "unstep", "self_nmi"):
            self._require(self.cfg.steps > 0, txn, "zero-step behaviour with the mitigation off (B6)")
            where = GUEST if kind == "step" else STEP
            self._require(before.phase == where, txn, f"{kind} outside the phase it belongs to (B6)")
            self._count(txn)
            after = self.states.get(txn.cycle + 1)
            if kind == "self_nmi" and after is not None:
                self._require(after.latch, txn, "the module's self-NMI did not latch (B6: SEAM root blocks NMIs)")
                if self.cfg.nmi_source:
                    self._require(after.bitmap & 1, txn, "the self-NMI has no source: bitmap bit 0 (A5/B6)")
        elif kind == "iret":
            self._require(before.phase == HOST, txn, "IRET taken outside VMX root")
            after = self.states.get(txn.cycle + 1)
            if after is not None:
                if unblocks(self.cfg.entry, txn.get("nmi")):
                    self._require(not after.blocked, txn, "NMIs still blocked after an IRET (A1)")
                else:
                    self._require(after.blocked == before.blocked, txn,
                                  "a FRED return from a non-NMI frame changed NMI blocking (A1)")
        elif kind == "seamcall":
            self.saved_at_seamcall = before.blocked
            self._require(txn.get("saved") == int(before.blocked), txn, "SEAMCALL saved the wrong blocking (B1)")
        elif kind == "exit":
            self.last_exit_nmi = txn.get("reason") == NMI_EXIT
            if self.last_exit_nmi and self.cfg.nmi_source:
                self._require(txn.get("qual") != 0, txn, "NMI exit with an empty NMI-source qualification (A5/B3)")
        elif kind == "seamret":
            keep = self.cfg.module == "fixed" and self.last_exit_nmi
            want = 1 if keep else int(bool(self.saved_at_seamcall))
            rule = ("B5: fixed module keeps NMIs blocked after an NMI exit" if keep
                    else "B4: SEAMRET restores SEAMCALL-time blocking")
            self._require(txn.get("blocked") == want, txn, rule)
            after = self.states.get(txn.cycle + 1)
            if after is not None:  # the blocking the hardware holds, not only what it reports
                self._require(after.blocked == bool(want), txn, f"{rule} (blocking after the edge is {int(after.blocked)})")
        after = self.states.get(txn.cycle + 1)
        if after is not None and kind in ("seamcall", "deliver"):
            self._require(after.blocked, txn, f"NMIs not blocked after {kind} (B1/A1)")

    def edge(self, cycle: int, txns) -> None:
        """Rules over the whole edge ``cycle`` (possibly without transactions)."""
        before = self.states.get(cycle)
        after_edge = self.states.get(cycle + 1)
        if before is not None and after_edge is not None and before.phase == STEP and after_edge.phase == GUEST:
            if not any(t.kind == "unstep" and t.get("mtf") for t in txns):
                self.violations.append(f"B6: the TD re-entered from stepping without stepping's end: edge @{cycle}")
        unstep = next((t for t in txns if t.kind == "unstep"), None)
        if unstep is not None:  # td_exit_stepping.c:274-278: the self-NMI iff an NMI exit was seen and this is not one
            nmi_exit = any(t.kind == "exit" and t.get("reason") == NMI_EXIT for t in txns)
            owed = self.nmi_seen and not nmi_exit
            sent = any(t.kind == "self_nmi" for t in txns)
            if sent != owed:
                self.violations.append(f"B6: stepping ended {'without' if owed else 'with'} the self-NMI (an NMI exit "
                                       f"{'was' if self.nmi_seen else 'was not'} seen while stepping, the ending exit "
                                       f"{'is' if nmi_exit else 'is not'} an NMI exit): edge @{cycle}")
            if self.resumed_at is not None:  # the count (see _count): an asynchronous exit ends stepping only
                # when the module has resumed the TD ``steps`` times; the TD's own exit ends it at any time
                used = self._used(cycle)
                is_async = unstep.get("mtf") or any(t.kind == "exit" and t.get("reason") in (NMI_EXIT, INTR_EXIT)
                                                    for t in txns)
                if is_async and used != self.cfg.steps:
                    self.violations.append(f"B6: stepping ended at an asynchronous exit after {used} of "
                                           f"{self.cfg.steps} resumptions (the module counts it and resumes): "
                                           f"edge @{cycle}")
            self.reentered |= bool(unstep.get("mtf"))
            self.nmi_seen, self.resumed_at = False, None
        if before is not None and before.phase == HOST and before.latch and not before.blocked:
            if not any(t.kind == "deliver" for t in txns):
                self.violations.append(f"A3: an NMI deliverable in VMX root was not delivered on its edge: edge @{cycle}")
        if before is not None and before.phase == GUEST and before.latch:  # (or, B6, started stepping)
            if not any((t.kind == "exit" and t.get("reason") == NMI_EXIT) or t.kind == "step" for t in txns):
                self.violations.append(f"B2: an NMI latched when the TD ran did not exit it: edge @{cycle}")
        if not txns:
            return
        after = self.states.get(txns[0].cycle + 1)
        consumed = any(t.kind == "deliver" or (t.kind in ("step", "absorb") and not t.get("intr"))
                       or (t.kind == "exit" and t.get("reason") == NMI_EXIT) for t in txns)
        if after is None or not consumed:
            return
        refilled = [t for t in txns if t.kind == "latch"]
        self._require(after.latch == bool(refilled), txns[0],
                      "the latch holds an NMI after a delivery/NMI exit with no new arrival (A2: binary latch)")
        want_bitmap = 0
        if self.cfg.nmi_source:
            for t in refilled:
                want_bitmap |= source_bit(t.get("vector"))
        self._require(after.bitmap == want_bitmap, txns[0],
                      f"NMI-source bitmap 0x{after.bitmap:04x} after a delivery/NMI exit, expected 0x{want_bitmap:04x} (A5)")

    def _count(self, txn) -> None:
        """B6's count (td_exit_stepping.c:222-264): stepping resumes the TD ``steps`` times, once per
        asynchronous exit (the one that starts it, each absorbed one, each single step's MTF exit, every
        ``step`` cycles after a step or absorb); the exit after the last resumption ends it."""
        kind = txn.kind
        if kind == "step":
            self.resumed, self.resumed_at, self.nmi_seen = 1, txn.cycle, not txn.get("intr")
            return
        if self.resumed_at is None:
            return
        if kind == "absorb":
            used = self._used(txn.cycle)
            self.nmi_seen |= not txn.get("intr")
            self._require(used < self.cfg.steps, txn, f"B6: an exit absorbed after the count ran out "
                          f"({used} of {self.cfg.steps} resumptions used)")
            self.resumed, self.resumed_at = used + 1, txn.cycle

    def _used(self, cycle: int) -> int:
        """Resumptions used before edge ``cycle``: those counted so far, plus the single steps ended by an
        MTF exit since the last step or absorb (the edge ending a step's cycles is its VM entry; an exit
        request on that edge is the step's exit instead)."""
        return self.resumed + (cycle - self.resumed_at - 1) // self.cfg.step

    def _require(self, ok: bool, txn, rule: str) -> None:
        if not ok:
            self.violations.append(f"{rule}: {txn}")
