"""Secrets policy (practice 3, DS3xx)."""

from __future__ import annotations

from deploysafe.rules.base import Rule
from deploysafe.rules.secrets import (
    build_arg,
    configmap_secret,
    docker_arg_env,
    docker_context,
    docker_copy,
    docker_run,
    env_from_secret,
    env_literal,
    generator_literal,
    hardcoded_credential,
    hardcoded_token,
    secret_manifest,
)

SECRET_RULES: tuple[Rule, ...] = (
    hardcoded_token.RULE,
    hardcoded_credential.RULE,
    secret_manifest.RULE,
    configmap_secret.RULE,
    env_literal.RULE,
    env_from_secret.RULE,
    generator_literal.RULE,
    docker_arg_env.RULE,
    docker_copy.RULE,
    docker_run.RULE,
    docker_context.RULE,
    build_arg.RULE,
)
