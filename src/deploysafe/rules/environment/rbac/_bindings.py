"""Who holds a role: the bindings and workloads of the scanned set, for the RBAC rules that
judge a grant by its holder (DS233, DS298).

A role's holders are the subjects of the RoleBindings and ClusterRoleBindings that refer to
it. A ServiceAccount subject is a workload's identity when a pod template in the set runs as
it; every other subject (a User, a Group, a ServiceAccount no scanned pod runs as: a CI or
GitOps identity) is a deploy identity. Objects with no namespace get theirs at install time,
as in DS509: a ServiceAccount subject whose namespace is unknown matches a workload by name
among those installed with it.
"""

from __future__ import annotations

import bisect
import functools
import heapq
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import field
from operator import attrgetter
from typing import Any

from deploysafe.frozen import record
from deploysafe.inputs.documents import RELEASE_NAMESPACE, install_unit
from deploysafe.k8s.pods import as_list, as_map, pod_template
from deploysafe.model import Document, Fact, KeyPath
from deploysafe.rules.base import Context
from deploysafe.rules.environment.rbac._policy import PolicyRule, policy_rules, role_label

# Groups that hold every ServiceAccount (of a namespace, or of the cluster) or every
# authenticated identity: workloads are among their members.
_EVERY_ACCOUNT = ("system:serviceaccounts", "system:authenticated")


@record
class Grant:
    """One `rules[]` entry of a Role or ClusterRole that grants what the rule is about."""

    role_kind: str
    role: str
    namespace: str | None
    unit: str  # what it is installed with (inputs.documents.install_unit)
    label: str  # "Role 'deployer' (namespace 'shop')"
    index: int
    granted: tuple[str, ...]  # "create/patch pods", ...


