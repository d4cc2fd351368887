"""What the secrets rules share: the policy from the context, one analysis per document."""

from __future__ import annotations

from deploysafe.config.secrets import SecretsPolicy
from deploysafe.model import Document
from deploysafe.rules.base import Context
from deploysafe.secrets.detect import Analysis, analyse


def policy(ctx: Context) -> SecretsPolicy:
    return ctx.secrets


class _Memo:
    """The last document's analysis: three text rules read it, it is computed once.
    (One slot per worker process; documents are checked one after another.)"""

    doc: Document | None = None
    result: Analysis | None = None


def analysis(doc: Document, ctx: Context) -> Analysis | None:
    """The text analysis of `doc`, or None when the policy excludes the file."""
    p = policy(ctx)
    if p.excluded(doc.file):
        return None
    if _Memo.doc is not doc or _Memo.result is None:
        _Memo.result = analyse("\n".join(doc.lines), doc.file, p.options, doc.lines)
        _Memo.doc = doc
    return _Memo.result
