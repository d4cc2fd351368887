"""Engine output kept by content hash, so a scan re-renders only the charts and
kustomizations whose inputs changed (pre-commit, pull request mode, a second local run).

What is kept is the engine's own output (Helm's rendered templates, kustomize's build), the
slow and external part; parsing it and mapping it back to the sources runs every time, so a
finding never depends on whether the cache was used. An entry is JSON (never code), named by
a SHA-256 of everything the render reads: the bytes of every input file, the options, the
engine and this version of deploysafe. An entry that is unreadable, of another format or made
for another key is ignored and replaced; entries are written to a temporary file and renamed,
so a reader never sees half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from deploysafe import __version__

T = TypeVar("T")

ENV = "DEPLOYSAFE_CACHE_DIR"
_FORMAT = 1
# Entries beyond this many are pruned, least recently used first, when a scan ends.
MAX_ENTRIES = 4000


def default_folder(environ: Mapping[str, str] | None = None) -> Path | None:
    """`$DEPLOYSAFE_CACHE_DIR` (empty: no cache), else, outside CI,
    `$XDG_CACHE_HOME/deploysafe/renders`, else `~/.cache/deploysafe/renders`; None when no
    home is known. In CI (`CI` set) only a folder named by the variable is used: CI caches
    are restored from what earlier, less trusted runs saved, and a poisoned entry would
    hide objects from the gate."""
    env = os.environ if environ is None else environ
    if ENV in env:
        return Path(env[ENV]) if env[ENV] else None
    if env.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return None
    xdg = env.get("XDG_CACHE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "deploysafe" / "renders"
    home = env.get("HOME", "")
    return Path(home) / ".cache" / "deploysafe" / "renders" if home else None


class Key:
    """A SHA-256 over labelled parts: every part is length-prefixed, so no two different
    sequences of parts hash alike."""

    __slots__ = ("_h",)

    def __init__(self, kind: str) -> None:
        # Imported by a render kept in the cache, not by every scan (all import this
        # module, for `default_folder`): hashlib loads OpenSSL, 4 ms.
        import hashlib

        self._h = hashlib.sha256()
        self.add("deploysafe", __version__, str(_FORMAT), kind)

    def add(self, *parts: str | bytes) -> None:
        for part in parts:
            data = part.encode("utf-8", "surrogateescape") if isinstance(part, str) else part
            self._h.update(len(data).to_bytes(8, "big"))
            self._h.update(data)

    def file(self, label: str, path: Path) -> None:
        """A file's bytes under `label` (its name in the render); a missing or unreadable
        file counts as that, so creating it later changes the key."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            self.add("unreadable", label, type(exc).__name__)
            return
        import hashlib

        self.add("file", label, hashlib.sha256(data).digest())

    def tree(
        self,
        label: str,
        folder: Path,
        ignore: Callable[[str, list[str]], set[str]] | None = None,
    ) -> None:
        """Every file under `folder`, in a fixed order. With `ignore` (a `copytree` ignore,
        which must leave out links that loop), links are followed as a copy follows them."""
        self.add("tree", label)
        for here, dirs, files in os.walk(folder, followlinks=ignore is not None):
            skip = ignore(here, [*dirs, *files]) if ignore is not None else set()
            dirs[:] = sorted(d for d in dirs if d not in skip)
            rel = Path(here).relative_to(folder).as_posix()
            for name in sorted(files):
                if name not in skip:
                    self.file(f"{label}/{rel}/{name}", Path(here, name))

    def hexdigest(self) -> str:
        return self._h.hexdigest()


class RenderCache:
    """A folder of entries; counts its hits and misses (the scan reports them)."""

    __slots__ = ("_lock", "folder", "hits", "misses", "written")

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.hits = 0
        self.misses = 0
        self.written = 0
        self._lock = threading.Lock()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str, read: Callable[[Any], T | None]) -> T | None:
        """What `read` makes of the value kept under `key`, or None (absent, unreadable,
        foreign, or a value `read` refuses: of another shape)."""
        path = self._path(key)
        value = None
        try:
            entry = json.loads(path.read_bytes())
        except (OSError, ValueError, RecursionError):
            entry = None
        if isinstance(entry, dict) and entry.get("format") == _FORMAT and entry.get("key") == key:
            value = read(entry.get("value"))
        with self._lock:
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
        if value is not None:
            with contextlib.suppress(OSError):
                os.utime(path)  # recently used: pruned last
        return value

    def put(self, key: str, value: Any) -> None:
        """Keep `value` under `key`; a cache that cannot be written is only slower."""
        path = self._path(key)
        body = json.dumps({"format": _FORMAT, "key": key, "value": value}).encode()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(body)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError:
            return
        with self._lock:
            self.written += 1

    def prune(self, keep: int = MAX_ENTRIES) -> None:
        """Remove the least recently used entries beyond `keep`."""
        try:
            entries = [(p.stat().st_mtime, p) for p in self.folder.glob("??/*.json")]
        except OSError:
            return
        if len(entries) <= keep:
            return
        entries.sort()
        for _, path in entries[: len(entries) - keep]:
            with contextlib.suppress(OSError):
                path.unlink()

    def note(self) -> str | None:
        """What the cache did, for the report's notes; None when it was not asked."""
        if not self.hits and not self.misses:
            return None
        return (
            f"render cache: {self.hits} render(s) reused, {self.misses} rendered"
            " (--no-cache renders everything)"
        )
