"""Secret values are never shown: which objects carry them, and how a value is masked.

Every place that prints or diffs Kubernetes objects (release plans, `diff`, drift reports)
asks here. A Secret of any API group counts: masking a look-alike costs a readable diff
line, showing a real one leaks it. Beyond Secrets, what the secrets rules would report
anywhere in an object is masked too, judged by the same detector: tokens of a known
format in any string, credential-named settings with a literal value (`env` entries,
ConfigMap keys, settings inside an embedded config file), and the objects that
`kubectl.kubernetes.io/last-applied-configuration` and other JSON-valued strings hold.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from deploysafe.secrets.detect import DetectOptions, judge
from deploysafe.secrets.names import credential_name
from deploysafe.secrets.redact import found

MASK = "<masked>"
SECRET_FIELDS = ("data", "stringData")
# A string longer than this is masked whole rather than read: the detector's cost grows
# with the text, and a value that long in an object printed for review is not reviewable.
_READ_MAX = 1 << 20
_DEPTH_MAX = 64  # JSON-in-a-string nested deeper than this is masked whole
_DEFAULTS = DetectOptions()


def is_secret(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Secret"


def masked_value(value: Any) -> str:
    """The mask plus a short hash: a diff still shows that the value changed."""
    return f"{MASK} sha256:{hashlib.sha256(str(value).encode()).hexdigest()[:12]}"


def masked(obj: Mapping[str, Any], options: DetectOptions = _DEFAULTS) -> Mapping[str, Any]:
    """The object with a Secret's values, and every value the secrets rules would flag,
    masked; the object itself when nothing is."""
    out = _walk(obj, "", options, 0)
    return obj if out == obj else out


def masked_text(text: str, name: str = "", options: DetectOptions = _DEFAULTS) -> str:
    """A free-form string (the value of setting `name`) with what the secrets rules would
    flag in it masked: a credential-named one-line literal whole, else each token and each
    credential setting inside it."""
    return _text(name, text, options, 0)


def _walk(node: Any, name: str, options: DetectOptions, depth: int) -> Any:
    if depth > _DEPTH_MAX:
        return masked_value(node)
    if isinstance(node, str):
        return _text(name, node, options, depth)
    if isinstance(node, list):
        return [_walk(v, name, options, depth + 1) for v in node]
    if not isinstance(node, Mapping):
        return node
    secret = is_secret(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if secret and key in SECRET_FIELDS and isinstance(value, Mapping):
            out[key] = {k: masked_value(v) for k, v in value.items()}
        else:
            out[key] = _walk(value, str(key), options, depth + 1)
    # `env: [{name: DB_PASSWORD, value: ...}]`, Helm's `set` lists: the name says what the
    # value is.
    value = node.get("value")
    label = node.get("name")
    plain = isinstance(value, str | int | float) and not isinstance(value, bool)
    if isinstance(label, str) and plain and _named_credential(label, str(value), options):
        out["value"] = masked_value(value)
    return out


def _named_credential(name: str, value: str, options: DetectOptions) -> bool:
    pw = credential_name(name)
    return pw is not None and judge(name, value, pw, options) is not None


def _text(name: str, text: str, options: DetectOptions, depth: int) -> str:
    if len(text) > _READ_MAX:
        return masked_value(text)
    stripped = text.strip()
    if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
        try:
            inner = json.loads(stripped)
        except (ValueError, RecursionError):
            inner = None
        if isinstance(inner, dict | list):
            out = _walk(inner, name, options, depth + 1)
            if out == inner:
                return text
            return json.dumps(out, separators=(",", ":"), ensure_ascii=False) + (
                "\n" if text.endswith("\n") else ""
            )
    if "\n" not in stripped and _named_credential(name, stripped, options):
        return masked_value(stripped)
    for secret in found(text, name, options):
        text = text.replace(secret, masked_value(secret))
    return text
