"""The terminal decisions on their own: colour by NO_COLOR and FORCE_COLOR, CI detection,
and when the progress line draws (its delay and redraw rate, on a controlled clock)."""

from __future__ import annotations

import io

import pytest

from deploysafe.cli import terminal
from deploysafe.engine import Stage, Tick


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("env", "tty", "expected"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"TERM": "dumb"}, True, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": ""}, True, True),  # empty: not set, as no-color.org says
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": "0"}, False, False),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, True, False),  # NO_COLOR wins
    ],
)
def test_colour(env: dict[str, str], tty: bool, expected: bool) -> None:
    stream = _Tty() if tty else io.StringIO()
    assert terminal.color(stream, env) is expected


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("1", True), ("false", False), ("", False)]
)
def test_ci(value: str, expected: bool) -> None:
    assert terminal.in_ci({"CI": value}) is expected
    assert terminal.progress_line(_Tty(), {"CI": value}) is None if expected else not None


def test_no_progress_line_off_a_terminal() -> None:
    assert terminal.progress_line(io.StringIO(), {}) is None


def test_progress_line_after_a_second_then_erased() -> None:
    now = [100.0]
    out = io.StringIO()
    line = terminal.ProgressLine(out, 40, clock=lambda: now[0])
    tick = Tick(Stage.CHECKING, file_total=500, files=48, findings=7)
    line(tick)
    now[0] = 100.9
    line(tick)
    assert out.getvalue() == ""  # short work shows nothing
    now[0] = 101.2
    line(tick)
    # Cut to the width, less one column (a full line wraps on some terminals).
    first = "\r" + "deploysafe: checking files 48/500, 7 findings so far (1.2 s)"[:39]
    assert out.getvalue() == first
    now[0] = 101.25
    line(Tick(Stage.CHECKING, file_total=500, files=96, findings=14))
    assert out.getvalue() == first  # redrawn at most ten times a second
    now[0] = 101.5
    line(Tick(Stage.RENDERING, render_total=3, renders=1))
    assert (
        out.getvalue()
        == first + "\r" + ("deploysafe: rendering 1/3 charts and kustomizations (1.5 s)"[:39])
    )
    line.close()
    assert out.getvalue().endswith("\r" + " " * 39 + "\r")


def test_describe() -> None:
    tick = Tick(Stage.CHECKING, renders=2, render_total=2, files=96, file_total=1500, findings=9)
    assert terminal.describe(tick, 1.44) == (
        "deploysafe: checking files 96/1500, 2/2 renders, 9 findings so far (1.4 s)"
    )
