"""Human output: the summary first (totals, counts per severity, practice and rule, the
worst findings), then the findings grouped by file with the offending line, then input
errors and notes. Lines wrap to the terminal's width, continuing under their text; without
a width (a pipe, a file) one finding stays one line."""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from itertools import groupby

from rich.color import ColorSystem
from rich.style import Style

from deploysafe.engine import WORST, Report, skipped_by_reason, skipped_records
from deploysafe.formats.summary import Summary, summarize
from deploysafe.inputs.discover import Coverage, Outcome
from deploysafe.model import Finding, Severity
from deploysafe.printable import printable

_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_SEV_WIDTH = max(len(s.label) for s in Severity)
# Wrapped text keeps at least this many columns, however deep its indent.
_MIN_BODY = 24

# A run of text in one style ("" for none); a line is a prefix and a body of runs.
Run = tuple[str, str]
Runs = list[Run]


@functools.cache
def _ansi(style: str) -> Style:
    return Style.parse(style)


def _paint(runs: Runs, color: bool) -> str:
    if not color:
        return "".join(text for text, _ in runs)
    return "".join(
        _ansi(style).render(text, color_system=ColorSystem.STANDARD) if style else text
        for text, style in runs
    )


def _breaks(text: str, room: int) -> list[tuple[int, int]]:
    """Where `text` is cut into lines of at most `room` characters: at the last space that
    fits (dropped), else in the middle of a word too long for a line."""
    out = []
    start, end = 0, len(text)
    while end - start > room:
        cut = text.rfind(" ", start + 1, start + room + 1)
        if cut <= start:
            out.append((start, start + room))
            start += room
            continue
        stop = cut
        while stop > start and text[stop - 1] == " ":
            stop -= 1
        out.append((start, stop))
        start = cut + 1
    out.append((start, end))
    return out


def _cut(runs: Runs, a: int, b: int) -> Runs:
    """The runs of characters a..b of the runs' text."""
    out: Runs = []
    at = 0
    for text, style in runs:
        lo, hi = max(a - at, 0), min(b - at, len(text))
        if lo < hi:
            out.append((text[lo:hi], style))
        at += len(text)
    return out


class _Out:
    """Lines of runs; with a width, a body wraps and its continuation lines start under its
    first character. Plain strings, not a console: a report can be tens of thousands of
    lines."""

    __slots__ = ("buf", "color", "width")

    def __init__(self, width: int | None, color: bool) -> None:
        self.buf = io.StringIO()
        self.width = width
        self.color = color

    def line(self, prefix: Runs | str = "", body: Runs | str = "") -> None:
        head = [(prefix, "")] if isinstance(prefix, str) else prefix
        runs = [(body, "")] if isinstance(body, str) else body
        text = "".join(t for t, _ in runs)
        indent = sum(len(t) for t, _ in head)
        if self.width is None or indent + len(text) <= self.width:
            self.buf.write(_paint(head + runs, self.color) + "\n")
            return
        room = max(self.width - indent, _MIN_BODY)
        for i, (a, b) in enumerate(_breaks(text, room)):
            lead = head if i == 0 else [(" " * indent, "")]
            self.buf.write(_paint(lead + _cut(runs, a, b), self.color) + "\n")

    def blank(self) -> None:
        self.buf.write("\n")


def _t(text: str, style: str = "") -> Run:
    """Text from the repository, printable, in `style`."""
    return (printable(text), style)


def _sev(severity: Severity) -> Runs:
    """The severity right-aligned, its padding uncoloured."""
    return [(" " * (_SEV_WIDTH - len(severity.label)), ""), (severity.label, _STYLE[severity])]


def render(
    report: Report,
    *,
    color: bool = False,
    show_suppressed: bool = False,
    width: int | None = None,
) -> str:
    out = _Out(width, color)
    s = summarize(report)
    _summary(out, s, report)
    shown = [f for f in report.findings if show_suppressed or f.suppressed is None]
    if shown or report.errors or report.notes:
        out.blank()
    _details(out, shown)
    if report.errors:
        out.line([("Inputs that could not be fully scanned", "bold red")])
        for e in report.errors:
            where = f"{e.file}:{e.line}" if e.line else e.file
            out.line([_t(f"  {where}: ")], [_t(e.message)])
        out.blank()
    for note in report.notes:
        out.line([("note: ", "dim")], [_t(note, "dim")])
    if shown or report.errors:
        # The last line on the terminal tells the outcome, however long the report.
        out.line("", [(s.totals(), "bold")])
    return out.buf.getvalue()


