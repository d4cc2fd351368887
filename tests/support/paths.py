"""Where the tests find the repository's own files and the peers' conformance data."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
FIXTURES = TESTS / "fixtures"
DATA = TESTS / "data"
EXAMPLES = REPO / "examples"
DOCS = REPO / "docs"


def _clone_source() -> Path | None:
    """The local repository this checkout was cloned from (CI clones the work tree into a
    scratch folder), whose `../shared` is then the shared data."""
    try:
        url = subprocess.run(
            ["git", "-C", str(REPO), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return None
    path = Path(url.removeprefix("file://"))
    return path.resolve() if url and path.is_absolute() and path.is_dir() else None


def conformance(part: str) -> Path | None:
    """`../shared/conformance/<part>`: DEPLOYSAFE_CONFORMANCE if set, else the nearest
    `shared/conformance` beside the repository or one of its parent folders, or beside the
    local repository it was cloned from."""
    env = os.environ.get("DEPLOYSAFE_CONFORMANCE")
    bases = [REPO] if _CLONED_FROM is None else [REPO, _CLONED_FROM]
    roots = (
        [Path(env)]
        if env
        else [p / "shared" / "conformance" for base in bases for p in base.parents]
    )
    for root in roots:
        if (root / part).exists():
            return root / part
    return None


# Read once, when the tests are collected (the conftest guard watches test bodies).
_CLONED_FROM = _clone_source()
