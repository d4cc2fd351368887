"""Namespaces as the cluster decides them: `-n` for every object that names none, and the
namespace decided at install time when the scan is given none (Helm's `.Release.Namespace`,
plain manifests, kustomizations without `namespace:`), for DS501, DS509, DS511 and PSS."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from deploysafe.config import Config
from deploysafe.engine import RenderOptions, Report, namespaces, pool, scan
from deploysafe.engine.namespaces import namespaces_in, policy_key
from deploysafe.engine.settings import placed, settings_for
from deploysafe.inputs.documents import RELEASE_NAMESPACE, _folder, load_kubernetes
from deploysafe.inputs.render import helm_available, kustomize_available
from deploysafe.pathnames import unpacked
from tests.support import paths
from tests.support.scantools import invoke, jobs_of, write_tree

TODAY = dt.date(2026, 12, 6)
RULES = {"DS201", "DS501", "DS509", "DS511"}
RENDER = paths.FIXTURES / "render"
CHART = RENDER / "chart-namespaces"
UNSET = (
    "namespace is decided at install time, so this scan could not judge it. Give the scan "
    "the namespace {} installed in (`--namespace NAME`, or `namespace:` in deploysafe.yaml), as "
    "the Argo CD destination or `helm install -n` will"
)

needs_helm = pytest.mark.skipif(
    helm_available() is None, reason="neither helm nor helm-python-sdk is available"
)
needs_kustomize = pytest.mark.skipif(
    kustomize_available() is None, reason="neither kustomize nor kubectl is on PATH"
)


def run(
    paths_: list[Path], root: Path, namespace: str | None = None, set_values: tuple[str, ...] = ()
) -> Report:
    opts = RenderOptions(namespace=namespace, set_values=set_values)
    return scan(paths_, Config(), root=root, render=opts, jobs=1, today=TODAY)


def found(report: Report) -> set[tuple[str, str, int]]:
    assert report.errors == ()
    return {(f.rule_id, f.file, f.line) for f in report.findings if f.rule_id in RULES}


def message(report: Report, rule_id: str) -> list[str]:
    return [f.message for f in report.findings if f.rule_id == rule_id]


# --- Helm: `.Release.Namespace` without `-n` -----------------------------------------------

AGENT = "chart-namespaces/templates/agent.yaml"
LEGACY = "chart-namespaces/templates/legacy.yaml"


@needs_helm
def test_helm_release_namespace_is_decided_at_install_time() -> None:
    r = run([CHART], RENDER)
    # Only the ConfigMap that writes `namespace: default` is in `default`; the DaemonSet,
    # Deployment and NetworkPolicy (`.Release.Namespace` or none) share one unknown
    # namespace: one DS511; the NetworkPolicy covers the pods; the chart's own Namespace
    # (named `.Release.Namespace`, privileged) turns PSS off for the privileged agent.
    assert found(r) == {("DS501", LEGACY, 5), ("DS511", AGENT, 3)}
    assert message(r, "DS501") == ["ConfigMap 'release-legacy' is in the 'default' namespace"]
    assert message(r, "DS511") == [
        "DaemonSet release-agent and 2 other objects in helm chart-namespaces name no "
        "namespace: their " + UNSET.format("they are")
    ]
    (ds511,) = (f for f in r.findings if f.rule_id == "DS511")
    assert ds511.resource is not None and ds511.resource.display() == "DaemonSet release-agent"


@needs_helm
def test_helm_install_time_namespace_without_its_namespace_object_is_restricted() -> None:
    r = run([CHART], RENDER, set_values=("createNamespace=false",))
    assert found(r) == {("DS501", LEGACY, 5), ("DS511", AGENT, 3), ("DS201", AGENT, 18)}


@needs_helm
def test_helm_with_a_namespace() -> None:
    r = run([CHART], RENDER, namespace="monitoring")
    assert found(r) == {("DS501", LEGACY, 5)}
    shown = {f.resource.display() for f in r.findings if f.resource is not None}
    assert shown == {
        "ConfigMap default/release-legacy",
        "DaemonSet monitoring/release-agent",
        "Deployment monitoring/release-web",
    }


@needs_helm
def test_helm_with_the_default_namespace_is_ds501_for_each_object() -> None:
    r = run([CHART], RENDER, namespace="default")
    assert found(r) == {
        ("DS501", LEGACY, 5),
        ("DS501", AGENT, 5),
        ("DS501", "chart-namespaces/templates/networkpolicy.yaml", 5),
        ("DS501", "chart-namespaces/templates/web.yaml", 3),
    }
    assert sorted(message(r, "DS501")) == [
        "ConfigMap 'release-legacy' is in the 'default' namespace",
        "DaemonSet 'release-agent' is in the 'default' namespace",
        "Deployment 'release-web' lands in the 'default' namespace (given by --namespace or "
        "the release)",
        "NetworkPolicy 'default-deny' is in the 'default' namespace",
    ]


@needs_helm
@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit"])
def test_helm_render_namespace_never_shows(fmt: str) -> None:
    result = invoke("scan", str(CHART), "--format", fmt)
    assert result.exit_code == 0, result.output
    assert "ds-unset" not in result.output
    assert "unset.invalid" not in result.output


@needs_helm
def test_helm_render_namespace_never_shows_in_a_render_error() -> None:
    result = invoke("scan", str(CHART), "--set", "failWith=refused", "--format", "json")
    (error,) = json.loads(result.output)["errors"]
    assert error["message"] == (
        "execution error at (agent/templates/fail.yaml:2:4): refused: cannot install into "
        f"{RELEASE_NAMESPACE}"
    )


# --- plain manifests ------------------------------------------------------------------------

SHOP = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
    spec:
      serviceAccountName: web
      containers:
      - name: web
        image: registry.example/web:1.0
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


def test_plain_manifest_without_namespace(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app.yaml": SHOP})
    r = run([tmp_path], tmp_path)
    assert found(r) == {("DS511", "app.yaml", 3), ("DS509", "app.yaml", 9)}
    assert message(r, "DS511") == [
        "Deployment web in folder ./ names no namespace: its " + UNSET.format("it is")
    ]
    assert message(r, "DS509") == [
        "Deployment web: no NetworkPolicy is installed with it (folder ./, namespace decided at "
        "install time), so any pod in the cluster can connect to them (default allow)"
    ]


def test_dash_n_places_plain_manifests(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app.yaml": SHOP})
    r = run([tmp_path], tmp_path, namespace="shop")
    assert found(r) == set()
    assert {f.resource.display() for f in r.findings if f.resource} == {"Deployment shop/web"}


def test_dash_n_default_is_ds501_for_plain_manifests(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app.yaml": SHOP})
    r = run([tmp_path], tmp_path, namespace="default")
    assert found(r) == {("DS501", "app.yaml", 3), ("DS509", "app.yaml", 9)}
    assert message(r, "DS509") == [
        "Deployment default/web: namespace 'default' has no NetworkPolicy, so any pod in the "
        "cluster can connect to them (default allow)"
    ]


PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: agent
spec:
  containers:
  - name: agent
    image: registry.example/agent:1.0
    securityContext:
      privileged: true
"""
PRIVILEGED_NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: ops
  labels:
    pod-security.kubernetes.io/enforce: privileged
