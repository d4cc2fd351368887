"""PSS baseline `seccompProfile_baseline`: seccomp must not be set to Unconfined."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deploysafe.k8s.pods import Container, PodTemplate, as_map
from deploysafe.model import Document, KeyPath, Level, Practice, PssRef, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Fix, Rule
from deploysafe.rules.environment.pss._common import (
    BASELINE_NAMESPACE,
    POD_HEAD,
    annotation_path,
    fixed_pod,
    is_set,
    pod_and_containers,
    security_contexts,
    set_to,
)

POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
CONTAINER_ANNOTATION_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
ALLOWED_TYPES = frozenset({"RuntimeDefault", "Localhost"})


def _allowed_annotation(value: Any) -> bool:
    return value in ("runtime/default", "docker/default") or (
        isinstance(value, str) and value.startswith("localhost/")
    )


def annotation_violations(pod: PodTemplate, ctrs: list[Container]) -> Iterator[Violation]:
    """Policy versions before 1.19 judge the alpha annotations, not the fields."""
    ann = pod.annotations
    if POD_ANNOTATION in ann and not _allowed_annotation(ann[POD_ANNOTATION]):
        yield Violation(
            annotation_path(pod, POD_ANNOTATION),
            f"pod seccomp annotation is {ann[POD_ANNOTATION]!r}",
        )
    for c in ctrs:
        key = CONTAINER_ANNOTATION_PREFIX + str(c.data.get("name", ""))
        if key in ann and not _allowed_annotation(ann[key]):
            yield Violation(
                annotation_path(pod, key), f"{c.label} seccomp annotation is {ann[key]!r}"
            )


def explicit_violations(pod: PodTemplate, ctrs: list[Container]) -> Iterator[Violation]:
    """Pod or containers that set seccompProfile.type to something else (shared with DS216)."""
    for who, sc, path in security_contexts(pod, ctrs):
        if is_set(sc, "seccompProfile"):
            kind = as_map(sc["seccompProfile"]).get("type")
            if not isinstance(kind, str) or kind not in ALLOWED_TYPES:
                yield Violation(
                    (*path, "seccompProfile", "type"), f"{who} sets seccomp profile {kind!r}"
                )


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    found = pod_and_containers(doc)
    if found is None:
        return
    pod, ctrs = found
    if ctx.pss_version < (1, 19):
        yield from annotation_violations(pod, ctrs)
    else:
        yield from explicit_violations(pod, ctrs)


def fixer(doc: Document, path: KeyPath) -> Fix:
    if "annotations" in path:
        return set_to(path, "runtime/default", "runtime/default")
    return set_to(path, "RuntimeDefault", "RuntimeDefault")


# The rule page's bad example, and the document its automatic fix is shown on.
_EXAMPLE = (
    BASELINE_NAMESPACE
    + POD_HEAD
    + """\
spec:
  securityContext:
    seccompProfile: {type: Unconfined}
  containers:
  - name: app
    image: registry.example/app:1.0
"""
)


RULE = Rule(
    id="DS209",
    title="Seccomp must not be disabled",
    practice=Practice.ENVIRONMENT,
    severity=Severity.HIGH,
    target=Target.KUBERNETES,
    pod_only=True,
    check=check,
    why=(
        "Seccomp filters the system calls a container may make; the runtime's default profile "
        "blocks dozens that are only useful for attacking the kernel (keyctl, unshare, bpf, "
        "mount ...). `Unconfined` opens the whole kernel interface to the workload."
    ),
    fix="Set `securityContext.seccompProfile.type` to `RuntimeDefault` (or `Localhost` with a "
    "profile) instead of `Unconfined`; before v1.19 use the annotation value `runtime/default`.",
    bad=_EXAMPLE,
    good=BASELINE_NAMESPACE
    + POD_HEAD
    + """\
spec:
  securityContext:
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: app
    image: registry.example/app:1.0
""",
    references=(
        "PSS baseline: Seccomp",
        "CIS Kubernetes 5.7.2",
        "Checkov CKV_K8S_31",
        "Trivy KSV-0104",
        "Kubescape C-0210",
    ),
    pss=PssRef(Level.BASELINE, "seccompProfile_baseline"),
    history=(
        (
            "v1.0",
            "annotations seccomp.security.alpha.kubernetes.io/pod and "
            "container.seccomp.security.alpha.kubernetes.io/*: runtime/default, "
            "docker/default or localhost/*",
        ),
        ("v1.19", "fields seccompProfile.type: RuntimeDefault, Localhost or unset"),
    ),
    autofix=AutoFix(
        fixer,
        safe=False,
        summary=(
            "Sets the seccomp profile type to `RuntimeDefault` (before v1.19, the annotation to "
            "`runtime/default`). Unsafe because the workload may make a system call the default "
            "profile blocks."
        ),
        after=fixed_pod(
            _EXAMPLE,
            ("{type: Unconfined}", "{type: RuntimeDefault}"),
        ),
    ),
)
