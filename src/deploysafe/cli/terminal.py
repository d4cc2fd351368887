"""What the terminal gets: colour (NO_COLOR, FORCE_COLOR), the width reports wrap to, and a
progress line on stderr for long scans (never in CI or when stderr is not a terminal)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from deploysafe.engine import Stage, Tick

# The progress line appears only for work that takes longer than this (seconds), and is
# redrawn at most this often.
PROGRESS_DELAY = 1.0
_REDRAW = 0.1
_OFF = ("", "0", "false", "no")


def _set(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() not in _OFF


def _tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:  # a closed stream
        return False


def color(stream: TextIO, env: Mapping[str, str] | None = None) -> bool:
    """Whether to colour what goes to `stream`: never with NO_COLOR set (it wins), always
    with FORCE_COLOR set, else on a terminal that is not `dumb`."""
    env = os.environ if env is None else env
    if env.get("NO_COLOR", ""):
        return False
    if _set(env, "FORCE_COLOR"):
        return True
    return _tty(stream) and env.get("TERM", "") != "dumb"


def width(stream: TextIO, env: Mapping[str, str] | None = None) -> int | None:
    """The columns to wrap `stream`'s lines to: the terminal's (COLUMNS wins), or None when
    it is not a terminal, so a pipe or a file keeps one finding per line."""
    if not _tty(stream):
        return None
    env = os.environ if env is None else env
    columns = env.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(stream.fileno()).columns or None
    except (OSError, ValueError):
        return None


def in_ci(env: Mapping[str, str] | None = None) -> bool:
    """Whether a CI system runs us: they set CI (GitHub, GitLab, most others)."""
    return _set(os.environ if env is None else env, "CI")


class ProgressLine:
    """Draws a scan's ticks as one line on a terminal, rewritten in place with a carriage
    return (no escape sequences, so any terminal shows it), after PROGRESS_DELAY seconds;
    `close` erases it so the report starts on a clean line."""

    __slots__ = ("_clock", "_drawn", "_last", "_start", "_stream", "_width")

    def __init__(
        self, stream: TextIO, columns: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._stream = stream
        self._width = max(columns - 1, 20)  # the last column would wrap on some terminals
        self._clock = clock
        self._start = clock()
        self._last = 0.0
        self._drawn = 0

    def __call__(self, tick: Tick) -> None:
        now = self._clock()
        if now - self._start < PROGRESS_DELAY or now - self._last < _REDRAW:
            return
        self._last = now
        self._draw(describe(tick, now - self._start)[: self._width])

    def _draw(self, text: str) -> None:
        pad = " " * max(self._drawn - len(text), 0)
        self._stream.write("\r" + text + pad)
        self._stream.flush()
        self._drawn = len(text)

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\r" + " " * self._drawn + "\r")
            self._stream.flush()
            self._drawn = 0


def describe(tick: Tick, elapsed: float) -> str:
    """`deploysafe: checking files 96/1500, 2/2 renders, 960 findings so far (1.4 s)`: the
    findings are those of the files checked so far, before duplicates are folded."""
    parts = []
    if tick.stage is Stage.RENDERING:
        parts.append(f"rendering {tick.renders}/{tick.render_total} charts and kustomizations")
    else:
        parts.append(f"checking files {tick.files}/{tick.file_total}")
        if tick.render_total:
            parts.append(f"{tick.renders}/{tick.render_total} renders")
        parts.append(f"{tick.findings} findings so far")
    return f"deploysafe: {', '.join(parts)} ({elapsed:.1f} s)"


def progress_line(stream: TextIO, env: Mapping[str, str] | None = None) -> ProgressLine | None:
    """A progress line for `stream`, or None where it must stay quiet: not a terminal, or CI."""
    if not _tty(stream) or in_ci(env):
        return None
    return ProgressLine(stream, width(stream, env) or 80)
