"""Helpers for rule tests: run rules on YAML text without the whole engine."""

from __future__ import annotations

import tempfile
from pathlib import Path

from deploysafe.engine import sources
from deploysafe.inputs.documents import load_kubernetes
from deploysafe.model import LATEST, Document, Fact, Level, Severity, Target, Version, Violation
from deploysafe.rules.base import Context, Rule


def docs(text: str, file: str = "test.yaml") -> list[Document]:
    result = load_kubernetes(text, file)
    assert not result.errors, result.errors
    return result.documents


# A file name that makes sources.load build a document of each target.
EXAMPLE_FILES = {
    Target.TEXT: "example.txt",
    Target.DOCKERFILE: "Dockerfile",
    Target.GITHUB_WORKFLOW: ".github/workflows/ci.yml",
    Target.GITHUB_ACTION: "action.yml",
    Target.GITLAB_CI: ".gitlab-ci.yml",
    Target.KUSTOMIZATION: "kustomization.yaml",
}


def example_docs(rule: Rule, text: str) -> list[Document]:
    """A rule's bad/good example as documents of the rule's target. Kubernetes examples
    are YAML; others are loaded as the file a first-line comment names (`# ci/deploy.env`),
    else as EXAMPLE_FILES[target]. A Dockerfile whose header says `# context: FILE ...`
    (and `# .dockerignore: PATTERN ...`) is loaded from a build context holding them."""
    if rule.target in (Target.KUBERNETES, Target.KUBERNETES_SET):
        return docs(text)
    name = EXAMPLE_FILES[rule.target]
    first = text.split("\n", 1)[0]
    if first.startswith("# ") and " " not in first[2:].strip() and "." in first:
        name = first[2:].strip()
    header = _context_header(text)
    if header is not None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            for key, words in header.items():
                if key == "context":
                    for f in words:
                        (Path(tmp) / f).parent.mkdir(parents=True, exist_ok=True)
                        (Path(tmp) / f).write_text("made up\n", encoding="utf-8")
                else:
                    (Path(tmp) / key).write_text("\n".join(words) + "\n", encoding="utf-8")
            path.write_text(text, encoding="utf-8")
            result = sources.load(text, name, {rule.target}, path)
    else:
        result = sources.load(text, name, {rule.target})
    assert not result.errors, result.errors
    return result.documents


def _context_header(text: str) -> dict[str, list[str]] | None:
    """`# context: a b` and `# .dockerignore: p q` lines before the first instruction."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line.startswith("# "):
            break
        key, sep, rest = line[2:].partition(": ")
        if sep and key in ("context", ".dockerignore"):
            out[key] = rest.split()
    return out or None


def run_rule(
    rule: Rule,
    text: str,
    level: Level = Level.RESTRICTED,
    version: Version = LATEST,
) -> list[tuple[int, Violation]]:
    """(line, violation) for every violation of a per-document rule in `text`."""
    assert rule.check is not None
    out: list[tuple[int, Violation]] = []
    for doc in docs(text):
        ctx = Context(pss_level=level, pss_version=version, namespace=doc.namespace)
        out.extend((doc.locate(v.path)[0], v) for v in rule.check(doc, ctx))
    return out


def messages(rule: Rule, text: str) -> list[str]:
    return [v.message for _, v in run_rule(rule, text)]


def decided(rule: Rule, text: str) -> list[tuple[int, Severity, str]]:
    """(line, severity, message) of a cross-resource rule alone over the set `text`: its
    `collect` on every document, then its `decide`, as the engine runs them (no folding)."""
    assert rule.collect is not None and rule.decide is not None
    facts = []
    for doc in docs(text):
        ctx = Context(Level.RESTRICTED, LATEST, doc.namespace)
        assert doc.resource is not None
        for path, data in rule.collect(doc, ctx):
            line, column = doc.locate(path)
            facts.append(Fact(doc.file, line, column, "", doc.resource, data))
    out = []
    for item in rule.decide(facts):
        severity = item[2] if len(item) == 3 else rule.severity
        out.append((item[0].line, severity, item[1]))
    return out
