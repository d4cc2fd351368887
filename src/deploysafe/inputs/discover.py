"""Walk the scan paths: which files to read, which folders to render, what to skip."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from deploysafe import yamlload
from deploysafe.config.toplevel import DEFAULT_MAX_FILE_SIZE
from deploysafe.frozen import record
from deploysafe.globs import any_match, from_base
from deploysafe.host.git import Git, GitError, Started
from deploysafe.host.memory import release_after
from deploysafe.model import ScanError
from deploysafe.pathnames import Texts

YAML_SUFFIXES = (".yaml", ".yml", ".json")
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_KUSTOMIZATIONS = frozenset(KUSTOMIZATION_NAMES)
# Version control metadata is not part of the project: not walked, not listed.
VCS_DIRS = frozenset({".git", ".hg", ".svn"})
# Dependencies and caches: not walked, listed once as a folder.
TOOL_DIRS = frozenset({"node_modules", ".venv", "__pycache__"})
_SPECIAL_DIRS = VCS_DIRS | TOOL_DIRS


class Outcome(StrEnum):
    """What a scan does with a file."""

    SCANNED = "scanned"  # read and checked as itself
    RENDERED = "rendered"  # read by a Helm chart or kustomization; its objects come from it
    SKIPPED = "skipped"  # not checked; the reason says why


class Reason(StrEnum):
    """Why a file is skipped, or why it is scanned otherwise than one would expect."""

    IGNORED = "ignored-by-git"
    EXCLUDED = "excluded"
    TOOL_FOLDER = "tool-folder"
    NESTED_REPOSITORY = "nested-repository"
    NOT_READ = "not-read"
    TEMPLATE = "template"
    BINARY = "binary"
    TOO_LARGE = "too-large"
    NOT_REGULAR = "not-regular"
    UNREADABLE = "unreadable"
    SYMLINK_OUTSIDE = "symlink-outside"
    BROKEN_SYMLINK = "broken-symlink"
    SYMLINK = "symlink"
    UNLISTED = "unlisted"
    CHART_EXTRA = "chart-extra"
    UNBUILT = "unbuilt"
    NOT_RENDERED = "not-rendered"

    @property
    def text(self) -> str:
        return _REASON_TEXT[self]


_REASON_TEXT = {
    Reason.IGNORED: "ignored by git",
    Reason.EXCLUDED: "excluded by `exclude`",
    Reason.TOOL_FOLDER: "a dependency or cache folder",
    Reason.NESTED_REPOSITORY: "a nested git repository (scan it on its own)",
    Reason.NOT_READ: "not a format deploysafe reads",
    Reason.TEMPLATE: "a Helm template that needs rendering",
    Reason.BINARY: "binary",
    Reason.TOO_LARGE: "too large",
    Reason.NOT_REGULAR: "not a regular file",
    Reason.UNREADABLE: "unreadable",
    Reason.SYMLINK_OUTSIDE: "a symlink out of the tree",
    Reason.BROKEN_SYMLINK: "a broken symlink",
    Reason.SYMLINK: "a symlink to a file scanned under its own name",
    Reason.UNLISTED: "not listed by any kustomization: scanned as a plain manifest",
    Reason.CHART_EXTRA: "in a Helm chart but not a template or values: scanned as a plain manifest",
    Reason.UNBUILT: "listed by a kustomization that is not built: scanned as a plain manifest",
    Reason.NOT_RENDERED: "its chart or kustomization was not rendered (see the input errors)",
}


@record
class Coverage:
    """One file (or a folder not walked, its path ending in `/`) and what the scan does
    with it. `renders` names the charts and kustomizations that read a rendered file."""

    path: str
    outcome: Outcome
    reason: Reason | None = None
    renders: tuple[str, ...] = ()


@dataclass
class Inventory:
    """What discovery found: paths are shown relative to the scan root, `root`, and typed by
    their place in their repository (`place`), whichever folder of it was scanned."""

    root: Path
    # The repository's top level (the scan root outside a work tree), real and absolute.
    top: Path = field(default=Path("/"))
    in_repo: bool = False
    # Real absolute paths, as text (a Path object is several times its text's size), held
    # packed: a large tree's are tens of MB as strings.
    files: Texts = field(default_factory=Texts)
    # Top-level chart folders, real and absolute, sorted: none is inside another.
    charts: list[Path] = field(default_factory=list)
    # Every kustomization folder, real and absolute, as text held packed: a large tree's are
    # tens of thousands, MBs as Paths or strings that a scan without renders never reads
    # (`kustomizations`).
    kustomize_folders: Texts = field(default_factory=Texts)
    errors: list[ScanError] = field(default_factory=list)
    skipped: list[Coverage] = field(default_factory=list)  # files and folders not read
    # Render roots found above a scanned path (a template or a folder inside a chart or a
    # kustomize folder): the scanned paths inside each one, real and absolute.
    focus: dict[Path, list[Path]] = field(default_factory=dict)
    starts: list[Path] = field(default_factory=list)  # the scanned paths, real and absolute

    def __post_init__(self) -> None:
        self.root_prefix = str(self.root.resolve()).rstrip("/") + "/"
        self.top_prefix = str(self.top).rstrip("/") + "/"

    @property
    def kustomizations(self) -> list[Path]:
        """Every kustomization folder (Paths made as asked)."""
        return [Path(f) for f in self.kustomize_folders]

    def display(self, path: Path | str) -> str:
        # Paths from the walk are already real: a string prefix saves a resolve() per file.
        text = str(path)
        if text.startswith(self.root_prefix):
            return text[len(self.root_prefix) :]
        return display_path(Path(path), self.root)

    def place(self, path: Path | str) -> str:
        """A real path's place in its repository: the path from the top level, which tells a
        workflow (`.github/workflows/*.yml`) from any YAML file. Outside the scanned
        repository, its name as shown."""
        text = str(path)
        if text.startswith(self.top_prefix):
            return text[len(self.top_prefix) :]
        return self.display(path)


def display_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def link_display(link: Path, root: Path) -> str:
    """A symlink's own repo-relative name (display_path names its target)."""
    parent = display_path(link.parent, root)
    return link.name if parent == "." else f"{parent}/{link.name}"


