"""The defaults fixes (DS502 automountServiceAccountToken, DS599 readOnlyRootFilesystem) on
real files: every container and pod shape gets the one line it needs, comments and flow
style stay, an explicit opposite setting is left for a human, and a second run changes nothing."""

from __future__ import annotations

from pathlib import Path

from deploysafe.fix import Plan, Selection, Status, plan
from deploysafe.model import Severity
from deploysafe.rules import BY_ID
from tests.support.scantools import scan_tree, write_tree


def _plan(root: Path, rule_id: str, text: str, *, unsafe: bool = True) -> Plan:
    write_tree(root, {"app.yaml": text})
    selection = Selection(Severity.LOW, select=frozenset({rule_id}), unsafe=unsafe)
    return plan(scan_tree(root).findings, BY_ID, root, selection)


def _outcomes(p: Plan) -> list[tuple[int, Status, str]]:
    return [(o.finding.line, o.status, o.reason) for o in p.outcomes]


READ_WRITE = """\
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}  # the shop's worker
spec:
  initContainers:
  - name: init
    image: registry.example/init:1.0
  containers:
  - name: app
    image: registry.example/app:1.0
    # the port the probe uses
    ports:
    - containerPort: 8080
  - name: flow
    image: registry.example/app:1.0
    securityContext: {runAsUser: 1000}
  - name: writes
    image: registry.example/app:1.0
    securityContext:
      readOnlyRootFilesystem: false  # writes its cache to /var/cache
"""


def test_read_only_root_is_set_on_each_container_but_an_explicit_false(tmp_path: Path) -> None:
    p = _plan(tmp_path / "one", "DS599", READ_WRITE)
    want = READ_WRITE.replace(
        "    image: registry.example/init:1.0\n",
        "    image: registry.example/init:1.0\n"
        "    securityContext:\n"
        "      readOnlyRootFilesystem: true\n",
    ).replace(
        "    - containerPort: 8080\n",
        "    - containerPort: 8080\n    securityContext:\n      readOnlyRootFilesystem: true\n",
    )
    want = want.replace(
        "securityContext: {runAsUser: 1000}",
        "securityContext: {runAsUser: 1000, readOnlyRootFilesystem: true}",
    )
    assert [c.after for c in p.changes] == [want]
    fixed = "set securityContext.readOnlyRootFilesystem: true (unsafe)"
    assert sorted(_outcomes(p)) == [
        (6, Status.FIXED, fixed),
        (9, Status.FIXED, fixed),
        (16, Status.FIXED, fixed),
        (20, Status.MANUAL, "no automatic fix for this case"),
    ]
    again = _plan(tmp_path / "two", "DS599", want)
    assert (again.changes, _outcomes(again)) == (
        (),
        [(24, Status.MANUAL, "no automatic fix for this case")],  # 4 lines added above
    )


def test_read_only_root_is_unsafe(tmp_path: Path) -> None:
    p = _plan(tmp_path, "DS599", READ_WRITE, unsafe=False)
    assert p.changes == ()
    assert {o.status for o in p.outcomes} == {Status.UNSAFE, Status.MANUAL}
    assert [o.reason for o in p.outcomes if o.status is Status.UNSAFE] == [
        "unsafe fix (set securityContext.readOnlyRootFilesystem: true): use --unsafe-fixes"
    ] * 3


DEFAULT_SA = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: default  # shared with the jobs
      containers:
      - name: web
        image: registry.example/web:1.0
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec: {restartPolicy: Never, containers: [{name: r, image: "registry.example/r:1.0"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: operator, namespace: shop}
spec:
  automountServiceAccountToken: true
  containers: [{name: op, image: "registry.example/op:1.0"}]
"""


def test_automount_is_turned_off_per_pod_but_an_explicit_true(tmp_path: Path) -> None:
    p = _plan(tmp_path / "one", "DS502", DEFAULT_SA)
    want = DEFAULT_SA.replace(
        "        image: registry.example/web:1.0\n",
        "        image: registry.example/web:1.0\n      automountServiceAccountToken: false\n",
    ).replace(
        '"registry.example/r:1.0"}]}',
        '"registry.example/r:1.0"}], automountServiceAccountToken: false}',
    )
    assert [c.after for c in p.changes] == [want]
    fixed = "set spec.automountServiceAccountToken: false (unsafe)"
    assert sorted(_outcomes(p)) == [
        (9, Status.FIXED, fixed),
        (22, Status.FIXED, fixed),
        (27, Status.MANUAL, "no automatic fix for this case"),
    ]
    again = _plan(tmp_path / "two", "DS502", want)
    assert (again.changes, _outcomes(again)) == (
        (),
        [(28, Status.MANUAL, "no automatic fix for this case")],  # 1 line added above
    )
