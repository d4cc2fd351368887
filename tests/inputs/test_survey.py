"""What `deploysafe init` learns from a repository: charts with the values files, namespace
and release their deploy commands use, kustomize roots, manifest folders, the CI system."""

from __future__ import annotations

from pathlib import Path

from deploysafe.inputs.survey import Chart, CiSystem, Overlay, survey
from tests.support.scantools import write_tree

CHART = {
    "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    "charts/web/values.yaml": "replicas: 1\n",
    "charts/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n",
}
POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n"


def test_flags_before_the_release_and_equals_forms_are_read(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            **CHART,
            "charts/web/values-a.yaml": "a: 1\n",
            "charts/web/values-b.yaml": "b: 1\n",
            ".gitlab-ci.yml": (
                "deploy:\n  script:\n"
                "    - helm upgrade --install --namespace=web-prod"
                " --values=charts/web/values-a.yaml,charts/web/values-b.yaml --wait web"
                " ./charts/web\n"
            ),
        },
    )
    assert survey(root).charts == (
        Chart(
            "charts/web",
            "web",
            ("charts/web/values-a.yaml", "charts/web/values-b.yaml"),
            "web-prod",
            "web",
            ".gitlab-ci.yml:3",
        ),
    )
    assert survey(root).ci == (CiSystem.GITLAB,)


def test_variables_are_not_taken_for_values(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            **CHART,
            "deploy.sh": 'helm upgrade --install "$RELEASE" charts/web -n "$NS" -f "$VALUES"\n',
        },
    )
    assert survey(root).charts == (Chart("charts/web", "web", (), None, None, "deploy.sh:1"),)


def test_a_script_names_paths_from_its_own_folder_and_prod_wins(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            **CHART,
            "charts/web/values-staging.yaml": "a: 1\n",
            "charts/web/values-production.yaml": "a: 2\n",
            "scripts/deploy.sh": (
                "#!/bin/sh\n"
                "helm template web ../charts/web -f ../charts/web/values-staging.yaml"
                " -n web-staging | kubectl apply -f -\n"
                "helm template web ../charts/web \\\n"
                "  -f ../charts/web/values-production.yaml -n web-production\n"
            ),
        },
    )
    assert survey(root).charts == (
        Chart(
            "charts/web",
            "web",
            ("charts/web/values-production.yaml",),
            "web-production",
            "web",
            "scripts/deploy.sh:3",
            other_commands=("scripts/deploy.sh:2",),
        ),
    )


def test_without_a_command_values_are_chosen_by_name(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            **CHART,
            "charts/web/values-dev.yaml": "a: 1\n",
            "charts/values-prod.yaml": "a: 2\n",  # beside the chart, as many repositories do
            "charts/web/values.schema.json": "{}\n",
        },
    )
    assert survey(root).charts == (
        Chart(
            "charts/web",
            "web",
            ("charts/values-prod.yaml",),
            guessed=True,
            other_values=("charts/web/values-dev.yaml",),
        ),
    )


def test_subcharts_come_with_their_parent(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            **CHART,
            "charts/web/charts/db/Chart.yaml": "apiVersion: v2\nname: db\nversion: 1.0.0\n",
        },
    )
    assert [c.folder for c in survey(root).charts] == ["charts/web"]


def test_kustomize_roots_and_their_namespaces(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "base/kustomization.yaml": "resources: [pod.yaml]\n",
            "base/pod.yaml": POD,
            "prod/kustomization.yaml": "resources: [../base]\n",
            "dev/kustomization.yaml": "namespace: dev\nresources: [../base]\n",
            "Makefile": "deploy:\n\tkubectl apply -k prod --namespace prod\n",
            "e2e/all/kustomization.yaml": "resources: [../../base]\n",
        },
    )
    found = survey(root)
    assert found.overlays == (
        Overlay("dev", "dev"),
        Overlay("e2e/all"),
        Overlay("prod", None, "prod", "Makefile:2"),
    )
    assert found.test_folders == ("e2e",)
    assert found.manifest_folders == ()  # base/pod.yaml is rendered, not plain


def test_manifest_folders_test_data_and_github(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "k8s/pod.yaml": POD,
            "k8s/notes.yaml": "title: not a manifest\n",
            "examples/pod.yaml": POD,
            "test/e2e/pod.json": '{"apiVersion": "v1", "kind": "Pod"}\n',
            ".github/workflows/ci.yml": "on: push\njobs: {}\n",
        },
    )
    found = survey(root)
    assert found.manifest_folders == ("examples", "k8s", "test/e2e")
    assert found.test_folders == ("examples", "test")
    assert found.ci == (CiSystem.GITHUB,)
    assert (found.charts, found.overlays) == ((), ())
