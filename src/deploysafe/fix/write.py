"""Writing fixed files: every file fully fixed or untouched.

Each new text goes to a temporary file beside its target first (same folder, so the rename
cannot cross filesystems), with the target's permission bits. Only when every temporary
file is written and every target still holds the text the fix was planned on are they
renamed over their targets, one atomic rename each. A new file is linked into place
instead (link(2) fails rather than replace a file that appeared meanwhile), with the
permission bits a new file gets under the umask.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Sequence
from pathlib import Path

from deploysafe.errors import InputError
from deploysafe.fix.plan import Change


def write(changes: Sequence[Change]) -> None:
    """Write every change or none; an InputError names the file and why."""
    staged: list[tuple[Path, Path]] = []
    try:
        staged.extend((_stage(change), change.target) for change in changes)
    except InputError:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise
    for (temp, target), change in zip(staged, changes, strict=True):
        if change.created:
            try:
                os.link(temp, target)
            except OSError as exc:
                raise InputError(
                    f"{change.file} cannot be created ({exc.strerror or exc}): not written"
                ) from None
            finally:
                temp.unlink(missing_ok=True)
        else:
            os.replace(temp, target)


def _stage(change: Change) -> Path:
    target = change.target
    try:
        mode: int | None = None  # a new file keeps what open(2) gave it under the umask
        if change.created:
            if target.exists() or target.is_symlink():
                raise InputError(f"{change.file} exists already: nothing written")
            name = str(target.parent / f".{target.name}.{secrets.token_hex(6)}.deploysafe-fix")
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        elif target.read_bytes().decode("utf-8") != change.before:
            raise InputError(f"{change.file} changed while it was being fixed: nothing written")
        else:
            mode = target.stat().st_mode & 0o7777
            fd, name = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".deploysafe-fix"
            )
    except OSError as exc:
        raise InputError(
            f"{change.file} cannot be written ({exc.strerror or exc}): nothing written"
        ) from None
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(change.after.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(temp, mode)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise InputError(
            f"{change.file} cannot be written ({exc.strerror or exc}): nothing written"
        ) from None
    return temp
