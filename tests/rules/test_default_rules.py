"""Insecure-defaults rules (DS501-DS509): examples, edge cases, exact messages."""

from __future__ import annotations

import pickle

import pytest

from deploysafe.inputs.documents import load_kubernetes
from deploysafe.model import LATEST, Fact, Level, Target, pointer
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.defaults import (
    DEFAULT_RULES,
    cpu_request,
    default_credentials,
    default_namespace,
    default_service_account,
    exposed_service,
    host_port,
    image_tag,
    memory_limit,
    network_policy,
    unset_namespace,
)
from deploysafe.rules.defaults._selectors import CalicoSelector
from deploysafe.rules.defaults.network_policy import LabelSelector, Policy, Workload
from tests.support.ruletools import docs, messages, run_rule

# Kubernetes rules checked object by object (DS510 reads text; the catalogue test runs its
# examples).
PER_DOCUMENT = [r for r in DEFAULT_RULES if r.check is not None and r.target is Target.KUBERNETES]


@pytest.mark.parametrize("rule", PER_DOCUMENT, ids=lambda r: r.id)
def test_examples(rule: Rule) -> None:
    assert run_rule(rule, rule.bad)
    assert run_rule(rule, rule.good) == []


def pod(spec: str, name: str = "p", namespace: str = "shop") -> str:
    return f"""\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {namespace}}}
spec:
{spec}"""


# --- DS501 default namespace -------------------------------------------------------------

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n"


def ns_messages(text: str, render_ns: str | None) -> list[str]:
    out: list[str] = []
    for doc in load_kubernetes(text, "t.yaml", default_namespace=render_ns).documents:
        ctx = Context(Level.BASELINE, LATEST, doc.namespace)
        out.extend(v.message for v in default_namespace.check(doc, ctx))
    return out


def test_namespace_missing_and_no_render_namespace_is_decided_at_install_time() -> None:
    # Not claimed to be `default`: DS511 reports it once per install.
    assert ns_messages(CONFIGMAP, None) == []


def test_namespace_supplied_by_the_render() -> None:
    assert ns_messages(CONFIGMAP, "shop") == []
    assert ns_messages(CONFIGMAP, "default") == [
        "ConfigMap 'c' lands in the 'default' namespace (given by --namespace or the release)"
    ]


def test_explicit_namespace_beats_the_render() -> None:
    text = CONFIGMAP.replace("{name: c}", "{name: c, namespace: default}")
    assert ns_messages(text, "shop") == ["ConfigMap 'c' is in the 'default' namespace"]


@pytest.mark.parametrize(
    "kind",
    ["Namespace", "ClusterRole", "PersistentVolume", "StorageClass", "ClusterIssuer", "Node"],
)
def test_cluster_scoped_kinds_never(kind: str) -> None:
    text = f"apiVersion: v1\nkind: {kind}\nmetadata: {{name: default, namespace: default}}\n"
    assert ns_messages(text, None) == []


def test_unknown_kind_without_namespace_is_not_judged() -> None:
    text = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
    assert ns_messages(text, None) == []


def test_custom_workload_with_pod_template_is_namespaced() -> None:
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  template:
    spec:
      containers: [{name: a, image: registry.example/a:1.0}]
