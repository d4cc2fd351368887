"""Where a finding is: a check's path into a document becomes a line, a column and the
snippet of that line, with every secret a finding is about kept out of what is printed."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from deploysafe.engine.settings import Settings
from deploysafe.inputs.helmvalues import set_by
from deploysafe.model import (
    Document,
    Fact,
    Finding,
    KeyPath,
    Resource,
    Violation,
    Written,
    pointer,
    redact,
    secret_hash,
)
from deploysafe.rules.base import Rule

SNIPPET_MAX = 160

# Raw secrets by (file, line) where findings found them: what other findings' snippets of
# those lines must not show (see `hide_shared`), each with whether the line holds it as is
# (False: written in another form, such as a YAML escape or a folded scalar, which can only
# be hidden by showing no snippet). Kept only while a file is checked.
Shared = dict[tuple[str, int], dict[str, bool]]

# Windows of this many characters of a secret that a snippet must not hold: a secret the
# line writes in another form than its value (a YAML or shell escape in the middle, a folded
# scalar, JSON's `\/`) cannot be replaced, but most of it still shows. `redact` keeps 4.
_WINDOW = 8


def snippet(lines: Sequence[str], line: int) -> str:
    if 1 <= line <= len(lines):
        text = lines[line - 1].strip()
        return text if len(text) <= SNIPPET_MAX else text[: SNIPPET_MAX - 1] + "…"
    return ""


def _shows(text: str, secret: str) -> bool:
    """Whether `text` holds a recognisable part of `secret`: a line of it (6 characters or
    more), or any run of `_WINDOW` characters of one."""
    for part in secret.splitlines():
        p = part.strip()
        if len(p) < _WINDOW:
            if len(p) >= 6 and p in text:
                return True
            continue
        if any(p[i : i + _WINDOW] in text for i in range(len(p) - _WINDOW + 1)):
            return True
    return False


def _word(secret: str) -> bool:
    """Letters only and short: a secret that is also a word (`password`, `pass`, `admin`),
    which other words and key names can hold."""
    return secret.isalpha() and len(secret) < 16


_KEY_AFTER = re.compile(r"[\"']?[ \t]*[:=]")


def _occurrences(text: str, secret: str) -> list[int]:
    """Where `secret` stands as a value in `text`: a word-like one only as a whole token
    (no word character glued on either side) that is not a key (`password: ...`), any
    other one wherever it occurs."""
    if not secret:
        return []
    if not _word(secret):
        return [m.start() for m in re.finditer(re.escape(secret), text)]
    return [
        m.start()
        for m in re.finditer(r"(?<!\w)" + re.escape(secret) + r"(?!\w)", text)
        if not _KEY_AFTER.match(text, m.end())
    ]


def hide(text: str, secret: str, shown: str, at: int | None = None, prose: bool = False) -> str:
    """`text` with `secret` replaced by `shown` where it stands as a value, never inside
    another word (`passwordKey: "password"` keeps its key). `at` is the index a check
    located the value at: a word-like secret is then replaced there only. In `prose` (a
    message the rule wrote from names), a word-like secret is one of those names' words
    (`basicAuthPassword` with the value `pass`) and is left; any other is replaced."""
    if prose and _word(secret):
        return text
    located = at is not None and at >= 0 and text.startswith(secret, at)
    starts = set() if located and _word(secret) else set(_occurrences(text, secret))
    if located and at is not None:
        starts.add(at)
    for start in sorted(starts, reverse=True):
        text = text[:start] + shown + text[start + len(secret) :]
    return text


# A run of base64 (a Kubernetes Secret's `data:`, a basic-auth header), padding included.
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{4,}={0,2}(?![A-Za-z0-9+/=])")


def _hide_encoded(text: str, secrets: Sequence[str]) -> str:
    """`text` with each base64 run that decodes to text holding one of `secrets` replaced
    by that secret's redacted form: base64 is an encoding anyone reverses, not a redaction."""

    def one(m: re.Match[str]) -> str:
        run = m.group()
        try:
            decoded = base64.b64decode(run + "=" * (-len(run) % 4), validate=True)
        except (binascii.Error, ValueError):
            return run
        plain = decoded.decode("utf-8", errors="replace")
        hit = next((x for x in sorted(secrets, key=len, reverse=True) if x and x in plain), None)
        return run if hit is None else redact(hit)

    return _BASE64.sub(one, text) if any(secrets) else text


def _still_shows(text: str, parts: Sequence[str]) -> bool:
    return any(_occurrences(text, p) for p in parts)


def _literal_in(line: str, secret: str) -> bool:
    """The line writes the secret (or, for a multi-line one, a line of it) as it is."""
    return secret in line or any(
        len(p.strip()) >= 6 and p.strip() in line for p in secret.splitlines()
    )


