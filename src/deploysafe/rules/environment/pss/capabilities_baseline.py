"""PSS baseline `capabilities_baseline`: containers may add only the default capability set."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import as_list, as_map
from deploysafe.model import Document, KeyPath, Level, Practice, PssRef, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Fix, Rule
from deploysafe.rules.environment.pss._common import (
    BASELINE_NAMESPACE,
    POD_HEAD,
    fixed_pod,
    pod_and_containers,
    remove,
    sc_path,
)

# The capabilities container runtimes grant by default: adding them back changes nothing.
ALLOWED = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    found = pod_and_containers(doc)
    if found is None:
        return
    for c in found[1]:
        added = as_list(as_map(c.security_context.get("capabilities")).get("add"))
        for i, cap in enumerate(added):
            if not isinstance(cap, str) or cap not in ALLOWED:
                yield Violation(
                    sc_path(c, "capabilities", "add", i), f"{c.label} adds capability {cap}"
                )


def fixer(doc: Document, path: KeyPath) -> Fix:
    return remove(path, list_item=True)


# The rule page's bad example, and the document its automatic fix is shown on.
_EXAMPLE = (
    BASELINE_NAMESPACE
    + POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      capabilities:
        add: [NET_BIND_SERVICE, SYS_ADMIN]
"""
)


RULE = Rule(
    id="DS203",
    title="Containers must not add capabilities beyond the default set",
    practice=Practice.ENVIRONMENT,
    severity=Severity.HIGH,
    target=Target.KUBERNETES,
    pod_only=True,
    check=check,
    why=(
        "Capabilities such as SYS_ADMIN, NET_ADMIN, SYS_PTRACE or SYS_MODULE are pieces of root: "
        "they let a process mount filesystems, reconfigure the node's network, trace other "
        "processes or load kernel modules, which is how most container escapes start."
    ),
    fix="Remove the capability from `securityContext.capabilities.add`; only AUDIT_WRITE, "
    "CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, "
    "SETPCAP, SETUID and SYS_CHROOT may be added.",
    bad=_EXAMPLE,
    good=BASELINE_NAMESPACE
    + POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      capabilities:
        add: [NET_BIND_SERVICE]
""",
    references=(
        "PSS baseline: Capabilities",
        "CIS Kubernetes 5.2.9",
        "Checkov CKV_K8S_25, CKV_K8S_39",
        "Trivy KSV-0005, KSV-0022",
        "Kubescape C-0046",
    ),
    pss=PssRef(Level.BASELINE, "capabilities_baseline"),
    autofix=AutoFix(
        fixer,
        safe=False,
        summary=(
            "Removes the capability from `capabilities.add` (and `add` when it empties). Unsafe "
            "because the workload may need it."
        ),
        after=fixed_pod(
            _EXAMPLE,
            ("[NET_BIND_SERVICE, SYS_ADMIN]", "[NET_BIND_SERVICE]"),
        ),
    ),
)