"""
    assert ns_messages(text, "default") == [
        "Rollout 'r' lands in the 'default' namespace (given by --namespace or the release)"
    ]


# --- DS502 default ServiceAccount --------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "found"),
    [
        ("  containers: [{name: a, image: i:1}]\n", True),
        ("  serviceAccountName: default\n  containers: [{name: a, image: i:1}]\n", True),
        ('  serviceAccountName: ""\n  containers: [{name: a, image: i:1}]\n', True),
        ("  serviceAccount: default\n  containers: [{name: a, image: i:1}]\n", True),
        ("  serviceAccountName: app\n  containers: [{name: a, image: i:1}]\n", False),
        ("  serviceAccount: app\n  containers: [{name: a, image: i:1}]\n", False),
        (
            "  serviceAccountName: default\n  automountServiceAccountToken: false\n"
            "  containers: [{name: a, image: i:1}]\n",
            False,
        ),
        (
            '  automountServiceAccountToken: "false"\n  containers: [{name: a, image: i:1}]\n',
            True,  # a string is not `false`; the API server rejects it anyway
        ),
    ],
)
def test_default_service_account(spec: str, found: bool) -> None:
    assert bool(run_rule(default_service_account.RULE, pod(spec))) is found


def test_default_service_account_message() -> None:
    text = pod("  serviceAccount: default\n  containers: [{name: a, image: i:1}]\n")
    assert messages(default_service_account.RULE, text) == [
        "Pod 'p' sets serviceAccount 'default': its pods run as the namespace's default "
        "ServiceAccount with its API token mounted"
    ]


# --- DS503 image tags --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "name", "tag", "digest"),
    [
        ("nginx", "nginx", None, None),
        ("nginx:1.27", "nginx", "1.27", None),
        ("registry:5000/app", "registry:5000/app", None, None),
        ("registry:5000/app:2", "registry:5000/app", "2", None),
        ("[::1]:5000/app", "[::1]:5000/app", None, None),
        ("app@sha256:abc", "app", None, "sha256:abc"),
        ("app:1@sha256:abc", "app", "1", "sha256:abc"),
    ],
)
def test_split_image(image: str, name: str, tag: str | None, digest: str | None) -> None:
    assert image_tag.split_image(image) == (name, tag, digest)


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("nginx", "has no tag, so it means 'latest'"),
        ("registry:5000/app", "has no tag, so it means 'latest'"),
        ("nginx:latest", "uses the tag 'latest'"),
        ("nginx:1.27", None),
        ("registry:5000/app:v3", None),
        ("nginx:latest@sha256:abc", None),
        ("nginx@sha256:abc", None),
        ("nginx:latest-alpine", None),
    ],
)
def test_image_problem(image: str, problem: str | None) -> None:
    assert image_tag.problem(image) == problem


def test_image_every_container_kind() -> None:
    text = pod(
        "  initContainers: [{name: i, image: busybox}]\n"
        "  containers: [{name: c, image: 'app:latest'}]\n"
        "  ephemeralContainers: [{name: e, image: 'debug'}]\n"
    )
    assert messages(image_tag.RULE, text) == [
        "init container 'i' image 'busybox' has no tag, so it means 'latest'",
        "container 'c' image 'app:latest' uses the tag 'latest'",
        "ephemeral container 'e' image 'debug' has no tag, so it means 'latest'",
    ]


# --- DS504 / DS505 resources -------------------------------------------------------------


def test_resources_skip_ephemeral_and_honour_pod_level() -> None:
    text = pod(
        "  containers: [{name: c, image: 'a:1', resources: {requests: {cpu: 1}}}]\n"
        "  ephemeralContainers: [{name: e, image: 'd:1'}]\n"
    )
    assert messages(memory_limit.RULE, text) == ["container 'c' has no memory limit"]
    assert messages(cpu_request.RULE, text) == []
    pod_level = pod(
        "  resources: {requests: {cpu: 1}, limits: {memory: 1Gi}}\n"
        "  containers: [{name: c, image: 'a:1'}]\n"
    )
    assert run_rule(memory_limit.RULE, pod_level) == []
    assert run_rule(cpu_request.RULE, pod_level) == []


def test_cpu_limit_implies_request_but_memory_request_is_no_limit() -> None:
    text = pod(
        "  containers: [{name: c, image: 'a:1', "
        "resources: {requests: {memory: 1Gi}, limits: {cpu: 1}}}]\n"
    )
    assert run_rule(cpu_request.RULE, text) == []
    assert messages(memory_limit.RULE, text) == ["container 'c' has no memory limit"]


# --- DS506 services ----------------------------------------------------------------------


def service(spec: str, annotations: str = "") -> str:
    meta = f"\n  annotations: {annotations}" if annotations else ""
    return f"apiVersion: v1\nkind: Service\nmetadata:\n  name: s{meta}\nspec:\n{spec}"


@pytest.mark.parametrize(
    ("spec", "annotations", "expected"),
    [
        ("  type: NodePort\n", "", ["Service 's' is type NodePort"]),
        ("  type: LoadBalancer\n", "", ["Service 's' is type LoadBalancer without"]),
        ("  type: LoadBalancer\n  loadBalancerSourceRanges: [10.0.0.0/8]\n", "", []),
        (
            "  type: LoadBalancer\n  loadBalancerSourceRanges: ['::/0']\n",
            "",
            ["Service 's' is a LoadBalancer whose source ranges include ::/0"],
        ),
        (
            "  type: LoadBalancer\n",
            "{service.beta.kubernetes.io/load-balancer-source-ranges: 10.0.0.0/8}",
            [],
        ),
        (
            "  type: LoadBalancer\n",
            "{service.beta.kubernetes.io/aws-load-balancer-internal: 'false'}",
            ["Service 's' is type LoadBalancer without"],
        ),
        (
            "  type: LoadBalancer\n",
            "{service.beta.kubernetes.io/azure-load-balancer-internal: 'true'}",
            [],
        ),
        ("  type: ClusterIP\n", "", []),
        ("  ports: [{port: 80}]\n", "", []),
    ],
)
def test_exposed_service(spec: str, annotations: str, expected: list[str]) -> None:
    got = messages(exposed_service.RULE, service(spec, annotations))
    assert len(got) == len(expected)
    for message, start in zip(got, expected, strict=True):
        assert message.startswith(start)


# --- DS507 host ports --------------------------------------------------------------------


def test_host_port_message_points_to_pss() -> None:
    text = pod(
        "  containers:\n  - {name: c, image: 'a:1', ports: [{containerPort: 80, hostPort: 8080}]}\n"
    )
    (msg,) = messages(host_port.RULE, text)
    assert "host port 8080" in msg and "PSS baseline `hostPorts`" in msg


# --- DS508 default credentials -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "found"),
    [
        ("POSTGRES_PASSWORD", "postgres123", False),
        ("POSTGRES_PASSWORD", "Password", True),
        ("MYSQL_ROOT_PASSWORD", "root", True),
        ("redis_passwd", "changeme", True),
        ("SMTP_PASS", "letmein", True),
        ("PASS", "admin", True),
        ("DB_PWD", "123456", True),
        ("GITHUB_TOKEN", "secret", True),
        ("MINIO_SECRET_KEY", "minioadmin", True),
        ("PWD", "/app", False),
        ("PASSWORD_FILE", "default", False),
        ("SECRET_NAME", "secret", False),
        ("ADMIN_USER", "admin", False),  # a user name alone is not a secret
        ("COMPASS_MODE", "default", False),
        ("LOG_LEVEL", "admin", False),
    ],
)
def test_default_credentials(name: str, value: str, found: bool) -> None:
    env = f"[{{name: {name}, value: '{value}'}}]"
    text = pod(f"  containers:\n  - name: c\n    image: a:1\n    env: {env}\n")
    got = messages(default_credentials.RULE, text)
    assert bool(got) is found
    for message in got:
        assert value not in message  # outputs never show the credential


def test_default_credentials_pair_and_no_value_in_message() -> None:
    text = pod(
        "  containers:\n  - name: c\n    image: a:1\n    env:\n"
        "    - {name: ADMIN_USERNAME, value: admin}\n"
        "    - {name: ADMIN_PASSWORD, value: admin}\n"
    )
    assert messages(default_credentials.RULE, text) == [
        "container 'c' sets ADMIN_PASSWORD to a well-known default password (and "
        "ADMIN_USERNAME a default user name: a default login pair)"
    ]
    assert run_rule(default_credentials.RULE, text)[0][0] == 10


# --- DS509 NetworkPolicy coverage --------------------------------------------------------


def facts(text: str, rule: Rule = network_policy.RULE, file: str = "test.yaml") -> list[Fact]:
    """What the engine builds from `collect`, by hand."""
    out = []
    assert rule.collect is not None
    for doc in docs(text, file):
        ctx = Context(Level.BASELINE, LATEST, doc.namespace)
        assert doc.resource is not None
        for path, data in rule.collect(doc, ctx):
            line, column = doc.locate(path)
            out.append(Fact(doc.file, line, column, pointer(path), doc.resource, data))
    return out


def decided(text: str) -> list[tuple[int, str]]:
    assert network_policy.RULE.decide is not None
    return [(f.line, m) for f, m in network_policy.decide(facts(text))]


def test_network_policy_examples() -> None:
    assert decided(network_policy.RULE.bad)
    assert decided(network_policy.RULE.good) == []


def test_collected_data_is_small_and_picklable() -> None:
    got = facts(network_policy.RULE.good)
    assert [type(f.data) for f in got] == [Workload, Policy]
    assert pickle.loads(pickle.dumps(got)) == got
    assert got[0].data == Workload("shop", (("app", "web"),), False)


SELECTOR = {
    "matchLabels": {"app": "web"},
    "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["front", "edge"]},
        {"key": "env", "operator": "NotIn", "values": ["dev"]},
        {"key": "team", "operator": "Exists"},
        {"key": "canary", "operator": "DoesNotExist"},
    ],
}


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"app": "web", "tier": "front", "team": "a"}, True),
        ({"app": "web", "tier": "edge", "team": "a", "env": "prod"}, True),
        ({"app": "api", "tier": "front", "team": "a"}, False),  # matchLabels
        ({"app": "web", "tier": "back", "team": "a"}, False),  # In
        ({"app": "web", "team": "a"}, False),  # In needs the key
        ({"app": "web", "tier": "front", "team": "a", "env": "dev"}, False),  # NotIn
        ({"app": "web", "tier": "front"}, False),  # Exists
        ({"app": "web", "tier": "front", "team": "a", "canary": ""}, False),  # DoesNotExist
    ],
)
def test_label_selector(labels: dict[str, str], expected: bool) -> None:
    assert LabelSelector.parse(SELECTOR).matches(labels) is expected


def test_empty_and_missing_selectors_select_everything_bad_operator_nothing() -> None:
    assert LabelSelector.parse({}).matches({})
    assert LabelSelector.parse(None).matches({"a": "b"})
    bad = {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["b"]}]}
    assert not LabelSelector.parse(bad).matches({"a": "b"})


WORKLOADS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: web, image: 'web:1'}]
---
apiVersion: v1
kind: Pod
metadata: {name: loose}
spec:
  containers: [{name: a, image: 'a:1'}]
"""


