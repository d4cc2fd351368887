"""What a repository holds, for `deploysafe init`: its Helm charts (with the values files,
namespace and release its deploy commands use), its kustomize roots, the folders of plain
manifests, and its CI system.

Settings are inferred from the repository's own deploy commands (`helm upgrade --install`,
`helm install`, `helm template`, `kubectl apply -k` in CI files, shell scripts and
Makefiles), else from values file names; nothing is executed and nothing is fetched.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from deploysafe.frozen import record
from deploysafe.inputs.discover import YAML_SUFFIXES, discover
from deploysafe.inputs.renderplan import plan_kustomize
from deploysafe.yamlload import Parsed, TooLarge, parse_all, read_capped

# Files read for deploy commands and manifest kinds: enough for any hand-written file.
MAX_READ = 256 * 1024
# Plain YAML files opened to tell a manifest from other YAML; past this a large repository
# is described by what was seen.
MAX_MANIFEST_FILES = 5000
# CI files, scripts and Makefiles searched for deploy commands.
MAX_COMMAND_FILES = 2000
# Folder names that usually hold test data or demos rather than what is deployed.
TEST_FOLDER_NAMES = frozenset(
    {"test", "tests", "testdata", "fixtures", "examples", "example", "e2e", "samples"}
)

# A Kubernetes object in YAML or JSON: both keys at the start of a line or after `{`/`,`.
_API_VERSION = re.compile(r'(?:^|[{,])\s*"?apiVersion"?\s*:', re.M)
_KIND = re.compile(r'(?:^|[{,])\s*"?kind"?\s*:', re.M)
# Helm flags followed by a value (given as the next word); every other flag stands alone.
_HELM_VALUED = frozenset(
    {
        "-n",
        "--namespace",
        "-f",
        "--values",
        "--set",
        "--set-string",
        "--set-file",
        "--set-json",
        "--set-literal",
        "--version",
        "--timeout",
        "--kube-context",
        "--kubeconfig",
        "-o",
        "--output",
        "--repo",
        "--post-renderer",
        "--post-renderer-args",
        "--description",
        "--api-versions",
        "-a",
        "--kube-version",
        "--history-max",
        "--output-dir",
        "--show-only",
        "-s",
        "--username",
        "--password",
        "--ca-file",
        "--cert-file",
        "--key-file",
    }
)


_T = TypeVar("_T")

_KUBECTL_VALUED = frozenset(
    {"-k", "--kustomize", "-n", "--namespace", "-f", "--filename", "-l", "--selector", "-o"}
)


class CiSystem(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"


@record
class Command:
    """A deploy command found in the repository: what it renders and how."""

    file: str  # from the root
    line: int
    target: str  # the chart or kustomization folder, from the root
    values: tuple[str, ...] = ()  # from the root; only files that exist
    namespace: str | None = None
    release: str | None = None


@record
class Chart:
    folder: str  # from the root; "." for a chart at the root
    name: str
    values: tuple[str, ...] = ()
    namespace: str | None = None
    release: str | None = None
    source: str | None = None  # "file:line" of the command the settings come from
    guessed: bool = False  # values chosen by file name, no command found
    other_values: tuple[str, ...] = ()  # values files not chosen, offered in comments
    other_commands: tuple[str, ...] = ()  # "file:line" of other commands installing it


@record
class Overlay:
    folder: str
    own_namespace: str | None = None  # the kustomization's own `namespace:`
    namespace: str | None = None  # from a deploy command, when it has none
    source: str | None = None


@record
class Survey:
    charts: tuple[Chart, ...] = ()
    overlays: tuple[Overlay, ...] = ()  # kustomize roots only: bases are judged through them
    manifest_folders: tuple[str, ...] = ()  # folders of plain Kubernetes YAML
    # Folders named like test data or demos (tests, examples, ...) holding manifests, charts
    # or kustomize roots.
    test_folders: tuple[str, ...] = ()
    ci: tuple[CiSystem, ...] = ()


def survey(root: Path) -> Survey:
    """The repository at `root` (a folder), described for a starting policy file."""
    root = root.resolve()
    # Every file is listed (scripts and Makefiles too), as git and the walk allow; only
    # YAML files and the ones that may hold deploy commands are opened.
    inv = discover([root], root, every_file=True)
    charts = sorted(inv.charts)
    plan = plan_kustomize(inv.kustomizations, root)
    roots = sorted(plan.roots)
    rendered = [*charts, *inv.kustomizations]
    files = [Path(f) for f in inv.files]
    commands = list(_commands(root, files))
    manifests: set[str] = set()
    opened = 0
    for f in files:
        if f.suffix not in YAML_SUFFIXES or any(f.is_relative_to(r) for r in rendered):
            continue
        if _is_ci_file(f.relative_to(root).as_posix()) or opened >= MAX_MANIFEST_FILES:
            continue
        opened += 1
        text = _read(f)
        if text is not None and _API_VERSION.search(text) and _KIND.search(text):
            manifests.add(_rel(f.parent, root))
    return Survey(
        charts=tuple(_chart(c, root, commands) for c in charts),
        overlays=tuple(_overlay(k, root, commands) for k in roots),
        manifest_folders=tuple(sorted(manifests)),
        test_folders=_test_folders(
            [*manifests, *map(str, (_rel(p, root) for p in [*charts, *roots]))]
        ),
        ci=_ci(root),
    )


def _test_folders(folders: Sequence[str]) -> tuple[str, ...]:
    """The test-data or demo folders (by name) that hold any of `folders`: the outermost
    such name on each path, so one entry covers every fixture below it."""
    out: set[str] = set()
    for folder in folders:
        parts = Path(folder).parts
        for i, part in enumerate(parts):
            if part in TEST_FOLDER_NAMES:
                out.add("/".join(parts[: i + 1]))
                break
    return tuple(sorted(out))


def _ci(root: Path) -> tuple[CiSystem, ...]:
    out: list[CiSystem] = []
    workflows = root / ".github" / "workflows"
    if workflows.is_dir() and any(p.suffix in (".yml", ".yaml") for p in workflows.iterdir()):
        out.append(CiSystem.GITHUB)
    if (root / ".gitlab-ci.yml").is_file():
        out.append(CiSystem.GITLAB)
    return tuple(out)


def _is_ci_file(rel: str) -> bool:
    return rel.startswith(".github/") or rel == ".gitlab-ci.yml"


def _chart(folder: Path, root: Path, commands: Sequence[Command]) -> Chart:
    rel = _rel(folder, root)
    name = _chart_name(folder) or folder.name
    mine = [c for c in commands if c.target == rel]
    if mine:
        chosen = _preferred(mine, lambda c: " ".join((*c.values, c.namespace or "")))
        others = tuple(f"{c.file}:{c.line}" for c in mine if c is not chosen)
        return Chart(
            rel,
            name,
            chosen.values,
            chosen.namespace,
            chosen.release,
            f"{chosen.file}:{chosen.line}",
            other_commands=others,
        )
    candidates = sorted(
        {_rel(p, root) for d in (folder, folder.parent) for p in _values_files(d, folder)}
    )
    if not candidates:
        return Chart(rel, name)
    best = _preferred(candidates, lambda v: v)
    return Chart(
        rel,
        name,
        (best,),
        guessed=True,
        other_values=tuple(c for c in candidates if c != best),
    )


def _overlay(folder: Path, root: Path, commands: Sequence[Command]) -> Overlay:
    rel = _rel(folder, root)
    own = _kustomization_namespace(folder)
    mine = [c for c in commands if c.target == rel and c.namespace]
    if own is not None or not mine:
        return Overlay(rel, own)
    chosen = _preferred(mine, lambda c: c.namespace or "")
    return Overlay(rel, None, chosen.namespace, f"{chosen.file}:{chosen.line}")


def _preferred(items: Sequence[_T], text: Callable[[_T], str]) -> _T:
    """The production variant when the names say which one it is, else the first."""
    for item in items:
        if re.search(r"prod", str(text(item)), re.I):
            return item
    return items[0]


def _values_files(folder: Path, chart: Path) -> Iterator[Path]:
    """Values files for `chart` in `folder` (the chart's own or the one holding it) other
    than the chart's defaults."""
    try:
        names = sorted(p for p in folder.iterdir() if p.is_file())
    except OSError:
        return
    for p in names:
        stem, suffix = p.stem, p.suffix
        if suffix not in (".yaml", ".yml") or p == chart / f"values{suffix}":
            continue
        if stem.startswith(("values-", "values.", "values_")) or stem.endswith(
            ("-values", ".values", "_values")
        ):
            yield p


def _chart_name(folder: Path) -> str | None:
    data = _first_mapping(folder / "Chart.yaml")
    name = data.get("name") if data else None
    return name if isinstance(name, str) else None


def _kustomization_namespace(folder: Path) -> str | None:
    for n in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if (folder / n).is_file():
            data = _first_mapping(folder / n)
            ns = data.get("namespace") if data else None
            return ns if isinstance(ns, str) else None
    return None


def _first_mapping(path: Path) -> dict[str, object] | None:
    text = _read(path)
    if text is None:
        return None
    for doc in parse_all(text):
        if isinstance(doc, Parsed) and isinstance(doc.data, dict):
            return doc.data
        return None
    return None


def _read(path: Path) -> str | None:
    try:
        return read_capped(path, MAX_READ)
    except (OSError, UnicodeDecodeError, TooLarge):
        return None


def _rel(path: Path, root: Path) -> str:
    return path.resolve().relative_to(root).as_posix() or "."


def _commands(root: Path, files: Sequence[Path]) -> Iterator[Command]:
    """Deploy commands in CI files, shell scripts and Makefiles."""
    candidates = [
        f
        for f in files
        if _is_ci_file(f.relative_to(root).as_posix())
        or f.suffix in (".sh", ".bash")
        or f.name in ("Makefile", "GNUmakefile", "justfile", "Taskfile.yml", "Taskfile.yaml")
    ][:MAX_COMMAND_FILES]
    for f in candidates:
        text = _read(f)
        if text is None:
            continue
        for line, words in _shell_lines(text):
            command = _parse_command(words, root, f, line)
            if command is not None:
                yield command


def _shell_lines(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each line naming helm or kubectl, continuation lines joined, split as a shell would
    (up to the first `|`, `;`, `&&` or `||`)."""
    lines = text.splitlines()
    n = 0
    while n < len(lines):
        start, joined = n + 1, lines[n]
        while joined.rstrip().endswith("\\") and n + 1 < len(lines):
            n += 1
            joined = joined.rstrip()[:-1] + " " + lines[n].strip()
        n += 1
        for part in re.split(r"\|\||&&|[|;]", joined):
            if "helm" not in part and "kubectl" not in part:
                continue
            try:
                words = shlex.split(part, comments=True)
            except ValueError:
                continue
            for i, w in enumerate(words):
                if w in ("helm", "kubectl") or w.endswith(("/helm", "/kubectl")):
                    yield start, words[i:]
                    break


def _parse_command(words: list[str], root: Path, file: Path, line: int) -> Command | None:
    tool = Path(words[0]).name
    if len(words) < 2:
        return None
    sub = words[1]
    if tool == "helm" and sub in ("install", "upgrade", "template"):
        positional, options = _split(words[2:], _HELM_VALUED)
        if sub == "template" and len(positional) == 1:
            release, chart = None, positional[0]
        elif len(positional) >= 2:
            release, chart = positional[0], positional[1]
        else:
            return None
        where = [root, file.parent]
        target = _local(chart, where, root, folder=True)
        if target is None:
            return None
        values = tuple(
            v
            for raw in options.get("-f", []) + options.get("--values", [])
            for part in raw.split(",")
            if (v := _local(part, [*where, root / target], root, folder=False)) is not None
        )
        return Command(
            _rel(file, root),
            line,
            target,
            values,
            _literal(_last(options, "-n", "--namespace")),
            _literal(release),
        )
    if tool == "kubectl" and sub in ("apply", "create", "diff", "kustomize"):
        positional, options = _split(words[2:], _KUBECTL_VALUED)
        folder = _last(options, "-k", "--kustomize") or (
            positional[0] if sub == "kustomize" and positional else None
        )
        target = _local(folder, [root, file.parent], root, folder=True) if folder else None
        if target is None:
            return None
        return Command(
            _rel(file, root), line, target, (), _literal(_last(options, "-n", "--namespace"))
        )
    return None


def _split(words: Sequence[str], valued: frozenset[str]) -> tuple[list[str], dict[str, list[str]]]:
    positional: list[str] = []
    options: dict[str, list[str]] = {}
    i = 0
    while i < len(words):
        w = words[i]
        if w.startswith("-") and "=" in w:
            flag, _, value = w.partition("=")
            options.setdefault(flag, []).append(value)
        elif w in valued and i + 1 < len(words):
            options.setdefault(w, []).append(words[i + 1])
            i += 1
        elif w.startswith("-"):
            options.setdefault(w, []).append("")
        else:
            positional.append(w)
        i += 1
    return positional, options


def _last(options: dict[str, list[str]], *flags: str) -> str | None:
    found = [v for f in flags for v in options.get(f, [])]
    return found[-1] if found else None


def _literal(word: str | None) -> str | None:
    """A value written out in the command, not a variable or an expression."""
    if not word or any(c in word for c in "$`{}<>*"):
        return None
    return word


def _local(word: str | None, folders: Sequence[Path], root: Path, *, folder: bool) -> str | None:
    """`word` as a path inside the repository, from the first of `folders` where it exists."""
    word = _literal(word)
    if word is None or "://" in word:
        return None
    for base in folders:
        path = (base / word).resolve()
        if path.is_relative_to(root) and (path.is_dir() if folder else path.is_file()):
            return _rel(path, root)
    return None
