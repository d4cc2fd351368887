"""DS301: a secret of a known format (cloud keys, VCS and registry tokens, private keys ...)."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule, Scope
from deploysafe.rules.text_analysis import analysis
from deploysafe.secrets.patterns import TOKEN_TYPES


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    result = analysis(doc, ctx)
    if result is None:
        return
    for hit in result.tokens:
        yield Violation(
            (),
            f"hard-coded {hit.type.description} [{hit.type.id}]",
            offset=hit.offset,
            secret=hit.secret,
        )


def _types_table() -> str:
    rows = [f"- `{t.id}`: {t.description}. Shape: `{t.example}`" for t in TOKEN_TYPES]
    return "\n".join(rows)


RULE = Rule(
    id="DS301",
    title="No secret of a known format may be committed",
    practice=Practice.SECRETS,
    severity=Severity.CRITICAL,
    target=Target.TEXT,
    why=(
        "A token committed to Git is readable by everyone with read access, forever: in "
        "clones, forks, CI caches and the history after it is deleted. Tokens with a "
        "provider's format (cloud keys, GitHub/GitLab/registry tokens, private keys, "
        "webhooks, kubeconfig credentials) are found by attackers' scanners within minutes "
        "of a push. deploysafe looks for these types, each only after a keyword prefilter, "
        "and drops placeholders (`${VAR}`, `{{ .Values.x }}`, `<token>`, `ENC[...]`, "
        "EXAMPLE/dummy markers, documented sample keys) and low-entropy strings. A token in "
        "a comment is reported like any other: the comment is committed too. These types "
        "are looked for:\n\n" + _types_table()
    ),
    fix="Revoke and rotate the credential first (it is leaked, removing it does not undo "
    "that), then load it at run time from a secret manager or a Kubernetes Secret that is "
    "not committed in plain text (SOPS, SealedSecret, ExternalSecret), and at build time "
    "with `RUN --mount=type=secret`.",
    bad="""\
# ci/deploy.env
REGISTRY_URL=postgres://deploy:Tz8-qLm2Vx4@db.shop.internal:5432/orders
""",
    good="""\
# ci/deploy.env
REGISTRY_URL=postgres://deploy:${DB_PASSWORD}@db.shop.internal:5432/orders
""",
    references=(
        "gitleaks default rules",
        "detect-secrets plugins",
        "Checkov CKV_SECRET_*",
        "trufflehog detectors",
    ),
    check=check,
    scopes=frozenset({Scope.REPOSITORY, Scope.HISTORY}),
)
