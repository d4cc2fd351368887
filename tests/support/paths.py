"""Where the tests find the repository's own files and the peers' conformance data."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
FIXTURES = TESTS / "fixtures"
DATA = TESTS / "data"
EXAMPLES = REPO / "examples"
DOCS = REPO / "docs"


def conformance(part: str) -> Path | None:
    """`../shared/conformance/<part>`: DEPLOYSAFE_CONFORMANCE if set, else the nearest
    `shared/conformance` beside the repository or beside one of its parent folders."""
    env = os.environ.get("DEPLOYSAFE_CONFORMANCE")
    roots = [Path(env)] if env else [p / "shared" / "conformance" for p in REPO.parents]
    for root in roots:
        if (root / part).exists():
            return root / part
    return None
