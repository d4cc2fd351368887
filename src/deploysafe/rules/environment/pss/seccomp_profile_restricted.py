"""PSS restricted `seccompProfile_restricted`: a seccomp profile must be set."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import as_map
from deploysafe.model import Document, KeyPath, Level, Practice, PssRef, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Fix, Rule
from deploysafe.rules.environment.pss._common import (
    POD_HEAD,
    RUNTIME_DEFAULT,
    fixed_pod,
    is_set,
    pod_and_containers,
    pod_spec_path,
    restricted_pod,
    sc_path,
    set_to,
    windows_exempt,
)
from deploysafe.rules.environment.pss.seccomp_profile_baseline import (
    ALLOWED_TYPES,
    explicit_violations,
)


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    found = pod_and_containers(doc)
    if found is None:
        return
    pod, ctrs = found
    # Windows has no seccomp: the API rejects the field there (exempt from 1.25).
    if windows_exempt(pod, ctx):
        return
    yield from explicit_violations(pod, ctrs)
    pod_type = as_map(pod.security_context.get("seccompProfile")).get("type")
    if isinstance(pod_type, str) and pod_type in ALLOWED_TYPES:
        return
    for c in ctrs:
        if not is_set(c.security_context, "seccompProfile"):
            yield Violation(
                sc_path(c, "seccompProfile"),
                f"{c.label} has no seccomp profile (set seccompProfile.type to RuntimeDefault "
                "or Localhost on the pod or the container)",
            )


def fixer(doc: Document, path: KeyPath) -> Fix | None:
    if path[-1] == "type":  # a profile set to something else: Unconfined
        return set_to(path, "RuntimeDefault", "RuntimeDefault")
    spec_path = pod_spec_path(doc)
    if spec_path is None:
        return None
    return set_to(
        (*spec_path, "securityContext", "seccompProfile"),
        RUNTIME_DEFAULT,
        "{type: RuntimeDefault}",
        safe=True,
    )


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
    id="DS216",
    title="A seccomp profile must be set",
    practice=Practice.ENVIRONMENT,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES,
    pod_only=True,
    check=check,
    why=(
        "Kubernetes runs containers Unconfined by default: with no seccomp profile every "
        "system call reaches the kernel, including the rarely used ones behind most container "
        "escapes. RuntimeDefault blocks them at almost no cost."
    ),
    fix="Set `spec.securityContext.seccompProfile.type: RuntimeDefault` on the pod (or "
    "`Localhost` with a profile), or on every container.",
    bad=restricted_pod(pod_sc=("runAsNonRoot: true",)),
    good=restricted_pod(),
    references=(
        "PSS restricted: Seccomp",
        "CIS Kubernetes 5.7.2",
        "Checkov CKV_K8S_31",
        "Trivy KSV-0030",
        "Kubescape C-0210",
    ),
    pss=PssRef(
        Level.RESTRICTED,
        "seccompProfile_restricted",
        since=(1, 19),
        overrides="seccompProfile_baseline",
    ),
    history=(
        ("v1.19", "seccompProfile.type RuntimeDefault or Localhost on the pod or every container"),
        ("v1.25", "pods with spec.os.name: windows are exempt"),
    ),
    autofix=AutoFix(
        fixer,
        safe=True,
        summary=(
            "Sets `seccompProfile: {type: RuntimeDefault}` on the pod. Safe because the runtime's "
            "default profile only blocks system calls ordinary programs do not make (it was "
            "Docker's default for years); unsafe where the pod or a container sets another type "
            "(Unconfined), which the fix replaces with RuntimeDefault."
        ),
        before=_FIX_EXAMPLE,
        after=fixed_pod(
            _FIX_EXAMPLE,
            (
                "    image: registry.example/app:1.0\n",
                "    image: registry.example/app:1.0\n"
                "  securityContext:\n"
                "    seccompProfile: {type: RuntimeDefault}\n",
            ),
        ),
    ),
)
