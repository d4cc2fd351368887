"""The two scans every front end calls: `scan` a tree (discover, render, check in worker
processes) and `check_documents` already in memory (rendered output, an admission request,
a dump of live objects, a file version from git history)."""

from __future__ import annotations

import datetime as dt
import functools
import os
import posixpath
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from deploysafe import yamlload
from deploysafe.config import Config
from deploysafe.config.render import ChartSettings, RenderSettings
from deploysafe.engine import coverage
from deploysafe.engine.check import Partial, Skipped, check_all, check_steps
from deploysafe.engine.namespaces import namespaces_in
from deploysafe.engine.pool import SEARCH_FILES, Search, Workers, check_files
from deploysafe.engine.progress import Progress, Stage, Tick
from deploysafe.engine.report import Report, finish
from deploysafe.engine.settings import (
    REPOSITORY_SCOPES,
    Settings,
    rules_for,
    rules_of,
    settings_for,
    targets_of,
)
from deploysafe.engine.spool import Spool
from deploysafe.frozen import record
from deploysafe.host.memory import large_tree, release_after
from deploysafe.inputs.discover import (
    KUSTOMIZATION_NAMES,
    Coverage,
    Inventory,
    discover,
    display_path,
)
from deploysafe.model import Document, Finding, ScanError, Target
from deploysafe.rules.base import Scope

if TYPE_CHECKING:
    from deploysafe.engine.changes import Changes
    from deploysafe.inputs.render import Rendered
    from deploysafe.inputs.rendercache import RenderCache
    from deploysafe.inputs.renderplan import KustomizePlan
    from deploysafe.inputs.sandbox import HelmWorker


@record
class RenderOptions:
    """How a scan renders charts and kustomizations (the command line's part)."""

    enabled: bool = True
    values: tuple[Path, ...] = ()
    set_values: tuple[str, ...] = ()
    namespace: str | None = None
    release_name: str | None = None  # None: the policy file's, else "release"
    # Where engine output is kept by content hash (inputs/rendercache.py); None: not kept.
    cache: Path | None = None


def check_documents(
    docs: Iterable[Document],
    config: Config,
    *,
    settings: Settings | None = None,
    scopes: frozenset[Scope] = REPOSITORY_SCOPES,
    only: Collection[str] | None = None,
    inline: bool | None = None,
    baseline: frozenset[str] | None = None,
    today: dt.date | None = None,
) -> Report:
    """Check documents already in memory that come from one input. `settings` (compiled
    once by `settings_for` for many calls) replaces what the other keywords would build:
    the rules of `scopes` the policy enables (only those in `only`, if given), and the
    namespaces the documents define."""
    docs = list(docs)
    s = settings or settings_for(
        config, namespaces_in(docs), inline=inline, today=today, scopes=scopes, only=only
    )
    out = Partial()
    check_all(docs, s, rules_of(s), out)
    return finish(out, s, config, baseline, ())


