"""`deploysafe fix`: the rules' fixes applied to the files, each file kept as its author
wrote it (yamledit), planned from a scan report (plan) and written all or nothing (write)."""

from __future__ import annotations

from deploysafe.fix.plan import Change, Outcome, Plan, Selection, Status, plan, remaining
from deploysafe.fix.run import Result, fix_tree
from deploysafe.fix.write import write
from deploysafe.fix.yamledit import EditRefused, apply_text

__all__ = [
    "Change",
    "EditRefused",
    "Outcome",
    "Plan",
    "Result",
    "Selection",
    "Status",
    "apply_text",
    "fix_tree",
    "plan",
    "remaining",
    "write",
]
