"""Values that many findings and facts repeat are held once in the parent, however many
worker results they arrive in."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from deploysafe.config import Config
from deploysafe.engine import scan
from deploysafe.engine.check import Partial, Skipped
from deploysafe.engine.interned import Interned, pack, unpack
from deploysafe.engine.suppress import Waiver
from deploysafe.inputs.discover import Reason
from deploysafe.model import (
    Fact,
    Finding,
    Level,
    Practice,
    PssRef,
    Resource,
    ScanError,
    SetBy,
    Severity,
    Suppression,
)
from deploysafe.rules.defaults.network_policy import Workload

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


def _sent(part: Partial, seen: Interned) -> Partial:
    """`part` as a worker sends it and the parent takes it: every value a copy of its own
    on the way."""
    return unpack(pickle.loads(pickle.dumps(pack(part))), seen)


def _fact(file: str) -> Fact:
    return Fact(file, 3, 1, "/metadata/namespace", Resource("ConfigMap", None, "c"), "data", "x")


def test_equal_values_from_two_results_are_one_object() -> None:
    seen = Interned()
    parts = []
    for _ in range(2):
        part = Partial(
            findings=[_finding("a.yaml", 11), _finding("b.yaml", 11)],
            facts={"DS511": [(_fact("a.yaml"), None)]},
        )
        parts.append(_sent(part, seen))
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


def test_the_facts_one_document_gives_several_rules_are_one_object() -> None:
    labels = (("app", "web"), ("tier", "front"))
    data = Workload("shop", labels, False, "folder ./")
    facts: dict[str, list[tuple[Fact, Waiver | None]]] = {
        rid: [(replace(_fact("a.yaml"), data=data, pointer="/spec/template/spec"), None)]
        for rid in ("DS230", "DS233", "DS298")
    }
    seen = Interned()
    part = _sent(Partial(facts=facts), seen)
    later = _sent(Partial(facts={"DS509": [(replace(_fact("b.yaml"), data=data), None)]}), seen)
    kept = [part.facts[rid][0] for rid in ("DS230", "DS233", "DS298")]
    assert kept[0] == (facts["DS230"][0][0], None)
    assert kept[0] is kept[1] is kept[2]
    other = later.facts["DS509"][0][0]
    assert other.data == data
    # Across results, the strings are shared all the way down.
    assert other.data.labels[1][1] is kept[0][0].data.labels[1][1]
    assert other.data.install is kept[0][0].data.install


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


def _every_field_set() -> Finding:
    """A finding with every optional field given a value."""
    return replace(
        _finding("a.yaml", 3),
        pss=PssRef(Level.BASELINE, "privileged"),
        suppressed=Suppression("inline", "a reason", "2030-01-01"),
        secret_hash="0" * 64,
        other_hashes=("1" * 64,),
        redacted="AKIA…(20)",
        set_by=(SetBy("values.yaml", 4, 3, "securityContext.privileged"),),
        also=("DS202",),
        occurrence=2,
    )


def test_every_field_survives_the_way() -> None:
    full = _every_field_set()
    part = Partial(
        findings=[full],
        errors=[ScanError("b.yaml", 1, "invalid YAML")],
        facts={"DS511": [(replace(_fact("a.yaml"), data={"k": 1}, render="chart c"), None)]},
        documents=3,
        skipped=1,
        files=2,
        skipped_files=Skipped({"c.png": Reason.BINARY}),
    )
    back = _sent(part, Interned())
    assert back == part


def test_values_pickled_as_calls_carry_every_field() -> None:
    """Resource, PssRef, SetBy and Suppression pickle as a call of the class with their
    fields: a field added to one must be added to its `__reduce__` too."""
    for value in (
        Resource("Pod", "shop", "app"),
        PssRef(Level.RESTRICTED, "capabilities_restricted", (1, 25), "capabilities_baseline"),
        SetBy("values.yaml", 4, 3, "image.tag"),
        Suppression("config", "a reason", "2030-01-01"),
    ):
        cls, args = value.__reduce__()
        assert cls is type(value)
        assert args == tuple(getattr(value, f.name) for f in fields(value))
        assert pickle.loads(pickle.dumps(value)) == value


@dataclass(frozen=True, slots=True)
class _Plain:
    name: str
    labels: tuple[tuple[str, str], ...] = ()
    inner: _Plain | None = None


@dataclass(frozen=True, slots=True)
class _Checked:
    name: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name.upper())


@dataclass(frozen=True, slots=True)
class _Later:
    name: str
    count: int = field(default=0, init=False)
    rest: tuple[str, ...] = field(default=(), kw_only=True)


@dataclass(frozen=True)
class _Open:
    name: str


def test_facts_are_pickled_by_their_classes_call_as_pickle_gives_them() -> None:
    """A fact's frozen slotted dataclasses cross as calls of their class (faster to take);
    one whose call may make it otherwise, and every other value, as pickle sends it."""
    from deploysafe.engine.interned import ByInit, pickled

    values = [
        _Plain("a", (("k", "v"),), _Plain("b")),
        _Checked("made"),
        replace(_Later("x", rest=("r",))),
        _Open("open"),
        Workload("shop", (("app", "web"),), True),
        Resource("Pod", "shop", "app"),
        Severity.HIGH,
        {"k": [1, 2.5, None, True, b"x", frozenset({"s"})]},
        _Plain,
        Reason.BINARY,
    ]
    for value in values:
        assert pickle.loads(pickled(value)) == pickle.loads(pickle.dumps(value)), value
    reducers = ByInit()
    assert reducers[_Plain](_Plain("a", (), None)) == (_Plain, ("a", (), None))
    others = (
        _Checked("made"),
        _Later("x"),
        _Open("open"),
        Severity.HIGH,
        Resource("Pod", "a", "b"),
    )
    for value in others:
        assert reducers[type(value)](value) == value.__reduce_ex__(pickle.HIGHEST_PROTOCOL)


def test_findings_taken_in_bulk_are_those_taken_one_by_one() -> None:
    """`findings_of` (the tables' lookups bound once) makes the findings `finding` makes with
    `Finding(...)`, sharing the values kept alike."""
    from deploysafe.engine.interned import finding, finding_row, findings_of

    full = _every_field_set()
    rows = [finding_row(f) for f in (full, _finding("b.yaml", 1), replace(full, resource=None))]
    sent = pickle.loads(pickle.dumps(rows))
    one, bulk = Interned(), Interned()
    by_one = [finding(row, one) for row in sent]
    in_bulk = findings_of(pickle.loads(pickle.dumps(rows)), bulk)
    assert in_bulk == by_one == [Finding(*row) for row in rows]
    assert [hash(f) for f in in_bulk] == [hash(f) for f in by_one]
    assert in_bulk[0].title is in_bulk[1].title and in_bulk[0].renders is in_bulk[1].renders
    assert one.strings == bulk.strings and one.resources == bulk.resources
