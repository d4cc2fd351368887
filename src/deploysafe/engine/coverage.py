"""What a scan does with each file under its paths: scanned as itself, read by a render, or
skipped with a reason. Discovery records what it does not read, the plan decides how each
remaining file is read, the check reports files it could not use; nothing walks twice."""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import field
from itertools import compress, repeat
from pathlib import Path
from typing import TYPE_CHECKING, overload

from deploysafe.engine.check import Skipped
from deploysafe.engine.held import Held
from deploysafe.engine.read import PLAIN, RENDERED, TEMPLATE, Job, read
from deploysafe.frozen import record
from deploysafe.host.memory import release_after
from deploysafe.inputs.discover import (
    KUSTOMIZATION_NAMES,
    YAML_SUFFIXES,
    Coverage,
    Inventory,
    Outcome,
    Reason,
    kustomize_inputs,
)
from deploysafe.pathnames import Texts, grouped, sorted_texts
from deploysafe.yamlload import YamlProblem, parse_all

if TYPE_CHECKING:
    from deploysafe.inputs.renderplan import KustomizePlan

# Files of a chart that Helm reads besides its templates.
_CHART_FILES = frozenset(
    {"Chart.yaml", "Chart.lock", "requirements.yaml", "requirements.lock", ".helmignore"}
)
# How many paths a note names before it says "and N more".
_NAMED = 5
# A line that starts a Kubernetes object's `apiVersion` or `kind` key, in YAML or JSON.
_OBJECT_KEYS = (
    re.compile(rb"^\s*[\"']?apiVersion[\"']?\s*:", re.MULTILINE),
    re.compile(rb"^\s*[\"']?kind[\"']?\s*:", re.MULTILINE),
)
# Read no more than this of a file to tell whether it holds objects.
_PEEK = 1 << 20


class Jobs(Sequence[Job]):
    """The files to check, in order, each held as little more than its display path, packed
    (`Texts`): its path is the scan root's followed by it, and its place the path after the
    repository's top level. A job that is not so is kept whole."""

    __slots__ = ("_modes", "_odd", "_root", "_shown", "_top")
    _MODES = (PLAIN, TEMPLATE, RENDERED)

    def __init__(self, root: str, top: str) -> None:
        self._root = root  # each with its trailing "/"
        self._top = top
        self._shown = Texts()
        self._modes = bytearray()
        self._odd: dict[int, Job] = {}

    def add(self, display: str, mode: str) -> None:
        """The job of a file under the scan root: its path is the root's followed by
        `display`, and its place is found as `append` would find it."""
        self._shown.append(display)
        self._modes.append(self._MODES.index(mode))

    def append(self, job: Job) -> None:
        path, display, mode, _ = job
        self._shown.append(display)
        self._modes.append(self._MODES.index(mode))
        if path != self._root + display or self._made(path, display, mode) != job:
            self._odd[len(self._shown) - 1] = job

    def _made(self, path: str, display: str, mode: str) -> Job:
        place = path[len(self._top) :] if path.startswith(self._top) else display
        return (path, display, mode, display if place == display else place)

    @property
    def shown(self) -> Sequence[str]:
        """Each job's display path, in order."""
        return self._shown

    def __len__(self) -> int:
        return len(self._shown)

    @overload
    def __getitem__(self, index: int) -> Job: ...
    @overload
    def __getitem__(self, index: slice) -> list[Job]: ...
    def __getitem__(self, index: int | slice) -> Job | list[Job]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        odd = self._odd.get(index)
        if odd is not None:
            return odd
        display = self._shown[index]
        return self._made(self._root + display, display, self._MODES[self._modes[index]])

    def __iter__(self) -> Iterator[Job]:
        for i in range(len(self._shown)):
            yield self[i]


@record
class Plan:
    """The files to check, how, and the record of each file not simply scanned as itself
    (by display path; every other job's file is). `unbuilt`: per kustomization that is not
    built, the files it lists that are scanned as plain files."""

    jobs: Jobs
    records: dict[str, Coverage]
    unbuilt: dict[str, list[str]] = field(default_factory=dict)

    def has(self, display: str) -> bool:
        """Whether the plan checks the file shown as `display`."""
        return display in self.jobs.shown  # a few times a scan: a search is enough


