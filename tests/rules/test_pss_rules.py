"""The PSS rules one by one: registry shape, examples, version changes, workload kinds, paths."""

from __future__ import annotations

import pytest

from deploysafe.model import LATEST, Document, Level, Version
from deploysafe.rules import BY_ID
from deploysafe.rules.base import Rule
from deploysafe.rules.environment.pss import PSS_RULES
from deploysafe.rules.environment.pss.verdict import active_rules, evaluate
from tests.support.ruletools import docs, run_rule

# (id, PSA check, level, since, overrides) exactly as pod-security-admission registers them.
EXPECTED = [
    ("DS201", "privileged", Level.BASELINE, (1, 0), None),
    ("DS202", "hostNamespaces", Level.BASELINE, (1, 0), None),
    ("DS203", "capabilities_baseline", Level.BASELINE, (1, 0), None),
    ("DS204", "hostPathVolumes", Level.BASELINE, (1, 0), None),
    ("DS205", "hostPorts", Level.BASELINE, (1, 0), None),
    ("DS206", "appArmorProfile", Level.BASELINE, (1, 0), None),
    ("DS207", "seLinuxOptions", Level.BASELINE, (1, 0), None),
    ("DS208", "procMount", Level.BASELINE, (1, 0), None),
    ("DS209", "seccompProfile_baseline", Level.BASELINE, (1, 0), None),
    ("DS210", "sysctls", Level.BASELINE, (1, 0), None),
    ("DS211", "windowsHostProcess", Level.BASELINE, (1, 0), None),
    ("DS212", "hostProbesAndHostLifecycle", Level.BASELINE, (1, 34), None),
    ("DS213", "restrictedVolumes", Level.RESTRICTED, (1, 0), "hostPathVolumes"),
    ("DS214", "runAsNonRoot", Level.RESTRICTED, (1, 0), None),
    ("DS215", "allowPrivilegeEscalation", Level.RESTRICTED, (1, 8), None),
    ("DS216", "seccompProfile_restricted", Level.RESTRICTED, (1, 19), "seccompProfile_baseline"),
    ("DS217", "capabilities_restricted", Level.RESTRICTED, (1, 22), "capabilities_baseline"),
    ("DS218", "runAsUser", Level.RESTRICTED, (1, 23), None),
    ("DS219", "procMount_restricted", Level.RESTRICTED, (1, 35), "procMount"),
]


def test_registry_matches_psa() -> None:
    got = [
        (r.id, r.pss.check, r.pss.level, r.pss.since, r.pss.overrides)
        for r in PSS_RULES
        if r.pss is not None
    ]
    assert got == EXPECTED
    assert all(BY_ID[r.id] is r for r in PSS_RULES)


def test_active_checks_per_version() -> None:
    def checks(level: Level, version: Version) -> set[str]:
        return {r.pss.check for r in active_rules(PSS_RULES, level, version) if r.pss}

    assert len(checks(Level.BASELINE, (1, 0))) == 11
    assert "hostProbesAndHostLifecycle" in checks(Level.BASELINE, (1, 34))
    assert "hostProbesAndHostLifecycle" not in checks(Level.BASELINE, (1, 33))
    r118 = checks(Level.RESTRICTED, (1, 18))
    assert {"seccompProfile_baseline", "capabilities_baseline", "procMount"} <= r118
    assert "hostPathVolumes" not in r118
    r_latest = checks(Level.RESTRICTED, LATEST)
    assert not {"seccompProfile_baseline", "capabilities_baseline", "procMount"} & r_latest
    assert len(r_latest) == 15


def _pod_docs(text: str) -> list[Document]:
    return [d for d in docs(text) if d.kind != "Namespace"]


@pytest.mark.parametrize("rule", PSS_RULES, ids=lambda r: r.id)
def test_bad_example_breaks_only_its_check(rule: Rule) -> None:
    assert rule.pss is not None
    (doc,) = _pod_docs(rule.bad)
    verdict = evaluate(PSS_RULES, doc, rule.pss.level, LATEST)
    assert not verdict.allowed
    assert verdict.checks == {rule.pss.check}


@pytest.mark.parametrize("rule", PSS_RULES, ids=lambda r: r.id)
def test_good_example_is_allowed_at_its_level(rule: Rule) -> None:
    assert rule.pss is not None
    (doc,) = _pod_docs(rule.good)
    verdict = evaluate(PSS_RULES, doc, rule.pss.level, LATEST)
    assert verdict.allowed, [v.message for _, v in verdict.failures]


@pytest.mark.parametrize("rule", PSS_RULES, ids=lambda r: r.id)
def test_history_is_ordered_and_versioned(rule: Rule) -> None:
    versions = [v for v, _ in rule.history]
    assert all(v.startswith("v1.") for v in versions)
    assert versions == sorted(versions, key=lambda v: int(v.split(".")[1]))


