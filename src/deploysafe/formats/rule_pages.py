"""Rule pages (`deploysafe explain`, docs/rules/) generated from the rule metadata."""

from __future__ import annotations

import difflib
from pathlib import Path

from deploysafe.rules import REGISTRY
from deploysafe.rules.base import AutoFix, Rule
from deploysafe.rules.overlaps import APART, PAIRS


def together(rule_id: str) -> list[str]:
    """The rule's entries of the fold tables: which findings it reports with which rule."""
    lines = []
    for p in PAIRS:
        if rule_id == p.kept:
            lines.append(
                f"- With {p.folded} on {p.relation.value}: one {p.kept} finding, whose message "
                f'adds "Also {p.folded}: {p.consequence}"; {p.why}.'
            )
        elif rule_id == p.folded:
            lines.append(
                f"- Within {p.kept} on {p.relation.value}: where {p.kept} reports it too, "
                f'the {p.kept} finding says "Also {p.folded}: {p.consequence}"; {p.why}.'
            )
    for a, b, why in APART:
        if rule_id in (a, b):
            lines.append(f"- Not with {b if rule_id == a else a}: {why}.")
    return lines


def rule_page(rule: Rule) -> str:
    lines = [
        f"# {rule.id}: {rule.title}",
        "",
        f"- Practice: {int(rule.practice)} ({rule.practice.title})",
        f"- Severity: {rule.severity.label}",
    ]
    if not rule.default_enabled:
        lines.append(
            f"- Off by default: turn it on with `rules: {{{rule.id}: {{enabled: true}}}}` in "
            "deploysafe.yaml"
        )
    if rule.pss is not None:
        lines.append(
            f"- Pod Security Standards: {rule.pss.level.value}, check `{rule.pss.check}` "
            f"(since v{rule.pss.since[0]}.{rule.pss.since[1]})"
            + (f", replaces `{rule.pss.overrides}` at restricted" if rule.pss.overrides else "")
        )
    lines += [
        "",
        "## Why is this bad?",
        "",
        rule.why,
        "",
        "## How to fix",
        "",
        rule.fix,
        "",
        "## Example",
        "",
        "```yaml",
        rule.bad.rstrip(),
        "```",
        "",
        "Use instead:",
        "",
        "```yaml",
        rule.good.rstrip(),
        "```",
    ]
    if rule.autofix is not None:
        lines += ["", *autofix_section(rule.autofix, rule.fix_before)]
    if rule.not_reported:
        lines += ["", "## Not reported", "", rule.not_reported]
    pairs = together(rule.id)
    if pairs:
        lines += ["", "## Reported together", ""]
        lines += pairs
        if any(not x.startswith("- Not with") for x in pairs):
            lines += [
                "",
                "The one finding carries the higher severity of the two; a suppression of "
                "either rule id suppresses it; with the kept rule turned off "
                "(`enabled: false`), the other reports on its own.",
            ]
    if rule.history:
        lines += ["", "## Version history", ""]
        lines += [f"- {v}: {text}" for v, text in rule.history]
    if rule.references:
        lines += ["", "## References", ""]
        lines += [f"- {ref}" for ref in rule.references]
    return "\n".join(lines) + "\n"


def autofix_section(fix: AutoFix, example: str) -> list[str]:
    """What `deploysafe fix` does, safe or unsafe, and the example (`example` before, the
    fix's `after`) as a diff with its whole context."""
    before, after = example.splitlines(), fix.after.splitlines()
    diff = list(difflib.unified_diff(before, after, lineterm="", n=max(len(before), 1)))[3:]
    how = "`deploysafe fix`" if fix.safe else "`deploysafe fix --unsafe-fixes`"
    return [
        "## Automatic fix",
        "",
        f"**{'Safe' if fix.safe else 'Unsafe'}** fix, applied by {how}. {fix.summary}",
        "",
        "```diff",
        *diff,
        "```",
    ]


def index_page() -> str:
    lines = ["# Rules", "", "| ID | Practice | Severity | Title |", "|---|---|---|---|"]
    lines += [
        f"| [{r.id}]({r.id}.md) | {int(r.practice)} | {r.severity.label} | {r.title}"
        f"{'' if r.default_enabled else ' (off by default)'} |"
        for r in REGISTRY
    ]
    return "\n".join(lines) + "\n"


def expected_files() -> dict[str, str]:
    files = {f"{r.id}.md": rule_page(r) for r in REGISTRY}
    files["README.md"] = index_page()
    return files


def write_docs(out: Path, *, check: bool = False) -> list[str]:
    """Write the pages (or, with `check`, list the ones that differ). Returns stale names."""
    files = expected_files()
    stale = []
    existing = {p.name for p in out.glob("*.md")} if out.is_dir() else set()
    for name, text in files.items():
        path = out / name
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != text:
            stale.append(name)
            if not check:
                out.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    for name in sorted(existing - set(files)):
        stale.append(name)
        if not check:
            (out / name).unlink()
    return stale
