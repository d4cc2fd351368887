"""What the secrets rules (practice 3, and DS510) deliberately do not report, each class from
a minimal input, next to the nearest input that is still reported."""

from __future__ import annotations

import base64
import hashlib
import textwrap
from pathlib import Path

import pytest

from deploysafe.config import Config
from deploysafe.engine import check_documents, scan, sources
from deploysafe.model import Finding, Practice, Target
from deploysafe.secrets.detect import public_certificate
from deploysafe.secrets.install import made_at_install
from tests.support.scantools import write_tree
from tests.support.secretgen import certificate_pem, fake_github_token, private_key_pem

# A credential-shaped literal, built here so that this file does not hold one.
LITERAL = "Tz8-qLm2" + "Vx4q"


def findings(text: str, name: str) -> list[Finding]:
    loaded = sources.load(text, name, {Target.TEXT, Target.KUBERNETES, Target.DOCKERFILE})
    assert not loaded.errors, loaded.errors
    report = check_documents(loaded.documents, Config())
    return [f for f in report.findings if f.practice is Practice.SECRETS or f.rule_id == "DS510"]


def found(text: str, name: str) -> list[tuple[str, int]]:
    return sorted((f.rule_id, f.line) for f in findings(textwrap.dedent(text), name))


# --- commented-out settings --------------------------------------------------------------


def test_commented_example_settings_are_not_credentials() -> None:
    text = """\
    grafana:
      # adminPassword: strongpassword
      adminUser: admin
      #       basicAuthPassword: pass
    mysql:
      #   password: password1
      user: exporter  # password: some_pass
    """
    assert found(text, "values.yaml") == []


def test_a_commented_generated_value_and_a_token_in_a_comment_are_still_reported() -> None:
    token = fake_github_token()
    text = f"""\
    # password: Tz8-qLm2Vx4
    # github_token: {token}
    """
    assert found(text, "values.yaml") == [("DS301", 2), ("DS302", 1)]


def test_the_same_settings_uncommented_are_reported() -> None:
    text = """\
    adminPassword: strongpassword
    basicAuthPassword: pass
    """
    assert found(text, "values.yaml") == [("DS302", 1), ("DS510", 2)]


def test_a_hash_inside_a_quoted_value_is_not_a_comment() -> None:
    assert found('url = "a #b" password = Tz8qLm2Vx4\n', "app.conf") == [("DS302", 1)]


# --- key names taken as values -----------------------------------------------------------


def test_keys_that_name_where_a_password_is_kept_are_not_credentials() -> None:
    text = """\
    auth:
      passwordKey: admin-password
      userPasswordKey: "password"
      existingSecret: grafana-admin
      existingSecretPasswordKey: password
      existingPasswordSecretKey: password
      passwordSecret: db-auth
    """
    assert found(text, "values.yaml") == []


def test_credential_keys_ending_in_key_or_secret_are_still_credentials() -> None:
    text = """\
    secretKey: Tz8-qLm2Vx4q
    clientSecret: Rk9-pWd3Qs7x
    keyPassword: changeme
    """
    assert found(text, "values.yaml") == [("DS302", 1), ("DS302", 2), ("DS510", 3)]


# --- shell and compose references --------------------------------------------------------


def test_shell_and_compose_references_are_not_literals() -> None:
    compose = """\
    services:
      app:
        environment:
          GITHUB_TOKEN: ${GITHUB_TOKEN:-${1}}
          DB_PASSWORD: ${DB_PASSWORD:?set it}
    """
    script = """\
    GITHUB_TOKEN=${GITHUB_TOKEN:-${1}}
    DB_PASSWORD=$(openssl rand -hex 16)
    export API_TOKEN="${API_TOKEN:?set it}"
    """
    powershell = """\
    $Password = Read-Host -AsSecureString
    $Token = Get-Content token.txt
    """
    assert found(compose, "compose.yaml") == []
    assert found(script, "run.sh") == []
    assert found(powershell, "login.ps1") == []


def test_literals_in_scripts_are_still_reported() -> None:
    assert found("API_TOKEN=Tz8-qLm2Vx4q\n", "run.sh") == [("DS302", 1)]
    assert found(f'$Password = "{LITERAL}"\n', "login.ps1") == [("DS302", 1)]


# --- options, ARN fragments, lists of names ----------------------------------------------


def test_an_option_about_a_password_is_not_a_password() -> None:
    text = """\
    - user:
        name: deploy
        update_password: on_create
    """
    assert found(text, "playbook.yml") == []


def test_an_arn_fragment_is_not_a_setting() -> None:
    text = """\
    {"Resource": {"Fn::Join": ["", [
      "arn:aws:secretsmanager:", {"Ref": "AWS::Region"}, ":secret:prod/api-token-Ab12Cd"
    ]]}}
    """
    assert found(text, "template.json") == []


def test_a_list_of_rule_names_is_not_a_default_in_a_call() -> None:
    text = """\
    NAMES = ["token", "password", "aws_key_v2", "gcp_token_2"]
    CHECKS = ("api_token", "secret2_key")
    """
    assert found(text, "rules.py") == []
    assert found(f'API_TOKEN = os.environ.get("API_TOKEN", "{LITERAL}")\n', "app.py") == [
        ("DS302", 1)
    ]


