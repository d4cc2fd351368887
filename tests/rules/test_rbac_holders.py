"""Who holds a grant: the indexed lookup against the rule read literally, on a scene with
every kind of subject, namespaces named and decided at install time."""

from __future__ import annotations

import itertools

import pytest

from deploysafe.model import Fact, Resource
from deploysafe.rules.environment.rbac._bindings import (
    Binding,
    Grant,
    Holders,
    RunsAs,
    Subject,
    Told,
    holders,
    scene,
    some,
    told,
    workload_holders,
)

NAMESPACES = (None, "shop", "ops")
UNITS = ("folder a/", "folder b/")
ACCOUNTS = ("default", "api", "deployer")


def _literal(grant: Grant, runs: list[RunsAs], bindings: list[Binding]) -> Holders:
    """Every binding against the grant, every workload against each subject."""

    def together(ns_a: str | None, unit_a: str, ns_b: str | None, unit_b: str) -> bool:
        return ns_a == ns_b if ns_a is not None and ns_b is not None else unit_a == unit_b

    def binds(b: Binding) -> bool:
        if (b.role_kind, b.role) != (grant.role_kind, grant.role):
            return False
        if grant.role_kind == "ClusterRole":
            return True
        same = together(b.namespace, b.unit, grant.namespace, grant.unit)
        return b.kind == "RoleBinding" and same

    def running(s: Subject, b: Binding) -> tuple[str, ...]:
        if s.kind == "Group":
            if s.name in ("system:serviceaccounts", "system:authenticated"):
                return tuple(r.workload for r in runs)
            if s.name.startswith("system:serviceaccounts:"):
                ns = s.name.split(":", 2)[2]
                return tuple(r.workload for r in runs if r.namespace == ns)
            return ()
        if s.kind != "ServiceAccount":
            return ()
        return tuple(
            r.workload
            for r in runs
            if r.account == s.name and together(s.namespace, b.unit, r.namespace, r.unit)
        )

    chosen = [b for b in bindings if binds(b)]
    workloads, deployers = [], []
    for b in chosen:
        for s in b.subjects:
            if r := running(s, b):
                workloads.append((s, r))
            elif s not in deployers:
                deployers.append(s)
    return Holders(
        tuple(f"{b.kind} {b.name!r}" for b in chosen), tuple(workloads), tuple(deployers)
    )


def _scene_parts(
    binding_namespaces: tuple[str | None, ...] = NAMESPACES,
) -> tuple[list[RunsAs], list[Binding], list[Grant]]:
    runs = [
        RunsAs(f"Deployment {ns}/w{i}", ns, unit, account)
        for i, (ns, unit, account) in enumerate(itertools.product(NAMESPACES, UNITS, ACCOUNTS))
    ]
    subjects = [
        Subject("ServiceAccount", account, ns)
        for account, ns in itertools.product((*ACCOUNTS, "nobody"), NAMESPACES)
    ] + [
        Subject("Group", "system:serviceaccounts", None),
        Subject("Group", "system:serviceaccounts:shop", None),
        Subject("Group", "admins", None),
        Subject("User", "alice", None),
    ]
    bindings = []
    for i, (kind, ns, unit, role_kind, role) in enumerate(
        itertools.product(
            ("RoleBinding", "ClusterRoleBinding"),
            binding_namespaces,
            UNITS,
            ("Role", "ClusterRole"),
            ("edit", "view"),
        )
    ):
        picked = tuple(subjects[j] for j in range(i % 5, len(subjects), 5))
        bindings.append(Binding(kind, f"b{i}", ns, unit, role_kind, role, picked))
    grants = [
        Grant(role_kind, role, ns, unit, f"{role_kind} {role}", 0, ("create pods",))
        for role_kind, role, ns, unit in itertools.product(
            ("Role", "ClusterRole"), ("edit", "view", "none"), NAMESPACES, UNITS
        )
    ]
    return runs, bindings, grants


@pytest.mark.parametrize(
    "binding_namespaces",
    # Bindings also decided at install time; bindings that all name their namespace (a
    # Role's holders are then the same from every unit).
    [NAMESPACES, NAMESPACES[1:]],
)
def test_holders_are_what_the_rule_says(binding_namespaces: tuple[str | None, ...]) -> None:
    runs, bindings, grants = _scene_parts(binding_namespaces)
    facts = [Fact("a.yaml", 1, 1, "", Resource("X", None, "x"), d) for d in [*runs, *bindings]]
    where = scene(facts)
    for grant in grants:
        expected = _literal(grant, runs, bindings)
        assert holders(grant, where) == expected, grant
        assert told(grant, where) == Told(
            some(expected.bindings),
            workload_holders(expected),
            some([s.display() for s in expected.deployers]),
        )


def test_a_role_bound_many_times_names_five_bindings_and_holders() -> None:
    """A finding's message does not grow with the tree: a ClusterRole that every team
    binds names five of its bindings and of the accounts they give it to, and counts the
    rest."""
    from deploysafe.rules.environment.rbac.create_pods import RULE

    assert RULE.decide is not None
    grant = Grant(
        "ClusterRole", "edit", None, "folder a/", "ClusterRole 'edit'", 0, ("create pods",)
    )
    data: list[object] = [grant]
    for i in range(8):
        ns = f"team{i}"
        data.append(RunsAs(f"Deployment {ns}/web", ns, "folder a/", "default"))
        account = Subject("ServiceAccount", "default", ns)
        data.append(
            Binding("RoleBinding", f"edit-{i}", ns, "folder a/", "ClusterRole", "edit", (account,))
        )
    facts = [
        Fact("a.yaml", i + 1, 1, "", Resource("X", None, f"x{i}"), d) for i, d in enumerate(data)
    ]
    (found,) = list(RULE.decide(facts))
    message = found[1]
    assert "RoleBinding 'edit-4' and 3 more gives it to" in message
    assert "RoleBinding 'edit-5'" not in message
    assert "ServiceAccount team4/default (used by Deployment team4/web) and 3 more:" in message
    assert "team5/" not in message


def test_a_binding_in_several_bundles_is_named_once_with_its_count() -> None:
    """One ClusterRoleBinding and one Deployment in eight install bundles of a repository
    (install.yaml, ha/install.yaml...): named once each, with how many copies."""
    from deploysafe.rules.environment.rbac.create_pods import RULE

    assert RULE.decide is not None
    grant = Grant(
        "ClusterRole", "edit", None, "folder a/", "ClusterRole 'edit'", 0, ("create pods",)
    )
    account = Subject("ServiceAccount", "web", "shop")
    data: list[object] = [grant]
    for _ in range(8):
        data.append(RunsAs("Deployment shop/web", "shop", "folder a/", "web"))
        data.append(
            Binding(
                "ClusterRoleBinding", "edit", None, "folder a/", "ClusterRole", "edit", (account,)
            )
        )
    facts = [
        Fact("a.yaml", i + 1, 1, "", Resource("X", None, f"x{i}"), d) for i, d in enumerate(data)
    ]
    (found,) = list(RULE.decide(facts))
    message = found[1]
    assert "and 8 copies of ClusterRoleBinding 'edit' gives it to" in message
    assert message.count("ClusterRoleBinding 'edit'") == 1
    assert "more" not in message
