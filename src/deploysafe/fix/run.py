"""A whole `deploysafe fix`: scan, plan, apply, scan again until nothing more is fixed.

Fixing one finding can reveal another that the report folded into it (a privileged
container that also adds SYS_ADMIN is one finding until it is no longer privileged). So the
rounds run on a scratch copy of the scan root, and only the end result is compared with
the real files: the caller writes every change at once (or shows the diff), and re-running
fix on its output changes nothing.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from deploysafe.config import Config
from deploysafe.engine import RenderOptions, Report, scan
from deploysafe.fix.netpol import RULE_ID as NEW_POLICY_RULE
from deploysafe.fix.netpol import plan_default_deny
from deploysafe.fix.plan import Change, Outcome, Plan, Selection, Status, plan, remaining
from deploysafe.model import Finding
from deploysafe.rules import BY_ID

ROUNDS = 4  # fixes that reveal findings nest at most this deep (privileged > SYS_ADMIN)


@dataclass(frozen=True, slots=True)
class Result:
    report: Report  # the scan of the files as they are
    changes: tuple[Change, ...]  # what the real files become
    fixed: tuple[Outcome, ...]
    left: tuple[Outcome, ...]  # the selected findings the fixed files still have, and why
    errors: int  # input errors of the last scan, and files the fix would not write


def fix_tree(
    targets: Sequence[Path],
    config: Config,
    root: Path,
    render: RenderOptions,
    selection: Selection,
) -> Result:
    first = scan(targets, config, root=root, render=render)
    base = Path(first.root)
    with tempfile.TemporaryDirectory(prefix="deploysafe-fix-") as scratch:
        copy = Path(scratch) / "tree"
        shutil.copytree(base, copy, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        moved = [copy / t.resolve().relative_to(base) for t in targets]
        report = first
        fixed: list[Outcome] = []
        outcomes: list[Outcome] = []
        written: set[str] = set()
        for _ in range(ROUNDS):
            planned = _plan(report.findings, copy, selection)
            written |= {change.file for change in planned.changes}
            fixed += planned.of(Status.FIXED)
            outcomes += planned.outcomes
            if not planned.changes:
                break
            for change in planned.changes:
                change.target.write_text(change.after, encoding="utf-8", newline="")
            report = scan(moved, config, root=copy, render=render)
        touched = {o.finding.file for o in fixed} | written
        changes = tuple(_changes(base, copy, sorted(touched)))
    left = remaining(report.findings, selection, outcomes)
    refused = len([o for o in outcomes if o.status is Status.REFUSED])
    return Result(first, changes, tuple(fixed), tuple(left), len(report.errors) + refused)


def _plan(findings: Sequence[Finding], root: Path, selection: Selection) -> Plan:
    """One round: the rules' fixes in their files, and DS509's new files (which no one
    document's edits can make)."""
    edits = plan([f for f in findings if f.rule_id != NEW_POLICY_RULE], BY_ID, root, selection)
    wanted = [f for f in findings if f.rule_id == NEW_POLICY_RULE and selection.wants(f)]
    made, outcomes = plan_default_deny(wanted, root, selection)
    return Plan(edits.changes + tuple(made), edits.outcomes + tuple(outcomes))


def _changes(base: Path, copy: Path, files: Sequence[str]) -> list[Change]:
    out = []
    for file in files:
        created = not (base / file).exists()
        before = "" if created else (base / file).read_bytes().decode("utf-8")
        after = (copy / file).read_bytes().decode("utf-8")
        if after != before:
            # A new file's target is where it goes; an edited one's, the file a link names.
            path = base / file
            target = path.parent.resolve() / path.name if created else path.resolve()
            out.append(Change(file, target, before, after, created=created))
    return out
