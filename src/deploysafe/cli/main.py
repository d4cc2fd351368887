"""The command line: a thin layer over the library. One module per command group; exit codes
are decided in deploysafe.cli.exits."""

from __future__ import annotations

import atexit
import importlib
import os
import sys
import threading
from typing import NoReturn

import click

from deploysafe import __version__
from deploysafe.cli.exits import Command, Group
from deploysafe.errors import UsageError
from deploysafe.host.memory import lasting

# Each command's module and its name there: a command's module is imported when the command
# runs (or help lists it), so a scan does not import the other commands' modules and what
# only they import.
COMMANDS = {
    "scan": ("scan", "scan"),
    "fix": ("fix", "fix"),
    "rules": ("catalogue", "rules_cmd"),
    "explain": ("catalogue", "explain"),
    "docs": ("catalogue", "docs_cmd"),
    "verify": ("verify", "verify_cmd"),
    "deploy": ("gitops", "deploy"),
    "history": ("gitops", "history"),
    "diff": ("gitops", "diff_cmd"),
    "rollback": ("gitops", "rollback"),
    "promote": ("gitops", "promote"),
    "platform": ("gitops", "platform"),
    "serve": ("cluster", "serve"),
    "webhook": ("cluster", "webhook"),
    "audit": ("cluster", "audit"),
    "init": ("init", "init_cmd"),
}


class _Commands(Group):
    """The top-level group: the commands of COMMANDS are imported by name when needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, name = COMMANDS[cmd_name]
            with lasting():
                loaded = importlib.import_module(f"deploysafe.cli.{module}")
            command = getattr(loaded, name)
            assert isinstance(command, click.Command) and command.name == cmd_name
            self.add_command(command)
        return self.commands.get(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            # click (8.4 on) suggests the nearest name of `self.commands`: the commands
            # imported so far, none of COMMANDS at start. Of every command, as when all were.
            no_such = getattr(click.exceptions, "NoSuchCommand", None)
            if no_such is None or not isinstance(exc, no_such):
                raise
            raise no_such(
                exc.command_name, possibilities=self.list_commands(ctx), ctx=exc.ctx
            ) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="deploysafe")
def main() -> None:
    """deploysafe: secure Kubernetes deployments, six practices, one policy file.

    \b
    Exit codes:
      0  clean: no finding at or above --fail-on, every input read
      1  findings at or above --fail-on
      2  usage or configuration error
      3  some inputs could not be read or parsed (the rest was scanned)
      4  both 1 and 3
      5  nothing to check under the paths (scan --allow-empty: 0)
    Every command's codes: docs/output.md#exit-codes.
    """


@main.command("completion", cls=Command)
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL.

    \b
    bash:  eval "$(deploysafe completion bash)"       (in ~/.bashrc)
    zsh:   eval "$(deploysafe completion zsh)"        (in ~/.zshrc)
    fish:  deploysafe completion fish > ~/.config/fish/completions/deploysafe.fish
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click ships all three
        raise UsageError(f"click has no completion for {shell}")
    script = cls(main, {}, "deploysafe", "_DEPLOYSAFE_COMPLETE").source()
    click.echo(script, nl=not script.endswith("\n"))


def run() -> NoReturn:
    """The `deploysafe` console command: `main`, then the process ends without the
    interpreter freeing its objects one by one (20-60 ms after a scan, for memory the system
    takes back at once). Exit handlers run and the output is flushed first; with another
    thread still running, a profiler or tracer on, or an exit that is not a number, it
    ends as Python ends."""
    try:
        main()
    except SystemExit as exc:
        ending = exc
    else:  # pragma: no cover - click's standalone mode always exits
        ending = SystemExit(0)
    code = 0 if ending.code is None else ending.code
    # A profiler or tracer (`python -m cProfile`) writes its results once the program
    # returns: the process ends as Python ends it.
    watched = sys.getprofile() is not None or sys.gettrace() is not None
    if not isinstance(code, int) or threading.active_count() > 1 or watched:
        raise ending
    atexit._run_exitfuncs()  # each handler once: they are cleared as they run
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except OSError:  # a closed pipe: Python's own exit reports it
        raise ending from None
    os._exit(code)
