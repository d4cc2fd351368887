"""A Helm chart that writes a security setting only when a values flag is on: the fix turns
the flag on in the values file that set it (the chart author's own switch), checked by
rendering the chart with the real Helm engine; a condition it cannot read stays manual and
names the flag to turn on."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploysafe.cli.exits import EXIT_CLEAN, EXIT_FINDINGS
from deploysafe.config import Config
from deploysafe.engine import RenderOptions, scan
from deploysafe.inputs.render import helm_available
from tests.support.scantools import invoke, write_tree

pytestmark = pytest.mark.skipif(
    helm_available() is None, reason="neither helm nor helm-python-sdk is available"
)

CHART = "apiVersion: v2\nname: web\nversion: 0.1.0\n"

VALUES = """\
# Default values for web.
image: registry.example/web:1.0

# Hardening the cluster may not support yet.
seccomp:
  enabled: false  # turn on where the nodes support it
  type: RuntimeDefault
"""

# The pod's securityContext holds a guarded block that writes only the seccomp profile.
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
      securityContext:
        runAsNonRoot: true
        {{- if GUARD }}
        seccompProfile:
          type: {{ .Values.seccomp.type }}
        {{- end }}
      containers:
      - name: web
        image: {{ .Values.image }}
"""


def _chart(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    guard: str = ".Values.seccomp.enabled",
    values: str = VALUES,
    **more: str,
) -> Path:
    files = {
        "chart/Chart.yaml": CHART,
        "chart/values.yaml": values,
        "chart/templates/deployment.yaml": DEPLOYMENT.replace("GUARD", guard),
    }
    files.update({f"chart/templates/{name}.yaml": text for name, text in more.items()})
    write_tree(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "chart"


def _seccomp(root: Path) -> list[tuple[str, int]]:
    """Where a scan of the chart, rendered, finds a pod without a seccomp profile."""
    report = scan([root], Config(), root=root, render=RenderOptions())
    return sorted((f.file, f.line) for f in report.findings if f.rule_id == "DS216")


def test_a_flag_that_guards_the_field_is_turned_on_in_values_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chart = _chart(tmp_path, monkeypatch)
    assert _seccomp(tmp_path) == [("chart/templates/deployment.yaml", 20)]
    result = invoke("fix", "--select", "DS216")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert (chart / "values.yaml").read_text() == VALUES.replace(
        "enabled: false  # turn on", "enabled: true  # turn on"
    )
    assert (chart / "templates" / "deployment.yaml").read_text() == DEPLOYMENT.replace(
        "GUARD", ".Values.seccomp.enabled"
    )
    assert result.stdout.splitlines()[:3] == [
        "deploysafe fix: fixed 1 finding(s) in 1 file(s); 0 remain",
        "fixed:",
        "  chart/templates/deployment.yaml:20  DS216  set seccomp.enabled: true in"
        " chart/values.yaml (the chart then writes seccompProfile: {type: RuntimeDefault})",
    ]
    assert _seccomp(tmp_path) == []
    again = invoke("fix", "--select", "DS216")
    assert again.stdout.startswith("deploysafe fix: fixed 0 finding(s) in 0 file(s); 0 remain")


def test_a_flag_that_also_turns_on_other_settings_is_unsafe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same flag gates a second block: turning it on changes more than the seccomp profile.
    other = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
  namespace: shop
data:
  mode: default
  {{- if .Values.seccomp.enabled }}
  audit: "on"
  {{- end }}
"""
    chart = _chart(tmp_path, monkeypatch, settings=other)
    result = invoke("fix", "--select", "DS216")
    assert result.exit_code == EXIT_FINDINGS, result.output
    assert (chart / "values.yaml").read_text() == VALUES
    assert result.stdout.splitlines()[:3] == [
        "deploysafe fix: fixed 0 finding(s) in 0 file(s); 1 remain",
        "remain (not fixed automatically):",
        "  chart/templates/deployment.yaml:20  DS216  unsafe fix (set seccomp.enabled: true in"
        " chart/values.yaml (the chart then writes seccompProfile: {type: RuntimeDefault}; it"
        " changes more than that)): use --unsafe-fixes",
    ]
    unsafe = invoke("fix", "--unsafe-fixes", "--select", "DS216")
    assert unsafe.exit_code == EXIT_CLEAN, unsafe.output
    assert "enabled: true  # turn on" in (chart / "values.yaml").read_text()
    assert _seccomp(tmp_path) == []


def test_a_flag_no_values_file_sets_is_added_to_values_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = "image: registry.example/web:1.0\nseccomp:\n  type: RuntimeDefault\n"
    chart = _chart(tmp_path, monkeypatch, values=values)
    result = invoke("fix", "--select", "DS216")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert (chart / "values.yaml").read_text() == values + "  enabled: true\n"


@pytest.mark.parametrize(
    ("guard", "flags"),
    [
        (
            "and .Values.seccomp.enabled .Values.strict",
            "set seccomp.enabled: true in chart/values.yaml:6, strict: true in chart/values.yaml",
        ),
        ('include "web.seccomp" .', ""),
    ],
)
def test_a_complex_guard_stays_manual_and_names_the_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guard: str, flags: str
) -> None:
    template = (
        '{{- define "web.seccomp" -}}{{ if .Values.seccomp.enabled }}on{{ end }}{{- end -}}\n'
    )
    chart = _chart(tmp_path, monkeypatch, guard=guard)
    write_tree(chart, {"templates/_helpers.tpl": template})
    result = invoke("fix", "--select", "DS216")
    assert result.exit_code == EXIT_FINDINGS, result.output
    assert (chart / "values.yaml").read_text() == VALUES
    also = f" ({flags})" if flags else ""
    assert result.stdout.splitlines()[2] == (
        "  chart/templates/deployment.yaml:20  DS216  the chart's template writes it only when"
        f" `{guard}` holds{also}: needs a manual fix on this line"
    )


def test_a_flag_inside_another_off_flag_stays_manual_and_names_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nested = DEPLOYMENT.replace(
        "      securityContext:\n        runAsNonRoot: true\n",
        "      securityContext:\n        runAsNonRoot: true\n        {{- if .Values.hardened }}\n",
    ).replace("        {{- end }}\n", "        {{- end }}\n        {{- end }}\n")
    values = VALUES + "hardened: false\n"
    chart = _chart(tmp_path, monkeypatch, values=values)
    (chart / "templates" / "deployment.yaml").write_text(
        nested.replace("GUARD", ".Values.seccomp.enabled")
    )
    result = invoke("fix", "--select", "DS216")
    assert result.exit_code == EXIT_FINDINGS, result.output
    assert (chart / "values.yaml").read_text() == values
    assert result.stdout.splitlines()[2] == (
        "  chart/templates/deployment.yaml:22  DS216  the chart's template writes it only when"
        " `.Values.hardened` and `.Values.seccomp.enabled` hold (set hardened: true in"
        " chart/values.yaml:8, seccomp.enabled: true in chart/values.yaml:6): needs a manual"
        " fix on this line"
    )


# The shape of GoogleCloudPlatform/microservices-demo's chart: the pod's securityContext is
# behind one flag (on), its seccomp profile behind another (off), in every service.
DEMO_VALUES = """\
images:
  repository: us-central1-docker.pkg.dev/google-samples/microservices-demo
  tag: ""

serviceAccounts:
  # Specifies whether service accounts should be created.
  create: true

seccompProfile:
  enable: false
  type: RuntimeDefault

securityContext:
  enable: true

adService:
  create: true
  name: adservice
"""

DEMO_SERVICE = """\
{{- if .Values.adService.create }}
{{- if .Values.serviceAccounts.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Values.adService.name }}
  namespace: {{.Release.Namespace}}
---
{{- end }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Values.adService.name }}
  namespace: {{ .Release.Namespace }}
