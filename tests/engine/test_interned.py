"""Values that many findings and facts repeat are held once in the parent, however many
worker results they arrive in."""

from __future__ import annotations

import pickle
from pathlib import Path

from deploysafe.config import Config
from deploysafe.engine import scan
from deploysafe.engine.check import Partial
from deploysafe.engine.interned import Interned, share
from deploysafe.model import Fact, Finding, Practice, Resource, Severity

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: shop
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      privileged: true
"""


def _finding(file: str, line: int) -> Finding:
    return Finding(
        rule_id="DS201",
        title="Containers must not run privileged",
        practice=Practice(2),
        severity=Severity.CRITICAL,
        file=file,
        line=line,
        column=7,
        pointer="/spec/containers/0/securityContext/privileged",
        resource=Resource("Pod", "shop", "app"),
        message="container `app` runs privileged",
        fix="Remove `privileged: true`.",
        snippet="privileged: true",
        renders=("kustomize overlays/prod",),
    )


def _copies(part: Partial) -> Partial:
    """`part` as a worker's result arrives: every value a copy of its own."""
    back = pickle.loads(pickle.dumps(part))
    assert isinstance(back, Partial)
    return back


def _fact(file: str) -> Fact:
    return Fact(file, 3, 1, "/metadata/namespace", Resource("ConfigMap", None, "c"), "data", "x")


def test_equal_values_from_two_results_are_one_object() -> None:
    seen = Interned()
    parts = []
    for _ in range(2):
        part = _copies(
            Partial(
                findings=[_finding("a.yaml", 11), _finding("b.yaml", 11)],
                facts={"DS511": [(_fact("a.yaml"), None)]},
            )
        )
        share(part, seen)
        parts.append(part)
    one, two = parts[0].findings[0], parts[1].findings[1]
    assert one == _finding("a.yaml", 11)
    assert two == _finding("b.yaml", 11)
    for name in ("rule_id", "title", "pointer", "resource", "message", "fix", "snippet"):
        assert getattr(one, name) is getattr(two, name), name
    assert one.renders is two.renders
    assert parts[0].findings[0].file is parts[1].findings[0].file
    first, second = parts[0].facts["DS511"][0][0], parts[1].facts["DS511"][0][0]
    assert first == second == _fact("a.yaml")
    assert first.file is second.file and first.resource is second.resource
    assert first.file is one.file


def test_a_parallel_scan_holds_each_repeated_value_once(tmp_path: Path) -> None:
    for i in range(60):
        # Large enough that the scan uses worker processes.
        (tmp_path / f"p{i}.yaml").write_text(POD + "---\n" + "#" * 40000)
    report = scan([tmp_path], Config(), root=tmp_path, jobs=2)
    privileged = [f for f in report.findings if f.rule_id == "DS201"]
    assert len(privileged) == 60
    assert len({id(f.title) for f in privileged}) == 1
    assert len({id(f.pointer) for f in privileged}) == 1
    assert len({id(f.resource) for f in privileged}) == 1
