"""File names and values that are not printable text, through every output.

Real files on disk: a name that is not UTF-8, one with a newline, one with an escape
sequence, and a container name with a terminal escape and a bidi override. Each format
shows them in the one printable form (`deploysafe.printable`).
"""

from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from deploysafe.engine import Report
from deploysafe.engine import baseline as baselinemod
from deploysafe.formats import compact, html, jsonfmt, junit, sarif, text
from deploysafe.printable import printable
from tests.support import paths
from tests.support.scantools import PRIVILEGED_POD, invoke, scan_tree

# name on disk -> how every output shows it
NAMES = {
    b"\xff.yaml": "\\xff.yaml",
    b"new\nline.yaml": "new\\nline.yaml",
    b"esc\x1b[2J.yaml": "esc\\x1b[2J.yaml",
}
# A container name with a terminal escape and a right-to-left override (YAML escapes), and
# a raw override in the line a snippet shows.
HOSTILE_POD = PRIVILEGED_POD.replace("- name: app", '- name: "app\\e[2J\\u202Eevil"').replace(
    "privileged: true", "privileged: true  # \u202eeurt :degelivirp"
)
HOSTILE_MESSAGE = "container 'app\\x1b[2J\\u202eevil' runs privileged"
SHOWN = sorted(NAMES.values())


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("names")
    for name in NAMES:
        with open(os.path.join(os.fsencode(root), name), "wb") as fh:
            fh.write(HOSTILE_POD.encode())
    return root


@pytest.fixture(scope="module")
def report(tree: Path) -> Report:
    return scan_tree(tree)


def _unsafe(out: str) -> list[str]:
    """Characters no output may carry: controls but newline, lone surrogates, bidi."""
    return [c for c in out if printable(c) != c and c != "\n"]


def test_printable_forms() -> None:
    assert printable(os.fsdecode(b"a\xff\xfe.yaml")) == "a\\xff\\xfe.yaml"
    assert printable("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert printable("\x1b[31m\x7f\x85") == "\\x1b[31m\\x7f\\x85"
    assert printable("\u202e\u2028\ud800\uffff") == "\\u202e\\u2028\\ud800\\uffff"
    assert printable("ünïcode ✓ back\\slash") == "ünïcode ✓ back\\slash"


def test_findings_keep_distinct_fingerprints(report: Report) -> None:
    assert sorted(printable(f.file) for f in report.findings if f.rule_id == "DS201") == SHOWN
    assert len({f.fingerprint for f in report.findings}) == len(report.findings)


def test_text_shows_one_line_per_name(report: Report) -> None:
    out = text.render(report)
    assert _unsafe(out) == []
    lines = out.splitlines()
    for shown in SHOWN:
        assert shown in lines  # the file's heading line, whole
        at = lines.index(shown)
        assert "  11:7 critical DS201 " + HOSTILE_MESSAGE + "  Pod shop/web" in lines[at:]
        assert "      11 | privileged: true  # \\u202eeurt :degelivirp" in lines[at:]
    out.encode("utf-8")


def test_compact_is_one_line_per_finding(report: Report) -> None:
    out = "".join(compact.chunks(report))
    assert _unsafe(out) == []
    lines = out.splitlines()
    assert len(lines) == len(report.findings) + 1  # and the totals
    ds201 = sorted(ln for ln in lines if ": DS201 " in ln)
    assert ds201 == [
        f"{shown}:11:7: DS201 [critical] {HOSTILE_MESSAGE} (Pod shop/web)" for shown in SHOWN
    ]


def test_json_loads_and_names_the_files(report: Report) -> None:
    out = jsonfmt.render(report)
    out.encode("utf-8")
    doc = json.loads(out)
    ds201 = [f for f in doc["findings"] if f["rule_id"] == "DS201"]
    assert sorted(f["file"] for f in ds201) == SHOWN
    assert {f["message"] for f in ds201} == {HOSTILE_MESSAGE}
    assert "\x1b" not in out and "\\u001b" not in out


def test_sarif_uris_percent_encode_the_bytes(report: Report) -> None:
    out = sarif.render(report)
    doc = json.loads(out.encode("utf-8"))
    schema = json.loads((paths.DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema)
    results = [r for r in doc["runs"][0]["results"] if r["ruleId"] == "DS201"]
    uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results)
    assert uris == ["%FF.yaml", "esc%1B%5B2J.yaml", "new%0Aline.yaml"]
    assert {r["message"]["text"].split(". Fix:")[0] for r in results} == {HOSTILE_MESSAGE}


def test_junit_is_well_formed(report: Report) -> None:
    out = junit.render(report)
    root = ET.fromstring(out.encode("utf-8"))
    cases = [c for c in root.iter("testcase") if c.get("name", "").startswith("DS201")]
    assert sorted(c.get("file", "") for c in cases) == SHOWN
    assert {c.find("failure").get("message") for c in cases} == {HOSTILE_MESSAGE}  # type: ignore[union-attr]


def test_html_shows_names_escaped(report: Report) -> None:
    out = html.render(report)
    assert _unsafe(out) == []
    for shown in SHOWN:
        assert f'<code class="where">{shown}:11:7</code> <span class="resource">Pod shop/web' in out
    assert out.count(f'<p class="message">{escape(HOSTILE_MESSAGE)}</p>') == len(SHOWN)
    assert '<pre class="snippet"><span class="muted">11 |</span> privileged: true  # \\u202e' in out


def test_baseline_round_trips(report: Report, tmp_path: Path) -> None:
    out = baselinemod.dump(report.findings)
    doc: dict[str, Any] = json.loads(out)
    assert sorted(r["file"] for r in doc["findings"] if r["rule_id"] == "DS201") == SHOWN
    path = tmp_path / "baseline.json"
    path.write_text(out, encoding="utf-8")
    assert baselinemod.load(path) == {f.fingerprint for f in report.findings}


@pytest.mark.parametrize(
    "fmt", ["text", "compact", "json", "sarif", "junit", "html", "gitlab-sast", "github-summary"]
)
def test_cli_formats_do_not_crash(tree: Path, fmt: str) -> None:
    result = invoke("scan", str(tree), "--format", fmt)
    assert result.exit_code == 1, result.output
    assert _unsafe(result.output) == []


def test_list_files_shows_names_escaped(tree: Path) -> None:
    out = invoke("scan", str(tree), "--list-files").output
    assert _unsafe(out) == []
    assert sorted(ln.split()[1] for ln in out.splitlines()[:3]) == SHOWN
    doc = json.loads(invoke("scan", str(tree), "--list-files", "--format", "json").output)
    assert sorted(f["file"] for f in doc["files"]) == SHOWN


def test_command_errors_show_names_escaped(tree: Path, tmp_path: Path) -> None:
    bad = tmp_path / "base\x1b[2Jline.json"
    bad.write_text("[", encoding="utf-8")
    result = invoke("scan", str(tree), "--baseline", str(bad))
    assert result.exit_code == 2
    assert f"{printable(str(bad))}: cannot read the baseline: " in result.stderr
    assert _unsafe(result.stderr) == []
