"""How the ``ast-lab`` command fails: one line on stderr that names the file and the fix.

A failure that comes from the data, the files or the machine (a bad CSV, a damaged checkpoint,
a folder it may not write, a missing GPU, a bad setting) ends the command with
``ast-lab <command>: error: <what, where, and what to do>`` and exit status 1; Ctrl-C ends it
with one line saying what was kept and status 130. Anything else is a bug and keeps its
traceback. ``AST_LAB_DEBUG=1`` (or ``train --debug``) keeps the traceback of every failure.
"""

from __future__ import annotations

import argparse
import errno
import os
import pickle
import sys
import warnings
from pathlib import Path
from typing import Optional

import torch

from .data import DownloadError

DEBUG_ENV = "AST_LAB_DEBUG"
DEBUG_HINT = f"({DEBUG_ENV}=1 shows the traceback)"
INTERRUPTED = 130  # the shell's status for a command stopped by Ctrl-C: 128 + SIGINT

RESUMABLE = ("finished folds and the last epoch of an unfinished one are kept in the run "
             "folder: run the same command with --resume to go on")
KEPT_ON_INTERRUPT = {  # subcommand -> what an interrupted run leaves, and how to go on
    "train": RESUMABLE,
    "demo": RESUMABLE,
    "tune": "finished folds are kept: run the same command again to go on",
    "features": "a cache is only saved once complete: run the same command again",
}

# The fix for each OSError a file operation raises, by type; ``{path}`` is the file it names.
OS_ERROR_FIXES: dict[type[OSError], str] = {
    PermissionError: ("permission denied: {path}; make it writable, choose another --out, or "
                      "set AST_LAB_HOME to a writable folder"),
    NotADirectoryError: ("{path}: a file stands where a folder is needed; choose another --out "
                         "or move that file away"),
    IsADirectoryError: "{path} is a folder where a file is needed; name a file instead",
    FileExistsError: "{path} already exists and is not a folder; choose another --out",
    FileNotFoundError: "{path} does not exist; check the path",
}
NO_SPACE = ("no space left on the device holding {path}; free some space, or choose another "
            "--out or AST_LAB_HOME on another disk")
CHECKPOINT_ERRORS = (RuntimeError, pickle.UnpicklingError, EOFError)  # what torch.load raises
OUT_OF_MEMORY = (MemoryError, torch.OutOfMemoryError)


def one_line(text: str) -> str:
    """``text`` with every run of whitespace, newlines included, as one space."""
    return " ".join(text.split())


def torch_load_file(err: BaseException) -> Optional[str]:
    """The file ``torch.load`` was reading when ``err`` was raised (from the traceback's frame
    of ``torch.load``), or None when ``err`` did not come from ``torch.load``."""
    tb = err.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name == "load" and Path(code.co_filename).match("torch/serialization.py"):
            source = tb.tb_frame.f_locals.get("f")
            return str(source) if isinstance(source, (str, os.PathLike)) else None
        tb = tb.tb_next
    return None


def checkpoint_message(path: str, err: BaseException) -> str:
    """The line for a checkpoint ``torch.load`` could not read."""
    reason = str(err).split(". ")[0][:100] or type(err).__name__
    return (f"{path} cannot be read as a checkpoint ({reason}): it is damaged or cut short; "
            "restore it, or remove it and make it again")


def os_error_message(err: OSError) -> str:
    """The line for a failed file operation: the file it names, and the fix."""
    path = err.filename or err.filename2
    if path is None:
        return str(err)
    if err.errno == errno.ENOSPC:
        return NO_SPACE.format(path=path)
    fix = next((text for kind, text in OS_ERROR_FIXES.items() if isinstance(err, kind)),
               "{path}: " + (err.strerror or str(err)))
    return fix.format(path=path)


def failure_message(err: Exception) -> Optional[str]:
    """The one-line message for a failure that is not a bug; None for a bug."""
    checkpoint = torch_load_file(err) if isinstance(err, CHECKPOINT_ERRORS) else None
    if checkpoint is not None:
        return checkpoint_message(checkpoint, err)
    if isinstance(err, OSError):
        return os_error_message(err)
    if isinstance(err, OUT_OF_MEMORY):
        return (f"out of memory ({str(err).split('. ')[0][:100] or 'MemoryError'}); try a "
                "smaller --batch-size or a shorter --seconds")
    if isinstance(err, (ValueError, DownloadError)):
        return str(err)
    return None


def debug_wanted(args: argparse.Namespace) -> bool:
    """Whether to keep tracebacks: ``AST_LAB_DEBUG`` set (not to 0), or ``train --debug``."""
    return os.environ.get(DEBUG_ENV, "0") not in ("", "0") or getattr(args, "debug", False)


def one_line_warning(message: Warning | str, category: type[Warning], filename: str,
                     lineno: int, line: Optional[str] = None) -> str:
    """How the command prints a warning (``warnings.formatwarning``): ``warning: <message>`` on
    one line, without the source file and line Python adds."""
    return f"warning: {one_line(str(message))}\n"


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed subcommand (``args.run``) and return its exit status; a failure that is
    not a bug becomes one line on stderr (status 1, or 130 when interrupted), and so does
    every warning."""
    previous, warnings.formatwarning = warnings.formatwarning, one_line_warning
    try:
        return run_subcommand(args)
    finally:
        warnings.formatwarning = previous


def run_subcommand(args: argparse.Namespace) -> int:
    """``args.run(args)``, its failures that are not bugs turned into one line (see
    ``run_command``)."""
    try:
        return args.run(args)
    except KeyboardInterrupt:
        if debug_wanted(args):
            raise
        kept = KEPT_ON_INTERRUPT.get(args.command, "run the same command again")
        print(f"ast-lab {args.command}: interrupted; {kept}", file=sys.stderr)
        return INTERRUPTED
    except Exception as err:
        message = failure_message(err)
        if message is None or debug_wanted(args):
            raise
        print(f"ast-lab {args.command}: error: {one_line(message)} {DEBUG_HINT}", file=sys.stderr)
        return 1
