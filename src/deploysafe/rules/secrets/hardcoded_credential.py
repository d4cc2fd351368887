"""DS302: a password-, token- or key-like setting holds a literal value."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule, Scope
from deploysafe.rules.text_analysis import analysis


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    result = analysis(doc, ctx)
    if result is None:
        return
    for a in result.credentials:
        yield Violation(
            (),
            f"{a.key} is set to a literal credential",
            offset=a.offset,
            secret=a.value,
        )


RULE = Rule(
    id="DS302",
    title="Credential settings must not hold literal values",
    practice=Practice.SECRETS,
    severity=Severity.HIGH,
    target=Target.TEXT,
    why=(
        "A setting whose name says password, secret, token or API key, given a literal "
        "value in a committed file, puts that credential in Git for everyone with read "
        "access. The check reads the file with its type's quoting rules (YAML, JSON, .env, "
        "properties, INI and shell take unquoted values; source code only quoted literals), "
        "and lets references through: `${VAR}`, `$(VAR)`, `{{ .Values.x }}`, "
        "`${{ secrets.X }}`, `<placeholder>`, `ENC[...]`, `vault:`/`ref+`/`op://` "
        "references, `/run/secrets/...` paths, function calls. Values that look typed by "
        "hand for a demo (EXAMPLE, dummy, xxxx, abcdefgh) are placeholders; well-known "
        "default passwords are practice 5's DS510. Files named `*.example`, `*.sample`, "
        "`*.template` document shapes and are not read by this rule. Under a password-, "
        "secret- or token-named key any literal counts however weak (`hunter2hunter2`); "
        "other names (`api_key`) need a generated-looking value. XML reads `<password>` "
        "elements and, in `.config` files, `<add key=… value=…/>` (Maven's encrypted `{…}` "
        "and NuGet's `%VAR%` are references).\n\n"
        "Not reported, on purpose: a setting in a comment (`# adminPassword: strongpassword` "
        "documents an option; a commented-out value that looks generated, letters with "
        "digits and high entropy, is still reported, and so is any token of a known format, "
        "DS301); keys that name where a credential is kept rather than hold it (Helm's "
        "`existingSecret*` keys, and a password word followed by `Key` or `Secret`: "
        "`passwordKey: admin-password`, `passwordSecret: db-auth`; `secretKey` and `apiKey` "
        "stay credentials); under secret/token names, values that are names "
        "(`existingSecret: shop-db`, `secretKey: DATABASE_URL`), `$variables` and "
        "`YourApiToken` stand-ins; options about a credential (`update_password: on_create`, "
        "a name that starts with update, reset, change, generate, rotate ...); shell and "
        "compose expansions (`${TOKEN:-${1}}`, `${PW:?set it}`, `$(openssl rand -hex 16)`); "
        "unquoted right-hand sides in PowerShell (`$Password = Read-Host`); an unquoted "
        "`Word: word more words` phrase; a segment of an ARN or other colon-separated name "
        "(`:secret:prod/db`); lists of names "
        '(`["token", "password"]`); values that name rather than hold: an identifier that '
        "spells the credential's own word (`REDIS_PASSWORD`, `argocd-git-ask-pass`, "
        "`somePassword`, `token1`), a `namespace/name` or `$secret:key` reference, a Go "
        "template action, a `^...$` pattern, an annotation that names a Secret "
        "(`example.io/auth-secret: basic-auth`), `secrets: inherit`; settings about a "
        "credential's owner or storage (`secretRepository.Username`, `password_encryption`); "
        "and a call with more arguments than a name and its default."
    ),
    fix="Rotate the credential, then read it at run time: from the environment filled "
    "from a Secret (`secretKeyRef`), from a mounted secret file, or from a secret manager; "
    "commit only a reference such as `${DB_PASSWORD}`.",
    bad="""\
# config/app.properties
spring.datasource.password=Tz8-qLm2Vx4
""",
    good="""\
# config/app.properties
spring.datasource.password=${DB_PASSWORD}
""",
    references=(
        "gitleaks generic-api-key",
        "detect-secrets KeywordDetector",
        "Checkov CKV_SECRET_6",
        "KICS Generic Password",
    ),
    check=check,
    scopes=frozenset({Scope.REPOSITORY, Scope.HISTORY}),
)
