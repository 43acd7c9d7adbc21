"""Atomic writes: a reader sees the previous complete output or the new complete one, never a mix.

Every file and folder is written under a temporary name in the destination's own directory (so the
final rename stays on one filesystem, where POSIX makes it atomic) and renamed into place.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import glob
import os
import shutil
import sys
import tempfile
from pathlib import Path

from nextword.runtime.errors import InputError, OutputError


def _describe(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


def check_output_dir(out: str | os.PathLike, *, force: bool) -> Path:
    """Refuse early (before any expensive work) to overwrite a non-empty folder without --force."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"--out {out} exists and is not empty; pass --force to replace it")
    return out


@contextlib.contextmanager
def staged_dir(out: str | os.PathLike, *, force: bool):
    """Yield a temporary folder beside `out`; on success it replaces `out` whole, on any error it vanishes.

    The new folder and the old one are exchanged in one atomic rename, so a crash at any point leaves
    either the old complete folder or the new complete one under `out` (plus a hidden leftover at
    worst, never a half-written `out`).
    """
    out = check_output_dir(out, force=force)
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        remove_orphans(out)
        # The pid in the name lets a later run tell a killed writer's leftovers from a live writer's work.
        staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out.name}.{os.getpid()}.", suffix=".staging"))
        staging.chmod(0o755)  # mkdtemp makes 0o700; the output is meant to be shared like any folder
    except OSError as exc:
        raise OutputError(f"cannot write into {parent}: {_describe(exc)}") from None
    try:
        yield staging
        _swap_into_place(staging, out)
    except OSError as exc:  # the caller's writes into staging: a full disk, a quota, an I/O error
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(f"cannot write {out}: {_describe(exc)}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def remove_orphans(out: Path) -> None:
    """Delete staging folders beside `out` left by writers that were killed (their pid no longer runs)."""
    for leftover in out.parent.glob(f".{glob.escape(out.name)}.*.staging"):
        pid = leftover.name[len(out.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _process_exists(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def _swap_into_place(staging: Path, out: Path) -> None:
    try:
        if not out.exists():
            os.rename(staging, out)
            return
        if _exchange(staging, out):  # one atomic step: `out` is never missing, never mixed
            shutil.rmtree(staging, ignore_errors=True)  # now holds the previous output
            return
        # No renameat2 (not Linux, or an old kernel/filesystem): two renames, with a brief window
        # in which `out` is absent but never partial.
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".old"))
        os.rmdir(old)
        os.rename(out, old)
        os.rename(staging, out)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise OutputError(f"cannot replace {out}: {_describe(exc)}") from None


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with Linux's renameat2(RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err))
