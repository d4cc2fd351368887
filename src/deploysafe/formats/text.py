"""Human output: the summary first (totals, counts per severity, practice and rule, the
worst findings), then the findings grouped by file with the offending line, then input
errors and notes. Lines wrap to the terminal's width, continuing under their text; without
a width (a pipe, a file) one finding stays one line."""

from __future__ import annotations

import io
from collections.abc import Sequence
from itertools import groupby

from rich.console import Console
from rich.text import Text

from deploysafe.engine import Report, skipped_by_reason
from deploysafe.formats.summary import WORST, Summary, summarize
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


class _Out:
    """Lines to a console: each a prefix and a body; with a width, the body wraps and its
    continuation lines start under its first character."""

    __slots__ = ("con", "width")

    def __init__(self, con: Console, width: int | None) -> None:
        self.con = con
        self.width = width

    def line(self, prefix: Text | str = "", body: Text | str = "") -> None:
        head = prefix if isinstance(prefix, Text) else Text(prefix)
        text = body if isinstance(body, Text) else Text(body)
        if self.width is None:
            self.con.print(head + text)
            return
        room = max(self.width - head.cell_len, _MIN_BODY)
        pad = Text(" " * head.cell_len)
        for i, part in enumerate(text.wrap(self.con, room, overflow="fold")):
            part.rstrip()  # the space a line was broken at
            self.con.print((head if i == 0 else pad) + part)

    def blank(self) -> None:
        self.con.print()


def _t(text: str, style: str = "") -> Text:
    """Text from the repository, printable, in `style`."""
    return Text(printable(text), style=style)


def _sev(severity: Severity) -> Text:
    return Text(f"{severity.label:>{_SEV_WIDTH}}", style=_STYLE[severity])


def render(
    report: Report,
    *,
    color: bool = False,
    show_suppressed: bool = False,
    width: int | None = None,
) -> str:
    buf = io.StringIO()
    con = Console(
        file=buf,
        force_terminal=color,
        no_color=not color,
        width=width or 10_000,
        highlight=False,
        soft_wrap=True,
        emoji=False,
        markup=False,
    )
    out = _Out(con, width)
    s = summarize(report)
    _summary(out, s, report)
    shown = [f for f in report.findings if show_suppressed or f.suppressed is None]
    if shown or report.errors or report.notes:
        out.blank()
    _details(out, shown)
    if report.errors:
        out.line(Text("Inputs that could not be fully scanned", style="bold red"))
        for e in report.errors:
            where = f"{e.file}:{e.line}" if e.line else e.file
            out.line(_t(f"  {where}: "), _t(e.message))
        out.blank()
    for note in report.notes:
        out.line(Text("note: ", style="dim"), _t(note, "dim"))
    if shown or report.errors:
        # The last line on the terminal tells the outcome, however long the report.
        out.line("", Text(s.totals(), style="bold"))
    return buf.getvalue()


def _summary(out: _Out, s: Summary, report: Report) -> None:
    out.line(Text("Summary", style="bold"))
    out.line("  ", s.totals() + _skipped_documents(report))
    skipped = skipped_line(report.coverage)
    if skipped:
        out.line("  ", _t(skipped))
    if not s.findings:
        return
    severities = Text(", ").join(
        Text.assemble(f"{n} ", (sev.label, _STYLE[sev])) for sev, n in s.by_severity if n
    )
    out.line("  by severity: ", severities)
    for p, n in s.by_practice:
        if n:
            out.line(f"  practice {int(p)} {p.title:<26} ", f"{n} finding(s)")
    out.line("  by rule:")
    id_width = max(len(r.rule_id) for r in s.by_rule)
    count_width = max(len(str(r.count)) for r in s.by_rule)
    for r in s.by_rule:
        out.line(
            Text.assemble(
                "    ", _sev(r.severity), f" {r.rule_id:<{id_width}} {r.count:>{count_width}}  "
            ),
            r.title,
        )
    if s.findings > WORST:
        out.line(f"  worst {len(s.worst)}:")
        for f in s.worst:
            out.line(
                Text.assemble("    ", _sev(f.severity), f" {f.rule_id} "),
                _t(f"{f.file}:{f.line}:{f.column} {f.message}"),
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
        out.line(_t(file, "bold"))
        fixed: set[str] = set()
        for f in group:
            head = Text.assemble(
                f"  {f'{f.line}:{f.column}':<{loc_width}} ",
                _sev(f.severity),
                " ",
                (f.rule_id, "bold"),
                " ",
            )
            body = _t(f.message)
            if f.resource:
                body += Text("  ") + _t(f.resource.display(), "dim")
            out.line(head, body)
            if f.snippet:
                out.line(Text(f"      {f.line} | ", style="dim"), _t(f.snippet))
            if f.set_by:
                where = ", ".join(s.display() for s in f.set_by)
                out.line(Text("      set by ", style="dim"), _t(where))
            if f.renders:
                out.line(Text("      rendered by: ", style="dim"), _t(", ".join(f.renders)))
            if f.suppressed is not None:
                out.line(
                    Text(f"      suppressed ({f.suppressed.source}): ", style="dim"),
                    _t(f.suppressed.reason, "dim"),
                )
            elif f.rule_id not in fixed:
                fixed.add(f.rule_id)
                out.line(Text("      fix: ", style="dim"), _t(f.fix))
        out.blank()


def skipped_line(records: Sequence[Coverage]) -> str:
    """`skipped 12 file(s): 7 binary, 3 ignored by git, 2 excluded by `exclude``, or ""."""
    counts = skipped_by_reason(records)
    if not counts:
        return ""
    folders = sum(1 for c in records if c.outcome is Outcome.SKIPPED and c.path.endswith("/"))
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
