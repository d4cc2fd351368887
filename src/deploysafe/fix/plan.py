"""Which findings `deploysafe fix` fixes, how, and what it leaves: from a scan report to the
new text of each file, and the reason for everything it does not fix."""

from __future__ import annotations

import difflib
import enum
import stat
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path

from deploysafe.engine import sources
from deploysafe.fix import helm, kustomize, rendered
from deploysafe.fix.lines import apply_lines
from deploysafe.fix.paths import path_of
from deploysafe.fix.yamledit import BOM, EditRefused, apply_text
from deploysafe.frozen import record
from deploysafe.inputs.documents import LoadResult, load_kubernetes
from deploysafe.model import Document, Finding, Severity, Target
from deploysafe.rules.base import Edit, Fix, Rule


class Status(enum.Enum):
    FIXED = "fixed"
    UNSAFE = "unsafe"  # the fix needs --unsafe-fixes
    MANUAL = "manual"  # no automatic fix for this case
    REFUSED = "refused"  # a fix exists, but the file cannot be written (the reason says why)


@record
class Outcome:
    finding: Finding
    status: Status
    reason: str  # what the fix did, or why it was not applied


@record
class Change:
    file: str  # as the report names it (relative to the scan root)
    target: Path  # the file written: the symlink's target inside the tree
    before: str
    after: str
    created: bool = False  # a new file (`before` is ""): never written over an existing one

    def diff(self, name: str | None = None) -> str:
        """A unified diff, the file named `name` (default: as the report names it): a
        relative name as git writes it (`a/`, `b/`), an absolute one as it is."""
        shown = name or self.file
        absolute = Path(shown).is_absolute()
        old = "/dev/null" if self.created else shown if absolute else f"a/{shown}"
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                fromfile=old,
                tofile=shown if absolute else f"b/{shown}",
            )
        )


@record
class Plan:
    changes: tuple[Change, ...]
    outcomes: tuple[Outcome, ...]

    def of(self, status: Status) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.status is status)


@record
class Selection:
    """Which findings to fix: at or above `threshold` unless `select` names rules (then
    those rules' findings at any severity); `ignore` leaves rules out; `unsafe` includes
    the fixes that need a human look."""

    threshold: Severity
    select: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()
    unsafe: bool = False
    # How, not which: a rendered object's fix edits the file that wrote it, not a patch in
    # the overlay that built it.
    edit_base: bool = False

    def wants(self, f: Finding) -> bool:
        if f.suppressed is not None or f.rule_id in self.ignore:
            return False
        if self.select:
            return f.rule_id in self.select
        return f.severity >= self.threshold


def _span(doc: Document) -> tuple[int, int]:
    lines = [line for line, _ in doc.positions.values()]
    return (min(lines), max(lines)) if lines else (0, 0)


def _document(docs: Sequence[Document], f: Finding) -> Document | None:
    for doc in docs:
        if doc.type is not Target.KUBERNETES:
            return doc  # a whole file: a finding may point past its last key (a script)
        first, last = _span(doc)
        same = f.resource is None or (f.resource.kind == doc.kind and f.resource.name == doc.name)
        if same and first <= f.line <= last:
            return doc
    return None


def _why_unwritable(path: Path, root: Path) -> str | None:
    if path.is_symlink():
        real = path.resolve()
        if not real.is_relative_to(root.resolve()):
            return "is a symlink out of the scanned tree: not written"
    real = path.resolve()
    try:
        mode = real.stat().st_mode
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if not stat.S_ISREG(mode):
        return "is not a regular file: not written"
    if not mode & stat.S_IWUSR:
        return "is read-only: not written"
    return None


