"""What to render, decided before any engine runs: which kustomizations are roots, which
Components and bases come with them, and which inputs cannot be rendered (cycles, remote
bases, missing or out-of-repository chart dependencies), each with its file and line.

Deciding this up front keeps a scan offline and bounded: Kustomize is never asked to fetch
a remote base or to walk a cycle, and Helm never to resolve a dependency.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from deploysafe.config.toplevel import DEFAULT_MAX_FILE_SIZE
from deploysafe.frozen import record
from deploysafe.inputs.documents import UNREAD_KINDS
from deploysafe.model import KeyPath, ScanError
from deploysafe.yamlload import Parsed, TooLarge, YamlProblem, parse_all, read_capped

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Entries of a kustomization that name other kustomizations (or files, for `resources`).
REFERENCES = ("resources", "bases", "components")
_PATCHES = ("patches", "patchesStrategicMerge", "patchesJson6902")

# Kustomize fetches these (go-getter and git URLs): `https://...`, `git@host:org/repo`,
# `github.com/org/repo/path?ref=v1`, `ssh://`, `git::`, anything with `?ref=`/`?version=`.
_REMOTE = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*::|[a-z][a-z0-9+.-]*://|git@|[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}/)"
    r"|[?&](?:ref|version|submodules|timeout)=",
    re.IGNORECASE,
)
OFFLINE_HINT = "vendor it into the repository, or scan with --no-render"


def is_remote(entry: str) -> bool:
    return bool(_REMOTE.search(entry.strip()))


def rel(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root.resolve())).as_posix()


# --- Kustomize -----------------------------------------------------------------------------


@record
class _Ref:
    target: Path  # resolved folder (or file) the entry names
    key: str  # resources, bases or components
    line: int
    remote: bool = False  # never followed (remote, or a folder above): a placeholder


@record
class Patch:
    """One entry of a kustomization's patches, and what it says it changes."""

    file: Path  # the kustomization that lists it
    line: int
    kind: str | None
    name: str | None
    selector: bool  # chosen by `target:` (kustomize skips it silently when nothing matches)
    renames: bool = False  # an operation of it sets the target's name


# A JSON patch operation on the name (YAML or JSON): what it targets leaves the build renamed.
_RENAMES = re.compile(r"""["']?path["']?\s*:\s*["']?/metadata/name["']?\s*(?:[,}\n]|$)""")


@record
class _Node:
    folder: Path  # resolved
    file: Path  # its kustomization file
    component: bool
    kind_line: int
    refs: tuple[_Ref, ...]
    patches: tuple[Path, ...]  # patch files it names (resolved)
    entries: tuple[Patch, ...] = ()
    invalid: bool = False  # not a kustomization kustomize can read (reported at its line)


@record
class KustomizePlan:
    roots: tuple[Path, ...]  # folders to build, in the order they were found
    # every folder a root builds (itself, its bases, its Components), per root
    members: Mapping[Path, frozenset[Path]] = field(default_factory=dict)
    patches: frozenset[Path] = frozenset()  # patch files the kustomizations name
    resources: frozenset[Path] = frozenset()  # manifest files their `resources:` list
    errors: tuple[ScanError, ...] = ()
    unbuilt: frozenset[Path] = frozenset()  # kustomizations that cannot be built, said why
    entries: Mapping[Path, tuple[Patch, ...]] = field(default_factory=dict)  # per folder

    def builders(self, folder: Path) -> tuple[Path, ...]:
        """The roots whose builds read `folder` (a resolved kustomization folder)."""
        return tuple(r for r in self.roots if folder in self.members.get(r, ()))


