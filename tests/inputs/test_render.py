"""Rendering with the real engines: Helm (binary or embedded SDK) and kubectl/kustomize."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploysafe.inputs.documents import RELEASE_NAMESPACE
from deploysafe.inputs.render import (
    ORIGIN,
    Rendered,
    helm_available,
    kustomize_available,
    render_helm,
    render_kustomize,
    split_helm_output,
)
from deploysafe.model import Document
from tests.support import paths

ROOT = paths.FIXTURES / "render"
CHART = ROOT / "chart-insecure"
BASE_DEPLOYMENT = ROOT / "kustomize" / "base" / "deployment.yaml"
CONTAINER = ("spec", "template", "spec", "containers", 0)

needs_helm = pytest.mark.skipif(
    helm_available() is None, reason="neither helm nor helm-python-sdk is available"
)
needs_kustomize = pytest.mark.skipif(
    kustomize_available() is None, reason="neither kustomize nor kubectl is on PATH"
)


def by_kind(rendered: Rendered, kind: str) -> Document:
    (doc,) = (d for d in rendered.documents if d.kind == kind)
    return doc


def line_of(path: Path, text: str) -> int:
    """1-based line of the only line of `path` containing `text`."""
    (hit,) = (i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln)
    return hit


def container(doc: Document) -> dict[str, object]:
    c = doc.data["spec"]["template"]["spec"]["containers"][0]
    assert isinstance(c, dict)
    return c


def one_template_chart(tmp_path: Path, name: str, values: str, template: str) -> Path:
    """A chart `name` with those values and one template, `templates/all.yaml`."""
    chart = tmp_path / name
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text(values)
    (chart / "templates" / "all.yaml").write_text(template)
    return chart


# --- Helm --------------------------------------------------------------------------------


@needs_helm
def test_helm_documents_point_at_their_templates() -> None:
    r = render_helm(CHART, ROOT)
    assert r.errors == []
    assert [(d.file, d.kind, d.name) for d in r.documents] == [
        ("chart-insecure/templates/deployment.yaml", "Deployment", "release-shop"),
        ("chart-insecure/templates/service.yaml", "Service", "release-shop"),
    ]
    dep = by_kind(r, "Deployment")
    assert dep.rendered_from == "helm chart-insecure"
    assert dep.default_namespace is None
    assert dep.lines == (CHART / "templates" / "deployment.yaml").read_text().splitlines()


@needs_helm
def test_helm_positions_are_template_lines() -> None:
    dep = by_kind(render_helm(CHART, ROOT), "Deployment")
    template = CHART / "templates" / "deployment.yaml"
    assert container(dep)["securityContext"] == {"privileged": True}
    privileged = (*CONTAINER, "securityContext", "privileged")
    assert dep.locate(privileged) == (line_of(template, "privileged:"), 13)
    assert (
        dep.lines[dep.locate(privileged)[0] - 1].strip() == "privileged: {{ .Values.privileged }}"
    )
    assert dep.locate((*CONTAINER, "image"))[0] == line_of(template, "image:")
    assert dep.locate((*CONTAINER, "name")) == (line_of(template, "- name: shop"), 11)
    assert dep.locate(CONTAINER) == (line_of(template, "- name: shop"), 9)
    # From `toYaml .Values.resources`: no line of its own, so its nearest spelled ancestor.
    cpu = (*CONTAINER, "resources", "limits", "cpu")
    assert dep.locate(cpu) == (line_of(template, "resources:"), 11)
    # From an `include`: the `labels:` line.
    assert dep.locate(("metadata", "labels", "app.kubernetes.io/name")) == (5, 3)
    assert dep.locate(("spec", "replicas")) == (line_of(template, "replicas:"), 3)


@needs_helm
def test_helm_values_files_and_set_change_the_output() -> None:
    default = container(by_kind(render_helm(CHART, ROOT), "Deployment"))
    assert default["image"] == "registry.example.com/shop:1.4.2"

    hardened = render_helm(CHART, ROOT, values=[ROOT / "values-hardened.yaml"])
    c = container(by_kind(hardened, "Deployment"))
    assert c["image"] == "registry.example.com/shop:1.5.0"
    assert c["securityContext"] == {"privileged": False}
    assert c["resources"] == {"limits": {"cpu": "500m", "memory": "256Mi"}}  # defaults kept

    # --set wins over values files, and merges key by key.
    both = render_helm(
        CHART,
        ROOT,
        values=[ROOT / "values-hardened.yaml"],
        set_values=["image.tag=2.0.0,service.type=NodePort"],
        release_name="prod",
    )
    c = container(by_kind(both, "Deployment"))
    assert c["image"] == "registry.example.com/shop:2.0.0"
    assert c["securityContext"] == {"privileged": False}
    svc = by_kind(both, "Service")
    assert svc.data["spec"]["type"] == "NodePort"
    assert svc.name == "prod-shop"


@needs_helm
def test_helm_namespace_is_the_default_namespace() -> None:
    r = render_helm(CHART, ROOT, namespace="shop")
    for doc in r.documents:
        assert doc.default_namespace == "shop"
        assert doc.own_namespace is None  # the chart does not write it; Helm applies it
        assert doc.namespace == "shop"


NAMESPACES = ROOT / "chart-namespaces"


@needs_helm
def test_helm_without_a_namespace_leaves_it_to_install_time() -> None:
    r = render_helm(NAMESPACES, ROOT)
    assert r.errors == []
    assert {d.kind: (d.own_namespace, d.default_namespace) for d in r.documents} == {
        "ClusterRoleBinding": (None, None),
        "ConfigMap": ("default", None),  # the template writes `default` itself
        "DaemonSet": (None, None),  # `.Release.Namespace`
        "Deployment": (None, None),  # no namespace at all
        "Namespace": (None, None),
        "NetworkPolicy": (None, None),  # `.Release.Namespace | quote`
    }
    assert by_kind(r, "Namespace").name == RELEASE_NAMESPACE
    assert by_kind(r, "ClusterRoleBinding").data["subjects"][0]["namespace"] == RELEASE_NAMESPACE
    env = container(by_kind(r, "DaemonSet"))["env"]
    assert env == [{"name": "WEB_URL", "value": "http://web.<release namespace>.svc:8080"}]
    agent = by_kind(r, "DaemonSet")
    assert agent.locate(("metadata", "name")) == (4, 3)  # still the template's lines
    for doc in r.documents:
        assert "unset.invalid" not in repr(doc.data)
        assert "unset.invalid" not in "\n".join(doc.lines)


@needs_helm
def test_helm_with_a_namespace_writes_it_where_the_chart_asks() -> None:
    r = render_helm(NAMESPACES, ROOT, namespace="monitoring")
    namespaced = [d for d in r.documents if d.kind not in ("ClusterRoleBinding", "Namespace")]
    assert {d.kind: (d.own_namespace, d.default_namespace) for d in namespaced} == {
        "ConfigMap": ("default", "monitoring"),
        "DaemonSet": ("monitoring", "monitoring"),
        "Deployment": (None, "monitoring"),
        "NetworkPolicy": ("monitoring", "monitoring"),
    }
    assert by_kind(r, "Namespace").name == "monitoring"
    assert by_kind(r, "ClusterRoleBinding").data["subjects"][0]["namespace"] == "monitoring"


@needs_helm
def test_broken_chart_is_an_error_not_an_exception() -> None:
    r = render_helm(ROOT / "chart-broken", ROOT)
    assert r.documents == []
    (err,) = r.errors
    assert (err.file, err.line, err.kind) == ("chart-broken/Chart.yaml", None, "render")
    assert 'function "nosuchfunc" not defined' in err.message


@needs_helm
def test_helm_bad_inputs_are_errors() -> None:
    missing = render_helm(ROOT / "no-such-chart", ROOT)
    assert [(e.file, e.kind) for e in missing.errors] == [("no-such-chart/Chart.yaml", "render")]
    assert missing.documents == []

    values = render_helm(CHART, ROOT, values=[ROOT / "no-such-values.yaml"])
    assert values.documents == []
    assert "no-such-values.yaml" in values.errors[0].message

    bad_set = render_helm(CHART, ROOT, set_values=["image.tag"])
    assert bad_set.documents == []
    assert bad_set.errors[0].message.startswith("--set image.tag:")


def test_split_helm_output() -> None:
    out = (
        "---\n# Source: shop/templates/service.yaml\napiVersion: v1\nkind: Service\n"
        "---\n# Source: shop/charts/db/templates/a.yaml\nkind: A\n"
        "---\n# Source: shop/templates/service.yaml\napiVersion: v1\nkind: Service\n"
    )
    assert split_helm_output(out) == [
        (
            "shop/templates/service.yaml",
            "apiVersion: v1\nkind: Service\n---\napiVersion: v1\nkind: Service\n",
        ),
        ("shop/charts/db/templates/a.yaml", "kind: A\n"),
    ]


def test_helm_available_names_the_engine() -> None:
    engine = helm_available()
    assert engine is None or engine.startswith(("helm ", "helm-python-sdk "))


# --- Kustomize ---------------------------------------------------------------------------


@needs_kustomize
def test_kustomize_documents_point_at_their_files() -> None:
    r = render_kustomize(ROOT / "kustomize" / "overlays" / "prod", ROOT)
    assert r is not None
    assert r.errors == []
    assert r.note is None
    assert sorted((d.file, d.kind) for d in r.documents) == [
        ("kustomize/base/deployment.yaml", "Deployment"),
        ("kustomize/base/service.yaml", "Service"),
        ("kustomize/overlays/prod/kustomization.yaml", "ConfigMap"),
        ("kustomize/overlays/prod/networkpolicy.yaml", "NetworkPolicy"),
    ]
    for doc in r.documents:
        assert doc.namespace == "shop"  # the overlay's `namespace:` is in the data
        assert doc.default_namespace is None
        assert doc.rendered_from == "kustomize kustomize/overlays/prod"
        assert ORIGIN not in doc.metadata.get("annotations", {})


@needs_kustomize
def test_kustomize_positions_are_source_lines() -> None:
    r = render_kustomize(ROOT / "kustomize" / "overlays" / "prod", ROOT)
    assert r is not None
    dep = by_kind(r, "Deployment")
    assert dep.lines == BASE_DEPLOYMENT.read_text().splitlines()
    assert "annotations" not in dep.metadata  # only the origin was there: gone with it
    c = container(dep)
    assert c["image"] == "registry.example.com/shop:1.5.0"  # the overlay's image tag
    assert dep.data["spec"]["replicas"] == 3  # the overlay's patch
    assert dep.locate(("spec", "replicas")) == (line_of(BASE_DEPLOYMENT, "replicas:"), 3)
    escalation = (*CONTAINER, "securityContext", "allowPrivilegeEscalation")
    assert dep.locate(escalation) == (line_of(BASE_DEPLOYMENT, "allowPrivilegeEscalation"), 13)
    # Added by the overlay's patch: the base's nearest line, its securityContext.
    privileged = (*CONTAINER, "securityContext", "privileged")
    assert c["securityContext"] == {"allowPrivilegeEscalation": True, "privileged": True}
    assert dep.locate(privileged) == (line_of(BASE_DEPLOYMENT, "securityContext:"), 11)
    # Kustomize sorts keys; positions still follow the source.
    assert dep.locate((*CONTAINER, "name")) == (line_of(BASE_DEPLOYMENT, "- name: shop"), 11)

    # Generated objects point at their generator in the kustomization.
    cm = by_kind(r, "ConfigMap")
    kustomization = ROOT / "kustomize" / "overlays" / "prod" / "kustomization.yaml"
    assert cm.locate(("data", "LOG_LEVEL")) == (line_of(kustomization, "configMapGenerator"), 1)


@needs_kustomize
def test_kustomize_does_not_write_into_the_tree() -> None:
    before = sorted(p for p in (ROOT / "kustomize").rglob("*"))
    render_kustomize(ROOT / "kustomize" / "overlays" / "prod", ROOT)
    assert sorted(p for p in (ROOT / "kustomize").rglob("*")) == before


@needs_kustomize
def test_broken_kustomization_is_an_error() -> None:
    r = render_kustomize(ROOT / "kustomize" / "broken", ROOT)
    assert r is not None
    assert r.documents == []
    (err,) = r.errors
    # The line that lists the entry, the path as the user knows it, said once.
    assert (err.file, err.line, err.kind) == ("kustomize/broken/kustomization.yaml", 2, "render")
    assert err.message == (
        "resources entry 'missing.yaml' cannot be built: "
        "kustomize/broken/missing.yaml does not exist"
    )


@needs_kustomize
def test_a_failed_build_says_its_error_not_the_deprecation_warnings_before_it(
    tmp_path: Path,
) -> None:
    """kustomize warns of each deprecated field before the error that failed the build:
    the message the user reads is the error."""
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    deprecated = "commonLabels:\n  app: a\npatchesStrategicMerge:\n  - gone.yaml\n"
    (tmp_path / "kustomization.yaml").write_text(
        "resources:\n  - cm.yaml\n" + deprecated + "patchesJson6902: []\nvars: []\n"
    )
    r = render_kustomize(tmp_path, tmp_path)
    assert r is not None and r.documents == []
    (err,) = r.errors
    # At the line that names the file, said once.
    assert (err.line, err.message) == (6, "'gone.yaml' cannot be read: gone.yaml does not exist")


@needs_kustomize
def test_a_missing_file_deep_in_a_base_is_named_at_the_overlay_line(tmp_path: Path) -> None:
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "kustomization.yaml").write_text("resources:\n- manifest.yaml\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "kustomization.yaml").write_text(
        "namespace: web\nresources:\n- ../common\n"
    )
    r = render_kustomize(tmp_path / "app", tmp_path)
    assert r is not None
    (err,) = r.errors
    assert (err.file, err.line) == ("app/kustomization.yaml", 3)
    assert err.message == (
        "resources entry '../common' cannot be built: common/manifest.yaml does not exist"
    )
    assert str(tmp_path) not in err.message


@needs_kustomize
def test_folder_without_kustomization_is_an_error() -> None:
    r = render_kustomize(ROOT / "kustomize", ROOT)
    assert r is not None
    assert [(e.file, e.kind) for e in r.errors] == [("kustomize", "render")]


def test_kustomize_missing_tool_gives_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")  # no tool to find: the caller scans the plain files
    assert kustomize_available() is None
    assert render_kustomize(ROOT / "kustomize" / "overlays" / "prod", ROOT) is None


@needs_helm
def test_helm_loops_and_multi_document_templates(tmp_path: Path) -> None:
    chart = one_template_chart(
        tmp_path,
        "loop",
        "names: [a, b]\nsidecar: true\n",
        "{{- range .Values.names }}\n"  # 1
        "---\n"  # 2
        "apiVersion: v1\n"  # 3
        "kind: ConfigMap\n"  # 4
        "metadata:\n"  # 5
        "  name: {{ . }}\n"  # 6
        "{{- end }}\n"  # 7
        "---\n"  # 8
        "apiVersion: v1\n"  # 9
        "kind: Pod\n"  # 10
        "metadata:\n"  # 11
        "  name: web\n"  # 12
        "spec:\n"  # 13
        "  containers:\n"  # 14
        "    - name: app\n"  # 15
        "      image: app:1\n"  # 16
        "    {{- range .Values.names }}\n"  # 17
        "    - name: {{ . }}\n"  # 18
        "      image: side:1\n"  # 19
        "    {{- end }}\n",  # 20
    )
    r = render_helm(chart, tmp_path)
    assert r.errors == []
    assert [(d.kind, d.name) for d in r.documents] == [
        ("ConfigMap", "a"),
        ("ConfigMap", "b"),
        ("Pod", "web"),
    ]
    a, b, pod = r.documents
    assert a.locate(("metadata", "name")) == b.locate(("metadata", "name")) == (6, 3)
    assert pod.locate(("metadata", "name")) == (12, 3)
    assert pod.locate(("spec", "containers", 0, "image")) == (16, 7)
    # Items from the loop: the loop's item, not the literal `app` container.
    assert pod.locate(("spec", "containers", 1)) == (18, 5)
    assert pod.locate(("spec", "containers", 2, "image")) == (19, 7)


@needs_helm
def test_helm_documents_are_traced_to_their_section_past_false_ifs(tmp_path: Path) -> None:
    chart = one_template_chart(
        tmp_path,
        "sections",
        "first: false\nname: cfg\nshards: [a, b]\n",
        "{{- if .Values.first }}\n"  # 1
        "apiVersion: v1\n"  # 2
        "kind: ConfigMap\n"  # 3
        "metadata:\n"  # 4
        "  name: {{ .Values.name }}\n"  # 5
        "data: {first: x}\n"  # 6
        "---\n"  # 7
        "{{- end }}\n"  # 8
        "apiVersion: v1\n"  # 9
        "kind: ConfigMap\n"  # 10
        "metadata:\n"  # 11
        "  name: {{ .Values.name }}\n"  # 12
        "data: {second: x}\n"  # 13
        "{{- range .Values.shards }}\n"  # 14
        "---\n"  # 15
        "apiVersion: v1\n"  # 16
        "kind: ConfigMap\n"  # 17
        "metadata:\n"  # 18
        "  name: {{ $.Values.name }}-{{ . }}\n"  # 19
        "data: {shard: x}\n"  # 20
        "{{- end }}\n",  # 21
    )
    template = chart / "templates" / "all.yaml"
    before = template.read_text()
    r = render_helm(chart, tmp_path)
    assert r.errors == []
    assert template.read_text() == before  # the sections are marked in a copy
    assert [(d.name, d.locate(("metadata", "name")), d.locate(("data",))) for d in r.documents] == [
        ("cfg", (12, 3), (13, 1)),
        ("cfg-a", (19, 3), (20, 1)),
        ("cfg-b", (19, 3), (20, 1)),
    ]


def test_an_engine_error_quoted_with_escapes_reads_as_lines() -> None:
    from deploysafe.inputs.helmsdk import engine_message

    quoted = '"values don\'t meet the schema:\\nchart:\\n- \\"port\\" is required"'
    assert engine_message(quoted) == 'values don\'t meet the schema:\nchart:\n- "port" is required'


@needs_helm
def test_a_separator_joined_to_the_next_line_splits_as_helm_splits(tmp_path: Path) -> None:
    """`-}}` after a `---` joins the next line to it (`---# comment`, `---apiVersion:`): Helm
    still splits the manifests there, so the scan reads each, at its template lines."""
    chart = one_template_chart(
        tmp_path,
        "glued",
        "enabled: true\n",
        "apiVersion: v1\n"  # 1
        "kind: ConfigMap\n"  # 2
        "metadata:\n"  # 3
        "  name: first\n"  # 4
        "---\n"  # 5
        "\n"  # 6
        "{{- if .Values.enabled -}}\n"  # 7
        "\n"  # 8
        "# the second one\n"  # 9
        "apiVersion: v1\n"  # 10
        "kind: ConfigMap\n"  # 11
        "metadata:\n"  # 12
        "  name: second\n"  # 13
        "---\n"  # 14
        "{{ if .Values.enabled -}}\n"  # 15
        "apiVersion: v1\n"  # 16
        "kind: Secret\n"  # 17
        "metadata:\n"  # 18
        "  name: third\n"  # 19
        "{{- end }}\n"  # 20
        "{{- end }}\n",  # 21
    )
    r = render_helm(chart, tmp_path)
    assert r.errors == []
    assert [(d.kind, d.name, d.locate(("metadata", "name"))) for d in r.documents] == [
        ("ConfigMap", "first", (4, 3)),
        ("ConfigMap", "second", (13, 3)),
        ("Secret", "third", (19, 3)),
    ]
