"""PSS baseline `hostProbesAndHostLifecycle`: probes and hooks must target the pod itself."""

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
)

_HANDLERS = (
    ("livenessProbe",),
    ("readinessProbe",),
    ("startupProbe",),
    ("lifecycle", "postStart"),
    ("lifecycle", "preStop"),
)


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    found = pod_and_containers(doc)
    if found is None:
        return
    for c in found[1]:
        for where in _HANDLERS:
            handler = c.data
            for key in where:
                handler = as_map(handler.get(key))
            for action in ("httpGet", "tcpSocket"):
                host = as_map(handler.get(action)).get("host")
                if host not in (None, ""):
                    yield Violation(
                        (*c.path, *where, action, "host"),
                        f"{c.label} {'.'.join(where)} targets host {host!r}",
                    )


def fixer(doc: Document, path: KeyPath) -> Fix:
    return remove(path)


# The rule page's bad example, and the document its automatic fix is shown on.
_EXAMPLE = (
    POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    livenessProbe:
      httpGet: {host: 169.254.169.254, path: /, port: 80}
"""
)


RULE = Rule(
    id="DS212",
    title="Probes and lifecycle hooks must not set a host",
    practice=Practice.ENVIRONMENT,
    severity=Severity.HIGH,
    target=Target.KUBERNETES,
    pod_only=True,
    check=check,
    why=(
        "The kubelet runs httpGet and tcpSocket probes and hooks from the node. With `host` "
        "set, anyone who can create a pod makes the kubelet connect to an address of their "
        "choice (node-local services, cloud metadata, other pods): a server-side request "
        "forgery from the node's network position."
    ),
    fix="Remove `host` from the probe or lifecycle handler, so the kubelet targets the pod's "
    "own IP; set an HTTP `Host` header in `httpHeaders` if the application needs one.",
    bad=_EXAMPLE,
    good=POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    livenessProbe:
      httpGet: {path: /healthz, port: 8080}
""",
    references=("PSS baseline: Probes / Lifecycle Hooks",),
    pss=PssRef(Level.BASELINE, "hostProbesAndHostLifecycle", since=(1, 34)),
    history=(("v1.34", "probe and lifecycle handler host must be empty"),),
    autofix=AutoFix(
        fixer,
        safe=False,
        summary=(
            "Removes `host` from the probe or lifecycle handler, so the kubelet targets the pod's "
            "own IP. Unsafe because a probe of another address now checks the pod."
        ),
        after=fixed_pod(
            _EXAMPLE,
            ("{host: 169.254.169.254, path:", "{path:"),
        ),
    ),
)
