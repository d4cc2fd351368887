"""HTML report: one self-contained page with the posture per practice, the findings by
practice and rule, filters by severity and text, and what was done with each file.

Nothing is fetched: the style and the script are inline, and the page's Content Security
Policy allows exactly those two (by hash) and nothing else, so a browser that opens the
report makes no request even if a value from the repository looked like markup (every one
is escaped: `printable`, then `html.escape`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from html import escape
from itertools import groupby
from pathlib import PurePosixPath

from deploysafe import __version__
from deploysafe.engine import Report, skipped_by_reason
from deploysafe.formats import rule_url
from deploysafe.frozen import record
from deploysafe.inputs.discover import Coverage, Outcome
from deploysafe.model import Finding, Practice, Severity
from deploysafe.printable import printable
from deploysafe.rules import BY_ID

# Worst first: the order of the posture columns and of the filter boxes.
_SEVERITIES = tuple(reversed(Severity))

_STYLE = """
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #59636e; --line: #d1d9e0;
  --card: #f6f8fa; --critical: #a0111f; --high: #d1242f; --medium: #9a6700; --low: #0969da;
  --info: #59636e; --pass: #1a7f37; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1;
  --line: #3d444d; --card: #151b23; --critical: #ff6a69; --high: #f85149;
  --medium: #d29922; --low: #4493f8; --info: #9198a1; --pass: #3fb950; } }
body { font: 14px/1.5 system-ui, sans-serif; color: var(--fg); margin: 0 auto;
  max-width: 72rem; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.5rem; margin: .5rem 0; } h2 { font-size: 1.2rem; margin-top: 2rem; }
