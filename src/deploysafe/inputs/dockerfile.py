"""Dockerfiles as Documents: instructions with line numbers, continuation lines, heredocs,
parser directives (`# escape=`, `# syntax=`), and multi-stage builds with the stages that
ship (the last stage and the stages it is built `FROM`).

The document's data:

    {"instructions": [{"cmd": "RUN", "args": "...", "flags": {"mount": "type=secret,id=x"},
                       "stage": 0, "line": 3, "heredocs": ["..."]}, ...],
     "stages": [{"name": "build", "base": "golang:1.22", "line": 1, "ships": False}, ...],
     "escape": "\\\\",
     "context": {"ignore": ".dockerignore", "credentials": [".env"], "complete": True}}

and its positions map ("instructions", i) and ("stages", i) to (line, column). "context" is
there when the Dockerfile was read from disk and some COPY/ADD reads from its build context:
the credential files the context would send (see deploysafe.inputs.buildcontext).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import field
from pathlib import Path
from typing import Any

from deploysafe import jsondata
from deploysafe.frozen import record
from deploysafe.inputs import buildcontext
from deploysafe.inputs.documents import LoadResult
from deploysafe.model import Document, Target
from deploysafe.model import KeyPath as DataPath
from deploysafe.pathnames import name_of

_DIRECTIVE = re.compile(r"^#\s*([A-Za-z]+)\s*=\s*(.*?)\s*$")
_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_FLAG = re.compile(r"--([a-z][a-z-]*)(?:=(\S*))?")


@record(frozen=False)
class Instruction:
    """One Dockerfile instruction: command, flags, arguments, line, stage and heredocs."""

    cmd: str
    args: str  # the arguments after the instruction's flags, continuation lines joined
    line: int
    flags: dict[str, list[str]] = field(default_factory=dict)
    stage: int = -1
    heredocs: list[str] = field(default_factory=list)

    def as_data(self) -> dict[str, Any]:
        return {
            "cmd": self.cmd,
            "args": self.args,
            "flags": {k: list(v) for k, v in self.flags.items()},
            "stage": self.stage,
            "line": self.line,
            "heredocs": list(self.heredocs),
        }


# `Dockerfile.<suffix>` names a variant (`Dockerfile.dev`); with these suffixes it is source
# code or data about Dockerfiles (`dockerfile.py`), not one.
_OTHER_FORMATS = frozenset(
    {"py", "go", "rs", "js", "ts", "java", "rb", "md", "json", "yaml", "yml", "toml", "lock"}
)


def is_dockerfile(display: str) -> bool:
    name = name_of(display)
    low = name.lower()
    if low.startswith(("dockerfile.", "containerfile.")):
        return low.rpartition(".")[2] not in _OTHER_FORMATS
    return low in ("dockerfile", "containerfile") or low.endswith((".dockerfile", ".containerfile"))


def parse(text: str) -> tuple[list[Instruction], str]:
    """Instructions of a Dockerfile and its escape character."""
    lines = text.splitlines()
    escape = "\\"
    i = 0
    # Parser directives: only before any instruction, comment or blank line.
    while i < len(lines):
        m = _DIRECTIVE.match(lines[i])
        if not m:
            break
        if m.group(1).lower() == "escape" and m.group(2) in ("\\", "`"):
            escape = m.group(2)
        i += 1
    out: list[Instruction] = []
    while i < len(lines):
        raw = lines[i]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i
        parts = []
        while True:
            current = lines[i]
            body = current.rstrip()
            if body.endswith(escape) and i + 1 < len(lines):
                parts.append(body[:-1])
                i += 1
                # Comment lines inside a continued instruction are dropped by Docker.
                while i < len(lines) and lines[i].strip().startswith("#"):
                    i += 1
                if i >= len(lines):
                    break
                continue
            parts.append(current)
            i += 1
            break
        joined = " ".join(p.strip() for p in parts)
        cmd, _, rest = joined.partition(" ")
        inst = Instruction(cmd.upper(), rest.strip(), start + 1)
        # Heredocs: the body lines follow the instruction until the terminator.
        for m in _HEREDOC.finditer(rest):
            strip_tabs, word = m.group(1) == "-", m.group(3)
            body_lines = []
            while i < len(lines):
                ln = lines[i].lstrip("\t") if strip_tabs else lines[i]
                i += 1
                if ln == word:
                    break
                body_lines.append(ln)
            inst.heredocs.append("\n".join(body_lines))
        _split_flags(inst)
        out.append(inst)
    return out, escape


def _split_flags(inst: Instruction) -> None:
    args = inst.args
    while args.startswith("--"):
        m = _FLAG.match(args)
        if m is None:
            break
        inst.flags.setdefault(m.group(1), []).append(m.group(2) or "")
        args = args[m.end() :].lstrip()
    inst.args = args


def operands(args: str) -> tuple[list[str], str | None]:
    """A COPY/ADD's sources and destination (JSON or shell form; heredoc sources dropped)."""
    text = args.strip()
    if text.startswith("["):
        try:
            items = jsondata.loads(text)
        except ValueError:  # not JSON, or nested past the cap: the shell form, as Docker reads it
            items = None
        if isinstance(items, list) and items:
            return [str(x) for x in items[:-1]], str(items[-1])
    words = shell_words(text)
    if not words:
        return [], None
    return [w for w in words[:-1] if "<<" not in w], words[-1]