# --- names, patterns and references where a credential is expected ----------------------


def test_a_value_that_names_the_setting_or_object_is_not_a_credential() -> None:
    """Constants that hold an environment variable's, a command's or an annotation's name,
    and `namespace/name` references to Secrets, are names: the value repeats the credential
    word as one of its segments, or has the shape of a Kubernetes reference."""
    text = """\
    const (
    \tenvRedisPassword = "REDIS_PASSWORD"
    \tCommandGitAskPass = "argocd-git-ask-pass"
    \tannotationAuthTLSPassCertToUpstream = "auth-tls-pass-certificate-to-upstream"
    \tdefaultDemoSecret = "default/demo-secret"
    \tPasswordPattern = `^.{8,32}$`
    \tLabelValueSecretTypeCluster = "cluster"
    )
    """
    assert found(text, "common.go") == []
    assert found(f'\tdefaultRedisPassword = "{LITERAL}"\n', "common.go") == [("DS302", 1)]


def test_kubernetes_references_under_secret_names_are_not_credentials() -> None:
    text = """\
    metadata:
      annotations:
        nginx.ingress.kubernetes.io/auth-secret: basicauth
        nginx.ingress.kubernetes.io/auth-tls-secret: "default/ca-secret"
    """
    assert found(text, "ingress.yaml") == []
    assert found('{"secret": "default/aledbf-ca-secret"}\n', "config.json") == []


def test_reusable_workflow_secrets_inherit_is_not_a_credential() -> None:
    text = """\
    jobs:
      build:
        uses: ./.github/workflows/build.yaml
        secrets: inherit
    """
    assert found(text, ".github/workflows/images.yaml") == []


def test_a_setting_about_how_passwords_are_stored_is_not_a_password() -> None:
    text = """\
    parameters:
      password_encryption: scram-sha-256
    """
    assert found(text, "postgresql.yaml") == []


def test_a_call_with_more_arguments_than_name_and_default_is_not_a_default() -> None:
    text = 'CreateClusterSecret("my-secret", "cluster1", "https://kubernetes.default.svc")\n'
    assert found(text, "generator_test.go") == []


def test_a_secret_manager_reference_is_not_a_credential() -> None:
    text = "GPG_PASSPHRASE=helm-chart-signing-key:passphrase\n"
    assert found(text, "release.sh") == []


def test_stand_ins_that_spell_the_credential_word_are_not_credentials() -> None:
    """Test code's `somePassword`, `accessToken`, `token1`: the value is the setting's own
    word, written as an identifier; one run-together word (`newpassword`) is still reported."""
    text = """\
    repo := Repository{Password: "somePassword", AccessToken: "accessToken"}
    cfg := map[string]string{"bearerToken": "token1", "dex.github.clientSecret": "foobar"}
    """
    assert found(text, "creds_test.go") == []
    joined = "new" + "password"  # one run-together word, built here
    assert found(f'req := Request{{NewPassword: "{joined}"}}\n', "account_test.go") == [
        ("DS302", 1)
    ]


def test_references_and_templates_in_a_value_are_not_literals() -> None:
    text = """\
    settings := Settings{ClientSecret: "$k8ssecret:clientsecret"}
    """
    assert found(text, "server_test.go") == []
    chart = """\
    args:
      - -token=write-{{ $tenant.name }}
    {{- $imagePullSecrets := coalesce .component.pullSecrets .global.pullSecrets -}}
    """
    assert found(chart, "templates/_helpers.tpl") == []


def test_a_setting_about_a_secret_s_owner_is_not_the_secret() -> None:
    assert found('secretRepository.Username = "UpdatedUsername"\n', "repo_test.go") == []


# --- public certificates -----------------------------------------------------------------


def _secret(key: str, value: str) -> str:
    encoded = base64.b64encode(value.encode()).decode()
    return (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: ca, namespace: shop}\n"
        f"data:\n  {key}: {encoded}\n"
    )


def test_a_secret_holding_only_a_certificate_is_not_reported() -> None:
    cert = certificate_pem()
    assert public_certificate(cert) and public_certificate(f"# shop CA\n{cert}{cert}")
    assert found(_secret("ca.crt", cert), "ca.yaml") == []


def test_a_certificate_with_its_private_key_is_reported() -> None:
    bundle = certificate_pem() + private_key_pem()
    assert not public_certificate(bundle)
    assert found(_secret("tls.pem", bundle), "tls.yaml") == [("DS310", 5)]


def test_copying_a_pem_of_certificates_is_not_a_credential_file(tmp_path: Path) -> None:
    dockerfile = "FROM alpine:3.20\nCOPY ca.pem /etc/ssl/ca.pem\nCOPY tls.pem /etc/tls.pem\n"
    write_tree(
        tmp_path,
        {"Dockerfile": dockerfile, "ca.pem": certificate_pem(), "tls.pem": private_key_pem()},
    )
    report = scan([tmp_path], Config(), root=tmp_path, jobs=1)
    assert [(f.rule_id, f.line) for f in report.findings if f.rule_id == "DS321"] == [("DS321", 3)]


