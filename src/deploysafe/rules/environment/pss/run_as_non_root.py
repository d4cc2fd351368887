"""PSS restricted `runAsNonRoot`: containers must be required to run as a non-root user."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, Level, Practice, PssRef, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.environment.pss._common import (
    pod_and_containers,
    pod_sc_path,
    restricted_pod,
    sc_path,
    user_namespace_exempt,
)


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    found = pod_and_containers(doc)
    if found is None:
        return
    pod, ctrs = found
    # Root in a user namespace (hostUsers: false) maps to an unprivileged host user.
    if user_namespace_exempt(pod, ctx):
        return
    pod_value = pod.security_context.get("runAsNonRoot")
    if pod_value is False:
        yield Violation(pod_sc_path(pod, "runAsNonRoot"), "pod sets runAsNonRoot: false")
    for c in ctrs:
        value = c.security_context.get("runAsNonRoot")
        if value is False:
            yield Violation(sc_path(c, "runAsNonRoot"), f"{c.label} sets runAsNonRoot: false")
        elif value is None and pod_value is not True:
            yield Violation(
                sc_path(c, "runAsNonRoot"),
                f"{c.label} does not set runAsNonRoot: true (nor does the pod)",
            )


RULE = Rule(
    id="DS214",
    title="Containers must run as non-root",
    practice=Practice.ENVIRONMENT,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES,
    check=check,
    why=(
        "Most images run as root unless told otherwise. Root in a container is root on the "
        "node's kernel: any escape, writable host mount or kernel bug is then exploited with "
        "full privileges. `runAsNonRoot: true` makes the kubelet refuse to start a container "
        "whose user is UID 0."
    ),
    fix="Set `securityContext.runAsNonRoot: true` on the pod (or on every container) and "
    "build the image with a non-root `USER`, or set `runAsUser` to a non-zero UID.",
    bad=restricted_pod(pod_sc=("seccompProfile: {type: RuntimeDefault}",)),
    good=restricted_pod(),
    references=(
        "PSS restricted: Running as Non-root",
        "CIS Kubernetes 5.2.7",
        "Checkov CKV_K8S_23",
        "kube-linter run-as-non-root",
        "Trivy KSV-0012",
        "Kubescape C-0013",
    ),
    pss=PssRef(Level.RESTRICTED, "runAsNonRoot"),
    history=(
        ("v1.0", "runAsNonRoot: true on the pod or every container; explicit false fails"),
        ("v1.35", "waived when the pod sets hostUsers: false"),
    ),
)
