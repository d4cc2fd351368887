"""The secrets rules on whole files: exact (rule, line) pairs, Dockerfile parsing, policy."""

from __future__ import annotations

import base64
import json
import textwrap
from pathlib import Path

import pytest

from deploysafe.config import Config
from deploysafe.engine import RenderOptions, check_documents, scan, sources
from deploysafe.errors import ConfigError
from deploysafe.inputs.dockerfile import parse, stages
from deploysafe.inputs.render import kustomize_available
from deploysafe.model import Severity, Target
from tests.support import paths
from tests.support.policy import load as load_policy
from tests.support.secretgen import expand

SECRET_RULES = {"DS301", "DS302", "DS310", "DS311", "DS312", "DS313", "DS320", "DS321", "DS322"}
SECRET_RULES |= {"DS323"}
SECRET_RULES |= {"DS510"}


def found(text: str, name: str, cfg: Config | None = None) -> list[tuple[str, int]]:
    """(rule, line) of every secrets finding, a rule reported within another's finding
    (engine/fold.py) at that finding's line."""
    loaded = sources.load(text, name, {Target.TEXT, Target.KUBERNETES, Target.DOCKERFILE})
    assert not loaded.errors, loaded.errors
    report = check_documents(loaded.documents, cfg or Config())
    return sorted(
        (rid, f.line)
        for f in report.findings
        for rid in (f.rule_id, *f.also)
        if rid in SECRET_RULES
    )


DOCKERFILE = textwrap.dedent(
    """\
    # syntax=docker/dockerfile:1
    # escape=\\
    FROM node:22 AS build
    ARG NPM_TOKEN
    COPY .npmrc ./
    RUN --mount=type=secret,id=npm,env=NPM_TOKEN npm ci
    FROM build AS test
    RUN npm test
    FROM nginx:1.27-alpine
    ARG GPG_KEYS
    ENV APP_VERSION=1.4.2 \\
        SESSION_SECRET=Tz8-qLm2Vx4
    COPY --from=build /app/dist /usr/share/nginx/html
    COPY .env.example deploy/id_ed25519 /etc/app/
    RUN echo 'admin:Rk9-pWd3Qs7' | chpasswd \\
     && docker login -u ci -p "$REGISTRY_PASSWORD" registry.shop.internal
    RUN <<EOF
    mysql -uroot -pTz8-qLm2Vx4 -e 'select 1'
    EOF
    RUN cp /run/secrets/tls.key /etc/nginx/tls.key
    """
)


def test_dockerfile_rules() -> None:
    assert found(DOCKERFILE, "Dockerfile") == [
        ("DS302", 12),  # the literal itself, as in any shell-like file
        ("DS320", 4),  # bare ARG NPM_TOKEN (the .npmrc copy is in a stage that does not ship)
        ("DS320", 11),  # ENV SESSION_SECRET (continuation line)
        ("DS321", 14),  # id_ed25519 into the final stage; .env.example is documentation
        ("DS322", 15),  # chpasswd; docker login -p "$VAR" is a reference
        ("DS322", 17),  # heredoc: mysql -p<literal>
        ("DS322", 20),  # a secret mount copied into the image
    ]


def test_dockerfile_parser() -> None:
    instructions, escape = parse(DOCKERFILE)
    assert escape == "\\"
    assert [(i.cmd, i.line) for i in instructions][:4] == [
        ("FROM", 3),
        ("ARG", 4),
        ("COPY", 5),
        ("RUN", 6),
    ]
    assert instructions[3].flags == {"mount": ["type=secret,id=npm,env=NPM_TOKEN"]}
    assert instructions[8].args == "APP_VERSION=1.4.2 SESSION_SECRET=Tz8-qLm2Vx4"
    assert instructions[-2].heredocs == ["mysql -uroot -pTz8-qLm2Vx4 -e 'select 1'"]
    st = stages(instructions)
    # Only the last stage and the stages it is built FROM ship.
    assert [(s["name"], s["ships"]) for s in st] == [
        ("build", False),
        ("test", False),
        (None, True),
    ]


