"""One copy of each value that many findings and facts repeat (a rule's title and fix, a
file's path, a pointer, a message, a resource). Each worker result arrives in the parent
as copies of its own, and the parent holds every finding until the report: on a large
tree the copies, not the findings, would be most of its memory. A worker sends findings
and facts as rows of their fields (smaller to send, and built once in the parent, from
the values kept)."""

from __future__ import annotations

import copyreg
import io
import pickle
from collections.abc import Callable, Iterable, Sequence
from dataclasses import field, fields
from operator import attrgetter
from typing import Any

from deploysafe.engine.check import Partial
from deploysafe.engine.suppress import Waiver
from deploysafe.frozen import record
from deploysafe.model import Fact, Finding, Resource

# A Finding's or a Fact's fields, in their order.
Row = tuple[Any, ...]
# A result's facts of one rule, each with its waiver: as rows, and built.
FactRows = list[tuple[Row, Waiver | None]]
Facts = list[tuple[Fact, Waiver | None]]


@record(frozen=False)
class Interned:
    """The values kept so far, each once (for one scan)."""

    strings: dict[str, str] = field(default_factory=dict)
    # By kind, namespace and name: a tuple hashes and compares in C, a Resource in Python.
    resources: dict[tuple[str, str | None, str | None], Resource] = field(default_factory=dict)
    names: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    values: dict[Any, Any] = field(default_factory=dict)  # of one result: its facts' parts
    # Whether a fact's file is kept in `strings`, one copy for every fact and finding on
    # it; a spool reading a rule's facts back keeps none (a large tree's facts are mostly
    # each on a file of their own: the table would be every path).
    files_kept: bool = True
    # The file asked for last, and its copy; the resource asked for last, and its copy (a
    # result's findings on one object come together, holding one object sent).
    _last: tuple[str, str] = field(default=("", ""), init=False)
    _last_resource: tuple[Resource | None, Resource | None] = field(
        default=(None, None), init=False
    )

    def text(self, s: str | None) -> str | None:
        return None if s is None else self.strings.setdefault(s, s)

    def resource(self, r: Resource | None) -> Resource | None:
        if r is None:
            return None
        if r is self._last_resource[0]:
            return self._last_resource[1]
        key = (r.kind, r.namespace, r.name)
        kept = self.resources.get(key)
        if kept is None:
            kept = Resource(str(self.text(r.kind)), self.text(r.namespace), self.text(r.name))
            self.resources[key] = kept
        self._last_resource = (r, kept)
        return kept

    def shared(self, v: Any) -> Any:
        """`v` made of the strings kept, all the way down through tuples and frozen
        dataclasses (a label or an account is held once however many facts name it), and
        of the resources kept. Other values are as they are."""
        cls = type(v)
        if cls is str:
            return self.strings.setdefault(v, v)
        if cls is tuple:
            return tuple([self.shared(x) for x in v])
        if cls is Resource:  # one object for a resource's findings and facts
            return self.resource(v)
        names = _frozen_fields(cls)
        if names is None:
            return v
        # Rebuilt without its `__init__`: its fields are set as they are.
        out = object.__new__(cls)
        for name in names:
            object.__setattr__(out, name, self.shared(getattr(v, name)))
        return out

    def fact(self, row: Row) -> Fact:
        """The fact of `row`, built once of the values kept: equal facts of the result
        `values` holds the facts of are one object (decide_sets finds a fact's waiver by
        identity). Keyed by its row: a built fact would hash each level again."""
        try:
            f = self.values.get(row)
        except TypeError:  # a part not hashable: apart, as there
            return self._fact(row)
        if f is None:
            f = self.values[row] = self._fact(row)
        return f

    def facts(self, got: FactRows) -> Facts:
        """`fact` of each row of the result, each with its waiver: a fact's pairs with one
        waiver are one object too (the rules that collect one fact of a document hold it
        once)."""
        out: Facts = []
        values = self.values
        for row, w in got:
            f = self.fact(row)
            # A row is as long as a fact's fields; a pair's key is two long.
            pair = values.get((id(f), w))
            if pair is None:
                pair = values[(id(f), w)] = (f, w)
            out.append(pair)
        return out

    def _fact(self, row: Row) -> Fact:
        v = list(row)
        for i in _FACT_TEXT:
            v[i] = self.text(v[i])
        v[_FACT_FILE] = self._file(row[_FACT_FILE])
        v[_FACT_RESOURCE] = self.resource(v[_FACT_RESOURCE])
        v[_FACT_DATA] = self.shared(v[_FACT_DATA])
        return Fact(*v)

    def _file(self, path: str) -> str:
        if self.files_kept:
            return self.strings.setdefault(path, path)
        if self._last[0] != path:  # a document's facts come together: one copy
            self._last = (path, path)
        return self._last[1]


def _frozen_fields(cls: type) -> tuple[str, ...] | None:
    """The fields of a frozen dataclass, in order; None for any other type."""
    if cls in _FIELDS:
        return _FIELDS[cls]
    params = getattr(cls, "__dataclass_params__", None)
    names = tuple(f.name for f in fields(cls)) if params is not None and params.frozen else None
    _FIELDS[cls] = names
    return names


# By type, asked for each value of each fact: `dataclasses.fields` builds its answer anew.
_FIELDS: dict[type, tuple[str, ...] | None] = {}


