"""Template injection: attacker-controlled `${{ }}` values expanded into code.

Sinks: `run:` scripts and the code inputs of actions that evaluate them
(`contexts.CODE_SINKS`, e.g. `actions/github-script` `script`). Sources: untrusted contexts
(`contexts.trust`), and what carries them: `env.X` set from one (step, job, then workflow
scope, innermost wins), matrix values built from one, and string inputs (of a composite
action, or a reusable / dispatched workflow). Only values that can end up in the
expanded text count: `contains(github.event.issue.title, 'x')` is a boolean.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from deploysafe.ci import expressions
from deploysafe.ci.contexts import CODE_SINKS, Trust, trust
from deploysafe.ci.expressions import Flow
from deploysafe.ci.github import Step
from deploysafe.ci.yamlci import CiDocument
from deploysafe.frozen import record
from deploysafe.model import KeyPath


@record
class Scope:
    """What `env.*`, `matrix.*` and `inputs.*` mean where a step runs."""

    envs: Sequence[Mapping[str, Any]]  # innermost first: step, job, workflow
    matrix: Any = None  # the job's strategy.matrix
    inputs: Mapping[str, str] | None = None  # input name (lower) -> "string"/"boolean"/...
    action_inputs: bool = False  # every inputs.* comes from the caller (composite action)
    # Which values to report: attacker-controlled ones, or (Trust.WRITER) ref names.
    level: Trust = Trust.UNTRUSTED


@record
class Injection:
    """An attacker-controlled `${{ }}` value expanded into code (a `run:` script or an
    action's code input), and where."""

    path: KeyPath  # the sink value
    offset: int  # where the expression is in the sink's source
    context: str  # as written
    why: str  # what makes it attacker-controlled


def sinks(step: Step) -> Iterator[tuple[KeyPath, str, str]]:
    """(path, text, description) of every value in a step that is run as code."""
    if step.run is not None:
        yield (*step.path, "run"), step.run, "`run:` script"
    u = step.uses
    if u is None or u.kind != "repository":
        return
    inputs = CODE_SINKS.get(f"{u.owner}/{u.repo}".lower()) or CODE_SINKS.get(u.name)
    if not inputs:
        return
    for key, value in step.with_.items():
        if str(key).lower() in inputs and isinstance(value, str):
            yield (*step.path, "with", str(key)), value, f"`{u.owner}/{u.repo}` `{key}` input"


def injections(doc: CiDocument, step: Step, scope: Scope) -> Iterator[Injection]:
    for path, text, sink in sinks(step):
        # One injection per value and sink, at its first expansion: moving it into `env:`
        # fixes every place the sink expands it.
        first: dict[str, tuple[int, str]] = {}
        times: dict[str, int] = {}
        for n, expr in enumerate(expressions.find(text)):
            try:
                tree = expressions.parse(expr.body)
            except expressions.ExpressionError:
                continue
            counted: set[str] = set()
            for flow in expressions.flows(tree):
                if flow.text in counted:
                    continue
                why = _taint(flow.path, flow.whole, scope, 0)
                if why is None:
                    continue
                counted.add(flow.text)
                first.setdefault(flow.text, (n, why))
                times[flow.text] = times.get(flow.text, 0) + 1
        for context, (n, why) in first.items():
            k = times[context]
            into = f"expanded {k} times into the {sink}" if k > 1 else f"expanded into the {sink}"
            yield Injection(path, _where(doc, path, n, context), context, f"{why}, {into}")


def tainted(text: str, scope: Scope) -> Iterator[tuple[expressions.Expression, Flow]]:
    """Each expression in `text` that expands an attacker-controlled value, with the first
    such value in it."""
    for expr in expressions.find(text):
        try:
            tree = expressions.parse(expr.body)
        except expressions.ExpressionError:
            continue
        for flow in expressions.flows(tree):
            if _taint(flow.path, flow.whole, scope, 0) is not None:
                yield expr, flow
                break


def _where(doc: CiDocument, path: KeyPath, occurrence: int, needle: str) -> int:
    """The offset of `needle` in the sink's source, inside its `occurrence`-th `${{`
    (the value's start when the source does not show it)."""
    src = doc.source(path)
    if src is None:
        return 0
    _, raw = src
    at = -1
    for _ in range(occurrence + 1):
        at = raw.find("${{", at + 1)
        if at < 0:
            return 0
    end = raw.find("}}", at)
    hit = raw.find(needle, at, end if end >= 0 else len(raw))
    return hit if hit >= 0 else at


def _taint(path: tuple[str, ...], whole: bool, scope: Scope, depth: int) -> str | None:
    """Why a context is attacker-controlled, or None."""
    t = trust(path, whole)
    if t is scope.level:
        if t is Trust.WRITER:
            return f"`{'.'.join(path)}` is a ref name, which may hold shell syntax"
        return f"`{'.'.join(path)}` is attacker-controlled"
    if t is not Trust.OTHER or depth > 3 or not path:
        return None
    root = path[0]
    if root == "env" and len(path) >= 2:
        for env in scope.envs:
            for key, value in env.items():
                if str(key).lower() == path[1]:
                    why = _value_taint(value, scope, depth)
                    return f"`env.{key}` carries {why}" if why else None
        return None
    if root == "matrix" and len(path) >= 2:
        why = _matrix_taint(scope.matrix, path[1], scope, depth)
        return f"`matrix.{path[1]}` carries {why}" if why else None
    if root == "inputs" and len(path) >= 2 and scope.level is Trust.UNTRUSTED:
        if scope.action_inputs:
            return f"`inputs.{path[1]}` is whatever the calling workflow passes"
        if scope.inputs is not None and scope.inputs.get(path[1]) == "string":
            return f"`inputs.{path[1]}` is a free-text input"
        return None
    return None


def _value_taint(value: Any, scope: Scope, depth: int) -> str | None:
    if not isinstance(value, str):
        return None
    for expr in expressions.find(value):
        try:
            tree = expressions.parse(expr.body)
        except expressions.ExpressionError:
            continue
        for flow in expressions.flows(tree):
            inner = _taint(flow.path, flow.whole, scope, depth + 1)
            if inner is not None:
                return f"`{flow.text}` ({inner})"
    return None


def _matrix_taint(matrix: Any, key: str, scope: Scope, depth: int) -> str | None:
    if isinstance(matrix, str):
        return _value_taint(matrix, scope, depth)
    if not isinstance(matrix, dict):
        return None
    for k, v in matrix.items():
        if str(k).lower() == key:
            found = _any_taint(v, scope, depth)
            if found:
                return found
    include = matrix.get("include")
    if isinstance(include, str):
        return _value_taint(include, scope, depth)
    if isinstance(include, list):
        for entry in include:
            if isinstance(entry, str):
                found = _value_taint(entry, scope, depth)
            elif isinstance(entry, dict):
                found = next(
                    (
                        w
                        for k, v in entry.items()
                        if str(k).lower() == key
                        for w in [_any_taint(v, scope, depth)]
                        if w
                    ),
                    None,
                )
            else:
                found = None
            if found:
                return found
    return None


def _any_taint(value: Any, scope: Scope, depth: int) -> str | None:
    if isinstance(value, str):
        return _value_taint(value, scope, depth)
    if isinstance(value, list):
        for v in value:
            found = _any_taint(v, scope, depth)
            if found:
                return found
    return None


def workflow_inputs(triggers: Mapping[str, Any]) -> dict[str, str]:
    """Declared inputs of workflow_call / workflow_dispatch, name (lower) -> type."""
    out: dict[str, str] = {}
    for event in ("workflow_call", "workflow_dispatch"):
        conf = triggers.get(event)
        if not isinstance(conf, dict):
            continue
        inputs = conf.get("inputs")
        if not isinstance(inputs, dict):
            continue
        for name, spec in inputs.items():
            kind = spec.get("type", "string") if isinstance(spec, dict) else "string"
            out[str(name).lower()] = str(kind)
    return out
