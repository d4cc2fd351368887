"""PSS restricted `allowPrivilegeEscalation`: containers must forbid privilege escalation."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, Level, Practice, PssRef, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.environment.pss._common import (
    pod_and_containers,
    restricted_pod,
    sc_path,
    windows_exempt,
)


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    found = pod_and_containers(doc)
    if found is None:
        return
    pod, ctrs = found
    # Windows has no setuid: the API even rejects the field there (exempt from 1.25).
    if windows_exempt(pod, ctx):
        return
    for c in ctrs:
        value = c.security_context.get("allowPrivilegeEscalation")
        if value is not False:
            what = "allows" if value is True else "does not forbid"
            yield Violation(
                sc_path(c, "allowPrivilegeEscalation"),
                f"{c.label} {what} privilege escalation (allowPrivilegeEscalation must be false)",
            )


RULE = Rule(
    id="DS215",
    title="Containers must set allowPrivilegeEscalation: false",
    practice=Practice.ENVIRONMENT,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES,
    check=check,
    why=(
        "Unless told otherwise, a process can gain more privileges than its parent through "
        "setuid binaries or file capabilities (sudo, ping, a planted binary). "
        "`allowPrivilegeEscalation: false` sets no_new_privs, closing that path; the default "
        "is to allow it, so it must be set explicitly."
    ),
    fix="Set `securityContext.allowPrivilegeEscalation: false` on every container, init "
    "container and ephemeral container.",
    bad=restricted_pod(container_sc=("capabilities: {drop: [ALL]}",)),
    good=restricted_pod(),
    references=(
        "PSS restricted: Privilege Escalation",
        "CIS Kubernetes 5.2.6",
        "Checkov CKV_K8S_20",
        "kube-linter privilege-escalation-container",
        "Trivy KSV-0001",
        "Kubescape C-0016",
    ),
    pss=PssRef(Level.RESTRICTED, "allowPrivilegeEscalation", since=(1, 8)),
    history=(
        ("v1.8", "allowPrivilegeEscalation must be explicitly false"),
        ("v1.25", "pods with spec.os.name: windows are exempt"),
    ),
)
