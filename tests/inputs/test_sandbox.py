"""Renders of hostile repository content: bounded in time, memory and output, and never
reading outside the repository."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from deploysafe.cli.exits import EXIT_FINDINGS_AND_INPUT
from deploysafe.cli.main import main
from deploysafe.inputs.render import (
    helm_available,
    kustomize_available,
    offline_env,
    render_helm,
    render_kustomize,
)
from deploysafe.inputs.sandbox import MIB, HelmWorker, Limits, run
from deploysafe.model import ScanError

needs_helm = pytest.mark.skipif(
    helm_available() is None, reason="neither helm nor helm-python-sdk is available"
)
needs_kustomize = pytest.mark.skipif(
    kustomize_available() is None, reason="neither kustomize nor kubectl is on PATH"
)

SMALL = Limits(seconds=3, memory=512 * MIB, output=1 * MIB)
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def chart(folder: Path, template: str, name: str = "hostile") -> Path:
    (folder / "templates").mkdir(parents=True)
    (folder / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n")
    (folder / "templates" / "cm.yaml").write_text(template)
    return folder


def failure(folder: Path, root: Path, limits: Limits = SMALL) -> list[ScanError]:
    rendered = render_helm(folder, root, limits=limits)
    assert rendered.failed
    assert rendered.documents == []
    return rendered.errors


@needs_helm
def test_a_template_that_allocates_without_end_stops_at_the_memory_limit(tmp_path: Path) -> None:
    c = chart(tmp_path / "c", '{{- $text := repeat 1000000000 "x" }}\n')
    assert failure(c, tmp_path) == [
        ScanError(
            "c/Chart.yaml",
            None,
            "the render needed more than 512 MiB of memory, so it was stopped (a template that"
            " builds too much?)",
            "render",
        )
    ]


@needs_helm
def test_a_template_that_loops_for_minutes_stops_at_the_clock(tmp_path: Path) -> None:
    loops = "{{- range until 100000 }}{{- range until 100000 }}{{- end }}{{- end }}\n"
    c = chart(tmp_path / "c", loops)
    limits = Limits(seconds=1.5, memory=SMALL.memory, output=SMALL.output)
    assert failure(c, tmp_path, limits) == [
        ScanError(
            "c/Chart.yaml",
            None,
            "the render did not finish within 1.5 s, so it was stopped (a template or build"
            " that loops too long?)",
            "render",
        )
    ]


@needs_helm
def test_rendered_output_over_the_cap_is_a_render_error(tmp_path: Path) -> None:
    big = CONFIGMAP.format(name="big") + 'data:\n  a: {{ "x" | repeat 2000000 }}\n'
    c = chart(tmp_path / "c", big)
    assert failure(c, tmp_path) == [
        ScanError(
            "c/Chart.yaml",
            None,
            "the rendered output is larger than 1 MiB, so it was not read (a template that"
            " repeats too much?)",
            "render",
        )
    ]


@needs_helm
def test_one_worker_renders_on_after_a_render_it_had_to_stop(tmp_path: Path) -> None:
    good = chart(tmp_path / "good", CONFIGMAP.format(name="good"), "good")
    loops = chart(tmp_path / "loops", "{{- range until 100000000000 }}{{- end }}\n")
    # The clock must stop the loop, and leave a first render on a loaded machine (the
    # worker's start included) time to finish.
    limits = Limits(seconds=3, memory=SMALL.memory, output=SMALL.output)
    with HelmWorker(offline_env(), limits) as worker:
        results = [
            render_helm(c, tmp_path, worker=worker, limits=limits) for c in (good, loops, good)
        ]
    assert [[d.name for d in r.documents] for r in results] == [["good"], [], ["good"]]
    assert [r.failed for r in results] == [False, True, False]


def test_an_engine_binary_over_its_clock_is_stopped() -> None:
    ran = run(["sleep", "30"], dict(os.environ), Limits(seconds=0.3))
    assert (ran.ok, ran.out, ran.limited) == (False, "", True)
    assert ran.err == (
        "sleep: the render did not finish within 0.3 s, so it was stopped (a template or"
        " build that loops too long?)"
    )


@needs_kustomize
def test_a_kustomize_build_over_the_output_cap_is_a_render_error(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (tmp_path / "cm.yaml").write_text(CONFIGMAP.format(name="big") + f"data:\n  a: {'x' * 9000}\n")
    built = render_kustomize(tmp_path, tmp_path, limits=Limits(output=8192))
    assert built is not None
    tool = (kustomize_available() or ["?"])[0]
    assert built.failed
    assert built.errors == [
        ScanError(
            "kustomization.yaml",
            None,
            f"{tool}: the rendered output is larger than 8 KiB, so it was not read (a template"
            " that repeats too much?)",
            "render",
        )
    ]


@needs_helm
def test_template_symlinks_out_of_the_repository_are_not_rendered(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "cm.yaml").write_text(CONFIGMAP.format(name="from-outside"))
    repo = tmp_path / "repo"
    (repo / "common").mkdir(parents=True)
    (repo / "common" / "cm.yaml").write_text(CONFIGMAP.format(name="shared"))
    c = chart(repo / "chart", CONFIGMAP.format(name="own"))
    (c / "templates" / "evil.yaml").symlink_to(outside / "cm.yaml")
    (c / "templates" / "more").symlink_to(outside, target_is_directory=True)
    (c / "templates" / "shared.yaml").symlink_to(repo / "common" / "cm.yaml")
    rendered = render_helm(c, repo)
    assert sorted(d.name or "" for d in rendered.documents) == ["own", "shared"]
    why = (
        "a symlink to a path outside the repository: left out of the render (deploysafe"
        " renders only what the repository holds); vendor the file into the chart instead"
    )
    assert sorted(rendered.errors, key=lambda e: e.file) == [
        ScanError("chart/templates/evil.yaml", None, why, "render"),
        ScanError("chart/templates/more", None, why, "render"),
    ]
    assert not rendered.failed


@needs_helm
def test_a_scan_reports_a_chart_over_a_limit_and_goes_on(tmp_path: Path) -> None:
    # Over the default output cap (64 MiB), so the scan's own limits decide.
    big = CONFIGMAP.format(name="big") + 'data:\n  a: {{ "x" | repeat 70000000 }}\n'
    chart(tmp_path / "chart", big)
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n"
        "  containers:\n    - name: c\n      image: c:1\n"
        "      securityContext: {privileged: true}\n"
    )
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "--format", "json"])
    assert result.exit_code == EXIT_FINDINGS_AND_INPUT, result.output
    report = json.loads(result.output)
    assert report["errors"] == [
        {
            "file": "chart/Chart.yaml",
            "line": None,
            "message": "the rendered output is larger than 64 MiB, so it was not read (a template"
            " that repeats too much?)",
            "kind": "render",
        }
    ]
    assert ("pod.yaml", 8, "DS201") in {
        (f["file"], f["line"], f["rule_id"]) for f in report["findings"]
    }
