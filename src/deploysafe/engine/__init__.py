"""The engine: discover, render, parse once, run the rules, locate, suppress, sort.

What every front end uses (CLI, deploy gate, webhook, audit, git history) is re-exported
here; the modules behind it are the engine's own:
- settings: which rules run (by policy and scope), with which context
- namespaces: the Pod Security labels of the Namespace objects a scan finds
- read, check: a file's text; check one document, one input, one file; cross-resource rules
- locate: paths to lines and snippets, secrets kept out of what is printed
- pool: worker processes and chunking
- report, scan: the Report; the tree scan (and its plan) and the in-memory scan
- tally: what a report's findings add up to (WORST: how many of the worst a summary names)
- coverage: what a scan does with each file (scanned, rendered, skipped and why)
- progress: how far a scan has got, for whoever watches it
- changes: `scan --changed-since` (which files a change touched, which findings it made)
- sources, suppress, baseline, history: document builders, suppressions, baselines,
  `scan --git-history`
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deploysafe.engine import baseline, sources
from deploysafe.engine.check import TOOL_KINDS
from deploysafe.engine.coverage import counted, skipped_by_reason, skipped_records
from deploysafe.engine.namespaces import NamespacePolicy
from deploysafe.engine.progress import Progress, Stage, Tick
from deploysafe.engine.report import Report
from deploysafe.engine.scan import RenderOptions, check_documents, plan, scan
from deploysafe.engine.settings import REPOSITORY_SCOPES, Settings, settings_for
from deploysafe.engine.tally import WORST
from deploysafe.lazy import exports
from deploysafe.rules.base import Scope

if TYPE_CHECKING:
    from deploysafe.engine.changes import Changes, changed_since
    from deploysafe.engine.history import HistoryError, scan_history

# Re-exported on first use: only `scan --changed-since` and `--git-history` need them, and a
# plain scan starts sooner without importing them.
_LAZY = {
    "Changes": "changes",
    "changed_since": "changes",
    "HistoryError": "history",
    "scan_history": "history",
}

__getattr__ = exports(__name__, _LAZY)


__all__ = [
    "REPOSITORY_SCOPES",
    "TOOL_KINDS",
    "WORST",
    "Changes",
    "HistoryError",
    "NamespacePolicy",
    "Progress",
    "RenderOptions",
    "Report",
    "Scope",
    "Settings",
    "Stage",
    "Tick",
    "baseline",
    "changed_since",
    "check_documents",
    "counted",
    "plan",
    "scan",
    "scan_history",
    "settings_for",
    "skipped_by_reason",
    "skipped_records",
    "sources",
]
