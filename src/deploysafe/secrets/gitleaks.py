"""Custom rules in gitleaks' TOML format (`--secrets-rules FILE`), so teams keep theirs.

Supported per rule: `id`, `description`, `regex` (Go RE2 syntax, translated), `secretGroup`,
`entropy`, `keywords`, and allowlists (`[rules.allowlist]` or `[[rules.allowlists]]`, and the
global `[allowlist]`) with `regexes` (target `secret`, `match` or `line`, all judged on the
secret here), `stopwords` and `condition`, and `path` (the rule then reads only the files
whose path it matches). Not supported, and said so: path-only rules (they name files, not
secrets), composite rules (`required`), `[extend]` (the default set is always deploysafe's
own).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from deploysafe.errors import ConfigError
from deploysafe.frozen import record
from deploysafe.secrets.patterns import TokenType

_POSIX = {
    "[:alnum:]": "A-Za-z0-9",
    "[:alpha:]": "A-Za-z",
    "[:digit:]": "0-9",
    "[:lower:]": "a-z",
    "[:upper:]": "A-Z",
    "[:space:]": r"\s",
    "[:xdigit:]": "0-9A-Fa-f",
    "[:word:]": r"\w",
    "[:punct:]": r"!-/:-@\[-`{-~",
}


class RulesError(ConfigError):
    """A rules file that cannot be used; the message names the file and the rule. Part of
    the policy: the file is named by `secrets.rules` or `--secrets-rules`."""


def translate(go: str) -> str:
    """A Go RE2 pattern in Python `re` syntax: inline flags, \\z, POSIX classes."""
    out = go.replace(r"\z", r"\Z")
    for posix, py in _POSIX.items():
        out = out.replace(posix, py)
    lead = ""
    m = re.match(r"\(\?([imsU]+)\)", out)
    if m is not None:
        lead = m.group(1).replace("U", "")
        out = out[m.end() :]
    # A flag group in mid-pattern applies to the rest of its group in RE2; Python only
    # takes global flags at the start, so scope it: ...(?i)rest -> ...(?i:rest)
    while True:
        m = re.search(r"(?<!\\)\(\?([imsU]+)\)", out)
        if m is None:
            break
        flags = m.group(1).replace("U", "")
        end = _group_end(out, m.end())
        body = out[m.end() : end]
        out = out[: m.start()] + (f"(?{flags}:{body})" if flags else body) + out[end:]
    return (f"(?{lead})" if lead else "") + out


def _group_end(s: str, start: int) -> int:
    """The index where the group enclosing `start` closes (or the end of the pattern)."""
    depth = 0
    i = start
    in_class = False
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            if depth == 0:
                return i
            depth -= 1
        elif c == "|" and depth == 0:
            return i
        i += 1
    return len(s)


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(translate(pattern))
    except re.error as exc:
        raise RulesError(f"{where}: regex does not compile ({exc})") from None


@record
class _Allowlist:
    regexes: tuple[re.Pattern[str], ...]
    stopwords: tuple[str, ...]
    both: bool  # condition AND: every kind of entry must match

    def allows(self, secret: str) -> bool:
        hits = []
        if self.regexes:
            hits.append(any(r.search(secret) for r in self.regexes))
        if self.stopwords:
            low = secret.lower()
            hits.append(any(w in low for w in self.stopwords))
        if not hits:
            return False
        return all(hits) if self.both else any(hits)


@record
class _NotAllowed:
    """A token type's `check`: the secret is kept unless an allowlist covers it."""

    lists: tuple[_Allowlist, ...]

    def __call__(self, secret: str) -> bool:
        return not any(a.allows(secret) for a in self.lists)


def _allow_check(allowlists: Sequence[dict[str, Any]], where: str) -> _NotAllowed | None:
    lists = tuple(
        _Allowlist(
            tuple(_compile(str(r), f"{where} allowlist {i}") for r in al.get("regexes", [])),
            tuple(str(w).lower() for w in al.get("stopwords", [])),
            str(al.get("condition", "OR")).upper() == "AND",
        )
        for i, al in enumerate(allowlists)
    )
    return _NotAllowed(lists) if lists else None


def load(path: Path) -> tuple[TokenType, ...]:
    """Every usable rule of a gitleaks TOML file, as token types reported under DS301."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: cannot read the secrets rules: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: not valid TOML: {exc}") from None
    rules = data.get("rules", [])
    if not isinstance(rules, list):
        raise RulesError(f"{path}: `rules` must be an array of tables ([[rules]])")
    glob = data.get("allowlist")
    global_lists = [glob] if isinstance(glob, dict) else []
    global_lists += [a for a in data.get("allowlists", []) if isinstance(a, dict)]
    out = []
    for n, rule in enumerate(rules):
        if not isinstance(rule, dict):
            raise RulesError(f"{path}: rule {n + 1} is not a table")
        rid = str(rule.get("id") or f"rule-{n + 1}")
        where = f"{path}: rule {rid!r}"
        if "regex" not in rule:
            continue  # path-only rules (file names) are not supported
        pattern = _compile(str(rule["regex"]), where)
        lists = [rule["allowlist"]] if isinstance(rule.get("allowlist"), dict) else []
        lists += [a for a in rule.get("allowlists", []) if isinstance(a, dict)]
        check = _allow_check(lists + global_lists, where)
        keywords = tuple(str(k).lower() for k in rule.get("keywords", []))
        try:
            entropy = float(rule.get("entropy", 0.0))
            group = int(rule["secretGroup"]) if "secretGroup" in rule else None
        except (TypeError, ValueError):
            raise RulesError(f"{where}: entropy and secretGroup must be numbers") from None
        scope = _compile(str(rule["path"]), where) if rule.get("path") else None
        out.append(
            TokenType(
                id=rid,
                description=str(rule.get("description") or rid),
                regex=pattern.pattern,  # compiled here to report a bad one
                keywords=keywords or ("",),
                example="",
                entropy=entropy,
                check=check,
                markers_ok=True,
                group=group,
                custom=True,
                multiline=True,
                path=scope,
            )
        )
    return tuple(out)
