"""DS501: objects must not live in the `default` namespace, named by the object or given by
`--namespace` (an object with no namespace at all gets one at install time: DS511)."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import pod_template
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule

# Built-in kinds that live in a namespace. Unknown kinds (custom resources) may be
# cluster-scoped, so they are judged only when they name `default` explicitly.
NAMESPACED_KINDS = frozenset(
    {
        "Binding",
        "ConfigMap",
        "ControllerRevision",
        "CronJob",
        "CSIStorageCapacity",
        "DaemonSet",
        "Deployment",
        "Endpoints",
        "EndpointSlice",
        "Event",
        "HorizontalPodAutoscaler",
        "Ingress",
        "Job",
        "Lease",
        "LimitRange",
        "NetworkPolicy",
        "PersistentVolumeClaim",
        "Pod",
        "PodDisruptionBudget",
        "PodTemplate",
        "ReplicaSet",
        "ReplicationController",
        "ResourceClaim",
        "ResourceClaimTemplate",
        "ResourceQuota",
        "Role",
        "RoleBinding",
        "Secret",
        "Service",
        "ServiceAccount",
        "StatefulSet",
    }
)

# Cluster-scoped kinds (built-in, and the network plugins' cluster-wide policies): never in a
# namespace, so never in `default`.
CLUSTER_KINDS = frozenset(
    {
        "AdminNetworkPolicy",
        "APIService",
        "BaselineAdminNetworkPolicy",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "DeviceClass",
        "CiliumClusterwideNetworkPolicy",
        "FlowSchema",
        "GlobalNetworkPolicy",
        "IngressClass",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
        "VolumeAttributesClass",
    }
)


def cluster_scoped(doc: Document) -> bool:
    # Cluster* custom kinds (ClusterIssuer, ClusterPolicy, ClusterSecretStore ...) follow
    # the built-in naming convention for cluster-scoped resources.
    return doc.kind in CLUSTER_KINDS or doc.kind.startswith("Cluster")


def namespaced(doc: Document) -> bool:
    return doc.kind in NAMESPACED_KINDS or pod_template(doc) is not None


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if cluster_scoped(doc):
        return
    what = f"{doc.kind} {doc.name or '<unnamed>'!r}"
    where = ("metadata", "namespace")
    if doc.own_namespace == "default":
        yield Violation(where, f"{what} is in the 'default' namespace")
    elif doc.own_namespace is None and doc.default_namespace == "default" and namespaced(doc):
        yield Violation(
            where, f"{what} lands in the 'default' namespace (given by --namespace or the release)"
        )


RULE = Rule(
    id="DS501",
    title="Objects must not use the default namespace",
    practice=Practice.DEFAULTS,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES,
    why=(
        "The `default` namespace is where everything ends up by accident: it usually has no "
        "Pod Security labels, NetworkPolicies, quotas or narrow RBAC, and anything else placed "
        "there shares its ServiceAccount and reach. An object that names no namespace (or "
        "names Helm's `.Release.Namespace`) is not judged here when the scan is given none: "
        "its namespace is decided at install time, which DS511 reports once per chart, "
        "kustomization or folder; scan with `--namespace` to judge the one it will get."
    ),
    fix="Give every namespaced object `metadata.namespace` (or set it once in the "
    "kustomization `namespace:`, Helm `--namespace` or the GitOps destination) and use a "
    "namespace per application or team.",
    bad="""\
apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: default}
data: {mode: prod}
""",
    good="""\
apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: shop}
data: {mode: prod}
""",
    references=(
        "CIS Kubernetes 5.7.4",
        "Checkov CKV_K8S_21",
        "kube-linter use-namespace",
        "Trivy KSV-0110",
        "Kubescape C-0061",
        "Kubescape C-0212",
    ),
    check=check,
)
