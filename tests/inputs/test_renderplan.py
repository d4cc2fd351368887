"""What gets rendered, decided from the kustomizations and charts on disk before any engine
runs: roots, Components through their users, and the inputs that cannot render."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from deploysafe.inputs.renderplan import check_chart, is_remote, plan_kustomize
from deploysafe.model import ScanError

KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
COMPONENT = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"


def tree(root: Path, files: dict[str, str]) -> list[Path]:
    """Write `files`; returns the folders holding a kustomization.yaml, sorted."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return sorted((root / n).parent.resolve() for n in files if n.endswith("kustomization.yaml"))


def names(paths: object, root: Path) -> list[str]:
    assert isinstance(paths, tuple | frozenset | set | list)
    return sorted(p.relative_to(root.resolve()).as_posix() for p in paths)


@pytest.mark.parametrize(
    "entry",
    [
        "https://github.com/org/repo//deploy?ref=v1",
        "github.com/org/repo/deploy?ref=v1.2.0",
        "git@github.com:org/repo.git/deploy",
        "ssh://git@example.com/org/repo.git",
        "git::https://example.com/org/repo.git",
        "gitlab.com/org/repo/base",
        "https://raw.githubusercontent.com/org/repo/main/all.yaml",
        "../base?ref=main",
    ],
)
def test_remote_entries_are_recognised(entry: str) -> None:
    assert is_remote(entry)


@pytest.mark.parametrize("entry", ["../base", "deployment.yaml", "base.v2", "./overlays/prod"])
def test_local_entries_are_not_remote(entry: str) -> None:
    assert not is_remote(entry)


