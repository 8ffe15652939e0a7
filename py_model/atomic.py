"""Output files: published whole (written under a private name, then renamed), and checked first.

A reader (another run, a regression collecting results) sees the old file or the new one, never
half of one; an interrupted writer leaves the old file in place.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: str | Path, text: str) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def out_problem(out: Path) -> str | None:
    """Checked before any run: OUT names a file whose folder exists and is writable."""
    if out.is_dir():
        return "is a directory; give a file name"
    if not out.resolve().parent.is_dir():
        return f"folder {out.resolve().parent} does not exist"
    if not os.access(out.resolve().parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        return "not writable"
    return None
