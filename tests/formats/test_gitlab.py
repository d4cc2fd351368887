"""`--format gitlab-sast` (GitLab's SAST security report), and the GitLab CI template run as
a runner runs it: its `script:` lines, one shell, in a temporary repository with the
variables GitLab sets."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from deploysafe.cli.exits import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_FINDINGS_AND_INPUT,
    EXIT_USAGE,
)
from deploysafe.engine import Report
from deploysafe.formats import gitlab, sarif
from deploysafe.rules import BY_ID
from tests.support import paths
from tests.support.scantools import PRIVILEGED_POD, invoke, scan_tree

SCHEMA = json.loads((paths.DATA / "gitlab-sast-report-15-required.json").read_text("utf-8"))
TEMPLATE = paths.REPO / "ci" / "gitlab" / "deploysafe.gitlab-ci.yml"
WHEN = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    root = tmp_path_factory.mktemp("repo")
    (root / "web").mkdir()
    (root / "web" / "pod.yaml").write_text(PRIVILEGED_POD, encoding="utf-8")
    (root / "ignored.yaml").write_text(
        PRIVILEGED_POD.replace("name: web", "name: quiet").replace(
            "      privileged: true\n",
            "      # deploysafe: ignore[DS201] node agent\n      privileged: true\n",
        ),
        encoding="utf-8",
    )
    (root / "broken.yaml").write_text("a: [\n", encoding="utf-8")
    return scan_tree(root)


@pytest.fixture(scope="module")
def doc(report: Report) -> dict[str, Any]:
    out = json.loads(gitlab.render(report, started=WHEN, ended=WHEN))
    assert isinstance(out, dict)
    return out


def test_report_validates_against_the_schema(doc: dict[str, Any]) -> None:
    jsonschema.validate(doc, SCHEMA)


def test_the_schema_catches_a_broken_report(doc: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(doc))
    broken["vulnerabilities"][0]["severity"] = "critical"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_scan_section(doc: dict[str, Any]) -> None:
    tool = {
        "id": "deploysafe",
        "name": "deploysafe",
        "url": "https://github.com/deploysafe/deploysafe",
        "vendor": {"name": "deploysafe"},
        "version": doc["scan"]["analyzer"]["version"],
    }
    assert doc["scan"] == {
        "analyzer": tool,
        "scanner": tool,
        "type": "sast",
        "start_time": "2026-03-01T12:30:05",
        "end_time": "2026-03-01T12:30:05",
        "status": "success",
        "messages": [
            {
                "level": "warn",
                "value": "broken.yaml:2: invalid YAML: while parsing a flow node: did not "
                "find expected node content",
            }
        ],
    }
    assert doc["version"] == "15.0.7"


def test_privileged_vulnerability_exact(doc: dict[str, Any], report: Report) -> None:
    found = [v for v in doc["vulnerabilities"] if v["identifiers"][0]["value"] == "DS201"]
    shown = [f for f in report.findings if f.suppressed is None]
    ds201 = next(f for f in shown if f.rule_id == "DS201")
    fingerprint = dict(sarif.fingerprinted(shown, report))[ds201]
    page = "https://github.com/deploysafe/deploysafe/blob/main/docs/rules/DS201.md"
    assert found == [
        {
            "id": str(uuid.uuid5(gitlab._NAMESPACE, fingerprint)),
            "name": "Containers must not run privileged",
            "description": "container 'app' runs privileged (Pod shop/web).",
            "severity": "Critical",
            "solution": BY_ID["DS201"].fix,
            "scanner": {"id": "deploysafe", "name": "deploysafe"},
            "location": {"file": "web/pod.yaml", "start_line": 11},
            "identifiers": [
                {
                    "type": "deploysafe_rule_id",
                    "name": "deploysafe DS201",
                    "value": "DS201",
                    "url": page,
                }
            ],
            "links": [{"name": "DS201: Containers must not run privileged", "url": page}],
        }
    ]


def test_suppressed_findings_are_left_out_and_ids_are_unique(
    doc: dict[str, Any], report: Report
) -> None:
    active = [f for f in report.findings if f.suppressed is None]
    assert len(doc["vulnerabilities"]) == len(active) < len(report.findings)
    assert ("ignored.yaml", "DS201") not in {
        (v["location"]["file"], v["identifiers"][0]["value"]) for v in doc["vulnerabilities"]
    }
    ids = [v["id"] for v in doc["vulnerabilities"]]
    assert len(set(ids)) == len(ids)


def test_ids_are_stable_across_scans(report: Report, tmp_path: Path) -> None:
    again = json.loads(gitlab.render(report, started=WHEN, ended=datetime.now(UTC)))
    first = json.loads(gitlab.render(report, started=WHEN, ended=WHEN))
    assert [v["id"] for v in again["vulnerabilities"]] == [
        v["id"] for v in first["vulnerabilities"]
    ]


def test_cli_format_names_files_from_the_repository_top(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "pod.yaml").write_text(PRIVILEGED_POD, encoding="utf-8")
    result = invoke("scan", str(tmp_path / "deploy"), "--format", "gitlab-sast")
    assert result.exit_code == EXIT_FINDINGS
    out = json.loads(result.output)
    jsonschema.validate(out, SCHEMA)
    assert {v["location"]["file"] for v in out["vulnerabilities"]} == {"deploy/pod.yaml"}


# ------------------------------------------------------------------ the CI template


def template_script() -> str:
    """The job's `script:` as a runner runs it: every line in one shell, stopping at the
    first that fails."""
    job = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))["deploysafe"]
    assert job["artifacts"]["reports"]["sast"] == "gl-sast-deploysafe.json"
    lines: list[str] = job["script"]
    return "set -eo pipefail\n" + "\n".join(lines) + "\n"


def run_template(repo: Path, tmp_path: Path, variables: dict[str, str]) -> tuple[int, str]:
    job = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))["deploysafe"]
    script = tmp_path / "job.sh"
    script.write_text(template_script(), encoding="utf-8")
    venv_bin = Path(os.environ.get("VIRTUAL_ENV", "")) / "bin"
    here = Path(paths.REPO / ".venv" / "bin")
    env = {
        "PATH": f"{here if here.is_dir() else venv_bin}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_PROJECT_DIR": str(repo),
        "CI_COMMIT_SHA": "0" * 40,
        "CI_PIPELINE_SOURCE": "merge_request_event",
        **{k: str(v) for k, v in job["variables"].items()},
        **variables,
    }
    done = subprocess.run(
        ["bash", str(script)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "builds" / "shop"
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    return repo


def test_template_fails_on_findings_and_writes_the_report(tmp_path: Path) -> None:
    repo = project(tmp_path, {"deploy/pod.yaml": PRIVILEGED_POD})
    code, log = run_template(repo, tmp_path, {"DEPLOYSAFE_FAIL_ON": "high"})
    assert code == EXIT_FINDINGS, log
    report = json.loads((repo / "gl-sast-deploysafe.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, SCHEMA)
    found = report["vulnerabilities"]
    lines = log.splitlines()
    assert lines[0] == (
        f"deploysafe: {len(found)} finding(s), details in the merge request's security widget"
    )
    assert "deploy/pod.yaml:11: Critical DS201 Containers must not run privileged" in lines
    assert len(lines) == len(found) + 1


def test_template_passes_below_fail_on(tmp_path: Path) -> None:
    repo = project(tmp_path, {"deploy/pod.yaml": PRIVILEGED_POD.replace("true", "false")})
    code, log = run_template(repo, tmp_path, {"DEPLOYSAFE_FAIL_ON": "critical"})
    assert code == EXIT_CLEAN, log
    assert (repo / "gl-sast-deploysafe.json").is_file()


def test_template_paths_and_args_split_on_spaces_never_globbed(tmp_path: Path) -> None:
    repo = project(
        tmp_path,
        {"a/pod.yaml": PRIVILEGED_POD, "b/pod.yaml": PRIVILEGED_POD, "c/broken.yaml": "a: [\n"},
    )
    code, log = run_template(
        repo,
        tmp_path,
        {"DEPLOYSAFE_PATHS": "a c", "DEPLOYSAFE_ARGS": "--no-render --fail-on critical"},
    )
    report = json.loads((repo / "gl-sast-deploysafe.json").read_text(encoding="utf-8"))
    assert {v["location"]["file"] for v in report["vulnerabilities"]} == {"a/pod.yaml"}
    assert report["scan"]["messages"][0]["level"] == "warn"
    assert code == EXIT_FINDINGS_AND_INPUT, log
    (repo / "gl-sast-deploysafe.json").unlink()
    code, log = run_template(repo, tmp_path, {"DEPLOYSAFE_PATHS": "*"})
    assert code == EXIT_USAGE, log  # `*` names no file: it is not every folder
    assert "'*' does not exist" in log
    assert not (repo / "gl-sast-deploysafe.json").exists()
