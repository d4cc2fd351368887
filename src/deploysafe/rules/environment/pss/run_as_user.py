"""PSS restricted `runAsUser`: containers must not set UID 0."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, KeyPath, Level, Practice, PssRef, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Fix, Rule
from deploysafe.rules.environment.pss._common import (
    POD_HEAD,
    fixed_pod,
    is_int,
    pod_and_containers,
    remove,
    restricted_pod,
    security_contexts,
    user_namespace_exempt,
)


def _is_root(value: object) -> bool:
    return is_int(value) and value == 0


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    found = pod_and_containers(doc)
    if found is None:
        return
    pod, ctrs = found
    # UID 0 in a user namespace (hostUsers: false) is an unprivileged user on the host.
    if user_namespace_exempt(pod, ctx):
        return
    for who, sc, path in security_contexts(pod, ctrs):
        if _is_root(sc.get("runAsUser")):
            yield Violation((*path, "runAsUser"), f"{who} sets runAsUser: 0 (root)")


def fixer(doc: Document, path: KeyPath) -> Fix:
    return remove(path)


# The document the rule page shows the automatic fix on.
_FIX_EXAMPLE = (
    POD_HEAD
    + """\
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 0
  containers:
  - name: app
    image: registry.example/app:1.0
"""
)


RULE = Rule(
    id="DS218",
    title="Containers must not run as UID 0",
    practice=Practice.ENVIRONMENT,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES,
    pod_only=True,
    check=check,
    why=(
        "`runAsUser: 0` runs the process as root whatever the image says, and root in a "
        "container is root on the node's kernel; it also defeats `runAsNonRoot` checks "
        "that only look at the image."
    ),
    fix="Remove `runAsUser: 0` or set a non-zero UID (for example 10001) on the pod and "
    "containers.",
    bad=restricted_pod(
        pod_sc=("runAsNonRoot: true", "runAsUser: 0", "seccompProfile: {type: RuntimeDefault}")
    ),
    good=restricted_pod(
        pod_sc=(
            "runAsNonRoot: true",
            "runAsUser: 10001",
            "seccompProfile: {type: RuntimeDefault}",
        )
    ),
    references=(
        "PSS restricted: Running as Non-root user",
        "CIS Kubernetes 5.2.7",
        "Checkov CKV_K8S_40",
        "Trivy KSV-0105",
        "Kubescape C-0013",
    ),
    pss=PssRef(Level.RESTRICTED, "runAsUser", since=(1, 23)),
    history=(
        ("v1.23", "runAsUser must not be 0 on the pod or any container"),
        ("v1.35", "waived when the pod sets hostUsers: false"),
    ),
    autofix=AutoFix(
        fixer,
        safe=False,
        summary=(
            "Removes `runAsUser: 0`, so the image's user applies. Unsafe because an image that "
            "runs as root must be rebuilt with a non-root `USER`."
        ),
        before=_FIX_EXAMPLE,
        after=fixed_pod(
            _FIX_EXAMPLE,
            ("    runAsUser: 0\n", ""),
        ),
    ),
)
