"""Which NMI arrivals the hardware's NMI stands for at each moment (A2, A4, B6), from its transactions.

The latch holds one NMI that may stand for several arrivals (they merge); a dropped arrival is
remembered (its source's status bit may still be claimed); while the module single-steps the TD
(B6) the NMI exits it absorbs keep their arrivals until its self-NMI (which joins an NMI latched
meanwhile) or the NMI exit it reports; an interrupt exit it starts or absorbs takes no arrival. The
model's host (``host.HostCpu``) and the softcore's software check (``tb/check/software_replay``)
keep this book the same way, from the same transactions.
"""

from __future__ import annotations

from .hardware import NMI_EXIT
from .transactions import Txn


class ArrivalBook:
    def __init__(self):
        self.latch: list[int] = []  # arrivals merged into the NMI the latch holds
        self.stepping: list[int] = []  # arrivals whose NMI exits the module absorbed while stepping (B6)
        self.dropped: list[int] = []  # arrivals dropped as NMIs (the latch was full)

    def edge(self, txn: Txn, arrival: int | None = None) -> list[int] | None:
        """Take one transaction (``arrival``: the number of an ``nmi``'s arrival). A delivery or an NMI
        exit returns the arrivals it stands for; anything else returns None."""
        kind = txn.kind
        if kind == "nmi":
            self.latch.append(arrival)
        elif kind == "drop":
            self.dropped.append(self.latch[-1])
        elif kind in ("step", "absorb") and not txn.get("intr"):  # NMI exits the module keeps while it steps
            self.stepping, self.latch = self.stepping + self.latch, []
        elif kind == "self_nmi":  # the module's NMI stands for the NMIs it absorbed
            self.latch, self.stepping = self.latch + self.stepping, []
        elif kind == "deliver":
            taken, self.latch = self.latch, []
            return taken
        elif kind == "exit" and txn.get("reason") == NMI_EXIT:
            taken, self.stepping, self.latch = self.stepping + self.latch, [], []
            return taken
        return None
