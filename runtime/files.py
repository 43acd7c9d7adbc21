"""Atomic writes: a reader sees the previous complete output or the new complete one, never a mix.

Every file and folder is written under a temporary name in the destination's own directory (so the
final rename stays on one filesystem, where POSIX makes it atomic) and renamed into place.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nextword.runtime.errors import InputError, OutputError


def _describe(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


@dataclass(frozen=True)
class OutputKind:
    """What one stage writes into its --out, so that --force replaces only a folder that stage wrote: one that
    holds the stage's `signature` file and nothing whose name the stage never writes."""

    stage: str  # "training", "export": for messages
    signature: str
    names: re.Pattern  # fullmatch of every name the stage may write

    def foreign(self, folder: Path) -> list[str]:
        """The entries of `folder` this stage did not write (sorted), or [] when it is one of the stage's."""
        entries = sorted(os.listdir(folder))
        other = [n for n in entries if not self.names.fullmatch(n) or not _is_plain_file(folder / n)]
        if not other and self.signature not in entries:
            return entries  # only names it could write, but not its signature: not its folder after all
        return other


def _is_plain_file(path: Path) -> bool:
    return not path.is_symlink() and path.is_file()


def check_output_dir(out: str | os.PathLike, *, force: bool, kind: OutputKind) -> Path:
    """Refuse early (before any expensive work) to overwrite a non-empty folder without --force, and with
    --force to replace a folder this stage did not write (a user's documents, another stage's output): --force
    deletes what is there, so it must be only what a previous run put there. A symlinked --out is judged by
    the folder it points to, which is what would be replaced."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a directory")
    if not out.is_dir():
        return out
    try:
        if not os.listdir(out):
            return out
        if not force:
            raise InputError(f"--out {out} exists and is not empty; pass --force to replace it")
        foreign = kind.foreign(out)
    except OSError as exc:
        raise InputError(f"cannot read --out {out}: {_describe(exc)}") from None
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise InputError(
            f"--out {out} is not a nextword {kind.stage} folder (it holds {shown}); --force replaces only "
            "a folder nextword wrote: choose another --out"
        )
    return out


def check_apart(out: str | os.PathLike, inputs, what: str) -> None:
    """Refuse an --out that is, contains or lies inside one of `inputs` (paths, links resolved): replacing it
    would delete the input, or write into it."""
    resolved = Path(os.path.realpath(out))
    for given in inputs:
        source = Path(os.path.realpath(given))
        if resolved == source or resolved in source.parents or source in resolved.parents:
            relation = "is" if resolved == source else "contains" if resolved in source.parents else "lies inside"
            raise InputError(f"--out {out} {relation} the {what} {given}; write the output somewhere else")


def read_regular_file(path: str | os.PathLike, what: str) -> bytes:
    """The bytes of a regular file; a FIFO, device, socket or directory is refused before it is read (a FIFO
    would block, /dev/zero never ends). Opened without blocking and checked again on the open descriptor, so
    a path swapped between the two checks is caught too."""
    try:
        kind = os.stat(path).st_mode
        if stat.S_ISDIR(kind):
            raise InputError(f"{what} {path} is a directory, not a text file")
        if not stat.S_ISREG(kind):
            raise InputError(f"{what} {path} is not a regular file (a pipe, device or socket)")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with open(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InputError(f"{what} {path} is not a regular file (a pipe, device or socket)")
            return handle.read()
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {_describe(exc)}") from None


# Staging and set-aside folders are named ".<out>.nwstage-<pid>-<random>.staging" (or ".old"): the fixed
# marker keeps them apart from a user's own folders (".run.5" is not ours), and the pid lets a later run tell
# a killed writer's leftovers from a live writer's work.
STAGING_MARKER = "nwstage"


def _staging_prefix(out: Path) -> str:
    return f".{out.name}.{STAGING_MARKER}-{os.getpid()}-"


@contextlib.contextmanager
def staged_dir(out: str | os.PathLike, *, force: bool, kind: OutputKind):
    """Yield a temporary folder beside `out`; on success it replaces `out` whole, on any error it vanishes.

    The new folder and the old one are exchanged in one atomic rename, so a crash at any point leaves
    either the old complete folder or the new complete one under `out` (plus a hidden leftover at
    worst, never a half-written `out`).
    """
    out = check_output_dir(out, force=force, kind=kind)
    if out.is_symlink():  # write where the link points: swapping the link itself would strand a staging link
        out = Path(os.path.realpath(out))
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        remove_orphans(out)
        staging = Path(tempfile.mkdtemp(dir=parent, prefix=_staging_prefix(out), suffix=".staging"))
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
    """Delete staging folders of `out` (exactly its name, our marker, a pid) whose writer no longer runs."""
    pattern = re.compile(re.escape(f".{out.name}.{STAGING_MARKER}-") + r"(\d{1,10})-[a-z0-9_]+\.(?:staging|old)")
    try:
        names = os.listdir(out.parent)
    except OSError:
        return
    for name in names:
        match = pattern.fullmatch(name)
        leftover = out.parent / name
        if match and not leftover.is_symlink() and leftover.is_dir() and not _process_exists(int(match[1])):
            shutil.rmtree(leftover, ignore_errors=True)


def _process_exists(pid: int) -> bool:
    if pid <= 0:
        return True  # kill(0) and kill(-n) address process groups: never a dead writer
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except (ProcessLookupError, OverflowError):  # OverflowError: past any pid this system can give
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
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=_staging_prefix(out), suffix=".old"))
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
