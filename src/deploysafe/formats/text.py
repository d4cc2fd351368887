"""Human output: grouped by file, the offending line shown, a summary per practice."""

from __future__ import annotations

import io
from itertools import groupby

from rich.console import Console
from rich.markup import escape

from deploysafe.engine import Report
from deploysafe.model import Practice, Severity

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
    return buf.getvalue()
