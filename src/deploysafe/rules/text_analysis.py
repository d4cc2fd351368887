"""One secrets analysis per text document, shared by the rules that read it (DS301, DS302,
DS510 and the secrets rules of other document types)."""

from __future__ import annotations

from deploysafe.model import Document
from deploysafe.rules.base import Context
from deploysafe.secrets.detect import Analysis, analyse
from deploysafe.textlines import joined


class _Memo:
    """The last document's analysis: three text rules read it, it is computed once.
    (One slot per worker process; documents are checked one after another.)"""

    doc: Document | None = None
    result: Analysis | None = None


def analysis(doc: Document, ctx: Context) -> Analysis | None:
    """The text analysis of `doc`, or None when the policy excludes the file."""
    p = ctx.secrets
    if p.excluded(doc.file):
        return None
    if _Memo.doc is not doc or _Memo.result is None:
        _Memo.result = analyse(joined(doc.lines), doc.file, p.options, doc.lines)
        _Memo.doc = doc
    return _Memo.result
