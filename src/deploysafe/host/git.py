"""Run git: the one place that decides how deploysafe calls it.

    git = Git(checkout)
    head = git.out("rev-parse", "--verify", "-q", "HEAD^{commit}")   # None when git fails
    git.run("push", "origin", "main")                               # GitError when it fails

Every call gets an argument list (never a shell), a working folder, a timeout, C-locale
messages, no prompts, and an environment without the variables that point git at one
particular repository (GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE ...): git sets them for its
hooks, so deploysafe run from a pre-commit hook would otherwise send a call meant for one
repository to another. Variables that carry settings (GIT_CONFIG_GLOBAL, GIT_SSH_COMMAND,
GIT_CONFIG_COUNT ...) are kept: CI systems hand credentials to git that way. `isolated`
drops those too, and the user's and the system's git config, for checks that must not
depend on who runs them (signature verification).
"""

from __future__ import annotations

import os
import select
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import IO

from deploysafe.errors import InputError
from deploysafe.frozen import record

TIMEOUT = 60.0  # seconds; network calls (fetch, push) pass a longer one

# `git rev-parse --local-env-vars`: the variables that select a repository or its parts.
REPOSITORY_VARIABLES = frozenset(
    {
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_CONFIG",
        "GIT_DIR",
        "GIT_GRAFT_FILE",
        "GIT_IMPLICIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_INTERNAL_SUPER_PREFIX",
        "GIT_NAMESPACE",
        "GIT_NO_REPLACE_OBJECTS",
        "GIT_OBJECT_DIRECTORY",
        "GIT_PREFIX",
        "GIT_REPLACE_REF_BASE",
        "GIT_SHALLOW_FILE",
        "GIT_WORK_TREE",
    }
)


class GitError(InputError):
    """git could not run, ran over its timeout, or exited with an error; the message says
    which, with git's own last words.

    `returncode` is None when git did not finish (not installed, no such folder, timeout);
    `stderr` is what git wrote, for callers that read it.
    """

    def __init__(
        self, message: str, *, command: str, stderr: str = "", returncode: int | None = None
    ) -> None:
        super().__init__(message)
        self.command = command
        self.stderr = stderr
        self.returncode = returncode


@record
class Result:
    """A finished git command: arguments, exit status and output."""

    args: tuple[str, ...]  # as given to run(), without `git` and `-c` settings
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace")

    def problem(self) -> str:
        """git's last words on stderr, hints left out, in one line, without credentials."""
        from deploysafe.host.urls import public_text  # on failures only: a scan starts sooner

        lines = [ln for ln in self.err.splitlines() if ln.strip() and not ln.startswith("hint:")]
        return public_text(" / ".join(lines[-3:])) or f"exit status {self.returncode}"


@record
class Git:
    """How git is run: where, with which environment and settings, and for how long."""

    cwd: Path | None = None  # None: the process's folder (with GIT_DIR in `env`)
    env: Mapping[str, str] = field(default_factory=dict)  # set last, so it wins
    config: tuple[str, ...] = ()  # `name=value` settings, passed as `-c` to every call
    isolated: bool = False
    timeout: float = TIMEOUT

    def environ(self) -> dict[str, str]:
        if self.isolated:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GNUPG"))}
            env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
        else:
            env = {k: v for k, v in os.environ.items() if k not in REPOSITORY_VARIABLES}
        env.update(LC_ALL="C", GIT_TERMINAL_PROMPT="0")
        env.update(self.env)
        return env

    def argv(self, args: Sequence[str]) -> list[str]:
        out = ["git"]
        for setting in self.config:
            out += ["-c", setting]
        return [*out, *args]

    def run(self, *args: str, input: bytes | None = None, check: bool = True) -> Result:
        """Run git and wait; GitError when it cannot run or times out, and (with `check`)
        when it exits with an error."""
        return self.start(*args, input=input).result(check=check)

    def start(self, *args: str, input: bytes | None = None, ahead: bool = False) -> Started:
        """Start git now and wait for it when its result is asked for (`run` does both).
        `ahead`: git writes its output to temporary files, so it runs to its end before
        anyone reads it (a pipe holds 64 KB, and a large tree's file list is megabytes),
        with no thread to read it: a process forked meanwhile would copy a thread's state
        but not the thread, which Python 3.12 warns about."""
        out: tuple[IO[bytes], IO[bytes]] | None = None
        try:
            if ahead:
                out = _temporary(), _temporary()
            proc = subprocess.Popen(
                self.argv(args),
                cwd=self.cwd,
                env=self.environ(),
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=out[0] if out else subprocess.PIPE,
                stderr=out[1] if out else subprocess.PIPE,
            )
        except OSError as exc:
            _close(out)
            return Started(
                tuple(args), None, input, self.timeout, _not_started(_command(args), exc)
            )
        return Started(tuple(args), proc, input, self.timeout, out=out)

    def out(self, *args: str) -> str | None:
        """git's output, stripped; None when git fails for any reason."""
        try:
            result = self.run(*args, check=False)
        except GitError:
            return None
        return result.text.strip() if result.ok else None

    def popen(
        self, *args: str, stdin: bool = False, stderr: bool = True
    ) -> subprocess.Popen[bytes]:
        """A git process to stream from (no timeout: the caller reads it to the end and
        waits for it). stdout is a pipe; stdin and stderr are pipes when asked for."""
        try:
            return subprocess.Popen(
                self.argv(args),
                cwd=self.cwd,
                env=self.environ(),
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if stderr else subprocess.DEVNULL,
            )
        except OSError as exc:
            raise _not_started(_command(args), exc) from None


