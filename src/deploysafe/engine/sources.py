"""Which documents a file yields: Kubernetes objects, CI files, Dockerfiles, kustomization
files, plain text.

One file may yield several (a workflow is also text that the secrets rules read). Each
builder parses once and keeps positions; the engine runs the rules whose target matches.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Collection
from pathlib import Path, PurePosixPath

from deploysafe.ci import gitlab
from deploysafe.ci import loaders as ci_loaders
from deploysafe.inputs import dockerfile
from deploysafe.inputs.discover import KUSTOMIZATION_NAMES, YAML_SUFFIXES
from deploysafe.inputs.dockerfile import is_dockerfile
from deploysafe.inputs.documents import LoadResult, load_kubernetes
from deploysafe.model import Document, ScanError, Target
from deploysafe.yamlload import YamlProblem, parse_all

# (text, display path, path on disk or None for in-memory input) -> documents.
Builder = Callable[[str, str, Path | None], LoadResult]


def targets_for(display: str) -> tuple[Target, ...]:
    """The document types a file can hold, from its repo-relative path."""
    path = PurePosixPath(display)
    name = path.name
    out = [Target.TEXT]
    if is_dockerfile(display):
        out.append(Target.DOCKERFILE)
    if name in KUSTOMIZATION_NAMES:
        out.append(Target.KUSTOMIZATION)
    if name.endswith(YAML_SUFFIXES):
        out.append(Target.KUBERNETES)
        if fnmatch.fnmatch(display, "*.github/workflows/*") and path.parent.name == "workflows":
            out.append(Target.GITHUB_WORKFLOW)
        if name in ("action.yml", "action.yaml"):
            out.append(Target.GITHUB_ACTION)
        if name in (".gitlab-ci.yml", ".gitlab-ci.yaml"):
            out.append(Target.GITLAB_CI)
    return tuple(out)


def _text(text: str, display: str, path: Path | None) -> LoadResult:
    return LoadResult([Document(display, {}, {}, text.splitlines(), type=Target.TEXT)], [], 0)


def _kubernetes(text: str, display: str, path: Path | None) -> LoadResult:
    if display.endswith(".json"):
        # JSON that is not a Kubernetes object (package.json, tsconfig with comments, data
        # arrays) is none of our business; JSON that is one must be a mapping.
        if '"apiVersion"' not in text or '"kind"' not in text:
            return LoadResult([], [], 0)
        return load_kubernetes(text, display, strict=True)
    return load_kubernetes(text, display)


def _kustomization(text: str, display: str, path: Path | None) -> LoadResult:
    """A kustomization file as written, not built: a build turns generator literals into
    objects that point at the generator, this keeps each literal's own line. Read in every
    mode (also when the folder is rendered) and whatever its `kind:`, if any."""
    for parsed in parse_all(text):
        if isinstance(parsed, YamlProblem):
            # The same error the Kubernetes pass reports for a .yaml file (reported once).
            return LoadResult([], [ScanError(display, parsed.line, str(parsed))], 0)
        if isinstance(parsed.data, dict):
            errors = [ScanError(display, ln, msg) for ln, msg in parsed.warnings]
            doc = Document(
                display, parsed.data, parsed.positions, text.splitlines(), type=Target.KUSTOMIZATION
            )
            return LoadResult([doc], errors, 0)
    return LoadResult([], [], 0)


BUILDERS: dict[Target, Builder] = {
    Target.TEXT: _text,
    Target.KUBERNETES: _kubernetes,
    Target.GITHUB_WORKFLOW: ci_loaders.github_workflow,
    Target.GITHUB_ACTION: ci_loaders.github_action,
    Target.GITLAB_CI: gitlab.build,
    Target.DOCKERFILE: dockerfile.build,
    Target.KUSTOMIZATION: _kustomization,
}


def load(
    text: str, display: str, wanted: Collection[Target], path: Path | None = None
) -> LoadResult:
    """Every document of the wanted types in one file."""
    docs: list[Document] = []
    errors: list[ScanError] = []
    skipped = 0
    for target in targets_for(display):
        if target not in wanted or target not in BUILDERS:
            continue
        result = BUILDERS[target](text, display, path)
        docs.extend(result.documents)
        # A CI file's YAML errors are the same errors the Kubernetes pass reports.
        errors.extend(e for e in result.errors if e not in errors)
        skipped += result.skipped
    return LoadResult(docs, errors, skipped)
