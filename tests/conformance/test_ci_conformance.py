"""zizmor's fixtures through deploysafe's CI rules: the same lines per audit, or a named
reason why not. The figures go to docs/ci.md (`python -m tests.support.ci_conformance`)."""

from __future__ import annotations

import re

import pytest

from tests.support import paths
from tests.support.ci_conformance import AUDITS, Outcome, conformance_root, outcomes, table

ROOT = conformance_root()
pytestmark = pytest.mark.skipif(
    ROOT is None, reason="conformance data not found (set DEPLOYSAFE_CONFORMANCE)"
)

_PERSONA = "zizmor's {} persona reports this; deploysafe reports what zizmor's default persona does"
_ARTIPACKED = (
    "zizmor flags every checkout that leaves credentials in .git/config; deploysafe only where "
    "the job then uploads an artifact, the path by which they leak (ArtiPACKED), as the issue "
    "asks"
)
_TRIGGER = (
    "a pull_request_target/workflow_run workflow that never checks out the pull request's code: "
    "zizmor flags the trigger itself, deploysafe only a checkout of the head that then runs "
    "(label-only workflows are fine)"
)
_IGNORED = (
    "a `# zizmor: ignore[...]` comment hides zizmor's finding; deploysafe does not honour "
    "another tool's reasonless suppressions (`# deploysafe: ignore[DSnnn] reason` does)"
)
_SELF_HOSTED = (
    "auditor persona: zizmor lists every self-hosted runner; deploysafe flags them only in "
    "workflows that forks and outsiders can trigger, and this one runs on push"
)

# (audit, case, input) -> why deploysafe reports other lines than zizmor, on purpose.
DISAGREE: dict[tuple[str, str, str], str] = {
    ("artipacked", "test_regular_persona", "artipacked.yml"): _ARTIPACKED,
    ("artipacked", "test_pedantic_persona --persona=pedantic", "artipacked.yml"): _ARTIPACKED,
    ("artipacked", "test_auditor_persona --persona=auditor", "artipacked.yml"): _ARTIPACKED,
    (
        "artipacked",
        "test_issue_447 --persona=auditor",
        "artipacked/issue-447-repro.yml",
    ): _ARTIPACKED,
    (
        "artipacked",
        "test_issue_1709 --persona=pedantic",
        "artipacked/issue-1709-repro.yml",
    ): _ARTIPACKED + "; also checkout v6 keeps credentials out of the workspace",
    (
        "artipacked",
        "test_issue_1769 --persona=pedantic",
        "artipacked/issue-1769-repro.yml",
    ): _ARTIPACKED + "; also `with:` is computed at run time",
    (
        "artipacked",
        "test_composite_action --persona=auditor",
        "artipacked/demo-action/action.yml",
    ): _ARTIPACKED + "; deploysafe has no artipacked rule for composite actions",
    ("artipacked", "test_with_mapping_alias", "anchors/with-mapping-alias.yml"): _ARTIPACKED,
    ("artipacked", "test_dummy_job_anchors", "anchors/dummy-job-anchors.yml"): _ARTIPACKED,
    ("artipacked", "test_flow_mapping_step", "anchors/flow-mapping-step.yml"): _ARTIPACKED,
    ("dangerous-triggers", "test_regular_persona", "bot-conditions.yml"): _TRIGGER,
    ("dangerous-triggers", "test_trigger_paths_anchor", "anchors/trigger-paths-anchor.yml"): (
        _TRIGGER
    ),
    ("dangerous-triggers", "test_trigger_block_alias", "anchors/trigger-block-alias.yml"): (
        _TRIGGER
    ),
    ("unpinned-uses", "test_issue_2320", "cache-poisoning/issue-2320-repro.yml"): _IGNORED,
    ("unpinned-uses", "test_ref_confusion", "ref-confusion.yml"): _IGNORED,
    ("unpinned-uses", "test_issue_518_repro", "ref-confusion/issue-518-repro.yml"): _IGNORED,
    ("unpinned-uses", "test_pedantic_persona --persona=pedantic", "stale-action-refs.yml"): (
        _IGNORED
    ),
    ("unpinned-uses", "test_use_trusted_publishing", "use-trusted-publishing.yml"): _IGNORED,
    ("unpinned-uses", "test_demo_action", "use-trusted-publishing/demo-action/action.yml"): (
        _IGNORED
    ),
    ("unpinned-uses", "test_npm_publish", "use-trusted-publishing/npm-publish.yml"): _IGNORED,
    ("template-injection", "test_no_ignores", "ignore.yml"): _IGNORED,
    (
        "template-injection",
        "test_ignores_config_in_dotgithub_from_file_input",
        "config-scenarios/config-in-dotgithub/.github/workflows/hackme.yml",
    ): "zizmor.yml next to the workflow switches the audit off for this file",
    (
        "excessive-permissions",
        "test_issue_336_repro",
        "excessive-permissions/issue-336-repro.yml",
    ): (
        "a workflow-level write scope in a single-job workflow: zizmor reports it only at its "
        "pedantic persona (the one job's grant), deploysafe always, since every job added "
        "later inherits it"
    ),
    (
        "excessive-permissions",
        "test_workflow_default_perms_pedantic --pedantic",
        "excessive-permissions/workflow-default-perms.yml",
    ): _PERSONA.format("pedantic") + " (the job-level finding at line 14 is reported)",
    ("self-hosted-runner", "test_self_hosted_auditor --persona=auditor", "self-hosted.yml"): (
        _SELF_HOSTED
    ),
    (
        "self-hosted-runner",
        "test_self_hosted_runner_label --persona=auditor",
        "self-hosted/self-hosted-runner-label.yml",
    ): _SELF_HOSTED,
    (
        "self-hosted-runner",
        "test_self_hosted_runner_group --persona=auditor",
        "self-hosted/self-hosted-runner-group.yml",
    ): _SELF_HOSTED,
    (
        "self-hosted-runner",
        "test_self_hosted_matrix_dimension --persona=auditor",
        "self-hosted/self-hosted-matrix-dimension.yml",
    ): _SELF_HOSTED,
    (
        "self-hosted-runner",
        "test_self_hosted_matrix_inclusion --persona=auditor",
        "self-hosted/self-hosted-matrix-inclusion.yml",
    ): _SELF_HOSTED,
    (
        "template-injection",
        "test_template_injection_static_matrix --persona=auditor",
        "template-injection/template-injection-static-matrix.yml",
    ): _PERSONA.format("auditor") + " (a static matrix value is not attacker-controlled)",
    ("template-injection", "test_pr_317_repro", "template-injection/pr-317-repro.yml"): (
        "the matrix value is built from github.repository_owner, which is fixed by GitHub; "
        "zizmor treats any matrix value holding an expression as unknown"
    ),
    ("template-injection", "test_issue_339_repro", "template-injection/issue-339-repro.yml"): (
        "an earlier step's output is not known to be attacker-controlled (zizmor: informational)"
    ),
    (
        "template-injection",
        "test_issue_883_repro_action",
        "template-injection/issue-883-repro/action.yml",
    ): (
        "lines 56, 57, 110, 111 expand env values set from earlier steps' outputs, not known "
        "to be attacker-controlled (zizmor: low); lines 48, 60, 65 agree"
    ),
    (
        "template-injection",
        "test_multiline_expression_pedantic --persona=pedantic",
        "template-injection/multiline-expression.yml",
    ): _PERSONA.format("pedantic") + " (unknown contexts and undeclared inputs)",
    (
        "template-injection",
        "test_issue_988_repro_pedantic --persona=pedantic",
        "template-injection/issue-988-repro.yml",
    ): _PERSONA.format("pedantic") + " (github.event_name and github.repository are fixed)",
    (
        "template-injection",
        "test_issue_1638 --persona=pedantic",
        "template-injection/issue-1638-repro.yml",
    ): _PERSONA.format("pedantic") + " (github.triggering_actor is a login)",
    (
        "template-injection",
        "test_issue_1664 --persona=pedantic",
        "template-injection/issue-1664-repro.yml",
    ): _PERSONA.format("pedantic") + " (a secret is not attacker-controlled)",
    (
        "template-injection",
        "test_issue_1802 --persona=pedantic",
        "template-injection/issue-1802-repro.yml",
    ): _PERSONA.format("pedantic") + " (needs.*.result is a fixed word)",
    ("template-injection", "test_issue_1903", "template-injection/issue-1903-repro.yml"): (
        "`(github.event.pull_request || github.event.issue).number` is a number either way "
        "(zizmor: informational)"
    ),
    ("github-env", "test_action", "github-env/action.yml"): (
        "a composite action: the trigger of the workflow that calls it is unknown, so "
        "deploysafe does not call its GITHUB_ENV writes privileged; zizmor flags them"
    ),
    ("unpinned-images", "test_pedantic_persona --persona=pedantic", "unpinned-images.yml"): (
        "line 118 picks the image from inputs/vars, unknown until run time, so deploysafe does "
        "not call it unpinned; line 110's `@sha256:...` placeholder counts as a digest for both"
    ),
}


