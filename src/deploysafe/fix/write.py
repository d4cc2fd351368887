"""Writing fixed files: every file fully fixed or untouched.

Each new text goes to a temporary file beside its target first (same folder, so the rename
cannot cross filesystems), with the target's permission bits. Only when every temporary
file is written and every target still holds the text the fix was planned on are they
renamed over their targets, one atomic rename each.
"""

from __future__ import annotations

import contextlib
import os
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
    for temp, target in staged:
        os.replace(temp, target)


def _stage(change: Change) -> Path:
    target = change.target
    try:
        if not target.exists() and not change.before:
            mode = 0o644  # a new file (a patch in an overlay): as git checks files out
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
        os.chmod(temp, mode)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise InputError(
            f"{change.file} cannot be written ({exc.strerror or exc}): nothing written"
        ) from None
    return temp
