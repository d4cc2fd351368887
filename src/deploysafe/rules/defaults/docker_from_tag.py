"""DS597: a Dockerfile's FROM must name a version tag or a digest, not `latest`."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.defaults._dockerfile import global_args, stages, substitute
from deploysafe.rules.defaults.image_tag import problem


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    args = global_args(doc)
    earlier: set[str] = set()
    for st in stages(doc):
        base = substitute(st.base, args)
        # `scratch` is no image; an earlier stage is pinned where it is built; a base that
        # depends on a build argument without a default is decided by the build command.
        if base is not None and base.lower() != "scratch" and base.lower() not in earlier:
            why = problem(base)
            if why is not None:
                label = f"stage {st.name!r}" if st.name else f"stage {st.index}"
                shown = base if base == st.base else f"{st.base} ({base})"
                yield Violation(
                    ("stages", st.index),
                    f"{label} is built FROM {shown}, which {why}: each build may get a "
                    "different image; pin a version tag, or better a digest",
                )
        if st.name:
            earlier.add(st.name.lower())


RULE = Rule(
    id="DS597",
    title="Dockerfile FROM must pin a tag or a digest, not latest",
    practice=Practice.DEFAULTS,
    severity=Severity.MEDIUM,
    target=Target.DOCKERFILE,
    why=(
        "`FROM image` with no tag means `FROM image:latest`, and `latest` moves: two builds of "
        "the same commit can ship different operating systems, libraries and vulnerabilities, "
        "and a compromised or broken upstream push reaches your image on the next build. A "
        "version tag makes the change visible in review; a digest (`image:1.27@sha256:...`) "
        "makes the build reproducible, and tools like Renovate or Dependabot keep it fresh.\n\n"
        "Not reported: `FROM scratch`, a stage built from an earlier stage (its own FROM is "
        "checked), and a base that comes from a build argument with no default (the build "
        "command decides it); ARG defaults declared before the first FROM are substituted."
    ),
    fix="Name a version tag (`FROM python:3.12-slim`), or better pin the digest too "
    "(`FROM python:3.12-slim@sha256:...`) and let a dependency bot update it.",
    bad="""\
FROM python
COPY app.py /app/
USER 10001
CMD ["python", "/app/app.py"]
""",
    good="""\
FROM python:3.12-slim@sha256:2be8daddbb82756f7d1f2c7ece706aadcb284bf6ab1c769749695c7bc0e1a5b4
COPY app.py /app/
USER 10001
CMD ["python", "/app/app.py"]
""",
    references=(
        "hadolint DL3006",
        "hadolint DL3007",
        "Trivy DS001",
        "Checkov CKV_DOCKER_7",
    ),
    check=check,
)
