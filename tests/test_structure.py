"""The shape of tb/: folders by role in the order data flows, and the rules that keep it so.

- no import cycles among tb's modules (imports inside functions included: they are still edges);
- a module imports only from its own folder or from folders before it in ``LAYERS``;
- only tb/uvm imports cocotb or pyuvm, and importing anything else never loads them, so the
  checking core runs unchanged off the simulator (amaranth.sim, the C++ harness, the boards);
- only the command-line layer (tb/flows, and each package's ``__main__``) parses arguments.
"""

import ast
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

# Data flows left to right: stimulus -> protocol -> check -> ... -> flows (the commands).
LAYERS = ("stimulus", "protocol", "check", "reports", "sim", "formal", "benches", "uvm", "flows")
SIMULATOR_PACKAGES = ("cocotb", "pyuvm")


def tb_modules() -> dict[str, Path]:
    mods = {}
    for path in (ROOT / "tb").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = path
    return mods


def imports_of(path: Path) -> set[str]:
    """Every module an import statement names, anywhere in the file (absolute names; tb/ writes
    every import absolute, so a moved module shows in every line that names it)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 or path.relative_to(ROOT).parts[0] != "tb", f"{path}: relative import in tb/"
            if node.level:
                continue  # py_model/rtl internals: not part of tb's graph
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def tb_edges() -> dict[str, set[str]]:
    mods = tb_modules()
    return {name: {m for m in imports_of(path) if m in mods and m != name and not name.startswith(m + ".")}
            for name, path in mods.items()}


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in LAYERS else None


def test_every_module_lives_in_a_role_folder():
    loose = [m for m in tb_modules() if m.count(".") == 1 and m.split(".")[1] not in LAYERS]
    assert loose == [], f"modules outside the role folders {LAYERS}: {loose}"


def test_no_import_cycles():
    edges = tb_edges()
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_imports_follow_the_data_flow():
    wrong = []
    for src, targets in tb_edges().items():
        for dst in targets:
            a, b = layer(src), layer(dst)
            if a and b and LAYERS.index(b) > LAYERS.index(a):
                wrong.append(f"{src} ({a}) imports {dst} ({b})")
    assert wrong == [], wrong


def test_only_the_uvm_adapter_imports_the_simulator_libraries():
    wrong = []
    for name, path in tb_modules().items():
        for m in imports_of(path):
            top = m.split(".")[0]
            if top in SIMULATOR_PACKAGES and layer(name) != "uvm":
                wrong.append(f"{name} imports {m}")
            if top == "cocotb_tools" and layer(name) != "sim":  # cocotb's build/launch runner, not the library
                wrong.append(f"{name} imports {m} (only tb/sim launches simulators)")
    assert wrong == [], wrong


def test_importing_the_checking_core_never_loads_cocotb():
    outside = sorted(m for m in tb_modules() if layer(m) != "uvm")
    code = ("import importlib, sys\n"
            f"for m in {outside!r}: importlib.import_module(m)\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {SIMULATOR_PACKAGES!r}))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", proc.stdout


COMMAND = "py_model/command.py"


def test_only_the_command_line_layer_parses_arguments():
    wrong = []
    for base in ("tb", "py_model", "rtl"):
        for path in (ROOT / base).rglob("*.py"):
            rel = path.relative_to(ROOT)
            # py_model/command.py: how every command line ends (run_command, its one-line parser), in the
            # lowest layer so that the model's own command line needs nothing from tb.
            command_layer = rel.parts[:2] == ("tb", "flows") or path.name == "__main__.py" or rel.as_posix() == COMMAND
            if "argparse" in imports_of(path) and not command_layer:
                wrong.append(str(rel))
    assert wrong == [], f"argument parsing outside tb/flows, __main__ and {COMMAND}: {wrong}"


def test_every_role_folder_says_what_lives_there():
    for folder in LAYERS:
        readme = ROOT / "tb" / folder / "README.md"
        assert readme.exists() and "may import" in readme.read_text().lower(), readme


def test_every_catalog_test_has_its_pyuvm_test_class():
    from tb.stimulus.catalog import TESTS

    tree = ast.parse((ROOT / "tb" / "uvm" / "tests.py").read_text())
    classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)
               if any(getattr(b, "id", "") == "NmiBaseTest" for b in n.bases)}
    assert classes == set(TESTS) | {"scenario"}


def test_every_test_named_in_the_tiers_exists():
    from tiers import FULL_MODULES, FULL_TESTS, SAMPLED

    names = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        names |= {n.name for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)}
    assert (FULL_TESTS | SAMPLED) - names == set()
    assert all((ROOT / "tests" / m).exists() for m in FULL_MODULES)


def test_only_tb_sim_reads_the_launchers_settings():
    """The launcher-bench contract is one typed object (tb/sim/settings.py): no module outside tb/sim
    reads a TB_* environment variable (the benches take RunSettings, through ConfigDB)."""
    import re

    readers = []
    for base in ("tb", "py_model", "rtl"):
        for path in (ROOT / base).rglob("*.py"):
            if path.is_relative_to(ROOT / "tb" / "sim"):
                continue
            text = path.read_text()
            if re.search(r"environ(\.get)?\s*[\[(]\s*[\"']TB_|getenv\(\s*[\"']TB_", text):
                readers.append(path.relative_to(ROOT).as_posix())
    assert readers == [], readers
