"""CI event payloads as GitHub Actions writes them to GITHUB_EVENT_PATH."""

from __future__ import annotations

import json
from pathlib import Path


def pull_request_event(tmp_path: Path, head: str | None, base: str = "acme/shop") -> str:
    """A pull_request payload from the `head` repository (None: a deleted fork) into `base`."""
    pr = {
        "number": 7,
        "head": {"repo": None if head is None else {"full_name": head}},
        "base": {"repo": {"full_name": base}},
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"pull_request": pr}), encoding="utf-8")
    return str(path)
