"""The git runner, with real repositories in temp folders."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from deploysafe.host.git import Git, GitError, Result
from tests.support.secretgen import expand


def _repo(path: Path) -> Path:
    path.mkdir()
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    ident = ["-c", "user.name=T", "-c", "user.email=t@example.com"]
    for args in (
        ["init", "-q", "-b", "main"],
        [*ident, "commit", "-q", "--allow-empty", "--no-gpg-sign", "-m", "first"],
    ):
        subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)
    return path


def test_out_is_stripped_output_or_none(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    git = Git(repo)
    assert git.out("symbolic-ref", "HEAD") == "refs/heads/main"
    assert git.out("rev-parse", "--verify", "-q", "nosuchref") is None
    assert Git(tmp_path / "missing").out("status") is None


def test_variables_that_name_another_repository_are_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = _repo(tmp_path / "ours")
    other = _repo(tmp_path / "other")
    # What git exports to its hooks: deploysafe run from a hook of `other`.
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    assert Git(ours).out("rev-parse", "--show-toplevel") == str(ours.resolve())
    env = Git(ours).environ()
    assert not {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"} & set(env)
    assert (env["LC_ALL"], env["GIT_TERMINAL_PROMPT"]) == ("C", "0")


def test_settings_are_kept_unless_isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_SSH_COMMAND", "ssh -i deploy-key")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/etc/ci-gitconfig")
    monkeypatch.setenv("GNUPGHOME", "/home/dev/.gnupg")
    plain = Git().environ()
    assert plain["GIT_SSH_COMMAND"] == "ssh -i deploy-key"
    assert plain["GIT_CONFIG_GLOBAL"] == "/etc/ci-gitconfig"
    isolated = Git(isolated=True, env={"GNUPGHOME": "/tmp/ring"}).environ()
    assert "GIT_SSH_COMMAND" not in isolated
    assert isolated["GIT_CONFIG_GLOBAL"] == os.devnull
    assert isolated["GIT_CONFIG_NOSYSTEM"] == "1"
    assert isolated["GNUPGHOME"] == "/tmp/ring"  # `env` is set last


def test_config_goes_before_the_command() -> None:
    git = Git(config=("core.quotePath=false", "safe.directory=/src"))
    assert git.argv(["log", "-1"]) == [
        "git",
        "-c",
        "core.quotePath=false",
        "-c",
        "safe.directory=/src",
        "log",
        "-1",
    ]


def test_failure_carries_stderr(tmp_path: Path) -> None:
    with pytest.raises(GitError) as caught:
        Git(tmp_path).run("rev-parse", "--verify", "HEAD")
    err = caught.value
    assert str(err) == (
        "`git rev-parse` failed: fatal: not a git repository (or any of the parent "
        "directories): .git"
    )
    assert (err.command, err.returncode) == ("rev-parse", 128)
    assert err.stderr == ("fatal: not a git repository (or any of the parent directories): .git\n")
    result = Git(tmp_path).run("rev-parse", "--verify", "HEAD", check=False)
    assert (result.ok, result.returncode, result.args) == (
        False,
        128,
        ("rev-parse", "--verify", "HEAD"),
    )


def test_a_missing_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(GitError) as caught:
        Git(tmp_path / "gone").run("status", check=False)
    assert str(caught.value) == (
        f"cannot run `git status`: No such file or directory: {tmp_path / 'gone'}"
    )
    assert caught.value.returncode is None


def test_timeout(tmp_path: Path) -> None:
    git = Git(tmp_path, config=("alias.wait=!sleep 2",), timeout=0.2)
    with pytest.raises(GitError) as caught:
        git.run("wait")
    assert str(caught.value) == "`git wait` did not finish in 0.2 s"
    assert caught.value.returncode is None


def test_input_and_popen(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    git = Git(repo)
    sha = git.run("hash-object", "-w", "--stdin", input=b"hello\n").text.strip()
    assert git.run("cat-file", "blob", sha).stdout == b"hello\n"
    proc = git.popen("cat-file", "--batch", stdin=True)
    out, err = proc.communicate(sha.encode() + b"\n", timeout=30)
    assert (proc.returncode, out, err) == (0, f"{sha} blob 6\n".encode() + b"hello\n\n", b"")


def test_problem_never_quotes_credentials() -> None:
    token = expand("glpat-{url:20}")
    url = f"https://oauth2:{token}@gitlab.example.com/a/env.git/"
    stderr = f"fatal: unable to access '{url}': 403\n"
    result = Result(("push",), 128, b"", stderr.encode())
    assert result.problem() == (
        "fatal: unable to access 'https://gitlab.example.com/a/env.git/': 403"
    )


def test_a_started_call_is_waited_for_when_its_result_is_asked(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    started = Git(repo).start("symbolic-ref", "HEAD")
    assert started.result() == Git(repo).run("symbolic-ref", "HEAD")
    assert started.result().text == "refs/heads/main\n"  # waited for once
    failing = Git(repo).start("rev-parse", "--verify", "-q", "nope")
    assert failing.result(check=False).returncode == 1
    with pytest.raises(GitError):
        failing.result()
    for to_files in (False, True):
        slow = Git(repo, config=("alias.wait=!sleep 0.5",), timeout=0.2).start(
            "wait", ahead=to_files
        )
        with pytest.raises(GitError, match=r"did not finish in 0\.2 s"):
            slow.result()
    ahead = Git(repo).start("symbolic-ref", "HEAD", ahead=True)
    assert ahead.result().text == "refs/heads/main\n"
    gone = Git(tmp_path / "gone").start("status")
    with pytest.raises(GitError, match="No such file or directory"):
        gone.result(check=False)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="a process forked")
def test_a_process_forked_while_git_runs_ahead_does_not_keep_its_output_files(
    tmp_path: Path,
) -> None:
    # Open in a forked worker, a deleted file would stay on disk (in memory on a tmpfs)
    # until the worker ends.
    repo = _repo(tmp_path / "repo")
    started = Git(repo, config=("alias.wait=!sleep 0.3",)).start("wait", ahead=True)
    out = started._out
    assert out is not None
    fds = [f.fileno() for f in out]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        still = sum(1 for fd in fds if _is_open(fd))
        os.write(write, bytes([still]))
        os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"\0"
    os.close(read)
    os.waitpid(pid, 0)
    assert all(_is_open(fd) for fd in fds)
    assert started.result(check=False).returncode == 0


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_a_call_started_ahead_runs_to_its_end_before_its_result_is_asked(tmp_path: Path) -> None:
    # Its output (past what a pipe holds) goes to a file, with no thread reading it: a
    # process forked meanwhile (the scan's workers) copies no thread.
    repo = _repo(tmp_path / "repo")
    big = b"".join(b"line %d\n" % i for i in range(40_000))  # about 400 KB
    sha = Git(repo).run("hash-object", "-w", "--stdin", input=big).text.strip()
    threads = threading.active_count()
    started = Git(repo).start("cat-file", "blob", sha, ahead=True)
    assert threading.active_count() == threads
    proc = started._proc
    assert proc is not None
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.returncode == 0
    assert started.result().stdout == big
    stopped = Git(repo, config=("alias.wait=!sleep 0.5",)).start("wait", ahead=True)
    stopped.stop()
    assert stopped.result(check=False).returncode != 0
    failing = Git(repo).start("cat-file", "blob", "0" * 40, ahead=True)
    assert b"0000" in failing.result(check=False).stderr