class Started:
    """A git process started by `Git.start`; `result` waits for it once. `out`: the
    temporary files its output and its errors go to (`Git.start`'s `ahead`)."""

    __slots__ = ("_args", "_done", "_input", "_out", "_proc", "_timeout")

    def __init__(
        self,
        args: tuple[str, ...],
        proc: subprocess.Popen[bytes] | None,
        input: bytes | None,
        timeout: float,
        failed: GitError | None = None,
        out: tuple[IO[bytes], IO[bytes]] | None = None,
    ) -> None:
        self._args = args
        self._proc = proc
        self._input = input
        self._timeout = timeout
        self._done: Result | GitError | None = failed
        self._out = out

    def result(self, *, check: bool = True) -> Result:
        """git's result; GitError when it could not run or timed out, and (with `check`)
        when it exited with an error."""
        if self._done is None:
            self._done = self._wait()
        if isinstance(self._done, GitError):
            raise self._done
        result = self._done
        if check and not result.ok:
            command = _command(self._args)
            raise GitError(
                f"`git {command}` failed: {result.problem()}",
                command=command,
                stderr=result.err,
                returncode=result.returncode,
            )
        return result

    def _wait(self) -> Result | GitError:
        proc = self._proc
        assert proc is not None  # a process that did not start failed already
        try:
            with proc:
                try:
                    timeout = self._timeout
                    if self._out is not None and self._input is None:
                        timeout = _exit_of(proc, timeout)
                    stdout, stderr = proc.communicate(self._input, timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()
                    command = _command(self._args)
                    return GitError(
                        f"`git {command}` did not finish in {self._timeout:g} s",
                        command=command,
                    )
            if self._out is not None:
                stdout, stderr = _whole(self._out[0]), _whole(self._out[1])
            return Result(self._args, proc.returncode, stdout, stderr)
        finally:
            _close(self._out)
            self._out = None

    def stop(self) -> None:
        """End a process whose result nobody will ask for."""
        if self._done is None and self._proc is not None:
            self._proc.kill()
            self._done = self._wait()


def _exit_of(proc: subprocess.Popen[bytes], timeout: float) -> float:
    """Wait until `proc` ends, up to `timeout`, and return as it ends, with the time left:
    with no pipe to read, `Popen.wait` polls with sleeps that double up to 50 ms (git's
    listing that ends 20 ms into the wait is seen up to 20 ms late), where a pidfd (Linux)
    wakes the caller at the exit. Elsewhere nothing is waited for here."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # not Linux 5.3 or later, or the process is gone
        return timeout
    start = time.monotonic()
    try:
        select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    return max(0.0, timeout - (time.monotonic() - start))


def _whole(file: IO[bytes]) -> bytes:
    """A temporary file's content, read in one piece (the size known): a large tree's
    listing is held once, where reading a pipe joins the pieces into a second copy."""
    file.seek(0)
    return file.read(os.fstat(file.fileno()).st_size)


# The files git's output goes to, open in this process until its result is read. A process
# forked meanwhile (a scan's workers) closes its copies: they would keep the files, deleted
# but open, on disk (in memory, where /tmp is a tmpfs) until it ends.
_ahead: set[IO[bytes]] = set()


def _temporary() -> IO[bytes]:
    file = tempfile.TemporaryFile()  # noqa: SIM115 - closed once git's result is read
    _ahead.add(file)
    return file


def _close(files: Iterable[IO[bytes]] | None) -> None:
    for file in list(files or ()):
        file.close()
        _ahead.discard(file)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _close(_ahead))


def _command(args: Sequence[str]) -> str:
    """The subcommand, for messages: the first argument that is not an option."""
    return next((a for a in args if not a.startswith("-")), "")


def _not_started(command: str, exc: OSError) -> GitError:
    if isinstance(exc, FileNotFoundError) and exc.filename == "git":
        why = "git is not installed (or not on PATH)"
    else:
        why = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return GitError(f"cannot run `git {command}`: {why}", command=command)


@record
class FileChange:
    """A file of the work tree that differs from a base commit. Lines are the file's as it
    is now: `lines` were added or rewritten; `removed` are the lines on either side of a
    place where more lines were removed than added. `whole`: every line counts as new
    (a file git did not have at the base, or a binary one)."""

    path: str  # from the repository's top level, `/`-separated
    lines: frozenset[int] = frozenset()
    removed: frozenset[int] = frozenset()
    whole: bool = False


def changes_since(top: Path, ref: str) -> tuple[str, tuple[FileChange, ...]]:
    """What the work tree at `top` changed since the merge base of `ref` and HEAD, as a pull
    request shows it, plus what is not committed yet (staged, unstaged, untracked but not
    ignored): the merge base's commit id and the files still present. Deleted files are left
    out; a renamed file is a new file. UsageError when `ref` names no commit or shares no
    history with HEAD."""
    from deploysafe.errors import UsageError

    git = Git(top)
    if not ref or ref.startswith("-"):
        raise UsageError(f"--changed-since {ref!r}: not a git revision")
    commit = git.out("rev-parse", "--verify", "-q", f"{ref}^{{commit}}")
    if not commit:
        raise UsageError(
            f"--changed-since {ref}: no such commit in {top}; check the name, or fetch it "
            f"first (`git fetch origin {ref}`; a shallow CI clone needs the base's history)"
        )
    base = git.out("merge-base", commit, "HEAD")
    if not base:
        raise UsageError(
            f"--changed-since {ref}: it shares no history with HEAD in {top} (or HEAD has no "
            "commit yet, or the clone is too shallow to reach their merge base)"
        )
    common = ("--no-renames", "--no-ext-diff", "--no-textconv", "--no-relative", "--diff-filter=d")
    named = git.run("diff", "--name-only", "-z", *common, base, "--").stdout
    names = [os.fsdecode(n) for n in named.split(b"\0") if n]
    patch = git.run(
        "diff", "-U0", "--no-color", "--src-prefix=a/", "--dst-prefix=b/", *common, base, "--"
    ).stdout
    sections = _sections(patch)
    out: list[FileChange] = []
    if len(sections) != len(names):  # not one section a file: count every line as new
        out = [FileChange(n, whole=True) for n in names]
    else:
        out = [_file_change(n, s) for n, s in zip(names, sections, strict=True)]
    listed = git.run("ls-files", "-z", "-o", "--exclude-standard", "--full-name").stdout
    out += [FileChange(os.fsdecode(n), whole=True) for n in listed.split(b"\0") if n]
    present = [c for c in out if (top / c.path).is_file()]
    return base, tuple(sorted(present, key=lambda c: c.path))


def _sections(patch: bytes) -> list[list[bytes]]:
    """A patch cut into its files' sections (names inside are quoted, so a section starts
    only at a `diff --git` line)."""
    sections: list[list[bytes]] = []
    for line in patch.split(b"\n"):
        if line.startswith(b"diff --git "):
            sections.append([])
        elif sections:
            sections[-1].append(line)
    return sections


def _file_change(path: str, section: list[bytes]) -> FileChange:
    lines: set[int] = set()
    removed: set[int] = set()
    for line in section:
        if line.startswith((b"Binary files ", b"GIT binary patch")):
            return FileChange(path, whole=True)
        if not line.startswith(b"@@ "):
            continue
        old, new = line.split(b" ")[1:3]
        old_count = _count(old)
        start_text, _, count_text = new[1:].partition(b",")
        start, count = int(start_text), int(count_text or b"1")
        lines.update(range(start, start + count))
        if old_count > count:
            # With no line left, git numbers the place by the line before it.
            after = start + count if count else start + 1
            removed.update(n for n in (after - 1, after) if n >= 1)
    return FileChange(path, frozenset(lines), frozenset(removed))


def _count(side: bytes) -> int:
    _, _, count = side.partition(b",")
    return int(count or b"1")