def repo_top(folder: Path) -> Path | None:
    """The real top level of the git work tree `folder` is in, or None outside one."""
    started = _tops.get(folder.resolve()) or Git(folder).start("rev-parse", "--show-toplevel")
    try:
        result = started.result(check=False)
    except GitError:
        return None
    out = result.text.strip() if result.ok else ""
    return Path(out).resolve() if out else None


def base_of(root: Path) -> tuple[Path, bool]:
    """Where files are placed from: the top level of the work tree `root` is in (and True),
    or `root` itself outside one (and False)."""
    real = root.resolve()
    folder = real if real.is_dir() else real.parent
    top = repo_top(folder)
    return (top, True) if top is not None else (folder, False)


def _walk(
    top: Path, unlisted: list[tuple[str, OSError]]
) -> Iterator[tuple[str, list[str], list[str], set[str], list[str]]]:
    """Like os.walk without following links: (folder, as text, subfolders (prunable), files,
    the files among them that are symlinks, folder symlinks), names sorted. One scandir per
    folder, no stat per file. A folder that cannot be listed is added to `unlisted` with
    why."""
    stack = [str(top)]
    while stack:
        d = stack.pop()
        dirs: list[str] = []
        files: list[str] = []
        linked: set[str] = set()
        links: list[str] = []
        try:
            with os.scandir(d) as it:
                entries = list(it)
        except OSError as exc:
            unlisted.append((d, exc))
            continue
        try:  # most folders: files and folders only, each told by one test
            files = [e.name for e in entries if e.is_file(follow_symlinks=False)]
            if len(files) < len(entries):
                dirs = [e.name for e in entries if e.is_dir(follow_symlinks=False)]
            plain = len(files) + len(dirs) == len(entries)
        except OSError:
            plain = False
        if not plain:
            files, dirs, linked, links = _sorted_out(entries)
        dirs.sort()
        files.sort()
        yield d, dirs, files, linked, links
        if dirs:
            at = d.rstrip("/") + "/"
            stack.extend(at + n for n in reversed(dirs))


