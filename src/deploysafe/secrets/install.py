"""Values a Helm template makes at install time: generated (`randAlphaNum`, `genPrivateKey`,
`derivePassword`) or read from the cluster (`lookup`), so no secret is in the repository.

Read from the template text a rendered node came from: the node's own line, and the
template variables (`$pw := randAlphaNum 16`, `$old := lookup "v1" "Secret" ...`) that line
uses, followed through other variables built from them. A value the chart takes from a
helper (`include "app.password" .`) is not followed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Sprig's functions that draw anew at each render: random values, keys and certificates.
_DRAWING = (
    r"randAlphaNum|randAlpha|randNumeric|randAscii|randBytes|randInt|uuidv4|"
    r"genPrivateKey|genCA|genCAWithKey|genSelfSignedCert|genSelfSignedCertWithKey|"
    r"genSignedCert|genSignedCertWithKey"
)
DRAWS = re.compile(rf"\b(?:{_DRAWING})\b")
# What a chart makes at install time: those, `derivePassword`, and Helm's `lookup` (what
# the cluster already holds).
_GENERATORS = re.compile(rf"\b(?:{_DRAWING}|derivePassword|lookup)\b")
_ACTION = re.compile(r"\{\{.*?\}\}", re.S)
_ASSIGN = re.compile(r"\$(\w+)\s*:?=\s*(.*?)\s*-?\}\}", re.S)
_VARIABLE = re.compile(r"\$(\w+)")


def _generated_variables(text: str) -> set[str]:
    """Template variables whose value is generated or looked up, directly or through
    other such variables."""
    assigned: dict[str, list[str]] = {}
    for m in _ASSIGN.finditer(text):
        assigned.setdefault(m[1], []).append(m[2])
    found: set[str] = set()
    grew = True
    while grew:
        grew = False
        for name, exprs in assigned.items():
            if name in found:
                continue
            if any(_makes(e, found) for e in exprs):
                found.add(name)
                grew = True
    return found


def _makes(expression: str, variables: set[str]) -> bool:
    return _GENERATORS.search(expression) is not None or any(
        v in variables for v in _VARIABLE.findall(expression)
    )


def made_at_install(template: Sequence[str], line: int) -> bool:
    """Whether the value on 1-based `line` of a Helm template is generated or looked up
    when the chart is installed."""
    if not 1 <= line <= len(template):
        return False
    actions = _ACTION.findall(template[line - 1])
    if not actions:
        return False
    if any(_GENERATORS.search(a) for a in actions):
        return True
    if not any("$" in a for a in actions):
        return False
    variables = _generated_variables("\n".join(template))
    return any(v in variables for a in actions for v in _VARIABLE.findall(a))
