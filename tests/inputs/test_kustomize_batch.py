"""Many kustomize roots built by one process: each root's output is what its own build gives,
whatever else shares the process (the real kubectl/kustomize; a PATH shim counts runs)."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploysafe.inputs import kustomizebatch as kb
from deploysafe.inputs.render import (
    kustomize_available,
    render_kustomizations,
    render_kustomize,
)

needs_kustomize = pytest.mark.skipif(
    kustomize_available() is None, reason="neither kustomize nor kubectl is on PATH"
)

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers:
        - name: web
          image: example.org/web:1.0
          envFrom: [{configMapRef: {name: settings}}]
"""
ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: web-reader
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects: [{kind: ServiceAccount, name: web}]
"""


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A log of every kustomize process: a shim before the real tool on PATH."""
    tool = kustomize_available()
    assert tool is not None
    real = shutil.which(tool[0])
    assert real is not None
    shims = tmp_path / "shims"
    shims.mkdir()
    log = tmp_path / "runs.log"
    shim = shims / tool[0]
    shim.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexec "{real}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{shims}{os.pathsep}{os.environ['PATH']}")
    log.touch()
    yield log


def overlays(root: Path, names: list[str]) -> list[Path]:
    """A base with a Deployment, RoleBinding, ConfigMap generator, and an overlay each
    (namespace, prefix, patch, image tag) that shares it."""
    write(
        root / "base",
        {
            "kustomization.yaml": "resources: [deployment.yaml, rbac.yaml]\n"
            "configMapGenerator: [{name: settings, literals: [A=1]}]\n",
            "deployment.yaml": DEPLOYMENT,
            "rbac.yaml": ROLE,
        },
    )
    return [
        write(
            root / "overlays" / name,
            {
                "kustomization.yaml": f"namespace: shop-{name}\nnamePrefix: {name}-\n"
                "resources: [../../base]\npatches: [{path: patch.yaml}]\n"
                f"images: [{{name: example.org/web, newTag: '{len(name)}.0'}}]\n",
                "patch.yaml": "apiVersion: apps/v1\nkind: Deployment\n"
                f"metadata: {{name: web}}\nspec: {{replicas: {len(name)}}}\n",
            },
        )
        for name in names
    ]


def same_as_alone(folders: list[Path], root: Path) -> None:
    together = render_kustomizations([(f, None) for f in folders], root, jobs=2)
    assert together is not None
    for folder, got in zip(folders, together, strict=True):
        alone = render_kustomize(folder, root)
        assert alone is not None
        assert got.errors == alone.errors
        assert [(d.file, d.data, d.positions, repr(d.written)) for d in got.documents] == [
            (d.file, d.data, d.positions, repr(d.written)) for d in alone.documents
        ], folder


@needs_kustomize
def test_overlays_of_a_base_share_a_process_and_each_reads_as_its_own_build(
    tmp_path: Path, runs: Path
) -> None:
    folders = overlays(tmp_path, ["dev", "test", "stage", "prod", "prod-eu", "prod-us"])
    together = render_kustomizations([(f, None) for f in folders], tmp_path, jobs=2)
    assert together is not None
    assert len(runs.read_text().splitlines()) == 2  # six roots, two workers, two processes
    for folder, r in zip(folders, together, strict=True):
        assert sorted(d.kind for d in r.documents) == ["ConfigMap", "Deployment", "RoleBinding"]
        assert {d.namespace for d in r.documents} == {f"shop-{folder.name}"}
        assert all((d.name or "").startswith(f"{folder.name}-") for d in r.documents)
    for r in together:  # no trace of the batch in what rules see
        for d in r.documents:
            assert kb.MARK not in str(d.data)
            assert all("part-" not in str(w) for w in d.written or ())
    same_as_alone(folders, tmp_path)


