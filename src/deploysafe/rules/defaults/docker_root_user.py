"""DS598: the image a Dockerfile ships must not run as root."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, KeyPath, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.defaults._dockerfile import (
    Stage,
    defaults,
    global_args,
    stage_instructions,
    stages,
    substitute,
)

_ROOT = frozenset({"root", "0"})


def _last_user(doc: Document, st: Stage) -> tuple[KeyPath, str] | None:
    found = None
    for i, inst in stage_instructions(doc, st.index):
        if inst.get("cmd") == "USER":
            found = (("instructions", i), str(inst.get("args", "")).strip())
    return found


def _stage_args(doc: Document, st: Stage, args: dict[str, str]) -> dict[str, str]:
    out = dict(args)
    for _, inst in stage_instructions(doc, st.index):
        if inst.get("cmd") in ("ARG", "ENV"):
            out.update(defaults(str(inst["cmd"]), str(inst.get("args", ""))))
    return out


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    all_stages = stages(doc)
    if not all_stages:
        return
    args = global_args(doc)
    by_name = {s.name.lower(): s for s in all_stages if s.name}
    final = st = all_stages[-1]
    seen: set[int] = set()
    # The user is the last USER of the final stage, else of the stage it is built from.
    while st.index not in seen:
        seen.add(st.index)
        user = _last_user(doc, st)
        if user is not None:
            path, raw = user
            value = substitute(raw, _stage_args(doc, st, args))
            if value is None:  # set by a build argument with no default: the build decides
                return
            name = value.partition(":")[0].strip()
            if name.lower() in _ROOT:
                yield Violation(
                    path,
                    f"the image runs as root (USER {raw}): a process that is exploited gets "
                    "root in the container; end with USER <non-root uid>",
                )
            return
        parent = by_name.get(st.base.lower())
        if parent is None:
            break
        st = parent
    base = substitute(st.base, args) or st.base
    if base.lower() == "scratch":
        inherited = "FROM scratch has no user, so it runs as UID 0"
    elif "nonroot" in base.lower() or "rootless" in base.lower():
        return  # images that say so set a non-root user
    else:
        inherited = f"it runs as the user of {base}, root unless that image sets one"
    yield Violation(
        ("stages", final.index),
        f"the final stage sets no USER: {inherited}; add USER <non-root uid> before CMD",
    )


RULE = Rule(
    id="DS598",
    title="The image a Dockerfile builds must not run as root",
    practice=Practice.DEFAULTS,
    severity=Severity.MEDIUM,
    target=Target.DOCKERFILE,
    why=(
        "A container runs as the image's user unless the pod overrides it. Most base images "
        "default to root, so an image whose final stage sets no `USER` (or `USER root`, "
        "`USER 0`) hands root inside the container to anyone who exploits the application: "
        "writable system paths, package managers, and a much shorter step to the node when "
        "another control is missing. Kubernetes' `runAsNonRoot` then refuses to start it, "
        "which is why images should set the user themselves.\n\n"
        "Only the final stage counts (build stages may need root); its user is the last "
        "`USER` in it, else in the stage it is built `FROM`. Not reported: a `USER` that comes "
        "from a build argument with no default, and base images whose name or tag says "
        "`nonroot`/`rootless` (distroless `:nonroot`, for example)."
    ),
    fix="Create or pick an unprivileged user and end the final stage with it, by number so "
    "that `runAsNonRoot` can verify it: `USER 10001` (or `USER app:app` after `useradd`).",
    bad="""\
FROM python:3.12-slim
COPY app.py /app/
CMD ["python", "/app/app.py"]
""",
    good="""\
FROM python:3.12-slim
COPY app.py /app/
USER 10001
CMD ["python", "/app/app.py"]
""",
    references=("hadolint DL3002", "Trivy DS002", "Checkov CKV_DOCKER_3", "Checkov CKV_DOCKER_8"),
    check=check,
)
