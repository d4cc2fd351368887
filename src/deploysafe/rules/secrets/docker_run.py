"""DS322: a RUN line passes or writes a credential inline."""

from __future__ import annotations

import re
from collections.abc import Iterator

from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule, Scope
from deploysafe.secrets.detect import is_placeholder, is_reference

# (pattern with group `v` = the credential, what it does)
_PATTERNS = (
    (
        re.compile(r"docker\s+login\b[^;&|]{0,200}?\s(?:-p|--password)[ =](?P<v>[^\s;&|]+)"),
        "docker login with a password on the command line (use --password-stdin)",
    ),
    (
        re.compile(
            r"echo\s+[\"']?[A-Za-z0-9_.-]{1,32}:(?P<v>[^\s\"'|]{1,200})[\"']?\s*\|\s*chpasswd"
        ),
        "sets an OS password with chpasswd",
    ),
    (
        re.compile(r"user(?:add|mod)\b[^;&|]{0,200}?\s(?:-p|--password)\s+(?P<v>[^\s;&|]+)"),
        "sets an OS password with useradd/usermod -p",
    ),
    (
        re.compile(r"npm\s+config\s+set\s+\S*_(?:authToken|auth|password)[\s=]+(?P<v>[^\s;&|]+)"),
        "writes a registry token into the npm config",
    ),
    (
        re.compile(
            r"(?:^|[\s;&|])(?:--password|--token|--api-key|--apikey|--secret|--client-secret)"
            r"[ =](?P<v>[^\s;&|\"']{4,200})"
        ),
        "passes a credential flag with a literal value",
    ),
    (
        re.compile(r"(?:^|[\s;&|])(?:PGPASSWORD|MYSQL_PWD|REDISCLI_AUTH)=(?P<v>[^\s;&|]+)"),
        "sets a client password variable inline",
    ),
    (
        re.compile(r"\bmysql(?:admin|dump)?\b[^;&|]{0,200}?\s-p(?P<v>[^\s;&|-][^\s;&|]*)"),
        "passes a MySQL password on the command line",
    ),
    (
        re.compile(
            r"\b(?:cp|mv|cat)\b[^;&|]{0,100}?(?P<v>/run/secrets/[^\s;&|>]+)[^;&|]{0,100}?"
            r"(?:\s/(?!run/secrets|dev/null|tmp)[^\s;&|]*|>\s*/(?!dev/null|tmp)\S+)"
        ),
        "copies a secret mount into the image filesystem, which defeats the mount",
    ),
)


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    p = ctx.secrets
    if p.excluded(doc.file):
        return
    items = doc.data.get("instructions")
    for i, inst in enumerate(items if isinstance(items, list) else []):
        if not isinstance(inst, dict) or inst.get("cmd") != "RUN":
            continue
        text = "\n".join([str(inst.get("args", "")), *map(str, inst.get("heredocs", []))])
        for pattern, what in _PATTERNS:
            for m in pattern.finditer(text):
                value = m.group("v").strip("\"'")
                mount = value.startswith("/run/secrets/")
                if not mount and (
                    value.startswith("$")
                    or is_reference(value, p.references)
                    or is_placeholder(value, p.placeholders)
                ):
                    continue
                yield Violation(
                    ("instructions", i),
                    f"RUN {what}",
                    secret=None if mount else value,
                )


RULE = Rule(
    id="DS322",
    title="RUN must not pass or write credentials inline",
    practice=Practice.SECRETS,
    severity=Severity.HIGH,
    target=Target.DOCKERFILE,
    why=(
        "A RUN line is recorded in the image history verbatim (`docker history "
        "--no-trunc`), and whatever it writes to disk stays in its layer: a password on "
        "a `docker login`, `mysql -p` or `--token` flag, a token written into `.npmrc`, an "
        "OS password set with `chpasswd`, or a secret mount copied into the filesystem all "
        "ship with the image."
    ),
    fix="Read the credential from a BuildKit secret mount in the step that needs it "
    "(`RUN --mount=type=secret,id=token,env=TOKEN ...`), use `--password-stdin`, and never "
    "copy `/run/secrets/*` elsewhere. OS accounts in images should not have passwords.",
    bad="""\
FROM alpine:3.20
RUN echo 'deploy:Tz8-qLm2Vx4' | chpasswd
""",
    good="""\
FROM alpine:3.20
RUN adduser -D -H deploy
""",
    references=("Checkov CKV2_DOCKER_17", "hadolint DL3064", "gitleaks curl-auth-user"),
    check=check,
    scopes=frozenset({Scope.REPOSITORY, Scope.HISTORY}),
)
