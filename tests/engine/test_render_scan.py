"""Scans that render as users do: kustomize roots with a shared base, a Component and a
patch; charts with unvendored dependencies; per-chart and per-overlay settings from
deploysafe.yaml; and the render inputs that are wrong, each an input error at its line
while the rest of the scan goes on. Real Helm (SDK or binary) and real kubectl/kustomize."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
from pathlib import Path
from typing import ClassVar

import pytest

from deploysafe.config import Config
from deploysafe.engine.report import Report
from deploysafe.engine.scan import RenderOptions, scan
from deploysafe.inputs.render import helm_available, kustomize_available
from deploysafe.model import ScanError
from tests.support import paths
from tests.support.policy import load

FIXTURES = paths.FIXTURES / "render"
SHARED = FIXTURES / "shared"
HELM = helm_available()
TOOL = kustomize_available()

needs_helm = pytest.mark.skipif(HELM is None, reason="neither helm nor helm-python-sdk")
needs_kustomize = pytest.mark.skipif(TOOL is None, reason="neither kustomize nor kubectl")


def run(root: Path, config: Config | None = None, opts: RenderOptions | None = None) -> Report:
    return scan([root], config or Config(), root=root, render=opts or RenderOptions(), jobs=1)


def renders(report: Report, rule: str, file: str) -> list[str]:
    found = [f for f in report.findings if f.rule_id == rule and f.file == file]
    return sorted(", ".join(f.renders) for f in found)


# --- kustomize ---------------------------------------------------------------------------


@needs_kustomize
def test_shared_base_is_judged_through_each_overlay() -> None:
    report = run(SHARED)
    assert TOOL is not None
    assert report.notes == (
        f"built 3 kustomization root(s), with their bases and Components, with {' '.join(TOOL)}",
    )
    # The base's own problem: one finding naming every overlay that deploys it.
    assert renders(report, "DS215", "base/deployment.yaml") == [
        "kustomize overlays/prod, kustomize overlays/staging"
    ]
    # The Component's hostNetwork and the overlay's NodePort patch: only in prod, at the
    # patch that wrote them.
    assert renders(report, "DS202", "components/debug/host-network.yaml") == [
        "kustomize overlays/prod"
    ]
    assert renders(report, "DS506", "overlays/prod/nodeport.yaml") == ["kustomize overlays/prod"]
    assert not [f for f in report.findings if f.rule_id in ("DS202", "DS506") and "base" in f.file]
    # A base no overlay uses is built on its own.
    assert renders(report, "DS218", "lonely/pod.yaml") == ["kustomize lonely"]
    assert {r for f in report.findings for r in f.renders} == {
        "kustomize overlays/prod",
        "kustomize overlays/staging",
        "kustomize lonely",
    }
    # The unused Component is neither built nor silently dropped: its privileged patch
    # (DS201) is not reported, and the error says why.
    assert not [f for f in report.findings if f.rule_id == "DS201"]
    assert report.errors == (
        ScanError(
            "components/unused/kustomization.yaml",
            2,
            "Kustomize Component used by no kustomization: it only applies inside another"
            " kustomization's `components:`, so it is not built and its patches are not checked"
            " (its resource files are scanned as plain manifests); list it in an overlay's"
            " `components:`, or add `components/unused/` to `exclude` in deploysafe.yaml",
            "render",
        ),
    )


@needs_kustomize
def test_excluded_unused_component_is_no_error(tmp_path: Path) -> None:
    shutil.copytree(SHARED, tmp_path / "repo")
    (tmp_path / "repo" / "deploysafe.yaml").write_text(
        "exclude: [components/unused/]\nrender:\n  kustomize:\n    lonely: {namespace: debug}\n"
    )
    report = run(tmp_path / "repo", load(tmp_path / "repo" / "deploysafe.yaml"))
    assert report.errors == ()
    # The overlay's namespace from the policy file is where its namespace-less objects land.
    lonely = {
        f.resource.namespace
        for f in report.findings
        if f.file == "lonely/pod.yaml" and f.resource is not None
    }
    assert lonely == {"debug"}


KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
SERVICE = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: NodePort\n"


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@needs_kustomize
def test_bad_kustomize_inputs_are_errors_at_their_lines_and_the_rest_is_built(
    tmp_path: Path,
) -> None:
    root = write(
        tmp_path,
        {
            "good/kustomization.yaml": KUSTOMIZATION + "resources: [svc.yaml]\n",
            "good/svc.yaml": SERVICE,
            "self/kustomization.yaml": KUSTOMIZATION + "resources:\n  - .\n",
            "remote/kustomization.yaml": KUSTOMIZATION
            + "resources:\n  - https://github.com/org/repo//deploy?ref=v1\n",
            "nomatch/kustomization.yaml": KUSTOMIZATION
            + "resources: [svc.yaml]\npatches:\n  - path: ghost.yaml\n",
            "nomatch/svc.yaml": SERVICE,
            "nomatch/ghost.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: ghost\n",
            "selector/kustomization.yaml": KUSTOMIZATION
            + "resources: [svc.yaml]\n"
            + "patches:\n"
            + "  - target: {kind: Deployment, name: ghost}\n"
            + "    patch: |-\n      - op: add\n        path: /spec/replicas\n        value: 2\n",
            "selector/svc.yaml": SERVICE,
        },
    )
    report = run(root)
    assert sorted(report.errors, key=lambda e: e.file) == [
        ScanError(
            "nomatch/kustomization.yaml",
            5,
            "patch targets Service ghost, which no resource of nomatch defines, so kustomize"
            " refused to build it: fix the patch's kind and name, or remove it",
            "render",
        ),
        ScanError(
            "remote/kustomization.yaml",
            4,
            "remote resource 'https://github.com/org/repo//deploy?ref=v1' is not fetched"
            " (deploysafe renders offline): vendor it into the repository, or scan with"
            " --no-render",
            "render",
        ),
        ScanError(
            "selector/kustomization.yaml",
            5,
            "patch target Deployment ghost matches nothing selector builds, so the patch changes"
            " nothing: fix its `target:` or remove it",
            "render",
        ),
        ScanError(
            "self/kustomization.yaml",
            4,
            "`resources` entry references itself: kustomize cannot build it, so these"
            " kustomizations are not built; remove the entry",
            "render",
        ),
    ]
    assert TOOL is not None
    assert report.notes == (
        f"built 2 kustomization(s) with {' '.join(TOOL)}; 1 failed (see the input errors)",
        "kustomization nomatch is not built (see the input errors): the 1 file(s) it lists"
        " were scanned as plain manifests, without its patches (nomatch/svc.yaml)",
    )
    assert renders(report, "DS506", "good/svc.yaml") == ["kustomize good"]
    assert renders(report, "DS506", "selector/svc.yaml") == ["kustomize selector"]
    # The failed build's resources are still checked, as plain manifests.
    assert renders(report, "DS506", "nomatch/svc.yaml") == [""]


@needs_kustomize
def test_a_patch_of_an_object_the_scan_does_not_parse_is_not_said_to_match_nothing(
    tmp_path: Path,
) -> None:
    """A CustomResourceDefinition is skipped before it is parsed: a patch that targets one
    (its conversion webhook, its labels) is not judged against objects never read."""
    crd = (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n"
    )
    root = write(
        tmp_path,
        {
            "kustomization.yaml": KUSTOMIZATION
            + "resources: [crd.yaml, svc.yaml]\n"
            + "patches:\n"
            + "  - target: {kind: CustomResourceDefinition, name: widgets.example.com}\n"
            + "    patch: |-\n      - op: add\n        path: /metadata/labels\n"
            + "        value: {a: b}\n",
            "crd.yaml": crd,
            "svc.yaml": SERVICE,
        },
    )
    assert run(root).errors == ()


@needs_kustomize
def test_a_patch_that_renames_its_target_is_not_said_to_match_nothing(tmp_path: Path) -> None:
    """The build holds the target under its new name; a patch of a name nothing has is
    still said to match nothing."""
    rename = "    patch: |-\n      - op: replace\n        path: /metadata/name\n"
    root = write(
        tmp_path,
        {
            "kustomization.yaml": KUSTOMIZATION
            + "resources: [svc.yaml]\n"
            + "patches:\n"
            + "  - target: {kind: Service, name: web}\n"
            + rename
            + "        value: shop\n"
            + "  - target: {kind: Service, name: ghost}\n"
            + "    patch: |-\n      - op: add\n        path: /metadata/labels\n"
            + "        value: {a: b}\n",
            "svc.yaml": SERVICE,
        },
    )
    assert [(e.line, e.message.split(" matches ")[0]) for e in run(root).errors] == [
        (10, "patch target Service ghost")
    ]


# --- Helm --------------------------------------------------------------------------------

DEPENDENCIES = (
    "dependencies:\n"
    "  - name: redis\n"
    "    version: 1.0.0\n"
    "    repository: https://charts.example.com\n"
    "  - name: shared\n"
    "    version: 0.1.0\n"
    "    repository: file://../../../elsewhere\n"
)


def chart_repo(tmp_path: Path, *names: str) -> Path:
    repo = tmp_path / "repo"
    for name in names:
        shutil.copytree(FIXTURES / "chart-insecure", repo / "charts" / name)
    return repo


@needs_helm
def test_chart_with_missing_dependencies_renders_its_own_templates(tmp_path: Path) -> None:
    repo = chart_repo(tmp_path, "shop")
    chart_yaml = repo / "charts" / "shop" / "Chart.yaml"
    chart_yaml.write_text(chart_yaml.read_text() + DEPENDENCIES)
    report = run(repo)
    assert report.errors == (
        ScanError(
            "charts/shop/Chart.yaml",
            8,
            "dependency 'redis' is not in charts/shop/charts/: run `helm dependency build"
            " charts/shop` to vendor it; the chart was rendered without it",
            "render",
        ),
        ScanError(
            "charts/shop/Chart.yaml",
            13,
            "dependency 'shared' points outside the repository (file://../../../elsewhere) and"
            " is not in charts/shop/charts/: vendor it there (`helm dependency build"
            " charts/shop` with that folder present); the chart was rendered without it",
            "render",
        ),
    )
    assert report.notes == (
        "chart charts/shop rendered without its missing subchart(s): redis, shared",
        f"rendered 1 Helm chart(s) with {HELM}",
    )
    assert renders(report, "DS201", "charts/shop/templates/deployment.yaml") == ["helm charts/shop"]


# A chart whose own template reads a missing subchart's values behind the subchart's
# switch, as kube-prometheus-stack reads prometheus-node-exporter's.
EXPORTER_DEPENDENCY = (
    "dependencies:\n"  # 7
    "  - name: prometheus-exporter\n"  # 8
    "    version: 4.0.0\n"  # 9
    "    repository: https://charts.example.com\n"  # 10
    "    condition: exporter.enabled\n"  # 11
)
EXPORTER_ROLE = (
    "{{- if .Values.exporter.enabled }}\n"  # 1
    "apiVersion: rbac.authorization.k8s.io/v1\n"  # 2
    "kind: ClusterRole\n"  # 3
    "metadata:\n"  # 4
    "  name: exporter-proxy\n"  # 5
    "rules:\n"  # 6
    "{{- if and .Values.exporter.enabled"  # 7
    ' (index .Values "prometheus-exporter").kubeRBACProxy.enabled }}\n'
    "  - apiGroups: [authentication.k8s.io]\n"  # 8
    "    resources: [tokenreviews]\n"  # 9
    "    verbs: [create]\n"  # 10
    "{{- end }}\n"  # 11
    "{{- end }}\n"  # 12
)


def exporter_chart(tmp_path: Path) -> Path:
    repo = chart_repo(tmp_path, "monitor")
    chart = repo / "charts" / "monitor"
    (chart / "Chart.yaml").write_text((chart / "Chart.yaml").read_text() + EXPORTER_DEPENDENCY)
    (chart / "values.yaml").write_text(
        (chart / "values.yaml").read_text()
        + "exporter:\n  enabled: true\n"
        # Settings for the subchart; its defaults (kubeRBACProxy) come with it.
        + 'prometheus-exporter:\n  namespaceOverride: ""\n'
    )
    (chart / "templates" / "exporter-role.yaml").write_text(EXPORTER_ROLE)
    return repo


@needs_helm
def test_missing_dependencies_are_switched_off_by_their_condition(tmp_path: Path) -> None:
    report = run(exporter_chart(tmp_path))
    assert report.errors == (
        ScanError(
            "charts/monitor/Chart.yaml",
            8,
            "dependency 'prometheus-exporter' is not in charts/monitor/charts/: run `helm"
            " dependency build charts/monitor` to vendor it; the chart was rendered without it",
            "render",
        ),
    )
    assert report.notes == (
        "chart charts/monitor rendered without its missing subchart(s): prometheus-exporter,"
        " with exporter.enabled set to false",
        f"rendered 1 Helm chart(s) with {HELM}",
    )
    # Its own templates are checked: the Deployment's findings are there.
    assert renders(report, "DS201", "charts/monitor/templates/deployment.yaml") == [
        "helm charts/monitor"
    ]


@needs_helm
def test_a_template_that_still_fails_is_reported_at_its_line(tmp_path: Path) -> None:
    repo = exporter_chart(tmp_path)
    chart_yaml = repo / "charts" / "monitor" / "Chart.yaml"
    # Without a condition nothing switches the subchart's part off: its template fails.
    chart_yaml.write_text(chart_yaml.read_text().replace("    condition: exporter.enabled\n", ""))
    report = run(repo)
    assert [(e.file, e.line, e.kind) for e in report.errors] == [
        ("charts/monitor/Chart.yaml", 8, "render"),
        ("charts/monitor/templates/exporter-role.yaml", 7, "render"),
    ]
    assert report.errors[0].message.endswith("; the chart could not be rendered without it")
    # Helm's words, with the template's column.
    assert "exporter-role.yaml:7:51" in report.errors[1].message
    assert "nil pointer evaluating interface {}.enabled" in report.errors[1].message


# Two Deployments with templated names in one template, sections behind `{{ if }}`s that
# are false before, between and after them, and one repeated by `range`.
SECTIONS = """\
{{- if .Values.serviceAccounts }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Values.web }}
---
{{- end }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Values.web }}
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: web:1.0
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Values.web }}
spec:
  selector: {app: web}
  ports: [{port: 80}]
{{- if .Values.cache }}
{{- if .Values.serviceAccounts }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Values.cache }}
{{- end }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Values.cache }}
spec:
  selector:
    matchLabels: {app: cache}
  template:
    metadata:
      labels: {app: cache}
    spec:
      containers:
        - name: cache
          image: cache:1.0
          securityContext:
            privileged: true
{{- end }}
{{- range .Values.shards }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: shard-{{ . }}
data: {shard: "{{ . }}"}
{{- end }}
"""


@needs_helm
def test_each_document_of_a_template_is_found_at_its_own_section(tmp_path: Path) -> None:
    chart = tmp_path / "charts" / "app"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text(
        "serviceAccounts: false\nweb: web\ncache: cache\nshards: [a, b]\n"
    )
    (chart / "templates" / "app.yaml").write_text(SECTIONS)
    report = run(tmp_path)
    assert report.errors == ()
    found = sorted(
        (f.rule_id, f.resource.name if f.resource else None, f.line)
        for f in report.findings
        if f.rule_id in ("DS201", "DS216") and f.file == "charts/app/templates/app.yaml"
    )
    assert found == [
        ("DS201", "cache", 54),  # `privileged: true`
        ("DS216", "cache", 53),  # its `securityContext:`, not the web Deployment's lines
        ("DS216", "web", 20),  # `- name: web`
    ]


@needs_helm
def test_failed_chart_is_counted_as_failed_not_rendered(tmp_path: Path) -> None:
    repo = chart_repo(tmp_path, "shop")
    shutil.copytree(FIXTURES / "chart-broken", repo / "charts" / "broken")
    report = run(repo)
    assert report.notes == (
        f"rendered 1 Helm chart(s) with {HELM}; 1 failed (see the input errors)",
    )
    assert [(e.file, e.kind) for e in report.errors] == [("charts/broken/Chart.yaml", "render")]


POLICY = """\
render:
  charts:
    charts/hardened:
      values: [values-hardened.yaml]
      namespace: shop
      release: web
    charts/missing-values:
      values:
        - values-hardened.yaml
        - no-such-values.yaml
"""


@needs_helm
def test_chart_settings_come_from_the_policy_file(tmp_path: Path) -> None:
    repo = chart_repo(tmp_path, "hardened", "plain", "missing-values")
    shutil.copy(FIXTURES / "values-hardened.yaml", repo)
    (repo / "deploysafe.yaml").write_text(POLICY)
    cfg = load(repo / "deploysafe.yaml", "deploysafe.yaml")
    report = run(repo, cfg)
    # The chart with a missing values file is an input error at the policy's line, and is
    # not rendered with other values than the ones asked for; the other charts are.
    assert report.errors == (
        ScanError(
            "deploysafe.yaml",
            10,
            "render.charts.charts/missing-values.values.1: values file no-such-values.yaml does"
            " not exist; the chart charts/missing-values was not rendered (fix the path)",
            "render",
        ),
    )
    assert report.notes == (
        f"rendered 2 Helm chart(s) with {HELM}; 1 failed (see the input errors)",
    )
    deployments = {
        (f.file.split("/")[1], f.resource.namespace, f.resource.name)
        for f in report.findings
        if f.resource is not None and f.resource.kind == "Deployment"
    }
    assert deployments == {("hardened", "shop", "web-shop"), ("plain", None, "release-shop")}
    privileged = {f.file.split("/")[1] for f in report.findings if f.rule_id == "DS201"}
    assert privileged == {"plain"}  # values-hardened.yaml turns it off


@needs_helm
def test_command_line_values_win_over_the_policy_file(tmp_path: Path) -> None:
    repo = chart_repo(tmp_path, "hardened")
    shutil.copy(FIXTURES / "values-hardened.yaml", repo)
    insecure = repo / "insecure.yaml"
    insecure.write_text("privileged: true\n")
    (repo / "deploysafe.yaml").write_text(POLICY.split("    charts/missing-values")[0])
    cfg = load(repo / "deploysafe.yaml", "deploysafe.yaml")
    opts = RenderOptions(values=(insecure,), namespace="cli", release_name="cli")
    report = run(repo, cfg, opts)
    assert report.errors == ()
    names = {
        (f.resource.namespace, f.resource.name)
        for f in report.findings
        if f.rule_id == "DS201" and f.resource is not None
    }
    assert names == {("cli", "cli-shop")}


def test_settings_for_a_chart_or_overlay_that_is_not_there_are_errors(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(SERVICE)
    (tmp_path / "deploysafe.yaml").write_text(
        "render:\n  charts:\n    charts/shpo: {namespace: shop}\n"
        "  kustomize:\n    overlays/prd: {namespace: shop}\n"
    )
    report = run(tmp_path, load(tmp_path / "deploysafe.yaml", "deploysafe.yaml"))
    assert report.errors == (
        ScanError(
            "deploysafe.yaml",
            3,
            "render.charts.charts/shpo: no chart at charts/shpo; fix the path (it is relative"
            " to the policy file's folder)",
            "render",
        ),
        ScanError(
            "deploysafe.yaml",
            5,
            "render.kustomize.overlays/prd: no kustomization at overlays/prd; fix the path (it"
            " is relative to the policy file's folder)",
            "render",
        ),
    )


class _Counting(http.server.BaseHTTPRequestHandler):
    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.asked.append(self.path)
        body = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fetched}\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@needs_kustomize
def test_a_scan_never_fetches_remote_resources(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        root = write(
            tmp_path,
            {
                "base/kustomization.yaml": KUSTOMIZATION + f"resources:\n  - {url}/base.yaml\n",
                "overlay/kustomization.yaml": KUSTOMIZATION
                + f"resources:\n  - ../base\n  - {url}/overlay.yaml\n",
            },
        )
        report = run(root)
    finally:
        server.shutdown()
        server.server_close()
    assert _Counting.asked == []
    assert sorted((e.file, e.line) for e in report.errors) == [
        ("base/kustomization.yaml", 4),
        ("overlay/kustomization.yaml", 5),
    ]
    assert report.errors[0].message.endswith(
        "is not fetched (deploysafe renders offline): vendor it into the repository, or scan"
        " with --no-render"
    )


POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n"
    "  containers:\n    - name: c\n      image: c:1\n      securityContext: {privileged: true}\n"
)


@needs_kustomize
@pytest.mark.parametrize("depth", [990, 5000])
def test_a_deeply_nested_kustomization_is_an_error_and_the_scan_goes_on(
    tmp_path: Path, depth: int
) -> None:
    root = write(
        tmp_path,
        {
            "k/kustomization.yaml": KUSTOMIZATION
            + "resources: [cm.yaml]\n"
            + f"x: {'[' * depth}{']' * depth}\n",
            "k/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
            "pod.yaml": POD,
        },
    )
    report = run(root)
    problem = (
        "nesting deeper than 256 levels"
        if depth < 1000
        else "invalid YAML: while increasing flow level: exceeded maximum nesting depth"
    )
    assert report.errors == (
        ScanError(
            "k/kustomization.yaml",
            4,
            f"{problem}; the kustomization is not built: fix the syntax",
            "render",
        ),
    )
    assert ("pod.yaml", 8, "DS201") in {(f.file, f.line, f.rule_id) for f in report.findings}


@needs_kustomize
def test_a_kustomization_over_the_size_cap_is_not_read(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "deploysafe.yaml": "max_file_size: 2000\n",
            "k/kustomization.yaml": KUSTOMIZATION
            + "resources: [cm.yaml]\n"
            + "".join(f"# {'x' * 70}\n" for _ in range(40)),
            "k/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
            "pod.yaml": POD,
        },
    )
    report = run(root, load(root / "deploysafe.yaml"))
    assert (
        ScanError(
            "k/kustomization.yaml",
            1,
            "cannot read the kustomization (larger than the 2000-byte cap (max_file_size)), so it"
            " is not built",
            "render",
        )
        in report.errors
    )
    assert ("pod.yaml", 8, "DS201") in {(f.file, f.line, f.rule_id) for f in report.findings}


@needs_kustomize
def test_a_base_container_moved_by_an_overlay_is_one_finding(tmp_path: Path) -> None:
    """An overlay that inserts a sidecar first moves the base's container to index 1: the
    same line of the base, the same problem, reported once with both renders."""
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n"
        "spec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n"
        "      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n"
        "        image: registry.example/web:1.0\n"
    )
    sidecar = (
        "- op: add\n  path: /spec/template/spec/containers/0\n"
        "  value: {name: proxy, image: registry.example/proxy:1.0}\n"
    )
    write(
        tmp_path,
        {
            "base/deploy.yaml": deployment,
            "base/kustomization.yaml": KUSTOMIZATION + "resources: [deploy.yaml]\n",
            "plain/kustomization.yaml": KUSTOMIZATION + "resources: [../base]\n",
            "meshed/sidecar.yaml": sidecar,
            "meshed/kustomization.yaml": KUSTOMIZATION
            + "resources: [../base]\npatches:\n- path: sidecar.yaml\n"
            + "  target: {kind: Deployment, name: web}\n",
        },
    )
    report = run(tmp_path, Config())
    web = [
        f
        for f in report.findings
        if f.rule_id == "DS504" and f.file == "base/deploy.yaml" and "'web'" in f.message
    ]
    assert len(web) == 1, web
    assert web[0].renders == ("kustomize meshed", "kustomize plain")


@needs_kustomize
def test_one_kustomization_line_that_sets_many_objects_is_one_finding(tmp_path: Path) -> None:
    """`images: [{newTag: latest}]` is one line to fix, however many objects it retags: one
    finding at that line, naming the other objects."""

    def deployment(name: str) -> str:
        return (
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n"
            f"  namespace: shop\nspec:\n  selector:\n    matchLabels: {{app: {name}}}\n"
            f"  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n"
            f"      containers:\n      - name: {name}\n        image: registry.example/app:1.0\n"
        )

    write(
        tmp_path,
        {
            "app/web.yaml": deployment("web"),
            "app/api.yaml": deployment("api"),
            "app/worker.yaml": deployment("worker"),
            "app/kustomization.yaml": KUSTOMIZATION
            + "resources: [web.yaml, api.yaml, worker.yaml]\n"
            + "images:\n- name: registry.example/app\n  newTag: latest\n",
        },
    )
    report = run(tmp_path, Config())
    latest = [f for f in report.findings if f.rule_id == "DS503"]
    assert [(f.file, f.line) for f in latest] == [("app/kustomization.yaml", 6)]
    assert "2 more objects" in latest[0].message
    assert latest[0].message.startswith("container 'api' ")  # the first in print order
    assert latest[0].message.endswith("2 more objects: Deployment web, Deployment worker")


@needs_helm
def test_rendered_objects_checked_while_the_workers_check_files(tmp_path: Path) -> None:
    """The rendered objects are checked in the parent while worker processes check the
    files (over 2 MB of them), with the namespaces the files define: the same report as
    one process gives. The chart's pod lands in `ops`, which a plain file makes privileged;
    the pod in `web` is still judged."""
    privileged = (
        "  containers:\n  - name: c\n    image: nginx:1.27\n"
        "    securityContext:\n      privileged: true\n"
    )
    write(
        tmp_path,
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n",
            "chart/templates/ops.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: ops\n"
            "  namespace: ops\nspec:\n" + privileged,
            "chart/templates/web.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
            "  namespace: web\nspec:\n" + privileged,
            "z/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ops\n  labels:\n"
            "    pod-security.kubernetes.io/enforce: privileged\n",
        }
        | {f"m/cm{n:03}.yaml": f"kind: Note\nn: '{'x' * 30_000}'\n" for n in range(80)},
    )
    alone = run(tmp_path)
    pooled = scan([tmp_path], Config(), root=tmp_path, render=RenderOptions(), jobs=2)
    assert {(f.rule_id, f.file) for f in pooled.findings if f.rule_id == "DS201"} == {
        ("DS201", "chart/templates/web.yaml")
    }
    assert pooled.findings == alone.findings
    assert pooled.errors == alone.errors


# kustomize refuses a kustomization that sets nothing but its type (an explicit empty list
# or mapping is set); each case, built by the real kustomize, decides what is expected.
_EMPTY_OR_NOT = {
    "only-kind": "kind: Kustomization\n",
    "typed": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n",
    "null-resources": "kind: Kustomization\nresources:\n",
    "blank-fields": 'namespace: ""\nnamePrefix: ""\nresources:\n',
    "null-metadata": "kind: Kustomization\nmetadata:\n",
    "empty-list": "kind: Kustomization\nresources: []\n",
    "empty-metadata": "kind: Kustomization\nmetadata: {}\n",
    "named": "kind: Kustomization\nmetadata:\n  name: x\n",
}


@needs_kustomize
def test_a_kustomization_kustomize_refuses_as_empty_is_an_error_at_its_line(
    tmp_path: Path,
) -> None:
    assert TOOL is not None
    refused = set()
    for name, text in _EMPTY_OR_NOT.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "kustomization.yaml").write_text("# a comment first\n" + text)
        built = subprocess.run([*TOOL, str(folder)], capture_output=True, text=True, check=False)
        if built.returncode != 0:
            assert "kustomization.yaml is empty" in built.stderr
            refused.add(name)
    assert refused == {"only-kind", "typed", "null-resources", "blank-fields", "null-metadata"}
    report = scan([tmp_path], Config(), root=tmp_path, jobs=1, render=RenderOptions())
    assert sorted((e.file, e.line) for e in report.errors) == sorted(
        (f"{name}/kustomization.yaml", 2) for name in refused
    )
    assert all(
        "sets no field but `apiVersion` and `kind` to a value" in e.message for e in report.errors
    )
