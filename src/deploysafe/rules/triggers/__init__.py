"""Trusted triggers (practice 1, DS1xx): CI files a fork or an outsider could hijack."""

from __future__ import annotations

from deploysafe.rules.base import Rule
from deploysafe.rules.triggers import (
    action_template_injection,
    action_unpinned,
    action_unpinned_first_party,
    all_secrets,
    artipacked,
    docker_uses,
    github_app_token,
    github_env,
    gitlab_input_injection,
    gitlab_mr_secrets,
    gitlab_unrestricted_deploy,
    permissions,
    piped_download,
    pr_permissions,
    pwn_request,
    ref_injection,
    secrets_inherit,
    self_hosted,
    template_injection,
    unpinned_first_party,
    unpinned_third_party,
    unrestricted_deploy,
)

TRIGGER_RULES: tuple[Rule, ...] = (
    pwn_request.RULE,
    template_injection.RULE,
    ref_injection.RULE,
    action_template_injection.RULE,
    pr_permissions.RULE,
    permissions.RULE,
    unpinned_third_party.RULE,
    unpinned_first_party.RULE,
    action_unpinned.RULE,
    action_unpinned_first_party.RULE,
    docker_uses.RULE,
    secrets_inherit.RULE,
    artipacked.RULE,
    self_hosted.RULE,
    unrestricted_deploy.RULE,
    gitlab_unrestricted_deploy.RULE,
    gitlab_mr_secrets.RULE,
    all_secrets.RULE,
    piped_download.RULE,
    github_app_token.RULE,
    github_env.RULE,
    gitlab_input_injection.RULE,
)
