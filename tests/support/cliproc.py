"""The deploysafe CLI as users run it: the installed entry point in a child process, with its
standard streams on pipes or on a real pseudo-terminal."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

EXE = Path(sys.executable).with_name("deploysafe")


def exe() -> Path:
    if not EXE.exists():
        pytest.skip("the deploysafe script is not installed next to this Python")
    return EXE


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test's environment without the variables that change what the CLI prints (CI
    runs the suite with CI=true; a developer may have NO_COLOR set), plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CI", "NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TERM")
    }
    env["TERM"] = "xterm-256color"
    return {**env, **(extra or {})}


def run(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `deploysafe ARGS` with stdout and stderr on pipes."""
    proc = subprocess.run(
        [str(exe()), *args],
        capture_output=True,
        text=True,
        env=environment(env),
        timeout=300,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@dataclass(frozen=True, slots=True)
class TtyRun:
    returncode: int
    terminal: bytes  # everything the terminal showed
    stdout: bytes  # what the command wrote to stdout, when it is a pipe
    stderr: bytes  # what the command wrote to stderr, when it is a pipe


def run_tty(
    *args: str,
    env: Mapping[str, str] | None = None,
    stdout_tty: bool = False,
    stderr_tty: bool = True,
    columns: int = 100,
) -> TtyRun:
    """Run `deploysafe ARGS` with stderr (and, with `stdout_tty`, stdout) on a real
    pseudo-terminal `columns` wide; stdin is the terminal too."""
    import fcntl
    import struct
    import termios

    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen(
        [str(exe()), *args],
        stdin=follower,
        stdout=follower if stdout_tty else subprocess.PIPE,
        stderr=follower if stderr_tty else subprocess.PIPE,
        env=environment(env),
        start_new_session=True,
    )
    os.close(follower)
    shown, out, err = bytearray(), bytearray(), bytearray()
    streams = [leader] + [p.fileno() for p in (proc.stdout, proc.stderr) if p is not None]
    deadline = time.monotonic() + 300
    while streams and time.monotonic() < deadline:
        ready, _, _ = select.select(streams, [], [], 1.0)
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the terminal's other end closed (EIO on Linux)
                chunk = b""
            if not chunk:
                streams.remove(fd)
            elif fd == leader:
                shown += chunk
            elif proc.stdout is not None and fd == proc.stdout.fileno():
                out += chunk
            else:
                err += chunk
    code = proc.wait(timeout=60)
    os.close(leader)
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    assert b"Traceback" not in shown, shown.decode(errors="replace")
    return TtyRun(code, bytes(shown), bytes(out), bytes(err))