def plan(
    findings: Iterable[Finding],
    rules: Mapping[str, Rule],
    root: Path,
    selection: Selection,
    rendered_docs: Sequence[Document] = (),
    trial: rendered.Trial | None = None,
) -> Plan:
    """What fixing `findings` (of a scan rooted at `root`) changes; nothing is written.
    Findings in rendered output are fixed on the objects of `rendered_docs`; a fix that
    must be rendered to be judged is tried with `trial`, and left without it."""
    outcomes: list[Outcome] = []
    found: list[rendered.Target] = []
    pending: dict[str, list[tuple[Finding, Fix, int]]] = defaultdict(list)
    kinds: dict[str, Target] = {}  # how each pending file is read
    loaded: dict[tuple[str, Target], list[Document] | str] = {}
    for f in findings:
        if not selection.wants(f):
            continue
        rule = rules.get(f.rule_id)
        if rule is None or rule.autofix is None:
            outcomes.append(Outcome(f, Status.MANUAL, "the rule offers no automatic fix"))
            continue
        if f.renders:
            got = rendered.targets(f, rule, rendered_docs, selection.unsafe)
            if isinstance(got, rendered.Left):
                outcomes.append(Outcome(f, Status(got.why), got.reason))
            else:
                found.extend(got)
            continue
        docs = loaded.get((f.file, rule.target))
        if docs is None:
            docs = loaded[f.file, rule.target] = _load(root, f.file, rule.target)
        if isinstance(docs, str):
            # JSON is not an input problem: the fix is only not written there (yet).
            status = Status.MANUAL if docs.startswith("is JSON") else Status.REFUSED
            outcomes.append(Outcome(f, status, f"{f.file} {docs}"))
            continue
        doc = _document(docs, f)
        fix = None if doc is None else rule.autofix.fixer(doc, path_of(doc.data, f.pointer))
        if doc is None or fix is None:
            outcomes.append(Outcome(f, Status.MANUAL, "no automatic fix for this case"))
        elif kinds.setdefault(f.file, doc.type) is not doc.type:
            outcomes.append(Outcome(f, Status.MANUAL, f"{f.file} is fixed as another kind of file"))
        elif not fix.safe and not selection.unsafe:
            outcomes.append(
                Outcome(f, Status.UNSAFE, f"unsafe fix ({fix.description}): use --unsafe-fixes")
            )
        else:
            kind_line = doc.positions.get(("kind",), (0, 0))[0]
            pending[f.file].append((f, fix, kind_line))
    routed = _rendered(found, root, selection, rendered_docs, trial)
    outcomes += [Outcome(x.finding, Status(x.why), x.reason) for x in routed.left]
    for edit in routed.in_place:
        key = (edit.file, Target.KUBERNETES)
        why = loaded.get(key) or _load(root, edit.file, Target.KUBERNETES)
        if isinstance(why, str):
            outcomes.append(Outcome(edit.finding, Status.REFUSED, f"{edit.file} {why}"))
        elif kinds.setdefault(edit.file, Target.KUBERNETES) is not Target.KUBERNETES:
            outcomes.append(
                Outcome(
                    edit.finding, Status.MANUAL, f"{edit.file} is fixed as another kind of file"
                )
            )
        else:
            pending[edit.file].append((edit.finding, edit.fix, edit.kind_line))
    changes: list[Change] = []
    for file, fixes in pending.items():
        change, outs = _apply(root, file, fixes, kinds[file])
        outcomes.extend(outs)
        if change is not None:
            changes.append(change)
    new, outs = _rendered_changes(routed, root, set(pending))
    return Plan((*changes, *new), (*outcomes, *outs))


def _rendered(
    found: Sequence[rendered.Target],
    root: Path,
    selection: Selection,
    docs: Sequence[Document],
    trial: rendered.Trial | None,
) -> rendered.Planned:
    """The fixes of rendered findings, by the tool that rendered them."""
    built = [t for t in found if t.render.startswith(kustomize.PREFIX)]
    charts = [t for t in found if t.render.startswith(helm.PREFIX)]
    other = [t for t in found if t not in built and t not in charts]
    one = kustomize.plan(built, root, edit_base=selection.edit_base)
    two = helm.plan(charts, root, docs, selection.unsafe, trial)
    unknown = tuple(
        rendered.manual_at(t.finding, f"found in rendered output ({t.render})") for t in other
    )
    return rendered.Planned(
        {**one.texts, **two.texts},
        (*one.done, *two.done),
        (*one.left, *two.left, *unknown),
        (*one.in_place, *two.in_place),
    )


