"""Discovery asks git once which files it ignores: the files it finds and skips are those
git lists as not ignored (tracked, or untracked and not ignored), whatever the mix of
tracked and untracked files in a folder."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from deploysafe.inputs import discover as discover_module
from deploysafe.inputs.discover import _git_ignored, _Ignored, discover
from tests.support.scantools import invoke, write_tree

FILES = {
    ".gitignore": "*.log\nbuild/\ncache/*\n!cache/keep.yaml\n",
    "a.yaml": "a: 1\n",
    "a/b.yaml": "b: 1\n",
    "a/c/d.yaml": "d: 1\n",
    "a/c/e/f.yaml": "f: 1\n",
    "a/g.yaml": "g: 1\n",
    "a/run.log": "log\n",
    "a/z.yaml": "z: 1\n",
    "build/out.yaml": "o: 1\n",
    "cache/keep.yaml": "k: 1\n",
    "cache/drop.yaml": "x: 1\n",
    "deep/er/still/new.yaml": "n: 1\n",
    "deep/er/old.yaml": "o: 1\n",
    "empty/only.log": "log\n",
    "nested/x.yaml": "x: 1\n",
    "sp ace/ü.yaml": "u: 1\n",
}


def repo(root: Path) -> Path:
    write_tree(root, FILES)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    # Tracked and untracked files in the same folders: git lists the untracked first.
    subprocess.run([*git, "add", ".gitignore", "a/b.yaml", "a/z.yaml", "deep/er/old.yaml"])
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    subprocess.run(["git", "init", "-q", str(root / "nested")], check=True)
    return root


def found(root: Path, start: Path) -> tuple[list[str], list[tuple[str, str | None]]]:
    inv = discover([start], root)
    return (
        sorted(inv.display(f) for f in inv.files),
        sorted((c.path, c.reason and c.reason.value) for c in inv.skipped),
    )


def test_the_files_found_are_those_git_lists(tmp_path: Path) -> None:
    root = repo(tmp_path / "r")
    files, skipped = found(root, root)
    assert files == [
        "a.yaml",
        "a/b.yaml",
        "a/c/d.yaml",
        "a/c/e/f.yaml",
        "a/g.yaml",
        "a/z.yaml",
        "cache/keep.yaml",
        "deep/er/old.yaml",
        "deep/er/still/new.yaml",
        "sp ace/ü.yaml",
    ]
    assert skipped == [
        (".gitignore", "not-read"),
        ("a/run.log", "ignored-by-git"),
        ("build/", "ignored-by-git"),
        ("cache/drop.yaml", "ignored-by-git"),
        ("empty/", "ignored-by-git"),
        ("nested/", "nested-repository"),
    ]
    # A subfolder scanned: git lists what is under it, from there.
    files, skipped = found(root, root / "a")
    assert files == ["a/b.yaml", "a/c/d.yaml", "a/c/e/f.yaml", "a/g.yaml", "a/z.yaml"]
    assert skipped == [("a/run.log", "ignored-by-git")]


def test_git_is_asked_only_what_it_ignores(tmp_path: Path) -> None:
    # A folder of nothing but ignored files is one entry (the walk does not enter it); a
    # tracked file is never among them, nor a nested repository (the walk finds its `.git`).
    root = repo(tmp_path / "r")
    (root / "b.log").write_text("tracked\n")
    subprocess.run(["git", "-C", str(root), "add", "-f", "b.log"], check=True)
    ignored = _git_ignored(root)
    assert ignored is not None
    assert ignored.entries >= {"a/run.log", "build/", "cache/drop.yaml", "empty/"}
    assert not ignored.entries & {"b.log", "nested/", "a.yaml", "cache/keep.yaml"}
    assert ignored.folder(str(root.resolve() / "build"))
    assert ignored.file(str(root.resolve() / "a" / "run.log"))
    assert not ignored.file(str(root.resolve() / "b.log"))
    assert _git_ignored(tmp_path / "r" / "a") == _Ignored(
        str((root / "a").resolve()) + "/", frozenset({"run.log"})
    )


def test_a_listing_started_ahead_is_the_one_discovery_takes(tmp_path: Path) -> None:
    # git lists the tree while the caller does other work; discovery takes that listing
    # (and finds what it would have found asking then), once: the next asks git again.
    root = repo(tmp_path / "r")
    expected = found(root, root)
    discover_module.list_ahead([root, root / "a.yaml"])  # a file starts no listing
    assert list(discover_module._ahead) == [root.resolve()]
    assert found(root, root) == expected
    assert discover_module._ahead == {}
    assert found(root, root) == expected


def test_a_listing_never_taken_is_stopped(tmp_path: Path) -> None:
    root = repo(tmp_path / "r")
    discover_module.list_ahead([root])
    started = discover_module._ahead[root.resolve()]
    discover_module.stop_listings()
    assert discover_module._ahead == {}
    assert all(run.result(check=False).returncode is not None for run in started)


def test_a_scan_that_stops_before_discovery_leaves_no_listing(tmp_path: Path) -> None:
    root = repo(tmp_path / "r")
    (root / "deploysafe.yaml").write_text("fail_ob: high\n")  # a usage error, exit 2
    assert invoke("scan", str(root)).exit_code == 2
    assert (discover_module._ahead, discover_module._tops) == ({}, {})


def test_a_workflow_named_through_a_linked_folder_is_judged_as_a_workflow(
    tmp_path: Path,
) -> None:
    # The file is placed from its real path: `.github/workflows/` tells a workflow.
    root = tmp_path / "r"
    write_tree(
        root,
        {
            ".github/workflows/ci.yml": "on: push\npermissions: {}\njobs:\n  build:\n"
            "    runs-on: ubuntu-latest\n    steps:\n      - uses: some/action@v1\n"
        },
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (tmp_path / "link").symlink_to(root)
    named = tmp_path / "link" / ".github" / "workflows" / "ci.yml"
    result = invoke("scan", "--format", "compact", str(named))
    assert "ci.yml:7:15: DS106 [high]" in result.stdout


def test_a_large_tree_is_told_once_the_walk_has_found_enough_files(tmp_path: Path) -> None:
    """`when_large` is called once, when the walk has found as many files to scan as it
    asks for: not those git ignores or in tool folders (10 YAML files here, 12 files)."""
    root = repo(tmp_path)
    write_tree(root, {"node_modules/m.yaml": "m: 1\n", "notes.txt": "t\n"})
    calls: list[tuple[bool, int]] = []
    for every, count in ((False, 1), (False, 10), (False, 11), (True, 12), (True, 13)):
        told = functools.partial(calls.append, (every, count))
        inv = discover([root], root, every_file=every, when_large=(count, told))
        assert len(inv.files) == (12 if every else 10)
    assert calls == [(False, 1), (False, 10), (True, 12)]


def test_each_file_is_discovered_once_however_it_is_reached(tmp_path: Path) -> None:
    """One folder's walk finds each file once; a file is kept once when a second scanned
    path or a link to it reaches it again."""
    write_tree(tmp_path, {"a/pod.yaml": "kind: Pod\n", "b/svc.yaml": "kind: Service\n"})
    (tmp_path / "a" / "0-link.yaml").symlink_to(tmp_path / "a" / "pod.yaml")  # walked first
    (tmp_path / "b" / "z-link.yaml").symlink_to(tmp_path / "b" / "svc.yaml")  # walked after

    def found(*paths: Path) -> list[str]:
        inv = discover(list(paths), tmp_path)
        return sorted(inv.display(f) for f in inv.files)

    assert found(tmp_path) == ["a/pod.yaml", "b/svc.yaml"]
    assert found(tmp_path / "a" / "pod.yaml", tmp_path) == ["a/pod.yaml", "b/svc.yaml"]
    assert found(tmp_path / "a", tmp_path, tmp_path / "b") == ["a/pod.yaml", "b/svc.yaml"]
    assert found(tmp_path / "b" / "svc.yaml", tmp_path / "b" / "svc.yaml") == ["b/svc.yaml"]


def test_the_top_level_started_ahead_answers_every_ask(tmp_path: Path) -> None:
    # The policy's search and discovery both ask for the scan root's top level: git is
    # asked once, ahead, and its answer is what asking then gives.
    root = repo(tmp_path / "r")
    (root / "sub").mkdir()
    expected = discover_module.repo_top(root / "sub")
    discover_module.list_ahead([root / "sub"])
    started = discover_module._tops[(root / "sub").resolve()]
    assert discover_module.repo_top(root / "sub") == expected == root.resolve()
    assert discover_module.repo_top(root / "sub") == expected
    assert discover_module._tops[(root / "sub").resolve()] is started
    discover_module.stop_listings()
    assert discover_module._tops == {}
    outside = tmp_path / "plain"
    outside.mkdir()
    discover_module.list_ahead([outside])
    assert discover_module.repo_top(outside) is None
    discover_module.stop_listings()


def test_a_submodule_s_checkout_is_a_nested_repository(tmp_path: Path) -> None:
    # A submodule's (or a linked work tree's) `.git` is a file naming its repository.
    root = repo(tmp_path / "r")
    write_tree(root, {"sub/.git": "gitdir: ../.git/modules/sub\n", "sub/p.yaml": "p: 1\n"})
    (root / "ignored-and-empty").mkdir()
    (root / ".git" / "info" / "exclude").write_text("ignored-and-empty/\n")
    files, skipped = found(root, root)
    assert "sub/p.yaml" not in files
    assert ("sub/", "nested-repository") in skipped
    assert not any(path.startswith("ignored-and-empty") for path, _ in skipped)
    # Scanned on its own, it is the tree.
    assert found(root, root / "nested")[0] == ["nested/x.yaml"]
