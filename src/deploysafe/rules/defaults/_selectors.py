"""Label selectors of the network policy kinds DS509 reads: Kubernetes' LabelSelector (also
used by AdminNetworkPolicy and, with source prefixes on its keys, by Cilium) and Calico's
selector expressions (`app == 'web' && has(tier)`).

Every selector here is a small frozen value (facts cross process boundaries); Calico
expressions are kept as text and parsed once per process when matched.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from deploysafe.frozen import record
from deploysafe.k8s.pods import as_list, as_map
from deploysafe.lazy import on_first_use

Labels = tuple[tuple[str, str], ...]


class Selector(Protocol):
    def matches(self, labels: Mapping[str, str]) -> bool: ...


def labels_of(raw: Any) -> Labels:
    return tuple(sorted((str(k), str(v)) for k, v in as_map(raw).items()))


@record
class Requirement:
    """One requirement of a label selector: key, operator and values."""

    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist
    values: tuple[str, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return labels.get(self.key) in self.values
        if self.operator == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        return False  # the API server rejects other operators: such a selector selects nothing


# Cilium writes label keys with their source (`k8s:app`, `any:app`); a pod's labels come
# from the `k8s` source, so `k8s:` and `any:` keys match them. `reserved:` and other
# sources never name a pod's label: kept as written, they match nothing.
_POD_SOURCES = ("k8s:", "any:")


def _unprefixed(key: str) -> str:
    for prefix in _POD_SOURCES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


@record
class LabelSelector:
    """A metav1.LabelSelector; the empty selector selects everything."""

    match_labels: Labels = ()
    match_expressions: tuple[Requirement, ...] = ()

    @classmethod
    def parse(cls, raw: Any, *, cilium: bool = False) -> LabelSelector:
        raw = as_map(raw)
        key: Callable[[str], str] = _unprefixed if cilium else str
        exprs = []
        for item in as_list(raw.get("matchExpressions")):
            e = as_map(item)
            values = tuple(str(v) for v in as_list(e.get("values")))
            exprs.append(
                Requirement(key(str(e.get("key", ""))), str(e.get("operator", "")), values)
            )
        wanted = tuple(sorted((key(k), v) for k, v in labels_of(raw.get("matchLabels"))))
        return cls(wanted, tuple(exprs))

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels) and all(
            r.matches(labels) for r in self.match_expressions
        )


@record
class CalicoSelector:
    """A Calico selector expression; an empty one is `all()`. One Calico rejects (it does
    not parse) selects nothing, as the policy is never admitted."""

    source: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        predicate = _compile(self.source)
        return predicate is not None and predicate(labels)


Predicate = Callable[[Mapping[str, str]], bool]


_token = on_first_use(
    r"""\s*(?:
        (?P<str>'[^']*'|"[^"]*")
        |(?P<op>==|!=|&&|\|\||[!(){},])
        |(?P<word>[A-Za-z0-9_./-]+)
        )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[str] | None:
    out, i = [], 0
    text = text.strip()
    while i < len(text):
        m = _token().match(text, i)
        if m is None or m.end() == i:
            return None
        out.append(m.group(m.lastgroup or "word"))
        i = m.end()
    return out


class _Parser:
    """selector := or; or := and ('||' and)*; and := unary ('&&' unary)*;
    unary := '!' unary | '(' or ')' | all() | global() | has(k) | k OP 'v' | k [not] in {..}
    | k (contains | starts with | ends with) 'v'."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.i = tokens, 0

    def peek(self, n: int = 0) -> str | None:
        j = self.i + n
        return self.tokens[j] if j < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise ValueError(f"expected {expected or 'a token'}")
        self.i += 1
        return tok

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.peek() == "||":
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else lambda lb: any(p(lb) for p in parts)

    def conjunction(self) -> Predicate:
        parts = [self.unary()]
        while self.peek() == "&&":
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else lambda lb: all(p(lb) for p in parts)

    def string(self) -> str:
        tok = self.take()
        if len(tok) < 2 or tok[0] not in "'\"" or tok[-1] != tok[0]:
            raise ValueError("expected a quoted string")
        return tok[1:-1]

    def values(self) -> frozenset[str]:
        self.take("{")
        out = set()
        while self.peek() != "}":
            out.add(self.string())
            if self.peek() == ",":
                self.take()
        self.take("}")
        return frozenset(out)

    def unary(self) -> Predicate:
        tok = self.take()
        if tok == "!":
            inner = self.unary()
            return lambda lb: not inner(lb)
        if tok == "(":
            inner = self.disjunction()
            self.take(")")
            return inner
        if tok in ("all", "global", "has") and self.peek() == "(":
            self.take("(")
            key = self.take() if tok == "has" else None
            self.take(")")
            if key is not None:
                return lambda lb: key in lb
            # global() selects non-namespaced endpoints (host endpoints, global sets), no pod.
            return (lambda lb: True) if tok == "all" else (lambda lb: False)
        key, op = tok, self.take()
        if op == "==":
            v = self.string()
            return lambda lb: lb.get(key) == v
        if op == "!=":
            v = self.string()
            return lambda lb: lb.get(key) != v
        if op == "in":
            vs = self.values()
            return lambda lb: lb.get(key) in vs
        if op == "not" and self.peek() == "in":
            self.take()
            vs = self.values()
            return lambda lb: lb.get(key) not in vs
        if op == "contains":
            v = self.string()
            return lambda lb: key in lb and v in lb[key]
        if op in ("starts", "ends") and self.peek() == "with":
            self.take()
            v = self.string()
            if op == "starts":
                return lambda lb: key in lb and lb[key].startswith(v)
            return lambda lb: key in lb and lb[key].endswith(v)
        raise ValueError(f"unexpected {op!r}")


@functools.lru_cache(maxsize=256)
def _compile(source: str) -> Predicate | None:
    tokens = _tokens(source)
    if tokens is None:
        return None
    if not tokens:
        return lambda lb: True
    parser = _Parser(tokens)
    try:
        predicate = parser.disjunction()
    except ValueError:
        return None
    return predicate if parser.peek() is None else None