@needs_kustomize
def test_a_reference_another_root_would_rename_is_built_alone(tmp_path: Path, runs: Path) -> None:
    # Both land in one namespace: built together, kustomize would point a's Deployment at
    # b's generated ConfigMap and a's RoleBinding at b's prefixed ClusterRole.
    a = write(
        tmp_path / "a",
        {
            "kustomization.yaml": "namePrefix: p-\nresources: [deployment.yaml, rbac.yaml]\n",
            "deployment.yaml": DEPLOYMENT,
            "rbac.yaml": ROLE,
        },
    )
    b = write(
        tmp_path / "b",
        {
            "kustomization.yaml": "namePrefix: p-\nresources: [role.yaml]\n"
            "configMapGenerator: [{name: settings, literals: [A=1]}]\n",
            "role.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
            "metadata: {name: reader}\nrules: []\n",
        },
    )
    got = render_kustomizations([(a, None), (b, None)], tmp_path, jobs=1)
    assert got is not None
    (deployment,) = (d for d in got[0].documents if d.kind == "Deployment")
    (binding,) = (d for d in got[0].documents if d.kind == "RoleBinding")
    container = deployment.data["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"configMapRef": {"name": "settings"}}]
    assert binding.data["roleRef"]["name"] == "reader"
    assert len(runs.read_text().splitlines()) == 2  # the batch, then a alone
    same_as_alone([a, b], tmp_path)


@needs_kustomize
def test_broken_and_colliding_roots_are_built_alone_and_say_their_own_error(
    tmp_path: Path, runs: Path
) -> None:
    folders = overlays(tmp_path, ["dev", "prod"])
    twin = write(tmp_path / "twin", {"kustomization.yaml": "resources: [../overlays/dev]\n"})
    broken = write(tmp_path / "broken", {"kustomization.yaml": "resources:\n  - missing.yaml\n"})
    together = render_kustomizations(
        [(f, None) for f in [*folders, twin, broken]], tmp_path, jobs=1
    )
    assert together is not None
    assert [r.failed for r in together] == [False, False, False, True]
    (error,) = together[3].errors
    assert error.file == "broken/kustomization.yaml" and error.line == 2
    assert "missing.yaml" in error.message and "part-" not in error.message
    same_as_alone([*folders, twin, broken], tmp_path)


def app(root: Path, name: str, namespace: str | None) -> Path:
    """An app's kustomization: a ConfigMap of its own and, given one, the Namespace it
    declares (apps of one platform each declare the platform's namespace)."""
    files = {
        "cm.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\n",
        "kustomization.yaml": "resources: [cm.yaml" + (", ns.yaml]\n" if namespace else "]\n"),
    }
    if namespace:
        files["ns.yaml"] = f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {namespace}}}\n"
    return write(root / name, files)


@needs_kustomize
def test_a_batch_that_adds_one_object_twice_splits_where_kustomize_stopped(
    tmp_path: Path, runs: Path
) -> None:
    # Kustomize adds the parts in order and stops at c: a and b were added together, so
    # they stay a batch, and so do c and d; then e stops c's batch and starts its own.
    names = ["a", "b", "c", "d", "e", "f"]
    folders = [app(tmp_path, n, "shop" if n in "ace" else None) for n in names]
    got = render_kustomizations([(f, None) for f in folders], tmp_path, jobs=1)
    assert got is not None and not any(r.failed for r in got)
    # Two failed batches (stopped at c, then at e), then [a, b], [c, d] and [e, f].
    assert len(runs.read_text().splitlines()) == 5
    same_as_alone(folders, tmp_path)


@needs_kustomize
def test_a_root_that_reads_much_is_built_alone(tmp_path: Path, runs: Path) -> None:
    small = [app(tmp_path, n, None) for n in ["a", "b"]]
    big = app(tmp_path, "big", None)
    (big / "data.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: data}\ndata:\n"
        + "".join(f"  k{i}: {'x' * 60}\n" for i in range(5000))
    )
    (big / "kustomization.yaml").write_text("resources: [cm.yaml, data.yaml]\n")
    got = render_kustomizations([(f, None) for f in [*small, big]], tmp_path, jobs=1)
    assert got is not None and not any(r.failed for r in got)
    assert len(runs.read_text().splitlines()) == 2  # the small ones together, the big alone
    same_as_alone([*small, big], tmp_path)


@needs_kustomize
def test_a_root_that_lists_a_missing_resource_fails_no_batch(tmp_path: Path, runs: Path) -> None:
    small = [app(tmp_path, n, None) for n in ["a", "b"]]
    broken = write(tmp_path / "broken", {"kustomization.yaml": "resources: [gone.yaml]\n"})
    got = render_kustomizations([(f, None) for f in [*small, broken]], tmp_path, jobs=1)
    assert got is not None and [r.failed for r in got] == [False, False, True]
    # The batch, and the broken one alone: through its wrapper, then its own folder (so
    # that its error names the user's file).
    assert len(runs.read_text().splitlines()) == 3
    same_as_alone([*small, broken], tmp_path)


