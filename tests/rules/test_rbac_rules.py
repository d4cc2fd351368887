"""RBAC and host-access rules (DS230-DS236): examples, edge cases, exact messages."""

from __future__ import annotations

import pytest

from deploysafe.rules.base import Rule
from deploysafe.rules.environment import runtime_socket
from deploysafe.rules.environment.rbac import (
    RBAC_RULES,
    cluster_admin,
    create_pods,
    escalate,
    exec_attach,
    secrets,
    wildcard,
)
from deploysafe.rules.environment.rbac._policy import PolicyRule
from tests.support.ruletools import messages, run_rule


@pytest.mark.parametrize("rule", (*RBAC_RULES, runtime_socket.RULE), ids=lambda r: r.id)
def test_examples(rule: Rule) -> None:
    assert run_rule(rule, rule.bad)
    assert run_rule(rule, rule.good) == []


def role(rules: str, kind: str = "ClusterRole") -> str:
    ns = "\n  namespace: shop" if kind == "Role" else ""
    return f"""\
apiVersion: rbac.authorization.k8s.io/v1
kind: {kind}
metadata:
  name: r{ns}
rules:
{rules}"""


def lines(rule: Rule, text: str) -> list[int]:
    return [line for line, _ in run_rule(rule, text)]


@pytest.mark.parametrize(
    ("resources", "asked", "expected"),
    [
        (("pods",), "pods", True),
        (("pods",), "pods/exec", False),
        (("*",), "pods/exec", True),
        (("*/exec",), "pods/exec", True),
        (("*/exec",), "pods", False),
        (("pods/*",), "pods/exec", False),  # not an RBAC wildcard
        (("pods/exec",), "pods/exec", True),
    ],
)
def test_resource_matching(resources: tuple[str, ...], asked: str, expected: bool) -> None:
    rule = PolicyRule(("rules", 0), ("",), resources, ("create",), ())
    assert rule.covers(asked) is expected


def test_resource_names_narrow_the_grant() -> None:
    rule = PolicyRule(("rules", 0), ("",), ("secrets",), ("get",), ("db",))
    assert rule.grants(("get",), "", "secrets") == ()


def test_wildcard_one_finding_per_rule_at_first_wildcard() -> None:
    text = role('- apiGroups: ["*"]\n  resources: ["*"]\n  verbs: ["*"]\n')
    assert lines(wildcard.RULE, text) == [6]
    assert messages(wildcard.RULE, text) == [
        "ClusterRole 'r' rules[0] uses '*' in apiGroups and resources and verbs: it grants "
        "whatever exists now and every resource or verb added later"
    ]


def test_wildcard_ignores_non_roles_and_aggregated_roles() -> None:
    aggregated = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: agg}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {rbac.example.com/aggregate: "true"}}]
rules: []
"""
    assert run_rule(wildcard.RULE, aggregated) == []
    binding = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {verbs: '*'}\n"
    assert run_rule(wildcard.RULE, binding) == []


def test_cluster_admin_names_subjects() -> None:
    text = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: User, name: alice}
- {kind: ServiceAccount, name: app, namespace: shop}
"""
    assert messages(cluster_admin.RULE, text) == [
        "RoleBinding 'b' binds cluster-admin: it gives full control of namespace 'shop', "
        "including its Secrets and RBAC to User alice, ServiceAccount shop/app"
    ]


def test_secrets_role_vs_clusterrole_reach() -> None:
    rules = '- apiGroups: [""]\n  resources: ["secrets"]\n  verbs: ["watch"]\n'
    assert messages(secrets.RULE, role(rules, "Role")) == [
        "Role 'r' (namespace 'shop') rules[0] can watch every Secret in its namespace"
    ]
    assert messages(secrets.RULE, role(rules)) == [
        "ClusterRole 'r' rules[0] can watch every Secret in every namespace once bound by a "
        "ClusterRoleBinding"
    ]


def test_secrets_wildcard_verbs_list_every_read_verb() -> None:
    rules = '- apiGroups: [""]\n  resources: ["secrets", "configmaps"]\n  verbs: ["*"]\n'
    assert "can get/list/watch every Secret" in messages(secrets.RULE, role(rules))[0]


def test_create_pods_lists_what_it_grants() -> None:
    rules = '- apiGroups: ["apps", "batch"]\n  resources: ["deployments", "jobs"]\n  verbs: ["*"]\n'
    (msg,) = messages(create_pods.RULE, role(rules))
    assert "can create/update/patch deployments, create/update/patch jobs" in msg


def test_create_pods_extensions_group_is_not_apps() -> None:
    rules = '- apiGroups: ["extensions"]\n  resources: ["ingresses"]\n  verbs: ["create"]\n'
    assert run_rule(create_pods.RULE, role(rules)) == []


def test_exec_get_counts_for_old_websocket_exec() -> None:
    rules = '- apiGroups: [""]\n  resources: ["pods/exec"]\n  verbs: ["get"]\n'
    (msg,) = messages(exec_attach.RULE, role(rules, "Role"))
    assert "can get pods/exec" in msg


def test_escalate_via_wildcard_verbs() -> None:
    rules = '- apiGroups: ["rbac.authorization.k8s.io"]\n  resources: ["roles"]\n  verbs: ["*"]\n'
    assert messages(escalate.RULE, role(rules)) == [
        "ClusterRole 'r' rules[0] grants escalate on roles; bind on roles in every namespace "
        "once bound by a ClusterRoleBinding: enough to give itself any permission"
    ]


def test_escalate_needs_the_rbac_group() -> None:
    rules = '- apiGroups: [""]\n  resources: ["roles"]\n  verbs: ["bind"]\n'
    assert run_rule(escalate.RULE, role(rules)) == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/var/run/docker.sock", True),
        ("/run/containerd/containerd.sock", True),
        ("/var/run/crio/crio.sock", True),
        ("/run/k3s/containerd/containerd.sock", True),
        ("/var/run/", True),
        ("//run", True),
        ("/run/containerd", True),
        ("/", True),
        ("/var/run/docker.sock/", True),
        ("/var/log", False),
        ("/etc/docker", False),
        ("/var/lib/kubelet", False),
        ("", False),
    ],
)
def test_runtime_socket_paths(path: str, expected: bool) -> None:
    assert runtime_socket.runtime_socket(path) is expected


def test_runtime_socket_message_names_volume_and_containers() -> None:
    text = """\
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec:
  initContainers:
  - name: setup
    image: registry.example/setup:1.0
    volumeMounts: [{name: d, mountPath: /var/run/docker.sock}]
  containers:
  - name: app
    image: registry.example/app:1.0
  volumes:
  - name: d
    hostPath: {path: /var/run/docker.sock}
"""
    assert run_rule(runtime_socket.RULE, text)[0][0] == 14
    assert messages(runtime_socket.RULE, text) == [
        "volume 'd' mounts the host path '/var/run/docker.sock', which is the container "
        "runtime socket, mounted by init container 'setup': root on the node"
    ]