def _rendered_changes(
    routed: rendered.Planned, root: Path, busy: set[str]
) -> tuple[list[Change], list[Outcome]]:
    """The files rendered fixes write. Their texts hold every fix that writes them: when a
    plain file's fix writes one of them too, they all wait for the next round (whose scan
    finds them again); a fix that writes a file that cannot be written is refused, with
    every fix that shares a file with it."""
    if busy and not busy.isdisjoint(routed.texts):
        return [], []
    why = {
        file: reason
        for file in routed.texts
        if (root / file).exists() and (reason := _why_unwritable(root / file, root))
    }
    tainted = set(why)
    refused: dict[int, str] = {}
    while True:
        more = {
            id(d.finding): next(f for f in d.files if f in tainted)
            for d in routed.done
            if id(d.finding) not in refused and tainted.intersection(d.files)
        }
        if not more:
            break
        refused.update(more)
        tainted.update(f for d in routed.done if id(d.finding) in more for f in d.files)
    outcomes: list[Outcome] = []
    for d in routed.done:
        blocked = refused.get(id(d.finding))
        if blocked is not None:
            reason = why.get(blocked, "is written by a fix that cannot be made: not written")
            outcomes.append(Outcome(d.finding, Status.REFUSED, f"{blocked} {reason}"))
        else:
            outcomes.append(
                Outcome(
                    d.finding, Status.FIXED, d.fix.description + ("" if d.fix.safe else " (unsafe)")
                )
            )
    wanted = {f for d in routed.done if id(d.finding) not in refused for f in d.files}
    changes = [
        Change(file, (root / file).resolve(), before, after, created=not (root / file).exists())
        for file, (before, after) in routed.texts.items()
        if file in wanted and before != after
    ]
    return changes, outcomes


def _read(text: str, file: str, target: Target) -> LoadResult:
    """A file's documents of one kind, read the way the scan read them."""
    if target is Target.KUBERNETES:
        return load_kubernetes(text, file)
    return sources.BUILDERS[target](text, file, None)


def _load(root: Path, file: str, target: Target) -> list[Document] | str:
    """The documents of a file, or why it is not fixed."""
    path = root / file
    if target is Target.KUBERNETES and path.suffix.lower() == ".json":
        return "is JSON: fixes are written to YAML files only"
    why = _why_unwritable(path, root)
    if why is not None:
        return why
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot be read: {exc}"
    result = _read(text.removeprefix(BOM), file, target)
    if result.errors:
        return f"cannot be parsed (line {result.errors[0].line}): not written"
    return result.documents


def _apply(
    root: Path, file: str, fixes: Sequence[tuple[Finding, Fix, int]], target: Target
) -> tuple[Change | None, list[Outcome]]:
    path = root / file
    before = path.read_bytes().decode("utf-8")
    edits: dict[int, list[Edit]] = defaultdict(list)
    for _, fix, line in fixes:
        if fix.edits:
            edits[line].extend(fix.edits)
    bom = BOM if before.startswith(BOM) else ""
    try:
        # Line edits name lines of the text as read; node edits re-read what they left.
        after = bom + apply_lines(
            before.removeprefix(BOM), (e for _, x, _ in fixes for e in x.lines)
        )
        if edits:
            after = apply_text(after, edits)
        _still_parses(after, file, before, target)
    except EditRefused as exc:
        return None, [Outcome(f, Status.REFUSED, f"{file} {exc}: not written") for f, _, _ in fixes]
    outs = [
        Outcome(f, Status.FIXED, fix.description + ("" if fix.safe else " (unsafe)"))
        for f, fix, _ in fixes
    ]
    if after == before:
        return None, outs
    return Change(file, path.resolve(), before, after), outs


def _still_parses(after: str, file: str, before: str, target: Target) -> None:
    """Fail closed: a fixed file must parse into as many documents as it held."""
    new = _read(after.removeprefix(BOM), file, target)
    old = _read(before.removeprefix(BOM), file, target)
    if new.errors or len(new.documents) != len(old.documents):
        raise EditRefused("would not parse after the fix")


def remaining(
    findings: Iterable[Finding], selection: Selection, planned: Collection[Outcome]
) -> list[Outcome]:
    """The selected findings of a scan after the fix, each with why it is still there (the
    reason the plan gave, else that the fix did not remove it)."""
    why = {o.finding.fingerprint: o for o in planned if o.status is not Status.FIXED}
    out = []
    for f in findings:
        if not selection.wants(f):
            continue
        known = why.get(f.fingerprint)
        if known is not None:
            out.append(Outcome(f, known.status, known.reason))
        else:
            out.append(Outcome(f, Status.MANUAL, "still reported after the fix"))
    return out
