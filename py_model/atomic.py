"""Output files: one function writes every file a command produces, user-named or not.

``write_output`` never renames over anything but a regular file:

- a missing path or a regular file is published whole (written under a private name beside it,
  then renamed), so a reader sees the old file or the new one, never half of one, and an
  interrupted writer leaves the old file in place;
- a symlink is followed, and its final target written by these same rules (the link stays);
- a character device, FIFO or socket is opened and written in place: ``/dev/null`` discards,
  ``/dev/full`` fails with ``OutputError`` ("no space left"), a FIFO's reader gets the whole text;
- a directory, a block device, or anything else is refused.

As root a rename over ``/dev/null`` would replace the system's device with a JSON file: the rules
above exist so that an ``OUT=`` can never damage the path it was given.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import stat
import time
from pathlib import Path

# A FIFO is written only once a reader holds it open, and only as fast as it reads: each wait has
# this bound, so an abandoned FIFO ends in an error rather than a hang.
FIFO_WAIT_SECONDS = 30.0


class OutputError(OSError):
    """An output that could not be written: ``str()`` is one line naming the path and why."""

    def __str__(self) -> str:
        return self.strerror


def write_output(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` by the rules in the module docstring; raise ``OutputError``."""
    path = Path(path)
    try:
        target, kind = _resolve(path)
    except OSError as err:
        raise OutputError(err.errno, f"cannot write {path}: {err.strerror}") from None
    data = text.encode()
    if kind in ("missing", "regular"):
        _write_whole(target, data, shown=path)
    elif kind in ("character device", "FIFO"):
        _write_in_place(target, data, fifo=kind == "FIFO", shown=path)
    elif kind == "socket":
        _write_to_socket(target, data, shown=path)
    else:
        raise OutputError(errno.EINVAL, f"cannot write {path}: it is a {kind}; give a file name")


def out_problem(out: Path) -> str | None:
    """Checked before any run: OUT names something ``write_output`` can write."""
    try:
        target, kind = _resolve(out)
    except OSError as err:
        return err.strerror or str(err)
    if kind == "directory":
        return "is a directory; give a file name"
    if kind not in ("missing", "regular", "character device", "FIFO", "socket"):
        return f"is a {kind}; give a file name"
    if kind in ("missing", "regular"):
        folder = target.resolve().parent
        if not folder.is_dir():
            return f"folder {folder} does not exist"
        if not os.access(folder, os.W_OK):
            return "not writable"
    if kind != "missing" and kind != "socket" and not os.access(target, os.W_OK):
        return "not writable"
    return None


def _resolve(path: Path) -> tuple[Path, str]:
    """What a write to ``path`` reaches (a symlink followed to its end) and what kind of thing it is."""
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        return target, _kind(os.stat(target).st_mode)
    except FileNotFoundError:
        return target, "missing"


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISREG, "regular"), (stat.S_ISDIR, "directory"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "special file"


def _fail(err: OSError, shown: Path) -> OutputError:
    reason = "no space left on device" if err.errno == errno.ENOSPC else (err.strerror or str(err))
    return OutputError(err.errno, f"cannot write {shown}: {reason}")


def _write_whole(target: Path, data: bytes, shown: Path) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except OSError as err:
        raise _fail(err, shown) from None
    finally:
        tmp.unlink(missing_ok=True)


def _write_in_place(target: Path, data: bytes, fifo: bool, shown: Path) -> None:
    """A device or FIFO: opened without O_CREAT or O_TRUNC, never replaced."""
    flags = os.O_WRONLY | (os.O_NONBLOCK if fifo else 0)
    deadline = time.monotonic() + FIFO_WAIT_SECONDS
    while True:
        try:
            fd = os.open(target, flags)
            break
        except OSError as err:
            if fifo and err.errno == errno.ENXIO and time.monotonic() < deadline:
                time.sleep(0.05)  # no reader yet
                continue
            if fifo and err.errno == errno.ENXIO:
                raise OutputError(err.errno, f"cannot write {shown}: no reader opened the FIFO within "
                                             f"{FIFO_WAIT_SECONDS:.0f} s") from None
            raise _fail(err, shown) from None
    try:
        view = memoryview(data)
        while view:
            if fifo and not select.select([], [fd], [], FIFO_WAIT_SECONDS)[1]:
                raise OutputError(errno.ETIMEDOUT, f"cannot write {shown}: the FIFO's reader stopped reading "
                                                   f"for {FIFO_WAIT_SECONDS:.0f} s")
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                continue
    except OutputError:
        raise
    except OSError as err:
        raise _fail(err, shown) from None
    finally:
        os.close(fd)


def _write_to_socket(target: Path, data: bytes, shown: Path) -> None:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(FIFO_WAIT_SECONDS)
            sock.connect(str(target))
            sock.sendall(data)
    except OSError as err:
        raise _fail(err, shown) from None
