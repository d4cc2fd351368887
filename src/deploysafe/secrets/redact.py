"""Free text that may hold a secret, made safe to print.

Findings redact the secret they are about; other text deploysafe prints can hold one too:
a suppression's reason, a value quoted in a policy-file error, an object shown in a diff.
`found` is the one reading of such text (the detector's tokens and credential settings),
`redacted` prints each secret as findings do (`model.redact`), and `quoted` decides
whether a value read from a user's file may be quoted back at all.
"""

from __future__ import annotations

import re
from typing import Any

from deploysafe.lazy import on_first_use
from deploysafe.model import redact
from deploysafe.secrets import embedded
from deploysafe.secrets.detect import DetectOptions, analyse

DEFAULTS = DetectOptions()
# Free text is read as a config file: `password=...` and `token: ...` count unquoted.
_PROSE = "text.conf"
# Longest value quoted back in an error; a longer one is described (type and length).
QUOTE_MAX = 64
# A run of this many characters that mixes letters and digits looks generated: not quoted.
_RANDOM_RUN = 8


_parts = on_first_use(r"[-_./:@,=+*~ ]+")


_wordish = on_first_use(r"[A-Z]?[a-z]+(?:[A-Z][a-z]*)*|[A-Z]+")


def found(text: str, name: str = _PROSE, options: DetectOptions = DEFAULTS) -> list[str]:
    """Every secret the secrets rules would report in `text` (the value of setting `name`;
    free text by default), longest first."""
    result = analyse(text, name or _PROSE, options)
    secrets = [h.secret for h in result.tokens]
    secrets += [a.value for a in (*result.credentials, *result.defaults)]
    secrets += [j.setting.value for j in embedded.credentials(text, name, options) or ()]
    return sorted({s for s in secrets if s.strip()}, key=len, reverse=True)


def redacted(text: str, name: str = _PROSE, options: DetectOptions = DEFAULTS) -> str:
    """`text` with every secret in it printed as findings print theirs."""
    for secret in found(text, name, options):
        text = text.replace(secret, redact(secret))
    return text


def quotable(value: str) -> bool:
    """Short, printable, and neither a secret the detector knows nor random-looking (a run
    of letters and digits, or of letters in no word's case pattern)."""
    if not value or len(value) > QUOTE_MAX or not value.isprintable() or not value.isascii():
        return False
    for part in _parts().split(value):
        if len(part) < _RANDOM_RUN:
            continue
        letters = any(c.isalpha() for c in part)
        if letters and any(c.isdigit() for c in part):
            return False
        if not part.isalnum() or (letters and not _wordish().fullmatch(part)):
            return False
    return not found(value)


def quoted(value: Any) -> str:
    """A value from a user's file as an error may show it: quoted when `quotable`, else its
    type and length only."""
    if isinstance(value, str):
        return repr(value) if quotable(value) else f"<{len(value)} characters, not shown>"
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    return type(value).__name__


_quoted_strings = on_first_use(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")


def scrubbed(message: str) -> str:
    """A message that quotes values (`'...'`, as `repr` writes them) with each value that
    is not `quotable` described instead, and any other secret in it redacted."""

    def one(m: re.Match[str]) -> str:
        inner = m.group(0)[1:-1]
        return m.group(0) if quotable(inner) else f"<{len(inner)} characters, not shown>"

    return redacted(_quoted_strings().sub(one, message))
