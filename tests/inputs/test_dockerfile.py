"""Which files are Dockerfiles."""

from __future__ import annotations

import pytest

from deploysafe.inputs.dockerfile import is_dockerfile


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Dockerfile", True),
        ("svc/Containerfile", True),
        ("Dockerfile.dev", True),
        ("dockerfile.prod", True),
        ("api.Dockerfile", True),
        ("src/app/inputs/dockerfile.py", False),  # code about Dockerfiles
        ("Dockerfile.md", False),
        ("dockerfile.json", False),
        ("Dockerfiles/readme", False),
    ],
)
def test_is_dockerfile(name: str, expected: bool) -> None:
    assert is_dockerfile(name) is expected