def _sorted_out(
    entries: list[os.DirEntry[str]],
) -> tuple[list[str], list[str], set[str], list[str]]:
    """A folder's entries as `_walk` gives them: files (with symlinks to files, and what is
    not a regular file: the reader reports it), subfolders, the files that are symlinks,
    and folder symlinks."""
    dirs: list[str] = []
    files: list[str] = []
    linked: set[str] = set()
    links: list[str] = []
    for e in entries:
        try:
            if e.is_file(follow_symlinks=False):
                files.append(e.name)
            elif e.is_dir(follow_symlinks=False):
                dirs.append(e.name)
            elif e.is_symlink():
                if e.is_dir():  # follows the link: where does it lead?
                    links.append(e.name)
                else:
                    files.append(e.name)
                    linked.add(e.name)
            else:
                files.append(e.name)  # not regular: the reader reports it
        except OSError:
            files.append(e.name)  # the reader reports what is wrong with it
    return files, dirs, linked, links


@record
class _Ignored:
    """What git ignores under a folder, relative to it: its untracked ignored files, and
    each folder that holds nothing else as one entry ("build/"). Every other file is one
    git lists (tracked, or untracked and not ignored). A tree's ignored entries are few
    (`node_modules/` is one), where the files it lists are all of them: a large tree's
    are hundreds of thousands, tens of MB held as a table."""

    base: str  # the folder, with a trailing "/"
    entries: frozenset[str]

    def file(self, path: str) -> bool:
        """Whether git ignores the file at real path `path`."""
        return path.removeprefix(self.base) in self.entries

    def folder(self, path: str) -> bool:
        """Whether git ignores the folder at real path `path` and all that is inside it."""
        return path.removeprefix(self.base) + "/" in self.entries


# git's listings started before discovery asks for them, by real folder (`list_ahead`).
_ahead: dict[Path, tuple[Started, Started]] = {}
# Their folders' top levels, started with them: the policy's search and discovery both ask.
_tops: dict[Path, Started] = {}


def list_ahead(paths: Iterable[Path]) -> None:
    """Start git listing the folders among `paths` now, so that it runs while the caller
    does other work (a scan imports the engine meanwhile); discovery takes the listing when
    it walks that folder. The caller stops those never taken (`stop_listings`)."""
    for path in paths:
        real = path.resolve()
        if real.is_dir() and real not in _ahead:
            _ahead[real] = _start_listing(real)
            _tops[real] = Git(real).start("rev-parse", "--show-toplevel")


def _start_listing(folder: Path) -> tuple[Started, Started]:
    git = Git(folder)
    return (
        git.start(*_IGNORED, ahead=True),
        # A folder the user names explicitly is scanned even when git ignores it as a whole.
        git.start("check-ignore", "-q", "."),
    )


def stop_listings() -> None:
    """Stop the listings started ahead that discovery did not take."""
    for run in [*(r for started in _ahead.values() for r in started), *_tops.values()]:
        run.stop()
    _ahead.clear()
    _tops.clear()


# What git ignores: untracked files it ignores, a folder of nothing else as one entry
# (`--no-empty-directory` would also leave out ignored files beside a re-included one).
_IGNORED = ("ls-files", "-z", "-o", "-i", "--exclude-standard", "--directory")


def _git_ignored(folder: Path) -> _Ignored | None:
    """What git ignores under `folder`, or None when it is not in a work tree."""
    started = _ahead.pop(folder) if folder in _ahead else _start_listing(folder)
    ls_files, check_ignore = started
    try:
        listed = ls_files.result()
        if check_ignore.result(check=False).ok:
            return None
    except GitError:
        check_ignore.stop()
        return None
    entries = frozenset(os.fsdecode(p) for p in listed.stdout.split(b"\0") if p)
    return _Ignored(str(folder.resolve()).rstrip("/") + "/", entries)