def share(finding: Finding, v: Violation, doc: Document, shared: Shared) -> None:
    """Remember on which lines `finding`'s secret is, for `hide_shared`."""
    assert v.secret is not None
    lines = lines_of(doc, finding.file)
    for n in range(finding.line, finding.line + v.secret.count("\n") + 1):
        raw = lines[n - 1] if 1 <= n <= len(lines) else ""
        on_line = shared.setdefault((finding.file, n), {})
        on_line[v.secret] = on_line.get(v.secret, False) or _literal_in(raw, v.secret)


def hide_shared(findings: list[Finding], start: int, shared: Shared) -> None:
    """Several rules read one line (a file is text, a workflow, a Kubernetes object ...):
    a finding must not show, in its snippet, a secret that another finding on that line is
    about. Applies to findings[start:], in place."""
    if not shared:
        return
    for k in range(start, len(findings)):
        f = findings[k]
        found = shared.get((f.file, f.line))
        if not found or not f.snippet:
            continue
        text = f.snippet
        for secret in sorted(found, key=len, reverse=True):
            text = hide(text, secret, redact(secret))
        text = _hide_encoded(text, list(found))
        parts = [p.strip() for x in found for p in x.splitlines() if len(p.strip()) >= 6]
        if _still_shows(text, parts) or any(
            _shows(text, x) for x, literal in found.items() if not literal
        ):
            text = ""
        if text != f.snippet:
            findings[k] = replace(f, snippet=text)


def written(doc: Document, path: KeyPath) -> Written | None:
    """The file other than the document's own that last wrote the node a path is located
    at (its nearest existing ancestor), if one did: a kustomize patch."""
    if not doc.written:
        return None
    node = path
    while node and node not in doc.positions:
        node = node[:-1]
    for n in range(len(node), -1, -1):
        hit = doc.written.get(node[:n])
        if hit is not None:
            return hit
    return None


def where(doc: Document, path: KeyPath) -> tuple[str, int, int, Sequence[str]]:
    """File, line, column and that file's lines for a path: the patch that wrote the node,
    else the document's own file."""
    hit = written(doc, path)
    if hit is not None:
        return hit.source.file, hit.line, hit.column, hit.source.lines
    line, col = doc.locate(path)
    return doc.file, line, col, doc.lines


def lines_of(doc: Document, file: str) -> Sequence[str]:
    """The lines of `file`, the document's own or a patch's, for what reads a finding's line
    (inline suppressions, secrets shared by findings)."""
    if file == doc.file:
        return doc.lines
    return next((w.source.lines for w in doc.written.values() if w.source.file == file), ())


def fact(doc: Document, path: KeyPath, data: Any, resource: Resource) -> Fact:
    file, line, col, lines = where(doc, path)
    return Fact(
        file,
        line,
        col,
        pointer(path),
        resource,
        data,
        snippet(lines, line),
        doc.rendered_from,
    )


def finding(rule: Rule, v: Violation, doc: Document, s: Settings) -> Finding:
    if v.offset is None:
        file, line, col, lines = where(doc, v.path)
    else:
        file, lines = doc.file, doc.lines
        line, col = doc.locate_in(v.path, v.offset)
    shown_line, message, hashed, shown = snippet(lines, line), v.message, None, None
    if v.secret:
        # Nothing printed may hold the secret: not the line, not the message.
        shown = redact(v.secret)
        hashed = secret_hash(v.secret)
        # Written in another form than its value (an escape, a folded scalar): no snippet.
        if not _literal_in(shown_line, v.secret) and _shows(shown_line, v.secret):
            shown_line = ""
        at = None
        if v.offset is not None and 1 <= line <= len(lines):  # the column is the value's
            raw = lines[line - 1]
            at = col - 1 - (len(raw) - len(raw.lstrip()))
        shown_line = hide(shown_line, v.secret, shown, at)
        message = hide(message, v.secret, shown, prose=True)
        if shown not in message:  # every format shows which secret, in its safe form
            message = f"{message}: {shown}"
        for other in sorted(v.others, key=len, reverse=True):
            shown_line = hide(shown_line, other, redact(other))
            message = hide(message, other, redact(other), prose=True)
        shown_line = _hide_encoded(shown_line, (v.secret, *v.others))
        parts = [
            p.strip() for x in (v.secret, *v.others) for p in x.splitlines() if len(p.strip()) >= 6
        ]
        if len(shown_line) >= SNIPPET_MAX - 1 or _still_shows(shown_line, parts):
            shown_line = ""  # cut around the secret, or a line of a multi-line one: show none
    # In the order of its fields: a call by keyword costs a name lookup each of 19 (a scan
    # makes a Finding for each of its thousands of findings).
    return Finding(
        rule.id,
        rule.title,
        rule.practice,
        s.severities.get(rule.id, rule.severity if v.severity is None else v.severity),
        file,
        line,
        col,
        pointer(v.path),
        doc.resource,
        message,
        rule.fix,
        shown_line,  # snippet
        rule.pss,
        None,  # suppressed
        hashed,  # secret_hash
        tuple(secret_hash(o) for o in v.others) if v.secret else (),  # other_hashes
        shown,  # redacted
        set_by(doc, v.path) if v.offset is None else (),
        (doc.rendered_from,) if doc.rendered_from else (),  # renders
    )
