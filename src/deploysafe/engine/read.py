"""A file's text, as far as the rules can use it: size caps, binary files, bad UTF-8."""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path

from deploysafe.inputs.discover import YAML_SUFFIXES, Reason
from deploysafe.model import ScanError

# How a file is read: as it is; as an unrendered Helm template (Go templating is not YAML,
# so parse errors only count it as skipped); or as a render's input (its objects came from
# the render, but its text, Dockerfile and CI content is still checked).
PLAIN, TEMPLATE, RENDERED = "plain", "template", "rendered"
# A file to check: (path, display path, mode, place: its path in its repository).
Job = tuple[str, str, str, str]

# Files that are not YAML/JSON are read only for secrets: a minified bundle or a large log is
# still worth that, up to this many times the configured cap.
_TEXT_CAP_FACTOR = 10


def read(
    path: Path | str, display: str, max_size: int
) -> tuple[str | None, ScanError | None, Reason | None]:
    """The file's text, and what went wrong: both when only its text can be used (for
    secrets: a YAML/JSON file over the cap, or not valid UTF-8, is still a committed file);
    without text, why the file is skipped."""
    # Only YAML/JSON must be valid text; any other file is read for secrets only, so a
    # binary one (an image, a wheel) is skipped silently and bad UTF-8 is replaced.
    structured = display.endswith(YAML_SUFFIXES)
    cap = max_size * _TEXT_CAP_FACTOR
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            # Reading a FIFO or a device could block forever.
            return (
                None,
                ScanError(display, None, "not a regular file (a pipe or device); skipped"),
                Reason.NOT_REGULAR,
            )
        size = st.st_size
        if size > cap:
            if not structured and _binary_head(path):
                return None, None, Reason.BINARY
            return (
                None,
                ScanError(display, None, f"file is {size} bytes, over the {cap}-byte cap; skipped"),
                Reason.TOO_LARGE,
            )
        raw = read_bytes(path, size)
    except OSError as exc:
        return (
            None,
            ScanError(display, None, f"cannot read: {exc.strerror or exc}"),
            Reason.UNREADABLE,
        )
    if raw.find(b"\0", 0, 8192) >= 0:  # (no copy of the head)
        if not structured:
            return None, None, Reason.BINARY
        error = ScanError(display, None, "binary file (NUL bytes); skipped")
        return None, error, Reason.BINARY
    problem: tuple[int | None, str] | None = None
    # "utf-8-sig" without its codec's Python-level decode function: a BOM is cut by hand.
    bom = raw.startswith(codecs.BOM_UTF8)
    try:
        text = raw[3:].decode("utf-8") if bom else raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = raw.decode("utf-8-sig", errors="replace")
        line = raw[: exc.start].count(b"\n") + 1
        problem = (line, f"invalid UTF-8 at byte {exc.start}")
    if structured and problem is None and len(raw) > max_size:
        problem = (None, f"file is {len(raw)} bytes, over the {max_size}-byte cap")
    if not structured or problem is None:
        return text, None, None
    # Its structure is not read, but a secret in it is committed all the same.
    error = ScanError(display, problem[0], f"{problem[1]}; read for secrets only")
    return text, error, None


_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def read_bytes(path: Path | str, size: int) -> bytes:
    """A regular file's bytes, `size` as its stat gave it (more, if it grew since): one
    read where `Path.read_bytes` builds a buffered file object and asks its size again,
    for every file of the tree, twice (engine/pool.py searches them for Namespaces first)."""
    fd = os.open(path, _FLAGS)
    try:
        raw = os.read(fd, size + 1)
        if len(raw) <= size:
            return raw
        parts = [raw]
        while chunk := os.read(fd, 1 << 20):
            parts.append(chunk)
        return b"".join(parts)
    finally:
        os.close(fd)


def _binary_head(path: Path | str) -> bool:
    with open(path, "rb") as fh:
        return b"\0" in fh.read(8192)
