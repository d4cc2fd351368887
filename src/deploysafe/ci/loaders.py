"""Builders for CI files (registered in `sources.BUILDERS`): one parse per file, the model
built once and carried on the document."""

from __future__ import annotations

from pathlib import Path as FsPath

from deploysafe.ci import github, yamlci
from deploysafe.ci.yamlci import CiDocument
from deploysafe.documents import LoadResult
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
    return loaded, errors


def github_workflow(text: str, display: str, path: FsPath | None) -> LoadResult:
    loaded, errors = _load(text, display)
    if loaded is None:
        return LoadResult([], errors, 0)
    doc = CiDocument(
        display,
        loaded.data,
        loaded.positions,
        text.splitlines(),
        type=Target.GITHUB_WORKFLOW,
        text=text,
        scalars=loaded.scalars,
        starts=yamlci.line_starts(text),
        model=github.workflow(loaded.data),
    )
    return LoadResult([doc], errors, 0)


def github_action(text: str, display: str, path: FsPath | None) -> LoadResult:
    loaded, errors = _load(text, display)
    if loaded is None:
        return LoadResult([], errors, 0)
    if "runs" not in loaded.data:
        return LoadResult([], errors, 0)  # an action.yml of something else
    doc = CiDocument(
        display,
        loaded.data,
        loaded.positions,
        text.splitlines(),
        type=Target.GITHUB_ACTION,
        text=text,
        scalars=loaded.scalars,
        starts=yamlci.line_starts(text),
        model=github.action(loaded.data),
    )
    return LoadResult([doc], errors, 0)
