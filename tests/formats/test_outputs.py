"""The four report formats, from a real scan of a small tree.

One finding (a privileged container, DS201) is checked field by field in every format; the
rest is checked for agreement between formats, so new rules do not break these tests.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jsonschema
import pytest
from click.testing import CliRunner

from deploysafe.cli.main import main
from deploysafe.config import Config
from deploysafe.engine import Report, scan
from deploysafe.formats import jsonfmt, junit, sarif, text
from deploysafe.model import Practice
from deploysafe.rules import BY_ID
from tests.support import paths
from tests.support.scantools import PRIVILEGED_POD, scan_tree

DATA = paths.DATA
SARIF_SCHEMA = DATA / "sarif-schema-2.1.0.json"
BROKEN = "invalid YAML: while parsing a flow node: did not find expected node content"

POD = PRIVILEGED_POD
# The same pod with both kinds of in-source suppression for DS201.
INLINE = POD.replace("name: web", "name: inline").replace(
    "      privileged: true\n",
    "      # deploysafe: ignore[DS201] GPU driver needs host devices (until 2099-01-01)\n"
    "      privileged: true\n",
)
ANNOTATED = POD.replace(
    "  name: web\n",
    "  name: annotated\n  annotations:\n    deploysafe.io/ignore: 'DS201: node agent'\n",
)

PRIVILEGED = {
    "rule_id": "DS201",
    "title": BY_ID["DS201"].title,
    "practice": 2,
    "severity": "critical",
    "file": "web/pod.yaml",
    "line": 11,
    "column": 7,
    "pointer": "/spec/containers/0/securityContext/privileged",
    "resource": {"kind": "Pod", "namespace": "shop", "name": "web"},
    "message": "container 'app' runs privileged",
    "fix": BY_ID["DS201"].fix,
    "renders": [],
    "also": [],
    "suppressed": None,
    "pss": {"level": "baseline", "check": "privileged"},
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    (root / "web").mkdir()
    (root / "web" / "pod.yaml").write_text(POD)
    (root / "inline.yaml").write_text(INLINE)
    (root / "annotated.yaml").write_text(ANNOTATED)
    (root / "broken.yaml").write_text("a: [\n")
    return root


@pytest.fixture(scope="module")
def report(tree: Path) -> Report:
    return scan_tree(tree)


@pytest.fixture(scope="module")
def as_json(report: Report) -> dict[str, Any]:
    doc = json.loads(jsonfmt.render(report))
    assert isinstance(doc, dict)
    return doc


def ds201(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in findings if f["rule_id"] == "DS201"]


# ------------------------------------------------------------------ JSON


def test_json_top_level(as_json: dict[str, Any]) -> None:
    assert list(as_json) == [
        "version",
        "tool",
        "findings",
        "errors",
        "skipped_files",
        "notes",
        "summary",
    ]
    assert as_json["version"] == 1
    assert as_json["skipped_files"] == []
    assert as_json["tool"]["name"] == "deploysafe"
    assert as_json["notes"] == []
    assert as_json["errors"] == [
        {
            "file": "broken.yaml",
            "line": 2,
            "message": BROKEN,
            "kind": "input",
        }
    ]


def test_json_privileged_finding_exact(as_json: dict[str, Any]) -> None:
    (found,) = (f for f in ds201(as_json["findings"]) if f["file"] == "web/pod.yaml")
    web = dict(found)
    fingerprint = web.pop("fingerprint")
    assert web == PRIVILEGED
    assert len(fingerprint) == 32
    assert int(fingerprint, 16) >= 0


def test_json_every_finding_has_every_field(as_json: dict[str, Any]) -> None:
    keys = set(PRIVILEGED) - {"pss"} | {"fingerprint"}
    for f in as_json["findings"]:
        assert keys <= set(f), f
        assert set(f) - keys <= {"pss"}
        assert f["practice"] in range(1, 7)
        assert f["severity"] in ("info", "low", "medium", "high", "critical")
        assert f["pointer"].startswith("/")
        assert set(f["resource"]) == {"kind", "namespace", "name"}
        assert ("pss" in f) == (BY_ID[f["rule_id"]].pss is not None)


def test_json_suppressed_findings_are_kept_and_counted(as_json: dict[str, Any]) -> None:
    assert [(f["file"], f["line"], f["suppressed"]) for f in ds201(as_json["findings"])] == [
        (
            "annotated.yaml",
            13,
            {"source": "annotation", "reason": "node agent", "expires": None},
        ),
        (
            "inline.yaml",
            12,
            {
                "source": "inline",
                "reason": "GPU driver needs host devices",
                "expires": "2099-01-01",
            },
        ),
        ("web/pod.yaml", 11, None),
    ]
    summary = as_json["summary"]
    findings = as_json["findings"]
    active = [f for f in findings if f["suppressed"] is None]
    assert summary["suppressed"] == len(findings) - len(active)
    assert summary["suppressed"] >= 2
    assert summary["findings"] == len(active)
    assert summary["errors"] == 1
    assert summary["fail_on"] == "high"
    assert summary["files"] == 4
    assert summary["documents"] == 3
    assert summary["failing"] == sum(1 for f in active if f["severity"] in ("high", "critical"))
    assert summary["by_practice"] == {
        str(p): sum(1 for f in active if f["practice"] == p) for p in range(1, 7)
    }
    assert summary["by_severity"] == {
        s: sum(1 for f in active if f["severity"] == s)
        for s in ("info", "low", "medium", "high", "critical")
    }


# ------------------------------------------------------------------ SARIF


@pytest.fixture(scope="module")
def as_sarif(report: Report) -> dict[str, Any]:
    doc = json.loads(sarif.render(report))
    assert isinstance(doc, dict)
    return doc


def test_sarif_validates_against_the_official_schema(as_sarif: dict[str, Any]) -> None:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    jsonschema.Draft4Validator.check_schema(schema)
    errors = [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(as_sarif)]
    assert errors == []


def test_sarif_schema_catches_a_broken_log(as_sarif: dict[str, Any]) -> None:
    # The validation above is not vacuous: a wrong level is rejected.
    broken = json.loads(json.dumps(as_sarif))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    assert not jsonschema.Draft4Validator(schema).is_valid(broken)


def test_sarif_github_fields(as_sarif: dict[str, Any], as_json: dict[str, Any]) -> None:
    assert as_sarif["version"] == "2.1.0"
    (run,) = as_sarif["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted({f["rule_id"] for f in as_json["findings"]})
    for r in rules:
        score = float(r["properties"]["security-severity"])
        assert 0.0 <= score <= 10.0
        assert r["shortDescription"]["text"] == BY_ID[r["id"]].title
        assert r["help"]["text"]
    # One result per finding, in the same order, pointing at the same place.
    assert [
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["physicalLocation"]["region"]["startColumn"],
            r["partialFingerprints"]["deploysafe/v1"],
        )
        for r in run["results"]
    ] == [
        (f["rule_id"], f["file"], f["line"], f["column"], f["fingerprint"])
        for f in as_json["findings"]
    ]
    for r in run["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["level"] in ("error", "warning", "note")


def test_sarif_privileged_result(as_sarif: dict[str, Any]) -> None:
    (run,) = as_sarif["runs"]
    results = [r for r in run["results"] if r["ruleId"] == "DS201"]
    web = results[-1]
    assert web["level"] == "error"
    assert web["properties"] == {"security-severity": "9.5"}
    assert web["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "web/pod.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 11, "startColumn": 7},
    }
    assert web["locations"][0]["logicalLocations"] == [
        {
            "fullyQualifiedName": "Pod shop/web/spec/containers/0/securityContext/privileged",
            "kind": "resource",
        }
    ]
    assert "suppressions" not in web
    assert [r.get("suppressions") for r in results[:2]] == [
        [{"kind": "inSource", "justification": "node agent"}],
        [{"kind": "inSource", "justification": "GPU driver needs host devices"}],
    ]
    (rule,) = (r for r in run["tool"]["driver"]["rules"] if r["id"] == "DS201")
    assert rule["properties"]["security-severity"] == "9.5"
    assert rule["defaultConfiguration"] == {"level": "error"}


def test_sarif_reports_unreadable_inputs(as_sarif: dict[str, Any]) -> None:
    (invocation,) = as_sarif["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"] == [
        {
            "level": "error",
            "message": {"text": BROKEN},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": "broken.yaml", "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": 2},
                    }
                }
            ],
        }
    ]


def test_findings_and_input_errors_are_both_told(
    report: Report, as_json: dict[str, Any], as_sarif: dict[str, Any]
) -> None:
    # The tree has a failing finding and a broken file: every format keeps both facts.
    failing = len(report.failing)
    assert failing >= 1 and len(report.errors) == 1
    assert (as_json["summary"]["failing"], as_json["summary"]["errors"]) == (failing, 1)
    (invocation,) = as_sarif["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    assert invocation["properties"] == {"failing": failing, "failOn": "high", "inputErrors": 1}
    (suite,) = ET.fromstring(junit.render(report))
    assert (suite.get("failures"), suite.get("errors")) == (str(failing), "1")
    assert f"{failing} at or above high, " in text.render(report)
    assert ", 1 input error(s)" in text.render(report)


def test_sarif_rule_names_are_identifiers() -> None:
    names = {r.id: sarif.rule_name(r) for r in BY_ID.values()}
    assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]*", n) for n in names.values()), names
    assert len(set(names.values())) == len(names)
    assert names["DS201"] == "ContainersMustNotRunPrivileged"
    assert names["DS107"] == "GitHubOwnActionsShouldBePinnedToACommitSHA"
    assert names["DS219"] == "ContainersMustKeepTheDefaultProcMountEvenWithHostUsersFalse"


def test_sarif_fingerprints_are_unique_per_result(tmp_path: Path) -> None:
    # Two renders can report the same rule, file, resource and pointer: code scanning would
    # merge results that share a fingerprint, so repeats are numbered.
    (tmp_path / "pod.yaml").write_text(POD)
    scanned = scan_tree(tmp_path)
    (first,) = (f for f in scanned.findings if f.rule_id == "DS201")
    repeated = Report.of(
        [*scanned.findings, first, replace(first, line=12)],
        scanned.errors,
        notes=(),
        fail_on=scanned.fail_on,
        files=scanned.files,
    )
    repeated = replace(repeated, root=scanned.root, top=scanned.top)
    doc = json.loads(sarif.render(repeated))
    prints = [r["partialFingerprints"]["deploysafe/v1"] for r in doc["runs"][0]["results"]]
    assert len(prints) == len(set(prints)) == len(scanned.findings) + 2
    ds201 = [
        r["partialFingerprints"]["deploysafe/v1"]
        for r in doc["runs"][0]["results"]
        if r["ruleId"] == "DS201"
    ]
    assert ds201 == [first.fingerprint, f"{first.fingerprint}:2", f"{first.fingerprint}:3"]
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    assert [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(doc)] == []


def test_sarif_uris_outside_a_work_tree(tmp_path: Path) -> None:
    # Outside a work tree the scan root is the top: URIs relative to it, quoted, with the
    # base given; a second path outside the scan root by its absolute file URI.
    root = tmp_path / "scan"
    (root / "my app").mkdir(parents=True)
    (root / "my app" / "pod.yaml").write_text(POD)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "pod.yaml").write_text(POD)
    scanned = scan([root, tmp_path / "other"], Config(), root=root, jobs=1)
    (run,) = json.loads(sarif.render(scanned))["runs"]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}}
    uris = {
        json.dumps(r["locations"][0]["physicalLocation"]["artifactLocation"], sort_keys=True)
        for r in run["results"]
        if r["ruleId"] == "DS201"
    }
    assert uris == {
        json.dumps({"uri": "my%20app/pod.yaml", "uriBaseId": "%SRCROOT%"}, sort_keys=True),
        json.dumps({"uri": (tmp_path / "other" / "pod.yaml").resolve().as_uri()}, sort_keys=True),
    }


# ------------------------------------------------------------------ JUnit


def test_junit_failures_are_the_failing_findings(report: Report) -> None:
    root = ET.fromstring(junit.render(report))
    assert root.tag == "testsuites"
    (suite,) = root
    failing = [
        f"{f.rule_id} {f.resource.display() if f.resource else ''} {f.pointer}".strip()
        for f in report.failing
    ]
    failed = [case.get("name") for case in suite if case.find("failure") is not None]
    assert failed == failing
    assert "DS201 Pod shop/web /spec/containers/0/securityContext/privileged" in failed
    assert suite.get("failures") == str(len(failing))
    assert suite.get("errors") == "1"
    skipped = [
        (case.get("file"), case.get("line"))
        for case in suite
        if case.find("skipped") is not None and "DS201" in (case.get("name") or "")
    ]
    assert skipped == [("annotated.yaml", "13"), ("inline.yaml", "12")]
    (error_case,) = (case for case in suite if case.find("error") is not None)
    error = error_case.find("error")
    assert error is not None
    assert error.get("message") == BROKEN
    (privileged,) = (
        case.find("failure")
        for case in suite
        if case.get("name") == "DS201 Pod shop/web /spec/containers/0/securityContext/privileged"
    )
    assert privileged is not None
    assert privileged.get("type") == "critical"
    assert privileged.get("message") == "container 'app' runs privileged"
    assert (privileged.text or "").startswith("web/pod.yaml:11:7 DS201 ")


def test_junit_clean_scan_is_one_passing_case(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("")
    clean = scan_tree(tmp_path)
    root = ET.fromstring(junit.render(clean))
    (suite,) = root
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "0", "0")
    assert [(c.get("classname"), c.get("name")) for c in suite] == [("deploysafe", "no findings")]


# ------------------------------------------------------------------ text


def test_text_via_cli_has_no_colour_when_not_a_terminal(tree: Path, report: Report) -> None:
    result = CliRunner().invoke(main, ["scan", str(tree), "--no-render", "-j", "1"])
    assert result.exit_code == 4  # an input error and failing findings
    assert "\x1b[" not in result.output
    assert result.output == text.render(report)


def test_text_groups_by_file_and_shows_the_line(report: Report, as_json: dict[str, Any]) -> None:
    out = text.render(report)
    assert "\x1b[" not in out
    lines = out.splitlines()
    # One heading per file with active findings, in report order.
    files = list(dict.fromkeys(f["file"] for f in as_json["findings"] if not f["suppressed"]))
    assert [ln for ln in lines if ln and not ln.startswith(" ") and ln != "Summary"][
        : len(files)
    ] == files
    web = lines.index("web/pod.yaml")
    block = lines[web : lines.index("", web)]
    assert "  11:7 critical DS201 container 'app' runs privileged  Pod shop/web" in block
    i = block.index("  11:7 critical DS201 container 'app' runs privileged  Pod shop/web")
    assert block[i + 1] == "      11 | privileged: true"
    assert block[i + 2] == f"      fix: {BY_ID['DS201'].fix}"
    assert "Inputs that could not be fully scanned" in lines
    assert f"  broken.yaml:2: {BROKEN}" in lines


def test_text_summary_comes_first(report: Report, as_json: dict[str, Any]) -> None:
    out = text.render(report)
    lines = out.splitlines()
    summary = lines[: lines.index("")]
    s = as_json["summary"]
    totals = (
        f"4 file(s), 3 object(s) checked; {s['findings']} finding(s), {s['failing']} at or "
        f"above high, {s['suppressed']} suppressed, 1 input error(s)"
    )
    active = [f for f in as_json["findings"] if not f["suppressed"]]
    order = ["critical", "high", "medium", "low", "info"]
    rules: dict[str, list[dict[str, Any]]] = {}
    for f in active:
        rules.setdefault(f["rule_id"], []).append(f)
    by_rule = sorted(
        (
            (min(order.index(f["severity"]) for f in fs), -len(fs), rid, fs[0]["title"])
            for rid, fs in rules.items()
        )
    )
    count_width = max(len(str(-n)) for _, n, _, _ in by_rule)
    worst = sorted(active, key=lambda f: order.index(f["severity"]))[:5]
    assert s["findings"] > 5  # so the worst findings are named
    assert summary == [
        "Summary",
        f"  {totals}",
        "  by severity: "
        + ", ".join(f"{s['by_severity'][sev]} {sev}" for sev in order if s["by_severity"][sev]),
        *(
            f"  practice {int(p)} {p.title:<26} {s['by_practice'][str(int(p))]} finding(s)"
            for p in Practice
            if s["by_practice"][str(int(p))]
        ),
        "  by rule:",
        *(
            f"    {order[sev]:>8} {rid} {-n:>{count_width}}  {title}"
            for sev, n, rid, title in by_rule
        ),
        "  worst 5:",
        *(
            f"    {f['severity']:>8} {f['rule_id']} {f['file']}:{f['line']}:{f['column']} "
            f"{f['message']}"
            for f in worst
        ),
    ]
    assert list(s["by_rule"].items()) == [(rid, -n) for _, n, rid, _ in by_rule]
    # The last line repeats the totals, for a report longer than the terminal.
    assert lines[-1] == totals


def test_compact_through_the_cli(tree: Path, as_json: dict[str, Any]) -> None:
    result = CliRunner().invoke(
        main, ["scan", str(tree), "--no-render", "-j", "1", "--format", "compact"]
    )
    assert result.exit_code == 4
    s = as_json["summary"]

    def shown(f: dict[str, Any]) -> str:
        r = f["resource"]
        ns = f"{r['namespace']}/" if r["namespace"] else ""
        return (
            f"{f['file']}:{f['line']}:{f['column']}: {f['rule_id']} [{f['severity']}] "
            f"{f['message']} ({r['kind']} {ns}{r['name']})"
        )

    assert result.output.splitlines() == [
        *(shown(f) for f in as_json["findings"] if not f["suppressed"]),
        f"broken.yaml:2: error: {BROKEN}",
        *(f"note: {n}" for n in as_json["notes"]),
        f"4 file(s), 3 object(s) checked; {s['findings']} finding(s), {s['failing']} at or "
        f"above high, {s['suppressed']} suppressed, 1 input error(s)",
    ]
    assert "web/pod.yaml:11:7: DS201 [critical] container 'app' runs privileged (Pod shop/web)" in (
        result.output.splitlines()
    )


def test_text_suppressed_only_on_request(report: Report) -> None:
    line = "  12:7 critical DS201 container 'app' runs privileged  Pod shop/inline"
    hidden = text.render(report).splitlines()
    assert line not in hidden
    shown = text.render(report, show_suppressed=True).splitlines()
    i = shown.index(line)
    assert shown[i + 1 : i + 3] == [
        "      12 | privileged: true",
        "      suppressed (inline): GPU driver needs host devices",
    ]


def test_text_colour_when_asked(report: Report) -> None:
    assert "\x1b[" in text.render(report, color=True)


def test_streamed_json_equals_whole_dump() -> None:
    """The formats stream their long lists; the text must equal one json.dumps."""
    import json as _json

    from deploysafe.formats import stream_json

    doc: dict[str, Any] = {"a": 1, "runs": [{"x": {"y": 2}, "results": None, "z": [1]}]}
    items = [{"k": 1}, {"k": [1, 2]}]
    out = "".join(stream_json(doc, doc["runs"][0], "results", iter(items)))
    doc["runs"][0]["results"] = items
    assert out == _json.dumps(doc, indent=2) + "\n"
    doc["runs"][0]["results"] = None
    out = "".join(stream_json(doc, doc["runs"][0], "results", iter([])))
    doc["runs"][0]["results"] = []
    assert out == _json.dumps(doc, indent=2) + "\n"


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        "",
        "plain",
        0,
        -7,
        1.5,
        1e21,
        float("inf"),
        True,
        None,
        {"a": {}, "b": [], "c": [[]], "d": [{}], "e": {"f": [1, "x", None, False]}},
        # hostile text in keys and values: controls, a byte that was not UTF-8, bidi
        {"k\n": "line\nbreak\x1b[31m", "z\udcff": ["\u202etxt", "tab\t", 'q"\\'], "é": "ü"},
        {7: "int key", 2.5: "float key", True: "bool key", False: "no", None: "null key"},
        ("a", ("b", {"c": ()})),
    ],
)
def test_printable_dump_equals_the_standard_encoder(value: Any) -> None:
    import json as _json

    from deploysafe.formats import dump_printable, printable_json

    expected = _json.dumps(printable_json(value), indent=2, ensure_ascii=False)
    assert dump_printable(value, "") == expected
    assert dump_printable(value, "    ") == expected.replace("\n", "\n    ")
