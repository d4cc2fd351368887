"""A real `deploysafe deploy` process stopped while its test stage runs: by SIGTERM (a CI
job cancelled) and by SIGKILL to its process group. The test stage's processes must die
with it and its temp folder must not be left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from deploysafe.cli.exits import ExitCode
from tests.gitops.pipeline.conftest import App

DEADLINE = 30.0


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status  # a zombie has stopped running


def _wait_for(what: str, ok: object, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if ok() if callable(ok) else ok:
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _start(app: App, tmp_path: Path, *, session: bool) -> tuple[subprocess.Popen[str], Path, int]:
    """A deploy whose test stage starts a long sleep and writes its pid; that pid."""
    pidfile = tmp_path / "sleep.pid"
    tests = [{"name": "slow", "run": f"sleep 300 & echo $! > {pidfile}; wait", "timeout": "5m"}]
    app.configure({"prod": app.environment(tests=tests)})
    app.commit("a slow test")
    temp = tmp_path / "tmp"
    temp.mkdir()
    exe = Path(sys.executable).parent / "deploysafe"
    proc = subprocess.Popen(
        [str(exe), "deploy", "prod", "--trust-on-first-use"],
        cwd=app.root,
        env={**os.environ, "TMPDIR": str(temp)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=session,
    )
    _wait_for("the test stage to start", lambda: pidfile.is_file() and pidfile.read_text())
    pid = int(pidfile.read_text())
    assert _alive(pid)
    assert [p.name[:18] for p in temp.iterdir()] == ["deploysafe-deploy-"]
    return proc, temp, pid


def test_sigterm_stops_the_test_stage_and_removes_the_temp_folder(app: App, tmp_path: Path) -> None:
    proc, temp, pid = _start(app, tmp_path, session=False)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == ExitCode.CANCELLED
    assert int(ExitCode.CANCELLED) == 143
    assert err.splitlines()[-1] == (
        "error: deploy stopped by SIGTERM; its test stage and temp folder were cleaned up. A "
        "release is pushed whole or not at all: `deploysafe history` shows whether it landed"
    )
    assert "Traceback" not in err
    _wait_for("the test's sleep to die", lambda: not _alive(pid), 5.0)
    assert list(temp.iterdir()) == []
    assert app.env_head() is None


def test_sigkill_to_the_process_group_stops_the_test_stage(app: App, tmp_path: Path) -> None:
    proc, temp, pid = _start(app, tmp_path, session=True)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=DEADLINE)
    assert proc.returncode == -signal.SIGKILL
    _wait_for("the test's sleep to die", lambda: not _alive(pid), 5.0)
    _wait_for("the temp folder to go", lambda: list(temp.iterdir()) == [], 5.0)
    assert app.env_head() is None