"""


def test_dash_n_picks_the_pss_labels_of_a_scanned_namespace(tmp_path: Path) -> None:
    write_tree(tmp_path, {"ns.yaml": PRIVILEGED_NAMESPACE, "pod.yaml": PRIVILEGED_POD})
    assert ("DS201", "pod.yaml", 10) in found(run([tmp_path], tmp_path))
    assert found(run([tmp_path], tmp_path, namespace="ops")) == {("DS509", "pod.yaml", 3)}


def test_install_time_namespace_per_folder(tmp_path: Path) -> None:
    deny = SHOP.split("---\n")[1].replace("  namespace: shop\n", "")
    web = SHOP.split("---\n")[0]
    write_tree(
        tmp_path,
        {"a/web.yaml": web, "a/deny.yaml": deny, "b/web.yaml": web, "c/deny.yaml": deny},
    )
    r = run([tmp_path], tmp_path)
    # a/'s policy is installed with a/'s Deployment; b/ is on its own; c/ holds no workload.
    assert found(r) == {
        ("DS511", "a/deny.yaml", 3),
        ("DS511", "b/web.yaml", 3),
        ("DS511", "c/deny.yaml", 3),
        ("DS509", "b/web.yaml", 9),
    }
    assert sorted(message(r, "DS511"))[0] == (
        "Deployment web in folder b/ names no namespace: its " + UNSET.format("it is")
    )
    assert sorted(message(r, "DS511"))[1] == (
        "NetworkPolicy default-deny and 1 other object in folder a/ name no namespace: their "
        + UNSET.format("they are")
    )


def test_cluster_scoped_objects_stay_without_a_namespace() -> None:
    text = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n"
    (role,) = load_kubernetes(text, "r.yaml").documents
    s = settings_for(Config(), {}, namespace="shop")
    assert placed(role, s) is role
    (cm,) = load_kubernetes(text.replace("ClusterRole", "ConfigMap"), "c.yaml").documents
    assert placed(cm, s).namespace == "shop"


def test_a_release_namespace_object_is_its_renders_install_time_namespace() -> None:
    text = (
        f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {RELEASE_NAMESPACE}\n  labels:\n"
        "    pod-security.kubernetes.io/enforce: baseline\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n"
    )
    ns, pod = load_kubernetes(text, "t/x.yaml", rendered_from="helm t").documents
    assert policy_key(pod) == "<release namespace> of helm t"
    assert list(namespaces_in([ns, pod])) == ["<release namespace> of helm t"]
    (plain,) = load_kubernetes(text.split("---\n")[1], "t/y.yaml").documents
    assert policy_key(plain) == "<release namespace> of folder t/"


# --- kustomize ------------------------------------------------------------------------------

BASE = {
    "base/kustomization.yaml": "resources: [deployment.yaml, deny.yaml]\n",
    "base/deployment.yaml": SHOP.split("---\n")[0],
    "base/deny.yaml": SHOP.split("---\n")[1].replace("  namespace: shop\n", ""),
    "prod/kustomization.yaml": "namespace: shop\nresources: [../base]\n",
    "dev/kustomization.yaml": "resources: [../base]\n",
}


@needs_kustomize
def test_kustomization_namespace_and_install_time(tmp_path: Path) -> None:
    write_tree(tmp_path, BASE)
    r = run([tmp_path], tmp_path)
    # prod puts everything in `shop`; dev leaves it to install time, one DS511 for its
    # build; its NetworkPolicy, built with the Deployment, covers it.
    assert found(r) == {("DS511", "base/deny.yaml", 3)}
    assert message(r, "DS511") == [
        "NetworkPolicy default-deny and 1 other object in kustomize dev name no namespace: their "
        + UNSET.format("they are")
    ]
    # One finding per base line for both builds (engine/fold.py); built alone, prod's
    # objects are in `shop`.
    assert {f.renders for f in r.findings if f.file == "base/deployment.yaml"} == {
        ("kustomize dev", "kustomize prod")
    }
    prod = run([tmp_path / "prod"], tmp_path)
    assert {f.resource.display() for f in prod.findings if f.resource} >= {"Deployment shop/web"}


@needs_kustomize
def test_kustomization_with_dash_n(tmp_path: Path) -> None:
    write_tree(tmp_path, BASE)
    r = run([tmp_path], tmp_path, namespace="web")
    assert found(r) == set()
    # Built alone, each overlay's objects are where -n and its own `namespace:` put them.
    prod = run([tmp_path / "prod"], tmp_path, namespace="web")
    dev = run([tmp_path / "dev"], tmp_path, namespace="web")
    assert {f.resource.display() for f in prod.findings if f.resource} >= {"Deployment shop/web"}
    assert {f.resource.display() for f in dev.findings if f.resource} >= {"Deployment web/web"}


def test_a_namespace_found_after_its_objects_judges_them(tmp_path: Path) -> None:
    # The pod is checked in the first chunk of files, its Namespace (privileged) in a later
    # one: the pod is judged again at its namespace's level; the other pod is not in it.
    in_ops = PRIVILEGED_POD.replace("  name: agent\n", "  name: agent\n  namespace: ops\n")
    elsewhere = in_ops.replace("namespace: ops", "namespace: web")
    filler = {f"m/cm{n:03}.yaml": f"kind: Note\nn: {n}\n" for n in range(100)}
    write_tree(
        tmp_path,
        {"a/ops.yaml": in_ops, "a/web.yaml": elsewhere, "z/ns.yaml": PRIVILEGED_NAMESPACE} | filler,
    )
    late = run([tmp_path], tmp_path)
    assert {(f.rule_id, f.file) for f in late.findings if f.rule_id == "DS201"} == {
        ("DS201", "a/web.yaml")
    }
    (tmp_path / "z").rename(tmp_path / "0")  # the Namespace first: the same judgement
    early = run([tmp_path], tmp_path)
    assert [(f.rule_id, f.file, f.line, f.message) for f in late.findings] == [
        (f.rule_id, f.file, f.line, f.message) for f in early.findings
    ]


def _pooled_as_alone(root: Path) -> None:
    """Worker processes judge the tree as one process does: the pod in `ops` (privileged)
    passes, the one in `web` does not."""
    alone = scan([root], Config(), root=root, render=RenderOptions(False), jobs=1)
    pooled = scan([root], Config(), root=root, render=RenderOptions(False), jobs=2)
    assert {(f.rule_id, f.file) for f in pooled.findings if f.rule_id == "DS201"} == {
        ("DS201", "a/web.yaml")
    }
    assert pooled.findings == alone.findings


def test_worker_processes_know_every_namespace_before_judging(tmp_path: Path) -> None:
    # Over 2 MB, so that worker processes check it; the Namespace is in the last file.
    in_ops = PRIVILEGED_POD.replace("  name: agent\n", "  name: agent\n  namespace: ops\n")
    elsewhere = in_ops.replace("namespace: ops", "namespace: web")
    filler = {f"m/cm{n:03}.yaml": f"kind: Note\nn: '{'x' * 30_000}'\n" for n in range(80)}
    write_tree(
        tmp_path,
        {"a/ops.yaml": in_ops, "a/web.yaml": elsewhere, "z/ns.yaml": PRIVILEGED_NAMESPACE} | filler,
    )
    _pooled_as_alone(tmp_path)


def test_a_large_tree_is_searched_for_namespaces_while_it_is_planned(tmp_path: Path) -> None:
    # Past 1,000 files (workers start during discovery and search the files while the scan
    # plans) and 2 MB (they check them too). `ops` is defined twice: the later file wins,
    # as in one process.
    in_ops = PRIVILEGED_POD.replace("  name: agent\n", "  name: agent\n  namespace: ops\n")
    elsewhere = in_ops.replace("namespace: ops", "namespace: web")
    restricted = PRIVILEGED_NAMESPACE.replace(": privileged", ": restricted")
    filler = {f"m/cm{n:04}.yaml": f"kind: Note\nn: '{'x' * 2_500}'\n" for n in range(1_100)}
    write_tree(
        tmp_path,
        {
            "a/ops.yaml": in_ops,
            "a/web.yaml": elsewhere,
            "b/ns.yaml": restricted,
            "z/ns.yaml": PRIVILEGED_NAMESPACE,
        }
        | filler,
    )
    _pooled_as_alone(tmp_path)


def test_the_workers_search_the_files_as_they_are_found_and_size_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Parts of four files; `ops` defined twice (the later wins), a file that is no YAML,
    # and one gone before it is searched.
    monkeypatch.setattr(pool, "SEARCH_FILES", 4)
    restricted = PRIVILEGED_NAMESPACE.replace(": privileged", ": restricted")
    notes = {f"m/n{i}.yaml": f"kind: Note\nn: {'x' * i}\n" for i in range(7)}
    write_tree(
        tmp_path,
        {"a/ns.yaml": restricted, "c/notes.txt": "x" * 50, "z/ns.yaml": PRIVILEGED_NAMESPACE}
        | notes,
    )
    config = Config()
    jobs = jobs_of(tmp_path, config)
    files = [job[0] for job in jobs]
    (tmp_path / "m" / "n3.yaml").unlink()
    workers = pool.Workers.start(2)
    assert workers is not None
    sent: list[int] = []
    submit = workers.pool.submit

    def counted(fn: Callable[..., Any], part: bytes | list[str], *args: Any) -> Future[Any]:
        sent.append(len(unpacked(part) if isinstance(part, bytes) else part))
        return submit(fn, part, *args)

    monkeypatch.setattr(workers.pool, "submit", counted)
    try:
        search = workers.search(tmp_path, config.max_file_size)
        search.more(files[:3])
        assert sent == []  # not a whole part yet
        search.more(files[:9])
        assert sent == [4, 4]
        search.more(files, last=True)
        assert sent == [4, 4, len(files) - 8]
        found, sizes = search()
    finally:
        workers.close()
    alone = pool._namespaces_of_jobs(jobs, config.max_file_size)
    assert found == alone and found["ops"].level is None  # the later file's
    assert list(sizes) == list(pool._sizes(jobs)) and 0 in sizes


def _line_start_kind(raw: bytes) -> bool:
    """The byte search's meaning, spelled out: a line that starts `kind: Namespace`."""
    starts = [0, *(i + 1 for i in range(len(raw)) if raw[i : i + 1] == b"\n")]
    return any(namespaces._NS_KIND.match(raw, at) for at in starts)


