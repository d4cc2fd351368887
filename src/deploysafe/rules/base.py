"""What a rule is: its metadata, its check, and what a check may know (the context).

Checks are pure functions: they return where (a path into the document) and what; the
engine turns paths into lines. Per-document rules set `check`; cross-resource rules set
`collect` (small facts per document) and `decide` (over all facts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from deploysafe.config.secrets import DEFAULT as DEFAULT_SECRETS
from deploysafe.config.secrets import SecretsPolicy
from deploysafe.config.tenants import Tenant
from deploysafe.model import (
    Document,
    Fact,
    Level,
    Path,
    Practice,
    PssRef,
    Severity,
    Target,
    Version,
    Violation,
)


@dataclass(frozen=True, slots=True)
class Context:
    """What a per-document check may know beyond the document itself."""

    pss_level: Level
    pss_version: Version
    namespace: str | None  # effective namespace (object's own, else the render's)
    secrets: SecretsPolicy = DEFAULT_SECRETS  # the `secrets:` section
    tenant: Tenant | None = None  # the tenant the DS4xx rules check against, if any


Check = Callable[[Document, Context], Iterator[Violation]]


Collect = Callable[[Document, Context], Iterator[tuple[Path, Any]]]
# Returns (fact the finding points at, message) pairs.
Decide = Callable[[Sequence[Fact]], Iterator[tuple[Fact, str]]]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    practice: Practice
    severity: Severity
    target: Target
    why: str
    fix: str
    bad: str
    good: str
    # Per-document rules set `check`; cross-resource rules set `collect` and `decide`.
    check: Check | None = None
    collect: Collect | None = None
    decide: Decide | None = None
    references: tuple[str, ...] = ()
    pss: PssRef | None = None
    # Versions where the check changed, newest last: (minimum version, description).
    history: tuple[tuple[str, str], ...] = ()
