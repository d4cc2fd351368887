"""Check one document, the documents of one input, or one file; decide the cross-resource
rules over the facts every document gave."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from deploysafe.engine import sources, suppress
from deploysafe.engine.locate import Shared, fact, finding, hide_shared, lines_of, share
from deploysafe.engine.read import PLAIN, RENDERED, TEMPLATE, read
from deploysafe.engine.settings import Settings, active_ids, context_for, placed
from deploysafe.frozen import record
from deploysafe.inputs.discover import Reason
from deploysafe.inputs.documents import LoadResult
from deploysafe.k8s.pods import PodTemplate, pod_template
from deploysafe.model import (
    Document,
    Fact,
    Finding,
    KeyPath,
    Level,
    ScanError,
    Target,
    Version,
)
from deploysafe.pathnames import Texts, grouped, sorted_texts
from deploysafe.rules import BY_ID
from deploysafe.rules.base import Check, Context, Rule
from deploysafe.textlines import may_hold

# Kinds that only configure tools, never land in a cluster.
TOOL_KINDS = frozenset({"Kustomization", "Component"})


class Skipped:
    """Files read but not checked, with why, by display path, in the order they came: held
    packed (a large tree's Helm templates that are not YAML are tens of thousands)."""

    __slots__ = ("_texts",)

    def __init__(self, items: Mapping[str, Reason] | Iterable[tuple[str, Reason]] = ()) -> None:
        self._texts = Texts()
        self.update(items)

    def __setitem__(self, path: str, reason: Reason) -> None:
        self._texts.append(f"{path}\0{reason.value}")

    def update(self, other: Skipped | Mapping[str, Reason] | Iterable[tuple[str, Reason]]) -> None:
        if isinstance(other, Skipped):
            self._texts.extend(other._texts)
            return
        for path, reason in other.items() if isinstance(other, Mapping) else other:
            self[path] = reason

    def items(self) -> Iterator[tuple[str, Reason]]:
        for text in self._texts:
            path, _, reason = text.rpartition("\0")
            yield path, Reason(reason)

    def __len__(self) -> int:
        return len(self._texts)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Skipped | Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Skipped({dict(self.items())!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return Skipped, (list(self.items()),)


class FileBlocks:
    """By file, the spool blocks that hold its findings (engine/spool.py), held packed: a
    large tree's files with findings are hundreds of thousands."""

    __slots__ = ("_texts",)

    def __init__(self) -> None:
        self._texts = Texts()

    def add(self, files: Iterable[str], block: int) -> None:
        # Numbered to sort as they came: a file's blocks are read in that order.
        for file in files:
            self._texts.append(f"{file}\0{block:010d}")

    def update(self, other: FileBlocks) -> None:
        self._texts.extend(other._texts)

    def __len__(self) -> int:
        return len(self._texts)

    def by_file(self) -> Iterator[tuple[str, tuple[int, ...]]]:
        """Each file with its blocks, in the order of the files' paths."""
        for file, blocks in grouped(sorted_texts(self._texts)):
            yield file, tuple(map(int, blocks))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FileBlocks):
            return list(self.by_file()) == list(other.by_file())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"FileBlocks({dict(self.by_file())!r})"


@record(frozen=False)
class Partial:
    """What checking some documents produced."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    # Per cross-resource rule: its facts, each with the suppression that covers it there.
    facts: dict[str, list[tuple[Fact, suppress.Waiver | None]]] = field(default_factory=dict)
    documents: int = 0
    skipped: int = 0
    files: int = 0
    # Files read but not checked, by display path: binary, too large, unrendered templates.
    skipped_files: Skipped = field(default_factory=Skipped)
    # Findings kept on disk (engine/spool.py) instead of in `findings`: how many, and by
    # file, the blocks that hold them.
    spooled: int = 0
    blocks: FileBlocks = field(default_factory=FileBlocks)
    # Facts kept in the spool instead of in `facts`: by rule, the blocks that hold those
    # that came before its facts in `facts` (the rules in the order they came).
    fact_blocks: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def merge(self, other: Partial) -> None:
        self.findings.extend(other.findings)
        self.spooled += other.spooled
        self.blocks.update(other.blocks)
        for rid, blocks in other.fact_blocks.items():
            # Spooled facts come first: a part's are added before any held in memory.
            assert not self.facts.get(rid), "spooled facts after facts held in memory"
            self.fact_blocks[rid] = self.fact_blocks.get(rid, ()) + blocks
        self.errors.extend(other.errors)
        self.skipped_files.update(other.skipped_files)
        for rid, facts in other.facts.items():
            self.facts.setdefault(rid, []).extend(facts)
        self.documents += other.documents
        self.skipped += other.skipped
        self.files += other.files


def _waivers(
    doc: Document, s: Settings, pod: PodTemplate | None
) -> tuple[list[suppress.Waiver], list[str]]:
    if not s.annotations:
        return [], []
    annotations = doc.metadata.get("annotations")
    waivers, problems = suppress.annotation_waivers(
        annotations if isinstance(annotations, dict) else {}
    )
    if pod is not None and pod.path:
        more, more_problems = suppress.annotation_waivers(pod.annotations)
        waivers += more
        problems += more_problems
    return waivers, problems


def check_document(
    doc: Document,
    s: Settings,
    rules: Sequence[Rule],
    out: Partial,
    shared: Shared | None = None,
) -> None:
    kube = doc.type is Target.KUBERNETES
    kind = doc.kind if kube else ""
    if kube and kind in TOOL_KINDS:
        return
    out.documents += kube
    doc = placed(doc, s)
    ctx, pss_on = context_for(doc, s)
    plan = _plan(rules, s.rule_ids)
    active = plan.active(ctx.pss_level, ctx.pss_version)
    waivers: list[suppress.Waiver] = []
    # The facts made of this document, by path and data: rules that collect one fact
    # (the RBAC rules each collect every binding and workload account) share it.
    made: dict[tuple[KeyPath, int], Fact] = {}
    # Whether a line a finding is on may hold an inline waiver, found for the first
    # finding or fact (most documents give none, and most files hold no waiver).
    inline: bool | None = None if s.inline else False
    if kube:
        pod = pod_template(doc)
        waivers, problems = _waivers(doc, s, pod)
        for problem in problems:
            line = doc.locate(("metadata", "annotations"))[0]
            out.errors.append(ScanError(doc.file, line, problem))
        steps = plan.for_object(kind, pod is not None)
    elif doc.type is Target.TEXT:
        steps = plan.text
    else:
        steps = plan.by_type[doc.type]
    for rule, check, pss in steps:
        if pss and (not pss_on or rule.id not in active):
            continue
        if check is None:  # a cross-resource rule: it collects facts
            if inline is None:
                inline = _inline(doc)
            _collect(rule, doc, ctx, out, waivers, inline, made)
            continue
        try:
            for v in check(doc, ctx):
                found = finding(rule, v, doc, s)
                if v.secret and shared is not None:
                    share(found, v, doc, shared)
                lines = lines_of(doc, found.file)
                if inline is None:
                    inline = _inline(doc)
                out.findings.append(_suppressed(found, lines, waivers, inline, s, out))
        except Exception as exc:  # a rule bug costs one check and says so; the gate fails
            # The type only: an exception's text may quote input, secrets included.
            why = (
                "could not judge this document, nested too deeply or too large"
                if isinstance(exc, RecursionError | MemoryError)
                else "failed on this document"
            )
            out.errors.append(
                ScanError(
                    doc.file,
                    doc.locate(())[0],
                    f"rule {rule.id} {why} ({type(exc).__name__}); "
                    "the document is not fully checked",
                    # "internal" either way: the webhook denies what a rule could not judge.
                    kind="internal",
                )
            )


def _inline(doc: Document) -> bool:
    """Whether a line of the document may hold an inline waiver (a patch that wrote one of
    its nodes is a file of its own)."""
    return bool(doc.written) or may_hold(doc.lines, suppress.INLINE_MARK)


# A rule as the loop over a document's rules reads it: the rule, its check (None: a
# cross-resource rule, which collects facts), whether it is a PSS rule.
_Step = tuple[Rule, Check | None, bool]


@record(frozen=False, eq=False)
class _Plan:
    """What checking a document with one sequence of rules needs, decided once for the
    thousands of documents a scan checks with it rather than per document (an enum member
    or a rule's field costs an attribute lookup, a tuple of rule ids a hash of each id)."""

    rule_ids: tuple[str, ...]
    by_type: dict[Target, tuple[_Step, ...]]
    text: tuple[_Step, ...]  # by_type[Target.TEXT]: half the documents are text
    # The kinds some rule reads alone (Rule.kinds); any other kind is looked up as "".
    named: frozenset[str]
    # The PSS rules that judge at a level and version, by (level, version).
    judging: dict[tuple[Level, Version], frozenset[str]] = field(default_factory=dict)
    # By kind and whether the object carries a pod template: the rules for a Kubernetes
    # object, less those that read only other kinds or only pod templates (Rule.pod_only).
    objects: dict[tuple[str, bool], tuple[_Step, ...]] = field(default_factory=dict)
    last: tuple[Level, Version, frozenset[str]] | None = None  # the last `active` answer

    def for_object(self, kind: str, pod: bool) -> tuple[_Step, ...]:
        key = (kind if kind in self.named else "", pod)
        hit = self.objects.get(key)
        if hit is None:
            hit = self.objects[key] = tuple(
                step
                for step in self.by_type[Target.KUBERNETES]
                if (pod or not step[0].pod_only)
                and (step[0].kinds is None or key[0] in step[0].kinds)
            )
        return hit

    def active(self, level: Level, version: Version) -> frozenset[str]:
        # Most documents are judged as the one before (an enum's hash is a Python call).
        last = self.last
        if last is not None and last[0] is level and last[1] == version:
            return last[2]
        hit = self.judging.get((level, version))
        if hit is None:
            hit = self.judging[(level, version)] = active_ids(self.rule_ids, level, version)
        self.last = (level, version, hit)
        return hit


# By identity of the rule sequence and of the rule ids: a scan checks every document of a
# chunk with one of each.
_PLANS: dict[tuple[int, int], tuple[Sequence[Rule], _Plan]] = {}


def _plan(rules: Sequence[Rule], rule_ids: tuple[str, ...]) -> _Plan:
    hit = _PLANS.get((id(rules), id(rule_ids)))
    if hit is not None and hit[0] is rules and hit[1].rule_ids is rule_ids:
        return hit[1]
    by_type: dict[Target, tuple[_Step, ...]] = {}
    for t in Target:
        steps: list[_Step] = []
        for r in rules:
            if r.target is t and r.check is not None:
                steps.append((r, r.check, r.pss is not None))
            elif t is Target.KUBERNETES and r.target is Target.KUBERNETES_SET and r.collect:
                steps.append((r, None, r.pss is not None))
        by_type[t] = tuple(steps)
    named = frozenset(k for r in rules if r.kinds is not None for k in r.kinds)
    plan = _Plan(rule_ids, by_type, by_type[Target.TEXT], named)
    if len(_PLANS) >= 8:
        _PLANS.clear()
    _PLANS[(id(rules), id(rule_ids))] = (rules, plan)
    return plan


def check_all(docs: Iterable[Document], s: Settings, rules: Sequence[Rule], out: Partial) -> None:
    """Check documents that come from one input (a file, a render, a request), then hide
    from each finding's snippet the secrets other findings on its line are about."""
    for _ in check_steps(docs, s, rules, out):
        pass


def check_steps(
    docs: Iterable[Document], s: Settings, rules: Sequence[Rule], out: Partial
) -> Iterator[None]:
    """`check_all`, a document at a step: the caller does other work between steps (the
    scan's parent checks rendered objects while it waits for the workers). Done when
    exhausted."""
    start, shared = len(out.findings), Shared()
    for doc in docs:
        check_document(doc, s, rules, out, shared)
        yield
    hide_shared(out.findings, start, shared)


def _collect(
    rule: Rule,
    doc: Document,
    ctx: Context,
    out: Partial,
    waivers: Sequence[suppress.Waiver],
    inline: bool,
    made: dict[tuple[KeyPath, int], Fact],
) -> None:
    resource = doc.resource
    assert rule.collect is not None and resource is not None
    for path, data in rule.collect(doc, ctx):
        key = (path, id(data))  # the fact keeps `data` alive, so its id is not reused
        f = made.get(key)
        if f is None:
            f = made[key] = fact(doc, path, data, resource)
        out.facts.setdefault(rule.id, []).append(
            (f, _fact_waiver(rule.id, f, doc, waivers, inline))
        )


def _fact_waiver(
    rule_id: str, f: Fact, doc: Document, waivers: Sequence[suppress.Waiver], inline: bool
) -> suppress.Waiver | None:
    """What would suppress a finding at this fact: an inline comment on (or above) its line,
    an annotation of its object. A malformed comment is reported by the findings on its line."""
    if inline:
        waiver, _ = suppress.inline_for(lines_of(doc, f.file), f.line)
        if waiver is not None and waiver.covers(rule_id):
            return waiver
    if not waivers:  # most objects carry none: no generator made for each fact
        return None
    return next((w for w in waivers if w.covers(rule_id)), None)


def _suppressed(
    found: Finding,
    lines: Sequence[str],
    waivers: Sequence[suppress.Waiver],
    inline: bool,
    s: Settings,
    out: Partial,
) -> Finding:
    if inline:
        waiver, problem = suppress.inline_for(lines, found.line)
        if problem:
            out.errors.append(ScanError(found.file, found.line, f"inline suppression: {problem}"))
        if waiver is not None and waiver.covers(found.rule_id):
            return suppress.apply(found, waiver, s.today)
    for w in waivers:
        if w.covers(found.rule_id):
            return suppress.apply(found, w, s.today)
    return found


def check_file(
    path: Path | str,
    display: str,
    s: Settings,
    rules: Sequence[Rule],
    out: Partial,
    *,
    mode: str = PLAIN,
    place: str | None = None,
) -> None:
    out.files += 1
    text, error, skip = read(path, display, s.max_file_size)
    if error is not None:
        out.errors.append(error)
    if text is None:  # a binary file that no rule reads, or one that could not be read
        if skip is not None:
            out.skipped_files[display] = skip
        return
    wanted = s.targets - {Target.KUBERNETES} if mode == RENDERED else s.targets
    if error is not None:
        wanted = wanted & {Target.TEXT}
    result = sources.load(text, display, wanted, path, place=place)
    if mode == TEMPLATE and result.errors:
        # A Helm template scanned without rendering: Go templating is not YAML. Count it.
        out.skipped += 1
        out.skipped_files[display] = Reason.TEMPLATE
        result = LoadResult(result.documents, [], result.skipped)
    out.errors.extend(result.errors)
    out.skipped += result.skipped
    check_all(result.documents, s, rules, out)


@record(frozen=False)
class RuleFacts:
    """A cross-resource rule's facts in the order they came, and the waivers that cover
    some of them, by fact (equal facts of one result are one object). Not a pair a fact:
    a large tree gives a rule tens of thousands, and few are waived."""

    facts: list[Fact] = field(default_factory=list)
    waived: dict[int, suppress.Waiver] = field(default_factory=dict)  # by id of the fact

    def add(self, f: Fact, waiver: suppress.Waiver | None) -> None:
        self.facts.append(f)
        if waiver is not None:
            self.waived[id(f)] = waiver

    def extend(self, pairs: Iterable[tuple[Fact, suppress.Waiver | None]]) -> None:
        for f, waiver in pairs:
            self.add(f, waiver)


def decide_sets(facts: Iterable[tuple[str, RuleFacts]], s: Settings) -> Iterator[Finding]:
    """The cross-resource rules' findings, a rule at a time in the order of `facts` (each
    rule's facts, read as they are asked for), each as its rule decides it (never all of
    them held here). Only one rule's facts are held at a time: a large tree's are let go
    as they are decided."""
    for rid, collected in facts:
        rule = BY_ID[rid]
        if rule.decide is not None:
            yield from _decided(rule, collected, s)
        del collected  # before the next rule's facts are read


def _decided(rule: Rule, collected: RuleFacts, s: Settings) -> Iterator[Finding]:
    assert rule.decide is not None
    # `collected` keeps each fact, and so its id, while the rule decides.
    waived = collected.waived
    for decision in rule.decide(collected.facts):
        f, message = decision[0], decision[1]
        # A rule may judge a case more or less severe than its default; the policy
        # file's `severity:` for the rule still wins.
        case = decision[2] if len(decision) == 3 else rule.severity
        found = Finding(
            rule_id=rule.id,
            title=rule.title,
            practice=rule.practice,
            severity=s.severities.get(rule.id, case),
            file=f.file,
            line=f.line,
            column=f.column,
            pointer=f.pointer,
            resource=f.resource,
            message=message,
            fix=rule.fix,
            snippet=f.snippet,
            renders=(f.render,) if f.render else (),
        )
        yield suppress.apply(found, waived.get(id(f)), s.today)
