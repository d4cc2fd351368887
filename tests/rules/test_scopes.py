"""Where each rule applies, as the rules declare it (Rule.scopes)."""

from __future__ import annotations

from deploysafe.model import Target
from deploysafe.rules import REGISTRY
from deploysafe.rules.base import Scope


def ids(scope: Scope) -> set[str]:
    return {r.id for r in REGISTRY if r.applies_to(frozenset({scope}))}


def test_git_history_runs_the_rules_that_find_committed_secrets() -> None:
    assert ids(Scope.HISTORY) == {
        "DS301",
        "DS302",
        "DS310",
        "DS311",
        "DS312",
        "DS313",
        "DS314",
        "DS320",
        "DS321",
        "DS322",
        "DS323",
        "DS324",
        "DS510",
    }


def test_live_objects_and_admission_leave_out_committed_secrets() -> None:
    kube = {r.id for r in REGISTRY if r.target is Target.KUBERNETES}
    sets = {r.id for r in REGISTRY if r.target is Target.KUBERNETES_SET}
    assert ids(Scope.LIVE) == (kube | sets) - {"DS310"}
    # An admission request carries one object: no rule over the whole set judges it, but
    # DS230 and DS233, which judge a role alone as held by no one they can see.
    assert ids(Scope.ADMISSION) == (kube - {"DS310"}) | {"DS230", "DS233"}


def test_a_repository_scan_runs_every_rule() -> None:
    assert ids(Scope.REPOSITORY) | ids(Scope.MANIFESTS) == {r.id for r in REGISTRY}
    assert ids(Scope.MANIFESTS) == {
        r.id for r in REGISTRY if r.target in (Target.KUBERNETES, Target.KUBERNETES_SET)
    }
