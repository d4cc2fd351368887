"""PSS baseline `appArmorProfile`: the default AppArmor profile must not be overridden."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deploysafe.k8s.pods import as_map
from deploysafe.model import Document, KeyPath, Level, Practice, PssRef, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Fix, Rule
from deploysafe.rules.environment.pss._common import (
    POD_HEAD,
    annotation_path,
    fixed_pod,
    is_set,
    pod_and_containers,
    security_contexts,
    set_to,
)

ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
ALLOWED_TYPES = frozenset({"RuntimeDefault", "Localhost"})


def _allowed_annotation(value: Any) -> bool:
    # Empty means "runtime default" to the kubelet.
    return value in ("", None, "runtime/default") or (
        isinstance(value, str) and value.startswith("localhost/")
    )


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    found = pod_and_containers(doc)
    if found is None:
        return
    pod, ctrs = found
    for key, value in pod.annotations.items():
        if str(key).startswith(ANNOTATION_PREFIX) and not _allowed_annotation(value):
            name = str(key)[len(ANNOTATION_PREFIX) :]
            yield Violation(
                annotation_path(pod, key),
                f"annotation sets AppArmor profile {value!r} for container {name!r}",
            )
    for who, sc, path in security_contexts(pod, ctrs):
        if is_set(sc, "appArmorProfile"):
            kind = as_map(sc["appArmorProfile"]).get("type")
            if not isinstance(kind, str) or kind not in ALLOWED_TYPES:
                yield Violation(
                    (*path, "appArmorProfile", "type"),
                    f"{who} sets AppArmor profile type {kind!r}",
                )


def fixer(doc: Document, path: KeyPath) -> Fix:
    if "annotations" in path:
        return set_to(path, "runtime/default", "runtime/default")
    return set_to(path, "RuntimeDefault", "RuntimeDefault")


# The rule page's bad example, and the document its automatic fix is shown on.
_EXAMPLE = (
    POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      appArmorProfile: {type: Unconfined}
"""
)


RULE = Rule(
    id="DS206",
    title="AppArmor must not be disabled or overridden",
    practice=Practice.ENVIRONMENT,
    severity=Severity.HIGH,
    target=Target.KUBERNETES,
    pod_only=True,
    check=check,
    why=(
        "On AppArmor hosts the runtime's default profile blocks writes to /proc and /sys, "
        "mounts and other escape routes; `Unconfined` (or the `unconfined` annotation) throws "
        "that layer away for the container."
    ),
    fix="Remove the override, or set `securityContext.appArmorProfile.type` to "
    "`RuntimeDefault` or `Localhost` (annotation: `runtime/default` or `localhost/<profile>`).",
    bad=_EXAMPLE,
    good=POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      appArmorProfile: {type: RuntimeDefault}
""",
    references=(
        "PSS baseline: AppArmor",
        "Trivy KSV-0002",
        "Kubescape C-0055",
    ),
    pss=PssRef(Level.BASELINE, "appArmorProfile"),
    history=(
        ("v1.0", "annotations container.apparmor.security.beta.kubernetes.io/*"),
        ("v1.0", "since the fields exist (Kubernetes 1.30): appArmorProfile.type"),
    ),
    autofix=AutoFix(
        fixer,
        safe=False,
        summary=(
            "Sets the profile to `RuntimeDefault` (annotation: `runtime/default`). Unsafe because "
            "the workload may do what the default profile denies."
        ),
        after=fixed_pod(
            _EXAMPLE,
            ("{type: Unconfined}", "{type: RuntimeDefault}"),
        ),
    ),
)