h3 { font-size: 1.05rem; }
code, pre { font: 13px/1.4 ui-monospace, monospace; }
pre { background: var(--card); border: 1px solid var(--line); border-radius: 6px;
  padding: .4rem .6rem; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left;
  vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.muted, .meta { color: var(--muted); }
.totals { display: flex; flex-wrap: wrap; gap: .5rem; padding: 0; list-style: none; }
.totals li { background: var(--card); border: 1px solid var(--line); border-radius: 6px;
  padding: .4rem .8rem; }
.totals b { font-size: 1.2rem; }
.badge { display: inline-block; min-width: 4.5rem; text-align: center; border-radius: 1rem;
  font-size: 12px; font-weight: 600; color: #fff; padding: 0 .5rem; }
.sev-critical { background: var(--critical); } .sev-high { background: var(--high); }
.sev-medium { background: var(--medium); } .sev-low { background: var(--low); }
.sev-info { background: var(--info); }
td.fail { color: var(--high); font-weight: 600; } td.pass { color: var(--pass); }
progress { width: 8rem; accent-color: var(--pass); }
#filters { position: sticky; top: 0; background: Canvas; border-bottom: 1px solid var(--line);
  padding: .5rem 0; display: flex; flex-wrap: wrap; gap: .8rem; align-items: center; z-index: 1; }
#filters input[type=search] { min-width: 16rem; padding: .2rem .4rem; }
details.rule { border: 1px solid var(--line); border-radius: 6px; margin: .6rem 0;
  padding: .2rem .8rem; }
details.rule > summary { cursor: pointer; padding: .3rem 0; }
.doc { border-left: 3px solid var(--line); padding-left: .8rem; margin: .3rem 0 .8rem; }
article.finding { border-top: 1px solid var(--line); padding: .5rem 0; }
article.finding p { margin: .2rem 0; }
.suppressed { opacity: .7; }
[hidden] { display: none !important; }
"""

_SCRIPT = """
(function () {
  "use strict";
  var q = document.getElementById("q");
  var boxes = Array.prototype.slice.call(document.querySelectorAll("#filters input[name=sev]"));
  var supp = document.getElementById("show-suppressed");
  var findings = Array.prototype.slice.call(document.querySelectorAll("article.finding"));
  var rules = Array.prototype.slice.call(document.querySelectorAll("details.rule"));
  var practices = Array.prototype.slice.call(document.querySelectorAll("section.practice"));
  var shown = document.getElementById("shown");
  var text = new Map();
  rules.forEach(function (r) {
    var head = r.querySelector("summary").textContent;
    r.querySelectorAll("article.finding").forEach(function (f) {
      text.set(f, (head + " " + f.textContent).toLowerCase());
    });
  });
  function state() {
    var p = new URLSearchParams();
    p.set("sev", boxes.filter(function (b) { return b.checked; })
      .map(function (b) { return b.value; }).join(","));
    if (q.value) { p.set("q", q.value); }
    if (supp.checked) { p.set("suppressed", "1"); }
    return p.toString();
  }
  function fromHash() {
    var p = new URLSearchParams(location.hash.slice(1));
    if (p.has("sev")) {
      var want = p.get("sev").split(",");
      boxes.forEach(function (b) { b.checked = want.indexOf(b.value) >= 0; });
    }
    if (p.has("q")) { q.value = p.get("q"); }
    if (p.has("suppressed")) { supp.checked = p.get("suppressed") === "1"; }
  }
  function apply() {
    var sev = {};
    boxes.forEach(function (b) { sev[b.value] = b.checked; });
    var needle = q.value.trim().toLowerCase();
    var n = 0;
    findings.forEach(function (f) {
      var ok = sev[f.dataset.sev] === true &&
        (supp.checked || !f.hasAttribute("data-suppressed")) &&
        (needle === "" || text.get(f).indexOf(needle) >= 0);
      f.hidden = !ok;
      if (ok) { n += 1; }
    });
    rules.forEach(function (r) {
      var k = r.querySelectorAll("article.finding:not([hidden])").length;
      r.hidden = k === 0;
      r.querySelector(".count").textContent = String(k);
    });
    practices.forEach(function (s) {
      s.hidden = s.querySelector("details.rule:not([hidden])") === null;
    });
    shown.textContent = n + " of " + findings.length + " finding(s) shown";
    document.body.dataset.shown = String(n);
  }
  function changed() {
    apply();
    try { history.replaceState(null, "", "#" + state()); } catch (e) { /* file: in a sandbox */ }
  }
  boxes.forEach(function (b) { b.addEventListener("change", changed); });
  supp.addEventListener("change", changed);
  q.addEventListener("input", changed);
  window.addEventListener("hashchange", function () { fromHash(); apply(); });
  fromHash();
  apply();
})();
"""


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


# Only the inline style and script above may run; no fetch, image, font or frame.
CSP = (
    f"default-src 'none'; style-src 'sha256-{_sha256(_STYLE)}'; "
    f"script-src 'sha256-{_sha256(_SCRIPT)}'; base-uri 'none'; form-action 'none'"
)

_CODE = re.compile(r"`([^`]+)`")


def esc(text: str) -> str:
    """Text from the repository as HTML text or attribute value: printable, then escaped."""
    return escape(printable(text), quote=True)


def _prose(text: str) -> str:
    """A rule's why or fix: escaped, with its `code` spans as code."""
    return _CODE.sub(r"<code>\1</code>", esc(text))


@record
class Posture:
    """One practice's checks. A check is a rule the scan ran: it fails when it has an
    unsuppressed finding (counted under the worst severity of its findings), else passes."""

    practice: Practice
    ran: int
    failed_by: Mapping[Severity, int]
    findings: int
    suppressed: int

    @property
    def failed(self) -> int:
        return sum(self.failed_by.values())

    @property
    def passed(self) -> int:
        return self.ran - self.failed


def posture(report: Report) -> list[Posture]:
    """Per practice: rules run, failing by worst severity, passing. Rules with findings
    count as run even when the report does not list what ran (a git-history scan)."""
    worst: dict[str, Severity] = {}
    for f in report.findings:
        if f.suppressed is None:
            worst[f.rule_id] = max(worst.get(f.rule_id, Severity.INFO), f.severity)
    practice_of = {r: BY_ID[r].practice for r in report.rules if r in BY_ID}
    practice_of.update({f.rule_id: f.practice for f in report.findings})
    out = []
    for p in Practice:
        mine = [r for r, rp in practice_of.items() if rp is p]
        failed_by = {s: sum(1 for r in mine if worst.get(r) is s) for s in _SEVERITIES}
        found = [f for f in report.findings if f.practice is p]
        active = sum(1 for f in found if f.suppressed is None)
        out.append(Posture(p, len(mine), failed_by, active, len(found) - active))
    return out


def render(report: Report, *, show_suppressed: bool = False) -> str:
    return "".join(chunks(report, show_suppressed=show_suppressed))


def chunks(report: Report, *, show_suppressed: bool = False) -> Iterator[str]:
    """The page in pieces: head and summary, posture, filters, findings, errors, coverage."""
    active = [f for f in report.findings if f.suppressed is None]
    where = PurePosixPath(report.root).name if report.root else ""
    title = "deploysafe report" + (f": {where}" if where else "")
    yield (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{esc(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{esc(title)}</h1>\n"
        f'<p class="muted">deploysafe {esc(__version__)}; fails at '
        f"{esc(report.fail_on.label)} and above</p>\n"
    )
    yield _totals(report, active)
    yield _posture(report)
    yield _filters(report, show_suppressed)
    yield from _findings(report, show_suppressed)
    yield _errors(report)
    yield _coverage(report.coverage)
    yield f"<script>{_SCRIPT}</script>\n</body>\n</html>\n"


def _totals(report: Report, active: Sequence[Finding]) -> str:
    counts = {o: sum(1 for c in report.coverage if c.outcome is o) for o in Outcome}
    items = [
        (len(active), "finding(s)"),
        (len(report.failing), f"at or above {report.fail_on.label}"),
        (len(report.findings) - len(active), "suppressed"),
        (len(report.errors), "input error(s)"),
        (report.files, "file(s) checked"),
        (report.documents, "object(s) checked"),
    ]
    if report.coverage:
        items += [
            (counts[Outcome.RENDERED], "file(s) read by a render"),
            (counts[Outcome.SKIPPED], "path(s) skipped"),
        ]
    lis = "".join(f"<li><b>{n}</b> {esc(what)}</li>" for n, what in items)
    notes = "".join(f"<li>{esc(n)}</li>" for n in report.notes)
    return f'<ul class="totals" id="totals">{lis}</ul>\n' + (
        f'<ul class="muted" id="notes">{notes}</ul>\n' if notes else ""
    )


def _posture(report: Report) -> str:
    head = "".join(f'<th class="n">{s.label}</th>' for s in _SEVERITIES)
    rows = []
    for p in posture(report):
        fails = "".join(
            f'<td class="n{" fail" if p.failed_by[s] else ""}">{p.failed_by[s]}</td>'
            for s in _SEVERITIES
        )
        rows.append(
            f'<tr data-practice="{int(p.practice)}"><td>{int(p.practice)}. '
            f"{esc(p.practice.title)}</td>"
            f'<td class="n">{p.ran}</td><td class="n pass">{p.passed}</td>'
            f'<td class="n{" fail" if p.failed else ""}">{p.failed}</td>{fails}'
            f'<td><progress max="{max(p.ran, 1)}" value="{p.passed}" '
            f'title="{p.passed} of {p.ran} pass"></progress></td>'
            f'<td class="n">{p.findings}</td><td class="n">{p.suppressed}</td></tr>'
        )
    what = (
        "A check is a rule this scan ran (the policy and the scope decide which). It fails "
        "when it reported an unsuppressed finding, counted under the worst severity of its "
        "findings; it passes otherwise, which includes rules that found nothing to read."
        if report.rules
        else "This report does not list the rules it ran: only the rules with findings count."
    )
    return (
        '<h2 id="posture">Posture per practice</h2>\n'
        f'<p class="muted">{esc(what)}</p>\n<table id="posture-table">\n'
        '<thead><tr><th rowspan="2">Practice</th><th class="n" rowspan="2">checks</th>'
        '<th class="n" rowspan="2">pass</th><th class="n" rowspan="2">fail</th>'
        f'<th colspan="{len(_SEVERITIES)}">failing checks by worst severity</th>'
        '<th rowspan="2"></th><th class="n" rowspan="2">findings</th>'
        '<th class="n" rowspan="2">suppressed</th></tr>\n'
        f"<tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n"
    )


def _filters(report: Report, show_suppressed: bool) -> str:
    present = {f.severity for f in report.findings}
    boxes = "".join(
        f'<label><input type="checkbox" name="sev" value="{s.label}" checked> '
        f'<span class="badge sev-{s.label}">{s.label}</span></label>'
        for s in _SEVERITIES
        if s in present
    )
    shown = sum(1 for f in report.findings if show_suppressed or f.suppressed is None)
    return (
        '<h2 id="findings">Findings</h2>\n<form id="filters" role="search">'
        f"{boxes}"
        '<label><input type="checkbox" id="show-suppressed"'
        f"{' checked' if show_suppressed else ''}> suppressed</label>"
        '<input type="search" id="q" placeholder="Filter: file, rule, message, text" '
        'aria-label="Filter findings by text">'
        f'<output id="shown">{shown} of {len(report.findings)} finding(s) shown</output>'
        "</form>\n"
    )


def _findings(report: Report, show_suppressed: bool) -> Iterator[str]:
    if not report.findings:
        yield '<p id="no-findings">No findings.</p>\n'
        return
    by_practice = sorted(report.findings, key=lambda f: int(f.practice))
    for practice, in_practice in groupby(by_practice, key=lambda f: f.practice):
        by_rule: dict[str, list[Finding]] = {}
        for f in in_practice:
            by_rule.setdefault(f.rule_id, []).append(f)
        yield (
            f'<section class="practice" id="practice-{int(practice)}" '
            f'data-practice="{int(practice)}">\n'
            f"<h3>Practice {int(practice)}: {esc(practice.title)}</h3>\n"
        )
        for rule_id in sorted(by_rule, key=lambda r: (-_worst(by_rule[r]), r)):
            yield _rule(rule_id, by_rule[rule_id], show_suppressed)
        yield "</section>\n"


def _worst(findings: Sequence[Finding]) -> Severity:
    active = [f.severity for f in findings if f.suppressed is None]
    return max(active or [f.severity for f in findings])


def _rule(rule_id: str, findings: Sequence[Finding], show_suppressed: bool) -> str:
    rule = BY_ID.get(rule_id)
    worst = _worst(findings)
    fix = rule.fix if rule else findings[0].fix
    shown = sum(1 for f in findings if show_suppressed or f.suppressed is None)
    doc = [f"<p>{_prose(rule.why)}</p>"] if rule else []
    doc.append(f"<p><b>Fix:</b> {_prose(fix)}</p>")
    if rule:
        doc.append(
            f'<p><a href="{esc(rule_url(rule_id))}" rel="noreferrer">Rule page for '
            f"{esc(rule_id)}</a> (also <code>deploysafe explain {esc(rule_id)}</code>)</p>"
        )
    body = "".join(_finding(f, fix, show_suppressed) for f in findings)
    return (
        f'<details class="rule" id="rule-{esc(rule_id)}" data-rule="{esc(rule_id)}" open>'
        f'<summary><span class="badge sev-{worst.label}">{worst.label}</span> '
        f"<b>{esc(rule_id)}</b> {esc(rule.title if rule else findings[0].title)} "
        f'(<span class="count">{shown}</span>)</summary>\n'
        f'<div class="doc">{"".join(doc)}</div>\n{body}</details>\n'
    )


def _finding(f: Finding, rule_fix: str, show_suppressed: bool) -> str:
    attrs = f'class="finding{" suppressed" if f.suppressed else ""}" data-sev="{f.severity.label}"'
    if f.suppressed is not None:
        attrs += " data-suppressed" + ("" if show_suppressed else " hidden")
    res = f' <span class="resource">{esc(f.resource.display())}</span>' if f.resource else ""
    parts = [
        f'<p><span class="badge sev-{f.severity.label}">{f.severity.label}</span> '
        f'<code class="where">{esc(f.file)}:{f.line}:{f.column}</code>{res}</p>',
        f'<p class="message">{esc(f.message)}</p>',
    ]
    if f.snippet:
        parts.append(
            f'<pre class="snippet"><span class="muted">{f.line} |</span> {esc(f.snippet)}</pre>'
        )
    if f.set_by:
        parts.append(
            '<p class="meta">set by ' + esc(", ".join(s.display() for s in f.set_by)) + "</p>"
        )
    if f.renders:
        parts.append(f'<p class="meta">rendered by: {esc(", ".join(f.renders))}</p>')
    if f.also:
        parts.append(f'<p class="meta">also reports: {esc(", ".join(f.also))}</p>')
    if f.suppressed is not None:
        expires = f", until {f.suppressed.expires}" if f.suppressed.expires else ""
        parts.append(
            f'<p class="meta">suppressed ({esc(f.suppressed.source)}{esc(expires)}): '
            f"{esc(f.suppressed.reason)}</p>"
        )
    elif f.fix != rule_fix:
        parts.append(f"<p><b>Fix:</b> {_prose(f.fix)}</p>")
    return f"<article {attrs}>{''.join(parts)}</article>\n"


def _errors(report: Report) -> str:
    if not report.errors:
        return ""
    rows = "".join(
        f"<tr><td><code>{esc(e.file)}{f':{e.line}' if e.line else ''}</code></td>"
        f"<td>{esc(e.kind)}</td><td>{esc(e.message)}</td></tr>\n"
        for e in report.errors
    )
    return (
        '<h2 id="errors">Inputs that could not be fully scanned</h2>\n<table>\n'
        f"<thead><tr><th>file</th><th>kind</th><th>problem</th></tr></thead>\n"
        f"<tbody>\n{rows}</tbody>\n</table>\n"
    )


def _coverage(records: Sequence[Coverage]) -> str:
    if not records:
        return (
            '<h2 id="coverage">Coverage</h2>\n<p class="muted" id="coverage-summary">'
            "This report lists no files: its objects came from no tree (a cluster dump, a "
            "request, git history).</p>\n"
        )
    counts = {o: sum(1 for c in records if c.outcome is o) for o in Outcome}
    why = ", ".join(f"{n} {r.text}" for r, n in skipped_by_reason(records).items())
    rows = []
    for c in records:
        detail = [c.reason.text] if c.reason is not None else []
        detail += c.renders
        rows.append(
            f'<tr class="{c.outcome.value}"><td><code>{esc(c.path)}</code></td>'
            f"<td>{c.outcome.value}</td><td>{esc('; '.join(detail))}</td></tr>"
        )
    return (
        '<h2 id="coverage">Coverage</h2>\n'
        f'<p id="coverage-summary">{len(records)} path(s): {counts[Outcome.SCANNED]} scanned, '
        f"{counts[Outcome.RENDERED]} read by a render, {counts[Outcome.SKIPPED]} skipped"
        + (f" ({esc(why)})" if why else "")
        + ".</p>\n"
        f'<details id="coverage-list"{" open" if len(records) <= 200 else ""}>'
        f"<summary>Every path and what the scan did with it</summary>\n<table>\n"
        "<thead><tr><th>path</th><th>outcome</th><th>why / read by</th></tr></thead>\n"
        "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n</details>\n"
    )
