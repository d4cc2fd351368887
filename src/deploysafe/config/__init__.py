"""`deploysafe.yaml`: the one policy file, validated with errors that name key and line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from deploysafe.errors import ConfigError as ConfigError
from deploysafe.model import LATEST, Level, Path, Severity, Version, parse_version
from deploysafe.yamlload import YamlProblem, parse_all

CONFIG_NAMES = ("deploysafe.yaml", "deploysafe.yml", ".deploysafe.yaml", ".deploysafe.yml")
DEFAULT_MAX_FILE_SIZE = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Exception_:
    """A config-file suppression: rule (or *) for files/resources matching globs."""

    rule: str
    reason: str
    file: str = "*"
    resource: str = "*"  # glob over "Kind/namespace/name"
    expires: dt.date | None = None


@dataclass(frozen=True, slots=True)
class RuleSetting:
    enabled: bool = True
    severity: Severity | None = None


@dataclass(frozen=True, slots=True)
class Config:
    path: str | None = None
    policy: Level = Level.RESTRICTED
    pss_version: Version = LATEST
    fail_on: Severity = Severity.HIGH
    exclude: tuple[str, ...] = ()
    rules: Mapping[str, RuleSetting] = field(default_factory=dict)
    exceptions: tuple[Exception_, ...] = ()
    inline_suppressions: bool = True
    annotation_suppressions: bool = True
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    # Sections other features validate themselves (`environments`, `tenants`, `secrets`,
    # ...), with a Reader over the same positions so their errors name key and line too.
    sections: Mapping[str, Any] = field(default_factory=dict)
    positions: Mapping[Path, tuple[int, int]] = field(default_factory=dict)

    def reader(self) -> Reader:
        return Reader(self.path or "deploysafe.yaml", self.positions)


def find(root: FsPath) -> FsPath | None:
    base = root if root.is_dir() else root.parent
    for name in CONFIG_NAMES:
        candidate = base / name
        if candidate.is_file():
            return candidate
    return None


class Reader:
    """Reads typed values out of the parsed file, raising errors with the key's line."""

    def __init__(self, file: str, positions: Mapping[Path, tuple[int, int]]) -> None:
        self.file = file
        self.positions = positions

    def fail(self, path: Path, message: str) -> ConfigError:
        p = path
        while p and p not in self.positions:
            p = p[:-1]
        line = self.positions.get(p, (1, 1))[0]
        key = ".".join(str(x) for x in path) or "<top level>"
        return ConfigError(f"{self.file}:{line}: {key}: {message}")

    def mapping(self, value: Any, path: Path, allowed: set[str] | None = None) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {_type(value)}")
        if allowed is not None:
            for k in value:
                if k not in allowed:
                    known = ", ".join(sorted(allowed))
                    raise self.fail((*path, str(k)), f"unknown key (known keys: {known})")
        return value

    def string(self, value: Any, path: Path) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"expected a non-empty string, got {_type(value)}")
        return value

    def strings(self, value: Any, path: Path) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list of strings, got {_type(value)}")
        return tuple(self.string(v, (*path, i)) for i, v in enumerate(value))

    def boolean(self, value: Any, path: Path) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {_type(value)}")
        return value

    def date(self, value: Any, path: Path) -> dt.date:
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(path, "expected a date YYYY-MM-DD")

    def convert(self, fn: Any, value: Any, path: Path) -> Any:
        try:
            return fn(value)
        except (ValueError, TypeError, KeyError) as exc:
            raise self.fail(path, str(exc)) from None


_TOP = {
    "policy",
    "pss_version",
    "fail_on",
    "exclude",
    "rules",
    "exceptions",
    "suppressions",
    "max_file_size",
}


def load(path: FsPath, display: str | None = None) -> Config:
    file = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read the config file: {exc}") from None
    docs = list(parse_all(text))
    if not docs:
        return Config(path=file)
    first = docs[0]
    if isinstance(first, YamlProblem):
        raise ConfigError(f"{file}:{first.line}: {first}")
    if first.warnings:
        line, msg = first.warnings[0]
        raise ConfigError(f"{file}:{line}: {msg}")
    r = Reader(file, first.positions)
    # Sections with a parser of their own (environments, tenants, secrets ...) are accepted here and
    # validated by the feature that reads them.
    top = r.mapping(first.data, (), _TOP | _LATER)
    cfg = _build(r, top, file)
    _check_secrets(cfg)
    return cfg


