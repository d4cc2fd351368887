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
    Mutation,
    WebhookPolicy,
    level_label,
    parse_level,
)


def from_config(
    cfg: Config, *, namespace: str | None = None, mutate: Mutation | None = None
) -> WebhookPolicy:
    """The file's webhook policy; `namespace` (from --namespace or $POD_NAMESPACE) overrides
    the section's, since the serving pod knows where it runs, and `mutate` (serve --mutate)
    the section's mutating mode."""
    policy = replace(cfg.webhook, namespace=namespace) if namespace else cfg.webhook
    return replace(policy, mutate=mutate) if mutate is not None else policy


__all__ = [
    "LABEL_PREFIX",
    "LEVELS",
    "MODES",
    "Limits",
    "Modes",
    "Mutation",
    "WebhookPolicy",
    "from_config",
    "level_label",
    "parse_level",
]