def scan(
    paths: Sequence[Path],
    config: Config,
    *,
    root: Path | None = None,
    render: RenderOptions | None = None,
    baseline: frozenset[str] | None = None,
    inline: bool | None = None,
    jobs: int | None = None,
    today: dt.date | None = None,
    scopes: frozenset[Scope] = REPOSITORY_SCOPES,
    progress: Progress | None = None,
    changes: Changes | None = None,
    rendered_out: list[Document] | None = None,
) -> Report:
    """Scan a tree: its files and, rendered, the objects its charts and kustomizations
    deploy, with the rules of `scopes` the policy enables. `progress` is told how far the
    scan has got after each step. With `changes`, only the findings those changes made are
    reported (engine/changes.py). `rendered_out` receives the rendered objects (what a fix
    of a rendered finding is computed on)."""
    render = render or RenderOptions()
    tell = progress or _nobody
    root = root or Path.cwd()
    # Worker processes are forked once the walk has found enough files to need them,
    # early in it (a small tree is checked in this process). They search the files for
    # the Namespaces they define as the walk finds them.
    workers: Workers | None = None
    search: Search | None = None

    def start_workers() -> None:
        nonlocal workers, search
        workers = Workers.start(jobs)
        search = workers.search(root, config.max_file_size) if workers else None

    def found(files: Sequence[str]) -> None:
        if search is not None:
            search.more(files)

    try:
        inv = discover(
            paths,
            root,
            config.exclude,
            every_file=_every(config, scopes),
            base=config.base,
            when_large=(_LARGE_TREE, start_workers),
            found=(SEARCH_FILES, found),
        )
        if search is not None:  # the rest is searched while this process plans
            search.more(inv.files, last=True)
        notes: list[str] = []
        if not yamlload.LIBYAML:
            notes.append(
                "libyaml is missing: YAML is parsed by PyYAML's pure-Python loader (slower)"
            )
        rendered: list[Document] = []
        render_errors: list[ScanError] = []
        charts, kplan = _renders(inv, render, config.max_file_size)
        failed: list[Path] = []
        # Renders focused on the scanned paths: everything they build is checked (cross-resource
        # rules see the whole build), and only findings in the scanned paths are reported.
        focused: set[str] = set()
        if render.enabled:
            rendered, render_errors, render_notes, failed, focused = _render_all(
                inv, render, config.render, jobs, kplan, tell
            )
            notes += render_notes
            if rendered_out is not None:
                rendered_out.extend(rendered)
        attempted = _render_count(inv, charts, kplan) if render.enabled else 0
        # The plan uses up the discovered paths (a few hundred bytes each, in a large tree
        # the most of this process's memory): each goes once its job is made.
        p = coverage.plan(inv, charts=charts, kustomize=kplan, failed=failed)
        notes += coverage.unbuilt_notes(p)
        files = p.jobs
        # The namespaces the files define are added by check_files (`defined`, or a search).
        s = settings_for(
            config,
            namespaces_in(rendered),
            inline=inline,
            today=today,
            scopes=scopes,
            namespace=render.namespace,
        )
        checked = Tick(Stage.CHECKING, attempted, attempted, file_total=len(files))
        tell(checked)

        def chunk_done(part: Partial) -> None:
            nonlocal checked
            checked = replace(
                checked,
                files=checked.files + part.files,
                findings=checked.findings + len(part.findings) + part.spooled,
            )
            tell(checked)

        # The files' findings, off the heap until the report streams them (a small tree's
        # held in memory, up to a bound).
        spool = Spool.for_files(len(files))
        # While the workers check the files, this process checks the rendered objects and
        # puts together every file's record but the check's; a large tree's records once
        # the workers are gone instead (MBs, which would add to the workers' memory).
        by_renders = Partial()
        before_check: list[coverage.Planned] = []
        plans = [p]  # taken by the step, so that the plan can go once the records are made
        records_after = large_tree(len(files))

        def meanwhile(final: Settings) -> Iterator[None]:
            if not records_after:
                before_check.append(coverage.planned(plans[0], inv.skipped))
            if rendered:
                yield from check_steps(rendered, final, rules_of(final), by_renders)

        partial, s = check_files(files, s, jobs, chunk_done, spool, workers, search, meanwhile)
        if workers is not None:  # idle from here on: their memory goes before the report's
            workers.close()
            workers = None
        if records_after:
            before_check.append(coverage.planned(p, inv.skipped))
        # A render error at a line explains it better than the check's error there (the
        # invalid YAML of a kustomization that is therefore not built): one report per line.
        explained = {(e.file, e.line) for e in render_errors if e.line is not None}
        partial.errors = [e for e in partial.errors if (e.file, e.line) not in explained]
        partial.errors.extend(inv.errors)
        partial.errors.extend(render_errors)
        rules = rules_of(s)
        pipeline, pipeline_errors = _pipeline_context(inv, s, p.has)
        partial.errors.extend(pipeline_errors)
        check_all(pipeline, s, rules, partial)
        in_scan = _scanned(inv)
        partial.merge(by_renders)  # after the pipeline's, as the report orders them
        covered = coverage.checked(before_check[0], partial.skipped_files)
        # Used up: let go before the cross-resource rules' facts are read back (a large
        # tree's jobs and skipped files are MBs of paths), their pages given back with
        # those the records' sorting freed (the facts are small objects: they would not
        # reuse them).
        del p, files
        plans.clear()
        before_check.clear()
        partial.skipped_files = Skipped()
        release_after(len(covered))
        # Files read, once each: a rendered file is also a job; a render may read files
        # outside the scanned paths (a base of an overlay), but not one read only for context.
        read_by_renders = {
            d.file for d in rendered if d.rendered_from not in focused or in_scan(d.file)
        }
        partial.files = covered.files(coverage.was_read) + sum(
            1 for f in read_by_renders if not covered.has(f)
        )
        notes += coverage.notes(covered)
        hide = None
        if focused or pipeline:
            from_pipeline = {d.file for d in pipeline}

            def hide(f: Finding) -> bool:
                """A finding outside the scanned paths made only for context: by focused
                renders, or in the pipeline file that includes a scanned one."""
                if in_scan(f.file):
                    return False
                return f.file in from_pipeline or (bool(f.renders) and set(f.renders) <= focused)

        report = finish(partial, s, config, baseline, notes, hide=hide, spool=spool)
        if changes is not None:
            report = _changed_only(report, changes, inv.root, rendered, focused)
        # The records as they are held (not a tuple of one object per file).
        return replace(
            report, coverage=covered, root=inv.root.resolve().as_posix(), top=inv.top.as_posix()
        )
    finally:
        if workers is not None:
            workers.close()


