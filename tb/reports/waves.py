"""Wave dumps a verification engineer can open: a GTKWave view (``view.gtkw``) beside each dump, with the
signals grouped by block, phase and mode shown by name, the runs' starts and the failures marked.

The dump is read with ``pywellen`` (the reader behind Surfer), so the view names exactly the signals
the dump holds, in every mode (interactive, program, softcore, the soak); the save file is written
with pyvcd's ``GTKWSave``. The translate files for phase and mode come from the enums in
``rtl/interfaces.py``, so a new phase is named in the waves as soon as it exists in the RTL.
"""

from __future__ import annotations

import re
from pathlib import Path

from rtl.interfaces import Mode, Phase

# The blocks, in the order they are shown: (group name, scope suffix, which of its signals).
BLOCKS = (
    ("SEAM sequencer", ".seq", None),
    ("NMI controller", ".nmi_ctl", None),
    ("host state", ".hs", re.compile(r"^reg_")),
)
# The design's ports as the bench sees them (on the wrapper): what drives and what it reports.
PORT_GROUPS = (
    ("status", re.compile(r"^status__(phase|mode|blocked|latch|saved_blocked|bitmap|deliverable)$")),
    ("stimulus", re.compile(r"^stim__(nmi|nmi_vector|seamcall|iret|iret_nmi|exit_req|exit_reason)$")),
    ("events", re.compile(r"^ev__")),
)
# The softcore's CPU (VexRiscv): where it is, and its data bus (the firmware's accesses to the design).
CPU_SIGNALS = re.compile(r"^(lastStagePc|IBusSimplePlugin_fetchPc_pcReg|iBus_cmd_payload_pc|dBus_cmd_valid|"
                         r"dBus_cmd_payload_wr|dBus_cmd_payload_address|dBus_cmd_payload_data|dBus_rsp_data)$")
BENCH_SIGNALS = ("tb_run", "rst", "clk")
TRANSLATED = {"phase": Phase, "mode": Mode, "status__phase": Phase, "status__mode": Mode}
ZOOM = -12.0  # GTKWave's zoom: 2^12 ps per pixel, a few hundred cycles across a window


class WaveError(Exception):
    """A dump that cannot be read (one line)."""


def read_vars(dump: Path) -> tuple[list, int]:
    """The dump's variables (pywellen ``Var``) and its time unit in picoseconds."""
    import pywellen

    try:
        wave = pywellen.Waveform(str(dump))
    except Exception as err:  # noqa: BLE001 - the reader's own message, on one line
        raise WaveError(f"cannot read the wave dump {dump}: {err}") from None
    scale = wave.timescale  # the unit's power of ten (ps: -12)
    return list(wave.all_vars()), max(int(scale.factor * 10 ** (scale.unit.to_exponent() + 12)), 1)


def gtkwave_name(var) -> str:
    """A variable as GTKWave names it: the scope path, and the bit range of a vector."""
    width = var.bitwidth
    return var.full_name + (f"[{width - 1}:0]" if width and width > 1 else "")


def _scope(var) -> str:
    return var.full_name.rsplit(".", 1)[0] if "." in var.full_name else ""


def translate_files(folder: Path) -> dict[str, Path]:
    """GTKWave translate filters for the enums (decimal values), written beside the view."""
    from vcd.gtkw import make_translation_filter

    out = {}
    for enum in (Phase, Mode):
        path = folder / f"{enum.__name__.lower()}.gtkw-filter"
        path.write_text(make_translation_filter([(m.value, m.name) for m in enum], datafmt="dec") + "\n")
        out[enum.__name__] = path
    return out


def plan_view(variables: list) -> list[tuple[str, list]]:
    """[(group, [var, ...])] to show, found by name in the dump (the shortest matching scope wins)."""
    by_scope: dict[str, list] = {}
    for var in variables:
        by_scope.setdefault(_scope(var), []).append(var)
    scopes = sorted(by_scope, key=lambda s: (s.count("."), s))
    groups = []
    wrapper = next((s for s in scopes if s.endswith("_bench")), scopes[0] if scopes else "")
    bench = [v for name in BENCH_SIGNALS for v in by_scope.get(wrapper, []) if v.name == name]
    if bench:
        groups.append(("bench", bench))
    # The design's ports: the shallowest scope with its delivery event (the wrapper in interactive mode,
    # the program engine's or the SoC's copy in the others).
    design = next((s for s in scopes if any(v.name == "ev__deliver" for v in by_scope[s])), wrapper)
    ports = by_scope.get(design, [])
    for group, pattern in PORT_GROUPS:
        chosen = [v for v in ports if pattern.match(v.name)]
        if chosen:
            groups.append((group, chosen))
    for group, suffix, pattern in BLOCKS:
        scope = next((s for s in scopes if s.endswith(suffix)), None)
        if scope is None:
            continue
        chosen = [v for v in by_scope[scope] if pattern is None or pattern.match(v.name)]
        if chosen:
            groups.append((group, chosen))
    cpu = [v for s in scopes if "cpu" in s.lower() or "vexriscv" in s.lower() for v in by_scope[s]
           if CPU_SIGNALS.match(v.name)]
    if cpu:
        groups.append(("CPU", cpu))
    return groups


def write_view(dump: Path, markers_ns: list[int], run_starts_ns: list[int] = ()) -> Path:
    """``view.gtkw`` beside ``dump``: the groups of ``plan_view``, phase and mode by name, the primary
    marker at the first of ``markers_ns`` (the failures), named markers A.. at the rest and then at
    the runs' starts (GTKWave has 26). Returns the view's path."""
    from vcd.gtkw import GTKWSave

    dump = Path(dump)
    variables, unit_ps = read_vars(dump)
    groups = plan_view(variables)
    if not groups:
        raise WaveError(f"{dump}: none of the design's signals is in the dump")
    filters = translate_files(dump.parent)
    view = dump.with_name("view.gtkw")
    ticks = [int(ns * 1000 / unit_ps) for ns in (*markers_ns, *run_starts_ns)]
    primary = ticks[0] if markers_ns else -1
    named = dict(zip("abcdefghijklmnopqrstuvwxyz", ticks[1:] if markers_ns else ticks, strict=False))
    with view.open("w") as f:
        save = GTKWSave(f)
        save.comment(f"view of {dump.name}: make debug writes it; open with gtkwave {dump.name} {view.name}")
        save.dumpfile(str(dump.resolve()))
        save.savefile(str(view.resolve()))
        save.timestart(max(primary - int(200_000 / unit_ps), 0) if primary >= 0 else 0)
        save.zoom_markers(ZOOM, primary, **named)
        for group, chosen in groups:
            with save.group(group):
                for var in chosen:
                    enum = TRANSLATED.get(var.name)
                    if enum is not None:
                        save.trace(gtkwave_name(var), datafmt="dec",
                                   translate_filter_file=str(filters[enum.__name__].resolve()))
                    else:
                        save.trace(gtkwave_name(var), datafmt="hex" if var.bitwidth > 1 else "bin")
    return view
