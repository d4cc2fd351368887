"""The environments `deploysafe deploy` releases to: the `environments:` section
(deploysafe.config.environments) looked up by name, deployable ones only."""

from __future__ import annotations

from deploysafe.config import Config
from deploysafe.config.environments import Environment
from deploysafe.errors import ConfigError


def load_environment(cfg: Config, name: str) -> Environment:
    """Environment `name`, which must have `tenant`, `render` and `target`."""
    env = cfg.environments.get(name)
    if env is None:
        known = ", ".join(sorted(cfg.environments)) or "none are configured"
        raise ConfigError(
            f"{cfg.path or 'deploysafe.yaml'}: unknown environment {name!r} ({known})"
        )
    if env.deploy is None:
        raise ConfigError(
            f"{cfg.path or 'deploysafe.yaml'}:{env.line}: environments.{name}: missing "
            "`tenant`, `render` and `target` (without them it can be verified, not deployed)"
        )
    return env


def load_environments(cfg: Config) -> dict[str, Environment]:
    """Every environment, each of which must be deployable."""
    return {name: load_environment(cfg, name) for name in cfg.environments}
