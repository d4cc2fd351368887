"""Findings at the line that wrote the value: kustomize patches (files, inline, JSON 6902,
Components) built by the real kustomize, Helm values files read by the real Helm engine."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from deploysafe.config import Config
from deploysafe.engine import RenderOptions, Report, scan
from deploysafe.formats import jsonfmt, sarif, text
from deploysafe.inputs.patches import TRANSFORMATIONS
from deploysafe.inputs.render import ORIGIN, helm_available, kustomize_available, render_kustomize
from deploysafe.model import Finding, SetBy
from tests.support import paths

TODAY = dt.date(2026, 11, 27)
RENDER = paths.FIXTURES / "render"
OVERLAYS = RENDER / "blame"
CHART = RENDER / "chart-values"

needs_kustomize = pytest.mark.skipif(
    kustomize_available() is None, reason="neither kustomize nor kubectl is on PATH"
)
needs_helm = pytest.mark.skipif(
    helm_available() is None, reason="neither helm nor helm-python-sdk is available"
)


def run(tree: Path, root: Path, render: RenderOptions | None = None) -> Report:
    return scan([tree], Config(), root=root, render=render, jobs=1, today=TODAY)


def where(report: Report) -> set[tuple[str, str, int, str]]:
    return {(f.rule_id, f.file, f.line, f.snippet) for f in report.findings}


def one(report: Report, rule_id: str, pointer: str) -> Finding:
    (f,) = (f for f in report.findings if f.rule_id == rule_id and f.pointer == pointer)
    return f


# --- kustomize ---------------------------------------------------------------------------


@needs_kustomize
def test_each_finding_points_at_the_patch_that_wrote_it() -> None:
    report = run(OVERLAYS, OVERLAYS)
    assert report.errors == ()
    assert where(report) == {
        # A strategic merge patch file.
        ("DS506", "overlays/staging/patches/nodeport.yaml", 7, "type: NodePort"),
        # A JSON 6902 patch file: the operation's `path`.
        (
            "DS202",
            "overlays/staging/patches/host-network.yaml",
            3,
            "path: /spec/template/spec/hostNetwork",
        ),
        # An inline patch: its line in the kustomization.
        ("DS201", "overlays/staging/kustomization.yaml", 25, "privileged: true"),
        # A Component's patch, and the container it adds (all of it is the patch's).
        ("DS202", "components/debug/debugger.yaml", 10, "hostPID: true"),
        ("DS215", "components/debug/debugger.yaml", 12, "- name: debugger"),
        ("DS217", "components/debug/debugger.yaml", 12, "- name: debugger"),
        ("DS504", "components/debug/debugger.yaml", 12, "- name: debugger"),
        ("DS505", "components/debug/debugger.yaml", 12, "- name: debugger"),
        ("DS599", "components/debug/debugger.yaml", 12, "- name: debugger"),
    }
    nodeport = one(report, "DS506", "/spec/type")
    assert (
        nodeport.message
        == "Service 'web' is type NodePort: it opens its ports on every node's address"
    )
    assert nodeport.column == 3
    assert nodeport.set_by == ()
    privileged = one(report, "DS201", "/spec/template/spec/containers/0/securityContext/privileged")
    assert (privileged.line, privileged.column) == (25, 19)


@needs_kustomize
def test_build_annotations_never_reach_rules() -> None:
    built = render_kustomize(OVERLAYS / "overlays" / "staging", OVERLAYS)
    assert built is not None and built.errors == []
    for doc in built.documents:
        annotations = doc.metadata.get("annotations", {})
        assert ORIGIN not in annotations and TRANSFORMATIONS not in annotations
    (service,) = (d for d in built.documents if d.kind == "Service")
    assert service.file == "base/service.yaml"
    assert {p: (w.source.file, w.line) for p, w in service.written.items()} == {
        ("spec", "type"): ("overlays/staging/patches/nodeport.yaml", 7)
    }


def copy_overlays(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(OVERLAYS, tree)
    return tree


@needs_kustomize
def test_an_inline_suppression_in_the_patch_suppresses(tmp_path: Path) -> None:
    tree = copy_overlays(tmp_path)
    patch = tree / "overlays" / "staging" / "patches" / "nodeport.yaml"
    patch.write_text(
        patch.read_text().replace(
            "type: NodePort", "type: NodePort  # deploysafe: ignore[DS506] lab cluster only"
        )
    )
    f = one(run(tree, tree), "DS506", "/spec/type")
    assert (f.file, f.line) == ("overlays/staging/patches/nodeport.yaml", 7)
    assert f.suppressed is not None and f.suppressed.reason == "lab cluster only"


@needs_kustomize
def test_legacy_patch_fields_and_an_appended_item(tmp_path: Path) -> None:
    tree = copy_overlays(tmp_path)
    legacy = tree / "overlays" / "legacy"
    legacy.mkdir()
    (legacy / "kustomization.yaml").write_text(
        "resources:\n"
        "  - ../../base\n"
        "patchesStrategicMerge:\n"
        "  - lb.yaml\n"
        "patchesJson6902:\n"
        "  - target: {group: apps, version: v1, kind: Deployment, name: web}\n"
        "    path: sidecar.json\n"
    )
    (legacy / "lb.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\n"
        "spec:\n  type: LoadBalancer\n"
    )
    (legacy / "sidecar.json").write_text(
        '[\n  {"op": "add",\n   "path": "/spec/template/spec/containers/-",\n'
        '   "value": {"name": "proxy", "image": "registry.example.com/proxy:1.0",\n'
        '             "securityContext": {"privileged": true}}}\n]\n'
    )
    report = run(legacy, tree)
    assert report.errors == ()
    lb = one(report, "DS506", "/spec/type")
    assert (lb.file, lb.line, lb.snippet) == ("overlays/legacy/lb.yaml", 7, "type: LoadBalancer")
    proxy = one(report, "DS201", "/spec/template/spec/containers/1/securityContext/privileged")
    assert (proxy.file, proxy.line, proxy.column) == ("overlays/legacy/sidecar.json", 5, 34)


@needs_kustomize
def test_a_value_a_later_transformer_changed_is_not_the_patch(tmp_path: Path) -> None:
    """The patch pins a tag, the overlay's `images:` then sets `latest`: the finding is on
    the value `images:` wrote, not the patch's."""
    tree = copy_overlays(tmp_path)
    overlay = tree / "overlays" / "latest"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "resources:\n"
        "  - ../../base\n"
        "images:\n"
        "  - name: registry.example.com/web\n"
        "    newTag: latest\n"
        "patches:\n"
        "  - patch: |-\n"
        "      - op: replace\n"
        "        path: /spec/template/spec/containers/0/image\n"
        "        value: registry.example.com/web:1.5.0\n"
        "    target: {kind: Deployment}\n"
    )
    report = run(overlay, tree)
    f = one(report, "DS503", "/spec/template/spec/containers/0/image")
    assert (
        f.message == "container 'web' image 'registry.example.com/web:latest' uses the tag 'latest'"
    )
    assert (f.file, f.line, f.snippet) == (
        "overlays/latest/kustomization.yaml",
        5,
        "newTag: latest",
    )

    # Without `images:`, the patch wrote the image: its `path:` line in the kustomization.
    kustomization = overlay / "kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text()
        .replace("images:\n  - name: registry.example.com/web\n    newTag: latest\n", "")
        .replace("web:1.5.0", "web:latest")
    )
    f = one(run(overlay, tree), "DS503", "/spec/template/spec/containers/0/image")
    assert (f.file, f.line) == ("overlays/latest/kustomization.yaml", 6)
    assert f.snippet == "path: /spec/template/spec/containers/0/image"


