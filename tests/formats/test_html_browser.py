"""The HTML report in headless Chromium: it renders the practices and the findings, its
filter script works (from a URL fragment and from the controls), and loading it makes no
network request. Skipped with the reason when Chromium is not installed."""

from __future__ import annotations

import http.server
import shutil
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from deploysafe.engine import Report
from deploysafe.model import Severity
from tests.support import chromium, paths
from tests.support.htmlpage import Page
from tests.support.scantools import PRIVILEGED_POD, invoke, scan_tree, write_tree

pytestmark = pytest.mark.skipif(chromium.BINARY is None, reason=chromium.MISSING)

INSECURE = paths.EXAMPLES / "insecure"


def where(findings: object) -> list[str]:
    return sorted(f"{f.file}:{f.line}:{f.column}" for f in findings)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def report() -> Report:
    return scan_tree(INSECURE)


@pytest.fixture
def page(tmp_path: Path) -> Path:
    out = tmp_path / "report.html"
    result = invoke("scan", str(INSECURE), "--no-render", "--format", "html", "-o", str(out))
    assert result.exit_code == 1, result.output
    return out


def visible(dom: Page) -> list[str]:
    """The place of each finding the page shows (not hidden by the filter)."""
    return sorted(dom.shown("where"))


def test_chromium_renders_practices_and_findings(
    page: Path, report: Report, tmp_path: Path
) -> None:
    shot = tmp_path / "report.png"
    chromium.run(tmp_path / "profile", f"--screenshot={shot}", page.as_uri())
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1280, 2000)
    # A blank or unstyled page compresses to a few kilobytes; this one is text and colour.
    assert len(png) > 60_000
    dom = Page(chromium.run(tmp_path / "profile", "--dump-dom", page.as_uri()).stdout)
    assert [a["id"] for a in dom.with_class("practice")] == ["practice-2", "practice-5"]
    assert {a["data-rule"] for a in dom.with_class("rule")} == {f.rule_id for f in report.findings}
    assert visible(dom) == where(report.findings)
    # The script ran: it counts what it shows.
    body = next(a for t, a in dom.elements if t == "body")
    assert body["data-shown"] == "20"
    assert dom.text["shown"] == "20 of 20 finding(s) shown"
    assert "6. Tests gate every deploy" in dom.text["posture-table"]


def test_a_fragment_sets_the_filter(page: Path, report: Report, tmp_path: Path) -> None:
    url = page.as_uri() + "#sev=critical,high&q=rbac.yaml"
    dom = Page(chromium.run(tmp_path / "profile", "--dump-dom", url).stdout)
    want = [f for f in report.findings if f.severity >= Severity.HIGH and f.file == "rbac.yaml"]
    assert want and visible(dom) == where(want)
    shown = [a["data-practice"] for a in dom.with_class("practice") if "hidden" not in a]
    assert shown == sorted({str(int(f.practice)) for f in want})
    assert dom.text["shown"] == f"{len(want)} of 20 finding(s) shown"


class Canary(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def canary() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that records every request it gets."""
    hits: list[str] = []
    handler = type("Handler", (Canary,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def test_loading_makes_no_request_and_the_controls_filter(
    tmp_path: Path, canary: tuple[str, list[str]]
) -> None:
    base, hits = canary
    # The examples, plus a container name and a file name that would load the canary if
    # they reached the page as markup.
    tree = tmp_path / "tree"
    shutil.copytree(INSECURE, tree)
    bait = f'<img src="{base}/name"><link rel="stylesheet" href="{base}/css">'
    write_tree(
        tree,
        {
            f'<img src="{base}/file">.yaml': PRIVILEGED_POD.replace(
                "- name: app", f"- name: '{bait}'"
            )
        },
    )
    out = tmp_path / "report.html"
    assert (
        invoke("scan", str(tree), "--no-render", "--format", "html", "-o", str(out)).exit_code == 1
    )
    report = scan_tree(tree)
    control = tmp_path / "control.html"
    control.write_text(f'<!DOCTYPE html><img src="{base}/control">', encoding="utf-8")
    with chromium.devtools(tmp_path / "profile") as browser:
        # The watch sees a page that does fetch: the canary and the browser both record it.
        browser.open(control.as_uri())
        assert browser.requested() == [control.as_uri(), f"{base}/control"]
        assert hits == ["/control"]
        browser.open(out.as_uri())
        assert browser.requested() == [out.as_uri()]
        errors = [
            e
            for e in browser.events
            if e["method"] in ("Runtime.exceptionThrown", "Log.entryAdded")
            or (e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")
        ]
        assert errors == []  # a blocked style or script would be a CSP error here
        total = len(report.findings)
        assert browser.evaluate("document.body.dataset.shown") == str(total)
        browser.evaluate("document.querySelector('#filters input[value=medium]').click()")
        browser.evaluate(
            "var q = document.getElementById('q'); q.value = 'DS201';"
            "q.dispatchEvent(new Event('input'))"
        )
        want = [
            f for f in report.findings if f.severity is not Severity.MEDIUM and f.rule_id == "DS201"
        ]
        got = browser.evaluate(
            "Array.from(document.querySelectorAll('article.finding:not([hidden]) .where'))"
            ".map(e => e.textContent).sort()"
        )
        assert got == where(want) and len(want) == 2
        assert browser.evaluate("location.hash") == "#sev=critical%2Chigh%2Clow&q=DS201"
        assert browser.evaluate("document.querySelector('#rule-DS201 .count').textContent") == "2"
        shot = browser.send("Page.captureScreenshot", {"format": "png"})["data"]
        assert shot.startswith("iVBORw0KGgo")  # base64 of the PNG signature
        assert browser.requested() == [out.as_uri()]
    assert hits == ["/control"]
