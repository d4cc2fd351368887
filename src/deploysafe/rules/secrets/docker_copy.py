"""DS321: COPY/ADD puts a credential file into a stage that ships."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.inputs.buildcontext import normalise_source
from deploysafe.inputs.dockerfile import operands
from deploysafe.k8s.pods import as_list, as_map
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule, Scope
from deploysafe.rules.secrets._docker import instructions, shipping
from deploysafe.secrets.files import credential_file


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if ctx.secrets.excluded(doc.file):
        return
    ships = shipping(doc)
    # Files read from disk whose content holds no credential (a `*.pem` of certificates)
    cleared = set(as_list(as_map(doc.data.get("context")).get("cleared")))
    for i, inst in instructions(doc):
        if inst.get("cmd") not in ("COPY", "ADD") or inst.get("stage") not in ships:
            continue
        for src in operands(str(inst.get("args", "")))[0]:
            if credential_file(src) and normalise_source(src) not in cleared:
                yield Violation(
                    ("instructions", i),
                    f"{inst['cmd']} {src} puts a credential file into a stage that ships",
                )


RULE = Rule(
    id="DS321",
    title="Credential files must not be copied into a shipped image",
    practice=Practice.SECRETS,
    severity=Severity.HIGH,
    target=Target.DOCKERFILE,
    why=(
        "A file copied into an image layer stays in that layer even if a later step deletes "
        "it: `.npmrc`, `.pypirc`, `.netrc`, `.env`, SSH and TLS keys, `.docker/config.json`, "
        "cloud credentials and kubeconfigs all ship to everyone who can pull. Only the last "
        "stage of a multi-stage build (and the stages it is built on) ships, so copies into "
        "a builder stage are not reported here. A file whose name alone does not decide "
        "(`*.pem`, `.npmrc`, `settings.xml`) is not reported when it is in the build context "
        "and its content holds no credential: a `*.pem` of certificates is public."
    ),
    fix="Mount the file for the one step that needs it: "
    "`RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci`, or "
    "`RUN --mount=type=ssh git clone ...`; keep `.env` and keys out of the build context "
    "with `.dockerignore`.",
    bad="""\
FROM node:22-alpine
COPY .npmrc package.json ./
RUN npm ci
""",
    good="""\
FROM node:22-alpine
COPY package.json ./
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci
""",
    references=(
        "dockle CIS-DI-0010 (credential files)",
        "CIS Docker Benchmark 4.10",
        "gitleaks pkcs12-file",
    ),
    check=check,
    scopes=frozenset({Scope.REPOSITORY, Scope.HISTORY}),
)
