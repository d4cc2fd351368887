"""What a person at a terminal sees, through the installed CLI on a real pseudo-terminal:
the progress line on stderr (quiet in CI and on a pipe), colour as NO_COLOR and FORCE_COLOR
ask, and the text report wrapped to the terminal's width."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deploysafe.inputs.render import kustomize_available
from tests.support import paths
from tests.support.cliproc import run, run_tty
from tests.support.scantools import PRIVILEGED_POD

INSECURE = str(paths.EXAMPLES / "insecure")
ANSI = re.compile(rb"\x1b\[[0-9;]*m")
# Enough files that checking them takes well over the progress line's one-second delay.
SLOW_FILES = 5000


def _pods(root: Path) -> Path:
    for i in range(SLOW_FILES):
        (root / f"pod{i}.yaml").write_text(
            PRIVILEGED_POD.replace("name: web", f"name: web{i}"), encoding="utf-8"
        )
    return root


@pytest.fixture(scope="module")
def slow_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _pods(tmp_path_factory.mktemp("slow"))


def test_progress_on_a_terminal_for_long_work(slow_tree: Path) -> None:
    done = run_tty("scan", str(slow_tree), "-j", "1", "--format", "compact")
    assert done.returncode == 1
    draws = re.findall(
        rb"\rdeploysafe: checking files (\d+)/%d, (\d+) findings so far \((\d+\.\d) s\)"
        % SLOW_FILES,
        done.terminal,
    )
    assert draws, done.terminal[:500]
    files = [int(f) for f, _, _ in draws]
    assert files == sorted(files) and 0 < files[0] <= files[-1] <= SLOW_FILES
    # Each file holds a privileged pod: nine findings each as its file is checked (the
    # tenth, a cross-resource rule's, is decided once every file is read).
    assert all(int(n) == 9 * int(f) for f, n, _ in draws)
    assert all(float(t) >= 1.0 for _, _, t in draws)  # not for short work
    # The line is erased before the report, which stdout holds whole and unmixed.
    last = done.terminal.rsplit(b"\r", 2)
    assert last[-1] == b"" and last[-2].strip(b" ") == b""
    assert b"\r" not in done.stdout and b"deploysafe: checking" not in done.stdout
    assert (
        done.stdout.decode()
        .splitlines()[-1]
        .startswith(f"{SLOW_FILES} file(s), {SLOW_FILES} object(s)")
    )


@pytest.mark.skipif(kustomize_available() is None, reason="neither kustomize nor kubectl")
def test_progress_counts_renders(tmp_path: Path) -> None:
    _pods(tmp_path)
    overlay = tmp_path / "app"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources: [pod.yaml]\n", encoding="utf-8")
    (overlay / "pod.yaml").write_text(PRIVILEGED_POD, encoding="utf-8")
    done = run_tty("scan", str(tmp_path), "-j", "1", "--format", "compact")
    assert done.returncode == 1
    assert re.search(
        rb"\rdeploysafe: checking files \d+/\d+, 1/1 renders, \d+ findings so far",
        done.terminal,
    ), done.terminal[:500]


def test_no_progress_for_short_work() -> None:
    done = run_tty("scan", INSECURE, "--format", "json")
    assert done.returncode == 1
    assert done.terminal == b""


def test_no_progress_in_ci_or_on_a_pipe(slow_tree: Path) -> None:
    args = ("scan", str(slow_tree), "-j", "1", "--format", "compact")
    in_ci = run_tty(*args, env={"CI": "true"})
    assert in_ci.returncode == 1
    assert in_ci.terminal == b""
    piped = run_tty(*args, stdout_tty=True, stderr_tty=False)
    assert piped.returncode == 1
    assert piped.stderr == b""
    assert b"deploysafe: checking" not in piped.terminal


def test_colour_on_a_terminal_unless_no_color() -> None:
    plain = run_tty("scan", INSECURE, stdout_tty=True)
    assert ANSI.search(plain.terminal)
    for env in ({"NO_COLOR": "1"}, {"NO_COLOR": "1", "FORCE_COLOR": "1"}):
        quiet = run_tty("scan", INSECURE, stdout_tty=True, env=env)
        assert quiet.returncode == 1
        assert b"\x1b" not in quiet.terminal
        # The same report, without its colour.
        assert quiet.terminal == ANSI.sub(b"", plain.terminal)


def test_force_color_colours_a_pipe() -> None:
    forced = run("scan", INSECURE, env={"FORCE_COLOR": "1"})
    assert forced.returncode == 1
    assert "\x1b[1;31mcritical\x1b[0m" in forced.stdout
    assert "\x1b" not in run("scan", INSECURE).stdout
    assert "\x1b" not in run("scan", INSECURE, env={"FORCE_COLOR": "0"}).stdout
    # A report file is never coloured.
    out_file = run("scan", INSECURE, "--format", "text", "--output", "/dev/stdout")
    assert "\x1b" not in out_file.stdout


def test_text_wraps_to_the_terminal_width() -> None:
    piped = run("scan", INSECURE).stdout.splitlines()
    long = [ln for ln in piped if "DS230 ClusterRole 'shop-operator' rules[0]" in ln]
    assert len(long) == 1 and len(long[0]) > 200  # a pipe keeps one finding per line
    shown = run_tty("scan", INSECURE, stdout_tty=True, columns=72, env={"NO_COLOR": "1"})
    lines = shown.terminal.decode().split("\r\n")
    assert max(len(ln) for ln in lines) <= 72
    at = next(i for i, ln in enumerate(lines) if "DS230 ClusterRole 'shop-operator'" in ln)
    head = lines[at]
    indent = head.index("ClusterRole")
    # Continuation lines start under the message, and together they are the whole message.
    rest = []
    for ln in lines[at + 1 :]:
        if not ln.startswith(" " * indent) or ln[indent] == " ":
            break
        rest.append(ln[indent:])
    assert rest
    assert " ".join([head[indent:], *rest]) == long[0][long[0].index("ClusterRole") :]
