"""The fix for template injection (DS102, DS103): each attacker-controlled `${{ }}` of a
`run:` script becomes an environment variable of its step.

The fix is computed for the whole step, whichever of its findings asks, so that the
findings of one script agree on it. The script's text is edited in place (its block style,
quoting and comments stay); the new `env:` entries are node edits. Offered for bash, sh and
PowerShell only, and only where the edited file is checked to read back as the new script.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from deploysafe.ci import expressions
from deploysafe.ci.github import Step, action_of, workflow_of
from deploysafe.ci.injection import Scope, tainted, workflow_inputs
from deploysafe.ci.scriptenv import Quoting, Shell, name_for, quoting, reference, shell_of
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, KeyPath, Target
from deploysafe.rules.base import Edit, EditOp, Fix
from deploysafe.rules.script_text import checked, escaped


def fix_injection(doc: Document, path: KeyPath) -> Fix | None:
    if not isinstance(doc, CiDocument) or not path or path[-1] != "run":
        return None  # an action's code input (github-script `script:`): no shell variable
    found = _step(doc, path[:-1])
    if found is None:
        return None
    step, scope, shell = found
    script = step.run
    source = doc.source(path)
    if script is None or shell is None or source is None:
        return None
    start, raw = source
    # The expressions as written must be those of the parsed script, one line each.
    written = list(expressions.find(raw))
    parsed = list(expressions.find(script))
    if [e.body for e in written] != [e.body for e in parsed]:
        return None
    if any("\n" in raw[e.start : e.end] for e in written):
        return None
    flagged = {expr.start: flow for expr, flow in tainted(script, scope)}
    if not flagged:
        return None
    taken = {str(k) for env in scope.envs for k in env}
    names: dict[str, str] = {}  # expression body -> variable
    added: list[tuple[str, str]] = []  # (variable, the expression), new in the step's env
    places: list[tuple[int, Quoting, str]] = []  # (expression's index, quoting, variable)
    for n, expr in enumerate(parsed):
        flow = flagged.get(expr.start)
        if flow is None:
            continue
        where = quoting(script, expr.start, shell)
        if where is Quoting.UNKNOWN or (where is Quoting.SINGLE and shell is Shell.POWERSHELL):
            return None
        body = expr.body.strip()
        if body not in names:
            names[body] = _declared(body, scope.envs) or name_for(flow.path, taken)
            if names[body] not in taken:
                taken.add(names[body])
                added.append((names[body], "${{ " + body + " }}"))
        places.append((n, where, names[body]))
    new_script, new_raw = script, raw
    for n, where, name in reversed(places):  # from the end, so offsets stay valid
        expr, w = parsed[n], written[n]
        ref = reference(name, shell, script[expr.end : expr.end + 1])
        if where is Quoting.SINGLE:
            ref = "'\"" + ref + "\"'"  # out of the single quotes, into double ones
        new_script = new_script[: expr.start] + ref + new_script[expr.end :]
        new_raw = new_raw[: w.start] + escaped(ref, doc, start) + new_raw[w.end :]
    all_quoted = all(where is Quoting.DOUBLE for _, where, _ in places)
    lines = checked(doc, path, start, raw, new_raw, new_script)
    if lines is None:
        return None
    step_env = step.data.get("env")
    if added and step_env is not None and not isinstance(step_env, dict):
        return None  # `env:` computed by an expression
    edits = tuple(Edit(EditOp.SET, (*step.path, "env", k), v) for k, v in added)
    moved = ", ".join(f"`{v}` as {k}" for k, v in added) or "the values"
    return Fix(
        edits,
        safe=all_quoted,
        description=f"pass {moved} to the script through `env:`",
        lines=lines,
    )


def _step(doc: CiDocument, path: KeyPath) -> tuple[Step, Scope, Shell | None] | None:
    if doc.type is Target.GITHUB_ACTION:
        for step in action_of(doc).steps:
            if step.path == path:
                return (
                    step,
                    Scope((step.env,), None, None, action_inputs=True),
                    shell_of(step.data, (), None),
                )
        return None
    wf = workflow_of(doc)
    for job in wf.jobs:
        strategy = job.get("strategy")
        matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
        for step in job.steps:
            if step.path == path:
                scope = Scope((step.env, job.env, wf.env), matrix, workflow_inputs(wf.triggers))
                defaults = (job.get("defaults"), wf.data.get("defaults"))
                return step, scope, shell_of(step.data, defaults, job.get("runs-on"))
    return None


def _declared(body: str, envs: Sequence[Mapping[str, Any]]) -> str | None:
    """The variable a `${{ env.NAME }}` already names: the shell has it as it is."""
    parts = body.strip().split(".")
    if len(parts) != 2 or parts[0] != "env":
        return None
    for env in envs:
        if parts[1] in env and parts[1].replace("_", "").isalnum():
            return parts[1]
    return None
