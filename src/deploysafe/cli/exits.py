"""Exit codes, decided here once: what a command's outcome means, and what each kind of error
(deploysafe.errors) means.

A command returns an ExitCode (None: clean) and raises a DeploysafeError when it cannot do
its job; `Command.invoke` turns both into the process's exit code and the error's message.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, NoReturn

import click

from deploysafe.errors import Cancelled, DeploysafeError, GateRefused, UsageError
from deploysafe.printable import printable


class ExitCode(IntEnum):
    # No finding at or above --fail-on (or --fail-on never), every input read (or
    # --ignore-input-errors); a gate passed.
    CLEAN = 0
    FINDINGS = 1  # findings at or above --fail-on (or drift), every input read; a gate refused
    USAGE = 2  # the command or the policy file is wrong, or a path to scan does not exist
    INPUT = 3  # some input could not be read, no finding fails (for a scan: the rest was read)
    # Both: a gate that tolerates unreadable inputs (3) must still stop on findings.
    FINDINGS_AND_INPUT = 4
    EMPTY = 5  # the paths hold nothing deploysafe can check (`scan --allow-empty`: 0)
    # `serve`: a worker died and the others were stopped, so the container restarts whole.
    SERVER_STOPPED = 1
    CANCELLED = 143  # stopped by SIGTERM or SIGHUP (128 + 15, as shells report it)


# The names tests compare exit codes with.
EXIT_CLEAN = ExitCode.CLEAN
EXIT_FINDINGS = ExitCode.FINDINGS
EXIT_USAGE = ExitCode.USAGE
EXIT_INPUT = ExitCode.INPUT
EXIT_FINDINGS_AND_INPUT = ExitCode.FINDINGS_AND_INPUT
EXIT_EMPTY = ExitCode.EMPTY


def for_error(error: DeploysafeError) -> ExitCode:
    """The exit code of a kind of error."""
    if isinstance(error, UsageError):
        return ExitCode.USAGE
    if isinstance(error, GateRefused):
        return ExitCode.FINDINGS
    if isinstance(error, Cancelled):
        return ExitCode.CANCELLED
    # An InputError, or an error of no kind: either way the command did not finish its job.
    return ExitCode.INPUT


def for_report(
    report: Any,
    *,
    baseline_written: bool = False,
    drifted: bool = False,
    empty_fails: bool = False,
    findings_fail: bool = True,
    input_errors_fail: bool = True,
) -> ExitCode:
    """The exit code of a scan or audit report: whether inputs could not be read and whether
    findings at or above --fail-on (none count while writing a baseline) or drift from the
    release fail it, each fact kept; then, with `empty_fails`, whether nothing was checked.

    `findings_fail=False` (`--fail-on never`) and `input_errors_fail=False`
    (`--ignore-input-errors`) take one fact out; the report still lists it. Usage errors
    and a scan with nothing to check are not findings or input errors: they still fail."""
    failing = findings_fail and not baseline_written and report.failing_count() > 0
    failed = failing or drifted
    if report.errors and input_errors_fail:
        return ExitCode.FINDINGS_AND_INPUT if failed else ExitCode.INPUT
    if failed:
        return ExitCode.FINDINGS
    if empty_fails and report.files == 0:
        return ExitCode.EMPTY
    return ExitCode.CLEAN


def for_fix(*, remaining: bool, unreadable: bool) -> ExitCode:
    """The exit code of `deploysafe fix`: whether selected findings remain (with --diff:
    or files would change) and whether a file could not be read, parsed or written."""
    if unreadable:
        return ExitCode.FINDINGS_AND_INPUT if remaining else ExitCode.INPUT
    return ExitCode.FINDINGS if remaining else ExitCode.CLEAN


def soft_fail_notes(report: Any, *, findings_fail: bool, input_errors_fail: bool) -> list[str]:
    """The notes that say why a report's failing findings or input errors do not fail the
    command, so a reader of the report is not misled by its exit code."""
    notes = []
    failing = 0 if findings_fail else report.failing_count()
    if failing:
        notes.append(
            f"--fail-on never: the {failing} finding(s) at or above "
            f"{report.fail_on.label} do not fail this run"
        )
    if not input_errors_fail and report.errors:
        notes.append(
            f"--ignore-input-errors: the {len(report.errors)} input error(s) do not fail this run"
        )
    return notes


class _ClickUsageError(click.UsageError):
    exit_code = ExitCode.USAGE


def _fail(error: DeploysafeError, ctx: click.Context) -> NoReturn:
    """Show `error` as its kind is shown and exit with its code: a usage error with the
    command's usage line (as click shows its own), a refusal or an input error as one line on
    stderr."""
    code = for_error(error)
    # Its lines may quote file names and values from the repository.
    shown = "\n".join(printable(line) for line in str(error).split("\n"))
    if isinstance(error, UsageError):
        raise _ClickUsageError(shown, ctx) from None
    click.echo(f"{'refused' if code is ExitCode.FINDINGS else 'error'}: {shown}", err=True)
    ctx.exit(code)


class Command(click.Command):
    """A deploysafe command: its callback returns an ExitCode or None (clean) and raises
    DeploysafeError for a failure; nothing else decides the exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
        except DeploysafeError as exc:
            _fail(exc, ctx)
        if result is not None:
            ctx.exit(int(result))
        return None


class Group(click.Group):
    """A group whose commands (and sub-groups) are deploysafe commands."""

    command_class = Command
    group_class = type  # sub-groups are of this class too
