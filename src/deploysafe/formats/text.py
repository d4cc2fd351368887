"""Human output: grouped by file, the offending line shown, a summary per practice."""

from __future__ import annotations

import io
from collections.abc import Sequence
from itertools import groupby

from rich.console import Console
from rich.markup import escape as _markup_escape

from deploysafe.engine import Report, skipped_by_reason
from deploysafe.inputs.discover import Coverage, Outcome
from deploysafe.model import Practice, Severity
from deploysafe.printable import printable


def escape(text: str) -> str:
    """Text from the repository as console markup: printable, and no markup of its own."""
    return _markup_escape(printable(text))


_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def render(
    report: Report, *, color: bool = False, show_suppressed: bool = False, width: int = 100
) -> str:
    buf = io.StringIO()
    con = Console(
        file=buf,
        force_terminal=color,
        no_color=not color,
        width=width,
        highlight=False,
        soft_wrap=True,
    )
    shown = [f for f in report.findings if show_suppressed or f.suppressed is None]
    for file, group in groupby(shown, key=lambda f: f.file):
        con.print(f"[bold]{escape(file)}[/bold]")
        for f in group:
            sev = f"[{_STYLE[f.severity]}]{f.severity.label:>8}[/]"
            res = f"  [dim]{escape(f.resource.display())}[/dim]" if f.resource else ""
            con.print(
                f"  {f.line}:{f.column} {sev} [bold]{f.rule_id}[/bold] {escape(f.message)}{res}"
            )
            if f.snippet:
                con.print(f"      [dim]{f.line} |[/dim] {escape(f.snippet)}")
            if f.set_by:
                where = ", ".join(s.display() for s in f.set_by)
                con.print(f"      [dim]set by[/dim] {escape(where)}")
            if f.renders:
                con.print(f"      [dim]rendered by:[/dim] {escape(', '.join(f.renders))}")
            if f.suppressed is not None:
                con.print(
                    f"      [dim]suppressed ({f.suppressed.source}): "
                    f"{escape(f.suppressed.reason)}[/dim]"
                )
            else:
                con.print(f"      [dim]fix:[/dim] {escape(f.fix)}")
        con.print()
    if report.errors:
        con.print("[bold red]Inputs that could not be fully scanned[/bold red]")
        for e in report.errors:
            where = f"{e.file}:{e.line}" if e.line else e.file
            con.print(f"  {escape(where)}: {escape(e.message)}")
        con.print()
    for note in report.notes:
        con.print(f"[dim]note: {escape(note)}[/dim]")
    active = [f for f in report.findings if f.suppressed is None]
    con.print("[bold]Summary[/bold]")
    for p in Practice:
        n = sum(1 for f in active if f.practice is p)
        if n:
            con.print(f"  practice {int(p)} {p.title:<26} {n} finding(s)")
    suppressed = len(report.findings) - len(active)
    con.print(
        f"  {report.files} file(s), {report.documents} object(s) checked; "
        f"{len(active)} finding(s), "
        f"{len(report.failing)} at or above {report.fail_on.label}, {suppressed} suppressed, "
        f"{len(report.errors)} input error(s)"
        + (
            f"; {report.skipped} document(s) skipped (unrendered templates, kinds no rule reads)"
            if report.skipped
            else ""
        )
    )
    skipped = skipped_line(report.coverage)
    if skipped:
        con.print(f"  {escape(skipped)}")
    return buf.getvalue()


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
