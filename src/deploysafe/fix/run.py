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
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from deploysafe.config import Config
from deploysafe.engine import RenderOptions, Report, scan
from deploysafe.fix.netpol import RULE_ID as NEW_POLICY_RULE
from deploysafe.fix.netpol import plan_default_deny
from deploysafe.fix.plan import Change, Outcome, Plan, Selection, Status, plan, remaining
from deploysafe.fix.rendered import Trial
from deploysafe.frozen import record
from deploysafe.host.git import Git
from deploysafe.model import Document, Finding, ScanError
from deploysafe.rules import BY_ID

ROUNDS = 4  # fixes that reveal findings nest at most this deep (privileged > SYS_ADMIN)


@record
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
    docs: list[Document] = []
    first = scan(targets, config, root=root, render=render, rendered_out=docs)
    base = Path(first.root)
    top = Path(first.top or first.root).resolve()
    with tempfile.TemporaryDirectory(prefix="deploysafe-fix-") as scratch:
        # The whole repository: a render of the scanned folder may read files outside it
        # (an overlay's base), and a fix may write them.
        whole = Path(scratch) / "tree"
        shutil.copytree(top, whole, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        if top != base:
            # A work tree again, so the scan there finds the same top level.
            Git(whole, isolated=True).run("init", "-q")
        copy = whole / base.relative_to(top)
        moved = [copy / t.resolve().relative_to(base) for t in targets]
        config = _in_copy(config, top, whole.resolve())
        report = first
        fixed: list[Outcome] = []
        outcomes: list[Outcome] = []
        touched: set[str] = set()  # the files written, new ones (a patch, a policy) too
        trial = _trial(moved, config, copy, render, first)

        def rescan() -> tuple[Report, list[Document]]:
            found: list[Document] = []
            return scan(moved, config, root=copy, render=render, rendered_out=found), found

        held: set[str] = set()  # folders (a chart, an overlay) whose fixes broke their render
        for _ in range(ROUNDS):
            wanted = [f for f in report.findings if not _touches(f, held)]
            planned = _plan(wanted, copy, selection, docs, trial)
            if not planned.changes:
                fixed += planned.of(Status.FIXED)
                outcomes += planned.outcomes
                break
            for change in planned.changes:
                change.target.write_text(change.after, encoding="utf-8", newline="")
            report, docs = rescan()
            # Fail closed, per folder: the fixes of a chart or overlay whose render they
            # broke are taken back, and the others stand.
            errors = {_unit(copy, e.file): e for e in reversed(_new_errors(first, report))}
            units = _spread(set(errors), planned.of(Status.FIXED))
            back = [c for c in planned.changes if units and _within(c.file, units)]
            if back and len(back) < len(planned.changes):
                for change in back:
                    _take_back(change)
                held |= units
                planned = Plan(
                    tuple(c for c in planned.changes if c not in back),
                    tuple(
                        Outcome(o.finding, Status.REFUSED, _breaks(errors))
                        if o.status is Status.FIXED and _touches(o.finding, units)
                        else o
                        for o in planned.outcomes
                    ),
                )
                report, docs = rescan()
            fixed += planned.of(Status.FIXED)
            outcomes += planned.outcomes
            touched.update(change.file for change in planned.changes)
        broken = next(iter(_new_errors(first, report)), None)
        changes = () if broken else tuple(_changes(base, copy, sorted(touched)))
    if broken is not None:
        # Fail closed: fixes that break a render (a patch kustomize cannot apply) or a file
        # are not written.
        why = f"the fixed files cannot be scanned ({_said(broken)}): nothing written"
        outcomes += [Outcome(o.finding, Status.REFUSED, why) for o in fixed]
        left = remaining(first.findings, selection, outcomes)
        return Result(first, (), (), tuple(left), len(first.errors) + _refused(outcomes))
    left = remaining(report.findings, selection, outcomes)
    return Result(
        first, changes, tuple(fixed), tuple(left), len(report.errors) + _refused(outcomes)
    )


def _plan(
    findings: Sequence[Finding],
    root: Path,
    selection: Selection,
    docs: Sequence[Document],
    trial: Trial,
) -> Plan:
    """One round: the rules' fixes in their files (rendered findings on the objects of
    `docs`), and DS509's new files (which no one document's edits can make)."""
    others = [f for f in findings if f.rule_id != NEW_POLICY_RULE]
    edits = plan(others, BY_ID, root, selection, docs, trial)
    wanted = [f for f in findings if f.rule_id == NEW_POLICY_RULE and selection.wants(f)]
    made, outcomes = plan_default_deny(wanted, root, selection)
    return Plan(edits.changes + tuple(made), edits.outcomes + tuple(outcomes))


def _trial(
    targets: Sequence[Path], config: Config, copy: Path, render: RenderOptions, first: Report
) -> Trial:
    """A scan of the scratch copy with some files changed for its length, then put back."""

    def run(texts: Mapping[str, str]) -> Sequence[Document] | None:
        kept = {file: (copy / file).read_bytes() for file in texts}
        try:
            for file, text in texts.items():
                (copy / file).write_text(text, encoding="utf-8", newline="")
            docs: list[Document] = []
            report = scan(targets, config, root=copy, render=render, rendered_out=docs)
        finally:
            for file, data in kept.items():
                (copy / file).write_bytes(data)
        return None if _new_errors(first, report) else docs

    return run


def _new_errors(first: Report, last: Report) -> list[ScanError]:
    """The input errors the fixed files have and the files as they were had not."""
    known = {(e.file, e.kind) for e in first.errors}
    return [e for e in last.errors if (e.file, e.kind) not in known]


def _unit(root: Path, file: str) -> str:
    """The folder a file is rendered with: its outermost chart, else its own folder (a
    kustomization's error names the kustomization file)."""
    folder = Path(file).parent
    chart = next(
        (p for p in reversed([folder, *folder.parents]) if (root / p / "Chart.yaml").is_file()),
        None,
    )
    return (chart or folder).as_posix()


def _within(file: str, folders: set[str]) -> bool:
    parts = Path(file).parts
    return any(f == "." or parts[: len(Path(f).parts)] == Path(f).parts for f in folders)


def _breaks(errors: dict[str, ScanError]) -> str:
    unit, e = next(iter(errors.items()))
    return f"the fixed files of {unit} cannot be scanned ({_said(e)}): not written"


def _said(e: ScanError) -> str:
    """An error as a reason names it: its file and first line."""
    lines = e.message.strip().splitlines()
    return f"{e.file}: {lines[0] if lines else ''}"


def _refused(outcomes: Sequence[Outcome]) -> int:
    return len([o for o in outcomes if o.status is Status.REFUSED])


def _render_units(f: Finding) -> set[str]:
    """The folders of the renders a finding comes from (`kustomize overlays/prod`)."""
    return {r.partition(" ")[2].rstrip("/") or "." for r in f.renders}


def _touches(f: Finding, units: set[str]) -> bool:
    return _within(f.file, units) or any(_within(u, units) for u in _render_units(f))


def _spread(units: set[str], fixed: Sequence[Outcome]) -> set[str]:
    """`units` and the folders of every fix that touches them: a finding several overlays
    build is fixed in all of them or in none."""
    while True:
        more = {u for o in fixed if _touches(o.finding, units) for u in _render_units(o.finding)}
        if more <= units:
            return units
        units |= more


def _take_back(change: Change) -> None:
    if change.created:
        change.target.unlink(missing_ok=True)
    else:
        change.target.write_text(change.before, encoding="utf-8", newline="")


def _changes(base: Path, copy: Path, files: Sequence[str]) -> list[Change]:
    out = []
    for file in files:
        created = not (base / file).exists()  # a new file: a patch, a policy
        before = "" if created else (base / file).read_bytes().decode("utf-8")
        after = (copy / file).read_bytes().decode("utf-8")
        if after != before:
            # A new file's target is where it goes; an edited one's, the file a link names.
            path = base / file
            target = path.parent.resolve() / path.name if created else path.resolve()
            out.append(Change(file, target, before, after, created=created))
    return out


def _in_copy(config: Config, top: Path, whole: Path) -> Config:
    """The policy's render settings pointed at the copy: its charts and overlays are found,
    and its values files read (and fixed), there."""
    r = config.render

    def moved(path: Path) -> Path:
        return whole / path.relative_to(top) if path.is_relative_to(top) else path

    charts = {
        moved(k): replace(c, values=tuple(replace(v, path=moved(v.path)) for v in c.values))
        for k, c in r.charts.items()
    }
    render = replace(
        r,
        charts=charts,
        kustomize={moved(k): v for k, v in r.kustomize.items()},
        where={moved(k): v for k, v in r.where.items()},
    )
    return replace(config, render=render)