def test_only_roots_are_built_and_components_come_with_their_users(tmp_path: Path) -> None:
    folders = tree(
        tmp_path,
        {
            "base/kustomization.yaml": KUSTOMIZATION + "resources: [deploy.yaml]\n",
            "components/debug/kustomization.yaml": COMPONENT + "patches: [{path: p.yaml}]\n",
            "components/unused/kustomization.yaml": COMPONENT + "resources: [cm.yaml]\n",
            "overlays/prod/kustomization.yaml": KUSTOMIZATION
            + "resources: [../../base]\ncomponents: [../../components/debug]\n",
            "overlays/staging/kustomization.yaml": KUSTOMIZATION + "bases: [../../base]\n",
            "lonely/kustomization.yaml": KUSTOMIZATION + "resources: [pod.yaml]\n",
        },
    )
    plan = plan_kustomize(folders, tmp_path)
    assert names(plan.roots, tmp_path) == ["lonely", "overlays/prod", "overlays/staging"]
    prod = (tmp_path / "overlays/prod").resolve()
    assert names(plan.members[prod], tmp_path) == ["base", "components/debug", "overlays/prod"]
    assert names(plan.patches, tmp_path) == ["components/debug/p.yaml"]
    assert plan.errors == (
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
    assert names(plan.unbuilt, tmp_path) == ["components/unused"]


def test_self_reference_and_cycles_are_errors_at_the_entry(tmp_path: Path) -> None:
    folders = tree(
        tmp_path,
        {
            "self/kustomization.yaml": KUSTOMIZATION + "resources:\n  - a.yaml\n  - .\n",
            "a/kustomization.yaml": KUSTOMIZATION + "resources:\n  - ../b\n  - ../shared\n",
            "b/kustomization.yaml": KUSTOMIZATION + "resources:\n  - ../a\n",
            "shared/kustomization.yaml": KUSTOMIZATION + "resources: [cm.yaml]\n",
        },
    )
    plan = plan_kustomize(folders, tmp_path)
    assert sorted(plan.errors, key=lambda e: e.file) == [
        ScanError(
            "b/kustomization.yaml",
            4,
            "`resources` entry references a cycle (a -> b -> a): kustomize cannot build it, so"
            " these kustomizations are not built; remove the entry",
            "render",
        ),
        ScanError(
            "self/kustomization.yaml",
            5,
            "`resources` entry references itself: kustomize cannot build it, so these"
            " kustomizations are not built; remove the entry",
            "render",
        ),
    ]
    # `shared` is used only by `a`, which cannot be built: it is judged on its own.
    assert names(plan.roots, tmp_path) == ["shared"]
    assert names(plan.unbuilt, tmp_path) == ["a", "b", "self"]


def test_remote_base_blocks_its_overlay_not_the_local_base(tmp_path: Path) -> None:
    folders = tree(
        tmp_path,
        {
            "base/kustomization.yaml": KUSTOMIZATION + "resources: [deploy.yaml]\n",
            "prod/kustomization.yaml": KUSTOMIZATION
            + "resources:\n  - ../base\n  - github.com/org/repo/deploy?ref=v1\n",
        },
    )
    plan = plan_kustomize(folders, tmp_path)
    assert plan.errors == (
        ScanError(
            "prod/kustomization.yaml",
            5,
            "remote resource 'github.com/org/repo/deploy?ref=v1' is not fetched (deploysafe"
            " renders offline): vendor it into the repository, or scan with --no-render",
            "render",
        ),
    )
    assert names(plan.roots, tmp_path) == ["base"]
    assert names(plan.unbuilt, tmp_path) == ["prod"]


def test_patch_entries_know_what_they_target(tmp_path: Path) -> None:
    folders = tree(
        tmp_path,
        {
            "o/kustomization.yaml": KUSTOMIZATION
            + "resources: [svc.yaml]\n"
            + "patches:\n"
            + "  - path: p.yaml\n"
            + "  - target: {kind: Deployment, name: ghost}\n"
            + "    patch: '[{op: add, path: /spec/replicas, value: 2}]'\n"
            + "patchesStrategicMerge:\n"
            + "  - |-\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: inline}\n",
            "o/p.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n",
        },
    )
    plan = plan_kustomize(folders, tmp_path)
    (entries,) = plan.entries.values()
    assert [(p.line, p.kind, p.name, p.selector) for p in entries] == [
        (5, "Service", "web", False),
        (6, "Deployment", "ghost", True),
        (9, "ConfigMap", "inline", False),
    ]


CHART = "apiVersion: v2\nname: app\nversion: 0.1.0\n"


def test_chart_dependencies_missing_and_outside_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    chart = repo / "charts" / "app"
    (chart / "charts" / "redis").mkdir(parents=True)
    (chart / "charts" / "redis" / "Chart.yaml").write_text(
        "apiVersion: v2\nname: redis\nversion: 1.0.0\n"
    )
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        data = b"apiVersion: v2\nname: common\nversion: 2.0.0\n"
        info = tarfile.TarInfo("common/Chart.yaml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (chart / "charts" / "common-2.0.0.tgz").write_bytes(archive.getvalue())
    (chart / "Chart.yaml").write_text(
        CHART
        + "dependencies:\n"
        + "  - name: redis\n    version: 1.0.0\n    repository: https://charts.example.com\n"
        + "  - name: common\n    version: 2.0.0\n    repository: https://charts.example.com\n"
        + "  - name: postgresql\n    version: 3.0.0\n    repository: https://charts.example.com\n"
        + "  - name: shared\n    version: 0.1.0\n    repository: file://../../../outside\n"
    )
    check = check_chart(chart, repo)
    assert check.missing == ("postgresql", "shared")
    assert check.errors == (
        ScanError(
            "charts/app/Chart.yaml",
            11,
            "dependency 'postgresql' is not in charts/app/charts/: run `helm dependency build"
            " charts/app` to vendor it",
            "render",
        ),
        ScanError(
            "charts/app/Chart.yaml",
            16,
            "dependency 'shared' points outside the repository (file://../../../outside) and is"
            " not in charts/app/charts/: vendor it there (`helm dependency build charts/app`"
            " with that folder present)",
            "render",
        ),
    )


def test_chart_without_dependencies_has_nothing_to_say(tmp_path: Path) -> None:
    (tmp_path / "Chart.yaml").write_text(CHART)
    check = check_chart(tmp_path, tmp_path)
    assert (check.missing, check.errors) == ((), ())


def test_missing_dependencies_are_switched_off_by_their_condition_or_own_tags(
    tmp_path: Path,
) -> None:
    (tmp_path / "charts" / "cache").mkdir(parents=True)
    (tmp_path / "charts" / "cache" / "Chart.yaml").write_text(
        "apiVersion: v2\nname: cache\nversion: 1.0.0\n"
    )
    (tmp_path / "Chart.yaml").write_text(
        CHART
        + "dependencies:\n"
        # Helm reads the first path of a condition that is set: every path is switched off.
        + "  - name: exporter\n    version: 1.0.0\n"
        + "    condition: exporter.enabled, monitoring.exporter.enabled\n"
        # No condition: the tags turn it off, but not `ui`, which the vendored cache carries.
        + "  - name: dashboards\n    version: 1.0.0\n    tags: [dashboards, ui]\n"
        + "  - name: cache\n    version: 1.0.0\n    condition: cache.enabled\n    tags: [ui]\n"
        # Neither: nothing to switch off.
        + "  - name: plain\n    version: 1.0.0\n"
    )
    check = check_chart(tmp_path, tmp_path)
    assert check.missing == ("exporter", "dashboards", "plain")
    assert check.disabled == (
        "exporter.enabled",
        "monitoring.exporter.enabled",
        "tags.dashboards",
    )


def test_bases_out_of_the_repository_are_not_followed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    tree(tmp_path, {"outside/kustomization.yaml": KUSTOMIZATION + "resources: [cm.yaml]\n"})
    folders = tree(
        repo,
        {
            "up/kustomization.yaml": KUSTOMIZATION + "resources:\n  - ../../outside\n",
            "linked/kustomization.yaml": KUSTOMIZATION + "resources:\n  - base\n",
            "inside/kustomization.yaml": KUSTOMIZATION + "resources:\n  - ../shared\n",
            "shared/kustomization.yaml": KUSTOMIZATION + "resources: [cm.yaml]\n",
        },
    )
    (repo / "linked" / "base").symlink_to(tmp_path / "outside", target_is_directory=True)
    plan = plan_kustomize(folders, repo, repo)
    why = (
        "points outside the repository (after symlinks are followed), so the kustomization"
        " is not built: what is checked and released must be in the repository; vendor it"
        " there"
    )
    assert sorted(plan.errors, key=lambda e: e.file) == [
        ScanError("linked/kustomization.yaml", 4, f"`resources` entry 'base' {why}", "render"),
        ScanError("up/kustomization.yaml", 4, f"`resources` entry '../../outside' {why}", "render"),
    ]
    assert names(plan.roots, repo) == ["inside"]
    assert names(plan.unbuilt, repo) == ["linked", "up"]
