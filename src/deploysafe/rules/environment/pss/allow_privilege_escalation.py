"""PSS restricted `allowPrivilegeEscalation`: containers must forbid privilege escalation."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import as_list, as_map
from deploysafe.model import Document, KeyPath, Level, Practice, PssRef, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Edit, EditOp, Fix, Rule
from deploysafe.rules.environment.pss._common import (
    POD_HEAD,
    fixed_pod,
    pod_and_containers,
    restricted_pod,
    sc_path,
    set_to,
    value_at,
    windows_exempt,
)


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    found = pod_and_containers(doc)
    if found is None:
        return
    pod, ctrs = found
    # Windows has no setuid: the API even rejects the field there (exempt from 1.25).
    if windows_exempt(pod, ctx):
        return
    for c in ctrs:
        value = c.security_context.get("allowPrivilegeEscalation")
        if value is not False:
            what = "allows" if value is True else "does not forbid"
            yield Violation(
                sc_path(c, "allowPrivilegeEscalation"),
                f"{c.label} {what} privilege escalation (allowPrivilegeEscalation must be false)",
            )


def fixer(doc: Document, path: KeyPath) -> Fix:
    sc = as_map(value_at(doc, path[:-1]))
    fix = set_to(path, False, "false", safe=True)
    # The API rejects allowPrivilegeEscalation: false beside privileged or CAP_SYS_ADMIN.
    clashes = [Edit(EditOp.DELETE, (*path[:-1], "privileged"))] if sc.get("privileged") else []
    added = as_list(as_map(sc.get("capabilities")).get("add"))
    clashes += [
        Edit(EditOp.DELETE, (*path[:-1], "capabilities", "add", i))
        for i, cap in enumerate(added)
        if cap in ("SYS_ADMIN", "CAP_SYS_ADMIN")
    ]
    if not clashes:
        return fix
    return Fix(
        (*fix.edits, *clashes),
        False,
        fix.description + " and remove privileged / SYS_ADMIN, which the API forbids with it",
    )


# The document the rule page shows the automatic fix on.
_FIX_EXAMPLE = (
    POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      capabilities: {drop: [ALL]}
"""
)


RULE = Rule(
    id="DS215",
    title="Containers must set allowPrivilegeEscalation: false",
    practice=Practice.ENVIRONMENT,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES,
    pod_only=True,
    check=check,
    why=(
        "Unless told otherwise, a process can gain more privileges than its parent through "
        "setuid binaries or file capabilities (sudo, ping, a planted binary). "
        "`allowPrivilegeEscalation: false` sets no_new_privs, closing that path; the default "
        "is to allow it, so it must be set explicitly."
    ),
    fix="Set `securityContext.allowPrivilegeEscalation: false` on every container, init "
    "container and ephemeral container.",
    bad=restricted_pod(container_sc=("capabilities: {drop: [ALL]}",)),
    good=restricted_pod(),
    references=(
        "PSS restricted: Privilege Escalation",
        "CIS Kubernetes 5.2.6",
        "Checkov CKV_K8S_20",
        "kube-linter privilege-escalation-container",
        "Trivy KSV-0001",
        "Kubescape C-0016",
    ),
    pss=PssRef(Level.RESTRICTED, "allowPrivilegeEscalation", since=(1, 8)),
    history=(
        ("v1.8", "allowPrivilegeEscalation must be explicitly false"),
        ("v1.25", "pods with spec.os.name: windows are exempt"),
    ),
    autofix=AutoFix(
        fixer,
        safe=True,
        summary=(
            "Sets `allowPrivilegeEscalation: false` on the container. Safe because it only stops "
            "setuid binaries and file capabilities from raising privileges; unsafe where the "
            "container is privileged or adds SYS_ADMIN, which the fix then removes (the API "
            "rejects the pair)."
        ),
        before=_FIX_EXAMPLE,
        after=fixed_pod(
            _FIX_EXAMPLE,
            (
                "      capabilities: {drop: [ALL]}\n",
                "      capabilities: {drop: [ALL]}\n      allowPrivilegeEscalation: false\n",
            ),
        ),
    ),
)
