"""Files written whole or not at all, read back with a message that names them, and the
leftovers of writers that died.

A file is written to a temporary name beside it, ``.<name>.<pid>-<random>``, flushed to disk
and renamed into place (``os.replace`` is atomic), so a crash never leaves a half-written
checkpoint, cache or JSON file. The writer's process id in the temporary's name tells a later
run whether it is still being written: one whose process is gone was left by a writer that was
killed (Ctrl-C twice, a crash, a power cut) and is removed by ``remove_stale_temporaries``; one
whose writer still runs is left alone, so two builds of one cache never delete each other's
work. (Temporaries named without a process id, as earlier versions wrote them, count as stale.
Process ids are this machine's: on a home folder shared by several machines, builds of one
cache should not overlap.) A JSON file damaged all the same (a full disk, a copy cut short, a
hand edit) is refused with one line naming it and the fix, instead of the parser's
"Expecting ',' delimiter: line 87".
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import IO, Any, Callable


def temporary_path(folder: Path, name: str) -> Path:
    """A new, empty file in ``folder`` to write ``name`` into before renaming it there, with
    the permissions an ordinary new file gets (``mkstemp`` makes it private to its owner)."""
    handle, path = tempfile.mkstemp(prefix=f".{Path(name).stem}.{os.getpid()}-",
                                    suffix=Path(name).suffix, dir=folder)
    os.close(handle)
    os.chmod(path, 0o666 & ~current_umask())
    return Path(path)


def current_umask() -> int:
    """The process's file-creation mask (read by setting it and setting it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def writer_pid(temporary: str, name: str) -> int | None:
    """The process id in a temporary file name of ``name`` (see ``temporary_path``); None when
    the name holds none."""
    stem, suffix = Path(name).stem, Path(name).suffix
    match = re.fullmatch(rf"\.{re.escape(stem)}\.(\d+)-.+{re.escape(suffix)}", temporary)
    return int(match.group(1)) if match else None


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (signal 0 only asks; nothing is sent).
    Outside POSIX, where there is no such question, every process counts as alive."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True


def remove_stale_temporaries(folder: Path, names: tuple[str, ...]) -> None:
    """Delete the temporaries of ``names`` in ``folder`` whose writer is dead. A folder that
    is missing or cannot be changed is left as it is."""
    for name in names:
        stem, suffix = Path(name).stem, Path(name).suffix
        for path in Path(folder).glob(f".{stem}.*{suffix}"):
            pid = writer_pid(path.name, name)
            if pid is None or not process_alive(pid):
                with contextlib.suppress(OSError):  # gone already, or a read-only folder
                    path.unlink()


def write_atomic(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, flush it to disk and rename it
    into place; on any failure the temporary is removed and ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = temporary_path(path.parent, path.name)
    try:
        with open(partial, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def save_json(obj: Any, path: Path) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    write_atomic(path, lambda fh: fh.write(json.dumps(obj, indent=1).encode()))


def load_json(path: Path, fix: str) -> Any:
    """The JSON content of ``path``. Raises ValueError naming the file and ``fix`` (what to do)
    when it is not complete JSON; a missing file raises FileNotFoundError as usual."""
    text = Path(path).read_bytes()
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{path} is damaged (truncated or not JSON: {_reason(err)}): {fix}"
        ) from err


def _reason(err: ValueError) -> str:
    """The parser's complaint, short: where a JSON file stops making sense."""
    if isinstance(err, json.JSONDecodeError):
        return f"{err.msg} at line {err.lineno}"
    return "not UTF-8 text"
