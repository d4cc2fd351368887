"""Builders for CI files (registered in `sources.BUILDERS`): one parse per file, the model
built once and carried on the document."""

from __future__ import annotations

import bisect
import functools
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from deploysafe.ci import expressions, github, yamlci
from deploysafe.ci.yamlci import CiDocument
from deploysafe.inputs.documents import LoadResult
from deploysafe.model import ScanError, Target
from deploysafe.yamlload import TooLarge, YamlProblem, load_data, read_capped


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
        if span.end - span.start <= expressions.MAX_DEPTH:
            continue  # too short to hold an expression that nests that deep (most values)
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
    model = github.workflow(loaded.data, _local_actions(path))
    return LoadResult([_document(text, display, loaded, Target.GITHUB_WORKFLOW, model)], errors, 0)


_ACTION_MAX = 1 << 20


def _local_actions(path: Path | None) -> github.LocalCluster | None:
    """For a workflow in `<repository>/.github/workflows/`: whether a local action a step
    runs (`uses: ./dir`, relative to the repository) makes a throwaway cluster, read from
    its action.yml. One that cannot be read, or lies outside the repository, makes none."""
    if path is None:
        return None
    # Resolved at the first step that runs a local action: most workflows have none.
    repository = functools.cache(functools.partial(_repository_of, path))

    def makes(uses: str, given: Mapping[str, Any]) -> bool:
        top = repository()
        rel = PurePosixPath(uses)
        if top is None or ".." in rel.parts:
            return False
        for name in ("action.yml", "action.yaml"):
            file = (top / rel / name).resolve()
            if not file.is_relative_to(top):
                return False
            try:
                data = load_data(read_capped(file, _ACTION_MAX))
            except (OSError, UnicodeDecodeError, TooLarge, yaml.YAMLError):
                continue
            return isinstance(data, dict) and github.makes_cluster_with(github.action(data), given)
        return False

    return makes


def _repository_of(workflow: Path) -> Path | None:
    """The repository a workflow file really is in (`<repository>/.github/workflows/`)."""
    real = workflow.resolve()
    if real.parent.name != "workflows" or real.parent.parent.name != ".github":
        return None
    return real.parent.parent.parent


def github_action(text: str, display: str, path: Path | None) -> LoadResult:
    loaded, errors = _load(text, display)
    if loaded is None:
        return LoadResult([], errors, 0)
    if "runs" not in loaded.data:
        return LoadResult([], errors, 0)  # an action.yml of something else
    model = github.action(loaded.data)
    return LoadResult([_document(text, display, loaded, Target.GITHUB_ACTION, model)], errors, 0)
