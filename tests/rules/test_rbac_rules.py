"""RBAC and host-access rules (DS230-DS236): examples, edge cases, exact messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploysafe.config import Config
from deploysafe.engine import check_documents
from deploysafe.inputs.documents import RELEASE_NAMESPACE
from deploysafe.model import Severity
from deploysafe.rules.base import Rule, Scope
from deploysafe.rules.environment import runtime_socket
from deploysafe.rules.environment.rbac import (
    RBAC_RULES,
    cluster_admin,
    escalate,
    exec_attach,
    node_proxy,
    secrets,
    wildcard,
)
from deploysafe.rules.environment.rbac._policy import PolicyRule
from tests.support.policy import load as load_policy
from tests.support.ruletools import decided, docs, messages, run_rule

ADMISSION = frozenset({Scope.ADMISSION})


PER_DOCUMENT = [r for r in (*RBAC_RULES, runtime_socket.RULE) if r.check is not None]


@pytest.mark.parametrize("rule", PER_DOCUMENT, ids=lambda r: r.id)
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
    assert decided(wildcard.RULE, text) == [
        (
            6,
            Severity.HIGH,
            "ClusterRole 'r' rules[0] uses '*' in apiGroups and resources and verbs: it grants "
            "whatever exists now and every resource or verb added later",
        )
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
    assert decided(wildcard.RULE, aggregated) == []
    binding = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {verbs: '*'}\n"
    assert decided(wildcard.RULE, binding) == []


WILD_ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reconciler}
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: reconcile}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reconciler}
subjects:
"""


def test_wildcard_held_only_by_deploy_identities_is_medium_and_names_them() -> None:
    subjects = (
        "- {kind: ServiceAccount, name: kustomize-controller, namespace: flux-system}\n"
        "- {kind: User, name: ci@example.com, apiGroup: rbac.authorization.k8s.io}\n"
    )
    assert decided(wildcard.RULE, WILD_ROLE + subjects + APP) == [
        (
            5,
            Severity.MEDIUM,
            "ClusterRole 'reconciler' rules[0] uses '*' in apiGroups and resources and verbs: "
            "it grants whatever exists now and every resource or verb added later; "
            "ClusterRoleBinding 'reconcile' gives it only to deploy identities (ServiceAccount "
            "flux-system/kustomize-controller, User ci@example.com; no workload in the scanned "
            "files runs as them): list the kinds and verbs the deployer applies",
        )
    ]


def test_wildcard_held_by_a_workload_stays_high_and_names_it() -> None:
    subjects = "- {kind: ServiceAccount, name: api, namespace: shop}\n"
    assert decided(wildcard.RULE, WILD_ROLE + subjects + APP) == [
        (
            5,
            Severity.HIGH,
            "ClusterRole 'reconciler' rules[0] uses '*' in apiGroups and resources and verbs: "
            "it grants whatever exists now and every resource or verb added later; "
            "ClusterRoleBinding 'reconcile' gives it to ServiceAccount shop/api (used by "
            "Deployment shop/api): whoever takes over that workload gets all of it",
        )
    ]
    # Folded with DS232-DS235 and DS299 into one finding, which keeps the highest severity.
    report = check_documents(docs(WILD_ROLE + "- {kind: User, name: ci}\n"), Config())
    assert [(f.rule_id, f.line, f.severity) for f in report.findings] == [
        ("DS230", 5, Severity.CRITICAL)
    ]


def test_wildcard_is_judged_at_admission_as_unbound() -> None:
    report = check_documents(docs(WILD_ROLE.split("---")[0]), Config(), scopes=ADMISSION)
    assert [(f.rule_id, f.line, f.severity) for f in report.findings] == [
        ("DS230", 5, Severity.CRITICAL)
    ]


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


def judged(rule_id: str, text: str) -> list[tuple[int, Severity, str]]:
    """(line, severity, message) of each finding of a rule over the whole set `text`."""
    report = check_documents(docs(text), Config())
    return [(f.line, f.severity, f.message) for f in report.findings if f.rule_id == rule_id]


def test_create_pods_lists_what_it_grants() -> None:
    # (with verbs: ["*"], DS230's finding on the same line carries it: engine/fold.py)
    rules = (
        '- apiGroups: ["apps", "batch"]\n  resources: ["deployments", "jobs"]\n'
        '  verbs: ["create", "update", "patch", "delete"]\n'
    )
    ((_, _, msg),) = judged("DS233", role(rules))
    assert "can create/update/patch deployments, create/update/patch jobs" in msg


def test_create_pods_extensions_group_is_not_apps() -> None:
    rules = '- apiGroups: ["extensions"]\n  resources: ["ingresses"]\n  verbs: ["create"]\n'
    assert judged("DS233", role(rules)) == []


DEPLOYER_ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: shop}
rules:
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "create", "patch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deploy, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}
subjects:
"""
APP = """\
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    spec:
      serviceAccountName: api
      containers: [{name: api, image: "registry.example/api:1.0"}]
