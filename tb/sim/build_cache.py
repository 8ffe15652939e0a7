"""Build caches that prove they are complete: built aside, published by rename, checked by a stamp.

A cached build is trusted only when its stamp names the binary's SHA-256 and the binary still has
it; anything else (an interrupted build, a damaged or truncated file) is rebuilt, with a message.
Two processes building the same thing at once both succeed: the first rename wins, the other
build is discarded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

STAMP = "build.stamp"


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verified(folder: Path, binary: str) -> bool:
    """The folder holds a complete build of ``binary`` (its stamp matches its content)."""
    try:
        stamp = json.loads((folder / STAMP).read_text())
        return stamp.get("binary") == binary and stamp.get("sha256") == _digest(folder / binary)
    except (OSError, ValueError, AttributeError):
        return False


def state(folder: Path, binary: str) -> str:
    """'ok', 'missing' or 'damaged' (something is there, but not a complete build)."""
    if verified(folder, binary):
        return "ok"
    return "damaged" if folder.exists() else "missing"


def staging(folder: Path) -> Path:
    """A private folder beside ``folder`` to build into."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{folder.name}.building-", dir=folder.parent))


def publish(built: Path, folder: Path, binary: str, replace: bool = False) -> None:
    """Stamp the build in ``built`` and move it to ``folder``, replacing a damaged one (or, with
    ``replace``, any earlier one: a fresh build the user asked for)."""
    (built / STAMP).write_text(json.dumps({"binary": binary, "sha256": _digest(built / binary)}))
    os.chmod(built, 0o755)  # mkdtemp's 0700 would hide the cache from other users of the tree
    if folder.exists() and (replace or not verified(folder, binary)):
        shutil.rmtree(folder, ignore_errors=True)
    try:
        os.rename(built, folder)
    except OSError:
        if not verified(folder, binary):  # not a concurrent build that won: a real failure
            raise
        shutil.rmtree(built, ignore_errors=True)