# --- Helm --------------------------------------------------------------------------------

PROD = CHART / "values-prod.yaml"


def prod_report(set_values: tuple[str, ...] = ()) -> Report:
    return run(CHART, CHART, RenderOptions(values=(PROD,), set_values=set_values))


@needs_helm
def test_values_files_that_set_a_value_are_named() -> None:
    report = prod_report()
    assert report.errors == ()
    got = {(f.rule_id, f.file, f.line, f.message, f.set_by) for f in report.findings}
    deployment, service = "templates/deployment.yaml", "templates/service.yaml"
    assert got == {
        (
            "DS202",
            deployment,
            17,
            # DS509's consequence of the same value is folded into this finding.
            "pod shares the host network (hostNetwork: true). Also DS509: no NetworkPolicy "
            "can select a host-network pod, so nothing restricts its traffic",
            (SetBy("values-prod.yaml", 2, 1, "hostNetwork"),),
        ),
        (
            "DS218",
            deployment,
            19,
            "pod sets runAsUser: 0 (root)",
            (SetBy("values-prod.yaml", 11, 3, "podSecurityContext.runAsUser"),),
        ),
        (
            "DS503",
            deployment,
            24,
            "container 'web' image 'registry.example.com/web:latest' uses the tag 'latest'",
            (
                SetBy("values.yaml", 3, 3, "image.repository"),
                SetBy("values-prod.yaml", 4, 3, "image.tag"),
            ),
        ),
        (
            "DS201",
            deployment,
            25,
            "container 'web' runs privileged",
            (SetBy("values-prod.yaml", 9, 3, "securityContext.privileged"),),
        ),
        (
            "DS215",
            deployment,
            25,
            "container 'web' allows privilege escalation (allowPrivilegeEscalation must be false)",
            (SetBy("values-prod.yaml", 8, 3, "securityContext.allowPrivilegeEscalation"),),
        ),
        (
            "DS506",
            service,
            7,
            "Service 'release-web' is type NodePort: it opens its ports on every node's address",
            (SetBy("values-prod.yaml", 6, 3, "service.type"),),
        ),
    }


