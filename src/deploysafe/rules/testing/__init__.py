"""Tests gate every deploy (practice 6, DS6xx): CI files whose tests cannot fail or do not gate."""

from __future__ import annotations

from deploysafe.rules.base import Rule
from deploysafe.rules.testing import (
    deploy_despite_failure,
    gitlab_deploy_despite_failure,
    gitlab_tests_cannot_fail,
    gitlab_untested_deploy,
    tests_cannot_fail,
    untested_deploy,
)

TEST_RULES: tuple[Rule, ...] = (
    untested_deploy.RULE,
    gitlab_untested_deploy.RULE,
    tests_cannot_fail.RULE,
    gitlab_tests_cannot_fail.RULE,
    deploy_despite_failure.RULE,
    gitlab_deploy_despite_failure.RULE,
)
