"""GitHub Actions expressions (`${{ ... }}`): find them in strings, parse them, and say which
context values can end up in the text an expression expands to.

The grammar is the one GitHub documents ("Evaluate expressions in workflows and actions"):
literals (null, booleans, numbers, '…' strings with '' escapes), contexts with `.name`,
`.*` and `[...]` access, function calls, `!`, comparisons, `&&` and `||` (which return one
of their operands, not a boolean).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from deploysafe.frozen import record

# Context path: lower-case names; "*" for a wildcard or a computed index.
ContextPath = tuple[str, ...]


# GitHub refuses an expression nested deeper ("Exceeded max expression depth 50"). Held
# both while parsing (parentheses, calls, indexes, `!`) and on the tree (chained operators
# and property accesses), so that every walk over a tree stays shallow.
MAX_DEPTH = 50


# Internal: callers treat an expression they cannot parse as unknown, never as a user error.
class ExpressionError(ValueError):
    pass


class ExpressionTooDeep(ExpressionError):
    """Nested deeper than MAX_DEPTH: the workflow loaders report it as an input error."""

    def __init__(self) -> None:
        super().__init__(f"nested deeper than {MAX_DEPTH} levels")


@record
class Expression:
    """One `${{ ... }}` in a string: where it is and what is inside."""

    start: int  # offset of `${{` in the string
    end: int  # offset just past `}}`
    body: str  # the text between the braces


def find(text: str) -> Iterator[Expression]:
    """Every `${{ ... }}` in `text`, skipping `}}` inside string literals."""
    i = 0
    while True:
        start = text.find("${{", i)
        if start < 0:
            return
        j = start + 3
        in_str = False
        while j < len(text):
            ch = text[j]
            if in_str:
                if ch == "'":
                    if text.startswith("''", j):
                        j += 2
                        continue
                    in_str = False
            elif ch == "'":
                in_str = True
            elif text.startswith("}}", j):
                break
            j += 1
        else:
            return  # unterminated: GitHub would reject the file
        yield Expression(start, j + 2, text[start + 3 : j])
        i = j + 2


def is_expression(text: str) -> bool:
    """The whole value is one expression (e.g. `if: ${{ ... }}` or `runs-on: ${{ ... }}`)."""
    t = text.strip()
    if not (t.startswith("${{") and t.endswith("}}")):
        return False
    found = list(find(t))
    return len(found) == 1 and found[0].end == len(t)


# ---------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<str>'(?:[^']|'')*')
  | (?P<num>-?(?:0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?))
  | (?P<op>&&|\|\||==|!=|<=|>=|[<>!().\[\],*])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
    """,
    re.VERBOSE,
)


@record
class Token:
    """A token of an expression body."""

    kind: str  # "str", "num", "op", "ident", "end"
    text: str
    offset: int


def tokens(body: str) -> list[Token]:
    out = []
    i = 0
    while i < len(body):
        m = _TOKEN.match(body, i)
        if m is None:
            raise ExpressionError(f"unexpected character {body[i]!r} at {i}")
        kind = m.lastgroup
        assert kind is not None
        if kind != "ws":
            out.append(Token(kind, m.group(), i))
        i = m.end()
    out.append(Token("end", "", len(body)))
    return out


# ---------------------------------------------------------------- syntax tree


@record
class Literal:
    """A literal: string, number, boolean or null."""

    value: object
    offset: int


@record
class Context:
    """A context reference such as `github.event.issue.title`."""

    path: ContextPath
    offset: int  # where the context starts in the expression body
    text: str  # as written, e.g. "github.event['issue'].title"


@record
class Call:
    """A function call such as `contains(a, b)`."""

    name: str  # lower-case
    args: tuple[Node, ...]
    offset: int


@record
class Access:
    """A property or index of something that is not a plain context: `fromJSON(x).y`."""

    base: Node
    key: str  # lower-case name or "*"
    offset: int


@record
class Unary:
    """`!operand`."""

    op: str
    operand: Node
    offset: int


@record
class Binary:
    """An operator between two operands: comparison, `&&` or `||`."""

    op: str
    left: Node
    right: Node
    offset: int


Node = Literal | Context | Call | Access | Unary | Binary

_PRECEDENCE = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4}