def _kfile(folder: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def _kustomization(path: Path, max_bytes: int) -> tuple[Parsed | None, tuple[int, str]]:
    """A kustomization file's data, or where and why kustomize cannot read it."""
    try:
        text = read_capped(path, max_bytes)
    except (OSError, UnicodeDecodeError, TooLarge) as exc:
        return None, (1, f"cannot read the kustomization ({exc}), so it is not built")
    docs = list(parse_all(text))
    for doc in docs:
        if isinstance(doc, YamlProblem):
            return None, (
                doc.line or 1,
                f"{doc}; the kustomization is not built: fix the syntax",
            )
    first = docs[0] if docs else None
    if isinstance(first, Parsed) and isinstance(first.data, dict):
        if _sets_nothing(first.data):
            return None, (
                first.line,
                "the kustomization sets no field but `apiVersion` and `kind` to a value, which"
                " kustomize refuses as empty, so it is not built: list its"
                " `resources:` (an explicit `resources: []` builds nothing), or delete the file",
            )
        return first, (0, "")
    if first is None or not isinstance(first, Parsed) or first.data is None:
        return None, (
            1,
            "the kustomization is empty, so it is not built: list its `resources:`, or"
            " delete the file",
        )
    return None, (
        first.line,
        "the kustomization is not a mapping of fields, so it is not built: write it as"
        " `resources:`, `patches:`, ... keys",
    )


# The fields kustomize allows alone: with every other one unset or at Go's zero value
# (null, "", false), the kustomization equals an empty one, which it refuses to build
# (`metadata: {}` or `resources: []` is set).
_TYPE_FIELDS = frozenset({"apiVersion", "kind"})


def _sets_nothing(data: dict[Any, Any]) -> bool:
    return all(k in _TYPE_FIELDS or v is None or v == "" or v is False for k, v in data.items())


def _parse(path: Path) -> Parsed | None:
    try:
        text = read_capped(path, DEFAULT_MAX_FILE_SIZE)
    except (OSError, UnicodeDecodeError, TooLarge):
        return None
    for doc in parse_all(text):
        return doc if isinstance(doc, Parsed) and isinstance(doc.data, dict) else None
    return None


def _line(parsed: Parsed, path: KeyPath) -> int:
    p = path
    while p and p not in parsed.positions:
        p = p[:-1]
    return parsed.positions.get(p, (1, 1))[0]


def _node(
    folder: Path,
    root: Path,
    errors: list[ScanError],
    top: Path | None = None,
    max_bytes: int = DEFAULT_MAX_FILE_SIZE,
) -> _Node | None:
    kfile = _kfile(folder)
    if kfile is None:
        return None
    parsed, problem = _kustomization(kfile, max_bytes)
    if parsed is None:  # not built: kustomize would say the same without a line
        errors.append(ScanError(rel(kfile, root), problem[0], problem[1], "render"))
        return _Node(folder, kfile, False, 1, (), (), invalid=True)
    data: dict[str, Any] = parsed.data
    refs: list[_Ref] = []
    for key in REFERENCES:
        listed = data.get(key)
        if not isinstance(listed, list):
            continue
        for i, entry in enumerate(listed):
            if not isinstance(entry, str):
                continue
            line = _line(parsed, (key, i))
            # A local folder may look like a host (`app.io/base`): what exists is local.
            if is_remote(entry) and not (folder / entry).exists():
                errors.append(
                    ScanError(
                        rel(kfile, root),
                        line,
                        f"remote {key[:-1]} {entry!r} is not"
                        f" fetched (deploysafe renders offline): {OFFLINE_HINT}",
                        "render",
                    )
                )
                refs.append(_Ref(folder, key, line, remote=True))
                continue
            target = (folder / entry).resolve()
            if top is not None and not target.is_relative_to(top):
                errors.append(
                    ScanError(
                        rel(kfile, root),
                        line,
                        f"`{key}` entry {entry!r} points outside the repository (after"
                        " symlinks are followed), so the kustomization is not built: what is"
                        " checked and released must be in the repository; vendor it there",
                        "render",
                    )
                )
                refs.append(_Ref(folder, key, line, remote=True))  # never followed
                continue
            if target != folder and target.is_dir() and folder.is_relative_to(target):
                errors.append(
                    ScanError(
                        rel(kfile, root),
                        line,
                        f"`{key}` entry {entry!r} references a folder that contains this"
                        " kustomization: kustomize cannot build it, so it is not built;"
                        " remove the entry",
                        "render",
                    )
                )
                refs.append(_Ref(folder, key, line, remote=True))  # never followed
                continue
            refs.append(_Ref(target, key, line))
    patches: list[Path] = []
    entries: list[Patch] = []
    for key in _PATCHES:
        listed = data.get(key)
        for i, entry in enumerate(listed if isinstance(listed, list) else ()):
            name = entry.get("path") if isinstance(entry, dict) else entry
            text = entry.get("patch") if isinstance(entry, dict) else None
            if isinstance(name, str) and "\n" not in name:
                patches.append((folder / name).resolve())
                text = _read((folder / name).resolve())
            elif isinstance(name, str):  # patchesStrategicMerge also takes inline text
                text = name
            kind, obj = _target(entry.get("target") if isinstance(entry, dict) else None)
            selector = kind is not None or obj is not None
            if not selector and isinstance(text, str):
                kind, obj = _patched(text)
            renames = isinstance(text, str) and _RENAMES.search(text) is not None
            entries.append(Patch(kfile, _line(parsed, (key, i)), kind, obj, selector, renames))
    return _Node(
        folder,
        kfile,
        data.get("kind") == "Component",
        _line(parsed, ("kind",)),
        tuple(refs),
        tuple(patches),
        tuple(entries),
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _target(target: Any) -> tuple[str | None, str | None]:
    if not isinstance(target, dict):
        return None, None
    kind, name = target.get("kind"), target.get("name")
    return (kind if isinstance(kind, str) else None), (name if isinstance(name, str) else None)


def _patched(text: str) -> tuple[str | None, str | None]:
    """The kind and name a strategic-merge patch names (a JSON patch names none)."""
    for doc in parse_all(text):
        if isinstance(doc, Parsed) and isinstance(doc.data, dict):
            meta = doc.data.get("metadata")
            name = meta.get("name") if isinstance(meta, dict) else None
            kind = doc.data.get("kind")
            return (kind if isinstance(kind, str) else None), (
                name if isinstance(name, str) else None
            )
        return None, None
    return None, None


# kustomize's resource id in its errors: `Deployment.v1.apps/cartservice.[noNs]`
_RESID = re.compile(r'([A-Za-z0-9]+)\.[^/\s"\\]*/([a-z0-9][-a-z0-9.]*?)\.(?:\[noNs\]|[-a-z0-9]+)')
_PLAIN_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def patch_error(plan: KustomizePlan, folder: Path, message: str, root: Path) -> ScanError | None:
    """A failed build blamed on the patch entry that targets nothing, at its line."""
    if "no resource matches" not in message and "failed to find unique target" not in message:
        return None
    m = _RESID.search(message)
    if m is None:
        return None
    kind, name = m.group(1), m.group(2)
    for member in sorted(plan.members.get(folder.resolve(), ())):
        for p in plan.entries.get(member, ()):
            if not p.selector and p.kind == kind and p.name == name:
                return ScanError(
                    rel(p.file, root),
                    p.line,
                    f"patch targets {kind} {name}, which no resource of"
                    f" {rel(folder.resolve(), root)} defines, so kustomize refused to build it:"
                    " fix the patch's kind and name, or remove it",
                    "render",
                )
    return None


def unmatched_patches(
    plan: KustomizePlan, folder: Path, produced: Iterable[tuple[str, str]], root: Path
) -> list[ScanError]:
    """Patches chosen by `target:` that select nothing the build produced (kustomize skips
    them without a word), by kind and by a plain name; a name may gain a prefix or suffix."""
    objects = list(produced)
    out = []
    for member in sorted(plan.members.get(folder.resolve(), ())):
        for p in plan.entries.get(member, ()):
            if not p.selector or (p.kind is None and p.name is None):
                continue
            if p.name is not None and not _PLAIN_NAME.match(p.name):
                continue  # a regular expression: not judged
            if p.kind in UNREAD_KINDS or p.renames:
                # The build's objects of these kinds are never parsed; a patch that renames
                # its target leaves no object of that name: not judged.
                continue
            if any(
                (p.kind is None or k == p.kind) and (p.name is None or p.name in n)
                for k, n in objects
            ):
                continue
            what = " ".join(x for x in (p.kind, p.name) if x)
            out.append(
                ScanError(
                    rel(p.file, root),
                    p.line,
                    f"patch target {what} matches nothing {rel(folder.resolve(), root)} builds,"
                    " so the patch changes nothing: fix its `target:` or remove it",
                    "render",
                )
            )
    return out


def plan_kustomize(
    folders: Sequence[Path],
    root: Path,
    top: Path | None = None,
    max_bytes: int = DEFAULT_MAX_FILE_SIZE,
) -> KustomizePlan:
    """Roots to build among the scanned kustomization `folders`, and what cannot be built.

    A `resources`, `bases` or `components` entry that leads out of `top` (the repository;
    default `root`) is not followed, and its kustomization is not built; so is one whose
    file is over `max_bytes` (the policy's max_file_size).

    A root is a kustomization no other scanned one references through `resources`, `bases`
    or `components`; the others are judged through the roots that build them. A base whose
    only users cannot be built is built on its own. Components are never built on their
    own: Kustomize cannot (their patches need a kustomization's resources).
    """
    errors: list[ScanError] = []
    scanned = [f.resolve() for f in folders]
    nodes: dict[Path, _Node] = {}
    todo = list(scanned)
    while todo:  # the local graph, also through bases outside the scanned paths
        folder = todo.pop()
        if folder in nodes:
            continue
        node = _node(folder, root, errors, (top or root).resolve(), max_bytes)
        if node is None:
            continue
        nodes[folder] = node
        todo.extend(r.target for r in node.refs if not r.remote and r.target.is_dir())

    bad = _cycles(nodes, root, errors) | {
        n.folder for n in nodes.values() if n.invalid or any(r.remote for r in n.refs)
    }

    reach: dict[Path, frozenset[Path]] = {}

    def reachable(folder: Path) -> frozenset[Path]:
        if folder not in reach:
            reach[folder] = frozenset()  # cut cycles (already reported)
            out = {folder}
            for r in nodes[folder].refs:
                if not r.remote and r.target in nodes:
                    out |= reachable(r.target)
            reach[folder] = frozenset(out)
        return reach[folder]

    blocked = {f for f in nodes if reachable(f) & bad}
    roots: list[Path] = []
    covered: set[Path] = set()
    candidates = [f for f in dict.fromkeys(scanned) if f in nodes]
    while True:
        users = [f for f in candidates if f not in blocked and f not in covered]
        referenced = {
            r.target
            for f in users
            for r in nodes[f].refs
            if not r.remote and r.target != f and r.target in nodes
        }
        new = [f for f in users if f not in referenced and not nodes[f].component]
        if not new:
            break
        roots += new
        for f in new:
            covered |= reachable(f)

    unbuilt = set(blocked)
    for f in candidates:
        node = nodes[f]
        if node.component and f not in covered and f not in blocked:
            unbuilt.add(f)
            errors.append(
                ScanError(
                    rel(node.file, root),
                    node.kind_line,
                    "Kustomize Component used by no kustomization: it only applies inside"
                    " another kustomization's `components:`, so it is not built and its patches"
                    " are not checked (its resource files are scanned as plain manifests); list"
                    " it in an overlay's `components:`, or add"
                    f" `{rel(f, root)}/` to `exclude` in deploysafe.yaml",
                    "render",
                )
            )
    return KustomizePlan(
        roots=tuple(roots),
        members={f: reachable(f) for f in roots},
        patches=frozenset(p for n in nodes.values() for p in n.patches),
        resources=frozenset(
            r.target for n in nodes.values() for r in n.refs if not r.remote and r.target.is_file()
        ),
        entries={f: n.entries for f, n in nodes.items() if n.entries},
        errors=tuple(errors),
        unbuilt=frozenset(unbuilt),
    )


def users_of(
    folders: Iterable[Path], touched: Iterable[Path], starts: Iterable[Path]
) -> list[Path]:
    """The kustomization `folders` that build what a focused scan names: those that reach,
    through `resources`, `bases` or `components`, a `touched` kustomization folder, or a file
    or folder at or under one of the scanned `starts` (real paths). Only kustomization files
    are read."""
    nodes: dict[Path, _Node] = {}
    for f in folders:
        node = _node(f.resolve(), f, [])
        if node is not None:
            nodes[node.folder] = node
    starts = list(starts)
    hit = {f.resolve() for f in touched}
    users: dict[Path, set[Path]] = {}
    for node in nodes.values():
        for r in node.refs:
            if r.remote:
                continue
            users.setdefault(r.target, set()).add(node.folder)
            if any(r.target == s or r.target.is_relative_to(s) for s in starts):
                hit.add(node.folder)
    out: list[Path] = []
    todo = sorted(hit)
    seen = set(todo)
    while todo:
        folder = todo.pop()
        if folder in nodes:
            out.append(folder)
        for u in users.get(folder, ()):
            if u not in seen:
                seen.add(u)
                todo.append(u)
    return sorted(out)


def _cycles(nodes: Mapping[Path, _Node], root: Path, errors: list[ScanError]) -> set[Path]:
    """Folders on a reference cycle; each cycle reported once, at the entry closing it."""
    state: dict[Path, int] = {}  # 1: on the stack, 2: done
    on_cycle: set[Path] = set()
    stack: list[Path] = []

    def visit(folder: Path) -> None:
        state[folder] = 1
        stack.append(folder)
        for ref in nodes[folder].refs:
            if ref.remote or ref.target not in nodes:
                continue
            if state.get(ref.target) == 1:
                loop = stack[stack.index(ref.target) :]
                on_cycle.update(loop)
                path = " -> ".join(rel(f, root) for f in [*loop, ref.target])
                what = "itself" if ref.target == folder else f"a cycle ({path})"
                errors.append(
                    ScanError(
                        rel(nodes[folder].file, root),
                        ref.line,
                        f"`{ref.key}` entry references {what}: kustomize cannot build it, so"
                        " these kustomizations are not built; remove the entry",
                        "render",
                    )
                )
            elif ref.target not in state:
                visit(ref.target)
        stack.pop()
        state[folder] = 2

    for folder in sorted(nodes):
        if folder not in state:
            visit(folder)
    return on_cycle


# --- Helm ----------------------------------------------------------------------------------


@record
class ChartCheck:
    missing: tuple[str, ...]  # dependencies Chart.yaml lists that charts/ does not hold
    errors: tuple[ScanError, ...]  # one per missing dependency; the caller says what followed
    # Values that switch the missing dependencies off (`condition:` paths, tags only they
    # carry): set to false, the chart's own templates that read a missing subchart's
    # values behind the same switch are not rendered either.
    disabled: tuple[str, ...] = ()


def check_chart(chart: Path, root: Path) -> ChartCheck:
    """Chart.yaml dependencies that are not vendored in charts/, as input errors with the
    command that vendors them; a `file://` dependency outside the repository is named so."""
    chart_file = chart / "Chart.yaml"
    parsed = _parse(chart_file)
    if parsed is None:
        return ChartCheck((), ())
    deps = parsed.data.get("dependencies")
    if not isinstance(deps, list) or not deps:
        return ChartCheck((), ())
    present = set(_vendored(chart / "charts"))
    display = rel(chart_file, root)
    chart_rel = rel(chart, root)
    vendor_dir = "charts/" if chart_rel == "." else f"{chart_rel}/charts/"
    missing: list[str] = []
    errors: list[ScanError] = []
    disabled: list[str] = []
    top = root.resolve()
    for i, dep in enumerate(deps):
        if not isinstance(dep, dict) or not isinstance(dep.get("name"), str):
            continue
        name = dep["name"]
        if name in present:
            continue
        missing.append(name)
        disabled += _switches(dep, deps, present)
        repo = dep.get("repository")
        if isinstance(repo, str) and repo.startswith("file://"):
            target = (chart / repo[len("file://") :]).resolve()
            if not target.is_relative_to(top):
                errors.append(
                    ScanError(
                        display,
                        _line(parsed, ("dependencies", i, "repository")),
                        f"dependency '{name}' points outside the repository ({repo}) and is not"
                        f" in {vendor_dir}: vendor it there (`helm dependency build"
                        f" {chart_rel}` with that folder present)",
                        "render",
                    )
                )
                continue
        errors.append(
            ScanError(
                display,
                _line(parsed, ("dependencies", i)),
                f"dependency '{name}' is not in {vendor_dir}: run `helm dependency build"
                f" {chart_rel}` to vendor it",
                "render",
            )
        )
    return ChartCheck(tuple(missing), tuple(errors), tuple(dict.fromkeys(disabled)))


_VALUE_PATH = re.compile(r"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$")


def _switches(dep: Mapping[str, Any], deps: Sequence[Any], present: set[str]) -> list[str]:
    """The value paths that turn a dependency off: every path of its `condition:` (Helm
    reads the first that is set; setting all is the same), else its tags, but only a tag
    that no vendored dependency carries (turning it off would drop that subchart too)."""
    condition = dep.get("condition")
    if isinstance(condition, str) and condition.strip():
        paths = [p.strip() for p in condition.split(",")]
        return [p for p in paths if _VALUE_PATH.match(p)]
    tags = dep.get("tags")
    if not isinstance(tags, list):
        return []
    shared = {
        t
        for d in deps
        if isinstance(d, dict) and d.get("name") in present and isinstance(d.get("tags"), list)
        for t in d["tags"]
    }
    return [
        f"tags.{t}" for t in tags if isinstance(t, str) and t not in shared and _VALUE_PATH.match(t)
    ]


def chart_yaml_problem(chart: Path) -> int | None:
    """The line where a chart's Chart.yaml stops being YAML, if it does."""
    text = _read(chart / "Chart.yaml")
    if text is None:
        return None
    for doc in parse_all(text):
        if isinstance(doc, YamlProblem):
            return doc.line or 1
    return None


def _vendored(charts: Path) -> Iterable[str]:
    """Names of the subcharts in a chart's charts/ folder (folders and .tgz archives)."""
    try:
        entries = sorted(charts.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.is_dir():
            parsed = _parse(entry / "Chart.yaml")
            if parsed is not None and isinstance(parsed.data.get("name"), str):
                yield parsed.data["name"]
        elif entry.name.endswith((".tgz", ".tar.gz")):
            name = _archive_name(entry)
            if name:
                yield name


def _archive_name(path: Path) -> str | None:
    import tarfile  # a packaged subchart's: most scans open none

    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                    handle = tar.extractfile(member)
                    if handle is None:
                        return None
                    text = handle.read(1 << 20).decode("utf-8", "replace")
                    for doc in parse_all(text):
                        if isinstance(doc, Parsed) and isinstance(doc.data, dict):
                            name = doc.data.get("name")
                            return name if isinstance(name, str) else None
                    return None
    except (OSError, tarfile.TarError, EOFError):
        return None
    return None
