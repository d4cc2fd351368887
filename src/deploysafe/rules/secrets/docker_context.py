"""DS323: COPY/ADD of the build context (or a folder of it) ships credential files that
`.dockerignore` does not exclude.

The files come from the document (data["context"], gathered from disk by the loader, see
deploysafe.inputs.buildcontext); this rule follows them through the Dockerfile: where each COPY/ADD
from the context puts them (its destination against the stage's WORKDIR), what a stage built
`FROM` another inherits, and which of them a `COPY --from=stage SRC` takes along (SRC is the
file or one of its folders). What is reported is what reaches the last stage. Simplifications:
a stage on an outside image starts at WORKDIR `/`; a path that holds a variable is unknown,
and only `COPY --from=stage /` surely carries a file whose path is unknown; RUN steps that
move or delete files are not followed.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from deploysafe.frozen import record
from deploysafe.inputs.buildcontext import DockerIgnore, normalise_source
from deploysafe.inputs.dockerfile import operands
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule, Scope
from deploysafe.rules.secrets._docker import instructions

_NAMED = 3  # files a message names; the rest are counted
_GLOB = frozenset("*?[")


@record
class _Placed:
    """A context credential file inside a stage's filesystem."""

    file: str  # relative to the build context
    at: str | None  # absolute path in the stage; None when a variable hides it
    origin: int  # index of the COPY/ADD that took it from the context
    via: tuple[int, ...] = ()  # COPY --from instructions that carried it on


def _matches(parts: Sequence[str], pattern: Sequence[str]) -> bool:
    return len(parts) >= len(pattern) and all(
        fnmatch.fnmatchcase(p, q) for p, q in zip(parts, pattern, strict=False)
    )


def _landing(
    path: str, source: str, dest: str | None, into_dir: bool, *, explicit: bool
) -> tuple[bool, str | None]:
    """Does COPY `source` (normalised, "" = the root) take `path`, and where does it land?
    A folder's contents go into `dest`; a file matched by name goes to `dest` or into it.
    An `explicit` match of the file itself (no wildcard) is not taken: DS321 judges those."""
    parts = path.split("/")
    pattern = source.split("/") if source else []
    if not _matches(parts, pattern):
        return False, None
    if len(parts) == len(pattern):
        if explicit and not _GLOB & set(source):
            return False, None
        rest = parts[-1] if into_dir else ""
    else:
        rest = "/".join(parts[len(pattern) :])
    if dest is None:
        return True, None
    return True, posixpath.normpath(posixpath.join(dest, rest)) if rest else dest


def _resolve(workdir: str | None, dest: str) -> str | None:
    if "$" in dest:
        return None
    if dest.startswith("/"):
        return posixpath.normpath(dest)
    return None if workdir is None else posixpath.normpath(posixpath.join(workdir, dest))


def _excluded(flags: Mapping[str, Any]) -> DockerIgnore:
    """COPY --exclude=PATTERN (dockerfile 1.7+): matched as .dockerignore lines."""
    patterns = flags.get("exclude")
    return DockerIgnore.parse("\n".join(str(p) for p in patterns or ()))


def _stage_of(ref: str, names: Mapping[str, int], current: int) -> int | None:
    n = int(ref) if ref.isdigit() else names.get(ref.lower())
    return n if n is not None and n < current else None


def _placements(doc: Document, files: Sequence[str]) -> list[_Placed]:
    """Where the given context files end up in the last stage."""
    stage_list = doc.data.get("stages")
    if not isinstance(stage_list, list) or not stage_list:
        return []
    placed: list[list[_Placed]] = [[] for _ in stage_list]
    workdir: list[str | None] = ["/" for _ in stage_list]
    names: dict[str, int] = {}
    for i, inst in instructions(doc):
        st = inst.get("stage")
        if not isinstance(st, int) or not 0 <= st < len(stage_list):
            continue
        cmd, args = inst.get("cmd"), str(inst.get("args", ""))
        found_flags = inst.get("flags")
        flags: Mapping[str, Any] = found_flags if isinstance(found_flags, dict) else {}
        if cmd == "FROM":
            stage = stage_list[st] if isinstance(stage_list[st], dict) else {}
            base = _stage_of(str(stage.get("base", "")), names, st)
            if base is not None:  # built on an earlier stage: its files and WORKDIR
                placed[st] = list(placed[base])
                workdir[st] = workdir[base]
            if stage.get("name"):
                names[str(stage["name"]).lower()] = st
        elif cmd == "WORKDIR":
            workdir[st] = _resolve(workdir[st], args.strip().strip("\"'"))
        elif cmd in ("COPY", "ADD"):
            srcs, dest = operands(args)
            if dest is None:
                continue
            into_dir = dest.endswith("/") or len(srcs) > 1
            to = _resolve(workdir[st], dest)
            origins = flags.get("from")
            if origins:
                src_stage = _stage_of(str(origins[-1]), names, st)
                if src_stage is not None:
                    placed[st] += _carried(placed[src_stage], srcs, to, into_dir, i)
                continue
            exclude = _excluded(flags)
            for src in srcs:
                source = normalise_source(src)
                if source is None:
                    continue
                for f in files:
                    hit, at = _landing(f, source, to, into_dir, explicit=True)
                    if hit and not exclude.excluded(_below(f, source)):
                        placed[st].append(_Placed(f, at, i))
    return placed[-1]


