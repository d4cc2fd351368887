"""`--format github-summary`: the Markdown job summary, built from the SARIF log of a real
scan; text from the repository stays inert."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deploysafe.engine import Report
from deploysafe.formats import jobsummary as summary
from deploysafe.formats import sarif
from tests.support.scantools import PRIVILEGED_POD, invoke, scan_tree, write_tree

EXPECTED = """\
### deploysafe: 10 finding(s), 1 at or above high

| Practice | critical | high | medium | low | info | total |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
| 1 Trusted triggers | 0 | 0 | 0 | 0 | 0 | 0 |
| 2 Know the environment | 1 | 0 | 4 | 0 | 0 | 5 |
| 3 Secrets policy | 0 | 0 | 0 | 0 | 0 | 0 |
| 4 GitOps | 0 | 0 | 0 | 0 | 0 | 0 |
| 5 No insecure defaults | 0 | 0 | 3 | 2 | 0 | 5 |
| 6 Tests gate every deploy | 0 | 0 | 0 | 0 | 0 | 0 |
| **all** | 1 | 0 | 7 | 2 | 0 | **10** |

#### Rules (10 of 10)

| Rule | Severity | Findings |
| --- | --- | ---: |
| DS201 Containers must not run privileged | critical | 1 |
| DS214 Containers must run as non-root | medium | 1 |
| DS215 Containers must set allowPrivilegeEscalation: false | medium | 1 |
| DS216 A seccomp profile must be set | medium | 1 |
| DS217 Containers must drop ALL capabilities | medium | 1 |
| DS502 Pods must not use the default ServiceAccount with a mounted token | medium | 1 |
| DS504 Containers must have a memory limit | medium | 1 |
| DS509 Workloads must be covered by a NetworkPolicy | medium | 1 |
| DS505 Containers must request CPU | low | 1 |
| DS599 Containers should run with a read-only root filesystem | low | 1 |

#### Most severe findings (10 of 10)

| Severity | Rule | Where | Finding |
| --- | --- | --- | --- |
| critical | DS201 | deploy/pod.yaml:11 | container 'app' runs privileged |
| medium | DS509 | deploy/pod.yaml:3 | Pod shop/web: namespace 'shop' has no NetworkPolicy, so any \
pod in the cluster can connect to them (default allow) |
| medium | DS502 | deploy/pod.yaml:6 | Pod 'web' sets no ServiceAccount: its pods run as the \
namespace's default ServiceAccount with its API token mounted |
| medium | DS504 | deploy/pod.yaml:8 | container 'app' has no memory limit |
| medium | DS214 | deploy/pod.yaml:10 | container 'app' does not set runAsNonRoot: true (nor does \
the pod) |
| medium | DS215 | deploy/pod.yaml:10 | container 'app' does not forbid privilege escalation \
(allowPrivilegeEscalation must be false) |
| medium | DS216 | deploy/pod.yaml:10 | container 'app' has no seccomp profile (set \
seccompProfile.type to RuntimeDefault or Localhost on the pod or the container) |
| medium | DS217 | deploy/pod.yaml:10 | container 'app' does not drop ALL capabilities |
| low | DS505 | deploy/pod.yaml:8 | container 'app' has no CPU request |
| low | DS599 | deploy/pod.yaml:10 | container 'app' does not set readOnlyRootFilesystem: whatever \
runs in it can rewrite its binaries and config |
"""


def log_of(report: Report) -> dict[str, Any]:
    log = json.loads(sarif.render(report))
    assert isinstance(log, dict)
    return log


def test_summary_of_a_privileged_pod_exact(tmp_path: Path) -> None:
    write_tree(tmp_path, {"deploy/pod.yaml": PRIVILEGED_POD})
    assert summary.render(scan_tree(tmp_path)) == EXPECTED


def test_cli_format_is_the_same_text(tmp_path: Path) -> None:
    write_tree(tmp_path, {"deploy/pod.yaml": PRIVILEGED_POD})
    result = invoke("scan", str(tmp_path), "--format", "github-summary", "--no-render", "-j", "1")
    assert (result.exit_code, result.output) == (1, EXPECTED)


def test_a_clean_scan_is_one_line(tmp_path: Path) -> None:
    write_tree(tmp_path, {"README.md": "nothing to see\n"})
    assert summary.render(scan_tree(tmp_path)) == "### deploysafe: no findings\n"


def test_suppressed_findings_and_unreadable_inputs_are_told(tmp_path: Path) -> None:
    quiet = PRIVILEGED_POD.replace(
        "      privileged: true\n",
        "      # deploysafe: ignore[DS201] node agent\n      privileged: true\n",
    )
    broken = {f"broken{n}.yaml": "a: [\n" for n in range(7)}
    write_tree(tmp_path, {"pod.yaml": quiet, **broken})
    text = summary.render(scan_tree(tmp_path))
    assert text.startswith("### deploysafe: 9 finding(s), none at or above high\n")
    invalid = "invalid YAML: while parsing a flow node: did not find expected node content"
    assert text.splitlines()[-8:] == [
        "",
        "1 suppressed finding(s) not counted. 7 input(s) could not be read:",
        *(f"- broken{n}.yaml:2: {invalid}" for n in range(5)),
        "- and 2 more (see the job log)",
    ]


def test_repository_text_cannot_add_markdown(tmp_path: Path) -> None:
    hostile = "web|<img src=x onerror=alert(1)>[a](https://e.test)*b*`c`"
    write_tree(tmp_path, {"pod.yaml": PRIVILEGED_POD.replace("name: app", f"name: '{hostile}'")})
    text = summary.render(scan_tree(tmp_path))
    line = next(ln for ln in text.splitlines() if ln.startswith("| critical | DS201 |"))
    assert line == (
        "| critical | DS201 | pod.yaml:11 | container 'web\\|\\<img src=x onerror=alert(1)\\>"
        "\\[a\\](https://e.test)\\*b\\*\\`c\\`' runs privileged |"
    )


def test_cells_are_one_line_and_bounded() -> None:
    assert summary.cell("a\nb\tc") == "a b c"
    long = summary.cell("x" * 500)
    assert (len(long), long[-1]) == (summary.CELL_CHARS, "…")


def test_top_lists_are_bounded(tmp_path: Path) -> None:
    pods = {f"p{n:02}.yaml": PRIVILEGED_POD.replace("name: web", f"name: w{n}") for n in range(12)}
    write_tree(tmp_path, pods)
    text = summary.render(scan_tree(tmp_path))
    assert "#### Most severe findings (10 of 120)" in text
    top = [ln for ln in text.splitlines() if ln.startswith("| critical | DS201 |")]
    assert [ln.split(" | ")[2] for ln in top] == [f"p{n:02}.yaml:11" for n in range(10)]


def test_a_log_of_another_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="not a SARIF log of one run"):
        summary.markdown({"runs": []})
