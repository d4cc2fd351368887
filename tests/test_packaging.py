"""The distributions: `python -m build` from a copy of the tree gives an sdist and a wheel
that pass `twine check`, and the wheel installed with the helm extra in a fresh venv gives a
`deploysafe` that renders a chart."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VERSION = "0.1.0"

# What a copy of the work tree leaves behind: local environments, caches, earlier builds.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv*",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "corpus",
    "results",
)


@dataclass(frozen=True, slots=True)
class Dists:
    wheel: Path
    sdist: Path


def _run(*argv: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    tree = tmp_path_factory.mktemp("tree") / "deploysafe"
    shutil.copytree(ROOT, tree, ignore=_NOT_SOURCE, symlinks=True)
    out = tmp_path_factory.mktemp("dist")
    # The default build makes the sdist, then the wheel from the unpacked sdist: a file the
    # sdist forgets is missing from the wheel too.
    _run(sys.executable, "-m", "build", "--outdir", out, tree)
    return Dists(
        out / f"deploysafe-{VERSION}-py3-none-any.whl", out / f"deploysafe-{VERSION}.tar.gz"
    )


def test_build_gives_an_sdist_and_a_wheel_that_pass_twine_check(dists: Dists) -> None:
    done = _run(sys.executable, "-m", "twine", "check", "--strict", dists.sdist, dists.wheel)
    assert done.stdout.count("PASSED") == 2, done.stdout


def test_wheel_holds_every_module_and_the_type_marker(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as whl:
        names = set(whl.namelist())
        metadata = whl.read(f"deploysafe-{VERSION}.dist-info/METADATA").decode()
        entry_points = whl.read(f"deploysafe-{VERSION}.dist-info/entry_points.txt").decode()
    src = ROOT / "src"
    modules = {p.relative_to(src).as_posix() for p in src.rglob("*.py")}
    assert modules - names == set()
    assert "deploysafe/py.typed" in names
    assert f"deploysafe-{VERSION}.dist-info/licenses/LICENSE" in names
    assert not {n for n in names if n.startswith(("tests/", "docs/", "examples/"))}
    assert "deploysafe = deploysafe.cli.main:run" in entry_points
    for line in (
        "License-Expression: Apache-2.0",
        "Requires-Python: >=3.11",
        "Provides-Extra: helm",
        "Classifier: Typing :: Typed",
        "Description-Content-Type: text/markdown",
    ):
        assert line in metadata.splitlines()
    assert "Project-URL: Source, " in metadata


def test_sdist_holds_the_tests_docs_and_examples(dists: Dists) -> None:
    with tarfile.open(dists.sdist) as sdist:
        names = {n.partition("/")[2] for n in sdist.getnames()}
    for needed in (
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "Makefile",
        "Dockerfile",
        "src/deploysafe/py.typed",
        "tests/conftest.py",
        "tests/test_packaging.py",
        "docs/install.md",
        "docs/rules/DS201.md",
        "examples/gitops/shop/chart/Chart.yaml",
    ):
        assert needed in names, needed
    assert not {n for n in names if "__pycache__" in n or n.startswith((".venv", "bench/"))}


def test_wheel_with_the_helm_extra_installs_a_deploysafe_that_renders_charts(
    dists: Dists, tmp_path: Path
) -> None:
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    # pip's own cache stays on: the helm-python-sdk wheel (tens of MB) is downloaded once.
    _run(env / "bin" / "python", "-m", "pip", "install", "--quiet", f"{dists.wheel}[helm]")
    deploysafe = env / "bin" / "deploysafe"
    assert _run(deploysafe, "--version").stdout == f"deploysafe, version {VERSION}\n"

    shop = ROOT / "examples" / "gitops" / "shop"
    done = subprocess.run(
        [str(deploysafe), "scan", "--format", "json", "chart"],
        cwd=shop,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [(f["rule_id"], f["file"], f["line"], f["renders"]) for f in report["findings"]] == [
        ("DS511", "templates/configmap.yaml", 3, ["helm ."])
    ]
    assert report["errors"] == []
    sdk = _run(
        env / "bin" / "python",
        "-c",
        "import importlib.metadata as m; print(m.version('helm-python-sdk'))",
    ).stdout.strip()
    assert [n for n in report["notes"] if n.startswith("rendered ")] == [
        f"rendered 1 Helm chart(s) with helm-python-sdk {sdk}"
    ]
