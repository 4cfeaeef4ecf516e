"""One run at a time in a run folder: a lock file that says who holds it.

``run.lock`` in the run folder holds the owner's process id, host and start time, and the
owner keeps an exclusive ``flock`` on it while it trains. The operating system drops that
``flock`` when the process ends, however it ends (an exception, Ctrl-C, ``kill -9``, a
crash), so a lock file left behind by a dead run is recognised as stale and taken over with a
note, while a second run on a folder whose owner is alive is refused, naming the owner.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import IO, Any, Iterator

LOCK_FILE = "run.lock"


@contextlib.contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock for the block; released (and its file removed) on the way out,
    also on an exception. Raises ValueError naming the owner if a live run holds it."""
    handle = acquire_lock(folder)
    try:
        yield
    finally:
        release_lock(folder, handle)


def acquire_lock(folder: Path) -> IO[str]:
    """Take ``folder``'s lock: the open lock file, ``flock``-ed and holding this process's
    details. Raises ValueError naming the folder and the owner when a live run holds it."""
    path = folder / LOCK_FILE
    while True:
        handle = open(path, "a+")  # created if missing; an owner's details are kept
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read_owner(handle)
            handle.close()
            raise ValueError(
                f"{folder} is in use by another run ({_describe(owner)}; lock file {path}): "
                "wait until it ends or stop it, or train into another --out"
            ) from None
        if _still_there(path, handle):
            break
        handle.close()  # its owner removed the file as we opened it: take the new one
    previous = _read_owner(handle)
    if previous:
        print(f"note: taking over {path}, left by a run that is no longer running "
              f"({_describe(previous)})", file=sys.stderr)
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                             "started": time.strftime("%Y-%m-%d %H:%M:%S")}))
    handle.flush()
    os.fsync(handle.fileno())
    return handle


def release_lock(folder: Path, handle: IO[str]) -> None:
    """Remove the lock file, then drop the ``flock`` (in this order: a run waiting on the old
    file sees it gone and takes a new one)."""
    (folder / LOCK_FILE).unlink(missing_ok=True)
    handle.close()


def _still_there(path: Path, handle: IO[str]) -> bool:
    """Whether ``path`` is still the file ``handle`` has open (not removed or replaced)."""
    try:
        return os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
    except FileNotFoundError:
        return False


def _read_owner(handle: IO[str]) -> dict[str, Any]:
    """The details an owner wrote into the lock file; empty if none (or still being written)."""
    handle.seek(0)
    try:
        owner = json.loads(handle.read() or "{}")
    except json.JSONDecodeError:
        return {}
    return owner if isinstance(owner, dict) else {}


def _describe(owner: dict[str, Any]) -> str:
    """"pid 123 on host h, started 2025-01-01 12:00:00", or what is known of it."""
    if not owner:
        return "a run that is just starting"
    return (f"pid {owner.get('pid')} on host {owner.get('host')}, "
            f"started {owner.get('started')}")
