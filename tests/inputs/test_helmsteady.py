"""A chart that draws random values gives the same report every run, and what it draws is
not taken for a committed secret (the real Helm engine renders it twice)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from deploysafe.config import Config
from deploysafe.engine import RenderOptions, scan
from deploysafe.formats import jsonfmt
from deploysafe.inputs import helmsteady
from deploysafe.inputs.render import helm_available
from deploysafe.model import KeyPath

needs_helm = pytest.mark.skipif(
    helm_available() is None, reason="neither helm nor helm-python-sdk is available"
)

# Kept apart so that no scanner takes the fixture for a live credential.
LITERAL = "Pr0d" + "-s3cr3t-" + "Vq8zK2"

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: shop\nversion: 1.0.0\n",
    "values.yaml": 'password: ""\n',
    "templates/test-pod.yaml": """\
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test-{{ randAlphaNum 5 | lower }}
  annotations:
    helm.sh/hook: test
spec:
  containers:
    - name: test
      image: registry.example/test:1.0
      securityContext:
        privileged: true
""",
    "templates/secret.yaml": """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-db
data:
  {{- if .Values.password }}
  db-password: {{ .Values.password | b64enc | quote }}
  {{- else }}
  db-password: {{ randAlphaNum 24 | b64enc | quote }}
  {{- end }}
""",
    "templates/literal.yaml": """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-api
data:
  api-password: {literal}
""",
}


def chart(root: Path) -> Path:
    folder = root / "shop"
    for name, text in CHART.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        encoded = base64.b64encode(LITERAL.encode()).decode()
        (folder / name).write_text(text.replace("{literal}", encoded))
    return folder


@needs_helm
def test_a_chart_that_draws_gives_the_same_report_every_run(tmp_path: Path) -> None:
    chart(tmp_path)
    render = RenderOptions(cache=None)
    first, second = (scan([tmp_path], Config(), root=tmp_path, render=render) for _ in "ab")
    assert "".join(jsonfmt.chunks(first)) == "".join(jsonfmt.chunks(second))
    pods = {f.resource.name for f in first.findings if f.resource and f.resource.kind == "Pod"}
    assert pods == {"release-test-xxxxx"}
    secrets = [(f.file, f.resource.name if f.resource else None) for f in first.findings]
    # The drawn password is made at install time; the literal one is in the repository.
    assert ("shop/templates/literal.yaml", "release-api") in secrets
    assert all(name != "release-db" for _, name in secrets)


def test_what_differs_between_two_renders_is_masked_and_its_lines_named() -> None:
    a = [("c/templates/a.yaml", "kind: Pod\nname: t-abcde\nx: 1"), ("c/templates/b.yaml", "k: v")]
    b = [("c/templates/a.yaml", "kind: Pod\nname: t-qwxyz\nx: 1"), ("c/templates/b.yaml", "k: v")]
    out, drawn = helmsteady.steady(a, b)
    assert out == [("c/templates/a.yaml", "kind: Pod\nname: t-xxxxx\nx: 1"), a[1]]
    assert drawn == {"c/templates/a.yaml": [(2, 9)]}
    # Two draws that begin or end alike by chance are masked the same.
    for other in ("t-qwxye", "t-abxyz", "t-aqxye"):
        twin = [(a[0][0], f"kind: Pod\nname: {other}\nx: 1"), a[1]]
        assert helmsteady.steady(a, twin) == (out, drawn)
    assert helmsteady.steady(a, b[:1]) == (a, {})  # not the same templates: as rendered
    longer = [(a[0][0], a[0][1] + "\ny: 2"), a[1]]
    assert helmsteady.steady(a, longer) == (a, {})  # lines that do not pair up
    positions: dict[KeyPath, tuple[int, int]] = {
        (): (1, 1),
        ("kind",): (1, 1),
        ("name",): (2, 1),
        ("x",): (3, 1),
    }
    assert helmsteady.generated(positions, [(2, 9)]) == {("name",)}
    # On a line of several keys, the one whose value holds the drawn part.
    flow: dict[KeyPath, tuple[int, int]] = {("d",): (1, 1), ("d", "a"): (1, 5), ("d", "b"): (1, 12)}
    assert helmsteady.generated(flow, [(1, 15)]) == {("d", "b")}


def test_only_charts_that_call_a_drawing_function_render_twice(tmp_path: Path) -> None:
    folder = chart(tmp_path)
    assert helmsteady.draws(folder)
    (folder / "templates/test-pod.yaml").unlink()
    (folder / "templates/secret.yaml").write_text("# randAlphaNum, in a comment only\n")
    assert not helmsteady.draws(folder)


@needs_helm
def test_a_committed_secret_beside_a_drawn_value_on_one_line_is_reported(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "shop"
    (folder / "templates").mkdir(parents=True)
    (folder / "Chart.yaml").write_text(CHART["Chart.yaml"])
    # Drawn in a helper: the template's own line names no drawing function.
    (folder / "templates/_helpers.tpl").write_text(
        '{{- define "shop.seed" -}}{{ randAlphaNum 8 | b64enc | quote }}{{- end -}}\n'
    )
    encoded = base64.b64encode(LITERAL.encode()).decode()
    (folder / "templates/secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n"
        f'data: {{api-password: "{encoded}", seed: {{{{ include "shop.seed" . }}}}}}\n'
    )
    report = scan([tmp_path], Config(), root=tmp_path, render=RenderOptions(cache=None))
    found = [f for f in report.findings if f.rule_id == "DS310"]
    assert [(f.file, f.pointer) for f in found] == [
        ("shop/templates/secret.yaml", "/data/api-password")
    ]
