"""The webhook's policy: the `webhook:` section (deploysafe.config.webhook), with the
namespace the serving pod runs in."""

from __future__ import annotations

from dataclasses import replace

from deploysafe.config import Config
from deploysafe.config.webhook import (
    LABEL_PREFIX,
    LEVELS,
    MODES,
    Limits,
    Modes,
    WebhookPolicy,
    level_label,
    parse_level,
)


def from_config(cfg: Config, *, namespace: str | None = None) -> WebhookPolicy:
    """The file's webhook policy; `namespace` (from --namespace or $POD_NAMESPACE) overrides
    the section's, since the serving pod knows where it runs."""
    return replace(cfg.webhook, namespace=namespace) if namespace else cfg.webhook


__all__ = [
    "LABEL_PREFIX",
    "LEVELS",
    "MODES",
    "Limits",
    "Modes",
    "WebhookPolicy",
    "from_config",
    "level_label",
    "parse_level",
]
