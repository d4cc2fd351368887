"""No import cycles between the modules of src/deploysafe.

The layers contract (import-linter, `[tool.importlinter]` in pyproject.toml) holds the order
between packages; this test holds what it cannot see: cycles inside one package or layer.
Every import counts, also those inside functions and under `if TYPE_CHECKING:`, because a
late import hides a cycle from the interpreter, not from the reader.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator, Mapping, Set
from pathlib import Path

import deploysafe

Graph = Mapping[str, Set[str]]

# Imports allowed to close a cycle, as (importer, imported): none. Kept as a named allowance
# so a temporary one is visible; the test fails when an entry no longer closes a cycle.
KNOWN_CYCLES: frozenset[tuple[str, str]] = frozenset()


def modules(src: Path, package: str) -> dict[str, Path]:
    """Every module of `package` (folder `src`) by dotted name, a package by its own name."""
    found: dict[str, Path] = {}
    for path in sorted(src.rglob("*.py")):
        parts = [package, *path.relative_to(src).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: Set[str]) -> set[str]:
    """The modules in `known` that module `name` (at `path`) imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(_nearest(alias.name, known) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            for alias in node.names:
                # `from pkg import mod` imports the module; `from mod import name` the module.
                child = f"{origin}.{alias.name}"
                found.add(child if child in known else _nearest(origin, known))
    found.discard("")
    found.discard(name)
    return found


def _nearest(dotted: str, known: Set[str]) -> str:
    """The module a dotted import name lands in ("" when it is outside the package)."""
    while dotted and dotted not in known:
        dotted = dotted.rpartition(".")[0]
    return dotted


def import_graph(src: Path, package: str) -> dict[str, set[str]]:
    found = modules(src, package)
    return {name: imports_of(name, path, found.keys()) for name, path in found.items()}


def cycles(graph: Graph) -> list[list[str]]:
    """One shortest cycle per strongly connected group of modules, each starting at its
    alphabetically first module and ending where it started."""
    return sorted(_shortest_cycle(graph, group) for group in _strong_components(graph))


def _strong_components(graph: Graph) -> Iterator[frozenset[str]]:
    """Groups of two or more modules that reach each other (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, ())))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group: set[str] = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        yield frozenset(group)


def _shortest_cycle(graph: Graph, group: Set[str]) -> list[str]:
    start = min(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for target in sorted(graph[node] & group):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"{sorted(group)} is not a cycle")


def without(graph: Graph, edges: Set[tuple[str, str]]) -> dict[str, set[str]]:
    return {name: {t for t in targets if (name, t) not in edges} for name, targets in graph.items()}


@functools.cache
def _package_graph() -> dict[str, set[str]]:
    return import_graph(Path(deploysafe.__file__).parent, "deploysafe")


def test_no_import_cycles_beyond_the_known_ones() -> None:
    found = [" -> ".join(c) for c in cycles(without(_package_graph(), KNOWN_CYCLES))]
    assert found == [], "import cycles (break each one, or import from a lower layer):\n" + (
        "\n".join(found)
    )


def test_every_known_cycle_still_exists() -> None:
    graph = _package_graph()
    stale = sorted(
        (a, b) for a, b in KNOWN_CYCLES if b not in graph.get(a, set()) or not reaches(graph, b, a)
    )
    assert stale == [], f"these imports close no cycle now: delete them from KNOWN_CYCLES: {stale}"


def reaches(graph: Graph, start: str, goal: str) -> bool:
    seen = {start}
    todo = [start]
    while todo:
        for target in graph.get(todo.pop(), set()) - seen:
            if target == goal:
                return True
            seen.add(target)
            todo.append(target)
    return False


def _write(root: Path, files: Mapping[str, str]) -> Path:
    for relative, text in files.items():
        path = root / "pkg" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_the_graph_counts_late_relative_and_type_checking_imports(tmp_path: Path) -> None:
    src = _write(
        tmp_path,
        {
            "__init__.py": "",
            "low.py": "def f():\n    from pkg.sub import high\n",
            "sub/__init__.py": "from . import high\n",
            "sub/high.py": (
                "from typing import TYPE_CHECKING\n"
                "import os\n"
                "if TYPE_CHECKING:\n"
                "    from ..low import f\n"
            ),
            "other.py": "import pkg.sub.high as h\nfrom pkg.sub.high import TYPE_CHECKING\n",
        },
    )
    assert import_graph(src, "pkg") == {
        "pkg": set(),
        "pkg.low": {"pkg.sub.high"},
        "pkg.other": {"pkg.sub.high"},
        "pkg.sub": {"pkg.sub.high"},
        "pkg.sub.high": {"pkg.low"},
    }


def test_cycles_are_named_one_per_group_shortest_first() -> None:
    graph = {
        "a": {"b"},
        "b": {"c", "a"},
        "c": {"a"},
        "d": {"e"},
        "e": {"f"},
        "f": {"d", "g"},
        "g": set(),
    }
    assert cycles(graph) == [["a", "b", "a"], ["d", "e", "f", "d"]]
    assert cycles(without(graph, {("b", "a"), ("f", "d")})) == [["a", "b", "c", "a"]]


def private_imports(src: Path, package: str) -> list[str]:
    """Imports of a private (underscore) module or name from outside the package that owns it."""
    found: list[str] = []
    known = modules(src, package)
    for name, path in known.items():
        own = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            if not node.module.startswith(package + "."):
                continue
            parts = node.module.split(".")
            for alias in node.names:
                dotted = [*parts, alias.name]
                first = next((i for i, p in enumerate(dotted) if p.startswith("_")), None)
                if first is None:
                    continue
                owner = ".".join(dotted[:first])
                if owner in known and known[owner].name != "__init__.py":
                    owner = owner.rpartition(".")[0]  # a module's private name: its package owns it
                if own != owner and not own.startswith(owner + "."):
                    found.append(f"{name} imports {'.'.join(dotted)}")
    return found


def test_no_module_imports_another_packages_private_names() -> None:
    src = Path(deploysafe.__file__).resolve().parent
    assert private_imports(src, "deploysafe") == []


def test_a_private_import_across_packages_is_found(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "a").mkdir(parents=True)
    (pkg / "b").mkdir()
    for folder in (pkg, pkg / "a", pkg / "b"):
        (folder / "__init__.py").write_text("")
    (pkg / "a" / "_helpers.py").write_text("def _f() -> None: ...\n")
    (pkg / "a" / "mine.py").write_text("from pkg.a._helpers import _f\n")
    (pkg / "a" / "sibling.py").write_text("from pkg.a.mine import _g\n")
    (pkg / "b" / "theirs.py").write_text("from pkg.a._helpers import _f\n")
    assert private_imports(pkg, "pkg") == ["pkg.b.theirs imports pkg.a._helpers._f"]


def test_front_ends_use_only_the_engine_api() -> None:
    """Outside engine/, only `deploysafe.engine` itself is imported, and only its `__all__`."""
    import deploysafe.engine as engine

    src = Path(deploysafe.__file__).resolve().parent
    found: list[str] = []
    for name, path in modules(src, "deploysafe").items():
        if name == "deploysafe.engine" or name.startswith("deploysafe.engine."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "deploysafe.engine"
            ):
                if node.module != "deploysafe.engine":
                    found.append(f"{name} imports {node.module}")
                found += [
                    f"{name} imports deploysafe.engine.{a.name}"
                    for a in node.names
                    if a.name not in engine.__all__
                ]
    assert found == []
