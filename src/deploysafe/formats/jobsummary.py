"""A Markdown summary for a CI job's page (GitHub's `$GITHUB_STEP_SUMMARY`): counts per
practice and severity, the rules that fired, the most severe findings, what could not be read.

It is built from deploysafe's SARIF log, not from a report in memory, so that one scan
writes both the log code scanning reads and the summary shown beside it. Text from the
repository is escaped: a file name or message cannot add Markdown or HTML of its own.
Messages in the log are already redacted (secrets are never in a log).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from deploysafe.engine import Report
from deploysafe.formats import sarif
from deploysafe.frozen import record
from deploysafe.model import Practice, Severity
from deploysafe.printable import printable

# A summary page holds at most 1 MiB per step; these keep ours a few KiB at any size.
TOP_FINDINGS = 10
TOP_RULES = 15
TOP_ERRORS = 5
CELL_CHARS = 200

_SEVERITIES = sorted(Severity, reverse=True)
# What could start markup inside a table cell (emphasis, code, links, images, HTML, entities,
# strikethrough) or end the cell (`|`), escaped with a backslash as CommonMark allows.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>!|~&])")


@record
class Row:
    """One result of the log, as the summary shows it."""

    severity: Severity
    practice: Practice | None
    rule_id: str
    title: str
    file: str
    line: int
    message: str
    suppressed: bool


@record
class Problem:
    """An input the scan could not read."""

    file: str
    line: int | None
    message: str


def render(report: Report) -> str:
    """`scan --format github-summary`."""
    return markdown(json.loads(sarif.render(report)))


def markdown(log: Mapping[str, Any]) -> str:
    """The summary of a SARIF log written by deploysafe (one run)."""
    run = _only_run(log)
    rows = _rows(run)
    problems = _problems(run)
    fail_on = fail_on_of(log)
    failing = failing_of(log)
    active = [r for r in rows if not r.suppressed]
    lines = [f"### deploysafe: {_headline(len(active), failing, fail_on)}", ""]
    if active:
        lines += _practice_table(active)
        lines += ["", *_rule_table(active), "", *_top_table(active)]
    suppressed = len(rows) - len(active)
    notes = []
    if suppressed:
        notes.append(f"{suppressed} suppressed finding(s) not counted.")
    if problems:
        notes.append(f"{len(problems)} input(s) could not be read:")
    if notes:
        lines += ["", " ".join(notes)]
    for p in problems[:TOP_ERRORS]:
        where = p.file + (f":{p.line}" if p.line else "")
        lines.append(f"- {cell(where)}: {cell(p.message)}")
    if len(problems) > TOP_ERRORS:
        lines.append(f"- and {len(problems) - TOP_ERRORS} more (see the job log)")
    return "\n".join(lines).rstrip("\n") + "\n"


def rows_of(log: Mapping[str, Any]) -> list[Row]:
    """The results of a SARIF log written by deploysafe, in its order."""
    return _rows(_only_run(log))


def fail_on_of(log: Mapping[str, Any]) -> str:
    """The lowest severity that failed the scan that wrote the log."""
    props = _invocation(_only_run(log)).get("properties", {})
    return str(props.get("failOn", Severity.HIGH.label))


def failing_of(log: Mapping[str, Any]) -> int:
    """How many findings failed the scan that wrote the log."""
    return int(_invocation(_only_run(log)).get("properties", {}).get("failing", 0))


def cell(text: str) -> str:
    """Repository text as inert Markdown on one line, at most CELL_CHARS characters."""
    one = printable(" ".join(text.split()))
    if len(one) > CELL_CHARS:
        one = one[: CELL_CHARS - 1] + "…"
    return _MARKDOWN.sub(r"\\\1", one)


def _headline(active: int, failing: int, fail_on: str) -> str:
    if not active:
        return "no findings"
    return f"{active} finding(s), {failing or 'none'} at or above {fail_on}"


def _practice_table(rows: Sequence[Row]) -> list[str]:
    counts = Counter((r.practice, r.severity) for r in rows)
    head = "| Practice | " + " | ".join(s.label for s in _SEVERITIES) + " | total |"
    lines = [head, "| --- |" + " ---: |" * (len(_SEVERITIES) + 1)]
    practices: list[Practice | None] = list(Practice)
    if any(r.practice is None for r in rows):
        practices.append(None)
    for p in practices:
        name = f"{int(p)} {p.title}" if p is not None else "other"
        row = [counts[(p, s)] for s in _SEVERITIES]
        lines.append(f"| {name} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    totals = [sum(1 for r in rows if r.severity is s) for s in _SEVERITIES]
    lines.append("| **all** | " + " | ".join(map(str, totals)) + f" | **{len(rows)}** |")
    return lines


def _rule_table(rows: Sequence[Row]) -> list[str]:
    by_rule = Counter(r.rule_id for r in rows)
    first = {r.rule_id: r for r in reversed(rows)}
    ranked = sorted(by_rule, key=lambda rid: (-first[rid].severity, -by_rule[rid], rid))
    lines = [
        f"#### Rules ({min(len(ranked), TOP_RULES)} of {len(ranked)})",
        "",
        "| Rule | Severity | Findings |",
        "| --- | --- | ---: |",
    ]
    for rid in ranked[:TOP_RULES]:
        r = first[rid]
        lines.append(f"| {cell(rid)} {cell(r.title)} | {r.severity.label} | {by_rule[rid]} |")
    return lines


def _top_table(rows: Sequence[Row]) -> list[str]:
    ranked = sorted(rows, key=lambda r: (-r.severity, r.file, r.line, r.rule_id))
    lines = [
        f"#### Most severe findings ({min(len(ranked), TOP_FINDINGS)} of {len(ranked)})",
        "",
        "| Severity | Rule | Where | Finding |",
        "| --- | --- | --- | --- |",
    ]
    lines.extend(
        f"| {r.severity.label} | {cell(r.rule_id)} | {cell(f'{r.file}:{r.line}')} "
        f"| {cell(r.message)} |"
        for r in ranked[:TOP_FINDINGS]
    )
    return lines


def _only_run(log: Mapping[str, Any]) -> Mapping[str, Any]:
    runs = log.get("runs") if isinstance(log, Mapping) else None
    if not isinstance(runs, list) or len(runs) != 1 or not isinstance(runs[0], Mapping):
        raise ValueError("not a SARIF log of one run (is it deploysafe's --format sarif?)")
    return runs[0]


def _invocation(run: Mapping[str, Any]) -> Mapping[str, Any]:
    invocations = run.get("invocations") or [{}]
    first = invocations[0]
    return first if isinstance(first, Mapping) else {}


def _rows(run: Mapping[str, Any]) -> list[Row]:
    rules = run.get("tool", {}).get("driver", {}).get("rules", [])
    out = []
    for result in run.get("results") or []:
        rule = rules[result["ruleIndex"]] if "ruleIndex" in result else {}
        severity = sarif.severity_of(result.get("properties", {}).get("security-severity"))
        location = (result.get("locations") or [{}])[0].get("physicalLocation", {})
        out.append(
            Row(
                severity=severity if severity is not None else Severity.INFO,
                practice=_practice(rule.get("properties", {}).get("tags", [])),
                rule_id=str(result.get("ruleId", "")),
                title=str(rule.get("shortDescription", {}).get("text", "")),
                file=_file(location.get("artifactLocation", {})),
                line=int(location.get("region", {}).get("startLine", 0)),
                message=_message(str(result.get("message", {}).get("text", ""))),
                suppressed=bool(result.get("suppressions")),
            )
        )
    return out


def _problems(run: Mapping[str, Any]) -> list[Problem]:
    out = []
    for note in _invocation(run).get("toolExecutionNotifications", []):
        location = (note.get("locations") or [{}])[0].get("physicalLocation", {})
        line = location.get("region", {}).get("startLine")
        out.append(
            Problem(
                file=_file(location.get("artifactLocation", {})),
                line=int(line) if line else None,
                message=str(note.get("message", {}).get("text", "")),
            )
        )
    return out


def _practice(tags: Sequence[str]) -> Practice | None:
    for tag in tags:
        if tag.startswith("practice-") and tag[9:].isdigit():
            try:
                return Practice(int(tag[9:]))
            except ValueError:
                return None
    return None


def _file(artifact: Mapping[str, Any]) -> str:
    """The file a location names: its path from the repository's top level, or the full
    path of a file outside it."""
    uri = str(artifact.get("uri", ""))
    if "uriBaseId" not in artifact and uri.startswith("file:"):
        uri = urlsplit(uri).path
    return unquote(uri, errors="surrogateescape")


def _message(text: str) -> str:
    """The finding's own message: sarif.py appends the fix and the values file lines."""
    return text.split(". Fix: ", 1)[0]