def test_backtick_escape_and_from_chain() -> None:
    text = (
        "# escape=`\nFROM alpine:3.20 AS base\nENV A=1 `\n    DB_PASSWORD=Tz8-qLm2Vx4\nFROM base\n"
    )
    instructions, escape = parse(text)
    assert escape == "`"
    assert instructions[1].args == "A=1 DB_PASSWORD=Tz8-qLm2Vx4"
    assert [s["ships"] for s in stages(instructions)] == [True, True]
    assert found(text, "Dockerfile") == [("DS302", 4), ("DS320", 3)]


MANIFESTS = textwrap.dedent(
    """\
    apiVersion: v1
    kind: Secret
    metadata: {name: db, namespace: shop}
    type: Opaque
    data:
      password: VHo4LXFMbTJWeDQ=
      empty: ""
      templated: "{{ .Values.db.password | b64enc }}"
    ---
    apiVersion: v1
    kind: Secret
    metadata: {name: sops, namespace: shop}
    stringData:
      password: ENC[AES256_GCM,data:aGVsbG8=,iv:aXY=,tag:dGFn,type:str]
    sops:
      mac: ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]
      version: 3.9.0
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: app, namespace: shop}
    data:
      DB_HOST: db.shop.svc
      DB_PASSWORD: Rk9-pWd3Qs7
      SECRET_NAME: db
    ---
    apiVersion: bitnami.com/v1alpha1
    kind: SealedSecret
    metadata: {name: sealed, namespace: shop}
    spec:
      encryptedData: {password: AgBy8hCi2Kx}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api, namespace: shop}
    spec:
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          containers:
          - name: api
            image: registry.shop.internal/api:1.4.2
            env:
            - {name: API_TOKEN, value: Qw7-zXc4Vb9-Nm2}
            - {name: LOG_LEVEL, value: info}
            - name: DB_PASSWORD
              valueFrom: {secretKeyRef: {name: db, key: password}}
            envFrom:
            - secretRef: {name: api}
    """
)


def test_kubernetes_rules() -> None:
    assert found(MANIFESTS, "k8s/app.yaml") == [
        ("DS302", 24),  # the ConfigMap line is also a literal credential setting
        ("DS310", 6),  # Secret data, base64 of a real-looking value
        ("DS311", 24),
        ("DS312", 45),
    ]


def test_secret_env_refs_are_reported_only_when_turned_on(tmp_path: Path) -> None:
    """`secretKeyRef`/`secretRef` is the documented way to consume a Secret: DS313 is opt-in,
    and a severity alone does not turn it on."""
    policy = tmp_path / "deploysafe.yaml"
    policy.write_text("rules:\n  DS313: {severity: medium}\n", encoding="utf-8")
    assert ("DS313", 48) not in found(MANIFESTS, "k8s/app.yaml", load_policy(policy))
    policy.write_text("rules:\n  DS313: {enabled: true}\n", encoding="utf-8")
    lines = found(MANIFESTS, "k8s/app.yaml", load_policy(policy))
    assert [x for x in lines if x[0] == "DS313"] == [("DS313", 48), ("DS313", 50)]


def test_allowed_managers(tmp_path: Path) -> None:
    (tmp_path / "deploysafe.yaml").write_text(
        "secrets:\n  managers: [external-secrets]\n", encoding="utf-8"
    )
    cfg = load_policy(tmp_path / "deploysafe.yaml")
    lines = found(MANIFESTS, "k8s/app.yaml", cfg)
    assert ("DS310", 28) in lines  # kind: SealedSecret: sealed-secrets is not allowed
    assert ("DS310", 15) in lines  # the sops Secret's sops block: not allowed either


