"""The HTML report as a page: its posture counts, its findings, its escaping and its Content
Security Policy, read back with the standard library's HTML parser. The browser tests
(`test_html_browser.py`) load the same page in Chromium."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

from deploysafe.engine import Report
from deploysafe.formats import html, rule_url
from deploysafe.model import Practice, Severity
from tests.support import paths
from tests.support.htmlpage import Page
from tests.support.scantools import PRIVILEGED_POD, scan_tree, write_tree

INSECURE = paths.REPO / "examples" / "insecure"


@pytest.fixture(scope="module")
def insecure() -> Report:
    return scan_tree(INSECURE)


def test_posture_counts_rules_run_passed_and_failed(insecure: Report) -> None:
    got = {
        p.practice: (p.ran, p.passed, p.failed, dict(p.failed_by), p.findings)
        for p in html.posture(insecure)
    }
    none = dict.fromkeys(reversed(Severity), 0)
    s = Severity
    assert got[Practice.ENVIRONMENT] == (
        28,
        18,
        10,
        {**none, s.CRITICAL: 5, s.HIGH: 1, s.MEDIUM: 4},
        11,
    )
    assert got[Practice.DEFAULTS] == (14, 6, 8, {**none, s.HIGH: 1, s.MEDIUM: 5, s.LOW: 2}, 9)
    for p in (Practice.TRIGGERS, Practice.SECRETS, Practice.GITOPS, Practice.TESTS):
        ran = got[p][0]
        assert got[p] == (ran, ran, 0, none, 0)
    # Every rule the scan ran is a check of its practice, and only those.
    assert sum(v[0] for v in got.values()) == len(insecure.rules)
    # A failing check is a rule with an unsuppressed finding.
    assert sum(v[2] for v in got.values()) == len({f.rule_id for f in insecure.findings})


def test_page_shows_every_finding_under_its_practice_and_rule(insecure: Report) -> None:
    page = Page(html.render(insecure))
    sections = [a["id"] for a in page.with_class("practice")]
    assert sections == ["practice-2", "practice-5"]
    rules = {a["data-rule"] for a in page.with_class("rule")}
    assert rules == {f.rule_id for f in insecure.findings}
    articles = page.with_class("finding")
    assert len(articles) == len(insecure.findings) == 20
    assert sorted(a["data-sev"] for a in articles) == sorted(
        f.severity.label for f in insecure.findings
    )
    assert page.text["shown"] == "20 of 20 finding(s) shown"
    body = page.text["practice-2"]
    assert "app.yaml:28:11 Deployment default/shop-web" in body
    assert "container 'web' runs privileged" in body
    assert "28 | privileged: true" in body
    assert "Fix: Remove securityContext.privileged or set it to false" in body
    # The posture row of practice 2 as the table shows it.
    row = next(a for t, a in page.elements if t == "tr" and a.get("data-practice") == "2")
    assert row == {"data-practice": "2"}
    assert "2. Know the environment" in page.text["posture-table"]
    assert page.text["coverage-summary"] == "2 path(s): 2 scanned, 0 read by a render, 0 skipped."


def test_only_links_are_rule_pages_and_csp_allows_only_the_inline_blocks(
    insecure: Report,
) -> None:
    out = html.render(insecure)
    page = Page(out)
    hrefs = {a["href"] for _, a in page.elements if "href" in a}
    assert hrefs == {rule_url(f.rule_id) for f in insecure.findings}
    # Nothing that loads: no src, no link element, no url() in the style.
    assert [t for t, a in page.elements if "src" in a or t in ("link", "img", "iframe")] == []
    assert "url(" not in page.blocks["style"] and "@import" not in page.blocks["style"]
    assert "fetch(" not in page.blocks["script"] and "XMLHttpRequest" not in page.blocks["script"]
    csp = next(
        a["content"] for t, a in page.elements if a.get("http-equiv") == "Content-Security-Policy"
    )

    def digest(text: str) -> str:
        return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert csp == (
        f"default-src 'none'; style-src 'sha256-{digest(page.blocks['style'])}'; "
        f"script-src 'sha256-{digest(page.blocks['script'])}'; base-uri 'none'; "
        "form-action 'none'"
    )
    assert [t for t, _ in page.elements].count("script") == 1


def test_suppressed_findings_are_kept_hidden_unless_asked(tmp_path: Path) -> None:
    pod = PRIVILEGED_POD.replace(
        "privileged: true", "privileged: true  # deploysafe: ignore[DS201] lab node"
    )
    report = scan_tree(write_tree(tmp_path, {"pod.yaml": pod}))
    ds201 = [f for f in report.findings if f.rule_id == "DS201"]
    assert [f.suppressed is not None for f in ds201] == [True]
    for show, hidden in ((False, True), (True, False)):
        page = Page(html.render(report, show_suppressed=show))
        (art,) = [a for a in page.with_class("finding") if "data-suppressed" in a]
        assert ("hidden" in art) is hidden
        assert "suppressed (inline): lab node" in page.text["rule-DS201"]
    posture = {p.practice: p for p in html.posture(report)}[Practice.ENVIRONMENT]
    assert posture.suppressed == 1


def test_markup_from_the_repository_is_text(tmp_path: Path) -> None:
    hostile = '<img src="http://127.0.0.1:9/x" onerror="alert(1)">'
    pod = PRIVILEGED_POD.replace("- name: app", f"- name: '{hostile}'")
    write_tree(tmp_path, {"<u>x</u>.yaml": pod})
    out = html.render(scan_tree(tmp_path))
    page = Page(out)
    assert [t for t, _ in page.elements if t in ("img", "u")] == []
    assert "&lt;u&gt;x&lt;/u&gt;.yaml:11:7" in out
    assert "container &#x27;&lt;img src=&quot;http://127.0.0.1:9/x&quot;" in out
    assert re.findall(r"<script\b", out) == ["<script"]
    art = page.with_class("finding")
    assert {a["data-sev"] for a in art} <= {s.label for s in Severity}


def test_a_report_without_findings_or_files(tmp_path: Path) -> None:
    report = Report.of([], [], notes=(), fail_on=Severity.HIGH, files=0)
    page = Page(html.render(report))
    assert page.text["no-findings"] == "No findings."
    assert page.text["shown"] == "0 of 0 finding(s) shown"
    assert page.text["coverage-summary"] == (
        "This report lists no files: its objects came from no tree (a cluster dump, a "
        "request, git history)."
    )