# --- values made at install time (the template text alone; rendering: test_install_time) --


@pytest.mark.parametrize(
    ("template", "line", "made"),
    [
        (["password: {{ randAlphaNum 24 | b64enc | quote }}"], 1, True),
        (["token: {{ default (randAscii 32) .Values.token | b64enc }}"], 1, True),
        (['tls.key: {{ genPrivateKey "rsa" | b64enc }}'], 1, True),
        (
            [
                '{{- $old := lookup "v1" "Secret" "shop" "db" }}',
                "{{- $pw := $old }}",
                "pw: {{ $pw }}",
            ],
            3,
            True,
        ),
        (["{{- $pw := .Values.password }}", "pw: {{ $pw | b64enc }}"], 2, False),
        (["password: {{ .Values.password | b64enc }}"], 1, False),
        (["password: c2VjcmV0"], 1, False),
    ],
)
def test_values_made_at_install_time(template: list[str], line: int, made: bool) -> None:
    assert made_at_install(template, line) is made


# --- redaction ---------------------------------------------------------------------------


def test_redaction_replaces_the_value_not_the_words_that_hold_it() -> None:
    text = 'db:\n  password: "password"\nbasicAuthPassword: pass\n'
    got = [(f.rule_id, f.message, f.snippet) for f in findings(text, "values.yaml")]
    assert got == [
        (
            "DS510",
            "password is set to a well-known default password: p…(8 chars)",
            'password: "p…(8 chars)"',
        ),
        (
            "DS510",
            "basicAuthPassword is set to a well-known default password: …(4 chars)",
            "basicAuthPassword: …(4 chars)",
        ),
    ]


def test_redaction_still_hides_a_value_glued_to_a_flag() -> None:
    (f,) = findings("mysql_password=Tz8qLm2Vx4q mysql -pTz8qLm2Vx4q\n", "run.sh")
    assert f.snippet == "mysql_password=Tz…(11 chars) mysql -pTz…(11 chars)"


def test_a_private_key_whose_base64_spells_a_placeholder_word_is_reported() -> None:
    """Random base64 holds `tbd`, `todo` or `xxxx` in about one key in forty: that is no
    placeholder. The key is generated until one does, so the case is met every run."""
    markers = ("tbd", "todo", "xxxx", "fake")
    for _ in range(5000):
        key = private_key_pem()
        if any(m in key.lower() for m in markers):
            break
    else:
        pytest.fail("no generated key spelled a marker")
    assert found(_secret("tls.pem", certificate_pem() + key), "tls.yaml") == [("DS310", 5)]


def test_cue_string_interpolations_are_references() -> None:
    # A CUE template fills a Docker config from its fields (`\(x)`; `\#(x)` in a raw string).
    text = """\
    ".dockerconfigjson": #\"\"\"
        {"auths": {"\\#(registry)": {"username": "\\#(username)", "password": "\\#(password)"}}}
        \"\"\"#
    token: "\\(values.token)"
    """
    assert found(text, "image.cue") == []
    assert found(f'password: "{LITERAL}"\n', "image.cue") == [("DS302", 1)]


# --- references and digests named after a secret ----------------------------------------


def test_the_namespace_of_a_secret_is_not_a_secret() -> None:
    # StorageClass parameters name where a provisioner's Secret lives.
    text = """\
    apiVersion: storage.k8s.io/v1
    kind: StorageClass
    metadata:
      name: fast
    provisioner: kubernetes.io/storageos
    parameters:
      adminSecretNamespace: default
      adminSecretName: storageos-secret
      secretNamespace: default
    """
    assert found(text, "storageclass.yaml") == []


def test_a_checksum_of_a_secret_is_not_a_secret() -> None:
    # Helm's `checksum/secret` annotation: a digest that rolls the pods when the Secret changes.
    digest = hashlib.sha256(b"secret.yaml").hexdigest()
    text = f"""\
    metadata:
      annotations:
        checksum/secret: {digest}
        checksum/config: {digest}
    """
    assert found(text, "deployment.yaml") == []


def test_a_go_template_variable_named_after_a_secret_is_not_a_setting() -> None:
    text = """\
    {{- define "app.cert" -}}
    {{- $prevSecret := (lookup "v1" "Secret" .Release.Namespace "app-cert") }}
    {{- $apiToken := .Values.token | default "" }}
    {{- end }}
    """
    assert found(text, "templates/_helpers.tpl") == []


def test_secret_settings_next_to_those_are_still_reported() -> None:
    text = f"""\
    parameters:
      secretNamespace: default
      adminSecret: {LITERAL}
    """
    assert found(text, "storageclass.yaml") == [("DS302", 3)]
    assert found(f"secret: {LITERAL}\n", "values.yaml") == [("DS302", 1)]
    assert found(f'{{{{ $x := "a" }}}} $token := "{LITERAL}"\n', "run.tpl") == [("DS302", 1)]
