"""Helm charts and Kustomize folders rendered by the real engines, mapped back to source files.

Rules must see what the cluster would get, so charts and overlays are rendered by Helm and
Kustomize themselves (never re-implemented). Findings must point at what a person edits, so
every rendered object is traced to its source file (Helm's `# Source:` template, Kustomize's
`config.kubernetes.io/origin` annotation) and its key positions are re-found in that file,
best-effort: a key the template does not spell out (e.g. from `toYaml .Values...`) points at
its nearest ancestor that it does spell out.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
import textwrap
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from deploysafe import yamlload
from deploysafe.frozen import record
from deploysafe.inputs import helmsteady, helmvalues
from deploysafe.inputs import kustomizebatch as kbatch
from deploysafe.inputs.documents import (
    RELEASE_NAMESPACE,
    load_kubernetes,
    release_namespace_dropped,
)
from deploysafe.inputs.helmsdk import engine_message as _message
from deploysafe.inputs.patches import TRANSFORMATIONS, Patches
from deploysafe.inputs.rendercache import Key, RenderCache
from deploysafe.inputs.renderplan import KUSTOMIZATION_FILES, REFERENCES, check_chart, is_remote
from deploysafe.inputs.sandbox import (
    LIMITS,
    HelmRequest,
    HelmWorker,
    Limits,
    Ran,
    RenderFailed,
    helm_worker,
    run,
)
from deploysafe.model import Document, KeyPath, ScanError

ORIGIN = "config.kubernetes.io/origin"
# What the build metadata adds to every object; never shown to rules or users.
BUILD_ANNOTATIONS = (ORIGIN, TRANSFORMATIONS)
# The namespace a chart is rendered in when none is given, so that `.Release.Namespace` can
# be told from a namespace the template spells out. A dot makes it an invalid namespace name;
# every occurrence in the output becomes RELEASE_NAMESPACE before anything reads it.
_UNSET_NAMESPACE = "ds-unset.invalid"


@record
class Rendered:
    documents: list[Document]
    errors: list[ScanError]  # kind="render" for render failures
    note: str | None = None  # for the user, e.g. why findings point at kustomization.yaml
    skipped: int = 0  # documents not parsed because no rule reads their kind
    failed: bool = False  # the engine produced nothing: the errors say why
    # Dependencies Chart.yaml lists that charts/ lacks: rendered without them.
    missing: tuple[str, ...] = ()


# --- tools -------------------------------------------------------------------------------


def _helm_sdk() -> ModuleType | None:
    try:
        import helm_python
    except Exception:  # not installed, or its native library failed to load: no SDK
        return None
    return helm_python


def helm_available() -> str | None:
    """Which Helm renders charts: the binary when on PATH, else the embedded SDK."""
    binary = shutil.which("helm")
    if binary:
        return f"helm {binary}"
    sdk = _helm_sdk()
    if sdk is not None:
        return f"helm-python-sdk {sdk.__version__}"
    return None


def kustomize_available() -> list[str] | None:
    """The argv prefix that builds a kustomization; the standalone tool is newer, so first."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


# A render never touches the network: remote bases are refused before kustomize runs, and
# anything that still tries (a base's base, a Helm plugin) meets a closed port or a git that
# may only read local files, and fails at once instead of waiting for a timeout.
_DEAD_PROXY = "http://127.0.0.1:9"
_OFFLINE = {
    "HTTP_PROXY": _DEAD_PROXY,
    "HTTPS_PROXY": _DEAD_PROXY,
    "http_proxy": _DEAD_PROXY,
    "https_proxy": _DEAD_PROXY,
    "ALL_PROXY": _DEAD_PROXY,
    "NO_PROXY": "",
    "no_proxy": "",
    "GIT_ALLOW_PROTOCOL": "file",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_SSH_COMMAND": "false",
}


def offline_env() -> dict[str, str]:
    """The environment an engine runs in: ours, with the network closed."""
    return {**os.environ, **_OFFLINE}


def _run(argv: Sequence[str], limits: Limits) -> Ran:
    return run(argv, offline_env(), limits)


