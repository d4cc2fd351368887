"""The GitHub Action as a runner runs it: action.yml's scan step (its `run:` script and its
`env:`, the inputs put in as GitHub would) under `bash -eo pipefail` in a temporary git
repository, with the variables a runner sets (GITHUB_WORKSPACE, GITHUB_STEP_SUMMARY,
GITHUB_OUTPUT, GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, RUNNER_TEMP). The action file and the
workflow docs/ci.md offers are held to deploysafe's own CI rules and to zizmor."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from deploysafe.cli.action import Inputs, read_inputs, scan_argv
from deploysafe.cli.exits import EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE
from deploysafe.formats import jobsummary as summary
from tests.support import paths
from tests.support.scantools import PRIVILEGED_POD, invoke

ACTION = paths.REPO / "action.yml"
SARIF_SCHEMA = paths.DATA / "sarif-schema-2.1.0.json"
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
HARDENED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: app
    image: nginx:1.27@sha256:0000000000000000000000000000000000000000000000000000000000000000
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
      readOnlyRootFilesystem: true
    resources:
      requests: {cpu: 100m}
      limits: {memory: 128Mi}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
"""


def action() -> dict[str, Any]:
    doc = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def step(step_id: str) -> dict[str, Any]:
    found = [s for s in action()["runs"]["steps"] if s.get("id") == step_id]
    assert len(found) == 1
    return dict(found[0])


def expand(value: str, inputs: dict[str, str]) -> str:
    """An `env:` value with `${{ inputs.NAME }}` put in as GitHub does (the input given, else
    its default); any other expression fails the test, so a new one is tested on purpose."""
    defaults = {k: str(v.get("default", "")) for k, v in action()["inputs"].items()}

    def one(m: re.Match[str]) -> str:
        expr = m.group(1)
        assert expr.startswith("inputs."), f"expression not simulated: {expr}"
        name = expr.removeprefix("inputs.")
        return inputs.get(name, defaults[name])

    return _EXPRESSION.sub(one, value)


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z"}
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return done.stdout.strip()


def repository(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "work" / "shop"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("shop\n", encoding="utf-8")
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "first")
    return repo


class Run:
    """One run of the scan step: exit code, log, and the files GitHub reads afterwards."""

    def __init__(self, code: int, stdout: str, stderr: str, summary: str, outputs: str) -> None:
        self.code = code
        self.stdout = stdout
        self.stderr = stderr
        self.summary = summary
        self.outputs = dict(line.split("=", 1) for line in outputs.splitlines())


def run_step(
    repo: Path,
    tmp_path: Path,
    inputs: dict[str, str],
    *,
    event: str = "push",
    payload: dict[str, Any] | None = None,
) -> Run:
    runner = tmp_path / "runner"
    python = runner / "deploysafe-venv" / "bin" / "python"
    if not python.exists():  # no install step ran: the venv is this test's interpreter
        python.parent.mkdir(parents=True)
        python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
        python.chmod(0o755)
    summary_file = runner / "step_summary.md"
    output_file = runner / "output.txt"
    event_file = runner / "event.json"
    for f in (summary_file, output_file):
        f.write_text("", encoding="utf-8")
    event_file.write_text(json.dumps(payload or {}), encoding="utf-8")
    scan = step("scan")
    script = runner / "scan.sh"
    script.write_text(scan["run"], encoding="utf-8")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GITHUB_ACTIONS": "true",
        "RUNNER_TEMP": str(runner),
        "GITHUB_WORKSPACE": str(repo),
        "GITHUB_STEP_SUMMARY": str(summary_file),
        "GITHUB_OUTPUT": str(output_file),
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_file),
        **{k: expand(str(v), inputs) for k, v in scan["env"].items()},
    }
    # How a runner starts a `shell: bash` step.
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return Run(
        done.returncode,
        done.stdout,
        done.stderr,
        summary_file.read_text(encoding="utf-8"),
        output_file.read_text(encoding="utf-8"),
    )


