"""The shapes every part of deploysafe shares: rules, violations, findings, errors."""

from __future__ import annotations

import bisect
import enum
import functools
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any

from deploysafe.frozen import record
from deploysafe.hashing import sha256
from deploysafe.lazy import on_first_use

# A path into parsed data: mapping keys (str) and sequence indexes (int).
KeyPath = tuple[str | int, ...]


class Severity(enum.IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of {names})") from None

    @property
    def label(self) -> str:
        return self.name.lower()


class Practice(enum.IntEnum):
    TRIGGERS = 1
    ENVIRONMENT = 2
    SECRETS = 3
    GITOPS = 4
    DEFAULTS = 5
    TESTS = 6

    @property
    def title(self) -> str:
        return _PRACTICE_TITLES[self]


_PRACTICE_TITLES = {
    Practice.TRIGGERS: "Trusted triggers",
    Practice.ENVIRONMENT: "Know the environment",
    Practice.SECRETS: "Secrets policy",
    Practice.GITOPS: "GitOps",
    Practice.DEFAULTS: "No insecure defaults",
    Practice.TESTS: "Tests gate every deploy",
}


class Target(enum.Enum):
    """What a rule reads; also the type of a Document (all but KUBERNETES_SET)."""

    KUBERNETES = "kubernetes"  # one Kubernetes object
    KUBERNETES_SET = "kubernetes-set"  # the whole scanned set (cross-resource)
    TEXT = "text"  # any text file, line by line (secrets)
    DOCKERFILE = "dockerfile"
    GITHUB_WORKFLOW = "github-workflow"  # .github/workflows/*.y*ml
    GITHUB_ACTION = "github-action"  # action.y*ml
    GITLAB_CI = "gitlab-ci"  # .gitlab-ci.yml (includes resolved)
    KUSTOMIZATION = "kustomization"  # kustomization.y*ml / Kustomization, as written (not built)


class Level(enum.Enum):
    """Pod Security Standards levels."""

    BASELINE = "baseline"
    RESTRICTED = "restricted"


Version = tuple[int, int]  # Kubernetes minor version, e.g. (1, 35)


# The newest Pod Security Standards version deploysafe knows.
LATEST: Version = (1, 37)

_version = on_first_use(r"^v?1\.(\d+)$")


def parse_version(text: str) -> Version:
    """`v1.N` (or `latest`) to a version; newer than we know is judged as the latest."""
    if text.strip() == "latest":
        return LATEST
    m = _version().match(text.strip())
    if not m:
        raise ValueError(f"invalid PSS version {text!r} (expected v1.N or latest)")
    return min((1, int(m.group(1))), LATEST)


def format_version(v: Version) -> str:
    return f"v{v[0]}.{v[1]}"


@record
class PssRef:
    """Ties a rule to a pod-security-admission check."""

    level: Level
    check: str  # pod-security-admission check ID, e.g. "capabilities_baseline"
    since: Version = (1, 0)  # the first policy version that has the check
    # At restricted, this check replaces a baseline one (PSA's OverrideCheckIDs).
    overrides: str | None = None

    # Pickled as a call with its fields (so are Resource, SetBy and Suppression): a frozen
    # slotted dataclass otherwise pickles through dataclasses' field-by-field state in
    # Python, several times slower, and most findings and facts carry these (worker to
    # parent, to the spool and back).
    def __reduce__(self) -> tuple[type[PssRef], tuple[Any, ...]]:
        return PssRef, (self.level, self.check, self.since, self.overrides)


