"""`deploysafe fix` (and `scan --fix`): apply the rules' fixes to the files, print what was
fixed and what remains, and why."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from deploysafe import config as configmod
from deploysafe.cli.common import load_config, scan_root, with_flags
from deploysafe.cli.exits import Command, ExitCode, for_fix
from deploysafe.cli.options import config_option, fail_on_option, pss_options
from deploysafe.errors import UsageError
from deploysafe.printable import printable
from deploysafe.rules import BY_ID

if TYPE_CHECKING:
    from deploysafe.engine import RenderOptions
    from deploysafe.fix import Outcome, Result, Selection


def _ids(values: tuple[str, ...], option: str) -> frozenset[str]:
    ids = frozenset(v.strip().upper() for value in values for v in value.split(",") if v.strip())
    unknown = sorted(ids - set(BY_ID))
    if unknown:
        raise UsageError(
            f"{option}: unknown rule id {', '.join(unknown)} (`deploysafe rules` lists them)"
        )
    return ids


@click.command(cls=Command)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@fail_on_option()
@pss_options
@config_option("nearest the scan root, up to the repository's top level")
@click.option(
    "--select",
    multiple=True,
    metavar="IDS",
    help="Fix the findings of these rules (comma-separated, repeatable) at any severity.",
)
@click.option(
    "--ignore", multiple=True, metavar="IDS", help="Leave the findings of these rules alone."
)
@click.option(
    "--unsafe-fixes",
    is_flag=True,
    help="Apply the fixes that may change what the workload does too (review the diff).",
)
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff; write nothing.")
@click.option(
    "--edit-base",
    is_flag=True,
    help="Fix an object a kustomization builds in the file that writes it, not with a "
    "patch in the kustomization (other overlays of a shared base get the change too).",
)
@click.option("--no-render", is_flag=True, help="Scan every file as it is: no Helm, no kustomize.")
@click.option("--namespace", "-n", help="The namespace the objects are installed in (as for scan).")
def fix(
    paths: tuple[Path, ...],
    fail_on: str | None,
    policy: str | None,
    pss_version: str | None,
    config_path: Path | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    unsafe_fixes: bool,
    show_diff: bool,
    edit_base: bool,
    no_render: bool,
    namespace: str | None,
) -> ExitCode:
    """Apply the fixes of the findings at or above --fail-on (default: the current folder).

    \b
    Safe fixes only change the security setting; --unsafe-fixes applies the ones that may
    change what the workload does. Every file is written whole or not at all.
    Exit codes:
      0  nothing selected remains (--diff: and nothing would change)
      1  findings remain that cannot be fixed automatically (or need --unsafe-fixes);
         --diff: the fix would change files
      2  usage or configuration error
      3  a file could not be read, parsed or written (it is untouched)
      4  both 1 and 3
    """
    from deploysafe.engine import RenderOptions
    from deploysafe.fix import Selection

    targets = list(paths) or [Path(".")]
    root = scan_root(targets)
    cfg = with_flags(load_config(config_path, root, scan=True), fail_on, policy, pss_version)
    selection = Selection(
        threshold=cfg.fail_on,
        select=_ids(select, "--select"),
        ignore=_ids(ignore, "--ignore"),
        unsafe=unsafe_fixes,
        edit_base=edit_base,
    )
    render = RenderOptions(enabled=not no_render, namespace=namespace)
    return run(targets, cfg, root, render, selection, show_diff=show_diff)


def run(
    targets: list[Path],
    cfg: configmod.Config,
    root: Path,
    render: RenderOptions,
    selection: Selection,
    *,
    show_diff: bool = False,
    summary_to: TextIO | None = None,
) -> ExitCode:
    """Fix, then print the diff (with `show_diff`, writing nothing) or write the files;
    then the summary of what was fixed and what remains."""
    from deploysafe import fix as fixmod

    result = fixmod.fix_tree(targets, cfg, root, render, selection)
    base = Path(result.report.root)
    out = summary_to or (sys.stderr if show_diff else sys.stdout)
    if show_diff:
        for change in result.changes:
            click.echo(change.diff(printable(shown(base, change.file))), nl=False)
    else:
        fixmod.write(result.changes)
    _summary(result, out, base, planned=show_diff)
    remains = bool(result.left) or (show_diff and bool(result.changes))
    return for_fix(remaining=remains, unreadable=bool(result.errors))


def shown(base: Path, file: str) -> str:
    """A file as the user can open it: relative to the current folder when it is inside it."""
    path = Path(os.path.normpath(base / file))  # a base outside the scanned folder: `../`
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _line(o: Outcome, base: Path) -> str:
    f = o.finding
    return f"  {printable(shown(base, f.file))}:{f.line}  {f.rule_id}  {printable(o.reason)}"


def _summary(result: Result, out: TextIO, base: Path, *, planned: bool) -> None:
    from deploysafe.fix import Status

    fixed, left = result.fixed, result.left
    if planned:  # nothing was written: name the lines of the files as they are
        now = {f.fingerprint: f for f in result.report.findings}
        left = tuple(replace(o, finding=now.get(o.finding.fingerprint, o.finding)) for o in left)
    files = len(result.changes)
    verb = "would fix" if planned else "fixed"
    lines = [
        f"deploysafe fix: {verb} {len(fixed)} finding(s) in {files} file(s); {len(left)} remain"
    ]
    if fixed:
        lines.append(f"{verb}:")
        lines += [_line(o, base) for o in fixed]
    if left:
        lines.append("remain (not fixed automatically):")
        for o in left:
            lines.append(_line(o, base))
            if o.status is Status.MANUAL:
                lines.append(f"      how: {printable(o.finding.fix)}")
    click.echo("\n".join(lines), file=out)
