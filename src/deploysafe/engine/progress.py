"""How far a scan has got, told to whoever watches (the CLI's progress line): the engine
calls a Progress with a Tick after each step, and never waits on it."""

from __future__ import annotations

import enum
from collections.abc import Callable

from deploysafe.frozen import record


class Stage(enum.Enum):
    RENDERING = "rendering"
    CHECKING = "checking"


@record
class Tick:
    """Where a scan is: its stage, and its counts so far."""

    stage: Stage
    renders: int = 0  # charts rendered and kustomization roots built so far
    render_total: int = 0
    files: int = 0  # files checked so far
    file_total: int = 0  # files to check (known once the renders are done)
    findings: int = 0  # found so far, before duplicates are folded


Progress = Callable[[Tick], None]
