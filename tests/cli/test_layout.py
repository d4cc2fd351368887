"""The command-line modules stand alone: each imports in a fresh interpreter, and none reaches
into another module's private names."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tests.support import paths

CLI = paths.REPO / "src" / "deploysafe" / "cli"
MODULES = sorted(
    f"deploysafe.cli.{p.stem}" if p.stem != "__init__" else "deploysafe.cli"
    for p in CLI.glob("*.py")
)


def test_the_command_groups_have_their_modules() -> None:
    assert MODULES == [
        "deploysafe.cli",
        "deploysafe.cli.action",
        "deploysafe.cli.catalogue",
        "deploysafe.cli.cluster",
        "deploysafe.cli.common",
        "deploysafe.cli.exits",
        "deploysafe.cli.fix",
        "deploysafe.cli.gitops",
        "deploysafe.cli.init",
        "deploysafe.cli.main",
        "deploysafe.cli.options",
        "deploysafe.cli.scan",
        "deploysafe.cli.terminal",
        "deploysafe.cli.verify",
    ]


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_on_its_own(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")


def _private_uses(path: Path) -> list[str]:
    """`from deploysafe.x import _name` and `x._name` on a deploysafe module imported as x."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("deploysafe"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{path.name}:{node.lineno}: {node.module}.{alias.name}")
                modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("deploysafe"):
                    modules.add(alias.asname or alias.name.split(".")[0])
    found.extend(
        f"{path.name}:{node.lineno}: {node.value.id}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and isinstance(node.value, ast.Name)
        and node.value.id in modules
    )
    return found


def test_no_cli_module_uses_another_modules_private_names() -> None:
    assert [use for p in sorted(CLI.glob("*.py")) for use in _private_uses(p)] == []


def test_the_private_name_check_sees_both_forms(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from deploysafe.cli.gitops import _report\n"
        "from deploysafe.gitops import pipeline\n"
        "pipeline._open(1)\n",
        encoding="utf-8",
    )
    assert _private_uses(sample) == [
        "sample.py:1: deploysafe.cli.gitops._report",
        "sample.py:3: pipeline._open",
    ]


def test_help_lists_every_command_with_its_help() -> None:
    from deploysafe.cli.main import COMMANDS, main

    ctx = click.Context(main)
    assert main.list_commands(ctx) == sorted([*COMMANDS, "completion"])
    lines = main.get_help(ctx).split("Commands:\n")[1].splitlines()
    shown = {line.split()[0]: " ".join(line.split()[1:]) for line in lines}
    assert sorted(shown) == main.list_commands(ctx)
    for name, text in shown.items():
        command = main.get_command(ctx, name)
        assert command is not None and command.name == name
        assert text and command.get_short_help_str(limit=200).startswith(text.rstrip("."))


def test_a_command_imports_only_its_own_module() -> None:
    program = (
        "import sys\n"
        "from deploysafe.cli.main import main\n"
        "main(['scan', '--help'], standalone_mode=False)\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('deploysafe.cli.'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    loaded = done.stdout.split("\n")[-2].split()
    assert "deploysafe.cli.scan" in loaded
    others = {"catalogue", "cluster", "fix", "gitops", "init", "verify"}
    assert [m for m in loaded if m.rsplit(".", 1)[1] in others] == []


def test_a_misspelt_command_is_told_the_nearest_in_a_fresh_process() -> None:
    # In a fresh interpreter no command module is loaded yet: the suggestion must come from
    # every command's name, not only from the commands already imported.
    done = subprocess.run(
        [sys.executable, "-c", "from deploysafe.cli.main import main; main(['sacn'])"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == "Error: No such command 'sacn'. Did you mean 'scan'?"
