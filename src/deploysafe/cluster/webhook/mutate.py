"""The mutating mode's fixes: an object's findings to the JSON patch that fixes them.

The fixes are the rules' own (`Rule.autofix`), the ones `deploysafe fix` writes into files;
here their edits become RFC 6902 operations on the object of the admission request. One
round fixes what the findings show; a fix can reveal a finding another one hid (a
privileged container that also adds SYS_ADMIN), so the reviewer judges the patched object
and runs another round, as `deploysafe fix` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from deploysafe.fix.jsonpatch import Patch, patch_for
from deploysafe.fix.paths import path_of
from deploysafe.frozen import record
from deploysafe.model import Document, Finding
from deploysafe.rules import BY_ID
from deploysafe.rules.base import Edit, Fix

ROUNDS = 4  # as `deploysafe fix`: fixes that reveal findings nest at most this deep


@record
class Round:
    patch: Patch
    fixed: tuple[tuple[Finding, Fix], ...]


def fix_round(
    obj: Mapping[str, Any], namespace: str | None, findings: Sequence[Finding], unsafe: bool
) -> Round | None:
    """The patch that applies the fixes of `findings` to `obj` (the unsafe ones only when
    `unsafe`), or None when no fix applies or none changes the object. Raises
    PatchRefused when an edit does not fit the object."""
    doc = Document("admission", obj, {}, (), default_namespace=namespace)
    edits: list[Edit] = []
    fixed: list[tuple[Finding, Fix]] = []
    for f in findings:
        rule = BY_ID.get(f.rule_id)
        if rule is None or rule.autofix is None:
            continue
        fix = rule.autofix.fixer(doc, path_of(obj, f.pointer))
        if fix is None or not (fix.safe or unsafe):
            continue
        edits.extend(fix.edits)
        fixed.append((f, fix))
    if not edits:
        return None
    patch = patch_for(obj, edits)
    return Round(patch, tuple(fixed)) if patch.ops else None
