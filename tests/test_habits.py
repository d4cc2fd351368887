"""The habits the suite holds itself to: tests mirror the package, and the guard in
tests/conftest.py fails a test that reaches outside without the `integration` marker."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import deploysafe

TESTS = Path(__file__).parent
PACKAGE = Path(deploysafe.__file__).parent
NOT_MIRRORS = {"support", "fixtures", "data", "conformance", "__pycache__"}


def test_test_folders_mirror_the_package() -> None:
    strays = []
    for folder in sorted(p for p in TESTS.rglob("*") if p.is_dir()):
        relative = folder.relative_to(TESTS)
        if NOT_MIRRORS & set(relative.parts):
            continue
        mirrored = PACKAGE.joinpath(*relative.parts)
        # tests/<package>/ names a package; deeper folders may name a module of one.
        if not (mirrored / "__init__.py").is_file() and not (
            len(relative.parts) > 1 and mirrored.with_suffix(".py").is_file()
        ):
            strays.append(f"tests/{relative.as_posix()}/")
    assert strays == [], (
        f"these test folders name nothing under src/deploysafe: {strays}; file each test "
        "under the folder of the package it tests, shared helpers under tests/support/"
    )


def test_the_guard_fails_unmarked_tests_that_reach_outside(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        """
        [tool.pytest.ini_options]
        addopts = "--strict-markers"
        markers = ["integration: real components", "slow: slow"]
        """
    )
    pytester.makeconftest(
        f"""
        import sys
        sys.path.insert(0, {str(TESTS.parent)!r})
        from tests.conftest import *
        """
    )
    pytester.makepyfile(
        test_reach=textwrap.dedent(
            """
            import socket
            import subprocess
            import sys

            import pytest


            def test_runs_git():
                subprocess.run(["git", "--version"], capture_output=True, check=True)


            def test_listens():
                with socket.socket() as s:
                    s.bind(("127.0.0.1", 0))


            @pytest.mark.integration
            def test_marked_runs_git():
                subprocess.run(["git", "--version"], capture_output=True, check=True)


            def test_scan_probe_and_own_interpreter(tmp_path):
                subprocess.run(["git", "-C", str(tmp_path), "ls-files", "-z"], capture_output=True)
                subprocess.run([sys.executable, "-c", "pass"], check=True)
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rf")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "test_reach.py::test_runs_git runs git --version but is not marked integration:"
            " add it to a table in tests/conftest.py",
            "test_reach.py::test_listens listens on ('127.0.0.1', 0) but is not marked"
            " integration: add it to a table in tests/conftest.py",
        ],
    )