def discover(
    paths: Iterable[Path],
    root: Path,
    exclude: Sequence[str] = (),
    *,
    every_file: bool = False,
    base: str = "",
    when_large: tuple[int, Callable[[], None]] | None = None,
    found: tuple[int, Callable[[Sequence[str]], None]] | None = None,
) -> Inventory:
    """Files to scan: YAML/JSON only, or `every_file` when some rule reads any text file.
    Paths are shown relative to `root`, and placed relative to `base_of(root)`; `exclude`
    globs name them from the policy file's folder (`base`: `root` from there). With
    `when_large` (count, call), `call` is made once, as soon as the walk has found `count`
    files to scan, and before it goes on. With `found` (count, call), `call(files)` is made
    each time the walk has found `count` more files, with the files found so far (the list
    it goes on adding to). Both are asked after each folder."""
    paths = list(paths)
    large, on_large = when_large if when_large is not None else (0, None)
    every, on_found = found if found is not None else (0, None)
    due = every
    patterns = tuple(exclude)

    def tell() -> None:
        nonlocal on_large, due
        n = len(inv.files)
        if on_large is not None and n >= large:
            # A process forked later would keep, shared and then its own, every page this
            # one held by then: it is forked while the walk holds a thousand paths or so.
            call = on_large
            on_large = None
            call()
        if on_found is not None and n >= due:
            on_found(inv.files)
            due = n + every

    def excluded(rel: str) -> bool:
        return bool(patterns) and any_match(from_base(base, rel), patterns)

    inv = Inventory(root, *base_of(root))
    inv.starts = [s.resolve() for s in paths if s.exists()]
    seen = _Added(inv.files)
    chart_dirs: set[Path] = set()
    for start in paths:
        if not start.exists() and not start.is_symlink():
            inv.errors.append(ScanError(start.as_posix(), None, "no such file or folder"))
            continue
        if inv.files:  # a path scanned before may hold this one's files
            seen.may_repeat()
        _render_roots_above(inv, start, chart_dirs)
        if not start.is_dir():  # a file, or a pipe/device the reader then reports
            _add_file(inv, start, start.resolve().parent, seen, excluded, every=True)
            tell()
            continue
        tree = start.resolve()
        ignored = _git_ignored(tree)
        # Files git ignores, when there are any: most trees' are in folders it ignores whole.
        ignores = ignored if ignored is not None and ignored.entries else None
        # Whether a subfolder is walked into unless it is a tool's or version control's.
        plain = not patterns and ignores is None
        unlisted: list[tuple[str, OSError]] = []
        top = str(tree)
        for d, dirnames, filenames, linked, links in _walk(tree, unlisted):
            if ignored is not None and d != top and (".git" in dirnames or ".git" in filenames):
                # A repository of its own (a submodule, a clone inside the work tree): git
                # does not list it as this one's files.
                inv.skipped.append(
                    Coverage(inv.display(d) + "/", Outcome.SKIPPED, Reason.NESTED_REPOSITORY)
                )
                dirnames.clear()
                continue
            # The folder is real and absolute: a file's or a subfolder's real path is its
            # text (no Path).
            at = d.rstrip("/") + "/"
            if dirnames and not (plain and _SPECIAL_DIRS.isdisjoint(dirnames)):
                dirnames[:] = [
                    n
                    for n in dirnames
                    if (plain and n not in _SPECIAL_DIRS)
                    or _walk_into(inv, at + n, n, excluded, ignored)
                ]
            for n in links:  # folder symlinks are not followed; say so when they leave
                _outside_link(inv, Path(at + n), tree)
            if "Chart.yaml" in filenames:
                chart_dirs.add(Path(d))
            if not _KUSTOMIZATIONS.isdisjoint(filenames):
                inv.kustomize_folders.append(d)
            for name in filenames:
                path = at + name
                if linked and name in linked:
                    seen.may_repeat()
                    _add_file(inv, Path(path), tree, seen, excluded, every=every_file, is_link=True)
                    continue
                if ignores is not None and ignores.file(path):
                    reason = Reason.IGNORED
                elif not every_file and not name.endswith(YAML_SUFFIXES):
                    reason = Reason.NOT_READ
                elif patterns and excluded(inv.display(path)):
                    reason = Reason.EXCLUDED
                else:
                    _take(inv, path, seen)
                    continue
                inv.skipped.append(Coverage(inv.display(path), Outcome.SKIPPED, reason))
            tell()
        for d, exc in unlisted:
            # Its files could hold anything: not scanning them is an input error, not a skip.
            name = inv.display(d).rstrip("/") + "/"
            why = exc.strerror or type(exc).__name__
            inv.errors.append(
                ScanError(name, None, f"cannot list this folder ({why}): its files are not scanned")
            )
            inv.skipped.append(Coverage(name, Outcome.SKIPPED, Reason.UNREADABLE))
    # Only charts that are not inside another chart are rendered; subcharts come with them.
    for c in sorted(chart_dirs):
        if not any(p in chart_dirs for p in c.parents):
            inv.charts.append(c)
    inv.kustomize_folders = Texts(dict.fromkeys(inv.kustomize_folders))
    # A render root inside a scanned folder is scanned whole.
    walked = [s.resolve() for s in paths if s.is_dir()]
    inv.focus = {
        r: starts for r, starts in inv.focus.items() if not any(r.is_relative_to(w) for w in walked)
    }
    _users_outside(inv, paths, walked)
    del seen  # with git's listing, gone: their pages go back (host/memory.py)
    release_after(len(inv.files))
    return inv