# Files of the kinds scanned that the paths must hold for worker processes to be started: a
# smaller tree rarely holds the bytes that make processes pay off (pool.check_files).
_LARGE_TREE = 1000


def _nobody(tick: Tick) -> None:
    """No one watches the scan."""


def _render_count(inv: Inventory, charts: bool, plan: KustomizePlan | None) -> int:
    """The charts and kustomization roots a scan renders."""
    return (len(inv.charts) if charts else 0) + (len(plan.roots) if plan is not None else 0)


def _changed_only(
    report: Report, changes: Changes, root: Path, rendered: list[Document], focused: set[str]
) -> Report:
    """The report of a scan of changes: the findings the change made, and a note that
    counts the others."""
    # A render a changed file shapes whole (not focused) may have changed any object.
    whole = {d.rendered_from for d in rendered if d.rendered_from} - focused
    made = changes.made(root, whole)
    kept = tuple(f for f in report.findings if made(f))
    others = sum(1 for f in report.findings if f.suppressed is None) - sum(
        1 for f in kept if f.suppressed is None
    )
    notes = report.notes
    if others:
        notes = (
            *notes,
            f"{others} finding(s) in the changed files and the renders they feed are not on "
            f"lines or objects changed since {changes.ref}: not reported (--all-findings "
            "reports them)",
        )
    return replace(report, findings=kept, notes=notes)


def plan(
    paths: Sequence[Path],
    config: Config,
    *,
    root: Path | None = None,
    render: RenderOptions | None = None,
    scopes: frozenset[Scope] = REPOSITORY_SCOPES,
) -> Sequence[Coverage]:
    """What `scan` would do with each file under `paths`, found without rendering or
    checking anything (files are read to tell binary, too large and template files)."""
    render = render or RenderOptions()
    inv = discover(
        paths,
        root or Path.cwd(),
        config.exclude,
        every_file=_every(config, scopes),
        base=config.base,
    )
    charts, kplan = _renders(inv, render, config.max_file_size)
    p = coverage.plan(inv, charts=charts, kustomize=kplan)
    return coverage.outcome(p, inv.skipped, coverage.probe(p, config.max_file_size))


def _every(config: Config, scopes: frozenset[Scope]) -> bool:
    """Whether some enabled rule reads files that are not YAML."""
    targets = targets_of(rules_for(config, scopes))
    return bool(targets - {Target.KUBERNETES, Target.KUBERNETES_SET})


