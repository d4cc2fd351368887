"""Which documents a file yields: Kubernetes objects, CI files, Dockerfiles, kustomization
files, plain text.

One file may yield several (a workflow is also text that the secrets rules read). Each
builder parses once and keeps positions; the engine runs the rules whose target matches.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path, PurePosixPath

from deploysafe.ci import loaders as ci_loaders
from deploysafe.inputs import dockerfile
from deploysafe.inputs.discover import KUSTOMIZATION_NAMES, YAML_SUFFIXES
from deploysafe.inputs.dockerfile import is_dockerfile
from deploysafe.inputs.documents import LoadResult, load_kubernetes
from deploysafe.model import Document, ScanError, Target
from deploysafe.pathnames import name_of, parent_names
from deploysafe.textlines import lazy_lines_of, lines_of
from deploysafe.yamlload import YamlProblem, parse_all, parsed_once

# (text, display path, path on disk or None for in-memory input) -> documents.
Builder = Callable[[str, str, Path | None], LoadResult]


def targets_for(place: str) -> tuple[Target, ...]:
    """The document types a file can hold, from its path in its repository (not from the
    scanned folder: a workflow is one whether `.github` or the file itself was scanned)."""
    name = name_of(place)
    out = [Target.TEXT]
    if is_dockerfile(place):
        out.append(Target.DOCKERFILE)
    if name in KUSTOMIZATION_NAMES:
        out.append(Target.KUSTOMIZATION)
    if name.endswith(YAML_SUFFIXES):
        out.append(Target.KUBERNETES)
        if parent_names(place, 2) == ("workflows", ".github"):
            out.append(Target.GITHUB_WORKFLOW)
        if name in ("action.yml", "action.yaml"):
            out.append(Target.GITHUB_ACTION)
        if name in (".gitlab-ci.yml", ".gitlab-ci.yaml"):
            out.append(Target.GITLAB_CI)
    return tuple(out)


def top_of(path: Path | None, place: str) -> Path | None:
    """The top level of the repository a file on disk is in, from its place there."""
    if path is None:
        return None
    parts = PurePosixPath(place).parts
    if PurePosixPath(place).is_absolute() or ".." in parts or len(parts) > len(path.parts):
        return path.parent  # outside the scanned repository: its own folder
    return path.parents[len(parts) - 1]


def _text(text: str, display: str, path: Path | None) -> LoadResult:
    return LoadResult([Document(display, {}, {}, lazy_lines_of(text), type=Target.TEXT)], [], 0)


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
    mode (also when the folder is rendered) and whatever its `kind:`, if any. Parsed to
    its end: the file's Kubernetes reading, next, then reuses the parse."""
    for parsed in list(parse_all(text)):
        if isinstance(parsed, YamlProblem):
            # The same error the Kubernetes pass reports for a .yaml file (reported once).
            return LoadResult([], [ScanError(display, parsed.line, str(parsed))], 0)
        if isinstance(parsed.data, dict):
            errors = [ScanError(display, ln, msg) for ln, msg in parsed.warnings]
            doc = Document(
                display, parsed.data, parsed.positions, lines_of(text), type=Target.KUSTOMIZATION
            )
            return LoadResult([doc], errors, 0)
    return LoadResult([], [], 0)


def _gitlab(text: str, display: str, path: Path | None) -> LoadResult:
    # Imported by the first pipeline file: most repositories have none, and a scan imports
    # its modules before any worker starts.
    from deploysafe.ci import gitlab

    return gitlab.build(text, display, path)


BUILDERS: dict[Target, Builder] = {
    Target.TEXT: _text,
    Target.KUBERNETES: _kubernetes,
    Target.GITHUB_WORKFLOW: ci_loaders.github_workflow,
    Target.GITHUB_ACTION: ci_loaders.github_action,
    Target.GITLAB_CI: _gitlab,
    Target.DOCKERFILE: dockerfile.build,
    Target.KUSTOMIZATION: _kustomization,
}


# The readings whose builders never use the file's path. A tuple, not a set: asked of every
# file, and an enum member's hash is a Python call (a tuple compares by identity first).
_PATHLESS = (Target.TEXT, Target.KUBERNETES, Target.KUSTOMIZATION)


def _unreadable(display: str, target: Target, exc: Exception) -> ScanError:
    """A builder that failed: the file's other readings (its text for secrets above all)
    are still checked. Input too deep or too large for the builder is the input's fault;
    anything else is ours. The type only: an exception's text may quote the input."""
    what = f"a {target.value} file"
    if isinstance(exc, RecursionError | MemoryError):
        return ScanError(
            display,
            None,
            f"nested too deeply or too large to read as {what} ({type(exc).__name__}); "
            "its other checks still ran",
        )
    return ScanError(
        display,
        None,
        f"internal error reading it as {what} ({type(exc).__name__}); its other checks still ran",
        kind="internal",
    )


def load(
    text: str,
    display: str,
    wanted: Collection[Target],
    path: Path | str | None = None,
    *,
    place: str | None = None,
) -> LoadResult:
    """Every document of the wanted types in one file, shown as `display`, typed by `place`
    (its path in its repository; `display` when not given)."""
    docs: list[Document] = []
    errors: list[ScanError] = []
    skipped = 0
    place = place or display
    # Only some readings use the path (a Dockerfile's build context, CI includes): a worker
    # is given a string, made a Path at the first that does.
    disk = path if path is None or isinstance(path, Path) else None
    # Looked up in a tuple, by identity (every type targets_for gives has a builder).
    among = tuple(wanted)
    targets = [t for t in targets_for(place) if t in among]
    # Its readings share one parse; a GitHub file's YAML 1.2 reading walks the nodes the
    # Kubernetes pass composed (members looked up in the list: no hash).
    github = Target.GITHUB_WORKFLOW in targets or Target.GITHUB_ACTION in targets
    with parsed_once(text, keep_tree=github):
        for target in targets:
            if disk is None and path is not None and target not in _PATHLESS:
                disk = Path(path)
            try:
                if target is Target.GITLAB_CI:
                    from deploysafe.ci import gitlab

                    # Its `include: local:` paths start at the repository's top level.
                    result = gitlab.build(text, display, disk, top=top_of(disk, place))
                else:
                    result = BUILDERS[target](text, display, disk)
            except Exception as exc:  # one reading lost, not the file's others
                errors.append(_unreadable(display, target, exc))
                continue
            docs.extend(result.documents)
            # A CI file's YAML errors are the same errors the Kubernetes pass reports.
            if result.errors:
                errors.extend(e for e in result.errors if e not in errors)
            skipped += result.skipped
    return LoadResult(docs, errors, skipped)
