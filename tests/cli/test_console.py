"""The console command ends its process without the interpreter's teardown: its output,
its exit code and the process's exit handlers are what they would be without that."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import cliproc


def _insecure_tree(root: Path, count: int) -> Path:
    """`count` manifests whose findings make a report far larger than a pipe holds."""
    for i in range(count):
        (root / f"app-{i:03}.yaml").write_text(
            "apiVersion: v1\nkind: Pod\nmetadata:\n"
            f"  name: app-{i}\n  namespace: shop\nspec:\n  containers:\n"
            f"    - name: app\n      image: nginx:latest\n"
            "      securityContext:\n        privileged: true\n",
            encoding="utf-8",
        )
    return root


def test_a_report_larger_than_a_pipe_reaches_the_reader_whole(tmp_path: Path) -> None:
    tree = _insecure_tree(tmp_path, 150)
    proc = cliproc.run("scan", "--no-render", "--format", "json", str(tree))
    assert len(proc.stdout) > 256 * 1024  # several times what a pipe buffers
    report = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert {f["file"] for f in report["findings"]} == {f"app-{i:03}.yaml" for i in range(150)}


def test_a_report_written_to_a_file_is_whole(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    _insecure_tree(tree, 40)
    out = tmp_path / "report.sarif"
    proc = cliproc.run("scan", "--no-render", "--format", "sarif", "--output", str(out), str(tree))
    assert proc.returncode == 1
    results = json.loads(out.read_text(encoding="utf-8"))["runs"][0]["results"]
    files = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert len(files) == 40


def _python_running_the_command(tmp_path: Path, before: str, *args: str) -> int:
    """Exit status of a Python that runs `before`, then the console command with `args`
    (as the installed script calls it)."""
    script = (
        "import sys\n"
        f"{before}\n"
        f"sys.argv = ['deploysafe', *{list(args)!r}]\n"
        "from deploysafe.cli.main import run\n"
        "sys.exit(run())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=cliproc.environment(),
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode


def test_exit_handlers_still_run(tmp_path: Path) -> None:
    mark = tmp_path / "ran"
    before = (
        "import atexit, pathlib\n"
        f"atexit.register(pathlib.Path({str(mark)!r}).write_text, 'handler ran')"
    )
    assert _python_running_the_command(tmp_path, before, "--version") == 0
    assert mark.read_text() == "handler ran"


def test_a_thread_still_running_is_waited_for(tmp_path: Path) -> None:
    mark = tmp_path / "written"
    before = (
        "import pathlib, threading, time\n"
        "def late():\n"
        "    time.sleep(0.5)\n"
        f"    pathlib.Path({str(mark)!r}).write_text('thread done')\n"
        "threading.Thread(target=late).start()"
    )
    assert _python_running_the_command(tmp_path, before, "--version") == 0
    assert mark.read_text() == "thread done"


def test_exit_codes_are_kept(tmp_path: Path) -> None:
    assert _python_running_the_command(tmp_path, "", "scan", "--no-such-option") == 2
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "README.md").write_text("nothing to deploy here\n", encoding="utf-8")
    assert _python_running_the_command(tmp_path, "", "scan", "--no-render", str(clean)) in (0, 5)


def test_a_profiled_run_writes_its_profile(tmp_path: Path) -> None:
    out = tmp_path / "scan.prof"
    done = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(out), str(cliproc.exe()), "--version"],
        capture_output=True,
        text=True,
        env=cliproc.environment(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 0