@needs_kustomize
def test_roots_whose_kustomizations_act_across_a_build_are_never_batched(
    tmp_path: Path, runs: Path
) -> None:
    folders = overlays(tmp_path, ["dev", "prod"])
    with_vars = write(
        tmp_path / "vars",
        {
            "kustomization.yaml": "resources: [deployment.yaml]\nvars:\n"
            "  - name: WEB\n    objref: {kind: Deployment, name: web, apiVersion: apps/v1}\n",
            "deployment.yaml": DEPLOYMENT,
        },
    )
    render_kustomizations([(f, None) for f in [*folders, with_vars]], tmp_path, jobs=1)
    # The batch of two overlays, then the vars root through a wrapper of its own.
    assert len(runs.read_text().splitlines()) == 2


@needs_kustomize
def test_an_annotation_spelled_like_the_batch_mark_is_kept(tmp_path: Path, runs: Path) -> None:
    own = write(
        tmp_path / "own",
        {
            "kustomization.yaml": "resources: [cm.yaml]\n",
            "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: own\n"
            f'  annotations: {{{kb.MARK}: "7"}}\n',
        },
    )
    other = write(
        tmp_path / "other",
        {
            "kustomization.yaml": "resources: [cm.yaml]\n",
            "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n",
        },
    )
    got = render_kustomizations([(own, None), (other, None)], tmp_path, jobs=1)
    assert got is not None
    assert len(runs.read_text().splitlines()) == 1
    assert got[0].documents[0].data["metadata"]["annotations"] == {kb.MARK: "7"}
    same_as_alone([own, other], tmp_path)