def test_default_passwords_where_deployments_are_configured() -> None:
    values = "postgresql:\n  auth:\n    password: changeme\n    postgresPassword: Pa$$w0rd\n"
    assert found(values, "charts/shop/values.yaml") == [("DS510", 3), ("DS510", 4)]
    compose = "services:\n  db:\n    environment:\n      POSTGRES_PASSWORD: postgres\n"
    assert found(compose, "docker-compose.yml") == [("DS510", 4)]
    assert found("DB_PASSWORD=admin\n", ".env") == [("DS510", 1)]
    assert found("DB_PASSWORD=admin\n", ".env.example") == []
    assert found('password = "admin"\n', "tests/test_login.py") == []


def test_suppression_and_exclusion(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(
        "db:\n  password: Tz8-qLm2Vx4  # deploysafe: ignore[DS302] demo db (until 2099-01-01)\n"
        "cache:\n  password: Rk9-pWd3Qs7\n",
        encoding="utf-8",
    )
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "app.yaml").write_text("password: Rk9-pWd3Qs7\n", encoding="utf-8")
    (tmp_path / "deploysafe.yaml").write_text(
        "secrets:\n  exclude: ['samples/*']\n  placeholders: ['^Rk9-']\n", encoding="utf-8"
    )
    cfg = load_policy(tmp_path / "deploysafe.yaml")
    report = scan([tmp_path], cfg, root=tmp_path)
    assert [(f.rule_id, f.file, f.line, f.suppressed is not None) for f in report.findings] == [
        ("DS302", "app.yaml", 2, True),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("secrets: {managers: [vaultish]}\n", "deploysafe.yaml:1: secrets.managers.0: unknown"),
        ("secrets:\n  placeholders: ['(']\n", "deploysafe.yaml:2: secrets.placeholders.0: not a"),
        ("secrets:\n  colour: blue\n", "deploysafe.yaml:2: secrets.colour: unknown key"),
        ("secrets:\n  rules: missing.toml\n", "missing.toml: cannot read the secrets rules"),
    ],
)
def test_config_errors_name_key_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "deploysafe.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_policy(path, "deploysafe.yaml")
    assert message in str(err.value)


def test_custom_gitleaks_rules(tmp_path: Path) -> None:
    (tmp_path / "rules.toml").write_text(
        textwrap.dedent(
            """\
            [[rules]]
            id = "shop-internal-token"
            description = "Shop internal service token"
            regex = '''(?i)\\b(shop_[a-z0-9]{24})\\b'''
            keywords = ["shop_"]
            entropy = 3.0
            [rules.allowlist]
            stopwords = ["shop_ffffff"]
            """
        ),
        encoding="utf-8",
    )
    (tmp_path / "deploysafe.yaml").write_text("secrets: {rules: rules.toml}\n", encoding="utf-8")
    cfg = load_policy(tmp_path / "deploysafe.yaml")
    text = "a: shop_k3j9x2m8q7w4z1v6b5n0c8d2\nb: shop_ffffff0000000000000000aa\n"
    report = check_documents(sources.load(text, "x.yaml", {Target.TEXT}).documents, cfg)
    assert [(f.rule_id, f.line, f.message) for f in report.findings] == [
        (
            "DS301",
            1,
            "hard-coded Shop internal service token [shop-internal-token]: shop…(29 chars)",
        )
    ]


EXAMPLES = paths.EXAMPLES / "secrets"


