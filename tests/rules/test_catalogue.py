"""The rule catalogue: unique ids, complete docs, every module registered, examples honest."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import replace

import pytest

import deploysafe.rules as rules_pkg
from deploysafe.config import Config
from deploysafe.config.rules import RuleSetting
from deploysafe.engine import check_documents
from deploysafe.formats.rule_pages import expected_files
from deploysafe.k8s.pods import pod_template
from deploysafe.k8s.tenancy import example_config
from deploysafe.model import LATEST, Level, Practice, Target
from deploysafe.rules import REGISTRY
from deploysafe.rules.base import Context, Rule
from tests.support import paths
from tests.support.ruletools import example_docs

REPO = paths.REPO


def test_ids_unique() -> None:
    ids = [r.id for r in REGISTRY]
    assert len(ids) == len(set(ids))


def test_every_rule_module_is_registered() -> None:
    registered = {id(r) for r in REGISTRY}
    for info in pkgutil.walk_packages(rules_pkg.__path__, "deploysafe.rules."):
        module = importlib.import_module(info.name)
        rule = getattr(module, "RULE", None)
        if isinstance(rule, Rule):
            assert id(rule) in registered, f"{info.name}.RULE is not in the registry"


@pytest.mark.parametrize("rule", REGISTRY, ids=lambda r: r.id)
def test_metadata_complete(rule: Rule) -> None:
    assert rule.title and rule.why and rule.fix and rule.bad and rule.good
    assert rule.references, "every rule names its peers' equivalents"
    assert (rule.check is None) != (rule.collect is None)
    if rule.collect is not None:
        assert rule.decide is not None


@pytest.mark.parametrize("rule", REGISTRY, ids=lambda r: r.id)
def test_examples_behave(rule: Rule) -> None:
    """The bad example triggers the rule, the good one does not: docs cannot lie."""
    # Tenant rules check against a chosen tenant; their examples are written for this one.
    config = example_config() if rule.practice is Practice.GITOPS else Config()
    if not rule.default_enabled:
        config = replace(config, rules={rule.id: RuleSetting(enabled=True)})
    bad = check_documents(example_docs(rule, rule.bad), config)
    good = check_documents(example_docs(rule, rule.good), config)
    # A rule may report within another rule's finding on the same fact (engine/fold.py).
    assert any(rule.id in (f.rule_id, *f.also) for f in bad.findings), (
        f"{rule.id} bad example is clean"
    )
    assert not [f for f in good.findings if rule.id in (f.rule_id, *f.also)], (
        f"{rule.id} good example fails"
    )


def test_rules_find_nothing_in_objects_the_engine_does_not_give_them() -> None:
    """The engine gives a `pod_only` rule no object without a pod template, and a rule
    with `kinds` no object of another kind: each must find nothing in those. Every
    Kubernetes object of the examples, and each with its pod template taken out (`spec`
    and `template`), is checked by every such rule it would not be given to."""
    kube = [r for r in REGISTRY if r.target in (Target.KUBERNETES, Target.KUBERNETES_SET)]
    objects = [d for r in kube for text in (r.bad, r.good) for d in example_docs(r, text)]
    objects += [
        replace(d, data={k: v for k, v in d.data.items() if k not in ("spec", "template")})
        for d in objects
        if pod_template(d) is not None
    ]
    kinds = {d.kind for d in objects}
    assert {"Service", "ConfigMap", "Role", "ClusterRoleBinding", "Deployment"} <= kinds
    ctx = Context(Level.RESTRICTED, LATEST, None)
    narrowed = [r for r in REGISTRY if r.pod_only or r.kinds is not None]
    assert len([r for r in narrowed if r.pod_only]) >= 25 and len(narrowed) >= 32
    for rule in narrowed:
        assert rule.target is Target.KUBERNETES and rule.check is not None
        withheld = [
            d
            for d in objects
            if (rule.pod_only and pod_template(d) is None)
            or (rule.kinds is not None and d.kind not in rule.kinds)
        ]
        assert withheld, rule.id
        assert not [v for d in withheld for v in rule.check(d, ctx)], rule.id


def test_docs_are_current() -> None:
    out = REPO / "docs" / "rules"
    for name, text in expected_files().items():
        path = out / name
        assert path.is_file(), f"docs/rules/{name} missing: run `deploysafe docs`"
        assert path.read_text(encoding="utf-8") == text, f"docs/rules/{name} stale"


def test_rules_off_by_default() -> None:
    """Advisory rules that report most workloads are opt-in; the rest run unless turned off."""
    assert [r.id for r in REGISTRY if not r.default_enabled] == ["DS313"]
