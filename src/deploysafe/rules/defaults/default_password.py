"""DS510: a credential setting in deployment config holds a well-known default password."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule, Scope
from deploysafe.rules.text_analysis import analysis
from deploysafe.secrets.detect import FileKind, file_kind, is_example_file


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    # Deployment configuration (values files, compose, .env, CI, Dockerfiles, scripts);
    # unit tests in source code may log in with "test" on purpose.
    if file_kind(doc.file) not in (FileKind.CONFIG, FileKind.SHELL) or is_example_file(doc.file):
        return
    result = analysis(doc, ctx)
    if result is None:
        return
    for a in result.defaults:
        yield Violation(
            (),
            f"{a.key} is set to a well-known default password",
            offset=a.offset,
            secret=a.value,
        )


RULE = Rule(
    id="DS510",
    title="Deployment config must not use default passwords",
    practice=Practice.DEFAULTS,
    severity=Severity.HIGH,
    target=Target.TEXT,
    why=(
        "`changeme`, `admin`, `password`, `Pa$$w0rd` and the other factory defaults are the "
        "first credentials anyone tries. Secret scanners deliberately treat them as "
        "placeholders and stay silent, which is how a Helm values file or a compose file "
        "ships a database that opens with the password from its README. deploysafe reports "
        "them, in values files, compose files, `.env` files (not `.env.example`), CI files, "
        "Dockerfiles and app config, as an insecure default rather than a leaked secret: "
        "also padded with digits (`CHANGEME00000000`, `admin2024`) under any credential "
        "name, and as the password of a connection URL (`mysql://root:password@db/app`).\n\n"
        "Not reported, on purpose: a default in a comment (`# password: changeme` documents "
        "an option, it configures nothing; so does a URL on a comment line), a URL to "
        "`localhost`, `example.com` or a `hostname` stand-in, and keys that name where a "
        "password is kept (`passwordKey: password`, `existingSecretPasswordKey: password`: "
        "the value is the name of a key in a Secret)."
    ),
    fix="Generate a strong password per environment (`openssl rand -base64 24`), keep it "
    "in a secret manager or an encrypted Secret, and reference it; rotate any system that "
    "ran with the default.",
    bad="""\
# charts/shop/values.yaml
postgresql:
  auth:
    password: changeme
""",
    good="""\
# charts/shop/values.yaml
postgresql:
  auth:
    existingSecret: shop-postgresql
""",
    references=(
        "CIS Controls 4.7 (manage default accounts)",
        "Checkov CKV2_DOCKER_17",
        "Kubescape C-0012",
    ),
    check=check,
    scopes=frozenset({Scope.REPOSITORY, Scope.HISTORY}),
)
