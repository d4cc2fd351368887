"""The release record: one JSON file per environment in the environment repository
(`.deploysafe/releases/<env>.json`), rewritten by every release. Its git history is the
release history; nothing is kept anywhere else.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from deploysafe.errors import InputError
from deploysafe.frozen import record

SCHEMA = 1
RECORDS = ".deploysafe/releases"
ACTIONS = ("deploy", "rollback", "promote")
_RELEASE = re.compile(r"^(?P<env>.+)-(?P<n>[1-9][0-9]*)$")


class RecordError(InputError):
    """A record in the environment repository is not a valid release record."""


def record_path(environment: str) -> str:
    return f"{RECORDS}/{environment}.json"


def release_id(environment: str, number: int) -> str:
    return f"{environment}-{number}"


def parse_release_ref(environment: str, text: str) -> int:
    """`7` or `prod-7` to 7; ValueError otherwise."""
    text = text.strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    m = _RELEASE.match(text)
    if m and m.group("env") == environment:
        return int(m.group("n"))
    raise ValueError(f"{text!r} is not a release of {environment} (expected N or {environment}-N)")


@record
class Record:
    data: Mapping[str, Any]
    commit: str = ""  # the environment-repository commit that wrote it (set when read)

    @property
    def release(self) -> str:
        return str(self.data["release"])

    @property
    def number(self) -> int:
        return int(self.data["number"])

    @property
    def environment(self) -> str:
        return str(self.data["environment"])

    @property
    def action(self) -> str:
        return str(self.data["action"])

    @property
    def digest(self) -> str:
        return str(self.data["rendered"]["digest"])

    @property
    def time(self) -> str:
        return str(self.data["time"])

    @property
    def source_commit(self) -> str | None:
        src = self.data.get("source")
        commit = src.get("commit") if isinstance(src, dict) else None
        return str(commit) if commit else None

    @property
    def manifests_from(self) -> str:
        """The release whose manifests this one carries (itself, or a rollback's target)."""
        return str(self.data.get("manifests_from") or self.release)

    @property
    def marks_bad(self) -> dict[str, str]:
        """Releases this record marked bad, with the reason (a rollback marks the one it
        rolled back from)."""
        out = {}
        for item in self.data.get("marked_bad") or []:
            if isinstance(item, dict) and isinstance(item.get("release"), str):
                out[item["release"]] = str(item.get("reason") or "")
        return out


def dumps(data: Mapping[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()


def parse(raw: bytes, environment: str, where: str) -> Record:
    """A record from the repository, checked: a wrong one is a corrupted environment repo."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise RecordError(f"{where}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise RecordError(f"{where}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:  # the JSON decoder's own nesting limit (about 1000 levels)
        raise RecordError(f"{where}: JSON nested too deeply to read") from None
    if not isinstance(data, dict):
        raise RecordError(f"{where}: expected a JSON object")
    if data.get("schema") != SCHEMA:
        raise RecordError(f"{where}: unknown record schema {data.get('schema')!r} (expected 1)")
    problems = []
    for key, kind in (("release", str), ("environment", str), ("action", str), ("time", str)):
        if not isinstance(data.get(key), kind):
            problems.append(f"`{key}` missing or not a string")
    number = data.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        problems.append("`number` missing or not a positive integer")
    rendered = data.get("rendered")
    digest = rendered.get("digest") if isinstance(rendered, dict) else None
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        problems.append("`rendered.digest` missing")
    if problems:
        raise RecordError(f"{where}: " + "; ".join(problems))
    if data["environment"] != environment:
        raise RecordError(
            f"{where}: records environment {data['environment']!r}, not {environment!r}"
        )
    if data["action"] not in ACTIONS:
        raise RecordError(f"{where}: unknown action {data['action']!r}")
    if data["release"] != release_id(environment, int(data["number"])):
        raise RecordError(f"{where}: release {data['release']!r} does not match number {number}")
    return Record(data)


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
