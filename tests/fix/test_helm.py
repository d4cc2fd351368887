"""Findings in a Helm chart's output, fixed where the chart writes them: a value-driven field
in the values file that set it (its comments kept), a literal in a template when the lines
the fix changes hold no `{{ }}`; otherwise left as needing a manual fix. The chart is
rendered by the real Helm engine before and after."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploysafe import config
from deploysafe.cli.exits import EXIT_CLEAN, EXIT_FINDINGS
from deploysafe.engine import RenderOptions, scan
from deploysafe.inputs.render import helm_available
from deploysafe.rules import BY_ID
from tests.support.scantools import invoke, write_tree

pytestmark = pytest.mark.skipif(
    helm_available() is None, reason="neither helm nor helm-python-sdk is available"
)

CHART = "apiVersion: v2\nname: web\nversion: 0.1.0\n"

VALUES = """\
# Default values for web.
image:
  repository: registry.example/web
  tag: "1.0"  # pinned

# The container's security context.
securityContext:
  privileged: true   # the old agent needed it
  readOnlyRootFilesystem: true
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
        securityContext:
          {{- toYaml .Values.securityContext | nindent 10 }}
"""

WORKER = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-worker
  namespace: shop
spec:
  selector:
    matchLabels: {app: worker}
  template:
    metadata:
      labels: {app: worker}
    spec:
      containers:
      - name: worker
        image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
        securityContext:
          privileged: true
          readOnlyRootFilesystem: true
"""

SIDECAR = """\
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-sidecar
  namespace: shop
spec:
  containers:
  - name: sidecar
    image: registry.example/sidecar:1.0
    securityContext:
      privileged: {{ not .Values.safe }}
"""