def _renders(
    inv: Inventory, render: RenderOptions, max_bytes: int
) -> tuple[bool, KustomizePlan | None]:
    """Which renders this scan runs (their files are read through them): whether charts
    are rendered, and what kustomize builds (None: nothing)."""
    if not render.enabled or not (inv.charts or inv.kustomize_folders):
        return False, None  # nothing to render: the renderers are not imported
    from deploysafe.inputs import render as r
    from deploysafe.inputs.renderplan import plan_kustomize

    charts = bool(inv.charts) and r.helm_available() is not None
    if not inv.kustomize_folders or r.kustomize_available() is None:
        return charts, None
    return charts, plan_kustomize(inv.kustomizations, inv.root, inv.top, max_bytes)


def _render_all(
    inv: Inventory,
    opts: RenderOptions,
    settings: RenderSettings,
    jobs: int | None,
    plan: KustomizePlan | None,
    tell: Progress,
) -> tuple[list[Document], list[ScanError], list[str], list[Path], set[str]]:
    """Render charts and build `plan`'s kustomization roots: their objects, errors, notes,
    the roots whose build failed, and the renders focused on the scanned paths (their
    findings elsewhere are not reported)."""
    unknown = _unknown_settings(settings, inv.root)
    if not inv.charts and not inv.kustomize_folders:
        return [], unknown, [], [], set()
    from deploysafe.inputs import render as r
    from deploysafe.inputs.rendercache import RenderCache
    from deploysafe.inputs.renderplan import patch_error, unmatched_patches

    docs: list[Document] = []
    errors: list[ScanError] = unknown
    notes: list[str] = []
    broken: list[Path] = []
    narrowed: set[str] = set()
    charts = bool(inv.charts) and r.helm_available() is not None
    tick = Tick(Stage.RENDERING, render_total=_render_count(inv, charts, plan))
    cache = RenderCache(opts.cache) if opts.cache is not None else None
    # Kustomize builds are processes of their own: they run while the charts render.
    builds = None
    if inv.kustomize_folders and plan is not None:
        builds = r.KustomizeBuilds.start(
            [(f, _overlay_namespace(f, opts, settings)) for f in plan.roots],
            inv.root,
            jobs,
            cache=cache,
        )

    def focused(
        root: Path, built: list[Document], whole: Callable[[Path, Path], bool]
    ) -> list[Document]:
        if _focused(inv, root, whole):
            narrowed.update(d.rendered_from for d in built if d.rendered_from)
        return built

    try:
        if inv.charts:
            engine = r.helm_available()
            if engine is None:
                notes.append(
                    "Helm not found (no `helm` binary, no helm-python-sdk): charts were scanned as "
                    "plain files; templates that are not YAML were skipped"
                )
            else:
                done = failed = 0
                rendered = []
                for res in _render_charts(inv, opts, settings, jobs, cache):
                    tell(tick)
                    tick = replace(tick, renders=tick.renders + 1)
                    rendered.append(res)
                for chart, res in zip(inv.charts, rendered, strict=True):
                    docs.extend(focused(chart, res.documents, _whole_chart))
                    errors.extend(_at_line(e, chart, inv.root) for e in res.errors)
                    if res.note:
                        notes.append(res.note)
                    if res.failed:
                        failed += 1
                        broken.append(chart)
                    else:
                        done += 1
                notes.append(_counted("rendered", done, failed, "Helm chart(s)", engine))
        if inv.kustomize_folders:
            tool = r.kustomize_available()
            if tool is None or plan is None or builds is None:
                notes.append(
                    "kustomize not found (no `kustomize`, no `kubectl kustomize`): kustomize"
                    " folders were scanned as plain files, without their overlays applied"
                )
            else:
                errors.extend(plan.errors)
                tell(tick)
                with builds:
                    built = list(builds.results())
                done = failed = 0
                problems: list[ScanError] = []
                whole = functools.partial(_whole_kustomization, patches=plan.patches)
                for folder, res in zip(plan.roots, built, strict=True):
                    docs.extend(focused(folder, res.documents, whole))
                    if res.failed:
                        failed += 1
                        broken.append(folder)
                        blamed = [
                            patch_error(plan, folder, e.message, inv.root) for e in res.errors
                        ]
                        problems += [b or e for b, e in zip(blamed, res.errors, strict=True)]
                    else:
                        done += 1
                        problems += res.errors
                        produced = [(d.kind, d.name or "") for d in res.documents]
                        problems += unmatched_patches(plan, folder, produced, inv.root)
                errors.extend(dict.fromkeys(problems))  # a shared base's patch: reported once
                within = sum(len(m) for m in plan.members.values())
                what = "kustomization(s)"
                if within > len(plan.roots):
                    what = "kustomization root(s), with their bases and Components,"
                notes.append(_counted("built", done, failed, what, " ".join(tool)))
    finally:
        if builds is not None:
            builds.close()
    if cache is not None:
        said = cache.note()
        if said:
            notes.append(said)
        if cache.written:
            cache.prune()
    return docs, errors, notes, broken, narrowed


