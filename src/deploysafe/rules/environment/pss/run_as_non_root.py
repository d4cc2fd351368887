"""PSS restricted `runAsNonRoot`: containers must be required to run as a non-root user."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, KeyPath, Level, Practice, PssRef, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Fix, Rule
from deploysafe.rules.environment.pss._common import (
    POD_HEAD,
    fixed_pod,
    pod_and_containers,
    pod_sc_path,
    pod_spec_path,
    restricted_pod,
    sc_path,
    set_to,
    user_namespace_exempt,
    value_at,
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


def fixer(doc: Document, path: KeyPath) -> Fix | None:
    spec_path = pod_spec_path(doc)
    if spec_path is None:
        return None
    if value_at(doc, path) is False:  # the pod or a container says false
        return set_to(path, True, "true")
    # A container that says nothing: the pod's setting covers every container.
    return set_to((*spec_path, "securityContext", "runAsNonRoot"), True, "true")


# The document the rule page shows the automatic fix on.
_FIX_EXAMPLE = (
    POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
"""
)


RULE = Rule(
    id="DS214",
    title="Containers must run as non-root",
    practice=Practice.ENVIRONMENT,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES,
    pod_only=True,
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
    autofix=AutoFix(
        fixer,
        safe=False,
        summary=(
            "Sets `runAsNonRoot: true` on the pod (or `true` where a container says `false`). "
            "Unsafe because the kubelet then refuses to start an image whose user is root; build "
            "it with a non-root `USER`."
        ),
        before=_FIX_EXAMPLE,
        after=fixed_pod(
            _FIX_EXAMPLE,
            (
                "    image: registry.example/app:1.0\n",
                "    image: registry.example/app:1.0\n  securityContext:\n    runAsNonRoot: true\n",
            ),
        ),
    ),
)