def sarif_log(run: Run) -> dict[str, Any]:
    log = json.loads(Path(run.outputs["sarif-file"]).read_text(encoding="utf-8"))
    jsonschema.validate(log, json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
    assert isinstance(log, dict)
    return log


def test_insecure_manifest_fails_with_summary_and_sarif(tmp_path: Path) -> None:
    repo = repository(tmp_path, {"deploy/pod.yaml": PRIVILEGED_POD})
    run = run_step(repo, tmp_path, {"fail-on": "high"})
    assert run.code == EXIT_FINDINGS, run.stderr
    log = sarif_log(run)
    assert Path(run.outputs["sarif-file"]) == tmp_path / "runner" / "deploysafe.sarif"
    rows = summary.rows_of(log)
    assert ("DS201", "deploy/pod.yaml", 11) in {(r.rule_id, r.file, r.line) for r in rows}
    assert run.outputs == {
        "exit-code": "1",
        "sarif-file": str(tmp_path / "runner" / "deploysafe.sarif"),
        "findings": str(len(rows)),
        "failing": "1",
    }
    assert run.summary == summary.markdown(log)
    lines = run.summary.splitlines()
    assert lines[0] == f"### deploysafe: {len(rows)} finding(s), 1 at or above high"
    assert "| critical | DS201 | deploy/pod.yaml:11 | container 'app' runs privileged |" in lines
    assert lines[3:11] == [
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        "| 1 Trusted triggers | 0 | 0 | 0 | 0 | 0 | 0 |",
        "| 2 Know the environment | 1 | 0 | 4 | 0 | 0 | 5 |",
        "| 3 Secrets policy | 0 | 0 | 0 | 0 | 0 | 0 |",
        "| 4 GitOps | 0 | 0 | 0 | 0 | 0 | 0 |",
        "| 5 No insecure defaults | 0 | 0 | 3 | 2 | 0 | 5 |",
        "| 6 Tests gate every deploy | 0 | 0 | 0 | 0 | 0 | 0 |",
        "| **all** | 1 | 0 | 7 | 2 | 0 | **10** |",
    ]
    # The log: the command, one line per finding, the annotations of the most severe.
    out = run.stdout.splitlines()
    assert out[0] == (
        "deploysafe scan . --format sarif --output "
        f"{tmp_path / 'runner' / 'deploysafe.sarif'} --fail-on high"
    )
    assert "deploy/pod.yaml:11: critical DS201 container 'app' runs privileged" in out
    assert (
        "::error file=deploy/pod.yaml,line=11,title=deploysafe DS201%3A "
        "Containers must not run privileged::container 'app' runs privileged (critical)"
    ) in out
    assert sum(1 for ln in out if ln.startswith("::warning ")) == len(rows) - 1


def test_fail_on_never_passes_and_still_reports(tmp_path: Path) -> None:
    repo = repository(tmp_path, {"deploy/pod.yaml": PRIVILEGED_POD})
    run = run_step(repo, tmp_path, {"fail-on": "never", "upload-sarif": "false"})
    assert run.code == EXIT_CLEAN, run.stderr
    assert run.outputs["exit-code"] == "0"
    assert run.outputs["failing"] == "1"
    assert run.summary.startswith(f"### deploysafe: {run.outputs['findings']} finding(s), 1 at")
    sarif_log(run)


def test_clean_repository_passes(tmp_path: Path) -> None:
    repo = repository(tmp_path, {"deploy/pod.yaml": HARDENED_POD})
    run = run_step(repo, tmp_path, {"fail-on": "medium", "sarif-file": "out/ds.sarif"})
    assert run.code == EXIT_CLEAN, run.stdout + run.stderr
    assert run.summary == "### deploysafe: no findings\n"
    assert run.outputs["sarif-file"] == "out/ds.sarif"
    assert (repo / "out" / "ds.sarif").is_file()


def test_a_wrong_input_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    repo = repository(tmp_path, {"deploy/pod.yaml": PRIVILEGED_POD})
    run = run_step(repo, tmp_path, {"fail-on": "severe"})
    assert run.code == EXIT_USAGE
    assert run.stderr == (
        "error: input fail-on: 'severe' is not one of critical, high, medium, low, info, never\n"
    )
    assert (run.summary, run.outputs) == ("", {})


def test_a_scan_that_cannot_start_says_so_in_the_summary(tmp_path: Path) -> None:
    repo = repository(tmp_path, {"deploy/pod.yaml": PRIVILEGED_POD})
    run = run_step(repo, tmp_path, {"paths": "deploy missing"})
    assert run.code == EXIT_USAGE
    assert run.summary == (
        "### deploysafe: the scan did not finish (exit code 2)\n\n"
        "It wrote no report; the job log says why.\n"
    )
    assert run.outputs == {"exit-code": "2"}


def test_names_from_the_repository_cannot_act_as_workflow_commands(tmp_path: Path) -> None:
    hostile = "deploy/::add-mask::x,y.yaml"
    repo = repository(tmp_path, {hostile: PRIVILEGED_POD})
    run = run_step(repo, tmp_path, {"args": "--no-render"})
    assert run.code == EXIT_FINDINGS
    tokens = re.findall(r"^::stop-commands::([0-9a-f]{32})$", run.stdout, re.M)
    assert len(tokens) == 2 and tokens[0] == tokens[1]
    commands = []
    stopped = False
    for line in run.stdout.splitlines():
        if line == f"::stop-commands::{tokens[0]}":
            stopped = True
        elif line == f"::{tokens[0]}::":
            stopped = False
        elif line.startswith("::") and not stopped:
            commands.append(line)
    assert commands
    assert all(
        c.startswith(
            (
                "::error file=deploy/%3A%3Aadd-mask%3A%3Ax%2Cy.yaml,",
                "::warning file=deploy/%3A%3Aadd-mask%3A%3Ax%2Cy.yaml,",
            )
        )
        for c in commands
    )


def test_pull_request_scans_changes_since_its_base(tmp_path: Path) -> None:
    repo = repository(tmp_path, {"deploy/pod.yaml": PRIVILEGED_POD})
    base = git(repo, "rev-parse", "HEAD")
    (repo / "README.md").write_text("shop, documented\n", encoding="utf-8")
    git(repo, "commit", "-q", "-am", "docs only")
    payload = {"pull_request": {"base": {"sha": base}}}
    env = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(tmp_path / "e.json")}
    (tmp_path / "e.json").write_text(json.dumps(payload), encoding="utf-8")
    assert read_inputs(env).changed_since == base
    assert read_inputs({**env, "INPUT_CHANGED_SINCE": "none"}).changed_since is None
    assert read_inputs({**env, "INPUT_CHANGED_SINCE": "v1.2"}).changed_since == "v1.2"
    assert read_inputs({"GITHUB_EVENT_NAME": "push"}).changed_since is None
    argv = scan_argv(Inputs(("deploy",), "high", Path("o.sarif"), base, ("-n", "x")))
    assert argv == [
        "scan",
        "deploy",
        "--format",
        "sarif",
        "--output",
        "o.sarif",
        "--fail-on",
        "high",
        "--changed-since",
        base,
        "-n",
        "x",
    ]
    run = run_step(repo, tmp_path, {"fail-on": "high"}, event="pull_request", payload=payload)
    # The pull request changes no manifest: the privileged pod is not its doing.
    assert run.code == EXIT_CLEAN, run.stdout + run.stderr
    assert f"--changed-since {base}" in run.stdout.splitlines()[0]