def _render_charts(
    inv: Inventory,
    opts: RenderOptions,
    settings: RenderSettings,
    jobs: int | None,
    cache: RenderCache | None,
) -> Iterator[Rendered]:
    """Each chart's render, in order: up to `jobs` charts at a time, each in a Helm worker
    process of its own (under the sandbox's limits, one chart at a time), reused by the
    next chart."""
    import queue
    from concurrent.futures import ThreadPoolExecutor

    from deploysafe.inputs import render as r
    from deploysafe.inputs.sandbox import HelmWorker

    n = max(1, min(len(inv.charts), jobs or os.cpu_count() or 1))
    idle: queue.SimpleQueue[HelmWorker] = queue.SimpleQueue()
    workers = [HelmWorker(r.offline_env()) for _ in range(n)]
    for w in workers:
        idle.put(w)

    def one(chart: Path) -> Rendered:
        w = idle.get()
        try:
            return _render_chart(chart, inv, opts, settings, w, cache)
        finally:
            idle.put(w)

    try:
        with ThreadPoolExecutor(max_workers=n, thread_name_prefix="helm") as pool:
            yield from pool.map(one, inv.charts)
    finally:
        for w in workers:
            w.close()


def _at_line(error: ScanError, chart: Path, root: Path) -> ScanError:
    """A Chart.yaml error Helm gives without a line, at the line its YAML breaks."""
    from deploysafe.inputs.renderplan import chart_yaml_problem

    if error.line is not None or error.file != display_path(chart / "Chart.yaml", root):
        return error
    line = chart_yaml_problem(chart)
    return error if line is None else replace(error, line=line)


PIPELINES = (".gitlab-ci.yml", ".gitlab-ci.yaml")


def _pipeline_context(
    inv: Inventory, s: Settings, planned: Callable[[str], bool]
) -> tuple[list[Document], list[ScanError]]:
    """A file that the repository's GitLab pipeline includes (`include: local:`) is a part
    of that pipeline: scanned without the top-level file (not `planned`, by display path),
    it is judged through it. The pipeline's documents, when some scanned file is one of
    them, and the errors in scanned files; findings in the pipeline's other files are not
    reported."""
    if not inv.in_repo or Target.GITLAB_CI not in s.targets or inv.top in inv.starts:
        return [], []
    from deploysafe.ci import gitlab

    scanned = _scanned(inv)
    for name in PIPELINES:
        path = inv.top / name
        if not path.is_file() or planned(inv.display(path)):
            continue
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue  # scanned from the top, it is reported there
        root = inv.root.resolve()
        # Named from the scan root as its includes are (`../.gitlab-ci.yml`).
        shown = Path(os.path.relpath(path, root)).as_posix()
        built = gitlab.build(text, shown, path, top=inv.top, shown_from=root)
        if any(scanned(d.file) for d in built.documents):
            return list(built.documents), [e for e in built.errors if scanned(e.file)]
    return [], []


def _scanned(inv: Inventory) -> Callable[[str], bool]:
    """Whether a shown path is one the scan started from, or inside one."""
    starts = inv.starts
    files = {inv.display(s) for s in starts if not s.is_dir()}
    folders = [os.path.normpath(inv.display(s)) for s in starts if s.is_dir()]
    return lambda file: file in files or any(_under(file, f) for f in folders)