def test_messages_for_each_reason() -> None:
    policies = """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
"""
    assert decided(WORKLOADS + policies) == [
        (
            7,
            "Deployment shop/web: no NetworkPolicy in namespace 'shop' selects its pods "
            "(app=web), so any pod in the cluster can connect to them (default allow)",
        ),
        (
            13,
            "Pod loose: no NetworkPolicy is installed with it (folder ./, namespace decided at "
            "install time), so any pod in the cluster can connect to them (default allow)",
        ),
    ]


def test_policy_in_another_namespace_does_not_count() -> None:
    policy = """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: other}
spec: {podSelector: {}}
"""
    assert len(decided(WORKLOADS + policy)) == 2


def test_egress_only_and_ingress_policies() -> None:
    egress = """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: out, namespace: shop}
spec: {podSelector: {}, policyTypes: [Egress]}
"""
    got = decided(WORKLOADS + egress)
    assert got[0] == (
        7,
        "Deployment shop/web: only egress NetworkPolicies select its pods, so any pod in the "
        "cluster can connect to them (default allow)",
    )
    # Unset policyTypes always means Ingress, even with egress rules.
    both = egress.replace("policyTypes: [Egress]", "egress: [{}]")
    assert [line for line, _ in decided(WORKLOADS + both)] == [13]


