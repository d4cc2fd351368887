"""What installs the webhook in a cluster (`deploysafe webhook manifests`).

The namespace label per mode and level routes to a path: the API server evaluates each
webhook entry's namespaceSelector against the namespace's labels, so the server learns
the namespace's levels from the path it is called on, without reading Namespaces itself
(no API access, no RBAC, nothing cached). Every entry fails closed and skips the
webhook's own namespace and the literal exempt ones, so a restart never waits on itself.

With `webhook.mutate` on, a MutatingWebhookConfiguration routes the pod-carrying kinds
(the only ones with fixes) to `/mutate/enforce/LEVEL` the same way; a namespace with an
unknown enforce label gets no patch, and the validating entry denies its requests.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Any

import yaml

from deploysafe import __version__
from deploysafe.cluster.webhook.policy import LABEL_PREFIX, LEVELS, MODES, WebhookPolicy
from deploysafe.errors import UsageError
from deploysafe.frozen import record
from deploysafe.model import LATEST, format_version

NAME = "deploysafe-webhook"
CONFIG_NAME = "deploysafe-config"
TLS_SECRET = "deploysafe-webhook-tls"
PORT = 8443
DEFAULT_IMAGE = f"deploysafe:{__version__}"  # built from the repository's Dockerfile
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----")

_OPS = ["CREATE", "UPDATE"]
_POD_CARRYING = frozenset(
    {
        "pods",
        "replicationcontrollers",
        "podtemplates",
        "deployments",
        "replicasets",
        "statefulsets",
        "daemonsets",
        "jobs",
        "cronjobs",
    }
)
# Everything a rule reads: pod-carrying kinds, RBAC, Services, Secrets, ConfigMaps,
# NetworkPolicies, and the platform kinds tenants may not write (DS403).
NAMESPACED_RULES: list[dict[str, Any]] = [
    {
        "apiGroups": [""],
        "apiVersions": ["v1"],
        "operations": _OPS,
        "resources": [
            "pods",
            "pods/ephemeralcontainers",
            "replicationcontrollers",
            "podtemplates",
            "services",
            "secrets",
            "configmaps",
            "resourcequotas",
            "limitranges",
        ],
        "scope": "Namespaced",
    },
    {
        "apiGroups": ["apps"],
        "apiVersions": ["v1"],
        "operations": _OPS,
        "resources": ["deployments", "replicasets", "statefulsets", "daemonsets"],
        "scope": "Namespaced",
    },
    {
        "apiGroups": ["batch"],
        "apiVersions": ["v1"],
        "operations": _OPS,
        "resources": ["jobs", "cronjobs"],
        "scope": "Namespaced",
    },
    {
        "apiGroups": ["rbac.authorization.k8s.io"],
        "apiVersions": ["v1"],
        "operations": _OPS,
        "resources": ["roles", "rolebindings"],
        "scope": "Namespaced",
    },
    {
        "apiGroups": ["networking.k8s.io"],
        "apiVersions": ["v1"],
        "operations": _OPS,
        "resources": ["networkpolicies"],
        "scope": "Namespaced",
    },
]
# The kinds whose findings have fixes: those that carry a pod spec.
MUTATED_RULES: list[dict[str, Any]] = [
    {**rule, "resources": [r for r in rule["resources"] if r in _POD_CARRYING]}
    for rule in NAMESPACED_RULES
    if any(r in _POD_CARRYING for r in rule["resources"])
]
CLUSTER_RULES: list[dict[str, Any]] = [
    {
        "apiGroups": ["rbac.authorization.k8s.io"],
        "apiVersions": ["v1"],
        "operations": _OPS,
        "resources": ["clusterroles", "clusterrolebindings"],
        "scope": "Cluster",
    }
]


class InstallOptionsError(UsageError):
    """Bad input to the generator (a CA bundle that is not PEM, a bad count)."""


@record
class InstallOptions:
    namespace: str
    image: str = DEFAULT_IMAGE
    replicas: int = 2
    timeout: int = 5
    ca_bundle: str | None = None  # PEM text; None: cert-manager issues and injects
    config_text: str = ""  # deploysafe.yaml shipped to the pods


def ca_bundle_b64(pem: str) -> str:
    if not _PEM.search(pem):
        raise InstallOptionsError(
            "--ca-bundle must be a PEM file with at least one CERTIFICATE block"
        )
    return base64.b64encode(pem.strip().encode() + b"\n").decode()


def _labels(component: str = "webhook") -> dict[str, str]:
    return {
        "app.kubernetes.io/name": NAME,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "deploysafe",
        "app.kubernetes.io/version": __version__,
    }


_SELECTOR = {"app.kubernetes.io/name": NAME}


def build(policy: WebhookPolicy, opts: InstallOptions) -> list[dict[str, Any]]:
    if opts.replicas < 2:
        raise InstallOptionsError("run at least 2 replicas: the webhook fails closed")
    if not 1 <= opts.timeout <= 10:
        raise InstallOptionsError("timeoutSeconds must be between 1 and 10")
    ns = opts.namespace
    meta = {"namespace": ns, "labels": _labels()}
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": ns,
                "labels": {
                    **_labels(),
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": format_version(LATEST),
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": NAME, **meta},
            "automountServiceAccountToken": False,  # the webhook never calls the API
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": CONFIG_NAME, **meta},
            "data": {"deploysafe.yaml": opts.config_text or f"webhook:\n  namespace: {ns}\n"},
        },
        _deployment(opts, meta),
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": NAME, **meta},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": dict(_SELECTOR)}},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": NAME, **meta},
            "spec": {
                "type": "ClusterIP",
                "selector": dict(_SELECTOR),
                "ports": [{"name": "https", "port": 443, "targetPort": "https"}],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": NAME, **meta},
            "spec": {
                # The API server calls in from outside the pod network (its address is not
                # portable to name here); nothing goes out: the webhook makes no calls.
                "podSelector": {"matchLabels": dict(_SELECTOR)},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"ports": [{"protocol": "TCP", "port": PORT}]}],
                "egress": [],
            },
        },
    ]
    annotations = {}
    if opts.ca_bundle is None:
        docs += _cert_manager(ns, meta)
        annotations["cert-manager.io/inject-ca-from"] = f"{ns}/{NAME}"
    docs.append(_webhook_configuration(policy, opts, annotations))
    if policy.mutate.on:
        docs.append(_mutating_configuration(policy, opts, annotations))
    return docs


def _deployment(opts: InstallOptions, meta: dict[str, Any]) -> dict[str, Any]:
    container = {
        "name": "webhook",
        "image": opts.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["deploysafe"],
        "args": [
            "serve",
            "--cert=/tls/tls.crt",
            "--key=/tls/tls.key",
            "--config=/etc/deploysafe/deploysafe.yaml",
            f"--port={PORT}",
        ],
        "env": [
            {
                "name": "POD_NAMESPACE",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
            }
        ],
        "ports": [{"name": "https", "containerPort": PORT, "protocol": "TCP"}],
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": "https", "scheme": "HTTPS"},
            "periodSeconds": 5,
            "failureThreshold": 2,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "https", "scheme": "HTTPS"},
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "resources": {
            "requests": {"cpu": "200m", "memory": "128Mi"},
            "limits": {"memory": "320Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "tls", "mountPath": "/tls", "readOnly": True},
            {"name": "config", "mountPath": "/etc/deploysafe", "readOnly": True},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAME, **meta},
        "spec": {
            "replicas": opts.replicas,
            "selector": {"matchLabels": dict(_SELECTOR)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {"labels": _labels()},
                "spec": {
                    "serviceAccountName": NAME,
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 65532,
                        "runAsGroup": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": dict(_SELECTOR)},
                        }
                    ],
                    "containers": [container],
                    "volumes": [
                        {"name": "tls", "secret": {"secretName": TLS_SECRET}},
                        {"name": "config", "configMap": {"name": CONFIG_NAME}},
                    ],
                },
            },
        },
    }


def _cert_manager(ns: str, meta: dict[str, Any]) -> list[dict[str, Any]]:
    service = f"{NAME}.{ns}.svc"
    return [
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Issuer",
            "metadata": {"name": NAME, **meta},
            "spec": {"selfSigned": {}},
        },
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": NAME, **meta},
            "spec": {
                "secretName": TLS_SECRET,
                "dnsNames": [service, f"{service}.cluster.local"],
                "duration": "2160h",
                "renewBefore": "720h",
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                "usages": ["server auth", "digital signature", "key encipherment"],
                "issuerRef": {"name": NAME, "kind": "Issuer"},
            },
        },
    ]


def _webhook_configuration(
    policy: WebhookPolicy, opts: InstallOptions, annotations: dict[str, str]
) -> dict[str, Any]:
    exempt = _exempt(policy)
    webhooks = []
    for mode in MODES:
        label = f"{LABEL_PREFIX}{mode}"
        routes: list[tuple[str, str, list[dict[str, Any]]]] = [
            (level, level, [{"key": label, "operator": "In", "values": [level]}])
            for level in LEVELS
            if level != "off"
        ]
        if getattr(policy.defaults, mode) is not None:
            routes.append(("default", "default", [{"key": label, "operator": "DoesNotExist"}]))
        routes.append(
            (
                "invalid",
                "invalid",
                [
                    {"key": label, "operator": "Exists"},
                    {"key": label, "operator": "NotIn", "values": list(LEVELS)},
                ],
            )
        )
        for name, level, select in routes:
            webhooks.append(
                _entry(
                    f"{mode}-{name}.deploysafe.io",
                    f"/validate/{mode}/{level}",
                    opts,
                    NAMESPACED_RULES,
                    {"matchExpressions": [exempt, *select]},
                )
            )
    webhooks.append(_entry("cluster.deploysafe.io", "/validate", opts, CLUSTER_RULES, None))
    return _configuration("ValidatingWebhookConfiguration", webhooks, annotations)


def _mutating_configuration(
    policy: WebhookPolicy, opts: InstallOptions, annotations: dict[str, str]
) -> dict[str, Any]:
    label = f"{LABEL_PREFIX}enforce"
    routes = [(lv, [{"key": label, "operator": "In", "values": [lv]}]) for lv in LEVELS]
    if policy.defaults.enforce is not None:
        routes.append(("default", [{"key": label, "operator": "DoesNotExist"}]))
    webhooks = []
    for level, select in routes:
        if level == "off":
            continue
        entry = _entry(
            f"mutate-enforce-{level}.deploysafe.io",
            f"/mutate/enforce/{level}",
            opts,
            MUTATED_RULES,
            {"matchExpressions": [_exempt(policy), *select]},
        )
        # The fixes are idempotent: called again after a later webhook adds a container,
        # they fix that one too.
        entry["reinvocationPolicy"] = "IfNeeded"
        webhooks.append(entry)
    return _configuration("MutatingWebhookConfiguration", webhooks, annotations)


def _configuration(
    kind: str, webhooks: list[dict[str, Any]], annotations: dict[str, str]
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "deploysafe", "labels": _labels()}
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": meta,
        "webhooks": webhooks,
    }


def _exempt(policy: WebhookPolicy) -> dict[str, Any]:
    return {
        "key": "kubernetes.io/metadata.name",
        "operator": "NotIn",
        "values": policy.literal_exempt_namespaces(),
    }


def _entry(
    name: str,
    path: str,
    opts: InstallOptions,
    rules: Sequence[dict[str, Any]],
    namespace_selector: dict[str, Any] | None,
) -> dict[str, Any]:
    client: dict[str, Any] = {
        "service": {"namespace": opts.namespace, "name": NAME, "path": path, "port": 443}
    }
    if opts.ca_bundle is not None:
        client["caBundle"] = ca_bundle_b64(opts.ca_bundle)
    entry: dict[str, Any] = {
        "name": name,
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "failurePolicy": "Fail",
        "matchPolicy": "Equivalent",
        "timeoutSeconds": opts.timeout,
        "clientConfig": client,
    }
    if namespace_selector is not None:
        entry["namespaceSelector"] = namespace_selector
    entry["rules"] = [dict(r) for r in rules]
    return entry


class _Dumper(yaml.SafeDumper):
    """No anchors or aliases; multi-line strings (the policy file) as literal blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and not any(c in value for c in "\t\r") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(docs: Sequence[dict[str, Any]]) -> str:
    header = (
        f"# deploysafe {__version__} admission webhook. Generated by `deploysafe webhook "
        "manifests`; apply with kubectl apply -f.\n"
    )
    body = "---\n".join(
        yaml.dump(d, Dumper=_Dumper, sort_keys=False, width=100, default_flow_style=None)
        for d in docs
    )
    return header + body
