"""The benchmark's real-shaped corpus (bench/gen_real.py) is what real tools accept: its
charts render with the Helm engine and its overlays build with kustomize, with no input
error, so the rendered benchmark measures rendering and not failures; scaled copies are hard
links with the counts multiplied."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from deploysafe.config import Config
from deploysafe.engine.scan import RenderOptions, scan
from deploysafe.inputs.discover import Outcome
from deploysafe.inputs.render import helm_available, kustomize_available

GEN = Path(__file__).resolve().parent.parent / "bench" / "gen_real.py"


def generate(out: Path, *args: str) -> dict[str, object]:
    subprocess.run([sys.executable, str(GEN), "--out", str(out), "--sample", *args], check=True)
    stats: dict[str, object] = json.loads(out.with_name(out.name + ".stats.json").read_text())
    return stats


@pytest.mark.skipif(helm_available() is None, reason="neither helm nor helm-python-sdk")
@pytest.mark.skipif(kustomize_available() is None, reason="neither kustomize nor kubectl")
def test_sample_corpus_renders_and_builds_without_errors(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    stats = generate(root)
    assert {k: stats[k] for k in ("charts", "helm_templates", "kustomizations")} == {
        "charts": 2,
        "helm_templates": 22,
        "kustomizations": 8,
    }
    assert {k: stats[k] for k in ("workflows", "actions", "dockerfiles", "crd_docs")} == {
        "workflows": 3,
        "actions": 1,
        "dockerfiles": 3,
        "crd_docs": 2,
    }
    assert stats["docs"] == 60
    report = scan([root], Config(), root=root, render=RenderOptions(), jobs=1)
    assert report.errors == ()
    assert report.notes[0].startswith("rendered 2 Helm chart(s) with ")
    assert report.notes[1:] == (
        "built 7 kustomization root(s), with their bases and Components, with "
        + " ".join(kustomize_available() or ()),
    )
    templates = {c.path: c.outcome for c in report.coverage if "/templates/" in c.path}
    assert len(templates) == 22 + 2  # and each chart's _helpers.tpl
    assert set(templates.values()) == {Outcome.RENDERED}
    assert report.findings  # a third of everything is insecure on purpose


def test_scaled_copies_are_hard_links_with_multiplied_counts(tmp_path: Path) -> None:
    one = generate(tmp_path / "one")
    three = generate(tmp_path / "three", "--scale", "3")
    for k in ("files", "docs", "charts", "kustomizations", "bytes"):
        assert three[k] == 3 * one[k]  # type: ignore[operator]
    chart = sorted((tmp_path / "three" / "copy-002").glob("repo-*/charts/*/Chart.yaml"))[0]
    assert chart.stat().st_nlink == 4  # the 1x tree beside it and three copies
    assert (
        chart.read_bytes()
        == (tmp_path / "three-1x" / chart.relative_to(tmp_path / "three" / "copy-002")).read_bytes()
    )