def _users_outside(inv: Inventory, paths: Sequence[Path], walked: Sequence[Path]) -> None:
    """A path scanned inside a repository is judged as the repository deploys it: the
    kustomizations elsewhere in it that build the path (an overlay of a scanned base, one
    that lists a scanned Component) are built too, focused on the scanned paths."""
    if not inv.in_repo or any(w == inv.top for w in walked):
        return
    from deploysafe.inputs.renderplan import users_of

    starts = [s.resolve() for s in paths if s.exists()]
    starts = [s for s in starts if s.is_relative_to(inv.top)]
    if not starts:
        return
    try:
        listed = Git(inv.top).run(
            "ls-files",
            "-z",
            "-c",
            "-o",
            "--exclude-standard",
            "--",
            *(f":(glob)**/{n}" for n in KUSTOMIZATION_NAMES),
        )
    except GitError:
        return
    folders = {(inv.top / os.fsdecode(p)).parent for p in listed.stdout.split(b"\0") if p}
    known = set(inv.kustomize_folders)
    for folder in users_of(sorted(folders), inv.kustomizations, starts):
        if str(folder) in known or any(folder.is_relative_to(w) for w in walked):
            continue  # found by the walk, or left out of it (excluded, ignored)
        inv.kustomize_folders.append(str(folder))
        inv.focus[folder] = starts


def _walk_into(
    inv: Inventory,
    d: str,
    name: str,
    excluded: Callable[[str], bool],
    ignored: _Ignored | None,
) -> bool:
    """Whether the walk enters a subfolder (`name`, at real path `d`); a folder it does not
    enter is listed once."""
    if name in VCS_DIRS:
        return False
    reason = None
    if name in TOOL_DIRS:
        reason = Reason.TOOL_FOLDER
    elif excluded(inv.display(d)):
        reason = Reason.EXCLUDED
    elif ignored is not None and ignored.folder(d):
        try:
            with os.scandir(d) as entries:
                if next(entries, None) is None:
                    return False  # an empty folder: nothing is skipped
        except OSError:
            return True  # the walk reports it
        reason = Reason.IGNORED
    if reason is None:
        return True
    inv.skipped.append(Coverage(inv.display(d) + "/", Outcome.SKIPPED, reason))
    return False


def _render_roots_above(inv: Inventory, start: Path, chart_dirs: set[Path]) -> None:
    """A path inside a chart or a kustomize folder is scanned through that render root, as
    the user deploys it: every chart above it (the outermost is rendered, subcharts come
    with it) and the nearest kustomization folder, up to the repository's top level (an
    unpacked chart outside a work tree: as far up as it goes)."""
    real = start.resolve()
    if inv.in_repo and not real.is_relative_to(inv.top):
        return
    folder = real if real.is_dir() else real.parent
    # A folder start finds its own Chart.yaml and kustomization in the walk.
    above = [folder, *folder.parents] if not real.is_dir() else list(folder.parents)
    kustomize_found = real.is_dir() and any((real / n).is_file() for n in KUSTOMIZATION_NAMES)
    for d in above:
        if inv.in_repo and not d.is_relative_to(inv.top):
            break
        if (d / "Chart.yaml").is_file():
            chart_dirs.add(d)
            inv.focus.setdefault(d, []).append(real)
        if not kustomize_found and any((d / n).is_file() for n in KUSTOMIZATION_NAMES):
            kustomize_found = True
            if str(d) not in inv.kustomize_folders:
                inv.kustomize_folders.append(str(d))
            inv.focus.setdefault(d, []).append(real)


