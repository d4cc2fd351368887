"""PSS restricted `procMount_restricted`: default /proc masks even in user namespaces."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, KeyPath, Level, Practice, PssRef, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Fix, Rule
from deploysafe.rules.environment.pss._common import (
    POD_HEAD,
    RESTRICTED_CONTAINER_SC,
    fixed_pod,
    pod_and_containers,
    remove,
    restricted_pod,
)
from deploysafe.rules.environment.pss.proc_mount import unmasked


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    found = pod_and_containers(doc)
    if found is not None:
        yield from unmasked(found[1])


def fixer(doc: Document, path: KeyPath) -> Fix:
    return remove(path)


# The document the rule page shows the automatic fix on.
_FIX_EXAMPLE = (
    POD_HEAD
    + """\
spec:
  hostUsers: false
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      procMount: Unmasked
      allowPrivilegeEscalation: false
"""
)


RULE = Rule(
    id="DS219",
    title="Containers must keep the default /proc mount, even with hostUsers: false",
    practice=Practice.ENVIRONMENT,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES,
    pod_only=True,
    check=check,
    why=(
        "Baseline allows an unmasked /proc inside a user namespace (hostUsers: false) from "
        "v1.35; restricted keeps the masks anyway, since an unmasked /proc still exposes kernel "
        "interfaces that a hardened workload never needs."
    ),
    fix="Remove `securityContext.procMount` or set it to `Default`.",
    bad=restricted_pod(
        spec=("hostUsers: false",),
        container_sc=(*RESTRICTED_CONTAINER_SC, "procMount: Unmasked"),
    ),
    good=restricted_pod(
        spec=("hostUsers: false",),
        container_sc=(*RESTRICTED_CONTAINER_SC, "procMount: Default"),
    ),
    references=(
        "PSS restricted: /proc Mount Type",
        "Trivy KSV-0027",
        "Kubescape C-0211",
    ),
    pss=PssRef(Level.RESTRICTED, "procMount_restricted", since=(1, 35), overrides="procMount"),
    history=(("v1.35", "procMount must be unset or Default, whatever hostUsers says"),),
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
