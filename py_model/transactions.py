"""The one transaction vocabulary shared by the model, the RTL monitors and the checkers.

A transaction is a cycle-stamped record of something the NMI hardware did. The stamp is
the clock edge at which it happened (the edge that ends cycle ``cycle``). Within one edge,
transactions appear in a canonical order (``KIND_ORDER``) so that two streams of the same
behaviour are equal element for element.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Basic VM-exit reasons (Intel SDM vol. 3, appendix C) for the exits this project models.
EXIT_REASONS = {"nmi": 0, "interrupt": 1, "ept": 48, "tdvmcall": 77}
EXIT_REASON_NAMES = {code: name for name, code in EXIT_REASONS.items()}

# Canonical order within one edge: a delivery consumes the latch before an arrival on the
# same edge refills it; an NMI exit in the guest consumes the arrival of its own edge.
# Zero-step (B6): "step" (an NMI or interrupt exit too soon after the TD started, ``intr`` says which:
# the module steps instead), "absorb" (an NMI or interrupt exit while stepping that the module counts
# and resumes from), "unstep" (stepping ends: at a step's MTF exit, ``mtf=1``, or at the exit of its
# edge), "self_nmi" (the module's NMI with no source; it latches, and is reported before the exit of
# its edge).
KIND_ORDER = ("deliver", "nmi", "latch", "drop", "absorb", "iret", "seamcall", "vmentry", "step", "unstep",
              "self_nmi", "exit", "seamret", "write")
_ORDER_INDEX = {kind: i for i, kind in enumerate(KIND_ORDER)}


@dataclass(frozen=True)
class Txn:
    """One hardware transaction.

    Attributes
    ----------
    cycle : int
        The clock edge at which it happened.
    kind : str
        One of ``KIND_ORDER``.
    fields : tuple
        Sorted ``(name, value)`` pairs; values are ints or strings.
    """

    cycle: int
    kind: str
    fields: tuple = field(default=())

    @classmethod
    def make(cls, cycle: int, kind: str, **fields) -> Txn:
        if kind not in _ORDER_INDEX:
            raise ValueError(f"unknown transaction kind {kind!r}")
        return cls(cycle, kind, tuple(sorted(fields.items())))

    def get(self, name: str, default=None):
        for key, value in self.fields:
            if key == name:
                return value
        return default

    def sort_key(self):
        return (self.cycle, _ORDER_INDEX[self.kind])

    def to_json(self) -> dict:
        return {"cycle": self.cycle, "kind": self.kind, **dict(self.fields)}

    def __str__(self) -> str:
        body = " ".join(f"{k}={_fmt(k, v)}" for k, v in self.fields)
        return f"@{self.cycle:<5} {self.kind:<8} {body}".rstrip()


def _fmt(name: str, value) -> str:
    if name in ("bitmap", "qual") and isinstance(value, int):
        return f"0x{value:04x}"
    if name == "value" and isinstance(value, int):
        return f"0x{value:x}"
    if name == "reason" and isinstance(value, int):
        return EXIT_REASON_NAMES.get(value, str(value))
    return str(value)


def bitmap_vectors(bitmap: int) -> list[int]:
    """The source vectors set in a 16-bit NMI-source bitmap, ascending."""
    return [v for v in range(16) if bitmap >> v & 1]


def first_difference(expected: list[Txn], actual: list[Txn]) -> str | None:
    """Describe the first element where two transaction streams differ, or None if equal."""
    for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
        if e != a:
            return f"transaction #{i}: model {e} | rtl {a}"
    if len(expected) != len(actual):
        i = min(len(expected), len(actual))
        extra, who = (expected, "model") if len(expected) > len(actual) else (actual, "rtl")
        return f"transaction #{i}: only the {who} has {extra[i]} ({len(expected)} vs {len(actual)} transactions)"
    return None
