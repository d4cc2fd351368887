"""PSS restricted `capabilities_restricted`: drop ALL, add back at most NET_BIND_SERVICE."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import as_list, as_map
from deploysafe.model import Document, KeyPath, Level, Practice, PssRef, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Edit, EditOp, Fix, Rule
from deploysafe.rules.environment.pss._common import (
    POD_HEAD,
    fixed_pod,
    pod_and_containers,
    remove,
    restricted_pod,
    sc_path,
    windows_exempt,
)


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    found = pod_and_containers(doc)
    if found is None:
        return
    pod, ctrs = found
    # Windows has no Linux capabilities (exempt from 1.25).
    if windows_exempt(pod, ctx):
        return
    for c in ctrs:
        caps = as_map(c.security_context.get("capabilities"))
        if "ALL" not in as_list(caps.get("drop")):
            yield Violation(
                sc_path(c, "capabilities", "drop"), f"{c.label} does not drop ALL capabilities"
            )
        for i, cap in enumerate(as_list(caps.get("add"))):
            if cap != "NET_BIND_SERVICE":
                yield Violation(
                    sc_path(c, "capabilities", "add", i),
                    f"{c.label} adds capability {cap} (only NET_BIND_SERVICE is allowed)",
                )


def fixer(doc: Document, path: KeyPath) -> Fix:
    if path[-1] == "drop":
        return Fix((Edit(EditOp.APPEND, path, "ALL"),), False, "add ALL to capabilities.drop")
    return remove(path, list_item=True)


# The document the rule page shows the automatic fix on.
_FIX_EXAMPLE = (
    POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      capabilities:
        drop: [NET_RAW]
        add: [NET_BIND_SERVICE, NET_ADMIN]
"""
)


RULE = Rule(
    id="DS217",
    title="Containers must drop ALL capabilities",
    practice=Practice.ENVIRONMENT,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES,
    pod_only=True,
    check=check,
    why=(
        "Even the runtime's default capabilities (NET_RAW for spoofing on the pod network, "
        "CHOWN, DAC_OVERRIDE, SETUID ...) are more than almost any service needs and help an "
        "attacker who gets code execution. Dropping ALL and adding back only NET_BIND_SERVICE "
        "leaves the least privilege."
    ),
    fix="Set `securityContext.capabilities.drop: [ALL]` on every container and add back at "
    "most `NET_BIND_SERVICE`.",
    bad=restricted_pod(
        container_sc=("allowPrivilegeEscalation: false", "capabilities: {drop: [NET_RAW]}")
    ),
    good=restricted_pod(
        container_sc=(
            "allowPrivilegeEscalation: false",
            "capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}",
        )
    ),
    references=(
        "PSS restricted: Capabilities",
        "CIS Kubernetes 5.2.8, 5.2.9, 5.2.10",
        "Checkov CKV_K8S_28, CKV_K8S_37",
        "kube-linter drop-net-raw-capability",
        "Trivy KSV-0106",
        "Kubescape C-0211",
    ),
    pss=PssRef(
        Level.RESTRICTED,
        "capabilities_restricted",
        since=(1, 22),
        overrides="capabilities_baseline",
    ),
    history=(
        ("v1.22", "drop must include ALL; add only NET_BIND_SERVICE"),
        ("v1.25", "pods with spec.os.name: windows are exempt"),
    ),
    autofix=AutoFix(
        fixer,
        safe=False,
        summary=(
            "Adds `ALL` to `capabilities.drop` (writing `drop: [ALL]` if there is none), and "
            "removes added capabilities other than NET_BIND_SERVICE. Unsafe because a process that "
            "relies on a default capability (CHOWN, SETUID, binding a port below 1024 as root) "
            "stops working."
        ),
        before=_FIX_EXAMPLE,
        after=fixed_pod(
            _FIX_EXAMPLE,
            ("[NET_RAW]", "[NET_RAW, ALL]"),
            ("[NET_BIND_SERVICE, NET_ADMIN]", "[NET_BIND_SERVICE]"),
        ),
    ),
)