class _Parser:
    def __init__(self, body: str) -> None:
        self.body = body
        self.toks = tokens(body)
        self.i = 0
        self.level = 0  # parentheses, calls, indexes and `!` open around the current token

    def enter(self) -> None:
        self.level += 1
        if self.level > MAX_DEPTH:
            raise ExpressionTooDeep

    def peek(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> Token:
        tok = self.take()
        if tok.text != text:
            raise ExpressionError(f"expected {text!r} at {tok.offset}, got {tok.text!r}")
        return tok

    def parse(self) -> Node:
        node = self.binary(1)
        if self.peek().kind != "end":
            raise ExpressionError(f"unexpected {self.peek().text!r} at {self.peek().offset}")
        return node

    def binary(self, level: int) -> Node:
        left = self.unary()
        while True:
            tok = self.peek()
            prec = _PRECEDENCE.get(tok.text) if tok.kind == "op" else None
            if prec is None or prec < level:
                return left
            self.take()
            right = self.binary(prec + 1)
            left = Binary(tok.text, left, right, tok.offset)

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.text == "!":
            self.take()
            self.enter()
            operand = self.unary()
            self.level -= 1
            return Unary("!", operand, tok.offset)
        return self.postfix(self.primary())

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "str":
            return Literal(tok.text[1:-1].replace("''", "'"), tok.offset)
        if tok.kind == "num":
            text = tok.text
            value: object = int(text, 16) if "0x" in text.lower() else float(text)
            return Literal(value, tok.offset)
        if tok.kind == "op" and tok.text == "(":
            self.enter()
            inner = self.binary(1)
            self.expect(")")
            self.level -= 1
            return inner
        if tok.kind == "ident":
            low = tok.text.lower()
            if low in ("true", "false"):
                return Literal(low == "true", tok.offset)
            if low == "null":
                return Literal(None, tok.offset)
            if self.peek().text == "(":
                self.take()
                self.enter()
                args: list[Node] = []
                if self.peek().text != ")":
                    args.append(self.binary(1))
                    while self.peek().text == ",":
                        self.take()
                        args.append(self.binary(1))
                self.expect(")")
                self.level -= 1
                return Call(low, tuple(args), tok.offset)
            return Context((low,), tok.offset, tok.text)
        raise ExpressionError(f"unexpected {tok.text or 'end'!r} at {tok.offset}")

    def postfix(self, node: Node) -> Node:
        while True:
            tok = self.peek()
            if tok.text == ".":
                self.take()
                name = self.take()
                if name.kind == "ident" or name.text == "*":
                    key = name.text.lower()
                else:
                    raise ExpressionError(f"expected a property name at {name.offset}")
                node = self._extend(node, key, name.offset + len(name.text))
            elif tok.text == "[":
                self.take()
                if self.peek().text == "*":
                    self.take()
                    key = "*"
                else:
                    self.enter()
                    index = self.binary(1)
                    self.level -= 1
                    key = (
                        index.value.lower()
                        if isinstance(index, Literal) and isinstance(index.value, str)
                        else "*"
                    )
                end = self.expect("]")
                node = self._extend(node, key, end.offset + 1)
            else:
                return node

    def _extend(self, node: Node, key: str, end: int) -> Node:
        if isinstance(node, Context):
            return Context((*node.path, key), node.offset, self.body[node.offset : end])
        return Access(node, key, node.offset)


def parse(body: str) -> Node:
    """The syntax tree of an expression body; ExpressionError when it is not valid,
    ExpressionTooDeep when it nests deeper than MAX_DEPTH."""
    tree = _Parser(body).parse()
    todo: list[tuple[Node, int]] = [(tree, 1)]
    while todo:  # chained operators nest the tree without nesting the parser
        node, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise ExpressionTooDeep
        todo.extend((child, depth + 1) for child in _children(node))
    return tree


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Access):
        return (node.base,)
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    return ()


# Functions whose result never carries their arguments' text.
_OPAQUE = frozenset(
    {"contains", "startswith", "endswith", "success", "always", "failure", "cancelled", "hashfiles"}
)


@record
class Flow:
    """A context whose value (or a part of it) can appear in the expanded text."""

    path: ContextPath
    offset: int  # of the context in the expression body
    text: str
    whole: bool = False  # the whole object is serialised (toJSON), not one field


def flows(node: Node) -> list[Flow]:
    """Contexts whose value can end up in what the expression expands to."""
    if isinstance(node, Literal):
        return []
    if isinstance(node, Context):
        return [Flow(node.path, node.offset, node.text)]
    if isinstance(node, Unary):
        return []
    if isinstance(node, Binary):
        if node.op == "||":
            return flows(node.left) + flows(node.right)
        if node.op == "&&":
            return flows(node.right)  # `a && b` is b, or a falsy a
        return []  # comparisons are booleans
    if isinstance(node, Access):
        return [
            Flow((*f.path, node.key), f.offset, f.text, whole=False)
            for f in flows(node.base)
            if not f.whole
        ] + [f for f in flows(node.base) if f.whole]
    if node.name in _OPAQUE:
        return []
    out: list[Flow] = []
    if node.name == "tojson":
        for arg in node.args:
            out.extend(Flow(f.path, f.offset, f.text, whole=True) for f in flows(arg))
        return out
    for arg in node.args:  # format, join, fromJSON, unknown functions
        out.extend(flows(arg))
    return out


def walk(node: Node) -> Iterator[Node]:
    """The node and every node below it, parents before their children, left to right."""
    yield node
    for child in _children(node):
        yield from walk(child)


def contexts(node: Node) -> Iterator[Context]:
    """Every context the expression reads, wherever it appears."""
    return (n for n in walk(node) if isinstance(n, Context))


def condition(text: str) -> Node | None:
    """An `if:` value (bare or wrapped in `${{ }}`) as a tree; None if it does not parse."""
    t = text.strip()
    if is_expression(t):
        t = t[3:-2]
    try:
        return parse(t)
    except ExpressionError:
        return None


def results(node: Node) -> tuple[list[object], list[Flow]]:
    """What an expression can evaluate to: the literals it can return as they are, and the
    contexts whose value it can return (`a && 'x' || 'y'` -> ['x', 'y'] and [a])."""
    if isinstance(node, Literal):
        return [node.value], []
    if isinstance(node, Binary) and node.op == "||":
        la, lf = results(node.left)
        ra, rf = results(node.right)
        return la + ra, lf + rf
    if isinstance(node, Binary) and node.op == "&&":
        return results(node.right)
    if isinstance(node, Binary | Unary) or (isinstance(node, Call) and node.name in _OPAQUE):
        return [], []
    return [], flows(node)