# What shlex reads apart from other characters (quotes, its escape), or what str.split
# takes for whitespace and shlex does not (ASCII separators; non-ASCII text is never split
# at once).
_SHELL_READ = re.compile(r"[\"'\\\x0b\x0c\x1c-\x1f]")


def shell_words(text: str) -> list[str]:
    """The words of a shell-form argument list as `shlex.split` reads them, or split at
    whitespace when shlex refuses the text (a quote left open). Text with nothing shlex
    reads apart from the rest, most arguments, is split without it (a Python loop over
    each character)."""
    if text.isascii() and _SHELL_READ.search(text) is None:
        return text.split()
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def stages(instructions: list[Instruction]) -> list[dict[str, Any]]:
    """Stages in order, each instruction tagged with its stage; marks the ones that ship."""
    out: list[dict[str, Any]] = []
    for inst in instructions:
        if inst.cmd == "FROM":
            words = inst.args.split()
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            out.append({"name": name, "base": words[0] if words else "", "line": inst.line})
        inst.stage = len(out) - 1
    for s in out:
        s["ships"] = False
    if out:
        by_name = {str(s["name"]).lower(): n for n, s in enumerate(out) if s["name"]}
        n: int | None = len(out) - 1
        seen = set()
        while n is not None and n not in seen:
            seen.add(n)
            out[n]["ships"] = True
            n = by_name.get(str(out[n]["base"]).lower())
    return out


def context_sources(instructions: list[Instruction]) -> list[str]:
    """The normalised sources COPY/ADD read from the build context (not --from a stage)."""
    out: list[str] = []
    for inst in instructions:
        if inst.cmd in ("COPY", "ADD") and "from" not in inst.flags:
            srcs = (buildcontext.normalise_source(s) for s in operands(inst.args)[0])
            out.extend(s for s in srcs if s is not None)
    return out


def build(text: str, display: str, path: Path | None = None) -> LoadResult:
    """The sources.BUILDERS entry for Target.DOCKERFILE."""
    instructions, escape = parse(text)
    stage_list = stages(instructions)
    positions: dict[DataPath, tuple[int, int]] = {(): (1, 1)}
    for n, inst in enumerate(instructions):
        positions[("instructions", n)] = (inst.line, 1)
    for n, st in enumerate(stage_list):
        positions[("stages", n)] = (int(st["line"]), 1)
    data: dict[str, Any] = {
        "instructions": [inst.as_data() for inst in instructions],
        "stages": stage_list,
        "escape": escape,
    }
    if path is not None:
        read = context_sources(instructions)
        if read:
            data["context"] = buildcontext.exposure(path.parent, path.name, read).as_data()
    doc = Document(display, data, positions, text.splitlines(), type=Target.DOCKERFILE)
    return LoadResult([doc], [], 0)
