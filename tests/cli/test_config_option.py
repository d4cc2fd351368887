"""`--config` is one option: every command that takes it checks and loads it the same way,
and finds deploysafe.yaml where its help says."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from deploysafe.cli.exits import EXIT_USAGE
from deploysafe.cli.main import main
from tests.support.scantools import invoke as run

BROKEN = "policy: [\n"

SOURCE = "in the source folder or the nearest above it in the repository"
CURRENT = "in the current folder or the nearest above it in the repository"
# Each command that takes --config: (its words, the arguments it needs to reach the policy
# with a checkout or scan root `{root}`, where its help says the default file is).
COMMANDS: dict[str, tuple[list[str], str]] = {
    "scan": (["scan", "{root}"], "nearest the scan root, up to the repository's top level"),
    "fix": (["fix", "{root}"], "nearest the scan root, up to the repository's top level"),
    "verify": (["verify", "{root}", "--env", "prod"], "in the checkout"),
    "deploy": (["deploy", "prod", "--source", "{root}"], SOURCE),
    "promote": (["promote", "dev", "prod", "--source", "{root}"], SOURCE),
    "rollback": (["rollback", "prod", "--source", "{root}"], SOURCE),
    "history": (["history", "prod", "--source", "{root}"], SOURCE),
    "diff": (["diff", "prod", "--source", "{root}"], SOURCE),
    "platform": (["platform", "--source", "{root}"], SOURCE),
    "serve": (["serve", "--insecure-http"], CURRENT),
    "webhook manifests": (["webhook", "manifests"], CURRENT),
    "audit": (["audit", "-"], CURRENT),
}


def _command(words: str) -> click.Command:
    command: click.Command = main
    for word in words.split():
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), word)
        assert found is not None
        command = found
    return command


def _config_param(command: click.Command) -> click.Parameter | None:
    return next((p for p in command.params if p.name == "config_path"), None)


def _all_commands(group: click.Group, prefix: str = "") -> list[str]:
    out: list[str] = []
    for name in group.list_commands(click.Context(group)):
        command = group.get_command(click.Context(group), name)
        if isinstance(command, click.Group):
            out += _all_commands(command, f"{prefix}{name} ")
        else:
            out.append(f"{prefix}{name}")
    return out


def _args(name: str, root: Path, *extra: str) -> list[str]:
    words, _ = COMMANDS[name]
    return [w.format(root=root) for w in words] + list(extra)


def _usage(name: str) -> str:
    return f"Usage: main {name} [OPTIONS]"  # CliRunner names the program after the function


def test_the_table_lists_every_command_that_takes_config() -> None:
    takes = [n for n in _all_commands(main) if _config_param(_command(n)) is not None]
    assert sorted(takes) == sorted(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_config_is_the_shared_option(name: str) -> None:
    param = _config_param(_command(name))
    assert isinstance(param, click.Option)
    assert param.opts == ["--config"]
    assert isinstance(param.type, click.Path)
    assert (param.type.exists, param.type.dir_okay, param.type.file_okay) == (True, False, True)
    what = "Policy file shipped to the webhook" if name == "webhook manifests" else "Policy file"
    assert param.help is not None
    assert param.help.startswith(f"{what} [default: deploysafe.yaml {COMMANDS[name][1]}].")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_missing_config_file_is_a_usage_error(tmp_path: Path, name: str) -> None:
    missing = tmp_path / "nowhere.yaml"
    result = run(*_args(name, tmp_path, "--config", str(missing)))
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.startswith(_usage(name))
    assert result.stderr.endswith(
        f"Error: Invalid value for '--config': File '{missing}' does not exist.\n"
    )


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_folder_as_config_is_a_usage_error(tmp_path: Path, name: str) -> None:
    result = run(*_args(name, tmp_path, "--config", str(tmp_path)))
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.endswith(
        f"Error: Invalid value for '--config': File '{tmp_path}' is a directory.\n"
    )


def _policy_error(tmp_path: Path) -> str:
    """The error line `scan` gives for the broken policy, the one every command must give."""
    bad = tmp_path / "policy.yaml"
    bad.write_text(BROKEN, encoding="utf-8")
    result = run("scan", str(tmp_path / "empty"), "--config", str(bad))
    assert result.exit_code == EXIT_USAGE
    line = result.stderr.splitlines()[-1]
    assert line.startswith(f"Error: {bad}:2: ")
    return line


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_broken_config_file_is_refused_alike(tmp_path: Path, name: str) -> None:
    (tmp_path / "empty").mkdir()
    expected = _policy_error(tmp_path)
    result = run(*_args(name, tmp_path / "empty", "--config", str(tmp_path / "policy.yaml")))
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.startswith(_usage(name))
    assert result.stderr.splitlines()[-1] == expected


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_default_config_is_where_the_help_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    _, where = COMMANDS[name]
    home = tmp_path if where == CURRENT else root
    (home / "deploysafe.yaml").write_text(BROKEN, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run(*_args(name, root))
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.startswith(_usage(name))
    assert result.stderr.splitlines()[-1].startswith("Error: ")
    assert "deploysafe.yaml:2: " in result.stderr.splitlines()[-1]


def test_a_workflow_named_deploysafe_is_not_the_policy(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    workflow = workflows / "deploysafe.yml"
    workflow.write_text(
        "name: deploysafe\non: [pull_request]\npermissions: {}\njobs:\n"
        "  scan:\n    runs-on: ubuntu-24.04\n    permissions: {contents: read}\n"
        "    steps:\n      - run: echo scan\n"
    )
    # The repository's policy is found above the workflow folder and applies: DS105 is off.
    (tmp_path / "deploysafe.yaml").write_text("rules: {DS105: {enabled: false}}\n")
    workflow.write_text(workflow.read_text().replace("{contents: read}", "{contents: write}"))
    for target in (workflow, workflows):
        result = run("scan", str(target), "--format", "compact")
        assert result.exit_code == 0, result.output
        assert "DS105" not in result.output
        assert "unknown key" not in result.output
