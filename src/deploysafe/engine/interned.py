"""One copy of each value that many findings and facts repeat (a rule's title and fix, a
file's path, a pointer, a message, a resource). Each worker result arrives in the parent
as copies of its own, and the parent holds every finding until the report: on a large
tree the copies, not the findings, would be most of its memory."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from deploysafe.engine.check import Partial
from deploysafe.model import Fact, Finding, Resource


@dataclass(slots=True)
class Interned:
    """The values kept so far, each once (for one scan)."""

    strings: dict[str, str] = field(default_factory=dict)
    resources: dict[Resource, Resource] = field(default_factory=dict)
    names: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)

    def text(self, s: str) -> str:
        return self.strings.setdefault(s, s)

    def maybe(self, s: str | None) -> str | None:
        return None if s is None else self.strings.setdefault(s, s)

    def resource(self, r: Resource) -> Resource:
        kept = self.resources.get(r)
        if kept is None:
            kept = Resource(self.text(r.kind), self.maybe(r.namespace), self.maybe(r.name))
            self.resources[kept] = kept
        return kept

    def tuple(self, t: tuple[str, ...]) -> tuple[str, ...]:
        return self.names.setdefault(t, t) if t else ()


def share(part: Partial, seen: Interned) -> None:
    """`part`'s findings and facts, holding the values `seen` holds already."""
    part.findings = [_finding(f, seen) for f in part.findings]
    part.facts = {
        rid: [(_fact(f, seen), waiver) for f, waiver in facts] for rid, facts in part.facts.items()
    }


def _finding(f: Finding, seen: Interned) -> Finding:
    # Secrets' hashes and forms are rare and each its own: not worth a table entry.
    return replace(
        f,
        rule_id=seen.text(f.rule_id),
        title=seen.text(f.title),
        file=seen.text(f.file),
        pointer=seen.text(f.pointer),
        resource=None if f.resource is None else seen.resource(f.resource),
        message=seen.text(f.message),
        fix=seen.text(f.fix),
        snippet=seen.text(f.snippet),
        renders=seen.tuple(f.renders),
        also=seen.tuple(f.also),
    )


def _fact(f: Fact, seen: Interned) -> Fact:
    return replace(
        f,
        file=seen.text(f.file),
        pointer=seen.text(f.pointer),
        resource=seen.resource(f.resource),
        data=seen.text(f.data) if isinstance(f.data, str) else f.data,
        snippet=seen.text(f.snippet),
        render=seen.maybe(f.render),
    )
