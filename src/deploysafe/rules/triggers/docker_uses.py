"""Container images that run CI code (docker:// actions, job containers, service
containers) pinned by digest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deploysafe.ci import expressions
from deploysafe.ci.github import parse_uses, workflow_of
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, KeyPath, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.triggers._uses import at, workflow_uses


def _images(doc: CiDocument) -> Iterator[tuple[KeyPath, str, str]]:
    for path, u, what in workflow_uses(doc):
        if u.kind == "docker":
            yield path, u.raw.removeprefix("docker://"), what
    for job in workflow_of(doc).jobs:
        container: Any = job.get("container")
        if isinstance(container, str):
            yield (*job.path, "container"), container, f"{job.label} runs in"
        elif isinstance(container, dict) and isinstance(container.get("image"), str):
            yield (*job.path, "container", "image"), container["image"], f"{job.label} runs in"
        services = job.get("services")
        if isinstance(services, dict):
            for name, svc in services.items():
                if isinstance(svc, dict) and isinstance(svc.get("image"), str):
                    yield (
                        (*job.path, "services", str(name), "image"),
                        svc["image"],
                        f"{job.label} service {name!r} runs",
                    )


def _candidates(image: str, matrix: Any) -> list[str]:
    """The images a value can name: itself, or what its expression can return (literals,
    static matrix values)."""
    image = image.strip()
    if not expressions.is_expression(image):
        return [image] if "${{" not in image else []
    try:
        tree = expressions.parse(image[3:-2])
    except expressions.ExpressionError:
        return []
    literals, flows = expressions.results(tree)
    out = [v for v in literals if isinstance(v, str)]
    for flow in flows:
        if len(flow.path) == 2 and flow.path[0] == "matrix" and isinstance(matrix, dict):
            out.extend(_matrix_values(matrix, flow.path[1]))
    return out


def _matrix_values(matrix: dict[str, Any], key: str) -> list[str]:
    out: list[str] = []
    for k, v in matrix.items():
        if str(k).lower() == key and isinstance(v, list):
            out.extend(x for x in v if isinstance(x, str))
    for entry in matrix.get("include") or []:
        if isinstance(entry, dict):
            out.extend(v for k, v in entry.items() if str(k).lower() == key and isinstance(v, str))
    return out


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    jobs = {job.path: job for job in workflow_of(doc).jobs}
    for path, image, what in _images(doc):
        job = jobs.get(path[:2])
        strategy = job.get("strategy") if job is not None else None
        matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
        for name in dict.fromkeys(_candidates(image, matrix)):
            if not name or parse_uses(f"docker://{name}").pinned:
                continue
            last = name.rsplit("/", 1)[-1]
            tag = "a tag" if ":" in last and not last.endswith(":latest") else "no tag or :latest"
            yield at(doc, path, f"{what} `{name}`: {tag} can point at a new image any time")


RULE = Rule(
    id="DS109",
    title="Container images that run CI code must be pinned by digest",
    practice=Practice.TRIGGERS,
    severity=Severity.MEDIUM,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "`uses: docker://image:tag`, a job `container:` and `services:` run whatever image "
        "the tag points at when the job starts; whoever can push that tag runs code in the "
        "workflow, next to its token and secrets."
    ),
    fix="Reference images by digest: `image@sha256:<digest>` (keep the tag in a comment).",
    bad="""\
on: push
permissions: {}
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: docker://hadolint/hadolint:latest
""",
    good="""\
on: push
permissions: {}
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: docker://hadolint/hadolint@sha256:fff226bdf9ebcc08db47fb90ee144dd770120b35c2b1cbbb46e932a650cfe232
""",
    references=(
        "zizmor unpinned-images",
        "zizmor unpinned-uses (docker://)",
        "Scorecard Pinned-Dependencies",
    ),
    check=check,
)
