"""Pod Security Standards checks, one module each, as pod-security-admission decides them."""

from __future__ import annotations

from deploysafe.rules.base import Rule
from deploysafe.rules.environment.pss import (
    allow_privilege_escalation,
    app_armor_profile,
    capabilities_baseline,
    capabilities_restricted,
    host_namespaces,
    host_path_volumes,
    host_ports,
    host_probes,
    privileged,
    proc_mount,
    proc_mount_restricted,
    restricted_volumes,
    run_as_non_root,
    run_as_user,
    se_linux_options,
    seccomp_profile_baseline,
    seccomp_profile_restricted,
    sysctls,
    windows_host_process,
)

# In rule-id order: baseline DS201-DS212, restricted DS213-DS219.
PSS_RULES: tuple[Rule, ...] = (
    privileged.RULE,
    host_namespaces.RULE,
    capabilities_baseline.RULE,
    host_path_volumes.RULE,
    host_ports.RULE,
    app_armor_profile.RULE,
    se_linux_options.RULE,
    proc_mount.RULE,
    seccomp_profile_baseline.RULE,
    sysctls.RULE,
    windows_host_process.RULE,
    host_probes.RULE,
    restricted_volumes.RULE,
    run_as_non_root.RULE,
    allow_privilege_escalation.RULE,
    seccomp_profile_restricted.RULE,
    capabilities_restricted.RULE,
    run_as_user.RULE,
    proc_mount_restricted.RULE,
)