def _below(path: str, source: str) -> str:
    """`path` relative to the folder a source names (its fixed part)."""
    parts, fixed = path.split("/"), source.split("/") if source else []
    keep = len(fixed) if len(fixed) < len(parts) else len(parts) - 1
    return "/".join(parts[keep:])


def _carried(
    items: Sequence[_Placed], srcs: Sequence[str], to: str | None, into_dir: bool, i: int
) -> Iterator[_Placed]:
    """The files a COPY --from=stage takes with it."""
    for p in items:
        for src in srcs:
            if "$" in src:
                continue
            source = posixpath.normpath("/" + src).lstrip("/")  # from the stage's root
            if p.at is None:  # only a copy of the whole filesystem surely takes it
                if source == "":
                    yield _Placed(p.file, None, p.origin, (*p.via, i))
                    break
                continue
            hit, at = _landing(p.at.lstrip("/"), source, to, into_dir, explicit=False)
            if hit:
                yield _Placed(p.file, at, p.origin, (*p.via, i))
                break


def _names(files: Sequence[str]) -> str:
    shown = ", ".join(files[:_NAMED])
    more = len(files) - _NAMED
    return f"{shown} and {more} more" if more > 0 else shown


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if ctx.secrets.excluded(doc.file):
        return
    context = doc.data.get("context")
    if not isinstance(context, dict):
        return
    files = [f for f in context.get("credentials") or () if isinstance(f, str)]
    if not files:
        return
    items = doc.data["instructions"]
    ignore = context.get("ignore")
    why = f"{ignore} does not exclude them" if ignore else "there is no .dockerignore"
    by_origin: dict[int, list[_Placed]] = {}
    for p in _placements(doc, files):
        by_origin.setdefault(p.origin, []).append(p)
    for origin, found in sorted(by_origin.items()):
        inst = items[origin]
        srcs = " ".join(operands(str(inst.get("args", "")))[0])
        names = _names(sorted({p.file for p in found}))
        what = f"{inst['cmd']} {srcs} sends credential files from the build context"
        if any(not p.via for p in found):
            yield Violation(("instructions", origin), f"{what} into the image: {names} ({why})")
            continue
        via = items[min(p.via[-1] for p in found)]
        stage = via["flags"]["from"][-1]
        yield Violation(
            ("instructions", origin),
            f"{what} into a build stage, and COPY --from={stage} on line {via['line']} "
            f"carries them into the image: {names} ({why})",
        )


RULE = Rule(
    id="DS323",
    title="The build context copied into a shipped image must not hold credential files",
    practice=Practice.SECRETS,
    severity=Severity.HIGH,
    target=Target.DOCKERFILE,
    why=(
        "`COPY . .` copies whatever the build context holds, and the context is the folder "
        "the image is built from: a developer's `.env`, an `.npmrc` with a registry token, "
        "a deploy key or a kubeconfig lying next to the Dockerfile goes into an image layer "
        "and ships to everyone who can pull it, unless `.dockerignore` leaves it out. The "
        "scan looks at the Dockerfile's own folder (the usual context), the files the "
        "`.dockerignore` there (or `<Dockerfile>.dockerignore`) lets through, and the COPY "
        "and ADD of the whole context or of one of its folders into the last stage, or into "
        "a builder stage whose files a `COPY --from` carries into the last stage. Files are "
        "recognised by name as in DS321; a `.pem`, `.npmrc`, `.yarnrc.yml`, `settings.xml` "
        "or `nuget.config` counts when it holds a private key or a token, not a `${VAR}`."
    ),
    fix="Add a `.dockerignore` next to the Dockerfile that lists them (`.env`, `**/*.key`, "
    "`.npmrc` ...), or copy only what the build needs (`COPY package.json ./` and "
    "`COPY src/ ./src/`); give a build step the credentials it needs with "
    "`RUN --mount=type=secret`, never through the context.",
    bad="""\
# context: .env package.json server.js
FROM node:22-alpine
WORKDIR /app
COPY . .
RUN npm ci --omit=dev
CMD ["node", "server.js"]
""",
    good="""\
# context: .env package.json server.js
# .dockerignore: .env
FROM node:22-alpine
WORKDIR /app
COPY . .
RUN npm ci --omit=dev
CMD ["node", "server.js"]
""",
    references=(
        "Docker docs: .dockerignore files",
        "Docker docs: build secrets (RUN --mount=type=secret)",
        "CIS Docker Benchmark 4.10",
        "dockle CIS-DI-0010 (credential files)",
    ),
    check=check,
    scopes=frozenset({Scope.REPOSITORY, Scope.HISTORY}),
)