def _chart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **templates: str) -> Path:
    files = {"chart/Chart.yaml": CHART, "chart/values.yaml": VALUES}
    files.update({f"chart/templates/{name}.yaml": text for name, text in templates.items()})
    write_tree(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "chart"


def _privileged(root: Path) -> list[tuple[str, int]]:
    """Where a scan of the chart, rendered, finds a privileged container."""
    policy = root / "deploysafe.yaml"
    cfg = config.load(policy, rule_ids=frozenset(BY_ID)) if policy.is_file() else config.Config()
    report = scan([root], cfg, root=root, render=RenderOptions())
    return sorted((f.file, f.line) for f in report.findings if f.rule_id == "DS201")


def test_a_value_driven_field_is_fixed_in_values_yaml_with_its_comments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chart = _chart(tmp_path, monkeypatch, deployment=DEPLOYMENT)
    result = invoke("fix", "--unsafe-fixes", "--select", "DS201")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert (chart / "values.yaml").read_text() == VALUES.replace(
        "  privileged: true   # the old agent needed it\n", ""
    )
    assert (chart / "templates" / "deployment.yaml").read_text() == DEPLOYMENT
    assert result.stdout.splitlines()[:3] == [
        "deploysafe fix: fixed 1 finding(s) in 1 file(s); 0 remain",
        "fixed:",
        "  chart/templates/deployment.yaml:16  DS201  remove securityContext.privileged (unsafe)",
    ]
    assert _privileged(tmp_path) == []
    again = invoke("fix", "--unsafe-fixes", "--select", "DS201")
    assert again.stdout.startswith("deploysafe fix: fixed 0 finding(s) in 0 file(s); 0 remain")


def test_a_value_driven_field_the_values_lack_is_added_to_the_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chart = _chart(tmp_path, monkeypatch, deployment=DEPLOYMENT)
    values = VALUES.replace("  privileged: true   # the old agent needed it\n", "")
    (chart / "values.yaml").write_text(values)
    result = invoke("fix", "--select", "DS215")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert (chart / "values.yaml").read_text() == values + "  allowPrivilegeEscalation: false\n"


def test_a_literal_in_a_template_is_fixed_in_the_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chart = _chart(tmp_path, monkeypatch, worker=WORKER)
    result = invoke("fix", "--unsafe-fixes", "--select", "DS201")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert (chart / "templates" / "worker.yaml").read_text() == WORKER.replace(
        "          privileged: true\n", ""
    )
    assert (chart / "values.yaml").read_text() == VALUES
    assert _privileged(tmp_path) == []


def test_a_field_a_template_action_writes_needs_a_manual_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chart = _chart(tmp_path, monkeypatch, sidecar=SIDECAR)
    result = invoke("fix", "--unsafe-fixes", "--select", "DS201")
    assert result.exit_code == EXIT_FINDINGS
    assert (chart / "templates" / "sidecar.yaml").read_text() == SIDECAR
    assert result.stdout.splitlines()[:3] == [
        "deploysafe fix: fixed 0 finding(s) in 0 file(s); 1 remain",
        "remain (not fixed automatically):",
        "  chart/templates/sidecar.yaml:11  DS201  the chart's template writes it with template"
        " actions: needs a manual fix on this line",
    ]


def test_a_fix_next_to_a_template_action_leaves_the_action_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chart = _chart(tmp_path, monkeypatch, sidecar=SIDECAR)
    result = invoke("fix", "--select", "DS216")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert (chart / "templates" / "sidecar.yaml").read_text() == SIDECAR + (
        "  securityContext:\n    seccompProfile: {type: RuntimeDefault}\n"
    )


def test_a_value_the_policy_files_values_file_sets_is_fixed_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chart = _chart(tmp_path, monkeypatch, deployment=DEPLOYMENT)
    defaults = VALUES.replace("  privileged: true   # the old agent needed it\n", "")
    prod = "# production\nsecurityContext:\n  privileged: true  # the prod agent\n"
    write_tree(
        tmp_path,
        {
            "chart/values.yaml": defaults,
            "chart/values-prod.yaml": prod,
            "deploysafe.yaml": "render:\n  charts:\n"
            "    chart: {values: [chart/values-prod.yaml]}\n",
        },
    )
    assert _privileged(tmp_path) == [("chart/templates/deployment.yaml", 16)]
    result = invoke("fix", "--unsafe-fixes", "--select", "DS201")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert (chart / "values-prod.yaml").read_text() == "# production\nsecurityContext: {}\n"
    assert (chart / "values.yaml").read_text() == defaults


def test_a_subchart_template_is_not_edited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chart = _chart(tmp_path, monkeypatch)
    files = {
        "charts/agent/Chart.yaml": "apiVersion: v2\nname: agent\nversion: 0.1.0\n",
        "charts/agent/values.yaml": VALUES,
        "charts/agent/templates/worker.yaml": WORKER,
    }
    write_tree(chart, files)
    result = invoke("fix", "--unsafe-fixes", "--select", "DS201")
    assert result.exit_code == EXIT_FINDINGS, result.output
    assert (chart / "charts/agent/templates/worker.yaml").read_text() == WORKER
    assert result.stdout.splitlines()[2] == (
        "  chart/charts/agent/templates/worker.yaml:17  DS201  a subchart's template writes it:"
        " needs a manual fix on this line"
    )


TOYAML_BLOCKS = """\
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-exporter
  namespace: shop
spec:
  containers:
  - name: exporter
    image: registry.example/exporter:1.0
    resources:
      {{- toYaml .Values.resources | nindent 6 }}
  {{- if .Values.extraVolumes }}
  volumes:
{{ toYaml .Values.extraVolumes | indent 2 }}
  {{- end }}
"""


def test_no_line_is_added_next_to_a_line_of_actions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Masked, `resources:` looks empty and `volumes:` looks last: a key added after either
    would land in what the action writes, or inside the `if`. Such a fix is manual."""
    chart = _chart(tmp_path, monkeypatch, exporter=TOYAML_BLOCKS)
    result = invoke("fix", "--unsafe-fixes", "--select", "DS215,DS216")
    assert (chart / "templates" / "exporter.yaml").read_text() == TOYAML_BLOCKS
    assert "the fixed files cannot be scanned" not in result.output
    assert "needs a manual fix" in result.output
