"""CI file rules: trusted triggers (practice 1, DS1xx) and tests that gate (practice 6, DS6xx)."""

from __future__ import annotations

from deploysafe.model import Rule
from deploysafe.rules.ci import (
    action_template_injection,
    action_unpinned,
    artipacked,
    deploy_despite_failure,
    docker_uses,
    gitlab_deploy_despite_failure,
    gitlab_mr_secrets,
    gitlab_tests_cannot_fail,
    gitlab_unrestricted_deploy,
    gitlab_untested_deploy,
    permissions,
    pr_permissions,
    pwn_request,
    secrets_inherit,
    self_hosted,
    template_injection,
    tests_cannot_fail,
    unpinned_first_party,
    unpinned_third_party,
    unrestricted_deploy,
    untested_deploy,
)

CI_RULES: tuple[Rule, ...] = (
    pwn_request.RULE,
    template_injection.RULE,
    action_template_injection.RULE,
    pr_permissions.RULE,
    permissions.RULE,
    unpinned_third_party.RULE,
    unpinned_first_party.RULE,
    action_unpinned.RULE,
    docker_uses.RULE,
    secrets_inherit.RULE,
    artipacked.RULE,
    self_hosted.RULE,
    unrestricted_deploy.RULE,
    gitlab_unrestricted_deploy.RULE,
    gitlab_mr_secrets.RULE,
    untested_deploy.RULE,
    gitlab_untested_deploy.RULE,
    tests_cannot_fail.RULE,
    gitlab_tests_cannot_fail.RULE,
    deploy_despite_failure.RULE,
    gitlab_deploy_despite_failure.RULE,
)