def _rel(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()


def _shown(path: Path, root: Path) -> str:
    """Repo-relative inside the scanned tree; as the user gave it outside."""
    if path.resolve().is_relative_to(root.resolve()):
        return _rel(path, root)
    return path.as_posix()


def _join(folder: str, name: str) -> str:
    return name if folder == "." else f"{folder}/{name}"


# --- Helm --------------------------------------------------------------------------------


def render_helm(
    chart: Path,
    root: Path,
    *,
    values: Sequence[Path] = (),
    set_values: Sequence[str] = (),
    namespace: str | None = None,
    release_name: str = "release",
    top: Path | None = None,
    worker: HelmWorker | None = None,
    limits: Limits = LIMITS,
    cache: RenderCache | None = None,
) -> Rendered:
    """Render a chart directory like `helm template`; documents point at their templates.

    The engine reads a copy of the chart that holds nothing from outside `top` (the
    repository; default `root`): a symlink that leaves it is left out and reported. It runs
    under `limits`, with the SDK in `worker` (a worker for this chart alone when None).
    With `cache`, the engine's output for the same chart files, values and options is
    reused instead of rendered again.
    """
    chart_rel = _rel(chart, root)
    chart_file = _join(chart_rel, "Chart.yaml")
    binary = shutil.which("helm")
    render_ns = namespace or _UNSET_NAMESPACE
    deps = check_chart(chart, root) if chart.is_dir() else None
    missing = deps.missing if deps is not None else ()
    lacking = list(deps.errors) if deps is not None else []
    errors = [
        replace(e, message=f"{e.message}; the chart was rendered without it") for e in lacking
    ]
    # Last, so they win: the subcharts are absent whatever the values say.
    disabled = deps.disabled if deps is not None else ()
    engine_set = [*set_values, *(f"{key}=false" for key in disabled)]
    sdk = not binary and _helm_sdk() is not None
    if not binary and not sdk:
        msg = (
            "cannot render the chart: no helm binary on PATH and helm-python-sdk is not"
            " installed (install helm, or pip install 'deploysafe[helm]')"
        )
        return Rendered([], [ScanError(chart_file, None, msg, "render")], note=msg, failed=True)

    left_out: list[ScanError] = []  # symlinks out of `top`, not in the copy

    def engine(target: Path) -> list[tuple[str, str]]:
        if not sdk:
            return _helm_binary(
                binary or "helm", target, values, engine_set, render_ns, release_name, limits
            )
        request = HelmRequest(
            target, tuple(values), tuple(engine_set), render_ns or "default", release_name
        )
        if worker is not None:
            return worker.render(request)
        with helm_worker(offline_env(), limits) as own:
            return own.render(request)

    try:
        with tempfile.TemporaryDirectory(prefix="deploysafe-helm-") as tmp:
            if chart.is_dir():
                contained = (top or root).resolve()
                options = (chart.resolve().name, values, engine_set, render_ns, release_name)
                kept = None
                if cache is not None:
                    # The chart's files as the copy would hold them: no copy when kept.
                    seen: list[ScanError] = []
                    key = _helm_key(chart, *options, binary, _outside(contained, root, seen))
                    kept = cache.get(key, _kept_helm)
                    if kept is not None:
                        left_out += seen
                if kept is not None:
                    sources, marks, drawn = kept
                else:
                    copy = _contained_copy(chart, Path(tmp), contained, root, left_out)
                    # The bytes the engine reads (a file may have changed since).
                    key = _helm_key(copy, *options, binary) if cache is not None else ""
                    marks, originals = _mark_sections(copy)
                    try:
                        sources = engine(copy)
                    except RenderFailed:
                        if not marks:
                            raise
                        # A mark may have landed inside a template action: render as written.
                        for path, text in originals.items():
                            path.write_text(text, encoding="utf-8")
                        sources, marks = engine(copy), {}
                    drawn = {}
                    if helmsteady.draws(copy):  # the same render twice, to see what is drawn
                        sources, drawn = helmsteady.steady(sources, engine(copy))
                    if cache is not None:
                        cache.put(key, _helm_entry(sources, marks, drawn))
            else:  # the engine says what is wrong with it
                sources, marks, drawn = engine(chart), {}, {}
    except RenderFailed as exc:
        # Templates often read a subchart's default values: without it they fail.
        errors = [
            replace(e, message=f"{e.message}; the chart could not be rendered without it")
            for e in lacking
        ]
        errors += left_out
        msg = str(exc).replace(_UNSET_NAMESPACE, RELEASE_NAMESPACE)
        errors.append(_template_error(msg, chart, root, chart_file))
        return Rendered([], errors, failed=True, missing=missing)
    errors += left_out

    documents: list[Document] = []
    skipped = 0
    # The values the chart's own templates read, to name the file that set a value.
    own_values = chart / "values.yaml"
    given = [(own_values, _rel(own_values, root))] if own_values.is_file() else []
    given += [(f, _shown(f, root)) for f in values]
    helm_values = helmvalues.load(given, set_values)
    for source, text in sources:
        # `<chart name>/templates/x.yaml`, `<chart>/charts/<sub>/templates/x.yaml`: the first
        # part is the chart's name, not necessarily its directory's.
        inner = source.split("/", 1)[1] if "/" in source else source
        path = chart / inner
        file = _rel(path, root)
        if namespace is None:
            text = text.replace(_UNSET_NAMESPACE, RELEASE_NAMESPACE)
        text = _GLUED_SEPARATOR.sub("---\n", text)
        loaded = load_kubernetes(
            text,
            file,
            default_namespace=namespace,
            rendered_from=f"helm {chart_rel}",
            strict=True,
        )
        skipped += loaded.skipped
        errors.extend(
            ScanError(e.file, None, f"rendered output: {e.message}", "render")
            for e in loaded.errors
        )
        src = _source(path)
        own = not inner.startswith("charts/")  # a subchart reads other values
        marked_lines = _marked_lines(text, inner, marks)
        for i, loaded_doc in enumerate(loaded.documents):
            segment = _marked_segment(loaded_doc, marked_lines)
            doc = release_namespace_dropped(loaded_doc)
            if source in drawn:
                doc = replace(doc, generated=helmsteady.generated(doc.positions, drawn[source]))
            if src is not None:
                doc = _remap(doc, src, i, len(loaded.documents), segment=segment)
                if own:
                    doc = replace(doc, helm_values=helm_values)
            documents.append(doc)
    note = None
    if missing:
        label = chart_rel if chart_rel != "." else chart.resolve().name
        note = f"chart {label} rendered without its missing subchart(s): {', '.join(missing)}"
        if disabled:
            note += f", with {', '.join(disabled)} set to false"
    return Rendered(documents, errors, note=note, skipped=skipped, missing=missing)


def _engine_identity(binary: str | None) -> str:
    """Which engine renders (a binary; None: the Helm SDK), down to the build: its output
    may change with it."""
    if binary:
        try:
            st = Path(binary).stat()
        except OSError:
            return f"binary {binary}"
        return f"binary {binary} {st.st_size} {st.st_mtime_ns}"
    sdk = _helm_sdk()
    return f"helm-python-sdk {getattr(sdk, '__version__', '?')}"


def _helm_key(
    chart: Path,
    name: str,
    values: Sequence[Path],
    set_values: Sequence[str],
    namespace: str,
    release_name: str,
    binary: str | None,
    ignore: Callable[[str, list[str]], set[str]] | None = None,
) -> str:
    """The cache key of a render: every file of the chart as the engine reads it (a
    contained copy before it is marked, or the chart read as `ignore` copies it), the values
    files' bytes, the options and the engine."""
    key = Key("helm")
    key.add(_engine_identity(binary), name, namespace, release_name)
    key.add("set", *set_values)
    for i, path in enumerate(values):
        key.file(f"values {i}", path)
    key.tree("chart", chart, ignore)
    return key.hexdigest()


def _helm_entry(
    sources: Sequence[tuple[str, str]],
    marks: Mapping[int, tuple[str, int]],
    drawn: helmsteady.Drawn,
) -> dict[str, Any]:
    return {
        "sources": [[name, text] for name, text in sources],
        "marks": [[mark, file, section] for mark, (file, section) in marks.items()],
        "drawn": {name: [[line, at] for line, at in spots] for name, spots in drawn.items()},
    }


_Kept = tuple[list[tuple[str, str]], dict[int, tuple[str, int]], helmsteady.Drawn]


def _kept_helm(value: Any) -> _Kept | None:
    """A cached render, if `value` has the shape `_helm_entry` writes."""
    if not isinstance(value, dict):
        return None
    sources, marks, drawn = value.get("sources"), value.get("marks"), value.get("drawn")
    if not isinstance(sources, list) or not isinstance(marks, list):
        return None
    if not isinstance(drawn, dict) or not all(
        isinstance(v, list)
        and all(isinstance(s, list) and len(s) == 2 and all(type(n) is int for n in s) for s in v)
        for v in drawn.values()
    ):
        return None
    if not all(
        isinstance(s, list) and len(s) == 2 and all(isinstance(x, str) for x in s) for s in sources
    ):
        return None
    if not all(
        isinstance(m, list)
        and len(m) == 3
        and type(m[0]) is int
        and isinstance(m[1], str)
        and type(m[2]) is int
        for m in marks
    ):
        return None
    spots = {name: [(line, at) for line, at in v] for name, v in drawn.items()}
    return [(a, b) for a, b in sources], {m[0]: (m[1], m[2]) for m in marks}, spots


# Where Helm says a template failed: `template: <chart>/templates/x.yaml:43:55: executing`
# (the binary) or `<chart>/templates/x.yaml:43:55\n  executing` (the SDK).
_TEMPLATE_AT = re.compile(r"(?:^|\s)[^\s:/]+/(\S+?):(\d+)(?::\d+)?(?::|\s|$)")


def _template_error(message: str, chart: Path, root: Path, chart_file: str) -> ScanError:
    """The render error at the template line Helm names, else at Chart.yaml."""
    m = _TEMPLATE_AT.search(message)
    if m is not None:
        path = chart / m.group(1)
        if path.is_file():
            return ScanError(_rel(path, root), int(m.group(2)), message, "render")
    return ScanError(chart_file, None, message, "render")


# Which `---` section of a template wrote a rendered document: `{{ if }}` drops sections and
# `range` repeats them, so counting documents cannot tell. A YAML comment appended to a
# literal top-level key of each section (in a copy of the chart) comes out with its document.
_MARK = "deploysafe-section"
_MARKED = re.compile(rf" # {_MARK} (\d+)$")
_MARKABLE = re.compile(r"^[A-Za-z0-9_./-]*$")  # a plain value, or none: a comment may follow


def _contained_copy(
    chart: Path, tmp: Path, top: Path, root: Path, left_out: list[ScanError]
) -> Path:
    """A copy of the chart for the engine, symlinks followed only while they stay inside
    `top`: a chart is repository content, and a link out of it (`/etc/...`, another
    checkout) must not be rendered into what is checked or released. Each link left out is
    added to `left_out` as an input error; raises RenderFailed when the chart cannot be read."""
    copy = tmp / "chart" / chart.resolve().name
    try:
        shutil.copytree(chart, copy, symlinks=False, ignore=_outside(top, root, left_out))
    except (OSError, shutil.Error) as exc:
        raise RenderFailed(f"cannot read the chart: {exc}") from None
    return copy


def _outside(
    top: Path, root: Path, left_out: list[ScanError]
) -> Callable[[str, list[str]], set[str]]:
    """Which names of a folder a contained copy leaves out (a `copytree` ignore)."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        out = set()
        for name in names:
            path = Path(folder, name)
            if not path.is_symlink():
                continue
            try:
                real = path.resolve(strict=True)
            except (OSError, RuntimeError):  # dangling, or a loop
                out.add(name)
                continue
            if not real.is_relative_to(top):
                out.add(name)
                left_out.append(
                    ScanError(
                        _shown(path.parent, root) + "/" + name,
                        None,
                        "a symlink to a path outside the repository: left out of the render"
                        " (deploysafe renders only what the repository holds); vendor the"
                        " file into the chart instead",
                        "render",
                    )
                )
            elif real.is_dir() and Path(folder).resolve().is_relative_to(real):
                out.add(name)  # a link to a folder that holds it: Helm would loop too
        return out

    return ignore


def _mark_sections(copy: Path) -> tuple[dict[int, tuple[str, int]], dict[Path, str]]:
    """Mark the sections of the copy's multi-document templates: each mark's (template,
    section), and the text of each file changed."""
    originals: dict[Path, str] = {}
    marks: dict[int, tuple[str, int]] = {}
    for path in sorted(copy.rglob("*")):
        inner = path.relative_to(copy)
        if (
            not _is_template(inner.parts)
            or path.suffix not in (".yaml", ".yml")
            or path.name.startswith("_")
            or not path.is_file()
        ):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        lines = text.splitlines(keepends=True)
        sections = _entries([ln.rstrip("\r\n") for ln in lines])
        if len(sections) < 2:
            continue
        for number, section in enumerate(sections):
            entry = next((e for e in section if _markable(e, lines[e.line - 1])), None)
            if entry is None:
                continue
            mark = len(marks)
            marks[mark] = (inner.as_posix(), number)
            line = lines[entry.line - 1]
            body = line.rstrip("\r\n")
            lines[entry.line - 1] = f"{body} # {_MARK} {mark}{line[len(body) :]}"
        originals[path] = text
        path.write_text("".join(lines), encoding="utf-8")
    return marks, originals


def _is_template(parts: Sequence[str]) -> bool:
    """`templates/...` of the chart or of a subchart (`charts/<sub>/templates/...`); not
    files the templates read (`.Files.Get`), which are output as they are."""
    while parts[:1] == ("charts",) and len(parts) > 2:
        parts = parts[2:]
    return len(parts) > 1 and parts[0] == "templates"


def _markable(entry: _Entry, line: str) -> bool:
    # Not `kind:`: documents of unread kinds are skipped by reading that line alone.
    return (
        entry.indent == 0
        and not entry.dash
        and entry.key not in (None, "kind")
        and "{{" not in line
        and "#" not in line
        and bool(_MARKABLE.match(entry.value.strip()))
    )


def _marked_lines(text: str, inner: str, marks: Mapping[int, tuple[str, int]]) -> dict[int, int]:
    """Rendered line -> the section of template `inner` that wrote it (other files' marks,
    brought in by `include`, are ignored)."""
    out: dict[int, int] = {}
    if not marks:
        return out
    for number, line in enumerate(text.splitlines(), 1):
        m = _MARKED.search(line)
        if m is not None:
            file, section = marks.get(int(m.group(1)), ("", 0))
            if file == inner:
                out[number] = section
    return out


def _marked_segment(doc: Document, marked_lines: Mapping[int, int]) -> int | None:
    for key in doc.data:
        position = doc.positions.get((key,)) if isinstance(key, str) else None
        if position is not None and position[0] in marked_lines:
            return marked_lines[position[0]]
    return None


def _helm_binary(
    binary: str,
    chart: Path,
    values: Sequence[Path],
    set_values: Sequence[str],
    namespace: str | None,
    release_name: str,
    limits: Limits,
) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="deploysafe-helm-") as tmp:
        # `helm template` refuses a chart whose dependencies are not vendored; its own
        # templates are still worth checking, so render a copy that does not list them.
        missing = check_chart(chart, chart).missing if chart.is_dir() else ()
        if missing:
            copy = Path(tmp) / chart.name
            shutil.copytree(chart, copy, symlinks=True)
            _drop_dependencies(copy / "Chart.yaml", set(missing))
            chart = copy
        return _helm_template(binary, chart, values, set_values, namespace, release_name, limits)


def _drop_dependencies(chart_yaml: Path, names: set[str]) -> None:
    data = yamlload.load_data(chart_yaml.read_text(encoding="utf-8"))
    data["dependencies"] = [
        d
        for d in data.get("dependencies") or []
        if not (isinstance(d, dict) and d.get("name") in names)
    ]
    chart_yaml.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _helm_template(
    binary: str,
    chart: Path,
    values: Sequence[Path],
    set_values: Sequence[str],
    namespace: str | None,
    release_name: str,
    limits: Limits,
) -> list[tuple[str, str]]:
    argv = [binary, "template", release_name, str(chart)]
    if namespace:
        argv += ["--namespace", namespace]
    for f in values:
        argv += ["--values", str(f)]
    for s in set_values:
        argv += ["--set", s]
    ran = _run(argv, limits)
    if not ran.ok:
        raise RenderFailed(_message(ran.err))
    return split_helm_output(ran.out)


# Helm splits a template's output into manifests at each `---` that starts a line, whatever
# follows it there (releaseutil.SplitManifests): a template whose whitespace control (`-}}`)
# joins the next line to the separator (`---# comment`, `---apiVersion: v1`) makes two
# manifests for Helm, and one line YAML does not read as a document start. The rest of the
# line goes to a line of its own.
_GLUED_SEPARATOR = re.compile(r"^---[ \t]*(?=\S)", re.M)
_SOURCE = re.compile(r"^# Source: (.+?)\s*$")
_SEPARATOR = re.compile(r"^---(?:[ \t]|$)")


def split_helm_output(text: str) -> list[tuple[str, str]]:
    """`helm template` output as (source template, its documents), in order of appearance."""
    chunks: dict[str, list[list[str]]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        m = _SOURCE.match(line)
        if m:
            current = []
            chunks.setdefault(m.group(1), []).append(current)
        elif _SEPARATOR.match(line):
            current = None
        elif current is not None:
            current.append(line)
    return [
        (source, "---\n".join("\n".join(doc) + "\n" for doc in docs))
        for source, docs in chunks.items()
    ]


# --- Kustomize ---------------------------------------------------------------------------


def _kustomization(folder: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def render_kustomize(
    folder: Path,
    root: Path,
    *,
    namespace: str | None = None,
    cache: dict[Path, _Source | None] | None = None,
    limits: Limits = LIMITS,
) -> Rendered | None:
    """Build a kustomization; documents point at the files their objects come from.

    None when neither kustomize nor kubectl is installed (the caller scans the plain files).
    `namespace` is where objects without one land (the overlay's deploy target); `cache`
    shares parsed source files between builds of overlays with a common base.
    """
    tool = kustomize_available()
    if tool is None:
        return None
    build = _build_kustomize(tool, folder, limits)
    return _finish_kustomize(build, folder, root, namespace, cache)


def render_kustomizations(
    folders: Sequence[tuple[Path, str | None]],
    root: Path,
    jobs: int | None = None,
    limits: Limits = LIMITS,
    cache: RenderCache | None = None,
) -> list[Rendered] | None:
    """Build many kustomizations (folder, namespace): the builds run side by side, and each
    source file shared by several is parsed once. None without kustomize or kubectl."""
    builds = KustomizeBuilds.start(folders, root, jobs, limits, cache)
    if builds is None:
        return None
    with builds:
        return list(builds.results())


class KustomizeBuilds:
    """Kustomize builds running in the background from `start` on, at most `jobs` at a
    time (each one process under `limits`); `results` maps each build's output back to its
    sources, in the order of `folders`, while later builds still run."""

    __slots__ = ("_cache", "_folders", "_futures", "_patches", "_pool", "_root")

    def __init__(
        self,
        folders: Sequence[tuple[Path, str | None]],
        root: Path,
        pool: ThreadPoolExecutor,
        futures: list[Future[_Build]],
    ) -> None:
        self._folders = list(folders)
        self._root = root
        self._pool = pool
        self._futures = futures
        self._cache: dict[Path, _Source | None] = {}
        self._patches = Patches(root)

    @classmethod
    def start(
        cls,
        folders: Sequence[tuple[Path, str | None]],
        root: Path,
        jobs: int | None = None,
        limits: Limits = LIMITS,
        cache: RenderCache | None = None,
    ) -> KustomizeBuilds | None:
        """None without kustomize or kubectl."""
        tool = kustomize_available()
        if tool is None:
            return None
        workers = max(1, min(len(folders), jobs or os.cpu_count() or 1))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kustomize")
        futures: list[Future[_Build]] = [Future() for _ in folders]
        builds = _Builds(tuple(tool), [f for f, _ in folders], futures, limits, cache)
        pool.submit(builds.schedule, pool, workers)
        return cls(folders, root, pool, futures)

    def __enter__(self) -> KustomizeBuilds:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def results(self) -> Iterator[Rendered]:
        for (folder, namespace), future in zip(self._folders, self._futures, strict=True):
            build = future.result()
            yield _finish_kustomize(
                build, folder, self._root, namespace, self._cache, self._patches
            )


@record
class _Build:
    tool: tuple[str, ...]
    ok: bool
    out: str  # the engine's output, or its error when not ok
    origin_base: Path | None  # origins are relative to it; None: built without origins
    missing_file: bool = False


def _build_kustomize(
    tool: Sequence[str], folder: Path, limits: Limits, cache: RenderCache | None = None
) -> _Build:
    future: Future[_Build] = Future()
    _Builds(tuple(tool), [folder], [future], limits, cache).schedule(None, 1)
    return future.result()


class _Builds:
    """The builds of many kustomize roots, each settling its own future: kept ones from the
    cache, the others in batches of roots that may share a process (`kustomizebatch`), the
    rest one process each."""

    # Failed batch builds a scan splits and tries again; after them, each root alone.
    _FAILURES = 8

    def __init__(
        self,
        tool: tuple[str, ...],
        folders: Sequence[Path],
        futures: Sequence[Future[_Build]],
        limits: Limits,
        cache: RenderCache | None,
    ) -> None:
        self.tool = tool
        self.folders = folders
        self.futures = futures
        self.limits = limits
        self.cache = cache
        self.lock = threading.Lock()
        self.failures = 0

    def schedule(self, pool: ThreadPoolExecutor | None, workers: int) -> None:
        """Survey every root, settle what the cache holds, and run the rest in `pool`
        (None: here, one after the other)."""
        try:
            together: list[tuple[int, _Survey]] = []
            alone: list[tuple[int, _Survey]] = []
            for i, folder in enumerate(self.folders):
                if _kustomization(folder) is None:
                    self.futures[i].set_result(_Build(self.tool, False, "", None, True))
                    continue
                survey = _survey(self.tool, folder, self.cache is not None)
                if self.cache is not None and survey.key is not None:
                    kept = self.cache.get(
                        survey.key, functools.partial(_kept_build, tool=self.tool)
                    )
                    if kept is not None:
                        self.futures[i].set_result(kept)
                        continue
                (together if survey.batchable else alone).append((i, survey))
            groups = kbatch.plan([s.root for _, s in together], workers)
            self._submit(pool, [[together[j] for j in g] for g in groups] + [[m] for m in alone])
        except BaseException as exc:
            self._fail(range(len(self.futures)), exc)
            raise

    def _submit(
        self, pool: ThreadPoolExecutor | None, jobs: list[list[tuple[int, _Survey]]]
    ) -> None:
        for job in jobs:
            if pool is None:
                self._run(None, job)
            else:
                pool.submit(self._run, pool, job)

    def _run(self, pool: ThreadPoolExecutor | None, members: list[tuple[int, _Survey]]) -> None:
        try:
            if len(members) > 1:  # what the batch leaves runs on any free worker
                alone, again = self._batch(members)
                self._submit(pool, [*again, *([m] for m in alone)])
                return
            for i, survey in members:
                self._settle(i, survey, _run_kustomize(self.tool, self.folders[i], self.limits))
        except BaseException as exc:
            self._fail([i for i, _ in members], exc)
            raise

    def _batch(
        self, todo: list[tuple[int, _Survey]]
    ) -> tuple[list[tuple[int, _Survey]], list[list[tuple[int, _Survey]]]]:
        """Build `todo` together, settling what the batch gave: the roots left to build
        alone, and the groups to build together again. Kustomize adds the parts in order
        and stops at the first it cannot add, so the parts before that one were added
        together: a part that holds an id an earlier one has too (one Namespace that every
        app of a monorepo declares) starts a group with the parts after it; a broken part
        is built alone, and the others go on together."""
        with tempfile.TemporaryDirectory(prefix="deploysafe-kustomize-") as tmp:
            top = Path(tmp).resolve()
            try:
                mark = kbatch.write(top, [self.folders[i] for i, _ in todo])
            except ValueError:  # another drive (Windows): no relative path to a root
                return todo, []
            ran = _run([*self.tool, str(top)], self.limits)
        if ran.ok:
            parts = kbatch.split(ran.out, len(todo), mark)
            if parts is None:
                return todo, []
            suspect = kbatch.leaked(parts)
            for n, (i, survey) in enumerate(todo):
                if n not in suspect:
                    self._settle(i, survey, _Build(self.tool, True, parts[n], top))
            return [m for n, m in enumerate(todo) if n in suspect], []
        culprits = set() if ran.limited else kbatch.failed_parts(ran.err, len(todo))
        if len(culprits) != 1 or not self._may_fail_again():
            return todo, []
        (n,) = culprits
        if n > 0 and kbatch.duplicate(ran.err):
            return [], [todo[:n], todo[n:]]
        return [todo[n]], [todo[:n] + todo[n + 1 :]]

    def _may_fail_again(self) -> bool:
        """Whether one more failed batch may be split and tried again: past the budget,
        what a failed batch holds is built root by root."""
        with self.lock:
            self.failures += 1
            return self.failures <= self._FAILURES

    def _settle(self, i: int, survey: _Survey, build: _Build) -> None:
        if self.cache is not None and survey.key is not None and build.ok:
            base = build.origin_base.as_posix() if build.origin_base is not None else None
            self.cache.put(survey.key, {"out": build.out, "base": base})
        self.futures[i].set_result(build)

    def _fail(self, indexes: Iterable[int], exc: BaseException) -> None:
        for i in indexes:
            if not self.futures[i].done():
                self.futures[i].set_exception(exc)


def _lacks(folder: Path, kustomization: Any) -> bool:
    """Whether a kustomization lists a local resource, base or Component that is not
    there: its build fails, and would fail a batch with it (built alone, it says so)."""
    if not isinstance(kustomization, dict):
        return False
    for field in REFERENCES:
        entries = kustomization.get(field)
        for entry in entries if isinstance(entries, list) else ():
            if not isinstance(entry, str) or is_remote(entry):
                continue
            try:
                if not os.path.lexists(folder / entry):
                    return True
            except (OSError, ValueError):
                return True
    return False


@record
class _Survey:
    key: str | None  # the build's cache key; None: not cached (no cache, or unreadable)
    batchable: bool  # may share a kustomize process with other roots
    root: kbatch.Root


def _survey(tool: Sequence[str], folder: Path, keyed: bool) -> _Survey:
    """What a build reads, from the kustomizations alone: the cache key (when `keyed`) over
    the tool, the folder, and every file its kustomization tree may read: each
    kustomization, and each file or kustomization folder that a string in one names
    (over-counting strings that are not paths only costs a re-build); whether it may share a
    process (none of the tree acts across a whole build, names a remote base or a missing
    resource, and it reads at most `_BATCH_MOST` bytes); the root's renames and folders.
    A kustomization that cannot be read here leaves the build uncached and alone."""
    key = Key("kustomize") if keyed else None
    if key is not None:
        binary = shutil.which(tool[0]) or tool[0]
        key.add(*tool, _engine_identity(binary), folder.resolve().as_posix())
    seen: set[Path] = set()
    todo = [folder.resolve()]
    alone = False
    read = 0
    renames = kbatch.renames(None)
    while todo:
        here = todo.pop()
        if here in seen:
            continue
        seen.add(here)
        present = [name for name in KUSTOMIZATION_FILES if (here / name).is_file()]
        if key is not None:
            key.add("folder", here.as_posix(), *present)
        if not present:
            continue  # kustomize refuses the folder: the build fails, and is not kept
        kfile = here / present[0]
        if key is not None:
            key.file(kfile.as_posix(), kfile)
        try:
            data = yamlload.load_data(kfile.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError, RecursionError):
            return _Survey(None, False, kbatch.Root(renames, frozenset()))
        alone = alone or not kbatch.batchable(data, root=len(seen) == 1) or _lacks(here, data)
        if len(seen) == 1:
            renames = kbatch.renames(data)
        for text in _strings(data):
            for name in dict.fromkeys((text, text.split("=", 1)[-1])):
                if not name or "\n" in name or len(name) > 1024 or os.path.isabs(name):
                    continue
                if "://" in name or name.startswith(("git@", "github.com/")):
                    alone = True  # refused offline: its error is its own
                    continue
                try:
                    path = (here / name).resolve()
                    if path.is_dir():
                        todo.append(path)
                    elif path.is_file():
                        read += path.stat().st_size
                        if key is not None:
                            key.file(path.as_posix(), path)
                except (OSError, RuntimeError, ValueError):
                    if key is not None:
                        key.add("unresolvable", here.as_posix(), name)
    root = kbatch.Root(renames, frozenset(p.as_posix() for p in seen))
    batchable = not alone and read <= _BATCH_MOST
    return _Survey(key.hexdigest() if key is not None else None, batchable, root)


# The bytes of files a root's tree may read, past which it is built alone: its own work
# then outweighs kustomize's start that a batch shares (0.19 s of CPU), and in a batch it
# costs more than alone (a batch's name and id passes grow faster than its objects).
_BATCH_MOST = 256 * 1024


def _strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)


def _kept_build(value: Any, tool: Sequence[str]) -> _Build | None:
    """A cached build, if `value` has the shape `_build_kustomize` writes."""
    if not isinstance(value, dict) or not isinstance(value.get("out"), str):
        return None
    base = value.get("base")
    if base is None:
        return _Build(tuple(tool), True, value["out"], None)
    if not isinstance(base, str) or not os.path.isabs(base):
        return None
    # The build's wrapper folder is gone; origins are resolved from its name alone.
    return _Build(tuple(tool), True, value["out"], Path(base))


def _run_kustomize(tool: Sequence[str], folder: Path, limits: Limits) -> _Build:
    # Origins come from a throwaway kustomization that includes the folder, so the user's
    # tree is never written to. Kustomize refuses absolute resource paths: use a relative one.
    with tempfile.TemporaryDirectory(prefix="deploysafe-kustomize-") as tmp:
        wrapper = Path(tmp).resolve()
        try:
            target = os.path.relpath(folder.resolve(), wrapper)
        except ValueError:  # another drive (Windows): no relative path exists
            target = None
        if target is not None:
            (wrapper / "kustomization.yaml").write_text(
                "apiVersion: kustomize.config.k8s.io/v1beta1\n"
                "kind: Kustomization\n"
                f"resources:\n  - {_yaml_str(target)}\n"
                "buildMetadata: [originAnnotations, transformerAnnotations]\n",
                encoding="utf-8",
            )
            ran = _run([*tool, str(wrapper)], limits)
            if ran.ok:
                return _Build(tuple(tool), True, ran.out, wrapper)
            if ran.limited:
                return _Build(tuple(tool), False, ran.err, None)

    # The wrapper failed: build the folder itself, so that any error names the user's paths
    # and a folder the wrapper cannot include (an old kustomize) still renders.
    ran = _run([*tool, str(folder)], limits)
    return _Build(tuple(tool), ran.ok, ran.out if ran.ok else ran.err, None)


def _finish_kustomize(
    build: _Build,
    folder: Path,
    root: Path,
    namespace: str | None,
    cache: dict[Path, _Source | None] | None,
    patches: Patches | None = None,
) -> Rendered:
    folder_rel = _rel(folder, root)
    kfile = _kustomization(folder)
    if build.missing_file or kfile is None:
        msg = f"no {' / '.join(KUSTOMIZATION_FILES)} in {folder_rel}"
        return Rendered([], [ScanError(folder_rel, None, msg, "render")], failed=True)
    kfile_rel = _rel(kfile, root)
    if not build.ok:
        message, line = _kustomize_error(_message(build.out), kfile, root)
        return Rendered([], [ScanError(kfile_rel, line, message, "render")], failed=True)
    rendered_from = f"kustomize {folder_rel}"
    if build.origin_base is not None:
        return _kustomize_documents(
            build.out,
            build.origin_base,
            root,
            kfile_rel,
            rendered_from,
            None,
            namespace,
            cache,
            patches,
        )
    note = f"{' '.join(build.tool)} gave no origin annotations: findings point at {kfile_rel}"
    return _kustomize_documents(
        build.out, folder.resolve(), root, kfile_rel, rendered_from, note, namespace, cache, patches
    )


_ACCUMULATING = re.compile(r"accumulating resources from '([^']+)'")
_MISSING = re.compile(r"lstat (\S+): no such file or directory")


def _kustomize_error(message: str, kfile: Path, root: Path) -> tuple[str, int | None]:
    """kustomize's error with the scan root's paths made relative, at the line of the
    kustomization that lists the entry it failed on; a missing file said once, by name."""
    for prefix in {str(root.resolve()), str(root)}:
        message = message.replace(prefix + os.sep, "")
    entries = _ACCUMULATING.findall(message)
    missing = _MISSING.findall(message)
    if not entries and missing:  # a patch or another file the kustomization names
        entry = os.path.relpath((root / missing[-1]).resolve(), kfile.parent.resolve())
        line = _listed_at(kfile, entry)
        if line is not None:
            return f"'{entry}' cannot be read: {missing[-1]} does not exist", line
    if not entries:
        return message, None
    line = _listed_at(kfile, entries[0])
    if missing:
        message = f"resources entry '{entries[0]}' cannot be built: {missing[-1]} does not exist"
    return message, line


def _listed_at(kfile: Path, entry: str) -> int | None:
    """The line of `kfile` that lists `entry` as a list item, if one does."""
    try:
        lines = kfile.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for number, text in enumerate(lines, 1):
        item = text.strip()
        if item.startswith("-") and item[1:].strip().strip("'\"") == entry:
            return number
    return None


def _yaml_str(text: str) -> str:
    return yaml.safe_dump(text, default_style='"').strip()


def _kustomize_documents(
    text: str,
    origin_base: Path,
    root: Path,
    kfile_rel: str,
    rendered_from: str,
    note: str | None,
    namespace: str | None = None,
    cache: dict[Path, _Source | None] | None = None,
    patches: Patches | None = None,
) -> Rendered:
    """`patches` (with `cache`) is shared by builds of one scan: each kustomization and
    patch file a base shares with several overlays is read and parsed once."""
    text, blocks = _compact_transformations(text)
    loaded = load_kubernetes(
        text, kfile_rel, default_namespace=namespace, rendered_from=rendered_from, strict=True
    )
    errors = [
        ScanError(e.file, None, f"rendered output: {e.message}", "render") for e in loaded.errors
    ]
    kfile = (root / kfile_rel).resolve()
    cache = {} if cache is None else cache
    patches = Patches(root) if patches is None else patches
    origins: dict[str, tuple[Path | None, str | None]] = {}  # several objects, one file
    documents: list[Document] = []
    by_file: dict[str, int] = {}
    for doc in loaded.documents:
        data, added = _strip_build_annotations(doc.data)
        doc = replace(doc, data=data)
        origin = added.get(ORIGIN)
        key = origin if isinstance(origin, str) else ""
        if key not in origins:
            origins[key] = _origin_file(origin, origin_base)
        source, generator = origins[key]
        transformations = added.get(TRANSFORMATIONS)
        if isinstance(transformations, str) and transformations.isdigit():
            n = int(transformations)
            transformations = blocks[n] if n < len(blocks) else None
        # The nodes the resource file spells; None: not known (generated, no origin).
        spelled: set[KeyPath] | None = None
        names = [doc.name] if doc.name is not None else []
        src = _cached(cache, source if source is not None else kfile)
        if source is None:  # no origin, or a remote one: point at the kustomization
            doc = _flat(doc, kfile_rel, src, None)
        elif generator is not None or src is None:
            doc = _flat(doc, _rel(source, root), src, generator)
        else:
            file = _rel(source, root)
            index = by_file.get(file, 0)
            by_file[file] = index + 1
            spelled = set() if transformations else None
            doc = _remap(replace(doc, file=file), src, index, None, spelled)
            written_name = _spelled_name(doc, src, spelled)
            if written_name is not None and written_name not in names:
                names.append(written_name)
        if transformations:
            written = patches.written(data, transformations, origin_base, spelled, names)
            doc = replace(doc, written=written)
        documents.append(doc)
    return Rendered(documents, errors, note=note, skipped=loaded.skipped)


# The transformer annotation kustomize writes, a literal block: most of the build's output.
_TRANSFORMATIONS_BLOCK = re.compile(
    rf"^( +){re.escape(TRANSFORMATIONS)}: \|-?\n((?:\1 +\S.*\n)+)", re.MULTILINE
)


def _compact_transformations(text: str) -> tuple[str, list[str]]:
    """The build output with each transformer annotation replaced by the index of its text
    in a table: objects of a folder share one text, and YAML need not parse it each time
    (it quadruples the output). Positions in the output are never shown: nothing moves."""
    blocks: dict[str, int] = {}

    def table(m: re.Match[str]) -> str:
        body = textwrap.dedent(m.group(2))
        return f'{m.group(1)}{TRANSFORMATIONS}: "{blocks.setdefault(body, len(blocks))}"\n'

    return _TRANSFORMATIONS_BLOCK.sub(table, text), list(blocks)


def _cached(cache: dict[Path, _Source | None], path: Path) -> _Source | None:
    if path not in cache:
        cache[path] = _source(path)
    return cache[path]


def _strip_build_annotations(data: Mapping[str, Any]) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """The object without the annotations the build metadata added, and those."""
    meta = data.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(meta, dict) or not isinstance(annotations, dict):
        return data, {}
    added = {k: annotations[k] for k in BUILD_ANNOTATIONS if k in annotations}
    if not added:
        return data, {}
    kept = {k: v for k, v in annotations.items() if k not in added}
    new_meta = {k: v for k, v in meta.items() if k != "annotations"}
    if kept:
        new_meta["annotations"] = kept
    return {**data, "metadata": new_meta}, added


def _spelled_name(doc: Document, src: _Source, spelled: set[KeyPath] | None) -> str | None:
    """The object's name as its resource file writes it (before prefixes and suffixes):
    patches may name the object so."""
    path = ("metadata", "name")
    if spelled is None or path not in spelled:
        return None
    line = doc.positions[path][0]
    m = re.match(r"\s*name:\s*(.*?)\s*$", src.lines[line - 1])
    return _literal(m.group(1)) if m else None


def _origin_file(origin: Any, base: Path) -> tuple[Path | None, str | None]:
    """The local file an origin annotation names, and the generator kind if generated."""
    if not isinstance(origin, str):
        return None, None
    try:
        parsed = yamlload.load_data(origin)
    except yaml.YAMLError:
        return None, None
    if not isinstance(parsed, dict) or parsed.get("repo"):  # remote: nothing local to show
        return None, None
    if isinstance(parsed.get("path"), str):
        return (base / parsed["path"]).resolve(), None
    if isinstance(parsed.get("configuredIn"), str):  # made by a generator in a kustomization
        by = parsed.get("configuredBy")
        kind = by.get("kind") if isinstance(by, dict) else None
        return (base / parsed["configuredIn"]).resolve(), str(kind) if kind else ""
    return None, None


def _flat(doc: Document, file: str, src: _Source | None, generator: str | None) -> Document:
    """Every position on one line of `file`: its generator's entry, else the first line."""
    line = 1
    lines = src.lines if src is not None else []
    if generator:
        field = generator[:1].lower() + generator[1:]  # ConfigMapGenerator: configMapGenerator
        pattern = re.compile(rf"^{re.escape(field)}\s*:")
        line = next((i for i, text in enumerate(lines, 1) if pattern.match(text)), 1)
    positions = dict.fromkeys(_paths(doc.data, ()), (line, 1))
    return replace(doc, file=file, positions=positions, lines=lines)


def _paths(data: Any, path: KeyPath) -> Iterator[KeyPath]:
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*path, key if isinstance(key, str | int) else str(key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _paths(value, (*path, i))


# --- positions: re-finding rendered keys in the source text ------------------------------


@record
class _Entry:
    """One YAML node start in the source: a `- ` item or a `key:`; `- key: v` gives both."""

    line: int  # 1-based
    indent: int  # 0-based column
    dash: bool
    key: str | None  # the mapping key spelled on this line, if any
    value: str  # the rest of the line after `key:` (for literal names)


_TEMPLATE_ACTION = re.compile(r"\{\{.*?\}\}")
_COMMENT_START = re.compile(r"\{\{-?\s*/\*")
_KEY = re.compile(r"""^(?:"([^"]*)"|'([^']*)'|([^\s'"{\[#!&*|>%@`][^#]*?))\s*:(?:\s+|$)(.*)$""")


def _entries(lines: Sequence[str]) -> list[list[_Entry]]:
    """Source lines as node starts, per `---` segment; comments and template-only lines go."""
    segments: list[list[_Entry]] = [[]]
    in_comment = False
    segment = segments[0]
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if in_comment:
            in_comment = "*/" not in stripped
            continue
        if not stripped or stripped[0] == "#":
            continue
        # Most lines hold no template action: the tests for actions are skipped for them.
        action = "{{" in stripped
        if action and _COMMENT_START.match(stripped) and "*/" not in stripped:
            in_comment = True
            continue
        if stripped[0] == "-" and _SEPARATOR.match(line):
            segment = []
            segments.append(segment)
            continue
        if action and not _TEMPLATE_ACTION.sub("", stripped).strip():
            continue  # `{{- if ... }}`, `{{- include ... | nindent 4 }}`: no key of its own
        text = line.lstrip(" ")
        indent = len(line) - len(text)
        text = text.rstrip()
        while text == "-" or text.startswith("- "):
            segment.append(_Entry(number, indent, True, None, ""))
            rest = text[1:]
            text = rest.lstrip(" ")
            indent += 1 + len(rest) - len(text)
        if text:
            m = _KEY.match(text)
            if m is None:
                segment.append(_Entry(number, indent, False, None, ""))
                continue
            quoted, single, plain, value = m.groups()
            key = quoted if quoted is not None else single if single is not None else plain
            segment.append(_Entry(number, indent, False, key, value))
    return [seg for seg in segments if seg]


def _scope(entries: Sequence[_Entry], at: int) -> range:
    """The entries nested under entry `at` (-1: the whole segment)."""
    if at < 0:
        return range(len(entries))
    node = entries[at]
    end = at + 1
    while end < len(entries):
        nxt = entries[end]
        # An item ends at its next sibling; a key also keeps `- ` items at its own indent.
        if nxt.indent < node.indent or (nxt.indent == node.indent and (node.dash or not nxt.dash)):
            break
        end += 1
    return range(at + 1, end)


def _literal(value: str) -> str | None:
    text = value.strip()
    if not text or "{{" in text:
        return None
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _find_key(entries: Sequence[_Entry], scope: range, indent: int, key: str) -> int | None:
    return next((j for j in scope if entries[j].indent == indent and entries[j].key == key), None)


def _find_item(
    entries: Sequence[_Entry], scope: range, indent: int, index: int, item: Any
) -> int | None:
    dashes = [j for j in scope if entries[j].dash and entries[j].indent == indent]
    if not dashes:
        return None

    def spelled_name(j: int) -> str | None:
        nxt = entries[j + 1] if j + 1 < len(entries) else None
        if nxt is None or nxt.line != entries[j].line or nxt.key != "name":
            return None
        return nxt.value.strip()

    def literal_name(j: int) -> str | None:
        spelled = spelled_name(j)
        return _literal(spelled) if spelled is not None else None

    name = item.get("name") if isinstance(item, dict) else None
    if name is not None:  # containers and ports are matched by name: patches reorder them
        for j in dashes:
            if literal_name(j) == str(name):
                return j
    # A single item in the source is a loop (`range`) or the only entry: all items are it.
    if len(dashes) > 1 and index >= len(dashes):
        # More items than the source spells: a `range` made them, from a templated item.
        looped = [j for j in dashes if "{{" in (spelled_name(j) or "")]
        return looped[-1] if looped else None
    pick = dashes[0] if len(dashes) == 1 else dashes[index]
    spelled = literal_name(pick)
    if spelled is not None and name is not None and spelled != str(name):
        return None  # the source spells another item here
    return pick


def _locate(
    data: Any,
    path: KeyPath,
    entries: Sequence[_Entry],
    at: int | None,
    here: tuple[int, int],
    out: dict[KeyPath, tuple[int, int]],
    spelled: set[KeyPath] | None,
) -> None:
    """Positions for every node under `path`; `at` is its entry, None when not found.
    `spelled` collects the nodes the source writes (the others take an ancestor's place)."""
    if isinstance(data, dict):
        children: list[tuple[str | int, Any]] = [
            (k if isinstance(k, str | int) else str(k), v) for k, v in data.items()
        ]
    elif isinstance(data, list):
        children = list(enumerate(data))
    else:
        return
    scope = _scope(entries, at) if at is not None else range(0)
    indent = entries[scope.start].indent if scope else -1
    for key, value in children:
        sub = (*path, key)
        found: int | None = None
        if scope:
            if isinstance(data, dict):
                found = _find_key(entries, scope, indent, str(key))
            else:
                found = _find_item(entries, scope, indent, int(key), value)
        pos = (entries[found].line, entries[found].indent + 1) if found is not None else here
        out[sub] = pos
        if spelled is not None and found is not None:
            spelled.add(sub)
        _locate(value, sub, entries, found, pos, out, spelled)


def _segment(
    segments: Sequence[Sequence[_Entry]], data: Mapping[str, Any], index: int, total: int | None
) -> Sequence[_Entry]:
    """The `---` segment of the source that produced a document."""
    if len(segments) == 1:
        return segments[0]

    def top(seg: Sequence[_Entry], key: str) -> str | None:
        j = _find_key(seg, range(len(seg)), 0, key)
        return _literal(seg[j].value) if j is not None else None

    kind = str(data.get("kind", ""))
    same_kind = [seg for seg in segments if top(seg, "kind") == kind]
    if len(same_kind) == 1:
        return same_kind[0]
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if len(same_kind) > 1 and name is not None:
        named = []
        for seg in same_kind:
            j = _find_key(seg, range(len(seg)), 0, "metadata")
            scope = _scope(seg, j) if j is not None else range(0)
            k = _find_key(seg, scope, seg[scope.start].indent, "name") if scope else None
            if k is not None and _literal(seg[k].value) == str(name):
                named.append(seg)
        if len(named) == 1:
            return named[0]
    if total == len(segments) and index < total:  # Helm: one document per segment, in order
        return segments[index]
    if same_kind:
        return same_kind[0]
    return [e for seg in segments for e in seg]


@record
class _Source:
    lines: list[str]
    segments: list[list[_Entry]]


def _source(path: Path) -> _Source | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:  # e.g. a subchart kept as a .tgz: keep the rendered text's positions
        return None
    return _Source(lines, _entries(lines))


def _remap(
    doc: Document,
    src: _Source,
    index: int,
    total: int | None,
    spelled: set[KeyPath] | None = None,
    *,
    segment: int | None = None,
) -> Document:
    """Move a rendered document's positions onto the lines of its source file.

    `index` is the document's rank among those rendered from the same file, `total` their
    number when the order is the source's (Helm), None when it is not (Kustomize sorts).
    `segment`, when known, is the `---` section that wrote the document.
    `spelled`, when given, collects the paths the source spells out.
    """
    if not src.segments:
        return replace(doc, positions=dict.fromkeys(_paths(doc.data, ()), (1, 1)), lines=src.lines)
    if segment is not None and segment < len(src.segments):
        entries: Sequence[_Entry] = src.segments[segment]
    else:
        entries = _segment(src.segments, doc.data, index, total)
    root = (entries[0].line, 1)
    positions: dict[KeyPath, tuple[int, int]] = {(): root}
    if spelled is not None:
        spelled.add(())
    _locate(doc.data, (), entries, -1, root, positions, spelled)
    return replace(doc, positions=positions, lines=src.lines)