def test_install_step_then_scan_with_what_it_installed(tmp_path: Path) -> None:
    """The install step as the runner runs it, from a checkout of the action (the files git
    tracks, as a pinned action is fetched), then the scan step on that installation."""
    action_path = tmp_path / "_actions" / "deploysafe" / "deploysafe" / "pinned"
    listed = (
        subprocess.run(
            [
                "git",
                "-C",
                str(paths.REPO),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = paths.REPO / name
        if source.is_file():
            (action_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, action_path / name)
    runner = tmp_path / "runner"
    runner.mkdir()
    install = next(s for s in action()["runs"]["steps"] if s.get("name") == "Install deploysafe")
    script = runner / "install.sh"
    script.write_text(install["run"], encoding="utf-8")
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "RUNNER_TEMP": str(runner),
            "ACTION_PATH": str(action_path),
            "PYTHON": sys.executable,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    installed = runner / "deploysafe-venv" / "bin" / "python"
    probe = subprocess.run(
        [str(installed), "-c", "import deploysafe, helm_python; print(deploysafe.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.startswith(str(runner / "deploysafe-venv"))
    # A chart's template is judged only when rendered: the Helm extra is in the installation.
    chart = {
        "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "charts/web/templates/pod.yaml": PRIVILEGED_POD.replace(
            "name: web", "name: {{ .Release.Name }}-web"
        ),
    }
    repo = repository(tmp_path, {"deploy/pod.yaml": PRIVILEGED_POD, **chart})
    run = run_step(repo, tmp_path, {"fail-on": "critical"})
    assert run.code == EXIT_FINDINGS, run.stderr
    assert run.outputs["failing"] == "2"
    failing = {(r.file, r.line) for r in summary.rows_of(sarif_log(run)) if r.rule_id == "DS201"}
    assert failing == {("deploy/pod.yaml", 11), ("charts/web/templates/pod.yaml", 11)}


# ------------------------------------------------------------------ the action's own files


def documented_workflow() -> str:
    """The workflow docs/ci.md offers, the action pinned to a commit as the reader will."""
    text = (paths.DOCS / "ci.md").read_text(encoding="utf-8")
    blocks: list[str] = re.findall(r"```yaml\n(.*?)```", text, re.S)
    found = [b for b in blocks if "uses: deploysafe/deploysafe@" in b and "jobs:" in b]
    assert len(found) == 1
    return found[0].replace(
        "deploysafe/deploysafe@<commit-sha>", "deploysafe/deploysafe@" + "a" * 40
    )


@pytest.fixture
def own_files(tmp_path: Path) -> Path:
    repo = tmp_path / "user"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "deploysafe-scan.yml").write_text(
        documented_workflow(), encoding="utf-8"
    )
    shutil.copy(ACTION, repo / "action.yml")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def test_action_and_documented_workflow_pass_deploysafe(own_files: Path) -> None:
    result = invoke("scan", str(own_files), "--fail-on", "info", "--format", "json")
    assert result.exit_code == EXIT_CLEAN, result.output
    doc = json.loads(result.output)
    assert doc["findings"] == []
    assert [c["file"] for c in doc["skipped_files"]] == []
    assert doc["summary"]["files"] == 2


def test_action_and_documented_workflow_pass_zizmor(own_files: Path) -> None:
    zizmor = shutil.which("zizmor") or shutil.which("zizmor", path=str(Path(sys.executable).parent))
    if zizmor is None:
        pytest.skip("zizmor is not installed (it comes with the dev extra)")
    done = subprocess.run(
        [
            zizmor,
            "--offline",
            "--persona=auditor",
            "--format=plain",
            "--color=never",
            str(own_files),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "No findings to report. Good job!")


def test_action_pins_every_action_and_passes_inputs_through_env() -> None:
    steps = action()["runs"]["steps"]
    for s in steps:
        if "uses" in s:
            assert re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", s["uses"]), s["uses"]
        if "run" in s:
            assert "${{" not in s["run"], s["name"]
    assert [s["uses"].split("@")[0] for s in steps if "uses" in s] == [
        "actions/setup-python",
        "github/codeql-action/upload-sarif",
    ]
    assert step("scan")["env"] == {
        "INPUT_PATHS": "${{ inputs.paths }}",
        "INPUT_FAIL_ON": "${{ inputs.fail-on }}",
        "INPUT_SARIF_FILE": "${{ inputs.sarif-file }}",
        "INPUT_CHANGED_SINCE": "${{ inputs.changed-since }}",
        "INPUT_ARGS": "${{ inputs.args }}",
    }