class Records(Held[Coverage]):
    """Every file's record, by path: held as the sorted paths, packed (`Texts`), each with
    its outcome and reason as one byte; a record that names renders is held whole."""

    __slots__ = ("_kinds", "_other", "_paths")

    def __init__(self, paths: Texts, kinds: bytearray, other: dict[str, Coverage]) -> None:
        self._paths = paths
        self._kinds = kinds
        self._other = other

    def __len__(self) -> int:
        return len(self._paths)

    @overload
    def __getitem__(self, index: int) -> Coverage: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Coverage, ...]: ...
    def __getitem__(self, index: int | slice) -> Coverage | tuple[Coverage, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        if index < 0:
            index += len(self)
        return self._record(self._kinds[index], self._paths[index])

    def _record(self, kind: int, path: str) -> Coverage:
        if kind == _WHOLE:
            return self._other[path]
        return Coverage(path, *_KINDS[kind])

    def __iter__(self) -> Iterator[Coverage]:
        return map(self._record, self._kinds, self._paths)

    def has(self, path: str) -> bool:
        return self._paths.find(path) >= 0

    def counts(self) -> Counter[Kind]:
        """How many records there are of each outcome and reason, from their kinds."""
        out: Counter[Kind] = Counter()
        for kind, n in Counter(self._kinds).items():
            if kind != _WHOLE:
                out[_KINDS[kind]] += n
        for c in self._other.values():
            out[(c.outcome, c.reason)] += 1
        return out

    def files(self, keep: Callable[[Outcome, Reason | None], bool]) -> int:
        """How many records of files (a folder's path ends in "/") `keep` accepts, counted
        from their kinds without a record made."""
        kept = [keep(*k) for k in _KINDS]
        files = sum(self._kinds.count(kind) for kind, ok in enumerate(kept) if ok)
        folders = compress(self._kinds, map(str.endswith, self._paths, repeat("/")))
        files -= sum(1 for kind in folders if kind != _WHOLE and kept[kind])
        return files + sum(
            1
            for c in self._other.values()
            if keep(c.outcome, c.reason) and not c.path.endswith("/")
        )

    def where(self, keep: Callable[[Outcome, Reason | None], bool]) -> Iterator[Coverage]:
        """The records of the outcomes and reasons `keep` accepts, in order: the others
        are passed over by their kind, without a record made."""
        kept = [keep(*k) for k in _KINDS] + [False] * (_WHOLE - len(_KINDS)) + [True]
        for kind, path in zip(self._kinds, self._paths, strict=True):
            if kept[kind]:
                c = self._record(kind, path)
                if kind != _WHOLE or keep(c.outcome, c.reason):
                    yield c

    def __repr__(self) -> str:
        return f"<{len(self)} coverage records>"

    def parts(self) -> tuple[Texts, bytearray, dict[str, Coverage]]:
        """The sorted paths, each one's kind, and the records held whole."""
        return self._paths, self._kinds, self._other


# A record's outcome and reason.
Kind = tuple[Outcome, Reason | None]


def counted(records: Iterable[Coverage]) -> Counter[Kind]:
    """How many records there are of each outcome and reason (a scan's records are
    counted without making one)."""
    if isinstance(records, Records):
        return records.counts()
    return Counter((c.outcome, c.reason) for c in records)


def where(
    records: Iterable[Coverage], keep: Callable[[Outcome, Reason | None], bool]
) -> Iterator[Coverage]:
    """The records of the outcomes and reasons `keep` accepts, in order (of a scan's
    records, only those are made)."""
    if isinstance(records, Records):
        return records.where(keep)
    return (c for c in records if keep(c.outcome, c.reason))


# A record that is an outcome and a reason, by number; `_WHOLE`: one held whole.
_KINDS = tuple((o, r) for o in Outcome for r in (None, *Reason))
_KIND = {k: i for i, k in enumerate(_KINDS)}
_WHOLE = 255
assert len(_KINDS) < _WHOLE


def plan(
    inv: Inventory,
    *,
    charts: bool,
    kustomize: KustomizePlan | None,
    failed: Collection[Path] = (),
) -> Plan:
    """How each discovered file is read. `charts`: whether charts are rendered in this scan;
    `kustomize`: what is built (None: nothing, so kustomize files are plain files); `failed`:
    the charts and kustomization roots whose render failed. A file is read through the roots
    that build it; when none does, the files its kustomizations list as `resources` are
    scanned as plain manifests. `inv.files` is emptied, and so are the render roots
    (`inv.charts`, `inv.kustomize_folders`): a large tree's are megabytes that nothing
    reads after the plan."""
    # Each chart by its real path as text with a trailing slash, sorted, so a folder's chart
    # is found by a bisection (none is inside another: the one before a folder's path is the
    # only one that may hold it).
    charts_at = sorted((str(c).rstrip("/") + "/", c) for c in inv.charts)
    chart_heads = [h for h, _ in charts_at]
    templates = {str(c / "templates") for c in inv.charts}
    k_inputs = kustomize_inputs(inv.kustomizations) if kustomize and inv.kustomize_folders else {}
    k_folders = {str(f.resolve()) for f in inv.kustomizations} if kustomize else set()
    broken = {r.resolve() for r in failed}
    # The roots that build each folder, in root order (`KustomizePlan.builders`, inverted
    # once rather than asked per file).
    builders: dict[Path, list[Path]] = {}
    if kustomize is not None:
        for r in kustomize.roots:
            for m in kustomize.members.get(r, ()):
                builders.setdefault(m, []).append(r)
    resolve = bool(inv.charts or k_folders)

    def folder_of(head: str, p: str) -> _Folder:
        """What is decided once for the files of the folder `head` (its real path with a
        trailing slash), of which `p` is one."""
        shown = head[len(inv.root_prefix) :] if head.startswith(inv.root_prefix) else None
        folder = head.rstrip("/") or head  # as os.path.dirname gives it
        if not resolve:
            return _Folder(head, shown, None, False, False)
        # Discovery's paths are real, as its charts are.
        at = bisect.bisect_right(chart_heads, head) - 1
        chart = charts_at[at][1] if at >= 0 and head.startswith(chart_heads[at]) else None
        # A chart's or a subchart's templates are told by the folders of `p`'s path below
        # the chart: any of its files'.
        templated = chart is not None and _subchart_template(_parts(p, chart))
        return _Folder(head, shown, chart, templated, folder in k_folders)

    # The last folder's: a folder's files come together (the walk's order), so it is
    # decided once a folder without a table of every folder (at 100x the corpus, 150,000
    # of them: 23 MB).
    last = _Folder("", None, None, False, False)
    jobs = Jobs(inv.root_prefix, inv.top_prefix)
    records: dict[str, Coverage] = {}
    unbuilt: dict[str, list[str]] = {}
    # The discovered paths are used up: read in order, let go as the jobs are made.
    files, inv.files = inv.files, Texts()
    for p in files:
        cut = p.rfind("/") + 1
        head, name = p[:cut], p[cut:]
        if head != last.head:
            last = folder_of(head, p)
        display = inv.display(p) if last.shown is None else last.shown + name
        # None: scanned as itself, as most files are (no record is kept for them).
        mode, record = PLAIN, None
        if resolve:
            chart = last.chart
            kfile = last.kustomize and name in KUSTOMIZATION_NAMES
            if chart is None and not kfile and not k_inputs:
                # Read by no chart and no kustomization (most files of a tree): decided
                # without a Path, as the chain below decides it.
                if last.kustomize and display.endswith(YAML_SUFFIXES):
                    record = Coverage(display, Outcome.SCANNED, Reason.UNLISTED)
            elif chart is not None and not charts and not kfile and not k_inputs:
                # In a chart this scan does not render, read by no kustomization: a
                # template or a plain file, told from its path's text.
                if last.templated or p in templates:
                    mode = TEMPLATE
            else:
                real = Path(p)
                in_chart = (
                    _in_chart(real, chart, display, inv.display(chart))
                    if chart is not None and charts
                    else None
                )
                readers = [real.parent] if kfile else k_inputs.get(real, []) if k_inputs else []
                if in_chart is not None and in_chart[0] == RENDERED:
                    mode, record = in_chart
                    if chart in broken:  # its text is still read; it made no objects
                        record = Coverage(display, Outcome.SKIPPED, Reason.NOT_RENDERED)
                elif readers and kustomize is not None:  # beside a chart, it may inflate it
                    roots = list(dict.fromkeys(r for f in readers for r in builders.get(f, ())))
                    built = [r for r in roots if r not in broken]
                    if built:
                        mode = RENDERED
                        renders = tuple(f"kustomize {inv.display(r)}" for r in built)
                        record = Coverage(display, Outcome.RENDERED, renders=renders)
                    elif kfile or real not in kustomize.resources:
                        # A patch or generator input is no manifest: its text is still read.
                        mode = RENDERED
                        record = Coverage(display, Outcome.SKIPPED, Reason.NOT_RENDERED)
                    else:
                        record = Coverage(display, Outcome.SCANNED, Reason.UNBUILT)
                        for f in roots or readers:
                            unbuilt.setdefault(inv.display(f), []).append(display)
                elif in_chart is not None:
                    mode, record = in_chart
                elif chart is not None:
                    if last.templated or p in templates:
                        mode = TEMPLATE
                elif last.kustomize and display.endswith(YAML_SUFFIXES):
                    record = Coverage(display, Outcome.SCANNED, Reason.UNLISTED)
        if (
            record is not None
            and record.reason in (Reason.UNLISTED, Reason.CHART_EXTRA)
            and not _holds_objects(Path(p))
        ):
            # Tool configuration, lock files, the policy, extra values files: scanned, but
            # no manifest that a render leaves out.
            record = None
        if last.shown is not None:
            jobs.add(display, mode)
        else:
            place = inv.place(p)
            # One string when both are the same (a scan from the repository's top level).
            jobs.append((p, display, mode, display if place == display else place))
        if record is not None and (
            record.outcome is not Outcome.SCANNED or record.reason is not None
        ):
            records[display] = record
    del files
    inv.charts, inv.kustomize_folders = [], Texts()
    release_after(len(jobs))  # the discovered paths' pages
    return Plan(jobs, records, unbuilt)


@record
class _Folder:
    """What the plan decides once for the files of a folder."""

    head: str  # its real path, with a trailing slash
    shown: str | None  # its files' display paths up to their names (None: outside the root)
    chart: Path | None  # the outermost chart it is in
    templated: bool  # in a chart's templates or a subchart's: its files are templates
    kustomize: bool  # a kustomization folder


def _holds_objects(path: Path) -> bool:
    """Whether a file reads like Kubernetes objects: lines with both an `apiVersion` and a
    `kind` key. Unreadable counts as yes (the check reports why)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(_PEEK)
    except OSError:
        return True
    return all(key.search(head) for key in _OBJECT_KEYS)


def _in_chart(real: Path, chart: Path, display: str, chart_display: str) -> tuple[str, Coverage]:
    parts = real.relative_to(chart).parts
    while len(parts) > 2 and parts[0] == "charts":  # a subchart's files are its own
        parts = parts[2:]
    name = parts[-1]
    helm_reads = (
        parts[0] == "charts"  # a packaged subchart
        or "templates" in parts[:-1]
        or name in _CHART_FILES
        or name.startswith("values")
        or not name.endswith(YAML_SUFFIXES)  # files a template may read (.Files.Get)
    )
    if helm_reads:
        return RENDERED, Coverage(display, Outcome.RENDERED, renders=(f"helm {chart_display}",))
    return PLAIN, Coverage(display, Outcome.SCANNED, Reason.CHART_EXTRA)


def _parts(path: str, folder: Path) -> Sequence[str]:
    """`Path(path).relative_to(folder).parts` of a real path inside a real folder."""
    top = str(folder).rstrip("/") + "/"
    if path.startswith(top) and "//" not in path and "/./" not in path:
        return path[len(top) :].split("/")
    return Path(path).relative_to(folder).parts


def _subchart_template(parts: Sequence[str]) -> bool:
    while len(parts) > 2 and parts[0] == "charts":
        parts = parts[2:]
    return "templates" in parts[:-1]


def outcome(p: Plan, discovered: Iterable[Coverage], skipped: Skipped) -> Records:
    """Every file's record, by path: what discovery skipped, what the plan decided, what
    the check could not use (a rendered file stays rendered: its render read it)."""
    return checked(planned(p, discovered), skipped)


# Every file's record as discovery and the plan decide them, before the check's (the most
# of `outcome`'s work: a scan puts them together while its workers check), and the paths,
# by index, whose record is the plan's for a file a render read.
Planned = tuple[Records, frozenset[int]]


def checked(before: Planned, skipped: Skipped) -> Records:
    """The records with what the check could not use: each such path's record becomes the
    check's, unless a render read the file (the ranks `planned` sorts by); of one path's,
    the last in that order."""
    records, rendered = before
    made = sorted((display, _CHECKED_KINDS[r._value_]) for display, r in skipped.items())
    if not made:
        return records
    paths, kinds, whole = records.parts()
    places = _places(paths, [display for display, _ in made])
    if places is None:  # a path the plan does not know: sorted in with the others
        return _sorted_with(before, skipped)
    kinds = bytearray(kinds)
    whole = dict(whole)
    for (display, kind), at in zip(made, places, strict=True):
        if at not in rendered:  # of one path's, the last (its highest kind) wins
            kinds[at] = int(kind)
            whole.pop(display, None)
    return Records(paths, kinds, whole)


def _sorted_with(before: Planned, skipped: Skipped) -> Records:
    """The records and the check's, all sorted together."""
    records, rendered = before
    candidates: dict[str, Coverage] = {}

    def entries() -> Iterator[str]:
        for at, c in enumerate(records):
            rank = _RENDERED if at in rendered else _FOUND
            yield f"{c.path}\0{rank}{_kind_of(c, candidates)}"
        for display, reason in skipped.items():
            yield f"{display}\0{_CHECKED}{_KIND[(Outcome.SKIPPED, reason)]}"

    return _sorted_records(entries(), candidates)[0]


def _places(paths: Texts, wanted: list[str]) -> list[int] | None:
    """Where each of the sorted texts `wanted` is in the sorted `paths`, or None when one
    is not there: found one at a time when they are few, else in one pass over `paths`
    (a bisection costs a few dozen steps of the pass)."""
    if len(wanted) * 32 < len(paths):
        places = [paths.find(w) for w in wanted]
        return None if -1 in places else places
    places = []
    walk = enumerate(paths)
    at, path = next(walk, (-1, ""))
    for w in wanted:
        while at >= 0 and path < w:
            at, path = next(walk, (-1, ""))
        if at < 0 or path != w:
            return None
        places.append(at)
    return places


def planned(p: Plan, discovered: Iterable[Coverage]) -> Planned:
    """Every file's record as discovery and the plan decide them (`outcome` before the
    check's records)."""
    candidates: dict[str, Coverage] = {}
    records, rendered = _sorted_records(_entries(p, discovered, candidates), candidates)
    return records, frozenset(rendered)


def _entries(
    p: Plan, discovered: Iterable[Coverage], candidates: dict[str, Coverage]
) -> Iterator[str]:
    """Discovery's and the plan's records, each as its path followed by a NUL (which sorts
    before anything a longer path holds) and its rank and kind; those held whole go to
    `candidates`, by path."""
    for c in discovered:
        yield f"{c.path}\0{_FOUND}{_kind_of(c, candidates)}"
    for display in p.jobs.shown:
        record = p.records.get(display)
        if record is None:
            yield f"{display}\0{_PLANNED}{_PLAIN}"
        else:
            rank = _RENDERED if record.outcome is Outcome.RENDERED else _PLANNED
            yield f"{display}\0{rank}{_kind_of(record, candidates)}"


def _sorted_records(
    entries: Iterable[str], candidates: dict[str, Coverage]
) -> tuple[Records, list[int]]:
    """The records of `entries` sorted (records as `_entries` writes them): of one path's,
    the last is the one kept. A large tree's are never held as objects together. With
    them, the indexes of the paths whose kept record is of the rank `_RENDERED`; those
    held whole are taken from `candidates`, by path."""
    paths = Texts()
    kinds = bytearray()
    whole: dict[str, Coverage] = {}
    rendered: list[int] = []
    for path, ranked in grouped(sorted_texts(entries)):
        last = ranked[-1]
        kind = int(last[1:])
        if last[0] == _RENDERED:
            rendered.append(len(kinds))
        paths.append(path)
        kinds.append(kind)
        if kind == _WHOLE:
            whole[path] = candidates[path]
    return Records(paths, kinds, whole), rendered


# How a record ranks among those of one path, lowest first: discovery's, the plan's, the
# check's (a file it could not use), the plan's for a file a render read.
_FOUND, _PLANNED, _CHECKED, _RENDERED = "0", "1", "2", "3"
_PLAIN = _KIND[(Outcome.SCANNED, None)]
# The kind of the check's record of a file, by its reason's value (as the records' text
# writes it: the highest of one path's is kept).
_CHECKED_KINDS = {r._value_: str(_KIND[(Outcome.SKIPPED, r)]) for r in Reason}


def _kind_of(c: Coverage, whole: dict[str, Coverage]) -> int:
    """A record's kind; one that names renders is held whole (the last of its path)."""
    if c.renders or (c.outcome, c.reason) not in _KIND:
        whole[c.path] = c
        return _WHOLE
    return _KIND[(c.outcome, c.reason)]


def probe(p: Plan, max_size: int) -> Skipped:
    """What the check would skip, found by reading each file without checking it."""
    out = Skipped()
    for path, display, mode, _ in p.jobs:
        text, _, skip = read(Path(path), display, max_size)
        if skip is not None:
            out[display] = skip
        elif (
            mode == TEMPLATE
            and text is not None
            and display.endswith(YAML_SUFFIXES)
            and any(isinstance(d, YamlProblem) for d in parse_all(text))
        ):
            out[display] = Reason.TEMPLATE
    return out


def notes(records: Iterable[Coverage]) -> list[str]:
    """One note per way of scanning a file that the user may not expect."""
    by_reason: dict[Reason, list[str]] = {}
    for c in where(records, _scanned_otherwise):
        assert c.reason is not None
        by_reason.setdefault(c.reason, []).append(c.path)
    out = []
    for reason, what in (
        (Reason.UNLISTED, "YAML file(s) in a kustomize folder that no kustomization lists"),
        (Reason.CHART_EXTRA, "YAML file(s) in a Helm chart that are not templates or values"),
    ):
        paths = by_reason.get(reason, [])
        if paths:
            out.append(f"{len(paths)} {what}: scanned as plain manifests ({_named(paths)})")
    return out


def unbuilt_notes(p: Plan) -> list[str]:
    """One note per kustomization that is not built, naming the files it lists that were
    scanned as plain manifests instead (without its patches and transformers)."""
    return [
        f"kustomization {folder} is not built (see the input errors): the {len(paths)} file(s)"
        f" it lists were scanned as plain manifests, without its patches ({_named(paths)})"
        for folder, paths in sorted(p.unbuilt.items())
    ]


def _named(paths: Collection[str]) -> str:
    shown = ", ".join(sorted(paths)[:_NAMED])
    return shown if len(paths) <= _NAMED else f"{shown} and {len(paths) - _NAMED} more"


def _scanned_otherwise(outcome: Outcome, reason: Reason | None) -> bool:
    return outcome is Outcome.SCANNED and reason is not None


def _skipped(outcome: Outcome, reason: Reason | None) -> bool:
    return outcome is Outcome.SKIPPED and reason is not None


def was_read(outcome: Outcome, reason: Reason | None) -> bool:
    """Whether a record is of a path the scan read (for `where`)."""
    return outcome is not Outcome.SKIPPED


def skipped_records(records: Iterable[Coverage]) -> Iterator[Coverage]:
    """The records of the paths skipped, each with why, in order."""
    return where(records, _skipped)


def skipped_by_reason(records: Iterable[Coverage]) -> dict[Reason, int]:
    """Skipped paths per reason, most first (ties in the order of the enum)."""
    skipped: dict[Reason, int] = {}
    for (outcome, reason), n in counted(records).items():
        if reason is not None and _skipped(outcome, reason):
            skipped[reason] = skipped.get(reason, 0) + n
    order = list(Reason)
    return dict(sorted(skipped.items(), key=lambda kv: (-kv[1], order.index(kv[0]))))
