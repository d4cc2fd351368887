"""`deploysafe completion bash|zsh|fish`: click's completion scripts, and a real bash that
sources one completing deploysafe's commands and options."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deploysafe.cli.exits import EXIT_CLEAN, EXIT_USAGE
from tests.support.scantools import invoke


@pytest.mark.parametrize(
    ("shell", "line"),
    [
        ("bash", "    complete -o nosort -F _deploysafe_completion deploysafe"),
        ("zsh", "#compdef deploysafe"),
        (
            "fish",
            'complete --no-files --command deploysafe --arguments "(_deploysafe_completion)";',
        ),
    ],
)
def test_completion_prints_the_script_for_each_shell(shell: str, line: str) -> None:
    result = invoke("completion", shell)
    assert result.exit_code == EXIT_CLEAN
    assert line in result.output.splitlines()
    assert "_DEPLOYSAFE_COMPLETE" in result.output


def test_completion_of_an_unknown_shell_is_a_usage_error() -> None:
    result = invoke("completion", "tcsh")
    assert result.exit_code == EXIT_USAGE
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in result.output


def _bash_complete(*words: str) -> list[str]:
    """What bash offers for the last of `words`, with the script sourced as users do."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    script = (
        'source <(deploysafe completion bash) && COMP_WORDS=("$@") && '
        "COMP_CWORD=$(($# - 1)) && _deploysafe_completion deploysafe && "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [bash, "-c", script, "bash", "deploysafe", *words],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_bash_completes_commands_options_and_choices() -> None:
    assert _bash_complete("sc") == ["scan"]
    assert _bash_complete("scan", "--fail") == ["--fail-on"]
    assert _bash_complete("completion", "") == ["bash", "zsh", "fish"]
