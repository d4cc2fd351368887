"""The fix for a build secret declared as `ARG NAME` (DS320): the ARG goes, and each RUN
of its stage after it mounts the secret into the same environment variable instead:
`RUN --mount=type=secret,id=name,env=NAME ...`.

An ARG is in the environment of every later RUN of its stage, which may read it without
naming it (npm reads `${NPM_TOKEN}` from `.npmrc`), so every such RUN gets the mount and
the variable is there exactly where it was, but in no layer or history. `env=` needs the
BuildKit Dockerfile frontend 1.10 or later; a file that pins an older one by `# syntax=`
is left for a human. Any other use of `$NAME` in the stage (ENV, LABEL, COPY, a FROM)
has no secret to read: also left for a human.
"""

from __future__ import annotations

import re
from typing import Any

from deploysafe.lazy import on_first_use
from deploysafe.model import Document, KeyPath
from deploysafe.rules.base import Fix, LineEdit
from deploysafe.rules.secrets._docker import instructions, pairs

_run = on_first_use(r"^(\s*RUN\s+)", re.IGNORECASE)


_syntax = on_first_use(r"^#\s*syntax\s*=\s*\S*?dockerfile:(\d+)(?:\.(\d+))?", re.IGNORECASE)


def _old_frontend(lines: list[str]) -> bool:
    for line in lines:
        if not line.startswith("#"):
            return False
        m = _syntax().match(line)
        if m is not None:
            major, minor = int(m.group(1)), int(m.group(2) or 99)
            return (major, minor) < (1, 10)
    return False


def _uses(inst: dict[str, Any], name: str) -> bool:
    text = " ".join([str(inst.get("args", "")), *map(str, inst.get("heredocs", []))])
    return re.search(r"\$\{?" + re.escape(name) + r"\b", text) is not None


def fix_build_arg(doc: Document, path: KeyPath) -> Fix | None:
    if len(path) != 2 or path[0] != "instructions" or not isinstance(path[1], int):
        return None
    insts = list(instructions(doc))
    lines = list(doc.lines)
    at = path[1]
    arg = insts[at][1] if 0 <= at < len(insts) else None
    if arg is None or arg.get("cmd") != "ARG" or _old_frontend(lines):
        return None
    declared = pairs("ARG", str(arg.get("args", "")))
    stage = arg.get("stage")
    number = int(arg.get("line", 0))
    old = lines[number - 1] if 0 < number <= len(lines) else ""
    later = [i for _, i in insts[at + 1 :] if i.get("stage") == stage]
    if stage == -1 or len(declared) != 1 or declared[0][1] is not None:
        return None  # before any FROM (only FROM reads it), a default in the file, `ARG A B`
    name = declared[0][0]
    words = old.split()
    if len(words) != 2 or words[1] != name:
        return None  # written over several lines
    runs = [i for i in later if i.get("cmd") == "RUN"]
    if not runs or any(i.get("cmd") != "RUN" and _uses(i, name) for i in later):
        return None
    secret = name.lower()
    mount = f"--mount=type=secret,id={secret},env={name} "
    edits = [LineEdit(number, old, None)]
    for run in runs:
        n = int(run.get("line", 0))
        text = lines[n - 1]
        m = _run().match(text)
        if m is None:
            return None
        edits.append(LineEdit(n, text, text[: m.end()] + mount + text[m.end() :]))
    where = ", ".join(str(int(r.get("line", 0))) for r in runs)
    return Fix(
        (),
        False,
        f"remove ARG {name}; RUN on line(s) {where} mount the secret `{secret}` as {name} "
        f"(build with `--secret id={secret},env={name}`)",
        lines=tuple(edits),
    )
