"""PSS baseline `seLinuxOptions`: no custom SELinux user, role or privileged type."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from deploysafe.k8s.pods import as_map
from deploysafe.model import (
    Document,
    KeyPath,
    Level,
    Practice,
    PssRef,
    Severity,
    Target,
    Version,
    Violation,
)
from deploysafe.rules.base import AutoFix, Context, Fix, Rule
from deploysafe.rules.environment.pss._common import (
    POD_HEAD,
    fixed_pod,
    is_set,
    pod_and_containers,
    remove,
    security_contexts,
)

_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})


def allowed_types(version: Version) -> frozenset[str]:
    # container_engine_t is what container-in-container (e.g. podman) images need.
    return _TYPES | {"container_engine_t"} if version >= (1, 31) else _TYPES


def _problems(
    opts: Mapping[str, Any], path: KeyPath, who: str, types: frozenset[str]
) -> Iterator[Violation]:
    kind = opts.get("type")
    if kind is not None and (not isinstance(kind, str) or kind not in types):
        yield Violation((*path, "type"), f"{who} sets SELinux type {kind!r}")
    for key in ("user", "role"):
        value = opts.get(key)
        if value not in (None, ""):
            yield Violation((*path, key), f"{who} sets SELinux {key} {value!r}")


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    found = pod_and_containers(doc)
    if found is None:
        return
    pod, ctrs = found
    types = allowed_types(ctx.pss_version)
    for who, sc, path in security_contexts(pod, ctrs):
        if is_set(sc, "seLinuxOptions"):
            yield from _problems(
                as_map(sc["seLinuxOptions"]), (*path, "seLinuxOptions"), who, types
            )


def fixer(doc: Document, path: KeyPath) -> Fix:
    return remove(path)


# The document the rule page shows the automatic fix on.
_FIX_EXAMPLE = (
    POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      seLinuxOptions: {type: spc_t, level: "s0:c123,c456"}
"""
)


RULE = Rule(
    id="DS207",
    title="SELinux options must not grant a custom user, role or type",
    practice=Practice.ENVIRONMENT,
    severity=Severity.HIGH,
    target=Target.KUBERNETES,
    pod_only=True,
    check=check,
    why=(
        "SELinux confines containers through the container_t type; setting another type (such "
        "as spc_t, 'super privileged container') or a custom user or role lifts that "
        "confinement and lets the process touch host files SELinux would have denied."
    ),
    fix="Remove `seLinuxOptions.user` and `.role`; leave `type` unset or use container_t, "
    "container_init_t, container_kvm_t (or container_engine_t from v1.31). Setting only "
    "`level` is fine.",
    bad=POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      seLinuxOptions: {type: spc_t}
""",
    good=POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      seLinuxOptions: {type: container_t, level: "s0:c123,c456"}
""",
    references=(
        "PSS baseline: SELinux",
        "Trivy KSV-0025",
        "Kubescape C-0055",
    ),
    pss=PssRef(Level.BASELINE, "seLinuxOptions"),
    history=(
        ("v1.0", "type in container_t, container_init_t, container_kvm_t or empty; no user/role"),
        ("v1.31", "container_engine_t allowed"),
    ),
    autofix=AutoFix(
        fixer,
        safe=False,
        summary=(
            "Removes the SELinux `type`, `user` or `role` that is not allowed. Unsafe because the "
            "workload may need the access it granted."
        ),
        before=_FIX_EXAMPLE,
        after=fixed_pod(
            _FIX_EXAMPLE,
            ("{type: spc_t, level:", "{level:"),
        ),
    ),
)
