import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCENARIO_DIR = ROOT / "tb" / "scenarios"


def pytest_configure(config):
    config.addinivalue_line("markers", "full: only in the full tier (make test-full); see tests/tiers.py")


def pytest_collection_modifyitems(config, items):
    import pytest

    from tiers import is_full

    seen: dict[str, int] = {}
    for item in items:
        base = item.originalname if hasattr(item, "originalname") else item.name
        index = None
        if hasattr(item, "callspec"):
            key = f"{item.path.name}::{base}"
            index = seen.get(key, 0)
            seen[key] = index + 1
        if is_full(item.path.relative_to(ROOT / "tests").as_posix(), base, index):
            item.add_marker(pytest.mark.full)