@needs_kustomize
def test_a_reference_renamed_after_a_namesake_in_another_namespace_is_built_alone(
    tmp_path: Path, runs: Path
) -> None:
    # a has a ConfigMap p-settings, but not in the Deployment's namespace: built together,
    # kustomize points the Deployment's reference at b's p-settings in that namespace.
    a = write(
        tmp_path / "a",
        {
            "kustomization.yaml": "resources: [all.yaml]\n",
            "all.yaml": "apiVersion: v1\nkind: ConfigMap\n"
            "metadata: {name: p-settings, namespace: other}\n---\n"
            + DEPLOYMENT.replace("name: web\n", "name: web\n  namespace: shop\n", 1),
        },
    )
    b = write(
        tmp_path / "b",
        {
            "kustomization.yaml": "namespace: shop\nnamePrefix: p-\n"
            "configMapGenerator: [{name: settings, literals: [A=1]}]\n"
            "generatorOptions: {disableNameSuffixHash: true}\n",
        },
    )
    got = render_kustomizations([(a, None), (b, None)], tmp_path, jobs=1)
    assert got is not None
    (deployment,) = (d for d in got[0].documents if d.kind == "Deployment")
    container = deployment.data["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"configMapRef": {"name": "settings"}}]
    same_as_alone([a, b], tmp_path)


@needs_kustomize
def test_overlays_that_only_move_a_base_to_their_namespace_share_a_process(
    tmp_path: Path, runs: Path
) -> None:
    # Every part spells web, and every other part has a ServiceAccount web in another
    # namespace: the same source object, so a reference renamed after it reads the same.
    write(
        tmp_path / "base",
        {
            "kustomization.yaml": "resources: [rbac.yaml, sa.yaml]\n",
            "rbac.yaml": ROLE,
            "sa.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web}\n",
        },
    )
    folders = [
        write(tmp_path / env, {"kustomization.yaml": f"namespace: {env}\nresources: [../base]\n"})
        for env in ("dev", "test", "prod")
    ]
    render_kustomizations([(f, None) for f in folders], tmp_path, jobs=1)
    assert len(runs.read_text().splitlines()) == 1
    same_as_alone(folders, tmp_path)


@needs_kustomize
def test_a_root_whose_objects_are_prefixed_at_different_levels_is_built_alone(
    tmp_path: Path, runs: Path
) -> None:
    # a's ClusterRole is prefixed in its base, its RoleBinding is not: alone, the roleRef is
    # renamed to a-reader; beside b's b-reader, neither matches the binding's prefixes and
    # kustomize leaves the roleRef as written.
    role = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
    role += "metadata: {name: reader}\nrules: []\n"
    a = write(
        tmp_path / "a",
        {
            "kustomization.yaml": "resources: [base, rbac.yaml]\n",
            "rbac.yaml": ROLE,
            "base/kustomization.yaml": "namePrefix: a-\nresources: [role.yaml]\n",
            "base/role.yaml": role,
        },
    )
    b = write(
        tmp_path / "b",
        {"kustomization.yaml": "namePrefix: b-\nresources: [role.yaml]\n", "role.yaml": role},
    )
    got = render_kustomizations([(a, None), (b, None)], tmp_path, jobs=1)
    assert got is not None
    (binding,) = (d for d in got[0].documents if d.kind == "RoleBinding")
    assert binding.data["roleRef"]["name"] == "a-reader"
    same_as_alone([a, b], tmp_path)


@needs_kustomize
def test_a_field_named_annotations_outside_metadata_is_left_alone(
    tmp_path: Path, runs: Path
) -> None:
    # kustomize writes a list at its key's indent: `spec:\n  annotations:\n  - x`.
    folders = [
        write(
            tmp_path / name,
            {
                "kustomization.yaml": "resources: [widget.yaml]\n",
                "widget.yaml": "apiVersion: example.org/v1\nkind: Widget\n"
                f"metadata: {{name: {name}}}\nspec: {{annotations: [x], size: 1}}\n",
            },
        )
        for name in ("a", "b")
    ]
    got = render_kustomizations([(f, None) for f in folders], tmp_path, jobs=1)
    assert got is not None
    assert [r.errors for r in got] == [[], []]
    assert [r.documents[0].data["spec"] for r in got] == [{"annotations": ["x"], "size": 1}] * 2
    same_as_alone(folders, tmp_path)


def test_a_batch_splits_by_its_marks_and_refuses_output_it_does_not_know() -> None:
    block = "    alpha.config.kubernetes.io/transformations: |\n"
    own = "      - configuredIn: a/kustomization.yaml\n        configuredBy:\n          kind: X\n"
    mark = (
        "      - configuredIn: part-{n}/mark.yaml\n        configuredBy:\n"
        "          kind: AnnotationsTransformer\n"
    )
    origin = "    config.kubernetes.io/origin: |\n      path: a.yaml\n"
    key = f"{kb.MARK}-0a"

    def doc(n: int, name: str, transformed: bool) -> str:
        return (
            f"kind: ConfigMap\nmetadata:\n  annotations:\n{block}"
            + (own if transformed else "")
            + mark.format(n=n)
            + origin
            + f'    {key}: "{n}"\n  name: {name}\n'
        )

    text = doc(1, "x", True) + "---\n" + doc(0, "y", False) + "---\n" + doc(1, "z", False)
    parts = kb.split(text, 2, key)
    assert parts == [
        f"kind: ConfigMap\nmetadata:\n  annotations:\n{origin}  name: y\n",
        f"kind: ConfigMap\nmetadata:\n  annotations:\n{block}{own}{origin}  name: x\n"
        f"---\nkind: ConfigMap\nmetadata:\n  annotations:\n{origin}  name: z\n",
    ]
    assert kb.split(text.replace(f'{key}: "0"', "other: x"), 2, key) is None  # unmarked
    assert kb.split(text, 1, key) is None  # a mark beyond the batch
    assert kb.split(text.replace("part-1/mark.yaml", "part-0/mark.yaml"), 2, key) is None


def test_roots_that_read_one_folder_and_rename_it_alike_go_to_different_batches() -> None:
    base = frozenset({"/r/base"})
    roots = [
        kb.Root(("a", None, None), base | {"/r/a"}),
        kb.Root(("b", None, None), base | {"/r/b"}),
        kb.Root(("a", None, None), base | {"/r/a2"}),  # like the first: its ids
        kb.Root((None, None, None), frozenset({"/r/c"})),
    ]
    assert kb.plan(roots, 1) == [[0, 1, 3], [2]]
    assert kb.plan(roots, 2) == [[0, 1], [2, 3]]
    assert kb.failed_parts(
        "accumulating resources from 'part-3': may not add; from 'part-7'", 5
    ) == {3}
