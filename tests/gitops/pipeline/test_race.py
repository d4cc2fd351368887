"""Two real `deploysafe deploy` processes racing to one environment.

A barrier in the test stage orders them: both have read the environment repository before
either pushes, so the second push is always refused by git and the loser must decide. No
release is ever lost: the loser re-applies on the new head when the winner's code is in its
own, and stops with a clear message when re-applying would undo the winner.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.gitops.pipeline.conftest import App, run

BARRIER = """\
#!/bin/sh
# first: release once the other deploy has reached its tests (so it read the old head).
# second: go on once the first release has landed in the environment repository.
touch "$BARRIER/$ROLE"
case "$ROLE" in
  first) until [ -e "$BARRIER/second" ]; do sleep 0.05; done ;;
  second) until git --git-dir "$ENV_REPO" rev-parse -q --verify refs/heads/main >/dev/null; do
            sleep 0.05
          done ;;
esac
echo "$ROLE passed the barrier"
"""


def checkouts(app: App, tmp_path: Path) -> tuple[Path, str, Path, str]:
    """Two CI checkouts: one at an older commit, one at a newer one."""
    app.write("tests/barrier.sh", BARRIER)
    env = app.environment(tests=[{"name": "barrier", "run": "sh tests/barrier.sh", "timeout": 30}])
    app.configure({"prod": env})
    older = app.commit("barrier test")
    app.write("values-prod.yaml", "replicas: 6\nmessage: newer\n")
    newer = app.commit("newer")
    a, b = tmp_path / "ci-a", tmp_path / "ci-b"
    for path, commit in ((a, older), (b, newer)):
        run("git", "clone", "-q", app.origin, path)
        run("git", "-C", path, "checkout", "-q", "-B", "main", commit)
    return a, older, b, newer


def race(app: App, tmp_path: Path, first: Path, second: Path) -> dict[str, subprocess.Popen[str]]:
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    exe = Path(sys.executable).parent / "deploysafe"
    procs = {}
    for role, checkout in (("first", first), ("second", second)):
        env = {**os.environ, "ROLE": role, "BARRIER": str(barrier), "ENV_REPO": str(app.env_repo)}
        procs[role] = subprocess.Popen(
            [str(exe), "deploy", "prod", "--trust-on-first-use", "--format", "json"],
            cwd=checkout,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    for p in procs.values():
        p.wait(timeout=90)
    return procs


def test_loser_reapplies_on_the_new_head(app: App, tmp_path: Path) -> None:
    a, older, b, newer = checkouts(app, tmp_path)
    procs = race(app, tmp_path, first=a, second=b)
    outs = {role: p.communicate() for role, p in procs.items()}
    assert procs["first"].returncode == 0, outs["first"][1]
    assert procs["second"].returncode == 0, outs["second"][1]
    won, lost = json.loads(outs["first"][0]), json.loads(outs["second"][0])
    assert (won["release"], won["source"]["commit"]) == ("prod-1", older)
    assert (lost["release"], lost["source"]["commit"]) == ("prod-2", newer)
    assert lost["reapplied_after"] == ["prod-1"]
    assert "won" not in lost and "reapplied_after" not in won
    assert "  release: prod-1 landed first (environment repository now at " in outs["second"][1]
    # Both releases are in the history, newest (the newer code) on top.
    history = json.loads(app.cli("history", "prod", "--format", "json").output)
    assert [(r["release"], r["source_commit"]) for r in history] == [
        ("prod-2", newer),
        ("prod-1", older),
    ]
    assert app.env_git("rev-parse", "main") == lost["env_commit"]
    assert app.env_git("rev-parse", "main~1") == won["env_commit"]
    assert "  replicas: 6\n" in app.env_show("clusters/prod/shop/shop/deployment-shop-web.yaml")


def test_loser_stops_rather_than_undo_newer_code(app: App, tmp_path: Path) -> None:
    a, older, b, newer = checkouts(app, tmp_path)
    procs = race(app, tmp_path, first=b, second=a)
    outs = {role: p.communicate() for role, p in procs.items()}
    assert procs["first"].returncode == 0, outs["first"][1]
    assert procs["second"].returncode == 1, outs["second"]
    won, lost = json.loads(outs["first"][0]), json.loads(outs["second"][0])
    assert (won["release"], won["source"]["commit"]) == ("prod-1", newer)
    assert lost["status"] == "refused"
    assert lost["failed_stage"] == "release"
    assert lost["reason"] == (
        f"release prod-1 (source {newer[:12]}) landed while this deploy ran, and {newer[:12]} "
        f"is not an ancestor of this deploy's commit {older[:12]}: releasing on top would undo "
        "it. Nothing was pushed; deploy from a commit that contains it, or roll back explicitly"
    )
    history = json.loads(app.cli("history", "prod", "--format", "json").output)
    assert [(r["release"], r["source_commit"]) for r in history] == [("prod-1", newer)]
