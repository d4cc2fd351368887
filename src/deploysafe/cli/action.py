"""The GitHub Action's scan step (`action.yml` runs `python -m deploysafe.cli.action`).

One scan writes the SARIF log; the job summary, the annotations and the log lines are built
from it; later steps read the step's outputs (`sarif-file`, `findings`, `failing`,
`exit-code`). The exit code is the scan's (`fail-on: never` is the scan's own soft-fail).

Inputs arrive in `INPUT_*` environment variables that action.yml sets from `with:`; they
are split into arguments here and never pass through a shell, so no input can become code.
On a pull request the scan covers what changed since the base commit unless told otherwise.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from deploysafe.cli.exits import ExitCode, for_error
from deploysafe.errors import DeploysafeError, UsageError
from deploysafe.formats import jobsummary as summary
from deploysafe.frozen import record
from deploysafe.host.git import Git
from deploysafe.model import Severity
from deploysafe.printable import printable

NEVER = "never"
# `changed-since: none` scans every path even on a pull request.
FULL_SCAN = "none"
PULL_REQUEST_EVENTS = frozenset({"pull_request", "pull_request_target"})
# GitHub shows at most 10 annotations of each level per step.
ANNOTATIONS = 10


@record
class Inputs:
    paths: tuple[str, ...]
    fail_on: str  # a severity, "never", or "" (the policy file's)
    sarif_file: Path
    changed_since: str | None  # a ref, or None: every file
    args: tuple[str, ...]


def read_inputs(env: Mapping[str, str]) -> Inputs:
    """The action's inputs; a UsageError names the input that is wrong and why."""
    fail_on = env.get("INPUT_FAIL_ON", "").strip().lower()
    allowed = [s.label for s in sorted(Severity, reverse=True)] + [NEVER]
    if fail_on and fail_on not in allowed:
        raise UsageError(f"input fail-on: {fail_on!r} is not one of {', '.join(allowed)}")
    sarif_file = env.get("INPUT_SARIF_FILE", "").strip()
    if "\n" in sarif_file:
        raise UsageError("input sarif-file: a file name cannot hold a line break")
    temp = env.get("RUNNER_TEMP") or tempfile.gettempdir()
    changed = env.get("INPUT_CHANGED_SINCE", "").strip()
    return Inputs(
        paths=tuple(_split("paths", env.get("INPUT_PATHS", ""))) or (".",),
        fail_on=fail_on,
        sarif_file=Path(sarif_file) if sarif_file else Path(temp, "deploysafe.sarif"),
        changed_since=(None if changed == FULL_SCAN else changed or pull_request_base(env) or None),
        args=tuple(_split("args", env.get("INPUT_ARGS", ""))),
    )


def _split(name: str, text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"input {name}: {exc} (quote it as a shell would)") from None


def pull_request_base(env: Mapping[str, str]) -> str | None:
    """The base commit of the pull request the workflow runs for, None for other events."""
    if env.get("GITHUB_EVENT_NAME") not in PULL_REQUEST_EVENTS or not env.get("GITHUB_EVENT_PATH"):
        return None
    try:
        event = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
        sha = event["pull_request"]["base"]["sha"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"cannot read the pull request's base commit from GITHUB_EVENT_PATH ({exc}); "
            "set the input changed-since to a ref, or to `none` to scan every file"
        ) from None
    return str(sha) if isinstance(sha, str) and sha else None


def ensure_commit(ref: str) -> None:
    """Fetch `ref` when the checkout lacks it (actions/checkout fetches one commit), so the
    scan can compare with it; when it cannot be fetched the scan says so."""
    git = Git()
    if git.out("cat-file", "-e", f"{ref}^{{commit}}") is None:
        git.out("fetch", "--no-tags", "--depth=1", "origin", ref)


def scan_argv(inputs: Inputs) -> list[str]:
    """The `deploysafe scan` arguments."""
    argv = ["scan", *inputs.paths, "--format", "sarif", "--output", str(inputs.sarif_file)]
    if inputs.fail_on:
        argv += ["--fail-on", inputs.fail_on]
    if inputs.changed_since is not None:
        argv += ["--changed-since", inputs.changed_since]
    return [*argv, *inputs.args]


