"""The build context the Dockerfile loader reads: .dockerignore matching as BuildKit does it
(moby/patternmatcher), and a walk that is bounded, deterministic and stays in the tree."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from deploysafe.engine import sources
from deploysafe.inputs import buildcontext
from deploysafe.inputs.buildcontext import DockerIgnore
from deploysafe.model import Target
from tests.support.scantools import write_tree

COPY_ALL = "FROM alpine:3.20\nCOPY . .\n"


def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    outside = write_tree(tmp_path / "outside", {".env": "A=1\n", "id_rsa": "k\n"})
    ctx = write_tree(tmp_path / "ctx", {"Dockerfile": COPY_ALL})
    os.symlink(outside, ctx / "linked")
    os.symlink(outside / ".env", ctx / ".env")
    doc = load_dockerfile(ctx)
    assert doc["context"] == {"ignore": None, "credentials": [], "complete": True}


def test_the_walk_is_bounded_and_deterministic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"d{n:02}/f.txt": "x\n" for n in range(30)} | {"zz/.env": "A=1\n", "a/.env": "B\n"}
    write_tree(tmp_path, files | {"Dockerfile": COPY_ALL})
    # 33 entries at the root, then a/ (1), d00/ ... until the budget runs out: zz/ is never read
    monkeypatch.setattr(buildcontext, "MAX_ENTRIES", 40)
    first = load_dockerfile(tmp_path)["context"]
    assert first == {"ignore": None, "credentials": ["a/.env"], "complete": False}
    assert load_dockerfile(tmp_path)["context"] == first


def test_no_copy_from_the_context_no_walk(tmp_path: Path) -> None:
    dockerfile = "FROM alpine:3.20\nCOPY --from=busybox:1.36 /bin/busybox /bin/\nRUN true\n"
    write_tree(tmp_path, {"Dockerfile": dockerfile, ".env": "A=1\n"})
    assert "context" not in load_dockerfile(tmp_path)


def test_in_memory_dockerfiles_have_no_context() -> None:
    loaded = sources.load("FROM alpine\nCOPY . .\n", "Dockerfile", {Target.DOCKERFILE})
    assert "context" not in loaded.documents[0].data


def load_dockerfile(ctx: Path) -> dict[str, Any]:
    path = ctx / "Dockerfile"
    loaded = sources.load(path.read_text(), "Dockerfile", {Target.DOCKERFILE}, path)
    return dict(loaded.documents[0].data)


# ---------------------------------------------------------------- .dockerignore matching


@pytest.mark.parametrize(
    ("ignore", "path", "excluded"),
    [
        (".env", ".env", True),
        (".env", "app/.env", False),  # patterns are relative to the context root
        ("/.env", ".env", True),  # a leading / is dropped
        ("./deploy/../.env", ".env", True),  # patterns are cleaned
        ("*.pem", "tls.pem", True),
        ("*.pem", "certs/tls.pem", False),  # * stops at /
        ("**/*.pem", "certs/tls.pem", True),
        ("**/*.pem", "tls.pem", True),  # ** spans zero folders too
        ("certs/**/*.key", "certs/a/b/x.key", True),
        ("certs/**", "certs", False),
        ("certs/**", "certs/x.key", True),
        ("**", "a/b/c", True),
        ("secrets", "secrets/deep/id_rsa", True),  # a folder excludes what is below it
        ("secrets/", "secrets/id_rsa", True),
        ("sec?ets/*", "secrets/id_rsa", True),
        ("[a-c]*.key", "b.key", True),
        ("[^a-c]*.key", "b.key", False),
        ("# .env", ".env", False),  # a comment
        ("  .env  ", ".env", True),  # surrounding blanks are trimmed
        ("*\n!src", "src/app.py", False),
        ("*\n!src", "id_rsa", True),
        ("*\n!src\nsrc/.npmrc", "src/.npmrc", True),  # the last matching line wins
        (".env*\n!.env.production", ".env.production", False),
        (".env*\n!.env.production", ".env.local", True),
        ("!\n.env", ".env", True),  # a lone ! means nothing
        ("[.env", ".env", False),  # a malformed pattern matches nothing
        ("\ufeff.env", ".env", True),  # a byte-order mark
    ],
)
def test_dockerignore_matching(ignore: str, path: str, excluded: bool) -> None:
    assert DockerIgnore.parse(ignore).excluded(path) is excluded


def test_a_reinclude_below_an_excluded_folder_is_seen(tmp_path: Path) -> None:
    files = {"Dockerfile": COPY_ALL, "secrets/.env": "A=1\n", "secrets/id_rsa": "k\n"}
    write_tree(tmp_path, files | {".dockerignore": "secrets\n!secrets/.env\n"})
    assert load_dockerfile(tmp_path)["context"] == {
        "ignore": ".dockerignore",
        "credentials": ["secrets/.env"],
        "complete": True,
    }


def test_only_the_folders_copies_read_are_walked(tmp_path: Path) -> None:
    dockerfile = "FROM alpine:3.20\nCOPY src ./src\nCOPY conf/*.json /etc/app/\nCOPY .. /x\n"
    files = {
        "src/.env": "A=1\n",
        "conf/credentials.json": "{}\n",
        "conf/deep/.netrc": "m\n",
        "other/id_rsa": "k\n",
    }
    write_tree(tmp_path, files | {"Dockerfile": dockerfile})
    # `COPY ..` cannot leave the context: it is the whole context, so other/ is read too
    assert load_dockerfile(tmp_path)["context"]["credentials"] == [
        "conf/credentials.json",
        "conf/deep/.netrc",
        "other/id_rsa",
        "src/.env",
    ]
    (tmp_path / "Dockerfile").write_text(dockerfile.replace("COPY .. /x\n", ""))
    assert load_dockerfile(tmp_path)["context"]["credentials"] == [
        "conf/credentials.json",
        "conf/deep/.netrc",
        "src/.env",
    ]