@pytest.fixture(scope="module")
def results() -> list[Outcome]:
    assert ROOT is not None
    return list(outcomes(ROOT))


def _key(o: Outcome) -> tuple[str, str, str]:
    return (o.audit, o.case, o.input)


def test_agrees_unless_named(results: list[Outcome]) -> None:
    unexpected = [o for o in results if not o.agrees and _key(o) not in DISAGREE]
    assert not unexpected, "\n".join(
        f"{o.audit} {o.case} [{o.input}]: zizmor {o.expected}, deploysafe {o.got}"
        for o in unexpected
    )


def test_named_disagreements_still_disagree(results: list[Outcome]) -> None:
    by_key = {_key(o): o for o in results}
    stale = [k for k in DISAGREE if k not in by_key or by_key[k].agrees]
    assert not stale, f"these now agree (or vanished); drop them from DISAGREE: {stale}"


def test_agreeing_cases_include_findings(results: list[Outcome]) -> None:
    """Agreement is not only on clean files: most audits agree on real findings."""
    for audit in AUDITS:
        hits = [o for o in results if o.audit == audit and o.agrees and o.expected]
        if audit not in ("dangerous-triggers", "artipacked", "self-hosted-runner"):
            assert hits, f"{audit}: no agreeing case with findings"


def test_docs_report_the_measured_figures(results: list[Outcome]) -> None:
    docs = (paths.DOCS / "ci.md").read_text(encoding="utf-8")
    measured = table(results)
    assert measured in docs, f"docs/ci.md is stale; the measured table is:\n{measured}"
    readme = (paths.REPO / "README.md").read_text(encoding="utf-8")
    default = [o for o in results if "--persona=" not in o.case and "--pedantic" not in o.case]
    figure = (
        f"agree on {sum(o.agrees for o in results)} of {len(results)} cases "
        f"({sum(o.agrees for o in default)} of {len(default)} at zizmor's\ndefault persona"
    )
    assert figure in readme, f"README.md is stale; it should say: {figure}"


def test_exact_lines_on_a_known_case(results: list[Outcome]) -> None:
    hit = next(
        o
        for o in results
        if o.audit == "excessive-permissions"
        and o.input == "excessive-permissions/reusable-workflow-other-triggers.yml"
    )
    assert hit.expected == hit.got == (1, 11, 19)
    assert re.fullmatch(r"test_\w+", hit.case)