def _focused(inv: Inventory, render_root: Path, whole: Callable[[Path, Path], bool]) -> bool:
    """Whether a render reports only what the scanned paths wrote: the scan started inside
    it (a template, a patch, a folder of the chart) or in a file it builds from elsewhere in
    the repository; not when a scanned file shapes every object (`whole`: values,
    Chart.yaml, helpers, the kustomization, a patch of its own)."""
    top = render_root.resolve()
    if top not in inv.focus:
        return False
    starts = list(dict.fromkeys(s for group in inv.focus.values() for s in group))
    return not any(not s.is_dir() and s.is_relative_to(top) and whole(s, top) for s in starts)


def _under(file: str, folder: str) -> bool:
    """Whether a shown path is inside a shown folder ("." is the scan root), by their text
    alone: `os.path.relpath` would resolve a `..` against the working folder, where
    `../ci/x.yml` from a folder named `ci` is inside it."""
    path, where = posixpath.normpath(file), posixpath.normpath(folder)
    if where == ".":
        return not (path == ".." or path.startswith(("../", "/")))
    return path == where or path.startswith(where.rstrip("/") + "/")


def _whole_chart(path: Path, chart: Path) -> bool:
    """Whether a file of a chart shapes every object: any but a template (a helper such as
    `_helpers.tpl` is included by every template that uses it)."""
    for d in path.parents:
        if d == chart:
            return True
        if d.name == "templates" and (d.parent / "Chart.yaml").is_file():
            return path.name.startswith("_")
    return True


def _whole_kustomization(path: Path, folder: Path, *, patches: Collection[Path]) -> bool:
    """Whether a file shapes every object of a build: the kustomization, or a patch."""
    return path in patches or (path.parent == folder and path.name in KUSTOMIZATION_NAMES)


def _unknown_settings(settings: RenderSettings, root: Path) -> list[ScanError]:
    """Settings for a chart or kustomization that is not there: a typo in a path would
    otherwise leave the chart rendered with defaults, silently."""
    from deploysafe.inputs.renderplan import KUSTOMIZATION_FILES

    out = []
    for folder, where in settings.where.items():
        if folder in settings.charts:
            what, present = "chart", (folder / "Chart.yaml").is_file()
        else:
            what, present = (
                "kustomization",
                any((folder / n).is_file() for n in KUSTOMIZATION_FILES),
            )
        if not present:
            out.append(
                ScanError(
                    where.file,
                    where.line,
                    f"{where.key}: no {what} at {display_path(folder, root)}; fix the path"
                    " (it is relative to the policy file's folder)",
                    "render",
                )
            )
    return out


def _counted(verb: str, done: int, failed: int, what: str, engine: str) -> str:
    """`rendered 2 Helm chart(s) with helm; 1 failed`: a failed render is never counted
    as rendered."""
    text = f"{verb} {done} {what} with {engine}"
    return f"{text}; {failed} failed (see the input errors)" if failed else text


def _render_chart(
    chart: Path,
    inv: Inventory,
    opts: RenderOptions,
    settings: RenderSettings,
    worker: HelmWorker,
    cache: RenderCache | None,
) -> Rendered:
    """Render one chart with its settings from the policy file; options given on the
    command line win."""
    from deploysafe.inputs.render import Rendered, render_helm

    root = inv.root
    own = settings.charts.get(chart.resolve(), ChartSettings())
    values: tuple[Path, ...] = opts.values
    if not values:
        missing = [v for v in own.values if not v.path.is_file()]
        if missing:
            return Rendered(
                [],
                [
                    ScanError(
                        v.where.file,
                        v.where.line,
                        f"{v.where.key}: values file {v.path.name} does not exist; the chart"
                        f" {display_path(chart, root)} was not rendered (fix the path)",
                        "render",
                    )
                    for v in missing
                ],
                failed=True,
            )
        values = tuple(v.path for v in own.values)
    return render_helm(
        chart,
        root,
        values=values,
        set_values=opts.set_values or own.set_values,
        namespace=opts.namespace or own.namespace,
        release_name=opts.release_name or own.release or "release",
        top=inv.top,
        worker=worker,
        cache=cache,
    )


def _overlay_namespace(folder: Path, opts: RenderOptions, settings: RenderSettings) -> str | None:
    own = settings.kustomize.get(folder.resolve())
    return opts.namespace or (own.namespace if own else None)
