"""PSS baseline `sysctls`: only namespaced, isolated ("safe") sysctls may be set."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import as_list, as_map, pod_template
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
    pod_sc_path,
    remove,
)

# The safe set grows as the kernel namespaces more of net.ipv4: (since, names).
_SAFE: tuple[tuple[Version, frozenset[str]], ...] = (
    (
        (1, 0),
        frozenset(
            {
                "kernel.shm_rmid_forced",
                "net.ipv4.ip_local_port_range",
                "net.ipv4.tcp_syncookies",
                "net.ipv4.ping_group_range",
                "net.ipv4.ip_unprivileged_port_start",
            }
        ),
    ),
    ((1, 27), frozenset({"net.ipv4.ip_local_reserved_ports"})),
    (
        (1, 29),
        frozenset(
            {
                "net.ipv4.tcp_keepalive_time",
                "net.ipv4.tcp_fin_timeout",
                "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes",
            }
        ),
    ),
    ((1, 32), frozenset({"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"})),
    ((1, 37), frozenset({"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"})),
)


def safe_sysctls(version: Version) -> frozenset[str]:
    return frozenset().union(*(names for since, names in _SAFE if since <= version))


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    pod = pod_template(doc)
    if pod is None:
        return
    safe = safe_sysctls(ctx.pss_version)
    for i, sysctl in enumerate(as_list(pod.security_context.get("sysctls"))):
        name = as_map(sysctl).get("name")
        if not isinstance(name, str) or name not in safe:
            yield Violation(
                pod_sc_path(pod, "sysctls", i, "name"), f"pod sets unsafe sysctl {name}"
            )


def fixer(doc: Document, path: KeyPath) -> Fix:
    return remove(path[:-1], list_item=True)


# The document the rule page shows the automatic fix on.
_FIX_EXAMPLE = (
    POD_HEAD
    + """\
spec:
  securityContext:
    sysctls:
    - {name: net.ipv4.ip_local_port_range, value: "1024 65535"}
    - {name: kernel.msgmax, value: "65536"}
  containers:
  - name: app
    image: registry.example/app:1.0
"""
)


RULE = Rule(
    id="DS210",
    title="Pods may set only safe sysctls",
    practice=Practice.ENVIRONMENT,
    severity=Severity.HIGH,
    target=Target.KUBERNETES,
    pod_only=True,
    check=check,
    why=(
        "Most kernel parameters are not isolated per pod: setting them from a pod changes the "
        "node for every workload on it, or can exhaust kernel resources. Only the namespaced "
        "sysctls in the safe list are isolated."
    ),
    fix="Remove the sysctl from `spec.securityContext.sysctls`, or set it on the node; the "
    "safe set is kernel.shm_rmid_forced and a list of net.ipv4.* parameters that grows with "
    "the policy version.",
    bad=POD_HEAD
    + """\
spec:
  securityContext:
    sysctls:
    - {name: kernel.msgmax, value: "65536"}
  containers:
  - name: app
    image: registry.example/app:1.0
""",
    good=POD_HEAD
    + """\
spec:
  securityContext:
    sysctls:
    - {name: net.ipv4.ip_local_port_range, value: "1024 65535"}
  containers:
  - name: app
    image: registry.example/app:1.0
""",
    references=(
        "PSS baseline: Sysctls",
        "kube-linter unsafe-sysctls",
        "Trivy KSV-0026",
        "Kubescape C-0211",
    ),
    pss=PssRef(Level.BASELINE, "sysctls"),
    history=(
        (
            "v1.0",
            "kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, net.ipv4.tcp_syncookies, "
            "net.ipv4.ping_group_range, net.ipv4.ip_unprivileged_port_start",
        ),
        ("v1.27", "+ net.ipv4.ip_local_reserved_ports"),
        (
            "v1.29",
            "+ net.ipv4.tcp_keepalive_time, tcp_fin_timeout, tcp_keepalive_intvl, "
            "tcp_keepalive_probes",
        ),
        ("v1.32", "+ net.ipv4.tcp_rmem, net.ipv4.tcp_wmem"),
        ("v1.37", "+ net.ipv4.tcp_slow_start_after_idle, net.ipv4.tcp_notsent_lowat"),
    ),
    autofix=AutoFix(
        fixer,
        safe=False,
        summary=(
            "Removes the unsafe sysctl from `spec.securityContext.sysctls` (and `sysctls` when it "
            "empties). Unsafe because the workload may depend on it; set it on the node instead."
        ),
        before=_FIX_EXAMPLE,
        after=fixed_pod(
            _FIX_EXAMPLE,
            ('    - {name: kernel.msgmax, value: "65536"}\n', ""),
        ),
    ),
)