@pytest.mark.parametrize("render", [True, False], ids=["render", "no-render"])
def test_secrets_examples(render: bool) -> None:
    opts = RenderOptions(enabled=render)
    root = EXAMPLES / "insecure"
    insecure = scan([root], Config(), root=root, render=opts, jobs=1)
    # Built with kustomize (when installed), the generator's Secret is DS310's too.
    built = [("deploy/smtp/kustomization.yaml", 4, "DS310")]
    if not render or kustomize_available() is None:
        built = []
    assert sorted((f.file, f.line, f.rule_id) for f in insecure.findings) == [
        (".env", 2, "DS302"),
        ("Dockerfile", 2, "DS320"),
        ("Dockerfile", 6, "DS598"),  # nginx runs as root: no USER
        ("Dockerfile", 8, "DS321"),
        ("charts/shop/values.yaml", 3, "DS510"),
        ("ci/build-image.sh", 4, "DS324"),
        *built,
        ("deploy/smtp/kustomization.yaml", 7, "DS302"),
        ("deploy/smtp/kustomization.yaml", 7, "DS314"),
        ("k8s/db-secret.yaml", 5, "DS310"),
    ]
    # The password in the Secret's URL is one committed secret: DS301's finding folds in.
    db = next(f for f in insecure.findings if f.file == "k8s/db-secret.yaml")
    assert (db.also, db.severity) == (("DS301",), Severity.CRITICAL)
    assert db.message.startswith(
        "Secret shop-db commits secret material (plain text): 'DATABASE_URL' holds a password "
        "embedded in a URL"
    )
    assert insecure.errors == ()
    root = EXAMPLES / "hardened"
    hardened = scan([root], Config(), root=root, render=opts, jobs=1)
    assert hardened.findings == () and hardened.errors == ()


def _dockercfg_secret(auth: str, style: str) -> str:
    config = json.dumps({"auths": {"https://registry.example/v1/": {"auth": auth}}})
    blob = base64.b64encode(config.encode()).decode()
    return (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: pull\n"
        f"type: kubernetes.io/dockercfg\ndata:\n  .dockercfg: {style}\n    {blob}\n"
    )


@pytest.mark.parametrize("style", ["|", ">"])
def test_docker_config_secret_is_judged_by_its_credentials(style: str) -> None:
    """The registry host may be example-like; the `auth` decides (here a real-looking one)."""
    auth = base64.b64encode(("ci:" + expand("{an:16}", 2)).encode()).decode()
    assert found(_dockercfg_secret(auth, style), "pull.yaml") == [("DS310", 7)]
    placeholder = base64.b64encode(b"ci:your-password-here").decode()
    assert found(_dockercfg_secret(placeholder, style), "pull.yaml") == []


def _report(text: str, name: str) -> tuple[list[tuple[str, int | None, str]], list[str]]:
    loaded = sources.load(text, name, {Target.TEXT, Target.KUBERNETES})
    report = check_documents(loaded.documents, Config())
    errors = [(e.file, e.line, e.message) for e in (*loaded.errors, *report.errors)]
    return errors, [f"{f.rule_id}:{f.line}" for f in report.findings if f.rule_id in SECRET_RULES]


def test_a_docker_config_nested_past_the_cap_is_a_credential() -> None:
    """JSON nested 100,000 deep ended DS310 with a RecursionError. Too deep to read, its
    credentials cannot be told from placeholders: the whole value counts as one."""
    deep = "[" * 100_000 + "]" * 100_000
    blob = base64.b64encode(('{"auths": {"r": ' + deep + "}}").encode()).decode()
    text = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: pull, namespace: shop}\n"
        f"type: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {blob}\n"
    )
    assert _report(text, "pull.yaml") == ([], ["DS310:6"])


def test_a_token_whose_payload_nests_past_the_cap_is_still_a_token() -> None:
    """A JWT-shaped token whose payload decodes to JSON nested 3,000 deep (random words at
    each level, as claims would be): an object too deep to read is still an object, and
    the token is reported."""

    def part(data: str) -> str:
        return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")

    header = part('{"alg": "HS256", "typ": "JWT"}')
    levels = "".join(f'["{expand("{an:8}", n)}", ' for n in range(3_000))
    payload = part('{"a": ' + levels + "0" + "]" * 3_000 + "}")
    token = f"{header}.{payload}.{expand('{url:43}', 5)}"
    errors, findings = _report(f"AUTH_TOKEN={token}\n", "app.env")
    assert (errors, findings) == ([], ["DS301:1"])
