"""The Helm SDK's render, as `helm template` does it; run only in a sandbox worker
(deploysafe.inputs.sandbox), never in the scanning process: Go code has no time limit."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

_MAX_MESSAGE_LINES = 6


class Refused(Exception):
    """Helm refused the input; the message is Helm's, for the user."""


# klog's prefix on kubectl errors: `E1127 06:32:18.341297    5034 run.go:72] "command failed" err=`
_KLOG = re.compile(r'^[EWIF]\d{4} [\d:.]+\s+\d+ \S+\] (?:"command failed" err=)?', re.MULTILINE)
_WARNING = "# Warning: "
_NOT_MESSAGE = frozenset({"", "<", ">"})


def engine_message(text: str) -> str:
    """An engine's error as a short message: log prefixes and quotes gone, a few lines."""
    text = _KLOG.sub("", text).strip()
    if len(text) > 1 and text[0] == text[-1] == '"':  # kubectl quotes the whole error
        text = text[1:-1]
    if "\n" not in text and "\\n" in text:  # ... and escapes its newlines, as Go's %q does
        text = text.replace("\\n", "\n").replace('\\"', '"')
    # kustomize warns of each deprecated field before its error: the error is what fails.
    # (klog writes a multi-line error between `<` and `>` lines.)
    lines = [
        ln.rstrip()
        for ln in text.splitlines()
        if ln.strip() not in _NOT_MESSAGE and not ln.startswith(_WARNING)
    ]
    if len(lines) > _MAX_MESSAGE_LINES:
        lines = [*lines[:_MAX_MESSAGE_LINES], "..."]
    return "\n".join(lines) or "failed without a message"


def merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's merge of values files and --set: maps merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in override.items():
        old = out.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            out[key] = merge(old, value)
        else:
            out[key] = value
    return out


def start() -> None:
    """Load the SDK and start its Go runtime (its threads, its first heap)."""
    import helm_python as sdk

    sdk.validate_release_name("release")


def render(
    chart: Path,
    values: Sequence[Path],
    set_values: Sequence[str],
    namespace: str,
    release_name: str,
) -> list[tuple[str, str]]:
    """(template, text) for each template `helm template` would print; raises Refused."""
    import helm_python as sdk

    error: type[Exception] = sdk.HelmError
    merged: dict[str, Any] = {}
    for f in values:
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise Refused(f"cannot read values file {f}: {reason or exc}") from None
        try:
            merged = merge(merged, sdk.values_from_yaml(text))
        except error as exc:
            raise Refused(f"values file {f}: {engine_message(str(exc))}") from None
    for expression in set_values:
        try:
            merged = merge(merged, sdk.parse_set_string(expression))
        except error as exc:
            raise Refused(f"--set {expression}: {engine_message(str(exc))}") from None
    try:
        sdk.validate_release_name(release_name)
        with sdk.Chart.load(chart) as loaded:
            # What `helm template` checks before rendering and the SDK's render does not.
            if loaded.metadata.get("type") == "library":
                raise Refused("library charts are not installable")
            manifests: dict[str, str] = loaded.render(
                merged,
                name=release_name,
                namespace=namespace,
                revision=1,
                is_install=True,
            )
    except error as exc:
        raise Refused(engine_message(str(exc))) from None
    # What `helm template` prints: no partials, no NOTES.txt, no empty files.
    return [
        (name, text)
        for name, text in sorted(manifests.items())
        if not name.rsplit("/", 1)[-1].startswith("_")
        and not name.endswith("NOTES.txt")
        and text.strip()
    ]