def _check_secrets(cfg: Config) -> None:
    """The `secrets` section is validated at load, so mistakes are usage errors (exit 2)."""
    if "secrets" in cfg.sections:
        from deploysafe.config.secrets import from_config

        from_config(cfg)


# Sections validated by their own features.
_LATER = {"environments", "tenants", "secrets", "ci", "webhook"}


def _build(r: Reader, top: dict[str, Any], file: str) -> Config:
    cfg: dict[str, Any] = {
        "path": file,
        "sections": {k: v for k, v in top.items() if k in _LATER},
        "positions": r.positions,
    }
    if "policy" in top:
        cfg["policy"] = r.convert(Level, r.string(top["policy"], ("policy",)), ("policy",))
    if "pss_version" in top:
        cfg["pss_version"] = r.convert(
            parse_version, r.string(top["pss_version"], ("pss_version",)), ("pss_version",)
        )
    if "fail_on" in top:
        cfg["fail_on"] = r.convert(
            Severity.parse, r.string(top["fail_on"], ("fail_on",)), ("fail_on",)
        )
    cfg["exclude"] = r.strings(top.get("exclude"), ("exclude",))
    if "max_file_size" in top:
        size = top["max_file_size"]
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise r.fail(("max_file_size",), "expected a positive number of bytes")
        cfg["max_file_size"] = size
    rules: dict[str, RuleSetting] = {}
    for rid, setting in r.mapping(top.get("rules"), ("rules",)).items():
        p: Path = ("rules", str(rid))
        if str(rid) not in _rule_ids():
            raise r.fail(p, "unknown rule id (see `deploysafe rules`)")
        s = r.mapping(setting, p, {"enabled", "severity"})
        rules[str(rid)] = RuleSetting(
            enabled=r.boolean(s.get("enabled", True), (*p, "enabled")),
            severity=(
                r.convert(Severity.parse, r.string(s["severity"], (*p, "severity")), p)
                if "severity" in s
                else None
            ),
        )
    cfg["rules"] = rules
    exceptions = []
    raw = top.get("exceptions")
    if raw is not None and not isinstance(raw, list):
        raise r.fail(("exceptions",), f"expected a list, got {_type(raw)}")
    for i, item in enumerate(raw or []):
        p = ("exceptions", i)
        e = r.mapping(item, p, {"rule", "reason", "file", "resource", "expires"})
        if "reason" not in e:
            raise r.fail(p, "an exception needs a `reason`")
        exceptions.append(
            Exception_(
                rule=_exception_rule(r, e.get("rule", "*"), (*p, "rule")),
                reason=r.string(e["reason"], (*p, "reason")),
                file=r.string(e.get("file", "*"), (*p, "file")),
                resource=r.string(e.get("resource", "*"), (*p, "resource")),
                expires=r.date(e["expires"], (*p, "expires")) if "expires" in e else None,
            )
        )
    cfg["exceptions"] = tuple(exceptions)
    sup = r.mapping(top.get("suppressions"), ("suppressions",), {"inline", "annotations"})
    if "inline" in sup:
        cfg["inline_suppressions"] = r.boolean(sup["inline"], ("suppressions", "inline"))
    if "annotations" in sup:
        cfg["annotation_suppressions"] = r.boolean(
            sup["annotations"], ("suppressions", "annotations")
        )
    return Config(**cfg)


def _exception_rule(r: Reader, value: Any, path: Path) -> str:
    rule = r.string(value, path).strip().upper()
    if rule != "*" and rule not in _rule_ids():
        raise r.fail(path, f"unknown rule id {value!r} (see `deploysafe rules`)")
    return rule


def _rule_ids() -> set[str]:
    from deploysafe.rules import BY_ID  # late: the registry imports every rule module

    return set(BY_ID)


def _type(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