@needs_helm
def test_a_value_set_on_the_command_line_names_no_file() -> None:
    report = prod_report(("hostNetwork=true", "image.tag=latest"))
    assert one(report, "DS202", "/spec/template/spec/hostNetwork").set_by == ()
    image = one(report, "DS503", "/spec/template/spec/containers/0/image")
    assert image.set_by == (SetBy("values.yaml", 3, 3, "image.repository"),)


@needs_helm
def test_set_by_in_every_format() -> None:
    report = prod_report()
    f = one(report, "DS506", "/spec/type")
    assert jsonfmt.finding_dict(f)["set_by"] == [
        {"file": "values-prod.yaml", "line": 6, "column": 3, "key": "service.type"}
    ]
    # Without values files, the chart's own defaults set nothing the findings are about.
    assert "set_by" not in jsonfmt.finding_dict(run(CHART, CHART).findings[0])
    shown = text.render(report, width=200)
    assert (
        "      7 | type: {{ .Values.service.type }}\n"
        "      set by values-prod.yaml:6 (service.type)\n"
    ) in shown

    log: dict[str, Any] = json.loads(sarif.render(report))
    schema = json.loads((paths.DATA / "sarif-schema-2.1.0.json").read_text())
    assert [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(log)] == []
    (result,) = (r for r in log["runs"][0]["results"] if r["ruleId"] == "DS506")
    assert result["message"]["text"].endswith(" Set by [values-prod.yaml:6 (service.type)](1).")
    assert result["relatedLocations"] == [
        {
            "id": 1,
            "physicalLocation": {
                "artifactLocation": {"uri": "values-prod.yaml", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 6, "startColumn": 3},
            },
            "message": {"text": "set by values-prod.yaml:6 (service.type)"},
        }
    ]
    # Not part of the finding's identity: the same finding without the note is the same.
    assert (
        f.fingerprint
        == one(prod_report(("service.type=NodePort",)), "DS506", "/spec/type").fingerprint
    )


@needs_helm
def test_without_values_files_the_chart_defaults_are_named_only_when_they_set_it() -> None:
    report = run(CHART, CHART)
    assert [(f.rule_id, f.set_by) for f in report.findings] == [("DS509", ())]


@needs_helm
def test_the_last_file_that_sets_a_key_wins_and_defaults_are_no_file(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: pod\nversion: 0.1.0\n")
    (chart / "templates" / "pod.yaml").write_text(
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata:\n"
        "  name: pod\n"
        "  namespace: shop\n"
        "spec:\n"
        "  hostPID: {{ .Values.hostPID | default true }}\n"
        "  containers:\n"
        "    - name: app\n"
        "      image: registry.example.com/app:1.0\n"
        "      securityContext:\n"
        "        {{- toYaml .Values.securityContext | nindent 8 }}\n"
    )
    (chart / "values.yaml").write_text(
        "hostPID: false\nsecurityContext:\n  privileged: false\n  runAsUser: 1000\n"
    )
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text("securityContext:\n  privileged: true\n")
    second.write_text("securityContext:\n  runAsUser: 2000\n")
    report = run(chart, tmp_path, RenderOptions(values=(first, second)))
    privileged = one(report, "DS201", "/spec/containers/0/securityContext/privileged")
    assert (privileged.file, privileged.line) == ("chart/templates/pod.yaml", 11)
    assert privileged.set_by == (SetBy("first.yaml", 2, 3, "securityContext.privileged"),)
    # `default` turned the file's `false` into `true`: the value is the template's.
    host_pid = one(report, "DS202", "/spec/hostPID")
    assert (host_pid.line, host_pid.snippet) == (7, "hostPID: {{ .Values.hostPID | default true }}")
    assert host_pid.set_by == ()
