"""Builders for CI files (registered in `sources.BUILDERS`): one parse per file, the model
built once and carried on the document."""

from __future__ import annotations

import bisect
from pathlib import Path

from deploysafe.ci import expressions, github, yamlci
from deploysafe.ci.yamlci import CiDocument
from deploysafe.inputs.documents import LoadResult
from deploysafe.model import ScanError, Target
from deploysafe.yamlload import YamlProblem


def _load(text: str, display: str) -> tuple[yamlci.Loaded | None, list[ScanError]]:
    loaded = yamlci.load(text)
    if loaded is None:
        return None, []
    if isinstance(loaded, YamlProblem):
        return None, [ScanError(display, loaded.line, str(loaded))]
    errors = [ScanError(display, ln, msg) for ln, msg in loaded.warnings]
    if not isinstance(loaded.data, dict):
        return None, [*errors, ScanError(display, loaded.positions[()][0], "not a mapping")]
    return loaded, errors + _too_deep(text, display, loaded)


_TOO_DEEP = (
    f"expression nested deeper than {expressions.MAX_DEPTH} levels: GitHub refuses it, and "
    "deploysafe cannot judge it"
)


def _too_deep(text: str, display: str, loaded: yamlci.Loaded) -> list[ScanError]:
    """Expressions the rules cannot parse for their depth, each an input error: the rules
    skip them, so the file must not pass as judged."""
    out: list[ScanError] = []
    starts: tuple[int, ...] | None = None
    for span in loaded.scalars.values():
        raw = text[span.start : span.end]
        if "${{" not in raw:
            continue
        for expr in expressions.find(raw):
            if len(expr.body) <= expressions.MAX_DEPTH:
                continue  # too short to nest that deep
            try:
                expressions.parse(expr.body)
            except expressions.ExpressionTooDeep:
                starts = starts or yamlci.line_starts(text)
                line = bisect.bisect_right(starts, span.start + expr.start)
                out.append(ScanError(display, line, _TOO_DEEP))
            except expressions.ExpressionError:
                continue  # GitHub refuses it too; the rules read it as unknown
    return out


def _document(
    text: str, display: str, loaded: yamlci.Loaded, target: Target, model: object
) -> CiDocument:
    return CiDocument(
        display,
        loaded.data,
        loaded.positions,
        text.splitlines(),
        type=target,
        text=text,
        scalars=loaded.scalars,
        starts=yamlci.line_starts(text),
        model=model,
    )


def github_workflow(text: str, display: str, path: Path | None) -> LoadResult:
    loaded, errors = _load(text, display)
    if loaded is None:
        return LoadResult([], errors, 0)
    model = github.workflow(loaded.data)
    return LoadResult([_document(text, display, loaded, Target.GITHUB_WORKFLOW, model)], errors, 0)


def github_action(text: str, display: str, path: Path | None) -> LoadResult:
    loaded, errors = _load(text, display)
    if loaded is None:
        return LoadResult([], errors, 0)
    if "runs" not in loaded.data:
        return LoadResult([], errors, 0)  # an action.yml of something else
    model = github.action(loaded.data)
    return LoadResult([_document(text, display, loaded, Target.GITHUB_ACTION, model)], errors, 0)
