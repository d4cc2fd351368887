"""Insecure defaults (practice 5, DS5xx): Kubernetes objects and Dockerfiles."""

from __future__ import annotations

from deploysafe.rules.base import Rule
from deploysafe.rules.defaults import (
    cpu_request,
    default_credentials,
    default_namespace,
    default_password,
    default_service_account,
    docker_from_tag,
    docker_root_user,
    exposed_service,
    host_port,
    image_tag,
    memory_limit,
    network_policy,
    read_only_root,
    unset_namespace,
)

DEFAULT_RULES: tuple[Rule, ...] = (
    default_namespace.RULE,
    default_service_account.RULE,
    image_tag.RULE,
    memory_limit.RULE,
    cpu_request.RULE,
    exposed_service.RULE,
    host_port.RULE,
    default_credentials.RULE,
    network_policy.RULE,
    default_password.RULE,
    unset_namespace.RULE,
    read_only_root.RULE,
    docker_root_user.RULE,
    docker_from_tag.RULE,
)