def test_host_network_is_never_covered() -> None:
    text = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: all, namespace: ops}
spec: {podSelector: {}}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: ops}
spec:
  hostNetwork: true
  containers: [{name: a, image: 'a:1'}]
"""
    # At the `hostNetwork: true` line: that line, not the labels, puts the pod out of reach.
    assert decided(text) == [
        (
            10,
            "Pod ops/agent uses hostNetwork: true; NetworkPolicy cannot select host-network "
            "pods, so nothing restricts their traffic",
        )
    ]


def test_pod_template_objects_are_not_workloads() -> None:
    text = """\
apiVersion: v1
kind: PodTemplate
metadata: {name: t, namespace: shop}
template:
  spec:
    containers: [{name: a, image: 'a:1'}]
"""
    assert decided(text) == []


def test_policies_of_another_install_do_not_cover() -> None:
    web = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: []}\n"
    deny = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: d}\nspec: {}\n"
    assert network_policy.RULE.decide is not None
    together = facts(web + "---\n" + deny, file="a/x.yaml")
    assert list(network_policy.RULE.decide(together)) == []
    apart = facts(web, file="a/web.yaml") + facts(deny, file="b/deny.yaml")
    assert [m for _, m in network_policy.decide(apart)] == [
        "Pod web: no NetworkPolicy is installed with it (folder a/, namespace decided at "
        "install time), so any pod in the cluster can connect to them (default allow)"
    ]
    assert together[0].data == Workload(None, (), False, "folder a/")


# --- DS511 namespace decided at install time ------------------------------------------------


def unset(*files: tuple[str, str]) -> list[tuple[str, int, str]]:
    rule = unset_namespace.RULE
    assert rule.decide is not None
    got = [f for name, text in files for f in facts(text, rule, name)]
    return [(f.file, f.line, m) for f, m in unset_namespace.decide(got)]


HINT = (
    "decided at install time, so this scan could not judge it. Give the scan the namespace "
    "{} installed in (`--namespace NAME`, or `namespace:` in deploysafe.yaml), as the Argo CD "
    "destination or `helm install -n` will"
)


def test_unset_namespace_examples() -> None:
    rule = unset_namespace.RULE
    assert unset(("app.yaml", rule.bad)) == [
        (
            "app.yaml",
            3,
            "Deployment web in folder ./ names no namespace: its namespace is "
            + HINT.format("it is"),
        )
    ]
    assert unset(("app.yaml", rule.good)) == []


def test_unset_namespace_once_per_install_at_its_first_object() -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {}}}\n"
    cluster = "apiVersion: v1\nkind: ClusterRole\nmetadata: {name: r}\n"
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
    got = unset(
        ("k8s/b.yaml", cm.format("b")),
        ("k8s/a.yaml", cm.format("a") + "---\n" + cm.format("a2")),
        ("k8s/all.yaml", cluster + "---\n" + widget),  # cluster-scoped, unknown scope
        (
            "other/c.yaml",
            cm.format("c") + "---\n" + cm.format("c2").replace("}", ", namespace: x}"),
        ),
    )
    assert got == [
        (
            "k8s/a.yaml",
            3,
            "ConfigMap a and 2 other objects in folder k8s/ name no namespace: their namespace "
            "is " + HINT.format("they are"),
        ),
        (
            "other/c.yaml",
            3,
            "ConfigMap c in folder other/ names no namespace: its namespace is "
            + HINT.format("it is"),
        ),
    ]


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("", {}, True),
        ("all()", {"a": "b"}, True),
        ("global()", {"a": "b"}, False),
        ("app == 'web'", {"app": "web"}, True),
        ('app == "web"', {"app": "api"}, False),
        ("app != 'web'", {}, True),  # a missing label is not equal
        ("has(tier) && !has(canary)", {"tier": "x"}, True),
        ("has(tier) && !has(canary)", {"tier": "x", "canary": ""}, False),
        ("app in {'a', 'b'} || role == 'db'", {"role": "db"}, True),
        ("app not in {'a','b'}", {"app": "a"}, False),
        ("(app == 'a' || app == 'b') && env starts with 'pro'", {"app": "b", "env": "prod"}, True),
        ("name ends with '-db' && name contains 'shop'", {"name": "shop-db"}, True),
        ("app = 'web'", {"app": "web"}, False),  # Calico rejects it: selects nothing
        ("app == 'web' &&", {"app": "web"}, False),
    ],
)
def test_calico_selector(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert CalicoSelector(selector).matches(labels) is expected


def test_cilium_selector_keys_name_their_source() -> None:
    selector = LabelSelector.parse(
        {"matchLabels": {"k8s:app": "web", "any:tier": "front", "reserved:host": ""}}, cilium=True
    )
    assert selector.match_labels == (("app", "web"), ("reserved:host", ""), ("tier", "front"))


def test_policies_that_leave_ingress_open_are_named() -> None:
    text = """\
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: scrape}
spec:
  subject: {namespaces: {}}
  ingress: [{name: scrape, action: Allow, from: [{namespaces: {}}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop, labels: {app: p}}
spec: {containers: [{name: a, image: "a:1"}]}
"""
    assert decided(text) == [
        (
            10,
            "Pod shop/p: only policies that leave its ingress open select its pods "
            "(AdminNetworkPolicy), so any pod in the cluster can connect to them (default allow)",
        )
    ]


def test_cluster_wide_policy_with_a_namespace_selector_cannot_cover_an_install_time_namespace() -> (
    None
):
    wide = """\
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny}
spec: {namespaceSelector: %s, selector: all(), types: [Ingress]}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: a, image: "a:1"}]}
"""
    assert [line for line, _ in decided(wide % '"has(projectcalico.org/name)"')] == [8]
    assert decided(wide % '""') == []