# ---------------------------------------------------------------- version behaviour

POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: p}}
spec:
{spec}"""


def _count(rule_id: str, spec: str, version: Version, level: Level = Level.RESTRICTED) -> int:
    return len(run_rule(BY_ID[rule_id], POD.format(spec=spec), level, version))


SYSCTL = (
    "  securityContext:\n    sysctls: [{{name: {0}, value: '1'}}]\n  containers: [{{name: a}}]\n"
)


@pytest.mark.parametrize(
    ("name", "first_allowed"),
    [
        ("kernel.shm_rmid_forced", (1, 0)),
        ("net.ipv4.ip_local_reserved_ports", (1, 27)),
        ("net.ipv4.tcp_keepalive_probes", (1, 29)),
        ("net.ipv4.tcp_wmem", (1, 32)),
        ("net.ipv4.tcp_notsent_lowat", (1, 37)),
        ("kernel.msgmax", None),
    ],
)
def test_sysctls_grow_by_version(name: str, first_allowed: Version | None) -> None:
    spec = SYSCTL.format(name)
    if first_allowed is None:
        assert _count("DS210", spec, LATEST) == 1
        return
    assert _count("DS210", spec, first_allowed) == 0
    if first_allowed > (1, 0):
        assert _count("DS210", spec, (1, first_allowed[1] - 1)) == 1


def test_selinux_container_engine_t_from_1_31() -> None:
    spec = (
        "  containers:\n  - name: a\n    securityContext:\n"
        "      seLinuxOptions: {type: container_engine_t}\n"
    )
    assert _count("DS207", spec, (1, 30)) == 1
    assert _count("DS207", spec, (1, 31)) == 0


def test_selinux_user_and_role_and_level() -> None:
    spec = (
        "  securityContext:\n    seLinuxOptions: {user: system_u, role: sysadm_r, level: s0}\n"
        "  containers: [{name: a}]\n"
    )
    found = run_rule(BY_ID["DS207"], POD.format(spec=spec))
    assert [v.path[-1] for _, v in found] == ["user", "role"]


def test_seccomp_annotations_before_1_19_fields_after() -> None:
    annotated = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    seccomp.security.alpha.kubernetes.io/pod: unconfined
    container.seccomp.security.alpha.kubernetes.io/a: localhost/profile.json
spec:
  containers: [{name: a}]
"""
    assert len(run_rule(BY_ID["DS209"], annotated, Level.BASELINE, (1, 18))) == 1
    assert run_rule(BY_ID["DS209"], annotated, Level.BASELINE, (1, 19)) == []
    field = (
        "  securityContext:\n    seccompProfile: {type: Unconfined}\n  containers: [{name: a}]\n"
    )
    assert _count("DS209", field, (1, 18), Level.BASELINE) == 0
    assert _count("DS209", field, (1, 19), Level.BASELINE) == 1


WINDOWS = "  os: {name: windows}\n  containers: [{name: a}]\n"


@pytest.mark.parametrize("rule_id", ["DS215", "DS216", "DS217"])
def test_windows_pods_exempt_from_1_25(rule_id: str) -> None:
    assert _count(rule_id, WINDOWS, (1, 24)) == 1
    assert _count(rule_id, WINDOWS, (1, 25)) == 0


USERNS = (
    "  hostUsers: false\n  securityContext: {runAsUser: 0}\n"
    "  containers:\n  - name: a\n    securityContext: {procMount: Unmasked}\n"
)


@pytest.mark.parametrize("rule_id", ["DS208", "DS214", "DS218"])
def test_user_namespaces_relax_from_1_35(rule_id: str) -> None:
    assert _count(rule_id, USERNS, (1, 34)) == 1
    assert _count(rule_id, USERNS, (1, 35)) == 0


def test_proc_mount_restricted_ignores_user_namespaces() -> None:
    assert _count("DS219", USERNS, (1, 35)) == 1


def test_host_probes_and_lifecycle() -> None:
    spec = """\
  containers:
  - name: a
    readinessProbe: {tcpSocket: {host: 10.0.0.1, port: 80}}
    lifecycle:
      preStop: {httpGet: {host: "", port: 80}}
      postStart: {httpGet: {host: example.com, port: 80}}
"""
    found = run_rule(BY_ID["DS212"], POD.format(spec=spec))
    assert [v.path for _, v in found] == [
        ("spec", "containers", 0, "readinessProbe", "tcpSocket", "host"),
        ("spec", "containers", 0, "lifecycle", "postStart", "httpGet", "host"),
    ]
    assert "'example.com'" in found[1][1].message


# ---------------------------------------------------------------- messages and paths


