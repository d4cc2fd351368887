"""What a rule is: its metadata, its check, and what a check may know (the context).

Checks are pure functions: they return where (a path into the document) and what; the
engine turns paths into lines. Per-document rules set `check`; cross-resource rules set
`collect` (small facts per document) and `decide` (over all facts).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from deploysafe.config.secrets import DEFAULT as DEFAULT_SECRETS
from deploysafe.config.secrets import SecretsPolicy
from deploysafe.frozen import record
from deploysafe.model import (
    Document,
    Fact,
    KeyPath,
    Level,
    Practice,
    PssRef,
    Severity,
    Target,
    Version,
    Violation,
)

if TYPE_CHECKING:
    from deploysafe.config.tenants import Tenant


@record
class Context:
    """What a per-document check may know beyond the document itself."""

    pss_level: Level
    pss_version: Version
    namespace: str | None  # effective namespace (object's own, else the render's)
    secrets: SecretsPolicy = DEFAULT_SECRETS  # the `secrets:` section
    tenant: Tenant | None = None  # the tenant the DS4xx rules check against, if any


Check = Callable[[Document, Context], Iterator[Violation]]


class Scope(enum.Enum):
    """Where a rule's input comes from; each front end checks one or two of these."""

    REPOSITORY = "repository"  # files as committed: text, Dockerfiles, CI files, kustomizations
    MANIFESTS = "manifests"  # the Kubernetes objects a repository deploys (plain or rendered)
    LIVE = "live"  # objects the API server holds (`deploysafe audit`)
    ADMISSION = "admission"  # one object in an admission request (the webhook)
    HISTORY = "history"  # every committed version of a file (`scan --git-history`)


_KUBERNETES = frozenset({Scope.MANIFESTS, Scope.LIVE, Scope.ADMISSION})
# Where a rule applies unless it says otherwise: what its target can be found in. A rule
# over the whole set of objects cannot judge an admission request, which carries one.
DEFAULT_SCOPES: Mapping[Target, frozenset[Scope]] = {
    Target.KUBERNETES: _KUBERNETES,
    Target.KUBERNETES_SET: _KUBERNETES - {Scope.ADMISSION},
    **{
        t: frozenset({Scope.REPOSITORY})
        for t in Target
        if t not in (Target.KUBERNETES, Target.KUBERNETES_SET)
    },
}


class EditOp(enum.Enum):
    SET = "set"  # the key gets the value (made, with the mappings above it, if missing)
    DELETE = "delete"  # the key or list item goes (and the mapping or list it empties)
    APPEND = "append"  # the value joins the list (made if missing), unless already in it


@record
class FlowMap:
    """A new mapping value, hashable so that equal edits from two violations merge."""

    pairs: tuple[tuple[str, Any], ...]
    flow: bool = True  # `{a: b}`; False: a block mapping (a list item such as `- path: x`)


def plain(value: Any) -> Any:
    """An edit's value as plain data: a FlowMap as a dict, a tuple as a list."""
    if isinstance(value, FlowMap):
        return {k: plain(v) for k, v in value.pairs}
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    return value


@record
class Edit:
    """One change to a document, on a key path the way violations name nodes. New lists
    and mappings are written in flow style: `[ALL]`, `{type: RuntimeDefault}`."""

    op: EditOp
    path: KeyPath
    value: Any = None  # SET, APPEND: a scalar, a tuple (a list) or a FlowMap
    # SET of a new key: placed before this sibling where there is one (else last), so that
    # a workflow's `permissions:` comes before its `jobs:`.
    before: str | None = None


@record
class LineEdit:
    """A change to one line of the file's text, for what is not edited as YAML nodes (a
    Dockerfile, the text of a script): the line as the fix read it (1-based, without its
    line ending) and what it becomes, None to remove it. Applied only where the line still
    reads `old`, so a stale or conflicting edit is refused rather than misplaced."""

    line: int
    old: str
    new: str | None


@record
class Fix:
    """What a rule offers for one violation: the edits and whether they are safe (they cannot
    change what the workload does beyond the security setting) or need a human look."""

    edits: tuple[Edit, ...]
    safe: bool
    description: str  # what it does, for the summary: "set allowPrivilegeEscalation: false"
    lines: tuple[LineEdit, ...] = ()  # applied to the text before `edits`


# From the document and the violation's path to the fix, or None when this case has none.
Fixer = Callable[[Document, KeyPath], Fix | None]


@record
class AutoFix:
    """A rule's automatic fix and its documentation (the rule page's "Automatic fix")."""

    fixer: Fixer
    safe: bool  # the usual case; a Fix may say otherwise for its case
    summary: str  # what it changes, and when it is unsafe
    after: str  # the example after `deploysafe fix` (the catalogue test checks it) ...
    before: str = ""  # ... of this document; "" when it is the rule's `bad` example


Collect = Callable[[Document, Context], Iterator[tuple[KeyPath, Any]]]
# Yields (fact the finding points at, message), or with a third item the severity of this
# case when the rule judges cases apart (the rule's `severity` is the default).
Decide = Callable[[Sequence[Fact]], Iterator[tuple[Fact, str] | tuple[Fact, str, Severity]]]


@record
class Rule:
    """A rule: its identity and documentation, how it checks (`check`, or `collect` and
    `decide`), and where it applies."""

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
    # What the rule deliberately does not report, and why (its page's "Not reported").
    not_reported: str = ""
    # Versions where the check changed, newest last: (minimum version, description).
    history: tuple[tuple[str, str], ...] = ()
    # Where the rule applies; None: where its target is found (DEFAULT_SCOPES).
    scopes: frozenset[Scope] | None = None
    # Off unless the policy file turns it on (`rules: {DSnnn: {enabled: true}}`): advice
    # that is right for some teams and noise for most.
    default_enabled: bool = True
    # The fix `deploysafe fix` applies to a violation, if the rule offers one.
    autofix: AutoFix | None = None
    # The check reads only the pod template a document carries (k8s.pods.pod_template) and
    # returns nothing for a document without one: the engine does not give it those (most
    # objects of a repository: ConfigMaps, Services, RBAC).
    pod_only: bool = False
    # The only kinds of object the check reads (None: any): the engine gives it no other.
    kinds: frozenset[str] | None = None

    @property
    def fix_before(self) -> str:
        """The document the automatic fix's example starts from."""
        return (self.autofix.before if self.autofix else "") or self.bad

    def applies_to(self, scopes: frozenset[Scope]) -> bool:
        mine = self.scopes if self.scopes is not None else DEFAULT_SCOPES[self.target]
        return not mine.isdisjoint(scopes)
