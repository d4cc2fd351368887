"""DS299: roles that reach the kubelet API through nodes/proxy."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.environment.rbac._policy import policy_rules, role_label

# The kubelet authorizes a WebSocket upgrade with the verb of the HTTP method, so `get` is
# enough to open /exec and /run, not only `create`.
_VERBS = ("get", "create")


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if doc.kind != "ClusterRole":  # nodes are cluster-scoped: a Role's rules never reach them
        return
    for rule in policy_rules(doc):
        verbs = rule.grants(_VERBS, "", "nodes/proxy")
        if verbs:
            yield Violation(
                rule.field("resources"),
                f"{role_label(doc)} rules[{rule.path[-1]}] can {'/'.join(verbs)} nodes/proxy: "
                "once bound, the kubelet API of every node, which runs commands in any pod "
                "there without admission control or an audit record of the command",
            )


RULE = Rule(
    id="DS299",
    title="Roles must not proxy to the kubelet (nodes/proxy)",
    practice=Practice.ENVIRONMENT,
    severity=Severity.HIGH,
    target=Target.KUBERNETES,
    kinds=frozenset({"ClusterRole"}),
    why=(
        "`nodes/proxy` forwards requests to the kubelet API of a node. The kubelet's `/exec`, "
        "`/run` and `/attach` endpoints run commands in any container on that node: a shell in "
        "every pod of the cluster, with their tokens and Secrets, that neither admission "
        "webhooks nor the API server's audit log see as an exec. Because the kubelet maps a "
        "WebSocket upgrade to `get`, read-only looking roles (`get nodes/proxy`, often granted "
        "to monitoring to scrape metrics) are enough. High, like `pods/exec` (DS234), of which "
        "it is the cluster-wide form.\\n\\n"
        "Not reported: `nodes/metrics`, `nodes/stats` and `nodes/log`, which is what metrics "
        "collectors need; a rule restricted by `resourceNames`; a namespaced Role (nodes are "
        "cluster-scoped, so its rules never apply to them)."
    ),
    fix="Grant `nodes/metrics` (and `nodes/stats`) instead of `nodes/proxy` to metrics "
    "collectors and scrape the kubelet directly; keep nodes/proxy for cluster administrators.",
    bad="""\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: scraper}
rules:
- apiGroups: [""]
  resources: ["nodes", "nodes/proxy"]
  verbs: ["get", "list", "watch"]
""",
    good="""\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: scraper}
rules:
- apiGroups: [""]
  resources: ["nodes", "nodes/metrics"]
  verbs: ["get", "list", "watch"]
""",
    references=(
        "CIS Kubernetes 5.1.10",
        "Trivy KSV-0047",
        "Kyverno restrict-clusterrole-nodesproxy",
    ),
    check=check,
)