def test_capability_message_and_path() -> None:
    spec = (
        "  containers:\n  - name: app\n    securityContext:\n"
        "      capabilities: {add: [CHOWN, SYS_ADMIN]}\n"
    )
    ((line, v),) = run_rule(BY_ID["DS203"], POD.format(spec=spec), Level.BASELINE)
    assert v.message == "container 'app' adds capability SYS_ADMIN"
    assert v.path == ("spec", "containers", 0, "securityContext", "capabilities", "add", 1)
    assert line == 8


def test_unset_fields_point_at_the_nearest_parent() -> None:
    text = """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: app
    image: x
  initContainers:
  - name: init
    securityContext:
      runAsUser: 1000
"""
    for rule_id in ("DS214", "DS215", "DS216", "DS217"):
        lines = [line for line, _ in run_rule(BY_ID[rule_id], text)]
        assert lines == [10, 6], rule_id  # init's securityContext, app's container


def test_run_as_non_root_pod_level_is_inherited() -> None:
    spec = (
        "  securityContext: {runAsNonRoot: true}\n"
        "  containers:\n  - name: a\n  - name: b\n    securityContext: {runAsNonRoot: false}\n"
    )
    found = run_rule(BY_ID["DS214"], POD.format(spec=spec))
    assert [v.message for _, v in found] == ["container 'b' sets runAsNonRoot: false"]


def test_seccomp_container_profile_satisfies_restricted() -> None:
    spec = (
        "  containers:\n  - name: a\n    securityContext:\n"
        "      seccompProfile: {type: Localhost, localhostProfile: p.json}\n"
    )
    assert _count("DS216", spec, LATEST) == 0


def test_ephemeral_containers_are_checked() -> None:
    spec = (
        "  containers: [{name: a}]\n"
        "  ephemeralContainers:\n  - name: debug\n    securityContext: {privileged: true}\n"
    )
    ((_, v),) = run_rule(BY_ID["DS201"], POD.format(spec=spec))
    assert v.message == "ephemeral container 'debug' runs privileged"


def test_volume_without_source_defaults_to_empty_dir() -> None:
    spec = "  containers: [{name: a}]\n  volumes:\n  - name: scratch\n  - name: n\n    nfs: {}\n"
    ((_, v),) = run_rule(BY_ID["DS213"], POD.format(spec=spec))
    assert v.path == ("spec", "volumes", 1, "nfs")
    assert v.message == "volume 'n' has restricted type nfs"


# ---------------------------------------------------------------- workload kinds

WORKLOADS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      hostPID: true
      containers: [{name: web}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 1 * * *"
  jobTemplate:
    spec:
      template:
        metadata:
          annotations:
            container.apparmor.security.beta.kubernetes.io/job: unconfined
        spec:
          containers:
          - name: job
            securityContext: {privileged: true}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: canary}
spec:
  template:
    spec:
      containers:
      - name: canary
        ports: [{containerPort: 80, hostPort: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  template:
    spec:
      volumes: [{name: data, hostPath: {path: /srv}}]
      containers: [{name: db}]
"""


def test_workload_kinds_are_checked() -> None:
    (dep, cron, rollout, sts) = docs(WORKLOADS)
    found = {}
    for doc in (dep, cron, rollout, sts):
        verdict = evaluate(PSS_RULES, doc, Level.BASELINE, LATEST)
        found[doc.kind] = {(r.id, v.path) for r, v in verdict.failures}
    assert found["Deployment"] == {("DS202", ("spec", "template", "spec", "hostPID"))}
    cron_tmpl = ("spec", "jobTemplate", "spec", "template")
    assert found["CronJob"] == {
        ("DS201", (*cron_tmpl, "spec", "containers", 0, "securityContext", "privileged")),
        (
            "DS206",
            (
                *cron_tmpl,
                "metadata",
                "annotations",
                "container.apparmor.security.beta.kubernetes.io/job",
            ),
        ),
    }
    assert found["Rollout"] == {
        ("DS205", ("spec", "template", "spec", "containers", 0, "ports", 0, "hostPort"))
    }
    assert found["StatefulSet"] == {
        ("DS204", ("spec", "template", "spec", "volumes", 0, "hostPath"))
    }


def test_workload_lines() -> None:
    lines = {
        (rule_id, line)
        for rule_id in ("DS201", "DS202", "DS204", "DS205", "DS206")
        for line, _ in run_rule(BY_ID[rule_id], WORKLOADS, Level.BASELINE)
    }
    assert lines == {("DS202", 7), ("DS206", 20), ("DS201", 24), ("DS205", 34), ("DS204", 42)}


def test_non_pod_kinds_are_ignored() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {hostPID: 'true'}\n"
    (doc,) = docs(text)
    assert evaluate(PSS_RULES, doc, Level.RESTRICTED, LATEST).allowed
