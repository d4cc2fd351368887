"""The top-level scan settings: `policy`, `pss_version`, `fail_on`, `exclude`,
`max_file_size`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from deploysafe.frozen import record
from deploysafe.model import LATEST, Level, Severity, Version, parse_version

if TYPE_CHECKING:
    from deploysafe.config.reader import Reader

KEYS = frozenset({"policy", "pss_version", "fail_on", "exclude", "max_file_size"})
DEFAULT_MAX_FILE_SIZE = 5 * 1024 * 1024


@record
class Basics:
    """The top-level keys of the policy file: policy, PSS version, fail_on, exclude, and the
    largest file read."""

    policy: Level = Level.RESTRICTED
    pss_version: Version = LATEST
    fail_on: Severity = Severity.HIGH
    exclude: tuple[str, ...] = ()
    max_file_size: int = DEFAULT_MAX_FILE_SIZE


def parse(r: Reader, top: Mapping[str, Any]) -> Basics:
    out = Basics()
    if "policy" in top:
        with r.item():
            policy = r.convert(Level, r.string(top["policy"], ("policy",)), ("policy",))
            out = replace(out, policy=policy)
    if "pss_version" in top:
        with r.item():
            version = r.convert(
                parse_version, r.string(top["pss_version"], ("pss_version",)), ("pss_version",)
            )
            out = replace(out, pss_version=version)
    if "fail_on" in top:
        with r.item():
            fail_on = r.convert(
                Severity.parse, r.string(top["fail_on"], ("fail_on",)), ("fail_on",)
            )
            out = replace(out, fail_on=fail_on)
    with r.item():
        out = replace(out, exclude=r.strings(top.get("exclude"), ("exclude",)))
    if "max_file_size" in top:
        size = top["max_file_size"]
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            r.note(("max_file_size",), "expected a positive number of bytes")
        else:
            out = replace(out, max_file_size=size)
    return out
