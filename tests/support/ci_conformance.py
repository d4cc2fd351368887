"""Run zizmor's own test fixtures through deploysafe's CI rules and compare, case by case,
the lines each audit reports (`python -m tests.support.ci_conformance` prints the table).

zizmor's expected findings come from its inline snapshots
(`ci/zizmor/expected-from-inline-snapshots.json`); a snapshot lists every finding visible at
the persona the test runs with, so a case counts for an audit when zizmor or deploysafe
reports that audit there, or when the case belongs to the audit's own test file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from deploysafe.config import Config
from deploysafe.engine import check_documents, sources
from deploysafe.model import Target
from tests.support import paths

# zizmor audit -> the deploysafe rules that implement it.
AUDITS: dict[str, frozenset[str]] = {
    "dangerous-triggers": frozenset({"DS101"}),
    "template-injection": frozenset({"DS102", "DS103", "DS115"}),
    "excessive-permissions": frozenset({"DS104", "DS105"}),
    "unpinned-uses": frozenset({"DS106", "DS107", "DS108", "DS114"}),
    "unpinned-images": frozenset({"DS109"}),
    "secrets-inherit": frozenset({"DS110"}),
    "artipacked": frozenset({"DS111"}),
    "self-hosted-runner": frozenset({"DS112"}),
    "github-app": frozenset({"DS118"}),
    "github-env": frozenset({"DS119"}),
    "cache-poisoning": frozenset({"DS123"}),
}


def conformance_root() -> Path | None:
    ci = paths.conformance("ci/zizmor")
    return ci.parent.parent if ci is not None else None


@dataclass(frozen=True, slots=True)
class Outcome:
    case: str  # test name plus its arguments
    audit: str
    input: str
    expected: tuple[int, ...]  # lines zizmor reports
    got: tuple[int, ...]  # lines deploysafe reports

    @property
    def agrees(self) -> bool:
        return self.expected == self.got


def _display(rel: str) -> str:
    name = Path(rel).name
    if name in ("action.yml", "action.yaml"):
        return name
    return f".github/workflows/{name}"


def outcomes(root: Path) -> Iterator[Outcome]:
    base = root / "ci" / "zizmor"
    data = json.loads((base / "expected-from-inline-snapshots.json").read_text(encoding="utf-8"))
    test_data = base / "crates" / "zizmor" / "tests" / "integration" / "test-data"
    for case in data["cases"]:
        calls = set(case["other_builder_calls"])
        if case["config"] or "config" in calls or "expects_failure" in calls:
            continue  # needs zizmor's own config file, or tests an error
        if any(a.startswith("--format") for a in case["args"]):
            continue  # tests an output format; the snapshot holds no findings
        if len(case["inputs"]) != 1 or not (test_data / case["inputs"][0]).is_file():
            continue  # directory inputs test collection and output, not audits
        rel = case["inputs"][0]
        text = (test_data / rel).read_text(encoding="utf-8")
        result = sources.load(
            text, _display(rel), {Target.GITHUB_WORKFLOW, Target.GITHUB_ACTION}, None
        )
        report = check_documents(result.documents, Config())
        name = case["test"] + ("".join(f" {a}" for a in case["args"]) if case["args"] else "")
        test_file = Path(case["test_file"]).stem
        for audit, rules in AUDITS.items():
            expected = tuple(
                sorted(
                    {
                        loc["line"]
                        for f in case["expected_findings"]
                        if f["audit"] == audit
                        for loc in f["locations"][:1]
                    }
                )
            )
            got = tuple(sorted({f.line for f in report.findings if f.rule_id in rules}))
            if not expected and not got and test_file != audit.replace("-", "_"):
                continue
            yield Outcome(name, audit, rel, expected, got)


def _default_persona(o: Outcome) -> bool:
    return "--persona=" not in o.case and "--pedantic" not in o.case


def table(results: list[Outcome]) -> str:
    lines = [
        "| zizmor audit | deploysafe rules | agrees on (all cases) | at zizmor's default persona |",
        "|---|---|---|---|",
    ]
    for audit, rules in AUDITS.items():
        mine = [o for o in results if o.audit == audit]
        default = [o for o in mine if _default_persona(o)]
        lines.append(
            f"| {audit} | {', '.join(sorted(rules))} | {sum(o.agrees for o in mine)} of "
            f"{len(mine)} | {sum(o.agrees for o in default)} of {len(default)} |"
        )
    total = sum(o.agrees for o in results)
    default = [o for o in results if _default_persona(o)]
    lines.append(
        f"| all | | {total} of {len(results)} | {sum(o.agrees for o in default)} of "
        f"{len(default)} |"
    )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - a report for humans
    root = conformance_root()
    if root is None:
        raise SystemExit("conformance data not found")
    results = list(outcomes(root))
    for o in results:
        mark = "ok  " if o.agrees else "DIFF"
        print(f"{mark} {o.audit:22} {o.case:60} zizmor {o.expected} ours {o.got}  [{o.input}]")
    print(table(results))
