"""Renders kept by content hash: a second scan reuses them, a changed input renders again,
a corrupt or foreign entry is rendered again, and the findings never depend on the cache.
Real Helm (SDK or binary) and real kubectl/kustomize, scanned as the CLI scans."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from deploysafe.config import Config
from deploysafe.engine.report import Report
from deploysafe.engine.scan import RenderOptions, scan
from deploysafe.inputs.render import helm_available, kustomize_available
from tests.support import paths
from tests.support.scantools import invoke

FIXTURES = paths.FIXTURES / "render"

pytestmark = pytest.mark.skipif(
    helm_available() is None or kustomize_available() is None,
    reason="needs Helm (binary or helm-python-sdk) and kustomize or kubectl",
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A chart and three kustomization roots over a shared base: four renders."""
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "chart-insecure", root / "chart")
    shutil.copytree(FIXTURES / "shared", root / "deploy")
    return root


def run(root: Path, cache: Path | None, jobs: int = 2) -> Report:
    return scan([root], Config(), root=root, render=RenderOptions(cache=cache), jobs=jobs)


def found(report: Report) -> list[tuple[str, str, int, tuple[str, ...]]]:
    return sorted((f.rule_id, f.file, f.line, f.renders) for f in report.findings)


def cache_notes(report: Report) -> list[str]:
    return [n for n in report.notes if n.startswith("render cache:")]


def said(reused: int, rendered: int) -> list[str]:
    return [
        f"render cache: {reused} render(s) reused, {rendered} rendered"
        " (--no-cache renders everything)"
    ]


def test_a_second_scan_reuses_every_render_and_finds_the_same(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    uncached = run(repo, None)
    first = run(repo, cache)
    second = run(repo, cache)
    assert cache_notes(uncached) == []
    assert cache_notes(first) == said(0, 4)
    assert cache_notes(second) == said(4, 0)
    assert len(list(cache.glob("??/*.json"))) == 4
    assert found(first) == found(uncached) == found(second)
    assert ("DS201", "chart/templates/deployment.yaml", 23, ("helm chart",)) in found(second)
    assert second.errors == uncached.errors
    # One worker and one build at a time: the same findings.
    assert found(run(repo, cache, jobs=1)) == found(uncached)


def test_a_changed_template_value_or_base_is_rendered_again(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run(repo, cache)
    template = repo / "chart" / "templates" / "deployment.yaml"
    template.write_text(
        template.read_text().replace(
            "privileged: {{ .Values.privileged }}",
            "privileged: {{ .Values.privileged }}\n            runAsUser: 0",
        )
    )
    changed = run(repo, cache)
    assert cache_notes(changed) == said(3, 1)
    assert found(changed) == found(run(repo, None))
    assert ("DS218", "chart/templates/deployment.yaml", 24, ("helm chart",)) in found(changed)

    values = repo / "chart" / "values.yaml"
    values.write_text(values.read_text().replace("privileged: true", "privileged: false"))
    assert cache_notes(run(repo, cache)) == said(3, 1)

    # The base feeds the two overlays, not the lonely root.
    base = repo / "deploy" / "base" / "deployment.yaml"
    base.write_text(base.read_text().replace("allowPrivilegeEscalation: true", "privileged: true"))
    rebuilt = run(repo, cache)
    assert cache_notes(rebuilt) == said(2, 2)
    assert found(rebuilt) == found(run(repo, None))
    assert cache_notes(run(repo, cache)) == said(4, 0)


def test_a_corrupt_or_foreign_entry_is_rendered_again(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    expected = found(run(repo, cache))
    entries = sorted(cache.glob("??/*.json"))
    assert len(entries) == 4
    # Cut short; not JSON; another key's entry; the right key with a value of another shape.
    entries[0].write_bytes(entries[0].read_bytes()[:100])
    entries[1].write_bytes(b"\x00\xff not json")
    entries[2].write_bytes(entries[3].read_bytes())
    body = entries[3].read_text()
    key = entries[3].stem
    entries[3].write_text(
        '{"format": 1, "key": "' + key + '", "value": {"sources": [[1, 2]], "marks": []}}'
    )
    assert len(body) > 100
    again = run(repo, cache)
    assert cache_notes(again) == said(0, 4)
    assert found(again) == expected
    # Rewritten whole: reused from now on.
    assert cache_notes(run(repo, cache)) == said(4, 0)


def test_the_cli_keeps_renders_in_the_cache_folder_unless_no_cache(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("DEPLOYSAFE_CACHE_DIR", str(cache))

    def notes(*args: str) -> list[str]:
        result = invoke(
            "scan",
            str(repo),
            "--format",
            "json",
            "--fail-on",
            "never",
            "--ignore-input-errors",
            *args,
        )
        assert result.exit_code == 0, result.output
        return [n for n in json.loads(result.output)["notes"] if n.startswith("render cache:")]

    assert notes("--no-cache") == []
    assert not cache.exists()
    assert notes() == said(0, 4)
    assert notes() == said(4, 0)
    assert notes("--no-cache") == []
    monkeypatch.setenv("DEPLOYSAFE_CACHE_DIR", "")
    assert notes() == []
