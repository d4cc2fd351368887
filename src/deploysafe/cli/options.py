"""Options that more than one command takes, declared once so they mean the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import click

from deploysafe.model import Level, Severity

FC = TypeVar("FC", bound=Callable[..., Any] | click.Command)


class Decorator(Protocol):
    """What click.option returns: adds the option to a command function."""

    def __call__(self, f: FC, /) -> FC: ...


# The formats a scan or audit report is written in: `gitlab-sast` is GitLab's security
# report, `github-summary` the Markdown of a CI job's summary page.
REPORT_FORMATS = (
    "text",
    "compact",
    "json",
    "sarif",
    "junit",
    "html",
    "gitlab-sast",
    "github-summary",
)
# The formats of everything else: lines for a person, or one JSON document.
DATA_FORMATS = ("text", "json")


def config_option(where: str, *, what: str = "Policy file", note: str = "") -> Decorator:
    """`--config FILE`; `where` says where the command looks when it is not given."""
    help_text = f"{what} [default: deploysafe.yaml {where}]."
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
        help=f"{help_text} {note}" if note else help_text,
    )


def format_option(choices: tuple[str, ...] = DATA_FORMATS) -> Decorator:
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default="text", show_default=True
    )


def output_option(what: str = "the report") -> Decorator:
    return click.option(
        "--output",
        "-o",
        type=click.Path(path_type=Path, dir_okay=False),
        help=f"Write {what} here.",
    )


# `--fail-on never`: findings are reported but never fail the command (soft-fail).
NEVER = "never"


def fail_on_option() -> Decorator:
    return click.option(
        "--fail-on",
        type=click.Choice([*(s.label for s in Severity), NEVER]),
        help="Lowest severity that fails, or never: report findings and exit 0 for them "
        "[default: high].",
    )


def pss_options(f: FC) -> FC:
    """`--policy` and `--pss-version`: the Pod Security level and version to judge by."""
    f = click.option(
        "--pss-version", help="Pod Security policy version, v1.N or latest [default: latest]."
    )(f)
    return click.option(
        "--policy",
        type=click.Choice([lv.value for lv in Level]),
        help="Pod Security level [default: restricted].",
    )(f)


def ignore_input_errors_option() -> Decorator:
    return click.option(
        "--ignore-input-errors",
        is_flag=True,
        help="Do not fail because some inputs could not be read (they are still reported); "
        "usage errors still fail.",
    )


def show_suppressed_option() -> Decorator:
    return click.option(
        "--show-suppressed",
        is_flag=True,
        help="Show suppressed findings in text and compact output.",
    )


def source_option() -> Decorator:
    return click.option(
        "--source",
        "source",
        type=click.Path(path_type=Path, file_okay=False, exists=True),
        default=Path("."),
        show_default=True,
        help="The source checkout (the commit to release).",
    )


def changed_since_option() -> Decorator:
    return click.option(
        "--changed-since",
        metavar="REF",
        help="Pull request mode: scan the files changed since the merge base of REF and HEAD "
        "(committed, staged, unstaged and untracked; deleted files left out) and the charts "
        "and kustomizations they feed; report only findings on changed lines or in changed "
        "objects.",
    )


def all_findings_option() -> Decorator:
    return click.option(
        "--all-findings",
        is_flag=True,
        help="With --changed-since: report every finding of the changed files and the "
        "renders they feed, not only the changed lines'.",
    )
