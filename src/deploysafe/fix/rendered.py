"""Fixes of findings in rendered output (a kustomize build, a Helm chart): the rendered
object a finding is in, and what planning its fix gives back to `plan`.

The rule's fixer runs on the rendered object, as the rules saw it; kustomize.py and helm.py
turn its edits into edits of the files the render was made from."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from typing import Literal

from deploysafe.fix.paths import path_of
from deploysafe.frozen import record
from deploysafe.model import Document, Finding, KeyPath
from deploysafe.rules.base import Fix, Rule

# The rendered objects of the tree with some files' texts (repo-relative name: text) in place
# of theirs, or None when it no longer renders or scans cleanly: a fix that cannot be told
# from its edits alone (a chart's flag turned on) is tried on it.
Trial = Callable[[Mapping[str, str]], Sequence[Document] | None]

# Why a finding is left, as plan's Status names it.
Why = Literal["manual", "unsafe", "refused"]


@record
class Left:
    finding: Finding
    why: Why
    reason: str


@record
class Done:
    finding: Finding
    fix: Fix
    files: tuple[str, ...]  # the files the fix writes (all of them, or the fix is not made)


@record
class InPlace:
    """A fix made in the file that wrote the object, as if that file were scanned alone
    (`--edit-base`): `plan` edits it with the plain files' fixes."""

    finding: Finding
    fix: Fix
    file: str
    kind_line: int


@record
class Planned:
    # New text by file (repo-relative): (text before, "" for a new file; text after).
    texts: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    done: tuple[Done, ...] = ()
    left: tuple[Left, ...] = ()
    in_place: tuple[InPlace, ...] = ()


@record
class Target:
    """A rendered finding with the object it is in and the fix its rule offers there."""

    finding: Finding
    render: str  # "kustomize overlays/prod", "helm charts/web"
    doc: Document
    path: KeyPath
    fix: Fix


def targets(f: Finding, rule: Rule, docs: Sequence[Document], unsafe: bool) -> list[Target] | Left:
    """The rendered objects `f` is in (one per render that produces it), each with its
    fix; or why there is none."""
    assert rule.autofix is not None
    out = []
    kept = next((d for d in docs if d.rendered_from in f.renders and _same(d, f)), None)
    for render in f.renders:
        found = None if kept is None else _in_render(render, docs, f, kept)
        if found is None:
            return Left(f, "manual", f"the object is not in the output of {render}")
        doc, path = found
        fix = rule.autofix.fixer(doc, path)
        if fix is None:
            return Left(f, "manual", "no automatic fix for this case")
        if not fix.safe and not unsafe:
            return Left(f, "unsafe", f"unsafe fix ({fix.description}): use --unsafe-fixes")
        out.append(Target(f, render, doc, path, fix))
    return out


def _same(doc: Document, f: Finding) -> bool:
    return f.resource is None or doc.resource == f.resource


def _in_render(
    render: str, docs: Sequence[Document], f: Finding, kept: Document
) -> tuple[Document, KeyPath] | None:
    """The object of `render` that the finding (reported on `kept`) is in, and the path
    there. One finding stands for one source line in every render: another overlay may name
    the object otherwise (`namePrefix`, `namespace`) or put a sidecar before its container,
    so the object is known by where its source wrote it, and list items by their lines."""
    mine = [d for d in docs if d.rendered_from == render]
    doc = next((d for d in mine if _same(d, f)), None)
    if doc is None:
        origin = (kept.file, kept.kind, kept.positions.get(("kind",)))
        doc = next(
            (d for d in mine if (d.file, d.kind, d.positions.get(("kind",))) == origin), None
        )
    if doc is None:
        return None
    return doc, _remap(kept, doc, path_of(kept.data, f.pointer))


def _remap(kept: Document, other: Document, path: KeyPath) -> KeyPath:
    """`path` (of `kept`) in `other`: each list index replaced by the index of the item that
    the same source line wrote, where exactly one does."""
    out: list[str | int] = []
    node: object = other.data
    for n, part in enumerate(path):
        if isinstance(part, int) and isinstance(node, list):
            at = kept.positions.get(path[: n + 1])
            hits = [i for i in range(len(node)) if other.positions.get((*out, i)) == at]
            if at is not None and len(hits) == 1:
                part = hits[0]
        out.append(part)
        if isinstance(node, list) and isinstance(part, int):
            node = node[part] if part < len(node) else None
        else:
            node = node.get(part) if isinstance(node, dict) else None
    return tuple(out)


def manual_at(f: Finding, why: str, also: Sequence[str] = ()) -> Left:
    """A finding left for the user, with the lines to change: its own (the summary prints
    it, as it is when the summary is read) and `also` (file:line)."""
    others = [x for x in dict.fromkeys(also) if x != f"{f.file}:{f.line}"]
    where = f" and at {', '.join(others)}" if others else ""
    return Left(f, "manual", f"{why}: needs a manual fix on this line{where}")
