"""PSS baseline `procMount`: keep the default /proc masks (relaxed in user namespaces)."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import Container
from deploysafe.model import Document, KeyPath, Level, Practice, PssRef, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Fix, Rule
from deploysafe.rules.environment.pss._common import (
    BASELINE_NAMESPACE,
    POD_HEAD,
    fixed_pod,
    pod_and_containers,
    remove,
    sc_path,
    user_namespace_exempt,
)


def unmasked(ctrs: list[Container]) -> Iterator[Violation]:
    """Containers whose procMount is set to anything but Default (shared with DS219)."""
    for c in ctrs:
        mount = c.security_context.get("procMount")
        if mount is not None and mount != "Default":
            yield Violation(sc_path(c, "procMount"), f"{c.label} sets procMount {mount!r}")


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    found = pod_and_containers(doc)
    if found is None:
        return
    pod, ctrs = found
    # From 1.35 an unmasked /proc inside the pod's own user namespace is harmless to the host.
    if user_namespace_exempt(pod, ctx):
        return
    yield from unmasked(ctrs)


def fixer(doc: Document, path: KeyPath) -> Fix:
    return remove(path)


# The document the rule page shows the automatic fix on.
_FIX_EXAMPLE = (
    BASELINE_NAMESPACE
    + POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      procMount: Unmasked
      readOnlyRootFilesystem: true
"""
)


RULE = Rule(
    id="DS208",
    title="Containers must keep the default /proc mount",
    practice=Practice.ENVIRONMENT,
    severity=Severity.HIGH,
    target=Target.KUBERNETES,
    pod_only=True,
    check=check,
    why=(
        "The runtime masks and makes read-only parts of /proc (kcore, sysrq-trigger, timer "
        "lists ...). `procMount: Unmasked` removes those masks, exposing kernel interfaces "
        "and host information to the container."
    ),
    fix="Remove `securityContext.procMount` or set it to `Default`; an unmasked /proc is only "
    "acceptable with `hostUsers: false` (policy v1.35+).",
    bad=BASELINE_NAMESPACE
    + POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      procMount: Unmasked
""",
    good=BASELINE_NAMESPACE
    + POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      procMount: Default
""",
    references=(
        "PSS baseline: /proc Mount Type",
        "kube-linter unsafe-proc-mount",
        "Trivy KSV-0027",
        "Kubescape C-0211",
    ),
    pss=PssRef(Level.BASELINE, "procMount"),
    history=(
        ("v1.0", "procMount must be unset or Default"),
        ("v1.35", "any procMount allowed when the pod sets hostUsers: false"),
    ),
    autofix=AutoFix(
        fixer,
        safe=False,
        summary=(
            "Removes `procMount`, so /proc keeps its default masks. Unsafe because a nested "
            "container runtime may need the unmasked /proc."
        ),
        before=_FIX_EXAMPLE,
        after=fixed_pod(
            _FIX_EXAMPLE,
            ("      procMount: Unmasked\n", ""),
        ),
    ),
)