def _summary(out: _Out, s: Summary, report: Report) -> None:
    out.line([("Summary", "bold")])
    out.line("  ", s.totals() + _skipped_documents(report))
    skipped = skipped_line(report.coverage)
    if skipped:
        out.line("  ", [_t(skipped)])
    if not s.findings:
        return
    severities: Runs = []
    for sev, n in s.by_severity:
        if n:
            sep = ", " if severities else ""
            severities += [(f"{sep}{n} ", ""), (sev.label, _STYLE[sev])]
    out.line("  by severity: ", severities)
    for p, n in s.by_practice:
        if n:
            out.line(f"  practice {int(p)} {p.title:<26} ", f"{n} finding(s)")
    out.line("  by rule:")
    id_width = max(len(r.rule_id) for r in s.by_rule)
    count_width = max(len(str(r.count)) for r in s.by_rule)
    for r in s.by_rule:
        head = f" {r.rule_id:<{id_width}} {r.count:>{count_width}}  "
        out.line([("    ", ""), *_sev(r.severity), (head, "")], r.title)
    if s.findings > WORST:
        out.line(f"  worst {len(s.worst)}:")
        for f in s.worst:
            out.line(
                [("    ", ""), *_sev(f.severity), (f" {f.rule_id} ", "")],
                [_t(f"{f.file}:{f.line}:{f.column} {f.message}")],
            )


def _skipped_documents(report: Report) -> str:
    if not report.skipped:
        return ""
    return f"; {report.skipped} document(s) skipped (unrendered templates, kinds no rule reads)"


def _details(out: _Out, shown: Sequence[Finding]) -> None:
    """Each file's findings with the line, where the value was set, the renders and the fix;
    a rule's fix is shown at its first finding in the file only."""
    loc_width = max((len(f"{f.line}:{f.column}") for f in shown), default=0)
    for file, group in groupby(shown, key=lambda f: f.file):
        out.line([_t(file, "bold")])
        fixed: set[str] = set()
        for f in group:
            head = [
                (f"  {f'{f.line}:{f.column}':<{loc_width}} ", ""),
                *_sev(f.severity),
                (" ", ""),
                (f.rule_id, "bold"),
                (" ", ""),
            ]
            body = [_t(f.message)]
            if f.resource:
                body += [("  ", ""), _t(f.resource.display(), "dim")]
            out.line(head, body)
            if f.snippet:
                out.line([(f"      {f.line} | ", "dim")], [_t(f.snippet)])
            if f.set_by:
                where = ", ".join(s.display() for s in f.set_by)
                out.line([("      set by ", "dim")], [_t(where)])
            if f.renders:
                out.line([("      rendered by: ", "dim")], [_t(", ".join(f.renders))])
            if f.suppressed is not None:
                out.line(
                    [(f"      suppressed ({f.suppressed.source}): ", "dim")],
                    [_t(f.suppressed.reason, "dim")],
                )
            elif f.rule_id not in fixed:
                fixed.add(f.rule_id)
                out.line([("      fix: ", "dim")], [_t(f.fix)])
        out.blank()


def skipped_line(records: Sequence[Coverage]) -> str:
    """`skipped 12 file(s): 7 binary, 3 ignored by git, 2 excluded by `exclude``, or ""."""
    counts = skipped_by_reason(records)
    if not counts:
        return ""
    folders = sum(1 for c in skipped_records(records) if c.path.endswith("/"))
    files = sum(counts.values()) - folders
    what = f"{files} file(s)" + (f" and {folders} folder(s)" if folders else "")
    return f"skipped {what}: " + ", ".join(f"{n} {r.text}" for r, n in counts.items())


def render_plan(records: Sequence[Coverage], *, width: int = 100) -> str:
    """`scan --list-files`: each file, what the scan does with it, and why."""
    lines = []
    for c in records:
        why = [c.reason.text] if c.reason is not None else []
        why += c.renders
        lines.append(
            f"{c.outcome.value:<9} {printable(c.path)}"
            + (f"  ({printable('; '.join(why))})" if why else "")
        )
    counts = {o: sum(1 for c in records if c.outcome is o) for o in Outcome}
    lines.append(
        f"{len(records)} path(s): {counts[Outcome.SCANNED]} scanned, "
        f"{counts[Outcome.RENDERED]} read by a render, {counts[Outcome.SKIPPED]} skipped"
    )
    skipped = skipped_line(records)
    if skipped:
        lines.append(skipped)
    return "\n".join(lines) + "\n"