def run_scan(argv: Sequence[str]) -> int:
    """`deploysafe ARGV` in this process; its exit code."""
    from deploysafe.cli.main import main

    try:
        main.main(args=list(argv), prog_name="deploysafe", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        return code if isinstance(code, int) else ExitCode.INPUT
    return 0


def command(name: str, text: str, **props: str | int) -> str:
    """A workflow command line, with text from the repository escaped as GitHub reads it."""

    def data(s: str) -> str:
        return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def prop(s: str) -> str:
        return data(s).replace(":", "%3A").replace(",", "%2C")

    attrs = ",".join(f"{k}={prop(str(v))}" for k, v in props.items())
    return f"::{name}{' ' + attrs if attrs else ''}::{data(text)}"


def log_lines(log: Mapping[str, Any], fail_on: str) -> tuple[list[str], list[str]]:
    """One line per finding for the job log (`file:line: severity ID message`), and the
    annotations of the most severe: errors at or above `fail_on`, warnings below."""
    rows = [r for r in summary.rows_of(log) if not r.suppressed]
    threshold = Severity.parse(fail_on) if fail_on and fail_on != NEVER else None
    lines = [
        printable(f"{r.file}:{r.line}: {r.severity.label} {r.rule_id} {r.message}") for r in rows
    ]
    ranked = sorted(rows, key=lambda r: (-r.severity, r.file, r.line, r.rule_id))
    notes = [
        command(
            "error" if threshold is not None and r.severity >= threshold else "warning",
            f"{r.message} ({r.severity.label})",
            file=r.file,
            line=r.line,
            title=f"deploysafe {r.rule_id}: {r.title}",
        )
        for r in ranked[:ANNOTATIONS]
    ]
    return lines, notes


def run(env: Mapping[str, str]) -> int:
    """The step: scan, then the summary, log lines, annotations and outputs; the exit code."""
    try:
        inputs = read_inputs(env)
    except DeploysafeError as exc:
        click.echo(f"error: {exc}", err=True)
        return for_error(exc)
    if inputs.changed_since is not None:
        ensure_commit(inputs.changed_since)
    argv = scan_argv(inputs)
    try:
        inputs.sarif_file.unlink(missing_ok=True)
        inputs.sarif_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        click.echo(f"error: input sarif-file: {exc.strerror or exc}", err=True)
        return ExitCode.USAGE
    click.echo(f"deploysafe {shlex.join(argv)}")
    # Nothing the scan prints (names from the repository) may act as a workflow command.
    token = secrets.token_hex(16)
    click.echo(f"::stop-commands::{token}")
    code = run_scan(argv)
    click.echo(f"::{token}::")
    log = _read_log(inputs.sarif_file)
    outputs: dict[str, str | int] = {"exit-code": code}
    if log is None:
        _append(env.get("GITHUB_STEP_SUMMARY"), _no_log(code))
    else:
        rows = [r for r in summary.rows_of(log) if not r.suppressed]
        failing = summary.failing_of(log)
        outputs.update(
            {"sarif-file": str(inputs.sarif_file), "findings": len(rows), "failing": failing}
        )
        lines, notes = log_lines(log, inputs.fail_on or summary.fail_on_of(log))
        click.echo(f"::stop-commands::{token}")
        for line in lines:
            click.echo(line)
        click.echo(f"::{token}::")
        for note in notes:
            click.echo(note)
        text = summary.markdown(log)
        if inputs.fail_on == NEVER and failing:
            text += "\n`fail-on: never`: findings do not fail this job.\n"
        _append(env.get("GITHUB_STEP_SUMMARY"), text)
    _append(env.get("GITHUB_OUTPUT"), "".join(f"{k}={v}\n" for k, v in outputs.items()))
    return code


def _read_log(path: Path) -> Mapping[str, Any] | None:
    try:
        log = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return log if isinstance(log, dict) else None


def _no_log(code: int) -> str:
    return (
        f"### deploysafe: the scan did not finish (exit code {code})\n\n"
        "It wrote no report; the job log says why.\n"
    )


def _append(path: str | None, text: str) -> None:
    """Append to a file GitHub gives the step; outside GitHub (no variable) print nothing."""
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def main() -> None:
    # The process's entry point: the code was decided by the scan and cli.exits.
    raise SystemExit(run(os.environ))


if __name__ == "__main__":
    main()
