"""Baselines: accepted findings by fingerprint (rule, file, resource, pointer; no lines)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from deploysafe.model import Finding
from deploysafe.printable import printable

VERSION = 1


def dump(findings: Iterable[Finding]) -> str:
    rows = sorted(
        (
            {
                "fingerprint": f.fingerprint,
                "rule_id": f.rule_id,
                # For the reader; matching is by fingerprint, taken from the names themselves.
                "file": printable(f.file),
                "resource": printable(f.resource.display()) if f.resource else None,
                "pointer": printable(f.pointer),
            }
            for f in findings
            if f.suppressed is None
        ),
        key=lambda r: (r["file"] or "", r["rule_id"], r["pointer"]),
    )
    return json.dumps({"version": VERSION, "findings": rows}, indent=2) + "\n"


def load(path: Path) -> frozenset[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read the baseline: {exc}") from None
    except RecursionError:
        raise ValueError(
            "cannot read the baseline: JSON nested too deeply "
            "(write it again with --write-baseline)"
        ) from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ValueError(f"not a deploysafe baseline (version {VERSION})")
    rows = data.get("findings")
    if not isinstance(rows, list):
        raise ValueError("baseline has no `findings` list")
    return frozenset(
        str(r["fingerprint"]) for r in rows if isinstance(r, dict) and "fingerprint" in r
    )