@record
class Resource:
    """The Kubernetes object a finding is about: kind, namespace and name as written."""

    kind: str
    namespace: str | None
    name: str | None

    def display(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {ns}{self.name or '<unnamed>'}"

    def __reduce__(self) -> tuple[type[Resource], tuple[str, str | None, str | None]]:
        return Resource, (self.kind, self.namespace, self.name)


@record(eq=False)
class SourceText:
    """A file a rendered object's node can come from besides the object's own (a kustomize
    patch, the kustomization that holds an inline patch): what findings there show."""

    file: str  # repo-relative
    lines: Sequence[str] = field(repr=False)


@record
class Written:
    """Where a node of a rendered object was last written, when not in its own file."""

    source: SourceText
    line: int
    column: int


@record(eq=False)
class ValuesFile:
    """A Helm values file as data with its key positions."""

    file: str  # repo-relative
    data: Mapping[str, Any]
    positions: Mapping[KeyPath, tuple[int, int]] = field(repr=False)


@record(eq=False)
class HelmValues:
    """The values a chart was rendered with, in Helm's merge order: the chart's values.yaml,
    then each values file given (a later file wins)."""

    files: tuple[ValuesFile, ...]
    # Keys `--set` gave: a value at, above or below one of them is not a file's.
    set_keys: tuple[KeyPath, ...] = ()


@record
class SetBy:
    """A values file line that sets a value a finding is about (Helm)."""

    file: str
    line: int
    column: int
    key: str  # the values key, dotted: `service.type`, `sidecars[0].image`

    def display(self) -> str:
        return f"{self.file}:{self.line} ({self.key})"

    def __reduce__(self) -> tuple[type[SetBy], tuple[str, int, int, str]]:
        return SetBy, (self.file, self.line, self.column, self.key)


# Identity equality and hashing: rules share per-document work through small caches.
@record(eq=False)
class Document:
    """One unit the rules read, with the positions of its keys: a Kubernetes object (one
    document of a YAML stream) or, for the other types, a whole file (a workflow, a GitLab CI
    file, a Dockerfile, a kustomization, or text for the secrets rules)."""

    file: str  # where findings point: repo-relative path (the template for rendered output)
    data: Mapping[str, Any]
    positions: Mapping[KeyPath, tuple[int, int]]
    lines: Sequence[str] = field(repr=False)  # the text the positions refer to
    default_namespace: str | None = None  # what the render supplies (Helm, kustomize)
    rendered_from: str | None = None  # e.g. "helm chart/" or "kustomize overlays/prod"
    # KUBERNETES for objects; other types carry a whole file (workflow, Dockerfile, text).
    type: Target = Target.KUBERNETES
    # Rendered nodes that a file other than `file` wrote last (kustomize patches), by path;
    # a node without an entry was written where its nearest listed ancestor was.
    written: Mapping[KeyPath, Written] = field(default_factory=dict, repr=False)
    helm_values: HelmValues | None = field(default=None, repr=False)  # a chart's own templates
    # Rendered nodes whose values the chart draws anew at each render (`randAlphaNum`):
    # made at install time, shown as `x`s (inputs/helmsteady.py).
    generated: frozenset[KeyPath] = field(default=frozenset(), repr=False)
    # `resource`, made when first asked for: every rule that collects facts and every
    # finding asks, object after object. Not copied by `replace` (a namespace may change).
    _resource: Resource | None = field(default=None, init=False, repr=False)

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion", ""))

    @property
    def metadata(self) -> Mapping[str, Any]:
        meta = self.data.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str | None:
        name = self.metadata.get("name")
        return str(name) if name is not None else None

    @property
    def own_namespace(self) -> str | None:
        ns = self.metadata.get("namespace")
        return str(ns) if ns not in (None, "") else None

    @property
    def namespace(self) -> str | None:
        """The namespace the object lands in, as far as the scanned files say."""
        return self.own_namespace or self.default_namespace

    @property
    def resource(self) -> Resource | None:
        if self.type is not Target.KUBERNETES:
            return None
        made = self._resource
        if made is None:
            made = Resource(self.kind, self.namespace, self.name)
            object.__setattr__(self, "_resource", made)  # derived from the fields, once
        return made

    def locate(self, path: KeyPath) -> tuple[int, int]:
        """Line and column of `path`, or of its nearest ancestor that exists."""
        p = path
        while True:
            hit = self.positions.get(p)
            if hit is not None:
                return hit
            if not p:
                return (1, 1)
            p = p[:-1]

    def locate_in(self, path: KeyPath, offset: int) -> tuple[int, int]:
        """Line and column of character `offset` of the value at `path`, as written. This
        document keeps no value positions: it is one value, its lines joined by newlines
        (a whole-file text document), whatever the path."""
        starts = _line_starts(self)
        i = bisect.bisect_right(starts, offset) - 1
        return i + 1, offset - starts[i] + 1


@functools.lru_cache(maxsize=8)  # findings of one document come one after the other
def _line_starts(doc: Document) -> tuple[int, ...]:
    return (0, *itertools.accumulate(len(ln) + 1 for ln in doc.lines))


@record
class Violation:
    """What a check returns: where (a path into the document) and what."""

    path: KeyPath
    message: str
    # Where inside the value at `path`, for checks that read text: a character offset in
    # that value as the file writes it. A whole-file text document is one value, so there
    # `path` only names the finding (its pointer). The engine turns both into a line.
    offset: int | None = None
    # A secret the finding is about: the engine redacts it from everything it prints and
    # keeps only its hash. Messages must not contain it either.
    secret: str | None = None
    # Further secrets the same finding reports (one Secret object, several keys): redacted
    # and hashed as `secret` is, so other findings on any of them fold into this one.
    others: tuple[str, ...] = ()
    # The finding's severity when the check judges it (how much secret material there
    # is); None: the rule's. A severity set for the rule in the policy file wins.
    severity: Severity | None = None


@record
class Fact:
    """What a cross-resource rule keeps of one document: small, picklable, located.

    The engine builds it from the (path, data) a rule's `collect` yields; `data` is the
    rule's own summary (labels, selectors, a namespace ...), never the whole document.
    """

    file: str
    line: int
    column: int
    pointer: str
    resource: Resource
    data: Any
    snippet: str = ""
    render: str | None = None  # the render the document came from (Document.rendered_from)


@record
class Suppression:
    """Why a finding does not count: where the waiver came from, its reason and expiry."""

    source: str  # "inline", "annotation", "config", "baseline"
    reason: str
    expires: str | None = None

    def __reduce__(self) -> tuple[type[Suppression], tuple[str, str, str | None]]:
        return Suppression, (self.source, self.reason, self.expires)


@record
class Finding:
    """One reported problem: rule, place in the file (line, column, JSON pointer), object,
    message and fix; `suppressed` when a waiver covers it."""

    rule_id: str
    title: str
    practice: Practice
    severity: Severity
    file: str
    line: int
    column: int
    pointer: str
    resource: Resource | None
    message: str
    fix: str
    snippet: str = ""
    pss: PssRef | None = None
    suppressed: Suppression | None = None
    secret_hash: str | None = None  # sha256 of the secret, for secrets findings
    other_hashes: tuple[str, ...] = ()  # of the further secrets it reports (Violation.others)
    redacted: str | None = None  # the secret's printable form: a short prefix and its length
    # Values file lines that set the value (Helm); not part of the finding's identity.
    set_by: tuple[SetBy, ...] = ()
    # The renders (e.g. "kustomize overlays/prod") that produce this finding: one finding
    # for a base line that several overlays deploy. Empty for a file scanned as itself.
    renders: tuple[str, ...] = ()
    # Rules whose findings on the same fact this one reports too (engine/fold.py); a
    # suppression of any of them suppresses it.
    also: tuple[str, ...] = ()
    # Among findings of one report with the same rule, file, resource and pointer (two
    # values expanded into one script, one secret on two lines), this one's place in print
    # order: it keeps their fingerprints apart. 0 for the first, and for most findings.
    occurrence: int = 0

    @property
    def fingerprint(self) -> str:
        """Stable across edits that move lines: rule, file, resource and pointer, or for a
        secret: rule, file and the secret's hash (and the occurrence, after the first)."""
        # surrogatepass: a file name that is not UTF-8 (held as lone surrogates) hashes too,
        # and apart from every other name.
        raw = self.fingerprint_text.encode("utf-8", "surrogatepass")
        return sha256(raw).hexdigest()[:32]

    @property
    def fingerprint_text(self) -> str:
        """What the fingerprint is a hash of: findings with one text share a fingerprint."""
        if self.secret_hash is not None:
            raw = SEPARATOR.join((self.rule_id, self.file, self.secret_hash))
        else:
            res = self.resource.display() if self.resource else ""
            raw = SEPARATOR.join((self.rule_id, self.file, res, self.pointer))
        if self.occurrence:
            raw += f"{SEPARATOR}#{self.occurrence}"
        return raw


# Between the parts of a fingerprint's text.
SEPARATOR = "\x1f"


@record
class ScanError:
    """An input that could not be read or understood; the scan goes on without it."""

    file: str
    line: int | None
    message: str
    kind: str = "input"  # "input" (unreadable/invalid) or "render"


def redact(secret: str) -> str:
    """A form of a secret that is safe to print: a few leading characters and the length."""
    keep = min(4, len(secret) // 5)
    return f"{secret[:keep]}…({len(secret)} chars)"


def secret_hash(secret: str) -> str:
    """The hash of a secret as a value, whatever the indentation of the file that holds
    it: a PEM block read from a YAML block scalar and the same block read as text lines
    are one secret."""
    value = "\n".join(line.strip() for line in secret.strip().splitlines())
    return sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def pointer(path: KeyPath) -> str:
    """RFC 6901 JSON pointer for a path."""
    if not path:
        return ""
    text = "/" + "/".join(map(str, path))
    # Most keys hold neither character to escape: one join, no replace per key.
    if "~" not in text and text.count("/") == len(path):
        return text
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)
