"""The starting policy's text: every value from the repository reads back as written, and
each kind of chart and overlay gets the comment that tells the user what to do."""

from __future__ import annotations

import pytest
import yaml

from deploysafe.formats.starter import policy, scalar
from deploysafe.inputs.survey import Chart, Overlay, Survey


@pytest.mark.parametrize(
    "text",
    [
        "shop-prod",
        "charts/web",
        "yes",
        "No",
        "1.10",
        "0x1F",
        "1e3",
        "a: b",
        "#x",
        "-x",
        "@x",
        "a b",
        "~",
        "",
        "ü/charts",
        "{x}",
        "[x]",
        "*x",
        "!x",
        "x\ny",
    ],
)
def test_scalars_read_back_as_the_same_string(text: str) -> None:
    assert yaml.safe_load(f"key: {scalar(text)}\n") == {"key": text}


def test_plain_names_stay_plain() -> None:
    assert [scalar(s) for s in ("shop-prod", "charts/web", "values_prod.yaml")] == [
        "shop-prod",
        "charts/web",
        "values_prod.yaml",
    ]


def test_charts_and_overlays_say_what_is_left_to_the_user() -> None:
    text = policy(
        Survey(
            charts=(Chart("web", "web"),),
            overlays=(Overlay("prod"), Overlay("on", "true")),
        )
    )
    lines = text.splitlines()
    start = lines.index("render:")
    assert lines[start : start + 9] == [
        "render:",
        "  charts:",
        "    web:  # chart web",
        "      # no helm command names this chart: its values.yaml alone is rendered",
        "      values: []",
        "      # namespace: where it is installed (else decided at install time: DS511)",
        "  kustomize:",
        "    prod: {}  # no namespace of its own: write {namespace: NS} as `kubectl apply -n NS`"
        " does",
        '    "on": {}  # its kustomization sets namespace "true"',
    ]
    assert yaml.safe_load(text)["render"]["kustomize"] == {"prod": {}, "on": {}}


def test_a_file_name_in_a_comment_cannot_break_out_of_it() -> None:
    chart = Chart(
        "web", "web", ("web/values-prod.yaml",), "shop", None, "ci/x\npolicy: privileged.sh:3"
    )
    text = policy(Survey(charts=(chart,)))
    assert yaml.safe_load(text)["policy"] == "restricted"
    assert "      # as ci/x\\npolicy: privileged.sh:3 installs it" in text.splitlines()