spec:
  selector:
    matchLabels:
      app: {{ .Values.adService.name }}
  template:
    metadata:
      labels:
        app: {{ .Values.adService.name }}
    spec:
      {{- if .Values.serviceAccounts.create }}
      serviceAccountName: {{ .Values.adService.name }}
      {{- else }}
      serviceAccountName: default
      {{- end }}
      terminationGracePeriodSeconds: 5
      {{- if .Values.securityContext.enable }}
      securityContext:
        fsGroup: 1000
        runAsGroup: 1000
        runAsNonRoot: true
        runAsUser: 1000
        {{- if .Values.seccompProfile.enable }}
        seccompProfile:
          type: {{ .Values.seccompProfile.type }}
        {{- end }}
      {{- end }}
      containers:
      - name: server
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop:
              - ALL
          privileged: false
          readOnlyRootFilesystem: true
        image: {{ .Values.images.repository }}/{{ .Values.adService.name }}:1.0
{{- end }}
"""


def test_the_microservices_demo_shape_turns_on_its_seccomp_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its cartservice closes the securityContext flag's block before the seccomp block
    # (which still renders inside securityContext).
    redis = (
        DEMO_SERVICE.replace("adService", "redis")
        .replace("name: server", "name: redis")
        .replace(
            "        runAsUser: 1000\n",
            "        runAsUser: 1000\n      {{- end }}\n",
        )
        .replace("        {{- end }}\n      {{- end }}\n", "        {{- end }}\n")
    )
    files = {
        "helm-chart/Chart.yaml": "apiVersion: v2\nname: onlineboutique\nversion: 0.10.5\n",
        "helm-chart/values.yaml": DEMO_VALUES + "\nredis:\n  create: true\n  name: redis-cart\n",
        "helm-chart/templates/adservice.yaml": DEMO_SERVICE,
        "helm-chart/templates/redis.yaml": redis,
    }
    write_tree(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    assert _seccomp(tmp_path) == [
        ("helm-chart/templates/adservice.yaml", 43),
        ("helm-chart/templates/redis.yaml", 43),
    ]
    result = invoke("fix", "--select", "DS216", "helm-chart")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert (tmp_path / "helm-chart" / "values.yaml").read_text() == files[
        "helm-chart/values.yaml"
    ].replace("  enable: false\n", "  enable: true\n")
    assert result.stdout.splitlines()[0] == (
        "deploysafe fix: fixed 2 finding(s) in 1 file(s); 0 remain"
    )
    assert _seccomp(tmp_path) == []
    again = invoke("fix", "--select", "DS216", "helm-chart")
    assert again.stdout.startswith("deploysafe fix: fixed 0 finding(s) in 0 file(s); 0 remain")