@record
class Packed:
    """A worker's result as it is sent: findings as rows, pickled by the worker as the
    parent's spool keeps them (the parent writes them as they come, without reading them),
    with the files they are on; facts as rows, by rule, pickled by the worker (`pickled`);
    `rest` holds the errors, counts and skipped files."""

    findings: bytes  # a pickled list of rows; empty when there are none
    count: int  # of findings
    files: frozenset[str]  # the files the findings are on
    facts: bytes  # a pickled dict of rule to FactRows; empty when there are none
    rest: Partial

    def rows(self) -> list[Row]:
        rows: list[Row] = pickle.loads(self.findings) if self.findings else []
        return rows

    def fact_rows(self) -> dict[str, FactRows]:
        facts: dict[str, FactRows] = pickle.loads(self.facts) if self.facts else {}
        return facts


def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


_FINDING = _names(Finding)
_FACT = _names(Fact)
finding_row = attrgetter(*_FINDING)
fact_row = attrgetter(*_FACT)


def _at(names: tuple[str, ...], *wanted: str) -> tuple[int, ...]:
    return tuple(names.index(n) for n in wanted)


# Which fields are shared, and how. Secrets' hashes and forms are rare and each its own:
# not worth a table entry.
_FINDING_TEXT = _at(_FINDING, "rule_id", "title", "file", "pointer", "message", "fix", "snippet")
_FINDING_NAMES = _at(_FINDING, "renders", "also")
(_FINDING_RESOURCE,) = _at(_FINDING, "resource")
(FILE,) = _at(_FINDING, "file")
_FACT_TEXT = _at(_FACT, "pointer", "snippet", "render")
(_FACT_FILE,) = _at(_FACT, "file")
(_FACT_RESOURCE,) = _at(_FACT, "resource")
(_FACT_DATA,) = _at(_FACT, "data")


def pack(part: Partial) -> Packed:
    rest = Partial(
        errors=part.errors,
        documents=part.documents,
        skipped=part.skipped,
        files=part.files,
        skipped_files=part.skipped_files,
    )
    facts = {rid: [(fact_row(f), w) for f, w in got] for rid, got in part.facts.items()}
    rows = [finding_row(f) for f in part.findings]
    found = pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL) if rows else b""
    sent = pickled(facts) if facts else b""
    return Packed(found, len(rows), frozenset(row[FILE] for row in rows), sent, rest)


def pickled(value: Any) -> bytes:
    """`pickle.dumps(value)`, each frozen slotted dataclass in it as a call of its class
    with its fields (`ByInit`)."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _BY_INIT
    pickler.dump(value)
    return out.getvalue()


class ByInit(dict[type, Callable[[Any], Any]]):
    """A pickler's reducers, by type: a frozen slotted dataclass made by its `__init__`
    from its fields (what the rules' facts hold), which unpickles three times faster than
    as the dataclass pickles it, field by field in Python; any other object as it pickles
    anyway. Found on a type's first object."""

    def __missing__(self, cls: type) -> Callable[[Any], Any]:
        if issubclass(cls, type):
            raise KeyError(cls)  # a class: pickled by name
        reducer = copyreg.dispatch_table.get(cls) or _by_init(cls) or _as_usual
        self[cls] = reducer
        return reducer


def _by_init(cls: type) -> Callable[[Any], Any] | None:
    """How a frozen slotted dataclass is made again by a call of its class, or None when
    a call may make it otherwise (an `__init__` or a `__reduce__` of its own, a field the
    call does not take in order, a `__post_init__`)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not (params.frozen and params.init) or "__slots__" not in vars(cls):
        return None
    if any(getattr(cls, n) is not getattr(object, n) for n in ("__reduce__", "__reduce_ex__")):
        return None
    init = getattr(vars(cls).get("__init__"), "__code__", None)
    if init is None or init.co_filename != "<string>" or hasattr(cls, "__post_init__"):
        return None  # not the `__init__` the dataclass made
    every = fields(cls)
    if not every or any(not f.init or f.kw_only for f in every):
        return None
    values = attrgetter(*(f.name for f in every))
    if len(every) == 1:
        return lambda v: (cls, (values(v),))
    return lambda v: (cls, values(v))


def _as_usual(v: Any) -> Any:
    return v.__reduce_ex__(pickle.HIGHEST_PROTOCOL)


_BY_INIT = ByInit()


def unpack(packed: Packed, seen: Interned, *, findings: bool = True) -> Partial:
    """The worker's result, holding the values `seen` holds already (its findings only
    when asked for: a spool keeps them as they were sent). A document gives the rules that
    judge its role bindings one equal fact each (who its pods run as): they are kept
    once."""
    part = packed.rest
    part.findings = findings_of(packed.rows(), seen) if findings else []
    part.facts = {rid: seen.facts(got) for rid, got in packed.fact_rows().items()}
    # The facts one document gives arrive together: a table per result finds them, and
    # does not grow with the tree.
    seen.values.clear()
    return part


def findings_of(rows: Sequence[Row], seen: Interned) -> list[Finding]:
    """The findings of `rows`, each holding the values `seen` holds already (its strings,
    name tuples and resources): a field of every row at a time, each value looked up by a
    table's own method (a scan takes thousands)."""
    if not rows:
        return []
    columns: list[Iterable[Any]] = list(zip(*rows, strict=True))
    text, names = seen.strings.setdefault, seen.names.setdefault
    for i in _FINDING_TEXT:
        columns[i] = map(text, columns[i], columns[i])
    for i in _FINDING_NAMES:
        columns[i] = map(names, columns[i], columns[i])
    columns[_FINDING_RESOURCE] = map(seen.resource, columns[_FINDING_RESOURCE])
    return [Finding(*v) for v in zip(*columns, strict=True)]


def finding(row: Row, seen: Interned) -> Finding:
    """The finding of one row (`findings_of`)."""
    return findings_of((row,), seen)[0]