@record
class Subject:
    """A subject of a RoleBinding or ClusterRoleBinding."""

    kind: str
    name: str
    namespace: str | None

    def display(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


@record
class Binding:
    """A RoleBinding or ClusterRoleBinding: the role it grants and to whom."""

    kind: str
    name: str
    namespace: str | None
    unit: str
    role_kind: str
    role: str
    subjects: tuple[Subject, ...]


@record
class RunsAs:
    """A workload and the ServiceAccount its pods run as."""

    workload: str  # "Deployment shop/api"
    namespace: str | None
    unit: str
    account: str


@record
class Holders:
    """Who holds a grant, through which bindings."""

    bindings: tuple[str, ...]  # "RoleBinding 'deploy'"
    workloads: tuple[tuple[Subject, tuple[str, ...]], ...]  # subject, workloads running as it
    deployers: tuple[Subject, ...]  # Users, Groups, ServiceAccounts no scanned pod runs as


def _namespace(value: Any) -> str | None:
    ns = str(value) if value not in (None, "") else None
    return None if ns == RELEASE_NAMESPACE else ns


Granting = Callable[[PolicyRule], tuple[str, ...]]


def collect_holders(
    doc: Document, ctx: Context, granting: Granting
) -> Iterator[tuple[KeyPath, Any]]:
    """Facts: the grants `granting` finds in a role, every binding, every workload's account."""
    if doc.kind in ("Role", "ClusterRole"):
        ns = ctx.namespace if doc.kind == "Role" else None
        for rule in policy_rules(doc):
            granted = granting(rule)
            if granted:
                grant = Grant(
                    doc.kind,
                    doc.name or "",
                    ns,
                    install_unit(doc),
                    role_label(doc),
                    int(rule.path[-1]),
                    granted,
                )
                yield rule.field("verbs"), grant
        return
    yield from holder_facts(doc, ctx.namespace)


# The rules that judge by holder ask one after another for the same document: one set of
# facts (equal for every such rule) serves them all.
@functools.lru_cache(maxsize=2)
def holder_facts(doc: Document, namespace: str | None) -> tuple[tuple[KeyPath, Any], ...]:
    """The binding an object is, or the account its pod template runs as (a role's grants
    depend on the rule: `collect_holders` finds them)."""
    kind = doc.kind
    if kind in ("RoleBinding", "ClusterRoleBinding"):
        ref = as_map(doc.data.get("roleRef"))
        own = namespace if kind == "RoleBinding" else None
        subjects = []
        for item in as_list(doc.data.get("subjects")):
            s = as_map(item)
            skind = str(s.get("kind", ""))
            # A ServiceAccount subject without a namespace is in the binding's.
            ns = _namespace(s.get("namespace")) or (own if skind == "ServiceAccount" else None)
            subjects.append(Subject(skind, str(s.get("name", "")), ns))
        binding = Binding(
            kind,
            doc.name or "",
            own,
            install_unit(doc),
            str(ref.get("kind", "")),
            str(ref.get("name", "")),
            tuple(subjects),
        )
        return ((("roleRef",), binding),)
    pod = pod_template(doc)
    if pod is None or kind == "PodTemplate" or doc.resource is None:
        return ()
    account = pod.spec.get("serviceAccountName") or pod.spec.get("serviceAccount") or "default"
    runs = RunsAs(doc.resource.display(), namespace, install_unit(doc), str(account))
    return ((pod.spec_path, runs),)


def _together(ns_a: str | None, unit_a: str, ns_b: str | None, unit_b: str) -> bool:
    """Whether two objects land in one namespace: both name it, or, where one is decided at
    install time, they are installed together."""
    if ns_a is not None and ns_b is not None:
        return ns_a == ns_b
    return unit_a == unit_b


def _binds(b: Binding, g: Grant) -> bool:
    if b.role_kind != g.role_kind or b.role != g.role:
        return False
    if g.role_kind == "ClusterRole":
        return True
    # A Role is bound by the RoleBindings of its own namespace.
    return b.kind == "RoleBinding" and _together(b.namespace, b.unit, g.namespace, g.unit)


def _runs_as(s: Subject, b: Binding, where: Scene) -> tuple[str, ...]:
    if s.kind == "Group":
        if s.name in _EVERY_ACCOUNT:
            return where.every
        prefix = "system:serviceaccounts:"
        if s.name.startswith(prefix):
            return where.in_namespace.get(s.name[len(prefix) :], ())
        return ()
    if s.kind != "ServiceAccount":
        return ()
    # As `_together` decides: a subject that names no namespace matches the workloads
    # installed with its binding; one that names it, the workloads that name the same
    # one, and those installed with its binding that name none.
    runs = where.runs
    with_binding = where.of_unit.positions(s.name, b.unit)
    if s.namespace is None:
        return tuple(runs[i].workload for i in with_binding)
    unplaced = [i for i in with_binding if runs[i].namespace is None]
    if unplaced:
        named = where.in_own.positions(s.name, s.namespace)
        return tuple(runs[i].workload for i in heapq.merge(named, unplaced))
    # The same for each binding of the subject, however many copies of it a tree holds.
    key = (s.name, s.namespace)
    running = where.running.get(key)
    if running is None:
        named = where.in_own.positions(s.name, s.namespace)
        running = where.running[key] = tuple(runs[i].workload for i in named)
    return running


class Index:
    """Positions in a scene's runs by ServiceAccount and a second value (those for which it
    is not None): each account's sorted by that value, the runs of one value in the facts'
    order, and found by bisection. An account's are sorted when first asked for: a scene's
    accounts are many, the bindings' subjects few. (A table by pairs of values would hold a
    tuple, a list and an entry a workload of a large tree.)"""

    __slots__ = ("_by_account", "_runs", "_sorted", "_value")

    def __init__(
        self,
        runs: Sequence[RunsAs],
        by_account: dict[str, array[int]],
        value: Callable[[RunsAs], str | None],
    ) -> None:
        self._runs = runs
        self._by_account = by_account
        self._value = value
        self._sorted: dict[str, tuple[list[str], array[int]]] = {}

    def positions(self, account: str, value: str) -> Sequence[int]:
        found = self._sorted.get(account)
        if found is None:
            at = self._by_account.get(account)
            if at is None:
                return ()
            pairs = [(v, i) for i in at if (v := self._value(self._runs[i])) is not None]
            pairs.sort()  # by value, then position: a value's runs stay in the facts' order
            found = self._sorted[account] = (
                [v for v, _ in pairs],
                array("q", [i for _, i in pairs]),
            )
        values, positions = found
        lo = bisect.bisect_left(values, value)
        return positions[lo : bisect.bisect_right(values, value, lo)]


@record
class Told:
    """What a finding says of a grant's holders (`some` of each): empty where there are
    none."""

    bindings: str
    workloads: str
    deployers: str


@record
class Scene:
    """The bindings and the workloads' accounts of a scan, sorted out of its facts once and
    indexed, so that a grant reads the bindings of its role only and a subject the workloads
    that run as it only (grants x bindings x workloads would grow with the square of a
    tree's size). Each index keeps the facts' order."""

    runs: tuple[RunsAs, ...]
    of_role: dict[tuple[str, str], list[Binding]]  # by (role kind, role name)
    # The workloads: all, and by namespace.
    every: tuple[str, ...]
    in_namespace: dict[str | None, tuple[str, ...]]
    # By account and namespace, those that name one; by account and install unit, all.
    in_own: Index
    of_unit: Index
    # By role (kind, name), the units of the RoleBindings of it that name no namespace.
    unplaced_bindings: dict[tuple[str, str], set[str]]
    # Answers that copies share: the workloads of an account in a namespace, and the
    # holders of a ClusterRole (bound by name) or of a Role in a namespace (bound by the
    # bindings there). A large tree installs one many times, each with as many holders.
    running: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    held: dict[tuple[str | None, ...], tuple[Holders, Told]] = field(default_factory=dict)


def scene(facts: Sequence[Fact]) -> Scene:
    """One pass over the facts; `holders` then reads the few bindings, not every fact."""
    runs = tuple(f.data for f in facts if isinstance(f.data, RunsAs))
    of_role: dict[tuple[str, str], list[Binding]] = {}
    unplaced_bindings: dict[tuple[str, str], set[str]] = {}
    for f in facts:
        b = f.data
        if isinstance(b, Binding):
            of_role.setdefault((b.role_kind, b.role), []).append(b)
            if b.kind == "RoleBinding" and b.namespace is None:
                unplaced_bindings.setdefault((b.role_kind, b.role), set()).add(b.unit)
    in_namespace: dict[str | None, list[str]] = {}
    # Positions in arrays: a large tree's workloads are tens of thousands, an int object
    # each in a list.
    by_account: dict[str, array[int]] = {}
    for i, r in enumerate(runs):
        in_namespace.setdefault(r.namespace, []).append(r.workload)
        at = by_account.get(r.account)
        if at is None:
            at = by_account[r.account] = array("q")
        at.append(i)
    return Scene(
        runs,
        of_role,
        tuple(r.workload for r in runs),
        {ns: tuple(names) for ns, names in in_namespace.items()},
        Index(runs, by_account, _namespace_of),
        Index(runs, by_account, _unit_of),
        unplaced_bindings,
    )


# What the indexes are by, besides the account.
_namespace_of: Callable[[RunsAs], str | None] = attrgetter("namespace")
_unit_of: Callable[[RunsAs], str] = attrgetter("unit")


def holders(grant: Grant, where: Scene) -> Holders:
    return _kept(grant, where)[0]


def told(grant: Grant, where: Scene) -> Told:
    """What a finding on `grant` says of its holders."""
    return _kept(grant, where)[1]


def _kept(grant: Grant, where: Scene) -> tuple[Holders, Told]:
    # What `_binds` reads of the grant: a ClusterRole's name; a Role's name, namespace and,
    # where it has none or a binding of it names none, its unit. Only the answers copies
    # share are kept.
    key: tuple[str | None, ...] = (grant.role_kind, grant.role)
    if grant.role_kind != "ClusterRole":
        unplaced = where.unplaced_bindings.get((grant.role_kind, grant.role), ())
        if grant.namespace is None or grant.unit in unplaced:
            return _said(_holders(grant, where))
        key += (grant.namespace,)
    kept = where.held.get(key)
    if kept is None:
        kept = where.held[key] = _said(_holders(grant, where))
    return kept


def _said(h: Holders) -> tuple[Holders, Told]:
    return h, Told(some(h.bindings), workload_holders(h), some([s.display() for s in h.deployers]))


def _holders(grant: Grant, where: Scene) -> Holders:
    candidates = where.of_role.get((grant.role_kind, grant.role), ())
    bindings = [b for b in candidates if _binds(b, grant)]
    workloads: list[tuple[Subject, tuple[str, ...]]] = []
    deployers: list[Subject] = []
    for b in bindings:
        for s in b.subjects:
            running = _runs_as(s, b, where)
            if running:
                workloads.append((s, running))
            elif s not in deployers:
                deployers.append(s)
    return Holders(
        tuple(f"{b.kind} {b.name!r}" for b in bindings), tuple(workloads), tuple(deployers)
    )


def grants(facts: Sequence[Fact]) -> Iterator[tuple[Fact, Grant]]:
    for f in facts:
        if isinstance(f.data, Grant):
            yield f, f.data


def workload_holders(h: Holders) -> str:
    """E.g. "ServiceAccount shop/api (used by Deployment shop/api)"."""
    parts = [f"{s.display()} (used by {some(running, 3)})" for s, running in h.workloads]
    return some(parts, _NAMED, "; ")


# How many bindings and holders a finding names: a role that a large tree binds many times
# (a ClusterRole every team binds) would otherwise make each of its findings name them all.
_NAMED = 5


def some(items: Sequence[str], most: int = _NAMED, sep: str = ", ") -> str:
    """The first `most` items, and how many more there are. An item named more than once
    (one binding in several install bundles of the tree) is named once, with its count."""
    counts = Counter(items)
    named = [f"{n} copies of {item}" if n > 1 else item for item, n in counts.items()]
    shown = sep.join(named[:most])
    return shown + f" and {len(named) - most} more" if len(named) > most else shown