def _outside_link(inv: Inventory, link: Path, tree: Path) -> None:
    """Report a folder symlink that leaves the scanned tree (os.walk does not follow it)."""
    if not link.is_symlink():
        return
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        return
    if not target.is_relative_to(tree):
        name = link_display(link, inv.root)
        inv.errors.append(
            ScanError(name, None, f"symlink points outside the scanned tree ({target}); skipped")
        )
        inv.skipped.append(Coverage(name + "/", Outcome.SKIPPED, Reason.SYMLINK_OUTSIDE))


def _add_file(
    inv: Inventory,
    f: Path,
    tree: Path,
    seen: _Added,
    excluded: Callable[[str], bool],
    *,
    every: bool,
    is_link: bool | None = None,
) -> None:
    if is_link is None:
        is_link = f.is_symlink()
    rel = link_display(f, inv.root) if is_link else inv.display(f)
    if not every and not f.name.endswith(YAML_SUFFIXES):
        inv.skipped.append(Coverage(rel, Outcome.SKIPPED, Reason.NOT_READ))
        return
    if excluded(rel):
        inv.skipped.append(Coverage(rel, Outcome.SKIPPED, Reason.EXCLUDED))
        return
    if is_link:
        try:
            target = f.resolve(strict=True)
        except (OSError, RuntimeError):
            inv.errors.append(ScanError(rel, None, "broken symlink"))
            inv.skipped.append(Coverage(rel, Outcome.SKIPPED, Reason.BROKEN_SYMLINK))
            return
        if not target.is_relative_to(tree):
            inv.errors.append(
                ScanError(rel, None, f"symlink points outside the scanned tree ({target}); skipped")
            )
            inv.skipped.append(Coverage(rel, Outcome.SKIPPED, Reason.SYMLINK_OUTSIDE))
            return
        real = target
        # The link's text is checked under its target's name (once, however many links).
        inv.skipped.append(Coverage(rel, Outcome.SKIPPED, Reason.SYMLINK))
    else:
        real = f.resolve()  # a path the user gave may pass through a linked folder
    _take(inv, str(real), seen)


def _take(inv: Inventory, text: str, seen: _Added) -> None:
    if seen.first(text):
        inv.files.append(text)


class _Added:
    """The real paths discovery has added, to add each once. The walk of one folder finds
    each file once, so they are held as a set only from when one may come again (a second
    scanned path, a link to a file): a large tree's set is tens of MB at discovery's peak."""

    __slots__ = ("_files", "_set")

    def __init__(self, files: Texts) -> None:
        self._files = files  # the paths added, in order
        self._set: set[str] | None = None

    def may_repeat(self) -> None:
        if self._set is None:
            self._set = set(self._files)

    def first(self, text: str) -> bool:
        """Whether `text` is not added yet (it is, now)."""
        if self._set is None:
            return True
        if text in self._set:
            return False
        self._set.add(text)
        return True


def kustomize_inputs(
    folders: Iterable[Path], max_bytes: int = DEFAULT_MAX_FILE_SIZE
) -> dict[Path, list[Path]]:
    """The files each kustomization names (resources, patches, generator files, ...), real
    path to the folders naming it: any string in a kustomization that names a file is read
    by the build. Without a build this is what a kustomization will read."""
    import yaml

    out: dict[Path, list[Path]] = {}
    for folder in folders:
        for name in KUSTOMIZATION_NAMES:
            k = folder / name
            if not k.is_file():
                continue
            try:
                data = yamlload.load_data(yamlload.read_capped(k, max_bytes))
            except (OSError, UnicodeDecodeError, yamlload.TooLarge, yaml.YAMLError):
                continue  # the plan reports it
            _add(out, k.resolve(), folder)
            for text in _strings(data):
                # `configMapGenerator.files` entries may be `key=path`.
                for candidate in {text, text.partition("=")[2]}:
                    if not candidate or "\n" in candidate or "://" in candidate:
                        continue
                    path = folder / candidate
                    if path.is_file():
                        _add(out, path.resolve(), folder)
    return out


def _add(out: dict[Path, list[Path]], path: Path, folder: Path) -> None:
    folders = out.setdefault(path, [])
    if folder not in folders:
        folders.append(folder)


def _strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, Mapping):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for item in data:
            yield from _strings(item)