"""


def test_create_pods_held_by_a_workload_is_medium_and_names_it() -> None:
    text = DEPLOYER_ROLE + "- {kind: ServiceAccount, name: api}\n" + APP
    assert judged("DS233", text) == [
        (
            7,
            Severity.MEDIUM,
            "Role 'deployer' (namespace 'shop') rules[0] can create/patch deployments in its "
            "namespace, and RoleBinding 'deploy' gives it to ServiceAccount shop/api (used by "
            "Deployment shop/api): whoever takes over that workload can run code of its "
            "choice with any ServiceAccount and Secret there",
        )
    ]


def test_create_pods_held_by_deploy_identities_is_low() -> None:
    subjects = (
        "- {kind: User, name: ci@example.com, apiGroup: rbac.authorization.k8s.io}\n"
        "- {kind: ServiceAccount, name: argocd-deployer, namespace: argocd}\n"
    )
    assert judged("DS233", DEPLOYER_ROLE + subjects + APP) == [
        (
            7,
            Severity.LOW,
            "Role 'deployer' (namespace 'shop') rules[0] can create/patch deployments in its "
            "namespace; RoleBinding 'deploy' gives it only to deploy identities (User "
            "ci@example.com, ServiceAccount argocd/argocd-deployer; no workload in the scanned "
            "files runs as them): expected for a deployer, keep it to the namespaces it "
            "deploys and pair it with Pod Security admission",
        )
    ]


def test_create_pods_held_by_every_service_account_of_the_namespace_is_a_workload() -> None:
    subjects = "- {kind: Group, name: 'system:serviceaccounts:shop'}\n"
    ((_, severity, message),) = judged("DS233", DEPLOYER_ROLE + subjects + APP)
    assert severity is Severity.MEDIUM
    assert "Group system:serviceaccounts:shop (used by Deployment shop/api)" in message


def test_create_pods_bound_to_a_service_account_of_another_namespace_is_a_deployer() -> None:
    subjects = "- {kind: ServiceAccount, name: api, namespace: ci}\n"
    ((_, severity, _),) = judged("DS233", DEPLOYER_ROLE + subjects + APP)
    assert severity is Severity.LOW


def test_create_pods_unbound_is_medium_and_says_so() -> None:
    ((line, severity, message),) = judged("DS233", DEPLOYER_ROLE.split("---")[0])
    assert (line, severity) == (7, Severity.MEDIUM)
    assert message.endswith(
        "; no binding in the scanned files says who holds it: if a workload does, it can run "
        "code of its choice with any ServiceAccount and Secret there"
    )


def test_create_pods_policy_severity_applies_to_every_case(tmp_path: Path) -> None:
    policy = tmp_path / "deploysafe.yaml"
    policy.write_text("rules:\n  DS233: {severity: high}\n", encoding="utf-8")
    text = DEPLOYER_ROLE + "- {kind: User, name: ci}\n"
    report = check_documents(docs(text), load_policy(policy))
    assert [f.severity for f in report.findings if f.rule_id == "DS233"] == [Severity.HIGH]


def test_create_pods_is_judged_at_admission_as_unbound() -> None:
    report = check_documents(docs(DEPLOYER_ROLE.split("---")[0]), Config(), scopes=ADMISSION)
    assert [(f.rule_id, f.severity) for f in report.findings] == [("DS233", Severity.MEDIUM)]


def test_create_pods_helm_release_namespace_subjects_match_their_workload() -> None:
    """A chart rendered without a namespace: the subject's namespace is the release's, the
    workload's is decided at install time; installed together, they are one."""
    text = f"""\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: deployer}}
rules:
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["create"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: deploy}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}}
subjects:
- {{kind: ServiceAccount, name: api, namespace: "{RELEASE_NAMESPACE}"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api}}
spec:
  template:
    spec:
      serviceAccountName: api
      containers: [{{name: api, image: "registry.example/api:1.0"}}]
"""
    ((_, severity, message),) = judged("DS233", text)
    assert severity is Severity.MEDIUM
    assert "ServiceAccount api (used by Deployment api)" in message


def test_workload_network_only_for_roles_a_workload_holds() -> None:
    rules = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: mesh}
rules:
- apiGroups: [""]
  resources: ["services", "endpoints", "services/status"]
  verbs: ["get", "update"]
- apiGroups: ["networking.k8s.io", "extensions"]
  resources: ["ingresses"]
  verbs: ["create"]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses/status"]
  verbs: ["update"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: mesh}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: mesh}
subjects:
"""
    app = "- {kind: ServiceAccount, name: api, namespace: shop}\n" + APP
    assert judged("DS298", rules + app) == [
        (
            7,
            Severity.MEDIUM,
            "ClusterRole 'mesh' rules[0] can update services, update endpoints, and "
            "ClusterRoleBinding 'mesh' gives it to ServiceAccount shop/api (used by Deployment "
            "shop/api): whoever takes over that workload can lift network isolation or send "
            "other pods' traffic to itself",
        ),
        (
            10,
            Severity.MEDIUM,
            "ClusterRole 'mesh' rules[1] can create ingresses, and ClusterRoleBinding 'mesh' "
            "gives it to ServiceAccount shop/api (used by Deployment shop/api): whoever takes "
            "over that workload can lift network isolation or send other pods' traffic to "
            "itself",
        ),
    ]
    assert judged("DS298", rules + "- {kind: Group, name: platform-admins}\n" + APP) == []
    assert judged("DS298", rules.split("---")[0]) == []


def test_node_proxy_get_is_enough() -> None:
    rules = '- apiGroups: [""]\n  resources: ["nodes/proxy", "nodes/metrics"]\n  verbs: ["get"]\n'
    assert messages(node_proxy.RULE, role(rules)) == [
        "ClusterRole 'r' rules[0] can get nodes/proxy: once bound, the kubelet API of every "
        "node, which runs commands in any pod there without admission control or an audit "
        "record of the command"
    ]
    assert run_rule(node_proxy.RULE, role(rules, "Role")) == []
    metrics = '- apiGroups: [""]\n  resources: ["nodes/metrics", "nodes/stats"]\n  verbs: ["*"]\n'
    assert run_rule(node_proxy.RULE, role(metrics)) == []
    wildcard_sub = '- apiGroups: [""]\n  resources: ["*/proxy"]\n  verbs: ["create"]\n'
    assert lines(node_proxy.RULE, role(wildcard_sub)) == [7]


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