@pytest.mark.parametrize(
    "raw",
    [
        b"kind: Namespace",
        b"kind: Namespace\n",
        b"apiVersion: v1\nkind: 'Namespace'  # labelled\r\nmetadata: {}\n",
        b"kind:\tNamespace\n",
        b'kind: "Namespace"\n---\nkind: Pod\n',
        b"kind: Pod\nspec:\n  kind: Namespace\n",  # not top level
        b"kind: NamespaceList\n",
        b"description: a Namespace, or a Namespace's labels\nkind: Pod\n",
        b"description: the Namespace\nkind: Namespace\n",
        b"x: Namespace\nkind: Namespace # ok\nNamespace",
        b"kind: Pod # Namespace\n",
        b"\nkind: Namespace",
        b"Namespace",
        b"",
        b"scope: Namespaced\nkind: Namespaced\n",
        b"kind: Namespace#x\n",
        b"kind: Namespace \t\r\n",
        b"kind: 'Namespace\"\n",
        b'kind: "Namespace"',
        b"kind: Namespace\rmetadata: {}\n",
        b"kinds: Namespace\n",
    ],
)
def test_the_namespace_byte_search_finds_line_start_kinds_only(raw: bytes) -> None:
    assert namespaces._has_namespace(raw) == _line_start_kind(raw)


def test_an_install_folder_is_the_parent_pathlib_gives() -> None:
    # A path cut at its last `/` (the fast path) and one pathlib normalises: one folder.
    parts = ["", ".", "..", "a", "b.yaml", "x y", "é"]
    for n in range(1, 5):
        for combo in itertools.product(parts, repeat=n):
            joined = "/".join(combo)
            for file in (joined, "/" + joined, joined + "/", "./" + joined, "//" + joined):
                assert _folder(file) == PurePosixPath(file).parent.as_posix(), file
