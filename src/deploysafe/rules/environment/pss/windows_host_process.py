"""PSS baseline `windowsHostProcess`: no Windows HostProcess containers."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import as_map
from deploysafe.model import Document, KeyPath, Level, Practice, PssRef, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Fix, Rule
from deploysafe.rules.environment.pss._common import (
    POD_HEAD,
    fixed_pod,
    pod_and_containers,
    remove,
    security_contexts,
)


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    found = pod_and_containers(doc)
    if found is None:
        return
    pod, ctrs = found
    for who, sc, path in security_contexts(pod, ctrs):
        if as_map(sc.get("windowsOptions")).get("hostProcess") is True:
            yield Violation(
                (*path, "windowsOptions", "hostProcess"), f"{who} runs as a Windows HostProcess"
            )


def fixer(doc: Document, path: KeyPath) -> Fix:
    return remove(path)


# The document the rule page shows the automatic fix on.
_FIX_EXAMPLE = (
    POD_HEAD
    + """\
spec:
  os: {name: windows}
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      windowsOptions: {hostProcess: true, runAsUserName: app}
"""
)


RULE = Rule(
    id="DS211",
    title="Windows pods must not run as HostProcess",
    practice=Practice.ENVIRONMENT,
    severity=Severity.CRITICAL,
    target=Target.KUBERNETES,
    pod_only=True,
    check=check,
    why=(
        "A Windows HostProcess container runs directly on the node, in the host's network and "
        "filesystem, with the rights of a node account: the Windows equivalent of a privileged "
        "container."
    ),
    fix="Remove `securityContext.windowsOptions.hostProcess` (or set it to `false`) on the pod "
    "and its containers.",
    bad=POD_HEAD
    + """\
spec:
  os: {name: windows}
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      windowsOptions: {hostProcess: true}
""",
    good=POD_HEAD
    + """\
spec:
  os: {name: windows}
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      windowsOptions: {hostProcess: false}
""",
    references=(
        "PSS baseline: HostProcess",
        "CIS Kubernetes 5.2.11",
        "Trivy KSV-0103",
        "Kubescape C-0202",
    ),
    pss=PssRef(Level.BASELINE, "windowsHostProcess"),
    autofix=AutoFix(
        fixer,
        safe=False,
        summary=(
            "Removes `windowsOptions.hostProcess` (the `hostNetwork: true` it requires is removed "
            "by DS202's fix). Unsafe because a node agent stops working."
        ),
        before=_FIX_EXAMPLE,
        after=fixed_pod(
            _FIX_EXAMPLE,
            ("{hostProcess: true, runAsUserName: app}", "{runAsUserName: app}"),
        ),
    ),
)
