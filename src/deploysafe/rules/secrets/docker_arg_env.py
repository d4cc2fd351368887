"""DS320: Dockerfile ARG or ENV carries a secret (it persists in the image or its history)."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Rule, Scope
from deploysafe.rules.secrets._docker import instructions, pairs
from deploysafe.rules.secrets._docker_fix import fix_build_arg
from deploysafe.secrets.detect import is_placeholder, is_reference
from deploysafe.secrets.names import dockerfile_secret_name


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    p = ctx.secrets
    if p.excluded(doc.file):
        return
    for i, inst in instructions(doc):
        cmd = inst.get("cmd")
        if cmd not in ("ARG", "ENV"):
            continue
        for name, value in pairs(str(cmd), str(inst.get("args", ""))):
            if not dockerfile_secret_name(name):
                continue
            literal = (
                value
                if value
                and not is_reference(value, p.references)
                and not is_placeholder(value, p.placeholders)
                else None
            )
            if cmd == "ENV":
                how = "is stored in the image config (`docker inspect` shows it)"
            elif value:
                how = "has a default that is stored in the image history"
            else:
                how = "takes its value from `--build-arg`, which lands in the image history"
            yield Violation(
                ("instructions", i),
                f"{cmd} {name} {how}; use RUN --mount=type=secret",
                secret=literal,
            )


RULE = Rule(
    id="DS320",
    title="Dockerfile ARG and ENV must not carry secrets",
    practice=Practice.SECRETS,
    severity=Severity.HIGH,
    target=Target.DOCKERFILE,
    why=(
        "Build arguments and environment variables are recorded in the image: ENV values in "
        "its config for every container and every `docker inspect`, ARG values in the "
        "history and provenance of each layer that used them. A registry token passed this "
        "way ships to everyone who pulls the image. BuildKit's secret mounts keep build "
        "secrets out of every layer."
    ),
    fix="Pass build secrets with `docker build --secret id=npm,env=NPM_TOKEN` and read them "
    "in one step: `RUN --mount=type=secret,id=npm,env=NPM_TOKEN npm ci`. Runtime secrets "
    "belong to the platform (a Kubernetes Secret), never to the image.",
    bad="""\
FROM node:22-alpine
ARG NPM_TOKEN
RUN npm ci
""",
    good="""\
FROM node:22-alpine
RUN --mount=type=secret,id=npm,env=NPM_TOKEN npm ci
""",
    references=(
        "BuildKit check SecretsUsedInArgOrEnv",
        "hadolint DL3064",
        "dockle CIS-DI-0010",
        "Sonar S6472",
    ),
    check=check,
    autofix=AutoFix(
        fix_build_arg,
        safe=False,
        summary="`ARG NAME` without a default: the ARG line goes, and every RUN of its stage "
        "after it gets `--mount=type=secret,id=name,env=NAME`, so the variable is in the "
        "same steps' environment but in no layer or history. Unsafe: the build command "
        "must now pass the secret (`docker build --secret id=name,env=NAME`, or the "
        "`secrets:` input of docker/build-push-action) instead of `--build-arg`, and "
        "`env=` needs the BuildKit Dockerfile frontend 1.10 or later. ENV, an ARG with a "
        "default (the value is in the file: rotate it), and a stage that uses `$NAME` "
        "outside RUN need a manual fix.",
        before="""\
FROM node:22-alpine
ARG NPM_TOKEN
COPY package.json .npmrc ./
RUN npm ci
""",
        after="""\
FROM node:22-alpine
COPY package.json .npmrc ./
RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci
""",
    ),
    scopes=frozenset({Scope.REPOSITORY, Scope.HISTORY}),
)
