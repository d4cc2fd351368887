"""DS321: COPY/ADD puts a credential file into a stage that ships."""

from __future__ import annotations

import fnmatch
import json
import shlex
from collections.abc import Iterator
from pathlib import PurePosixPath

from deploysafe.documents import Document
from deploysafe.model import Context, Practice, Rule, Severity, Target, Violation
from deploysafe.rules.secrets._common import policy
from deploysafe.rules.secrets._docker import instructions, shipping

CREDENTIAL_FILES = (
    ".npmrc",
    ".yarnrc.yml",
    ".pypirc",
    ".netrc",
    "_netrc",
    ".git-credentials",
    ".env",
    ".env.*",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "credentials*.json",
    "service-account*.json",
    "kubeconfig",
    "*.kubeconfig",
    "settings.xml",
    "nuget.config",
    "*.tfvars",
    "*.tfstate",
    ".htpasswd",
)
CREDENTIAL_PATHS = (".docker/config.json", ".aws/credentials", ".kube/config", ".ssh/")
_DOCUMENTED = (".example", ".sample", ".template", ".dist", ".tmpl")


def credential_file(source: str) -> bool:
    path = source.rstrip("/")
    if any(p in source for p in CREDENTIAL_PATHS):
        return True
    name = PurePosixPath(path).name
    if name.endswith(_DOCUMENTED) or name.endswith(".pub"):
        return False
    return any(fnmatch.fnmatchcase(name, pat) for pat in CREDENTIAL_FILES)


def sources(args: str) -> list[str]:
    text = args.strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError:
            items = None
        if isinstance(items, list):
            return [str(x) for x in items[:-1]]
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    return [w for w in words[:-1] if "<<" not in w]


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if policy(ctx).excluded(doc.file):
        return
    ships = shipping(doc)
    for i, inst in instructions(doc):
        if inst.get("cmd") not in ("COPY", "ADD") or inst.get("stage") not in ships:
            continue
        for src in sources(str(inst.get("args", ""))):
            if credential_file(src):
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
        "a builder stage are not reported here."
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
)
