"""What moving a `${{ }}` expression out of a `run:` script into an environment variable
needs to know: the shell that runs the script, where in the script's quoting the
expression sits, and a variable name that says what it holds.

The shell expands a variable's value without parsing it as code; the runner substitutes an
expression's text before the shell parses anything. So `echo "${{ github.event.issue.title }}"`
becomes `echo "${ISSUE_TITLE}"` with `ISSUE_TITLE: ${{ github.event.issue.title }}` in the
step's `env:`, as zizmor's fix writes it.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from typing import Any

from deploysafe.ci.expressions import ContextPath
from deploysafe.lazy import on_first_use


class Shell(enum.Enum):
    POSIX = "posix"  # bash, sh: `${NAME}`
    POWERSHELL = "powershell"  # pwsh, powershell: `$env:NAME`


class Quoting(enum.Enum):
    NONE = "none"
    DOUBLE = "double"  # "...": the shell expands a variable there, as it did the text
    SINGLE = "single"  # '...': no expansion; the variable must step out of the quotes
    UNKNOWN = "unknown"  # a heredoc, `$'...'`: not told apart here


_RUNNER_SHELLS = {"bash": Shell.POSIX, "sh": Shell.POSIX, "pwsh": Shell.POWERSHELL}
_SHELLS = {**_RUNNER_SHELLS, "powershell": Shell.POWERSHELL}


def shell_of(step: Mapping[str, Any], defaults: tuple[Any, ...], runs_on: Any) -> Shell | None:
    """The shell of a `run:` step: its `shell:`, else the first `defaults.run.shell` of the
    job and the workflow (given in that order), else the runner's default (pwsh on Windows,
    bash elsewhere). None: a shell this fix does not write for (python, cmd, a computed one)."""
    chosen = step.get("shell")
    for d in defaults:
        if chosen is not None:
            break
        run = d.get("run") if isinstance(d, dict) else None
        chosen = run.get("shell") if isinstance(run, dict) else None
    if chosen is not None:
        if not isinstance(chosen, str) or "${{" in chosen or not chosen.split():
            return None
        return _SHELLS.get(chosen.split()[0].lower())
    if runs_on is None:
        return None  # a composite action's step must name its shell
    labels = runs_on.get("labels") if isinstance(runs_on, dict) else runs_on
    labels = labels if isinstance(labels, list) else [labels]
    if not all(isinstance(x, str) and "${{" not in x for x in labels):
        return None  # the runner is chosen at run time
    return Shell.POWERSHELL if any("windows" in x.lower() for x in labels) else Shell.POSIX


def quoting(script: str, offset: int, shell: Shell) -> Quoting:
    """The quotes around `offset` in `script`, read from its start: backslash (backtick in
    PowerShell) escapes and comments are followed; heredocs and ANSI-C quotes are not."""
    escape = "\\" if shell is Shell.POSIX else "`"
    state = Quoting.NONE
    i = 0
    while i < offset:
        ch = script[i]
        if state is Quoting.SINGLE:
            if ch == "'":
                state = Quoting.NONE
        elif ch == escape:
            i += 1
        elif state is Quoting.DOUBLE:
            if ch == '"':
                state = Quoting.NONE
        elif ch == "'":
            if shell is Shell.POSIX and script[i - 1 : i] == "$":
                return Quoting.UNKNOWN
            state = Quoting.SINGLE
        elif ch == '"':
            state = Quoting.DOUBLE
        elif ch == "<" and script.startswith("<<", i) and shell is Shell.POSIX:
            return Quoting.UNKNOWN
        elif ch == "#" and (i == 0 or script[i - 1] in " \t\n;"):
            end = script.find("\n", i)
            if end < 0 or end >= offset:
                return Quoting.NONE  # in a comment: the rewrite changes nothing it runs
            i = end
        i += 1
    return state


def reference(name: str, shell: Shell, following: str) -> str:
    """How the script reads variable `name` where `following` comes next."""
    if shell is Shell.POSIX:
        return "${" + name + "}"
    braced = following[:1].isalnum() or following[:1] in ("_", ":")
    return "${env:" + name + "}" if braced else "$env:" + name


_name = on_first_use(r"[^A-Z0-9_]+")
# Names the runner or the shell set for themselves; a step must not shadow them.
_RESERVED = ("GITHUB_", "RUNNER_", "ACTIONS_")
_SHELL_NAMES = frozenset({"PATH", "HOME", "PWD", "SHELL", "IFS", "USER", "CI", "ENV", "TEMP"})


def name_for(path: ContextPath, taken: Collection[str]) -> str:
    """A variable name for a context's value: its last two names, upper-case
    (`github.event.issue.title` -> ISSUE_TITLE, `github.head_ref` -> HEAD_REF), with a
    number added when `taken` (case-insensitive) has it."""
    parts = [p for p in path if p != "*"]
    if parts[:2] == ["github", "event"]:
        parts = parts[2:]
    elif parts[:1] == ["github"]:
        parts = parts[1:]
    base = _name().sub("_", "_".join(parts[-2:]).upper()).strip("_") or "VALUE"
    if base[0].isdigit() or base.startswith(_RESERVED) or base in _SHELL_NAMES:
        base = f"VALUE_{base}"
    used = {t.upper() for t in taken}
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base}_{n}"
    return name
