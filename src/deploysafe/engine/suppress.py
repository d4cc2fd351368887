"""Suppressions: inline comments, the `deploysafe.io/ignore` annotation, config entries.

Every suppression needs a reason and may carry an expiry date; an expired or reasonless
one does not suppress, and the finding says why. A reason is printed in every format, so a
secret written in one is redacted as a finding's is; an entry that cannot be read is quoted
back only when it is short and not secret-looking (`secrets.redact`).

    # deploysafe: ignore[DS201,DS212] GPU driver needs host devices (until 2027-03-01)
    metadata.annotations["deploysafe.io/ignore"]: "DS201: GPU driver (until 2027-03-01)"
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from deploysafe import globs
from deploysafe.frozen import record
from deploysafe.lazy import on_first_use
from deploysafe.model import Finding, Suppression
from deploysafe.secrets.redact import quotable, quoted, redacted

if TYPE_CHECKING:
    from deploysafe.config.rules import Exception_

ANNOTATION = "deploysafe.io/ignore"

_INLINE = re.compile(r"#\s*deploysafe:\s*ignore\[([A-Za-z0-9_, ]+)\]\s*(.*)$")
_until = on_first_use(r"\(\s*until\s+(\d{4}-\d{2}-\d{2})\s*\)\s*$")
_entry = on_first_use(r"^\s*([A-Za-z0-9_, *]+?)\s*:\s*(.*)$")


@record
class Waiver:
    """A waiver (inline comment, annotation or policy exception): the rules it covers, why,
    until when, and where it came from."""

    rules: frozenset[str]  # rule ids, or {"*"}
    reason: str
    expires: dt.date | None
    source: str

    def covers(self, rule_id: str) -> bool:
        return "*" in self.rules or rule_id in self.rules


def _split_reason(text: str) -> tuple[str, dt.date | None, str | None]:
    """(reason, expiry, problem) from `reason (until YYYY-MM-DD)`."""
    text = text.strip()
    expires = None
    m = _until().search(text)
    if m:
        try:
            expires = dt.date.fromisoformat(m.group(1))
        except ValueError:
            return "", None, f"invalid date {m.group(1)!r}"
        text = text[: m.start()].strip()
    if not text:
        return "", expires, "a suppression needs a reason"
    return redacted(text), expires, None


def _ids(text: str) -> frozenset[str]:
    return frozenset(
        x.strip().upper() if x.strip() != "*" else "*" for x in text.split(",") if x.strip()
    )


# What every line an inline waiver (or a malformed one) is read from holds.
INLINE_MARK = "deploysafe:"


def inline_waivers(line: str) -> tuple[Waiver | None, str | None]:
    m = _INLINE.search(line)
    if not m:
        return None, None
    reason, expires, problem = _split_reason(m.group(2))
    if problem:
        return None, problem
    return Waiver(_ids(m.group(1)), reason, expires, "inline"), None


def annotation_waivers(annotations: Mapping[str, Any]) -> tuple[list[Waiver], list[str]]:
    raw = annotations.get(ANNOTATION)
    if raw is None:
        return [], []
    waivers, problems = [], []
    for entry in re.split(r"[;\n]", str(raw)):
        if not entry.strip():
            continue
        m = _entry().match(entry)
        if not m:
            shown = quoted(entry.strip())
            problems.append(f"cannot read {ANNOTATION} entry {shown} (want `ID: reason`)")
            continue
        reason, expires, problem = _split_reason(m.group(2))
        if problem:
            ids = m.group(1).strip()
            shown = ids if quotable(ids) else quoted(ids)
            problems.append(f"{ANNOTATION} entry for {shown}: {problem}")
            continue
        waivers.append(Waiver(_ids(m.group(1)), reason, expires, "annotation"))
    return waivers, problems


def inline_for(lines: Sequence[str], line: int) -> tuple[Waiver | None, str | None]:
    """An inline waiver on the finding's line or on the comment line just above it."""
    if 1 <= line <= len(lines):
        w, problem = inline_waivers(lines[line - 1])
        if w or problem:
            return w, problem
    if 2 <= line <= len(lines) + 1:
        above = lines[line - 2]
        if above.lstrip().startswith("#"):
            return inline_waivers(above)
    return None, None


def config_waiver(
    exceptions: Iterable[Exception_], rule_id: str, file: str, resource: str
) -> Waiver | None:
    for e in exceptions:
        if e.rule not in ("*", rule_id):
            continue
        # The file is a path glob (globs.py); the resource, Kind/namespace/name, is not a path.
        if not globs.matches(file, e.file) or not fnmatch.fnmatchcase(resource, e.resource):
            continue
        return Waiver(frozenset({e.rule}), redacted(e.reason), e.expires, "config")
    return None


def for_rule(exceptions: Sequence[Exception_]) -> Callable[[str], Sequence[Exception_]]:
    """The exceptions that may cover a rule (its own and `*`), in policy order: indexed
    once, so each finding meets only those, not every entry of the policy."""
    wild = [(i, e) for i, e in enumerate(exceptions) if e.rule == "*"]
    own: dict[str, list[tuple[int, Exception_]]] = {}
    for i, e in enumerate(exceptions):
        if e.rule != "*":
            own.setdefault(e.rule, []).append((i, e))
    merged = {
        rule: [e for _, e in sorted(entries + wild, key=lambda ie: ie[0])]
        for rule, entries in own.items()
    }
    only_wild = [e for _, e in wild]
    return lambda rule_id: merged.get(rule_id, only_wild)


def by_config(
    finding: Finding, exceptions: Iterable[Exception_], today: dt.date, base: str = ""
) -> Finding:
    """The finding, suppressed by the first config exception that matches it (if none has
    suppressed it already). `base`: the scan root from the policy file's folder."""
    if finding.suppressed is not None:
        return finding
    res = finding.resource
    key = resource_key(res.kind, res.namespace, res.name) if res else ""
    file = globs.from_base(base, finding.file)
    return apply(finding, config_waiver(exceptions, finding.rule_id, file, key), today)


def apply(finding: Finding, waiver: Waiver | None, today: dt.date) -> Finding:
    """The finding, suppressed by `waiver` unless it has expired."""
    if waiver is None or not waiver.covers(finding.rule_id):
        return finding
    if waiver.expires is not None and waiver.expires < today:
        return replace(
            finding,
            message=f"{finding.message} (its {waiver.source} suppression expired on "
            f"{waiver.expires.isoformat()})",
        )
    expires = waiver.expires.isoformat() if waiver.expires else None
    return replace(finding, suppressed=Suppression(waiver.source, waiver.reason, expires))


def resource_key(kind: str, namespace: str | None, name: str | None) -> str:
    return f"{kind}/{namespace or ''}/{name or ''}"
