"""Exit codes: each kind of error maps to one code, shown one way, decided in cli/exits only."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner

from deploysafe import errors
from deploysafe.cli.exits import Command, ExitCode, Group, for_error, for_report
from deploysafe.cli.main import main
from deploysafe.cluster.webhook.manifests import InstallOptionsError
from deploysafe.engine.history import HistoryError
from deploysafe.errors import ConfigError
from deploysafe.gitops.envrepo import EnvRepoError
from deploysafe.gitops.manifests import ReleaseSetError
from deploysafe.gitops.pipeline import GitOpsError, Refused
from deploysafe.gitops.record import RecordError
from deploysafe.secrets.gitleaks import RulesError
from tests.support import paths

CLI = paths.REPO / "src" / "deploysafe" / "cli"


def test_exit_code_values() -> None:
    assert [(c.name, int(c)) for c in ExitCode] == [
        ("CLEAN", 0),
        ("FINDINGS", 1),
        ("USAGE", 2),
        ("INPUT", 3),
        ("FINDINGS_AND_INPUT", 4),
        ("EMPTY", 5),
        ("CANCELLED", 143),
    ]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.UsageError("x"), ExitCode.USAGE),
        (errors.ConfigError("x"), ExitCode.USAGE),
        (errors.InputError("x"), ExitCode.INPUT),
        (errors.GateRefused("x"), ExitCode.FINDINGS),
        (errors.DeploysafeError("x"), ExitCode.INPUT),
        (errors.Cancelled("x"), ExitCode.CANCELLED),
        # The errors modules define, by their kind.
        (ConfigError("x"), ExitCode.USAGE),
        (HistoryError("x"), ExitCode.USAGE),
        (RulesError("x"), ExitCode.USAGE),
        (InstallOptionsError("x"), ExitCode.USAGE),
        (GitOpsError("x"), ExitCode.INPUT),
        (EnvRepoError("x"), ExitCode.INPUT),
        (RecordError("x"), ExitCode.INPUT),
        (ReleaseSetError("x"), ExitCode.INPUT),
        (Refused("x"), ExitCode.FINDINGS),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_each_kind_of_error_has_one_exit_code(error: errors.DeploysafeError, code: int) -> None:
    assert for_error(error) == code


def test_config_error_is_the_one_in_errors() -> None:
    assert ConfigError is errors.ConfigError


def _raising(error: Exception) -> click.Group:
    """A group with one deploysafe command, `run`, that raises `error`."""

    @click.group(cls=Group)
    def group() -> None:
        pass

    @group.command()
    def run() -> None:
        raise error

    return group


@pytest.mark.parametrize(
    ("error", "code", "output"),
    [
        (
            errors.ConfigError("deploysafe.yaml:3: unknown key 'polcy'"),
            2,
            "Usage: group run [OPTIONS]\nTry 'group run --help' for help.\n\n"
            "Error: deploysafe.yaml:3: unknown key 'polcy'\n",
        ),
        (
            errors.UsageError("--tenant shop: no such tenant"),
            2,
            "Usage: group run [OPTIONS]\nTry 'group run --help' for help.\n\n"
            "Error: --tenant shop: no such tenant\n",
        ),
        (Refused("prod has no release prod-9"), 1, "refused: prod has no release prod-9\n"),
        (GitOpsError("env.git: cannot push"), 3, "error: env.git: cannot push\n"),
        (errors.InputError("cannot read x"), 3, "error: cannot read x\n"),
    ],
)
def test_an_error_is_shown_by_its_kind(error: Exception, code: int, output: str) -> None:
    result = CliRunner().invoke(_raising(error), ["run"])
    assert (result.exit_code, result.stdout, result.stderr) == (code, "", output)


def test_an_error_of_no_kind_is_not_caught() -> None:
    result = CliRunner().invoke(_raising(ValueError("bug")), ["run"])
    assert result.exit_code == 1
    assert isinstance(result.exception, ValueError)


@pytest.mark.parametrize(("returned", "code"), [(None, 0), (ExitCode.FINDINGS, 1), (4, 4)])
def test_a_command_returns_its_exit_code(returned: int | None, code: int) -> None:
    @click.command(cls=Command)
    def run() -> int | None:
        return returned

    assert CliRunner().invoke(run, []).exit_code == code


@pytest.mark.parametrize(
    ("errors_", "failing", "baseline_written", "drifted", "code"),
    [
        (0, 0, False, False, ExitCode.CLEAN),
        (0, 1, False, False, ExitCode.FINDINGS),
        (0, 1, True, False, ExitCode.CLEAN),
        (1, 0, False, False, ExitCode.INPUT),
        (1, 1, False, False, ExitCode.FINDINGS_AND_INPUT),
        (1, 1, True, False, ExitCode.INPUT),
        (1, 0, True, True, ExitCode.FINDINGS_AND_INPUT),
        (0, 0, False, True, ExitCode.FINDINGS),
        (0, 1, False, True, ExitCode.FINDINGS),
    ],
)
def test_report_exit_codes(
    errors_: int, failing: int, baseline_written: bool, drifted: bool, code: ExitCode
) -> None:
    report = SimpleNamespace(errors=["e"] * errors_, failing_count=lambda: failing)
    assert for_report(report, baseline_written=baseline_written, drifted=drifted) is code


def _commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    # By list_commands/get_command, as click finds them: the top-level group imports its
    # commands when asked (`group.commands` holds only those imported so far).
    out: dict[str, click.Command] = {}
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            out |= _commands(command, f"{prefix}{name} ")
        else:
            out[f"{prefix}{name}"] = command
    return out


def test_every_command_decides_its_exit_code_in_exits() -> None:
    commands = _commands(main)
    assert sorted(commands) == [
        "audit",
        "completion",
        "deploy",
        "diff",
        "docs",
        "explain",
        "fix",
        "history",
        "init",
        "platform",
        "promote",
        "rollback",
        "rules",
        "scan",
        "serve",
        "verify",
        "webhook manifests",
    ]
    assert [name for name, c in commands.items() if not isinstance(c, Command)] == []


def test_no_cli_module_calls_sys_exit() -> None:
    calls = [
        f"{module.name}:{node.lineno}"
        for module in sorted(CLI.glob("*.py"))
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "exit"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "sys"
    ]
    assert calls == []


def test_top_level_help_lists_every_exit_code_a_scan_returns() -> None:
    shown = CliRunner().invoke(main, ["--help"]).output
    codes = shown.split("Exit codes:")[1].split("Options:")[0]
    listed = [line.split()[0] for line in codes.splitlines() if line.strip()[:1].isdigit()]
    assert listed == [str(int(c)) for c in ExitCode if c != ExitCode.CANCELLED]


def test_errors_is_the_bottom_layer() -> None:
    tree = ast.parse(Path(errors.__file__).read_text(encoding="utf-8"))
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert imported == ["__future__"]
